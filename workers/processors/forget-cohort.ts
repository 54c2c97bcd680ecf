import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { forgetCohortPayload } from '../../src/queue/payloads';

/** A cohort was deleted: what Braze was told about it is dropped from the warehouse. */
export async function forgetCohort(ctx: AppContext, job: Job) {
  const { cohortId } = forgetCohortPayload.parse(job.data);
  await ctx.warehouse.forgetCohort(cohortId);
  return { forgotten: cohortId };
}
