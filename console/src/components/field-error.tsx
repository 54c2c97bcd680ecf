import type { FieldIssue } from '../types';

/** The API's messages for one field, shown next to it (the input points here with aria-describedby). */
export function FieldError({ id, issues }: { id: string; issues: FieldIssue[] }) {
  if (issues.length === 0) return null;
  return (
    <p id={id} class="field-error">
      {issues.map((i) => i.message).join(' ')}
    </p>
  );
}

/** Props that tie an input to its error message. */
export function describedBy(id: string, issues: FieldIssue[], hint?: string) {
  const ids = [issues.length > 0 ? id : null, hint ?? null].filter(Boolean).join(' ');
  return { 'aria-invalid': issues.length > 0 ? true : undefined, 'aria-describedby': ids || undefined };
}
