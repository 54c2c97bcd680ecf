import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { freezePagesPayload, importRunPayload } from '../../src/queue/payloads';
import { runJob } from '../run-job';

/**
 * A run was requested: the run module freezes, registers, diffs and fans out its pages. A large
 * first import's freeze continues in a freeze-pages job of the same queue, which fans its pages
 * out chunk by chunk.
 */
export async function importRun(ctx: AppContext, job: Job, token: string | undefined) {
  if (job.name === 'freeze-pages') {
    return ctx.execution.freezePages(freezePagesPayload.parse(job.data), runJob(ctx, job, token), job.id);
  }
  const { runId } = importRunPayload.parse(job.data);
  return ctx.execution.start(runId, runJob(ctx, job, token), job.id);
}
