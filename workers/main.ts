import { createContext } from '../src/context';
import { createMetricsServer } from '../src/metrics/metrics-endpoint';
import { bootProcess, claimQueuePrefix, listenOrExit, onShutdown } from '../src/process-lifecycle';
import { startWorkers } from './start-workers';
import type { WorkerManager } from './worker-manager';

/** The `worker` process: every queue's processor; run as many of these as you like. */
const { log, config } = bootProcess('worker');
const ctx = await createContext(config, 'worker', log);
let workers: WorkerManager | undefined;
// This worker's scrape target, when METRICS_PORT is set (several workers on one host need a port each).
const metricsServer =
  config.metrics.port === null
    ? undefined
    : createMetricsServer(config.metrics.token, (err) => log.error({ err }, 'metrics collection failed'));
if (metricsServer && config.metrics.port !== null) {
  await listenOrExit(metricsServer, {
    name: 'worker metrics',
    port: config.metrics.port,
    host: config.metrics.host,
    portVariable: 'METRICS_PORT',
  });
  log.info({ address: metricsServer.address() }, 'worker metrics listening');
}

// Active jobs finish first (a page mid-request records its result), then queues, Redis, databases.
// Registered before waiting for Redis, so a worker that never got going still stops cleanly.
onShutdown(log, 'worker', async () => {
  await workers?.close();
  await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
  await ctx.close();
});

// Never take jobs from a queue prefix that another deployment owns.
await claimQueuePrefix('worker', ctx.deployment, { wait: true });
ctx.warehouse.warmUp?.();
workers = await startWorkers(ctx);
log.info({ concurrency: config.worker.concurrency, pid: process.pid }, 'worker ready');
