import { Redis } from 'ioredis';
import type { Logger } from './logger';

/** How long a lost Redis connection waits between attempts to come back. */
export const REDIS_RETRY_MS = 2_000;

/**
 * Redis for BullMQ. Workers block on Redis and must wait it out (maxRetriesPerRequest null);
 * everything else (producers, the rate budget, health) should fail fast instead of hanging a
 * request when Redis is away, so a client gets a 503 and can try again.
 */
export function createRedis(url: string, role: 'worker' | 'client'): Redis {
  const retryStrategy = () => REDIS_RETRY_MS;
  return role === 'worker'
    ? new Redis(url, { maxRetriesPerRequest: null, retryStrategy })
    : new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5_000, retryStrategy });
}

/** The URL without its password, for a log line. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'the configured REDIS_URL';
  }
}

const CONNECTION_ERRORS = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN|Connection is closed/;

export function isRedisConnectionError(err: Error): boolean {
  return CONNECTION_ERRORS.test(err.message);
}

/**
 * One log line per Redis outage, however many connections, queues and retries see it: every
 * connection's 'error' and 'ready' events go through one instance per process. Errors that are
 * not about reaching Redis are logged as they come.
 */
export class RedisOutageLog {
  private down = false;
  /** A connection closed since Redis last answered: a restart can be quick enough to raise no error. */
  private interrupted = false;
  private readonly recoveryListeners: (() => void)[] = [];

  constructor(
    private readonly log: Logger,
    private readonly url: string,
  ) {}

  readonly onError = (err: Error): void => {
    if (!isRedisConnectionError(err)) {
      this.log.warn({ err: err.message }, 'redis error');
      return;
    }
    if (this.down) return;
    this.down = true;
    this.log.warn(
      { err: err.message },
      `Redis unreachable at ${redactRedisUrl(this.url)}; retrying every ${REDIS_RETRY_MS / 1000} s`,
    );
  };

  readonly onClose = (): void => {
    this.interrupted = true;
  };

  readonly onReady = (): void => {
    if (!this.down && !this.interrupted) return;
    this.log.info(`Redis reachable again at ${redactRedisUrl(this.url)}`);
    this.down = false;
    this.interrupted = false;
    for (const listener of this.recoveryListeners) listener();
  };

  /** Called each time Redis answers again after an outage or a lost connection (not at the first connect). */
  onRecovered(listener: () => void): void {
    this.recoveryListeners.push(listener);
  }

  /** Routes a connection's events here. */
  watch(connection: Redis): Redis {
    connection.on('error', this.onError);
    connection.on('close', this.onClose);
    connection.on('ready', this.onReady);
    return connection;
  }
}
