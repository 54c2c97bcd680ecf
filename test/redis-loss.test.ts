import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schedulerIdFor } from '../src/services/schedule-reconciler';
import { freePort, type RunningProcess, startProcess } from './support/processes';
import { scratchDir } from './support/scratch';

/**
 * Redis restarted without its data (no persistence): web puts every job scheduler back as soon
 * as Redis answers again, not at its next five-minute sweep. A Redis of this test's own, on a
 * port of its own, so the shared one is never restarted.
 */
let dir: string;
let redisPort: number;
let redisServer: ChildProcess | undefined;
let web: RunningProcess | undefined;

async function startRedis(): Promise<void> {
  redisServer = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const probe = new Redis({ port: redisPort, lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: 1 });
  probe.on('error', () => undefined);
  for (let i = 0; i < 100; i++) {
    if (await probe.ping().catch(() => null)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  probe.disconnect();
}

async function stopRedis(): Promise<void> {
  const server = redisServer;
  if (!server || server.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    server.once('exit', () => resolve());
    server.kill('SIGKILL');
  });
}

beforeAll(async () => {
  dir = scratchDir('redis-loss');
  redisPort = await freePort();
  await startRedis();
});

afterAll(async () => {
  await web?.stop();
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis loses its data', () => {
  it('web re-creates every job scheduler as soon as Redis answers again', async () => {
    const adminToken = randomBytes(16).toString('hex');
    const port = await freePort();
    web = await startProcess(
      'src/web.ts',
      {
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        QUEUE_PREFIX: 'redis-loss',
        DATA_DIR: dir,
        DATABASE_URL: join(dir, 'control.db'),
        WAREHOUSE_URL: join(dir, 'warehouse.db'),
        ADMIN_TOKEN: adminToken,
        ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        BRAZE_PARTNER_API_KEY_US: 'pk',
        PORT: String(port),
        LOG_LEVEL: 'info',
      },
      /web listening/,
    );
    const api = `http://127.0.0.1:${port}`;
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(`${api}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const ws = await call('POST', '/v1/workspaces', adminToken, { name: 'Loss' });
    const cohort = await call('POST', '/v1/cohorts', ws.body.api_token, {
      name: 'Everyone',
      criteria: { all: [{ identity: 'identified' }] },
    });
    const put = await call('PUT', `/v1/cohorts/${cohort.body.id}/schedule`, ws.body.api_token, {
      cadence: 'daily',
      time: '09:00',
      timezone: 'Europe/Lisbon',
    });
    expect(put.status).toBe(200);

    const redis = new Redis({ port: redisPort, retryStrategy: () => 100 });
    redis.on('error', () => undefined);
    const schedulerKey = `redis-loss:scheduled-import:repeat:${schedulerIdFor(cohort.body.id)}`;
    try {
      expect(await redis.exists(schedulerKey)).toBe(1);

      await stopRedis();
      await startRedis();
      expect(await redis.exists(schedulerKey)).toBe(0);

      // Web's five-minute sweep is far away: only its reaction to Redis' return can do this.
      const deadline = Date.now() + 30_000;
      while ((await redis.exists(schedulerKey)) === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await redis.exists(schedulerKey)).toBe(1);
      expect(web.output()).toMatch(/Redis reachable again/);
      // And web claimed its prefix again (the claim was lost with the data).
      expect(await redis.exists('redis-loss:deployment')).toBe(1);
    } finally {
      redis.disconnect();
    }
  }, 90_000);
});
