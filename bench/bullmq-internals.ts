/**
 * Everything the bench reads from BullMQ's own data, in one place: the way a run's jobs are
 * queued may change (src/queue, src/runs, workers/), and then only this file must follow.
 * Scenarios otherwise observe runs through the HTTP API, the sandbox's admin routes and
 * process statistics.
 */
import { Queue, QueueEvents } from 'bullmq';

/** Waits until `n` worker processes have registered with the page queue. */
export async function waitForPageWorkers(redisUrl: string, prefix: string, n: number): Promise<void> {
  const queue = new Queue('upload-page', { connection: { url: redisUrl }, prefix });
  try {
    for (let i = 0; i < 600 && (await queue.getWorkersCount()) < n; i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await queue.close();
  }
}

/**
 * The import-run job of a run: when a worker took it and finished it (the freeze, register,
 * diff and fan-out of pages), and which process holds it (workers are named host-pid).
 */
export async function readImportRunJob(
  redisUrl: string,
  prefix: string,
  runId: string,
): Promise<{ processedOn: number; finishedOn: number; holderPid: number | undefined }> {
  const queue = new Queue('import-run', { connection: { url: redisUrl }, prefix });
  try {
    const job = await queue.getJob(`run-${runId}`);
    const pid = Number(/-(\d+)$/.exec(job?.processedBy ?? '')?.[1]);
    return {
      processedOn: job?.processedOn ?? NaN,
      finishedOn: job?.finishedOn ?? NaN,
      holderPid: Number.isSafeInteger(pid) ? pid : undefined,
    };
  } finally {
    await queue.close();
  }
}

/** When each import-run or freeze-pages job entered and left its freeze, from its progress events (Redis' clock). */
export class FreezeWatch {
  readonly windows = new Map<string, { from: number; to?: number }>();
  private constructor(private readonly events: QueueEvents) {
    events.on('progress', ({ jobId, data }, id) => {
      const at = Number(id.split('-')[0]);
      const stage = (data as { stage?: string }).stage;
      const window = this.windows.get(jobId);
      // A freeze-pages job reports 'freezing members' after each chunk too: the first one starts it.
      if (stage === 'freezing members') {
        if (!window || window.to !== undefined) this.windows.set(jobId, { from: at });
      } else if (window && window.to === undefined) window.to = at;
    });
  }
  static async start(redisUrl: string, prefix: string): Promise<FreezeWatch> {
    const events = new QueueEvents('import-run', { connection: { url: redisUrl }, prefix });
    await events.waitUntilReady();
    return new FreezeWatch(events);
  }
  /** The run's freeze: in its freeze-pages job when a first import was frozen chunk by chunk. */
  of(runId: string): { from: number; to?: number; progressive: boolean } | undefined {
    const chunked = this.windows.get(`freeze-${runId}`);
    if (chunked) return { ...chunked, progressive: true };
    const window = this.windows.get(`run-${runId}`);
    return window && { ...window, progressive: false };
  }
  close() {
    return this.events.close();
  }
}

/**
 * When the run's finalize job finished (epoch ms): the run has ended and settled then (its
 * working sets dropped; the finalize job settles the run it ends). Polls up to a minute.
 */
export async function waitForRunSettled(redisUrl: string, prefix: string, runId: string): Promise<number> {
  const queue = new Queue('finalize-run', { connection: { url: redisUrl }, prefix });
  try {
    for (let i = 0; i < 1200; i++) {
      const job = await queue.getJob(`finalize-${runId}`);
      if (job?.finishedOn) return job.finishedOn;
      await new Promise((r) => setTimeout(r, 50));
    }
    return NaN;
  } finally {
    await queue.close();
  }
}

/**
 * Asks whether a run's members are all frozen: its freeze-pages job is done, or it has none
 * (frozen in one pass by its import-run job, before any page was fanned out). One connection
 * for every question; close it after.
 */
export function freezeCheck(redisUrl: string, prefix: string) {
  const queue = new Queue('import-run', { connection: { url: redisUrl }, prefix });
  return {
    async frozen(runId: string): Promise<boolean> {
      const state = await queue.getJobState(`freeze-${runId}`);
      return state === 'completed' || state === 'unknown';
    },
    close: () => queue.close(),
  };
}
