import { randomUUID } from 'node:crypto';
import type { RunTrigger } from '../../db/schema';
import type { NotifyPolicy } from '../domain/notify-policy';
import type { Logger } from '../logger';
import { runsStarted } from '../metrics/metrics';
import { addRunFlow, enqueueImportRun, withdrawRunJobs } from '../queue/producers';
import type { Queues } from '../queue/queues';
import type { BrazeConnectionService } from '../services/braze-connections';
import type { CohortService } from '../services/cohorts';
import { withDeadline } from '../services/deadline';
import { ConflictError, NotFoundError, ServiceError } from '../services/errors';
import type { Cursors } from '../services/paging';
import type { RunJanitor } from './run-janitor';
import type { RunOutcomes } from './run-outcomes';
import { isActiveRun, type RunRepository, type RunRow, type RunView, runView } from './run-store';

export interface EnqueueInput {
  trigger: RunTrigger;
  recipients?: string[];
  /** Whether the recipients hear of every run or of failures only (a schedule's choice). */
  notify?: NotifyPolicy;
  fullResync?: boolean;
  /** false: the cohort's removal guardrail does not apply to this run (one-time imports). */
  guardrail?: boolean;
  idempotencyKey?: string;
  /**
   * Refuse (409) when the workspace has no Braze connection. A scheduled run skips the check:
   * it is recorded and fails with the reason, so the history and the email tell the customer.
   */
  requireConnection?: boolean;
  /** The HTTP request that asked for the run: its jobs carry the id into the workers' logs. */
  requestId?: string;
}

/**
 * An import run's life as the API sees it: starting one (the Idempotency-Key and the one-active-
 * run rule), cancelling it, and reading the history. The workers' side of the same life is in
 * run-execution.ts; how a run ends and settles, in run-outcomes.ts; stuck runs, run-janitor.ts.
 */
export class ImportRuns {
  constructor(
    private readonly cohorts: CohortService,
    private readonly connections: BrazeConnectionService,
    private readonly runs: RunRepository,
    private readonly queues: Queues,
    private readonly janitor: RunJanitor,
    private readonly outcomes: RunOutcomes,
    private readonly cursors: Cursors,
    private readonly upload: { attempts: number; backoffMs: number },
    private readonly log: Logger,
    /** How long a request waits for Redis before answering 503 (QUEUE_DEADLINE_MS). */
    private readonly queueDeadlineMs: number,
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
    const cohort = await this.cohorts.row(workspaceId, cohortId);
    const earlier = input.idempotencyKey
      ? await this.runs.byIdempotencyKey(workspaceId, input.idempotencyKey)
      : undefined;
    if (earlier) {
      // The same key with another request is a client bug, not a retry: say so (422), as
      // well-known APIs do, rather than answer with a run the client did not ask for.
      const sameRequest =
        earlier.cohortId === cohort.id &&
        earlier.trigger === input.trigger &&
        earlier.fullResync === (input.fullResync ?? false) &&
        earlier.guardrail === (input.guardrail ?? true) &&
        JSON.stringify(earlier.recipients) === JSON.stringify(input.recipients ?? []);
      if (!sameRequest) {
        throw new ServiceError(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was already used with a different request (another cohort, recipients, full_resync or guardrail); use a new key.',
          { run_id: earlier.id },
        );
      }
      return { run: runView(earlier), created: false };
    }
    if (input.requireConnection !== false && !(await this.connections.exists(workspaceId))) {
      throw new ConflictError('braze_connection_missing', 'Save a Braze connection first: PUT /v1/braze-connection.');
    }

    const id = randomUUID();
    const inserted = await this.runs.insertQueued({
      id,
      workspaceId,
      cohortId: cohort.id,
      trigger: input.trigger,
      status: 'queued',
      idempotencyKey: input.idempotencyKey ?? null,
      recipients: input.recipients ?? [],
      notify: input.notify ?? 'always',
      fullResync: input.fullResync ?? false,
      guardrail: input.guardrail ?? true,
    });
    if (!inserted) {
      // A unique index said no: the cohort has an active run, or a concurrent request just
      // used the same Idempotency-Key (the retry then answers with its run).
      const active = await this.runs.activeForCohort(cohort.id);
      if (active && !retried && (await this.closeIfLost(active))) {
        // A run whose jobs are gone would block the cohort for good: it was closed; go on.
        return this.enqueue(workspaceId, cohortId, input, true);
      }
      if (!active && !retried) return this.enqueue(workspaceId, cohortId, input, true);
      throw new ConflictError('run_in_progress', 'An import of this cohort is already queued or running.', {
        run_id: active?.id,
      });
    }

    try {
      await withDeadline(
        enqueueImportRun(this.queues, id, input.requestId),
        this.queueDeadlineMs,
        'adding the import job',
      );
    } catch (err) {
      // Without its job the run would sit "queued" forever and block the cohort: close it, and
      // free its Idempotency-Key so the client's retry with the same key can start a run.
      await this.runs.finish(id, {
        status: 'failed',
        added: 0,
        removed: 0,
        failed: 0,
        error: 'The job queue was unreachable.',
      });
      await this.runs.releaseIdempotencyKey(id);
      this.log.error({ err, runId: id }, 'could not enqueue import run');
      throw new ServiceError(503, 'queue_unavailable', 'The job queue is unreachable; try again shortly.');
    }
    runsStarted.inc({ trigger: input.trigger });
    return { run: runView((await this.runs.get(id))!), created: true };
  }

  private async closeIfLost(run: RunRow): Promise<boolean> {
    return withDeadline(this.janitor.closeIfLost(run), this.queueDeadlineMs, 'checking the active run').catch(
      (err: Error) => {
        // Not known to be lost: the caller answers 409 (run in progress), the safe answer.
        this.log.warn({ err: err.message, runId: run.id }, 'could not check whether the active run is lost');
        return false;
      },
    );
  }

  /**
   * Sends a run the removal guardrail held, as planned: its recorded diff is fanned out as is
   * (what changed in the warehouse since waits for the next run).
   */
  async approve(workspaceId: string, runId: string): Promise<RunView> {
    const run = await this.runs.get(runId);
    if (!run || run.workspaceId !== workspaceId) throw new NotFoundError('Import run');
    if (!(await this.runs.approve(runId))) {
      throw new ConflictError('run_not_held', `Only a held run can be approved; this one is ${run.status}.`);
    }
    try {
      await withDeadline(
        addRunFlow(this.queues, runId, run.changesTotal, this.upload),
        this.queueDeadlineMs,
        'sending the pages',
      );
    } catch (err) {
      // Held again, so the approval can simply be repeated once the queue is back.
      await this.runs.hold(runId, run.holdReason ?? '');
      this.log.error({ err, runId }, 'could not fan out an approved run');
      throw new ServiceError(503, 'queue_unavailable', 'The job queue is unreachable; approve the run again shortly.');
    }
    this.log.info({ runId }, 'held run approved');
    return runView((await this.runs.get(runId))!);
  }

  /**
   * Stops a queued, running or held run: it ends as failed with "Cancelled by request.". Pages not
   * yet sent send nothing; a page already on its way to Braze completes and is recorded.
   */
  async cancel(workspaceId: string, runId: string): Promise<RunView> {
    const run = await this.runs.get(runId);
    if (!run || run.workspaceId !== workspaceId) throw new NotFoundError('Import run');
    if (!isActiveRun(run)) {
      throw new ConflictError('run_not_active', `The run has already ended (${run.status}).`);
    }
    const reason = 'Cancelled by request.';
    await this.runs.abort(runId, reason);
    const taken = await withDeadline(withdrawRunJobs(this.queues, runId), this.queueDeadlineMs, 'cancelling').catch(
      (err: Error) => {
        this.log.warn({ err: err.message, runId }, 'cancel: the run jobs could not be withdrawn');
        throw new ServiceError(
          503,
          'queue_unavailable',
          'The job queue is unreachable; the run will stop once it is back.',
        );
      },
    );
    // No worker has it: nothing else will close the run (nor drop what an earlier attempt froze).
    // Its clean-up (perhaps a large working set) runs in a worker, not on web's event loop.
    if (taken) await this.outcomes.fail(runId, reason, 'in-a-worker');
    // Otherwise the worker holding it, or finalize-run once the pages have stopped, ends it.
    return runView((await this.runs.get(runId))!);
  }

  async list(workspaceId: string, cohortId: string, opts: { limit: number; cursor?: string }) {
    const cohort = await this.cohorts.row(workspaceId, cohortId);
    const rows = await this.runs.listForCohort(cohort.id, opts.limit + 1, this.cursors.decode(opts.cursor));
    return this.cursors.page(rows, opts.limit, runView);
  }

  /** Each cohort's newest run (for a list of cohorts); cohorts that never ran are absent. */
  async latestForCohorts(cohortIds: string[]): Promise<Map<string, RunView>> {
    const rows = await this.runs.latestForCohorts(cohortIds);
    return new Map(rows.map((r) => [r.cohortId, runView(r)]));
  }

  /**
   * Pages done out of the run's pages. Exact while the run is active (the workers' counter);
   * an ended run reports all its pages done when it succeeded, else null (not known any more).
   */
  async progress(workspaceId: string, runId: string) {
    const row = await this.ownRun(workspaceId, runId);
    const run = runView(row);
    let pagesDone: number | null = null;
    if (isActiveRun(row)) {
      pagesDone = await withDeadline(this.outcomes.pagesDone(runId), this.queueDeadlineMs, 'reading progress').catch(
        (err: Error) => {
          // Progress is a nicety: the run itself is answered, with pages_done unknown (null).
          this.log.warn({ err: err.message, runId }, 'run progress unreadable');
          return null;
        },
      );
    } else if (row.status === 'succeeded') {
      pagesDone = row.pagesTotal;
    }
    return { run_id: run.id, status: run.status, pages_done: pagesDone, pages_total: row.pagesTotal };
  }

  async get(workspaceId: string, runId: string): Promise<RunView> {
    return runView(await this.ownRun(workspaceId, runId));
  }

  /** The workspace's run, or 404 (another workspace's run is not found either). */
  private async ownRun(workspaceId: string, runId: string): Promise<RunRow> {
    const row = await this.runs.get(runId);
    if (!row || row.workspaceId !== workspaceId) throw new NotFoundError('Import run');
    return row;
  }
}
