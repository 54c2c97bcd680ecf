import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { finalizeRunPayload, uploadPagePayload, uploadPageResult } from '../../src/queue/payloads';

/**
 * Every page span of a run is done (sent, skipped or given up): the run module sums what Braze
 * acknowledged and ends the run. A span that gave up part-way still sent its first pages: the
 * warehouse's record of them (or, where it keeps none, the failed job's progress) says how many
 * and what they carried. A first import frozen chunk by chunk has one more child, its
 * freeze-pages job, which carries no pages.
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
    const payload = uploadPagePayload.safeParse(span?.data);
    if (!payload.success) continue; // its job is gone: nothing of it is known to have reached Braze
    const sent = await ctx.execution.sentOfSpan(payload.data, span?.progress);
    added += sent.added;
    removed += sent.removed;
  }
  return ctx.execution.finish(runId, { added, removed, failures: failed.map(([, reason]) => reason) }, job.id);
}
