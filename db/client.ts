import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as drizzlePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as pgSchema from './pg-schema';
import * as sqliteSchema from './schema';

/**
 * The control database on either engine, behind one async door.
 *
 * Services see drizzle's awaitable query builders and the tables of the engine in use
 * (`db.tables`), typed as PostgreSQL's: no synchronous `.get()`/`.run()`/`.all()` exists in
 * that type, so no service can lean on SQLite's synchronous API. Both schemas give rows the same
 * TypeScript shape (Dates, booleans, parsed JSON). Statements that must be atomic are single
 * statements (conditional UPDATE … RETURNING, INSERT … ON CONFLICT against unique indexes), so
 * they hold on both engines without multi-statement transactions.
 */
export type ControlTables = typeof pgSchema;
export type ControlEngine = 'sqlite' | 'postgres';

export type ControlDb = NodePgDatabase<ControlTables> & {
  engine: ControlEngine;
  tables: ControlTables;
  /** A trivial query, for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
};

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

const here = dirname(fileURLToPath(import.meta.url));
const sqliteMigrations = resolve(here, 'migrations');
const pgMigrations = resolve(here, 'pg-migrations');

/**
 * How long a statement waits for a lock another session holds before the store counts as busy
 * (503 store_busy, or a run's step stepping aside): SQLite's busy_timeout on its database-wide
 * write lock, PostgreSQL's lock_timeout on a table or row lock (error 55P03). Without it a
 * PostgreSQL write would wait as long as the holder's transaction lasts, holding its request.
 * The default of STORE_LOCK_WAIT_MS (tests that hold a store shorten it).
 */
export const STORE_LOCK_WAIT_MS = 10_000;

/** Opens a SQLite file with the settings every process uses: WAL, a busy wait, foreign keys. */
export function openSqlite(path: string, lockWaitMs = STORE_LOCK_WAIT_MS): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma(`busy_timeout = ${lockWaitMs}`);
  sqlite.pragma('foreign_keys = ON');
  return sqlite;
}

/**
 * Opens the control database named by `url` (a `postgres://` URL or a SQLite path) and applies
 * pending migrations. Several processes may start at once; each engine applies them once.
 */
export async function openControlDb(url: string, opts: { lockWaitMs?: number } = {}): Promise<ControlDb> {
  const lockWaitMs = opts.lockWaitMs ?? STORE_LOCK_WAIT_MS;
  return isPostgresUrl(url) ? openPostgres(url, lockWaitMs) : openSqliteControl(url, lockWaitMs);
}

function openSqliteControl(path: string, lockWaitMs: number): ControlDb {
  const client = openSqlite(path, lockWaitMs);
  const db = drizzleSqlite(client, { schema: sqliteSchema });
  // A loser of the migration race finds the tables made and retries, seeing them applied.
  for (let attempt = 1; ; attempt++) {
    try {
      migrateSqlite(db, { migrationsFolder: sqliteMigrations });
      break;
    } catch (err) {
      // On purpose: another process applying the same migrations at once is the expected cause,
      // and the next attempt sees them applied. The fifth failure is a real one and is thrown.
      if (attempt >= 5) throw err;
    }
  }
  // The SQLite tables stand where the PostgreSQL ones are typed: same columns, same row shapes.
  return Object.assign(db as unknown as NodePgDatabase<ControlTables>, {
    engine: 'sqlite' as const,
    tables: sqliteSchema as unknown as ControlTables,
    async ping() {
      client.prepare('SELECT 1').get();
    },
    async close() {
      client.close();
    },
  });
}

/** Any fixed number: the key of the advisory lock that serialises migrations across processes. */
const MIGRATION_LOCK = 7_201_301;

async function openPostgres(url: string, lockWaitMs: number): Promise<ControlDb> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    idleTimeoutMillis: 30_000,
    lock_timeout: lockWaitMs,
  });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const lockClient = await pool.connect();
  try {
    // Another process's migrations may take longer than a lock wait of a request: wait them out.
    await lockClient.query('SET lock_timeout = 0');
    await lockClient.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migratePg(drizzlePg(lockClient), { migrationsFolder: pgMigrations });
  } finally {
    await lockClient.query('RESET lock_timeout').catch(() => undefined);
    // On purpose: an unlock fails only on a broken connection, whose session (and lock) is gone with it;
    // the migration's own error, if any, is the one that matters.
    await lockClient.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    lockClient.release();
  }
  const db = drizzlePg(pool, { schema: pgSchema });
  return Object.assign(db, {
    engine: 'postgres' as const,
    tables: pgSchema,
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  });
}
