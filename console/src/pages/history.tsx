import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, type ApiError } from '../api';
import { ActionStatus, useAction } from '../components/action';
import { ImportDialog } from '../components/import-dialog';
import { Modal } from '../components/modal';
import { Outcome } from '../components/outcome';
import {
  approvalQuestion,
  browserZone,
  count,
  dateTimeIn,
  duration,
  plannedInWords,
  scheduleInWords,
  TRIGGER_LABEL,
  usersImported,
} from '../format';
import { href } from '../router';
import type { Cohort, Page, Run, RunProgress, Schedule } from '../types';

const POLL_MS = 1000;
const isActive = (r: Run) => r.status === 'queued' || r.status === 'running';

/**
 * A cohort's runs, newest first; Run now, the active run's progress with Cancel run, and a run
 * held by the removal guardrail with why, what it would send, Approve and Cancel run.
 */
export function History({ id }: { id: string }) {
  const [cohort, setCohort] = useState<Cohort | null>(null);
  const [schedule, setSchedule] = useState<Schedule | null | undefined>(undefined);
  const [runs, setRuns] = useState<Run[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [progress, setProgress] = useState<RunProgress | null>(null);
  const action = useAction();
  const { busy, message, setMessage } = action;
  const [importing, setImporting] = useState(false);
  const [approving, setApproving] = useState<Run | null>(null);
  const olderLoaded = useRef(false);

  const loadSchedule = useCallback(
    () =>
      api<Schedule>('GET', `/cohorts/${id}/schedule`)
        .then(setSchedule)
        .catch((e: ApiError) => (e.status === 404 ? setSchedule(null) : setMessage({ text: e.message, error: true }))),
    [id],
  );

  // The newest page of runs; older pages are kept once loaded.
  const refresh = useCallback(async () => {
    const page = await api<Page<Run>>('GET', `/cohorts/${id}/imports?limit=20`);
    setRuns((old) => {
      const fresh = new Set(page.data.map((r) => r.id));
      return [...page.data, ...old.filter((r) => !fresh.has(r.id))];
    });
    // Until older runs are loaded, "Older runs" continues after this first page.
    if (!olderLoaded.current) setNextCursor(page.next_cursor);
    const active = page.data.find(isActive);
    setProgress(active ? await api<RunProgress>('GET', `/imports/${active.id}/progress`) : null);
    return active !== undefined;
  }, [id]);

  useEffect(() => {
    api<Cohort>('GET', `/cohorts/${id}`)
      .then(setCohort)
      .catch((e: Error) => setMessage({ text: e.message, error: true }));
    void loadSchedule();
  }, [id]);

  // Polls while a run is active; stops when it has ended (or the page is left).
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    refresh()
      .then((active) => {
        if (live && active) timer = setTimeout(() => setTick((t) => t + 1), POLL_MS);
      })
      .catch((e: Error) => live && setMessage({ text: e.message, error: true }));
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [refresh, tick]);

  const loadOlder = async () => {
    if (!nextCursor) return;
    const page = await api<Page<Run>>(
      'GET',
      `/cohorts/${id}/imports?limit=20&cursor=${encodeURIComponent(nextCursor)}`,
    );
    olderLoaded.current = true;
    setRuns((old) => [...old, ...page.data.filter((r) => !old.some((o) => o.id === r.id))]);
    setNextCursor(page.next_cursor);
  };

  const runNow = () =>
    action.run(async () => {
      const run = await api<Run>('POST', `/cohorts/${id}/schedule/run`);
      setTick((t) => t + 1);
      return `Run started (${TRIGGER_LABEL[run.trigger].toLowerCase()}).`;
    });

  const cancelRun = (runId: string) =>
    action.run(async () => {
      await api('POST', `/imports/${runId}/cancel`);
      setTick((t) => t + 1);
      return 'Cancelling the run…';
    });

  /** Approves or cancels a held run; the row shows what the API answers, whoever moved the run first. */
  const settleHeld = (runId: string, decision: 'approve' | 'cancel') =>
    action.run(async () => {
      try {
        const run = await api<Run>('POST', `/imports/${runId}/${decision}`);
        setRuns((old) => old.map((r) => (r.id === run.id ? run : r)));
        if (decision === 'approve') return 'Approved: the run is sending its changes to Braze as planned.';
        return run.status === 'held' ? 'Cancelling the run…' : 'Run cancelled: nothing was sent to Braze.';
      } finally {
        setTick((t) => t + 1);
      }
    });

  const approve = (run: Run) => {
    setApproving(null);
    void settleHeld(run.id, 'approve');
  };

  const zone = schedule?.timezone ?? browserZone();
  const active = runs.find(isActive);
  const held = runs.find((r) => r.status === 'held');
  return (
    <section aria-labelledby="history-title">
      <p class="crumbs">
        <a href={href.list}>Cohorts</a> / {cohort ? <a href={href.edit(id)}>{cohort.name}</a> : '…'}
      </p>
      <div class="page-head">
        <h1 id="history-title" tabIndex={-1}>
          History{cohort ? `: ${cohort.name}` : ''}
        </h1>
        <div class="buttons">
          <button type="button" class="secondary" onClick={() => setImporting(true)}>
            Import to Braze
          </button>
          <button type="button" onClick={runNow} disabled={busy || !schedule} aria-describedby="run-now-hint">
            Run now
          </button>
        </div>
      </div>
      <p id="run-now-hint" class="hint">
        {schedule === undefined
          ? 'Loading the schedule…'
          : schedule
            ? `Schedule: ${scheduleInWords(schedule)}. Run now starts it at once (trigger manual).`
            : 'No schedule. Run now needs one; use Import to Braze to import once or set a schedule.'}
      </p>
      <ActionStatus message={message} />

      {active && (
        <div class="active-run" role="region" aria-label="Active run">
          <p>
            Run {active.id.slice(0, 8)} is <strong>{active.status}</strong>
            {progress && progress.pages_total > 0 && progress.pages_done !== null
              ? `: ${progress.pages_done} of ${progress.pages_total} pages sent`
              : active.status === 'queued'
                ? ': waiting for a worker'
                : ': preparing the pages'}
            .
          </p>
          <progress
            aria-label="Pages sent"
            max={progress?.pages_total || 1}
            value={progress?.pages_done ?? undefined}
          />
          <button type="button" class="danger" disabled={busy} onClick={() => cancelRun(active.id)}>
            Cancel run
          </button>
        </div>
      )}

      {held && (
        <div class="held-run" role="region" aria-label="Held run">
          <p>
            Run {held.id.slice(0, 8)} is <strong>held for approval</strong>: nothing has been sent to Braze.
          </p>
          {held.hold_reason && <p class="hold-reason">{held.hold_reason}</p>}
          {held.planned && (
            <dl class="figures">
              <div>
                <dt>In Braze now</dt>
                <dd data-testid="planned-synced-before">{count(held.planned.synced_before)}</dd>
              </div>
              <div>
                <dt>Would remove</dt>
                <dd data-testid="planned-removed">{count(held.planned.removed)}</dd>
              </div>
              <div>
                <dt>Would add</dt>
                <dd data-testid="planned-added">{count(held.planned.added)}</dd>
              </div>
            </dl>
          )}
          <div class="buttons">
            <button type="button" disabled={busy} onClick={() => setApproving(held)}>
              Approve
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => settleHeld(held.id, 'cancel')}>
              Cancel run
            </button>
          </div>
        </div>
      )}

      {runs.length === 0 ? (
        <p>No runs yet. Press Import to Braze to send this cohort.</p>
      ) : (
        <div class="table-wrap">
          <table class="history responsive">
            <caption class="visually-hidden">Runs of this cohort, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Execution time ({zone})</th>
                <th scope="col">Trigger</th>
                <th scope="col">Outcome</th>
                <th scope="col">Users imported</th>
                <th scope="col">Added</th>
                <th scope="col">Removed</th>
                <th scope="col">Unmatchable</th>
                <th scope="col">Duration</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} data-run-id={r.id}>
                  <td data-label="Execution time">
                    <time dateTime={r.started_at ?? r.created_at}>
                      {dateTimeIn(r.started_at ?? r.created_at, zone, { withZone: true })}
                    </time>
                  </td>
                  <td data-label="Trigger">{TRIGGER_LABEL[r.trigger]}</td>
                  <td data-label="Outcome">
                    <Outcome status={r.status} />
                  </td>
                  <td data-label="Users imported">{count(usersImported(r))}</td>
                  <td data-label="Added">{count(r.added)}</td>
                  <td data-label="Removed">{count(r.removed)}</td>
                  <td data-label="Unmatchable">{r.cohort_size === null ? '—' : count(r.unmatchable)}</td>
                  <td data-label="Duration">{duration(r) ?? '—'}</td>
                  <td data-label="Error" class="run-error">
                    {r.error ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor && (
        <button type="button" class="secondary" onClick={loadOlder}>
          Older runs
        </button>
      )}
      {approving && (
        <Modal
          title={approving.planned ? approvalQuestion(approving.planned) : 'Send this run as planned?'}
          onClose={() => setApproving(null)}
        >
          <p>
            {approving.planned ? `${plannedInWords(approving.planned)} ` : ''}
            Approving sends the changes recorded when the run was held; what changed in your data since waits for the
            next run.
          </p>
          <div class="buttons">
            <button type="button" class="danger" disabled={busy} onClick={() => approve(approving)}>
              Approve and send
            </button>
            <button type="button" class="secondary" onClick={() => setApproving(null)}>
              Keep it held
            </button>
          </div>
        </Modal>
      )}
      {importing && cohort && (
        <ImportDialog
          cohort={cohort}
          onClose={(changed) => {
            setImporting(false);
            if (changed) void loadSchedule();
          }}
          onStarted={() => {
            setImporting(false);
            setTick((t) => t + 1);
          }}
        />
      )}
    </section>
  );
}
