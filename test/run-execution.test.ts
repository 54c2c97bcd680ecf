import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunJob } from '../src/runs/run-execution';
import { expectedFromDemo, sandboxMembers } from './support/expectations';
import {
  createConnectedWorkspace,
  type Harness,
  frozenMembers,
  seedDemo,
  startHarness,
  waitForRun,
} from './support/harness';

/** A run's start executes once at a time, and a busy store is waited out without spending attempts. */
const USERS = 3_000;
const SEED = 17;
const criteria = { all: [{ identity: 'identified' }] };
let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
let now: number;

beforeAll(async () => {
  h = await startHarness({ workers: false, controlDb: 'sqlite', warehouse: 'sqlite' });
  ws = await createConnectedWorkspace(h, 'Execution');
  now = await seedDemo(h, ws, { users: USERS, seed: SEED });
});
afterAll(async () => {
  await h?.workers?.close();
  await h?.close();
});

async function queuedRun(name: string) {
  const cohort = (await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name, criteria } })).body;
  const started = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} });
  expect(started.status).toBe(202);
  return { cohort, runId: started.body.id as string };
}

describe("a run's start", () => {
  it('is not executed while another attempt holds its lease: that attempt steps aside until later', async () => {
    const { runId } = await queuedRun('Leased');
    // Another worker is executing it (its job lock may have expired during a long freeze).
    expect(await h.ctx.runs.leaseExecution(runId, new Date(Date.now() + 60_000))).toBe(true);
    const asked: number[] = [];
    const job: RunJob = {
      lastProgress: () => undefined,
      progress: async () => undefined,
      later: async (until) => {
        asked.push(until);
        throw new Error('moved to delayed');
      },
      withCohortSlot: async () => {
        throw new Error('a second attempt must not send pages');
      },
      send: async () => {
        throw new Error('a second attempt must not reach Braze');
      },
    };
    await expect(h.ctx.execution.start(runId, job)).rejects.toThrow('moved to delayed');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toBeGreaterThan(Date.now());
    expect(await frozenMembers(h, runId)).toBe(0);
    expect((await h.ctx.runs.get(runId))?.status).toBe('queued');
    await h.ctx.runs.releaseExecution(runId);
    expect(await h.ctx.runs.leaseExecution(runId, new Date(Date.now() + 60_000))).toBe(true);
    await h.ctx.runs.releaseExecution(runId);
  });

  it("waits out another process's write lock on the warehouse without spending an attempt", async () => {
    const { cohort, runId } = await queuedRun('Busy warehouse');
    // A long write elsewhere (another worker's freeze) holds SQLite's write lock past the busy wait.
    const holder = new Database(h.config.warehouseUrl);
    holder.exec('BEGIN EXCLUSIVE');
    const { startWorkers } = await import('../workers/start-workers');
    h.workers = await startWorkers(h.ctx);
    try {
      // The freeze meets the lock (after SQLite's 10 s busy wait) and the job steps aside.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const job = await h.ctx.queues.importRun.getJob(`run-${runId}`);
        if ((await job?.getState()) === 'delayed') break;
        if (Date.now() > deadline) throw new Error('the import-run job never stepped aside');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const run = await waitForRun(h, ws.token, runId, 60_000);
    const expected = expectedFromDemo(criteria as never, { users: USERS, seed: SEED, now });
    expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable });
    expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
    const job = await h.ctx.queues.importRun.getJob(`run-${runId}`);
    // Started twice (stepped aside, came back), and only the successful attempt counted.
    expect(job?.attemptsStarted).toBeGreaterThanOrEqual(2);
    expect(job?.attemptsMade).toBe(1);
  }, 90_000);
});
