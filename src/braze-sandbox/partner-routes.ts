/**
 * The Braze partner cohort-import endpoints, mounted at /partners/{partner}. Every call, whatever
 * its answer, goes through the same steps and lands in the request log:
 * 401 auth → rate limit (per Braze workspace) → per-cohort lock → latency → injected fault →
 * 400 validation → the store (or, in maintenance mode, the queue).
 */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import { setTimeout as delay } from 'node:timers/promises';
import type { CohortCalls } from './cohort-calls';
import { SandboxHttpError, toSandboxHttpError } from './errors';
import type { PartnerCallLog } from './request-log';
import type { BrazeSandboxStore, Workspace } from './store';
import type { TrafficControl } from './traffic-control';
import {
  assertWithinIdentifierCap,
  cohortChangesRequestSchema,
  countIdentifiers,
  createCohortRequestSchema,
  parseRequest,
  readCredentials,
  type IdentifierCounts,
} from './validation';

export interface PartnerRouterDeps {
  store: BrazeSandboxStore;
  log: PartnerCallLog;
  traffic: TrafficControl;
  cohortCalls: CohortCalls;
  /** The one partner API key this sandbox's region takes. */
  partnerApiKey: string;
  /** Keys of other regions, to say so when one is sent here (still a 401). */
  otherRegionKeys: ReadonlyMap<string, string>;
  region: string;
  bodyLimit: string;
}

const SUCCESS = { message: 'success' } as const;
const QUEUED = { message: 'queued' } as const;

/**
 * Validates one endpoint's call (throws the 400) and returns the change to apply, or null
 * when there is nothing to change.
 */
type PartnerOperation = (
  deps: PartnerRouterDeps,
  body: unknown,
  workspace: Workspace,
  counts: IdentifierCounts,
) => (() => void) | null;

export function createPartnerRouter(deps: PartnerRouterDeps): Router {
  const router = express.Router();
  router.use(express.json({ limit: deps.bodyLimit }));
  router.post('/cohorts', partnerEndpoint(deps, createOrRenameCohort));
  router.post('/cohorts/users', partnerEndpoint(deps, changeCohortMembers));
  router.use(unreadableBody(deps));
  return router;
}

const createOrRenameCohort: PartnerOperation = (deps, body, workspace) => {
  const request = parseRequest(createCohortRequestSchema, body);
  return () => deps.store.upsertCohort(workspace.key, request.cohort_id, request.name, request.created_at);
};

const changeCohortMembers: PartnerOperation = (deps, body, workspace, counts) => {
  // The cap comes first: no point validating 50,000 identifiers of a request refused anyway.
  assertWithinIdentifierCap(counts);
  const request = parseRequest(cohortChangesRequestSchema, body);
  // No changes: a no-op whatever the cohort_id (a connection test sends one nobody created).
  if (request.cohort_changes.length === 0) return null;
  return () => {
    const outcome = deps.store.applyCohortChanges(workspace.key, request.cohort_id, request.cohort_changes);
    if (!outcome) {
      throw new SandboxHttpError(400, `Cohort ${request.cohort_id} does not exist`, [
        'create the cohort with POST /partners/{partner}/cohorts before changing its members',
      ]);
    }
  };
};

function partnerEndpoint(deps: PartnerRouterDeps, operation: PartnerOperation): RequestHandler {
  return async (req, res) => {
    const arrivedAt = Date.now();
    const counts = countIdentifiers(req.body);
    const cohortId = cohortIdOf(req.body);
    let workspaceId: string | null = null;
    let status = 201;
    let answer: object = SUCCESS;
    let headers: Record<string, string> = {};
    let release: (() => void) | undefined;
    try {
      const workspace = authenticate(deps, req.body);
      workspaceId = workspace.id;
      headers = deps.traffic.admit(workspace.id);
      const config = deps.traffic.current;
      if (cohortId !== null) release = deps.cohortCalls.enter(workspace.key, cohortId, config.lock_on_overlap);
      const latencyMs = deps.traffic.latencyMs();
      if (latencyMs > 0) await delay(latencyMs);
      const fault = deps.traffic.drawFault();
      if (fault) throw fault;
      const apply = operation(deps, req.body, workspace, counts);
      if (apply && deps.traffic.applyOrHold(apply)) {
        status = 202;
        answer = QUEUED;
      }
    } catch (error) {
      const httpError = toSandboxHttpError(error);
      if (httpError.status >= 500 && !(error instanceof SandboxHttpError)) console.error(error);
      status = httpError.status;
      answer = httpError.body;
      headers = { ...headers, ...httpError.headers };
    } finally {
      release?.();
    }
    // Logged before answering, so a client that reads /sandbox/requests next sees this call.
    deps.log.record(
      { path: pathOf(req), status, workspace_id: workspaceId, cohort_id: cohortId, ...counts },
      arrivedAt,
    );
    res.status(status).set(headers).json(answer);
  };
}

/** The partner API key of this sandbox's region, then an active data import key: its Braze workspace. */
function authenticate(deps: PartnerRouterDeps, body: unknown): Workspace {
  const { partnerApiKey, clientSecret } = readCredentials(body);
  if (partnerApiKey !== deps.partnerApiKey) {
    const region = partnerApiKey === undefined ? undefined : deps.otherRegionKeys.get(partnerApiKey);
    throw new SandboxHttpError(401, 'Invalid partner API key', [
      region
        ? `this is the ${region} partner API key; this Braze cluster (${deps.region}) takes the ${deps.region} key`
        : 'partner_api_key is missing or unknown',
    ]);
  }
  const workspace = clientSecret === undefined ? undefined : deps.store.workspaceForClientSecret(clientSecret);
  if (!workspace) {
    throw new SandboxHttpError(401, 'Invalid client secret', [
      'client_secret is missing, unknown or has been invalidated',
    ]);
  }
  return workspace;
}

/** Malformed JSON or an oversized body never reaches an endpoint; it is still a partner call. */
function unreadableBody(deps: PartnerRouterDeps): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const httpError = toSandboxHttpError(error);
    deps.log.record({
      path: pathOf(req),
      status: httpError.status,
      workspace_id: null,
      cohort_id: null,
      additions: 0,
      removals: 0,
      identifiers: 0,
    });
    res.status(httpError.status).json(httpError.body);
  };
}

function pathOf(req: Request): string {
  return req.originalUrl.split('?', 1)[0] ?? req.originalUrl;
}

function cohortIdOf(body: unknown): string | null {
  const cohortId = (body as { cohort_id?: unknown } | null | undefined)?.cohort_id;
  return typeof cohortId === 'string' ? cohortId : null;
}
