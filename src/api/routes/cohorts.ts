import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context';
import { ValidationError } from '../../services/errors';
import { parseLimit } from '../../services/paging';
import { workspaceOf } from '../auth';
import { validationFromZod } from '../errors';

const body = (req: { body?: unknown }): Record<string, unknown> => {
  if (req.body === undefined) return {};
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw new ValidationError([{ path: '(body)', message: 'must be a JSON object' }]);
  }
  return req.body as Record<string, unknown>;
};

export const importInput = z
  .object({
    recipients: z.array(z.email('must be an email address')).max(20, 'at most 20 recipients').optional(),
    full_resync: z.boolean().optional(),
    /** false: this one run skips the cohort's removal guardrail. */
    guardrail: z.boolean().optional(),
  })
  .strict();

export const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** Cohorts (CRUD, preview) and their imports. */
export function cohortRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/cohorts', async (req, res) => {
    const { name, criteria, guardrail } = body(req);
    res.status(201).json(await ctx.cohorts.create(workspaceOf(req), { name, criteria, guardrail }));
  });

  // Each cohort comes with its last run and its schedule, so a list page needs one request.
  r.get('/cohorts', async (req, res) => {
    const limit = parseLimit(req.query.limit, 50, 200);
    const workspaceId = workspaceOf(req);
    const page = await ctx.cohorts.list(workspaceId, { limit, cursor: req.query.cursor as string | undefined });
    const ids = page.data.map((c) => c.id);
    const [lastRuns, schedules] = await Promise.all([ctx.imports.latestForCohorts(ids), ctx.schedules.forCohorts(ids)]);
    res.json({
      ...page,
      data: page.data.map((c) => ({
        ...c,
        last_run: lastRuns.get(c.id) ?? null,
        schedule: schedules.get(c.id) ?? null,
      })),
    });
  });

  r.post('/cohorts/preview', async (req, res) => {
    const { criteria, limit } = body(req);
    const n = parseLimit(limit === undefined ? undefined : String(limit), 20, 100);
    res.json(await ctx.cohorts.previewCriteria(workspaceOf(req), criteria, n));
  });

  r.get('/cohorts/:id', async (req, res) => {
    res.json(await ctx.cohorts.get(workspaceOf(req), req.params.id));
  });

  r.patch('/cohorts/:id', async (req, res) => {
    const input = body(req);
    const unknown = Object.keys(input).filter((k) => !['name', 'criteria', 'guardrail'].includes(k));
    if (unknown.length > 0) {
      throw new ValidationError([
        { path: unknown[0]!, message: 'is not a field of a cohort (name, criteria, guardrail)' },
      ]);
    }
    res.json(await ctx.cohorts.update(workspaceOf(req), req.params.id, input));
  });

  r.delete('/cohorts/:id', async (req, res) => {
    await ctx.cohorts.delete(workspaceOf(req), req.params.id);
    res.status(204).end();
  });

  r.get('/cohorts/:id/preview', async (req, res) => {
    const limit = parseLimit(req.query.limit, 20, 100);
    res.json(await ctx.cohorts.preview(workspaceOf(req), req.params.id, limit));
  });

  r.get('/cohorts/:id/plan', async (req, res) => {
    res.json(await ctx.plans.plan(workspaceOf(req), req.params.id));
  });

  r.post('/cohorts/:id/imports', async (req, res) => {
    const parsed = importInput.safeParse(body(req));
    if (!parsed.success) throw validationFromZod(parsed.error);
    const key = req.get('idempotency-key');
    if (key !== undefined && !idempotencyKey.safeParse(key).success) {
      throw new ValidationError([{ path: 'Idempotency-Key', message: 'must be 1 to 200 printable characters' }]);
    }
    const { run, created } = await ctx.imports.enqueue(workspaceOf(req), req.params.id, {
      trigger: 'one_time',
      recipients: parsed.data.recipients,
      fullResync: parsed.data.full_resync,
      guardrail: parsed.data.guardrail,
      idempotencyKey: key,
      requestId: req.requestId,
    });
    res.status(created ? 202 : 200).json(run);
  });

  r.get('/cohorts/:id/imports', async (req, res) => {
    const limit = parseLimit(req.query.limit, 20, 100);
    res.json(
      await ctx.imports.list(workspaceOf(req), req.params.id, {
        limit,
        cursor: req.query.cursor as string | undefined,
      }),
    );
  });

  r.get('/imports/:id', async (req, res) => {
    res.json(await ctx.imports.get(workspaceOf(req), req.params.id));
  });

  r.get('/imports/:id/progress', async (req, res) => {
    res.json(await ctx.imports.progress(workspaceOf(req), req.params.id));
  });

  r.post('/imports/:id/cancel', async (req, res) => {
    res.json(await ctx.imports.cancel(workspaceOf(req), req.params.id));
  });

  r.post('/imports/:id/approve', async (req, res) => {
    res.json(await ctx.imports.approve(workspaceOf(req), req.params.id));
  });
  return r;
}
