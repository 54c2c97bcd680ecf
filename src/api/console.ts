import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, Router } from 'express';
import { errorBody } from './errors';

/** Where `npm run build:console` (Vite) writes the console's static files. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/console', import.meta.url));

/**
 * The console runs only its own bundled files: no inline script or style, no other origin,
 * and it talks to this origin's /v1 API alone.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
  next();
};

/**
 * Cohort Control, the web console: static files built by Vite, served at `/`. It uses the
 * public /v1 API like any other client (same origin, so the API needs no CORS).
 */
export function consoleRouter(dir = CONSOLE_DIR): Router {
  const r = Router();
  r.use(securityHeaders);
  if (!existsSync(join(dir, 'index.html'))) {
    r.get('/', (_req, res) => {
      res
        .status(503)
        .json(errorBody('console_not_built', 'The console has not been built: run `npm run build:console`.'));
    });
    return r;
  }
  // Vite names assets by content hash, so they can be cached for good; index.html never is.
  r.use('/assets', express.static(join(dir, 'assets'), { immutable: true, maxAge: '1y', index: false }));
  r.get(['/', '/index.html'], (_req, res) => {
    res.set('Cache-Control', 'no-cache').sendFile(join(dir, 'index.html'));
  });
  r.use(express.static(dir, { index: false }));
  return r;
}
