import { createContext } from '../src/context';
import { bootProcess, claimQueuePrefix, onShutdown } from '../src/process-lifecycle';
import { startWorkers } from './start-workers';
import type { WorkerManager } from './worker-manager';

/** The `worker` process: every queue's processor; run as many of these as you like. */
const { log, config } = bootProcess('worker');
const ctx = await createContext(config, 'worker', log);
let workers: WorkerManager | undefined;

// Active jobs finish first (a page mid-request records its result), then queues, Redis, databases.
// Registered before waiting for Redis, so a worker that never got going still stops cleanly.
onShutdown(log, 'worker', async () => {
  await workers?.close();
  await ctx.close();
});

// Never take jobs from a queue prefix that another deployment owns.
await claimQueuePrefix('worker', ctx.deployment, { wait: true });
workers = await startWorkers(ctx);
log.info({ concurrency: config.worker.concurrency, pid: process.pid }, 'worker ready');
