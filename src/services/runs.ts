import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { importRuns, type RunStatus, type RunTrigger } from '../../db/schema';
import { type Cursor, olderThan } from './paging';

export type RunRow = typeof importRuns.$inferSelect;

export interface RunView {
  id: string;
  cohort_id: string;
  trigger: RunTrigger;
  status: RunStatus;
  full_resync: boolean;
  recipients: string[];
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

export function runView(r: RunRow): RunView {
  return {
    id: r.id,
    cohort_id: r.cohortId,
    trigger: r.trigger,
    status: r.status,
    full_resync: r.fullResync,
    recipients: r.recipients,
    created_at: r.createdAt.toISOString(),
    started_at: r.startedAt?.toISOString() ?? null,
    finished_at: r.finishedAt?.toISOString() ?? null,
    cohort_size: r.cohortSize,
    added: r.added,
    removed: r.removed,
    unmatchable: r.unmatchable,
    failed: r.failed,
    error: r.error,
  };
}

export const activeStatuses: RunStatus[] = ['queued', 'running'];
export const isActiveRun = (run: { status: RunStatus }) => activeStatuses.includes(run.status);

/** The run history in the control database: what workers record as a run moves along. */
export class RunRepository {
  constructor(private readonly db: ControlDb) {}

  get(runId: string): RunRow | undefined {
    return this.db.select().from(importRuns).where(eq(importRuns.id, runId)).get();
  }

  activeForCohort(cohortId: string): RunRow | undefined {
    return this.db
      .select()
      .from(importRuns)
      .where(and(eq(importRuns.cohortId, cohortId), inArray(importRuns.status, activeStatuses)))
      .get();
  }

  allActive(): RunRow[] {
    return this.db.select().from(importRuns).where(inArray(importRuns.status, activeStatuses)).all();
  }

  /** Newest first, after the cursor, optionally only some triggers. */
  listForCohort(cohortId: string, limit: number, before: Cursor | null, triggers?: RunTrigger[]): RunRow[] {
    return this.db
      .select()
      .from(importRuns)
      .where(
        and(
          eq(importRuns.cohortId, cohortId),
          triggers ? inArray(importRuns.trigger, triggers) : undefined,
          olderThan(importRuns.createdAt, importRuns.id, before),
        ),
      )
      .orderBy(desc(importRuns.createdAt), desc(importRuns.id))
      .limit(limit)
      .all();
  }

  /**
   * Records a schedule's firing that did not run because another run of the cohort was
   * active, so the history shows it; it never blocks the cohort and is never emailed.
   */
  recordSkipped(skip: {
    workspaceId: string;
    cohortId: string;
    recipients: string[];
    activeRunId: string | undefined;
  }): RunRow {
    const id = randomUUID();
    const now = new Date();
    this.db
      .insert(importRuns)
      .values({
        id,
        workspaceId: skip.workspaceId,
        cohortId: skip.cohortId,
        trigger: 'scheduled',
        status: 'skipped',
        recipients: skip.recipients,
        createdAt: now,
        finishedAt: now,
        error: `Skipped: the schedule fired while an import of this cohort${skip.activeRunId ? ` (run ${skip.activeRunId})` : ''} was still in progress; the next firing imports every change.`,
      })
      .run();
    return this.get(id)!;
  }

  markRunning(runId: string, syncScope: string): void {
    this.db
      .update(importRuns)
      .set({ status: 'running', syncScope, startedAt: sql`coalesce(${importRuns.startedAt}, ${Date.now()})` })
      .where(and(eq(importRuns.id, runId), inArray(importRuns.status, activeStatuses)))
      .run();
  }

  recordFrozen(
    runId: string,
    f: { cohortSize: number; unmatchable: number; changesTotal: number; pagesTotal: number },
  ): void {
    this.db
      .update(importRuns)
      .set({ ...f, diffRecordedAt: new Date() })
      .where(eq(importRuns.id, runId))
      .run();
  }
  /** Records the first permanent error of a run; later pages see it and stop sending. */
  abort(runId: string, error: string): void {
    this.db
      .update(importRuns)
      .set({ error })
      .where(and(eq(importRuns.id, runId), isNull(importRuns.error)))
      .run();
  }

  abortReason(runId: string): string | null {
    return (
      this.db.select({ error: importRuns.error }).from(importRuns).where(eq(importRuns.id, runId)).get()?.error ?? null
    );
  }

  finish(
    runId: string,
    r: {
      status: Exclude<RunStatus, 'queued' | 'running'>;
      added: number;
      removed: number;
      failed: number;
      error: string | null;
    },
  ): RunRow | undefined {
    this.db
      .update(importRuns)
      .set({ ...r, finishedAt: new Date() })
      .where(and(eq(importRuns.id, runId), inArray(importRuns.status, activeStatuses)))
      .run();
    return this.get(runId);
  }

  releaseIdempotencyKey(runId: string): void {
    this.db.update(importRuns).set({ idempotencyKey: null }).where(eq(importRuns.id, runId)).run();
  }

  /**
   * Claims the right to send the run's completion email: true for exactly one caller, ever.
   * A claim is released only when sending failed, so a worker that dies after sending never
   * causes a second email (at most once per run).
   */
  claimNotification(runId: string): boolean {
    const res = this.db
      .update(importRuns)
      .set({ notificationClaimedAt: new Date() })
      .where(
        and(eq(importRuns.id, runId), isNull(importRuns.notificationClaimedAt), isNull(importRuns.notificationSentAt)),
      )
      .run();
    return res.changes === 1;
  }

  releaseNotification(runId: string): void {
    this.db
      .update(importRuns)
      .set({ notificationClaimedAt: null })
      .where(and(eq(importRuns.id, runId), isNull(importRuns.notificationSentAt)))
      .run();
  }

  markNotificationSent(runId: string): void {
    this.db.update(importRuns).set({ notificationSentAt: new Date() }).where(eq(importRuns.id, runId)).run();
  }
}
