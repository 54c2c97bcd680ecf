import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { OpenedWarehouse } from '../warehouse/open-warehouse';
import { PgWarehouse } from '../warehouse/pg-warehouse';
import { demoUser, MAX_EVENTS_PER_USER, type DemoUser } from './demo-users';

export interface SeedWarehouseOptions {
  workspaceId: string;
  /** How many users to write: indexes `startIndex` … `startIndex + users - 1`. */
  users: number;
  seed: number;
  /** Epoch ms that event times are relative to (the last 90 days before it). */
  now: number;
  startIndex?: number;
  /** Users written per transaction; large transactions are what make bulk inserts fast. */
  usersPerTransaction?: number;
  /** Called after each transaction with the users written so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface SeedWarehouseResult {
  users: number;
  events: number;
}

const DEFAULT_USERS_PER_TRANSACTION = 10_000;

/**
 * Writes demo users and their events into the warehouse, SQLite or PostgreSQL.
 *
 * Re-seeding is harmless: a user is upserted on (workspace_id, user_key), keeping its `id`,
 * and its events are deleted and written again. Replacing rather than skipping means a re-run
 * with a later `now` moves the events back into the last 90 days instead of leaving stale ones.
 */
export async function seedWarehouse(
  warehouse: OpenedWarehouse,
  options: SeedWarehouseOptions,
): Promise<SeedWarehouseResult> {
  const { workspaceId, users: total, seed, now, onProgress } = options;
  const startIndex = options.startIndex ?? 0;
  const perTransaction = options.usersPerTransaction ?? DEFAULT_USERS_PER_TRANSACTION;
  if (!Number.isSafeInteger(total) || total < 0)
    throw new RangeError(`users must be a non-negative integer, got ${total}`);
  if (!Number.isSafeInteger(startIndex) || startIndex < 0) {
    throw new RangeError(`startIndex must be a non-negative integer, got ${startIndex}`);
  }
  if (!Number.isSafeInteger(perTransaction) || perTransaction < 1) {
    throw new RangeError(`usersPerTransaction must be a positive integer, got ${perTransaction}`);
  }
  const write =
    warehouse instanceof PgWarehouse
      ? postgresWriter(warehouse.pool, workspaceId)
      : sqliteWriter(warehouse.db, workspaceId);

  let events = 0;
  const end = startIndex + total;
  for (let from = startIndex; from < end; from += perTransaction) {
    const to = Math.min(from + perTransaction, end);
    const users: DemoUser[] = [];
    for (let index = from; index < to; index++) users.push(demoUser(seed, index, now));
    await write(users);
    for (const user of users) events += user.events.length;
    onProgress?.(to - startIndex, total);
  }
  return { users: total, events };
}

/** Writes one chunk of users (and replaces their events) in one transaction. */
type ChunkWriter = (users: readonly DemoUser[]) => Promise<void>;

/**
 * SQLite: prepared statements in one transaction per chunk. No pragma is required: with
 * 10,000 users per transaction there are only ~100 commits per million users, so the journal
 * mode and `synchronous` barely matter (measured: the default rollback journal with
 * synchronous=FULL is as fast as WAL with synchronous=NORMAL). About 12 s for a million users
 * and three million events on two idle cores.
 */
function sqliteWriter(db: Database.Database, workspaceId: string): ChunkWriter {
  const upsertUser = db
    .prepare<
      [string, string, string | null, string | null, string | null, string | null, string, number, number],
      number
    >(
      `INSERT INTO users (workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)
       VALUES (?, ?, ?, ?, ?, ?, jsonb(?), ?, ?)
       ON CONFLICT (workspace_id, user_key) DO UPDATE SET
         external_id = excluded.external_id,
         alias_name  = excluded.alias_name,
         alias_label = excluded.alias_label,
         device_id   = excluded.device_id,
         properties  = excluded.properties,
         first_seen  = excluded.first_seen,
         last_seen   = excluded.last_seen
       RETURNING id`,
    )
    .pluck();
  const deleteEvents = db.prepare<[number]>('DELETE FROM events WHERE user_id = ?');
  // One statement per event count, so a user's events go in with a single call.
  const insertEvents: Database.Statement<(string | number)[]>[] = [];
  for (let n = 1; n <= MAX_EVENTS_PER_USER; n++) {
    const rows = Array.from({ length: n }, () => '(?, ?, ?, ?)').join(', ');
    insertEvents[n] = db.prepare(`INSERT INTO events (workspace_id, user_id, name, time) VALUES ${rows}`);
  }

  const writeUser = (user: DemoUser): void => {
    const userId = upsertUser.get(
      workspaceId,
      user.user_key,
      user.external_id,
      user.alias_name,
      user.alias_label,
      user.device_id,
      JSON.stringify(user.properties),
      user.first_seen,
      user.last_seen,
    );
    if (userId === undefined) throw new Error(`upsert of ${user.user_key} returned no id`);
    deleteEvents.run(userId);
    const count = user.events.length;
    if (count === 0) return;
    const params: (string | number)[] = new Array(count * 4);
    for (let i = 0; i < count; i++) {
      const event = user.events[i]!;
      params[i * 4] = workspaceId;
      params[i * 4 + 1] = userId;
      params[i * 4 + 2] = event.name;
      params[i * 4 + 3] = event.time;
    }
    insertEvents[count]!.run(...params);
  };

  const writeChunk = db.transaction((users: readonly DemoUser[]) => {
    for (const user of users) writeUser(user);
  });
  return async (users) => writeChunk(users);
}

/**
 * PostgreSQL: each chunk is three statements over arrays (unnest), so a chunk costs three
 * round trips whatever its size: the users upserted with their ids returned, their old events
 * deleted, their new events inserted.
 */
function postgresWriter(pool: pg.Pool, workspaceId: string): ChunkWriter {
  return async (users) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: string; user_key: string }>(
        `INSERT INTO users (workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::bigint[], $9::bigint[])
         ON CONFLICT (workspace_id, user_key) DO UPDATE SET
           external_id = excluded.external_id,
           alias_name  = excluded.alias_name,
           alias_label = excluded.alias_label,
           device_id   = excluded.device_id,
           properties  = excluded.properties,
           first_seen  = excluded.first_seen,
           last_seen   = excluded.last_seen
         RETURNING id, user_key`,
        [
          workspaceId,
          users.map((u) => u.user_key),
          users.map((u) => u.external_id),
          users.map((u) => u.alias_name),
          users.map((u) => u.alias_label),
          users.map((u) => u.device_id),
          users.map((u) => JSON.stringify(u.properties)),
          users.map((u) => u.first_seen),
          users.map((u) => u.last_seen),
        ],
      );
      const ids = new Map(rows.map((r) => [r.user_key, r.id]));
      await client.query('DELETE FROM events WHERE user_id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      const userIds: string[] = [];
      const names: string[] = [];
      const times: number[] = [];
      for (const user of users) {
        const userId = ids.get(user.user_key);
        if (userId === undefined) throw new Error(`upsert of ${user.user_key} returned no id`);
        for (const event of user.events) {
          userIds.push(userId);
          names.push(event.name);
          times.push(event.time);
        }
      }
      await client.query(
        `INSERT INTO events (workspace_id, user_id, name, time)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[])`,
        [workspaceId, userIds, names, times],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
}
