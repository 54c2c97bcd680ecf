import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from './support/scratch';
import { openControlDb } from '../db/client';
import { HealthService } from '../src/services/health';
import { openSqliteWarehouse } from '../src/warehouse/sqlite-warehouse';

describe('readiness', () => {
  const dir = scratchDir('health');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports each store, and answers "unreachable" instead of hanging when Redis is down', async () => {
    const db = await openControlDb(join(dir, 'control.db'));
    const warehouse = await openSqliteWarehouse(join(dir, 'warehouse.db'));
    const up = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    // Nothing listens on port 1; with maxRetriesPerRequest null, ioredis would queue the ping forever.
    const down = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: null, retryStrategy: () => 1000 });
    down.on('error', () => undefined);
    try {
      expect(await new HealthService(up, db, warehouse).readiness()).toEqual({
        ready: true,
        checks: { redis: 'ok', warehouse: 'ok', control_db: 'ok' },
      });
      expect(await new HealthService(down, db, warehouse, 300).readiness()).toEqual({
        ready: false,
        checks: { redis: 'unreachable', warehouse: 'ok', control_db: 'ok' },
      });
      warehouse.close();
      expect((await new HealthService(up, db, warehouse).readiness()).checks.warehouse).toBe('unreachable');
    } finally {
      up.disconnect();
      down.disconnect();
      await db.close();
    }
  });
});
