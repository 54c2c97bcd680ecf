/**
 * Request validation of the Braze partner cohort-import contract
 * (docs/braze-cohort-api.md), answering 400 the way Braze does.
 */
import { z } from 'zod';
import { SandboxHttpError } from './errors';
import { isIso8601Timestamp } from './iso-8601';

export const MAX_IDENTIFIERS_PER_REQUEST = 1_000;
export const TOO_MANY_IDENTIFIERS_MESSAGE = 'Only 1,000 user_ids, device_ids, and aliases are allowed per request';

/** How many validation problems one 400 lists at most. */
const MAX_LISTED_ERRORS = 20;

export const nonBlankString = z
  .string({ error: 'must be a non-empty string' })
  .refine((value) => value.trim().length > 0, { error: 'must be a non-empty string' });

const stringArray = z.array(z.string({ error: 'must be a string' }), {
  error: 'must be an array of strings',
});

export const aliasSchema = z.object(
  { alias_name: nonBlankString, alias_label: nonBlankString },
  { error: 'must be an object with alias_name and alias_label' },
);

const cohortChangeSchema = z
  .object(
    {
      user_ids: stringArray.optional(),
      device_ids: stringArray.optional(),
      aliases: z.array(aliasSchema, { error: 'must be an array of {alias_name, alias_label} objects' }).optional(),
      should_remove: z.boolean({ error: 'must be a boolean' }).optional(),
    },
    { error: 'must be an object with user_ids, device_ids or aliases' },
  )
  .refine(
    (change) => change.user_ids !== undefined || change.device_ids !== undefined || change.aliases !== undefined,
    { error: 'must have user_ids, device_ids or aliases' },
  );

const requestBody = { error: 'request body must be a JSON object' };

export const createCohortRequestSchema = z.object(
  {
    cohort_id: nonBlankString,
    name: nonBlankString,
    created_at: z
      .string({ error: 'must be an ISO-8601 timestamp' })
      .refine(isIso8601Timestamp, { error: 'must be an ISO-8601 timestamp' }),
  },
  requestBody,
);
export type CreateCohortRequest = z.infer<typeof createCohortRequestSchema>;

export const cohortChangesRequestSchema = z.object(
  {
    cohort_id: nonBlankString,
    // An empty array is a valid no-op: partners test a connection with it.
    cohort_changes: z.array(cohortChangeSchema, { error: 'must be an array of objects' }),
  },
  requestBody,
);
export type CohortChangesRequest = z.infer<typeof cohortChangesRequestSchema>;
export type CohortChange = CohortChangesRequest['cohort_changes'][number];

/** Parses a request body or throws the 400 listing what is wrong, e.g. "cohort_changes[2].user_ids[0] must be a string". */
export function parseRequest<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const errors = result.error.issues.slice(0, MAX_LISTED_ERRORS).map(describeIssue);
  throw new SandboxHttpError(400, errors[0] ?? 'Invalid request', errors);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return issue.path.length === 0 ? issue.message : `${formatPath(issue.path)} ${issue.message}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

export interface PartnerCredentials {
  partnerApiKey: string | undefined;
  clientSecret: string | undefined;
}

/** Both secrets travel in the JSON body; a body that is not an object is a 400 before any auth. */
export function readCredentials(body: unknown): PartnerCredentials {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SandboxHttpError(400, requestBody.error, ['send a JSON object with Content-Type: application/json']);
  }
  const { partner_api_key: partnerApiKey, client_secret: clientSecret } = body as Record<string, unknown>;
  return {
    partnerApiKey: typeof partnerApiKey === 'string' ? partnerApiKey : undefined,
    clientSecret: typeof clientSecret === 'string' ? clientSecret : undefined,
  };
}

export interface IdentifierCounts {
  /** Identifiers in change objects without `should_remove: true`. */
  additions: number;
  /** Identifiers in change objects with `should_remove: true`. */
  removals: number;
  identifiers: number;
}

/**
 * Counts user_ids + device_ids + aliases across all change objects. Lenient on purpose: it also
 * runs on bodies that fail validation, so the request log shows what an invalid call carried.
 */
export function countIdentifiers(body: unknown): IdentifierCounts {
  const counts: IdentifierCounts = { additions: 0, removals: 0, identifiers: 0 };
  const changes = (body as { cohort_changes?: unknown } | null)?.cohort_changes;
  if (!Array.isArray(changes)) return counts;
  for (const change of changes) {
    if (typeof change !== 'object' || change === null) continue;
    const { user_ids, device_ids, aliases, should_remove } = change as Record<string, unknown>;
    const size = lengthOf(user_ids) + lengthOf(device_ids) + lengthOf(aliases);
    if (should_remove === true) counts.removals += size;
    else counts.additions += size;
    counts.identifiers += size;
  }
  return counts;
}

function lengthOf(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

export function assertWithinIdentifierCap(counts: IdentifierCounts): void {
  if (counts.identifiers > MAX_IDENTIFIERS_PER_REQUEST) {
    throw new SandboxHttpError(400, TOO_MANY_IDENTIFIERS_MESSAGE, [
      `the request carries ${counts.identifiers.toLocaleString('en-US')} identifiers across cohort_changes`,
    ]);
  }
}
