import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedFromDemo, sandboxMembers, sandboxRequests } from './support/expectations';
import { createConnectedWorkspace, type Harness, startHarness, waitForRun, seedDemo } from './support/harness';
import { startProcess } from './support/processes';

/** Runs that do not go smoothly: pages that give up, and a worker stopped mid-run. */
const USERS = 8000;
const SEED = 5;
const criteria = { all: [{ identity: 'identified' }] };
let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
let now: number;

beforeAll(async () => {
  // No in-process workers: each test brings the workers it needs. One attempt per page.
  h = await startHarness({ workers: false, env: { UPLOAD_ATTEMPTS: '1' } });
  ws = await createConnectedWorkspace(h, 'Resilience');
  now = await seedDemo(h, ws, { users: USERS, seed: SEED });
});
afterAll(async () => {
  await h.sandbox('PUT', '/sandbox/config', { faults: null });
  await h?.close();
});

async function importNow(cohortId: string) {
  const res = await h.request('POST', `/v1/cohorts/${cohortId}/imports`, { token: ws.token, body: {} });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

describe('a run that partly fails', () => {
  it('reports partially_failed with the failed count, and the next run sends only what is still missing', async () => {
    const { startWorkers } = await import('../workers/start-workers');
    h.workers = await startWorkers(h.ctx);
    try {
      const cohort = (await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Half', criteria } }))
        .body;
      const expected = expectedFromDemo(criteria as never, { users: USERS, seed: SEED, now });
      // Registering the cohort succeeds; then about half the pages fail their only attempt.
      await h.sandbox('PUT', '/sandbox/config', { faults: { error_share: 0.5, error_statuses: [503] } });
      // (The sandbox draws its faults from a seeded sequence, so the share that fails is stable.)
      const first = await waitForRun(h, ws.token, await importNow(cohort.id));
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
      expect(first.status).toBe('partially_failed');
      expect(first.added).toBeGreaterThan(0);
      expect(first.failed).toBeGreaterThan(0);
      expect(first.failed).toBe(expected.sendable - first.added);
      expect(first.error ?? '').toMatch(/could not be sent|Braze/);

      const before = (await sandboxRequests(h)).count;
      const second = await waitForRun(h, ws.token, await importNow(cohort.id));
      expect(second).toMatchObject({ status: 'succeeded', added: first.failed, removed: 0, failed: 0 });
      const resent = (await sandboxRequests(h)).requests.filter(
        (r) => r.seq > before && r.path.endsWith('/cohorts/users'),
      );
      expect(resent.reduce((n, r) => n + r.identifiers, 0)).toBe(first.failed);
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
    } finally {
      await h.workers?.close();
      h.workers = undefined;
    }
  });
});

describe('a worker stopped mid-run', () => {
  it('finishes its active page on SIGTERM; another worker completes the run without losing or repeating a page', async () => {
    const env = { ...h.env, LOG_LEVEL: 'info', WORKER_CONCURRENCY: '1' };
    const first = await startProcess('workers/main.ts', env, /worker ready/);
    const cohort = (
      await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Interrupted', criteria } })
    ).body;
    const expected = expectedFromDemo(criteria as never, { users: USERS, seed: SEED, now });
    await h.sandbox('PUT', '/sandbox/config', { faults: { latency_ms: 150 } });
    const before = (await sandboxRequests(h)).count;
    const runId = await importNow(cohort.id);
    // Stop the worker once it has sent a page or two.
    for (;;) {
      const log = await sandboxRequests(h);
      if (log.requests.some((r) => r.seq > before && r.path.endsWith('/cohorts/users') && r.status === 201)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await first.stop()).toBe(0);
    expect((await h.request('GET', `/v1/imports/${runId}`, { token: ws.token })).body.status).toBe('running');

    const second = await startProcess('workers/main.ts', env, /worker ready/);
    try {
      const run = await waitForRun(h, ws.token, runId);
      expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
      const uploads = (await sandboxRequests(h)).requests.filter(
        (r) => r.seq > before && r.path.endsWith('/cohorts/users'),
      );
      expect(uploads.filter((r) => r.status === 201)).toHaveLength(Math.ceil(expected.sendable / 1000));
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
    } finally {
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
      await second.stop();
    }
  });
});
