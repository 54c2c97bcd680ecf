import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { brazeConnections, importRuns, type RunTrigger } from '../../db/schema';
import type { Logger } from '../logger';
import { enqueueImportRun } from '../queue/producers';
import type { Queues } from '../queue/queues';
import type { CohortService } from './cohorts';
import { ConflictError, NotFoundError, ServiceError } from './errors';
import { withDeadline } from './deadline';
import { decodeCursor, pageOf } from './paging';
import { type RunRepository, type RunView, runView } from './runs';

export interface EnqueueInput {
  trigger: RunTrigger;
  recipients?: string[];
  fullResync?: boolean;
  idempotencyKey?: string;
  /**
   * Refuse (409) when the workspace has no Braze connection. A scheduled run skips the check:
   * it is recorded and fails with the reason, so the history and the email tell the customer.
   */
  requireConnection?: boolean;
}

/** How long an API request waits for Redis before answering 503. */
export const QUEUE_DEADLINE_MS = 5_000;

function isUniqueViolation(err: unknown, index: string): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message) && err.message.includes(index);
}

export class ImportService {
  constructor(
    private readonly db: ControlDb,
    private readonly cohorts: CohortService,
    private readonly runs: RunRepository,
    private readonly queues: Queues,
    private readonly log: Logger,
  ) {}

  /**
   * Records a queued run and enqueues its job. One active run per cohort (409 with that run's
   * id otherwise); an Idempotency-Key already used returns the run it created.
   */
  async enqueue(
    workspaceId: string,
    cohortId: string,
    input: EnqueueInput,
  ): Promise<{ run: RunView; created: boolean }> {
    const cohort = this.cohorts.row(workspaceId, cohortId);
    if (input.idempotencyKey) {
      const earlier = this.db
        .select()
        .from(importRuns)
        .where(and(eq(importRuns.workspaceId, workspaceId), eq(importRuns.idempotencyKey, input.idempotencyKey)))
        .get();
      if (earlier) {
        if (earlier.cohortId !== cohort.id) {
          throw new ConflictError(
            'idempotency_key_reused',
            'This Idempotency-Key was already used for another cohort.',
          );
        }
        return { run: runView(earlier), created: false };
      }
    }
    const connection = this.db
      .select({ id: brazeConnections.workspaceId })
      .from(brazeConnections)
      .where(eq(brazeConnections.workspaceId, workspaceId))
      .get();
    if (!connection && input.requireConnection !== false) {
      throw new ConflictError('braze_connection_missing', 'Save a Braze connection first: PUT /v1/braze-connection.');
    }

    const id = randomUUID();
    try {
      this.db
        .insert(importRuns)
        .values({
          id,
          workspaceId,
          cohortId: cohort.id,
          trigger: input.trigger,
          status: 'queued',
          idempotencyKey: input.idempotencyKey ?? null,
          recipients: input.recipients ?? [],
          fullResync: input.fullResync ?? false,
        })
        .run();
    } catch (err) {
      if (isUniqueViolation(err, 'import_runs.cohort_id')) {
        const active = this.runs.activeForCohort(cohort.id);
        throw new ConflictError('run_in_progress', 'An import of this cohort is already queued or running.', {
          run_id: active?.id,
        });
      }
      if (isUniqueViolation(err, 'import_runs.idempotency_key')) {
        return this.enqueue(workspaceId, cohortId, input);
      }
      throw err;
    }

    try {
      await withDeadline(enqueueImportRun(this.queues, id), QUEUE_DEADLINE_MS, 'adding the import job');
    } catch (err) {
      // Without its job the run would sit "queued" forever and block the cohort: close it.
      this.runs.finish(id, {
        status: 'failed',
        added: 0,
        removed: 0,
        failed: 0,
        error: 'The job queue was unreachable.',
      });
      this.log.error({ err, runId: id }, 'could not enqueue import run');
      throw new ServiceError(503, 'queue_unavailable', 'The job queue is unreachable; try again shortly.');
    }
    return { run: runView(this.runs.get(id)!), created: true };
  }

  list(workspaceId: string, cohortId: string, opts: { limit: number; cursor?: string }) {
    const cohort = this.cohorts.row(workspaceId, cohortId);
    return pageOf(this.runs.listForCohort(cohort.id, opts.limit + 1, decodeCursor(opts.cursor)), opts.limit, runView);
  }

  get(workspaceId: string, runId: string): RunView {
    const row = this.runs.get(runId);
    if (!row || row.workspaceId !== workspaceId) throw new NotFoundError('Import run');
    return runView(row);
  }
}
