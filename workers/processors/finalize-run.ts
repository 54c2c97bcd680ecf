import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { finalizeRunPayload, uploadPageResult } from '../../src/queue/payloads';
import { isActiveRun } from '../../src/services/runs';

/**
 * Runs once every page of a run is done (sent, skipped or given up): sums the pages' results
 * into the run's history row and drops the run's working sets.
 */
export async function finalizeRun(ctx: AppContext, job: Job) {
  const { runId } = finalizeRunPayload.parse(job.data);
  const run = await ctx.runs.get(runId);
  if (!run) {
    // Another deployment's job (a shared queue prefix) or a run deleted with its workspace.
    ctx.log.warn({ jobId: job.id, runId }, 'job for an unknown run skipped');
    return { skipped: 'run not found' };
  }
  if (!isActiveRun(run)) {
    await ctx.runCloser.settle(run);
    return { skipped: 'run already ended' };
  }

  const values = Object.values(await job.getChildrenValues()).map((v) => uploadPageResult.parse(v));
  const failures = Object.values(await job.getIgnoredChildrenFailures());
  let added = 0;
  let removed = 0;
  for (const v of values) {
    added += v.added;
    removed += v.removed;
  }
  const failed = run.changesTotal - added - removed;
  let status: 'succeeded' | 'partially_failed' | 'failed' = 'succeeded';
  let error = run.error;
  if (error) status = 'failed';
  else if (failed > 0) {
    status = added + removed > 0 ? 'partially_failed' : 'failed';
    error = `${failed} of ${run.changesTotal} changes could not be sent to Braze after every retry (${failures.length} page(s)). Last error: ${failures.at(-1) ?? 'unknown'}. Run the import again to send them.`;
  }
  const finished = await ctx.runs.finish(runId, { status, added, removed, failed, error });
  ctx.log.info({ runId, status, added, removed, failed }, 'run finished');
  await ctx.runCloser.settle(finished);
  return { status, added, removed, failed, unmatchable: finished?.unmatchable ?? 0 };
}
