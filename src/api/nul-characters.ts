import type { RequestHandler } from 'express';
import { ValidationError } from '../services/errors';

/**
 * Refuses a JSON body holding the NUL character (U+0000) in any string or key. PostgreSQL
 * cannot store it in text or jsonb, so it would fail deep in a query (a 500); SQLite would keep
 * it and Braze's JSON would carry it. Walked without recursion: a body is at most 25 MB.
 */
export const rejectNulCharacters: RequestHandler = (req, _res, next) => {
  const path = nulPath(req.body);
  if (path !== null) {
    throw new ValidationError([{ path: path || '(body)', message: 'must not contain the NUL character (\\u0000)' }]);
  }
  next();
};

function nulPath(body: unknown): string | null {
  const stack: { value: unknown; path: string }[] = [{ value: body, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return path;
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: `${path}[${i}]` }));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const at = path ? `${path}.${key}` : key;
        if (key.includes('\u0000')) return at;
        stack.push({ value: item, path: at });
      }
    }
  }
  return null;
}
