import { Redis } from 'ioredis';

/** Redis' used_memory (bytes) now. */
export async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** CPU seconds the whole redis-server has used (user + system), from INFO cpu. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return get('used_cpu_sys') + get('used_cpu_user');
}

/**
 * Commands the whole redis-server has run (INFO commandstats; a script counts once, as EVALSHA,
 * plus the commands it calls inside).
 */
export async function redisCommands(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/** How many keys a prefix holds (SCAN, so Redis is never blocked). */
export async function countPrefixKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

export async function deletePrefixKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

export interface RedisPeak {
  /** used_memory before the run, MB. */
  idleMb: number;
  /** Highest used_memory seen during the run minus idle, MB. Redis is shared: others' keys count too. */
  peakAboveIdleMb: number;
  /** Most keys under the run's queue prefix at one sample (jobs, their lists and sets, budgets). */
  peakPrefixKeys: number;
}

/**
 * Samples used_memory every 200 ms and the prefix's key count every 2 s (a SCAN of a big queue
 * takes a while) from `start` until `stop`.
 */
export async function watchRedis(redisUrl: string, prefix: string): Promise<{ stop(): Promise<RedisPeak> }> {
  const redis = new Redis(redisUrl);
  const idle = await redisUsedMemory(redis);
  let peak = idle;
  let peakKeys = await countPrefixKeys(redis, prefix);
  let stopped = false;
  const memoryLoop = (async () => {
    while (!stopped) {
      peak = Math.max(peak, await redisUsedMemory(redis));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const keysLoop = (async () => {
    while (!stopped) {
      peakKeys = Math.max(peakKeys, await countPrefixKeys(redis, prefix));
      for (let i = 0; i < 10 && !stopped; i++) await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await Promise.all([memoryLoop, keysLoop]).catch(() => undefined);
      await redis.quit();
      const mb = (b: number) => b / 1024 / 1024;
      return { idleMb: mb(idle), peakAboveIdleMb: mb(peak - idle), peakPrefixKeys: peakKeys };
    },
  };
}
