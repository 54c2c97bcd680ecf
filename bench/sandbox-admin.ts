/** What the bench asks the Braze sandbox's admin routes (/sandbox/…). */
import type { PartnerCallEntry } from '../src/braze-sandbox/request-log';
import { json } from './bench-http';

/** One partner call in the sandbox's log (the sandbox's own type: the bench reads what it writes). */
export type PartnerCall = PartnerCallEntry;

export function setSandboxConfig(sandboxUrl: string, config: object): Promise<unknown> {
  return json('PUT', `${sandboxUrl}/sandbox/config`, config);
}

/** Partner calls since the sandbox started (count) and the latest ones, oldest first (the log keeps 100,000). */
export async function partnerCalls(
  sandboxUrl: string,
  limit?: number,
): Promise<{ count: number; inFlight: number; maxInFlight: number; requests: PartnerCall[] }> {
  const r = await json('GET', `${sandboxUrl}/sandbox/requests${limit === undefined ? '' : `?limit=${limit}`}`);
  return { count: r.count, inFlight: r.in_flight, maxInFlight: r.max_in_flight_per_cohort, requests: r.requests };
}

/** The members the sandbox holds for each cohort of a Braze workspace (cohorts the bare loop made left out). */
export async function sandboxCohortSizes(sandboxUrl: string, brazeWorkspaceId: string): Promise<number[]> {
  const { cohorts } = await json('GET', `${sandboxUrl}/sandbox/workspaces/${brazeWorkspaceId}/cohorts`);
  return (cohorts as { cohort_id: string; size: number }[])
    .filter((c) => !c.cohort_id.startsWith('baseline-'))
    .map((c) => c.size);
}

/** The calls of one Braze workspace since `sinceSeq`: how many, 429s, identifiers sent in accepted ones. */
export function callsOf(calls: PartnerCall[], brazeWorkspaceId: string, sinceSeq = 0) {
  const mine = calls.filter((c) => c.workspace_id === brazeWorkspaceId && c.seq > sinceSeq);
  return {
    calls: mine,
    requests: mine.length,
    rateLimited: mine.filter((c) => c.status === 429).length,
    identifiersAccepted: mine.filter((c) => c.status < 300).reduce((n, c) => n + c.identifiers, 0),
  };
}
