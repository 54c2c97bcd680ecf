import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../logger';

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's id: the client's X-Request-Id when it is acceptable, else a fresh UUID. */
    requestId: string;
    /** The process logger with this request's id on every line. */
    log: Logger;
  }
}

/** Short and printable (no spaces or control characters), so it is safe in logs and headers. */
const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/;

export function requestIdOf(header: string | undefined): string {
  return header && ACCEPTABLE_ID.test(header) ? header : randomUUID();
}

/** Honours or makes the request's id, echoes it back, and gives the request a logger carrying it. */
export function requestId(log: Logger): RequestHandler {
  return (req, res, next) => {
    req.requestId = requestIdOf(req.get('x-request-id'));
    req.log = log.child({ requestId: req.requestId });
    res.set('X-Request-Id', req.requestId);
    next();
  };
}
