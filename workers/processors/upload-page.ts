import { type Job, UnrecoverableError } from 'bullmq';
import { cohortChangesJson } from '../../src/braze/cohort-changes';
import { BrazeError } from '../../src/braze/errors';
import type { AppContext } from '../../src/context';
import { finalizeJobId } from '../../src/queue/producers';
import { type UploadPageResult, uploadPagePayload } from '../../src/queue/payloads';
import { runProgressKey } from '../../src/services/run-closer';
import { delayJob, sendWithBudget } from './send-with-budget';

/** How long a page waits in its worker for a cohort slot before it steps aside (delayed). */
const COHORT_SLOT_WAIT_MS = 1_000;

/**
 * Sends one page of a run's diff (≤ 1,000 identifiers) to Braze and, once Braze acknowledged
 * it, records it as synced in one transaction. Resending a page is harmless, so a crash
 * between the two only costs a repeat.
 */
export async function uploadPage(ctx: AppContext, job: Job, token: string | undefined): Promise<UploadPageResult> {
  const page = uploadPagePayload.parse(job.data);
  const run = await ctx.runs.get(page.runId);
  const skipped: UploadPageResult = { added: 0, removed: 0, skipped: true };
  if (!run) {
    ctx.log.warn({ jobId: job.id, runId: page.runId }, 'job for an unknown run skipped');
    return skipped;
  }
  // A run already failed by a permanent error sends nothing more.
  if (run.status !== 'running' || run.error || !run.syncScope) return skipped;
  const cohort = await ctx.cohorts.byId(run.cohortId);
  if (!cohort) return skipped;

  const changes = await ctx.warehouse.readPage(page.runId, page.fromSeq, page.toSeq);
  let connection;
  try {
    connection = await ctx.connections.forRun(run.workspaceId);
  } catch (err) {
    // The connection was deleted (or its region lost its partner key) mid-run.
    if (err instanceof BrazeError) await abortRun(ctx, page.runId, err.message);
    throw err;
  }
  // At most BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT pages of this cohort at Braze at once.
  if (!(await ctx.cohortSlots.acquire(run.cohortId, job.id!, COHORT_SLOT_WAIT_MS))) {
    await delayJob(job, token, Date.now() + COHORT_SLOT_WAIT_MS * (0.5 + Math.random()));
  }
  let sent;
  try {
    sent = await sendWithBudget(ctx, job, token, run.workspaceId, () =>
      connection.client.updateCohortUsers({
        cohortId: cohort.brazeCohortId,
        cohortChangesJson: cohortChangesJson(changes),
      }),
    );
  } finally {
    await ctx.cohortSlots.release(run.cohortId, job.id!);
  }
  if (!sent.ok) await abortRun(ctx, page.runId, sent.error);
  await ctx.warehouse.applyChanges(page.runId, run.cohortId, run.syncScope, page.fromSeq, page.toSeq);
  await reportProgress(ctx, page.runId, run.pagesTotal);

  return { added: changes.added, removed: changes.removed, skipped: false };
}

/** A permanent error: the run fails with it, and every other page of the run sends nothing. */
async function abortRun(ctx: AppContext, runId: string, error: string): Promise<never> {
  await ctx.runs.abort(runId, error);
  throw new UnrecoverableError(error);
}

/** Shows "pages done / total" on the run's finalize job in Bull Board (every tenth page, and the last). */
async function reportProgress(ctx: AppContext, runId: string, pagesTotal: number): Promise<void> {
  const key = runProgressKey(ctx.config.queuePrefix, runId);
  const [[, done]] = (await ctx.redis
    .multi()
    .incr(key)
    .expire(key, 7 * 24 * 3600)
    .exec()) as [[null, number]];
  if (done % 10 !== 0 && done < pagesTotal) return;
  await ctx.queues.finalizeRun.updateJobProgress(finalizeJobId(runId), {
    pagesDone: Math.min(done, pagesTotal),
    pagesTotal,
  });
}
