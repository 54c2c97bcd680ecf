import type Database from 'better-sqlite3';
import type { SqlParam } from '../domain/criteria';

/** A bulk call as data: what the caller's thread compiled, run wherever the connection is. */
export type BulkRequest = {
  runId: string;
  bulkMs: number;
  /** Users (by id) per statement; default 16,384. */
  chunkIds?: number;
} & (
  | { op: 'freezeRunMembers'; workspaceId: string; insertSql: string; params: SqlParam[] }
  | {
      op: 'beginFirstImport';
      workspaceId: string;
      cohortId: string;
      syncScope: string;
      /** Fewer user ids than this in the workspace: null (a one-pass freeze is as quick). */
      minUsers: number;
    }
  | {
      op: 'freezeFirstImportChunk';
      workspaceId: string;
      insertSql: string;
      countUnmatchableSql: string;
      params: SqlParam[];
    }
  | {
      op: 'freezeFirstImport';
      workspaceId: string;
      cohortId: string;
      syncScope: string;
      insertSql: string;
      countUnmatchableSql: string;
      params: SqlParam[];
    }
  | { op: 'computeChanges'; cohortId: string; syncScope: string; fullResync: boolean }
  | { op: 'discardStep' }
);

export function keyOf(
  read: Database.Statement<unknown[], unknown>,
  insert: Database.Statement<unknown[]>,
  ...args: unknown[]
): number;
export function prepareBulk(db: Database.Database): void;
export function plainTimeoutError(operation: string, limitMs: number): Error;
export function runBulk(
  db: Database.Database,
  request: BulkRequest,
  timeoutError?: (operation: string, limitMs: number) => Error,
): unknown;
