import { Redis } from 'ioredis';
import { dropOrphanDatabases } from './postgres';
import { isOrphan, removeOrphanDirs, TEST_PREFIX_ROOT } from './scratch';

/**
 * Removes the queues, temp folders and PostgreSQL databases of earlier test runs that were killed before cleaning up,
 * and only those: a suite running beside this one (its owner process alive) keeps its state.
 * The forks inherit COHORT_TEST_OWNER_PID, so every scratch name carries this run's pid.
 */
export default async function globalSetup(): Promise<void> {
  process.env.COHORT_TEST_OWNER_PID = String(process.pid);
  removeOrphanDirs();
  await dropOrphanDatabases();
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const root = `${TEST_PREFIX_ROOT}-`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${root}*`, 'COUNT', 1000);
    cursor = next;
    const orphans = keys.filter((key) => isOrphan(key, root));
    if (orphans.length > 0) await redis.del(...orphans);
  } while (cursor !== '0');
  await redis.quit();
}
