// The body of a warehouse's bulk thread (see sqlite-bulk-thread.ts): its own connection to the
// warehouse file, one bulk call at a time. Plain JavaScript, as the preview thread.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { runBulk } from './sqlite-bulk-run.mjs';

const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma(`busy_timeout = ${workerData.lockWaitMs}`);

parentPort.on('message', ({ id, request }) => {
  try {
    parentPort.postMessage({ id, ok: runBulk(db, request) });
  } catch (err) {
    const { name, message, code, operation, limitMs } = err;
    parentPort.postMessage({ id, error: { name, message, code, operation, limitMs } });
  }
});
