import type { Server } from 'node:http';
import { createApp } from './api/app';
import { loadConfig, loadLocalEnv } from './config';
import { createContext } from './context';
import { createLogger } from './logger';

/** The `web` process: the API and Bull Board. One is enough; it is stateless but for the databases. */
const log = createLogger('web');
let config;
try {
  loadLocalEnv();
  config = loadConfig();
} catch (err) {
  log.fatal((err as Error).message);
  process.exit(1);
}
const ctx = await createContext(config, 'web', log);
// Only web writes job schedulers: make Redis match the schedules table before serving.
await ctx.reconciler.reconcileAll();
const app = createApp(ctx);
const server: Server = app.listen(config.port, config.host, () => {
  log.info({ url: `http://${config.host}:${config.port}` }, 'web listening');
});
server.keepAliveTimeout = 65_000;

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'web stopping');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await ctx.close();
  log.info('web stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
