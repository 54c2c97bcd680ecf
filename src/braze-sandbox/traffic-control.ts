/**
 * What `PUT /sandbox/config` sets: the rate limit of the partner endpoints (per Braze
 * workspace, always on, as on Braze), injected faults (errors, 429s, latency), maintenance
 * mode (calls are queued, answered 202) and the per-cohort lock (overlapping calls for one
 * cohort answer 423), so importers can be tested against Braze's less usual answers.
 */
import { z } from 'zod';
import { SandboxHttpError, statusMessage } from './errors';
import { FixedWindowRateLimiter, rateLimitHeaders } from './rate-limiter';

/** Braze's documented limit on the cohort endpoints: 250,000 requests per hour. */
export const BRAZE_RATE_LIMIT: RateLimitConfig = { limit: 250_000, window_seconds: 3_600 };

export const rateLimitConfigSchema = z.strictObject({
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

/**
 * A field left out keeps its value; `null` turns faults off and puts the rate limit back to
 * the one the sandbox started with.
 */
export const sandboxConfigUpdateSchema = z.strictObject({
  rate_limit: rateLimitConfigSchema.nullable().optional(),
  faults: faultConfigSchema.nullable().optional(),
  maintenance: z.boolean().optional(),
  lock_on_overlap: z.boolean().optional(),
});
export type SandboxConfigUpdate = z.infer<typeof sandboxConfigUpdateSchema>;

export interface SandboxConfig {
  rate_limit: RateLimitConfig;
  faults: FaultConfig | null;
  /** Calls are validated, answered 202 {"message":"queued"} and applied when maintenance ends. */
  maintenance: boolean;
  /** A call for a cohort that has another call in flight answers 423 "Resource locked". */
  lock_on_overlap: boolean;
}

export class TrafficControl {
  private config: SandboxConfig;
  private limiter: FixedWindowRateLimiter;
  /** What maintenance mode accepted, in arrival order. */
  private held: (() => void)[] = [];

  /** `random` returns [0, 1) like Math.random; tests pass a scripted one. */
  constructor(
    private readonly random: () => number,
    private readonly defaultRateLimit: RateLimitConfig = BRAZE_RATE_LIMIT,
  ) {
    this.config = { rate_limit: defaultRateLimit, faults: null, maintenance: false, lock_on_overlap: false };
    this.limiter = limiterFor(defaultRateLimit);
  }

  get current(): SandboxConfig {
    return this.config;
  }

  /** Calls queued by maintenance mode and not applied yet. */
  get queued(): number {
    return this.held.length;
  }

  update(update: SandboxConfigUpdate): SandboxConfig {
    if (update.rate_limit !== undefined) {
      // A new limit starts with fresh windows.
      this.limiter = limiterFor(update.rate_limit ?? this.defaultRateLimit);
    }
    this.config = {
      rate_limit:
        update.rate_limit === undefined ? this.config.rate_limit : (update.rate_limit ?? this.defaultRateLimit),
      faults: update.faults === undefined ? this.config.faults : update.faults,
      maintenance: update.maintenance ?? this.config.maintenance,
      lock_on_overlap: update.lock_on_overlap ?? this.config.lock_on_overlap,
    };
    if (!this.config.maintenance) this.applyHeld();
    return this.config;
  }

  /** Back to the start: default limit, no faults, no modes; queued calls are dropped unapplied. */
  reset(): void {
    this.held = [];
    this.update({ rate_limit: null, faults: null, maintenance: false, lock_on_overlap: false });
  }

  /**
   * Applies a validated call now, or in maintenance mode keeps it for later; true when kept.
   * A kept call that fails when applied (its cohort was never created) is dropped, as Braze
   * cannot report back on a call it already answered.
   */
  applyOrHold(apply: () => void): boolean {
    if (!this.config.maintenance) {
      apply();
      return false;
    }
    this.held.push(apply);
    return true;
  }

  private applyHeld(): void {
    const held = this.held;
    this.held = [];
    for (const apply of held) {
      try {
        apply();
      } catch {
        // dropped: see applyOrHold
      }
    }
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
        'X-RateLimit-Limit': String(this.config.rate_limit.limit),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.ceil((Date.now() + 1000) / 1000)),
        'Retry-After': '1',
      });
    }
    return null;
  }

  /**
   * Counts the call against its Braze workspace's window (Braze limits per workspace). Returns
   * the X-RateLimit-* headers for a call that may proceed; throws the 429 otherwise.
   */
  admit(workspaceId: string): Record<string, string> {
    const decision = this.limiter.take(workspaceId);
    const headers = rateLimitHeaders(decision);
    if (!decision.allowed) {
      throw new SandboxHttpError(
        429,
        'Rate limit exceeded',
        [`at most ${decision.limit} requests per ${this.limiter.windowSeconds} s per Braze workspace`],
        headers,
      );
    }
    return headers;
  }
}

function limiterFor(config: RateLimitConfig): FixedWindowRateLimiter {
  return new FixedWindowRateLimiter(config.limit, config.window_seconds);
}

function faultMessage(status: number): string {
  return status === 423 ? 'Resource locked' : statusMessage(status);
}
