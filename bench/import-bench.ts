/**
 * `npm run bench -- [--scenario import|window|fairness|scaling|crash|seed|all] [--engine sqlite|postgres|both] [--users N]`
 *
 * Named scenarios, each on fresh databases (two SQLite files in a temp folder, or one PostgreSQL
 * database made on 127.0.0.1:5432 and dropped after), a fresh queue prefix and the real
 * processes (braze-sandbox, web, workers) on port 0. Each prints its figures beside their goals;
 * `all` runs them in turn and ends with one summary table. Asserts nothing; talks to loopback only.
 *
 * - import (default): seed N users (default 1,000,000), import a cohort of nearly all of them,
 *   compare with a bare loop, previews, a 1% re-import, /healthz, RSS, Redis memory.
 * - window: the sandbox and the importer share a small rate limit (--window-requests, default
 *   400, per --window-seconds, default 10); time against the fastest legal time, 429s, exactness.
 * - fairness: workspace A (default 3M users) uploads; B (10k users) asks for an import meanwhile.
 * - scaling: 1, 2 and 4 worker processes, ids/s and CPU seconds per process.
 * - crash: kill -9 one of two workers during the pages and during a run's start.
 * - seed: only the seeding (warehouse written, users registered in the sandbox), with CPU seconds.
 *
 * BENCH_BRAZE_LATENCY_MS holds every sandbox call that long in the import scenario;
 * BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT and WORKER_CONCURRENCY are passed on. A smoke run:
 * `--users 20000`.
 */
import { parseArgs } from 'node:util';
import { type GoalRow, printGoals } from './bench-report';
import type { BenchEngine } from './bench-stores';
import { Undo } from './bench-undo';
import { crashScenario } from './scenarios/crash';
import { fairnessScenario } from './scenarios/fairness';
import { type ImportFigures, importGoals, measureImport, printComparison, printImport } from './scenarios/import';
import type { Scenario, ScenarioOptions } from './scenarios/scenario';
import { scalingScenario } from './scenarios/scaling';
import { seedScenario } from './scenarios/seed';
import { windowScenario } from './scenarios/window';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'import' },
    engine: { type: 'string', default: 'sqlite' },
    users: { type: 'string', default: process.env.BENCH_USERS },
    'window-requests': { type: 'string', default: process.env.BENCH_WINDOW_REQUESTS ?? '400' },
    'window-seconds': { type: 'string', default: process.env.BENCH_WINDOW_SECONDS ?? '10' },
  },
});
const ENGINES: Record<string, BenchEngine[]> = {
  sqlite: ['sqlite'],
  postgres: ['postgres'],
  both: ['sqlite', 'postgres'],
};
const SCENARIOS = ['import', 'window', 'fairness', 'scaling', 'crash', 'seed'] as const;
const number = (s: string | undefined) => (s === undefined ? undefined : Number(s.replaceAll(/[_,]/g, '')));
const engines = ENGINES[args.engine!];
const users = number(args.users);
const window = { requests: number(args['window-requests'])!, seconds: number(args['window-seconds'])! };
const scenarios = args.scenario === 'all' ? [...SCENARIOS] : SCENARIOS.filter((s) => s === args.scenario);
if (
  !engines ||
  scenarios.length === 0 ||
  (users !== undefined && (!Number.isSafeInteger(users) || users < 1000)) ||
  !Number.isSafeInteger(window.requests) ||
  window.requests < 1 ||
  !(window.seconds > 0)
) {
  console.error(
    'usage: npm run bench -- [--scenario import|window|fairness|scaling|crash|seed|all] [--engine sqlite|postgres|both]\n' +
      '                        [--users N (≥ 1000)] [--window-requests N] [--window-seconds S]',
  );
  process.exit(2);
}

const others: Record<Exclude<(typeof SCENARIOS)[number], 'import'>, Scenario> = {
  window: windowScenario,
  fairness: fairnessScenario,
  scaling: scalingScenario,
  crash: crashScenario,
  seed: seedScenario,
};

const undo = new Undo();
undo.onSignals();
const summary: GoalRow[] = [];
try {
  for (const scenario of scenarios) {
    const imports: ImportFigures[] = [];
    for (const engine of engines) {
      const options: ScenarioOptions = { engine, users, window, undo };
      try {
        if (scenario === 'import') {
          imports.push(await measureImport(options));
          printImport(imports.at(-1)!);
          summary.push(...importGoals(imports.at(-1)!));
        } else {
          summary.push(...(await others[scenario](options)));
        }
      } finally {
        await undo.runAll();
      }
    }
    if (imports.length === 2) printComparison(imports[0]!, imports[1]!);
  }
  if (scenarios.length > 1) {
    console.log('\nsummary');
    printGoals(summary, true);
  }
} finally {
  await undo.runAll();
}
