import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { ControlDb, ControlTables } from '../../db/client';
import { parseCriteria, type Criteria } from '../domain/criteria';
import { type Guardrail, parseGuardrail } from '../domain/guardrail';
import { brazeIdentifierOf } from '../domain/identity';
import type { ScheduleReconciler } from './schedule-reconciler';
import type { Warehouse } from '../warehouse/warehouse';
import { enqueueForgetCohort } from '../queue/producers';
import type { Queues } from '../queue/queues';
import { withDeadline } from './deadline';
import { ConflictError, NotFoundError, ValidationError } from './errors';
import { type Cursors, olderThan } from './paging';
import type { RunRepository } from '../runs/run-store';

export type CohortRow = ControlTables['cohorts']['$inferSelect'];

export interface CohortView {
  id: string;
  name: string;
  braze_cohort_id: string;
  criteria: Criteria;
  guardrail: { max_removal_percent: number; min_removals: number };
  created_at: string;
  updated_at: string;
}

function view(c: CohortRow): CohortView {
  return {
    id: c.id,
    name: c.name,
    braze_cohort_id: c.brazeCohortId,
    criteria: c.criteria as Criteria,
    guardrail: { max_removal_percent: c.guardrailMaxRemovalPercent, min_removals: c.guardrailMinRemovals },
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new ValidationError([{ path: 'name', message: 'must be a non-empty string' }]);
  }
  if (name.length > 200) throw new ValidationError([{ path: 'name', message: 'must be at most 200 characters' }]);
  return name.trim();
}

function checkCriteria(input: unknown): Criteria {
  const parsed = parseCriteria(input);
  if (!parsed.ok) throw new ValidationError(parsed.issues);
  return parsed.criteria;
}

/** The cohort's removal guardrail thresholds. */
export const cohortGuardrail = (c: CohortRow): Guardrail => ({
  maxRemovalPercent: c.guardrailMaxRemovalPercent,
  minRemovals: c.guardrailMinRemovals,
});

function checkGuardrail(input: unknown, current?: Guardrail): Guardrail {
  const parsed = parseGuardrail(input, current);
  if (!parsed.ok) throw new ValidationError(parsed.issues);
  return parsed.guardrail;
}

type CohortInput = { name?: unknown; criteria?: unknown; guardrail?: unknown };

export class CohortService {
  constructor(
    private readonly db: ControlDb,
    private readonly warehouse: Warehouse,
    private readonly runs: RunRepository,
    private readonly reconciler: ScheduleReconciler,
    private readonly queues: Queues,
    private readonly cursors: Cursors,
    private readonly log: Logger,
    /** How long a request waits for Redis before answering 503 (QUEUE_DEADLINE_MS). */
    private readonly queueDeadlineMs: number,
  ) {}

  async create(workspaceId: string, input: CohortInput): Promise<CohortView> {
    const { cohorts } = this.db.tables;
    const name = checkName(input.name);
    const criteria = checkCriteria(input.criteria);
    const guardrail = checkGuardrail(input.guardrail ?? {});
    const now = new Date();
    const id = randomUUID();
    const [row] = await this.db
      .insert(cohorts)
      .values({
        id,
        workspaceId,
        name,
        criteria,
        guardrailMaxRemovalPercent: guardrail.maxRemovalPercent,
        guardrailMinRemovals: guardrail.minRemovals,
        brazeCohortId: `cohort-${randomUUID()}`,
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    return view(row!);
  }

  /** The cohort if it belongs to the workspace and is not deleted; else 404. */
  async row(workspaceId: string, id: string): Promise<CohortRow> {
    const { cohorts } = this.db.tables;
    const [row] = await this.db
      .select()
      .from(cohorts)
      .where(and(eq(cohorts.id, id), eq(cohorts.workspaceId, workspaceId), isNull(cohorts.deletedAt)))
      .limit(1);
    if (!row) throw new NotFoundError('Cohort');
    return row;
  }

  /** A live cohort by id alone (workers, holding a run of it), or undefined. */
  async byId(id: string): Promise<CohortRow | undefined> {
    const { cohorts } = this.db.tables;
    const [row] = await this.db.select().from(cohorts).where(eq(cohorts.id, id)).limit(1);
    return row;
  }

  async get(workspaceId: string, id: string): Promise<CohortView> {
    return view(await this.row(workspaceId, id));
  }

  async list(
    workspaceId: string,
    opts: { limit: number; cursor?: string },
  ): Promise<{ data: CohortView[]; next_cursor: string | null }> {
    const { cohorts } = this.db.tables;
    const before = this.cursors.decode(opts.cursor);
    const rows = await this.db
      .select()
      .from(cohorts)
      .where(
        and(
          eq(cohorts.workspaceId, workspaceId),
          isNull(cohorts.deletedAt),
          olderThan(cohorts.createdAt, cohorts.id, before),
        ),
      )
      .orderBy(desc(cohorts.createdAt), desc(cohorts.id))
      .limit(opts.limit + 1);
    return this.cursors.page(rows, opts.limit, view);
  }

  async update(workspaceId: string, id: string, input: CohortInput): Promise<CohortView> {
    const { cohorts } = this.db.tables;
    const existing = await this.row(workspaceId, id);
    const set: Partial<CohortRow> = { updatedAt: new Date() };
    if (input.name !== undefined) set.name = checkName(input.name);
    if (input.criteria !== undefined) set.criteria = checkCriteria(input.criteria);
    if (input.guardrail !== undefined) {
      const g = checkGuardrail(input.guardrail, cohortGuardrail(existing));
      set.guardrailMaxRemovalPercent = g.maxRemovalPercent;
      set.guardrailMinRemovals = g.minRemovals;
    }
    const [row] = await this.db.update(cohorts).set(set).where(eq(cohorts.id, existing.id)).returning();
    return view(row!);
  }

  /** Soft delete: its runs stay readable (GET /v1/imports/:id) and the Braze cohort id is never reused. */
  async delete(workspaceId: string, id: string): Promise<void> {
    const { cohorts, schedules } = this.db.tables;
    const existing = await this.row(workspaceId, id);
    const active = await this.runs.activeForCohort(existing.id);
    if (active) {
      throw new ConflictError('run_in_progress', 'The cohort has an import in progress; wait for it to finish.', {
        run_id: active.id,
      });
    }
    // Deleted first: a schedule of a deleted cohort is never read or fired (every read joins on
    // a live cohort), so a crash between the two statements leaves nothing that acts.
    await this.db.update(cohorts).set({ deletedAt: new Date() }).where(eq(cohorts.id, existing.id));
    await this.db.delete(schedules).where(eq(schedules.cohortId, existing.id));
    // Its Braze id is retired for good, so what Braze was told about it is no longer needed:
    // dropped by a worker (perhaps a million rows, not web's work), or here if Redis is away.
    await withDeadline(
      enqueueForgetCohort(this.queues, existing.id),
      this.queueDeadlineMs,
      'queueing the clean-up',
    ).catch((err: Error) => {
      this.log.warn({ err: err.message, cohortId: existing.id }, 'clean-up not queued; done here instead');
      return this.warehouse.forgetCohort(existing.id);
    });
    // The delete stands even if Redis is away: web's periodic reconcile removes the scheduler.
    await withDeadline(
      this.reconciler.reconcileCohort(existing.id),
      this.queueDeadlineMs,
      'removing the scheduler',
    ).catch((err: Error) =>
      this.log.warn({ err: err.message, cohortId: existing.id }, 'scheduler not removed; the periodic reconcile will'),
    );
  }

  async preview(workspaceId: string, id: string, limit: number) {
    const cohort = await this.row(workspaceId, id);
    return this.previewOf(workspaceId, cohort.criteria as Criteria, limit);
  }

  /** The preview of criteria not saved yet (a cohort being built); a 400 names the bad field. */
  async previewCriteria(workspaceId: string, input: unknown, limit: number) {
    return this.previewOf(workspaceId, checkCriteria(input), limit);
  }

  private async previewOf(workspaceId: string, criteria: Criteria, limit: number) {
    const result = await this.warehouse.preview(workspaceId, criteria, { now: Date.now(), limit });
    return {
      count: result.count,
      unmatchable: result.unmatchable,
      sample: result.sample.map((m) => {
        const identifier = brazeIdentifierOf(m);
        return {
          user_key: m.user_key,
          braze_identifier: identifier
            ? identifier.type === 'alias'
              ? { type: 'alias' as const, value: { alias_name: identifier.value, alias_label: identifier.label } }
              : { type: identifier.type, value: identifier.value }
            : null,
        };
      }),
    };
  }
}
