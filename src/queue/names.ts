/** Every queue, by name. Producers and the worker process refer to queues only through these. */
export const QueueNames = {
  importRun: 'import-run',
  uploadPage: 'upload-page',
  finalizeRun: 'finalize-run',
  /** Job schedulers live here: one per enabled cohort schedule. */
  scheduledImport: 'scheduled-import',
  notifications: 'notifications',
  /** What follows a run's end (working sets dropped, email queued), off the web process. */
  settleRun: 'settle-run',
  /** A deleted cohort's sync bookkeeping dropped in the warehouse, off the web process. */
  forgetCohort: 'forget-cohort',
  /** A cohort's plan (what a run would do now): freeze and diff in a worker, then dropped. */
  planCohort: 'plan-cohort',
} as const;

export type QueueName = (typeof QueueNames)[keyof typeof QueueNames];
export const allQueueNames: QueueName[] = Object.values(QueueNames);

/** Identifiers per Braze request, and so per page job. */
export const PAGE_SIZE = 1000;
