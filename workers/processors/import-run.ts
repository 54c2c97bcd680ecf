import type { Job } from 'bullmq';
import { BrazeError } from '../../src/braze/errors';
import type { AppContext } from '../../src/context';
import type { Criteria } from '../../src/domain/criteria';
import { addRunFlow, finalizeJobId } from '../../src/queue/producers';
import { importRunPayload } from '../../src/queue/payloads';
import { isActiveRun } from '../../src/services/runs';
import { failRun } from './run-outcome';
import { sendWithBudget } from './send-with-budget';

/**
 * Starts a run: freezes the cohort's members, registers (or renames) the cohort in Braze,
 * diffs against what Braze was told, and fans the diff out as pages under a finalize job.
 * Each step may be repeated safely if the job is retried.
 */
export async function importRun(ctx: AppContext, job: Job, token: string | undefined) {
  const { runId } = importRunPayload.parse(job.data);
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
  if (await ctx.queues.finalizeRun.getJob(finalizeJobId(runId))) return { skipped: 'pages already enqueued' };
  const upload = { attempts: ctx.config.worker.uploadAttempts, backoffMs: ctx.config.worker.uploadBackoffMs };
  if (run.diffRecordedAt) {
    // A retry after the diff was recorded: the pages are cut from it as it stands; computing
    // it again could renumber what another attempt's pages are reading.
    await addRunFlow(ctx.queues, runId, run.changesTotal, upload);
    return { pagesTotal: run.pagesTotal, resumed: true };
  }

  const cohort = await ctx.cohorts.byId(run.cohortId);
  if (!cohort || cohort.deletedAt) {
    await failRun(ctx, runId, 'The cohort was deleted before the import started.');
    return { failed: true };
  }

  let connection;
  try {
    connection = await ctx.connections.forRun(run.workspaceId);
  } catch (err) {
    if (err instanceof BrazeError) {
      await failRun(ctx, runId, err.message);
      return { failed: true };
    }
    throw err;
  }
  await ctx.runs.markRunning(runId, connection.syncScope);
  const cancelled = () => ctx.runs.abortReason(runId);

  await job.updateProgress({ stage: 'freezing members' });
  const frozen = await ctx.warehouse.freezeRunMembers(runId, run.workspaceId, cohort.criteria as Criteria, Date.now());

  const cancelledBy = await cancelled();
  if (cancelledBy) {
    await failRun(ctx, runId, cancelledBy);
    return { failed: true };
  }
  await job.updateProgress({ stage: 'registering cohort in Braze', cohortSize: frozen.cohortSize });
  const sent = await sendWithBudget(ctx, job, token, run.workspaceId, () =>
    connection.client.createCohort({ cohortId: cohort.brazeCohortId, name: cohort.name, createdAt: cohort.createdAt }),
  );
  if (!sent.ok) {
    await failRun(ctx, runId, sent.error);
    return { failed: true };
  }

  await job.updateProgress({ stage: 'computing changes', cohortSize: frozen.cohortSize });
  const changes = await ctx.warehouse.computeChanges(runId, run.cohortId, connection.syncScope, run.fullResync);
  const changesTotal = changes.additions + changes.removals;
  const pagesTotal = Math.ceil(changesTotal / 1000);
  await ctx.runs.recordFrozen(runId, { ...frozen, changesTotal, pagesTotal });
  await addRunFlow(ctx.queues, runId, changesTotal, upload);
  await job.updateProgress({ stage: 'pages enqueued', pagesTotal });
  return { cohortSize: frozen.cohortSize, unmatchable: frozen.unmatchable, ...changes, pagesTotal };
}
