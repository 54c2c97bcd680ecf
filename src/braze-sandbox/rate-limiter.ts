/**
 * A fixed-window request limit per key (the partner API key). A key's window opens with its
 * first request and lasts `windowSeconds`; the next request after that opens a new one.
 */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When the window closes, in UTC epoch seconds (rounded up, so waiting until then is enough). */
  resetEpochSeconds: number;
  /** Whole seconds until the window closes, at least 1. */
  retryAfterSeconds: number;
}

interface Window {
  startedAt: number;
  used: number;
}

export class FixedWindowRateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly limit: number,
    readonly windowSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request against `key` if the window has room left. */
  take(key: string): RateLimitDecision {
    const now = this.now();
    const windowMs = this.windowSeconds * 1000;
    let window = this.windows.get(key);
    if (!window || now >= window.startedAt + windowMs) {
      window = { startedAt: now, used: 0 };
      this.windows.set(key, window);
    }
    const allowed = window.used < this.limit;
    if (allowed) window.used += 1;
    const endsAt = window.startedAt + windowMs;
    return {
      allowed,
      limit: this.limit,
      remaining: this.limit - window.used,
      resetEpochSeconds: Math.ceil(endsAt / 1000),
      retryAfterSeconds: Math.max(1, Math.ceil((endsAt - now) / 1000)),
    };
  }
}

export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(decision.limit),
    'X-RateLimit-Remaining': String(decision.remaining),
    'X-RateLimit-Reset': String(decision.resetEpochSeconds),
  };
  if (!decision.allowed) headers['Retry-After'] = String(decision.retryAfterSeconds);
  return headers;
}
