import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { importRunPayload } from '../../src/queue/payloads';
import { runJob } from '../run-job';

/** A run was requested: the run module freezes, registers, diffs and fans out its pages. */
export async function importRun(ctx: AppContext, job: Job, token: string | undefined) {
  const { runId } = importRunPayload.parse(job.data);
  return ctx.execution.start(runId, runJob(ctx, job, token), job.id);
}
