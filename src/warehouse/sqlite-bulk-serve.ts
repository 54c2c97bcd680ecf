import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { openSqliteWarehouse, type SqliteWarehouse } from './sqlite-warehouse';
import type { BulkCall, BulkAnswer, BulkThreadData } from './sqlite-bulk-thread';

/**
 * The bulk thread's side (started through src/ts-thread-entry.mjs): its own connection to the
 * warehouse file and a SqliteWarehouse on it that does the work on this thread, one call at a
 * time (each is synchronous SQLite inside).
 */
async function serveBulkCalls(data: BulkThreadData, port: MessagePort): Promise<void> {
  const warehouse = await openSqliteWarehouse(data.path, {
    deadlines: { bulkMs: data.bulkMs },
    previewThreads: 0,
    bulkThread: false,
  });
  port.on('message', (call: BulkCall) => {
    void answer(warehouse, call).then((reply) => port.postMessage(reply));
  });
}

async function answer(warehouse: SqliteWarehouse, { id, method, args }: BulkCall): Promise<BulkAnswer> {
  try {
    const work = warehouse[method] as (...a: unknown[]) => Promise<unknown>;
    return { id, ok: await work.apply(warehouse, args) };
  } catch (err) {
    const e = err as Error & { code?: unknown; operation?: unknown; limitMs?: unknown };
    return {
      id,
      error: {
        name: e.name,
        message: e.message,
        code: typeof e.code === 'string' ? e.code : undefined,
        operation: typeof e.operation === 'string' ? e.operation : undefined,
        limitMs: typeof e.limitMs === 'number' ? e.limitMs : undefined,
      },
    };
  }
}

await serveBulkCalls((workerData as { data: BulkThreadData }).data, parentPort!);
