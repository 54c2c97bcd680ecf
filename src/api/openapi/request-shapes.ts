import { z } from 'zod';
import { criteriaShape } from '../../domain/criteria';
import { guardrailInput } from '../../domain/guardrail';

/**
 * Requests that hand-written parsers check (each names the exact field in its 400), described
 * here from those parsers' own zod pieces for the OpenAPI document. Requests validated by a zod
 * schema are described by that schema itself (see operations.ts); the end-to-end tests check
 * every request body the API accepted against these descriptions.
 */

const cohortName = z.string().trim().min(1).max(200);

export const cohortInput = z.object({
  name: cohortName,
  criteria: criteriaShape,
  guardrail: guardrailInput.optional(),
});

export const cohortPatch = z.strictObject({
  name: cohortName.optional(),
  criteria: criteriaShape.optional(),
  guardrail: guardrailInput.optional(),
});

export const previewInput = z.object({
  criteria: criteriaShape,
  limit: z
    .union([z.int().min(1).max(100), z.string().regex(/^[0-9]{1,6}$/)])
    .optional()
    .meta({ description: 'How many members to sample, 1 to 100 (default 20).' }),
});

/** `limit` and `cursor` of a newest-first list (services/paging.ts reads them). */
export function pageQuery(defaultLimit: number, maxLimit: number) {
  return z.object({
    limit: z.int().min(1).max(maxLimit).default(defaultLimit).optional(),
    cursor: z.string().optional().meta({ description: "The previous page's next_cursor." }),
  });
}

export const previewQuery = z.object({
  limit: z.int().min(1).max(100).default(20).optional().meta({ description: 'How many members to sample.' }),
});
