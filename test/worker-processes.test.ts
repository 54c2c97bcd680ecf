import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedFromDemo, sandboxMembers } from './support/expectations';
import { createConnectedWorkspace, type Harness, startHarness, waitForRun, seedDemo } from './support/harness';
import { type RunningProcess, startProcess } from './support/processes';

/** Real worker processes, as `npm start` and the Procfile run them, sharing one run's pages. */
const USERS = 10_000;
const SEED = 11;
let h: Harness;
let workers: RunningProcess[] = [];

beforeAll(async () => {
  h = await startHarness({ workers: false });
  workers = await Promise.all(
    [1, 2].map(() =>
      startProcess('workers/main.ts', { ...h.env, LOG_LEVEL: 'info', WORKER_CONCURRENCY: '2' }, /worker ready/),
    ),
  );
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await h?.close();
});

describe('two worker processes', () => {
  it("share one run's pages, and stop cleanly on SIGTERM", async () => {
    const ws = await createConnectedWorkspace(h, 'Scale');
    const now = await seedDemo(h, ws, { users: USERS, seed: SEED });
    // Slow Braze down a little so both processes have pages in hand at once.
    await h.sandbox('PUT', '/sandbox/config', { faults: { latency_ms: 100 } });
    const criteria = { all: [{ identity: 'identified' }] };
    const cohort = await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Identified', criteria } });
    const started = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, { token: ws.token, body: {} });
    const run = await waitForRun(h, ws.token, started.body.id);

    const expected = expectedFromDemo(criteria as never, { users: USERS, seed: SEED, now });
    expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable });
    expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.body.braze_cohort_id)).toEqual(expected.inBraze);

    const spans = await h.ctx.queues.uploadPage.getJobs(['completed'], 0, -1);
    const pagesSent = spans.reduce((n, j) => n + j.data.lastPage - j.data.firstPage + 1, 0);
    expect(pagesSent).toBe(Math.ceil(expected.sendable / 1000));
    const processedBy = new Set(spans.map((j) => j.processedBy));
    expect(processedBy.size).toBe(2);

    const codes = await Promise.all(workers.map((w) => w.stop()));
    expect(codes).toEqual([0, 0]);
    for (const w of workers) expect(w.output()).toMatch(/worker stopped/);
  });
});
