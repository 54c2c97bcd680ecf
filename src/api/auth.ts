import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { WorkspaceService } from '../services/workspaces';
import { errorBody } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    workspaceId?: string;
  }
}

function bearer(req: Request): string | null {
  const h = req.get('authorization');
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m?.[1] ?? null;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Every /v1 route but the admin ones: the token decides the workspace. */
export function requireWorkspace(workspaces: WorkspaceService): RequestHandler {
  return async (req, res, next) => {
    const token = bearer(req);
    const found = token ? await workspaces.authenticate(token) : null;
    if (!found) {
      res
        .status(401)
        .set('WWW-Authenticate', 'Bearer')
        .json(errorBody('unauthorized', 'Send a workspace API token as "Authorization: Bearer <token>".'));
      return;
    }
    req.workspaceId = found.workspaceId;
    next();
  };
}

/** The admin credential: `Bearer <ADMIN_TOKEN>` for the API, Basic `admin:<ADMIN_TOKEN>` for a browser. */
export function requireAdmin(adminToken: string, opts: { browser?: boolean } = {}): RequestHandler {
  return (req, res, next) => {
    const token = bearer(req);
    if (token && sameSecret(token, adminToken)) return next();
    const basic = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (basic?.[1]) {
      const [user, ...rest] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      if (user === 'admin' && sameSecret(rest.join(':'), adminToken)) return next();
    }
    if (opts.browser) res.set('WWW-Authenticate', 'Basic realm="Cohort Import operators"');
    res.status(401).json(errorBody('unauthorized', 'This needs the admin credential.'));
  };
}

export function workspaceOf(req: Request): string {
  if (!req.workspaceId) throw new Error('requireWorkspace did not run');
  return req.workspaceId;
}
