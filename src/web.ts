import { createServer, type Server } from 'node:http';
import { createApp } from './api/app';
import { createContext } from './context';
import { bootProcess, claimQueuePrefix, listenOrExit, onShutdown } from './process-lifecycle';

/** The `web` process: the API and Bull Board. One is enough; it is stateless but for the databases. */
const { log, config } = bootProcess('web');
const ctx = await createContext(config, 'web', log);
// Only web writes job schedulers: make Redis match the schedules table. In the background, so
// /healthz and /readyz answer (and say what is missing) even while Redis is away.
// It also closes runs whose jobs were lost, which would otherwise block their cohorts.
// A deployment owns its queue prefix: each reconcile claims it first (it may have been lost with
// Redis' data), and web exits beside another deployment's, whose schedulers it would delete.
const reconcile = async () => {
  if (!(await claimQueuePrefix('web', ctx.deployment, { wait: false }))) return;
  await Promise.all([ctx.reconciler.reconcileAll(), ctx.janitor.sweep()]).catch((err: Error) =>
    log.warn({ err: err.message }, 'reconcile failed'),
  );
};
void reconcile();
// Redis back after an outage (perhaps with its data lost): claim and reconcile at once rather
// than at the next sweep, so no scheduler stays missing and no lost run stays open for minutes.
ctx.redisOutages.onRecovered(() => void reconcile());
const server: Server = createServer(createApp(ctx));
server.keepAliveTimeout = 65_000;
await listenOrExit(server, { name: 'web', port: config.port, host: config.host, portVariable: 'PORT' });
log.info({ url: `http://${config.host}:${config.port}` }, 'web listening');

// A safety net for changes that could not reach Redis when they were made (503 to the client).
const repair = setInterval(() => void reconcile(), 5 * 60_000);
repair.unref();

// Stop taking requests, let in-flight ones finish, then close queues, Redis and databases.
onShutdown(log, 'web', async () => {
  clearInterval(repair);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await ctx.close();
});
