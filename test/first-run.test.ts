import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulerIdFor } from '../src/services/schedule-reconciler';
import { createConnectedWorkspace, type Harness, startHarness, waitForRun } from './support/harness';
import { freePort, occupyPort, runToExit, startProcess } from './support/processes';
import { scratchDir } from './support/scratch';

/** What a newcomer meets first: taken ports, bad settings, a Redis shared with another deployment. */

function baseEnv(dir: string): Record<string, string> {
  return {
    DATA_DIR: dir,
    DATABASE_URL: join(dir, 'control.db'),
    WAREHOUSE_URL: join(dir, 'warehouse.db'),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `citest-${process.pid}-first-run-${randomBytes(4).toString('hex')}`,
    ADMIN_TOKEN: randomBytes(16).toString('hex'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    BRAZE_PARTNER_API_KEY_US: 'pk-first-run',
  };
}

describe('a taken port', () => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const dir = () => {
    const d = scratchDir('ports');
    dirs.push(d);
    return d;
  };
  const taken = async () => {
    const o = await occupyPort();
    servers.push(o.server);
    return o.port;
  };

  it('stops web with the variable that moves it', async () => {
    const port = await taken();
    const result = await runToExit('src/web.ts', { ...baseEnv(dir()), PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${port} is in use — set PORT`);
    expect(result.stdout).not.toContain('web listening');
  });

  it('stops the Braze sandbox with the variable that moves it', async () => {
    const port = await taken();
    const result = await runToExit('src/braze-sandbox/main.ts', {
      ...baseEnv(dir()),
      BRAZE_SANDBOX_PORT: String(port),
      BRAZE_SANDBOX_DB: ':memory:',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${port} is in use — set BRAZE_SANDBOX_PORT`);
  });

  it('stops npm start before anything starts, and prints no banner', async () => {
    const port = await taken();
    const result = await runToExit('scripts/run-local.ts', {
      ...baseEnv(dir()),
      PORT: String(port),
      BRAZE_SANDBOX_PORT: String(await freePort()),
    });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(`port ${port} is in use`);
    expect(result.stdout + result.stderr).toContain('set PORT');
    expect(result.stdout).not.toContain('Cohort Import is running');
    expect(result.stdout).not.toContain('braze-sandbox');
  });
});

describe('configuration errors', () => {
  it('print one plain line per variable on stderr and exit 1', async () => {
    const dir = scratchDir('config');
    try {
      const result = await runToExit('src/web.ts', {
        ...baseEnv(dir),
        ENCRYPTION_KEY: 'short',
        WORKER_CONCURRENCY: 'abc',
      });
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toEqual([
        'web: ENCRYPTION_KEY: must be 32 bytes, as 64 hex characters or base64',
        'web: WORKER_CONCURRENCY: must be a whole number from 1 to 256',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Redis unreachable', () => {
  it('a worker says so in one line, however many connections and retries see it', async () => {
    const dir = scratchDir('redis-away');
    try {
      // Nothing listens on port 1. The worker waits for Redis; six seconds see three retries.
      const worker = await startProcess(
        'workers/main.ts',
        { ...baseEnv(dir), REDIS_URL: 'redis://:hunter2@127.0.0.1:1' },
        /Redis unreachable/,
      );
      await new Promise((r) => setTimeout(r, 6_000));
      const code = await worker.stop();
      const lines = worker
        .output()
        .split('\n')
        .filter((l) => l.includes('Redis unreachable'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('Redis unreachable at redis://:***@127.0.0.1:1; retrying every 2 s');
      expect(worker.output()).not.toContain('hunter2');
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('two deployments on one Redis', () => {
  let first: Harness;
  let second: string;
  beforeAll(async () => {
    first = await startHarness();
    second = scratchDir('second-deployment');
  });
  afterAll(async () => {
    await first?.close();
    rmSync(second, { recursive: true, force: true });
  });

  it("the second refuses to start, and the first's schedules and runs are untouched", async () => {
    const ws = await createConnectedWorkspace(first, 'First');
    const cohort = await first.request('POST', '/v1/cohorts', {
      token: ws.token,
      body: { name: 'Everyone', criteria: { all: [{ identity: 'identified' }] } },
    });
    const schedule = await first.request('PUT', `/v1/cohorts/${cohort.body.id}/schedule`, {
      token: ws.token,
      body: { cadence: 'daily', time: '09:00', timezone: 'UTC' },
    });
    expect(schedule.status).toBe(200);

    // Another checkout: its own databases, the same Redis and (default-like) the same prefix.
    const env = {
      ...first.env,
      DATA_DIR: second,
      DATABASE_URL: join(second, 'control.db'),
      WAREHOUSE_URL: join(second, 'warehouse.db'),
      PORT: String(await freePort()),
    };
    const [web, worker] = await Promise.all([runToExit('src/web.ts', env), runToExit('workers/main.ts', env)]);
    for (const result of [web, worker]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`The queue prefix "${first.config.queuePrefix}"`);
      expect(result.stderr).toContain('Set QUEUE_PREFIX');
    }

    const scheduler = await first.ctx.queues.scheduledImport.getJobScheduler(schedulerIdFor(cohort.body.id));
    expect(scheduler?.key).toBe(schedulerIdFor(cohort.body.id));
    const started = await first.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, {
      token: ws.token,
      body: {},
    });
    expect(started.status).toBe(202);
    expect((await waitForRun(first, ws.token, started.body.id)).status).toBe('succeeded');
  });

  it('a process of the same deployment (same control database) starts beside it', async () => {
    const worker = await startProcess('workers/main.ts', { ...first.env, LOG_LEVEL: 'info' }, /worker ready/);
    expect(await worker.stop()).toBe(0);
  });
});
