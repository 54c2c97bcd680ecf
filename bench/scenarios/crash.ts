/**
 * crash: kill -9 one of two workers while a run's pages are being sent, then while another run
 * is starting (freeze, diff, fan-out); how long until the run moves again, what was sent twice,
 * and whether the cohort still ends exact.
 */
import { sleep } from '../bench-http';
import { f, goal, type GoalRow, printGoals } from '../bench-report';
import { BenchStack, expectedBrazeMembers, REDIS_URL } from '../bench-stack';
import { readImportRunJob } from '../bullmq-internals';
import { callsOf, partnerCalls, sandboxCohortSizes, setSandboxConfig } from '../sandbox-admin';
import type { ScenarioOptions } from './scenario';

const DEFAULT_USERS = 1_000_000;
/** The kill comes once this share of the run's pages is done. */
const KILL_AFTER_SHARE = 0.3;
/** Every sandbox call takes this long, so pages are in flight when the worker dies (Braze is not on loopback). */
const LATENCY_MS = Number(process.env.BENCH_CRASH_LATENCY_MS ?? 50);
/** How long the bench waits for another worker to take over a run whose start was killed. */
const PICK_UP_TIMEOUT_MS = 300_000;

export async function crashScenario({ engine, users: given, undo }: ScenarioOptions): Promise<GoalRow[]> {
  const users = given ?? DEFAULT_USERS;
  const stack = await BenchStack.open(engine, undo);
  const cap = Number(stack.env.BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT);
  console.log(
    `\nbench crash, ${engine}: ${users.toLocaleString('en-US')} users, 2 workers, sandbox latency ${LATENCY_MS} ms, ` +
      `≤ ${cap} pages per cohort in flight, data in ${stack.where}`,
  );
  const ws = await stack.addWorkspace('Crash', users);
  await stack.startWorkers(2);
  const cohortId = await stack.createCohort(ws);
  if (LATENCY_MS > 0) await setSandboxConfig(stack.sandboxUrl, { faults: { latency_ms: LATENCY_MS } });
  const s = `crash ${engine}`;
  const rows: GoalRow[] = [];

  // 1. A worker killed during the pages.
  const before = (await partnerCalls(stack.sandboxUrl, 1)).count;
  const t0 = performance.now();
  const { id: runId } = await stack.requestImport(ws, cohortId);
  let kill: { at: number; done: number; total: number; sandboxInFlight: number } | undefined;
  let resumedAt = NaN;
  const run = await stack.waitForEnd(ws, runId, async (p) => {
    if (p.pages_done === null || p.pages_total === null) return;
    if (!kill && p.pages_done >= p.pages_total * KILL_AFTER_SHARE && p.pages_done < p.pages_total) {
      const sandboxInFlight = (await partnerCalls(stack.sandboxUrl, 0)).inFlight;
      await stack.processes.stop('worker-1', 'SIGKILL');
      kill = { at: performance.now(), done: p.pages_done, total: p.pages_total, sandboxInFlight };
      return;
    }
    // Resumed: the run's pages_done has moved past the pages done at the kill plus every page
    // that may have been in flight then (at most the per-cohort cap, whichever worker held
    // them), so pages sent after the kill, by the surviving worker, have been acknowledged.
    if (kill && Number.isNaN(resumedAt) && p.pages_done > kill.done + cap) resumedAt = performance.now();
  });
  const runSeconds = (performance.now() - t0) / 1000;
  if (!kill) {
    console.log(`run ${run.status} before the kill: use more users`);
    rows.push(goal(s, 'killed during the pages', 'no', 'yes', false));
  } else {
    const sent = callsOf((await partnerCalls(stack.sandboxUrl)).requests, ws.brazeWorkspaceId, before);
    // What the sandbox accepted beyond the run's own changes: pages sent twice.
    const resent = sent.identifiersAccepted - (run.added + run.removed);
    const sandboxSize = (await sandboxCohortSizes(stack.sandboxUrl, ws.brazeWorkspaceId))[0] ?? NaN;
    const expected = expectedBrazeMembers(ws);
    const resume = (resumedAt - kill.at) / 1000;
    console.log(
      `killed worker-1 after page ${kill.done} of ${kill.total} (${kill.sandboxInFlight} requests at the sandbox then); ` +
        `run ${run.status} in ${f(runSeconds, 2)} s, ${f(run.added, 0)} added; the sandbox accepted ` +
        `${f(sent.identifiersAccepted, 0)} identifiers in ${sent.requests} requests and holds ${f(sandboxSize, 0)} members ` +
        `(${f(expected, 0)} expected)`,
    );
    rows.push(
      goal(s, 'resume: kill → pages_done past the in-flight pages (s)', f(resume, 2), '≤ 15 s', resume <= 15),
      // The goal's "pages in flight at the kill": the per-cohort cap, the most pages of the
      // run that can be at Braze, or answered but not yet recorded, at any moment.
      goal(s, 'identifiers resent', f(resent, 0), `≤ ${cap} pages in flight × 1,000`, resent <= cap * 1000),
      goal(
        s,
        'sandbox members = expected',
        `${f(sandboxSize, 0)} = ${f(expected, 0)}`,
        'exact',
        run.status === 'succeeded' && sandboxSize === expected,
      ),
    );
  }

  // 2. A worker killed while it starts a run (freeze, register, diff, fan-out): a full resync, so
  // the run has every member to freeze and send again.
  await stack.startWorkers(1);
  const { id: resyncId } = await stack.requestImport(ws, cohortId, { full_resync: true });
  // The holder is killed as soon as BullMQ names it; whether its start was still under way
  // (no pages fanned out yet) is checked after the kill.
  let victim: string | undefined;
  for (let i = 0; i < 6000 && !victim; i++) {
    const { holderPid } = await readImportRunJob(REDIS_URL, stack.prefix, resyncId);
    victim = stack.workerNames().find((n) => holderPid !== undefined && stack.processes.pidOf(n) === holderPid);
    if (victim) await stack.processes.stop(victim, 'SIGKILL');
    else await sleep(5);
  }
  const killedAt = performance.now();
  const stillStarting = victim && !fannedOutIn(await stack.progress(ws, resyncId));
  if (!victim || !stillStarting) {
    const p = await stack.progress(ws, resyncId);
    console.log(
      `no worker was killed during the run's start (holder ${victim ?? 'not found'}; run ${p.status}, ` +
        `page ${p.pages_done} of ${p.pages_total}): use more users`,
    );
    rows.push(goal(s, 'worker killed during a run start', 'no', 'yes', false));
  } else {
    // Picked up: BullMQ hands the job to a live worker (its holder changes); fanned out: that
    // worker finished the start and the run's pages are known.
    let pickedUp = NaN;
    let fannedOut = NaN;
    while (Number.isNaN(fannedOut) && performance.now() - killedAt < PICK_UP_TIMEOUT_MS) {
      const p = await stack.progress(ws, resyncId);
      if (Number.isNaN(pickedUp)) {
        const { holderPid } = await readImportRunJob(REDIS_URL, stack.prefix, resyncId);
        if (holderPid !== undefined && stack.workerNames().some((n) => stack.processes.pidOf(n) === holderPid)) {
          pickedUp = performance.now();
        }
      }
      if (fannedOutIn(p) || (p.status !== 'queued' && p.status !== 'running')) fannedOut = performance.now();
      else await sleep(200);
    }
    const end = await stack.waitForEnd(ws, resyncId, undefined, 200);
    const picked = (pickedUp - killedAt) / 1000;
    console.log(
      `killed ${victim} during the start of a full resync; another worker took the run after ${f(picked, 1)} s, ` +
        `its pages were fanned out after ${f((fannedOut - killedAt) / 1000, 1)} s; the run ${end.status}`,
    );
    rows.push(
      goal(
        s,
        'start killed: kill → another worker takes the run (s)',
        f(picked, 1),
        '',
        end.status === 'succeeded' ? null : false,
      ),
      goal(s, 'start killed: kill → pages fanned out (s)', f((fannedOut - killedAt) / 1000, 1)),
    );
  }
  printGoals(rows);
  return rows;
}

/** A run's pages are known once they are fanned out: pages_total reads 0 (or null) until then. */
function fannedOutIn(p: { pages_total: number | null }): boolean {
  return (p.pages_total ?? 0) > 0;
}
