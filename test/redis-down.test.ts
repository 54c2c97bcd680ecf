import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from './support/scratch';
import { loadConfig } from '../src/config';
import { createContext } from '../src/context';
import { createLogger } from '../src/logger';
import { ServiceError } from '../src/services/errors';

describe('Redis unreachable', () => {
  const dir = scratchDir('redis-down');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an import request fails with 503 instead of hanging, and leaves no run blocking the cohort', async () => {
    const config = loadConfig({
      REDIS_URL: 'redis://127.0.0.1:1',
      DATABASE_URL: join(dir, 'control.db'),
      WAREHOUSE_URL: join(dir, 'warehouse.db'),
      DATA_DIR: dir,
      ADMIN_TOKEN: randomBytes(16).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      BRAZE_PARTNER_API_KEY_US: 'pk',
      BRAZE_ENDPOINT_ALLOWLIST: 'http://127.0.0.1:4999',
      // Each call below waits this long for Redis before giving up: one second, not production's five.
      QUEUE_DEADLINE_MS: '1000',
    });
    // Every error handled on the way is logged, with its context (nothing swallowed).
    const lines: string[] = [];
    const logged = () => lines.map((l) => JSON.parse(l) as { msg: string; level: number; err?: unknown });
    const ctx = await createContext(
      config,
      'test',
      createLogger('test', 'debug', { write: (l: string) => lines.push(l) }),
    );
    try {
      const ws = await ctx.workspaces.create('Offline');
      // Nothing answers at that endpoint: saved without the key check.
      await ctx.connections.put(
        ws.id,
        { rest_endpoint: 'http://127.0.0.1:4999', data_import_key: 'key-12345678' },
        { verify: false },
      );
      const cohort = await ctx.cohorts.create(ws.id, { name: 'c', criteria: { all: [{ identity: 'identified' }] } });

      const attempt = ctx.imports.enqueue(ws.id, cohort.id, { trigger: 'one_time' });
      await expect(attempt).rejects.toBeInstanceOf(ServiceError);
      await expect(attempt).rejects.toMatchObject({ status: 503, code: 'queue_unavailable' });
      const runs = await ctx.imports.list(ws.id, cohort.id, { limit: 10 });
      expect(runs.data).toHaveLength(1);
      expect(runs.data[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/queue/) });
      expect(await ctx.runs.activeForCohort(cohort.id)).toBeUndefined();

      // A schedule is saved (the database is the source of truth) and the client told it is not live yet.
      const put = ctx.schedules.put(ws.id, cohort.id, { cadence: 'daily', time: '08:00' });
      await expect(put).rejects.toMatchObject({ status: 503, code: 'scheduler_unavailable' });
      expect(await ctx.schedules.get(ws.id, cohort.id)).toMatchObject({
        cadence: 'daily',
        time: '08:00',
        enabled: true,
      });

      // A cohort deleted while Redis is away: its clean-up is done in place, its scheduler left
      // to the periodic reconcile, and both are said in the log.
      await ctx.cohorts.delete(ws.id, cohort.id);
      const messages = logged().map((l) => l.msg);
      expect(messages).toEqual(
        expect.arrayContaining([
          'could not enqueue import run',
          'job scheduler not updated; the periodic reconcile will',
          'clean-up not queued; done here instead',
          'scheduler not removed; the periodic reconcile will',
        ]),
      );
      // Each of those names its error, and none carries the data import key.
      for (const l of logged().filter((l) => l.level >= 40)) expect(l.err).toBeTruthy();
      expect(lines.join('\n')).not.toContain('key-12345678');
    } finally {
      ctx.redis.disconnect();
      await ctx.close().catch(() => undefined);
    }
  }, 40_000);
});
