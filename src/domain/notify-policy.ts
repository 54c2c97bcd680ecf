/** Who hears about a run's end: after every run, or only after one that failed or partially failed. */
export const NOTIFY_POLICIES = ['always', 'failures'] as const;
export type NotifyPolicy = (typeof NOTIFY_POLICIES)[number];

/**
 * Whether a run that ended with `status` is emailed under `policy`. A skipped firing is never
 * emailed: nothing ran, and the run that was active sends its own email.
 */
export function notifiesOf(policy: NotifyPolicy, status: string): boolean {
  if (status === 'skipped') return false;
  return policy === 'always' || status === 'failed' || status === 'partially_failed';
}
