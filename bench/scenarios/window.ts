/**
 * window: the sandbox and the importer hold the same small rate limit (N requests per W
 * seconds); one cohort is imported and its time compared with the fastest time the limit allows.
 */
import { f, goal, type GoalRow, printGoals } from '../bench-report';
import { BenchStack, expectedBrazeMembers } from '../bench-stack';
import { callsOf, partnerCalls, sandboxCohortSizes, setSandboxConfig } from '../sandbox-admin';
import type { ScenarioOptions } from './scenario';

const DEFAULT_USERS = 1_000_000;
const WORKERS = 2;

/**
 * The fastest legal time for R requests under "at most N requests per window of W seconds".
 * The importer's limit is a sliding window (no window of W may hold more than N); the sandbox's
 * is a fixed window that opens with its first request. Under either, the best a client can do
 * is send N requests at t = 0 (the first N are free), the next N at t = W, … so request r
 * (0-based) may leave at floor(r / N) · W at the earliest, and the last one, r = R − 1, at
 * floor((R − 1) / N) · W = (ceil(R / N) − 1) · W. No request before t = 0 is counted: the limit
 * is fresh (set just before the import). This is when the last request may leave; the run's
 * own start (freeze, diff) and end are on top, which is why the goal allows 15% + 3 s.
 */
export function fastestLegalSeconds(requests: number, limit: number, windowSeconds: number): number {
  return requests <= 0 ? 0 : Math.floor((requests - 1) / limit) * windowSeconds;
}

export async function windowScenario({ engine, users: given, window, undo }: ScenarioOptions): Promise<GoalRow[]> {
  const users = given ?? DEFAULT_USERS;
  const { requests: N, seconds: W } = window;
  if (!Number.isInteger(W)) throw new Error('--window-seconds must be a whole number (BRAZE_RATE_LIMIT_WINDOW_S is)');
  const stack = await BenchStack.open(engine, undo, {
    env: { BRAZE_RATE_LIMIT_REQUESTS: String(N), BRAZE_RATE_LIMIT_WINDOW_S: String(W) },
  });
  console.log(
    `\nbench window, ${engine}: ${users.toLocaleString('en-US')} users, ${N} requests per ${W} s at the sandbox and ` +
      `in the importer, ${WORKERS} workers, data in ${stack.where}`,
  );
  const ws = await stack.addWorkspace('Window', users);
  await stack.startWorkers(WORKERS);
  const cohortId = await stack.createCohort(ws);
  // A new limit starts with fresh windows: the key check made by PUT /v1/braze-connection is not counted.
  await setSandboxConfig(stack.sandboxUrl, { rate_limit: { limit: N, window_seconds: W } });
  const before = (await partnerCalls(stack.sandboxUrl, 1)).count;
  const { run, seconds } = await stack.importAndWait(ws, cohortId);

  const log = await partnerCalls(stack.sandboxUrl);
  const mine = callsOf(log.requests, ws.brazeWorkspaceId, before);
  const accepted = mine.requests - mine.rateLimited;
  const firstAt = Date.parse(mine.calls[0]?.at ?? '');
  const lastAt = Date.parse(mine.calls.at(-1)?.at ?? '');
  const legal = fastestLegalSeconds(accepted, N, W);
  const sandboxSize = (await sandboxCohortSizes(stack.sandboxUrl, ws.brazeWorkspaceId))[0] ?? NaN;
  const expected = expectedBrazeMembers(ws);
  const rateLimitedShare = mine.rateLimited / mine.requests;
  console.log(
    `run ${run.status}: added ${f(run.added, 0)}, unmatchable ${f(run.unmatchable, 0)}; ` +
      `${mine.requests} requests (${accepted} accepted, ${mine.rateLimited} answered 429), ` +
      `first to last request ${f((lastAt - firstAt) / 1000, 2)} s; the sandbox holds ${f(sandboxSize, 0)} members, ` +
      `${f(expected, 0)} expected`,
  );
  const s = `window ${engine}`;
  const rows = [
    goal(s, 'requests sent (accepted)', f(accepted, 0)),
    goal(s, `fastest legal time, ${N} per ${W} s (s)`, f(legal, 1)),
    goal(
      s,
      'actual time, API call → succeeded (s)',
      f(seconds, 1),
      '≤ 1.15 × legal + 3 s',
      seconds <= legal * 1.15 + 3,
    ),
    goal(s, 'actual / fastest legal', f(seconds / legal, 2)),
    goal(s, '429s, % of requests', f(rateLimitedShare * 100, 2), '≤ 1%', rateLimitedShare <= 0.01),
    goal(
      s,
      'sandbox members = expected',
      `${f(sandboxSize, 0)} = ${f(expected, 0)}`,
      'exact',
      run.status === 'succeeded' && sandboxSize === expected,
    ),
  ];
  printGoals(rows);
  return rows;
}
