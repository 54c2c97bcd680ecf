/**
 * seed: only the bench's seeding of one workspace (the warehouse written, the users registered
 * in the sandbox alongside), with the CPU seconds of the bench process and of the sandbox, so
 * a reader sees which of the two bounds it. The import scenario seeds the same way.
 */
import { f, goal, type GoalRow, printGoals } from '../bench-report';
import { BenchStack } from '../bench-stack';
import type { ScenarioOptions } from './scenario';

const DEFAULT_USERS = 1_000_000;
/** The goal: 10M users seeded and registered within 3 minutes, i.e. this many per second. */
const GOAL_USERS_PER_SECOND = 10_000_000 / 180;

export async function seedScenario({ engine, users: given, undo }: ScenarioOptions): Promise<GoalRow[]> {
  const users = given ?? DEFAULT_USERS;
  const stack = await BenchStack.open(engine, undo);
  console.log(`\nbench seed, ${engine}: ${users.toLocaleString('en-US')} users, data in ${stack.where}`);
  const sandboxBefore = stack.processes.cpuSeconds('braze-sandbox');
  const benchBefore = process.cpuUsage();
  const ws = await stack.addWorkspace('Seed', users);
  const bench = process.cpuUsage(benchBefore);
  const sandboxCpu = stack.processes.cpuSeconds('braze-sandbox') - sandboxBefore;
  const perSecond = users / ws.seedWallSeconds;
  console.log(
    `seed ${f(ws.seeded.users, 0)} users, ${f(ws.seeded.events, 0)} events: warehouse written in ${f(ws.seedSeconds)} s, ` +
      `registered in the sandbox after ${f(ws.registerSeconds)} s, ${f(ws.seedWallSeconds)} s in all ` +
      `(${f(perSecond, 0)} users/s); CPU s: bench ${f((bench.user + bench.system) / 1e6, 1)}, sandbox ${f(sandboxCpu, 1)}`,
  );
  const rows = [
    goal(
      `seed ${engine}`,
      `users/s (seed + register)`,
      f(perSecond, 0),
      `≥ ${f(GOAL_USERS_PER_SECOND, 0)} (10M in 3 min)`,
      engine === 'sqlite' ? perSecond >= GOAL_USERS_PER_SECOND : null,
    ),
  ];
  printGoals(rows);
  return rows;
}
