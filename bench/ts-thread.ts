import { Worker } from 'node:worker_threads';

const ENTRY = new URL('./ts-thread-entry.mjs', import.meta.url);

/**
 * Runs a TypeScript module in a worker thread of its own and answers the first message it posts
 * (`{ok: value}` or `{error: message}`). The bench uses it to put CPU-heavy work that would
 * otherwise share the main thread's event loop on a core of its own.
 */
export function inThread<T>(module: URL, data: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const thread = new Worker(ENTRY, { workerData: { module: module.href, data }, execArgv: [] });
    let settled = false;
    thread.once('message', (answer: { ok: T } | { error: string }) => {
      settled = true;
      if ('error' in answer) reject(new Error(answer.error));
      else resolve(answer.ok);
      void thread.terminate();
    });
    thread.once('error', (err) => {
      settled = true;
      reject(err);
    });
    thread.once('exit', (code) => {
      if (!settled) reject(new Error(`thread ${module.pathname} exited with code ${code} before answering`));
    });
  });
}
