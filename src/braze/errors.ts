/**
 * How a failed Braze call should be handled. Messages are written for the customer and
 * never contain a secret (Braze's own 401 text can quote the client secret, so it is not
 * passed through).
 */
export abstract class BrazeError extends Error {
  abstract readonly kind: 'retryable' | 'rate_limited' | 'permanent';
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

/** 5xx, 423, timeouts and network failures: try again later with backoff. */
export class BrazeRetryableError extends BrazeError {
  override name = 'BrazeRetryableError';
  readonly kind = 'retryable' as const;
}

/** 429: wait until `retryAt` (epoch ms), then resend; not a failed attempt. */
export class BrazeRateLimitedError extends BrazeError {
  override name = 'BrazeRateLimitedError';
  readonly kind = 'rate_limited' as const;
  constructor(
    message: string,
    readonly retryAt: number,
  ) {
    super(message, 429);
  }
}

/**
 * Whose setting Braze refused: the customer's data import key, the operator's partner API
 * key, the customer's Braze account or plan, the endpoint (cluster or partner slug), or the
 * request itself (our bug).
 */
export type BrazeRefusal = 'data_import_key' | 'partner_api_key' | 'account' | 'endpoint' | 'request';

/** 400/401/403/404 and other 4xx: retrying cannot help; the run fails with this message. */
export class BrazePermanentError extends BrazeError {
  override name = 'BrazePermanentError';
  readonly kind = 'permanent' as const;
  constructor(
    message: string,
    status: number | null,
    readonly refusal: BrazeRefusal = 'request',
  ) {
    super(message, status);
  }
}
