import { storedToken } from './session';
import type { FieldIssue } from './types';

/** An API error in the service's one shape: {"error": {code, message, details}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get issues(): FieldIssue[] {
    const issues = this.details.issues;
    return Array.isArray(issues) ? (issues as FieldIssue[]) : [];
  }
}

/** Called when the API answers 401 to a signed-in request (the token was revoked). */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

/** One call to the public /v1 API with the session's token (or the one given). */
export async function api<T>(method: string, path: string, body?: unknown, token = storedToken()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: described below
  }
  if (res.ok) return parsed as T;
  const error = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } })?.error;
  if (res.status === 401 && token === storedToken()) onUnauthorized();
  throw new ApiError(
    res.status,
    error?.code ?? 'http_error',
    error?.message ?? `The server answered ${res.status}.`,
    error?.details,
  );
}

/** The issues of an error whose path is `field` or lies under it (`recipients[2]` under `recipients`). */
export function issuesAt(issues: FieldIssue[], field: string): FieldIssue[] {
  return issues.filter((i) => i.path === field || i.path.startsWith(`${field}.`) || i.path.startsWith(`${field}[`));
}

/**
 * The line above a form after an error. When every issue belongs to a field the form shows,
 * the messages already sit next to those fields; otherwise the API's whole message is shown.
 */
export function errorSummary(err: unknown, fields: string[]): string {
  const issues = err instanceof ApiError ? err.issues : [];
  const placed = issues.length > 0 && issues.every((i) => fields.some((f) => issuesAt([i], f).length > 0));
  if (!placed) return (err as Error).message;
  return issues.length === 1 ? 'Correct the highlighted field.' : 'Correct the highlighted fields.';
}
