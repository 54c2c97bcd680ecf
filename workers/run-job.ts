import { DelayedError, type Job } from 'bullmq';
import type { BrazeCallResult } from '../src/braze/client';
import { BrazeError, BrazeRateLimitedError } from '../src/braze/errors';
import type { AppContext } from '../src/context';
import type { RunJob, SendOutcome } from '../src/runs/run-execution';
import { rateBudgetWait } from '../src/metrics/metrics';
import { requestIdOf } from './worker-manager';

/** How long a page waits in its worker for a cohort slot before it steps aside (delayed). */
const COHORT_SLOT_WAIT_MS = 1_000;
/**
 * …and how long it then stays delayed: short, so a slot that frees while every waiter is away
 * does not sit idle (a span is ~10 requests; a slot idle for a second cost a third of the
 * throughput), while the step-aside still lets other cohorts' spans have the worker.
 */
const COHORT_SLOT_RETRY_MS = 100;

/**
 * A BullMQ job as the run module sees it (`RunJob`): progress for Bull Board (and for a retry to
 * resume from), the cohort's in-flight bound, and sends paced by the shared rate budget.
 * - Budget exhausted, Braze said 429, or the cohort's slots are taken: the job moves back to
 *   delayed until it may send, without spending an attempt (a 429 pauses the connection for
 *   every worker).
 * - Retryable failures (5xx, 423, network) are thrown: BullMQ retries with backoff.
 * - Permanent failures come back as `{ok: false}` for the run module to fail the run.
 */
export function runJob(ctx: AppContext, job: Job, token: string | undefined): RunJob {
  return {
    requestId: requestIdOf(job),
    lastProgress: () => job.progress,
    progress: (state) => job.updateProgress(state),
    later: (until) => delayJob(job, token, until),
    async withCohortSlot(cohortId, requests, work) {
      // At most BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT of this cohort's jobs send at once; the
      // slot's lease covers the job's requests, and outlives a killed holder only that long
      // (its retry, the same job id, takes the same slot back at once).
      const leaseMs = ctx.cohortSlots.leaseFor(requests);
      if (!(await ctx.cohortSlots.acquire(cohortId, job.id!, COHORT_SLOT_WAIT_MS, leaseMs))) {
        await delayJob(job, token, Date.now() + COHORT_SLOT_RETRY_MS * (0.5 + Math.random()));
      }
      try {
        return await work();
      } finally {
        await ctx.cohortSlots.release(cohortId, job.id!);
      }
    },
    send: (call, budgetKey, inFlight) => sendWithBudget(ctx, job, token, budgetKey, call, inFlight),
  };
}

async function sendWithBudget(
  ctx: AppContext,
  job: Job,
  token: string | undefined,
  connectionKey: string,
  send: () => Promise<BrazeCallResult>,
  inFlight: Promise<unknown> | undefined,
): Promise<SendOutcome> {
  // The job goes back to the queue only once this attempt's work in flight is done: a next
  // attempt that started before it would resume from stale progress.
  const handBack = async (until: number) => {
    await inFlight?.catch(() => undefined);
    return delayJob(job, token, until);
  };
  const wait = await ctx.rateBudget.take(connectionKey);
  if (wait > 0) {
    rateBudgetWait.inc(wait / 1000);
    await handBack(Date.now() + wait);
  }
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
      rateBudgetWait.inc(Math.max(0, err.retryAt - Date.now()) / 1000);
      await handBack(err.retryAt);
    }
    if (err.kind === 'permanent') return { ok: false, error: err.message };
    throw err;
  }
}

/** Moves the job back to delayed until `until` (epoch ms) without spending an attempt. */
async function delayJob(job: Job, token: string | undefined, until: number): Promise<never> {
  await job.moveToDelayed(until, token);
  throw new DelayedError();
}
