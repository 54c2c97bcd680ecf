import type { Redis, Result } from 'ioredis';

/**
 * A request budget per Braze connection, shared by every worker process: a token bucket in
 * Redis (one Lua call per request, Redis' clock). A 429 from Braze also pauses the
 * connection until its reset time, so no worker keeps knocking. Other connections are
 * unaffected: each has its own bucket.
 */
const TAKE = `
local bucket, pauseKey = KEYS[1], KEYS[2]
local perMs, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local pausedUntil = tonumber(redis.call('GET', pauseKey) or '0')
if pausedUntil > now then return pausedUntil - now end
local state = redis.call('HMGET', bucket, 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * perMs)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / perMs) end
redis.call('HSET', bucket, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', bucket, math.ceil(capacity / perMs) + 60000)
return wait
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    takeBrazeBudget(bucketKey: string, pauseKey: string, perMs: number, capacity: number): Result<number, Context>;
  }
}

export class RateBudget {
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    requestsPerHour: number,
  ) {
    if (!redis.takeBrazeBudget) redis.defineCommand('takeBrazeBudget', { numberOfKeys: 2, lua: TAKE });
    this.perMs = requestsPerHour / 3_600_000;
    // Ten seconds' worth of burst: full speed at once, still inside the hourly limit.
    this.capacity = Math.max(1, Math.floor(requestsPerHour / 360));
  }

  /** Takes one request from the connection's budget: 0 when it may go now, else ms to wait. */
  async take(connectionKey: string): Promise<number> {
    // EVALSHA after the first call: the script is not resent with every request.
    const wait = await this.redis.takeBrazeBudget(
      this.key('bucket', connectionKey),
      this.key('pause', connectionKey),
      this.perMs,
      this.capacity,
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
