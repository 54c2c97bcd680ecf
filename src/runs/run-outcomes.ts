import type { Redis } from 'ioredis';
import { runsFinished } from '../metrics/metrics';
import { notifiesOf } from '../domain/notify-policy';
import type { Logger } from '../logger';
import { enqueueRunNotification, enqueueSettleRun } from '../queue/producers';
import type { Queues } from '../queue/queues';
import type { Warehouse } from '../warehouse/warehouse';
import { isActiveRun, type RunRepository, type RunRow } from './run-store';

/** The Redis counter behind a run's "pages done" progress. */
export const runProgressKey = (queuePrefix: string, runId: string) => `${queuePrefix}:run-progress:${runId}`;

/** Where the follow-up of a run's end happens: here and now (a worker), or in a settle-run job (web). */
export type SettleWhere = 'here' | 'in-a-worker';

export interface PageTotals {
  added: number;
  removed: number;
  /** Pages that gave up after every retry, with their last errors. */
  failures: string[];
}

/**
 * How a run ends — failed (a permanent error, a cancel, lost jobs) or finished from its pages —
 * and what follows any end: its working sets dropped, its progress counter removed and its
 * email queued ("settling"). Settling is durable: `settled_at` is set only once all of it is
 * done, and the janitor re-drives runs that ended without it, so neither a crash nor a Redis
 * blip between "finished" and "email queued" loses the email or the clean-up.
 */
export class RunOutcomes {
  constructor(
    private readonly runs: RunRepository,
    private readonly warehouse: Warehouse,
    private readonly queues: Queues,
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly mail: { attempts: number; backoffMs: number },
    private readonly log: Logger,
  ) {}

  /** Pages of an active run that workers have sent (the counter settling drops). */
  async pagesDone(runId: string): Promise<number> {
    return Number((await this.redis.get(runProgressKey(this.queuePrefix, runId))) ?? 0);
  }

  /**
   * Counts `pages` just sent and answers how many are done. Progress only: a page sent again
   * after a crash may count twice.
   */
  async countPagesDone(runId: string, pages: number): Promise<number> {
    const key = runProgressKey(this.queuePrefix, runId);
    // One round trip per page: the key's lifetime is set once, by the increment that made it.
    const done = await this.redis.incrby(key, pages);
    if (done === pages) await this.redis.expire(key, 7 * 24 * 3600);
    return done;
  }

  /** Ends an active run as failed with a message for the customer, then settles it. */
  async fail(runId: string, error: string, where: SettleWhere = 'here'): Promise<RunRow | undefined> {
    await this.runs.abort(runId, error);
    const run = await this.runs.finish(runId, { status: 'failed', added: 0, removed: 0, failed: 0, error });
    this.log.info({ runId, status: 'failed' }, 'run finished');
    if (run) runsFinished.inc({ trigger: run.trigger, outcome: 'failed' });
    await this.settleOrLeave(run, where);
    return run;
  }

  /**
   * Holds a running run for approval (the removal guardrail) and queues the email that says why.
   * Repeatable: a retried start finds the run held and queues the email again (its job id is
   * the run's, so it goes once). False when the run was not running any more (a cancel).
   */
  async hold(runId: string, reason: string): Promise<boolean> {
    await this.runs.hold(runId, reason);
    const run = await this.runs.get(runId);
    if (run?.status !== 'held') return false;
    this.log.info({ runId }, 'run held by the removal guardrail');
    // Told whatever their policy: nothing moves until someone approves or cancels it.
    if (run.recipients.length > 0) await enqueueRunNotification(this.queues, runId, this.mail, 'held');
    return true;
  }

  /** Ends a run whose pages are all done: the outcome is what Braze acknowledged. */
  async finishFromPages(run: RunRow, pages: PageTotals): Promise<RunRow | undefined> {
    const { added, removed, failures } = pages;
    const failed = Math.max(0, run.changesTotal - added - removed);
    let status: 'succeeded' | 'partially_failed' | 'failed' = 'succeeded';
    let error = run.error;
    if (error) status = 'failed';
    else if (failed > 0) {
      status = added + removed > 0 ? 'partially_failed' : 'failed';
      error = `${failed} of ${run.changesTotal} changes could not be sent to Braze after every retry (${failures.length} page(s)). Last error: ${failures.at(-1) ?? 'unknown'}. Run the import again to send them.`;
    }
    const finished = await this.runs.finish(run.id, { status, added, removed, failed, error });
    this.log.info({ runId: run.id, status, added, removed, failed }, 'run finished');
    if (finished) runsFinished.inc({ trigger: run.trigger, outcome: status });
    await this.settle(finished);
    return finished;
  }

  /**
   * What follows a run's end. Every step is idempotent, so a retry (of this job, of the job that
   * ended the run, or the janitor's) completes what an earlier attempt left undone.
   */
  async settle(run: RunRow | undefined): Promise<void> {
    if (!run || isActiveRun(run) || run.settledAt) return;
    // The email first: the working sets' clean-up of a large run (on SQLite it folds the run's
    // acknowledged pages into the synced set) takes seconds, and the outcome is already known.
    // Once per run: the email job's id is the run's.
    if (run.recipients.length > 0 && notifiesOf(run.notify, run.status)) {
      await enqueueRunNotification(this.queues, run.id, this.mail);
    }
    await this.warehouse.discardRun(run.id);
    await this.redis.del(runProgressKey(this.queuePrefix, run.id));
    await this.runs.markSettled(run.id);
  }

  async settleById(runId: string): Promise<void> {
    await this.settle(await this.runs.get(runId));
  }

  /**
   * Settles here, or hands it to a worker. Either way a failure leaves `settled_at` empty and the
   * janitor re-drives it: the run has ended, and the caller is not told otherwise.
   */
  private async settleOrLeave(run: RunRow | undefined, where: SettleWhere): Promise<void> {
    if (!run) return;
    try {
      if (where === 'here') await this.settle(run);
      else await enqueueSettleRun(this.queues, run.id);
    } catch (err) {
      this.log.warn({ runId: run.id, err: (err as Error).message }, 'settling deferred to the janitor');
    }
  }
}
