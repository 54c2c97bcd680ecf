import { hostname } from 'node:os';
import { type Job, type Processor, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppContext } from '../src/context';
import { createRedis, isRedisConnectionError } from '../src/redis';
import { pageRetries, pagesGivenUp } from '../src/metrics/metrics';
import { type QueueName, QueueNames } from '../src/queue/names';

export interface ProcessorSpec {
  queue: QueueName;
  concurrency: number;
  process: (job: Job, token: string | undefined) => Promise<unknown>;
  /** How long a job's lock lasts without renewal (default 30 s). */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose lock expired (a crashed worker's) and takes them back (default 30 s). */
  stalledIntervalMs?: number;
  /** How often a job may stall (its lock lost) before it fails (default 1). */
  maxStalledCount?: number;
  /** Worker settings beyond the defaults (e.g. the repeat strategy of a scheduled queue). */
  settings?: WorkerOptions['settings'];
  /** Called once when a job has failed for the last time (no attempts left or unrecoverable). */
  onFinalFailure?: (job: Job, err: Error) => Promise<void> | void;
}

/**
 * The only place that calls `new Worker`: every processor gets the same timing, logging and
 * failure handling, so processors stay plain functions.
 */
/** The id of the HTTP request behind a job (see queue/payloads.ts), when it has one. */
export function requestIdOf(job: Job): string | undefined {
  const id: unknown = job.data?.requestId;
  return typeof id === 'string' ? id : undefined;
}

export class WorkerManager {
  private readonly workers: Worker[] = [];
  /** Workers block on Redis and wait out outages: their own connection, never giving up. */
  private readonly connection: Redis;

  constructor(private readonly ctx: AppContext) {
    this.connection = ctx.redisOutages.watch(createRedis(ctx.config.redisUrl, 'worker'));
  }

  register(spec: ProcessorSpec): Worker {
    const log = this.ctx.log.child({ queue: spec.queue });
    const processor: Processor = async (job, token) => {
      const started = performance.now();
      const result = await spec.process(job, token);
      // Work a person asked for (it carries their request id) is logged at info, so one grep
      // of the id follows it to the last page; background work stays at debug.
      const requestId = requestIdOf(job);
      log[requestId ? 'info' : 'debug'](
        { jobId: job.id, requestId, ms: Math.round(performance.now() - started) },
        'job done',
      );
      return result;
    };
    const { ctx } = this;
    const worker = new Worker(spec.queue, processor, {
      connection: this.connection,
      prefix: this.ctx.config.queuePrefix,
      concurrency: spec.concurrency,
      settings: spec.settings,
      // Only when given: an explicit undefined would replace BullMQ's default.
      ...(spec.lockDurationMs ? { lockDuration: spec.lockDurationMs } : {}),
      ...(spec.stalledIntervalMs ? { stalledInterval: spec.stalledIntervalMs } : {}),
      ...(spec.maxStalledCount ? { maxStalledCount: spec.maxStalledCount } : {}),
      // Shown in Bull Board and on each job (processedBy): which process took it.
      name: `${hostname()}-${process.pid}`,
    });
    worker.on('failed', (job, err) => {
      if (!job) return;
      const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      log.warn(
        { jobId: job.id, requestId: requestIdOf(job), attempt: job.attemptsMade, final, err: err.message },
        'job failed',
      );
      if (spec.queue === QueueNames.uploadPage) (final ? pagesGivenUp : pageRetries).inc();
      if (final && spec.onFinalFailure) {
        Promise.resolve(spec.onFinalFailure(job, err)).catch((e: unknown) =>
          log.error({ jobId: job.id, err: (e as Error).message }, 'final-failure handler failed'),
        );
      }
    });
    // A worker's blocking connection reports the same outage as every other connection.
    worker.on('error', (err) =>
      isRedisConnectionError(err) ? ctx.redisOutages.onError(err) : log.error({ err: err.message }, 'worker error'),
    );
    this.workers.push(worker);
    return worker;
  }

  async waitUntilReady(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /** Lets active jobs finish (a page mid-request completes and records its result), then stops. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await this.connection.quit().catch(() => this.connection.disconnect());
  }
}
