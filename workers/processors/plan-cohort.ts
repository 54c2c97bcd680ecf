import type { Job } from 'bullmq';
import type { AppContext } from '../../src/context';
import { planCohortPayload } from '../../src/queue/payloads';

/** A cohort's plan asked for by web: the run module freezes, diffs, counts and drops it. */
export async function planCohort(ctx: AppContext, job: Job) {
  return ctx.plans.compute(planCohortPayload.parse(job.data));
}
