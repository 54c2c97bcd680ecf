import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { NOTIFY_POLICIES } from '../src/domain/notify-policy';
import { cadences, runStatuses, runTriggers } from './schema';

/**
 * The control database on PostgreSQL: the same tables, columns, nullability and indexes as the
 * SQLite schema in ./schema.ts (test/db-schema-drift.test.ts holds them together), with each
 * column in PostgreSQL's natural type. The TypeScript types of both are the same, so services
 * read rows the same way from either engine.
 */

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () =>
  at('created_at')
    .notNull()
    .$defaultFn(() => new Date());

export const workspaces = pgTable('workspaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    revokedAt: at('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_hash').on(t.tokenHash)],
);

export const brazeConnections = pgTable('braze_connections', {
  workspaceId: text('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  restEndpoint: text('rest_endpoint').notNull(),
  region: text('region', { enum: ['US', 'EU', 'AU'] }).notNull(),
  dataImportKeySealed: text('data_import_key_sealed').notNull(),
  dataImportKeyLast4: text('data_import_key_last4').notNull(),
  syncScope: text('sync_scope').notNull(),
  /** When Braze last accepted the key (PUT with the check, or POST …/verify). */
  keyVerifiedAt: at('key_verified_at'),
  createdAt: createdAt(),
  updatedAt: at('updated_at').notNull(),
});

export const cohorts = pgTable(
  'cohorts',
  {
    id: text('id').primaryKey(),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    brazeCohortId: text('braze_cohort_id').notNull(),
    criteria: jsonb('criteria').notNull(),
    guardrailMaxRemovalPercent: integer('guardrail_max_removal_percent').notNull().default(50),
    guardrailMinRemovals: integer('guardrail_min_removals').notNull().default(1000),
    createdAt: createdAt(),
    updatedAt: at('updated_at').notNull(),
    deletedAt: at('deleted_at'),
  },
  (t) => [
    uniqueIndex('cohorts_braze_cohort_id').on(t.brazeCohortId),
    index('cohorts_workspace').on(t.workspaceId, t.createdAt),
  ],
);

export const importRuns = pgTable(
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
    recipients: jsonb('recipients').$type<string[]>().notNull().default([]),
    notify: text('notify', { enum: NOTIFY_POLICIES }).notNull().default('always'),
    fullResync: boolean('full_resync').notNull().default(false),
    guardrail: boolean('guardrail').notNull().default(true),
    syncScope: text('sync_scope'),
    createdAt: createdAt(),
    startedAt: at('started_at'),
    finishedAt: at('finished_at'),
    cohortSize: integer('cohort_size'),
    added: integer('added').notNull().default(0),
    removed: integer('removed').notNull().default(0),
    unmatchable: integer('unmatchable').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    changesTotal: integer('changes_total').notNull().default(0),
    diffRecordedAt: at('diff_recorded_at'),
    pagesTotal: integer('pages_total').notNull().default(0),
    plannedAdded: integer('planned_added'),
    plannedRemoved: integer('planned_removed'),
    syncedBefore: integer('synced_before'),
    holdReason: text('hold_reason'),
    holdNoticeClaimedAt: at('hold_notice_claimed_at'),
    error: text('error'),
    notificationClaimedAt: at('notification_claimed_at'),
    notificationSentAt: at('notification_sent_at'),
    /** What follows the end (working sets dropped, email queued) is done; the janitor re-drives it until then. */
    settledAt: at('settled_at'),
    executingUntil: at('executing_until'),
    executingBy: text('executing_by'),
  },
  (t) => [
    uniqueIndex('import_runs_one_active')
      .on(t.cohortId)
      .where(sql`status in ('queued', 'running', 'held')`),
    uniqueIndex('import_runs_idempotency').on(t.workspaceId, t.idempotencyKey),
    index('import_runs_cohort_created').on(t.cohortId, t.createdAt, t.id),
  ],
);

export const schedules = pgTable(
  'schedules',
  {
    cohortId: text('cohort_id')
      .primaryKey()
      .references(() => cohorts.id, { onDelete: 'cascade' }),
    workspaceId: text('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    cadence: text('cadence', { enum: cadences }).notNull(),
    time: text('time'),
    minute: integer('minute'),
    everyHours: integer('every_hours'),
    timezone: text('timezone').notNull(),
    weekday: integer('weekday'),
    dayOfMonth: text('day_of_month'),
    recipients: jsonb('recipients').$type<string[]>().notNull().default([]),
    notify: text('notify', { enum: NOTIFY_POLICIES }).notNull().default('always'),
    enabled: boolean('enabled').notNull(),
    createdAt: createdAt(),
    updatedAt: at('updated_at').notNull(),
  },
  (t) => [index('schedules_workspace').on(t.workspaceId)],
);

export const deployment = pgTable('deployment', {
  id: text('id').primaryKey(),
  createdAt: createdAt(),
});
