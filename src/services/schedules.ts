import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { formatInZone, nextRunAt } from '../domain/cadence';
import type { NotifyPolicy } from '../domain/notify-policy';
import { mergeSchedulePatch, parseScheduleInput, type ScheduleSpec } from '../domain/schedule-input';
import type { Logger } from '../logger';
import type { ScheduleReconciler } from './schedule-reconciler';
import type { CohortService } from './cohorts';
import { withDeadline } from './deadline';
import { NotFoundError, ServiceError, ValidationError } from './errors';
import type { ImportRuns } from '../runs/import-runs';
import type { Cursors } from './paging';
import { type RunRepository, runView } from '../runs/run-store';
import { type ScheduleRow, scheduleColumnsOf, scheduleSpecOf } from './schedule-spec';

export interface ScheduleView {
  cohort_id: string;
  cadence: ScheduleSpec['cadence'];
  time?: string;
  minute?: number;
  every_hours?: number;
  timezone: string;
  weekday?: number;
  day_of_month?: number | 'last';
  recipients: string[];
  notify: NotifyPolicy;
  enabled: boolean;
  /** ISO 8601 with the zone's offset; null while paused (or, after a bug, when it cannot be computed). */
  next_run_at: string | null;
  created_at: string;
  updated_at: string;
}

export function scheduleView(row: ScheduleRow, log: Logger, now = new Date()): ScheduleView {
  const spec = scheduleSpecOf(row);
  return {
    cohort_id: row.cohortId,
    cadence: spec.cadence,
    ...(spec.cadence === 'hourly' ? { minute: spec.minute, every_hours: spec.every_hours } : { time: spec.time }),
    timezone: spec.timezone,
    ...(spec.cadence === 'weekly' ? { weekday: spec.weekday } : {}),
    ...(spec.cadence === 'monthly' ? { day_of_month: spec.day_of_month } : {}),
    recipients: spec.recipients,
    notify: spec.notify,
    enabled: spec.enabled,
    next_run_at: spec.enabled ? nextRunView(spec, now, row.cohortId, log) : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** A read never fails because of the next run: a schedule without one is a bug to alarm on. */
function nextRunView(spec: ScheduleSpec, now: Date, cohortId: string, log: Logger): string | null {
  try {
    return formatInZone(nextRunAt(spec, now), spec.timezone);
  } catch (err) {
    log.error({ err, cohortId, alarm: 'schedule_next_run' }, 'the next run of a schedule cannot be computed');
    return null;
  }
}

/** A cohort's import schedule (one at most), its manual trigger and its history. */
export class ScheduleService {
  constructor(
    private readonly db: ControlDb,
    private readonly cohorts: CohortService,
    private readonly imports: ImportRuns,
    private readonly runs: RunRepository,
    private readonly reconciler: ScheduleReconciler,
    private readonly cursors: Cursors,
    private readonly log: Logger,
    /** How long a request waits for Redis before answering 503 (QUEUE_DEADLINE_MS). */
    private readonly queueDeadlineMs: number,
  ) {}

  /** The schedule row of a live cohort, or undefined (workers use it when a schedule fires). */
  async find(cohortId: string): Promise<ScheduleRow | undefined> {
    const { schedules, cohorts } = this.db.tables;
    const [row] = await this.db
      .select({ schedule: schedules })
      .from(schedules)
      .innerJoin(cohorts, eq(cohorts.id, schedules.cohortId))
      .where(and(eq(schedules.cohortId, cohortId), isNull(cohorts.deletedAt)))
      .limit(1);
    return row?.schedule;
  }

  private async row(workspaceId: string, cohortId: string): Promise<ScheduleRow> {
    const cohort = await this.cohorts.row(workspaceId, cohortId);
    const row = await this.find(cohort.id);
    if (!row) throw new NotFoundError('Schedule');
    return row;
  }

  async put(workspaceId: string, cohortId: string, body: unknown): Promise<ScheduleView> {
    const { schedules } = this.db.tables;
    const cohort = await this.cohorts.row(workspaceId, cohortId);
    const parsed = parseScheduleInput(body);
    if (!parsed.ok) throw new ValidationError(parsed.issues);
    const now = new Date();
    const columns = scheduleColumnsOf(parsed.value);
    await this.db
      .insert(schedules)
      .values({ cohortId: cohort.id, workspaceId, ...columns, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({ target: schedules.cohortId, set: { ...columns, updatedAt: now } });
    await this.mirror(cohort.id);
    return scheduleView(await this.row(workspaceId, cohort.id), this.log);
  }

  /** Applies the saved schedule to its BullMQ job scheduler, or says why it could not yet. */
  private async mirror(cohortId: string): Promise<void> {
    try {
      await withDeadline(this.reconciler.reconcileCohort(cohortId), this.queueDeadlineMs, 'updating the job scheduler');
    } catch (err) {
      this.log.warn(
        { err: (err as Error).message, cohortId },
        'job scheduler not updated; the periodic reconcile will',
      );
      throw new ServiceError(
        503,
        'scheduler_unavailable',
        'The schedule was saved, but the job queue is unreachable; it takes effect automatically once the queue is back.',
      );
    }
  }

  async get(workspaceId: string, cohortId: string): Promise<ScheduleView> {
    return scheduleView(await this.row(workspaceId, cohortId), this.log);
  }

  async patch(workspaceId: string, cohortId: string, body: unknown): Promise<ScheduleView> {
    const { schedules } = this.db.tables;
    const existing = await this.row(workspaceId, cohortId);
    const merged = mergeSchedulePatch(scheduleSpecOf(existing), body);
    if (!merged.ok) throw new ValidationError(merged.issues);
    await this.db
      .update(schedules)
      .set({ ...scheduleColumnsOf(merged.value), updatedAt: new Date() })
      .where(eq(schedules.cohortId, existing.cohortId));
    await this.mirror(existing.cohortId);
    return scheduleView(await this.row(workspaceId, cohortId), this.log);
  }

  async delete(workspaceId: string, cohortId: string): Promise<void> {
    const { schedules } = this.db.tables;
    const existing = await this.row(workspaceId, cohortId);
    await this.db.delete(schedules).where(eq(schedules.cohortId, existing.cohortId));
    await this.mirror(existing.cohortId);
  }

  /** The workspace's schedules, soonest next run first; paused ones last. */
  async list(workspaceId: string): Promise<ScheduleView[]> {
    const { schedules, cohorts } = this.db.tables;
    const now = new Date();
    const rows = await this.db
      .select({ schedule: schedules })
      .from(schedules)
      .innerJoin(cohorts, eq(cohorts.id, schedules.cohortId))
      .where(and(eq(schedules.workspaceId, workspaceId), isNull(cohorts.deletedAt)))
      .orderBy(asc(schedules.createdAt));
    const key = (v: ScheduleView) => (v.next_run_at ? Date.parse(v.next_run_at) : Number.POSITIVE_INFINITY);
    return rows.map((r) => scheduleView(r.schedule, this.log, now)).sort((a, b) => key(a) - key(b));
  }

  /** The schedules of these cohorts, by cohort id (for a list of cohorts). */
  async forCohorts(cohortIds: string[]): Promise<Map<string, ScheduleView>> {
    if (cohortIds.length === 0) return new Map();
    const { schedules } = this.db.tables;
    const now = new Date();
    const rows = await this.db.select().from(schedules).where(inArray(schedules.cohortId, cohortIds));
    return new Map(rows.map((r) => [r.cohortId, scheduleView(r, this.log, now)]));
  }

  /** Runs the schedule now (trigger "manual"), to its recipients; 409 while a run is active. */
  async runNow(workspaceId: string, cohortId: string, requestId?: string) {
    const row = await this.row(workspaceId, cohortId);
    return this.imports.enqueue(workspaceId, row.cohortId, {
      trigger: 'manual',
      recipients: row.recipients,
      notify: row.notify,
      requestId,
    });
  }

  /** The schedule's runs (scheduled and manual), newest first. */
  async history(workspaceId: string, cohortId: string, opts: { limit: number; cursor?: string }) {
    const row = await this.row(workspaceId, cohortId);
    const rows = await this.runs.listForCohort(row.cohortId, opts.limit + 1, this.cursors.decode(opts.cursor), [
      'scheduled',
      'manual',
    ]);
    return this.cursors.page(rows, opts.limit, (r) => {
      const v = runView(r);
      return { ...v, members_imported: v.cohort_size === null ? null : v.cohort_size - v.unmatchable };
    });
  }
}
