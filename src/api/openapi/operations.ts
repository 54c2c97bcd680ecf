import type { z } from 'zod';
import { criteriaShape } from '../../domain/criteria';
import { scheduleInputShape, schedulePatchShape } from '../../domain/schedule-input';
import { brazeConnectionInput, brazeConnectionQuery } from '../routes/braze-connection';
import { importInput } from '../routes/cohorts';
import { eventsBatch, MAX_BATCH, usersBatch } from '../routes/ingest';
import { workspaceInput } from '../routes/workspaces';
import { cohortInput, cohortPatch, pageQuery, previewInput, previewQuery } from './request-shapes';
import * as body from './response-schemas';

/** Who may call: a workspace's API token, the ADMIN_TOKEN, or anyone. */
export type Auth = 'workspace' | 'admin' | 'none';

export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI's template: `/v1/cohorts/{id}`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  auth: Auth;
  requestBody?: z.ZodType;
  /** The body may be left out altogether (an empty PATCH changes nothing; an import takes defaults). */
  bodyOptional?: boolean;
  query?: z.ZodObject;
  /** Takes an `Idempotency-Key` header. */
  idempotent?: boolean;
  /** Successful answers: a body schema, or null for none (204). */
  success: Record<number, { description: string; body: z.ZodType | null }>;
  /** The errors this route answers besides the ones every route of its kind can (see document.ts). */
  errors?: number[];
}

/**
 * Every schema the document names, under its component name. Request and response bodies are
 * referenced by these names; a body schema missing here is a bug the document builder reports.
 */
export const namedSchemas: Record<string, z.ZodType> = {
  Error: body.errorBody,
  Criteria: criteriaShape,
  Cohort: body.cohort,
  CohortPage: body.cohortPage,
  CohortInput: cohortInput,
  CohortPatch: cohortPatch,
  PreviewInput: previewInput,
  Preview: body.preview,
  Plan: body.plan,
  ImportInput: importInput,
  Run: body.run,
  RunPage: body.runPage,
  RunProgress: body.runProgress,
  ScheduleInput: scheduleInputShape,
  SchedulePatch: schedulePatchShape,
  Schedule: body.schedule,
  ScheduleList: body.scheduleList,
  ScheduleRunPage: body.scheduleRunPage,
  BrazeConnectionInput: brazeConnectionInput,
  BrazeConnection: body.brazeConnection,
  EndpointList: body.endpointList,
  UsersBatch: usersBatch,
  UsersBatchResult: body.usersBatchResult,
  EventsBatch: eventsBatch,
  EventsBatchResult: body.eventsBatchResult,
  WorkspaceInput: workspaceInput,
  Workspace: body.workspace,
  IssuedToken: body.issuedToken,
  TokenList: body.tokenList,
  Health: body.health,
  Readiness: body.readiness,
  OpenApiDocument: body.openApiDocument,
};

const ok = (description: string, schema: z.ZodType) => ({ 200: { description, body: schema } });
const noContent = (description: string) => ({ 204: { description, body: null } });

/** The public routes. The router-walk test (test/openapi.test.ts) fails when one is missing here. */
export const operations: Operation[] = [
  // Operations
  {
    method: 'get',
    path: '/healthz',
    tag: 'Operations',
    summary: 'The process is up',
    auth: 'none',
    success: ok('Always, while the process answers.', body.health),
  },
  {
    method: 'get',
    path: '/readyz',
    tag: 'Operations',
    summary: 'Redis and both databases answer',
    auth: 'none',
    success: {
      200: { description: 'Ready.', body: body.readiness },
      503: { description: 'Not ready: the checks say which dependency is unreachable.', body: body.readiness },
    },
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    tag: 'Operations',
    summary: 'This document',
    auth: 'none',
    success: ok('The OpenAPI 3.1 description of the API.', body.openApiDocument),
  },

  // Workspaces (admin)
  {
    method: 'post',
    path: '/v1/workspaces',
    tag: 'Workspaces',
    summary: 'Create a workspace and its first API token',
    auth: 'admin',
    requestBody: workspaceInput,
    success: { 201: { description: 'The workspace; its token is shown once.', body: body.workspace } },
  },
  {
    method: 'post',
    path: '/v1/workspaces/{id}/tokens',
    tag: 'Workspaces',
    summary: 'Issue another API token (for a rotation)',
    auth: 'admin',
    success: { 201: { description: 'The token, shown once.', body: body.issuedToken } },
    errors: [404, 409],
  },
  {
    method: 'get',
    path: '/v1/workspaces/{id}/tokens',
    tag: 'Workspaces',
    summary: "The workspace's tokens, oldest first (never a token itself)",
    auth: 'admin',
    success: ok('The tokens.', body.tokenList),
    errors: [404],
  },
  {
    method: 'delete',
    path: '/v1/workspaces/{id}/tokens/{tokenId}',
    tag: 'Workspaces',
    summary: 'Revoke a token (again: nothing changes)',
    auth: 'admin',
    success: noContent('Revoked.'),
    errors: [404],
  },

  // Braze connection
  {
    method: 'put',
    path: '/v1/braze-connection',
    tag: 'Braze connection',
    summary: 'Check the data import key with Braze, then save the connection',
    auth: 'workspace',
    requestBody: brazeConnectionInput,
    query: brazeConnectionQuery,
    success: ok('The saved connection (the key by its last 4 characters).', body.brazeConnection),
    errors: [422, 502],
  },
  {
    method: 'post',
    path: '/v1/braze-connection/verify',
    tag: 'Braze connection',
    summary: 'Check the saved key with Braze again',
    auth: 'workspace',
    success: ok('Braze accepted the key; key_verified_at records it.', body.brazeConnection),
    errors: [404, 422, 502],
  },
  {
    method: 'get',
    path: '/v1/braze-connection',
    tag: 'Braze connection',
    summary: 'The saved connection',
    auth: 'workspace',
    success: ok('The connection.', body.brazeConnection),
    errors: [404],
  },
  {
    method: 'delete',
    path: '/v1/braze-connection',
    tag: 'Braze connection',
    summary: 'Remove the connection',
    auth: 'workspace',
    success: noContent('Removed.'),
    errors: [404],
  },
  {
    method: 'get',
    path: '/v1/braze-connection/endpoints',
    tag: 'Braze connection',
    summary: 'Every REST endpoint PUT accepts',
    auth: 'workspace',
    success: ok("Braze's documented hosts first, then BRAZE_ENDPOINT_ALLOWLIST.", body.endpointList),
  },

  // Ingest
  {
    method: 'post',
    path: '/v1/users/batch',
    tag: 'Ingest',
    summary: `Upsert up to ${MAX_BATCH} users`,
    description:
      'Omitted fields keep their value; properties merge (null removes one). The body may be gzip or ' +
      `deflate encoded (up to 25 MB inflated); more than ${MAX_BATCH} users answer 413.`,
    auth: 'workspace',
    requestBody: usersBatch,
    success: ok('How many users were upserted.', body.usersBatchResult),
  },
  {
    method: 'post',
    path: '/v1/events/batch',
    tag: 'Ingest',
    summary: `Append up to ${MAX_BATCH} events`,
    description:
      '`time` is ISO-8601 or epoch milliseconds; an unknown user_key creates a user with no identifiers. ' +
      `The body may be gzip or deflate encoded; more than ${MAX_BATCH} events answer 413.`,
    auth: 'workspace',
    requestBody: eventsBatch,
    success: ok('How many events were appended and users created.', body.eventsBatchResult),
  },

  // Cohorts
  {
    method: 'post',
    path: '/v1/cohorts',
    tag: 'Cohorts',
    summary: 'Create a cohort',
    auth: 'workspace',
    requestBody: cohortInput,
    success: { 201: { description: 'The cohort.', body: body.cohort } },
  },
  {
    method: 'get',
    path: '/v1/cohorts',
    tag: 'Cohorts',
    summary: 'List cohorts, newest first, each with its last run and schedule',
    auth: 'workspace',
    query: pageQuery(50, 200),
    success: ok('A page of cohorts.', body.cohortPage),
  },
  {
    method: 'post',
    path: '/v1/cohorts/preview',
    tag: 'Cohorts',
    summary: 'Preview criteria not saved yet',
    auth: 'workspace',
    requestBody: previewInput,
    success: ok('How many users match, and a sample.', body.preview),
    errors: [503],
  },
  {
    method: 'get',
    path: '/v1/cohorts/{id}',
    tag: 'Cohorts',
    summary: 'Read a cohort',
    auth: 'workspace',
    success: ok('The cohort.', body.cohort),
    errors: [404],
  },
  {
    method: 'patch',
    path: '/v1/cohorts/{id}',
    tag: 'Cohorts',
    summary: 'Rename it, change its criteria or guardrail',
    description: 'Omitted guardrail fields keep their value.',
    auth: 'workspace',
    requestBody: cohortPatch,
    bodyOptional: true,
    success: ok('The cohort.', body.cohort),
    errors: [404],
  },
  {
    method: 'delete',
    path: '/v1/cohorts/{id}',
    tag: 'Cohorts',
    summary: 'Delete a cohort (409 while a run is active or held)',
    auth: 'workspace',
    success: noContent('Deleted.'),
    errors: [404, 409],
  },
  {
    method: 'get',
    path: '/v1/cohorts/{id}/preview',
    tag: 'Cohorts',
    summary: "Preview a saved cohort's members",
    auth: 'workspace',
    query: previewQuery,
    success: ok('How many users match, and a sample.', body.preview),
    errors: [404, 503],
  },
  {
    method: 'get',
    path: '/v1/cohorts/{id}/plan',
    tag: 'Cohorts',
    summary: 'What a run would do now, sending nothing',
    auth: 'workspace',
    success: ok('The counts, and whether the removal guardrail would hold the run.', body.plan),
    errors: [404, 409, 503],
  },

  // Imports
  {
    method: 'post',
    path: '/v1/cohorts/{id}/imports',
    tag: 'Imports',
    summary: 'Start a one-time import',
    description:
      '409 run_in_progress (details.run_id) while a run of the cohort is queued, running or held; ' +
      '422 idempotency_key_reused when the key was used with another request.',
    auth: 'workspace',
    requestBody: importInput,
    bodyOptional: true,
    idempotent: true,
    success: {
      202: { description: 'The queued run.', body: body.run },
      200: { description: 'The run this Idempotency-Key already started (nothing new).', body: body.run },
    },
    errors: [404, 409, 422, 503],
  },
  {
    method: 'get',
    path: '/v1/cohorts/{id}/imports',
    tag: 'Imports',
    summary: "The cohort's runs, newest first",
    auth: 'workspace',
    query: pageQuery(20, 100),
    success: ok('A page of runs.', body.runPage),
    errors: [404],
  },
  {
    method: 'get',
    path: '/v1/imports/{id}',
    tag: 'Imports',
    summary: 'Read a run',
    auth: 'workspace',
    success: ok('The run.', body.run),
    errors: [404],
  },
  {
    method: 'get',
    path: '/v1/imports/{id}/progress',
    tag: 'Imports',
    summary: 'Pages sent so far',
    auth: 'workspace',
    success: ok(
      'pages_total is 0 until the diff is cut into pages; a large first import frozen chunk by chunk has its pages sent meanwhile, and pages_total grows until the freeze is done.',
      body.runProgress,
    ),
    errors: [404],
  },
  {
    method: 'post',
    path: '/v1/imports/{id}/cancel',
    tag: 'Imports',
    summary: 'Stop a queued, running or held run',
    auth: 'workspace',
    success: ok('The run, failed with "Cancelled by request." (pages already sent stay sent).', body.run),
    errors: [404, 409, 503],
  },
  {
    method: 'post',
    path: '/v1/imports/{id}/approve',
    tag: 'Imports',
    summary: 'Send a held run as planned',
    auth: 'workspace',
    success: ok('The run, sending its recorded diff.', body.run),
    errors: [404, 409, 503],
  },

  // Schedules
  {
    method: 'get',
    path: '/v1/schedules',
    tag: 'Schedules',
    summary: "The workspace's schedules, soonest next run first (paused last)",
    auth: 'workspace',
    success: ok('The schedules.', body.scheduleList),
  },
  {
    method: 'put',
    path: '/v1/cohorts/{id}/schedule',
    tag: 'Schedules',
    summary: "Create or replace the cohort's schedule",
    auth: 'workspace',
    requestBody: scheduleInputShape,
    success: ok('The schedule, with next_run_at.', body.schedule),
    errors: [404, 503],
  },
  {
    method: 'get',
    path: '/v1/cohorts/{id}/schedule',
    tag: 'Schedules',
    summary: "Read the cohort's schedule",
    auth: 'workspace',
    success: ok('The schedule.', body.schedule),
    errors: [404],
  },
  {
    method: 'patch',
    path: '/v1/cohorts/{id}/schedule',
    tag: 'Schedules',
    summary: 'Change any field ({"enabled": false} pauses, true resumes)',
    auth: 'workspace',
    requestBody: schedulePatchShape,
    bodyOptional: true,
    success: ok('The schedule.', body.schedule),
    errors: [404, 503],
  },
  {
    method: 'delete',
    path: '/v1/cohorts/{id}/schedule',
    tag: 'Schedules',
    summary: "Remove the cohort's schedule",
    auth: 'workspace',
    success: noContent('Removed.'),
    errors: [404, 503],
  },
  {
    method: 'post',
    path: '/v1/cohorts/{id}/schedule/run',
    tag: 'Schedules',
    summary: "Run the schedule now (trigger manual, to the schedule's recipients)",
    auth: 'workspace',
    success: { 202: { description: 'The queued run.', body: body.run } },
    errors: [404, 409, 503],
  },
  {
    method: 'get',
    path: '/v1/cohorts/{id}/schedule/history',
    tag: 'Schedules',
    summary: "The schedule's runs (scheduled, manual, skipped), newest first",
    auth: 'workspace',
    query: pageQuery(20, 100),
    success: ok('A page of runs with members_imported.', body.scheduleRunPage),
    errors: [404],
  },
];
