/**
 * The Braze partner cohort-import endpoints, mounted at /partners/{partner}. Every call, whatever
 * its answer, goes through the same steps and lands in the request log:
 * latency → injected fault → 401 auth → rate limit → 400 validation → the store.
 */
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import { setTimeout as delay } from 'node:timers/promises';
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
  partnerApiKeys: ReadonlySet<string>;
  bodyLimit: string;
}

const SUCCESS = { message: 'success' } as const;

/** Does the work of one endpoint once the call is authenticated and admitted; throws to answer an error. */
type PartnerOperation = (
  deps: PartnerRouterDeps,
  body: unknown,
  workspace: Workspace,
  counts: IdentifierCounts,
) => void;

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
  deps.store.upsertCohort(workspace.key, request.cohort_id, request.name, request.created_at);
};

const changeCohortMembers: PartnerOperation = (deps, body, workspace, counts) => {
  // The cap comes first: no point validating 50,000 identifiers of a request refused anyway.
  assertWithinIdentifierCap(counts);
  const request = parseRequest(cohortChangesRequestSchema, body);
  const outcome = deps.store.applyCohortChanges(workspace.key, request.cohort_id, request.cohort_changes);
  if (!outcome) {
    throw new SandboxHttpError(400, `Cohort ${request.cohort_id} does not exist`, [
      'create the cohort with POST /partners/{partner}/cohorts before changing its members',
    ]);
  }
};

function partnerEndpoint(deps: PartnerRouterDeps, operation: PartnerOperation): RequestHandler {
  return async (req, res) => {
    const counts = countIdentifiers(req.body);
    let workspaceId: string | null = null;
    let status = 201;
    let answer: object = SUCCESS;
    let headers: Record<string, string> = {};
    try {
      const latencyMs = deps.traffic.latencyMs();
      if (latencyMs > 0) await delay(latencyMs);
      const fault = deps.traffic.drawFault();
      if (fault) throw fault;
      const { partnerApiKey, clientSecret } = readCredentials(req.body);
      if (partnerApiKey === undefined || !deps.partnerApiKeys.has(partnerApiKey)) {
        throw new SandboxHttpError(401, 'Invalid partner API key', ['partner_api_key is missing or unknown']);
      }
      const workspace = clientSecret === undefined ? undefined : deps.store.workspaceForClientSecret(clientSecret);
      if (!workspace) {
        throw new SandboxHttpError(401, 'Invalid client secret', [
          'client_secret is missing, unknown or has been invalidated',
        ]);
      }
      workspaceId = workspace.id;
      headers = deps.traffic.admit(partnerApiKey);
      operation(deps, req.body, workspace, counts);
    } catch (error) {
      const httpError = toSandboxHttpError(error);
      if (httpError.status >= 500 && !(error instanceof SandboxHttpError)) console.error(error);
      status = httpError.status;
      answer = httpError.body;
      headers = { ...headers, ...httpError.headers };
    }
    // Logged before answering, so a client that reads /sandbox/requests next sees this call.
    deps.log.record({
      path: pathOf(req),
      status,
      workspace_id: workspaceId,
      cohort_id: cohortIdOf(req.body),
      ...counts,
    });
    res.status(status).set(headers).json(answer);
  };
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
