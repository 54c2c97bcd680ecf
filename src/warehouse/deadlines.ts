/**
 * How long one warehouse statement may run before PostgreSQL cancels it (statement_timeout).
 * Bulk work (freeze, diff, discarding a run, forgetting a cohort) reads or writes a row per
 * member; everything else reads a page or a handful of rows. On SQLite only a preview has a
 * deadline (`queryMs`: its thread is terminated); the other statements run in-process.
 */
export interface WarehouseDeadlines {
  bulkMs: number;
  queryMs: number;
}

export const DEFAULT_WAREHOUSE_DEADLINES: WarehouseDeadlines = { bulkMs: 5 * 60_000, queryMs: 30_000 };
