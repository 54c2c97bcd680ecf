import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { Column } from 'drizzle-orm';
import { ValidationError } from './errors';

/** Opaque keyset cursors for newest-first lists ordered by (created_at, id). */
export interface Cursor {
  createdAt: number;
  id: string;
}

/**
 * Cursors are signed (HMAC-SHA256 under a key derived from ENCRYPTION_KEY): a client can pass
 * back only what this API handed out, so a forged or edited cursor is a 400, not a query at a
 * position of the client's choosing.
 */
export class Cursors {
  private readonly key: Buffer;

  constructor(secret: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'cohort-import list cursors', 32));
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url').slice(0, 22);
  }

  encode(c: Cursor): string {
    const body = Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  decode(s: string | undefined): Cursor | null {
    if (s === undefined || s === '') return null;
    const [body, mac, extra] = s.split('.');
    if (body && mac && extra === undefined && safeEqual(mac, this.sign(body))) {
      try {
        const [createdAt, id] = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
        if (typeof createdAt === 'number' && typeof id === 'string') return { createdAt, id };
      } catch {
        // fall through to the error below
      }
    }
    throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this API returned' }]);
  }

  /** Cuts `limit + 1` fetched rows into a page and the cursor of the next one. */
  page<T extends { createdAt: Date; id: string }, V>(
    rows: T[],
    limit: number,
    view: (row: T) => V,
  ): { data: V[]; next_cursor: string | null } {
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      data: page.map(view),
      next_cursor:
        rows.length > limit && last ? this.encode({ createdAt: last.createdAt.getTime(), id: last.id }) : null,
    };
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function parseLimit(raw: unknown, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  // Decimal digits only: Number() would also take "0x10", "1e2" and " 5 ".
  const n = typeof raw === 'string' && /^[0-9]{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ValidationError([{ path: 'limit', message: `must be a whole number from 1 to ${max}` }]);
  }
  return n;
}

/** The keyset condition "after the cursor" for newest-first lists ordered by (created_at, id). */
export function olderThan(createdAt: Column, id: Column, before: Cursor | null): SQL | undefined {
  if (!before) return undefined;
  const at = new Date(before.createdAt);
  return or(lt(createdAt, at), and(eq(createdAt, at), lt(id, before.id)));
}
