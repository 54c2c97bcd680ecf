import type { RequestHandler } from 'express';
import type { Logger } from '../logger';

/** One line per request: method, path, status and time. Never headers, query strings or bodies. */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    // Mounted routers rewrite req.url as they route: keep the path as it came in.
    const path = req.path;
    if (path === '/healthz' || path === '/readyz') return next();
    const started = performance.now();
    res.on('finish', () => {
      log.info(
        { method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) },
        'request',
      );
    });
    next();
  };
}
