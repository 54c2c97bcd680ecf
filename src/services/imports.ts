import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { ControlDb } from '../../db/client';
import { brazeConnections, importRuns, type RunTrigger } from '../../db/schema';
import type { NotifyPolicy } from '../domain/notify-policy';
import type { Logger } from '../logger';
import { enqueueImportRun, finalizeJobId, importRunJobId } from '../queue/producers';
import type { RunJanitor } from '../queue/run-janitor';
import type { Queues } from '../queue/queues';
import type { CohortService } from './cohorts';
import { ConflictError, NotFoundError, ServiceError } from './errors';
import { QUEUE_DEADLINE_MS, withDeadline } from './deadline';
import { decodeCursor, pageOf } from './paging';
import type { RunCloser } from './run-closer';
import { isActiveRun, type RunRepository, type RunRow, type RunView, runView } from './runs';

export interface EnqueueInput {
  trigger: RunTrigger;
  recipients?: string[];
  /** Whether the recipients hear of every run or of failures only (a schedule's choice). */
  notify?: NotifyPolicy;
  fullResync?: boolean;
  idempotencyKey?: string;
  /**
   * Refuse (409) when the workspace has no Braze connection. A scheduled run skips the check:
   * it is recorded and fails with the reason, so the history and the email tell the customer.
   */
  requireConnection?: boolean;
}

function isUniqueViolation(err: unknown, index: string): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message) && err.message.includes(index);
}

export class ImportService {
  constructor(
    private readonly db: ControlDb,
    private readonly cohorts: CohortService,
    private readonly runs: RunRepository,
    private readonly queues: Queues,
    private readonly janitor: RunJanitor,
    private readonly closer: RunCloser,
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
    retried = false,
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
          notify: input.notify ?? 'always',
          fullResync: input.fullResync ?? false,
        })
        .run();
    } catch (err) {
      if (isUniqueViolation(err, 'import_runs.cohort_id')) {
        const active = this.runs.activeForCohort(cohort.id);
        // A run whose jobs are gone would block the cohort for good: close it and go on.
        if (active && !retried && (await this.closeIfLost(active))) {
          return this.enqueue(workspaceId, cohortId, input, true);
        }
        throw new ConflictError('run_in_progress', 'An import of this cohort is already queued or running.', {
          run_id: active?.id,
        });
      }
      if (isUniqueViolation(err, 'import_runs.idempotency_key') && !retried) {
        return this.enqueue(workspaceId, cohortId, input, true);
      }
      throw err;
    }

    try {
      await withDeadline(enqueueImportRun(this.queues, id), QUEUE_DEADLINE_MS, 'adding the import job');
    } catch (err) {
      // Without its job the run would sit "queued" forever and block the cohort: close it, and
      // free its Idempotency-Key so the client's retry with the same key can start a run.
      this.runs.finish(id, {
        status: 'failed',
        added: 0,
        removed: 0,
        failed: 0,
        error: 'The job queue was unreachable.',
      });
      this.runs.releaseIdempotencyKey(id);
      this.log.error({ err, runId: id }, 'could not enqueue import run');
      throw new ServiceError(503, 'queue_unavailable', 'The job queue is unreachable; try again shortly.');
    }
    return { run: runView(this.runs.get(id)!), created: true };
  }

  private async closeIfLost(run: RunRow): Promise<boolean> {
    return withDeadline(this.janitor.closeIfLost(run), QUEUE_DEADLINE_MS, 'checking the active run').catch(() => false);
  }

  /**
   * Stops a queued or running run: it ends as failed with "Cancelled by request.". Pages not
   * yet sent send nothing; a page already on its way to Braze completes and is recorded.
   */
  async cancel(workspaceId: string, runId: string): Promise<RunView> {
    const run = this.runs.get(runId);
    if (!run || run.workspaceId !== workspaceId) throw new NotFoundError('Import run');
    if (!isActiveRun(run)) {
      throw new ConflictError('run_not_active', `The run has already ended (${run.status}).`);
    }
    const reason = 'Cancelled by request.';
    this.runs.abort(runId, reason);
    const taken = await withDeadline(this.takeBackUnstartedJob(runId), QUEUE_DEADLINE_MS, 'cancelling').catch(() => {
      throw new ServiceError(
        503,
        'queue_unavailable',
        'The job queue is unreachable; the run will stop once it is back.',
      );
    });
    // No worker has it: nothing else will close the run (nor drop what an earlier attempt froze).
    if (taken) await this.closer.closeFailed(runId, reason);
    // Otherwise the worker holding it, or finalize-run once the pages have stopped, ends it.
    return runView(this.runs.get(runId)!);
  }

  /** Removes the run's import-run job if no worker holds it and no pages exist yet. */
  private async takeBackUnstartedJob(runId: string): Promise<boolean> {
    if (await this.queues.finalizeRun.getJob(finalizeJobId(runId))) return false;
    const job = await this.queues.importRun.getJob(importRunJobId(runId));
    if (!job) return true;
    try {
      await job.remove();
      return true;
    } catch {
      return false; // active: a worker holds the lock and will see the abort
    }
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
