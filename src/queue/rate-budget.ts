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
 */
const TAKE = `
local key, pauseKey = KEYS[1], KEYS[2]
local limit, windowMs, slots = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local pausedUntil = tonumber(redis.call('GET', pauseKey) or '0')
if pausedUntil > now then return pausedUntil - now end
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
if total < limit then
  redis.call('HINCRBY', key, current, 1)
  redis.call('PEXPIRE', key, windowMs + 2 * slotMs)
  return 0
end
-- Full: wait until the oldest counted slot leaves every window that ends then.
return math.max(1, (earliest + slots + 1) * slotMs - now)
`;

/** Slots a window is counted in: the finer, the closer to the limit it can go. */
const SLOTS = 60;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    takeBrazeBudget(
      windowKey: string,
      pauseKey: string,
      limit: number,
      windowMs: number,
      slots: number,
    ): Result<number, Context>;
  }
}

export interface RateLimit {
  /** Requests allowed in any window… */
  requests: number;
  /** …of this many milliseconds. */
  windowMs: number;
}

export class RateBudget {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit: RateLimit,
  ) {
    if (!redis.takeBrazeBudget) redis.defineCommand('takeBrazeBudget', { numberOfKeys: 2, lua: TAKE });
  }

  /** Takes one request from the connection's budget: 0 when it may go now, else ms to wait. */
  async take(connectionKey: string): Promise<number> {
    // EVALSHA after the first call: the script is not resent with every request.
    const wait = await this.redis.takeBrazeBudget(
      this.key('window', connectionKey),
      this.key('pause', connectionKey),
      this.limit.requests,
      this.limit.windowMs,
      SLOTS,
    );
    return Number(wait);
  }

  /** After a 429: nobody sends on this connection before `until` (epoch ms). */
  async pauseUntil(connectionKey: string, until: number): Promise<void> {
    const ms = Math.max(1, until - Date.now());
    await this.redis.set(this.key('pause', connectionKey), String(until), 'PX', ms);
  }

  private key(kind: string, connectionKey: string): string {
    return `${this.prefix}:braze-${kind}:${connectionKey}`;
  }
}
