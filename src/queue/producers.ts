import type { JobsOptions } from 'bullmq';
import { LEAD_SPAN_PAGES, MAX_JOBS_PER_RUN, MIN_JOBS_PER_RUN, PAGE_SIZE, PAGES_PER_JOB, QueueNames } from './names';
import type { Job } from 'bullmq';
import {
  finalizeRunPayload,
  importRunPayload,
  type PlanCohortPayload,
  planCohortPayload,
  type PlanCohortResult,
  planCohortResult,
  forgetCohortPayload,
  type FreezePagesPayload,
  freezePagesPayload,
  notificationPayload,
  settleRunPayload,
  type UploadPagePayload,
  uploadPagePayload,
} from './payloads';
import type { Queues } from './queues';

/** Finished jobs stay a week for operators (ids and counts only), then go. */
const keep: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export const importRunJobId = (runId: string) => `run-${runId}`;
export const finalizeJobId = (runId: string) => `finalize-${runId}`;
export const pageJobId = (runId: string, firstPage: number) => `pages-${runId}-${firstPage}`;

export async function enqueueImportRun(queues: Queues, runId: string, requestId?: string): Promise<void> {
  const data = importRunPayload.parse({ runId, requestId });
  await queues.importRun.add('import-run', data, {
    ...keep,
    jobId: importRunJobId(runId),
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
  });
}

/**
 * Cuts `changes` identifiers into pages of PAGE_SIZE (the last one may be short) and the pages
 * into spans, one per job: PAGES_PER_JOB each, fewer for a small run (so it has MIN_JOBS_PER_RUN
 * jobs to run side by side), more for a huge one (so it never has more than MAX_JOBS_PER_RUN).
 */
export function pageSpans(changes: number, runId: string): UploadPagePayload[] {
  return cutSpans(runId, changes, true, pagesPerSpan(Math.ceil(changes / PAGE_SIZE)));
}

/** Pages per span job for a run of `pages` pages (see pageSpans). */
export function pagesPerSpan(pages: number): number {
  // The lead spans (see cutSpans) are short: the others stay within MAX_JOBS_PER_RUN without them.
  return Math.max(
    Math.min(PAGES_PER_JOB, Math.ceil(pages / MIN_JOBS_PER_RUN)),
    Math.ceil(pages / (MAX_JOBS_PER_RUN - MIN_JOBS_PER_RUN)),
  );
}

/**
 * The spans of `perJob` pages over seqs 1..extent, the first MIN_JOBS_PER_RUN of them at most
 * LEAD_SPAN_PAGES. While the diff is still being written (`complete` false) only spans whose
 * every page is full are cut; the last, perhaps short, once it is complete. The same inputs
 * always cut the same spans, so a retry re-cuts what it added.
 */
export function cutSpans(runId: string, extent: number, complete: boolean, perJob: number): UploadPagePayload[] {
  const pages = complete ? Math.ceil(extent / PAGE_SIZE) : Math.floor(extent / PAGE_SIZE);
  const spans: UploadPagePayload[] = [];
  for (let first = 1; first <= pages;) {
    const size = spans.length < MIN_JOBS_PER_RUN ? Math.min(perJob, LEAD_SPAN_PAGES) : perJob;
    const last = Math.min(pages, first + size - 1);
    if (last - first + 1 < size && !complete) break;
    spans.push({
      runId,
      firstPage: first,
      lastPage: last,
      fromSeq: (first - 1) * PAGE_SIZE + 1,
      toSeq: Math.min(extent, last * PAGE_SIZE),
    });
    first = last + 1;
  }
  return spans;
}

/** A span job's options: its id, its place in the queue (see addRunFlow) and its retries. */
function spanJobOptions(
  runId: string,
  span: UploadPagePayload,
  index: number,
  upload: { attempts: number; backoffMs: number },
): JobsOptions {
  return {
    ...keep,
    jobId: pageJobId(runId, span.firstPage),
    priority: index + 1,
    attempts: upload.attempts,
    backoff: { type: 'exponential', delay: upload.backoffMs, jitter: 0.5 },
    // A page that gives up is counted as failed by finalize-run rather than blocking it.
    ignoreDependencyOnFailure: true,
  };
}

const finalizeJobOptions = (runId: string): JobsOptions => ({
  ...keep,
  jobId: finalizeJobId(runId),
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
});

/**
 * Adds the run's page spans as children of its finalize-run job, atomically, so any worker on
 * any host can take any span and finalize runs once all are done. Deterministic job ids make a
 * repeated call (an import-run retried after this point) add nothing twice.
 *
 * Fairness between runs: span k of every run has priority k (BullMQ takes the lowest first,
 * first come first served among equals). A run that starts while another uploads has its first
 * spans taken before the older run's next ones, so a small run is not stuck behind a big one's
 * queue, and two big runs interleave span by span. It is least-attained-service scheduling:
 * a run is served ahead of those that have had more of the workers than it, and none starves,
 * since every run's later spans come up as soon as the newer runs have caught up.
 */
export async function addRunFlow(
  queues: Queues,
  runId: string,
  changes: number,
  upload: { attempts: number; backoffMs: number },
  requestId?: string,
): Promise<number> {
  const spans = pageSpans(changes, runId);
  await queues.flows.add({
    name: 'finalize-run',
    queueName: QueueNames.finalizeRun,
    data: finalizeRunPayload.parse({ runId, requestId }),
    opts: finalizeJobOptions(runId),
    children: spans.map((span, index) => ({
      name: 'upload-pages',
      queueName: QueueNames.uploadPage,
      data: uploadPagePayload.parse({ ...span, requestId }),
      opts: spanJobOptions(runId, span, index, upload),
    })),
  });
  return spans.length;
}

export const freezePagesJobId = (runId: string) => `freeze-${runId}`;

/**
 * A first import whose pages are fanned out while it is frozen: the finalize job with one child
 * for now, the freeze-pages job, which freezes the rest chunk by chunk and adds each span as
 * another child as soon as its pages are committed (addRunSpans). While it runs the finalize job
 * has a pending child, so it cannot start before the last span exists.
 */
export async function addProgressiveRunFlow(queues: Queues, payload: FreezePagesPayload): Promise<void> {
  const { runId, requestId } = payload;
  await queues.flows.add({
    name: 'finalize-run',
    queueName: QueueNames.finalizeRun,
    data: finalizeRunPayload.parse({ runId, requestId }),
    opts: finalizeJobOptions(runId),
    children: [
      {
        name: 'freeze-pages',
        queueName: QueueNames.importRun,
        data: freezePagesPayload.parse(payload),
        opts: {
          ...keep,
          jobId: freezePagesJobId(runId),
          attempts: 5,
          backoff: { type: 'exponential', delay: 2_000, jitter: 0.5 },
          // Its final failure fails the run (the worker's handler); finalize then settles it.
          ignoreDependencyOnFailure: true,
        },
      },
    ],
  });
}

/** Adds spans of a run whose finalize job exists as more of its children; `firstIndex` is the first one's place. */
export async function addRunSpans(
  queues: Queues,
  runId: string,
  spans: UploadPagePayload[],
  firstIndex: number,
  upload: { attempts: number; backoffMs: number },
  requestId?: string,
): Promise<void> {
  const parent = { id: finalizeJobId(runId), queue: queues.finalizeRun.qualifiedName };
  await queues.uploadPage.addBulk(
    spans.map((span, i) => ({
      name: 'upload-pages',
      data: uploadPagePayload.parse({ ...span, requestId }),
      opts: { ...spanJobOptions(runId, span, firstIndex + i, upload), parent },
    })),
  );
}

export const notificationJobId = (runId: string) => `notify-${runId}`;
export const holdNoticeJobId = (runId: string) => `notify-held-${runId}`;

/**
 * One completion email per run, and one "held" email if the guardrail held it: the job ids are
 * the run's, so a second enqueue adds nothing.
 */
export async function enqueueRunNotification(
  queues: Queues,
  runId: string,
  retry: { attempts: number; backoffMs: number },
  kind: 'completion' | 'held' = 'completion',
): Promise<void> {
  await queues.notifications.add('run-email', notificationPayload.parse({ runId, kind }), {
    ...keep,
    jobId: kind === 'held' ? holdNoticeJobId(runId) : notificationJobId(runId),
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs, jitter: 0.3 },
  });
}

export const settleJobId = (runId: string) => `settle-${runId}`;

/**
 * Settles an ended run in a worker (dropping a large working set is not web's work). A re-drive
 * gets a job id of its own: the first job may have failed for good and still hold the run's.
 */
export async function enqueueSettleRun(queues: Queues, runId: string, opts: { redrive?: boolean } = {}): Promise<void> {
  await queues.settleRun.add('settle-run', settleRunPayload.parse({ runId }), {
    ...keep,
    jobId: opts.redrive ? `${settleJobId(runId)}-${Date.now()}` : settleJobId(runId),
    attempts: 8,
    backoff: { type: 'exponential', delay: 2_000, jitter: 0.3 },
  });
}

/**
 * Whether anything in the queues will still move the run on: its finalize job once pages are
 * fanned out, before that its import-run job, alive (not completed, not failed for good).
 */
export async function runJobsMoveOn(queues: Queues, runId: string): Promise<boolean> {
  const [start, finalize] = await Promise.all([
    queues.importRun.getJob(importRunJobId(runId)),
    queues.finalizeRun.getJob(finalizeJobId(runId)),
  ]);
  return movesOn(finalize ?? start);
}

async function movesOn(job: Job | undefined): Promise<boolean> {
  if (!job) return false;
  const state = await job.getState();
  return state !== 'completed' && state !== 'failed' && state !== 'unknown';
}

/**
 * Takes back a run's import-run job if no worker holds it and no pages exist yet: true when
 * nothing in the queues acts for the run any more.
 */
export async function withdrawRunJobs(queues: Queues, runId: string): Promise<boolean> {
  if (await queues.finalizeRun.getJob(finalizeJobId(runId))) return false;
  const job = await queues.importRun.getJob(importRunJobId(runId));
  if (!job) return true;
  try {
    await job.remove();
    return true;
  } catch {
    return false; // active: a worker holds the lock and will see the abort
  }
}

/** Whether the run's pages were already fanned out (a retried import-run must not add them twice). */
export async function runPagesEnqueued(queues: Queues, runId: string): Promise<boolean> {
  return (await queues.finalizeRun.getJob(finalizeJobId(runId))) !== undefined;
}

/** Shows "pages done / total" on the run's finalize job in Bull Board. */
export async function showRunProgress(queues: Queues, runId: string, pagesDone: number, pagesTotal: number) {
  await queues.finalizeRun.updateJobProgress(finalizeJobId(runId), { pagesDone, pagesTotal });
}

/** Drops a deleted cohort's sync bookkeeping in a worker (one job per cohort). */
export async function enqueueForgetCohort(queues: Queues, cohortId: string): Promise<void> {
  await queues.forgetCohort.add('forget-cohort', forgetCohortPayload.parse({ cohortId }), {
    ...keep,
    jobId: `forget-${cohortId}`,
    attempts: 8,
    backoff: { type: 'exponential', delay: 2_000, jitter: 0.3 },
  });
}

/**
 * Asks a worker for a cohort's plan. One retry: the repeat uses the same plan id, so it replaces
 * and then drops whatever a crashed attempt froze. Plans are answers to a request, kept an hour.
 */
export async function enqueuePlanCohort(queues: Queues, payload: PlanCohortPayload): Promise<void> {
  await queues.planCohort.add('plan-cohort', planCohortPayload.parse(payload), {
    jobId: `plan-${payload.planId}`,
    attempts: 2,
    removeOnComplete: { age: 3600 },
    removeOnFail: { age: 3600 },
  });
}

export type PlanJobState = { done: PlanCohortResult } | { failed: string } | 'pending';

export async function planJobState(queues: Queues, planId: string): Promise<PlanJobState> {
  const id = `plan-${planId}`;
  // The state first, then the job: a job read before it completed has no return value yet.
  const state = await queues.planCohort.getJobState(id);
  if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return 'pending';
  const job = await queues.planCohort.getJob(id);
  if (!job || state === 'unknown') return { failed: 'the plan job is gone' };
  if (state === 'failed') return { failed: job.failedReason };
  return { done: planCohortResult.parse(job.returnvalue) };
}
