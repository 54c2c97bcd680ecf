import pg from 'pg';
import { STORE_LOCK_WAIT_MS } from '../../db/client';
import { compileCriteria, type Criteria } from '../domain/criteria';
import { brazeIdentifierSql } from '../domain/identity';
import { DEFAULT_WAREHOUSE_DEADLINES, type WarehouseDeadlines } from './deadlines';
import { pgWarehouseMigrations } from './pg-schema';
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
import { WarehouseTimeoutError } from './warehouse-timeout-error';

export interface PgWarehouseOptions {
  deadlines?: Partial<WarehouseDeadlines>;
  /** Connections in the pool (a worker runs a few page jobs at once; a freeze holds one). */
  poolSize?: number;
  /** How long a statement waits for a lock another session holds (default STORE_LOCK_WAIT_MS). */
  lockWaitMs?: number;
}

/** Serialises migrations across processes; another lock than the control database's. */
const MIGRATION_LOCK = 7_305_118_250;

const QUERY_CANCELED = '57014';
/** Worth running the whole transaction again: deadlock, serialization failure, a key raced in. */
const RETRYABLE = new Set(['40P01', '40001', '23505']);
const TRANSACTION_ATTEMPTS = 5;

const id = brazeIdentifierSql('u');

async function applyMigrations(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    // Session lock: processes starting at once wait here, and the later ones find nothing to do.
    // Another process's migrations may outlast a request's lock wait: only the deadline bounds it.
    await client.query('SET lock_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS warehouse_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)',
      );
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM warehouse_migrations');
      const done = rows[0]?.v ?? 0;
      for (let i = done; i < pgWarehouseMigrations.length; i++) {
        await client.query('BEGIN');
        try {
          await client.query(pgWarehouseMigrations[i]!);
          await client.query('INSERT INTO warehouse_migrations (version, applied_at) VALUES ($1, $2)', [
            i + 1,
            Date.now(),
          ]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      await client.query('RESET lock_timeout');
    }
  } finally {
    client.release();
  }
}

export async function openPgWarehouse(url: string, options: PgWarehouseOptions = {}): Promise<PgWarehouse> {
  const deadlines = { ...DEFAULT_WAREHOUSE_DEADLINES, ...options.deadlines };
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // The default deadline of every statement; bulk work raises it for its own transaction.
    statement_timeout: deadlines.queryMs,
    // A lock another session holds (a migration, a long transaction on the same rows) is a busy
    // store after this wait, as SQLite's busy wait: 55P03, a 503 store_busy for the API and a
    // step aside for a run's start, instead of a wait until the statement's deadline (5 min
    // for a freeze) that then spends the run's attempt.
    lock_timeout: options.lockWaitMs ?? STORE_LOCK_WAIT_MS,
    connectionTimeoutMillis: 10_000,
    application_name: 'cohort-import warehouse',
  });
  // An idle connection that breaks (server restart) is dropped by the pool; the next query
  // opens a new one. Without a listener the error would end the process.
  pool.on('error', () => undefined);
  try {
    await applyMigrations(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return new PgWarehouse(pool, deadlines);
}

/** Named statements are prepared once per connection and reused by every page. */
const READ_PAGE: Omit<pg.QueryConfig, 'values'> = {
  name: 'warehouse-read-page',
  text: `
    SELECT
      count(*) FILTER (WHERE op = 'add')::int AS added,
      count(*) FILTER (WHERE op = 'remove')::int AS removed,
      coalesce(json_agg(id_value ORDER BY seq) FILTER (WHERE op = 'add' AND id_type = 'external_id'), '[]')::text AS "addUserIds",
      coalesce(json_agg(id_value ORDER BY seq) FILTER (WHERE op = 'add' AND id_type = 'device_id'), '[]')::text AS "addDeviceIds",
      coalesce(json_agg(json_build_object('alias_name', id_value, 'alias_label', id_label) ORDER BY seq)
        FILTER (WHERE op = 'add' AND id_type = 'alias'), '[]')::text AS "addAliases",
      coalesce(json_agg(id_value ORDER BY seq) FILTER (WHERE op = 'remove' AND id_type = 'external_id'), '[]')::text AS "removeUserIds",
      coalesce(json_agg(id_value ORDER BY seq) FILTER (WHERE op = 'remove' AND id_type = 'device_id'), '[]')::text AS "removeDeviceIds",
      coalesce(json_agg(json_build_object('alias_name', id_value, 'alias_label', id_label) ORDER BY seq)
        FILTER (WHERE op = 'remove' AND id_type = 'alias'), '[]')::text AS "removeAliases"
    FROM cohort_run_changes WHERE run_key = $1 AND seq BETWEEN $2 AND $3`,
};

const APPLY_ADDS: Omit<pg.QueryConfig, 'values'> = {
  name: 'warehouse-apply-adds',
  text: `
    INSERT INTO cohort_synced_members (sync_set, user_id, id_type, id_value, id_label)
    SELECT $1, user_id, id_type, id_value, id_label FROM cohort_run_changes
    WHERE run_key = $2 AND seq BETWEEN $3 AND $4 AND op = 'add'
    ORDER BY user_id
    ON CONFLICT (sync_set, user_id) DO UPDATE SET
      id_type = excluded.id_type, id_value = excluded.id_value, id_label = excluded.id_label`,
};

const APPLY_REMOVES: Omit<pg.QueryConfig, 'values'> = {
  name: 'warehouse-apply-removes',
  text: `
    DELETE FROM cohort_synced_members
    WHERE sync_set = $1 AND user_id IN (
      SELECT user_id FROM cohort_run_changes WHERE run_key = $2 AND seq BETWEEN $3 AND $4 AND op = 'remove')`,
};

/** Splits a batch so no key appears twice in one round: a key's k-th occurrence goes in round k. */
function rounds<T extends { user_key: string }>(items: readonly T[]): T[][] {
  const seen = new Map<string, number>();
  const out: T[][] = [];
  for (const item of items) {
    const round = seen.get(item.user_key) ?? 0;
    seen.set(item.user_key, round + 1);
    (out[round] ??= []).push(item);
  }
  return out;
}

/**
 * The warehouse on PostgreSQL, doing the same work in SQL as `SqliteWarehouse`: freeze by
 * INSERT … SELECT, diff by anti-join numbered with row_number(), pages grouped into JSON by
 * json_agg, each acknowledged page applied in one transaction. Every statement has a
 * deadline (statement_timeout): `deadlines.bulkMs` for per-member work, `queryMs` otherwise.
 */
export class PgWarehouse implements Warehouse {
  private readonly runKeys = new Map<string, string>();
  private readonly syncSets = new Map<string, string>();

  constructor(
    readonly pool: pg.Pool,
    readonly deadlines: WarehouseDeadlines,
  ) {}

  /** One statement outside a transaction, under the pool's default deadline. */
  private async query<R extends pg.QueryResultRow>(
    operation: string,
    config: string | pg.QueryConfig,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(config as string, values);
    } catch (err) {
      throw this.translate(err, operation, this.deadlines.queryMs);
    }
  }

  /**
   * Runs `work` in one transaction whose statements may each run `deadlineMs`. A deadlock or
   * a key that a concurrent writer inserted first runs the whole transaction again.
   */
  async transaction<T>(operation: string, deadlineMs: number, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        if (deadlineMs !== this.deadlines.queryMs) {
          await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(deadlineMs)]);
        }
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < TRANSACTION_ATTEMPTS) continue;
        throw this.translate(err, operation, deadlineMs);
      } finally {
        client.release(broken);
      }
    }
  }

  private translate(err: unknown, operation: string, limitMs: number): unknown {
    if ((err as { code?: string }).code === QUERY_CANCELED) {
      return new WarehouseTimeoutError(operation, limitMs, { cause: err });
    }
    return err;
  }

  /** The run's small integer key, made on first use (one per run, shared by every process). */
  private async runKey(runId: string): Promise<string> {
    let key = this.runKeys.get(runId);
    if (key === undefined) {
      await this.query('a run key', 'INSERT INTO run_keys (run_id) VALUES ($1) ON CONFLICT (run_id) DO NOTHING', [
        runId,
      ]);
      const { rows } = await this.query<{ id: string }>('a run key', 'SELECT id FROM run_keys WHERE run_id = $1', [
        runId,
      ]);
      key = rows[0]!.id;
      this.runKeys.set(runId, key);
    }
    return key;
  }

  /** The key of a run that froze members; a page of a run that has none (discarded) is an error. */
  private async recordedRunKey(runId: string): Promise<string> {
    const cached = this.runKeys.get(runId);
    if (cached !== undefined) return cached;
    const { rows } = await this.query<{ id: string }>('a run key', 'SELECT id FROM run_keys WHERE run_id = $1', [
      runId,
    ]);
    if (rows[0] === undefined) throw new Error(`Run ${runId} has no changes recorded`);
    this.runKeys.set(runId, rows[0].id);
    return rows[0].id;
  }

  private async syncSet(cohortId: string, syncScope: string): Promise<string> {
    const name = `${cohortId}/${syncScope}`;
    let key = this.syncSets.get(name);
    if (key === undefined) {
      await this.query(
        'a sync set',
        'INSERT INTO sync_sets (cohort_id, sync_scope) VALUES ($1, $2) ON CONFLICT (cohort_id, sync_scope) DO NOTHING',
        [cohortId, syncScope],
      );
      const { rows } = await this.query<{ id: string }>(
        'a sync set',
        'SELECT id FROM sync_sets WHERE cohort_id = $1 AND sync_scope = $2',
        [cohortId, syncScope],
      );
      key = rows[0]!.id;
      this.syncSets.set(name, key);
    }
    return key;
  }

  async upsertUsers(workspaceId: string, users: UserInput[]): Promise<{ upserted: number }> {
    const now = Date.now();
    await this.transaction('the user upsert', this.deadlines.queryMs, async (client) => {
      for (const round of rounds(users)) {
        const input = [...round].sort((a, b) => (a.user_key < b.user_key ? -1 : a.user_key > b.user_key ? 1 : 0));
        const columns = [
          input.map((u) => u.user_key),
          input.map((u) => u.external_id ?? null),
          input.map((u) => u.alias?.name ?? null),
          input.map((u) => u.alias?.label ?? null),
          input.map((u) => u.device_id ?? null),
          input.map((u) => JSON.stringify(u.properties ?? {})),
          input.map((u) => u.external_id !== undefined),
          input.map((u) => u.alias !== undefined),
          input.map((u) => u.device_id !== undefined),
        ];
        const unnest = `unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::boolean[], $10::boolean[], $11::boolean[])
          AS i(user_key, external_id, alias_name, alias_label, device_id, properties, has_external_id, has_alias, has_device_id)`;
        // New users first; then, as a later statement that sees them, the users that existed.
        const inserted = await client.query<{ user_key: string }>(
          `INSERT INTO users (workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)
           SELECT $1, i.user_key, i.external_id, i.alias_name, i.alias_label, i.device_id, i.properties, $2, $2
           FROM ${unnest}
           ON CONFLICT (workspace_id, user_key) DO NOTHING
           RETURNING user_key`,
          [workspaceId, now, ...columns],
        );
        await client.query(
          `UPDATE users u SET
             external_id = CASE WHEN i.has_external_id THEN i.external_id ELSE u.external_id END,
             alias_name  = CASE WHEN i.has_alias THEN i.alias_name ELSE u.alias_name END,
             alias_label = CASE WHEN i.has_alias THEN i.alias_label ELSE u.alias_label END,
             device_id   = CASE WHEN i.has_device_id THEN i.device_id ELSE u.device_id END,
             properties  = warehouse_json_merge_patch(u.properties, i.properties),
             last_seen   = $2
           FROM ${unnest}
           WHERE u.workspace_id = $1 AND u.user_key = i.user_key AND NOT (i.user_key = ANY($12::text[]))`,
          [workspaceId, now, ...columns, inserted.rows.map((r) => r.user_key)],
        );
      }
    });
    return { upserted: users.length };
  }

  async appendEvents(workspaceId: string, events: EventInput[]): Promise<{ appended: number; usersCreated: number }> {
    const keys = events.map((e) => e.user_key);
    const times = events.map((e) => e.time);
    return this.transaction('the event append', this.deadlines.queryMs, async (client) => {
      // An unknown user_key creates the user, first and last seen at its first event of the batch.
      const created = await client.query(
        `INSERT INTO users (workspace_id, user_key, first_seen, last_seen)
         SELECT $1, f.user_key, f.time, f.time FROM (
           SELECT DISTINCT ON (e.user_key) e.user_key, e.time
           FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS e(user_key, time, n)
           ORDER BY e.user_key, e.n) f
         ORDER BY f.user_key
         ON CONFLICT (workspace_id, user_key) DO NOTHING`,
        [workspaceId, keys, times],
      );
      await client.query(
        `INSERT INTO events (workspace_id, user_id, name, time, properties)
         SELECT $1, u.id, e.name, e.time, e.properties
         FROM unnest($2::text[], $3::bigint[], $4::text[], $5::jsonb[]) WITH ORDINALITY AS e(user_key, time, name, properties, n)
         JOIN users u ON u.workspace_id = $1 AND u.user_key = e.user_key
         ORDER BY e.n`,
        [
          workspaceId,
          keys,
          times,
          events.map((e) => e.name),
          events.map((e) => (e.properties ? JSON.stringify(e.properties) : null)),
        ],
      );
      await client.query(
        `UPDATE users u SET last_seen = greatest(u.last_seen, m.time)
         FROM (SELECT e.user_key, max(e.time) AS time FROM unnest($2::text[], $3::bigint[]) AS e(user_key, time)
               GROUP BY e.user_key) m
         WHERE u.workspace_id = $1 AND u.user_key = m.user_key`,
        [workspaceId, keys, times],
      );
      return { appended: events.length, usersCreated: created.rowCount ?? 0 };
    });
  }

  async preview(
    workspaceId: string,
    criteria: Criteria,
    opts: { now: number; limit: number },
  ): Promise<{ count: number; unmatchable: number; sample: PreviewMember[] }> {
    const where = compileCriteria(criteria, { now: opts.now, userAlias: 'u', dialect: 'postgres', firstParameter: 2 });
    const [counts, sample] = await Promise.all([
      this.query<{ count: number; unmatchable: number }>(
        'the preview count',
        `SELECT count(*)::int AS count, count(*) FILTER (WHERE ${id.idType} IS NULL)::int AS unmatchable
         FROM users u WHERE u.workspace_id = $1 AND (${where.sql})`,
        [workspaceId, ...where.params],
      ),
      this.query<PreviewMember>(
        'the preview sample',
        `SELECT u.user_key, u.external_id, u.alias_name, u.alias_label, u.device_id
         FROM users u WHERE u.workspace_id = $1 AND (${where.sql}) ORDER BY u.id LIMIT $${where.params.length + 2}`,
        [workspaceId, ...where.params, opts.limit],
      ),
    ]);
    return { count: counts.rows[0]!.count, unmatchable: counts.rows[0]!.unmatchable, sample: sample.rows };
  }

  async freezeRunMembers(runId: string, workspaceId: string, criteria: Criteria, now: number): Promise<FrozenRun> {
    const runKey = await this.runKey(runId);
    const where = compileCriteria(criteria, { now, userAlias: 'u', dialect: 'postgres', firstParameter: 3 });
    return this.transaction('freezing the members', this.deadlines.bulkMs, async (client) => {
      await client.query('DELETE FROM cohort_run_members WHERE run_key = $1', [runKey]);
      const { rows } = await client.query<{ size: number; unmatchable: number }>(
        `WITH frozen AS (
           INSERT INTO cohort_run_members (run_key, user_id, id_type, id_value, id_label)
           SELECT $1, u.id, ${id.idType}, ${id.idValue}, ${id.idLabel}
           FROM users u WHERE u.workspace_id = $2 AND (${where.sql})
           RETURNING id_type)
         SELECT count(*)::int AS size, count(*) FILTER (WHERE id_type IS NULL)::int AS unmatchable FROM frozen`,
        [runKey, workspaceId, ...where.params],
      );
      return { cohortSize: rows[0]!.size, unmatchable: rows[0]!.unmatchable };
    });
  }

  async freezeFirstImport(
    runId: string,
    workspaceId: string,
    criteria: Criteria,
    now: number,
    sync: SyncTarget,
  ): Promise<FrozenDiff | null> {
    const [runKey, syncSet] = await Promise.all([this.runKey(runId), this.syncSet(sync.cohortId, sync.syncScope)]);
    const where = compileCriteria(criteria, { now, userAlias: 'u', dialect: 'postgres', firstParameter: 3 });
    return this.transaction('freezing the members', this.deadlines.bulkMs, async (client) => {
      const synced = await client.query('SELECT 1 FROM cohort_synced_members WHERE sync_set = $1 LIMIT 1', [syncSet]);
      if (synced.rowCount) return null;
      await client.query('DELETE FROM cohort_run_members WHERE run_key = $1', [runKey]);
      await client.query('DELETE FROM cohort_run_changes WHERE run_key = $1', [runKey]);
      // The members with an identifier are the diff, numbered as computeChanges numbers it; the
      // ones without are only counted.
      const { rows } = await client.query<{ additions: number; unmatchable: number }>(
        `WITH members AS (
           SELECT u.id, ${id.idType} AS id_type, ${id.idValue} AS id_value, ${id.idLabel} AS id_label
           FROM users u WHERE u.workspace_id = $2 AND (${where.sql})),
         diff AS (
           INSERT INTO cohort_run_changes (run_key, seq, user_id, op, id_type, id_value, id_label)
           SELECT $1, row_number() OVER (), m.id, 'add', m.id_type, m.id_value, m.id_label
           FROM members m WHERE m.id_type IS NOT NULL
           RETURNING 1)
         SELECT (SELECT count(*) FROM diff)::int AS additions,
                (SELECT count(*) FROM members WHERE id_type IS NULL)::int AS unmatchable`,
        [runKey, workspaceId, ...where.params],
      );
      const { additions, unmatchable } = rows[0]!;
      return { cohortSize: additions + unmatchable, unmatchable, additions, removals: 0, syncedBefore: 0 };
    });
  }

  async computeChanges(runId: string, cohortId: string, syncScope: string, fullResync: boolean): Promise<RunChanges> {
    const [runKey, syncSet] = await Promise.all([this.runKey(runId), this.syncSet(cohortId, syncScope)]);
    // Additions: frozen members Braze does not know under this identifier (all of them on a
    // full resync). Removals: what Braze was told about users who are no longer members.
    const alreadySynced = fullResync
      ? ''
      : `AND NOT EXISTS (
           SELECT 1 FROM cohort_synced_members s
           WHERE s.sync_set = $2 AND s.user_id = m.user_id
             AND s.id_type = m.id_type AND s.id_value = m.id_value AND s.id_label IS NOT DISTINCT FROM m.id_label)`;
    return this.transaction('computing the changes', this.deadlines.bulkMs, async (client) => {
      await client.query('DELETE FROM cohort_run_changes WHERE run_key = $1', [runKey]);
      const synced = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM cohort_synced_members WHERE sync_set = $1',
        [syncSet],
      );
      const { rows } = await client.query<Omit<RunChanges, 'syncedBefore'>>(
        `WITH diff AS (
           INSERT INTO cohort_run_changes (run_key, seq, user_id, op, id_type, id_value, id_label)
           SELECT $1, row_number() OVER (), d.user_id, d.op, d.id_type, d.id_value, d.id_label FROM (
             SELECT m.user_id, 'add' AS op, m.id_type, m.id_value, m.id_label
             FROM cohort_run_members m
             WHERE m.run_key = $1 AND m.id_type IS NOT NULL ${alreadySynced}
             UNION ALL
             SELECT s.user_id, 'remove', s.id_type, s.id_value, s.id_label
             FROM cohort_synced_members s
             WHERE s.sync_set = $2 AND NOT EXISTS (
               SELECT 1 FROM cohort_run_members m
               WHERE m.run_key = $1 AND m.user_id = s.user_id AND m.id_type IS NOT NULL)
           ) d
           RETURNING op)
         SELECT count(*) FILTER (WHERE op = 'add')::int AS additions,
                count(*) FILTER (WHERE op = 'remove')::int AS removals
         FROM diff`,
        [runKey, syncSet],
      );
      return { ...rows[0]!, syncedBefore: synced.rows[0]!.n };
    });
  }

  async readPage(runId: string, fromSeq: number, toSeq: number): Promise<PageChanges> {
    const runKey = await this.recordedRunKey(runId);
    const { rows } = await this.query<PageRow>('reading a page', { ...READ_PAGE, values: [runKey, fromSeq, toSeq] });
    const r = rows[0]!;
    // Pages are cut from the recorded total, so each seq exists; a short page means the diff
    // is gone (discarded by a cancel) and sending it would report changes never sent.
    if (r.added + r.removed !== toSeq - fromSeq + 1) {
      throw new Error(`Run ${runId} has no changes recorded for seqs ${fromSeq}..${toSeq}`);
    }
    return pageChangesOf(r);
  }

  async applyChanges(
    runId: string,
    cohortId: string,
    syncScope: string,
    fromSeq: number,
    toSeq: number,
  ): Promise<void> {
    const [runKey, syncSet] = await Promise.all([this.recordedRunKey(runId), this.syncSet(cohortId, syncScope)]);
    const values = [syncSet, runKey, fromSeq, toSeq];
    await this.transaction('applying a page', this.deadlines.queryMs, async (client) => {
      // No wait for the WAL flush at commit (this transaction only): a page's bookkeeping lost in
      // a server crash only makes the next run send those identifiers again, which Braze takes
      // as a no-op; a flush per 1,000 identifiers was most of a page's time.
      await client.query('SET LOCAL synchronous_commit TO OFF');
      await client.query({ ...APPLY_ADDS, values });
      await client.query({ ...APPLY_REMOVES, values });
    });
  }

  async discardRun(runId: string): Promise<void> {
    const runKey = await this.runKey(runId);
    await this.transaction('discarding a run', this.deadlines.bulkMs, async (client) => {
      await client.query('DELETE FROM cohort_run_members WHERE run_key = $1', [runKey]);
      await client.query('DELETE FROM cohort_run_changes WHERE run_key = $1', [runKey]);
      await client.query('DELETE FROM run_keys WHERE id = $1', [runKey]);
    });
    this.runKeys.delete(runId);
  }

  async forgetCohort(cohortId: string): Promise<void> {
    await this.transaction('forgetting a cohort', this.deadlines.bulkMs, (client) =>
      client.query(
        'DELETE FROM cohort_synced_members WHERE sync_set IN (SELECT id FROM sync_sets WHERE cohort_id = $1)',
        [cohortId],
      ),
    );
  }

  async ping(): Promise<void> {
    await this.query('the readiness check', 'SELECT 1');
  }

  async close(): Promise<void> {
    if (!this.pool.ended && !this.pool.ending) await this.pool.end();
  }
}
