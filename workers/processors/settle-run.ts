import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { settleRunPayload } from '../../src/queue/payloads';

/** What follows a run's end, handed over by web (cancel, the janitor): the run module settles it. */
export async function settleRun(ctx: AppContext, job: Job) {
  const { runId } = settleRunPayload.parse(job.data);
  await ctx.outcomes.settleById(runId);
  return { settled: runId };
}
