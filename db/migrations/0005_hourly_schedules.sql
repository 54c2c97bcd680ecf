-- Hand-fixed: the copy into __new_schedules names only the columns the old table has (drizzle-kit also listed the new ones).
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_schedules` (
	`cohort_id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`cadence` text NOT NULL,
	`time` text,
	`minute` integer,
	`every_hours` integer,
	`timezone` text NOT NULL,
	`weekday` integer,
	`day_of_month` text,
	`recipients` text DEFAULT '[]' NOT NULL,
	`notify` text DEFAULT 'always' NOT NULL,
	`enabled` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`cohort_id`) REFERENCES `cohorts`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
INSERT INTO `__new_schedules`("cohort_id", "workspace_id", "cadence", "time", "timezone", "weekday", "day_of_month", "recipients", "enabled", "created_at", "updated_at") SELECT "cohort_id", "workspace_id", "cadence", "time", "timezone", "weekday", "day_of_month", "recipients", "enabled", "created_at", "updated_at" FROM `schedules`;--> statement-breakpoint
DROP TABLE `schedules`;--> statement-breakpoint
ALTER TABLE `__new_schedules` RENAME TO `schedules`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `schedules_workspace` ON `schedules` (`workspace_id`);--> statement-breakpoint
ALTER TABLE `import_runs` ADD `notify` text DEFAULT 'always' NOT NULL;