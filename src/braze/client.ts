import { Agent, request } from 'undici';
import type { IncomingHttpHeaders } from 'undici/types/header';
import { brazeDuration, brazeRateLimited, brazeRequests, statusClass } from '../metrics/metrics';
import { BrazePermanentError, BrazeRateLimitedError, BrazeRetryableError } from './errors';

export interface BrazeClientOptions {
  /** The customer's REST endpoint, e.g. https://rest.iad-01.braze.com (already validated). */
  endpoint: string;
  partner: string;
  partnerApiKey: string;
  /** The variable the partner key came from (e.g. BRAZE_PARTNER_API_KEY_EU), named when Braze refuses it. */
  partnerApiKeyVariable: string;
  dataImportKey: string;
  userAgent: string;
  timeoutMs: number;
}

export interface BrazeCallResult {
  status: number;
  /** From X-RateLimit-* when Braze sends them (undocumented on these endpoints). */
  rateLimitRemaining: number | null;
  rateLimitReset: number | null;
}

/** The cohort id of the key check: no cohort has it, and the check sends no changes for it. */
export const KEY_CHECK_COHORT_ID = 'cohort-import-connection-check';

/**
 * The partner cohort-import contract (docs/braze-cohort-api.md). Both secrets travel in the
 * JSON body; they never appear in a thrown error. Requests go through undici's `request` on one
 * keep-alive agent per process: a page's POST costs about a quarter of the CPU that `fetch` spends
 * on it (WHATWG streams, a Response object and an AbortSignal timer per call), and the worker's
 * CPU per page is what bounds an import's pace on a small host.
 */
export class BrazeClient {
  constructor(private readonly opts: BrazeClientOptions) {}

  /** Creates the cohort, or renames it when the id is known. */
  createCohort(input: { cohortId: string; name: string; createdAt: Date }): Promise<BrazeCallResult> {
    return this.post('cohorts', {
      cohort_id: input.cohortId,
      name: input.name,
      created_at: input.createdAt.toISOString(),
    });
  }

  /**
   * Checks both keys with a call that changes nothing: no changes for a cohort id nobody uses
   * (Segment's Braze Cohorts destination tests a connection the same way).
   */
  checkKeys(): Promise<BrazeCallResult> {
    return this.post('cohorts/users', { cohort_id: KEY_CHECK_COHORT_ID, cohort_changes: [] });
  }

  /** Adds and removes members; `cohortChangesJson` is the `cohort_changes` array as JSON text. */
  updateCohortUsers(input: { cohortId: string; cohortChangesJson: string }): Promise<BrazeCallResult> {
    return this.post('cohorts/users', { cohort_id: input.cohortId }, `"cohort_changes":${input.cohortChangesJson}`);
  }

  private async post(path: string, fields: Record<string, unknown>, rawField?: string): Promise<BrazeCallResult> {
    const url = `${this.opts.endpoint}/partners/${this.opts.partner}/${path}`;
    const json = JSON.stringify({
      partner_api_key: this.opts.partnerApiKey,
      client_secret: this.opts.dataImportKey,
      ...fields,
    });
    // A pre-serialised member (the page's identifier lists) is spliced in before the last brace.
    const body = rawField ? `${json.slice(0, -1)},${rawField}}` : json;
    let res: Awaited<ReturnType<typeof request>>;
    // The endpoint label is the contract's path (cohorts, cohorts/users): never a cohort id.
    const started = performance.now();
    const observe = (status: number | null) => {
      brazeRequests.inc({ endpoint: path, status_class: statusClass(status) });
      brazeDuration.observe({ endpoint: path }, (performance.now() - started) / 1000);
      if (status === 429) brazeRateLimited.inc();
    };
    try {
      res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': this.opts.userAgent },
        body,
        dispatcher: keepAlive,
        // Waiting for the answer's headers, then for its body: each bounded by the timeout.
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
      });
    } catch (err) {
      observe(null);
      throw new BrazeRetryableError(
        `Braze ${timedOut(err) ? 'timed out' : 'could not be reached'} (${new URL(url).host})`,
        null,
      );
    }
    const status = res.statusCode;
    observe(status);
    const result: BrazeCallResult = {
      status,
      rateLimitRemaining: numberHeader(res.headers, 'x-ratelimit-remaining'),
      rateLimitReset: numberHeader(res.headers, 'x-ratelimit-reset'),
    };
    if (status >= 200 && status < 300) {
      // Read to the end, so the connection goes back to the pool for the next request.
      await res.body.dump().catch(() => undefined);
      return result;
    }
    const text = await res.body.text().catch(() => '');
    throw this.errorFor(status, res.headers, result, text);
  }

  private errorFor(status: number, headers: IncomingHttpHeaders, result: BrazeCallResult, text: string): Error {
    // Braze's own words, without our secrets (its 401 text can quote the client secret).
    const words = this.redact(brazeMessage(text));
    const detail = words ? `: ${words}` : '';
    if (status === 429) {
      return new BrazeRateLimitedError('Braze rate limit reached', retryAtFrom(headers, result));
    }
    if (status === 408 || status === 423 || status >= 500) {
      return new BrazeRetryableError(`Braze answered ${status}${detail}`, status);
    }
    const partnerPage = `Braze's "Technology Partners" page for ${this.opts.partner}`;
    if (status === 401 && /partner[ _]api[ _]key/i.test(words)) {
      return new BrazePermanentError(
        `Braze refused this service's partner API key (401): the operator should check ${this.opts.partnerApiKeyVariable}. The data import key was not the problem.`,
        status,
        'partner_api_key',
      );
    }
    if (status === 401) {
      return new BrazePermanentError(
        `Braze rejected the data import key (401): it is mistyped, was invalidated, belongs to another partner, or the ${this.opts.partner} integration is not enabled for its Braze workspace. Generate a new one on ${partnerPage} and save it with PUT /v1/braze-connection.`,
        status,
        'data_import_key',
      );
    }
    if (status === 403) {
      return new BrazePermanentError(
        `Braze refused the account (403): the Braze account or its plan does not allow cohort import from ${this.opts.partner}. The customer's Braze administrator should check the contract and ${partnerPage}.${words ? ` Braze said: ${words}` : ''}`,
        status,
        'account',
      );
    }
    if (status === 404) {
      return new BrazePermanentError(
        `Braze answered 404 at ${new URL(this.opts.endpoint).host}: either cohort import is not available on this Braze cluster (the customer should check the REST endpoint shown on ${partnerPage}) or the partner slug "${this.opts.partner}" is wrong (the operator should check BRAZE_PARTNER).`,
        status,
        'endpoint',
      );
    }
    return new BrazePermanentError(`Braze rejected the request (${status})${detail}`, status);
  }

  private redact(text: string): string {
    let out = text;
    for (const secret of [this.opts.dataImportKey, this.opts.partnerApiKey]) {
      if (secret) out = out.split(secret).join('[redacted]');
    }
    return out.slice(0, 500);
  }
}

/** Keep-alive connections to Braze, shared by every client in the process (undici's defaults: 4 s idle). */
const keepAlive = new Agent();

function timedOut(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

function numberHeader(headers: IncomingHttpHeaders, name: string): number | null {
  const v = header(headers, name);
  if (v === null || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** When to resend after a 429: X-RateLimit-Reset (epoch seconds), else Retry-After, else 1 s. */
function retryAtFrom(headers: IncomingHttpHeaders, result: BrazeCallResult): number {
  const now = Date.now();
  if (result.rateLimitReset !== null && result.rateLimitReset * 1000 > now) return result.rateLimitReset * 1000;
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return now + seconds * 1000;
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return date;
  }
  return now + 1000;
}

function brazeMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; errors?: unknown };
    const parts = [
      typeof body.message === 'string' ? body.message : '',
      Array.isArray(body.errors) ? body.errors.join('; ') : '',
    ];
    return parts.filter(Boolean).join(' — ');
  } catch {
    return text.trim();
  }
}
