// The executor beacon's thread (see executor-beacon.ts): renews this process' "alive" key in
// Redis on its own event loop, so a main thread held for seconds by synchronous SQLite work
// still counts as alive, and a killed process stops counting within the key's lifetime.
import { parentPort, workerData } from 'node:worker_threads';
import { Redis } from 'ioredis';

const { redisUrl, key, ttlMs, everyMs } = workerData;
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, enableOfflineQueue: false });
// Outages are the main thread's to report (one line per outage); the beat just tries again.
redis.on('error', () => undefined);
const beat = () => redis.set(key, '1', 'PX', ttlMs).catch(() => undefined);
void beat();
const timer = setInterval(beat, everyMs);

parentPort.on('message', async (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  await redis.del(key).catch(() => undefined);
  redis.disconnect();
  parentPort.postMessage('stopped');
});
