import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { scheduledImportPayload } from '../../src/queue/payloads';
import { ConflictError, NotFoundError } from '../../src/services/errors';

/**
 * A schedule fired: start a run with trigger "scheduled" through the same path as a one-time
 * import. The schedule is read afresh (it may have been paused or removed since the job was
 * made); a run already in progress means this firing is skipped, not queued behind it, and
 * recorded in the history as `skipped`.
 */
export async function scheduledImport(ctx: AppContext, job: Job) {
  const { cohortId, workspaceId } = scheduledImportPayload.parse(job.data);
  const schedule = await ctx.schedules.find(cohortId);
  if (!schedule || !schedule.enabled || schedule.workspaceId !== workspaceId) {
    return { skipped: 'the schedule was removed or paused' };
  }
  try {
    const { run } = await ctx.imports.enqueue(workspaceId, cohortId, {
      trigger: 'scheduled',
      recipients: schedule.recipients,
      notify: schedule.notify,
      requireConnection: false,
    });
    return { runId: run.id };
  } catch (err) {
    if (err instanceof ConflictError && err.code === 'run_in_progress') {
      const activeRunId = err.details?.run_id as string | undefined;
      const skipped = await ctx.runs.recordSkipped({
        workspaceId,
        cohortId,
        recipients: schedule.recipients,
        activeRunId,
      });
      ctx.log.warn({ cohortId, activeRunId, runId: skipped.id }, 'scheduled import skipped: a run is in progress');
      return { skipped: 'a run of this cohort is in progress', activeRunId, runId: skipped.id };
    }
    if (err instanceof NotFoundError) return { skipped: 'the cohort was deleted' };
    throw err;
  }
}
