DROP INDEX "import_runs_one_active";--> statement-breakpoint
ALTER TABLE "cohorts" ADD COLUMN "guardrail_max_removal_percent" integer DEFAULT 50 NOT NULL;--> statement-breakpoint
ALTER TABLE "cohorts" ADD COLUMN "guardrail_min_removals" integer DEFAULT 1000 NOT NULL;--> statement-breakpoint
ALTER TABLE "import_runs" ADD COLUMN "guardrail" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "import_runs" ADD COLUMN "planned_added" integer;--> statement-breakpoint
ALTER TABLE "import_runs" ADD COLUMN "planned_removed" integer;--> statement-breakpoint
ALTER TABLE "import_runs" ADD COLUMN "synced_before" integer;--> statement-breakpoint
ALTER TABLE "import_runs" ADD COLUMN "hold_reason" text;--> statement-breakpoint
ALTER TABLE "import_runs" ADD COLUMN "hold_notice_claimed_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "import_runs_one_active" ON "import_runs" USING btree ("cohort_id") WHERE status in ('queued', 'running', 'held');