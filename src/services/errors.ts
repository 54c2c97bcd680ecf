/**
 * Errors a service raises for the caller's mistakes. The API turns each into its one JSON
 * error shape; anything else is a bug and answers 500 without detail.
 */
export interface FieldIssue {
  path: string;
  message: string;
}

export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export class ValidationError extends ServiceError {
  override name = 'ValidationError';
  constructor(readonly issues: FieldIssue[]) {
    const first = issues[0];
    super(400, 'validation_failed', first ? `${first.path}: ${first.message}` : 'Invalid request', { issues });
  }
}

export class NotFoundError extends ServiceError {
  override name = 'NotFoundError';
  constructor(what: string) {
    super(404, 'not_found', `${what} not found`);
  }
}

export class ConflictError extends ServiceError {
  override name = 'ConflictError';
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(409, code, message, details);
  }
}

/** A well-formed field whose value was refused by someone else (Braze): 422 naming the field. */
export class RefusedFieldError extends ServiceError {
  override name = 'RefusedFieldError';
  constructor(code: string, issue: FieldIssue) {
    super(422, code, `${issue.path}: ${issue.message}`, { issues: [issue] });
  }
}

/** Braze could not give an answer we can act on (unreachable, 5xx, our partner key refused): 502. */
export class UpstreamError extends ServiceError {
  override name = 'UpstreamError';
  constructor(code: string, message: string) {
    super(502, code, message);
  }
}
