import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Criteria } from '../src/domain/criteria';
import { expectedFromDemo, sandboxMembers, sandboxRequests } from './support/expectations';
import { createConnectedWorkspace, type Harness, seedDemo, startHarness, waitForRun } from './support/harness';
import { type RunningProcess, startProcess } from './support/processes';

/**
 * Braze's limit as a sliding window shared by every worker process, against a sandbox that
 * enforces a limit of its own (a fixed window per key, as Braze counts it): the importer never
 * goes over it, and when the sandbox's limit is lower than the importer's, its 429s pause the
 * scope for every worker without spending attempts.
 */
const LIMIT = { requests: 10, windowSeconds: 2 };
const USERS = 26_000;
const everyone = { all: [{ property: 'age', op: 'gte', value: 0 }] } as Criteria;

let h: Harness;
let workers: RunningProcess[] = [];
/** Where each worker's output stood when the current test began: each test reads its own part. */
let outputFrom: number[] = [];
beforeAll(async () => {
  h = await startHarness({ workers: false });
  // Three worker processes sharing one Redis budget of LIMIT, for both tests (each test imports
  // into a workspace and Braze key of its own); one attempt per page, so a spent attempt would
  // fail the run.
  const env = {
    ...h.env,
    LOG_LEVEL: 'info',
    WORKER_CONCURRENCY: '2',
    UPLOAD_ATTEMPTS: '1',
    BRAZE_RATE_LIMIT_REQUESTS: String(LIMIT.requests),
    BRAZE_RATE_LIMIT_WINDOW_S: String(LIMIT.windowSeconds),
  };
  workers = await Promise.all([1, 2, 3].map(() => startProcess('workers/main.ts', env, /worker ready/)));
}, 60_000);
beforeEach(() => {
  outputFrom = workers.map((w) => w.output().length);
});
afterEach(async () => {
  await h.sandbox('PUT', '/sandbox/config', { rate_limit: null });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await h?.close();
});

/** What each worker process logged since the current test began. */
function outputs(): string[] {
  return workers.map((w, i) => w.output().slice(outputFrom[i]));
}

async function importAll(name: string, seed: number) {
  const ws = await createConnectedWorkspace(h, name);
  const connected = Date.now();
  const now = await seedDemo(h, ws, { users: USERS, seed });
  const cohort = (await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name, criteria: everyone } })).body;
  // Saving the connection checked its key with the sandbox: a call the sandbox counts and the
  // workers' budget does not see. The import starts once that call's window has closed (the
  // seeding above spent part of the wait).
  await new Promise((r) => setTimeout(r, Math.max(0, connected + LIMIT.windowSeconds * 1000 - Date.now())));
  const before = (await sandboxRequests(h)).count;
  const started = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} });
  const run = await waitForRun(h, ws.token, started.body.id, 90_000);
  const calls = (await sandboxRequests(h)).requests.filter((r) => r.seq > before);
  return {
    run,
    calls,
    expected: expectedFromDemo(everyone, { users: USERS, seed, now }),
    members: await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id),
  };
}

/**
 * How late the in-process sandbox may note a call's arrival after the importer sent it: this test
 * process' event loop, under a loaded suite. Windows are measured that much shorter than the
 * limit's: calls that arrived within W − JITTER were sent within W, so a count over the limit is
 * still the importer's doing, never the test process running late (11 against 10 was seen so).
 */
const ARRIVAL_JITTER_MS = 200;

/**
 * The most calls in any window of `windowMs` starting at one of them, by when each arrived at the
 * sandbox (its clock), as a rate limit counts them: accepted ones only, or every call the
 * importer sent. Not by when each was answered: calls queued behind each other in the
 * single-threaded sandbox are answered closer together than they arrived.
 */
function busiestWindow(
  calls: { arrived_at: string; status: number }[],
  windowMs: number,
  which: 'accepted' | 'sent' = 'accepted',
): number {
  const counted = which === 'sent' ? calls : calls.filter((c) => c.status < 400);
  const times = counted.map((c) => Date.parse(c.arrived_at));
  times.sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (j < times.length && times[j]! < times[i]! + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe('a sliding window shared by three worker processes', () => {
  it('keeps every window of the sandbox at or under the limit, and a run of several windows ends exact', async () => {
    await h.sandbox('PUT', '/sandbox/config', {
      rate_limit: { limit: LIMIT.requests, window_seconds: LIMIT.windowSeconds },
    });
    const { run, calls, expected, members } = await importAll('Windowed', 31);

    expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
    expect(members).toEqual(expected.inBraze);
    // 1 registration + one call per page: more than two windows' worth.
    expect(calls.length).toBeGreaterThan(2 * LIMIT.requests);
    expect(calls.every((c) => c.status === 201)).toBe(true);
    expect(busiestWindow(calls, LIMIT.windowSeconds * 1000 - ARRIVAL_JITTER_MS)).toBeLessThanOrEqual(LIMIT.requests);
    // The three processes shared the pages.
    const served = outputs().filter((out) => /"queue":"upload-page"[^\n]*"job done"/.test(out));
    expect(served.length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

describe("a sandbox limit 20% below the importer's", () => {
  it('still ends exact: the 429s pause the scope for every worker, spend no attempt, and stop after the reset', async () => {
    const sandboxLimit = Math.floor(LIMIT.requests * 0.8);
    await h.sandbox('PUT', '/sandbox/config', {
      rate_limit: { limit: sandboxLimit, window_seconds: LIMIT.windowSeconds },
    });
    const { run, calls, expected, members } = await importAll('Below', 32);

    expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
    expect(members).toEqual(expected.inBraze);
    const accepted = calls.filter((c) => c.status === 201);
    expect(accepted.length).toBe(1 + Math.ceil(expected.sendable / 1000));
    // The importer kept to its own limit, refusals included: each send took from the shared
    // budget. (The sandbox's windows are fixed, so two of its windows back to back may accept
    // more than its limit within one sliding window: that is not the importer's to prevent.)
    expect(busiestWindow(calls, LIMIT.windowSeconds * 1000 - ARRIVAL_JITTER_MS, 'sent')).toBeLessThanOrEqual(
      LIMIT.requests,
    );
    // Refusals stop with the pause: at most the calls already in flight when a window filled
    // (the cohort's in-flight bound, 4), for each window the run spanned.
    const refused = calls.filter((c) => c.status === 429).length;
    const windows = Math.ceil(accepted.length / sandboxLimit);
    expect(refused).toBeLessThanOrEqual(4 * windows);
    // No attempt was spent on a 429: with one attempt per page, a spent one would have failed the run.
    const logs = outputs().join('\n');
    expect(logs).not.toMatch(/"job failed"/);
  }, 120_000);
});
