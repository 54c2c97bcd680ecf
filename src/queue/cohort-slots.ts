import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis, Result } from 'ioredis';

/**
 * At most N requests of one Braze cohort in flight at once, across every worker process: a
 * counting semaphore in Redis (a sorted set of holders scored by lease expiry, Redis' clock).
 * Braze may answer 423 "Resource locked" to overlapping requests for one cohort; this keeps
 * a run's pages from overlapping more than the operator allows. A holder that died frees
 * its slot when its lease runs out.
 */
const ACQUIRE = `
local key, holder = KEYS[1], ARGV[1]
local limit, leaseMs = tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZSCORE', key, holder) or redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now + leaseMs, holder)
  -- The key lives as long as its longest lease (holders' leases differ with their spans).
  if redis.call('PTTL', key) < leaseMs then redis.call('PEXPIRE', key, leaseMs) end
  return 1
end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    acquireCohortSlot(key: string, holder: string, limit: number, leaseMs: number): Result<number, Context>;
  }
}

export interface CohortSlotsOptions {
  /** Slots per cohort (BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT). */
  limit: number;
  /** How long a slot outlives a holder that never released it, per request it makes: longer than any request may take. */
  leaseMs: number;
  /** How often a waiting holder asks again. */
  pollMs?: number;
}

export class CohortSlots {
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: CohortSlotsOptions,
  ) {
    if (!redis.acquireCohortSlot) redis.defineCommand('acquireCohortSlot', { numberOfKeys: 1, lua: ACQUIRE });
    this.pollMs = opts.pollMs ?? 20;
  }

  /** The lease for a holder that makes `requests` requests one after the other. */
  leaseFor(requests: number): number {
    return this.opts.leaseMs * Math.max(1, requests);
  }

  /**
   * Takes one of the cohort's slots for `holder` (taking it again is harmless), waiting at
   * most `maxWaitMs`; false when none came free in that time.
   */
  async acquire(cohortKey: string, holder: string, maxWaitMs: number, leaseMs = this.opts.leaseMs): Promise<boolean> {
    const deadline = Date.now() + maxWaitMs;
    for (;;) {
      const got = await this.redis.acquireCohortSlot(this.key(cohortKey), holder, this.opts.limit, leaseMs);
      if (Number(got) === 1) return true;
      if (Date.now() >= deadline) return false;
      // Jitter, so waiting holders do not ask in lockstep.
      await sleep(this.pollMs * (0.5 + Math.random()));
    }
  }

  async release(cohortKey: string, holder: string): Promise<void> {
    await this.redis.zrem(this.key(cohortKey), holder);
  }

  private key(cohortKey: string): string {
    return `${this.prefix}:braze-cohort-slots:${cohortKey}`;
  }
}
