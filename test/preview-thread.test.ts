import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Criteria } from '../src/domain/criteria';
import {
  openSqliteWarehouse,
  type SqliteWarehouse,
  type SqliteWarehouseOptions,
} from '../src/warehouse/sqlite-warehouse';
import { WarehouseTimeoutError } from '../src/warehouse/warehouse-timeout-error';
import { type Harness, startHarness } from './support/harness';
import { scratchDir } from './support/scratch';

/**
 * Previews on a SQLite file run in worker threads (src/warehouse/sqlite-preview-pool.ts). A
 * costly preview here evaluates 200 `contains` conditions (the criteria limit) against arrays
 * of 10,000 tags: about a quarter of a second per user, so 120 users keep one statement busy
 * for about half a minute without a large warehouse.
 */
const TAGS_PER_USER = 10_000;
const COSTLY_USERS = 120;

/** Users whose `tags` array makes every `contains` condition a scan of 10,000 strings. */
function seedCostlyUsers(db: Database.Database, workspaceId: string, users: number): void {
  db.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?),
       tags(list) AS (
         SELECT json_group_array('tag-' || j) FROM (
           WITH RECURSIVE t(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM t WHERE j < ?) SELECT j FROM t))
     INSERT INTO users (workspace_id, user_key, external_id, properties, first_seen, last_seen)
     SELECT ?, 'costly-' || k.i, 'costly-' || k.i, jsonb_object('tags', json(tags.list)), 0, 0 FROM k, tags`,
  ).run(users, TAGS_PER_USER, workspaceId);
}

/** `any` of 2 × 100 `contains` conditions that match no tag. */
function costlyCriteria(): Criteria {
  return {
    any: Array.from({ length: 2 }, (_, g) => ({
      any: Array.from({ length: 100 }, (_, i) => ({ property: 'tags', op: 'contains', value: `absent-${g}-${i}` })),
    })),
  } as Criteria;
}

const vip = { all: [{ property: 'vip', op: 'eq', value: true }] } as Criteria;
const small = [
  { user_key: 'a', external_id: 'ext-a', properties: { vip: true } },
  { user_key: 'b', alias: { name: 'b@example.com', label: 'email' }, properties: { vip: true } },
  { user_key: 'c', device_id: 'dev-c', properties: { vip: true } },
  { user_key: 'd', properties: { vip: true } },
  { user_key: 'e', external_id: 'ext-e', properties: { vip: false } },
];

describe('previews of a SQLite file warehouse', () => {
  let dir: string;
  const opened: SqliteWarehouse[] = [];

  async function open(options: SqliteWarehouseOptions = {}): Promise<SqliteWarehouse> {
    const wh = await openSqliteWarehouse(join(dir, 'warehouse.db'), options);
    opened.push(wh);
    return wh;
  }

  beforeEach(() => {
    dir = scratchDir('preview-thread');
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((wh) => wh.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A thread up and idle, so a costly query starts at once (a new thread's start-up counts against the deadline). */
  async function warmUp(wh: SqliteWarehouse): Promise<void> {
    await wh.upsertUsers('w', small);
    expect(await wh.preview('w', vip, { now: Date.now(), limit: 1 })).toMatchObject({ count: 4 });
  }

  it('run in a thread and answer what the in-process path answers', async () => {
    const file = await open();
    const memory = await openSqliteWarehouse(':memory:');
    opened.push(memory);
    for (const wh of [file, memory]) await wh.upsertUsers('w', small);
    const criteria = [vip, { property: 'vip', op: 'eq', value: false }, { identity: 'anonymous' }] as Criteria[];
    for (const c of criteria) {
      const now = Date.now();
      expect(await file.preview('w', c, { now, limit: 3 })).toEqual(await memory.preview('w', c, { now, limit: 3 }));
    }
    expect(await file.preview('w', vip, { now: Date.now(), limit: 10 })).toMatchObject({ count: 4, unmatchable: 1 });
    expect(file.previews?.threadCount).toBe(1);
    expect(memory.previews).toBeUndefined();
  });

  it('keep the event loop free while a costly preview runs', async () => {
    const wh = await open();
    seedCostlyUsers(wh.db, 'costly', COSTLY_USERS);
    await warmUp(wh);
    let settled = false;
    const preview = wh.preview('costly', costlyCriteria(), { now: Date.now(), limit: 5 }).finally(() => {
      settled = true;
    });
    // In the web process' own thread the preview would hold the loop: no tick before it settles.
    let ticks = 0;
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        if (++ticks < 10) return;
        clearInterval(timer);
        done();
      }, 10);
    });
    expect(settled).toBe(false);
    expect(wh.previews?.pending).toBe(1);
    // Closing stops the running query (it would take about a minute) and ends the thread.
    const outcome = expect(preview).rejects.toThrow(/closed/);
    await wh.close();
    await outcome;
    expect(wh.previews?.threadCount).toBe(0);
  });

  it('stop a preview at its deadline with WarehouseTimeoutError and end its thread', async () => {
    const wh = await open({ deadlines: { queryMs: 1000 } });
    seedCostlyUsers(wh.db, 'costly', COSTLY_USERS);
    await warmUp(wh);
    const late = wh.preview('costly', costlyCriteria(), { now: Date.now(), limit: 5 });
    await expect(late).rejects.toThrow(WarehouseTimeoutError);
    await expect(late).rejects.toMatchObject({ operation: 'the preview', limitMs: 1000 });
    // Uninterrupted, the preview would run about a minute: the thread exits at its next row instead.
    await vi.waitFor(() => expect(wh.previews?.threadCount).toBe(0), { timeout: 20_000 });
    // A new thread takes the next preview.
    expect(await wh.preview('w', vip, { now: Date.now(), limit: 1 })).toMatchObject({ count: 4 });
  });

  it('count the wait for a busy thread against the deadline', async () => {
    const wh = await open({ deadlines: { queryMs: 200 }, previewThreads: 1 });
    seedCostlyUsers(wh.db, 'costly', COSTLY_USERS);
    await wh.upsertUsers('w', small);
    const running = wh.preview('costly', costlyCriteria(), { now: Date.now(), limit: 5 });
    const queued = wh.preview('w', vip, { now: Date.now(), limit: 1 });
    expect(wh.previews?.threadCount).toBe(1);
    await expect(running).rejects.toThrow(WarehouseTimeoutError);
    await expect(queued).rejects.toThrow(WarehouseTimeoutError);
  });

  it('end with the warehouse: a process that previewed exits by itself after close()', async () => {
    const wh = await open();
    await wh.upsertUsers('w', small);
    const module = resolve('src/warehouse/sqlite-warehouse.ts');
    // Under `node --import tsx`, as Procfile and the Dockerfile start web.
    const script = `
      const { openSqliteWarehouse } = await import(${JSON.stringify(module)});
      const wh = await openSqliteWarehouse(${JSON.stringify(join(dir, 'warehouse.db'))});
      const preview = await wh.preview('w', { property: 'vip', op: 'eq', value: true }, { now: Date.now(), limit: 1 });
      console.log(JSON.stringify({ count: preview.count, threads: wh.previews.threadCount }));
      await wh.close();
      console.log(JSON.stringify({ threads: wh.previews.threadCount }));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: process.cwd() },
    );
    expect(
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([{ count: 4, threads: 1 }, { threads: 0 }]);
  });
});

describe('the API when a preview outlives its deadline', () => {
  let h: Harness;
  let token: string;
  let workspaceId: string;

  beforeAll(async () => {
    h = await startHarness({ workers: false, warehouse: 'sqlite', env: { WAREHOUSE_QUERY_TIMEOUT_MS: '1500' } });
    const ws = await h.request('POST', '/v1/workspaces', { token: h.adminToken, body: { name: 'Costly' } });
    token = ws.body.api_token;
    workspaceId = ws.body.id;
    seedCostlyUsers((h.warehouse as SqliteWarehouse).db, workspaceId, COSTLY_USERS);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers /healthz while the preview runs, then 503 with Retry-After in the error shape', async () => {
    const criteria = costlyCriteria();
    // A thread up first, so the costly query runs while /healthz is asked.
    expect((await h.request('POST', '/v1/cohorts/preview', { token, body: { criteria: vip } })).status).toBe(200);
    let settled = false;
    const preview = h
      .request('POST', '/v1/cohorts/preview', { token, body: { criteria } })
      .finally(() => (settled = true));
    const previews = (h.warehouse as SqliteWarehouse).previews!;
    await vi.waitFor(() => expect(previews.pending).toBe(1), { timeout: 10_000 });
    expect((await h.request('GET', '/healthz')).status).toBe(200);
    expect(settled).toBe(false);

    const late = await preview;
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('2');
    expect(late.body).toEqual({
      error: {
        code: 'warehouse_timeout',
        message: expect.stringMatching(/within 1500 ms/),
        details: { limit_ms: 1500 },
      },
    });
    // The saved cohort's preview goes the same way.
    const cohort = await h.request('POST', '/v1/cohorts', { token, body: { name: 'costly', criteria } });
    expect(cohort.status).toBe(201);
    const saved = await h.request('GET', `/v1/cohorts/${cohort.body.id}/preview`, { token });
    expect(saved.status).toBe(503);
    expect(saved.body.error.code).toBe('warehouse_timeout');
  });
});
