import { setTimeout as sleep } from 'node:timers/promises';
import type { BrazeCallResult } from '../braze/client';
import { cohortChangesJson } from '../braze/cohort-changes';
import { BrazeError } from '../braze/errors';
import type { Criteria } from '../domain/criteria';
import { guardrailHold } from '../domain/guardrail';
import type { Logger } from '../logger';
import { identifiersSent } from '../metrics/metrics';
import { PAGE_SIZE } from '../queue/names';
import {
  type FreezePagesPayload,
  freezePagesProgress,
  type UploadPagePayload,
  type UploadPageResult,
  type UploadSpanProgress,
  uploadSpanProgress,
} from '../queue/payloads';
import {
  addProgressiveRunFlow,
  addRunFlow,
  addRunSpans,
  cutSpans,
  pagesPerSpan,
  runPagesEnqueued,
  showRunProgress,
} from '../queue/producers';
import type { Queues } from '../queue/queues';
import type { BrazeConnectionService, ConnectionForRun } from '../services/braze-connections';
import { cohortGuardrail, type CohortRow, type CohortService } from '../services/cohorts';
import { isBusyStore } from '../store-errors';
import type { FirstImportProgress, Warehouse } from '../warehouse/warehouse';
import type { PageTotals, RunOutcomes } from './run-outcomes';
import type { ExecutorBeacon } from './executor-beacon';
import { isActiveRun, maySend, type RunRepository, type RunRow } from './run-store';

/**
 * How long one attempt may execute a run's start before another may take over (a lease that
 * outlives the warehouse's bulk statement deadline: freeze and diff each get five minutes).
 */
const EXECUTION_LEASE_MS = 12 * 60_000;
/** How often a span asks whether its run was stopped (cancelled, or failed by another page). */
const ABORT_CHECK_MS = 100;
/** How often a span adds the pages it sent to its run's "pages done" counter (and once more when it ends). */
const COUNT_PAGES_MS = 250;
/**
 * Records a span may have waiting at once where the warehouse commits them in call order: what a
 * span sends while a freeze's chunk holds SQLite's write lock (~150 ms), and the most pages a
 * crash makes it send again beyond the one in flight.
 */
const PENDING_RECORDS = 8;
/**
 * The pause between two chunks of a first import's freeze, for writers waiting for SQLite's lock:
 * longer than the pause between their asks (up to 8 ms, see the SQLite warehouse's writeWithoutBlocking).
 */
const FREEZE_CHUNK_PAUSE_MS = 12;
/** A busy store (another worker's long write) is waited out in steps of this. */
const BUSY_RETRY_MS = 2_000;

export type SendOutcome = { ok: true; result: BrazeCallResult } | { ok: false; error: string };

/**
 * What a worker's job offers the run while it works, so this module needs no queue internals:
 * progress for operators (and for a retry to resume from), one of a cohort's in-flight slots,
 * and sending one Braze request inside the shared rate budget. `send` and `withCohortSlot` may
 * end the attempt by moving the job back to delayed (a 429, the budget, a busy cohort): they
 * then throw, and the job comes back later without spending an attempt. Permanent refusals
 * (400/401/403/404) come back as `{ok: false}`; retryable ones are thrown.
 */
export interface RunJob {
  /** The request that started the run (X-Request-Id), handed on to its pages. */
  requestId?: string;
  /** The progress an earlier attempt of this job reported last (undefined on a first attempt). */
  lastProgress(): unknown;
  progress(state: Record<string, unknown>): Promise<void>;
  /** Ends this attempt without spending it: the job comes back at `until` (epoch ms). Throws. */
  later(until: number): Promise<never>;
  /** Runs `work` holding one of the cohort's in-flight slots for about `requests` requests. */
  withCohortSlot<T>(cohortId: string, requests: number, work: () => Promise<T>): Promise<T>;
  /**
   * Sends `call` within the connection's rate budget. `inFlight` is work of this attempt still
   * under way that a later attempt resumes from (the record of the page before): when the send
   * hands the job back to the queue (budget spent, 429), that work finishes first.
   */
  send(call: () => Promise<BrazeCallResult>, budgetKey: string, inFlight?: Promise<unknown>): Promise<SendOutcome>;
}

/** Why a job did nothing, for Bull Board and the logs. */
export type Skipped = { skipped: string };

/**
 * The workers' side of an import run: starting it (freeze, register the cohort in Braze, diff,
 * fan out pages), sending a page, and finishing it once every page is done. Each step may be
 * repeated safely when its job is retried.
 */
export class RunExecution {
  constructor(
    private readonly runs: RunRepository,
    private readonly outcomes: RunOutcomes,
    private readonly cohorts: CohortService,
    private readonly connections: BrazeConnectionService,
    private readonly warehouse: Warehouse,
    private readonly queues: Queues,
    private readonly executor: Pick<ExecutorBeacon, 'id' | 'isGone'>,
    /** Retries of a page on 5xx/423/network errors (UPLOAD_ATTEMPTS, UPLOAD_BACKOFF_MS). */
    private readonly upload: { attempts: number; backoffMs: number },
    private readonly log: Logger,
    /**
     * First imports of workspaces with at least this many users are frozen chunk by chunk while
     * their first pages are sent (FREEZE_PAGES_MIN_USERS); absent: every run freezes in one pass.
     */
    private readonly firstImports?: { progressiveMinUsers: number },
  ) {}

  /** Each run's last "was it stopped?" asked of the store by this process (see stopReason). */
  private readonly stopChecks = new Map<string, { at: number; reason: Promise<string | null> }>();

  private unknownRun(runId: string, jobId: string | undefined): Skipped {
    // Another deployment's job (a shared queue prefix) or a run deleted with its workspace.
    this.log.warn({ jobId, runId }, 'job for an unknown run skipped');
    return { skipped: 'run not found' };
  }

  /**
   * Starts a run: freeze, register (or rename) the cohort in Braze, diff, and fan the pages out.
   * One attempt at a time (a lease on the run row), and a busy store is waited out without
   * spending an attempt.
   */
  async start(runId: string, job: RunJob, jobId?: string) {
    if (!(await this.lease(runId))) {
      const run = await this.runs.get(runId);
      if (!run) return this.unknownRun(runId, jobId);
      if (isActiveRun(run)) {
        this.log.warn({ runId, jobId }, 'run start already being executed elsewhere; trying later');
        return await job.later(Date.now() + BUSY_RETRY_MS);
      }
    }
    try {
      return await this.startLeased(runId, job, jobId);
    } catch (err) {
      if (isBusyStore(err)) {
        this.log.warn({ runId, err: (err as Error).message }, 'store busy; the run start tries again later');
        // Awaited here, inside the try: `finally` then waits for the lease's release, and an
        // un-awaited rejection would go unobserved meanwhile (and end the worker process).
        return await job.later(Date.now() + BUSY_RETRY_MS * (1 + Math.random()));
      }
      throw err;
    } finally {
      await this.runs.releaseExecution(runId, this.executor.id).catch(() => undefined);
    }
  }

  /**
   * The lease on executing the run's start: free, run out, or held by a worker process that is
   * gone (killed mid-freeze: its beacon stopped), which is then taken over at once.
   */
  private async lease(runId: string): Promise<boolean> {
    const until = new Date(Date.now() + EXECUTION_LEASE_MS);
    if (await this.runs.leaseExecution(runId, until, this.executor.id)) return true;
    const holder = (await this.runs.get(runId))?.executingBy;
    if (!holder || holder === this.executor.id || !(await this.executor.isGone(holder))) return false;
    const taken = await this.runs.leaseExecution(runId, until, this.executor.id, holder);
    if (taken) this.log.warn({ runId, holder }, 'the worker executing the run start is gone; taking it over');
    return taken;
  }

  private async startLeased(runId: string, job: RunJob, jobId?: string) {
    const run = await this.runs.get(runId);
    if (!run) return this.unknownRun(runId, jobId);
    if (!isActiveRun(run)) {
      await this.outcomes.settle(run);
      return { skipped: 'run already ended' };
    }
    if (run.status === 'held') {
      // A retry after the hold was recorded: make sure its email is queued, then wait for a person.
      await this.outcomes.hold(runId, run.holdReason ?? '');
      return { skipped: 'held for approval' };
    }
    if (await runPagesEnqueued(this.queues, runId)) return { skipped: 'pages already enqueued' };
    if (run.diffRecordedAt) {
      // A retry after the diff was recorded: the pages are cut from it as it stands; computing
      // it again could renumber what another attempt's pages are reading.
      await addRunFlow(this.queues, runId, run.changesTotal, this.upload, job.requestId);
      return { pagesTotal: run.pagesTotal, resumed: true };
    }

    const cohort = await this.cohorts.byId(run.cohortId);
    if (!cohort || cohort.deletedAt) {
      await this.outcomes.fail(runId, 'The cohort was deleted before the import started.');
      return { failed: true };
    }
    let connection;
    try {
      connection = await this.connections.forRun(run.workspaceId);
    } catch (err) {
      if (!(err instanceof BrazeError)) throw err;
      await this.outcomes.fail(runId, err.message);
      return { failed: true };
    }
    await this.runs.markRunning(runId, connection.syncScope);

    const progressive = await this.startProgressively(run, cohort, connection, job);
    if (progressive) return progressive;

    await job.progress({ stage: 'freezing members' });
    const criteria = cohort.criteria as Criteria;
    // A first import's diff is its members: frozen straight into the diff where the engine can.
    const firstImport = await this.warehouse.freezeFirstImport?.(runId, run.workspaceId, criteria, Date.now(), {
      cohortId: run.cohortId,
      syncScope: connection.syncScope,
    });
    const frozen = firstImport ?? (await this.warehouse.freezeRunMembers(runId, run.workspaceId, criteria, Date.now()));
    const cancelledBy = await this.runs.abortReason(runId);
    if (cancelledBy) {
      await this.outcomes.fail(runId, cancelledBy);
      return { failed: true };
    }

    await job.progress({ stage: 'registering cohort in Braze', cohortSize: frozen.cohortSize });
    if (!(await this.register(runId, cohort, connection, job))) return { failed: true };

    await job.progress({ stage: 'computing changes', cohortSize: frozen.cohortSize });
    const changes =
      firstImport ?? (await this.warehouse.computeChanges(runId, run.cohortId, connection.syncScope, run.fullResync));
    const changesTotal = changes.additions + changes.removals;
    const pagesTotal = Math.ceil(changesTotal / PAGE_SIZE);
    await this.runs.recordFrozen(runId, {
      ...frozen,
      changesTotal,
      pagesTotal,
      plannedAdded: changes.additions,
      plannedRemoved: changes.removals,
      syncedBefore: changes.syncedBefore,
    });
    const holdReason = run.guardrail ? guardrailHold(changes, cohortGuardrail(cohort)) : null;
    if (holdReason) {
      // Nothing is sent: the diff stays recorded, and approval fans it out as it stands.
      if (await this.outcomes.hold(runId, holdReason)) {
        await job.progress({ stage: 'held by the removal guardrail', pagesTotal });
        return { held: true, cohortSize: frozen.cohortSize, ...changes, pagesTotal };
      }
      // Cancelled while the diff was computed.
      await this.outcomes.fail(runId, (await this.runs.abortReason(runId)) ?? 'Cancelled by request.');
      return { failed: true };
    }
    await addRunFlow(this.queues, runId, changesTotal, this.upload, job.requestId);
    await job.progress({ stage: 'pages enqueued', pagesTotal });
    return { cohortSize: frozen.cohortSize, unmatchable: frozen.unmatchable, ...changes, pagesTotal };
  }

  /** Creates (or renames) the cohort in Braze; false when Braze refused for good (the run then failed). */
  private async register(
    runId: string,
    cohort: CohortRow,
    connection: ConnectionForRun,
    job: RunJob,
  ): Promise<boolean> {
    const sent = await job.send(
      () =>
        connection.client.createCohort({
          cohortId: cohort.brazeCohortId,
          name: cohort.name,
          createdAt: cohort.createdAt,
        }),
      cohort.workspaceId,
    );
    if (!sent.ok) await this.outcomes.fail(runId, sent.error);
    return sent.ok;
  }

  /**
   * A large first import, where the engine can: the cohort is registered, then a freeze-pages job
   * freezes the members chunk by chunk and fans each span out as soon as its pages are committed,
   * so Braze receives the first pages while the rest is still being frozen. Undefined when the
   * run takes the one-pass path (not a first import, a small workspace, or the engine).
   */
  private async startProgressively(run: RunRow, cohort: CohortRow, connection: ConnectionForRun, job: RunJob) {
    const w = this.warehouse;
    if (!this.firstImports || !w.beginFirstImport || !w.freezeFirstImportChunk) return undefined;
    const sync = { cohortId: run.cohortId, syncScope: connection.syncScope };
    const begun = await w.beginFirstImport(run.id, run.workspaceId, sync, {
      minUsers: this.firstImports.progressiveMinUsers,
    });
    if (!begun) return undefined;
    await job.progress({ stage: 'registering cohort in Braze' });
    if (!(await this.register(run.id, cohort, connection, job))) return { failed: true };
    const cancelledBy = await this.runs.abortReason(run.id);
    if (cancelledBy) {
      await this.outcomes.fail(run.id, cancelledBy);
      return { failed: true };
    }
    await addProgressiveRunFlow(this.queues, {
      runId: run.id,
      criteria: cohort.criteria as Record<string, unknown>,
      now: Date.now(),
      // Sized for every user of the workspace being a member: the most spans it can need.
      pagesPerSpan: pagesPerSpan(Math.ceil(begun.userIds / PAGE_SIZE)),
      requestId: job.requestId,
    });
    await job.progress({ stage: 'members freezing in chunks' });
    return { progressive: true, userIds: begun.userIds };
  }

  /**
   * The freeze-pages job of a first import (see startProgressively): freezes the next chunk of
   * members, fans out every span whose pages are now committed, and so on until all are frozen;
   * then records the run's figures as a one-pass freeze would. A retry resumes after the last
   * chunk committed and adds only the spans after those its progress says were added. A stop
   * (cancel, a page refused for good) ends it early: the spans already out send nothing more, and
   * finalize-run ends the run.
   */
  async freezePages(p: FreezePagesPayload, job: RunJob, jobId?: string) {
    const run = await this.runs.get(p.runId);
    if (!run) return this.unknownRun(p.runId, jobId);
    if (!isActiveRun(run)) return { skipped: 'run already ended' };
    const resumed = freezePagesProgress.safeParse(job.lastProgress());
    let spansAdded = resumed.success ? resumed.data.spansAdded : 0;
    await job.progress({ stage: 'freezing members', spansAdded });
    let state: FirstImportProgress;
    for (let chunk = 0; ; chunk++) {
      const stoppedBy = await this.runs.abortReason(p.runId);
      if (stoppedBy) return { stopped: stoppedBy, spansAdded };
      // SQLite's write lock has no queue: without a pause the next chunk takes it back at once,
      // and the page records and ingest writes waiting for it would get in only by chance.
      if (chunk > 0) await sleep(FREEZE_CHUNK_PAUSE_MS);
      state = await this.warehouse.freezeFirstImportChunk!(
        p.runId,
        run.workspaceId,
        p.criteria as Criteria,
        p.now,
      ).catch((err: unknown) => {
        if (isBusyStore(err)) return job.later(Date.now() + BUSY_RETRY_MS * (1 + Math.random()));
        throw err;
      });
      const spans = cutSpans(p.runId, state.extent, state.done, p.pagesPerSpan).slice(spansAdded);
      if (spans.length > 0) {
        await addRunSpans(this.queues, p.runId, spans, spansAdded, this.upload, job.requestId);
        spansAdded += spans.length;
        await Promise.all([
          job.progress({ stage: 'freezing members', spansAdded }),
          this.runs.setPagesTotal(p.runId, spans.at(-1)!.lastPage),
        ]);
      }
      if (state.done) break;
    }
    const pagesTotal = Math.ceil(state.extent / PAGE_SIZE);
    const cohortSize = state.additions + state.unmatchable;
    await this.runs.recordFrozen(p.runId, {
      cohortSize,
      unmatchable: state.unmatchable,
      changesTotal: state.additions,
      pagesTotal,
      plannedAdded: state.additions,
      plannedRemoved: 0,
      syncedBefore: 0,
    });
    await job.progress({ stage: 'members frozen', spansAdded, pagesTotal });
    return { cohortSize, unmatchable: state.unmatchable, additions: state.additions, removals: 0, pagesTotal };
  }

  /**
   * Sends a span of the diff's pages (≤ 1,000 identifiers each), in order, holding one of the
   * cohort's in-flight slots. Each page Braze acknowledged is recorded as synced in one
   * transaction (and, where the warehouse keeps no record of pages, in the job's progress), so a
   * retry of the job resumes after it (sentOfSpan): a crash costs a span the page in flight and
   * those whose records (which overlap the next requests) had not landed, at most one more, or
   * PENDING_RECORDS more where the warehouse commits records in call order (resending a page is
   * harmless). A permanent refusal fails the run for every other page: `PermanentPageError`.
   */
  async sendPages(span: UploadPagePayload, job: RunJob, jobId?: string): Promise<UploadPageResult> {
    const done = await this.sentOfSpan(span, job.lastProgress());
    const skipped: UploadPageResult = { added: done.added, removed: done.removed, skipped: true };
    const run = await this.runs.get(span.runId);
    if (!run) {
      this.unknownRun(span.runId, jobId);
      return skipped;
    }
    // A run already failed by a permanent error, or cancelled, sends nothing more.
    if (!maySend(run) || !run.syncScope) return skipped;
    const syncScope = run.syncScope;
    const cohort = await this.cohorts.byId(run.cohortId);
    if (!cohort) return skipped;
    let connection: Awaited<ReturnType<BrazeConnectionService['forRun']>>;
    try {
      connection = await this.connections.forRun(run.workspaceId);
    } catch (err) {
      // The connection was deleted (or its region lost its partner key) mid-run.
      if (err instanceof BrazeError) await this.abort(span.runId, err.message);
      throw err;
    }

    const firstToSend = span.firstPage + done.pagesDone;
    if (firstToSend > span.lastPage) return { added: done.added, removed: done.removed, skipped: false };
    // The run's "pages done" counter as the last count left it (undefined: nothing counted yet).
    // Pages are added to it at most every COUNT_PAGES_MS and when the span ends, not one by one.
    // Where the warehouse records each acknowledged page, that record is what a retry resumes
    // from, and the job's progress is only shown (Bull Board), written with the count below.
    const warehouseRecords = this.warehouse.acknowledgedPages !== undefined;
    let runPagesDone: number | undefined;
    let uncounted = 0;
    let countedAt = performance.now();
    const countPages = async (now: boolean) => {
      if (uncounted === 0 || (!now && performance.now() - countedAt < COUNT_PAGES_MS)) return;
      const pages = uncounted;
      uncounted = 0;
      countedAt = performance.now();
      const shown = warehouseRecords ? job.progress({ ...done }) : undefined;
      [runPagesDone] = await Promise.all([this.outcomes.countPagesDone(span.runId, pages), shown]);
    };
    // Records a page Braze acknowledged: in the synced set, then (where that is what a retry
    // resumes from) in the job's progress.
    const record = async (seqs: { from: number; to: number }, changes: { added: number; removed: number }) => {
      await this.applyAcknowledged(span.runId, run.cohortId, syncScope, seqs);
      // Counted page by page, so a span that gives up part-way still counts what Braze took.
      identifiersSent.inc({ op: 'add' }, changes.added);
      identifiersSent.inc({ op: 'remove' }, changes.removed);
      done.pagesDone++;
      done.added += changes.added;
      done.removed += changes.removed;
      uncounted++;
      await Promise.all([warehouseRecords ? undefined : job.progress({ ...done }), countPages(false)]);
    };
    // A page's record overlaps the next pages' requests (Braze's latency is the long part).
    // Records land in page order, so what a retry resumes after is always a prefix: one at a time,
    // or, where the warehouse commits records in call order, up to PENDING_RECORDS at once (so a
    // record waiting for SQLite's write lock, held by a freeze's chunk, does not stop the span).
    const pendingRecords = this.warehouse.recordsInCallOrder ? PENDING_RECORDS : 1;
    const records: Promise<void>[] = [];
    let recordFailed: { error: unknown } | undefined;
    const throwIfRecordFailed = () => {
      if (recordFailed) throw recordFailed.error;
    };
    // Never rejects: what a hand-back to the queue waits for.
    const recorded = () => Promise.allSettled(records);
    const stopped = await this.sendSpan(job, run.cohortId, span.lastPage - firstToSend + 1, countPages, async () => {
      let sent = 0;
      try {
        for (let page = firstToSend; page <= span.lastPage; page++) {
          // Another page's permanent refusal, or a cancel, stops the rest of the span.
          if (page > firstToSend && (await this.stopReason(span.runId))) {
            await Promise.all(records);
            return true;
          }
          // A page acknowledged but not recorded: the pages after it are not sent (a retry
          // resumes at it, and sends it again).
          throwIfRecordFailed();
          const seqs = pageSeqs(span, page);
          const changes = await this.warehouse.readPage(span.runId, seqs.from, seqs.to).catch((err: unknown) => {
            if (isBusyStore(err)) return job.later(Date.now() + BUSY_RETRY_MS * (1 + Math.random()));
            throw err;
          });
          const outcome = await job
            .send(
              () =>
                connection.client.updateCohortUsers({
                  cohortId: cohort.brazeCohortId,
                  cohortChangesJson: cohortChangesJson(changes),
                }),
              run.workspaceId,
              recorded(),
            )
            .catch(async (err: unknown) => {
              // A retryable failure (5xx, 423, network) after this attempt sent pages: the span
              // comes back after a backoff to resume here, and the attempt is not spent, so each
              // page has UPLOAD_ATTEMPTS tries whatever its place in the span. The pages before
              // are recorded first: the next attempt (another worker's, perhaps) resumes from the
              // record, and one that read it stale would send those pages again.
              if (sent > 0 && err instanceof BrazeError && err.kind === 'retryable') {
                await recorded();
                return job.later(Date.now() + this.upload.backoffMs * (1 + Math.random()));
              }
              throw err;
            });
          if (!outcome.ok) await this.abort(span.runId, outcome.error);
          sent++;
          if (records.length >= pendingRecords) await records[records.length - pendingRecords];
          // Never a record after one that failed: what a retry resumes after must stay a prefix.
          throwIfRecordFailed();
          const recording = record(seqs, changes);
          // Observed now (its error is thrown where it is awaited): never an unhandled rejection.
          recording.catch((error: unknown) => (recordFailed ??= { error }));
          records.push(recording);
        }
      } catch (err) {
        // The pages before still get recorded (they were acknowledged); this attempt's error stands.
        await recorded();
        throw err;
      }
      await Promise.all(records);
      return false;
    });
    if (runPagesDone !== undefined) {
      // "Pages done / total" on the run's finalize job in Bull Board, once per span.
      await showRunProgress(this.queues, span.runId, Math.min(runPagesDone, run.pagesTotal), run.pagesTotal);
    }
    return { added: done.added, removed: done.removed, skipped: stopped };
  }

  /**
   * What a span has sent so far, which a retry resumes after and finalize counts: the pages the
   * warehouse recorded as acknowledged, where it keeps that record, else the job's progress
   * (written after each page).
   */
  async sentOfSpan(span: UploadPagePayload, progress: unknown): Promise<UploadSpanProgress> {
    const recorded = await this.warehouse.acknowledgedPages?.(span.runId, span.fromSeq, span.toSeq);
    return recorded
      ? { pagesDone: recorded.pages, added: recorded.added, removed: recorded.removed }
      : resumedSpan(progress);
  }

  /**
   * Why the run was stopped (cancelled, or failed by a page Braze refused for good), as this
   * process last asked the store, at most ABORT_CHECK_MS ago: the spans a worker sends at once
   * share one question rather than each asking before every page (the worker's CPU per page
   * bounds an import's pace), and a stop is still seen within a page or two.
   */
  private stopReason(runId: string): Promise<string | null> {
    const now = performance.now();
    const last = this.stopChecks.get(runId);
    if (last && now - last.at < ABORT_CHECK_MS) return last.reason;
    if (this.stopChecks.size >= 64) {
      for (const [id, check] of this.stopChecks) if (now - check.at >= ABORT_CHECK_MS) this.stopChecks.delete(id);
    }
    const check = { at: now, reason: this.runs.abortReason(runId) };
    this.stopChecks.set(runId, check);
    // A failed question is not an answer to share: the next page asks again.
    check.reason.catch(() => {
      if (this.stopChecks.get(runId) === check) this.stopChecks.delete(runId);
    });
    return check.reason;
  }

  /**
   * A span's pages inside one of the cohort's slots; whatever happens to them, the pages recorded
   * but not yet counted in the run's progress are counted once they are over.
   */
  private async sendSpan<T>(
    job: RunJob,
    cohortId: string,
    requests: number,
    countPages: (now: boolean) => Promise<void>,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      return await job.withCohortSlot(cohortId, requests, work);
    } finally {
      // Progress only: a count lost with Redis is not worth this attempt's own outcome.
      await countPages(true).catch(() => undefined);
    }
  }

  /** Every page is done (sent, skipped or given up): the run's outcome, then its settling. */
  async finish(runId: string, pages: PageTotals, jobId?: string) {
    const run = await this.runs.get(runId);
    if (!run) return this.unknownRun(runId, jobId);
    if (!isActiveRun(run)) {
      await this.outcomes.settle(run);
      return { skipped: 'run already ended' };
    }
    let ending = run;
    if (!run.diffRecordedAt) {
      // A first import whose freeze-pages job gave up (its handler fails the run; this is the
      // net under it): what was sent counts, and the run fails.
      await this.runs.abort(runId, 'The import stopped before every member was frozen; run it again.');
      ending = (await this.runs.get(runId)) ?? run;
    }
    const finished = await this.outcomes.finishFromPages(ending, pages);
    return {
      status: finished?.status,
      added: finished?.added,
      removed: finished?.removed,
      failed: finished?.failed,
      unmatchable: finished?.unmatchable ?? 0,
    };
  }

  /**
   * Records an acknowledged page. A busy store is retried here rather than by the job: the
   * page was sent, and retrying the job would send it again.
   */
  private async applyAcknowledged(
    runId: string,
    cohortId: string,
    syncScope: string,
    seqs: { from: number; to: number },
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.warehouse.applyChanges(runId, cohortId, syncScope, seqs.from, seqs.to);
        return;
      } catch (err) {
        // A warehouse that orders records waits out a busy store itself: a record tried again
        // here could land after a later page's.
        if (this.warehouse.recordsInCallOrder || !isBusyStore(err) || attempt >= 10) throw err;
        await sleep(BUSY_RETRY_MS * attempt);
      }
    }
  }

  /** A permanent error: the run fails with it, and every other page of the run sends nothing. */
  private async abort(runId: string, error: string): Promise<never> {
    await this.runs.abort(runId, error);
    throw new PermanentPageError(error);
  }
}

/** What earlier attempts of a span's job already sent (nothing on a first attempt). */
function resumedSpan(progress: unknown): UploadSpanProgress {
  const parsed = uploadSpanProgress.safeParse(progress);
  return parsed.success ? { ...parsed.data } : { pagesDone: 0, added: 0, removed: 0 };
}

/** The seq range of one page of a span (the span's last page may be short). */
function pageSeqs(span: UploadPagePayload, page: number): { from: number; to: number } {
  const from = span.fromSeq + (page - span.firstPage) * PAGE_SIZE;
  return { from, to: Math.min(span.toSeq, from + PAGE_SIZE - 1) };
}

/** A page Braze refused for good: its job must not be retried (the worker makes it unrecoverable). */
export class PermanentPageError extends Error {
  override name = 'PermanentPageError';
}
