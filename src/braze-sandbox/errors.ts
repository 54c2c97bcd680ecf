import { STATUS_CODES } from 'node:http';

/** Braze's general error body: `{"message": "...", "errors": [...]}`. */
export interface BrazeErrorBody {
  message: string;
  errors: string[];
}

/** An HTTP answer other than success, carried by `throw` to the router's error handler. */
export class SandboxHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: string[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'SandboxHttpError';
  }

  get body(): BrazeErrorBody {
    return { message: this.message, errors: this.errors };
  }
}

/** The default message for a status, e.g. 503 → "Service Unavailable". */
export function statusMessage(status: number): string {
  return STATUS_CODES[status] ?? `HTTP ${status}`;
}

interface BodyParserError {
  status?: number;
  statusCode?: number;
  type?: string;
}

/**
 * Turns anything thrown in a route (our own errors, body-parser's errors such as malformed
 * JSON or a body over the limit) into a SandboxHttpError; anything else is a 500.
 */
export function toSandboxHttpError(error: unknown): SandboxHttpError {
  if (error instanceof SandboxHttpError) return error;
  const parserError = (typeof error === 'object' && error !== null ? error : {}) as BodyParserError;
  const status = parserError.status ?? parserError.statusCode;
  if (parserError.type === 'entity.parse.failed') {
    return new SandboxHttpError(400, 'Request body is not valid JSON', ['request body must be a JSON object']);
  }
  if (parserError.type === 'entity.too.large') {
    return new SandboxHttpError(413, 'Request body is too large', ['request body exceeds the sandbox body limit']);
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new SandboxHttpError(status, statusMessage(status));
  }
  return new SandboxHttpError(500, 'Internal server error');
}
