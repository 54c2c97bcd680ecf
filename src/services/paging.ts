import { ValidationError } from './errors';

/** Opaque keyset cursors for newest-first lists ordered by (created_at, id). */
export interface Cursor {
  createdAt: number;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}

export function decodeCursor(s: string | undefined): Cursor | null {
  if (s === undefined || s === '') return null;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'number' && typeof id === 'string') return { createdAt, id };
  } catch {
    // fall through to the error below
  }
  throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this API returned' }]);
}

export function parseLimit(raw: unknown, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ValidationError([{ path: 'limit', message: `must be a whole number from 1 to ${max}` }]);
  }
  return n;
}
