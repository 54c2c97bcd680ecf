/**
 * The sandbox's own endpoints under /sandbox (not part of Braze): set up workspaces, data import
 * keys and users, look at cohorts the way a marketer's segment would, read the request log and
 * steer rate limits and faults.
 */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { CohortCalls } from './cohort-calls';
import { SandboxHttpError } from './errors';
import type { PartnerCallLog } from './request-log';
import type { BrazeSandboxStore, Workspace } from './store';
import { UserConflictError } from './store';
import { sandboxConfigUpdateSchema, type TrafficControl } from './traffic-control';
import { aliasSchema, nonBlankString, parseRequest } from './validation';

export const MAX_USERS_PER_BATCH = 50_000;

export interface AdminRouterDeps {
  store: BrazeSandboxStore;
  log: PartnerCallLog;
  traffic: TrafficControl;
  cohortCalls: CohortCalls;
  /** The segmentation filter's name, e.g. "Kubit Cohorts". */
  segmentFilterName: string;
  bodyLimit: string;
}

const workspaceRequestSchema = z.object({ name: nonBlankString }, { error: 'request body must be a JSON object' });

const userRecordSchema = z
  .object(
    {
      external_id: nonBlankString.nullish(),
      aliases: z.array(aliasSchema, { error: 'must be an array of {alias_name, alias_label} objects' }).optional(),
      device_ids: z.array(nonBlankString, { error: 'must be an array of strings' }).optional(),
    },
    { error: 'must be an object' },
  )
  .refine((user) => !!user.external_id || !!user.aliases?.length || !!user.device_ids?.length, {
    error: 'needs an external_id, an alias or a device id',
  });

const usersBatchSchema = z.object(
  {
    users: z
      .array(userRecordSchema, { error: 'must be an array of users' })
      .min(1, { error: 'must hold at least one user' })
      .max(MAX_USERS_PER_BATCH, { error: `must hold at most ${MAX_USERS_PER_BATCH.toLocaleString('en-US')} users` }),
  },
  { error: 'request body must be a JSON object' },
);

const pageSchema = {
  limit: z.coerce.number({ error: 'must be a number' }).int().min(0).max(MAX_USERS_PER_BATCH).default(1_000),
  offset: z.coerce.number({ error: 'must be a number' }).int().min(0).default(0),
};

const segmentQuerySchema = z.object({
  cohort_name: nonBlankString,
  filter: z
    .enum(['includes_value', 'excludes_value'], { error: 'must be includes_value or excludes_value' })
    .default('includes_value'),
  ...pageSchema,
});

const pageQuerySchema = z.object(pageSchema);

const requestLogQuerySchema = z.object({
  limit: z.coerce.number({ error: 'must be a number' }).int().min(0).optional(),
});

export function createAdminRouter(deps: AdminRouterDeps): Router {
  const { store, log, traffic, cohortCalls } = deps;
  const router = express.Router();
  router.use(express.json({ limit: deps.bodyLimit }));

  router.post('/workspaces', (req, res) => {
    const { name } = parseRequest(workspaceRequestSchema, req.body);
    const workspace = store.createWorkspace(name);
    res.status(201).json({ id: workspace.id, name: workspace.name });
  });

  router.post('/workspaces/:ws/data-import-keys', (req, res) => {
    const workspace = requireWorkspace(store, req);
    res.status(201).json(store.createDataImportKey(workspace.key));
  });

  router.get('/workspaces/:ws/data-import-keys', (req, res) => {
    const workspace = requireWorkspace(store, req);
    res.json({ keys: store.listDataImportKeys(workspace.key) });
  });

  router.post('/workspaces/:ws/data-import-keys/:id/invalidate', (req, res) => {
    const workspace = requireWorkspace(store, req);
    const key = store.invalidateDataImportKey(workspace.key, String(req.params.id));
    if (!key) throw new SandboxHttpError(404, 'Data import key not found');
    res.json(key);
  });

  router.post('/workspaces/:ws/users/batch', (req, res) => {
    const workspace = requireWorkspace(store, req);
    const { users } = parseRequest(usersBatchSchema, req.body);
    try {
      res.json(store.upsertUsers(workspace.key, users));
    } catch (error) {
      if (error instanceof UserConflictError) throw new SandboxHttpError(409, error.message, [error.message]);
      throw error;
    }
  });

  router.get('/workspaces/:ws/cohorts', (req, res) => {
    const workspace = requireWorkspace(store, req);
    res.json({ cohorts: store.listCohorts(workspace.key) });
  });

  router.get('/workspaces/:ws/segment', (req, res) => {
    const workspace = requireWorkspace(store, req);
    const query = parseRequest(segmentQuerySchema, req.query);
    const segment = store.segment(workspace.key, query.cohort_name, query.filter, query);
    if (!segment) {
      throw new SandboxHttpError(404, `No cohort named "${query.cohort_name}" in this workspace`, [
        `${deps.segmentFilterName} lists only cohorts created through the partner endpoint`,
      ]);
    }
    res.json({ filter: deps.segmentFilterName, cohort_name: query.cohort_name, ...segment });
  });

  router.get('/workspaces/:ws/cohorts/:cohortId/members', (req, res) => {
    const workspace = requireWorkspace(store, req);
    const page = parseRequest(pageQuerySchema, req.query);
    const members = store.cohortMembers(workspace.key, String(req.params.cohortId), page);
    if (!members) throw new SandboxHttpError(404, 'Cohort not found');
    res.json(members);
  });

  router.get('/requests', (req, res) => {
    const { limit } = parseRequest(requestLogQuerySchema, req.query);
    const { requests, ...figures } = log.snapshot(limit);
    res.json({
      ...figures,
      in_flight: cohortCalls.current,
      max_in_flight_per_cohort: cohortCalls.maxInFlight,
      queued: traffic.queued,
      requests,
    });
  });

  router.get('/config', (_req, res) => {
    res.json(traffic.current);
  });

  router.put('/config', (req, res) => {
    res.json(traffic.update(parseRequest(sandboxConfigUpdateSchema, req.body)));
  });

  router.post('/reset', (_req, res) => {
    store.reset();
    log.clear();
    traffic.reset();
    cohortCalls.reset();
    res.json({ message: 'reset' });
  });

  return router;
}

function requireWorkspace(store: BrazeSandboxStore, req: Request): Workspace {
  const workspace = store.getWorkspace(String(req.params.ws));
  if (!workspace) throw new SandboxHttpError(404, 'Workspace not found');
  return workspace;
}
