import { FlowProducer, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { cadenceRepeatStrategy } from '../domain/cadence';
import { QueueNames } from './names';

export interface Queues {
  importRun: Queue;
  uploadPage: Queue;
  finalizeRun: Queue;
  scheduledImport: Queue;
  notifications: Queue;
  settleRun: Queue;
  forgetCohort: Queue;
  planCohort: Queue;
  flows: FlowProducer;
  all(): Queue[];
  close(): Promise<void>;
}

/** The producer side of every queue, sharing one Redis connection. */
/** `onError` hears connection errors (an unheard 'error' event would crash the process). */
export function createQueues(connection: Redis, prefix: string, onError: (err: Error) => void): Queues {
  const make = (name: string) => new Queue(name, { connection, prefix });
  const queues = {
    importRun: make(QueueNames.importRun),
    uploadPage: make(QueueNames.uploadPage),
    finalizeRun: make(QueueNames.finalizeRun),
    // Fire times follow cadenceRepeatStrategy: exactly once per local day across DST.
    scheduledImport: new Queue(QueueNames.scheduledImport, {
      connection,
      prefix,
      settings: { repeatStrategy: cadenceRepeatStrategy },
    }),
    notifications: make(QueueNames.notifications),
    settleRun: make(QueueNames.settleRun),
    forgetCohort: make(QueueNames.forgetCohort),
    planCohort: make(QueueNames.planCohort),
  };
  const flows = new FlowProducer({ connection, prefix });
  const all = () => Object.values(queues);
  for (const q of all()) q.on('error', onError);
  flows.on('error', onError);
  return {
    ...queues,
    flows,
    all,
    async close() {
      await Promise.all([...all().map((q) => q.close()), flows.close()]);
    },
  };
}
