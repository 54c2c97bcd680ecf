import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { ControlDb, ControlTables } from '../../db/client';
import type { RunStatus, RunTrigger } from '../../db/schema';
import { type Cursor, olderThan } from '../services/paging';

export type RunRow = ControlTables['importRuns']['$inferSelect'];

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
  /** Whether the cohort's removal guardrail applies to this run. */
  guardrail: boolean;
  /** The diff once computed, and what Braze held for the cohort before it. */
  planned: { added: number; removed: number; synced_before: number } | null;
  /** Why the guardrail held the run, if it did (kept after approval or cancel). */
  hold_reason: string | null;
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
    guardrail: r.guardrail,
    planned:
      r.plannedAdded === null || r.plannedRemoved === null || r.syncedBefore === null
        ? null
        : { added: r.plannedAdded, removed: r.plannedRemoved, synced_before: r.syncedBefore },
    hold_reason: r.holdReason,
  };
}

export const activeStatuses: RunStatus[] = ['queued', 'running', 'held'];

/**
 * Whether a run is live: queued, running or held for approval, so it holds its cohort (one
 * active run per cohort) and it has not ended. A held run has no jobs: it waits for a person. The one answer to "is this run still going"; everything that ends a
 * run moves it out of these statuses in one conditional UPDATE.
 */
export const isActiveRun = (run: { status: RunStatus }) => activeStatuses.includes(run.status);

/** Whether a page of the run may still be sent: running, not aborted by a permanent error or a cancel. */
export const maySend = (run: { status: RunStatus; error: string | null; syncScope: string | null }) =>
  run.status === 'running' && run.error === null && run.syncScope !== null;

/** The run history in the control database: what workers record as a run moves along. */
export class RunRepository {
  /**
   * A run by id, the read every request about a run and every page span starts with: prepared
   * once (drizzle builds and SQLite compiles the 30-column SELECT once, not per call).
   */
  private readonly byId;

  constructor(private readonly db: ControlDb) {
    this.byId = db
      .select()
      .from(this.t)
      .where(eq(this.t.id, sql.placeholder('runId')))
      .limit(1)
      .prepare('import_run_by_id');
  }

  private get t() {
    return this.db.tables.importRuns;
  }

  async get(runId: string): Promise<RunRow | undefined> {
    const [row] = await this.byId.execute({ runId });
    return row;
  }

  async activeForCohort(cohortId: string): Promise<RunRow | undefined> {
    const [row] = await this.db
      .select()
      .from(this.t)
      .where(and(eq(this.t.cohortId, cohortId), inArray(this.t.status, activeStatuses)))
      .limit(1);
    return row;
  }

  async allActive(): Promise<RunRow[]> {
    return this.db.select().from(this.t).where(inArray(this.t.status, activeStatuses));
  }

  /** The run a workspace used an Idempotency-Key for, if any. */
  async byIdempotencyKey(workspaceId: string, key: string): Promise<RunRow | undefined> {
    const [row] = await this.db
      .select()
      .from(this.t)
      .where(and(eq(this.t.workspaceId, workspaceId), eq(this.t.idempotencyKey, key)))
      .limit(1);
    return row;
  }

  /**
   * Inserts a queued run unless the cohort has an active run or the Idempotency-Key was used:
   * one statement against the unique indexes, atomic on both engines. True when inserted.
   */
  async insertQueued(values: ControlTables['importRuns']['$inferInsert']): Promise<boolean> {
    const inserted = await this.db.insert(this.t).values(values).onConflictDoNothing().returning({ id: this.t.id });
    return inserted.length === 1;
  }

  /** Newest first, after the cursor, optionally only some triggers. */
  async listForCohort(
    cohortId: string,
    limit: number,
    before: Cursor | null,
    triggers?: RunTrigger[],
  ): Promise<RunRow[]> {
    return this.db
      .select()
      .from(this.t)
      .where(
        and(
          eq(this.t.cohortId, cohortId),
          triggers ? inArray(this.t.trigger, triggers) : undefined,
          olderThan(this.t.createdAt, this.t.id, before),
        ),
      )
      .orderBy(desc(this.t.createdAt), desc(this.t.id))
      .limit(limit);
  }

  /**
   * The newest run of each cohort that has one, in one statement on either engine: per cohort,
   * a correlated LIMIT 1 on the (cohort_id, created_at, id) index, so a cohort's long history is
   * never read (a list page of 200 cohorts was 200 queries).
   */
  async latestForCohorts(cohortIds: string[]): Promise<RunRow[]> {
    if (cohortIds.length === 0) return [];
    const newest = sql`SELECT (SELECT x.id FROM import_runs x WHERE x.cohort_id = c.id
      ORDER BY x.created_at DESC, x.id DESC LIMIT 1) FROM cohorts c WHERE c.id IN (${sql.join(
        cohortIds.map((id) => sql`${id}`),
        sql`, `,
      )})`;
    return this.db
      .select()
      .from(this.t)
      .where(sql`${this.t.id} IN (${newest})`);
  }

  /**
   * Records a schedule's firing that did not run because another run of the cohort was
   * active, so the history shows it; it never blocks the cohort and is never emailed.
   */
  async recordSkipped(skip: {
    workspaceId: string;
    cohortId: string;
    recipients: string[];
    activeRunId: string | undefined;
  }): Promise<RunRow> {
    const id = randomUUID();
    const now = new Date();
    await this.db.insert(this.t).values({
      id,
      workspaceId: skip.workspaceId,
      cohortId: skip.cohortId,
      trigger: 'scheduled',
      status: 'skipped',
      recipients: skip.recipients,
      createdAt: now,
      finishedAt: now,
      error: `Skipped: the schedule fired while an import of this cohort${skip.activeRunId ? ` (run ${skip.activeRunId})` : ''} was still in progress or held for approval; the next firing imports every change.`,
    });
    return (await this.get(id))!;
  }

  async markRunning(runId: string, syncScope: string): Promise<void> {
    const active = and(eq(this.t.id, runId), inArray(this.t.status, activeStatuses));
    // A retried attempt keeps the first start time.
    await this.db
      .update(this.t)
      .set({ startedAt: new Date() })
      .where(and(active, isNull(this.t.startedAt)));
    await this.db.update(this.t).set({ status: 'running', syncScope }).where(active);
  }

  async recordFrozen(
    runId: string,
    f: {
      cohortSize: number;
      unmatchable: number;
      changesTotal: number;
      pagesTotal: number;
      plannedAdded: number;
      plannedRemoved: number;
      syncedBefore: number;
    },
  ): Promise<void> {
    await this.db
      .update(this.t)
      .set({ ...f, diffRecordedAt: new Date() })
      .where(eq(this.t.id, runId));
  }

  /** Pages fanned out so far of a first import still being frozen (recordFrozen then sets the total). */
  async setPagesTotal(runId: string, pagesTotal: number): Promise<void> {
    await this.db.update(this.t).set({ pagesTotal }).where(eq(this.t.id, runId));
  }

  /** Holds a running run for approval (the guardrail); true when it was running and not aborted. */
  async hold(runId: string, reason: string): Promise<boolean> {
    const held = await this.db
      .update(this.t)
      .set({ status: 'held', holdReason: reason })
      .where(and(eq(this.t.id, runId), eq(this.t.status, 'running'), isNull(this.t.error)))
      .returning({ id: this.t.id });
    return held.length === 1;
  }

  /** Lets a held run go on as planned: true for exactly one caller. */
  async approve(runId: string): Promise<boolean> {
    const approved = await this.db
      .update(this.t)
      .set({ status: 'running' })
      .where(and(eq(this.t.id, runId), eq(this.t.status, 'held')))
      .returning({ id: this.t.id });
    return approved.length === 1;
  }

  /** Claims the "held for approval" email: true for exactly one caller unless released. */
  async claimHoldNotice(runId: string): Promise<boolean> {
    const claimed = await this.db
      .update(this.t)
      .set({ holdNoticeClaimedAt: new Date() })
      .where(and(eq(this.t.id, runId), isNull(this.t.holdNoticeClaimedAt)))
      .returning({ id: this.t.id });
    return claimed.length === 1;
  }

  async releaseHoldNotice(runId: string): Promise<void> {
    await this.db.update(this.t).set({ holdNoticeClaimedAt: null }).where(eq(this.t.id, runId));
  }

  /** Records the first permanent error of a run; later pages see it and stop sending. */
  async abort(runId: string, error: string): Promise<void> {
    await this.db
      .update(this.t)
      .set({ error })
      .where(and(eq(this.t.id, runId), isNull(this.t.error)));
  }

  async abortReason(runId: string): Promise<string | null> {
    const [row] = await this.db.select({ error: this.t.error }).from(this.t).where(eq(this.t.id, runId)).limit(1);
    return row?.error ?? null;
  }

  async finish(
    runId: string,
    r: {
      status: Exclude<RunStatus, 'queued' | 'running' | 'held'>;
      added: number;
      removed: number;
      failed: number;
      error: string | null;
    },
  ): Promise<RunRow | undefined> {
    await this.db
      .update(this.t)
      .set({ ...r, finishedAt: new Date() })
      .where(and(eq(this.t.id, runId), inArray(this.t.status, activeStatuses)));
    return this.get(runId);
  }

  async releaseIdempotencyKey(runId: string): Promise<void> {
    await this.db.update(this.t).set({ idempotencyKey: null }).where(eq(this.t.id, runId));
  }

  /**
   * Claims the right to send the run's completion email: true for exactly one caller, ever.
   * A claim is released only when sending failed, so a worker that dies after sending never
   * causes a second email (at most once per run).
   */
  async claimNotification(runId: string): Promise<boolean> {
    const claimed = await this.db
      .update(this.t)
      .set({ notificationClaimedAt: new Date() })
      .where(and(eq(this.t.id, runId), isNull(this.t.notificationClaimedAt), isNull(this.t.notificationSentAt)))
      .returning({ id: this.t.id });
    return claimed.length === 1;
  }

  async releaseNotification(runId: string): Promise<void> {
    await this.db
      .update(this.t)
      .set({ notificationClaimedAt: null })
      .where(and(eq(this.t.id, runId), isNull(this.t.notificationSentAt)));
  }

  /**
   * Takes the lease on executing the run's start until `until`: true for one caller at a time.
   * BullMQ's job lock is renewed from the event loop, which a long synchronous freeze (SQLite)
   * can hold past the lock; the lease keeps a second worker from starting the same run then.
   * `takeOverFrom`: the holder is known to be gone (a killed worker), and its lease is taken
   * even before it runs out — only if that holder still has it, so one taker wins.
   */
  async leaseExecution(runId: string, until: Date, holder: string, takeOverFrom?: string): Promise<boolean> {
    const now = new Date();
    const free = or(isNull(this.t.executingUntil), lt(this.t.executingUntil, now));
    const taken = await this.db
      .update(this.t)
      .set({ executingUntil: until, executingBy: holder })
      .where(
        and(
          eq(this.t.id, runId),
          inArray(this.t.status, activeStatuses),
          takeOverFrom ? or(free, eq(this.t.executingBy, takeOverFrom)) : free,
        ),
      )
      .returning({ id: this.t.id });
    return taken.length === 1;
  }

  /** Gives the lease back, if `holder` still holds it (one taken over is the new holder's). */
  async releaseExecution(runId: string, holder: string): Promise<void> {
    await this.db
      .update(this.t)
      .set({ executingUntil: null, executingBy: null })
      .where(and(eq(this.t.id, runId), eq(this.t.executingBy, holder)));
  }

  /** Records that what follows the run's end (working sets dropped, email queued) is done. */
  async markSettled(runId: string): Promise<void> {
    await this.db.update(this.t).set({ settledAt: new Date() }).where(eq(this.t.id, runId));
  }

  /** Runs that ended before `before` and were never settled (a crash or a Redis blip in between). */
  async unsettled(before: Date, limit = 100): Promise<RunRow[]> {
    return this.db
      .select()
      .from(this.t)
      .where(and(isNotNull(this.t.finishedAt), isNull(this.t.settledAt), lt(this.t.finishedAt, before)))
      .limit(limit);
  }

  async markNotificationSent(runId: string): Promise<void> {
    await this.db.update(this.t).set({ notificationSentAt: new Date() }).where(eq(this.t.id, runId));
  }
}
