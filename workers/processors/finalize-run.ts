import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { finalizeRunPayload, uploadPageResult } from '../../src/queue/payloads';

/** Every page of a run is done (sent, skipped or given up): the run module sums them and ends the run. */
export async function finalizeRun(ctx: AppContext, job: Job) {
  const { runId } = finalizeRunPayload.parse(job.data);
  const values = Object.values(await job.getChildrenValues()).map((v) => uploadPageResult.parse(v));
  const failures = Object.values(await job.getIgnoredChildrenFailures());
  let added = 0;
  let removed = 0;
  for (const v of values) {
    added += v.added;
    removed += v.removed;
  }
  return ctx.execution.finish(runId, { added, removed, failures }, job.id);
}
