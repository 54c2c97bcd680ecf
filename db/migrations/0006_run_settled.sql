ALTER TABLE `import_runs` ADD `settled_at` integer;--> statement-breakpoint
-- Runs that ended before this column existed were settled by the code of their day.
UPDATE `import_runs` SET `settled_at` = `finished_at` WHERE `finished_at` IS NOT NULL;
