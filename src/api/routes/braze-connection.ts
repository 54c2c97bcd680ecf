import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context';
import { workspaceOf } from '../auth';
import { validationFromZod } from '../errors';

export const brazeConnectionInput = z
  .object({
    rest_endpoint: z.string({ error: 'is required (a Braze REST endpoint URL)' }),
    data_import_key: z.string({ error: 'is required (the data import key from Braze)' }),
  })
  .strict();

export const brazeConnectionQuery = z.object({
  verify: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
});

/** The workspace's Braze connection; the data import key is never echoed back. */
export function brazeConnectionRoutes(ctx: AppContext): Router {
  const r = Router();
  r.put('/braze-connection', async (req, res) => {
    const parsed = brazeConnectionInput.safeParse(req.body ?? {});
    if (!parsed.success) throw validationFromZod(parsed.error);
    const query = brazeConnectionQuery.safeParse(req.query);
    if (!query.success) throw validationFromZod(query.error);
    res.json(await ctx.connections.put(workspaceOf(req), parsed.data, { verify: query.data.verify === 'true' }));
  });
  r.post('/braze-connection/verify', async (req, res) => {
    res.json(await ctx.connections.verify(workspaceOf(req)));
  });
  r.get('/braze-connection', async (req, res) => {
    res.json(await ctx.connections.get(workspaceOf(req)));
  });
  r.get('/braze-connection/endpoints', (_req, res) => {
    res.json(ctx.connections.endpoints());
  });
  r.delete('/braze-connection', async (req, res) => {
    await ctx.connections.delete(workspaceOf(req));
    res.status(204).end();
  });
  return r;
}
