// The body of a preview thread: its own read-only connection to the warehouse file (WAL lets
// it read beside the process' writer) and one preview at a time. Plain JavaScript so the
// thread needs no TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { allowInterruption, runPreview } from './sqlite-preview-run.mjs';

const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
allowInterruption(db);

parentPort.on('message', (query) => {
  try {
    parentPort.postMessage({ result: runPreview(db, query) });
  } catch (err) {
    parentPort.postMessage({ error: { name: err.name, message: err.message, code: err.code } });
  }
});
