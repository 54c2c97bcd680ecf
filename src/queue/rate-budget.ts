import type { Redis, Result } from 'ioredis';

/**
 * Braze's limit as it documents it — N requests per sliding window of W seconds (250,000 an
 * hour) — kept per Braze scope in Redis and shared by every worker on every host (one Lua call
 * per request, Redis' clock). Nothing is throttled while the window has room: an import that
 * fits goes at full speed. Requests are counted in 60 slots of W/60; a request may go when the
 * slots that any window ending now could touch (the oldest one whole) hold fewer than N, so no
 * window of W ever holds more than N, at the cost of up to one slot's worth of headroom. Memory
 * is 61 counters per scope, whatever the volume. A 429 from Braze also pauses the scope until
 * its reset time, so no worker keeps knocking; other scopes are unaffected.
 *
 * While the window has plenty of room, one call takes a batch of requests for its process (one
 * Redis round trip per batch rather than per page; a worker's pages go out a few milliseconds
 * apart). A batch is counted in the slot of the moment its lease ends, and the process sends its
 * requests before then: each is counted no earlier than it is sent, so every window still holds
 * the requests sent in it. Near the limit (or for a small limit) requests are taken one by one.
 */
const TAKE = `
local key, pauseKey = KEYS[1], KEYS[2]
local limit, windowMs, slots = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local batch, leaseMs = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local pausedUntil = tonumber(redis.call('GET', pauseKey) or '0')
if pausedUntil > now then return {pausedUntil - now, 0} end
local slotMs = math.ceil(windowMs / slots)
local current = math.floor(now / slotMs)
local counts = redis.call('HGETALL', key)
local total, earliest = 0, nil
for i = 1, #counts, 2 do
  local slot = tonumber(counts[i])
  if slot < current - slots then
    redis.call('HDEL', key, counts[i])
  else
    total = total + tonumber(counts[i + 1])
    if earliest == nil or slot < earliest then earliest = slot end
  end
end
if total >= limit then
  -- Full: wait until the oldest counted slot leaves every window that ends then.
  return {math.max(1, (earliest + slots + 1) * slotMs - now), 0}
end
-- One request, counted now; with plenty of room a batch, counted where its lease ends (its
-- requests all go before then).
local granted, slot = 1, current
if batch > 1 and total + batch <= limit then granted, slot = batch, math.floor((now + leaseMs) / slotMs) end
redis.call('HINCRBY', key, slot, granted)
redis.call('PEXPIRE', key, windowMs + leaseMs + 2 * slotMs)
return {0, granted}
`;

/** Slots a window is counted in: the finer, the closer to the limit it can go. */
const SLOTS = 60;
/** Requests a batch holds: a worker's concurrency (its pages in flight at once). */
const BATCH = 8;
/**
 * How long a batch's requests may be sent after it was taken (unsent ones are dropped): at most
 * a fiftieth of the window, the throughput a batch counted that much later can cost at the limit.
 */
const LEASE_MS = 200;
const LEASE_SHARE_OF_WINDOW = 1 / 50;
/** Batches only where the limit is this many batches or more: a small limit is taken one by one. */
const MIN_BATCHES_PER_LIMIT = 50;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    takeBrazeBudget(
      windowKey: string,
      pauseKey: string,
      limit: number,
      windowMs: number,
      slots: number,
      batch: number,
      leaseMs: number,
    ): Result<[wait: number, granted: number], Context>;
  }
}

export interface RateLimit {
  /** Requests allowed in any window… */
  requests: number;
  /** …of this many milliseconds. */
  windowMs: number;
}

export class RateBudget {
  /** Per connection, what is left of this process's batch and until when it may be sent (performance.now()). */
  private readonly leases = new Map<string, { left: number; until: number }>();
  /** Per connection, this process's call to Redis under way: concurrent takes wait for it. */
  private readonly asking = new Map<string, Promise<number>>();
  private readonly batch: number;
  private readonly leaseMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit: RateLimit,
  ) {
    if (!redis.takeBrazeBudget) redis.defineCommand('takeBrazeBudget', { numberOfKeys: 2, lua: TAKE });
    this.batch = limit.requests >= BATCH * MIN_BATCHES_PER_LIMIT ? BATCH : 1;
    this.leaseMs = Math.max(1, Math.min(LEASE_MS, Math.floor(limit.windowMs * LEASE_SHARE_OF_WINDOW)));
  }

  /** Takes one request from the connection's budget: 0 when it may go now, else ms to wait. */
  async take(connectionKey: string): Promise<number> {
    for (;;) {
      const lease = this.leases.get(connectionKey);
      if (lease) {
        if (lease.left > 0 && performance.now() < lease.until) {
          lease.left--;
          return 0;
        }
        this.leases.delete(connectionKey);
      }
      const asking = this.asking.get(connectionKey);
      if (!asking) break;
      const wait = await asking.catch(() => 0);
      if (wait > 0) return wait;
    }
    const ask = this.ask(connectionKey);
    this.asking.set(connectionKey, ask);
    try {
      return await ask;
    } finally {
      this.asking.delete(connectionKey);
    }
  }

  private async ask(connectionKey: string): Promise<number> {
    // The lease runs from before the call: Redis counts the batch from its own later moment.
    const askedAt = performance.now();
    // EVALSHA after the first call: the script is not resent with every request.
    const [wait, granted] = await this.redis.takeBrazeBudget(
      this.key('window', connectionKey),
      this.key('pause', connectionKey),
      this.limit.requests,
      this.limit.windowMs,
      SLOTS,
      this.batch,
      this.leaseMs,
    );
    if (Number(wait) > 0) return Number(wait);
    // This take is one of the batch; the rest wait in the lease for this process's next takes.
    if (Number(granted) > 1)
      this.leases.set(connectionKey, { left: Number(granted) - 1, until: askedAt + this.leaseMs });
    return 0;
  }

  /** After a 429: nobody sends on this connection before `until` (epoch ms). */
  async pauseUntil(connectionKey: string, until: number): Promise<void> {
    this.leases.delete(connectionKey);
    const ms = Math.max(1, until - Date.now());
    await this.redis.set(this.key('pause', connectionKey), String(until), 'PX', ms);
  }

  private key(kind: string, connectionKey: string): string {
    return `${this.prefix}:braze-${kind}:${connectionKey}`;
  }
}
