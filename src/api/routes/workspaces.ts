import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context';
import { ValidationError } from '../../services/errors';
import { validationFromZod } from '../errors';

export const workspaceInput = z
  .object({ name: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200) })
  .strict();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path id we issued (a UUID); anything else is the caller's typo: 400 naming it. */
function idParam(value: string, name: string): string {
  if (!UUID.test(value)) throw new ValidationError([{ path: name, message: 'must be a UUID' }]);
  return value;
}

/** Admin only: creates workspaces and issues, lists and revokes their API tokens (each shown once). */
export function workspaceRoutes(ctx: AppContext): Router {
  const r = Router();
  r.post('/workspaces', async (req, res) => {
    const parsed = workspaceInput.safeParse(req.body ?? {});
    if (!parsed.success) throw validationFromZod(parsed.error);
    res.status(201).json(await ctx.workspaces.create(parsed.data.name));
  });
  r.post('/workspaces/:id/tokens', async (req, res) => {
    res.status(201).json(await ctx.workspaces.issueToken(idParam(req.params.id, 'id')));
  });
  r.get('/workspaces/:id/tokens', async (req, res) => {
    res.json({ tokens: await ctx.workspaces.listTokens(idParam(req.params.id, 'id')) });
  });
  r.delete('/workspaces/:id/tokens/:tokenId', async (req, res) => {
    await ctx.workspaces.revokeToken(idParam(req.params.id, 'id'), idParam(req.params.tokenId, 'tokenId'));
    res.status(204).end();
  });
  return r;
}
