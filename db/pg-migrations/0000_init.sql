CREATE TABLE "api_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "braze_connections" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"rest_endpoint" text NOT NULL,
	"region" text NOT NULL,
	"data_import_key_sealed" text NOT NULL,
	"data_import_key_last4" text NOT NULL,
	"sync_scope" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cohorts" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"name" text NOT NULL,
	"braze_cohort_id" text NOT NULL,
	"criteria" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "deployment" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "import_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"cohort_id" text NOT NULL,
	"trigger" text NOT NULL,
	"status" text NOT NULL,
	"idempotency_key" text,
	"recipients" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"full_resync" boolean DEFAULT false NOT NULL,
	"sync_scope" text,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"cohort_size" integer,
	"added" integer DEFAULT 0 NOT NULL,
	"removed" integer DEFAULT 0 NOT NULL,
	"unmatchable" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"changes_total" integer DEFAULT 0 NOT NULL,
	"diff_recorded_at" timestamp with time zone,
	"pages_total" integer DEFAULT 0 NOT NULL,
	"error" text,
	"notification_claimed_at" timestamp with time zone,
	"notification_sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"cohort_id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"cadence" text NOT NULL,
	"time" text NOT NULL,
	"timezone" text NOT NULL,
	"weekday" integer,
	"day_of_month" text,
	"recipients" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"enabled" boolean NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "braze_connections" ADD CONSTRAINT "braze_connections_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cohorts" ADD CONSTRAINT "cohorts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_runs" ADD CONSTRAINT "import_runs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "import_runs" ADD CONSTRAINT "import_runs_cohort_id_cohorts_id_fk" FOREIGN KEY ("cohort_id") REFERENCES "public"."cohorts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_cohort_id_cohorts_id_fk" FOREIGN KEY ("cohort_id") REFERENCES "public"."cohorts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_tokens_hash" ON "api_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "cohorts_braze_cohort_id" ON "cohorts" USING btree ("braze_cohort_id");--> statement-breakpoint
CREATE INDEX "cohorts_workspace" ON "cohorts" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "import_runs_one_active" ON "import_runs" USING btree ("cohort_id") WHERE status in ('queued', 'running');--> statement-breakpoint
CREATE UNIQUE INDEX "import_runs_idempotency" ON "import_runs" USING btree ("workspace_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "import_runs_cohort_created" ON "import_runs" USING btree ("cohort_id","created_at","id");--> statement-breakpoint
CREATE INDEX "schedules_workspace" ON "schedules" USING btree ("workspace_id");--> statement-breakpoint
INSERT INTO "deployment" ("id", "created_at") VALUES (replace(gen_random_uuid()::text, '-', ''), now());
