import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context';
import { validationFromZod } from '../errors';

const createSchema = z
  .object({ name: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200) })
  .strict();

/** Admin only: creates a workspace and shows its API token once. */
export function workspaceRoutes(ctx: AppContext): Router {
  const r = Router();
  r.post('/workspaces', async (req, res) => {
    const parsed = createSchema.safeParse(req.body ?? {});
    if (!parsed.success) throw validationFromZod(parsed.error);
    res.status(201).json(await ctx.workspaces.create(parsed.data.name));
  });
  return r;
}
