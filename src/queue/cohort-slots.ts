import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis, Result } from 'ioredis';

/**
 * At most N requests of one Braze cohort in flight at once, across every worker process: a
 * counting semaphore in Redis (a sorted set of holders scored by lease expiry, Redis' clock).
 * Braze may answer 423 "Resource locked" to overlapping requests for one cohort; this keeps
 * a run's pages from overlapping more than the operator allows. A holder that died frees
 * its slot when its lease runs out.
 *
 * A release is announced on a channel; each process has one subscriber that wakes one of its
 * own waiters for that cohort (waking them all made every waiter of every process ask for the one
 * slot), so a freed slot is taken within a round trip while waiters ask Redis
 * only every `pollMs` otherwise (the fallback for an announcement missed, or a lease that ran
 * out). Polling every 20 ms instead cost the workers a tenth of their CPU during a big import:
 * a cohort with 4 slots has up to (workers × concurrency − 4) spans waiting for one.
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
  /** How often a waiting holder asks again when no release woke it. */
  pollMs?: number;
}

export class CohortSlots {
  private readonly pollMs: number;
  /** This process' waiters, by cohort key: each wakes to ask again. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** The subscription to release announcements, made on the first wait. */
  private subscribed: Promise<void> | undefined;
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: CohortSlotsOptions,
  ) {
    if (!redis.acquireCohortSlot) redis.defineCommand('acquireCohortSlot', { numberOfKeys: 1, lua: ACQUIRE });
    this.pollMs = opts.pollMs ?? 250;
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
    const take = async () =>
      Number(await this.redis.acquireCohortSlot(this.key(cohortKey), holder, this.opts.limit, leaseMs)) === 1;
    if (await take()) return true;
    if (maxWaitMs <= 0) return false;
    await this.subscribe();
    for (;;) {
      // Listening before asking: a release between the ask and the wait still wakes this one.
      const woken = new AbortController();
      const wake = () => woken.abort();
      this.listen(cohortKey, wake, true);
      try {
        if (await take()) return true;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        // Jitter, so waiting holders do not ask in lockstep.
        await sleep(Math.min(left, this.pollMs * (0.5 + Math.random())), undefined, { signal: woken.signal }).catch(
          () => undefined,
        );
      } finally {
        this.listen(cohortKey, wake, false);
      }
    }
  }

  async release(cohortKey: string, holder: string): Promise<void> {
    await this.redis.pipeline().zrem(this.key(cohortKey), holder).publish(this.channel(), cohortKey).exec();
  }

  /** Stops listening for releases (the process is closing). */
  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.subscribed = undefined;
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  private listen(cohortKey: string, wake: () => void, on: boolean): void {
    let set = this.waiters.get(cohortKey);
    if (on) {
      if (!set) this.waiters.set(cohortKey, (set = new Set()));
      set.add(wake);
    } else if (set) {
      set.delete(wake);
      if (set.size === 0) this.waiters.delete(cohortKey);
    }
  }

  /** One subscriber per process; if it cannot subscribe, waiters still poll. */
  private subscribe(): Promise<void> {
    this.subscribed ??= (async () => {
      const subscriber = this.redis.duplicate();
      this.subscriber = subscriber;
      subscriber.on('error', () => undefined);
      subscriber.on('message', (_channel: string, cohortKey: string) => {
        // One slot came free: the longest waiter of this process asks for it, not all of them
        // (every process hears it, so one per process asks; the others keep waiting).
        const first = this.waiters.get(cohortKey)?.values().next().value;
        first?.();
      });
      await subscriber.subscribe(this.channel());
    })().catch(() => undefined);
    return this.subscribed;
  }

  private channel(): string {
    return `${this.prefix}:braze-cohort-slots:released`;
  }

  private key(cohortKey: string): string {
    return `${this.prefix}:braze-cohort-slots:${cohortKey}`;
  }
}
