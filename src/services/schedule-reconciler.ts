import type { Queue } from 'bullmq';
import { and, eq, isNull } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { cadenceToCron } from '../domain/cadence';
import type { Logger } from '../logger';
import { type ScheduleRow, scheduleSpecOf } from './schedule-spec';
import { type ScheduledImportPayload, scheduledImportPayload } from '../queue/payloads';

const SCHEDULER_PREFIX = 'cohort-schedule-';

/** One job scheduler per cohort, with an id derived from it (BullMQ ids may not contain ':'). */
export const schedulerIdFor = (cohortId: string) => `${SCHEDULER_PREFIX}${cohortId}`;
const cohortIdOf = (schedulerId: string) =>
  schedulerId.startsWith(SCHEDULER_PREFIX) ? schedulerId.slice(SCHEDULER_PREFIX.length) : null;

type Action = 'added' | 'updated' | 'removed' | 'unchanged';

interface Desired {
  id: string;
  pattern: string;
  tz: string;
  data: ScheduledImportPayload;
}

export interface ReconcileReport {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
}

/**
 * Mirrors the schedules table into BullMQ job schedulers. Only the web process runs it: at
 * start-up (all of them) and after each change (that cohort). It always reads the database
 * afresh, and changes for one cohort are applied one at a time, so concurrent requests
 * converge on what the database holds last.
 */
export class ScheduleReconciler {
  private readonly inFlight = new Map<string, Promise<Action>>();

  constructor(
    private readonly db: ControlDb,
    private readonly queue: Queue,
    private readonly log: Logger,
  ) {}

  /** Brings one cohort's scheduler in line with the database. */
  reconcileCohort(cohortId: string): Promise<Action> {
    const previous = this.inFlight.get(cohortId) ?? Promise.resolve('unchanged' as Action);
    const next = previous.catch(() => undefined).then(() => this.applyCohort(cohortId));
    this.inFlight.set(cohortId, next);
    void next
      .finally(() => {
        if (this.inFlight.get(cohortId) === next) this.inFlight.delete(cohortId);
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * Adds what is missing, fixes what differs, removes orphans: every cohort that has a
   * schedule or a scheduler goes through reconcileCohort, so a change made meanwhile is
   * never overwritten with what the database held when this started.
   */
  async reconcileAll(): Promise<ReconcileReport> {
    const report: ReconcileReport = { added: 0, updated: 0, removed: 0, unchanged: 0 };
    const cohortIds = new Set((await this.rows()).map((r) => r.schedule.cohortId));
    for (const have of await this.queue.getJobSchedulers(0, -1)) {
      const cohortId = cohortIdOf(have.key);
      if (cohortId) cohortIds.add(cohortId);
      else {
        // Not one of ours by its name: nothing in the database can want it.
        await this.queue.removeJobScheduler(have.key);
        report.removed++;
      }
    }
    for (const cohortId of cohortIds) report[await this.reconcileCohort(cohortId)]++;
    this.log.info(report, 'schedules reconciled');
    return report;
  }

  private async applyCohort(cohortId: string): Promise<Action> {
    const id = schedulerIdFor(cohortId);
    const want = await this.desiredFor(cohortId);
    const have = await this.queue.getJobScheduler(id);
    if (!want) {
      if (!have) return 'unchanged';
      await this.queue.removeJobScheduler(id);
      return 'removed';
    }
    if (have && matches(have, want)) return 'unchanged';
    await this.upsert(want);
    return have ? 'updated' : 'added';
  }

  private async upsert(want: Desired): Promise<void> {
    await this.queue.upsertJobScheduler(
      want.id,
      { pattern: want.pattern, tz: want.tz },
      {
        name: 'scheduled-import',
        data: scheduledImportPayload.parse(want.data),
        opts: {
          removeOnComplete: { age: 30 * 24 * 3600, count: 1000 },
          removeOnFail: { age: 30 * 24 * 3600 },
          // A firing that meets a Redis blip is tried again rather than lost.
          attempts: 5,
          backoff: { type: 'exponential', delay: 5_000 },
        },
      },
    );
  }

  private rows(cohortId?: string) {
    const { schedules, cohorts } = this.db.tables;
    return this.db
      .select({ schedule: schedules })
      .from(schedules)
      .innerJoin(cohorts, eq(cohorts.id, schedules.cohortId))
      .where(
        and(
          eq(schedules.enabled, true),
          isNull(cohorts.deletedAt),
          cohortId ? eq(schedules.cohortId, cohortId) : undefined,
        ),
      );
  }

  private async desiredFor(cohortId: string): Promise<Desired | null> {
    const [row] = await this.rows(cohortId);
    return row ? toDesired(row.schedule) : null;
  }
}

function toDesired(row: ScheduleRow): Desired {
  const cron = cadenceToCron(scheduleSpecOf(row));
  return {
    id: schedulerIdFor(row.cohortId),
    pattern: cron.pattern,
    tz: cron.tz,
    data: { cohortId: row.cohortId, workspaceId: row.workspaceId },
  };
}

function matches(have: { pattern?: string; tz?: string; template?: { data?: unknown } }, want: Desired): boolean {
  const data = have.template?.data as Partial<ScheduledImportPayload> | undefined;
  return (
    have.pattern === want.pattern &&
    have.tz === want.tz &&
    data?.cohortId === want.data.cohortId &&
    data?.workspaceId === want.data.workspaceId
  );
}
