import { DelayedError, type Job } from 'bullmq';
import type { BrazeCallResult } from '../../src/braze/client';
import { BrazeError, BrazeRateLimitedError } from '../../src/braze/errors';
import type { AppContext } from '../../src/context';

export type SendOutcome = { ok: true; result: BrazeCallResult } | { ok: false; error: string };

/**
 * Sends one Braze request inside the connection's shared budget.
 * - Budget exhausted or Braze said 429: the job is moved back to delayed until it may send,
 *   without spending an attempt, and the connection is paused for every worker.
 * - Retryable failures (5xx, 423, network) are thrown: BullMQ retries with backoff.
 * - Permanent failures (400, 401) come back as `{ok: false}` for the caller to fail the run.
 */
export async function sendWithBudget(
  ctx: AppContext,
  job: Job,
  token: string | undefined,
  connectionKey: string,
  send: () => Promise<BrazeCallResult>,
): Promise<SendOutcome> {
  const wait = await ctx.rateBudget.take(connectionKey);
  if (wait > 0) await delayJob(job, token, Date.now() + wait);
  try {
    const result = await send();
    if (result.rateLimitRemaining === 0 && result.rateLimitReset !== null) {
      await ctx.rateBudget.pauseUntil(connectionKey, result.rateLimitReset * 1000);
    }
    return { ok: true, result };
  } catch (err) {
    if (!(err instanceof BrazeError)) throw err;
    if (err instanceof BrazeRateLimitedError) {
      await ctx.rateBudget.pauseUntil(connectionKey, err.retryAt);
      await delayJob(job, token, err.retryAt);
    }
    if (err.kind === 'permanent') return { ok: false, error: err.message };
    throw err;
  }
}

/** Moves the job back to delayed until `until` (epoch ms) without spending an attempt. */
export async function delayJob(job: Job, token: string | undefined, until: number): Promise<never> {
  await job.moveToDelayed(until, token);
  throw new DelayedError();
}
