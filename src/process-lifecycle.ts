import type { Server } from 'node:http';
import { type Config, ConfigError, loadConfig, loadLocalEnv } from './config';
import { type DeploymentClaim, PrefixOwnedElsewhereError } from './deployment';
import { createLogger, type Logger } from './logger';
import { REDIS_RETRY_MS } from './redis';

/**
 * The start and stop of a long-running process (web, worker): configuration validated first
 * (a bad variable stops the process with its name), and one ordered shutdown on SIGTERM or
 * SIGINT, run once.
 */
export function bootProcess(name: string): { log: Logger; config: Config } {
  try {
    loadLocalEnv();
    const config = loadConfig();
    return { log: createLogger(name, config.logLevel), config };
  } catch (err) {
    // Plain lines a person reads at a terminal, one per variable: no log machinery yet.
    const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
    for (const problem of problems) process.stderr.write(`${name}: ${problem}\n`);
    process.exit(1);
  }
}

/**
 * Listens, or exits 1 saying which variable moves the port when it is taken (Express 5 hands a
 * listen error to the callback, where it was easy to miss, and the process served nothing).
 */
export function listenOrExit(server: Server, opts: { name: string; port: number; host: string; portVariable: string }) {
  return new Promise<void>((resolve) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const problem =
        err.code === 'EADDRINUSE'
          ? `port ${opts.port} is in use — set ${opts.portVariable} to another port`
          : `cannot listen on ${opts.host}:${opts.port}: ${err.message}`;
      process.stderr.write(`${opts.name}: ${problem}\n`);
      process.exit(1);
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
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

/**
 * Claims this deployment's queue prefix, waiting for Redis as long as it takes when `wait` is
 * set (a worker can do nothing without it). Exits 1 when another deployment owns the prefix.
 * Returns whether the claim was made.
 */
export async function claimQueuePrefix(
  name: string,
  claim: DeploymentClaim,
  opts: { wait: boolean },
): Promise<boolean> {
  for (;;) {
    try {
      await claim.claim();
      return true;
    } catch (err) {
      if (err instanceof PrefixOwnedElsewhereError) {
        process.stderr.write(`${name}: ${err.message}\n`);
        process.exit(1);
      }
      // Redis is away: the outage is logged once by the connection's RedisOutageLog.
      if (!opts.wait) return false;
      await new Promise((r) => setTimeout(r, REDIS_RETRY_MS));
    }
  }
}
