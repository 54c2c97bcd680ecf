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

/** Identifiers per Braze request (Braze's cap), and so per page. */
export const PAGE_SIZE = 1000;

/**
 * A page job sends a span of consecutive pages, one after the other, holding one of its cohort's
 * in-flight slots: up to this many pages per job, so the queue's per-job cost (fetch, lock,
 * completion, the flow's bookkeeping) is paid once per span rather than once per page.
 */
export const PAGES_PER_JOB = 20;
/** A run's pages are spread over at least this many jobs while it has that many pages, so a small run still uses its cohort's parallel slots. */
export const MIN_JOBS_PER_RUN = 4;
/**
 * The first MIN_JOBS_PER_RUN spans of a run carry at most this many pages: a first import frozen
 * chunk by chunk has its first spans (and so its cohort's parallel slots) sending once its first
 * chunk is committed (~15 pages), rather than one span after the first 20 pages and the fourth
 * after 80.
 */
export const LEAD_SPAN_PAGES = 5;
/**
 * A run never has more page jobs than this, whatever its size (spans grow instead): its flow
 * and the jobs it keeps in Redis stay bounded — 10M members make 500 spans of 20 pages.
 */
export const MAX_JOBS_PER_RUN = 1000;
