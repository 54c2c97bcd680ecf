import type { AppContext } from '../src/context';
import { cadenceRepeatStrategy } from '../src/domain/cadence';
import { QueueNames } from '../src/queue/names';
import { importRunPayload } from '../src/queue/payloads';
import { finalizeRun } from './processors/finalize-run';
import { importRun } from './processors/import-run';
import { scheduledImport } from './processors/scheduled-import';
import { sendNotification } from './processors/send-notification';
import { forgetCohort } from './processors/forget-cohort';
import { settleRun } from './processors/settle-run';
import { uploadPage } from './processors/upload-page';
import { WorkerManager } from './worker-manager';

/** Registers every processor; used by the worker process and by in-process tests. */
export async function startWorkers(ctx: AppContext): Promise<WorkerManager> {
  const manager = new WorkerManager(ctx);
  const concurrency = ctx.config.worker.concurrency;
  const failRunOf = async (data: unknown, err: Error) => {
    const parsed = importRunPayload.safeParse(data);
    if (parsed.success) await ctx.outcomes.fail(parsed.data.runId, `The import could not run: ${err.message}`);
  };
  manager.register({
    queue: QueueNames.importRun,
    concurrency: Math.max(1, Math.ceil(concurrency / 4)),
    process: (job, token) => importRun(ctx, job, token),
    // Freezing and diffing a large cohort are synchronous SQLite work that holds the event
    // loop for seconds: a longer lock keeps another worker from taking the job meanwhile.
    lockDurationMs: 120_000,
    onFinalFailure: (job, err) => failRunOf(job.data, err),
  });
  manager.register({
    queue: QueueNames.uploadPage,
    concurrency,
    process: (job, token) => uploadPage(ctx, job, token),
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
    queue: QueueNames.notifications,
    concurrency: 2,
    process: (job) => sendNotification(ctx, job),
  });
  await manager.waitUntilReady();
  return manager;
}
