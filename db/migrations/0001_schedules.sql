CREATE TABLE `schedules` (
	`cohort_id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`cadence` text NOT NULL,
	`time` text NOT NULL,
	`timezone` text NOT NULL,
	`weekday` integer,
	`day_of_month` text,
	`recipients` text DEFAULT '[]' NOT NULL,
	`enabled` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`cohort_id`) REFERENCES `cohorts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `schedules_workspace` ON `schedules` (`workspace_id`);--> statement-breakpoint
ALTER TABLE `import_runs` ADD `notification_claimed_at` integer;--> statement-breakpoint
ALTER TABLE `import_runs` ADD `notification_sent_at` integer;