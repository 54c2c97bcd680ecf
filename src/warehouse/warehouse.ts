import type { Criteria } from '../domain/criteria';

/**
 * The analytics warehouse: where users and events live, where cohorts are evaluated, and
 * where the importer keeps its set bookkeeping. SQLite by default; the interface is async
 * so a networked engine (PostgreSQL) can stand behind it.
 *
 * Member lists never leave the warehouse in bulk: runs are frozen and diffed with set SQL,
 * and a page is read as at most PAGE_SIZE rows.
 */

export interface UserInput {
  user_key: string;
  external_id?: string | null;
  alias?: { name: string; label: string } | null;
  device_id?: string | null;
  properties?: Record<string, unknown>;
}

export interface EventInput {
  user_key: string;
  name: string;
  time: number;
  properties?: Record<string, unknown>;
}

/** Identifiers of one kind, as JSON array text built by SQL (`[]` when there are none). */
export interface IdentifierLists {
  userIds: string;
  deviceIds: string;
  /** `[{"alias_name": …, "alias_label": …}, …]` */
  aliases: string;
}

/** What Braze acknowledged of a range of a run's diff (see Warehouse.acknowledgedPages). */
export interface AcknowledgedPages {
  pages: number;
  added: number;
  removed: number;
}

/** One page of a run's diff, grouped the way Braze takes it: entries and exits. */
export interface PageChanges {
  added: number;
  removed: number;
  add: IdentifierLists;
  remove: IdentifierLists;
}

/** A page as both engines' SQL returns it: counts, and each list as JSON text. */
export interface PageRow {
  added: number;
  removed: number;
  addUserIds: string;
  addDeviceIds: string;
  addAliases: string;
  removeUserIds: string;
  removeDeviceIds: string;
  removeAliases: string;
}

export function pageChangesOf(r: PageRow): PageChanges {
  return {
    added: r.added,
    removed: r.removed,
    add: { userIds: r.addUserIds, deviceIds: r.addDeviceIds, aliases: r.addAliases },
    remove: { userIds: r.removeUserIds, deviceIds: r.removeDeviceIds, aliases: r.removeAliases },
  };
}

export interface PreviewMember {
  user_key: string;
  external_id: string | null;
  alias_name: string | null;
  alias_label: string | null;
  device_id: string | null;
}

export interface FrozenRun {
  cohortSize: number;
  unmatchable: number;
}

export interface RunChanges {
  additions: number;
  removals: number;
  /** Identifiers Braze held for the cohort before the run (the synced set's size): the guardrail's base. */
  syncedBefore: number;
}

/** The Braze cohort and endpoint a diff is taken against. */
export interface SyncTarget {
  cohortId: string;
  syncScope: string;
}

/** A first import frozen straight into its diff: both steps' figures. */
export type FrozenDiff = FrozenRun & RunChanges;

/** Where a first import frozen chunk by chunk stands, after the chunk just committed. */
export interface FirstImportProgress {
  /** Members with an identifier frozen so far: the diff's entries. */
  additions: number;
  /** Members without one, counted so far. */
  unmatchable: number;
  /**
   * The run's pages cover its seqs 1..extent. At least `additions`: another run's diff written
   * between two chunks sits inside the range, and the pages that hold it carry fewer entries.
   */
  extent: number;
  /** Every chunk is frozen: the diff is complete. */
  done: boolean;
}

export interface Warehouse {
  upsertUsers(workspaceId: string, users: UserInput[]): Promise<{ upserted: number }>;
  appendEvents(workspaceId: string, events: EventInput[]): Promise<{ appended: number; usersCreated: number }>;
  preview(
    workspaceId: string,
    criteria: Criteria,
    opts: { now: number; limit: number },
  ): Promise<{ count: number; unmatchable: number; sample: PreviewMember[] }>;
  /** Copies the cohort's current members into cohort_run_members (replacing any earlier attempt). */
  freezeRunMembers(runId: string, workspaceId: string, criteria: Criteria, now: number): Promise<FrozenRun>;
  /**
   * A first import's freeze and diff in one pass, when Braze holds nothing for the cohort under
   * this sync scope: the diff is then every member with an identifier, so the members are written
   * once, straight into the diff, rather than frozen and then copied (null, and nothing written,
   * when something is synced: the caller freezes and diffs). Optional: an engine without it
   * always takes the two steps.
   */
  freezeFirstImport?(
    runId: string,
    workspaceId: string,
    criteria: Criteria,
    now: number,
    sync: SyncTarget,
  ): Promise<FrozenDiff | null>;
  /**
   * A first import frozen in committed chunks, so its first pages are sent while the rest is
   * frozen (optional, like freezeFirstImport). `beginFirstImport` answers null, writing nothing,
   * unless Braze holds nothing for the cohort under the scope and the workspace has at least
   * `minUsers` user ids; otherwise it drops any earlier attempt and fixes the users to freeze.
   * Each `freezeFirstImportChunk` then freezes the next chunk of them in a transaction of its own
   * and says where the run stands: a retry resumes after the last chunk committed.
   */
  beginFirstImport?(
    runId: string,
    workspaceId: string,
    sync: SyncTarget,
    opts: { minUsers: number },
  ): Promise<{ userIds: number } | null>;
  freezeFirstImportChunk?(
    runId: string,
    workspaceId: string,
    criteria: Criteria,
    now: number,
  ): Promise<FirstImportProgress>;
  /** Writes the run's diff against what Braze was told, numbered 1..n (replacing any earlier attempt). */
  computeChanges(runId: string, cohortId: string, syncScope: string, fullResync: boolean): Promise<RunChanges>;
  /** A page of the diff (seqs fromSeq..toSeq of the run, 1-based), grouped by SQL. */
  readPage(runId: string, fromSeq: number, toSeq: number): Promise<PageChanges>;
  /**
   * Records an acknowledged page as what Braze now knows, in one transaction. PostgreSQL applies
   * it to the synced set at once; SQLite keeps the page's range and folds it into the set in bulk
   * before the set is next read (a diff, a first import's check) and when the run is discarded.
   */
  applyChanges(runId: string, cohortId: string, syncScope: string, fromSeq: number, toSeq: number): Promise<void>;
  /**
   * applyChanges may be called again before an earlier call settled: calls commit in the order
   * they were made, and a call that fails fails every later one still waiting. A span then sends
   * its next pages while the records of the pages before wait (SQLite's write lock). Without it,
   * a span waits for each record before it records the next.
   */
  readonly recordsInCallOrder?: boolean;
  /**
   * The pages of the run's seqs fromSeq..toSeq that applyChanges recorded, and the changes they
   * carried: what a span resumes after and counts as sent. Optional: an engine that keeps no
   * record per page (PostgreSQL applies a page to the synced set at once) leaves that to the
   * span job's progress, written after every page.
   */
  acknowledgedPages?(runId: string, fromSeq: number, toSeq: number): Promise<AcknowledgedPages>;
  /** Drops a finished run's frozen members and diff. */
  discardRun(runId: string): Promise<void>;
  /** Forgets what Braze was told for a cohort (the cohort is gone). */
  forgetCohort(cohortId: string): Promise<void>;
  /** Makes ready ahead of need what a run's start uses (SQLite: its bulk threads). Workers call it once started. */
  warmUp?(): void;
  ping(): Promise<void>;
  close(): Promise<void>;
}
