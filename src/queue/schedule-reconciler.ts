import type { Queue } from 'bullmq';
import { and, eq, isNull } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { cohorts, schedules } from '../../db/schema';
import { cadenceToCron } from '../domain/cadence';
import type { Logger } from '../logger';
import { scheduleSpecOf } from '../services/schedule-spec';
import { type ScheduledImportPayload, scheduledImportPayload } from './payloads';

/** One job scheduler per cohort, with an id derived from it (BullMQ ids may not contain ':'). */
export const schedulerIdFor = (cohortId: string) => `cohort-schedule-${cohortId}`;

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
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly db: ControlDb,
    private readonly queue: Queue,
    private readonly log: Logger,
  ) {}

  /** Brings one cohort's scheduler in line with the database. */
  reconcileCohort(cohortId: string): Promise<void> {
    const previous = this.inFlight.get(cohortId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.applyCohort(cohortId));
    this.inFlight.set(cohortId, next);
    void next
      .finally(() => {
        if (this.inFlight.get(cohortId) === next) this.inFlight.delete(cohortId);
      })
      .catch(() => undefined);
    return next;
  }

  /** Adds what is missing, fixes what differs, removes orphans. */
  async reconcileAll(): Promise<ReconcileReport> {
    const report: ReconcileReport = { added: 0, updated: 0, removed: 0, unchanged: 0 };
    const wanted = new Map(this.desiredAll().map((d) => [d.id, d]));
    const existing = await this.queue.getJobSchedulers(0, -1);
    for (const have of existing) {
      const id = have.key;
      if (!wanted.has(id)) {
        await this.queue.removeJobScheduler(id);
        report.removed++;
      }
    }
    const byId = new Map(existing.map((e) => [e.key, e]));
    for (const want of wanted.values()) {
      const have = byId.get(want.id);
      if (have && matches(have, want)) {
        report.unchanged++;
        continue;
      }
      await this.upsert(want);
      if (have) report.updated++;
      else report.added++;
    }
    this.log.info(report, 'schedules reconciled');
    return report;
  }

  private async applyCohort(cohortId: string): Promise<void> {
    const id = schedulerIdFor(cohortId);
    const want = this.desiredFor(cohortId);
    const have = await this.queue.getJobScheduler(id);
    if (!want) {
      if (have) await this.queue.removeJobScheduler(id);
      return;
    }
    if (!have || !matches(have, want)) await this.upsert(want);
  }

  private async upsert(want: Desired): Promise<void> {
    await this.queue.upsertJobScheduler(
      want.id,
      { pattern: want.pattern, tz: want.tz },
      {
        name: 'scheduled-import',
        data: scheduledImportPayload.parse(want.data),
        opts: { removeOnComplete: { age: 30 * 24 * 3600, count: 1000 }, removeOnFail: { age: 30 * 24 * 3600 } },
      },
    );
  }

  private rows(cohortId?: string) {
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
      )
      .all();
  }

  private desiredAll(): Desired[] {
    return this.rows().map((r) => toDesired(r.schedule));
  }

  private desiredFor(cohortId: string): Desired | null {
    const row = this.rows(cohortId)[0];
    return row ? toDesired(row.schedule) : null;
  }
}

function toDesired(row: typeof schedules.$inferSelect): Desired {
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
