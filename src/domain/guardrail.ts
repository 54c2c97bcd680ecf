import { z } from 'zod';

/**
 * The removal guardrail: a run that would remove more than both thresholds of what Braze holds
 * for the cohort is held for approval, so a bad upstream change cannot empty a live campaign.
 * Pure: the run and the plan ask the same question.
 */
export interface Guardrail {
  maxRemovalPercent: number;
  minRemovals: number;
}

export const DEFAULT_GUARDRAIL: Guardrail = { maxRemovalPercent: 50, minRemovals: 1000 };

export interface PlannedRemovals {
  removals: number;
  /** Identifiers Braze holds for the cohort before the run (the synced set's size). */
  syncedBefore: number;
}

/** Why the run is held, for the history and the email; null when it may go on. */
export function guardrailHold(plan: PlannedRemovals, g: Guardrail): string | null {
  const { removals, syncedBefore } = plan;
  // Both must be exceeded: many removals from a small cohort, or a large share of few, pass.
  const overCount = removals > g.minRemovals;
  const overShare = removals * 100 > g.maxRemovalPercent * syncedBefore;
  if (!overCount || !overShare) return null;
  const share = syncedBefore === 0 ? 100 : Math.round((removals * 1000) / syncedBefore) / 10;
  return (
    `Held by the removal guardrail: the run would remove ${removals} of the ${syncedBefore} members Braze holds ` +
    `for this cohort (${share}%), more than ${g.maxRemovalPercent}% and more than ${g.minRemovals}. ` +
    `Approve it (POST /v1/imports/:id/approve) to send it as planned, or cancel it.`
  );
}

/** The API's `guardrail` object: each threshold optional (an omitted one keeps its value). */
export const guardrailInput = z
  .object({
    max_removal_percent: z.number().int('must be a whole number').min(0).max(100).optional(),
    min_removals: z.number().int('must be a whole number').min(0).max(1_000_000_000).optional(),
  })
  .strict();

/** The API's `guardrail` object over the current thresholds (defaults for a new cohort); issues name the field. */
export function parseGuardrail(
  input: unknown,
  current: Guardrail = DEFAULT_GUARDRAIL,
): { ok: true; guardrail: Guardrail } | { ok: false; issues: { path: string; message: string }[] } {
  const parsed = guardrailInput.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => {
        const keys = i.code === 'unrecognized_keys' ? i.keys : [];
        const path = ['guardrail', ...i.path.map(String), ...keys.slice(0, 1)].join('.');
        return {
          path,
          message: keys.length > 0 ? 'is not a field of a guardrail (max_removal_percent, min_removals)' : i.message,
        };
      }),
    };
  }
  return {
    ok: true,
    guardrail: {
      maxRemovalPercent: parsed.data.max_removal_percent ?? current.maxRemovalPercent,
      minRemovals: parsed.data.min_removals ?? current.minRemovals,
    },
  };
}
