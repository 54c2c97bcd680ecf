import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../../context';
import { propertiesProblem } from '../../domain/properties';
import { ServiceError } from '../../services/errors';
import { workspaceOf } from '../auth';
import { validationFromZod } from '../errors';

export const MAX_BATCH = 10_000;

const id = z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters');
const properties = z.record(z.string().min(1).max(64), z.unknown()).superRefine((value, ctx) => {
  const problem = propertiesProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const userSchema = z
  .object({
    user_key: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    external_id: id.nullable().optional(),
    alias: z.object({ name: id, label: id }).strict().nullable().optional(),
    device_id: id.nullable().optional(),
    properties: properties.optional(),
  })
  .strict();

const eventTime = z.union([
  z.number().int().nonnegative(),
  z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time or epoch milliseconds'),
]);

const eventSchema = z
  .object({
    user_key: z.string().min(1, 'must not be empty').max(200),
    name: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    time: eventTime,
    properties: properties.optional(),
  })
  .strict();

function batch<T extends z.ZodType>(field: string, item: T) {
  return z.object({ [field]: z.array(item).min(1, 'must hold at least one item') }).strict();
}

export const usersBatch = batch('users', userSchema);
export const eventsBatch = batch('events', eventSchema);

function checkSize(body: unknown, field: string): void {
  const list = (body as Record<string, unknown> | undefined)?.[field];
  if (Array.isArray(list) && list.length > MAX_BATCH) {
    throw new ServiceError(413, 'batch_too_large', `${field}: at most ${MAX_BATCH} per call, got ${list.length}`, {
      max: MAX_BATCH,
    });
  }
}

/** Users and events batch ingest into the warehouse. */
export function ingestRoutes(ctx: AppContext): Router {
  const r = Router();

  r.post('/users/batch', async (req, res) => {
    checkSize(req.body, 'users');
    const parsed = usersBatch.safeParse(req.body);
    if (!parsed.success) throw validationFromZod(parsed.error);
    const list = parsed.data.users as z.infer<typeof userSchema>[];
    const result = await ctx.warehouse.upsertUsers(workspaceOf(req), list);
    res.json(result);
  });

  r.post('/events/batch', async (req, res) => {
    checkSize(req.body, 'events');
    const parsed = eventsBatch.safeParse(req.body);
    if (!parsed.success) throw validationFromZod(parsed.error);
    const list = (parsed.data.events as z.infer<typeof eventSchema>[]).map((e) => ({
      ...e,
      time: typeof e.time === 'number' ? e.time : Date.parse(e.time),
    }));
    const result = await ctx.warehouse.appendEvents(workspaceOf(req), list);
    res.json({ appended: result.appended, users_created: result.usersCreated });
  });
  return r;
}
