CREATE TABLE `deployment` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `deployment` (`id`, `created_at`) VALUES (lower(hex(randomblob(16))), CAST(unixepoch('subsec') * 1000 AS integer));
