import { loadConfig, loadLocalEnv } from '../src/config';
import { createContext } from '../src/context';
import { createLogger } from '../src/logger';
import { startWorkers } from './start-workers';

/** The `worker` process: every queue's processor; run as many of these as you like. */
const log = createLogger('worker');
let config;
try {
  loadLocalEnv();
  config = loadConfig();
} catch (err) {
  log.fatal((err as Error).message);
  process.exit(1);
}
const ctx = await createContext(config, 'worker', log);
const workers = await startWorkers(ctx);
log.info({ concurrency: config.worker.concurrency, pid: process.pid }, 'worker ready');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'worker stopping: finishing active jobs');
  await workers.close();
  await ctx.close();
  log.info('worker stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
