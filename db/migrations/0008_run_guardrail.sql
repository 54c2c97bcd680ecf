DROP INDEX `import_runs_one_active`;--> statement-breakpoint
ALTER TABLE `import_runs` ADD `guardrail` integer DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE `import_runs` ADD `planned_added` integer;--> statement-breakpoint
ALTER TABLE `import_runs` ADD `planned_removed` integer;--> statement-breakpoint
ALTER TABLE `import_runs` ADD `synced_before` integer;--> statement-breakpoint
ALTER TABLE `import_runs` ADD `hold_reason` text;--> statement-breakpoint
ALTER TABLE `import_runs` ADD `hold_notice_claimed_at` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `import_runs_one_active` ON `import_runs` (`cohort_id`) WHERE status in ('queued', 'running', 'held');--> statement-breakpoint
ALTER TABLE `cohorts` ADD `guardrail_max_removal_percent` integer DEFAULT 50 NOT NULL;--> statement-breakpoint
ALTER TABLE `cohorts` ADD `guardrail_min_removals` integer DEFAULT 1000 NOT NULL;