import { expect } from 'vitest';
import { schedulerIdFor } from '../../src/services/schedule-reconciler';
import type { Harness } from './harness';

/** Fires a cohort's schedule now, the way BullMQ does at its time: its delayed job becomes due. */
export async function fireSchedule(h: Harness, cohortId: string): Promise<number> {
  const scheduler = await h.ctx.queues.scheduledImport.getJobScheduler(schedulerIdFor(cohortId));
  expect(scheduler?.next).toBeGreaterThan(Date.now());
  const delayed = await h.ctx.queues.scheduledImport.getJobs(['delayed'], 0, -1);
  const job = delayed.find((j) => j.data.cohortId === cohortId);
  expect(job, 'the scheduler has its next job waiting').toBeDefined();
  await job!.promote();
  return scheduler!.next!;
}

/** Polls `probe` until it answers something other than undefined. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
