import { createContext } from '../src/context';
import { bootProcess, onShutdown } from '../src/process-lifecycle';
import { startWorkers } from './start-workers';

/** The `worker` process: every queue's processor; run as many of these as you like. */
const { log, config } = bootProcess('worker');
const ctx = await createContext(config, 'worker', log);
const workers = await startWorkers(ctx);
log.info({ concurrency: config.worker.concurrency, pid: process.pid }, 'worker ready');

// Active jobs finish first (a page mid-request records its result), then queues, Redis, databases.
onShutdown(log, 'worker', async () => {
  await workers.close();
  await ctx.close();
});
