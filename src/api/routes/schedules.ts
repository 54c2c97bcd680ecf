import { Router } from 'express';
import type { AppContext } from '../../context';
import { parseLimit } from '../../services/paging';
import { workspaceOf } from '../auth';

/** A cohort's schedule (a singleton sub-resource), its manual trigger and its history. */
export function scheduleRoutes(ctx: AppContext): Router {
  const r = Router();

  r.get('/schedules', async (req, res) => {
    res.json({ data: await ctx.schedules.list(workspaceOf(req)) });
  });

  r.put('/cohorts/:id/schedule', async (req, res) => {
    res.json(await ctx.schedules.put(workspaceOf(req), req.params.id, req.body ?? {}));
  });

  r.get('/cohorts/:id/schedule', async (req, res) => {
    res.json(await ctx.schedules.get(workspaceOf(req), req.params.id));
  });

  r.patch('/cohorts/:id/schedule', async (req, res) => {
    res.json(await ctx.schedules.patch(workspaceOf(req), req.params.id, req.body ?? {}));
  });

  r.delete('/cohorts/:id/schedule', async (req, res) => {
    await ctx.schedules.delete(workspaceOf(req), req.params.id);
    res.status(204).end();
  });

  r.post('/cohorts/:id/schedule/run', async (req, res) => {
    const { run, created } = await ctx.schedules.runNow(workspaceOf(req), req.params.id, req.requestId);
    res.status(created ? 202 : 200).json(run);
  });

  r.get('/cohorts/:id/schedule/history', async (req, res) => {
    const limit = parseLimit(req.query.limit, 20, 100);
    res.json(
      await ctx.schedules.history(workspaceOf(req), req.params.id, {
        limit,
        cursor: req.query.cursor as string | undefined,
      }),
    );
  });
  return r;
}
