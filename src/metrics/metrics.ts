import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queues } from '../queue/queues';
import { withDeadline } from '../services/deadline';

/**
 * Every series this service exports, one registry per process (web and each worker scrape their
 * own). Label values are bounded by construction: route templates, queue names, triggers,
 * outcomes, endpoints and status classes; never a cohort id, run id or token.
 */
export const registry = new Registry();
// Process series (CPU, memory, GC) and nodejs_eventloop_lag_seconds, the event-loop lag.
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const httpRequests = new Counter({
  name: 'cohort_import_http_requests_total',
  help: 'HTTP requests answered, by method, route template and status.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});
export const httpDuration = new Histogram({
  name: 'cohort_import_http_request_duration_seconds',
  help: 'HTTP request latency, by method and route template.',
  labelNames: ['method', 'route'] as const,
  buckets: seconds,
  registers: [registry],
});

export const runsStarted = new Counter({
  name: 'cohort_import_runs_started_total',
  help: 'Import runs queued, by trigger (manual, scheduled).',
  labelNames: ['trigger'] as const,
  registers: [registry],
});
export const runsFinished = new Counter({
  name: 'cohort_import_runs_finished_total',
  help: 'Import runs ended, by trigger and outcome (succeeded, partially_failed, failed).',
  labelNames: ['trigger', 'outcome'] as const,
  registers: [registry],
});
export const identifiersSent = new Counter({
  name: 'cohort_import_identifiers_sent_total',
  help: 'Identifiers Braze acknowledged, by op (add, remove).',
  labelNames: ['op'] as const,
  registers: [registry],
});

export const brazeRequests = new Counter({
  name: 'cohort_import_braze_requests_total',
  help: 'Requests to Braze, by endpoint and status class (2xx, 4xx, 5xx, network).',
  labelNames: ['endpoint', 'status_class'] as const,
  registers: [registry],
});
export const brazeDuration = new Histogram({
  name: 'cohort_import_braze_request_duration_seconds',
  help: 'Braze request latency, by endpoint.',
  labelNames: ['endpoint'] as const,
  buckets: seconds,
  registers: [registry],
});
export const brazeRateLimited = new Counter({
  name: 'cohort_import_braze_rate_limited_total',
  help: 'Braze answers of 429 Too Many Requests.',
  registers: [registry],
});
export const rateBudgetWait = new Counter({
  name: 'cohort_import_rate_budget_wait_seconds_total',
  help: 'Time pages were put off to wait for the shared rate budget or a 429 pause, in seconds.',
  registers: [registry],
});

export const pageRetries = new Counter({
  name: 'cohort_import_page_retries_total',
  help: 'Page uploads that failed and will be tried again.',
  registers: [registry],
});
export const pagesGivenUp = new Counter({
  name: 'cohort_import_pages_given_up_total',
  help: 'Page uploads that failed for good (no attempts left, or refused permanently).',
  registers: [registry],
});

export const emails = new Counter({
  name: 'cohort_import_emails_total',
  help: 'Run e-mails, by result (sent, failed).',
  labelNames: ['result'] as const,
  registers: [registry],
});

/** A scrape never waits longer than this for Redis: an outage shows as missing queue series, not a hung scrape. */
const QUEUE_READ_DEADLINE_MS = 2_000;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
let watchedQueues: Queues | undefined;

/** Reads queue depths from BullMQ at scrape time (web and workers both see every queue). */
export function watchQueues(queues: Queues): void {
  watchedQueues = queues;
}

export const queueDepth = new Gauge({
  name: 'cohort_import_queue_jobs',
  help: 'Jobs per queue and state (waiting, active, delayed, failed), read from BullMQ at scrape time; waiting includes prioritized jobs (page spans).',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    const queues = watchedQueues;
    if (!queues) return;
    const counts = await withinDeadline(
      Promise.all(
        queues.all().map(async (q) => [q.name, await q.getJobCounts(...QUEUE_STATES, 'prioritized')] as const),
      ),
    );
    for (const [queue, byState] of counts ?? []) {
      // Page spans wait in BullMQ's prioritized set (span k of a run has priority k): waiting all the same.
      const waiting = (byState.waiting ?? 0) + (byState.prioritized ?? 0);
      for (const state of QUEUE_STATES)
        this.set({ queue, state }, state === 'waiting' ? waiting : (byState[state] ?? 0));
    }
  },
});

export const schedulers = new Gauge({
  name: 'cohort_import_job_schedulers',
  help: 'Job schedulers in Redis (one per enabled cohort schedule).',
  registers: [registry],
  async collect() {
    this.reset();
    const queues = watchedQueues;
    if (!queues) return;
    const count = await withinDeadline(queues.scheduledImport.getJobSchedulersCount());
    if (count !== undefined) this.set(count);
  },
});

/** undefined when Redis fails or does not answer in time: the series is left out of this scrape, on purpose. */
async function withinDeadline<T>(read: Promise<T>): Promise<T | undefined> {
  return withDeadline(read, QUEUE_READ_DEADLINE_MS, 'reading queue depths').catch(() => undefined);
}

/** "2xx", "4xx", "5xx" or "network" (no answer at all). */
export function statusClass(status: number | null): string {
  return status === null ? 'network' : `${Math.floor(status / 100)}xx`;
}
