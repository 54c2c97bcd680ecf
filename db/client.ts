import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema';

export type ControlDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Opens a SQLite file with the settings every process uses: WAL, a busy wait, foreign keys. */
export function openSqlite(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  return sqlite;
}

/**
 * Opens the control database and applies pending migrations. Several processes may start at
 * once: a loser of the migration race finds the tables made and retries, seeing them applied.
 */
export function openControlDb(path: string): ControlDb {
  const db = drizzle(openSqlite(path), { schema });
  for (let attempt = 1; ; attempt++) {
    try {
      migrate(db, { migrationsFolder });
      return db;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}
