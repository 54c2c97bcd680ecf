/**
 * The bench's registration of demo users in the sandbox, in a worker thread (see inThread):
 * drawing 10M users' identities and serialising the batches is a core's worth of work that
 * would otherwise take turns with the warehouse seed on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { registerInSandbox, type RegisterInSandboxOptions } from '../src/seed/register-in-sandbox';

const options = (workerData as { data: RegisterInSandboxOptions }).data;
registerInSandbox(options).then(
  (result) => parentPort!.postMessage({ ok: result }),
  (err: unknown) => parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);
