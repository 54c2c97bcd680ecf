import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { OpenedWarehouse } from '../warehouse/open-warehouse';
import { PgWarehouse } from '../warehouse/pg-warehouse';
import {
  demoPropertiesCode,
  demoUser,
  MAX_EVENTS_PER_USER,
  type DemoUser,
  type DemoUserProperties,
} from './demo-users';

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
  /**
   * The warehouse is scratch (the bench's, deleted when it ends): the seed waits for no disk.
   * SQLite's connection skips fsync meanwhile (`synchronous = OFF`, restored after), so an
   * operating-system crash during the seed could damage the file (a crashed process cannot);
   * PostgreSQL commits without waiting for its WAL flush (`synchronous_commit = off`), which
   * could only lose the last commits. On SQLite the checkpoints' fsyncs were a quarter of a
   * 1M-user seed's time.
   */
  scratch?: boolean;
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
  const scratch = options.scratch ?? false;
  let write: ChunkWriter;
  let restoreSync: (() => void) | undefined;
  if (warehouse instanceof PgWarehouse) {
    write = postgresWriter(warehouse.pool, workspaceId, scratch);
  } else {
    write = sqliteWriter(warehouse.db, workspaceId);
    if (scratch) restoreSync = withoutFsync(warehouse.db);
  }

  const userAt = (index: number) => demoUser(seed, index, now);
  let events = 0;
  const end = startIndex + total;
  try {
    for (let from = startIndex; from < end; from += perTransaction) {
      const to = Math.min(from + perTransaction, end);
      events += await write(from, to, userAt);
      onProgress?.(to - startIndex, total);
      // SQLite writes synchronously: without a turn of the event loop here, whatever runs
      // alongside (the bench registers the users in the sandbox meanwhile) would wait for the end.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    restoreSync?.();
  }
  return { users: total, events };
}

/** Turns fsync off on a SQLite connection; answers how to put its setting back. */
function withoutFsync(db: Database.Database): () => void {
  const previous = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = OFF');
  return () => db.pragma(`synchronous = ${previous}`);
}

/**
 * Writes the users with indexes `from` … `to - 1` (and replaces their events) in one
 * transaction, and answers how many events they have.
 */
type ChunkWriter = (from: number, to: number, userAt: (index: number) => DemoUser) => Promise<number>;

/** A writer of whole chunks of users as a {@link ChunkWriter}. */
function writingArrays(write: (users: readonly DemoUser[]) => Promise<void>): ChunkWriter {
  return async (from, to, userAt) => {
    const users: DemoUser[] = [];
    for (let index = from; index < to; index++) users.push(userAt(index));
    await write(users);
    let events = 0;
    for (const user of users) events += user.events.length;
    return events;
  };
}

/** Users (9 values each) and events (3 each) per multi-row INSERT: well under SQLite's 32,766 parameters. */
const USERS_PER_INSERT = 250;
const EVENTS_PER_INSERT = 500;
const USER_VALUES = 9;
const EVENT_VALUES = 3;

/**
 * SQLite. A workspace with no users yet (every seeding the bench and a first demo do) takes
 * plain multi-row INSERTs: one statement per 250 users or 500 events instead of three per
 * user, which is what made the seed slow. Anything else is upserted user by user. Both write
 * the same rows with the same ids: the insert path gives users the ids SQLite would have
 * picked (one above the largest so far) and writes events in the same order.
 *
 * No pragma is required: with 10,000 users per transaction there are only ~100 commits per
 * million users, so the journal mode and `synchronous` barely matter.
 */
function sqliteWriter(db: Database.Database, workspaceId: string): ChunkWriter {
  const workspaceIsEmpty =
    db
      .prepare<[string], number>('SELECT NOT EXISTS (SELECT 1 FROM users WHERE workspace_id = ?)')
      .pluck()
      .get(workspaceId) === 1;
  return workspaceIsEmpty ? sqliteInsertWriter(db, workspaceId) : sqliteUpsertWriter(db, workspaceId);
}

/**
 * `INSERT INTO … VALUES (…), (…), …` statements by row count, prepared once each. Run them with
 * the values spread (`run(...values)`): better-sqlite3 reads arguments directly, but an array's
 * elements one property lookup at a time.
 */
function multiRowInsert(
  db: Database.Database,
  head: string,
  row: string,
): (rows: number) => Database.Statement<unknown[]> {
  const statements = new Map<number, Database.Statement<unknown[]>>();
  return (rows) => {
    let statement = statements.get(rows);
    if (statement === undefined) {
      statement = db.prepare(`${head} VALUES ${Array.from({ length: rows }, () => row).join(', ')}`);
      statements.set(rows, statement);
    }
    return statement;
  };
}

/**
 * `value` as an SQL string literal. The seed writes its workspace id into its statements as one:
 * bound, the same 36 characters were converted and copied for every user and every event.
 */
function sqlTextLiteral(value: string): string {
  if (value.includes('\0')) throw new RangeError('a workspace id cannot hold a NUL character');
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * SQLite's JSONB encoding of a demo user's properties, made by SQLite itself (so the bytes are
 * what `jsonb(?)` would store) once per distinct object: demo users share about 20,000, and
 * converting each user's anew was a tenth of the seed. Objects are told apart by
 * {@link demoPropertiesCode}, which costs less than their JSON text as a map key.
 */
function propertiesJsonbCache(db: Database.Database): (properties: DemoUserProperties) => Buffer {
  const toJsonb = db.prepare<[string], Buffer>('SELECT jsonb(?)').pluck();
  const byCode: Buffer[] = [];
  const jsonbOf = (properties: DemoUserProperties) => toJsonb.get(JSON.stringify(properties))!;
  return (properties) => {
    const code = demoPropertiesCode(properties);
    return code === undefined ? jsonbOf(properties) : (byCode[code] ??= jsonbOf(properties));
  };
}

/** For a workspace with no users: each chunk is a handful of multi-row INSERTs. */
function sqliteInsertWriter(db: Database.Database, workspaceId: string): ChunkWriter {
  const largestUserId = db.prepare<[], number>('SELECT coalesce(max(id), 0) FROM users').pluck();
  // Events left behind by a deleted user whose id is given out again: the upsert path deletes them too.
  const deleteEvents = db.prepare<[number, number]>('DELETE FROM events WHERE user_id BETWEEN ? AND ?');
  const workspace = sqlTextLiteral(workspaceId);
  const insertUsers = multiRowInsert(
    db,
    'INSERT INTO users (id, workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)',
    `(?, ${workspace}, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const propertiesJsonb = propertiesJsonbCache(db);
  const insertEvents = multiRowInsert(
    db,
    'INSERT INTO events (workspace_id, user_id, name, time)',
    `(${workspace}, ?, ?, ?)`,
  );

  // Users are generated as they are written, so none outlives its statement (young garbage
  // is cheap; a chunk of 10,000 users kept alive was a fifth of the seed in GC).
  const userParams: unknown[] = new Array(USERS_PER_INSERT * USER_VALUES);
  const eventParams: unknown[] = new Array(EVENTS_PER_INSERT * EVENT_VALUES);
  const writeChunk = db.transaction((from: number, to: number, userAt: (index: number) => DemoUser): number => {
    // User `index` gets id `idOffset + index`: the chunk's first user gets the largest id + 1.
    const idOffset = largestUserId.get()! + 1 - from;
    deleteEvents.run(idOffset + from, idOffset + to - 1);
    let u = 0;
    let e = 0;
    let events = 0;
    for (let index = from; index < to; index++) {
      const user = userAt(index);
      const id = idOffset + index;
      userParams[u++] = id;
      userParams[u++] = user.user_key;
      userParams[u++] = user.external_id;
      userParams[u++] = user.alias_name;
      userParams[u++] = user.alias_label;
      userParams[u++] = user.device_id;
      userParams[u++] = propertiesJsonb(user.properties);
      userParams[u++] = user.first_seen;
      userParams[u++] = user.last_seen;
      if (u === userParams.length) {
        insertUsers(USERS_PER_INSERT).run(...userParams);
        u = 0;
      }
      for (const event of user.events) {
        eventParams[e++] = id;
        eventParams[e++] = event.name;
        eventParams[e++] = event.time;
        if (e === eventParams.length) {
          insertEvents(EVENTS_PER_INSERT).run(...eventParams);
          e = 0;
        }
      }
      events += user.events.length;
    }
    if (u > 0) insertUsers(u / USER_VALUES).run(...userParams.slice(0, u));
    if (e > 0) insertEvents(e / EVENT_VALUES).run(...eventParams.slice(0, e));
    return events;
  });
  // IMMEDIATE: a deferred transaction that reads first (the largest id) is refused at once, with
  // no busy wait, when another connection commits between that read and its first write.
  return async (from, to, userAt) => writeChunk.immediate(from, to, userAt);
}

/** A re-seeded user keeps its id and takes every other column of the new row (both dialects). */
const REPLACE_USER = `ON CONFLICT (workspace_id, user_key) DO UPDATE SET
  external_id = excluded.external_id, alias_name = excluded.alias_name, alias_label = excluded.alias_label,
  device_id = excluded.device_id, properties = excluded.properties,
  first_seen = excluded.first_seen, last_seen = excluded.last_seen`;

/**
 * For a workspace that has users: prepared statements in one transaction per chunk, a user
 * upserted on (workspace_id, user_key) and its events replaced.
 */
function sqliteUpsertWriter(db: Database.Database, workspaceId: string): ChunkWriter {
  const upsertUser = db
    .prepare<
      [string, string, string | null, string | null, string | null, string | null, string, number, number],
      number
    >(
      `INSERT INTO users (workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)
       VALUES (?, ?, ?, ?, ?, ?, jsonb(?), ?, ?)
       ${REPLACE_USER} RETURNING id`,
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
  return writingArrays(async (users) => writeChunk.immediate(users));
}

/**
 * PostgreSQL: each chunk is three statements over arrays (unnest), so a chunk costs three
 * round trips whatever its size: the users upserted with their ids returned, their old events
 * deleted, their new events inserted.
 */
function postgresWriter(pool: pg.Pool, workspaceId: string, scratch: boolean): ChunkWriter {
  return writingArrays(async (users) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      if (scratch) await client.query('SET LOCAL synchronous_commit = off');
      const { rows } = await client.query<{ id: string; user_key: string }>(
        `INSERT INTO users (workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::bigint[], $9::bigint[])
         ${REPLACE_USER} RETURNING id, user_key`,
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
  });
}
