import type Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqlite, STORE_LOCK_WAIT_MS } from '../../db/client';
import { compileCriteria, type Criteria } from '../domain/criteria';
import { brazeIdentifierSql } from '../domain/identity';
import { DEFAULT_WAREHOUSE_DEADLINES, type WarehouseDeadlines } from './deadlines';
import { SqlitePreviewPool } from './sqlite-preview-pool';
import { allowInterruption, type PreviewQuery, runPreview } from './sqlite-preview-run.mjs';
import { warehouseMigrations } from './sqlite-schema';
import { WarehouseTimeoutError } from './warehouse-timeout-error';
import {
  type EventInput,
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
   * `bulkWrite`). SQLite's other statements have no deadline.
   */
  deadlines?: Partial<WarehouseDeadlines>;
  /** Threads that run previews (each with its own read-only connection). */
  previewThreads?: number;
  /** How long a write waits for another connection's write lock (default STORE_LOCK_WAIT_MS). */
  lockWaitMs?: number;
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
 * Users (by id) per statement of a freeze or a diff. Between two chunks the deadline is checked,
 * so a freeze or a diff outlives `bulkMs` by at most one chunk; 16 chunks per 1M users cost no
 * measurable time (a statement is a B-tree seek and a prepared-statement step).
 */
const BULK_CHUNK_IDS = 65_536;

type IdRange = { lo: number | null; hi: number | null };

/** `[lo, hi]` id ranges of BULK_CHUNK_IDS covering `min..max` (none when the set is empty). */
function* idChunks(range: IdRange): Generator<[number, number]> {
  if (range.lo === null || range.hi === null) return;
  for (let lo = range.lo; lo <= range.hi; lo += BULK_CHUNK_IDS) yield [lo, Math.min(lo + BULK_CHUNK_IDS - 1, range.hi)];
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
  private readonly lockWaitMs: number;

  constructor(
    readonly db: Database.Database,
    options: SqliteWarehouseOptions = {},
  ) {
    allowInterruption(db);
    this.bulkMs = options.deadlines?.bulkMs ?? DEFAULT_WAREHOUSE_DEADLINES.bulkMs;
    this.lockWaitMs = options.lockWaitMs ?? STORE_LOCK_WAIT_MS;
    this.previews = db.memory
      ? undefined
      : new SqlitePreviewPool(db.name, {
          threads: options.previewThreads ?? 2,
          deadlineMs: options.deadlines?.queryMs ?? DEFAULT_WAREHOUSE_DEADLINES.queryMs,
        });
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
      insertRunKey: db.prepare('INSERT INTO run_keys (run_id) VALUES (?) ON CONFLICT (run_id) DO NOTHING'),
      runKey: db.prepare('SELECT id FROM run_keys WHERE run_id = ?').pluck(),
      deleteRunKey: db.prepare('DELETE FROM run_keys WHERE id = ?'),
      insertSyncSet: db.prepare(
        'INSERT INTO sync_sets (cohort_id, sync_scope) VALUES (?, ?) ON CONFLICT (cohort_id, sync_scope) DO NOTHING',
      ),
      syncSet: db.prepare('SELECT id FROM sync_sets WHERE cohort_id = ? AND sync_scope = ?').pluck(),
      deleteRunMembers: db.prepare('DELETE FROM cohort_run_members WHERE run_key = ?'),
      // min() and max() as separate subqueries: each is one index seek, together they would scan.
      workspaceIds: db.prepare(`
        SELECT (SELECT min(id) FROM users WHERE workspace_id = @key) AS lo,
               (SELECT max(id) FROM users WHERE workspace_id = @key) AS hi`),
      memberIds: db.prepare(`
        SELECT (SELECT min(user_id) FROM cohort_run_members WHERE run_key = @key) AS lo,
               (SELECT max(user_id) FROM cohort_run_members WHERE run_key = @key) AS hi`),
      syncedIds: db.prepare(`
        SELECT (SELECT min(user_id) FROM cohort_synced_members WHERE sync_set = @key) AS lo,
               (SELECT max(user_id) FROM cohort_synced_members WHERE sync_set = @key) AS hi`),
      lastSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM cohort_run_changes').pluck(),
      runRange: db.prepare('SELECT first_seq AS firstSeq, last_seq AS lastSeq FROM run_keys WHERE id = ?'),
      setRunRange: db.prepare('UPDATE run_keys SET first_seq = ?, last_seq = ? WHERE id = ?'),
      deleteChanges: db.prepare('DELETE FROM cohort_run_changes WHERE seq BETWEEN ? AND ?'),
      countChanges: db.prepare('SELECT count(*) FROM cohort_run_changes WHERE seq BETWEEN ? AND ?').pluck(),
      runCounts: db.prepare(`
        SELECT count(*) AS size, coalesce(sum(id_type IS NULL), 0) AS unmatchable
        FROM cohort_run_members WHERE run_key = ?`),
      syncedCount: db.prepare('SELECT count(*) FROM cohort_synced_members WHERE sync_set = ?').pluck(),
      changeCounts: db.prepare(`
        SELECT coalesce(sum(op = 'add'), 0) AS additions, coalesce(sum(op = 'remove'), 0) AS removals
        FROM cohort_run_changes WHERE seq BETWEEN ? AND ?`),
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
      applyAdds: db.prepare(`
        INSERT INTO cohort_synced_members (sync_set, user_id, id_type, id_value, id_label)
        SELECT ?, user_id, id_type, id_value, id_label FROM cohort_run_changes
        WHERE seq BETWEEN ? AND ? AND run_key = ? AND op = 'add'
        ON CONFLICT (sync_set, user_id) DO UPDATE SET
          id_type = excluded.id_type, id_value = excluded.id_value, id_label = excluded.id_label`),
      applyRemoves: db.prepare(`
        DELETE FROM cohort_synced_members
        WHERE sync_set = ? AND user_id IN (
          SELECT user_id FROM cohort_run_changes WHERE seq BETWEEN ? AND ? AND run_key = ? AND op = 'remove')`),
      forgetCohort: db.prepare(
        'DELETE FROM cohort_synced_members WHERE sync_set IN (SELECT id FROM sync_sets WHERE cohort_id = ?)',
      ),
    };
  }

  private readonly runKeys = new Map<string, number>();
  private readonly runFirstSeqs = new Map<string, number>();
  private readonly syncSets = new Map<string, number>();

  /** The run's small integer key, made on first use (one per run, shared by every process). */
  private runKey(runId: string): number {
    let key = this.runKeys.get(runId);
    if (key === undefined) {
      this.stmts.insertRunKey.run(runId);
      key = this.stmts.runKey.get(runId) as number;
      this.runKeys.set(runId, key);
    }
    return key;
  }

  /** A page's seq range (1-based within the run) as the table's own seqs. */
  private absoluteRange(runId: string, fromSeq: number, toSeq: number): [number, number, number] {
    const runKey = this.runKey(runId);
    let first = this.runFirstSeqs.get(runId);
    if (first === undefined) {
      const range = this.stmts.runRange.get(runKey) as { firstSeq: number | null } | undefined;
      if (range?.firstSeq == null) throw new Error(`Run ${runId} has no changes recorded`);
      first = range.firstSeq;
      this.runFirstSeqs.set(runId, first);
    }
    return [first - 1 + fromSeq, first - 1 + toSeq, runKey];
  }

  private deleteRunChanges(runKey: number): void {
    const range = this.stmts.runRange.get(runKey) as { firstSeq: number | null; lastSeq: number | null } | undefined;
    if (range?.firstSeq != null && range.lastSeq != null) this.stmts.deleteChanges.run(range.firstSeq, range.lastSeq);
    this.stmts.setRunRange.run(null, null, runKey);
  }

  private syncSet(cohortId: string, syncScope: string): number {
    const name = `${cohortId}/${syncScope}`;
    let key = this.syncSets.get(name);
    if (key === undefined) {
      this.stmts.insertSyncSet.run(cohortId, syncScope);
      key = this.stmts.syncSet.get(cohortId, syncScope) as number;
      this.syncSets.set(name, key);
    }
    return key;
  }

  async upsertUsers(workspaceId: string, users: UserInput[]): Promise<{ upserted: number }> {
    const now = Date.now();
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
    })();
    return { upserted: users.length };
  }

  async appendEvents(workspaceId: string, events: EventInput[]): Promise<{ appended: number; usersCreated: number }> {
    let usersCreated = 0;
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
    })();
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
   * bounded id ranges, and `checkpoint()` between two of them throws WarehouseTimeoutError
   * once the deadline has passed. All chunks are one transaction: the throw rolls back every
   * chunk written so far, so a timeout leaves the run's working set as it was, and the run
   * fails its attempt exactly as on PostgreSQL. One transaction also keeps what committing
   * chunks separately would lose: one snapshot of the users, and a diff's consecutive seqs. It
   * does not shorten the write lock: that is held for the whole freeze as before, but now for
   * at most `bulkMs` plus one chunk, and writers meeting it answer 503 store_busy (retried).
   */
  private bulkWrite<T>(operation: string, work: (checkpoint: () => void) => T): T {
    const deadline = performance.now() + this.bulkMs;
    const checkpoint = () => {
      if (performance.now() > deadline) throw new WarehouseTimeoutError(operation, this.bulkMs);
    };
    try {
      return this.db.transaction(() => work(checkpoint))();
    } catch (err) {
      // A run key or sync set made inside the rolled-back transaction no longer exists: the
      // next call must not reuse it from the cache (another run could be given the same id).
      this.runKeys.clear();
      this.runFirstSeqs.clear();
      this.syncSets.clear();
      throw err;
    }
  }

  async freezeRunMembers(runId: string, workspaceId: string, criteria: Criteria, now: number): Promise<FrozenRun> {
    const where = compileCriteria(criteria, { now, userAlias: 'u' });
    const insert = this.db.prepare(`
      INSERT INTO cohort_run_members (run_key, user_id, id_type, id_value, id_label)
      SELECT ?, u.id, ${id.idType}, ${id.idValue}, ${id.idLabel}
      FROM users u WHERE u.workspace_id = ? AND u.id BETWEEN ? AND ? AND (${where.sql})`);
    return this.bulkWrite('freezing the members', (checkpoint) => {
      const runKey = this.runKey(runId);
      this.stmts.deleteRunMembers.run(runKey);
      for (const [lo, hi] of idChunks(this.stmts.workspaceIds.get({ key: workspaceId }) as IdRange)) {
        checkpoint();
        insert.run(runKey, workspaceId, lo, hi, ...where.params);
      }
      checkpoint();
      const c = this.stmts.runCounts.get(runKey) as { size: number; unmatchable: number };
      return { cohortSize: c.size, unmatchable: c.unmatchable };
    });
  }

  async freezeFirstImport(
    runId: string,
    workspaceId: string,
    criteria: Criteria,
    now: number,
    sync: SyncTarget,
  ): Promise<FrozenDiff | null> {
    const where = compileCriteria(criteria, { now, userAlias: 'u' });
    const members = `FROM users u WHERE u.workspace_id = ? AND u.id BETWEEN ? AND ?`;
    // The identifier test first: it is cheap, and it spares the criteria for the other half.
    const insertAdditions = this.db.prepare(`
      INSERT INTO cohort_run_changes (run_key, user_id, op, id_type, id_value, id_label)
      SELECT ?, u.id, 'add', ${id.idType}, ${id.idValue}, ${id.idLabel}
      ${members} AND ${id.idType} IS NOT NULL AND (${where.sql})`);
    const countUnmatchable = this.db
      .prepare(`SELECT count(*) ${members} AND ${id.idType} IS NULL AND (${where.sql})`)
      .pluck();
    return this.bulkWrite('freezing the members', (checkpoint) => {
      const syncSet = this.syncSet(sync.cohortId, sync.syncScope);
      if ((this.stmts.syncedCount.get(syncSet) as number) > 0) return null;
      const runKey = this.runKey(runId);
      this.stmts.deleteRunMembers.run(runKey);
      let additions = 0;
      let unmatchable = 0;
      this.writeRunChanges(runId, runKey, () => {
        for (const [lo, hi] of idChunks(this.stmts.workspaceIds.get({ key: workspaceId }) as IdRange)) {
          checkpoint();
          additions += insertAdditions.run(runKey, workspaceId, lo, hi, ...where.params).changes;
          unmatchable += countUnmatchable.get(workspaceId, lo, hi, ...where.params) as number;
        }
        checkpoint();
        return additions;
      });
      return { cohortSize: additions + unmatchable, unmatchable, additions, removals: 0, syncedBefore: 0 };
    });
  }

  async computeChanges(runId: string, cohortId: string, syncScope: string, fullResync: boolean): Promise<RunChanges> {
    // Additions: frozen members Braze does not know under this identifier (all of them on a
    // full resync). Removals: what Braze was told about users who are no longer members.
    const alreadySynced = fullResync
      ? ''
      : `AND NOT EXISTS (
           SELECT 1 FROM cohort_synced_members s
           WHERE s.sync_set = @syncSet AND s.user_id = m.user_id
             AND s.id_type = m.id_type AND s.id_value = m.id_value AND s.id_label IS m.id_label)`;
    const insertAdditions = this.db.prepare(`
      INSERT INTO cohort_run_changes (run_key, user_id, op, id_type, id_value, id_label)
      SELECT @runKey, m.user_id, 'add', m.id_type, m.id_value, m.id_label
      FROM cohort_run_members m
      WHERE m.run_key = @runKey AND m.user_id BETWEEN @lo AND @hi AND m.id_type IS NOT NULL ${alreadySynced}`);
    const insertRemovals = this.db.prepare(`
      INSERT INTO cohort_run_changes (run_key, user_id, op, id_type, id_value, id_label)
      SELECT @runKey, s.user_id, 'remove', s.id_type, s.id_value, s.id_label
      FROM cohort_synced_members s
      WHERE s.sync_set = @syncSet AND s.user_id BETWEEN @lo AND @hi AND NOT EXISTS (
        SELECT 1 FROM cohort_run_members m
        WHERE m.run_key = @runKey AND m.user_id = s.user_id AND m.id_type IS NOT NULL)`);
    return this.bulkWrite('computing the changes', (checkpoint): RunChanges => {
      const runKey = this.runKey(runId);
      const syncSet = this.syncSet(cohortId, syncScope);
      const syncedBefore = this.stmts.syncedCount.get(syncSet) as number;
      // Additions first, then removals.
      const range = this.writeRunChanges(runId, runKey, () => {
        let changes = 0;
        for (const [lo, hi] of idChunks(this.stmts.memberIds.get({ key: runKey }) as IdRange)) {
          checkpoint();
          changes += insertAdditions.run({ runKey, syncSet, lo, hi }).changes;
        }
        for (const [lo, hi] of idChunks(this.stmts.syncedIds.get({ key: syncSet }) as IdRange)) {
          checkpoint();
          changes += insertRemovals.run({ runKey, syncSet, lo, hi }).changes;
        }
        checkpoint();
        return changes;
      });
      if (!range) return { additions: 0, removals: 0, syncedBefore };
      return {
        ...(this.stmts.changeCounts.get(range.first, range.last) as Omit<RunChanges, 'syncedBefore'>),
        syncedBefore,
      };
    });
  }

  /**
   * Writes a run's diff inside a freeze's or a diff's transaction: drops an earlier attempt's,
   * lets `insert` add the rows (it answers how many), and records their range on the run's key.
   * Inside the write transaction nobody else inserts: each new row takes max(seq) + 1, so the
   * run's changes are the consecutive seqs after the last one before. Null when there are none.
   */
  private writeRunChanges(runId: string, runKey: number, insert: () => number): { first: number; last: number } | null {
    this.deleteRunChanges(runKey);
    this.runFirstSeqs.delete(runId);
    const before = this.stmts.lastSeq.get() as number;
    const changes = insert();
    if (changes === 0) return null;
    const first = before + 1;
    const last = before + changes;
    if (this.stmts.countChanges.get(first, last) !== changes) {
      throw new Error(`The changes of run ${runId} did not get consecutive seqs`);
    }
    this.stmts.setRunRange.run(first, last, runKey);
    return { first, last };
  }

  async readPage(runId: string, fromSeq: number, toSeq: number): Promise<PageChanges> {
    const r = this.stmts.readPage.get(...this.absoluteRange(runId, fromSeq, toSeq)) as PageRow;
    return pageChangesOf(r);
  }

  async applyChanges(
    runId: string,
    cohortId: string,
    syncScope: string,
    fromSeq: number,
    toSeq: number,
  ): Promise<void> {
    const range = this.absoluteRange(runId, fromSeq, toSeq);
    const syncSet = this.syncSet(cohortId, syncScope);
    await this.writeWithoutBlocking(
      this.db.transaction(() => {
        this.stmts.applyAdds.run(syncSet, ...range);
        this.stmts.applyRemoves.run(syncSet, ...range);
      }),
    );
  }

  /**
   * A short write transaction that waits for SQLite's write lock without blocking the event loop.
   * SQLite's own busy wait sleeps inside the call, and in a worker that stalls every other page
   * it has in flight (their answers, their records) for at least a millisecond per collision,
   * often more: with two workers recording pages into one file, a fifth of a worker's time went
   * there. Here the lock is asked for without waiting (BEGIN IMMEDIATE, busy_timeout 0), and a
   * refusal is waited out on a timer, for as long as the busy timeout would have waited.
   */
  private async writeWithoutBlocking(tx: { immediate(): void }): Promise<void> {
    const giveUp = performance.now() + this.lockWaitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 25)) {
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

  async discardRun(runId: string): Promise<void> {
    const runKey = this.runKey(runId);
    this.db.transaction(() => {
      this.stmts.deleteRunMembers.run(runKey);
      this.deleteRunChanges(runKey);
      this.stmts.deleteRunKey.run(runKey);
    })();
    this.runKeys.delete(runId);
    this.runFirstSeqs.delete(runId);
  }

  async forgetCohort(cohortId: string): Promise<void> {
    this.stmts.forgetCohort.run(cohortId);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    // The threads read through connections of their own: this one closes at once, as before.
    const threads = this.previews?.close();
    this.db.close();
    await threads;
  }
}
