/**
 * scaling: the same cohort with 1, 2 and 4 worker processes on the unlimited sandbox (the first
 * run an import, the next ones full resyncs, so each sends every member again): identifiers/s,
 * and the CPU seconds each process used, so a reader sees where the cores go.
 */
import { Redis } from 'ioredis';
import { cpuSecondsOf } from '../bench-processes';
import { f, goal, type GoalRow, printGoals, sum } from '../bench-report';
import { BenchStack, REDIS_URL } from '../bench-stack';
import { redisCpuSeconds } from '../redis-watch';
import { callsOf, partnerCalls } from '../sandbox-admin';
import type { ScenarioOptions } from './scenario';

const DEFAULT_USERS = 1_000_000;
const WORKER_COUNTS = [1, 2, 4];

export async function scalingScenario({ engine, users: given, undo }: ScenarioOptions): Promise<GoalRow[]> {
  const users = given ?? DEFAULT_USERS;
  const stack = await BenchStack.open(engine, undo);
  console.log(
    `\nbench scaling, ${engine}: ${users.toLocaleString('en-US')} users, ${WORKER_COUNTS.join(', ')} workers, ` +
      `unlimited sandbox, data in ${stack.where}`,
  );
  const ws = await stack.addWorkspace('Scaling', users);
  const cohortId = await stack.createCohort(ws);
  const redis = new Redis(REDIS_URL);
  undo.push(async () => void redis.disconnect());
  const rows: GoalRow[] = [];
  for (const [i, n] of WORKER_COUNTS.entries()) {
    await stack.stopWorkers();
    await stack.startWorkers(n);
    const { processes } = stack;
    const names = processes.names();
    const cpuBefore = new Map(names.map((name) => [name, processes.cpuSeconds(name)]));
    const redisBefore = await redisCpuSeconds(redis);
    const backends = async () => new Map((await stack.stores.backendPids()).map((pid) => [pid, cpuSecondsOf(pid)]));
    const backendsBefore = await backends();
    const before = (await partnerCalls(stack.sandboxUrl, 1)).count;
    const { run, seconds } = await stack.importAndWait(ws, cohortId, i === 0 ? {} : { full_resync: true });
    const cpu: [string, number][] = names.map((name) => [name, processes.cpuSeconds(name) - cpuBefore.get(name)!]);
    cpu.push(['redis-server', (await redisCpuSeconds(redis)) - redisBefore]);
    if (engine === 'postgres') {
      // Backends that closed during the run are missed: a floor.
      const after = await backends();
      cpu.push([
        'postgres',
        sum([...after].map(([pid, s]) => s - (backendsBefore.get(pid) ?? 0)).filter(Number.isFinite)),
      ]);
    }
    const sent = callsOf((await partnerCalls(stack.sandboxUrl)).requests, ws.brazeWorkspaceId, before);
    const idsPerSecond = sent.identifiersAccepted / seconds;
    console.log(
      `${n} worker${n > 1 ? 's' : ''}: ${run.status}, ${f(sent.identifiersAccepted, 0)} identifiers in ${sent.requests} requests, ` +
        `${f(seconds, 2)} s = ${f(idsPerSecond, 0)} identifiers/s; CPU s: ${cpu.map(([k, v]) => `${k} ${f(v, 1)}`).join(', ')} ` +
        `(total ${f(sum(cpu.map(([, v]) => v)), 1)} in ${f(seconds, 1)} s of wall time)`,
    );
    rows.push(
      goal(
        `scaling ${engine}`,
        `${n} worker${n > 1 ? 's' : ''}: identifiers/s`,
        f(idsPerSecond, 0),
        '',
        run.status === 'succeeded' ? null : false,
      ),
      goal(
        `scaling ${engine}`,
        `${n} worker${n > 1 ? 's' : ''}: CPU s`,
        cpu.map(([k, v]) => `${k} ${f(v, 1)}`).join(', '),
      ),
    );
  }
  printGoals(rows);
  return rows;
}
