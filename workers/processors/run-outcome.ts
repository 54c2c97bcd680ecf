import type { AppContext } from '../../src/context';
import type { RunRow } from '../../src/services/runs';

/** Ends a run as failed with a message for the customer, and drops its working sets. */
export function failRun(ctx: AppContext, runId: string, error: string): Promise<RunRow | undefined> {
  return ctx.runCloser.closeFailed(runId, error);
}
