// The body of a warehouse's bulk thread (see sqlite-bulk-thread.ts): its own connection to the
// warehouse file, one bulk call at a time. Plain JavaScript, as the preview thread.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { prepareBulk, runBulk } from './sqlite-bulk-run.mjs';

// A thread asked to run behind the process' other work: Linux keeps a nice value per thread, so
// this lowers this thread's priority alone (elsewhere the call would lower the whole process: skipped).
if (process.platform === 'linux' && workerData.nice) {
  try {
    setPriority(0, workerData.nice);
  } catch {
    // Not permitted here: the thread keeps the process' priority.
  }
}

const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma(`busy_timeout = ${workerData.lockWaitMs}`);
// Ready before the first call (a thread started ahead of need).
prepareBulk(db);

parentPort.on('message', ({ id, request }) => {
  try {
    parentPort.postMessage({ id, ok: runBulk(db, request) });
  } catch (err) {
    const { name, message, code, operation, limitMs } = err;
    parentPort.postMessage({ id, error: { name, message, code, operation, limitMs } });
  }
});
