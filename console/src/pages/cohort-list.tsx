import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ImportDialog } from '../components/import-dialog';
import { Outcome } from '../components/outcome';
import { browserZone, count, dateTimeIn, scheduleInWords } from '../format';
import { href, navigate } from '../router';
import type { CohortListItem, Page } from '../types';

const PAGE_SIZE = 50;

/**
 * Cohort Control, the landing page: every cohort with its last run and its schedule, a page
 * of the API's list at a time (so a workspace of thousands renders only one page of rows).
 */
export function CohortList() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  // The page shown and its number: the old page stays until the next one has arrived.
  const [shown, setShown] = useState<{ page: Page<CohortListItem>; number: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [importing, setImporting] = useState<CohortListItem | null>(null);
  const [reload, setReload] = useState(0);
  const cursor = cursors.at(-1) ?? null;

  useEffect(() => {
    let live = true;
    const depth = cursors.length;
    const query = `/cohorts?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    api<Page<CohortListItem>>('GET', query)
      .then((page) => live && (setShown({ page, number: depth }), setError(null)))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [cursor, reload]);

  const zone = browserZone();
  const page = shown?.page ?? null;
  const pageNumber = shown?.number ?? 1;
  const loading = shown?.number !== cursors.length;
  return (
    <section aria-labelledby="list-title">
      <div class="page-head">
        <h1 id="list-title" tabIndex={-1}>
          Cohort Control
        </h1>
        <a class="button" href={href.new}>
          New cohort
        </a>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!page && !error && <p role="status">Loading cohorts…</p>}
      {page && page.data.length === 0 && pageNumber === 1 && <EmptyWorkspace />}
      {page && page.data.length > 0 && (
        <>
          <table class="cohorts responsive" aria-busy={loading}>
            <caption class="visually-hidden">Cohorts, newest first; times in {zone}</caption>
            <thead>
              <tr>
                <th scope="col">Cohort</th>
                <th scope="col">Size</th>
                <th scope="col">Unmatchable</th>
                <th scope="col">Last run</th>
                <th scope="col">Schedule</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((c) => (
                <tr key={c.id} data-cohort-id={c.id}>
                  <th scope="row" data-label="Cohort">
                    <a href={href.edit(c.id)}>{c.name}</a>
                  </th>
                  <td data-label="Size">{count(c.last_run?.cohort_size)}</td>
                  <td data-label="Unmatchable">
                    {c.last_run?.cohort_size == null ? '—' : count(c.last_run.unmatchable)}
                  </td>
                  <td data-label="Last run">
                    {c.last_run ? (
                      <>
                        <Outcome status={c.last_run.status} />{' '}
                        <time dateTime={c.last_run.created_at}>
                          {dateTimeIn(c.last_run.started_at ?? c.last_run.created_at, zone, { withZone: true })}
                        </time>
                      </>
                    ) : (
                      'Never imported'
                    )}
                  </td>
                  <td data-label="Schedule" class="schedule-words">
                    {c.schedule ? scheduleInWords(c.schedule) : 'No schedule'}
                  </td>
                  <td class="actions">
                    <button type="button" onClick={() => setImporting(c)} aria-describedby={`name-${c.id}`}>
                      Import to Braze
                    </button>
                    <a class="button secondary" href={href.history(c.id)}>
                      History<span class="visually-hidden"> of {c.name}</span>
                    </a>
                    <span id={`name-${c.id}`} hidden>
                      {c.name}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Cohort pages">
            <button
              type="button"
              class="secondary"
              disabled={pageNumber === 1 || loading}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Previous page
            </button>
            <span>Page {pageNumber}</span>
            <button
              type="button"
              class="secondary"
              disabled={!page.next_cursor || loading}
              onClick={() => page.next_cursor && setCursors([...cursors, page.next_cursor])}
            >
              Next page
            </button>
          </nav>
        </>
      )}
      {importing && (
        <ImportDialog
          cohort={importing}
          onClose={(changed) => {
            setImporting(null);
            if (changed) setReload((n) => n + 1);
          }}
          onStarted={(id) => navigate(href.history(id))}
        />
      )}
    </section>
  );
}

function EmptyWorkspace() {
  return (
    <div class="empty">
      <h2>No cohorts yet</h2>
      <ol>
        <li>
          <a href={href.connection}>Connect Braze</a>: your REST endpoint and a data import key.
        </li>
        <li>
          <a href={href.new}>Create your first cohort</a> from user properties, events and identity.
        </li>
        <li>Press Import to Braze to send it once or on a schedule.</li>
      </ol>
    </div>
  );
}
