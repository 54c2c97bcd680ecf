ALTER TABLE "import_runs" ADD COLUMN "settled_at" timestamp with time zone;--> statement-breakpoint
-- Runs that ended before this column existed were settled by the code of their day.
UPDATE "import_runs" SET "settled_at" = "finished_at" WHERE "finished_at" IS NOT NULL;
