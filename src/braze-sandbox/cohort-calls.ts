/**
 * Partner calls in flight per cohort (workspace + cohort_id): what the per-cohort lock
 * refuses, and the figure that shows how many pages of one cohort a client sends at once.
 */
import { SandboxHttpError } from './errors';

export class CohortCalls {
  private readonly inFlight = new Map<string, number>();
  private max = 0;
  private total = 0;

  /** Partner calls in flight now, all cohorts together. */
  get current(): number {
    return this.total;
  }

  /** The most calls of one cohort that were in flight at once since the last reset. */
  get maxInFlight(): number {
    return this.max;
  }

  /**
   * Marks a call for the cohort as in flight and returns its release. With `lock`, a call
   * for a cohort that already has one in flight is refused with 423 instead.
   */
  enter(workspaceKey: number, cohortId: string, lock: boolean): () => void {
    const key = `${workspaceKey}\u0000${cohortId}`;
    const current = this.inFlight.get(key) ?? 0;
    if (lock && current > 0) {
      throw new SandboxHttpError(423, 'Resource locked', [
        `another request for cohort ${cohortId} is still being processed`,
      ]);
    }
    this.inFlight.set(key, current + 1);
    this.max = Math.max(this.max, current + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    };
  }

  /** Forgets the high-water mark (calls in flight stay counted until they end). */
  reset(): void {
    this.max = 0;
  }
}
