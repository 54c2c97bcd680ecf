/**
 * How long one warehouse statement may run before PostgreSQL cancels it (statement_timeout).
 * Bulk work (freeze, diff, discarding a run, forgetting a cohort) reads or writes a row per
 * member; everything else reads a page or a handful of rows. SQLite runs in-process and has
 * no statement deadline.
 */
export interface WarehouseDeadlines {
  bulkMs: number;
  queryMs: number;
}

export const DEFAULT_WAREHOUSE_DEADLINES: WarehouseDeadlines = { bulkMs: 5 * 60_000, queryMs: 30_000 };
