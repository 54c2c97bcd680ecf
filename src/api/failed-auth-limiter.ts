import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { withDeadline } from '../services/deadline';
import { errorBody } from './errors';

export interface FailedAuthLimit {
  /** Which door (api, bull-board): each counts its own failures. */
  scope: string;
  /** Failures from one address within the window before it is answered 429. */
  limit: number;
  windowMs: number;
}

/** Redis must answer within this, or the check steps aside (see below). */
const REDIS_DEADLINE_MS = 500;

/**
 * Slows guessing: once an address has had `limit` 401s within a window (counted in Redis, so
 * every web process shares them), its requests are answered 429 with Retry-After until the
 * window ends. The window opens at the first failure (a fixed window; simple and enough here).
 * Mounted before the credential check, so a blocked address is not even checked.
 */
export function failedAuthLimiter(redis: Redis, prefix: string, limit: FailedAuthLimit, log: Logger): RequestHandler {
  return async (req, res, next) => {
    const key = `${prefix}:auth-failures:${limit.scope}:${req.socket.remoteAddress ?? 'unknown'}`;
    const seen = await orSkip(redis.multi().get(key).pttl(key).exec(), log, limit.scope);
    const failures = Number(seen?.[0]?.[1] ?? 0);
    const ttlMs = Number(seen?.[1]?.[1] ?? -1);
    if (failures >= limit.limit && ttlMs > 0) {
      res
        .status(429)
        .set('Retry-After', String(Math.ceil(ttlMs / 1000)))
        .json(
          errorBody(
            'too_many_failed_attempts',
            'Too many failed authentications from this address; wait and try again.',
          ),
        );
      return;
    }
    res.on('finish', () => {
      if (res.statusCode !== 401) return;
      void orSkip(redis.multi().incr(key).pexpire(key, limit.windowMs, 'NX').exec(), log, limit.scope);
    });
    next();
  };
}

/**
 * With Redis away the limiter steps aside rather than lock everyone out (or hang a request):
 * credentials are still checked; only the slowing is lost for the outage.
 */
async function orSkip<T>(op: Promise<T>, log: Logger, scope: string): Promise<T | undefined> {
  try {
    return await withDeadline(op, REDIS_DEADLINE_MS, 'the failed-authentication count');
  } catch (err) {
    log.warn({ err: (err as Error).message, scope }, 'failed-authentication limiter skipped');
    return undefined;
  }
}
