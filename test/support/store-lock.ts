import Database from 'better-sqlite3';
import pg from 'pg';
import { isPostgresUrl } from '../../db/client';

/**
 * Holds a store as another process's long write would, until `release()`.
 *
 * SQLite: an exclusive transaction; its write lock is database-wide, so `table` is moot and
 * every writer waits. PostgreSQL has no database-wide write lock (readers and writers of other
 * rows go on): what a writer can meet there is a lock on its table or its rows held by another
 * session, e.g. a migration or a long maintenance transaction. A session holding `table` in
 * SHARE ROW EXCLUSIVE mode blocks every INSERT, UPDATE and DELETE on it, and reads go on.
 */
export async function holdStore(url: string, table: string): Promise<() => Promise<void>> {
  if (isPostgresUrl(url)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`);
    return async () => {
      await client.query('ROLLBACK');
      await client.end();
    };
  }
  const holder = new Database(url);
  holder.exec('BEGIN EXCLUSIVE');
  return async () => {
    holder.exec('ROLLBACK');
    holder.close();
  };
}
