import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QueueNames } from './names';

export interface Queues {
  importRun: Queue;
  uploadPage: Queue;
  finalizeRun: Queue;
  flows: FlowProducer;
  all(): Queue[];
  close(): Promise<void>;
}

/** The producer side of every queue, sharing one Redis connection. */
export function createQueues(connection: Redis, prefix: string): Queues {
  const make = (name: string) => new Queue(name, { connection, prefix });
  const importRun = make(QueueNames.importRun);
  const uploadPage = make(QueueNames.uploadPage);
  const finalizeRun = make(QueueNames.finalizeRun);
  const flows = new FlowProducer({ connection, prefix });
  const all = () => [importRun, uploadPage, finalizeRun];
  return {
    importRun,
    uploadPage,
    finalizeRun,
    flows,
    all,
    async close() {
      await Promise.all([...all().map((q) => q.close()), flows.close()]);
    },
  };
}
