/**
 * A store that is busy or briefly away is not a bug: the client should try again. SQLite's lock
 * held past its busy wait (another process is writing, e.g. a large freeze), PostgreSQL's
 * serialization failures, deadlocks, a lock held past lock_timeout (55P03: both pools wait
 * STORE_LOCK_WAIT_MS, as SQLite's busy wait), a server starting up or out of connections, or a
 * refused connection. Drizzle wraps a driver's error as `cause`, so the chain is walked.
 * A statement cancelled at its deadline (57014) is not here: it is the warehouse's
 * WarehouseTimeoutError (503 warehouse_timeout), too costly rather than busy.
 */
const SQLITE_BUSY = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_TIMEOUT', 'SQLITE_LOCKED']);
const POSTGRES_BUSY = new Set(['40001', '40P01', '55P03', '57P03', '53300']);
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']);

export function isBusyStore(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (SQLITE_BUSY.has(code) || POSTGRES_BUSY.has(code) || UNREACHABLE.has(code))) {
      return true;
    }
  }
  return false;
}

/** Seconds a client should wait before trying again. */
export const BUSY_RETRY_AFTER_S = 2;
