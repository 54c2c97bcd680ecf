import type { Redis } from 'ioredis';
import { notifiesOf } from '../domain/notify-policy';
import type { Logger } from '../logger';
import { enqueueRunNotification } from '../queue/producers';
import type { Queues } from '../queue/queues';
import type { Warehouse } from '../warehouse/warehouse';
import { isActiveRun, type RunRepository, type RunRow } from './runs';

/** The Redis counter behind a run's "pages done" progress. */
export const runProgressKey = (queuePrefix: string, runId: string) => `${queuePrefix}:run-progress:${runId}`;

/**
 * The one way a run is closed as failed (a permanent error, a cancel, lost jobs) and what
 * follows any run's end: its working sets dropped and its email queued.
 */
export class RunCloser {
  constructor(
    private readonly runs: RunRepository,
    private readonly warehouse: Warehouse,
    private readonly queues: Queues,
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly mail: { attempts: number; backoffMs: number },
    private readonly log: Logger,
  ) {}

  /** Pages of an active run that workers have finished (the counter this class drops at settle). */
  async pagesDone(runId: string): Promise<number> {
    return Number((await this.redis.get(runProgressKey(this.queuePrefix, runId))) ?? 0);
  }

  /** Ends an active run as failed with a message for the customer, then settles it. */
  async closeFailed(runId: string, error: string): Promise<RunRow | undefined> {
    await this.runs.abort(runId, error);
    const run = await this.runs.finish(runId, { status: 'failed', added: 0, removed: 0, failed: 0, error });
    this.log.info({ runId, status: 'failed' }, 'run finished');
    await this.settle(run);
    return run;
  }

  /**
   * What follows a run's end: drop its working sets and queue its email. Both are idempotent,
   * so a job retried after the run was marked finished (say a Redis blip while queueing the
   * email) completes them instead of skipping them.
   */
  async settle(run: RunRow | undefined): Promise<void> {
    if (!run || isActiveRun(run)) return;
    await this.warehouse.discardRun(run.id);
    await this.redis.del(runProgressKey(this.queuePrefix, run.id));
    // Once per run: the email job's id is the run's.
    if (run.recipients.length > 0 && notifiesOf(run.notify, run.status)) {
      await enqueueRunNotification(this.queues, run.id, this.mail);
    }
  }
}
