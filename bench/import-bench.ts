/**
 * `npm run bench`: how fast one cohort import goes, end to end, against the Braze sandbox.
 *
 * 1. Seeds BENCH_USERS (default 1,000,000) users with events, and registers them in the sandbox.
 * 2. Starts the real processes (braze-sandbox, web, two workers) on a fresh queue prefix and
 *    fresh SQLite files, imports a cohort of nearly all users through the API and times it
 *    from the API call to `succeeded`.
 * 3. Times a baseline: the same SELECT → 1,000-identifier batches → keep-alive POSTs to the
 *    sandbox, with as many requests in flight as the workers have, and no queue or bookkeeping.
 * 4. Changes 1% of the users and imports again.
 * Prints figures and ratios; asserts nothing. BENCH_BRAZE_LATENCY_MS holds every sandbox call
 * that long (a real Braze is not on loopback); BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT is passed on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { openSqlite } from '../db/client';
import { compileCriteria, type Criteria } from '../src/domain/criteria';
import { brazeIdentifierSql } from '../src/domain/identity';
import { demoUser } from '../src/seed/demo-users';
import { createProgressBar } from '../src/seed/progress-bar';
import { registerInSandbox } from '../src/seed/register-in-sandbox';
import { seedWarehouse } from '../src/seed/seed-warehouse';
import { openWarehouse } from '../src/warehouse/open-warehouse';

const USERS = Number(process.env.BENCH_USERS ?? 1_000_000);
const CONCURRENCY = Number(process.env.WORKER_CONCURRENCY ?? 8);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const LATENCY_MS = Number(process.env.BENCH_BRAZE_LATENCY_MS ?? 0);
const SEED = 2026;
const PARTNER_KEY = 'bench-partner-key';
const criteria = { all: [{ property: 'age', op: 'gte', value: 18 }] } as Criteria;

const dir = mkdtempSync(join(tmpdir(), 'cohort-import-bench-'));
const sandboxPort = 4600 + Math.floor(Math.random() * 300);
const webPort = sandboxPort + 1;
const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
const api = `http://127.0.0.1:${webPort}`;
const prefix = `bench-${randomUUID()}`;
const env: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: prefix,
  DATABASE_URL: join(dir, 'control.db'),
  WAREHOUSE_URL: join(dir, 'warehouse.db'),
  DATA_DIR: dir,
  ADMIN_TOKEN: randomBytes(18).toString('hex'),
  ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  BRAZE_PARTNER_API_KEY_US: PARTNER_KEY,
  BRAZE_ENDPOINT_ALLOWLIST: sandboxUrl,
  BRAZE_RATE_LIMIT_PER_HOUR: '1000000000',
  BRAZE_SANDBOX_PORT: String(sandboxPort),
  BRAZE_SANDBOX_DB: join(dir, 'braze-sandbox.db'),
  PORT: String(webPort),
  WORKER_CONCURRENCY: String(CONCURRENCY),
  BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT: process.env.BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT ?? '4',
  LOG_LEVEL: 'warn',
};

const children: { name: string; proc: ChildProcess }[] = [];
function start(name: string, script: string): ChildProcess {
  // node --import tsx: one process per role, so its peak RSS is its own.
  // BENCH_CPU_PROF=dir: a V8 CPU profile per process and thread, named by pid (see process list).
  const profile = process.env.BENCH_CPU_PROF
    ? [`--cpu-prof`, `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROF, name)}`]
    : [];
  const proc = spawn(process.execPath, [...profile, '--import', 'tsx', script], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push({ name, proc });
  return proc;
}

/** CPU seconds a live process has used (user + system), from the kernel. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return get('used_cpu_sys') + get('used_cpu_user');
}

/** Peak resident set size of a live process, from the kernel (VmHWM). */
function peakRssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function waitUp(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

/** Waits until every worker process has registered with the page queue. */
async function waitForWorkers(n: number): Promise<void> {
  const queue = new Queue('upload-page', { connection: { url: env.REDIS_URL }, prefix });
  try {
    for (let i = 0; i < 600 && (await queue.getWorkersCount()) < n; i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await queue.close();
  }
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

async function importAndWait(token: string, cohortId: string) {
  const t0 = performance.now();
  const run = await json('POST', `${api}/v1/cohorts/${cohortId}/imports`, {}, token);
  for (;;) {
    const r = await json('GET', `${api}/v1/imports/${run.id}`, undefined, token);
    if (r.status !== 'queued' && r.status !== 'running') return { run: r, seconds: (performance.now() - t0) / 1000 };
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** The floor: no queue, no bookkeeping; the same SELECT and full batches over keep-alive HTTP. */
async function baseline(brazeKey: string): Promise<{ seconds: number; identifiers: number; requests: number }> {
  const db = openSqlite(env.WAREHOUSE_URL!);
  const id = brazeIdentifierSql('u');
  const where = compileCriteria(criteria, { now: Date.now(), userAlias: 'u' });
  const cohortId = `baseline-${randomUUID()}`;
  const post = (path: string, body: object) =>
    fetch(`${sandboxUrl}/partners/kubit/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ partner_api_key: PARTNER_KEY, client_secret: brazeKey, cohort_id: cohortId, ...body }),
    }).then(async (r) => {
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`baseline POST ${r.status}`);
    });
  const t0 = performance.now();
  await post('cohorts', { name: cohortId, created_at: new Date().toISOString() });
  const rows = db
    .prepare(
      `SELECT ${id.idType} AS t, ${id.idValue} AS v, ${id.idLabel} AS l FROM users u WHERE u.workspace_id = ? AND (${where.sql}) AND ${id.idType} IS NOT NULL`,
    )
    .raw()
    .iterate(workspaceId, ...where.params) as IterableIterator<[string, string, string | null]>;
  let identifiers = 0;
  let requests = 1;
  const inFlight = new Set<Promise<void>>();
  let batch: [string, string, string | null][] = [];
  const flush = async () => {
    const change: { user_ids: string[]; device_ids: string[]; aliases: { alias_name: string; alias_label: string }[] } =
      { user_ids: [], device_ids: [], aliases: [] };
    for (const [t, v, l] of batch) {
      if (t === 'external_id') change.user_ids.push(v);
      else if (t === 'device_id') change.device_ids.push(v);
      else change.aliases.push({ alias_name: v, alias_label: l ?? '' });
    }
    identifiers += batch.length;
    requests++;
    batch = [];
    const p = post('cohorts/users', { cohort_changes: [change] }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= CONCURRENCY * 2) await Promise.race(inFlight);
  };
  // Batches are sent as they fill, while the SELECT streams (WAL lets it read alongside).
  for (const row of rows) {
    batch.push(row);
    if (batch.length === 1000) await flush();
  }
  if (batch.length) await flush();
  await Promise.all(inFlight);
  db.close();
  return { seconds: (performance.now() - t0) / 1000, identifiers, requests };
}

let workspaceId = '';
async function main() {
  console.log(
    `bench: ${USERS.toLocaleString('en-US')} users, ${WORKERS} workers × concurrency ${CONCURRENCY}, ` +
      `≤ ${env.BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT} pages per cohort in flight, Braze latency ${LATENCY_MS} ms, data in ${dir}`,
  );
  start('braze-sandbox', 'src/braze-sandbox/main.ts');
  await waitUp(`${sandboxUrl}/sandbox/requests`);
  start('web', 'src/web.ts');
  await waitUp(`${api}/healthz`);

  const ws = await json('POST', `${api}/v1/workspaces`, { name: 'Bench' }, env.ADMIN_TOKEN);
  workspaceId = ws.id;
  const brazeWs = await json('POST', `${sandboxUrl}/sandbox/workspaces`, { name: 'Bench' });
  const key = await json('POST', `${sandboxUrl}/sandbox/workspaces/${brazeWs.id}/data-import-keys`, {});
  await json(
    'PUT',
    `${api}/v1/braze-connection`,
    { rest_endpoint: sandboxUrl, data_import_key: key.key },
    ws.api_token,
  );

  const now = Date.now();
  const t0 = performance.now();
  const warehouse = await openWarehouse(env.WAREHOUSE_URL!);
  const bar = createProgressBar({ label: 'seed warehouse', total: USERS });
  const seeded = await seedWarehouse(warehouse, { workspaceId, users: USERS, seed: SEED, now, onProgress: bar.update });
  bar.finish();
  await warehouse.close();
  const seedSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const registered = await registerInSandbox({
    sandboxUrl,
    brazeWorkspaceId: brazeWs.id,
    users: USERS,
    seed: SEED,
    now,
  });
  const registerSeconds = (performance.now() - t1) / 1000;

  for (let i = 1; i <= WORKERS; i++) start(`worker-${i}`, 'workers/main.ts');
  await waitForWorkers(WORKERS);

  if (LATENCY_MS > 0) await json('PUT', `${sandboxUrl}/sandbox/config`, { faults: { latency_ms: LATENCY_MS } });
  const cohort = await json('POST', `${api}/v1/cohorts`, { name: 'Nearly everyone', criteria }, ws.api_token);
  const reqBefore = (await json('GET', `${sandboxUrl}/sandbox/requests?limit=1`)).count as number;
  const redis = new Redis(env.REDIS_URL!);
  const cpuBefore = Object.fromEntries(children.map((c) => [c.name, cpuSeconds(c.proc.pid)]));
  const redisCpuBefore = await redisCpuSeconds(redis);
  const first = await importAndWait(ws.api_token, cohort.id);
  const cpu = Object.fromEntries(children.map((c) => [c.name, cpuSeconds(c.proc.pid) - cpuBefore[c.name]!]));
  cpu.redis = (await redisCpuSeconds(redis)) - redisCpuBefore;
  await redis.quit();
  const afterFirst = await json('GET', `${sandboxUrl}/sandbox/requests?limit=1`);
  const reqAfter = afterFirst.count as number;
  const firstRequests = reqAfter - reqBefore;
  const importRuns = new Queue('import-run', { connection: { url: env.REDIS_URL }, prefix });
  const startJob = await importRuns.getJob(`run-${first.run.id}`);
  await importRuns.close();
  const fanOutSeconds =
    startJob?.finishedOn && startJob.processedOn ? (startJob.finishedOn - startJob.processedOn) / 1000 : NaN;

  const base = await baseline(key.key);

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
    await json('POST', `${api}/v1/users/batch`, { users: users.slice(i, i + 10_000) }, ws.api_token);
  }
  const second = await importAndWait(ws.api_token, cohort.id);

  const rss = Object.fromEntries(children.map((c) => [c.name, peakRssMb(c.proc.pid)]));
  const ours = first.run.added / first.seconds;
  const theirs = base.identifiers / base.seconds;
  const f = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  console.log(`
seed                 ${f(seeded.users, 0)} users, ${f(seeded.events, 0)} events in ${f(seedSeconds)} s; ${f(registered.registered, 0)} registered in the sandbox in ${f(registerSeconds)} s
first import         ${first.run.status}: cohort ${f(first.run.cohort_size, 0)}, added ${f(first.run.added, 0)}, unmatchable ${f(first.run.unmatchable, 0)}
  wall time          ${f(first.seconds, 2)} s (API call → succeeded; started after ${f((Date.parse(first.run.started_at) - Date.parse(first.run.created_at)) / 1000, 2)} s, pages took ${f((Date.parse(first.run.finished_at) - Date.parse(first.run.started_at)) / 1000, 2)} s)
  of which           ${f(fanOutSeconds, 2)} s freezing members, registering the cohort, diffing and enqueueing pages
  CPU seconds        ${Object.entries(cpu)
    .map(([k, v]) => `${k} ${f(v, 1)}`)
    .join(', ')}
  identifiers/s      ${f(ours, 0)}
  requests/s         ${f(firstRequests / first.seconds, 1)} (${firstRequests} requests; at most ${afterFirst.max_in_flight_per_cohort} of the cohort in flight at once)
baseline             ${f(base.identifiers, 0)} identifiers in ${f(base.seconds, 2)} s = ${f(theirs, 0)} identifiers/s (${base.requests} requests)
ratio                ${f(ours / theirs, 2)} (importer throughput / baseline throughput)
re-import (1% churn) ${second.run.status}: added ${f(second.run.added, 0)}, removed ${f(second.run.removed, 0)} in ${f(second.seconds, 2)} s
peak RSS (MB)        ${Object.entries(rss)
    .map(([k, v]) => `${k} ${f(v, 0)}`)
    .join(', ')}, bench ${f(process.resourceUsage().maxRSS / 1024, 0)}
`);
}

async function cleanup() {
  for (const c of children.reverse()) {
    if (c.proc.exitCode === null) {
      await new Promise<void>((resolve) => {
        c.proc.once('exit', () => resolve());
        c.proc.kill('SIGTERM');
        setTimeout(() => c.proc.kill('SIGKILL'), 10_000).unref();
      });
    }
  }
  const redis = new Redis(env.REDIS_URL!);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
}

try {
  await main();
} finally {
  await cleanup();
}
