/**
 * import: one cohort of nearly all users through the API, against a bare loop on the same
 * engine; previews, a 1% re-import, /healthz latencies, peak RSS, Redis memory above idle.
 */
import { Redis } from 'ioredis';
import { demoUser } from '../../src/seed/demo-users';
import { bareLoopBaseline } from '../bare-loop-baseline';
import { json } from '../bench-http';
import { cpuSecondsOf, sampleMachineCpu } from '../bench-processes';
import { f, goal, type GoalRow, printGoals, sum } from '../bench-report';
import { BenchStack, CONCURRENCY, criteria, PARTNER_KEY, REDIS_URL, SEED } from '../bench-stack';
import type { BenchEngine } from '../bench-stores';
import { FreezeWatch, readImportRunJob, waitForRunSettled } from '../bullmq-internals';
import { type LatencySample, type LatencySummary, startLatencyProbe, summarize, within } from '../latency-probe';
import { redisCommands, redisCpuSeconds, type RedisPeak, watchRedis } from '../redis-watch';
import { partnerCalls } from '../sandbox-admin';
import type { ScenarioOptions } from './scenario';

const pct = (share: number) => `${f(share * 100, 0)}%`;

const PREVIEW_LOAD_MS = 10_000;
const DEFAULT_USERS = 1_000_000;
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const LATENCY_MS = Number(process.env.BENCH_BRAZE_LATENCY_MS ?? 0);
/** Pairs of a first import and the bare loop (BENCH_PAIRS): 3 up to 3M users, 1 beyond. */
const pairsFor = (users: number) => Number(process.env.BENCH_PAIRS ?? (users <= 3_000_000 ? 3 : 1));

export interface ImportFigures {
  engine: BenchEngine;
  users: number;
  seedSeconds: number;
  settleSeconds: number;
  seeded: { users: number; events: number };
  registerSeconds: number;
  seedWallSeconds: number;
  previewSeconds: number[];
  cohortSize: number;
  firstImport: {
    seconds: number;
    /** From the request until the run was settled (its finalize job done). */
    settledAfter: number;
    /** Frozen chunk by chunk while its first pages were sent. */
    progressive: boolean;
    status: string;
    added: number;
    unmatchable: number;
    startedAfter: number;
  };
  fanOutSeconds: number;
  freezeSeconds: number;
  cpu: Record<string, number>;
  /** Per worker: its main thread's CPU seconds and its other threads' (≥ 0.05 s), busiest first. */
  threads: Record<string, { main: number; others: number[] }>;
  requests: number;
  maxInFlight: number;
  /** Requests that reached Braze while the first import's members were being frozen. */
  sentDuringFreeze: number;
  /** When the first page, the 100th and the last reached Braze, in seconds after the request. */
  pageTimes: { first: number; hundredth: number; last: number };
  /** Requests that reached Braze in each second after the import was asked for. */
  perSecond: number[];
  baseline: {
    seconds: number;
    identifiers: number;
    requests: number;
    cpu: { loop: number; sandbox: number; sandboxWaited: number };
  };
  /** Seconds the sandbox's main thread was runnable but waited for a core during the first import. */
  sandboxWaited: number;
  /** The first import and the bare loop, then more pairs of them (a new cohort each), as measured. */
  pairs: {
    importSeconds: number;
    added: number;
    baselineSeconds: number;
    identifiers: number;
    /** The share of the machine's cores that were busy during each side. */
    busy: { import: number; loop: number };
  }[];
  reimport: {
    seconds: number;
    status: string;
    added: number;
    removed: number;
    fanOutSeconds: number;
    freezeSeconds: number;
  };
  healthz: Record<'idle' | 'preview' | 'freeze' | 'importStart' | 'pages' | 'freezeWithUpserts', LatencySummary>;
  upsertDuringFreeze: LatencySummary;
  /** How many of those upserts the API answered 503 store_busy (SQLite: the freeze holds the one write lock). */
  upsertBusyAnswers: number;
  /** The web process' own event-loop delay (ms): previews; the first import; the re-import with upserts. */
  webLoop: Partial<Record<'preview' | 'firstImport' | 'reimport', { p99: number; max: number }>>;
  rss: Record<string, number>;
  /** VmHWM of each worker process, MB. */
  workerRss: Record<string, number>;
  redis: RedisPeak & { commands: number };
}

export async function measureImport({ engine, users: given, undo }: ScenarioOptions): Promise<ImportFigures> {
  const USERS = given ?? DEFAULT_USERS;
  const PAIRS = pairsFor(USERS);
  const stack = await BenchStack.open(engine, undo);
  const { processes, api, sandboxUrl, prefix } = stack;
  console.log(
    `\nbench import, ${engine}: ${USERS.toLocaleString('en-US')} users, ${WORKERS} workers × concurrency ${CONCURRENCY}, ` +
      `≤ ${stack.env.BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT} pages per cohort in flight, Braze latency ${LATENCY_MS} ms, ` +
      `data in ${stack.where}`,
  );
  const ws = await stack.addWorkspace('Bench', USERS);
  const { token } = ws;

  await stack.startWorkers(WORKERS);
  if (LATENCY_MS > 0) await json('PUT', `${sandboxUrl}/sandbox/config`, { faults: { latency_ms: LATENCY_MS } });
  const cohortId = await stack.createCohort(ws);

  // /healthz with nothing else going on: the floor of this (shared, noisy) machine.
  let probe = startLatencyProbe(`${api}/healthz`);
  await new Promise((r) => setTimeout(r, 3000));
  const idle = await probe.stop();

  // /healthz while the web process answers 1M-user previews, one after another.
  probe = startLatencyProbe(`${api}/healthz`);
  await processes.eventLoopDelay('web');
  const previewSeconds: number[] = [];
  let cohortSize = 0;
  for (const until = performance.now() + PREVIEW_LOAD_MS; performance.now() < until;) {
    const t = performance.now();
    cohortSize = (await json('GET', `${api}/v1/cohorts/${cohortId}/preview`, undefined, token)).count;
    previewSeconds.push((performance.now() - t) / 1000);
  }
  const duringPreview = await probe.stop();
  const webLoop: ImportFigures['webLoop'] = { preview: await processes.eventLoopDelay('web') };

  const freezes = await FreezeWatch.start(REDIS_URL, prefix);
  undo.push(() => freezes.close());
  const machine = sampleMachineCpu();
  undo.push(async () => machine.stop());
  const importAndWait = async (duringFreeze?: (running: () => boolean) => Promise<void>, cohort = cohortId) => {
    const requestedAt = Date.now();
    const run = await stack.requestImport(ws, cohort);
    let side: Promise<void> | undefined;
    const r = await stack.waitForEnd(
      ws,
      run.id,
      () => {
        const window = freezes.of(run.id);
        if (duringFreeze && !side && window) side = duringFreeze(() => freezes.of(run.id)?.to === undefined);
      },
      // The time comes from the run's own finished_at, so polling only has to notice the end: a
      // read every 250 ms, not 100 (each costs web CPU, which on 2 cores the sandbox pays for).
      250,
    );
    // Request → finished_at, both on this machine's clock (ms).
    const seconds = (Date.parse(r.finished_at) - requestedAt) / 1000;
    const busy = machine.busyShare(requestedAt, Date.parse(r.finished_at));
    await side;
    // Settled: the run's working sets dropped (on SQLite, its acknowledged pages folded into the
    // synced set first). Waited for, so that work does not run during the bare loop.
    const settledAfter = (await waitForRunSettled(REDIS_URL, prefix, run.id)) / 1000 - requestedAt / 1000;
    const job = await readImportRunJob(REDIS_URL, prefix, run.id);
    return { run: r, requestedAt, seconds, busy, settledAfter, job, freeze: freezes.of(run.id) };
  };

  const reqBefore = (await partnerCalls(sandboxUrl, 1)).count;
  const redis = new Redis(REDIS_URL);
  undo.push(async () => void redis.disconnect());
  const cpuBefore = Object.fromEntries(processes.names().map((n) => [n, processes.cpuSeconds(n)]));
  const sandboxWaitBefore = processes.runQueueSeconds('braze-sandbox');
  const workerNames = processes.names().filter((n) => n.startsWith('worker'));
  const threadsBefore = new Map(workerNames.map((n) => [n, processes.threadCpuSeconds(n)] as const));
  const redisCpuBefore = await redisCpuSeconds(redis);
  const redisCommandsBefore = await redisCommands(redis);
  const backendCpu = async () =>
    new Map((await stack.stores.backendPids()).map((pid) => [pid, cpuSecondsOf(pid)] as const));
  const backendCpuBefore = await backendCpu();
  // 5 probes a second during the timed import, not 20: each costs web a few ms of CPU, and on
  // 2 cores that CPU is taken from the sandbox, which the bare loop it is compared with has alone.
  probe = startLatencyProbe(`${api}/healthz`, 5);
  await processes.eventLoopDelay('web');
  const redisWatch = await watchRedis(REDIS_URL, prefix);
  const first = await importAndWait();
  const redisPeak = await redisWatch.stop();
  const duringFirst = await probe.stop();
  webLoop.firstImport = await processes.eventLoopDelay('web');
  const cpu = Object.fromEntries(processes.names().map((n) => [n, processes.cpuSeconds(n) - cpuBefore[n]!]));
  cpu.redis = (await redisCpuSeconds(redis)) - redisCpuBefore;
  const sandboxWaited = processes.runQueueSeconds('braze-sandbox') - sandboxWaitBefore;
  // Each worker's CPU by thread: the main thread, then its busiest others (the bulk thread, V8's helpers).
  const threads = Object.fromEntries(
    workerNames.map((n) => {
      const before = threadsBefore.get(n)!;
      const main = processes.mainThread(n);
      const spent = [...processes.threadCpuSeconds(n)].map(([tid, s]) => [tid, s - (before.get(tid) ?? 0)] as const);
      const others = spent.filter(([tid, s]) => tid !== main && s >= 0.05).map(([, s]) => s);
      return [n, { main: spent.find(([tid]) => tid === main)?.[1] ?? NaN, others: others.sort((a, b) => b - a) }];
    }),
  );
  const redisCommandsRun = (await redisCommands(redis)) - redisCommandsBefore;
  // Backends that closed during the import are missed: a floor, not a total.
  if (engine === 'postgres') {
    cpu['postgres backends'] = [...(await backendCpu())]
      .map(([pid, s]) => s - (backendCpuBefore.get(pid) ?? 0))
      .filter(Number.isFinite)
      .reduce((a, b) => a + b, 0);
  }
  const fanOut = { from: first.job.processedOn, to: first.job.finishedOn };
  const freeze = { from: first.freeze?.from ?? NaN, to: first.freeze?.to ?? NaN };
  const afterFirst = await partnerCalls(sandboxUrl, 100_000);
  // How far the upload got while the members were still being frozen (pages sent alongside).
  // Requests per second of the import (by arrival at the sandbox): where the upload slowed.
  const perSecond: number[] = [];
  for (const c of afterFirst.requests) {
    if (c.seq <= reqBefore) continue;
    const second = Math.floor((Date.parse(c.arrived_at) - first.requestedAt) / 1000);
    perSecond[second] = (perSecond[second] ?? 0) + 1;
  }
  // When the first import's first page, and its 100th, reached Braze (s after the request).
  const pageArrivals = afterFirst.requests
    .filter((c) => c.seq > reqBefore && c.path.endsWith('/cohorts/users'))
    .map((c) => (Date.parse(c.arrived_at) - first.requestedAt) / 1000);
  const pageTimes = {
    first: pageArrivals[0] ?? NaN,
    hundredth: pageArrivals[99] ?? NaN,
    last: pageArrivals.at(-1) ?? NaN,
  };
  const sentDuringFreeze = afterFirst.requests.filter(
    (c) => c.seq > reqBefore && Date.parse(c.arrived_at) >= freeze.from && Date.parse(c.arrived_at) <= freeze.to,
  ).length;

  const bareLoop = async () => {
    const cpuBefore = { loop: process.cpuUsage(), sandbox: processes.cpuSeconds('braze-sandbox') };
    const waitBefore = processes.runQueueSeconds('braze-sandbox');
    const startedAt = Date.now();
    const run = await bareLoopBaseline({
      warehouseUrl: stack.stores.warehouseUrl,
      workspaceId: ws.id,
      criteria,
      sandboxUrl,
      partnerApiKey: PARTNER_KEY,
      brazeKey: ws.brazeKey,
      // The importer's own bound: at most this many requests of one cohort at Braze at once.
      inFlight: Number(stack.env.BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT),
    });
    const loopCpu = process.cpuUsage(cpuBefore.loop);
    // The loop runs in this process: its CPU is the bench's over the loop (polling stopped).
    return {
      ...run,
      busy: machine.busyShare(startedAt, Date.now()),
      cpu: {
        loop: (loopCpu.user + loopCpu.system) / 1e6,
        sandbox: processes.cpuSeconds('braze-sandbox') - cpuBefore.sandbox,
        sandboxWaited: processes.runQueueSeconds('braze-sandbox') - waitBefore,
      },
    };
  };
  const baseline = await bareLoop();
  // This machine's speed drifts by tens of percent within minutes: more pairs of a first import
  // (a new cohort each) and the bare loop, in alternating order, and the median ratio of a pair.
  type Imported = Awaited<ReturnType<typeof importAndWait>>;
  const pairOf = (imported: Imported, loop: Awaited<ReturnType<typeof bareLoop>>) => ({
    importSeconds: imported.seconds,
    added: imported.run.added as number,
    baselineSeconds: loop.seconds,
    identifiers: loop.identifiers,
    busy: { import: imported.busy, loop: loop.busy },
  });
  const pairs: ImportFigures['pairs'] = [pairOf(first, baseline)];
  for (let i = 2; i <= PAIRS; i++) {
    const cohort = await stack.createCohort(ws, `Nearly everyone, pair ${i}`);
    const loopFirst = i % 2 === 0;
    const before = loopFirst ? await bareLoop() : undefined;
    const again = await importAndWait(undefined, cohort);
    pairs.push(pairOf(again, before ?? (await bareLoop())));
  }

  // 1% churn: members who leave (age 16) and non-members who join (age 30), half each where
  // there are enough non-members.
  const churn = Math.floor(USERS / 100);
  const changed: { user_key: string; properties: { age: number } }[] = [];
  for (let i = 0; i < USERS && changed.length < churn / 2; i++) {
    const u = demoUser(SEED, i, ws.now);
    if (u.properties.age < 18) changed.push({ user_key: u.user_key, properties: { age: 30 } });
  }
  for (let i = USERS - 1; changed.length < churn; i--) {
    const u = demoUser(SEED, i, ws.now);
    if (u.properties.age >= 18) changed.push({ user_key: u.user_key, properties: { age: 16 } });
  }
  for (let i = 0; i < changed.length; i += 10_000) {
    await json('POST', `${api}/v1/users/batch`, { users: changed.slice(i, i + 10_000) }, token);
  }

  // The re-import's freeze meets one-user upserts, one after another (a property no criteria read).
  const upserts: LatencySample[] = [];
  let busyAnswers = 0;
  const probeUser = demoUser(SEED, 0, ws.now).user_key;
  const upsertWhileFreezing = async (running: () => boolean) => {
    for (let n = 0; running(); n++) {
      const at = Date.now();
      const t = performance.now();
      // A busy store answers 503 store_busy with Retry-After (SQLite's one writer during a
      // freeze): an answer like any other, timed and counted, not a bench failure.
      await json(
        'POST',
        `${api}/v1/users/batch`,
        { users: [{ user_key: probeUser, properties: { bench_probe: n } }] },
        token,
      ).catch((err: Error) => {
        if (!/→ 503 /.test(err.message)) throw err;
        busyAnswers++;
      });
      upserts.push({ at, ms: performance.now() - t });
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  probe = startLatencyProbe(`${api}/healthz`);
  await processes.eventLoopDelay('web');
  const second = await importAndWait(upsertWhileFreezing);
  const duringSecond = await probe.stop();
  webLoop.reimport = await processes.eventLoopDelay('web');
  const secondFreeze = { from: second.freeze?.from ?? NaN, to: second.freeze?.to ?? NaN };
  const secondFanOut = { from: second.job.processedOn, to: second.job.finishedOn };

  const rss = Object.fromEntries(processes.names().map((n) => [n, processes.peakRssMb(n)]));
  const workerRss = Object.fromEntries(stack.workerNames().map((n) => [n, processes.peakRssMb(n)]));
  return {
    engine,
    users: USERS,
    seedSeconds: ws.seedSeconds,
    settleSeconds: ws.settleSeconds,
    seeded: ws.seeded,
    registerSeconds: ws.registerSeconds,
    seedWallSeconds: ws.seedWallSeconds,
    previewSeconds,
    cohortSize,
    firstImport: {
      seconds: first.seconds,
      settledAfter: first.settledAfter,
      progressive: first.freeze?.progressive ?? false,
      status: first.run.status,
      added: first.run.added,
      unmatchable: first.run.unmatchable,
      startedAfter: (Date.parse(first.run.started_at) - Date.parse(first.run.created_at)) / 1000,
    },
    fanOutSeconds: (fanOut.to - fanOut.from) / 1000,
    freezeSeconds: (freeze.to - freeze.from) / 1000,
    cpu,
    threads,
    sandboxWaited,
    requests: afterFirst.count - reqBefore,
    sentDuringFreeze,
    pageTimes,
    perSecond: Array.from(perSecond, (n) => n ?? 0),
    maxInFlight: afterFirst.maxInFlight,
    baseline,
    pairs,
    reimport: {
      seconds: second.seconds,
      status: second.run.status,
      added: second.run.added,
      removed: second.run.removed,
      fanOutSeconds: (secondFanOut.to - secondFanOut.from) / 1000,
      freezeSeconds: (secondFreeze.to - secondFreeze.from) / 1000,
    },
    healthz: {
      idle: summarize(idle),
      preview: summarize(duringPreview),
      freeze: summarize(within(duringFirst, freeze.from, freeze.to)),
      importStart: summarize(within(duringFirst, fanOut.from, fanOut.to)),
      pages: summarize(within(duringFirst, fanOut.to, Infinity)),
      freezeWithUpserts: summarize(within(duringSecond, secondFreeze.from, secondFreeze.to)),
    },
    upsertDuringFreeze: summarize(within(upserts, secondFreeze.from, secondFreeze.to)),
    upsertBusyAnswers: busyAnswers,
    webLoop,
    rss: { ...rss, bench: process.resourceUsage().maxRSS / 1024 },
    workerRss,
    redis: { ...redisPeak, commands: redisCommandsRun },
  };
}

const latency = (s: LatencySummary) => (s.n ? `${f(s.p50, 0)} / ${f(s.p99, 0)} ms (n ${s.n})` : '– (no samples)');
const idsPerSecond = (r: ImportFigures) => r.firstImport.added / r.firstImport.seconds;
const baselinePerSecond = (r: ImportFigures) => r.baseline.identifiers / r.baseline.seconds;
const pairRatio = (p: ImportFigures['pairs'][number]) =>
  p.added / p.importSeconds / (p.identifiers / p.baselineSeconds);
/** The median of the pairs' ratios (importer throughput / bare loop throughput). */
const ratio = (r: ImportFigures) => median(r.pairs.map(pairRatio));
function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
/** Seconds of the first import per million cohort members. */
const secondsPerMillion = (r: ImportFigures) => r.firstImport.seconds / (r.cohortSize / 1e6);
const maxWorkerRss = (r: ImportFigures) => Math.max(...Object.values(r.workerRss));
/** Seeding the warehouse and registering the users in the sandbox: what "seed time" costs a reader. */
const seedTotal = (r: ImportFigures) => r.seedWallSeconds;

export function printImport(r: ImportFigures): void {
  console.log(`
${r.engine}
seed                 ${f(r.seeded.users, 0)} users, ${f(r.seeded.events, 0)} events in ${f(r.seedSeconds)} s; registered in the sandbox alongside, done after ${f(r.registerSeconds)} s${r.engine === 'postgres' ? `; VACUUM ANALYZE ${f(r.settleSeconds)} s` : ''}; ${f(r.seedWallSeconds)} s in all
preview              cohort ${f(r.cohortSize, 0)}: ${r.previewSeconds.length} previews, mean ${f(sum(r.previewSeconds) / r.previewSeconds.length, 2)} s
first import         ${r.firstImport.status}: added ${f(r.firstImport.added, 0)}, unmatchable ${f(r.firstImport.unmatchable, 0)}
  wall time          ${f(r.firstImport.seconds, 2)} s (API call → succeeded; started after ${f(r.firstImport.startedAfter, 2)} s; settled after ${f(r.firstImport.settledAfter, 2)} s)
  of which           ${
    r.firstImport.progressive
      ? `${f(r.fanOutSeconds, 2)} s in the import-run job (register, fan out), then freeze ${f(r.freezeSeconds, 2)} s chunk by chunk while pages were sent`
      : `${f(r.fanOutSeconds, 2)} s in the import-run job (freeze ${f(r.freezeSeconds, 2)} s, register, diff, enqueue pages)`
  }
  CPU seconds        ${Object.entries(r.cpu)
    .map(([k, v]) => `${k} ${f(v, 1)}`)
    .join(', ')}
  sandbox waited     ${f(r.sandboxWaited, 2)} s for a core (runnable, not running; ${f(r.baseline.cpu.sandboxWaited, 2)} s during the baseline)
  worker threads     ${Object.entries(r.threads)
    .map(([k, t]) => `${k}: main ${f(t.main, 1)}, others ${t.others.map((v) => f(v, 1)).join(' ') || '-'}`)
    .join('; ')}
  identifiers/s      ${f(idsPerSecond(r), 0)}
  requests/s         ${f(r.requests / r.firstImport.seconds, 1)} (${r.requests} requests, ${f(r.sentDuringFreeze, 0)} of them during the freeze; at most ${r.maxInFlight} of the cohort in flight at once)
                     first page after ${f(r.pageTimes.first, 2)} s, 100th after ${f(r.pageTimes.hundredth, 2)} s, last after ${f(r.pageTimes.last, 2)} s; per second from the request: ${r.perSecond.join(' ')}
  Redis              used_memory idle ${f(r.redis.idleMb)} MB, peak ${f(r.redis.peakAboveIdleMb)} MB above idle; at most ${f(r.redis.peakPrefixKeys, 0)} keys under the queue prefix;
                     ${f(r.redis.commands, 0)} commands (${f(r.redis.commands / r.requests, 1)} per request to Braze)
baseline             ${f(r.baseline.identifiers, 0)} identifiers in ${f(r.baseline.seconds, 2)} s = ${f(baselinePerSecond(r), 0)} identifiers/s (${r.baseline.requests} requests; CPU seconds: the loop ${f(r.baseline.cpu.loop, 1)}, braze-sandbox ${f(r.baseline.cpu.sandbox, 1)})
ratio                ${f(ratio(r), 2)} (importer throughput / baseline throughput, same engine; the median of ${r.pairs.length} pair(s): ${r.pairs
    .map(
      (p, i) =>
        `${i % 2 ? 'loop' : 'import'} first ${f(p.importSeconds, 2)} s / ${f(p.baselineSeconds, 2)} s = ${f(pairRatio(p), 2)} (cores busy ${pct(p.busy.import)} / ${pct(p.busy.loop)})`,
    )
    .join('; ')})
re-import (1% churn) ${r.reimport.status}: added ${f(r.reimport.added, 0)}, removed ${f(r.reimport.removed, 0)} in ${f(r.reimport.seconds, 2)} s (import-run job ${f(r.reimport.fanOutSeconds, 2)} s, freeze ${f(r.reimport.freezeSeconds, 2)} s)
/healthz p50 / p99   idle ${latency(r.healthz.idle)}; during previews ${latency(r.healthz.preview)}
                     during the freeze ${latency(r.healthz.freeze)}; during the import-run job ${latency(r.healthz.importStart)}
                     during pages ${latency(r.healthz.pages)}; during a freeze with upserts ${latency(r.healthz.freezeWithUpserts)}
web event-loop delay p99 / max, inside the process: ${Object.entries(r.webLoop)
    .map(([k, v]) => `${k} ${f(v.p99, 0)} / ${f(v.max, 0)} ms`)
    .join('; ')}
1-user upsert        during a freeze: p50 ${f(r.upsertDuringFreeze.p50, 0)} ms, max ${f(r.upsertDuringFreeze.max, 0)} ms (n ${r.upsertDuringFreeze.n}; ${r.upsertBusyAnswers} answered 503 store_busy)
peak RSS (MB)        ${Object.entries(r.rss)
    .map(([k, v]) => `${k} ${f(v, 0)}`)
    .join(', ')}

cohort | bare loop s | project s | ratio | s per M | worker RSS MB | Redis MB above idle
${[
  f(r.cohortSize, 0),
  f(r.baseline.seconds, 2),
  f(r.firstImport.seconds, 2),
  f(ratio(r), 2),
  f(secondsPerMillion(r), 1),
  f(maxWorkerRss(r), 0),
  f(r.redis.peakAboveIdleMb, 1),
].join(' | ')}
`);
  printGoals(importGoals(r));
}

export function importGoals(r: ImportFigures): GoalRow[] {
  const s = `import ${r.engine}`;
  const tenMillion = r.users >= 10_000_000;
  return [
    goal(
      s,
      `seed + register ${f(r.users, 0)} users (s)`,
      f(seedTotal(r), 1),
      '≤ 180 s at 10M',
      tenMillion ? seedTotal(r) <= 180 : null,
    ),
    goal(
      s,
      'import, API call → succeeded (s)',
      f(r.firstImport.seconds, 2),
      '',
      r.firstImport.status === 'succeeded' ? null : false,
    ),
    goal(s, 'ratio to the bare loop', f(ratio(r), 2), '≥ 0.8', ratio(r) >= 0.8),
    goal(s, 's per million members', f(secondsPerMillion(r), 1), 'at 10M within 15% of 1M'),
    goal(
      s,
      'worker peak RSS, max (MB)',
      `${f(maxWorkerRss(r), 0)} (${Object.entries(r.workerRss)
        .map(([k, v]) => `${k} ${f(v, 0)}`)
        .join(', ')})`,
      '≤ 300 MB',
      maxWorkerRss(r) <= 300,
    ),
    goal(
      s,
      'Redis used_memory above idle (MB)',
      f(r.redis.peakAboveIdleMb, 1),
      '≤ 50 MB',
      r.redis.peakAboveIdleMb <= 50,
    ),
    goal(s, 'keys under the queue prefix, peak', f(r.redis.peakPrefixKeys, 0)),
  ];
}

/** SQLite and PostgreSQL side by side, with PostgreSQL's figure over SQLite's. */
export function printComparison(a: ImportFigures, b: ImportFigures): void {
  const rows: [string, number, number, string][] = [
    ['seed (s)', a.seedSeconds, b.seedSeconds, 'dev tool'],
    [
      'preview, mean (s)',
      sum(a.previewSeconds) / a.previewSeconds.length,
      sum(b.previewSeconds) / b.previewSeconds.length,
      '',
    ],
    ['first import (s)', a.firstImport.seconds, b.firstImport.seconds, 'PG/SQLite ≤ 1.5'],
    ['  import-run job (s)', a.fanOutSeconds, b.fanOutSeconds, ''],
    ['  freeze (s)', a.freezeSeconds, b.freezeSeconds, ''],
    ['identifiers/s', idsPerSecond(a), idsPerSecond(b), ''],
    ['baseline identifiers/s', baselinePerSecond(a), baselinePerSecond(b), ''],
    ['ratio to baseline', ratio(a), ratio(b), ''],
    ['re-import, 1% churn (s)', a.reimport.seconds, b.reimport.seconds, ''],
    ['  import-run job (s)', a.reimport.fanOutSeconds, b.reimport.fanOutSeconds, ''],
    ['/healthz p99 idle (ms)', a.healthz.idle.p99, b.healthz.idle.p99, ''],
    ['/healthz p99 previews (ms)', a.healthz.preview.p99, b.healthz.preview.p99, '≤ 50 ms'],
    ['/healthz p99 freeze (ms)', a.healthz.freeze.p99, b.healthz.freeze.p99, '≤ 50 ms'],
    ['/healthz p99 import-run job (ms)', a.healthz.importStart.p99, b.healthz.importStart.p99, ''],
    ['/healthz p99 pages (ms)', a.healthz.pages.p99, b.healthz.pages.p99, ''],
    ['web loop delay max, previews (ms)', a.webLoop.preview?.max ?? NaN, b.webLoop.preview?.max ?? NaN, ''],
    ['web loop delay max, 1st import (ms)', a.webLoop.firstImport?.max ?? NaN, b.webLoop.firstImport?.max ?? NaN, ''],
    ['1-user upsert in freeze, max (ms)', a.upsertDuringFreeze.max, b.upsertDuringFreeze.max, '≤ 100 ms on PG'],
    ['Redis above idle (MB)', a.redis.peakAboveIdleMb, b.redis.peakAboveIdleMb, '≤ 50 MB'],
    ...Object.keys(a.rss).map((k): [string, number, number, string] => [
      `peak RSS ${k} (MB)`,
      a.rss[k]!,
      b.rss[k]!,
      '',
    ]),
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(
    `\n${a.users.toLocaleString('en-US')} users${''.padEnd(w - 8)}       SQLite   PostgreSQL    PG/SQLite  goal`,
  );
  for (const [label, x, y, goalText] of rows) {
    const d = x >= 100 ? 0 : 2;
    console.log(
      `${label.padEnd(w)} ${f(x, d).padStart(12)} ${f(y, d).padStart(12)} ${f(y / x, 2).padStart(12)}  ${goalText}`,
    );
  }
}
