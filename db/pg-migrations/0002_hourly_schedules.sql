ALTER TABLE "schedules" ALTER COLUMN "time" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "import_runs" ADD COLUMN "notify" text DEFAULT 'always' NOT NULL;--> statement-breakpoint
ALTER TABLE "schedules" ADD COLUMN "minute" integer;--> statement-breakpoint
ALTER TABLE "schedules" ADD COLUMN "every_hours" integer;--> statement-breakpoint
ALTER TABLE "schedules" ADD COLUMN "notify" text DEFAULT 'always' NOT NULL;