import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { NOTIFY_POLICIES } from '../src/domain/notify-policy';

/** The control database: what the control plane owns. Times are epoch milliseconds. */

const createdAt = () =>
  integer('created_at', { mode: 'timestamp_ms' })
    .notNull()
    .$defaultFn(() => new Date());

export const workspaces = sqliteTable('workspaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    /** sha256 of the token; the token itself is shown once and never stored. */
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [uniqueIndex('api_tokens_hash').on(t.tokenHash)],
);

export const brazeConnections = sqliteTable('braze_connections', {
  workspaceId: text('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  restEndpoint: text('rest_endpoint').notNull(),
  region: text('region', { enum: ['US', 'EU', 'AU'] }).notNull(),
  /** AES-256-GCM sealed data import key (see src/crypto/secret-box.ts). */
  dataImportKeySealed: text('data_import_key_sealed').notNull(),
  dataImportKeyLast4: text('data_import_key_last4').notNull(),
  /**
   * What Braze has been told is recorded per sync scope. A new endpoint gets a new scope,
   * so the next import is a full one; a new key on the same endpoint keeps it.
   */
  syncScope: text('sync_scope').notNull(),
  /** When Braze last accepted the key (the check on save or POST …/verify); null if never checked. */
  keyVerifiedAt: integer('key_verified_at', { mode: 'timestamp_ms' }),
  createdAt: createdAt(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
});

export const cohorts = sqliteTable(
  'cohorts',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** Stable forever and never reused, even after the cohort is deleted. */
    brazeCohortId: text('braze_cohort_id').notNull(),
    criteria: text('criteria', { mode: 'json' }).notNull(),
    /** The removal guardrail: a run removing more than both thresholds is held for approval. */
    guardrailMaxRemovalPercent: integer('guardrail_max_removal_percent').notNull().default(50),
    guardrailMinRemovals: integer('guardrail_min_removals').notNull().default(1000),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    /** Soft delete keeps the run history readable and the Braze id retired. */
    deletedAt: integer('deleted_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('cohorts_braze_cohort_id').on(t.brazeCohortId),
    index('cohorts_workspace').on(t.workspaceId, t.createdAt),
  ],
);

/**
 * `held`: the diff would remove more than the cohort's guardrail allows; nothing is sent until
 * it is approved or cancelled. `skipped`: a schedule fired while another run of the cohort was
 * live; nothing ran.
 */
export const runStatuses = ['queued', 'running', 'held', 'succeeded', 'partially_failed', 'failed', 'skipped'] as const;
export type RunStatus = (typeof runStatuses)[number];
export const runTriggers = ['one_time', 'scheduled', 'manual'] as const;
export type RunTrigger = (typeof runTriggers)[number];

export const importRuns = sqliteTable(
  'import_runs',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    cohortId: text('cohort_id')
      .notNull()
      .references(() => cohorts.id, { onDelete: 'cascade' }),
    trigger: text('trigger', { enum: runTriggers }).notNull(),
    status: text('status', { enum: runStatuses }).notNull(),
    idempotencyKey: text('idempotency_key'),
    recipients: text('recipients', { mode: 'json' }).$type<string[]>().notNull().default([]),
    /** Copied from the schedule with the recipients: email after every run, or after failures only. */
    notify: text('notify', { enum: NOTIFY_POLICIES }).notNull().default('always'),
    fullResync: integer('full_resync', { mode: 'boolean' }).notNull().default(false),
    /** Whether the cohort's removal guardrail applies (a one-time import may opt out). */
    guardrail: integer('guardrail', { mode: 'boolean' }).notNull().default(true),
    /** The connection's sync scope, fixed when the run starts. */
    syncScope: text('sync_scope'),
    createdAt: createdAt(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    cohortSize: integer('cohort_size'),
    added: integer('added').notNull().default(0),
    removed: integer('removed').notNull().default(0),
    unmatchable: integer('unmatchable').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    /** Identifiers in the run's diff (entries + exits), split into pages of 1,000. */
    changesTotal: integer('changes_total').notNull().default(0),
    /** Set once the diff is written; from then on the run's pages are cut from it as is. */
    diffRecordedAt: integer('diff_recorded_at', { mode: 'timestamp_ms' }),
    pagesTotal: integer('pages_total').notNull().default(0),
    /** The diff as planned, and how many identifiers Braze held for the cohort before it. */
    plannedAdded: integer('planned_added'),
    plannedRemoved: integer('planned_removed'),
    syncedBefore: integer('synced_before'),
    /** Why the guardrail held the run (set with status `held`, kept after approval or cancel). */
    holdReason: text('hold_reason'),
    /** The "held for approval" email: claimed before sending, at most one per run. */
    holdNoticeClaimedAt: integer('hold_notice_claimed_at', { mode: 'timestamp_ms' }),
    error: text('error'),
    /** The completion email: claimed before sending, set sent after; at most one per run. */
    notificationClaimedAt: integer('notification_claimed_at', { mode: 'timestamp_ms' }),
    notificationSentAt: integer('notification_sent_at', { mode: 'timestamp_ms' }),
    /** What follows the end (working sets dropped, email queued) is done; the janitor re-drives it until then. */
    settledAt: integer('settled_at', { mode: 'timestamp_ms' }),
    /** The start of a run is being executed until then (a lease): one attempt at a time, even past a lost job lock. */
    executingUntil: integer('executing_until', { mode: 'timestamp_ms' }),
    /** Which worker process holds that lease: another may take it over once that process is gone (src/runs/executor-beacon.ts). */
    executingBy: text('executing_by'),
  },
  (t) => [
    // At most one active run per cohort: the database enforces it, not a race-prone check.
    uniqueIndex('import_runs_one_active')
      .on(t.cohortId)
      .where(sql`status in ('queued', 'running', 'held')`),
    uniqueIndex('import_runs_idempotency').on(t.workspaceId, t.idempotencyKey),
    index('import_runs_cohort_created').on(t.cohortId, t.createdAt, t.id),
  ],
);

export const cadences = ['hourly', 'daily', 'weekly', 'monthly'] as const;

/**
 * At most one import schedule per cohort. The source of truth: the web process mirrors each
 * enabled row as one BullMQ job scheduler (src/queue/schedule-reconciler.ts).
 */
export const schedules = sqliteTable(
  'schedules',
  {
    cohortId: text('cohort_id')
      .primaryKey()
      .references(() => cohorts.id, { onDelete: 'cascade' }),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    cadence: text('cadence', { enum: cadences }).notNull(),
    /** "HH:MM" local time in `timezone` (daily, weekly, monthly). */
    time: text('time'),
    /** Minute past the hour, 0–59 (hourly only). */
    minute: integer('minute'),
    /** 1, 2, 3, 4, 6, 8 or 12, counted from local midnight (hourly only). */
    everyHours: integer('every_hours'),
    timezone: text('timezone').notNull(),
    /** 0 = Sunday … 6 = Saturday (weekly only). */
    weekday: integer('weekday'),
    /** "1" … "28" or "last" (monthly only). */
    dayOfMonth: text('day_of_month'),
    recipients: text('recipients', { mode: 'json' }).$type<string[]>().notNull().default([]),
    notify: text('notify', { enum: NOTIFY_POLICIES }).notNull().default('always'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull(),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('schedules_workspace').on(t.workspaceId)],
);

/**
 * One row: this deployment's id, made with the database. A deployment claims its Redis queue
 * prefix with it, so a second deployment pointed at the same Redis and prefix refuses to start
 * instead of taking the first one's jobs and deleting its job schedulers (src/deployment.ts).
 */
export const deployment = sqliteTable('deployment', {
  id: text('id').primaryKey(),
  createdAt: createdAt(),
});
