import { evaluateCriteria, type Criteria } from '../../src/domain/criteria';
import { brazeIdentifierOf, type BrazeIdentifier } from '../../src/domain/identity';
import { demoUser } from '../../src/seed/demo-users';
import { createConnectedWorkspace, type Harness, seedDemo, waitForRun } from './harness';

/** One string per Braze identifier, comparable across what we compute and what the sandbox holds. */
export function identifierKey(id: BrazeIdentifier): string {
  return id.type === 'alias' ? `alias:${id.value}|${id.label}` : `${id.type}:${id.value}`;
}

export interface SandboxMember {
  external_id: string | null;
  aliases: { alias_name: string; alias_label: string }[];
  device_ids: string[];
}

/** The identifier Braze would have matched a sandbox member by (what the importer sends for it). */
export function memberKey(m: SandboxMember): string {
  if (m.external_id) return `external_id:${m.external_id}`;
  const alias = m.aliases[0];
  if (alias) return `alias:${alias.alias_name}|${alias.alias_label}`;
  return `device_id:${m.device_ids[0]}`;
}

/**
 * Computed independently of the importer's SQL: evaluate the criteria over the generated demo
 * users in TypeScript and apply the contract's mapping and Braze's matching rules.
 */
export function expectedFromDemo(
  criteria: Criteria,
  opts: { users: number; seed: number; now: number; override?: (i: number, u: ReturnType<typeof demoUser>) => void },
) {
  const inBraze = new Set<string>();
  let members = 0;
  let unmatchable = 0;
  let sendable = 0;
  for (let i = 0; i < opts.users; i++) {
    const u = demoUser(opts.seed, i, opts.now);
    opts.override?.(i, u);
    if (!evaluateCriteria(criteria, u as never, { now: opts.now })) continue;
    members++;
    const id = brazeIdentifierOf(u);
    if (!id) {
      unmatchable++;
      continue;
    }
    sendable++;
    if (u.known_to_braze) inBraze.add(identifierKey(id));
  }
  return { members, unmatchable, sendable, inBraze };
}

export async function sandboxMembers(
  h: Harness,
  brazeWorkspaceId: string,
  brazeCohortId: string,
): Promise<Set<string>> {
  const keys = new Set<string>();
  for (let offset = 0; ; offset += 5000) {
    const page = await h.sandbox(
      'GET',
      `/sandbox/workspaces/${brazeWorkspaceId}/cohorts/${brazeCohortId}/members?limit=5000&offset=${offset}`,
    );
    for (const m of page.members as SandboxMember[]) keys.add(memberKey(m));
    if (page.members.length < 5000) return keys;
  }
}

export async function sandboxRequests(h: Harness) {
  return h.sandbox('GET', '/sandbox/requests') as Promise<{
    count: number;
    max_identifiers: number;
    max_in_flight_per_cohort: number;
    requests: {
      seq: number;
      /** When the sandbox answered it (ISO 8601, its clock). */
      at: string;
      /** When it arrived, as the sandbox's rate limit counts it. */
      arrived_at: string;
      path: string;
      status: number;
      cohort_id: string;
      additions: number;
      removals: number;
      identifiers: number;
    }[];
  }>;
}

/**
 * Imports every seeded demo user (age ≥ 0) of a new connected workspace and returns the run,
 * what was expected, the statuses of the sandbox calls it made and the members Braze now has.
 */
export async function importEveryone(h: Harness, name: string, opts: { users: number; seed: number }) {
  const criteria = { all: [{ property: 'age', op: 'gte', value: 0 }] } as Criteria;
  const ws = await createConnectedWorkspace(h, name);
  const now = await seedDemo(h, ws, opts);
  const cohort = await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name, criteria } });
  const before = (await sandboxRequests(h)).count;
  const started = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, { token: ws.token, body: {} });
  const run = await waitForRun(h, ws.token, started.body.id);
  const log = await sandboxRequests(h);
  return {
    run,
    expected: expectedFromDemo(criteria, { ...opts, now }),
    statuses: log.requests.filter((r) => r.seq > before).map((r) => r.status),
    members: await sandboxMembers(h, ws.brazeWorkspaceId, cohort.body.braze_cohort_id),
  };
}
