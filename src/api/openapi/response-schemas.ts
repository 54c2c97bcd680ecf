import { z } from 'zod';
import { runStatuses, runTriggers } from '../../../db/schema';
import { EVERY_HOURS } from '../../domain/cadence';
import { criteriaShape } from '../../domain/criteria';
import { NOTIFY_POLICIES } from '../../domain/notify-policy';

/**
 * The bodies the API answers with, as zod schemas for its OpenAPI description. Strict objects:
 * the end-to-end tests validate every response they receive against these, so a field added to
 * a view without a word here fails a test instead of going undocumented.
 */

const timestamp = z.iso.datetime({ offset: true });
const uuid = z.uuid();
const count = z.int().min(0);

export const errorBody = z.strictObject({
  error: z.strictObject({
    code: z.string().meta({ description: 'Stable, for programs: validation_failed, not_found, run_in_progress, …' }),
    message: z.string().meta({ description: 'For people: what went wrong and what to do.' }),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'validation_failed: {issues: [{path, message}]}; conflicts may name a run_id.' }),
  }),
});

const guardrail = z.strictObject({ max_removal_percent: count.max(100), min_removals: count });

export const cohort = z.strictObject({
  id: uuid,
  name: z.string(),
  braze_cohort_id: z.string(),
  criteria: criteriaShape,
  guardrail,
  created_at: timestamp,
  updated_at: timestamp,
});

export const run = z.strictObject({
  id: uuid,
  cohort_id: uuid,
  trigger: z.enum(runTriggers),
  status: z.enum(runStatuses),
  full_resync: z.boolean(),
  recipients: z.array(z.string()),
  created_at: timestamp,
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
  cohort_size: count.nullable(),
  added: count,
  removed: count,
  unmatchable: count,
  failed: count,
  error: z.string().nullable(),
  guardrail: z.boolean().meta({ description: "Whether the cohort's removal guardrail applies to this run." }),
  planned: z.strictObject({ added: count, removed: count, synced_before: count }).nullable(),
  hold_reason: z.string().nullable(),
});

export const schedule = z.strictObject({
  cohort_id: uuid,
  cadence: z.enum(['hourly', 'daily', 'weekly', 'monthly']),
  time: z.string().optional(),
  minute: z.int().min(0).max(59).optional(),
  every_hours: z.union(EVERY_HOURS.map((n) => z.literal(n))).optional(),
  timezone: z.string(),
  weekday: z.int().min(0).max(6).optional(),
  day_of_month: z.union([z.int().min(1).max(28), z.literal('last')]).optional(),
  recipients: z.array(z.string()),
  notify: z.enum(NOTIFY_POLICIES),
  enabled: z.boolean(),
  next_run_at: timestamp.nullable().meta({ description: "With the zone's offset; null while paused." }),
  created_at: timestamp,
  updated_at: timestamp,
});

const nextCursor = z
  .string()
  .nullable()
  .meta({ description: 'Pass it as `cursor` for the next page; null on the last one.' });

export const cohortPage = z.strictObject({
  data: z.array(cohort.extend({ last_run: run.nullable(), schedule: schedule.nullable() })),
  next_cursor: nextCursor,
});

export const runPage = z.strictObject({ data: z.array(run), next_cursor: nextCursor });

export const scheduleRunPage = z.strictObject({
  data: z.array(run.extend({ members_imported: count.nullable() })),
  next_cursor: nextCursor,
});

export const scheduleList = z.strictObject({ data: z.array(schedule) });

export const runProgress = z.strictObject({
  run_id: uuid,
  status: z.enum(runStatuses),
  pages_done: count.nullable().meta({ description: 'null when it cannot be read right now.' }),
  pages_total: count,
});

const brazeIdentifier = z.union([
  z.strictObject({ type: z.enum(['external_id', 'device_id']), value: z.string() }),
  z.strictObject({
    type: z.literal('alias'),
    value: z.strictObject({ alias_name: z.string(), alias_label: z.string() }),
  }),
]);

export const preview = z.strictObject({
  count,
  unmatchable: count,
  sample: z.array(z.strictObject({ user_key: z.string(), braze_identifier: brazeIdentifier.nullable() })),
});

export const plan = z.strictObject({
  cohort_id: uuid,
  cohort_size: count,
  unmatchable: count,
  additions: count,
  removals: count,
  synced_before: count,
  guardrail: guardrail.extend({ would_hold: z.boolean(), reason: z.string().nullable() }),
});

const region = z.enum(['US', 'EU', 'AU']);

export const brazeConnection = z.strictObject({
  rest_endpoint: z.string(),
  region,
  data_import_key: z.string().meta({ description: 'Its last 4 characters only, after "…".' }),
  key_verified_at: timestamp.nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});

export const endpointList = z.strictObject({
  data: z.array(z.strictObject({ url: z.string(), region, allowlisted: z.boolean() })),
});

export const usersBatchResult = z.strictObject({ upserted: count });
export const eventsBatchResult = z.strictObject({ appended: count, users_created: count });

export const workspace = z.strictObject({
  id: uuid,
  name: z.string(),
  api_token: z.string().meta({ description: 'Shown once; stored hashed.' }),
  created_at: timestamp,
});

export const issuedToken = z.strictObject({ id: uuid, api_token: z.string(), created_at: timestamp });

export const tokenList = z.strictObject({
  tokens: z.array(z.strictObject({ id: uuid, created_at: timestamp, revoked_at: timestamp.nullable() })),
});

export const health = z.strictObject({ status: z.literal('ok') });

const check = z.enum(['ok', 'unreachable']);
export const readiness = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  checks: z.strictObject({ redis: check, warehouse: check, control_db: check }),
});

/** The document itself: an object, described no further here. */
export const openApiDocument = z.looseObject({ openapi: z.string() });
