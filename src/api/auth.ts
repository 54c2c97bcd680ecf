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

export function sameSecret(a: string, b: string): boolean {
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

/** The admin credential, `Bearer <ADMIN_TOKEN>`, for the workspace routes (Bull Board has its own login). */
export function requireAdmin(adminToken: string): RequestHandler {
  return (req, res, next) => {
    const token = bearer(req);
    if (token && sameSecret(token, adminToken)) return next();
    res.status(401).json(errorBody('unauthorized', 'This needs the admin credential.'));
  };
}

export function workspaceOf(req: Request): string {
  if (!req.workspaceId) throw new Error('requireWorkspace did not run');
  return req.workspaceId;
}
