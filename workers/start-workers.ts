import { z } from 'zod';
import type { AppContext } from '../src/context';
import { cadenceRepeatStrategy } from '../src/domain/cadence';
import { QueueNames } from '../src/queue/names';
import { finalizeRun } from './processors/finalize-run';
import { importRun } from './processors/import-run';
import { scheduledImport } from './processors/scheduled-import';
import { sendNotification } from './processors/send-notification';
import { forgetCohort } from './processors/forget-cohort';
import { planCohort } from './processors/plan-cohort';
import { settleRun } from './processors/settle-run';
import { uploadPage } from './processors/upload-page';
import { WorkerManager } from './worker-manager';

/** Registers every processor; used by the worker process and by in-process tests. */
export async function startWorkers(ctx: AppContext): Promise<WorkerManager> {
  // Before any run start is taken: the leases this process takes are backed by its beacon.
  await ctx.executor.start();
  const manager = new WorkerManager(ctx);
  const concurrency = ctx.config.worker.concurrency;
  const failRunOf = async (data: unknown, err: Error) => {
    // An import-run, freeze-pages or finalize-run job: each carries its run's id.
    const parsed = z.object({ runId: z.string().uuid() }).safeParse(data);
    if (parsed.success) await ctx.outcomes.fail(parsed.data.runId, `The import could not run: ${err.message}`);
  };
  manager.register({
    queue: QueueNames.importRun,
    concurrency: Math.max(1, Math.ceil(concurrency / 4)),
    process: (job, token) => importRun(ctx, job, token),
    // A killed worker's run start comes back within 30 s + 5 s (was 120 + 30), and its run's
    // lease is taken over as soon as its beacon is gone (src/runs/executor-beacon.ts). 30 s
    // outlasts a store's 10 s busy wait, which a freeze on SQLite spends holding the event loop
    // (and so the lock's renewal). A longer synchronous freeze may still lose the lock: another
    // worker then takes the job, finds the lease held by a live executor and steps aside (the
    // repeat of a start is harmless), so such stalls are not counted against the job.
    // (IMPORT_RUN_LOCK_MS and STALLED_CHECK_MS: tests that kill a worker shorten them.)
    lockDurationMs: ctx.config.worker.importRunLockMs,
    stalledIntervalMs: ctx.config.worker.stalledCheckMs,
    maxStalledCount: 1_000,
    onFinalFailure: (job, err) => failRunOf(job.data, err),
  });
  manager.register({
    queue: QueueNames.uploadPage,
    concurrency,
    process: (job, token) => uploadPage(ctx, job, token),
    // A page's work is asynchronous (one Braze request, one short write), so its lock is renewed
    // every 5 s while the worker lives. When a worker dies (kill -9, a lost host) its pages come
    // back after at most 10 s (lock) + 5 s (stall check) instead of 30 + 30 s; only the pages it
    // held are sent again (UPLOAD_PAGE_LOCK_MS, STALLED_CHECK_MS).
    lockDurationMs: ctx.config.worker.uploadPageLockMs,
    stalledIntervalMs: ctx.config.worker.stalledCheckMs,
  });
  manager.register({
    queue: QueueNames.finalizeRun,
    concurrency: Math.max(1, Math.ceil(concurrency / 4)),
    process: (job) => finalizeRun(ctx, job),
    onFinalFailure: (job, err) => failRunOf(job.data, err),
  });
  manager.register({
    queue: QueueNames.scheduledImport,
    concurrency: 2,
    process: (job) => scheduledImport(ctx, job),
    // The worker computes each next fire time: it must use the same strategy as the queue.
    settings: { repeatStrategy: cadenceRepeatStrategy },
  });
  manager.register({
    queue: QueueNames.settleRun,
    concurrency: 2,
    process: (job) => settleRun(ctx, job),
  });
  manager.register({
    queue: QueueNames.forgetCohort,
    concurrency: 1,
    process: (job) => forgetCohort(ctx, job),
  });
  manager.register({
    queue: QueueNames.planCohort,
    concurrency: 1,
    process: (job) => planCohort(ctx, job),
    // A large freeze holds the event loop (SQLite), as an import's start does.
    lockDurationMs: 120_000,
  });
  manager.register({
    queue: QueueNames.notifications,
    concurrency: 2,
    process: (job) => sendNotification(ctx, job),
  });
  await manager.waitUntilReady();
  return manager;
}
