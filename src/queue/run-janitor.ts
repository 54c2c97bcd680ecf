import type { Job } from 'bullmq';
import type { Logger } from '../logger';
import type { RunCloser } from '../services/run-closer';
import type { RunRepository, RunRow } from '../services/runs';
import { finalizeJobId, importRunJobId } from './producers';
import type { Queues } from './queues';

/** A run younger than this may still be getting its job added: never call it lost. */
export const LOST_RUN_MIN_AGE_MS = 60_000;

/**
 * Finds active runs whose jobs are gone (removed by hand in Bull Board, lost with Redis data,
 * or never added because the process died between the insert and the add) and closes them as
 * failed, so the cohort is not blocked for good by the one-active-run rule.
 */
export class RunJanitor {
  constructor(
    private readonly queues: Queues,
    private readonly runs: RunRepository,
    private readonly closer: RunCloser,
    private readonly log: Logger,
  ) {}

  /** True when nothing in the queues will ever move this run on. */
  async isLost(run: RunRow, now = Date.now()): Promise<boolean> {
    if (now - run.createdAt.getTime() < LOST_RUN_MIN_AGE_MS) return false;
    const [start, finalize] = await Promise.all([
      this.queues.importRun.getJob(importRunJobId(run.id)),
      this.queues.finalizeRun.getJob(finalizeJobId(run.id)),
    ]);
    // Once pages are fanned out the finalize job carries the run; before that, the import-run job.
    return !(await movesOn(finalize ?? start));
  }

  /** Closes the run as failed if it is lost; says whether it did. */
  async closeIfLost(run: RunRow): Promise<boolean> {
    if (!(await this.isLost(run))) return false;
    const error =
      "The import's jobs were lost (removed from the queue); the run was closed so the cohort can be imported again.";
    await this.closer.closeFailed(run.id, error);
    this.log.warn({ runId: run.id }, 'closed a run whose jobs were lost');
    return true;
  }

  /** Sweeps every active run (web does this at start and every few minutes). */
  async sweep(): Promise<number> {
    let closed = 0;
    for (const run of await this.runs.allActive()) if (await this.closeIfLost(run)) closed++;
    return closed;
  }
}

/** A job that exists and has not ended (failed for good or completed) will still act. */
async function movesOn(job: Job | undefined): Promise<boolean> {
  if (!job) return false;
  const state = await job.getState();
  return state !== 'completed' && state !== 'failed' && state !== 'unknown';
}
