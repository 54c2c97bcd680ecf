/**
 * One bench stack on one engine: fresh databases and queue prefix, the real processes
 * (braze-sandbox, web, N workers) on port 0, workspaces seeded with demo users and registered in
 * the sandbox. Everything it makes is undone by the `Undo` it is given, on error and Ctrl-C too.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Criteria } from '../src/domain/criteria';
import { demoUser } from '../src/seed/demo-users';
import { createProgressBar } from '../src/seed/progress-bar';
import type { RegisterInSandboxOptions } from '../src/seed/register-in-sandbox';
import { seedWarehouse } from '../src/seed/seed-warehouse';
import { inThread } from './ts-thread';
import { openWarehouse } from '../src/warehouse/open-warehouse';
import { json, sleep } from './bench-http';
import { BenchProcesses } from './bench-processes';
import { type BenchEngine, type BenchStores, createStores } from './bench-stores';
import type { Undo } from './bench-undo';
import { waitForPageWorkers } from './bullmq-internals';
import { deletePrefixKeys } from './redis-watch';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const CONCURRENCY = Number(process.env.WORKER_CONCURRENCY ?? 8);
export const SEED = 2026;
export const PARTNER_KEY = 'bench-partner-key';
/** The bench's cohort: nearly everyone. */
export const criteria = { all: [{ property: 'age', op: 'gte', value: 18 }] } as Criteria;

export interface StackOptions {
  /** Importer settings passed to web and workers (BRAZE_RATE_LIMIT_*, …). */
  env?: Record<string, string>;
}

export interface BenchWorkspace {
  id: string;
  token: string;
  brazeWorkspaceId: string;
  brazeKey: string;
  users: number;
  startIndex: number;
  now: number;
  seeded: { users: number; events: number };
  /** Warehouse written, from the start of seeding (registration runs alongside). */
  seedSeconds: number;
  settleSeconds: number;
  /** Users registered in the sandbox, from the start of seeding. */
  registerSeconds: number;
  /** Seeding, registration and (PostgreSQL) VACUUM ANALYZE: the wall time before an import can start. */
  seedWallSeconds: number;
}

export interface RunResult {
  run: any;
  /** API call → succeeded (or another end). */
  seconds: number;
  requestedAt: number;
}

export class BenchStack {
  private workerCount = 0;

  private constructor(
    readonly engine: BenchEngine,
    readonly dir: string,
    readonly prefix: string,
    readonly stores: BenchStores,
    readonly env: Record<string, string>,
    readonly processes: BenchProcesses,
    readonly sandboxUrl: string,
    readonly api: string,
    private readonly brazeEnv: Record<string, string>,
  ) {}

  static async open(engine: BenchEngine, undo: Undo, options: StackOptions = {}): Promise<BenchStack> {
    const dir = mkdtempSync(join(tmpdir(), `cohort-import-bench-${engine}-`));
    undo.push(async () => rmSync(dir, { recursive: true, force: true }));
    const prefix = `bench-${process.pid}-${randomUUID()}`;
    undo.push(() => deletePrefixKeys(REDIS_URL, prefix));
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
      // How a first import is frozen, to compare the two ways (README, Tests and benchmark).
      ...Object.fromEntries(
        ['FREEZE_PAGES_MIN_USERS', 'WAREHOUSE_CHUNK_USERS'].flatMap((k) =>
          process.env[k] === undefined ? [] : [[k, process.env[k]!]],
        ),
      ),
      ...options.env,
    };
    const processes = new BenchProcesses(env);
    undo.push(() => processes.stopAll());
    const sandboxUrl = `http://127.0.0.1:${await processes.start('braze-sandbox', 'src/braze-sandbox/main.ts', {}, true)}`;
    // The importer may call the sandbox only once its port is known.
    const brazeEnv = { BRAZE_ENDPOINT_ALLOWLIST: sandboxUrl };
    const api = `http://127.0.0.1:${await processes.start('web', 'src/web.ts', brazeEnv, true)}`;
    return new BenchStack(engine, dir, prefix, stores, env, processes, sandboxUrl, api, brazeEnv);
  }

  /** Where the data lives, for the header line. */
  get where(): string {
    return this.engine === 'sqlite' ? this.dir : this.stores.warehouseUrl;
  }

  /**
   * A workspace with its own Braze workspace and connection, seeded with `users` demo users
   * (indexes startIndex…) and registered in the sandbox, each timed.
   */
  async addWorkspace(name: string, users: number, startIndex = 0): Promise<BenchWorkspace> {
    const ws = await json('POST', `${this.api}/v1/workspaces`, { name }, this.env.ADMIN_TOKEN);
    const token = ws.api_token as string;
    const brazeWs = await json('POST', `${this.sandboxUrl}/sandbox/workspaces`, { name });
    const key = await json('POST', `${this.sandboxUrl}/sandbox/workspaces/${brazeWs.id}/data-import-keys`, {});
    await json(
      'PUT',
      `${this.api}/v1/braze-connection`,
      { rest_endpoint: this.sandboxUrl, data_import_key: key.key },
      token,
    );

    // The warehouse is written on this thread while a worker thread registers the users in the
    // sandbox (drawing and serialising them is a core's worth of work at 10M): the two go side by
    // side, so seeding takes the longer of them.
    const now = Date.now();
    const t0 = performance.now();
    const bar = createProgressBar({ label: `seed ${this.engine} warehouse (${name})`, total: users });
    const seeding = (async () => {
      const warehouse = await openWarehouse(this.stores.warehouseUrl);
      const seeded = await seedWarehouse(warehouse, {
        workspaceId: ws.id,
        users,
        startIndex,
        seed: SEED,
        now,
        onProgress: bar.update,
        scratch: true,
      }).finally(() => warehouse.close());
      bar.finish();
      return { seeded, seedSeconds: (performance.now() - t0) / 1000 };
    })();
    const registering = (async () => {
      const options: RegisterInSandboxOptions = {
        sandboxUrl: this.sandboxUrl,
        brazeWorkspaceId: brazeWs.id,
        users,
        startIndex,
        seed: SEED,
        now,
      };
      await inThread(new URL('./register-thread.ts', import.meta.url), options);
      return (performance.now() - t0) / 1000;
    })();
    const [{ seeded, seedSeconds }, registerSeconds] = await Promise.all([seeding, registering]);
    const tSettle = performance.now();
    await this.stores.settle();
    const settleSeconds = (performance.now() - tSettle) / 1000;
    const seedWallSeconds = (performance.now() - t0) / 1000;
    return {
      id: ws.id,
      token,
      brazeWorkspaceId: brazeWs.id,
      brazeKey: key.key,
      users,
      startIndex,
      now,
      seeded,
      seedSeconds,
      settleSeconds,
      registerSeconds,
      seedWallSeconds,
    };
  }

  /** Starts `n` more worker processes (named worker-1, worker-2, … in start order) and waits for them. */
  async startWorkers(n: number): Promise<string[]> {
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `worker-${++this.workerCount}`;
      names.push(name);
      void this.processes.start(name, 'workers/main.ts', this.brazeEnv);
    }
    await waitForPageWorkers(REDIS_URL, this.prefix, this.workerNames().length);
    return names;
  }

  workerNames(): string[] {
    return this.processes.names().filter((n) => n.startsWith('worker-'));
  }

  async stopWorkers(): Promise<void> {
    for (const name of this.workerNames()) await this.processes.stop(name);
  }

  async createCohort(ws: BenchWorkspace, name = 'Nearly everyone'): Promise<string> {
    return (await json('POST', `${this.api}/v1/cohorts`, { name, criteria }, ws.token)).id;
  }

  requestImport(ws: BenchWorkspace, cohortId: string, body: object = {}): Promise<any> {
    return json('POST', `${this.api}/v1/cohorts/${cohortId}/imports`, body, ws.token);
  }

  getRun(ws: BenchWorkspace, runId: string): Promise<any> {
    return json('GET', `${this.api}/v1/imports/${runId}`, undefined, ws.token);
  }

  /** pages_done / pages_total of a run (pages_total null until its pages are fanned out). */
  progress(
    ws: BenchWorkspace,
    runId: string,
  ): Promise<{ status: string; pages_done: number | null; pages_total: number | null }> {
    return json('GET', `${this.api}/v1/imports/${runId}/progress`, undefined, ws.token);
  }

  /** Polls a run every `pollMs` until it ends; `onPoll` sees each progress reading. */
  async waitForEnd(
    ws: BenchWorkspace,
    runId: string,
    onPoll?: (p: { status: string; pages_done: number | null; pages_total: number | null }) => Promise<void> | void,
    pollMs = 50,
  ): Promise<any> {
    for (;;) {
      const p = await this.progress(ws, runId);
      await onPoll?.(p);
      if (p.status !== 'queued' && p.status !== 'running') return this.getRun(ws, runId);
      await sleep(pollMs);
    }
  }

  /** Requests an import and waits for its end: API call → succeeded. */
  async importAndWait(ws: BenchWorkspace, cohortId: string, body: object = {}): Promise<RunResult> {
    const requestedAt = Date.now();
    const t = performance.now();
    const { id } = await this.requestImport(ws, cohortId, body);
    const run = await this.waitForEnd(ws, id);
    return { run, seconds: (performance.now() - t) / 1000, requestedAt };
  }
}

/**
 * How many members the sandbox must hold once the bench cohort is imported: users of the seeded
 * range who match it (age ≥ 18) and whom Braze knows (registered). Computed from the demo users
 * themselves, not from anything the importer reports.
 */
export function expectedBrazeMembers(ws: Pick<BenchWorkspace, 'users' | 'startIndex' | 'now'>): number {
  let n = 0;
  for (let i = ws.startIndex; i < ws.startIndex + ws.users; i++) {
    const u = demoUser(SEED, i, ws.now);
    if (u.known_to_braze && u.properties.age >= 18) n++;
  }
  return n;
}
