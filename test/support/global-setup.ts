import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { TEST_PREFIX_ROOT } from './harness';

/** Removes queues and temp folders left behind by an earlier test run that was killed before cleaning up. */
export default async function globalSetup(): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith('cohort-import-test-')) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${TEST_PREFIX_ROOT}-*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}
