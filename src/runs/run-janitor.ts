import type { Logger } from '../logger';
import { enqueueSettleRun, runJobsMoveOn } from '../queue/producers';
import type { Queues } from '../queue/queues';
import type { RunOutcomes } from './run-outcomes';
import type { RunRepository, RunRow } from './run-store';

/** A run younger than this may still be getting its job added: never call it lost. */
export const LOST_RUN_MIN_AGE_MS = 60_000;
/** An ended run not settled after this long had its settling interrupted: drive it again. */
export const UNSETTLED_MIN_AGE_MS = 60_000;

/**
 * Keeps runs from being stuck. Closes active runs whose jobs are gone (removed by hand in Bull
 * Board, lost with Redis data, or never added because the process died between the insert and
 * the add), so the one-active-run rule cannot block a cohort for good; and hands ended runs
 * whose settling was interrupted back to a worker.
 */
export class RunJanitor {
  constructor(
    private readonly queues: Queues,
    private readonly runs: RunRepository,
    private readonly outcomes: RunOutcomes,
    private readonly log: Logger,
  ) {}

  /** True when nothing in the queues will ever move this run on. */
  async isLost(run: RunRow, now = Date.now()): Promise<boolean> {
    if (now - run.createdAt.getTime() < LOST_RUN_MIN_AGE_MS) return false;
    // A held run has no jobs by design: it waits for approval or a cancel.
    if (run.status === 'held') return false;
    return !(await runJobsMoveOn(this.queues, run.id));
  }

  /** Closes the run as failed if it is lost; says whether it did. Settling goes to a worker. */
  async closeIfLost(run: RunRow): Promise<boolean> {
    if (!(await this.isLost(run))) return false;
    const error =
      "The import's jobs were lost (removed from the queue); the run was closed so the cohort can be imported again.";
    await this.outcomes.fail(run.id, error, 'in-a-worker');
    this.log.warn({ runId: run.id }, 'closed a run whose jobs were lost');
    return true;
  }

  /** Sweeps every active run and every unsettled ended one (web does this at start, on Redis' return and every few minutes). */
  async sweep(): Promise<number> {
    let closed = 0;
    for (const run of await this.runs.allActive()) if (await this.closeIfLost(run)) closed++;
    const unsettled = await this.runs.unsettled(new Date(Date.now() - UNSETTLED_MIN_AGE_MS));
    for (const run of unsettled) await enqueueSettleRun(this.queues, run.id, { redrive: true });
    if (unsettled.length > 0) this.log.info({ runs: unsettled.length }, 'unsettled runs handed to the workers');
    return closed;
  }
}
