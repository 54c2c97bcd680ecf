import { type Config, loadConfig, loadLocalEnv } from './config';
import { createLogger, type Logger } from './logger';

/**
 * The start and stop of a long-running process (web, worker): configuration validated first
 * (a bad variable stops the process with its name), and one ordered shutdown on SIGTERM or
 * SIGINT, run once.
 */
export function bootProcess(name: string): { log: Logger; config: Config } {
  const log = createLogger(name);
  try {
    loadLocalEnv();
    return { log, config: loadConfig() };
  } catch (err) {
    log.fatal((err as Error).message);
    process.exit(1);
  }
}

export function onShutdown(log: Logger, name: string, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, `${name} stopping`);
    await stop();
    log.info(`${name} stopped`);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
