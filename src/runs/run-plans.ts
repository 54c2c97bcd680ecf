import { randomUUID } from 'node:crypto';
import type { Criteria } from '../domain/criteria';
import { guardrailHold } from '../domain/guardrail';
import type { Logger } from '../logger';
import type { PlanCohortPayload, PlanCohortResult } from '../queue/payloads';
import { enqueuePlanCohort, planJobState } from '../queue/producers';
import type { Queues } from '../queue/queues';
import type { BrazeConnectionService } from '../services/braze-connections';
import { cohortGuardrail, type CohortService } from '../services/cohorts';
import { withDeadline } from '../services/deadline';
import { ConflictError, ServiceError } from '../services/errors';
import { WarehouseTimeoutError } from '../warehouse/warehouse-timeout-error';
import type { Warehouse } from '../warehouse/warehouse';

/** How often web looks whether the worker has answered a plan. */
const PLAN_POLL_MS = 50;

export interface PlanView {
  cohort_id: string;
  cohort_size: number;
  unmatchable: number;
  additions: number;
  removals: number;
  /** Identifiers Braze holds for the cohort now (the guardrail's base). */
  synced_before: number;
  guardrail: { max_removal_percent: number; min_removals: number; would_hold: boolean; reason: string | null };
}

/**
 * What a run of a cohort would do now, without sending anything: the run's own freeze and diff
 * (the same warehouse calls, under a plan id of its own, against the synced set it never
 * changes), computed by a worker so neither engine's bulk SQL runs on web's event loop, then
 * dropped. Web asks through a job and waits for its answer within the query deadline.
 */
export class RunPlans {
  constructor(
    private readonly cohorts: CohortService,
    private readonly connections: BrazeConnectionService,
    private readonly warehouse: Warehouse,
    private readonly queues: Queues,
    private readonly deadlineMs: number,
    private readonly log: Logger,
    /** How long a request waits for Redis before answering 503 (QUEUE_DEADLINE_MS). */
    private readonly queueDeadlineMs: number,
  ) {}

  /** The cohort (404 if gone) of a workspace that has a Braze connection (409 if not). */
  private async plannable(workspaceId: string, cohortId: string) {
    const cohort = await this.cohorts.row(workspaceId, cohortId);
    if (!(await this.connections.exists(workspaceId))) {
      throw new ConflictError('braze_connection_missing', 'Save a Braze connection first: PUT /v1/braze-connection.');
    }
    return cohort;
  }

  async plan(workspaceId: string, cohortId: string): Promise<PlanView> {
    const cohort = await this.plannable(workspaceId, cohortId);
    const planId = randomUUID();
    const started = Date.now();
    await withDeadline(
      enqueuePlanCohort(this.queues, { planId, cohortId: cohort.id, workspaceId }),
      this.queueDeadlineMs,
      'asking for the plan',
    ).catch(() => {
      throw new ServiceError(503, 'queue_unavailable', 'The job queue is unreachable; try again shortly.');
    });
    for (;;) {
      const state = await planJobState(this.queues, planId);
      if (state !== 'pending' && 'done' in state) {
        const counts = state.done;
        const reason = guardrailHold(counts, cohortGuardrail(cohort));
        return {
          cohort_id: cohort.id,
          cohort_size: counts.cohortSize,
          unmatchable: counts.unmatchable,
          additions: counts.additions,
          removals: counts.removals,
          synced_before: counts.syncedBefore,
          guardrail: {
            max_removal_percent: cohort.guardrailMaxRemovalPercent,
            min_removals: cohort.guardrailMinRemovals,
            would_hold: reason !== null,
            reason,
          },
        };
      }
      if (state !== 'pending') {
        this.log.error({ planId, cohortId, error: state.failed }, 'plan failed');
        // The usual causes changed under the plan: the cohort deleted (404) or the connection
        // removed (409) meanwhile, answered as such; anything else is the worker's to retry.
        await this.plannable(workspaceId, cohortId);
        throw new ServiceError(503, 'plan_failed', 'The plan could not be computed; try again shortly.');
      }
      // The worker goes on and drops what it froze; the caller hears the deadline now.
      if (Date.now() - started > this.deadlineMs) throw new WarehouseTimeoutError('the plan', this.deadlineMs);
      await new Promise((r) => setTimeout(r, PLAN_POLL_MS));
    }
  }

  /** The worker's side: freeze and diff under the plan's id, count, and drop it all whatever happens. */
  async compute(p: PlanCohortPayload): Promise<PlanCohortResult> {
    const cohort = await this.cohorts.byId(p.cohortId);
    if (!cohort || cohort.deletedAt) throw new Error('The cohort was deleted.');
    const syncScope = await this.connections.syncScope(p.workspaceId);
    if (!syncScope) throw new Error('The workspace has no Braze connection.');
    const criteria = cohort.criteria as Criteria;
    try {
      // As a run does: a cohort Braze holds nothing of is frozen straight into its diff.
      const firstImport = await this.warehouse.freezeFirstImport?.(p.planId, p.workspaceId, criteria, Date.now(), {
        cohortId: cohort.id,
        syncScope,
      });
      if (firstImport) return firstImport;
      const frozen = await this.warehouse.freezeRunMembers(p.planId, p.workspaceId, criteria, Date.now());
      const changes = await this.warehouse.computeChanges(p.planId, cohort.id, syncScope, false);
      return { ...frozen, ...changes };
    } finally {
      await this.warehouse.discardRun(p.planId);
    }
  }
}
