// The entry of a warehouse's bulk thread (see sqlite-bulk-thread.ts; named apart from it, since
// a resolver looking for './sqlite-bulk-thread' may pick .mjs before .ts). The work is the
// warehouse's own TypeScript, so the thread registers tsx's loader first: a worker thread does
// not inherit the loader its process was started with.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { serveBulkCalls } = await import('./sqlite-bulk-serve.ts');
await serveBulkCalls(workerData, parentPort);
