import type { Redis } from 'ioredis';
import type { ControlDb } from '../../db/client';
import type { Warehouse } from '../warehouse/warehouse';
import { withDeadline } from './deadline';

export type CheckResult = 'ok' | 'unreachable';

/** Whether every store this process needs answers, each within a short time. */
export class HealthService {
  constructor(
    private readonly redis: Redis,
    private readonly db: ControlDb,
    private readonly warehouse: Warehouse,
    private readonly timeoutMs = 1_000,
  ) {}

  async readiness(): Promise<{ ready: boolean; checks: Record<'redis' | 'warehouse' | 'control_db', CheckResult> }> {
    const [redis, warehouse, controlDb] = await Promise.all([
      // ioredis queues commands while disconnected: without a deadline a ping would wait forever.
      this.check(() => this.redis.ping()),
      this.check(() => this.warehouse.ping()),
      this.check(() => this.db.ping()),
    ]);
    const checks = { redis, warehouse, control_db: controlDb };
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  }

  private async check(probe: () => Promise<unknown>): Promise<CheckResult> {
    try {
      await withDeadline(probe(), this.timeoutMs, 'the check');
      return 'ok';
    } catch {
      return 'unreachable';
    }
  }
}
