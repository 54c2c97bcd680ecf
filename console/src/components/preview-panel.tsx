import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { count } from '../format';
import type { BrazeIdentifier, CriteriaNode, FieldIssue, Preview } from '../types';

const DEBOUNCE_MS = 400;

const childCount = (n: CriteriaNode): number =>
  'all' in n ? n.all.length : 'any' in n ? n.any.length : 'not' in n ? childCount(n.not) : 1;

function identifierText(id: BrazeIdentifier): string {
  return typeof id.value === 'string' ? id.value : `${id.value.alias_name} (label ${id.value.alias_label})`;
}

/**
 * Live preview of criteria not saved yet: count, unmatchable and a sample with the Braze
 * identifier each member is sent as. Asks the API once the criteria stop changing for a moment.
 */
export function PreviewPanel(props: { criteria: CriteriaNode | null; onIssues: (issues: FieldIssue[]) => void }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [state, setState] = useState<'idle' | 'loading' | 'invalid' | 'error'>('idle');
  const [error, setError] = useState<string | null>(null);
  // An empty group is not valid criteria yet: wait for a first condition instead of an error.
  const empty = props.criteria !== null && childCount(props.criteria) === 0;
  const key = props.criteria === null || empty ? null : JSON.stringify(props.criteria);

  useEffect(() => {
    if (key === null) return;
    let live = true;
    const timer = setTimeout(() => {
      setState('loading');
      api<Preview>('POST', '/cohorts/preview', { criteria: JSON.parse(key), limit: 10 })
        .then((p) => {
          if (!live) return;
          setPreview(p);
          setState('idle');
          props.onIssues([]);
        })
        .catch((e: ApiError) => {
          if (!live) return;
          setState(e.status === 400 ? 'invalid' : 'error');
          setError(e.message);
          props.onIssues(e.issues);
        });
    }, DEBOUNCE_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key]);

  return (
    <aside class="preview" aria-labelledby="preview-title" aria-busy={state === 'loading'}>
      <h2 id="preview-title">Preview</h2>
      {empty && <p class="hint">Add a condition to see who matches.</p>}
      {state === 'invalid' && <p class="error">Fix the criteria to see who matches: {error}</p>}
      {state === 'error' && <p class="error">{error}</p>}
      {preview && key !== null && (
        <div class={state === 'idle' ? '' : 'stale'}>
          <dl class="figures" aria-live="polite">
            <div>
              <dt>Members</dt>
              <dd data-testid="preview-count">{count(preview.count)}</dd>
            </div>
            <div>
              <dt>Unmatchable</dt>
              <dd data-testid="preview-unmatchable">{count(preview.unmatchable)}</dd>
            </div>
          </dl>
          <p class="hint">Unmatchable members have no external id, alias or device id, so Braze cannot find them.</p>
          {preview.sample.length > 0 && (
            <table class="sample">
              <caption>Sample members and how each is sent to Braze</caption>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Sent as</th>
                  <th scope="col">Identifier</th>
                </tr>
              </thead>
              <tbody>
                {preview.sample.map((m) => (
                  <tr key={m.user_key}>
                    <td>{m.user_key}</td>
                    <td>{m.braze_identifier?.type ?? 'unmatchable'}</td>
                    <td>{m.braze_identifier ? identifierText(m.braze_identifier) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      {!preview && state === 'loading' && <p role="status">Counting…</p>}
    </aside>
  );
}
