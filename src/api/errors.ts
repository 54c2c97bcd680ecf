import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ZodError } from 'zod';
import { type FieldIssue, ServiceError, ValidationError } from '../services/errors';
import { BUSY_RETRY_AFTER_S, isBusyStore } from '../store-errors';
import { WarehouseTimeoutError } from '../warehouse/warehouse-timeout-error';

/** The one error shape: {"error": {"code", "message", "details"}}. */
export function errorBody(code: string, message: string, details?: Record<string, unknown>) {
  return { error: { code, message, ...(details ? { details } : {}) } };
}

export function issuesFromZod(error: ZodError, root = ''): FieldIssue[] {
  return error.issues.map((i) => {
    let path = root;
    for (const seg of i.path) {
      path += typeof seg === 'number' ? `[${seg}]` : path === '' ? String(seg) : `.${String(seg)}`;
    }
    return { path: path || '(body)', message: i.message };
  });
}

export function validationFromZod(error: ZodError, root = ''): ValidationError {
  return new ValidationError(issuesFromZod(error, root));
}

export const notFoundRoute: RequestHandler = (req, res) => {
  res.status(404).json(errorBody('route_not_found', `No route for ${req.method} ${req.path}`));
};

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MB` : `${Math.round(n / 1024)} KB`;
}

/** Maps every error to the JSON shape. Unknown errors are logged (with the request id) and answer a bare 500. */
export function errorHandler(): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const log = req.log;
    if (err instanceof ServiceError) {
      res.status(err.status).json(errorBody(err.code, err.message, err.details));
      return;
    }
    // The warehouse stopped a query at its deadline: busy or too costly, not our bug. 503 with
    // Retry-After (a busy store's answer), not 504: no gateway stands between.
    if (err instanceof WarehouseTimeoutError) {
      log.warn({ operation: err.operation, limitMs: err.limitMs, method: req.method, path: req.path }, err.message);
      res
        .status(503)
        .set('Retry-After', String(Math.max(1, Math.ceil(err.limitMs / 1000))))
        .json(
          errorBody(
            'warehouse_timeout',
            `The warehouse did not finish ${err.operation} within ${err.limitMs} ms and stopped it; ` +
              'try again later, or narrow the criteria.',
            { limit_ms: err.limitMs },
          ),
        );
      return;
    }
    // body-parser's errors carry a status and a type.
    const e = err as { status?: number; type?: string; message?: string };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json(errorBody('invalid_json', 'The request body is not valid JSON.'));
      return;
    }
    if (e.type === 'entity.too.large') {
      const limit = (err as { limit?: number }).limit;
      const allowed = limit ? ` (at most ${formatBytes(limit)} here)` : '';
      res.status(413).json(errorBody('payload_too_large', `The request body is too large${allowed}.`, { limit }));
      return;
    }
    if (e.type === 'encoding.unsupported') {
      res
        .status(415)
        .json(
          errorBody(
            'unsupported_content_encoding',
            'This route takes an uncompressed JSON body; only the batch ingest routes accept gzip or deflate.',
          ),
        );
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json(errorBody('bad_request', 'The request could not be read.'));
      return;
    }
    if (isBusyStore(err)) {
      log.warn({ err: (err as Error).message, method: req.method, path: req.path }, 'store busy');
      res
        .status(503)
        .set('Retry-After', String(BUSY_RETRY_AFTER_S))
        .json(errorBody('store_busy', 'The database is busy right now; try again in a few seconds.'));
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'unhandled error');
    res.status(500).json(errorBody('internal_error', 'Something went wrong on our side; it has been logged.'));
  };
}
