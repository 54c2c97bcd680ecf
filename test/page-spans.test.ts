import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JOBS_PER_RUN } from '../src/queue/names';
import { addRunFlow, finalizeJobId } from '../src/queue/producers';
import { expectedFromDemo, sandboxMembers } from './support/expectations';
import { createConnectedWorkspace, type Harness, seedDemo, startHarness, waitForRun } from './support/harness';

const everyone = { all: [{ property: 'age', op: 'gte', value: 0 }] };

let h: Harness;
beforeAll(async () => {
  // One page span at a time: the order in which the worker takes them is the whole story.
  h = await startHarness({ env: { WORKER_CONCURRENCY: '1' } });
});
afterAll(async () => {
  await h?.close();
});

async function startImport(ws: { token: string }, name: string) {
  const cohort = (await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name, criteria: everyone } })).body;
  const started = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} });
  expect(started.status).toBe(202);
  return { cohort, runId: started.body.id as string };
}

async function spansOf(runId: string): Promise<Job[]> {
  const jobs = await h.ctx.queues.uploadPage.getJobs(['completed'], 0, -1);
  return jobs.filter((j) => j.data.runId === runId).sort((a, b) => a.data.firstPage - b.data.firstPage);
}

describe('page spans of two workspaces, one worker', () => {
  it("sends a small run requested while a big one uploads before the big run's last pages", async () => {
    const big = await createConnectedWorkspace(h, 'Big');
    const small = await createConnectedWorkspace(h, 'Small');
    const bigNow = await seedDemo(h, big, { users: 60_000, seed: 21 });
    const smallNow = await seedDemo(h, small, { users: 2_000, seed: 22 });
    // Braze takes a little while per request, so the big run is still uploading when the small one comes.
    await h.sandbox('PUT', '/sandbox/config', { faults: { latency_ms: 40 } });

    const a = await startImport(big, 'Everyone (big)');
    for (const deadline = Date.now() + 60_000; ;) {
      const progress = await h.request('GET', `/v1/imports/${a.runId}/progress`, { token: big.token });
      if ((progress.body.pages_done ?? 0) >= 1) break;
      if (Date.now() > deadline) throw new Error('the big run never started sending');
      await new Promise((r) => setTimeout(r, 20));
    }
    const b = await startImport(small, 'Everyone (small)');
    const [runA, runB] = [await waitForRun(h, big.token, a.runId), await waitForRun(h, small.token, b.runId)];
    await h.sandbox('PUT', '/sandbox/config', { faults: null });

    // Both exact.
    const expectedA = expectedFromDemo(everyone as never, { users: 60_000, seed: 21, now: bigNow });
    const expectedB = expectedFromDemo(everyone as never, { users: 2_000, seed: 22, now: smallNow });
    expect(runA).toMatchObject({ status: 'succeeded', added: expectedA.sendable });
    expect(runB).toMatchObject({ status: 'succeeded', added: expectedB.sendable });
    expect(await sandboxMembers(h, small.brazeWorkspaceId, b.cohort.braze_cohort_id)).toEqual(expectedB.inBraze);

    // Order, not time: every span of the small run finished before the big run's last span began.
    const spansA = await spansOf(a.runId);
    const spansB = await spansOf(b.runId);
    expect(spansA.length).toBeGreaterThanOrEqual(4);
    expect(spansB.length).toBe(2);
    const lastOfA = spansA.at(-1)!;
    for (const span of spansB) expect(span.finishedOn!).toBeLessThanOrEqual(lastOfA.processedOn!);
    // …and the big run was under way when the small one was asked for: it is not a queue jump by arrival.
    expect(spansA[0]!.finishedOn!).toBeLessThanOrEqual(spansB[0]!.processedOn!);
  }, 120_000);
});

describe("a huge run's jobs in Redis", () => {
  it(`are bounded: 25M changes make at most ${MAX_JOBS_PER_RUN} page jobs under one finalize job, a few MB at most`, async () => {
    const runId = '00000000-0000-4000-8000-00000000a10c';
    const redis = h.ctx.redis;
    const prefix = h.config.queuePrefix;
    // No worker takes the jobs while they are counted.
    await h.workers?.close();
    h.workers = undefined;
    const before = await prefixMemory(redis, prefix);
    // A run that will never exist: the jobs are what the run's flow leaves in Redis, nothing more.
    const spans = await addRunFlow(h.ctx.queues, runId, 25_000_000, { attempts: 10, backoffMs: 1000 });
    try {
      // Spans grow past 20 pages so the count stays under the bound (25 000 pages: 4 lead spans of 5, then 26 a span).
      expect(spans).toBeLessThanOrEqual(MAX_JOBS_PER_RUN);
      expect(spans).toBeGreaterThan(0.9 * MAX_JOBS_PER_RUN);
      const finalize = await h.ctx.queues.finalizeRun.getJob(finalizeJobId(runId));
      const deps = await finalize!.getDependenciesCount();
      expect(deps.unprocessed).toBe(spans);
      const counts = await h.ctx.queues.uploadPage.getJobCounts('prioritized', 'waiting', 'active');
      expect((counts.prioritized ?? 0) + (counts.waiting ?? 0) + (counts.active ?? 0)).toBeLessThanOrEqual(
        MAX_JOBS_PER_RUN,
      );
      // Operators see them as waiting (BullMQ keeps prioritized jobs in a set of their own).
      const metrics = await h.request('GET', '/metrics');
      expect(metrics.body).toContain(`cohort_import_queue_jobs{queue="upload-page",state="waiting"} ${spans}`);
      const grew = (await prefixMemory(redis, prefix)) - before;
      // Measured at about 1 MB; the goal for a whole 10M run is 50 MB above idle.
      expect(grew).toBeLessThan(5 * 1024 * 1024);
    } finally {
      await h.ctx.queues.uploadPage.obliterate({ force: true });
      await h.ctx.queues.finalizeRun.obliterate({ force: true });
    }
  });
});

/** Bytes Redis holds for the queue prefix's keys (MEMORY USAGE of each). */
async function prefixMemory(redis: Harness['ctx']['redis'], prefix: string): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) total += Number((await redis.memory('USAGE', key)) ?? 0);
  } while (cursor !== '0');
  return total;
}
