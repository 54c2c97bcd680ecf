import { Worker } from 'node:worker_threads';
import type { BulkRequest } from './sqlite-bulk-run.mjs';
import { threadError, type ThreadErrorShape } from './thread-error';

type BulkAnswer = { id: number; ok: unknown } | { id: number; error: ThreadErrorShape };

const THREAD_FILE = new URL('./sqlite-bulk-worker.mjs', import.meta.url);

/**
 * Runs a SQLite warehouse's freezes, diffs and discards in a thread with a connection of its
 * own, made on first need. On the caller's thread a 10M-member freeze held the event loop for
 * half a minute: the job lock went unrenewed (BullMQ gave the job to another worker, which then
 * stepped aside), and every other job of the process (pages of other runs) stood still. SQLite's
 * single writer is unchanged: the thread's transaction holds the write lock as before.
 */
export class SqliteBulkThread {
  private thread: Worker | undefined;
  private readonly calls = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  private nextId = 1;
  private closed = false;

  /** `nice`: the thread's nice value on Linux (0: the process' own). */
  constructor(private readonly data: { path: string; lockWaitMs: number; nice?: number }) {}

  /**
   * Starts the thread now rather than on the first call: it opens its connection and prepares its
   * statements meanwhile, which a run's start otherwise waited for (~0.2 s).
   */
  start(): void {
    if (!this.closed) this.thread ??= this.spawn();
  }

  call<T>(request: BulkRequest): Promise<T> {
    if (this.closed) return Promise.reject(new Error('The warehouse is closed'));
    const thread = this.thread ?? this.spawn();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
      thread.postMessage({ id, request });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const thread = this.thread;
    this.thread = undefined;
    this.fail(new Error('The warehouse is closed'));
    await thread?.terminate();
  }

  private spawn(): Worker {
    const thread = new Worker(THREAD_FILE, { workerData: this.data, execArgv: [] });
    // An idle thread does not keep the process alive; a pending call's caller does.
    thread.unref();
    thread.on('message', (answer: BulkAnswer) => {
      const call = this.calls.get(answer.id);
      if (!call) return;
      this.calls.delete(answer.id);
      if ('error' in answer) call.reject(threadError(answer.error));
      else call.resolve(answer.ok);
    });
    thread.on('error', (err) => this.lost(thread, err));
    thread.on('exit', (code) => this.lost(thread, new Error(`The warehouse's bulk thread exited (code ${code})`)));
    this.thread = thread;
    return thread;
  }

  private lost(thread: Worker, err: Error): void {
    if (this.thread !== thread) return;
    this.thread = undefined;
    this.fail(err);
  }

  private fail(err: Error): void {
    for (const call of this.calls.values()) call.reject(err);
    this.calls.clear();
  }
}
