import type Database from 'better-sqlite3';
import type { SqlParam } from '../domain/criteria';
import type { PreviewMember } from './warehouse';

/** A preview as SQL: compiled in the caller's thread, run wherever the connection is. */
export interface PreviewQuery {
  countSql: string;
  sampleSql: string;
  params: SqlParam[];
  limit: number;
}

export interface PreviewResult {
  count: number;
  unmatchable: number;
  sample: PreviewMember[];
}

export function allowInterruption(db: Database.Database): void;
export function runPreview(db: Database.Database, query: PreviewQuery): PreviewResult;
