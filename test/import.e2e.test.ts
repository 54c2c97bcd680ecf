import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Criteria } from '../src/domain/criteria';
import {
  createConnectedWorkspace,
  type Harness,
  type WarehouseEngine,
  PARTNER_KEY,
  queryWarehouse,
  startHarness,
  waitForRun,
  seedDemo,
} from './support/harness';
import { testEngines } from './support/engines';
import { expectedFromDemo, sandboxMembers, sandboxRequests } from './support/expectations';
import { withDocumentedResponses } from './support/openapi-validate';

/**
 * The import path end to end: real API, BullMQ workers on real Redis, the control database in
 * SQLite, the warehouse in SQLite and then in PostgreSQL (each with its real migrations), and
 * the Braze sandbox over HTTP.
 */
const USERS = 10_000;
const SEED = 7;
// Event windows far wider than the seeded 90 days keep the oracle and the run on the same side of every boundary.
const criteria: Criteria = {
  any: [
    {
      all: [
        { property: 'country', op: 'in', value: ['BR', 'PT', 'US'] },
        { property: 'age', op: 'gte', value: 25 },
      ],
    },
    {
      all: [
        { property: 'plan', op: 'eq', value: 'pro' },
        { event: 'purchase', op: 'gte', count: 1, within_days: 3650 },
      ],
    },
  ],
} as Criteria;

// The file's engines (SQLite here; test/postgres/import.e2e.test.ts runs it all on PostgreSQL).
const engine: WarehouseEngine = testEngines().warehouse;
describe(`with the warehouse on ${engine}`, () => {
  let h: Harness;
  let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
  let now: number;
  /** Property changes the tests made through the API, by user key, for the oracle to apply too. */
  const changedProperties = new Map<string, Record<string, unknown>>();

  function expectedNow(c: Criteria) {
    return expectedFromDemo(c, {
      users: USERS,
      seed: SEED,
      now,
      override: (_i, u) => Object.assign(u.properties, changedProperties.get(u.user_key) ?? {}),
    });
  }

  beforeAll(async () => {
    h = withDocumentedResponses(await startHarness());
    ws = await createConnectedWorkspace(h, 'E2E');
    now = await seedDemo(h, ws, { users: USERS, seed: SEED });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** What the warehouse records Braze was told for a cohort, per user. */
  async function syncedIdentifiers(cohortId: string) {
    return queryWarehouse<{ user_key: string; id_type: string; id_value: string }>(
      h,
      `SELECT u.user_key, s.id_type, s.id_value FROM cohort_synced_members s
       JOIN sync_sets ss ON ss.id = s.sync_set JOIN users u ON u.id = s.user_id
       WHERE ss.cohort_id = $1 ORDER BY u.user_key`,
      [cohortId],
    );
  }

  async function importNow(cohortId: string, body: Record<string, unknown> = {}) {
    const res = await h.request('POST', `/v1/cohorts/${cohortId}/imports`, { token: ws.token, body });
    expect(res.status).toBe(202);
    return waitForRun(h, ws.token, res.body.id);
  }

  describe('import a cohort into Braze', () => {
    let cohort: { id: string; braze_cohort_id: string; name: string };

    it('sends exactly the members Braze can match, in requests of at most 1,000 identifiers, with the right counts', async () => {
      const created = await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Buyers', criteria } });
      expect(created.status).toBe(201);
      cohort = created.body;
      const before = (await sandboxRequests(h)).count;

      const run = await importNow(cohort.id);
      const expected = expectedFromDemo(criteria, { users: USERS, seed: SEED, now });
      expect(run).toMatchObject({
        status: 'succeeded',
        trigger: 'one_time',
        cohort_size: expected.members,
        unmatchable: expected.unmatchable,
        added: expected.sendable,
        removed: 0,
        failed: 0,
        error: null,
      });
      expect(expected.inBraze.size).toBeGreaterThan(3000);
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);

      const log = await sandboxRequests(h);
      const uploads = log.requests.filter((r) => r.seq > before && r.path.endsWith('/cohorts/users'));
      expect(uploads.every((r) => r.identifiers <= 1000)).toBe(true);
      expect(uploads.reduce((n, r) => n + r.identifiers, 0)).toBe(expected.sendable);
      // Full pages: only the last one may be short.
      expect(uploads.length).toBe(Math.ceil(expected.sendable / 1000));

      const cohorts = await h.sandbox('GET', `/sandbox/workspaces/${ws.brazeWorkspaceId}/cohorts`);
      expect(cohorts.cohorts).toEqual(
        expect.arrayContaining([expect.objectContaining({ cohort_id: cohort.braze_cohort_id, name: 'Buyers' })]),
      );
      const segment = await h.sandbox(
        'GET',
        `/sandbox/workspaces/${ws.brazeWorkspaceId}/segment?cohort_name=Buyers&limit=1`,
      );
      expect(segment.count).toBe(expected.inBraze.size);
    });

    it('sends only entries and exits on the next run, and renames the cohort in Braze', async () => {
      // Move 300 members out (country and plan change) and 200 non-members in.
      const leave: string[] = [];
      const join: string[] = [];
      const baseline = expectedFromDemo(criteria, { users: USERS, seed: SEED, now });
      const { demoUser } = await import('../src/seed/demo-users');
      const { evaluateCriteria } = await import('../src/domain/criteria');
      for (let i = 0; i < USERS && (leave.length < 300 || join.length < 200); i++) {
        const u = demoUser(SEED, i, now);
        const member = evaluateCriteria(criteria, u as never, { now });
        if (member && leave.length < 300) leave.push(u.user_key);
        else if (!member && join.length < 200) join.push(u.user_key);
      }
      const users = [
        ...leave.map((user_key) => ({ user_key, properties: { country: 'JP', age: 20, plan: 'free' } })),
        ...join.map((user_key) => ({ user_key, properties: { country: 'BR', age: 40 } })),
      ];
      expect((await h.request('POST', '/v1/users/batch', { token: ws.token, body: { users } })).status).toBe(200);
      const renamed = await h.request('PATCH', `/v1/cohorts/${cohort.id}`, {
        token: ws.token,
        body: { name: 'Buyers v2' },
      });
      expect(renamed.status).toBe(200);

      for (const u of users) changedProperties.set(u.user_key, u.properties);
      const expected = expectedNow(criteria);
      const before = (await sandboxRequests(h)).count;
      const run = await importNow(cohort.id);
      const entries = expected.sendable - (baseline.sendable - run.removed);
      expect(run.status).toBe('succeeded');
      expect(run.removed).toBeGreaterThan(200);
      expect(run.added).toBe(entries);
      expect(run.added).toBeGreaterThan(100);

      const uploads = (await sandboxRequests(h)).requests.filter(
        (r) => r.seq > before && r.path.endsWith('/cohorts/users'),
      );
      expect(uploads.reduce((n, r) => n + r.additions, 0)).toBe(run.added);
      expect(uploads.reduce((n, r) => n + r.removals, 0)).toBe(run.removed);
      expect(uploads.length).toBe(1);
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
      const cohorts = await h.sandbox('GET', `/sandbox/workspaces/${ws.brazeWorkspaceId}/cohorts`);
      expect(cohorts.cohorts.find((c: { cohort_id: string }) => c.cohort_id === cohort.braze_cohort_id).name).toBe(
        'Buyers v2',
      );

      // Nothing changed since: a third run sends no membership request at all.
      const quiet = await importNow(cohort.id);
      expect(quiet).toMatchObject({ status: 'succeeded', added: 0, removed: 0 });
      const after = (await sandboxRequests(h)).requests.filter(
        (r) => r.seq > before + uploads.length + 1 && r.path.endsWith('/cohorts/users'),
      );
      expect(after).toHaveLength(0);

      const history = await h.request('GET', `/v1/cohorts/${cohort.id}/imports?limit=2`, { token: ws.token });
      expect(history.body.data.map((r: { id: string }) => r.id)).toEqual([quiet.id, run.id]);
      expect(history.body.next_cursor).toEqual(expect.any(String));
    });

    it('full_resync sends every member again', async () => {
      const run = await importNow(cohort.id, { full_resync: true });
      expect(run).toMatchObject({ status: 'succeeded', added: expectedNow(criteria).sendable, removed: 0 });
    });
  });

  describe('the Braze connection changes', () => {
    it('a new key on the same endpoint keeps the delta; a new endpoint makes the next import a full one', async () => {
      const c = { all: [{ property: 'plan', op: 'eq', value: 'enterprise' }] } as Criteria;
      const cohort = (
        await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Enterprise', criteria: c } })
      ).body;
      const expected = expectedNow(c);
      expect((await importNow(cohort.id)).added).toBe(expected.sendable);

      const newKey = await h.sandbox('POST', `/sandbox/workspaces/${ws.brazeWorkspaceId}/data-import-keys`, {});
      await h.request('PUT', '/v1/braze-connection', {
        token: ws.token,
        body: { rest_endpoint: h.sandboxUrl, data_import_key: newKey.key },
      });
      expect(await importNow(cohort.id)).toMatchObject({ status: 'succeeded', added: 0, removed: 0 });

      // Same Braze, reached under another name: to us a new endpoint, so everything is sent again.
      await h.request('PUT', '/v1/braze-connection', {
        token: ws.token,
        body: { rest_endpoint: h.sandboxUrl.replace('127.0.0.1', 'localhost'), data_import_key: newKey.key },
      });
      expect(await importNow(cohort.id)).toMatchObject({ status: 'succeeded', added: expected.sendable, removed: 0 });
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);

      await h.request('PUT', '/v1/braze-connection', {
        token: ws.token,
        body: { rest_endpoint: h.sandboxUrl, data_import_key: ws.dataImportKey },
      });
    });
  });

  describe('identity mapping', () => {
    it('sends external id over device id, an alias for alias-only users, a device id for anonymous ones, and counts the rest unmatchable', async () => {
      const users = [
        { user_key: 'id-1', external_id: 'ext-id-1', device_id: 'dev-id-1', properties: { cohort: 'identity' } },
        { user_key: 'id-2', alias: { name: 'id2@example.com', label: 'email' }, properties: { cohort: 'identity' } },
        { user_key: 'id-3', device_id: 'dev-id-3', properties: { cohort: 'identity' } },
        { user_key: 'id-4', properties: { cohort: 'identity' } },
      ];
      await h.request('POST', '/v1/users/batch', { token: ws.token, body: { users } });
      await h.sandbox('POST', `/sandbox/workspaces/${ws.brazeWorkspaceId}/users/batch`, {
        users: [
          { external_id: 'ext-id-1', device_ids: ['dev-id-1'] },
          { aliases: [{ alias_name: 'id2@example.com', alias_label: 'email' }] },
          { device_ids: ['dev-id-3'] },
        ],
      });
      const cohort = await h.request('POST', '/v1/cohorts', {
        token: ws.token,
        body: { name: 'Identity', criteria: { all: [{ property: 'cohort', op: 'eq', value: 'identity' }] } },
      });
      const run = await importNow(cohort.body.id);
      expect(run).toMatchObject({ status: 'succeeded', cohort_size: 4, unmatchable: 1, added: 3 });
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.body.braze_cohort_id)).toEqual(
        new Set(['external_id:ext-id-1', 'alias:id2@example.com|email', 'device_id:dev-id-3']),
      );
      // What Braze was told, per user: the identifier each was sent as (recorded once the run's
      // acknowledged pages are folded in, as the run settles).
      await expect
        .poll(() => syncedIdentifiers(cohort.body.id))
        .toEqual([
          { user_key: 'id-1', id_type: 'external_id', id_value: 'ext-id-1' },
          { user_key: 'id-2', id_type: 'alias', id_value: 'id2@example.com' },
          { user_key: 'id-3', id_type: 'device_id', id_value: 'dev-id-3' },
        ]);
    });
  });

  describe('deleting a cohort', () => {
    it('drops what Braze was told about it, in a worker', async () => {
      const created = await h.request('POST', '/v1/cohorts', {
        token: ws.token,
        body: { name: 'Soon gone', criteria: { all: [{ identity: 'anonymous' }] } },
      });
      expect((await importNow(created.body.id)).status).toBe('succeeded');
      await expect.poll(async () => (await syncedIdentifiers(created.body.id)).length).toBeGreaterThan(0);
      expect((await h.request('DELETE', `/v1/cohorts/${created.body.id}`, { token: ws.token })).status).toBe(204);
      const deadline = Date.now() + 20_000;
      while ((await syncedIdentifiers(created.body.id)).length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await syncedIdentifiers(created.body.id)).toEqual([]);
      expect(await h.ctx.queues.forgetCohort.getJob(`forget-${created.body.id}`)).toBeDefined();
    });
  });

  describe('faults', () => {
    it('succeeds with exact membership through 30% 5xx and some 429s', async () => {
      const cohort = await h.request('POST', '/v1/cohorts', {
        token: ws.token,
        body: { name: 'Flaky', criteria: { all: [{ property: 'age', op: 'gte', value: 0 }] } },
      });
      await h.sandbox('PUT', '/sandbox/config', {
        faults: { error_share: 0.3, error_statuses: [500, 503, 423], rate_limited_share: 0.05 },
      });
      try {
        const before = (await sandboxRequests(h)).count;
        const run = await importNow(cohort.body.id);
        const expected = expectedNow({ all: [{ property: 'age', op: 'gte', value: 0 }] } as Criteria);
        expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
        expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.body.braze_cohort_id)).toEqual(expected.inBraze);
        const statuses = (await sandboxRequests(h)).requests.filter((r) => r.seq > before).map((r) => r.status);
        expect(statuses.filter((s) => s >= 500 || s === 423).length).toBeGreaterThan(0);
        expect(statuses).toContain(429);
      } finally {
        await h.sandbox('PUT', '/sandbox/config', { faults: null });
      }
    });

    it('fails the run at once, with a clear reason and few requests, when the data import key was invalidated', async () => {
      const other = await createConnectedWorkspace(h, 'Revoked');
      await h.request('POST', '/v1/users/batch', {
        token: other.token,
        body: { users: [{ user_key: 'r1', external_id: 'r1', properties: { x: 1 } }] },
      });
      const cohort = await h.request('POST', '/v1/cohorts', {
        token: other.token,
        body: { name: 'Revoked', criteria: { all: [{ property: 'x', op: 'eq', value: 1 }] } },
      });
      await h.sandbox(
        'POST',
        `/sandbox/workspaces/${other.brazeWorkspaceId}/data-import-keys/${other.dataImportKeyId}/invalidate`,
        {},
      );
      const before = (await sandboxRequests(h)).count;
      const res = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, { token: other.token, body: {} });
      const run = await waitForRun(h, other.token, res.body.id);
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/data import key/);
      expect(run.error).not.toContain(other.dataImportKey);
      expect((await sandboxRequests(h)).count - before).toBeLessThanOrEqual(2);
    });
  });

  describe('secrets', () => {
    it('keeps data import keys and the partner key out of every Redis key and every log line', async () => {
      const secrets = [ws.dataImportKey, PARTNER_KEY];
      let cursor = '0';
      let scanned = 0;
      do {
        const [next, keys] = await h.ctx.redis.scan(cursor, 'MATCH', `${h.config.queuePrefix}:*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const type = await h.ctx.redis.type(key);
          let content = '';
          if (type === 'hash') content = JSON.stringify(await h.ctx.redis.hgetall(key));
          else if (type === 'string') content = (await h.ctx.redis.get(key)) ?? '';
          else if (type === 'list') content = JSON.stringify(await h.ctx.redis.lrange(key, 0, -1));
          else if (type === 'set') content = JSON.stringify(await h.ctx.redis.smembers(key));
          else if (type === 'zset') content = JSON.stringify(await h.ctx.redis.zrange(key, 0, -1));
          else if (type === 'stream') content = JSON.stringify(await h.ctx.redis.xrange(key, '-', '+'));
          for (const s of secrets) expect(content, key).not.toContain(s);
          scanned++;
        }
      } while (cursor !== '0');
      expect(scanned).toBeGreaterThan(20);
      const logs = h.logs.join('');
      expect(logs.length).toBeGreaterThan(1000);
      for (const s of secrets) expect(logs).not.toContain(s);
    });
  });
});
