/**
 * The /v1 API's resources, as the server's own view types declare them: the console compiles
 * against what the API answers, so a change there that breaks the console fails type-checking.
 * (Type-only imports: nothing of the server ends up in the bundle.)
 */
import type { RestEndpointChoice } from '../../src/domain/braze-endpoint';
import type { EveryHours as ServerEveryHours } from '../../src/domain/cadence';
import type { BrazeConnectionView } from '../../src/services/braze-connections';
import type { CohortView } from '../../src/services/cohorts';
import type { FieldIssue as ServerFieldIssue } from '../../src/services/errors';
import type { RunView } from '../../src/runs/run-store';
import type { ScheduleView } from '../../src/services/schedules';

export type FieldIssue = ServerFieldIssue;
export type Run = RunView;
export type RunStatus = RunView['status'];
export type RunTrigger = RunView['trigger'];
/** A run's diff once computed (a held run's is what approving it sends). */
export type PlannedChanges = NonNullable<RunView['planned']>;
export type Schedule = ScheduleView;
export type Cadence = ScheduleView['cadence'];
/** The steps an hourly schedule may take (divisors of 24). */
export type EveryHours = ServerEveryHours;
export type Cohort = CohortView;
export type BrazeConnection = BrazeConnectionView;
export type EndpointChoice = RestEndpointChoice;

/** An item of GET /v1/cohorts. */
export interface CohortListItem extends Cohort {
  last_run: Run | null;
  schedule: Schedule | null;
}

/** GET /v1/imports/:id/progress */
export interface RunProgress {
  run_id: string;
  status: RunStatus;
  pages_done: number | null;
  pages_total: number;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface BrazeIdentifier {
  type: 'external_id' | 'alias' | 'device_id';
  value: string | { alias_name: string; alias_label: string };
}

/** GET /v1/cohorts/:id/preview and POST /v1/cohorts/preview */
export interface Preview {
  count: number;
  unmatchable: number;
  sample: { user_key: string; braze_identifier: BrazeIdentifier | null }[];
}

export type ScalarValue = string | number | boolean;

/**
 * Criteria as the builder edits them: the API's tree, but looser (an operator or value may be
 * wrong while the user types), since the API is what validates and names the bad field.
 */
export type CriteriaNode =
  | { property: string; op: string; value?: ScalarValue | ScalarValue[] }
  | { event: string; op: string; count: number; within_days: number }
  | { identity: 'identified' | 'anonymous' }
  | { all: CriteriaNode[] }
  | { any: CriteriaNode[] }
  | { not: CriteriaNode };
