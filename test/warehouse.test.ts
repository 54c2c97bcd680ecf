import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cohortChangesJson } from '../src/braze/cohort-changes';
import type { Criteria } from '../src/domain/criteria';
import { openSqlite, STORE_LOCK_WAIT_MS } from '../db/client';
import { isBusyStore } from '../src/store-errors';
import { openWarehouse, type OpenedWarehouse } from '../src/warehouse/open-warehouse';
import { openPgWarehouse, PgWarehouse } from '../src/warehouse/pg-warehouse';
import { openSqliteWarehouse, type SqliteWarehouse } from '../src/warehouse/sqlite-warehouse';
import type { PageChanges } from '../src/warehouse/warehouse';
import { WarehouseTimeoutError } from '../src/warehouse/warehouse-timeout-error';
import { createTestDatabase, type TestDatabase } from './support/postgres';
import { scratchDir } from './support/scratch';

/** The Warehouse contract, held to the same expectations on both engines. */
const vip = { all: [{ property: 'vip', op: 'eq', value: true }] } as Criteria;
const RUN_1 = '11111111-1111-4111-8111-111111111111';
const RUN_2 = '22222222-2222-4222-8222-222222222222';
const RUN_3 = '33333333-3333-4333-8333-333333333333';

/** A page as data: the JSON text SQL built, parsed (engines differ only in whitespace). */
function parsed(page: PageChanges) {
  const lists = (l: PageChanges['add']) => ({
    userIds: JSON.parse(l.userIds),
    deviceIds: JSON.parse(l.deviceIds),
    aliases: JSON.parse(l.aliases),
  });
  return { added: page.added, removed: page.removed, add: lists(page.add), remove: lists(page.remove) };
}

describe.each(['sqlite', 'postgres'] as const)('the warehouse on %s', (engine) => {
  let dir: string;
  let database: TestDatabase | undefined;
  let wh: OpenedWarehouse;

  beforeEach(async () => {
    dir = scratchDir('warehouse');
    if (engine === 'postgres') database = await createTestDatabase('warehouse');
    wh = await openWarehouse(database?.url ?? join(dir, 'warehouse.db'));
  });
  afterEach(async () => {
    await wh.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Rows of a bookkeeping table, whatever the engine. */
  async function count(table: 'cohort_run_members' | 'cohort_run_changes' | 'run_keys'): Promise<number> {
    if (wh instanceof PgWarehouse) {
      return (await wh.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
    }
    return (wh.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  }

  async function diff(runId: string, fullResync = false) {
    await wh.freezeRunMembers(runId, 'w', vip, Date.now());
    return wh.computeChanges(runId, 'cohort', 'scope', fullResync);
  }

  it('upserts: omitted fields keep their value, properties merge (null removes), repeats apply in order', async () => {
    await wh.upsertUsers('w', [
      {
        user_key: 'a',
        external_id: 'ext-a',
        device_id: 'dev-a',
        properties: { vip: true, n: { x: 1, y: 2 }, tag: 't' },
      },
    ]);
    const result = await wh.upsertUsers('w', [
      { user_key: 'a', properties: { n: { x: null, z: 3 }, tag: null } },
      { user_key: 'b', alias: { name: 'b@example.com', label: 'email' } },
      { user_key: 'a', device_id: null, properties: { vip: false } },
      { user_key: 'a', properties: { vip: true } },
    ]);
    expect(result).toEqual({ upserted: 4 });
    const preview = await wh.preview('w', { all: [{ property: 'n.z', op: 'eq', value: 3 }] } as Criteria, {
      now: Date.now(),
      limit: 10,
    });
    expect(preview).toEqual({
      count: 1,
      unmatchable: 0,
      sample: [{ user_key: 'a', external_id: 'ext-a', alias_name: null, alias_label: null, device_id: null }],
    });
    const gone = (property: string) =>
      wh.preview('w', { all: [{ property, op: 'not_exists' }] } as Criteria, { now: Date.now(), limit: 10 });
    expect((await gone('n.x')).count).toBe(2); // removed from a, never on b
    expect((await gone('tag')).sample.map((m) => m.user_key)).toEqual(['a', 'b']);
    expect((await wh.preview('w', vip, { now: Date.now(), limit: 10 })).count).toBe(1);
  });

  it('appends events, creating unknown users, and counts them in criteria', async () => {
    await wh.upsertUsers('w', [{ user_key: 'known', external_id: 'k' }]);
    const now = Date.now();
    const result = await wh.appendEvents('w', [
      { user_key: 'known', name: 'purchase', time: now - 1000 },
      { user_key: 'new', name: 'purchase', time: now - 2000, properties: { sku: 'x' } },
      { user_key: 'new', name: 'purchase', time: now - 500 },
      { user_key: 'new', name: 'open', time: now - 100 },
    ]);
    expect(result).toEqual({ appended: 4, usersCreated: 1 });
    const twice = { all: [{ event: 'purchase', op: 'gte', count: 2, within_days: 1 }] } as Criteria;
    expect(await wh.preview('w', twice, { now, limit: 5 })).toEqual({
      count: 1,
      unmatchable: 1,
      sample: [{ user_key: 'new', external_id: null, alias_name: null, alias_label: null, device_id: null }],
    });
    // Another workspace sees none of it.
    expect((await wh.preview('other', twice, { now, limit: 5 })).count).toBe(0);
  });

  it('freezes, diffs, pages, applies: the next diff holds only entries and exits', async () => {
    await wh.upsertUsers('w', [
      { user_key: 'a', external_id: 'ext-"quoted"', device_id: 'dev-a', properties: { vip: true } },
      { user_key: 'b', alias: { name: 'b@example.com', label: 'email' }, properties: { vip: true } },
      { user_key: 'c', device_id: 'dev-ç-☃', properties: { vip: true } },
      { user_key: 'd', properties: { vip: true } },
      { user_key: 'e', external_id: 'ext-e', properties: { vip: false } },
    ]);
    expect(await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now())).toEqual({ cohortSize: 4, unmatchable: 1 });
    // A retried freeze replaces the earlier attempt.
    expect(await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now())).toEqual({ cohortSize: 4, unmatchable: 1 });
    expect(await wh.computeChanges(RUN_1, 'cohort', 'scope', false)).toEqual({
      additions: 3,
      removals: 0,
      syncedBefore: 0,
    });
    expect(await wh.computeChanges(RUN_1, 'cohort', 'scope', false)).toEqual({
      additions: 3,
      removals: 0,
      syncedBefore: 0,
    });
    const first = await wh.readPage(RUN_1, 1, 3);
    expect(first.remove).toEqual({ userIds: '[]', deviceIds: '[]', aliases: '[]' });
    expect(parsed(first)).toEqual({
      added: 3,
      removed: 0,
      add: {
        userIds: ['ext-"quoted"'],
        deviceIds: ['dev-ç-☃'],
        aliases: [{ alias_name: 'b@example.com', alias_label: 'email' }],
      },
      remove: { userIds: [], deviceIds: [], aliases: [] },
    });
    expect(JSON.parse(cohortChangesJson(first))).toEqual([
      {
        user_ids: ['ext-"quoted"'],
        device_ids: ['dev-ç-☃'],
        aliases: [{ alias_name: 'b@example.com', alias_label: 'email' }],
      },
    ]);
    // Pages split the numbered diff: 1..2 and 3..3 hold the three entries between them.
    const split = [await wh.readPage(RUN_1, 1, 2), await wh.readPage(RUN_1, 3, 3)];
    expect(split.map((p) => p.added)).toEqual([2, 1]);
    await wh.applyChanges(RUN_1, 'cohort', 'scope', 1, 2);
    await wh.applyChanges(RUN_1, 'cohort', 'scope', 3, 3);
    await wh.applyChanges(RUN_1, 'cohort', 'scope', 3, 3); // a retried page changes nothing

    // b leaves, e joins, c becomes identified: entries for e and c (under its new id), one exit.
    await wh.upsertUsers('w', [
      { user_key: 'b', properties: { vip: false } },
      { user_key: 'e', properties: { vip: true } },
      { user_key: 'c', external_id: 'ext-c' },
    ]);
    expect(await diff(RUN_2)).toEqual({ additions: 2, removals: 1, syncedBefore: 3 });
    const second = parsed(await wh.readPage(RUN_2, 1, 3));
    expect(second.add.userIds.sort()).toEqual(['ext-c', 'ext-e']);
    expect(second.remove).toEqual({
      userIds: [],
      deviceIds: [],
      aliases: [{ alias_name: 'b@example.com', alias_label: 'email' }],
    });
    // Braze's body: one entry object, one exit object.
    const [entries, exits] = JSON.parse(cohortChangesJson(await wh.readPage(RUN_2, 1, 3)));
    expect({ ...entries, user_ids: entries.user_ids.sort() }).toEqual({ user_ids: ['ext-c', 'ext-e'] });
    expect(exits).toEqual({ aliases: [{ alias_name: 'b@example.com', alias_label: 'email' }], should_remove: true });
    await wh.applyChanges(RUN_2, 'cohort', 'scope', 1, 3);

    expect(await diff(RUN_3)).toEqual({ additions: 0, removals: 0, syncedBefore: 3 });
    expect(await diff(RUN_3, true)).toEqual({ additions: 3, removals: 0, syncedBefore: 3 });
    // Another sync scope (a new Braze endpoint) has been told nothing.
    await wh.freezeRunMembers(RUN_3, 'w', vip, Date.now());
    expect(await wh.computeChanges(RUN_3, 'cohort', 'other-scope', false)).toEqual({
      additions: 3,
      removals: 0,
      syncedBefore: 0,
    });
  });

  it('freezes a first import straight into its diff: the pages a freeze and a diff give, and no member rows', async () => {
    await wh.upsertUsers('w', [
      { user_key: 'a', external_id: 'ext-a', device_id: 'dev-a', properties: { vip: true } },
      { user_key: 'b', alias: { name: 'b@example.com', label: 'email' }, properties: { vip: true } },
      { user_key: 'c', device_id: 'dev-c', properties: { vip: true } },
      { user_key: 'd', properties: { vip: true } },
      { user_key: 'e', external_id: 'ext-e', properties: { vip: false } },
      { user_key: 'f', external_id: 'ext-f', properties: { vip: true } },
    ]);
    const sync = { cohortId: 'cohort', syncScope: 'scope' };
    const fused = await wh.freezeFirstImport!(RUN_1, 'w', vip, Date.now(), sync);
    expect(fused).toEqual({ cohortSize: 5, unmatchable: 1, additions: 4, removals: 0, syncedBefore: 0 });
    // A retried start replaces the earlier attempt's diff.
    expect(await wh.freezeFirstImport!(RUN_1, 'w', vip, Date.now(), sync)).toEqual(fused);
    expect(await count('cohort_run_members')).toBe(0);
    expect(await count('cohort_run_changes')).toBe(4);
    // The same run frozen and diffed in two steps: the same counts and the same pages, in order.
    expect(await diff(RUN_2)).toEqual({ additions: 4, removals: 0, syncedBefore: 0 });
    for (const [from, to] of [
      [1, 4],
      [1, 2],
      [3, 4],
    ] as const) {
      expect(parsed(await wh.readPage(RUN_1, from, to))).toEqual(parsed(await wh.readPage(RUN_2, from, to)));
    }
    // Once Braze holds anything for the cohort under the scope, a diff is needed: nothing is written.
    await wh.applyChanges(RUN_1, 'cohort', 'scope', 1, 1);
    expect(await wh.freezeFirstImport!(RUN_3, 'w', vip, Date.now(), sync)).toBeNull();
    expect(await count('cohort_run_changes')).toBe(8);
    // Another scope has been told nothing.
    expect(await wh.freezeFirstImport!(RUN_3, 'w', vip, Date.now(), { ...sync, syncScope: 'other' })).toEqual(fused);
  });

  it('discards a run: its members, diff and key are gone, and its pages refuse to read', async () => {
    await wh.upsertUsers('w', [
      { user_key: 'a', external_id: 'a', properties: { vip: true } },
      { user_key: 'b', external_id: 'b', properties: { vip: true } },
    ]);
    await diff(RUN_1);
    await diff(RUN_2);
    expect(await count('cohort_run_members')).toBe(4);
    await wh.discardRun(RUN_1);
    expect(await count('cohort_run_members')).toBe(2);
    expect(await count('cohort_run_changes')).toBe(2);
    expect(await count('run_keys')).toBe(1);
    await expect(wh.readPage(RUN_1, 1, 2)).rejects.toThrow(/no changes recorded/);
    expect((await wh.readPage(RUN_2, 1, 2)).added).toBe(2);
  });

  it('forgets a cohort: the next diff sends every member again', async () => {
    await wh.upsertUsers('w', [{ user_key: 'a', external_id: 'a', properties: { vip: true } }]);
    await diff(RUN_1);
    await wh.applyChanges(RUN_1, 'cohort', 'scope', 1, 1);
    expect(await diff(RUN_2)).toEqual({ additions: 0, removals: 0, syncedBefore: 1 });
    await wh.forgetCohort('cohort');
    expect(await diff(RUN_3)).toEqual({ additions: 1, removals: 0, syncedBefore: 0 });
  });

  it('a freeze or a diff past its bulk deadline fails with the warehouse timeout and writes nothing', async () => {
    const users = Array.from({ length: 20_000 }, (_, i) => ({
      user_key: `u${i}`,
      external_id: `e${i}`,
      properties: { vip: true },
    }));
    for (let i = 0; i < users.length; i += 5_000) await wh.upsertUsers('w', users.slice(i, i + 5_000));
    // An earlier attempt's freeze and diff: what a timed-out attempt must leave as it was.
    expect(await diff(RUN_1)).toEqual({ additions: 20_000, removals: 0, syncedBefore: 0 });
    await wh.upsertUsers('w', [{ user_key: 'u0', properties: { vip: false } }]);

    // The same store under WAREHOUSE_BULK_TIMEOUT_MS=1: no freeze of 20,000 users fits in it.
    const hurried = await openWarehouse(database?.url ?? join(dir, 'warehouse.db'), { deadlines: { bulkMs: 1 } });
    try {
      const timedOut = { name: 'WarehouseTimeoutError', limitMs: 1 };
      await expect(hurried.freezeRunMembers(RUN_1, 'w', vip, Date.now())).rejects.toMatchObject(timedOut);
      await expect(hurried.computeChanges(RUN_1, 'cohort', 'scope', true)).rejects.toMatchObject(timedOut);
      await expect(hurried.freezeRunMembers(RUN_2, 'w', vip, Date.now())).rejects.toThrow(WarehouseTimeoutError);
    } finally {
      await hurried.close();
    }
    // Rolled back: the first run's members and diff are whole (not emptied, not half replaced),
    // and the second run froze nobody.
    expect(await count('cohort_run_members')).toBe(20_000);
    expect(await count('cohort_run_changes')).toBe(20_000);
    expect((await wh.readPage(RUN_1, 19_999, 20_000)).added).toBe(2);
    // The store is usable at once, and a freeze under the usual deadline sees the change.
    expect(await wh.freezeRunMembers(RUN_2, 'w', vip, Date.now())).toEqual({ cohortSize: 19_999, unmatchable: 0 });
  }, 60_000);

  it('answers ping until closed', async () => {
    await expect(wh.ping()).resolves.toBeUndefined();
    await wh.close();
    await expect(wh.ping()).rejects.toThrow();
    wh = await openWarehouse(database?.url ?? join(dir, 'warehouse.db'));
  });
});

describe('the warehouse on SQLite only', () => {
  it('freezes and diffs a workspace whose ids span several chunks, numbering its changes consecutively', async () => {
    const dir = scratchDir('warehouse-chunks');
    const wh = await openSqliteWarehouse(join(dir, 'warehouse.db'));
    try {
      // Ids far apart (other workspaces' users between them), so the freeze and the diff take
      // several id ranges (65,536 each), some of them empty.
      const insert = wh.db.prepare(
        `INSERT INTO users (id, workspace_id, user_key, external_id, properties, first_seen, last_seen)
         VALUES (?, 'w', ?, ?, jsonb('{"vip": true}'), 0, 0)`,
      );
      const ids = [1, 65_536, 65_537, 300_000, 1_000_000];
      for (const id of ids) insert.run(id, `u${id}`, `e${id}`);
      expect(await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now())).toEqual({ cohortSize: 5, unmatchable: 0 });
      expect(await wh.computeChanges(RUN_1, 'cohort', 'scope', false)).toEqual({
        additions: 5,
        removals: 0,
        syncedBefore: 0,
      });
      expect(JSON.parse((await wh.readPage(RUN_1, 1, 5)).add.userIds)).toEqual(ids.map((id) => `e${id}`));
      await wh.applyChanges(RUN_1, 'cohort', 'scope', 1, 5);
      // Two leave (one per far chunk): the removals come from the synced set's own ranges.
      await wh.upsertUsers('w', [
        { user_key: 'u65537', properties: { vip: false } },
        { user_key: 'u1000000', properties: { vip: false } },
      ]);
      await wh.freezeRunMembers(RUN_2, 'w', vip, Date.now());
      expect(await wh.computeChanges(RUN_2, 'cohort', 'scope', false)).toEqual({
        additions: 0,
        removals: 2,
        syncedBefore: 5,
      });
      expect(JSON.parse((await wh.readPage(RUN_2, 1, 2)).remove.userIds)).toEqual(['e65537', 'e1000000']);
    } finally {
      await wh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the warehouse on SQLite only: a first import frozen chunk by chunk', () => {
  let dir: string;
  let path: string;
  let wh: SqliteWarehouse;
  const sync = { cohortId: 'cohort', syncScope: 'scope' };
  const other = { cohortId: 'other-cohort', syncScope: 'scope' };

  beforeEach(async () => {
    dir = scratchDir('warehouse-chunked');
    path = join(dir, 'warehouse.db');
    // Two user ids per chunk: every chunk commits on its own.
    wh = await openSqliteWarehouse(path, { chunkIds: 2 });
    await wh.upsertUsers(
      'w',
      Array.from({ length: 10 }, (_, i) => ({
        user_key: `u${i}`,
        // u3 has no identifier (counted, not sent); u7 is not a member.
        ...(i === 3 ? {} : { external_id: `e${i}` }),
        properties: { vip: i !== 7 },
      })),
    );
  });
  afterEach(async () => {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every entry of a run's pages 1..extent, in order. */
  async function entries(runId: string, extent: number): Promise<string[]> {
    return JSON.parse((await wh.readPage(runId, 1, extent)).add.userIds);
  }

  it('commits each chunk, resumes after the last one committed, and pages skip another run’s rows in between', async () => {
    expect(await wh.beginFirstImport(RUN_1, 'w', sync, { minUsers: 11 })).toBeNull(); // a small workspace
    expect(await wh.beginFirstImport(RUN_1, 'w', sync, { minUsers: 10 })).toEqual({ userIds: 10 });
    const first = await wh.freezeFirstImportChunk(RUN_1, 'w', vip, Date.now());
    expect(first).toEqual({ additions: 2, unmatchable: 0, extent: 2, done: false });
    // Committed: another connection (a page's reader) sees the chunk while the rest is not frozen.
    const reader = openSqlite(path);
    try {
      expect(reader.prepare('SELECT count(*) FROM cohort_run_changes').pluck().get()).toBe(2);
    } finally {
      reader.close();
    }
    // Another cohort's first import writes its diff between two chunks of this one.
    expect(await wh.freezeFirstImport(RUN_2, 'w', vip, Date.now(), other)).toMatchObject({ additions: 8 });
    // A retry in another process (a new connection) goes on from the third user.
    await wh.close();
    wh = await openSqliteWarehouse(path, { chunkIds: 2 });
    let state = first;
    while (!state.done) state = await wh.freezeFirstImportChunk(RUN_1, 'w', vip, Date.now());
    expect(state).toEqual({ additions: 8, unmatchable: 1, extent: 16, done: true });
    // Asked again once done, it freezes nothing more.
    expect(await wh.freezeFirstImportChunk(RUN_1, 'w', vip, Date.now())).toEqual(state);
    const members = ['e0', 'e1', 'e2', 'e4', 'e5', 'e6', 'e8', 'e9'];
    expect(await entries(RUN_1, state.extent)).toEqual(members);
    // Pages cut across the other run's rows carry only this run's entries.
    expect((await wh.readPage(RUN_1, 1, 8)).added).toBe(2);
    expect((await wh.readPage(RUN_1, 9, 16)).added).toBe(6);
    expect(await entries(RUN_2, 8)).toEqual(members);
    // A first import begun again (its start retried) drops what the earlier attempt froze.
    await wh.beginFirstImport(RUN_1, 'w', sync, { minUsers: 1 });
    expect(
      wh.db
        .prepare('SELECT count(*) FROM cohort_run_changes WHERE run_key = (SELECT id FROM run_keys WHERE run_id = ?)')
        .pluck()
        .get(RUN_1),
    ).toBe(0);
    expect(await entries(RUN_2, 8)).toEqual(members);
  });

  it('folds the pages Braze acknowledged into the synced set before the next diff and when the run is dropped', async () => {
    await wh.beginFirstImport(RUN_1, 'w', sync, { minUsers: 1 });
    let state = await wh.freezeFirstImportChunk(RUN_1, 'w', vip, Date.now());
    while (!state.done) state = await wh.freezeFirstImportChunk(RUN_1, 'w', vip, Date.now());
    // Braze acknowledged pages 1..3 and 6..8 of the run; 4..5 never reached it.
    await wh.applyChanges(RUN_1, sync.cohortId, sync.syncScope, 1, 3);
    await wh.applyChanges(RUN_1, sync.cohortId, sync.syncScope, 6, 8);
    await wh.applyChanges(RUN_1, sync.cohortId, sync.syncScope, 6, 8); // a page sent again
    // What a span over those seqs resumes after, and what it carried (a repeat counts once).
    expect(await wh.acknowledgedPages(RUN_1, 1, 8)).toEqual({ pages: 2, added: 6, removed: 0 });
    expect(await wh.acknowledgedPages(RUN_1, 1, 5)).toEqual({ pages: 1, added: 3, removed: 0 });
    expect(await wh.acknowledgedPages(RUN_1, 4, 5)).toEqual({ pages: 0, added: 0, removed: 0 });
    // Something is acknowledged: the next run of the cohort is not a first import.
    expect(await wh.beginFirstImport(RUN_2, 'w', sync, { minUsers: 1 })).toBeNull();
    expect(await wh.freezeFirstImport(RUN_2, 'w', vip, Date.now(), sync)).toBeNull();
    // Dropped in steps of two rows (the chunk size here): nothing of the run is left after.
    await wh.discardRun(RUN_1);
    for (const table of ['run_acks', 'cohort_run_changes', 'run_keys']) {
      expect(wh.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get()).toBe(0);
    }
    expect(await wh.acknowledgedPages(RUN_1, 1, 8)).toEqual({ pages: 0, added: 0, removed: 0 });
    const synced = wh.db
      .prepare(
        `SELECT s.id_value FROM cohort_synced_members s JOIN sync_sets ss ON ss.id = s.sync_set
         WHERE ss.cohort_id = ? ORDER BY s.user_id`,
      )
      .pluck()
      .all(sync.cohortId);
    expect(synced).toEqual(['e0', 'e1', 'e2', 'e6', 'e8', 'e9']);
    // The next diff sends what never reached Braze.
    await wh.freezeRunMembers(RUN_3, 'w', vip, Date.now());
    expect(await wh.computeChanges(RUN_3, sync.cohortId, sync.syncScope, false)).toEqual({
      additions: 2,
      removals: 0,
      syncedBefore: 6,
    });
    expect(await entries(RUN_3, 2)).toEqual(['e4', 'e5']);
  });
});

/**
 * A SQLite warehouse in a scratch file and a second connection to the same file, as another
 * process would hold one (its write transactions take the one write lock); both closed after.
 */
async function withSecondConnection(
  name: string,
  test: (wh: SqliteWarehouse, other: ReturnType<typeof openSqlite>) => Promise<void>,
  options: { lockWaitMs?: number } = {},
): Promise<void> {
  const dir = scratchDir(name);
  const path = join(dir, 'warehouse.db');
  const wh = await openSqliteWarehouse(path, options);
  const other = openSqlite(path);
  try {
    await test(wh, other);
  } finally {
    other.close();
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the warehouse on SQLite only: a page record and the write lock', () => {
  it('waits for a lock another connection holds without holding up the event loop, then records the page', () =>
    withSecondConnection('warehouse-lock', async (wh, other) => {
      const diff = async () => {
        await wh.freezeRunMembers(RUN_2, 'w', vip, Date.now());
        return wh.computeChanges(RUN_2, 'cohort', 'scope', false);
      };
      await wh.upsertUsers('w', [{ user_key: 'a', external_id: 'a', properties: { vip: true } }]);
      await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now());
      await wh.computeChanges(RUN_1, 'cohort', 'scope', false);

      other.exec('BEGIN IMMEDIATE');
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 5);
      const recorded = wh.applyChanges(RUN_1, 'cohort', 'scope', 1, 1).then(() => 'recorded');
      await new Promise((r) => setTimeout(r, 300));
      clearInterval(ticker);
      // SQLite's own busy wait would have slept inside the call, and no timer would have fired.
      expect(ticks).toBeGreaterThan(10);
      expect(await Promise.race([recorded, Promise.resolve('waiting')])).toBe('waiting');
      other.exec('COMMIT');
      expect(await recorded).toBe('recorded');
      expect(await diff()).toEqual({ additions: 0, removals: 0, syncedBefore: 1 });
      // The connection's busy wait is back for every other statement.
      expect(wh.db.pragma('busy_timeout', { simple: true })).toBe(STORE_LOCK_WAIT_MS);
    }));
});

describe('the warehouse on SQLite only: page records asked for while the lock is held', () => {
  /** A run of `users` members, frozen and diffed: seqs 1..users, a page per seq here. */
  async function diffed(wh: SqliteWarehouse, users: number) {
    await wh.upsertUsers(
      'w',
      Array.from({ length: users }, (_, i) => ({ user_key: `u${i}`, external_id: `e${i}`, properties: { vip: true } })),
    );
    await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now());
    await wh.computeChanges(RUN_1, 'cohort', 'scope', false);
  }

  it('are written together once it is free, in the order they were asked for', () =>
    withSecondConnection('warehouse-group-commit', async (wh, other) => {
      await diffed(wh, 4);
      other.exec('BEGIN IMMEDIATE');
      const settled: number[] = [];
      const records = [1, 2, 3].map((seq) => wh.applyChanges(RUN_1, 'cohort', 'scope', seq, seq).then(() => seq));
      for (const r of records) void r.then((seq) => settled.push(seq));
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).toEqual([]);
      other.exec('COMMIT');
      expect(await Promise.all(records)).toEqual([1, 2, 3]);
      expect(settled).toEqual([1, 2, 3]);
      expect(await wh.acknowledgedPages(RUN_1, 1, 4)).toEqual({ pages: 3, added: 3, removed: 0 });
      expect(other.prepare('SELECT from_seq FROM run_acks ORDER BY from_seq').pluck().all()).toHaveLength(3);
    }));

  it('fail together when the lock stays held past their wait, writing nothing', () =>
    withSecondConnection(
      'warehouse-group-commit-busy',
      async (wh, other) => {
        await diffed(wh, 3);
        other.exec('BEGIN IMMEDIATE');
        const records = [1, 2].map((seq) =>
          wh.applyChanges(RUN_1, 'cohort', 'scope', seq, seq).then(
            () => 'recorded',
            (err: unknown) => err,
          ),
        );
        // Ten waits of the lock wait (20 ms here), then both give up as a busy store.
        const outcomes = await Promise.all(records);
        other.exec('COMMIT');
        for (const outcome of outcomes) expect(isBusyStore(outcome)).toBe(true);
        expect(await wh.acknowledgedPages(RUN_1, 1, 3)).toEqual({ pages: 0, added: 0, removed: 0 });
        // The lock free again, the next record lands.
        await wh.applyChanges(RUN_1, 'cohort', 'scope', 1, 1);
        expect(await wh.acknowledgedPages(RUN_1, 1, 3)).toMatchObject({ pages: 1 });
      },
      { lockWaitMs: 20 },
    ));
});

/** The nice values of this process' threads (Linux), by thread id. */
function threadNiceValues(): Map<string, number> {
  return new Map(
    readdirSync('/proc/self/task').map((tid) => {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return [tid, Number(fields[16])];
    }),
  );
}

describe('the warehouse on SQLite only: freezes and diffs run off the caller’s thread', () => {
  it.skipIf(process.platform !== 'linux')(
    'starts its bulk threads when warmed up: the one that freezes chunks at a lower priority, the other at the process’',
    async () => {
      const dir = scratchDir('warehouse-nice');
      const wh = await openSqliteWarehouse(join(dir, 'warehouse.db'));
      try {
        await wh.upsertUsers('w', [{ user_key: 'a', external_id: 'a', properties: { vip: true } }]);
        const before = threadNiceValues();
        wh.warmUp();
        // Each thread has set its priority once a call through it is answered: a first import's
        // begin (the other thread) and its one chunk (the chunk thread).
        await wh.beginFirstImport(RUN_1, 'w', { cohortId: 'cohort', syncScope: 'scope' }, { minUsers: 1 });
        expect(await wh.freezeFirstImportChunk(RUN_1, 'w', vip, Date.now())).toMatchObject({ done: true });
        const own = before.get(String(process.pid));
        const started = [...threadNiceValues()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
        expect(started).toContain(10);
        expect(started).toContain(own);
        // The caller's own thread keeps its priority.
        expect(threadNiceValues().get(String(process.pid))).toBe(own);
      } finally {
        await wh.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('keeps the event loop turning while an upsert waits for the write lock (web ingests during a freeze)', () =>
    withSecondConnection('warehouse-upsert-wait', async (wh, other) => {
      // A freeze's write transaction in another process, ended by a timer of this thread: a busy
      // wait inside the upsert would hold that timer back until SQLite gave up (SQLITE_BUSY).
      other.exec('BEGIN IMMEDIATE');
      setTimeout(() => other.exec('COMMIT'), 200);
      expect(await wh.upsertUsers('w', [{ user_key: 'late', properties: { vip: true } }])).toEqual({ upserted: 1 });
      expect(await wh.appendEvents('w', [{ user_key: 'late', name: 'open', time: Date.now() }])).toEqual({
        appended: 1,
        usersCreated: 0,
      });
      expect(other.prepare('SELECT count(*) FROM users WHERE user_key = ?').pluck().get('late')).toBe(1);
    }));

  it('keeps the event loop turning while a freeze waits for the write lock, then freezes', () =>
    withSecondConnection('warehouse-bulk-thread', async (wh, other) => {
      await wh.upsertUsers('w', [
        { user_key: 'a', external_id: 'a', properties: { vip: true } },
        { user_key: 'b', external_id: 'b', properties: { vip: false } },
      ]);
      await wh.freezeRunMembers(RUN_2, 'w', vip, Date.now()); // the thread is up
      // Another process' write transaction, ended by a timer of this thread: on this thread the
      // freeze's busy wait would hold that timer back until SQLite gave up (SQLITE_BUSY).
      other.exec('BEGIN IMMEDIATE');
      setTimeout(() => other.exec('COMMIT'), 200);
      expect(await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now())).toEqual({ cohortSize: 1, unmatchable: 0 });
      expect(other.inTransaction).toBe(false);
      // What the thread wrote is what this connection reads: the diff and a page of it.
      expect(await wh.computeChanges(RUN_1, 'cohort', 'scope', false)).toEqual({
        additions: 1,
        removals: 0,
        syncedBefore: 0,
      });
      expect((await wh.readPage(RUN_1, 1, 1)).add.userIds).toBe('["a"]');
    }));
});

describe('the warehouse on PostgreSQL only', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('warehouse-pg');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('applies its migrations once when several processes open it at once', async () => {
    const opened = await Promise.all([1, 2, 3, 4].map(() => openPgWarehouse(database.url, { poolSize: 2 })));
    try {
      const { rows } = await opened[0]!.pool.query<{ version: number; n: number }>(
        'SELECT version, count(*)::int AS n FROM warehouse_migrations GROUP BY version ORDER BY version',
      );
      expect(rows).toEqual([{ version: 1, n: 1 }]);
    } finally {
      await Promise.all(opened.map((wh) => wh.close()));
    }
  });

  it('answers a lock held past lock_timeout as a busy store (retried, not spent), not as a deadline', async () => {
    // A lock wait of one second, not production's ten: the answer is the same, sooner.
    const wh = await openPgWarehouse(database.url, { lockWaitMs: 1_000 });
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    try {
      await wh.upsertUsers('w', [{ user_key: 'a', external_id: 'a', properties: { vip: true } }]);
      // Another session (a migration, say) holds the members' table: the freeze's writes wait.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE cohort_run_members IN SHARE ROW EXCLUSIVE MODE');
      const err = await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now()).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: '55P03' });
      expect(err).not.toBeInstanceOf(WarehouseTimeoutError);
      expect(isBusyStore(err)).toBe(true);
      await blocker.query('ROLLBACK');
      expect(await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now())).toEqual({ cohortSize: 1, unmatchable: 0 });
    } finally {
      await blocker.end();
      await wh.close();
    }
  }, 30_000);

  it('cancels a statement at its deadline and says which limit was reached', async () => {
    const wh = await openPgWarehouse(database.url, { deadlines: { queryMs: 300, bulkMs: 400 } });
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    try {
      await wh.upsertUsers('w', [{ user_key: 'a', external_id: 'a', properties: { vip: true } }]);
      // Another session holds the table: every statement on it waits until its deadline.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
      const preview = wh.preview('w', vip, { now: Date.now(), limit: 1 });
      await expect(preview).rejects.toThrow(WarehouseTimeoutError);
      await expect(preview).rejects.toThrow(/within 300 ms/);
      await expect(wh.freezeRunMembers(RUN_1, 'w', vip, Date.now())).rejects.toMatchObject({
        name: 'WarehouseTimeoutError',
        limitMs: 400,
      });
      await blocker.query('ROLLBACK');
      // The pool's connections are usable again at once.
      expect(await wh.freezeRunMembers(RUN_1, 'w', vip, Date.now())).toEqual({ cohortSize: 1, unmatchable: 0 });
    } finally {
      await blocker.end();
      await wh.close();
    }
  });
});
