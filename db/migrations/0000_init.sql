CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `braze_connections` (
	`workspace_id` text PRIMARY KEY NOT NULL,
	`rest_endpoint` text NOT NULL,
	`region` text NOT NULL,
	`data_import_key_sealed` text NOT NULL,
	`data_import_key_last4` text NOT NULL,
	`sync_scope` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `cohorts` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`braze_cohort_id` text NOT NULL,
	`criteria` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cohorts_braze_cohort_id` ON `cohorts` (`braze_cohort_id`);--> statement-breakpoint
CREATE INDEX `cohorts_workspace` ON `cohorts` (`workspace_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `import_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`cohort_id` text NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`idempotency_key` text,
	`recipients` text DEFAULT '[]' NOT NULL,
	`full_resync` integer DEFAULT false NOT NULL,
	`sync_scope` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`cohort_size` integer,
	`added` integer DEFAULT 0 NOT NULL,
	`removed` integer DEFAULT 0 NOT NULL,
	`unmatchable` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`changes_total` integer DEFAULT 0 NOT NULL,
	`pages_total` integer DEFAULT 0 NOT NULL,
	`error` text,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`cohort_id`) REFERENCES `cohorts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `import_runs_one_active` ON `import_runs` (`cohort_id`) WHERE status in ('queued', 'running');--> statement-breakpoint
CREATE UNIQUE INDEX `import_runs_idempotency` ON `import_runs` (`workspace_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `import_runs_cohort_created` ON `import_runs` (`cohort_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `workspaces` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
