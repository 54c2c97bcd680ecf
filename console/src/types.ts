/** The /v1 API's resources as this console reads them (see the README's API table). */
export interface FieldIssue {
  path: string;
  message: string;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'partially_failed' | 'failed';
export type RunTrigger = 'one_time' | 'scheduled' | 'manual';

export interface Run {
  id: string;
  cohort_id: string;
  trigger: RunTrigger;
  status: RunStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  cohort_size: number | null;
  added: number;
  removed: number;
  unmatchable: number;
  failed: number;
  error: string | null;
}

export interface RunProgress {
  run_id: string;
  status: RunStatus;
  pages_done: number | null;
  pages_total: number;
}

export type Cadence = 'daily' | 'weekly' | 'monthly';

export interface Schedule {
  cohort_id: string;
  cadence: Cadence;
  time: string;
  timezone: string;
  weekday?: number;
  day_of_month?: number | 'last';
  recipients: string[];
  enabled: boolean;
  next_run_at: string | null;
}

export interface Cohort {
  id: string;
  name: string;
  braze_cohort_id: string;
  criteria: CriteriaNode;
  created_at: string;
  updated_at: string;
}

export interface CohortListItem extends Cohort {
  last_run: Run | null;
  schedule: Schedule | null;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface BrazeIdentifier {
  type: 'external_id' | 'alias' | 'device_id';
  value: string | { alias_name: string; alias_label: string };
}

export interface Preview {
  count: number;
  unmatchable: number;
  sample: { user_key: string; braze_identifier: BrazeIdentifier | null }[];
}

export interface BrazeConnection {
  rest_endpoint: string;
  region: 'US' | 'EU' | 'AU';
  data_import_key: string;
  updated_at: string;
}

export interface EndpointChoice {
  url: string;
  region: 'US' | 'EU' | 'AU';
  allowlisted: boolean;
}

export type ScalarValue = string | number | boolean;
export type CriteriaNode =
  | { property: string; op: string; value?: ScalarValue | ScalarValue[] }
  | { event: string; op: string; count: number; within_days: number }
  | { identity: 'identified' | 'anonymous' }
  | { all: CriteriaNode[] }
  | { any: CriteriaNode[] }
  | { not: CriteriaNode };
