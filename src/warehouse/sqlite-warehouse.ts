import type Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqlite, STORE_LOCK_WAIT_MS } from '../../db/client';
import { isBusyStore } from '../store-errors';
import { compileCriteria, type Criteria } from '../domain/criteria';
import { brazeIdentifierSql } from '../domain/identity';
import { DEFAULT_WAREHOUSE_DEADLINES, type WarehouseDeadlines } from './deadlines';
import { type BulkRequest, keyOf, runBulk } from './sqlite-bulk-run.mjs';
import { SqliteBulkThread } from './sqlite-bulk-thread';
import { SqlitePreviewPool } from './sqlite-preview-pool';
import { allowInterruption, type PreviewQuery, runPreview } from './sqlite-preview-run.mjs';
import { warehouseMigrations } from './sqlite-schema';
import { WarehouseTimeoutError } from './warehouse-timeout-error';
import {
  type AcknowledgedPages,
  type EventInput,
  type FirstImportProgress,
  type FrozenDiff,
  type FrozenRun,
  type PageChanges,
  type PageRow,
  pageChangesOf,
  type PreviewMember,
  type RunChanges,
  type SyncTarget,
  type UserInput,
  type Warehouse,
} from './warehouse';

function applyMigrations(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS warehouse_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  // IMMEDIATE takes the write lock first, so processes starting together apply each step once.
  const step = db.transaction(() => {
    const row = db.prepare('SELECT max(version) AS v FROM warehouse_migrations').get() as { v: number | null };
    const done = row.v ?? 0;
    warehouseMigrations.forEach((sql, i) => {
      if (i + 1 <= done) return;
      db.exec(sql);
      db.prepare('INSERT INTO warehouse_migrations (version, applied_at) VALUES (?, ?)').run(i + 1, Date.now());
    });
  });
  step.immediate();
}

export interface SqliteWarehouseOptions {
  /**
   * `queryMs` bounds a preview (run in a thread); `bulkMs` a freeze and a diff (chunked, see
   * sqlite-bulk-run.mjs). SQLite's other statements have no deadline.
   */
  deadlines?: Partial<WarehouseDeadlines>;
  /** Threads that run previews (each with its own read-only connection); 0: previews on this thread. */
  previewThreads?: number;
  /**
   * Freezes, diffs and discards in a thread with a connection of its own (default, for a file),
   * so they never hold the caller's event loop; false runs them on this thread.
   */
  bulkThread?: boolean;
  /** How long a write waits for another connection's write lock (default STORE_LOCK_WAIT_MS). */
  lockWaitMs?: number;
  /** Users (by id) per statement of a freeze or a diff, and per committed chunk of a first import (default 16,384). */
  chunkIds?: number;
}

export async function openSqliteWarehouse(
  path: string,
  options: SqliteWarehouseOptions = {},
): Promise<SqliteWarehouse> {
  const db = openSqlite(path, options.lockWaitMs);
  applyMigrations(db);
  return new SqliteWarehouse(db, options);
}

const id = brazeIdentifierSql('u');

/**
 * The nice value (Linux) of the thread that freezes a first import chunk by chunk, while the
 * run's first pages are sent: at normal priority it took a core from the requests in flight (and,
 * on the bench's machine, from Braze's stand-in); at 10 it takes what they leave, and it only has
 * to stay ahead of the upload. A thread of its own: an unprivileged thread cannot raise its
 * priority back, and the other bulk work (a one-pass freeze, a diff, a clean-up) holds the write
 * lock for long stretches that a preempted holder would make longer still.
 */
const CHUNK_THREAD_NICE = 10;

/** The longest pause between two asks for the write lock (writeWithoutBlocking). */
const LOCK_POLL_MAX_MS = 8;

/** How many times in a row page records wait out the write lock (STORE_LOCK_WAIT_MS each) before they fail. */
const ACK_LOCK_WAITS = 10;

/** A row of run_acks: run key, first and last seq of the page, sync set. */
type AckRow = [runKey: number, fromSeq: number, toSeq: number, syncSet: number];

/**
 * A first import's statements over a range of user ids: members with an identifier go straight
 * into the diff; those without are only counted. The identifier test comes first: it is cheap,
 * and it spares the criteria for the other half.
 */
function firstImportSql(criteria: Criteria, now: number) {
  const where = compileCriteria(criteria, { now, userAlias: 'u' });
  const members = `FROM users u WHERE u.workspace_id = ? AND u.id BETWEEN ? AND ?`;
  return {
    insertSql: `
      INSERT INTO cohort_run_changes (run_key, user_id, op, id_type, id_value, id_label)
      SELECT ?, u.id, 'add', ${id.idType}, ${id.idValue}, ${id.idLabel}
      ${members} AND ${id.idType} IS NOT NULL AND (${where.sql})`,
    countUnmatchableSql: `SELECT count(*) ${members} AND ${id.idType} IS NULL AND (${where.sql})`,
    params: where.params,
  };
}

/** A preview as SQL; `interruption_point()` on every candidate row lets a thread be stopped mid-query. */
function previewQuery(workspaceId: string, criteria: Criteria, opts: { now: number; limit: number }): PreviewQuery {
  const where = compileCriteria(criteria, { now: opts.now, userAlias: 'u' });
  const members = `FROM users u WHERE u.workspace_id = ? AND interruption_point() AND (${where.sql})`;
  return {
    countSql: `SELECT count(*) AS count, coalesce(sum(${id.idType} IS NULL), 0) AS unmatchable ${members}`,
    sampleSql: `SELECT u.user_key, u.external_id, u.alias_name, u.alias_label, u.device_id ${members} ORDER BY u.id LIMIT ?`,
    params: [workspaceId, ...where.params],
    limit: opts.limit,
  };
}

export class SqliteWarehouse implements Warehouse {
  private readonly stmts;
  /** Previews run off the caller's thread; an in-memory database cannot be shared with one. */
  readonly previews: SqlitePreviewPool | undefined;
  /** A freeze's or a diff's deadline, as PostgreSQL's statement_timeout for them. */
  private readonly bulkMs: number;
  /** Where freezes, diffs and discards run when not on this thread. */
  private readonly bulk: SqliteBulkThread | undefined;
  /** Where a first import's chunks are frozen: a thread of its own, behind the process' other work. */
  private readonly chunkThread: SqliteBulkThread | undefined;
  private readonly lockWaitMs: number;
  private readonly chunkIds: number | undefined;

  constructor(
    readonly db: Database.Database,
    options: SqliteWarehouseOptions = {},
  ) {
    allowInterruption(db);
    this.bulkMs = options.deadlines?.bulkMs ?? DEFAULT_WAREHOUSE_DEADLINES.bulkMs;
    this.lockWaitMs = options.lockWaitMs ?? STORE_LOCK_WAIT_MS;
    this.chunkIds = options.chunkIds;
    this.previews =
      db.memory || options.previewThreads === 0
        ? undefined
        : new SqlitePreviewPool(db.name, {
            threads: options.previewThreads ?? 2,
            deadlineMs: options.deadlines?.queryMs ?? DEFAULT_WAREHOUSE_DEADLINES.queryMs,
          });
    // An in-memory database cannot be shared with another connection: its bulk work stays here.
    const thread = (nice: number) =>
      db.memory || options.bulkThread === false
        ? undefined
        : new SqliteBulkThread({ path: db.name, lockWaitMs: this.lockWaitMs, nice });
    this.bulk = thread(0);
    this.chunkThread = thread(CHUNK_THREAD_NICE);
    this.stmts = {
      upsertUser: db.prepare(`
        INSERT INTO users (workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)
        VALUES (@workspace_id, @user_key, @external_id, @alias_name, @alias_label, @device_id, jsonb(@properties), @now, @now)
        ON CONFLICT (workspace_id, user_key) DO UPDATE SET
          external_id = CASE WHEN @has_external_id THEN excluded.external_id ELSE users.external_id END,
          alias_name  = CASE WHEN @has_alias THEN excluded.alias_name ELSE users.alias_name END,
          alias_label = CASE WHEN @has_alias THEN excluded.alias_label ELSE users.alias_label END,
          device_id   = CASE WHEN @has_device_id THEN excluded.device_id ELSE users.device_id END,
          properties  = jsonb_patch(users.properties, excluded.properties),
          last_seen   = excluded.last_seen`),
      ensureUser: db.prepare(`
        INSERT INTO users (workspace_id, user_key, first_seen, last_seen) VALUES (?, ?, ?, ?)
        ON CONFLICT (workspace_id, user_key) DO NOTHING`),
      userIdByKey: db.prepare('SELECT id FROM users WHERE workspace_id = ? AND user_key = ?').pluck(),
      insertEvent: db.prepare(
        'INSERT INTO events (workspace_id, user_id, name, time, properties) VALUES (?, ?, ?, ?, jsonb(?))',
      ),
      touchUser: db.prepare('UPDATE users SET last_seen = max(last_seen, ?) WHERE id = ?'),
      runKey: db.prepare('SELECT id FROM run_keys WHERE run_id = ?').pluck(),
      insertSyncSet: db.prepare(
        'INSERT INTO sync_sets (cohort_id, sync_scope) VALUES (?, ?) ON CONFLICT (cohort_id, sync_scope) DO NOTHING',
      ),
      syncSet: db.prepare('SELECT id FROM sync_sets WHERE cohort_id = ? AND sync_scope = ?').pluck(),
      runRange: db.prepare('SELECT first_seq AS firstSeq FROM run_keys WHERE id = ?'),
      // SQLite groups the page and writes the JSON arrays: no per-identifier JS objects.
      readPage: db.prepare(`
        SELECT
          count(*) FILTER (WHERE op = 'add') AS added,
          count(*) FILTER (WHERE op = 'remove') AS removed,
          json_group_array(id_value) FILTER (WHERE op = 'add' AND id_type = 'external_id') AS addUserIds,
          json_group_array(id_value) FILTER (WHERE op = 'add' AND id_type = 'device_id') AS addDeviceIds,
          json_group_array(json_object('alias_name', id_value, 'alias_label', id_label))
            FILTER (WHERE op = 'add' AND id_type = 'alias') AS addAliases,
          json_group_array(id_value) FILTER (WHERE op = 'remove' AND id_type = 'external_id') AS removeUserIds,
          json_group_array(id_value) FILTER (WHERE op = 'remove' AND id_type = 'device_id') AS removeDeviceIds,
          json_group_array(json_object('alias_name', id_value, 'alias_label', id_label))
            FILTER (WHERE op = 'remove' AND id_type = 'alias') AS removeAliases
        FROM cohort_run_changes WHERE seq BETWEEN ? AND ? AND run_key = ?`),
      // One row per acknowledged page; folded into cohort_synced_members in bulk (sqlite-bulk-run.mjs).
      recordAck: db.prepare(`
        INSERT INTO run_acks (run_key, from_seq, to_seq, sync_set) VALUES (?, ?, ?, ?)
        ON CONFLICT (run_key, from_seq) DO NOTHING`),
      // The run's acknowledged pages starting in a range, and the changes they carried.
      acknowledged: db.prepare(`
        SELECT
          (SELECT count(*) FROM run_acks WHERE run_key = @runKey AND from_seq BETWEEN @from AND @to) AS pages,
          count(*) FILTER (WHERE c.op = 'add') AS added,
          count(*) FILTER (WHERE c.op = 'remove') AS removed
        FROM run_acks a JOIN cohort_run_changes c ON c.seq BETWEEN a.from_seq AND a.to_seq AND c.run_key = a.run_key
        WHERE a.run_key = @runKey AND a.from_seq BETWEEN @from AND @to`),
      forgetAcks: db.prepare('DELETE FROM run_acks WHERE sync_set IN (SELECT id FROM sync_sets WHERE cohort_id = ?)'),
      forgetCohort: db.prepare(
        'DELETE FROM cohort_synced_members WHERE sync_set IN (SELECT id FROM sync_sets WHERE cohort_id = ?)',
      ),
    };
  }

  private readonly runKeys = new Map<string, number>();
  private readonly runFirstSeqs = new Map<string, number>();
  private readonly syncSets = new Map<string, number>();

  /**
   * The run's key and the first seq of its diff, once the diff is recorded (kept: neither
   * changes while its pages are sent); undefined before it is, or once it was cleaned up.
   */
  private recordedRun(runId: string): { runKey: number; firstSeq: number } | undefined {
    let runKey = this.runKeys.get(runId);
    let firstSeq = this.runFirstSeqs.get(runId);
    if (runKey === undefined || firstSeq === undefined) {
      runKey = this.stmts.runKey.get(runId) as number | undefined;
      const range =
        runKey === undefined ? undefined : (this.stmts.runRange.get(runKey) as { firstSeq: number | null } | undefined);
      if (runKey === undefined || range?.firstSeq == null) return undefined;
      firstSeq = range.firstSeq;
      this.runKeys.set(runId, runKey);
      this.runFirstSeqs.set(runId, firstSeq);
    }
    return { runKey, firstSeq };
  }

  /** A page's seq range (1-based within the run) as the table's own seqs, and the run's key. */
  private absoluteRange(runId: string, fromSeq: number, toSeq: number): [number, number, number] {
    const run = this.recordedRun(runId);
    if (!run) throw new Error(`Run ${runId} has no changes recorded`);
    return [run.firstSeq - 1 + fromSeq, run.firstSeq - 1 + toSeq, run.runKey];
  }

  private syncSet(cohortId: string, syncScope: string): number {
    const name = `${cohortId}/${syncScope}`;
    let key = this.syncSets.get(name);
    if (key === undefined) {
      key = keyOf(this.stmts.syncSet, this.stmts.insertSyncSet, cohortId, syncScope);
      this.syncSets.set(name, key);
    }
    return key;
  }

  /**
   * A run's bulk call: in the bulk thread, or here for an in-memory database. Either way it
   * writes what this connection's caches hold of the run (its key may be new, its changes
   * renumbered, or a rolled-back key gone): they are dropped.
   */
  private async bulkCall<T>(call: BulkRequest, thread = this.bulk): Promise<T> {
    const request = { ...call, chunkIds: this.chunkIds };
    try {
      if (thread) return await thread.call<T>(request);
      return runBulk(this.db, request, (operation, ms) => new WarehouseTimeoutError(operation, ms)) as T;
    } finally {
      this.runKeys.delete(request.runId);
      this.runFirstSeqs.delete(request.runId);
    }
  }

  async upsertUsers(workspaceId: string, users: UserInput[]): Promise<{ upserted: number }> {
    const now = Date.now();
    // Waited for on a timer: a freeze holding the write lock must not hold web's event loop.
    await this.writeWithoutBlocking(
      this.db.transaction(() => {
        for (const u of users) {
          this.stmts.upsertUser.run({
            workspace_id: workspaceId,
            user_key: u.user_key,
            external_id: u.external_id ?? null,
            alias_name: u.alias?.name ?? null,
            alias_label: u.alias?.label ?? null,
            device_id: u.device_id ?? null,
            properties: JSON.stringify(u.properties ?? {}),
            now,
            has_external_id: u.external_id !== undefined ? 1 : 0,
            has_alias: u.alias !== undefined ? 1 : 0,
            has_device_id: u.device_id !== undefined ? 1 : 0,
          });
        }
      }),
    );
    return { upserted: users.length };
  }

  async appendEvents(workspaceId: string, events: EventInput[]): Promise<{ appended: number; usersCreated: number }> {
    let usersCreated = 0;
    await this.writeWithoutBlocking(
      this.db.transaction(() => {
        const ids = new Map<string, number>();
        for (const e of events) {
          let userId = ids.get(e.user_key);
          if (userId === undefined) {
            usersCreated += this.stmts.ensureUser.run(workspaceId, e.user_key, e.time, e.time).changes;
            userId = this.stmts.userIdByKey.get(workspaceId, e.user_key) as number;
            ids.set(e.user_key, userId);
          }
          this.stmts.insertEvent.run(
            workspaceId,
            userId,
            e.name,
            e.time,
            e.properties ? JSON.stringify(e.properties) : null,
          );
          this.stmts.touchUser.run(e.time, userId);
        }
      }),
    );
    return { appended: events.length, usersCreated };
  }

  async preview(
    workspaceId: string,
    criteria: Criteria,
    opts: { now: number; limit: number },
  ): Promise<{ count: number; unmatchable: number; sample: PreviewMember[] }> {
    const query = previewQuery(workspaceId, criteria, opts);
    return this.previews ? this.previews.run(query) : runPreview(this.db, query);
  }

  /**
   * A freeze or a diff under `bulkMs`, as PostgreSQL's statement_timeout bounds them there.
   * better-sqlite3 cannot interrupt a running statement (no sqlite3_interrupt, and a thread
   * cannot be terminated inside native code), so the work is a series of statements over
   * bounded id ranges, and the deadline is checked between two of them (WarehouseTimeoutError
   * once it has passed). All chunks are one transaction: the throw rolls back every chunk
   * written so far, so a timeout leaves the run's working set as it was, and the run fails its
   * attempt exactly as on PostgreSQL. One transaction also keeps what committing chunks
   * separately would lose: one snapshot of the users, and a diff's consecutive seqs. The write
   * lock is held for the whole freeze, for at most `bulkMs` plus one chunk, and writers meeting
   * it answer 503 store_busy (retried). The work itself is sqlite-bulk-run.mjs, run in the bulk
   * thread; only the SQL that depends on the criteria is compiled here.
   */
  async freezeRunMembers(runId: string, workspaceId: string, criteria: Criteria, now: number): Promise<FrozenRun> {
    const where = compileCriteria(criteria, { now, userAlias: 'u' });
    return this.bulkCall({
      op: 'freezeRunMembers',
      runId,
      bulkMs: this.bulkMs,
      workspaceId,
      insertSql: `
        INSERT INTO cohort_run_members (run_key, user_id, id_type, id_value, id_label)
        SELECT ?, u.id, ${id.idType}, ${id.idValue}, ${id.idLabel}
        FROM users u WHERE u.workspace_id = ? AND u.id BETWEEN ? AND ? AND (${where.sql})`,
      params: where.params,
    });
  }

  async freezeFirstImport(
    runId: string,
    workspaceId: string,
    criteria: Criteria,
    now: number,
    sync: SyncTarget,
  ): Promise<FrozenDiff | null> {
    return this.bulkCall({
      op: 'freezeFirstImport',
      runId,
      bulkMs: this.bulkMs,
      workspaceId,
      cohortId: sync.cohortId,
      syncScope: sync.syncScope,
      ...firstImportSql(criteria, now),
    });
  }

  async beginFirstImport(
    runId: string,
    workspaceId: string,
    sync: SyncTarget,
    opts: { minUsers: number },
  ): Promise<{ userIds: number } | null> {
    return this.bulkCall({
      op: 'beginFirstImport',
      runId,
      bulkMs: this.bulkMs,
      workspaceId,
      cohortId: sync.cohortId,
      syncScope: sync.syncScope,
      minUsers: opts.minUsers,
    });
  }

  async freezeFirstImportChunk(
    runId: string,
    workspaceId: string,
    criteria: Criteria,
    now: number,
  ): Promise<FirstImportProgress> {
    return this.bulkCall(
      { op: 'freezeFirstImportChunk', runId, bulkMs: this.bulkMs, workspaceId, ...firstImportSql(criteria, now) },
      this.chunkThread,
    );
  }

  async computeChanges(runId: string, cohortId: string, syncScope: string, fullResync: boolean): Promise<RunChanges> {
    return this.bulkCall({ op: 'computeChanges', runId, bulkMs: this.bulkMs, cohortId, syncScope, fullResync });
  }

  async readPage(runId: string, fromSeq: number, toSeq: number): Promise<PageChanges> {
    const r = this.stmts.readPage.get(...this.absoluteRange(runId, fromSeq, toSeq)) as PageRow;
    return pageChangesOf(r);
  }

  /**
   * A short row per page, not a thousand upserts: the synced set takes it in bulk before it is
   * next read. Records wait for the write lock together and are written in one transaction (a
   * group commit), in the order they were asked for: while a freeze's chunk holds the lock, the
   * pages acknowledged meanwhile are recorded at once when it is released, instead of one page
   * per span getting in between two chunks.
   */
  readonly recordsInCallOrder = true;

  applyChanges(runId: string, cohortId: string, syncScope: string, fromSeq: number, toSeq: number): Promise<void> {
    try {
      const [from, to, runKey] = this.absoluteRange(runId, fromSeq, toSeq);
      const row: AckRow = [runKey, from, to, this.syncSet(cohortId, syncScope)];
      return new Promise((resolve, reject) => {
        this.pendingAcks.push({ row, settle: (err) => (err === undefined ? resolve() : reject(err)) });
        if (!this.writingAcks) void this.writeAcks();
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private readonly pendingAcks: { row: AckRow; settle(err?: unknown): void }[] = [];
  private writingAcks = false;

  /** Writes the records asked for, oldest first, each batch in one transaction, until none waits. */
  private async writeAcks(): Promise<void> {
    this.writingAcks = true;
    try {
      for (let lockWaits = 1; this.pendingAcks.length > 0;) {
        let batch: typeof this.pendingAcks = [];
        try {
          await this.writeWithoutBlocking(
            this.db.transaction(() => {
              // Taken once the lock is held: what was asked for while waiting goes in too.
              batch = this.pendingAcks.splice(0);
              for (const { row } of batch) this.stmts.recordAck.run(...row);
            }),
          );
          for (const ack of batch) ack.settle();
          lockWaits = 1;
        } catch (err) {
          // The lock stayed held (a long bulk write): wait again, as a page's caller would retry.
          if (batch.length === 0 && isBusyStore(err) && lockWaits++ < ACK_LOCK_WAITS) continue;
          // Every record still waiting fails with it: one written after a record that was not
          // would leave a gap in the pages a span's retry resumes after.
          for (const ack of [...batch, ...this.pendingAcks.splice(0)]) ack.settle(err ?? new Error('record failed'));
        }
      }
    } finally {
      this.writingAcks = false;
    }
  }

  async acknowledgedPages(runId: string, fromSeq: number, toSeq: number): Promise<AcknowledgedPages> {
    // A run with no diff recorded (never diffed, or cleaned up once it ended) has nothing acknowledged.
    if (!this.recordedRun(runId)) return { pages: 0, added: 0, removed: 0 };
    const [from, to, runKey] = this.absoluteRange(runId, fromSeq, toSeq);
    return this.stmts.acknowledged.get({ runKey, from, to }) as AcknowledgedPages;
  }

  /**
   * A short write transaction that waits for SQLite's write lock without blocking the event loop.
   * SQLite's own busy wait sleeps inside the call, and in a worker that stalls every other page
   * it has in flight (their answers, their records) for at least a millisecond per collision,
   * often more: with two workers recording pages into one file, a fifth of a worker's time went
   * there. Here the lock is asked for without waiting (BEGIN IMMEDIATE, busy_timeout 0), and a
   * refusal is waited out on a timer, for as long as the busy timeout would have waited. It asks
   * again after 1, 2, 4, then every 8 ms: a first import's freeze leaves the lock free for 12 ms
   * between two chunks, and a writer that looked every 25 ms (as before) mostly missed it (page
   * records waited up to half a second). A refused ask costs ~50–120 µs (SQLite's refusal is a
   * JavaScript exception): asking every 1–2 ms cost a 1M import ~0.3 s of CPU.
   */
  private async writeWithoutBlocking(tx: { immediate(): void }): Promise<void> {
    const giveUp = performance.now() + this.lockWaitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, LOCK_POLL_MAX_MS)) {
      this.db.pragma('busy_timeout = 0');
      try {
        tx.immediate();
        return;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || performance.now() > giveUp) throw err;
      } finally {
        this.db.pragma(`busy_timeout = ${this.lockWaitMs}`);
      }
      await sleep(pause);
    }
  }

  /** In steps of one short transaction each (see discardStep): other writers pass between two. */
  async discardRun(runId: string): Promise<void> {
    while (!(await this.bulkCall<boolean>({ op: 'discardStep', runId, bulkMs: this.bulkMs }))) {
      // the next step
    }
  }

  async forgetCohort(cohortId: string): Promise<void> {
    this.db.transaction(() => {
      this.stmts.forgetAcks.run(cohortId);
      this.stmts.forgetCohort.run(cohortId);
    })();
  }

  warmUp(): void {
    this.bulk?.start();
    this.chunkThread?.start();
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    // The threads read through connections of their own: this one closes at once, as before.
    const threads = Promise.all([this.previews?.close(), this.bulk?.close(), this.chunkThread?.close()]);
    this.db.close();
    await threads;
  }
}
