import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BrazeRetryableError } from '../src/braze/errors';
import { cutSpans } from '../src/queue/producers';
import { executorAliveKey } from '../src/runs/executor-beacon';
import { RunExecution, type RunJob } from '../src/runs/run-execution';
import { openWarehouse } from '../src/warehouse/open-warehouse';
import type { Warehouse } from '../src/warehouse/warehouse';
import { WarehouseTimeoutError } from '../src/warehouse/warehouse-timeout-error';
import { testEngines } from './support/engines';
import { expectedFromDemo, sandboxMembers } from './support/expectations';
import {
  createConnectedWorkspace,
  type Harness,
  frozenMembers,
  seedDemo,
  startHarness,
  waitForRun,
} from './support/harness';
import { holdStore } from './support/store-lock';

/**
 * A run's start executes once at a time, a busy store is waited out without spending attempts,
 * and a freeze past its deadline fails the attempt. On both engines (test/postgres/ runs this
 * file there): the lease is a row of the control database; the busy warehouse is SQLite's write
 * lock held by another process, or on PostgreSQL a lock on the members' table held by another
 * session (a migration, say) past lock_timeout. PostgreSQL's own freeze holds no lock that
 * stalls another tenant's write (MVCC, rows of its own run), so that fault is not re-created there.
 */
const USERS = 3_000;
const SEED = 17;
const criteria = { all: [{ identity: 'identified' }] };
let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
let now: number;

beforeAll(async () => {
  // The store's lock wait is one second, not production's ten: a held store is met sooner.
  h = await startHarness({ workers: false, env: { STORE_LOCK_WAIT_MS: '1000' } });
  ws = await createConnectedWorkspace(h, 'Execution');
  now = await seedDemo(h, ws, { users: USERS, seed: SEED });
});
afterAll(async () => {
  await h?.workers?.close();
  await h?.close();
});

async function queuedRun(name: string, workspace = ws) {
  const cohort = (await h.request('POST', '/v1/cohorts', { token: workspace.token, body: { name, criteria } })).body;
  const started = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: workspace.token, body: {} });
  expect(started.status).toBe(202);
  return { cohort, runId: started.body.id as string };
}

const accepted = { ok: true as const, result: { status: 201, rateLimitRemaining: null, rateLimitReset: null } };

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition();) {
    if (Date.now() > deadline) throw new Error('the condition never held');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A job that records when it was asked to come back, and must not reach Braze. */
function stubJob(asked: number[] = []): RunJob {
  return {
    lastProgress: () => undefined,
    progress: async () => undefined,
    later: async (until) => {
      asked.push(until);
      throw new Error('moved to delayed');
    },
    withCohortSlot: async () => {
      throw new Error('this attempt must not send pages');
    },
    send: async () => {
      throw new Error('this attempt must not reach Braze');
    },
  };
}

/** A job of a span's pages: its cohort slot granted at once, its requests answered by `send`. */
function spanJob(send: RunJob['send'], rest: Partial<RunJob> = {}): RunJob {
  return { ...stubJob(), withCohortSlot: async (_cohort, _requests, work) => work(), send, ...rest };
}

describe("a run's start", () => {
  it('is the engine this file chose', () => {
    expect(h.config.warehouseUrl.startsWith('postgres')).toBe(testEngines().warehouse === 'postgres');
  });

  it('is not executed while a live worker holds its lease: this attempt steps aside until later', async () => {
    const { runId } = await queuedRun('Leased');
    // Another worker is executing it (its job lock may have expired during a long freeze), and
    // its beacon says it lives.
    const other = 'other-host-1-abcdef';
    await h.ctx.redis.set(executorAliveKey(h.config.queuePrefix, other), '1', 'PX', 60_000);
    expect(await h.ctx.runs.leaseExecution(runId, new Date(Date.now() + 60_000), other)).toBe(true);
    const asked: number[] = [];
    await expect(h.ctx.execution.start(runId, stubJob(asked))).rejects.toThrow('moved to delayed');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toBeGreaterThan(Date.now());
    expect(await frozenMembers(h, runId)).toBe(0);
    expect((await h.ctx.runs.get(runId))?.status).toBe('queued');
    // Only the holder gives it back.
    await h.ctx.runs.releaseExecution(runId, h.ctx.executor.id);
    expect((await h.ctx.runs.get(runId))?.executingBy).toBe(other);
    await h.ctx.runs.releaseExecution(runId, other);
    await h.ctx.redis.del(executorAliveKey(h.config.queuePrefix, other));
    expect(await h.ctx.runs.leaseExecution(runId, new Date(Date.now() + 60_000), other)).toBe(true);
    await h.ctx.runs.releaseExecution(runId, other);
  });

  it('is taken over at once from a worker that is gone (killed mid-freeze), long before its lease runs out', async () => {
    const { runId } = await queuedRun('Orphaned');
    // A lease for ten minutes, by a worker whose beacon stopped: no alive key.
    expect(await h.ctx.runs.leaseExecution(runId, new Date(Date.now() + 600_000), 'gone-host-2-abcdef')).toBe(true);
    const send = vi.fn(async () => ({ ok: false as const, error: 'stop here: the freeze and the diff are done' }));
    await h.ctx.execution.start(runId, { ...stubJob(), send });
    // It executed the start (froze the members, got as far as registering the cohort in Braze,
    // whose refusal ended the run), and let go of the lease.
    expect(send).toHaveBeenCalledTimes(1);
    const run = await h.ctx.runs.get(runId);
    expect(run).toMatchObject({ status: 'failed', error: 'stop here: the freeze and the diff are done' });
    expect(run?.executingBy).toBeNull();
  });

  it("waits out another process's write lock on the warehouse without spending an attempt", async () => {
    const { cohort, runId } = await queuedRun('Busy warehouse');
    // A long write elsewhere holds the lock past the store's wait: SQLite's write lock (another
    // worker's freeze), or on PostgreSQL the members' table (past lock_timeout).
    const release = await holdStore(h.config.warehouseUrl, 'cohort_run_members');
    const { startWorkers } = await import('../workers/start-workers');
    h.workers = await startWorkers(h.ctx);
    try {
      // The freeze meets the lock (after the store's wait) and the job steps aside.
      const deadline = Date.now() + 60_000;
      for (;;) {
        const job = await h.ctx.queues.importRun.getJob(`run-${runId}`);
        if ((await job?.getState()) === 'delayed') break;
        if (Date.now() > deadline) throw new Error('the import-run job never stepped aside');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await release();
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

  it('fails its attempt with the warehouse timeout when the freeze outlives its deadline, freezing nobody', async () => {
    // Only this attempt executes the run: no worker takes its job meanwhile.
    await h.workers?.close();
    h.workers = undefined;
    // 20,000 users: no freeze of them fits in WAREHOUSE_BULK_TIMEOUT_MS=1 on either engine.
    const big = await createConnectedWorkspace(h, 'Execution, big');
    await seedDemo(h, big, { users: 20_000, seed: SEED });
    const { runId } = await queuedRun('Too slow', big);
    const hurried = await openWarehouse(h.config.warehouseUrl, { deadlines: { bulkMs: 1 } });
    const c = h.ctx;
    const execution = new RunExecution(
      c.runs,
      c.outcomes,
      c.cohorts,
      c.connections,
      hurried,
      c.queues,
      c.executor,
      {
        attempts: 1,
        backoffMs: 50,
      },
      c.log,
    );
    try {
      // Thrown, as PostgreSQL's statement_timeout is: the job's attempt fails (the last one fails the run).
      await expect(execution.start(runId, stubJob())).rejects.toThrow(WarehouseTimeoutError);
    } finally {
      await hurried.close();
    }
    expect(await frozenMembers(h, runId)).toBe(0);
    // The lease was released: the job's next attempt executes at once.
    expect(await h.ctx.runs.leaseExecution(runId, new Date(Date.now() + 60_000), 'next')).toBe(true);
    await h.ctx.runs.releaseExecution(runId, 'next');
  }, 60_000);
});

/** A run started (frozen, registered, fanned out) with Braze accepting; no worker takes its spans. */
async function startedRun(name: string, workspace = ws) {
  await h.workers?.close();
  h.workers = undefined;
  const { runId } = await queuedRun(name, workspace);
  await h.ctx.execution.start(runId, { ...stubJob(), send: async () => accepted });
  return { runId, run: (await h.ctx.runs.get(runId))! };
}

/** The system's run execution, with its page records made by `record` (handed the warehouse's own). */
function executionRecordingWith(
  record: (real: Warehouse['applyChanges'], ...args: Parameters<Warehouse['applyChanges']>) => Promise<void>,
): RunExecution {
  const c = h.ctx;
  const warehouse = new Proxy(c.warehouse, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (key === 'applyChanges') {
        return (...args: Parameters<Warehouse['applyChanges']>) => record(target.applyChanges.bind(target), ...args);
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const retries = { attempts: 1, backoffMs: 50 };
  return new RunExecution(
    c.runs,
    c.outcomes,
    c.cohorts,
    c.connections,
    warehouse,
    c.queues,
    c.executor,
    retries,
    c.log,
  );
}

describe("a span's pages", () => {
  it('hand the job back (a 503 after pages went out) only once the page before is recorded, so the next attempt resumes after it', async () => {
    // The start (freeze, register, fan-out) with Braze accepting; its span jobs stay queued.
    const { runId, run } = await startedRun('Handed back');
    expect(run.pagesTotal).toBeGreaterThanOrEqual(2);
    // One span over every page: Braze takes page 1 and answers page 2 with a 503. The page's
    // record is slow, as a store under load is, so it outlives that 503.
    const [span] = cutSpans(runId, run.changesTotal, true, run.pagesTotal);
    const execution = executionRecordingWith(async (real, ...args) => {
      await new Promise((r) => setTimeout(r, 300));
      return real(...args);
    });
    let progress: unknown;
    let resumesFrom: Promise<unknown> = Promise.resolve('never handed back');
    let sends = 0;
    const job = spanJob(
      async () => {
        if (++sends === 1) return accepted;
        throw new BrazeRetryableError('Braze answered 503', 503);
      },
      {
        progress: async (state) => {
          progress = state;
        },
        // What an attempt that began the moment this one handed the job back would resume from.
        later: async () => {
          resumesFrom = execution.sentOfSpan(span!, progress);
          throw new Error('moved to delayed');
        },
      },
    );
    await expect(execution.sendPages(span!, job)).rejects.toThrow('moved to delayed');
    expect(sends).toBe(2);
    expect(await resumesFrom).toMatchObject({ pagesDone: 1, added: 1000, removed: 0 });
  });

  // SQLite's write lock is the one a freeze's chunk holds while the first pages go out.
  it.skipIf(testEngines().warehouse !== 'sqlite')(
    'keep going while the records before wait for the write lock, at most 8 pages ahead, then record them in order',
    async () => {
      const many = await createConnectedWorkspace(h, 'Many pages');
      await seedDemo(h, many, { users: 15_000, seed: 18 });
      const { runId, run } = await startedRun('Records wait', many);
      expect(run.pagesTotal).toBeGreaterThanOrEqual(10);
      // One span over every page (a run's first spans are cut short).
      const span = { runId, firstPage: 1, lastPage: run.pagesTotal, fromSeq: 1, toSeq: run.changesTotal };
      let sends = 0;
      const job = spanJob(async () => {
        sends++;
        return accepted;
      });
      const release = await holdStore(h.config.warehouseUrl, 'run_acks');
      let sent: Promise<unknown>;
      try {
        sent = h.ctx.execution.sendPages(span, job);
        sent.catch(() => undefined);
        // Page 1's record waits for the lock; pages 2..9 go out meanwhile (8 records waiting),
        // and page 10 waits for page 1's record.
        await until(() => sends === 9);
        await new Promise((r) => setTimeout(r, 300));
        expect(sends).toBe(9);
        expect(await h.ctx.execution.sentOfSpan(span, undefined)).toMatchObject({ pagesDone: 0 });
      } finally {
        await release();
      }
      expect(await sent).toMatchObject({ added: run.changesTotal, skipped: false });
      expect(sends).toBe(run.pagesTotal);
      expect(await h.ctx.execution.sentOfSpan(span, undefined)).toEqual({
        pagesDone: run.pagesTotal,
        added: run.changesTotal,
        removed: 0,
      });
    },
    60_000,
  );

  it('stop at a page whose record failed: nothing after it is recorded, and a retry resumes at it', async () => {
    const { runId, run } = await startedRun('Record fails');
    expect(run.pagesTotal).toBeGreaterThanOrEqual(3);
    const [span] = cutSpans(runId, run.changesTotal, true, run.pagesTotal);
    let records = 0;
    // Page 2's record fails (the store gave up, say); the others land.
    const execution = executionRecordingWith((real, ...args) =>
      ++records === 2 ? Promise.reject(new Error('disk I/O error')) : real(...args),
    );
    let sends = 0;
    let progress: unknown;
    const job = spanJob(
      async () => {
        sends++;
        return accepted;
      },
      {
        progress: async (state) => {
          progress = state;
        },
      },
    );
    await expect(execution.sendPages(span!, job)).rejects.toThrow('disk I/O error');
    // No record asked for after the one that failed, and at most the page then in flight sent.
    expect(records).toBe(2);
    expect(sends).toBeLessThanOrEqual(3);
    expect(await execution.sentOfSpan(span!, progress)).toMatchObject({ pagesDone: 1, added: 1000 });
  });
});
