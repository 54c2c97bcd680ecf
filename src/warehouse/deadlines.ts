/**
 * How long one warehouse statement may run before PostgreSQL cancels it (statement_timeout).
 * Bulk work (freeze, diff, discarding a run, forgetting a cohort) reads or writes a row per
 * member; everything else reads a page or a handful of rows. On SQLite a preview has `queryMs`
 * (its thread is terminated) and a freeze or a diff `bulkMs` (checked between chunks of one
 * transaction, which a timeout rolls back); its other statements run in-process unbounded.
 */
export interface WarehouseDeadlines {
  bulkMs: number;
  queryMs: number;
}

export const DEFAULT_WAREHOUSE_DEADLINES: WarehouseDeadlines = { bulkMs: 5 * 60_000, queryMs: 30_000 };
