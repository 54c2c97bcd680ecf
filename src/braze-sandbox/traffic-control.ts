/**
 * What `PUT /sandbox/config` sets: a rate limit on the partner endpoints and injected faults
 * (errors, 429s, latency), so importers can be tested against a misbehaving Braze.
 */
import { z } from 'zod';
import { SandboxHttpError, statusMessage } from './errors';
import { FixedWindowRateLimiter, rateLimitHeaders } from './rate-limiter';

/** Braze's documented limit on the cohort endpoints, reported by injected 429s when no limit is set. */
const BRAZE_HOURLY_LIMIT = 250_000;

const rateLimitConfigSchema = z.strictObject({
  limit: z.int().positive(),
  window_seconds: z.number().positive(),
});
export type RateLimitConfig = z.infer<typeof rateLimitConfigSchema>;

const faultConfigSchema = z
  .strictObject({
    error_share: z.number().min(0).max(1).default(0),
    error_statuses: z.array(z.int().min(400).max(599)).min(1).default([500, 503]),
    rate_limited_share: z.number().min(0).max(1).default(0),
    latency_ms: z.int().min(0).max(60_000).default(0),
  })
  .refine((faults) => faults.error_share + faults.rate_limited_share <= 1, {
    error: 'error_share + rate_limited_share must not exceed 1',
  });
export type FaultConfig = z.infer<typeof faultConfigSchema>;

/** A field left out keeps its value; `null` switches it off. */
export const sandboxConfigUpdateSchema = z.strictObject({
  rate_limit: rateLimitConfigSchema.nullable().optional(),
  faults: faultConfigSchema.nullable().optional(),
});
export type SandboxConfigUpdate = z.infer<typeof sandboxConfigUpdateSchema>;

export interface SandboxConfig {
  rate_limit: RateLimitConfig | null;
  faults: FaultConfig | null;
}

export class TrafficControl {
  private config: SandboxConfig = { rate_limit: null, faults: null };
  private limiter: FixedWindowRateLimiter | null = null;

  /** `random` returns [0, 1) like Math.random; tests pass a scripted one. */
  constructor(private readonly random: () => number) {}

  get current(): SandboxConfig {
    return this.config;
  }

  update(update: SandboxConfigUpdate): SandboxConfig {
    if (update.rate_limit !== undefined) {
      // A new limit starts with fresh windows.
      this.limiter = update.rate_limit
        ? new FixedWindowRateLimiter(update.rate_limit.limit, update.rate_limit.window_seconds)
        : null;
    }
    this.config = {
      rate_limit: update.rate_limit === undefined ? this.config.rate_limit : update.rate_limit,
      faults: update.faults === undefined ? this.config.faults : update.faults,
    };
    return this.config;
  }

  reset(): void {
    this.update({ rate_limit: null, faults: null });
  }

  latencyMs(): number {
    return this.config.faults?.latency_ms ?? 0;
  }

  /**
   * Decides whether this partner call fails on purpose: one draw of `random` against
   * error_share, then rate_limited_share; a second draw picks among several error_statuses.
   */
  drawFault(): SandboxHttpError | null {
    const faults = this.config.faults;
    if (!faults || faults.error_share + faults.rate_limited_share === 0) return null;
    const draw = this.random();
    if (draw < faults.error_share) {
      const statuses = faults.error_statuses;
      const pick = statuses.length === 1 ? 0 : Math.floor(this.random() * statuses.length);
      const status = statuses[Math.min(pick, statuses.length - 1)]!;
      return new SandboxHttpError(status, faultMessage(status), ['fault injected by the Braze sandbox']);
    }
    if (draw < faults.error_share + faults.rate_limited_share) {
      return new SandboxHttpError(429, 'Rate limit exceeded', ['fault injected by the Braze sandbox'], {
        'X-RateLimit-Limit': String(this.config.rate_limit?.limit ?? BRAZE_HOURLY_LIMIT),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.ceil((Date.now() + 1000) / 1000)),
        'Retry-After': '1',
      });
    }
    return null;
  }

  /**
   * Counts the call against the partner key's window. Returns the X-RateLimit-* headers for a
   * call that may proceed (none while no limit is set); throws the 429 otherwise.
   */
  admit(partnerApiKey: string): Record<string, string> {
    if (!this.limiter) return {};
    const decision = this.limiter.take(partnerApiKey);
    const headers = rateLimitHeaders(decision);
    if (!decision.allowed) {
      throw new SandboxHttpError(
        429,
        'Rate limit exceeded',
        [`at most ${decision.limit} requests per ${this.limiter.windowSeconds} s per partner key`],
        headers,
      );
    }
    return headers;
  }
}

function faultMessage(status: number): string {
  return status === 423 ? 'Resource locked' : statusMessage(status);
}
