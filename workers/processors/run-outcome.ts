import type { AppContext } from '../../src/context';
import { enqueueRunNotification } from '../../src/queue/producers';
import type { RunRow } from '../../src/services/runs';

/** Ends a run as failed with a message for the customer, and drops its working sets. */
export async function failRun(ctx: AppContext, runId: string, error: string): Promise<RunRow | undefined> {
  ctx.runs.abort(runId, error);
  const run = ctx.runs.finish(runId, { status: 'failed', added: 0, removed: 0, failed: 0, error });
  ctx.log.info({ runId, status: 'failed' }, 'run finished');
  await settleEndedRun(ctx, run);
  return run;
}

export const isActive = (run: RunRow) => run.status === 'queued' || run.status === 'running';

/**
 * What follows a run's end: drop its working sets and queue its email. Both are idempotent,
 * so a job retried after the run was marked finished (say a Redis blip while queueing the
 * email) completes them instead of skipping them.
 */
export async function settleEndedRun(ctx: AppContext, run: RunRow | undefined): Promise<void> {
  if (!run || isActive(run)) return;
  await ctx.warehouse.discardRun(run.id);
  await ctx.redis.del(`${ctx.config.queuePrefix}:run-progress:${run.id}`);
  await notifyRunEnded(ctx, run);
}

/** Queues the completion email when the run has recipients (once per run: the job id is the run's). */
export async function notifyRunEnded(ctx: AppContext, run: RunRow | undefined): Promise<void> {
  if (run && run.recipients.length > 0) {
    await enqueueRunNotification(ctx.queues, run.id, ctx.config.mail);
  }
}
