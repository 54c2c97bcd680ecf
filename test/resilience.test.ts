import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifiersSent } from '../src/metrics/metrics';
import { expectedFromDemo, sandboxMembers, sandboxRequests } from './support/expectations';
import {
  createConnectedWorkspace,
  type Harness,
  frozenMembers,
  startHarness,
  waitForRun,
  seedDemo,
} from './support/harness';
import { type RunningProcess, startProcess } from './support/processes';
import { holdStore } from './support/store-lock';
import { testEngines } from './support/engines';
import type { SqliteWarehouse } from '../src/warehouse/sqlite-warehouse';

/** Runs that do not go smoothly: pages that give up, and a worker stopped mid-run. */
const USERS = 8000;
const SEED = 5;
const criteria = { all: [{ identity: 'identified' }] };
let h: Harness;

/** Polls until `done` holds (at most 20 s): the order of events, not their timing, is the assertion. */
async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ages a run by two minutes, past the age below which it may still be getting its job. */
async function makeOlder(runId: string): Promise<void> {
  const t = h.ctx.db.tables.importRuns;
  const [run] = await h.ctx.db.select().from(t).where(eq(t.id, runId));
  await h.ctx.db
    .update(t)
    .set({ createdAt: new Date(run!.createdAt.getTime() - 120_000) })
    .where(eq(t.id, runId));
}
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
let now: number;

/**
 * For the worker processes that finish or die in the tests below: a dead worker's jobs come back
 * once their lock runs out, at a stall check. Production's 30 s / 10 s locks and 5 s checks would
 * only make the kill -9 tests wait longer; 5 s still outlasts any pause of a live worker's event
 * loop here.
 */
const QUICK_LOCKS = { IMPORT_RUN_LOCK_MS: '5000', UPLOAD_PAGE_LOCK_MS: '5000', STALLED_CHECK_MS: '1000' };

/**
 * Starting a worker process takes seconds, so the worker that finishes one test's run is the one
 * the next test stops or kills: a test that passed hands its last worker over; a test after one
 * that did not starts its own.
 */
let handedOver: RunningProcess | undefined;
function startWorker(): Promise<RunningProcess> {
  return startProcess(
    'workers/main.ts',
    { ...h.env, ...QUICK_LOCKS, LOG_LEVEL: 'info', WORKER_CONCURRENCY: '2' },
    /worker ready/,
  );
}
async function takeWorker(): Promise<RunningProcess> {
  const worker = handedOver;
  handedOver = undefined;
  if (worker && worker.proc.exitCode === null && worker.proc.signalCode === null) return worker;
  return startWorker();
}

beforeAll(async () => {
  // No in-process workers: each test brings the workers it needs. One attempt per page.
  h = await startHarness({ workers: false, env: { UPLOAD_ATTEMPTS: '1' } });
  ws = await createConnectedWorkspace(h, 'Resilience');
  now = await seedDemo(h, ws, { users: USERS, seed: SEED });
});
afterAll(async () => {
  await handedOver?.stop();
  await h.sandbox('PUT', '/sandbox/config', { faults: null });
  await h?.close();
});

/** The cohort's membership requests the sandbox logged after request number `since`. */
async function uploadsOf(cohort: { braze_cohort_id: string }, since: number) {
  return (await sandboxRequests(h)).requests.filter(
    (r) => r.seq > since && r.path.endsWith('/cohorts/users') && r.cohort_id === cohort.braze_cohort_id,
  );
}

/** The in-process workers' cohort_import_identifiers_sent_total{op="add"}. */
async function identifiersAdded(): Promise<number> {
  return (await identifiersSent.get()).values.find((v) => v.labels.op === 'add')?.value ?? 0;
}

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
      const sentBefore = await identifiersAdded();
      const first = await waitForRun(h, ws.token, await importNow(cohort.id));
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
      expect(first.status).toBe('partially_failed');
      expect(first.added).toBeGreaterThan(0);
      expect(first.failed).toBeGreaterThan(0);
      expect(first.failed).toBe(expected.sendable - first.added);
      expect(first.error ?? '').toMatch(/could not be sent|Braze/);
      // The metric counts every page Braze took, those of spans that gave up part-way too.
      expect((await identifiersAdded()) - sentBefore).toBe(first.added);

      const before = (await sandboxRequests(h)).count;
      const second = await waitForRun(h, ws.token, await importNow(cohort.id));
      expect(second).toMatchObject({ status: 'succeeded', added: first.failed, removed: 0, failed: 0 });
      const resent = await uploadsOf(cohort, before);
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
    while (!(await uploadsOf(cohort, before)).some((r) => r.status === 201)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await first.stop()).toBe(0);
    expect((await h.request('GET', `/v1/imports/${runId}`, { token: ws.token })).body.status).toBe('running');

    const second = await startWorker();
    let passed = false;
    try {
      const run = await waitForRun(h, ws.token, runId);
      expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
      const uploads = await uploadsOf(cohort, before);
      expect(uploads.filter((r) => r.status === 201)).toHaveLength(Math.ceil(expected.sendable / 1000));
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
      passed = true;
    } finally {
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
      if (passed) handedOver = second;
      else await second.stop();
    }
  });
});

describe('a worker killed mid-run', () => {
  it('kill -9: its held pages come back to another worker; only those are sent again, and the run ends exact', async () => {
    const doomed = await takeWorker();
    const cohort = (await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Killed', criteria } }))
      .body;
    const expected = expectedFromDemo(criteria as never, { users: USERS, seed: SEED, now });
    // Slow Braze down so the worker dies holding pages, not between them.
    await h.sandbox('PUT', '/sandbox/config', { faults: { latency_ms: 400 } });
    const before = (await sandboxRequests(h)).count;
    const runId = await importNow(cohort.id);
    while (!(await uploadsOf(cohort, before)).some((r) => r.status === 201)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    doomed.proc.kill('SIGKILL');
    await doomed.stop();

    const survivor = await startWorker();
    let passed = false;
    try {
      const run = await waitForRun(h, ws.token, runId, 90_000);
      expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
      // Resent: at most two pages per span the killed worker held (its concurrency, 2): the one
      // in flight, and the one Braze had acknowledged whose record (overlapping the next
      // request) had not finished. Every other acknowledged page is resumed after, not resent.
      const pages = Math.ceil(expected.sendable / 1000);
      const accepted = (await uploadsOf(cohort, before)).filter((r) => r.status === 201).length;
      expect(accepted).toBeGreaterThanOrEqual(pages);
      expect(accepted).toBeLessThanOrEqual(pages + 2 * 2);
      passed = true;
    } finally {
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
      if (passed) handedOver = survivor;
      else await survivor.stop();
    }
  }, 90_000);
});

describe('a worker killed during a run start', () => {
  it('kill -9 mid-freeze: another worker takes the start over once the dead one is gone, not when its lease runs out', async () => {
    const doomed = await takeWorker();
    const cohort = (await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Frozen', criteria } }))
      .body;
    const expected = expectedFromDemo(criteria as never, { users: USERS, seed: SEED, now });
    // The freeze meets a held store and waits there: the worker dies mid-freeze, holding the lease.
    const release = await holdStore(h.config.warehouseUrl, 'cohort_run_members');
    let released = false;
    try {
      const runId = await importNow(cohort.id);
      await until(
        async () => Boolean((await h.ctx.runs.get(runId))?.executingBy),
        'the doomed worker to take the lease',
      );
      doomed.proc.kill('SIGKILL');
      await doomed.stop();
      await release();
      released = true;

      // The last worker of this file: the tests after run their own, in-process.
      const survivor = await startWorker();
      try {
        // The lease is 12 minutes long: only a takeover finishes the run in this test's time.
        const run = await waitForRun(h, ws.token, runId, 60_000);
        expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
        expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
        expect(survivor.output()).toMatch(/the worker executing the run start is gone; taking it over/);
      } finally {
        await survivor.stop();
      }
    } finally {
      if (!released) await release();
    }
  }, 90_000);
});

describe('a worker killed while a first import is frozen chunk by chunk', () => {
  // Only SQLite freezes a first import chunk by chunk (PostgreSQL in one statement).
  it.skipIf(testEngines().warehouse !== 'sqlite')(
    'kill -9 mid-freeze: another worker goes on after the last chunk committed, and the run ends exact',
    async () => {
      // Five users (by id) a chunk: the freeze-pages job commits about 1,600 chunks.
      const chunked = { FREEZE_PAGES_MIN_USERS: '1000', WAREHOUSE_CHUNK_USERS: '5' };
      const start = () =>
        startProcess(
          'workers/main.ts',
          { ...h.env, ...QUICK_LOCKS, ...chunked, LOG_LEVEL: 'info', WORKER_CONCURRENCY: '2' },
          /worker ready/,
        );
      const doomed = await start();
      const cohort = (await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Chunked', criteria } }))
        .body;
      const expected = expectedFromDemo(criteria as never, { users: USERS, seed: SEED, now });
      const runId = await importNow(cohort.id);
      const freezeJob = `freeze-${runId}`;
      await until(
        async () => (await h.ctx.queues.importRun.getJobState(freezeJob)) === 'active',
        'the freeze-pages job to start',
      );
      doomed.proc.kill('SIGKILL');
      await doomed.stop();
      // Killed mid-freeze: some chunks committed, not all.
      const state = (h.warehouse as SqliteWarehouse).db
        .prepare('SELECT freeze_next AS next, freeze_hi AS hi FROM run_keys WHERE run_id = ?')
        .get(runId) as { next: number; hi: number };
      expect(state.next).toBeLessThanOrEqual(state.hi);

      const survivor = await start();
      try {
        const run = await waitForRun(h, ws.token, runId, 60_000);
        expect(run).toMatchObject({
          status: 'succeeded',
          cohort_size: expected.members,
          added: expected.sendable,
          failed: 0,
        });
        expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
        // The survivor went on from where the dead worker stopped: one job, its second attempt.
        const job = await h.ctx.queues.importRun.getJob(freezeJob);
        expect(job?.returnvalue).toMatchObject({ additions: expected.sendable });
        expect(job?.attemptsStarted).toBeGreaterThanOrEqual(2);
      } finally {
        await survivor.stop();
      }
    },
    90_000,
  );
});

describe('cancel and lost runs', () => {
  const start = async (name: string) => {
    const cohort = (await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name, criteria } })).body;
    return { cohort, runId: await importNow(cohort.id) };
  };

  it('cancels a queued run at once, and the cohort can be imported again', async () => {
    const { cohort, runId } = await start('Cancel queued');
    // As if an earlier attempt had frozen the members before being delayed (say by a 429).
    await h.ctx.warehouse.freezeRunMembers(runId, ws.workspaceId, criteria as never, Date.now());
    const frozen = () => frozenMembers(h, runId);
    expect(await frozen()).toBeGreaterThan(0);
    const cancelled = await h.request('POST', `/v1/imports/${runId}/cancel`, { token: ws.token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: runId, status: 'failed', error: 'Cancelled by request.' });
    expect(await h.ctx.queues.importRun.getJob(`run-${runId}`)).toBeUndefined();
    // The clean-up is not web's work: it waits in a settle-run job for a worker.
    expect(await frozen()).toBeGreaterThan(0);
    expect(await h.ctx.queues.settleRun.getJob(`settle-${runId}`)).toBeDefined();
    const { startWorkers } = await import('../workers/start-workers');
    h.workers = await startWorkers(h.ctx);
    try {
      await until(async () => (await frozen()) === 0, 'the frozen members to be dropped');
      const t = h.ctx.db.tables.importRuns;
      await until(
        async () => (await h.ctx.db.select().from(t).where(eq(t.id, runId)))[0]?.settledAt != null,
        'the run to be settled',
      );
    } finally {
      await h.workers.close();
      h.workers = undefined;
    }
    const again = await h.request('POST', `/v1/imports/${runId}/cancel`, { token: ws.token });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('run_not_active');
    expect((await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} })).status).toBe(
      202,
    );
  });

  it('settles a run whose settling was interrupted: the janitor hands it to a worker', async () => {
    const { runId } = await start('Interrupted settle');
    await h.ctx.warehouse.freezeRunMembers(runId, ws.workspaceId, criteria as never, Date.now());
    // As if the process died right after marking the run failed: ended, never settled.
    await h.ctx.runs.abort(runId, 'Crashed before settling.');
    await h.ctx.runs.finish(runId, {
      status: 'failed',
      added: 0,
      removed: 0,
      failed: 0,
      error: 'Crashed before settling.',
    });
    await h.ctx.queues.importRun.remove(`run-${runId}`);
    const t = h.ctx.db.tables.importRuns;
    const row = async () => (await h.ctx.db.select().from(t).where(eq(t.id, runId)))[0]!;
    await h.ctx.db
      .update(t)
      .set({ finishedAt: new Date(Date.now() - 120_000) })
      .where(eq(t.id, runId));
    expect((await row()).settledAt).toBeNull();
    await h.ctx.janitor.sweep();
    const { startWorkers } = await import('../workers/start-workers');
    h.workers = await startWorkers(h.ctx);
    try {
      await until(async () => (await row()).settledAt !== null, 'the run to be settled');
    } finally {
      await h.workers.close();
      h.workers = undefined;
    }
    expect(await frozenMembers(h, runId)).toBe(0);
  });

  it('closes a run whose job was lost instead of answering 409 for ever', async () => {
    const { cohort, runId } = await start('Lost job');
    await h.ctx.queues.importRun.remove(`run-${runId}`);
    // Still young: it might just be getting its job, so the cohort stays busy.
    const young = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} });
    expect(young.status).toBe(409);
    await makeOlder(runId);
    const next = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} });
    expect(next.status).toBe(202);
    expect((await h.request('GET', `/v1/imports/${runId}`, { token: ws.token })).body).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/jobs were lost/),
    });
    // The sweep web runs finds nothing else to close: the new run's job is there.
    await makeOlder(next.body.id);
    const beforeSweep = (await h.request('GET', `/v1/imports/${next.body.id}`, { token: ws.token })).body.status;
    expect(await h.ctx.janitor.sweep()).toBe(0);
    expect((await h.request('GET', `/v1/imports/${next.body.id}`, { token: ws.token })).body.status).toBe(beforeSweep);
  });

  it('stops a running run: pages not yet sent send nothing, and it ends failed', async () => {
    const { startWorkers } = await import('../workers/start-workers');
    // One page at a time, so the cancel lands while most pages are still waiting.
    const worker = { ...h.ctx.config.worker, concurrency: 1 };
    h.workers = await startWorkers({ ...h.ctx, config: { ...h.ctx.config, worker } });
    try {
      await h.sandbox('PUT', '/sandbox/config', { faults: { latency_ms: 300 } });
      const before = (await sandboxRequests(h)).count;
      const { cohort, runId } = await start('Cancel running');
      while ((await uploadsOf(cohort, before)).length === 0) await new Promise((r) => setTimeout(r, 20));
      const cancelled = await h.request('POST', `/v1/imports/${runId}/cancel`, { token: ws.token });
      expect(cancelled.status).toBe(200);
      const run = await waitForRun(h, ws.token, runId);
      const expected = expectedFromDemo(criteria as never, { users: USERS, seed: SEED, now });
      expect(run).toMatchObject({ status: 'failed', error: 'Cancelled by request.' });
      expect(run.added).toBeLessThan(expected.sendable);
      const uploads = await uploadsOf(cohort, before);
      expect(uploads.length).toBeLessThan(Math.ceil(expected.sendable / 1000));
    } finally {
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
      await h.workers?.close();
      h.workers = undefined;
    }
  });
});
