import { useState } from 'preact/hooks';
import { ApiError, errorSummary, issuesAt } from '../api';
import type { FieldIssue } from '../types';

export interface ActionMessage {
  text: string;
  error: boolean;
}

/** What to say when an API call failed; `fields` are the form's fields that show their own messages. */
function explain(err: unknown, fields: string[]): string {
  if (err instanceof ApiError && err.code === 'run_in_progress') {
    return `Run ${String(err.details.run_id)} is already active; wait for it to end or cancel it.`;
  }
  return errorSummary(err, fields);
}

/**
 * One user action against the API (save, import, cancel…): busy while it runs, then either its
 * success message or the error, with the API's field issues for the form to place.
 */
export function useAction(fields: string[] = []) {
  const [busy, setBusy] = useState(false);
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [message, setMessage] = useState<ActionMessage | null>(null);
  const run = async (work: () => Promise<string | void>) => {
    setBusy(true);
    setIssues([]);
    setMessage(null);
    try {
      const done = await work();
      if (done) setMessage({ text: done, error: false });
    } catch (err) {
      setIssues(err instanceof ApiError ? err.issues : []);
      setMessage({ text: explain(err, fields), error: true });
    } finally {
      setBusy(false);
    }
  };
  /** The user is fixing a field: its messages go, and the summary too once no field has one. */
  const dismiss = (field: string) => {
    const rest = issues.filter((i) => issuesAt([i], field).length === 0);
    if (rest.length === issues.length) return;
    setIssues(rest);
    if (rest.length === 0) setMessage(null);
  };
  return { busy, issues, message, setMessage, run, dismiss };
}

/** The outcome of the last action, announced to screen readers. */
export function ActionStatus({ message }: { message: ActionMessage | null }) {
  return (
    <p role="status" class={message?.error ? 'error' : 'status'}>
      {message?.text}
    </p>
  );
}
