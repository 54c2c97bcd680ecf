import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARDRAIL, guardrailHold } from '../../src/domain/guardrail';

describe('guardrailHold', () => {
  it('holds only when the removals exceed both the share and the count', () => {
    expect(guardrailHold({ removals: 1001, syncedBefore: 2000 }, DEFAULT_GUARDRAIL)).toMatch(
      /1001 of the 2000.*50\.1%/,
    );
    // Exactly at a threshold is not over it.
    expect(guardrailHold({ removals: 1000, syncedBefore: 1500 }, DEFAULT_GUARDRAIL)).toBeNull();
    expect(guardrailHold({ removals: 1500, syncedBefore: 3000 }, DEFAULT_GUARDRAIL)).toBeNull();
    // Many removals from a large cohort, or a large share of a small one, go on.
    expect(guardrailHold({ removals: 5000, syncedBefore: 100_000 }, DEFAULT_GUARDRAIL)).toBeNull();
    expect(guardrailHold({ removals: 900, syncedBefore: 900 }, DEFAULT_GUARDRAIL)).toBeNull();
  });

  it('follows the cohort’s own thresholds', () => {
    const strict = { maxRemovalPercent: 10, minRemovals: 5 };
    expect(guardrailHold({ removals: 6, syncedBefore: 50 }, strict)).toMatch(/more than 10% and more than 5/);
    expect(guardrailHold({ removals: 6, syncedBefore: 60 }, strict)).toBeNull();
    expect(guardrailHold({ removals: 0, syncedBefore: 0 }, { maxRemovalPercent: 0, minRemovals: 0 })).toBeNull();
  });
});
