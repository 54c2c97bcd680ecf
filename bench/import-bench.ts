/**
 * `npm run bench [-- --engine sqlite|postgres|both] [--users N]`: how fast one cohort import
 * goes, end to end, against the Braze sandbox, on either engine or both side by side.
 *
 * Per engine, on fresh databases (two SQLite files in a temp folder, or one PostgreSQL database
 * made on 127.0.0.1:5432 and dropped after) and a fresh queue prefix:
 * 1. Seeds N users (BENCH_USERS or --users, default 1,000,000) with events, and registers them
 *    in the sandbox.
 * 2. Starts the real processes (braze-sandbox, web, two workers) on port 0, and measures
 *    `/healthz` at 20/s while the web process answers 1M-user previews back to back.
 * 3. Imports a cohort of nearly all users through the API, timed from the API call to
 *    `succeeded`, with `/healthz` measured throughout (the freeze is told apart by the job's
 *    progress events).
 * 4. Times a baseline on the same engine: the same SELECT → 1,000-identifier batches →
 *    keep-alive POSTs to the sandbox, as many in flight as the workers have, no queue or bookkeeping.
 * 5. Changes 1% of the users and imports again, sending one-user upserts while it freezes.
 * Prints figures and ratios; asserts nothing. Talks to loopback only. BENCH_BRAZE_LATENCY_MS
 * holds every sandbox call that long (a real Braze is not on loopback);
 * BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT is passed on. A smoke run: `--users 20000`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { Criteria } from '../src/domain/criteria';
import { demoUser } from '../src/seed/demo-users';
import { createProgressBar } from '../src/seed/progress-bar';
import { registerInSandbox } from '../src/seed/register-in-sandbox';
import { seedWarehouse } from '../src/seed/seed-warehouse';
import { openWarehouse } from '../src/warehouse/open-warehouse';
import { bareLoopBaseline } from './bare-loop-baseline';
import { BenchProcesses, cpuSecondsOf } from './bench-processes';
import { type BenchEngine, createStores } from './bench-stores';
import { type LatencySample, type LatencySummary, startLatencyProbe, summarize, within } from './latency-probe';

const { values: args } = parseArgs({
  options: {
    engine: { type: 'string', default: 'sqlite' },
    users: { type: 'string', default: process.env.BENCH_USERS ?? '1000000' },
  },
});
const ENGINES: Record<string, BenchEngine[]> = {
  sqlite: ['sqlite'],
  postgres: ['postgres'],
  both: ['sqlite', 'postgres'],
};
const engines = ENGINES[args.engine!];
const USERS = Number(args.users!.replaceAll(/[_,]/g, ''));
if (!engines || !Number.isSafeInteger(USERS) || USERS < 1000) {
  console.error('usage: npm run bench -- [--engine sqlite|postgres|both] [--users N (≥ 1000)]');
  process.exit(2);
}
const CONCURRENCY = Number(process.env.WORKER_CONCURRENCY ?? 8);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const LATENCY_MS = Number(process.env.BENCH_BRAZE_LATENCY_MS ?? 0);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREVIEW_LOAD_MS = 10_000;
const SEED = 2026;
const PARTNER_KEY = 'bench-partner-key';
const criteria = { all: [{ property: 'age', op: 'gte', value: 18 }] } as Criteria;

/** What a run made and must undo, newest first; run once, by the run's end or by a signal. */
const undo: (() => Promise<void>)[] = [];
async function undoAll(): Promise<void> {
  while (undo.length) {
    await undo.pop()!().catch((err: Error) => console.error(`bench: clean-up step failed: ${err.message}`));
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping processes and removing databases…`);
    void undoAll().finally(() => process.exit(130));
  });
}

async function json(method: string, url: string, body?: unknown, token?: string) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(data)}`);
  return data;
}

/** Waits until every worker process has registered with the page queue. */
async function waitForWorkers(prefix: string, n: number): Promise<void> {
  const queue = new Queue('upload-page', { connection: { url: REDIS_URL }, prefix });
  try {
    for (let i = 0; i < 600 && (await queue.getWorkersCount()) < n; i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await queue.close();
  }
}

async function deleteQueueKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return get('used_cpu_sys') + get('used_cpu_user');
}

/** When each import-run job entered and left its freeze, from its progress events (Redis' clock). */
class FreezeWatch {
  readonly windows = new Map<string, { from: number; to?: number }>();
  private constructor(private readonly events: QueueEvents) {
    events.on('progress', ({ jobId, data }, id) => {
      const at = Number(id.split('-')[0]);
      const stage = (data as { stage?: string }).stage;
      const window = this.windows.get(jobId);
      if (stage === 'freezing members') this.windows.set(jobId, { from: at });
      else if (window && window.to === undefined) window.to = at;
    });
  }
  static async start(prefix: string): Promise<FreezeWatch> {
    const events = new QueueEvents('import-run', { connection: { url: REDIS_URL }, prefix });
    await events.waitUntilReady();
    return new FreezeWatch(events);
  }
  of(runId: string) {
    return this.windows.get(`run-${runId}`);
  }
  close() {
    return this.events.close();
  }
}

interface EngineFigures {
  engine: BenchEngine;
  seedSeconds: number;
  settleSeconds: number;
  seeded: { users: number; events: number };
  registerSeconds: number;
  previewSeconds: number[];
  cohortSize: number;
  firstImport: { seconds: number; status: string; added: number; unmatchable: number; startedAfter: number };
  fanOutSeconds: number;
  freezeSeconds: number;
  cpu: Record<string, number>;
  requests: number;
  maxInFlight: number;
  baseline: { seconds: number; identifiers: number; requests: number };
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
  /** The web process' own event-loop delay (ms): previews; the first import; the re-import with upserts. */
  webLoop: Partial<Record<'preview' | 'firstImport' | 'reimport', { p99: number; max: number }>>;
  rss: Record<string, number>;
}

async function runEngine(engine: BenchEngine): Promise<EngineFigures> {
  const dir = mkdtempSync(join(tmpdir(), `cohort-import-bench-${engine}-`));
  undo.push(async () => rmSync(dir, { recursive: true, force: true }));
  const prefix = `bench-${process.pid}-${randomUUID()}`;
  undo.push(() => deleteQueueKeys(prefix));
  const stores = await createStores(engine, dir);
  undo.push(() => stores.drop());
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATABASE_URL: stores.databaseUrl,
    WAREHOUSE_URL: stores.warehouseUrl,
    DATA_DIR: dir,
    ADMIN_TOKEN: randomBytes(18).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    BRAZE_PARTNER_API_KEY_US: PARTNER_KEY,
    BRAZE_RATE_LIMIT_REQUESTS: '1000000000',
    BRAZE_SANDBOX_PORT: '0',
    BRAZE_SANDBOX_DB: join(dir, 'braze-sandbox.db'),
    HOST: '127.0.0.1',
    PORT: '0',
    WORKER_CONCURRENCY: String(CONCURRENCY),
    BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT: process.env.BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT ?? '4',
    LOG_LEVEL: 'warn',
  };
  const processes = new BenchProcesses(env);
  undo.push(() => processes.stopAll());
  console.log(
    `\nbench ${engine}: ${USERS.toLocaleString('en-US')} users, ${WORKERS} workers × concurrency ${CONCURRENCY}, ` +
      `≤ ${env.BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT} pages per cohort in flight, Braze latency ${LATENCY_MS} ms, ` +
      `data in ${engine === 'sqlite' ? dir : stores.warehouseUrl}`,
  );
  const sandboxUrl = `http://127.0.0.1:${await processes.start('braze-sandbox', 'src/braze-sandbox/main.ts', {}, true)}`;
  // The importer may call the sandbox only once its port is known.
  const brazeEnv = { BRAZE_ENDPOINT_ALLOWLIST: sandboxUrl };
  const api = `http://127.0.0.1:${await processes.start('web', 'src/web.ts', brazeEnv, true)}`;

  const ws = await json('POST', `${api}/v1/workspaces`, { name: 'Bench' }, env.ADMIN_TOKEN);
  const token = ws.api_token as string;
  const brazeWs = await json('POST', `${sandboxUrl}/sandbox/workspaces`, { name: 'Bench' });
  const key = await json('POST', `${sandboxUrl}/sandbox/workspaces/${brazeWs.id}/data-import-keys`, {});
  await json('PUT', `${api}/v1/braze-connection`, { rest_endpoint: sandboxUrl, data_import_key: key.key }, token);

  const now = Date.now();
  const t0 = performance.now();
  const warehouse = await openWarehouse(stores.warehouseUrl);
  const bar = createProgressBar({ label: `seed ${engine} warehouse`, total: USERS });
  const seeded = await seedWarehouse(warehouse, {
    workspaceId: ws.id,
    users: USERS,
    seed: SEED,
    now,
    onProgress: bar.update,
  });
  bar.finish();
  await warehouse.close();
  const seedSeconds = (performance.now() - t0) / 1000;
  const tSettle = performance.now();
  await stores.settle();
  const settleSeconds = (performance.now() - tSettle) / 1000;
  const t1 = performance.now();
  await registerInSandbox({ sandboxUrl, brazeWorkspaceId: brazeWs.id, users: USERS, seed: SEED, now });
  const registerSeconds = (performance.now() - t1) / 1000;

  for (let i = 1; i <= WORKERS; i++) void processes.start(`worker-${i}`, 'workers/main.ts', brazeEnv);
  await waitForWorkers(prefix, WORKERS);
  if (LATENCY_MS > 0) await json('PUT', `${sandboxUrl}/sandbox/config`, { faults: { latency_ms: LATENCY_MS } });
  const cohort = await json('POST', `${api}/v1/cohorts`, { name: 'Nearly everyone', criteria }, token);

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
    cohortSize = (await json('GET', `${api}/v1/cohorts/${cohort.id}/preview`, undefined, token)).count;
    previewSeconds.push((performance.now() - t) / 1000);
  }
  const duringPreview = await probe.stop();
  const webLoop: EngineFigures['webLoop'] = { preview: await processes.eventLoopDelay('web') };

  const freezes = await FreezeWatch.start(prefix);
  undo.push(() => freezes.close());
  const importRuns = new Queue('import-run', { connection: { url: REDIS_URL }, prefix });
  undo.push(() => importRuns.close());
  const importAndWait = async (duringFreeze?: (running: () => boolean) => Promise<void>) => {
    const t = performance.now();
    const run = await json('POST', `${api}/v1/cohorts/${cohort.id}/imports`, {}, token);
    let side: Promise<void> | undefined;
    for (;;) {
      const window = freezes.of(run.id);
      if (duringFreeze && !side && window) side = duringFreeze(() => freezes.of(run.id)?.to === undefined);
      const r = await json('GET', `${api}/v1/imports/${run.id}`, undefined, token);
      if (r.status !== 'queued' && r.status !== 'running') {
        await side;
        const job = await importRuns.getJob(`run-${run.id}`);
        return { run: r, seconds: (performance.now() - t) / 1000, job, freeze: freezes.of(run.id) };
      }
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  const reqBefore = (await json('GET', `${sandboxUrl}/sandbox/requests?limit=1`)).count as number;
  const redis = new Redis(REDIS_URL);
  undo.push(async () => void redis.disconnect());
  const cpuBefore = Object.fromEntries(processes.names().map((n) => [n, processes.cpuSeconds(n)]));
  const redisCpuBefore = await redisCpuSeconds(redis);
  const backendCpu = async () => new Map((await stores.backendPids()).map((pid) => [pid, cpuSecondsOf(pid)] as const));
  const backendCpuBefore = await backendCpu();
  probe = startLatencyProbe(`${api}/healthz`);
  await processes.eventLoopDelay('web');
  const first = await importAndWait();
  const duringFirst = await probe.stop();
  webLoop.firstImport = await processes.eventLoopDelay('web');
  const cpu = Object.fromEntries(processes.names().map((n) => [n, processes.cpuSeconds(n) - cpuBefore[n]!]));
  cpu.redis = (await redisCpuSeconds(redis)) - redisCpuBefore;
  // Backends that closed during the import are missed: a floor, not a total.
  if (engine === 'postgres') {
    cpu['postgres backends'] = [...(await backendCpu())]
      .map(([pid, s]) => s - (backendCpuBefore.get(pid) ?? 0))
      .filter(Number.isFinite)
      .reduce((a, b) => a + b, 0);
  }
  const afterFirst = await json('GET', `${sandboxUrl}/sandbox/requests?limit=1`);
  const startJob = first.job;
  const fanOut = { from: startJob?.processedOn ?? NaN, to: startJob?.finishedOn ?? NaN };
  const freeze = { from: first.freeze?.from ?? NaN, to: first.freeze?.to ?? NaN };

  const baseline = await bareLoopBaseline({
    warehouseUrl: stores.warehouseUrl,
    workspaceId: ws.id,
    criteria,
    sandboxUrl,
    partnerApiKey: PARTNER_KEY,
    brazeKey: key.key,
    inFlight: WORKERS * CONCURRENCY,
  });

  // 1% churn: members who leave (age 16) and non-members who join (age 30), half each where
  // there are enough non-members.
  const churn = Math.floor(USERS / 100);
  const users: { user_key: string; properties: { age: number } }[] = [];
  for (let i = 0; i < USERS && users.length < churn / 2; i++) {
    const u = demoUser(SEED, i, now);
    if (u.properties.age < 18) users.push({ user_key: u.user_key, properties: { age: 30 } });
  }
  for (let i = USERS - 1; users.length < churn; i--) {
    const u = demoUser(SEED, i, now);
    if (u.properties.age >= 18) users.push({ user_key: u.user_key, properties: { age: 16 } });
  }
  for (let i = 0; i < users.length; i += 10_000) {
    await json('POST', `${api}/v1/users/batch`, { users: users.slice(i, i + 10_000) }, token);
  }

  // The re-import's freeze meets one-user upserts, one after another (a property no criteria read).
  const upserts: LatencySample[] = [];
  const probeUser = demoUser(SEED, 0, now).user_key;
  const upsertWhileFreezing = async (running: () => boolean) => {
    for (let n = 0; running(); n++) {
      const at = Date.now();
      const t = performance.now();
      await json(
        'POST',
        `${api}/v1/users/batch`,
        { users: [{ user_key: probeUser, properties: { bench_probe: n } }] },
        token,
      );
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
  const secondFanOut = { from: second.job?.processedOn ?? NaN, to: second.job?.finishedOn ?? NaN };

  const rss = Object.fromEntries(processes.names().map((n) => [n, processes.peakRssMb(n)]));
  await undoAll();
  return {
    engine,
    seedSeconds,
    settleSeconds,
    seeded,
    registerSeconds,
    previewSeconds,
    cohortSize,
    firstImport: {
      seconds: first.seconds,
      status: first.run.status,
      added: first.run.added,
      unmatchable: first.run.unmatchable,
      startedAfter: (Date.parse(first.run.started_at) - Date.parse(first.run.created_at)) / 1000,
    },
    fanOutSeconds: (fanOut.to - fanOut.from) / 1000,
    freezeSeconds: (freeze.to - freeze.from) / 1000,
    cpu,
    requests: (afterFirst.count as number) - reqBefore,
    maxInFlight: afterFirst.max_in_flight_per_cohort,
    baseline,
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
    webLoop,
    rss: { ...rss, bench: process.resourceUsage().maxRSS / 1024 },
  };
}

const f = (n: number, d = 1) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–';
const latency = (s: LatencySummary) => (s.n ? `${f(s.p50, 0)} / ${f(s.p99, 0)} ms (n ${s.n})` : '– (no samples)');
const idsPerSecond = (r: EngineFigures) => r.firstImport.added / r.firstImport.seconds;
const baselinePerSecond = (r: EngineFigures) => r.baseline.identifiers / r.baseline.seconds;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function printEngine(r: EngineFigures): void {
  console.log(`
${r.engine}
seed                 ${f(r.seeded.users, 0)} users, ${f(r.seeded.events, 0)} events in ${f(r.seedSeconds)} s; registered in the sandbox in ${f(r.registerSeconds)} s${r.engine === 'postgres' ? `; VACUUM ANALYZE ${f(r.settleSeconds)} s` : ''}
preview              cohort ${f(r.cohortSize, 0)}: ${r.previewSeconds.length} previews, mean ${f(sum(r.previewSeconds) / r.previewSeconds.length, 2)} s
first import         ${r.firstImport.status}: added ${f(r.firstImport.added, 0)}, unmatchable ${f(r.firstImport.unmatchable, 0)}
  wall time          ${f(r.firstImport.seconds, 2)} s (API call → succeeded; started after ${f(r.firstImport.startedAfter, 2)} s)
  of which           ${f(r.fanOutSeconds, 2)} s in the import-run job (freeze ${f(r.freezeSeconds, 2)} s, register, diff, enqueue pages)
  CPU seconds        ${Object.entries(r.cpu)
    .map(([k, v]) => `${k} ${f(v, 1)}`)
    .join(', ')}
  identifiers/s      ${f(idsPerSecond(r), 0)}
  requests/s         ${f(r.requests / r.firstImport.seconds, 1)} (${r.requests} requests; at most ${r.maxInFlight} of the cohort in flight at once)
baseline             ${f(r.baseline.identifiers, 0)} identifiers in ${f(r.baseline.seconds, 2)} s = ${f(baselinePerSecond(r), 0)} identifiers/s (${r.baseline.requests} requests)
ratio                ${f(idsPerSecond(r) / baselinePerSecond(r), 2)} (importer throughput / baseline throughput, same engine)
re-import (1% churn) ${r.reimport.status}: added ${f(r.reimport.added, 0)}, removed ${f(r.reimport.removed, 0)} in ${f(r.reimport.seconds, 2)} s (import-run job ${f(r.reimport.fanOutSeconds, 2)} s, freeze ${f(r.reimport.freezeSeconds, 2)} s)
/healthz p50 / p99   idle ${latency(r.healthz.idle)}; during previews ${latency(r.healthz.preview)}
                     during the freeze ${latency(r.healthz.freeze)}; during the import-run job ${latency(r.healthz.importStart)}
                     during pages ${latency(r.healthz.pages)}; during a freeze with upserts ${latency(r.healthz.freezeWithUpserts)}
web event-loop delay p99 / max, inside the process: ${Object.entries(r.webLoop)
    .map(([k, v]) => `${k} ${f(v.p99, 0)} / ${f(v.max, 0)} ms`)
    .join('; ')}
1-user upsert        during a freeze: p50 ${f(r.upsertDuringFreeze.p50, 0)} ms, max ${f(r.upsertDuringFreeze.max, 0)} ms (n ${r.upsertDuringFreeze.n})
peak RSS (MB)        ${Object.entries(r.rss)
    .map(([k, v]) => `${k} ${f(v, 0)}`)
    .join(', ')}`);
}

/** SQLite and PostgreSQL side by side, with PostgreSQL's figure over SQLite's. */
function printComparison(a: EngineFigures, b: EngineFigures): void {
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
    ['ratio to baseline', idsPerSecond(a) / baselinePerSecond(a), idsPerSecond(b) / baselinePerSecond(b), ''],
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
    ...Object.keys(a.rss).map((k): [string, number, number, string] => [
      `peak RSS ${k} (MB)`,
      a.rss[k]!,
      b.rss[k]!,
      '',
    ]),
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(
    `\n${USERS.toLocaleString('en-US')} users${''.padEnd(w - 8)}       SQLite   PostgreSQL    PG/SQLite  goal`,
  );
  for (const [label, x, y, goal] of rows) {
    const d = x >= 100 ? 0 : 2;
    console.log(
      `${label.padEnd(w)} ${f(x, d).padStart(12)} ${f(y, d).padStart(12)} ${f(y / x, 2).padStart(12)}  ${goal}`,
    );
  }
}

const results: EngineFigures[] = [];
try {
  for (const engine of engines) {
    results.push(await runEngine(engine));
    printEngine(results.at(-1)!);
  }
  if (results.length === 2) printComparison(results[0]!, results[1]!);
} finally {
  await undoAll();
}
