import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Criteria } from '../src/domain/criteria';
import { finalizeJobId, freezePagesJobId } from '../src/queue/producers';
import type { SqliteWarehouse } from '../src/warehouse/sqlite-warehouse';
import { expectedFromDemo, sandboxMembers } from './support/expectations';
import { createConnectedWorkspace, type Harness, seedDemo, startHarness, waitForRun } from './support/harness';

const adults = { all: [{ property: 'age', op: 'gte', value: 18 }] } as Criteria;
const USERS = 12_000;

let h: Harness;
beforeAll(async () => {
  // Every first import here is frozen chunk by chunk, 500 users (by id) a chunk: 24 chunks. Only
  // the SQLite engine freezes that way (PostgreSQL freezes a first import in one statement).
  h = await startHarness({
    warehouse: 'sqlite',
    env: { FREEZE_PAGES_MIN_USERS: '1000', WAREHOUSE_CHUNK_USERS: '500' },
  });
});
afterAll(async () => {
  await h?.close();
});

async function importNow(ws: { token: string }, cohortId: string) {
  const started = await h.request('POST', `/v1/cohorts/${cohortId}/imports`, { token: ws.token, body: {} });
  expect(started.status).toBe(202);
  return started.body.id as string;
}

async function spansOf(runId: string): Promise<Job[]> {
  const jobs = await h.ctx.queues.uploadPage.getJobs(['completed', 'failed'], 0, -1);
  return jobs.filter((j) => j.data.runId === runId).sort((a, b) => a.data.firstPage - b.data.firstPage);
}

describe('a first import frozen chunk by chunk', () => {
  it('sends its pages while the rest is frozen, exactly, and the next run diffs against what Braze acknowledged', async () => {
    const ws = await createConnectedWorkspace(h, 'Chunked');
    const now = await seedDemo(h, ws, { users: USERS, seed: 31 });
    const cohort = (
      await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Adults', criteria: adults } })
    ).body;
    const run = await waitForRun(h, ws.token, await importNow(ws, cohort.id));

    const expected = expectedFromDemo(adults, { users: USERS, seed: 31, now });
    expect(run).toMatchObject({
      status: 'succeeded',
      cohort_size: expected.members,
      unmatchable: expected.unmatchable,
      added: expected.sendable,
      removed: 0,
      failed: 0,
    });
    expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);

    // The members were frozen by the run's freeze-pages job, a child of its finalize job…
    const freeze = await h.ctx.queues.importRun.getJob(freezePagesJobId(run.id));
    const pagesTotal = Math.ceil(expected.sendable / 1000);
    expect(freeze?.returnvalue).toMatchObject({ additions: expected.sendable, pagesTotal });
    expect(freeze?.parentKey).toBe(`${h.ctx.queues.finalizeRun.qualifiedName}:${finalizeJobId(run.id)}`);
    // …which added each span while it was still freezing, and the spans cover every page once.
    const spans = await spansOf(run.id);
    expect(spans.length).toBeGreaterThanOrEqual(3);
    expect(spans[0]!.timestamp).toBeLessThan(spans.at(-1)!.timestamp);
    expect(spans.at(-1)!.timestamp).toBeLessThanOrEqual(freeze!.finishedOn!);
    expect(spans.map((s) => [s.data.firstPage, s.data.lastPage]).flat()).toEqual(
      spans.flatMap((s, i) => [i === 0 ? 1 : spans[i - 1]!.data.lastPage + 1, s.data.lastPage]),
    );
    expect(spans.at(-1)!.data.lastPage).toBe(pagesTotal);
    const progress = await h.request('GET', `/v1/imports/${run.id}/progress`, { token: ws.token });
    expect(progress.body).toMatchObject({ pages_done: pagesTotal, pages_total: pagesTotal });

    // Nothing changed: the next run finds Braze up to date (its acknowledged pages were folded in).
    const again = await waitForRun(h, ws.token, await importNow(ws, cohort.id));
    expect(again).toMatchObject({ status: 'succeeded', added: 0, removed: 0 });
  }, 120_000);

  it('stops when cancelled once its freeze has begun: the run fails as cancelled and leaves no working set', async () => {
    const ws = await createConnectedWorkspace(h, 'Cancelled');
    await seedDemo(h, ws, { users: USERS, seed: 32 });
    // Braze is slow, so the run is still going when the cancel comes.
    await h.sandbox('PUT', '/sandbox/config', { faults: { latency_ms: 200 } });
    try {
      const cohort = (
        await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Adults', criteria: adults } })
      ).body;
      const runId = await importNow(ws, cohort.id);
      for (const deadline = Date.now() + 30_000; ;) {
        if (await h.ctx.queues.importRun.getJob(freezePagesJobId(runId))) break;
        if (Date.now() > deadline) throw new Error('the freeze-pages job never came');
        await new Promise((r) => setTimeout(r, 10));
      }
      const cancelled = await h.request('POST', `/v1/imports/${runId}/cancel`, { token: ws.token });
      expect(cancelled.status).toBe(200);
      const run = await waitForRun(h, ws.token, runId);
      expect(run).toMatchObject({ status: 'failed', error: 'Cancelled by request.' });
      // Settled: the run's diff is dropped once its finalize job is done.
      await expect
        .poll(async () => (await h.ctx.queues.finalizeRun.getJob(finalizeJobId(runId)))?.finishedOn, {
          timeout: 30_000,
        })
        .toBeDefined();
      const db = (h.warehouse as SqliteWarehouse).db;
      expect(db.prepare('SELECT count(*) FROM run_keys WHERE run_id = ?').pluck().get(runId)).toBe(0);
    } finally {
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
    }
  }, 120_000);
});
