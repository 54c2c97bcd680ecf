import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { registry } from './metrics';

/**
 * Who may scrape: with METRICS_TOKEN set, whoever sends `Authorization: Bearer <METRICS_TOKEN>`
 * (Prometheus in another container or host); without it, only this machine (a loopback peer),
 * so a laptop's `npm start` exposes nothing to the network and needs no token.
 */
export function scrapeAllowed(req: IncomingMessage, token: string): boolean {
  if (token) {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const sent = Buffer.from(m?.[1] ?? '');
    const want = Buffer.from(token);
    return sent.length === want.length && timingSafeEqual(sent, want);
  }
  return isLoopback(req.socket.remoteAddress);
}

function isLoopback(address: string | undefined): boolean {
  return address === '::1' || /^(::ffff:)?127\./.test(address ?? '');
}

/** `GET /metrics` in the Prometheus text format, on web (an Express route) and on a worker's own server. */
export function metricsHandler(token: string, onError: (err: Error) => void) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!scrapeAllowed(req, token)) {
      const body = token
        ? { error: { code: 'unauthorized', message: 'Send "Authorization: Bearer <METRICS_TOKEN>".' } }
        : { error: { code: 'forbidden', message: 'Without METRICS_TOKEN, metrics answer only on loopback.' } };
      res.writeHead(token ? 401 : 403, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    try {
      const text = await registry.metrics();
      res.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
    } catch (err) {
      // A collector failed (they catch Redis' errors themselves, so this is a bug): say so, don't crash.
      onError(err as Error);
      res
        .writeHead(500, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'internal_error', message: 'The metrics could not be collected.' } }));
    }
  };
}

/** A worker's scrape target: GET /metrics only (not yet listening). Off when METRICS_PORT is unset. */
export function createMetricsServer(token: string, onError: (err: Error) => void): Server {
  const serve = metricsHandler(token, onError);
  return createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      void serve(req, res);
      return;
    }
    res
      .writeHead(404, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ error: { code: 'route_not_found', message: 'Only GET /metrics is served here.' } }));
  });
}
