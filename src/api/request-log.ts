import type { RequestHandler } from 'express';
import type { Logger } from '../logger';

/** One line per request: method, path, status and time. Never headers, query strings or bodies. */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    if (req.path === '/healthz' || req.path === '/readyz') return next();
    const started = performance.now();
    res.on('finish', () => {
      log.info(
        { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(performance.now() - started) },
        'request',
      );
    });
    next();
  };
}
