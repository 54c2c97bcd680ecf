import type { Request, RequestHandler } from 'express';
import { httpDuration, httpRequests } from '../metrics/metrics';

/**
 * One line per request (method, path, status, time; never headers, query strings or bodies),
 * on the request's logger so it carries the request id, and the HTTP series by route template.
 */
export function requestLog(): RequestHandler {
  return (req, res, next) => {
    // Mounted routers rewrite req.url as they route: keep the path as it came in.
    const path = req.path;
    const quiet = path === '/healthz' || path === '/readyz' || path === '/metrics';
    const started = performance.now();
    res.on('finish', () => {
      const elapsed = performance.now() - started;
      const route = routeTemplate(req);
      httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      httpDuration.observe({ method: req.method, route }, elapsed / 1000);
      if (!quiet)
        req.log.info({ method: req.method, path, status: res.statusCode, ms: Math.round(elapsed) }, 'request');
    });
    next();
  };
}

/**
 * The matched route's template (`/v1/cohorts/:id/imports`), never the path itself: an id in a
 * label would make a series per cohort. Requests no route matched (static files, 404s, 401s
 * before routing) share one value.
 */
function routeTemplate(req: Request): string {
  const template = req.route?.path;
  return typeof template === 'string' ? `${req.baseUrl}${template}` : 'unmatched';
}
