import { type Job, UnrecoverableError } from 'bullmq';
import type { AppContext } from '../../src/context';
import { type UploadPageResult, uploadPagePayload } from '../../src/queue/payloads';
import { PermanentPageError } from '../../src/runs/run-execution';
import { runJob } from '../run-job';

/** A span of a run's diff pages to Braze; a permanent refusal is not retried. */
export async function uploadPage(ctx: AppContext, job: Job, token: string | undefined): Promise<UploadPageResult> {
  const span = uploadPagePayload.parse(job.data);
  try {
    return await ctx.execution.sendPages(span, runJob(ctx, job, token), job.id);
  } catch (err) {
    if (err instanceof PermanentPageError) throw new UnrecoverableError(err.message);
    throw err;
  }
}
