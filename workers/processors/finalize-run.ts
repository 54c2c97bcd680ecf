import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { finalizeRunPayload, uploadPageResult, uploadSpanProgress } from '../../src/queue/payloads';

/**
 * Every page span of a run is done (sent, skipped or given up): the run module sums what Braze
 * acknowledged and ends the run. A span that gave up part-way still sent its first pages; its
 * progress (kept with the failed job) says how many and what they carried. A first import frozen
 * chunk by chunk has one more child, its freeze-pages job, which carries no pages.
 */
export async function finalizeRun(ctx: AppContext, job: Job) {
  const { runId } = finalizeRunPayload.parse(job.data);
  const spanKey = `${ctx.queues.uploadPage.qualifiedName}:`;
  const spans = <T>(byKey: Record<string, T>) => Object.entries(byKey).filter(([key]) => key.startsWith(spanKey));
  const values = spans(await job.getChildrenValues()).map(([, v]) => uploadPageResult.parse(v));
  const failed = spans(await job.getIgnoredChildrenFailures());
  let added = 0;
  let removed = 0;
  for (const v of values) {
    added += v.added;
    removed += v.removed;
  }
  for (const [key] of failed) {
    const span = await ctx.queues.uploadPage.getJob(key.slice(spanKey.length));
    const sent = uploadSpanProgress.safeParse(span?.progress);
    if (!sent.success) continue; // it failed on its first page: nothing of it reached Braze
    added += sent.data.added;
    removed += sent.data.removed;
  }
  return ctx.execution.finish(runId, { added, removed, failures: failed.map(([, reason]) => reason) }, job.id);
}
