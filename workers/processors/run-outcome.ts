import type { AppContext } from '../../src/context';
import { enqueueRunNotification } from '../../src/queue/producers';
import type { RunRow } from '../../src/services/runs';

/** Ends a run as failed with a message for the customer, and drops its working sets. */
export async function failRun(ctx: AppContext, runId: string, error: string): Promise<RunRow | undefined> {
  ctx.runs.abort(runId, error);
  const run = ctx.runs.finish(runId, { status: 'failed', added: 0, removed: 0, failed: 0, error });
  await ctx.warehouse.discardRun(runId);
  ctx.log.info({ runId, status: 'failed' }, 'run finished');
  await notifyRunEnded(ctx, run);
  return run;
}

/** Queues the completion email when the run has recipients (once per run: the job id is the run's). */
export async function notifyRunEnded(ctx: AppContext, run: RunRow | undefined): Promise<void> {
  if (run && run.recipients.length > 0) {
    await enqueueRunNotification(ctx.queues, run.id, ctx.config.mail);
  }
}
