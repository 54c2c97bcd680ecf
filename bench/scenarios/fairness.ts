/**
 * fairness: workspace A uploads a big cohort; once A's run has sent some of its pages,
 * workspace B (its own Braze workspace and connection, 10,000 users) asks for an import. How
 * long B waits, what it costs A, and B's share of the requests while both run.
 */
import { sleep } from '../bench-http';
import { f, goal, type GoalRow, printGoals } from '../bench-report';
import { BenchStack, REDIS_URL } from '../bench-stack';
import { freezeCheck } from '../bullmq-internals';
import { callsOf, partnerCalls } from '../sandbox-admin';
import type { ScenarioOptions } from './scenario';

const DEFAULT_USERS = 3_000_000;
const B_USERS = 10_000;
const WORKERS = 2;
/** B asks once A has sent this share of its pages. */
const B_AFTER_SHARE = 0.1;

export async function fairnessScenario({ engine, users: given, undo }: ScenarioOptions): Promise<GoalRow[]> {
  const usersA = given ?? DEFAULT_USERS;
  const stack = await BenchStack.open(engine, undo);
  console.log(
    `\nbench fairness, ${engine}: A ${usersA.toLocaleString('en-US')} users, B ${B_USERS.toLocaleString('en-US')} users, ` +
      `${WORKERS} workers, unlimited sandbox, data in ${stack.where}`,
  );
  const a = await stack.addWorkspace('A', usersA);
  const b = await stack.addWorkspace('B', B_USERS, usersA);
  await stack.startWorkers(WORKERS);
  const cohortA = await stack.createCohort(a);
  const cohortB = await stack.createCohort(b);
  const before = (await partnerCalls(stack.sandboxUrl, 1)).count;

  const freezes = freezeCheck(REDIS_URL, stack.prefix);
  undo.push(() => freezes.close());
  const t0 = performance.now();
  const runA = await stack.requestImport(a, cohortA);
  // A's pace before B asks: pages done between the first reading with all of A's pages known (its
  // freeze over: a first import this large is frozen chunk by chunk while its pages go out, more
  // slowly) and B's request.
  let paceFrom: { at: number; done: number } | undefined;
  let paceTo: { at: number; done: number; total: number } | undefined;
  let bAskedAt = NaN;
  let bRun: Promise<{ run: any; seconds: number; requestedAt: number }> | undefined;
  const endA = await stack.waitForEnd(
    a,
    runA.id,
    async (p) => {
      if (bRun || p.pages_total === null || p.pages_done === null) return;
      if (!(await freezes.frozen(runA.id))) return;
      const at = performance.now();
      if (p.pages_done > 0) paceFrom ??= { at, done: p.pages_done };
      if (
        paceFrom &&
        p.pages_done >= Math.max(paceFrom.done + 2, p.pages_total * B_AFTER_SHARE) &&
        // A pace measured over a second at least, not between two readings.
        at - paceFrom.at >= 1000 &&
        p.pages_done < p.pages_total
      ) {
        paceTo = { at, done: p.pages_done, total: p.pages_total };
        bAskedAt = Date.now();
        bRun = stack.importAndWait(b, cohortB);
      }
    },
    100,
  );
  const secondsA = (performance.now() - t0) / 1000;
  if (!bRun) {
    console.log(`A ended (${endA.status}) before B could ask: use more users`);
    return [goal(`fairness ${engine}`, 'B asked while A ran', 'no', 'yes', false)];
  }
  const resultB = await bRun;
  await sleep(100);
  // Expected A alone: up to B's request as measured, then A's remaining pages at A's pace so far.
  const pace = (paceTo!.done - paceFrom!.done) / ((paceTo!.at - paceFrom!.at) / 1000);
  const expectedA = (paceTo!.at - t0) / 1000 + (paceTo!.total - paceTo!.done) / pace;
  const bEndAt = bAskedAt + resultB.seconds * 1000;
  const log = (await partnerCalls(stack.sandboxUrl)).requests.filter((c) => {
    const at = Date.parse(c.at);
    return at >= bAskedAt && at <= bEndAt;
  });
  const requestsA = callsOf(log, a.brazeWorkspaceId, before).requests;
  const requestsB = callsOf(log, b.brazeWorkspaceId, before).requests;
  const shareB = requestsB / (requestsA + requestsB);
  console.log(
    `A ${endA.status}: added ${f(endA.added, 0)} in ${f(secondsA, 2)} s; B ${resultB.run.status}: added ` +
      `${f(resultB.run.added, 0)}, asked after A's page ${paceTo!.done} of ${paceTo!.total}; while B ran the sandbox got ` +
      `${requestsA} requests of A and ${requestsB} of B; A's pace before B ${f(pace, 1)} pages/s`,
  );
  const s = `fairness ${engine}`;
  const rows = [
    goal(
      s,
      'B: request → succeeded (s)',
      f(resultB.seconds, 2),
      '≤ 3 s',
      resultB.run.status === 'succeeded' && resultB.seconds <= 3,
    ),
    goal(s, 'A with B (s)', f(secondsA, 2)),
    goal(s, "A alone, expected from A's pace before B (s)", f(expectedA, 2)),
    goal(s, 'A delayed by B (s)', f(secondsA - expectedA, 2)),
    goal(s, "B's share of requests while B ran", `${f(shareB * 100, 0)}%`),
  ];
  printGoals(rows);
  return rows;
}
