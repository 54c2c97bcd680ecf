import type { WarehouseDeadlines } from './deadlines';
import { openPgWarehouse, type PgWarehouse } from './pg-warehouse';
import { openSqliteWarehouse, type SqliteWarehouse } from './sqlite-warehouse';

export type OpenedWarehouse = SqliteWarehouse | PgWarehouse;

export interface OpenWarehouseOptions {
  /** PostgreSQL: every statement's deadline. SQLite: a preview's (`queryMs`), a freeze's and a diff's (`bulkMs`). */
  deadlines?: Partial<WarehouseDeadlines>;
  /** How long a write waits for a lock another session holds (default STORE_LOCK_WAIT_MS). */
  lockWaitMs?: number;
  /** SQLite: users (by id) per statement of a freeze or a diff (PostgreSQL runs each as one statement). */
  chunkIds?: number;
}

/** `postgres://…` or `postgresql://…` is PostgreSQL; anything else is a SQLite file path. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** Opens the warehouse that WAREHOUSE_URL names and applies its pending migrations. */
export async function openWarehouse(url: string, options: OpenWarehouseOptions = {}): Promise<OpenedWarehouse> {
  return isPostgresUrl(url) ? openPgWarehouse(url, options) : openSqliteWarehouse(url, options);
}
