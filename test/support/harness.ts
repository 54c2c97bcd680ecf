import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/api/app';
import { startBrazeSandbox } from '../../src/braze-sandbox/server';
import { mulberry32 } from '../../src/seed/demo-users';
import { registerInSandbox } from '../../src/seed/register-in-sandbox';
import { seedWarehouse } from '../../src/seed/seed-warehouse';
import type { OpenedWarehouse } from '../../src/warehouse/open-warehouse';
import { PgWarehouse } from '../../src/warehouse/pg-warehouse';
import { loadConfig, type Config } from '../../src/config';
import { type AppContext, createContext } from '../../src/context';
import { createLogger } from '../../src/logger';
import type { WorkerManager } from '../../workers/worker-manager';
import { startWorkers } from '../../workers/start-workers';
import { type Engine, testEngines } from './engines';
import { createTestDatabase, type TestDatabase } from './postgres';
import { scratchDir, scratchPrefix } from './scratch';

export { TEST_PREFIX_ROOT } from './scratch';
export const PARTNER_KEY = 'pk-test-us';

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Harness {
  baseUrl: string;
  adminToken: string;
  /** The environment the in-process system was configured from (for child processes). */
  env: Record<string, string>;
  config: Config;
  ctx: AppContext;
  sandboxUrl: string;
  dir: string;
  /** Every log line the in-process web and workers wrote. */
  logs: string[];
  warehouseEngine: WarehouseEngine;
  /** The warehouse as its engine's class, for tests that look inside it. */
  warehouse: OpenedWarehouse;
  workers?: WorkerManager;
  request<T = any>(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<HttpResult<T>>;
  sandbox<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export type WarehouseEngine = Engine;

export interface HarnessOptions {
  workers?: boolean;
  /** The control database's engine; by default the file's choice (support/engines.ts). */
  controlDb?: Engine;
  env?: Record<string, string>;
  /** More BRAZE_ENDPOINT_ALLOWLIST entries besides the harness' own sandbox (e.g. `EU=http://…`). */
  allowlist?: string[];
  /** `postgres`: the warehouse in a database of its own on the test PostgreSQL; by default the file's choice. */
  warehouse?: WarehouseEngine;
}

/**
 * The real system in one process: the API on a free port, BullMQ workers on real Redis under
 * a queue prefix of its own, SQLite files in a temp folder with the real migrations (or the
 * warehouse in a fresh PostgreSQL database), and a Braze sandbox over HTTP. `close()` removes
 * all of it.
 */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = scratchDir('harness');
  const warehouseEngine = opts.warehouse ?? testEngines().warehouse;
  const database: TestDatabase | undefined =
    warehouseEngine === 'postgres' ? await createTestDatabase('harness') : undefined;
  const sandbox = await startBrazeSandbox({
    port: 0,
    host: '127.0.0.1',
    dbPath: ':memory:',
    partner: 'kubit',
    partnerApiKeys: { US: PARTNER_KEY },
    // Faults drawn from a fixed sequence: a fault test sees the same share of failures every run.
    random: mulberry32(1234),
  });
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  const controlEngine = opts.controlDb ?? testEngines().control;
  const controlPg = controlEngine === 'postgres' ? await createTestDatabase('control') : undefined;
  const env: Record<string, string> = {
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: scratchPrefix(),
    DATABASE_URL: controlPg?.url ?? join(dir, 'control.db'),
    WAREHOUSE_URL: database?.url ?? join(dir, 'warehouse.db'),
    DATA_DIR: dir,
    ADMIN_TOKEN: adminToken,
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    BRAZE_PARTNER_API_KEY_US: PARTNER_KEY,
    // The sandbox under two names: to Cohort Import, two different Braze endpoints.
    BRAZE_ENDPOINT_ALLOWLIST: [
      sandbox.url,
      sandbox.url.replace('127.0.0.1', 'localhost'),
      ...(opts.allowlist ?? []),
    ].join(','),
    WORKER_CONCURRENCY: '4',
    UPLOAD_BACKOFF_MS: '50',
    LOG_LEVEL: 'debug',
    ...opts.env,
  };
  const config = loadConfig(env);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = createLogger('test', 'debug', sink);
  const ctx = await createContext(config, 'test', log);
  await ctx.deployment.claim();
  await ctx.reconciler.reconcileAll();
  const server: Server = createApp(ctx).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const workers = opts.workers === false ? undefined : await startWorkers(ctx);

  const harness: Harness = {
    baseUrl,
    adminToken,
    env,
    config,
    ctx,
    sandboxUrl: sandbox.url,
    dir,
    logs,
    warehouseEngine,
    warehouse: ctx.warehouse as OpenedWarehouse,
    workers,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      }
      const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async sandbox(method, path, body) {
      const res = await fetch(`${sandbox.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`sandbox ${method} ${path} → ${res.status} ${await res.text()}`);
      return (await res.json()) as any;
    },
    async close() {
      // Tests may replace the workers (stop and start them); close whichever run now.
      await harness.workers?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all(ctx.queues.all().map((q) => q.obliterate({ force: true }).catch(() => undefined)));
      await deleteKeys(ctx, `${config.queuePrefix}:*`);
      await ctx.close();
      await sandbox.close();
      await controlPg?.drop();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

async function deleteKeys(ctx: AppContext, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await ctx.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await ctx.redis.del(...keys);
  } while (cursor !== '0');
}

/** A workspace with its token and a Braze connection to a fresh sandbox workspace. */
export async function createConnectedWorkspace(h: Harness, name = 'Acme') {
  const ws = await h.request('POST', '/v1/workspaces', { token: h.adminToken, body: { name } });
  if (ws.status !== 201) throw new Error(`workspace: ${ws.status} ${JSON.stringify(ws.body)}`);
  const brazeWs = await h.sandbox('POST', '/sandbox/workspaces', { name });
  const key = await h.sandbox('POST', `/sandbox/workspaces/${brazeWs.id}/data-import-keys`, {});
  const conn = await h.request('PUT', '/v1/braze-connection', {
    token: ws.body.api_token,
    body: { rest_endpoint: h.sandboxUrl, data_import_key: key.key },
  });
  if (conn.status !== 200) throw new Error(`connection: ${conn.status} ${JSON.stringify(conn.body)}`);
  return {
    workspaceId: ws.body.id as string,
    token: ws.body.api_token as string,
    brazeWorkspaceId: brazeWs.id as string,
    dataImportKey: key.key as string,
    dataImportKeyId: key.id as string,
  };
}

/** Polls a run until it is no longer queued or running. */
export async function waitForRun(h: Harness, token: string, runId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await h.request('GET', `/v1/imports/${runId}`, { token });
    if (res.status !== 200) throw new Error(`run ${runId}: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.body.status !== 'queued' && res.body.status !== 'running') return res.body;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${res.body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Seeds demo users into the workspace's warehouse and (minus ~3%) the sandbox; returns the `now` used. */
export async function seedDemo(
  h: Harness,
  ws: { workspaceId: string; brazeWorkspaceId: string },
  opts: { users: number; seed: number },
): Promise<number> {
  const now = Date.now();
  await seedWarehouse(h.warehouse, { workspaceId: ws.workspaceId, ...opts, now });
  await registerInSandbox({ sandboxUrl: h.sandboxUrl, brazeWorkspaceId: ws.brazeWorkspaceId, ...opts, now });
  return now;
}

/** Reads the warehouse directly, on either engine: `$1`, `$2` … placeholders in order; rows as objects. */
export async function queryWarehouse<T = Record<string, unknown>>(
  h: Harness,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const wh = h.warehouse;
  if (wh instanceof PgWarehouse) return (await wh.pool.query(sql, params)).rows as T[];
  return wh.db.prepare(sql.replace(/\$\d+/g, '?')).all(...params) as T[];
}

/** The members a run froze that are still in the warehouse (0 once the run is settled). */
export async function frozenMembers(h: Harness, runId: string): Promise<number> {
  const [row] = await queryWarehouse<{ n: number | string }>(
    h,
    'SELECT count(*) AS n FROM cohort_run_members m JOIN run_keys k ON k.id = m.run_key WHERE k.run_id = $1',
    [runId],
  );
  return Number(row!.n);
}
