import { Worker } from 'node:worker_threads';
import type { PreviewQuery, PreviewResult } from './sqlite-preview-run.mjs';
import { threadError, type ThreadErrorShape } from './thread-error';
import { WarehouseTimeoutError } from './warehouse-timeout-error';

export interface SqlitePreviewPoolOptions {
  /** Threads at most, each with its own read-only connection; made on first need. */
  threads: number;
  /** How long a preview may wait and run before it is stopped and answered with a timeout. */
  deadlineMs: number;
}

interface Job {
  query: PreviewQuery;
  resolve(result: PreviewResult): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

type ThreadAnswer = { result: PreviewResult } | { error: ThreadErrorShape };

const THREAD_FILE = new URL('./sqlite-preview-thread.mjs', import.meta.url);

/**
 * Runs SQLite previews in worker threads, so a preview of a million users (or a costly
 * criteria tree) never holds the web process' event loop. A preview past its deadline is
 * answered with WarehouseTimeoutError at once and its thread terminated; a new thread takes
 * the next preview.
 */
export class SqlitePreviewPool {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  /** Terminated threads that have not exited yet: they still hold a core, so they count. */
  private readonly stopping = new Set<Worker>();
  private readonly waiting: Job[] = [];
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly options: SqlitePreviewPoolOptions,
  ) {}

  /** Threads alive, stopping ones included. */
  get threadCount(): number {
    return this.idle.length + this.busy.size + this.stopping.size;
  }

  /** Previews waiting for a thread or running in one. */
  get pending(): number {
    return this.waiting.length + this.busy.size;
  }

  run(query: PreviewQuery): Promise<PreviewResult> {
    if (this.closed) return Promise.reject(new Error('The warehouse is closed'));
    return new Promise((resolve, reject) => {
      // The deadline counts from the request, queueing included: the caller's wait is bounded.
      const job: Job = { query, resolve, reject, timer: setTimeout(() => this.expire(job), this.options.deadlineMs) };
      this.waiting.push(job);
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const closed = new Error('The warehouse is closed');
    for (const job of [...this.waiting.splice(0), ...this.busy.values()]) settle(job, closed);
    const threads = [...this.idle.splice(0), ...this.busy.keys(), ...this.stopping];
    this.busy.clear();
    await Promise.all(threads.map((thread) => thread.terminate()));
  }

  private dispatch(): void {
    while (!this.closed && this.waiting.length > 0) {
      const thread = this.idle.pop() ?? (this.threadCount < this.options.threads ? this.spawn() : undefined);
      if (!thread) return;
      const job = this.waiting.shift()!;
      this.busy.set(thread, job);
      thread.postMessage(job.query);
    }
  }

  private spawn(): Worker {
    // No inherited loader flags (tsx): the thread is plain JavaScript.
    const thread = new Worker(THREAD_FILE, { workerData: { path: this.path }, execArgv: [] });
    // An idle thread must not keep the process alive; a pending preview's timer does.
    thread.unref();
    thread.on('message', (answer: ThreadAnswer) => this.answered(thread, answer));
    thread.on('error', (err) => this.lost(thread, err));
    thread.on('exit', (code) => this.lost(thread, new Error(`A preview thread stopped (exit code ${code})`)));
    return thread;
  }

  private answered(thread: Worker, answer: ThreadAnswer): void {
    const job = this.busy.get(thread);
    if (!job) return;
    this.busy.delete(thread);
    this.idle.push(thread);
    settle(job, 'result' in answer ? answer.result : threadError(answer.error));
    this.dispatch();
  }

  /** The thread failed (its connection could not open) or exited; its preview fails with it. */
  private lost(thread: Worker, err: Error): void {
    const job = this.busy.get(thread);
    this.busy.delete(thread);
    this.stopping.delete(thread);
    const at = this.idle.indexOf(thread);
    if (at >= 0) this.idle.splice(at, 1);
    if (job) settle(job, err);
    this.dispatch();
  }

  private expire(job: Job): void {
    const at = this.waiting.indexOf(job);
    if (at >= 0) this.waiting.splice(at, 1);
    for (const [thread, running] of this.busy) {
      if (running !== job) continue;
      this.busy.delete(thread);
      this.stopping.add(thread);
      // Ends the query at its next row (see allowInterruption); 'exit' then frees the slot.
      void thread.terminate();
    }
    settle(job, new WarehouseTimeoutError('the preview', this.options.deadlineMs));
  }
}

function settle(job: Job, outcome: PreviewResult | Error): void {
  clearTimeout(job.timer);
  if (outcome instanceof Error) job.reject(outcome);
  else job.resolve(outcome);
}
