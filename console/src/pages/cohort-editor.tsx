import { useEffect, useState } from 'preact/hooks';
import { api, issuesAt } from '../api';
import { ActionStatus, useAction } from '../components/action';
import { CriteriaBuilder, isGroup } from '../components/criteria-builder';
import { describedBy, FieldError } from '../components/field-error';
import { ImportDialog } from '../components/import-dialog';
import { Modal } from '../components/modal';
import { PreviewPanel } from '../components/preview-panel';
import { href, navigate } from '../router';
import type { Cohort, CriteriaNode, FieldIssue } from '../types';

const EMPTY: CriteriaNode = { all: [] };

/** Create or edit a cohort: name, criteria (builder or JSON) and a live preview. */
export function CohortEditor({ id }: { id?: string }) {
  const [cohort, setCohort] = useState<Cohort | null>(null);
  const [name, setName] = useState('');
  const [criteria, setCriteria] = useState<CriteriaNode>(EMPTY);
  const [view, setView] = useState<'builder' | 'json'>('builder');
  const [jsonText, setJsonText] = useState('');
  const [jsonError, setJsonError] = useState<string | null>(null);
  const action = useAction(['name']);
  const { busy, issues, message, setMessage } = action;
  const [previewIssues, setPreviewIssues] = useState<FieldIssue[]>([]);
  const [importing, setImporting] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  useEffect(() => {
    if (!id) return;
    api<Cohort>('GET', `/cohorts/${id}`)
      .then((c) => {
        setCohort(c);
        setName(c.name);
        setCriteria(isGroup(c.criteria) ? c.criteria : { all: [c.criteria] });
      })
      .catch((e: Error) => setMessage({ text: e.message, error: true }));
  }, [id]);

  const showJson = () => {
    setJsonText(JSON.stringify(criteria, null, 2));
    setJsonError(null);
    setView('json');
  };
  const editJson = (text: string) => {
    setJsonText(text);
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('must be a JSON object');
      setCriteria(isGroup(parsed as CriteriaNode) ? (parsed as CriteriaNode) : { all: [parsed as CriteriaNode] });
      setJsonError(null);
    } catch (e) {
      setJsonError(`Not valid criteria JSON: ${(e as Error).message}`);
    }
  };

  const save = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const saved = id
        ? await api<Cohort>('PATCH', `/cohorts/${id}`, { name, criteria })
        : await api<Cohort>('POST', '/cohorts', { name, criteria });
      setCohort(saved);
      if (!id) navigate(href.edit(saved.id));
      return `Cohort “${saved.name}” saved.`;
    });
  };

  const remove = async () => {
    try {
      await api('DELETE', `/cohorts/${id}`);
      navigate(href.list);
    } catch (err) {
      setConfirmDelete(false);
      setMessage({ text: (err as Error).message, error: true });
    }
  };

  const criteriaIssues = [...issues, ...previewIssues].filter((i) => i.path.startsWith('criteria'));
  const uniqueIssues = criteriaIssues.filter(
    (i, n) => criteriaIssues.findIndex((j) => j.path === i.path && j.message === i.message) === n,
  );
  const title = id ? (cohort ? `Edit ${cohort.name}` : 'Edit cohort') : 'New cohort';
  return (
    <section aria-labelledby="editor-title">
      <p class="crumbs">
        <a href={href.list}>Cohorts</a> / {title}
      </p>
      <div class="page-head">
        <h1 id="editor-title" tabIndex={-1}>
          {title}
        </h1>
        {id && cohort && (
          <div class="buttons">
            <button type="button" onClick={() => setImporting(true)}>
              Import to Braze
            </button>
            <a class="button secondary" href={href.history(id)}>
              History
            </a>
          </div>
        )}
      </div>
      <div class="editor">
        <form onSubmit={save} noValidate class="editor-form">
          <div class="field">
            <label for="cohort-name">Name</label>
            <input
              id="cohort-name"
              value={name}
              maxLength={200}
              onInput={(e) => {
                setName(e.currentTarget.value);
                action.dismiss('name');
              }}
              {...describedBy('name-error', issuesAt(issues, 'name'), 'name-hint')}
            />
            <p id="name-hint" class="hint">
              Marketers find it under this name in Braze's segment filter.
            </p>
            <FieldError id="name-error" issues={issuesAt(issues, 'name')} />
          </div>

          <div class="tabs" role="group" aria-label="Criteria view">
            <button
              type="button"
              class="secondary"
              aria-pressed={view === 'builder'}
              onClick={() => setView('builder')}
              disabled={jsonError !== null}
            >
              Builder
            </button>
            <button type="button" class="secondary" aria-pressed={view === 'json'} onClick={showJson}>
              JSON
            </button>
          </div>
          {view === 'builder' ? (
            <CriteriaBuilder value={criteria} onChange={setCriteria} issues={uniqueIssues} />
          ) : (
            <div class="field">
              <label for="criteria-json">Criteria as JSON</label>
              <textarea
                id="criteria-json"
                rows={16}
                spellcheck={false}
                value={jsonText}
                onInput={(e) => editJson(e.currentTarget.value)}
                {...describedBy('json-error', jsonError ? [{ path: '', message: jsonError }] : uniqueIssues)}
              />
              <FieldError id="json-error" issues={jsonError ? [{ path: '', message: jsonError }] : uniqueIssues} />
            </div>
          )}

          <ActionStatus message={message} />
          <div class="buttons">
            <button type="submit" disabled={busy || jsonError !== null}>
              {id ? 'Save cohort' : 'Create cohort'}
            </button>
            {id && (
              <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
                Delete cohort
              </button>
            )}
          </div>
        </form>
        <PreviewPanel criteria={jsonError ? null : criteria} onIssues={setPreviewIssues} />
      </div>
      {importing && cohort && (
        <ImportDialog
          cohort={cohort}
          onClose={() => setImporting(false)}
          onStarted={(cid) => navigate(href.history(cid))}
        />
      )}
      {confirmDelete && (
        <Modal title="Delete this cohort?" onClose={() => setConfirmDelete(false)}>
          <p>Its schedule is removed and it is never imported again. Its history stays readable by run id.</p>
          <div class="buttons">
            <button type="button" class="danger" onClick={remove}>
              Delete
            </button>
            <button type="button" class="secondary" onClick={() => setConfirmDelete(false)}>
              Keep it
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
