// The entry of a worker thread whose work is TypeScript: a thread does not inherit the loader
// its process was started with (tsx), so it registers it and then imports the module named in
// workerData.module, which reads the rest of workerData itself.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
