import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes (#/cohorts/…): the server serves one page, and a route holds ids only, never
 * a token or other secret.
 */
export type Route =
  | { page: 'list' }
  | { page: 'new' }
  | { page: 'edit'; id: string }
  | { page: 'history'; id: string }
  | { page: 'connection' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'cohorts' && parts[1] === 'new') return { page: 'new' };
  if (parts[0] === 'cohorts' && parts[1] && parts[2] === 'history') return { page: 'history', id: parts[1] };
  if (parts[0] === 'cohorts' && parts[1]) return { page: 'edit', id: parts[1] };
  if (parts[0] === 'connection') return { page: 'connection' };
  return { page: 'list' };
}

export const href = {
  list: '#/',
  new: '#/cohorts/new',
  edit: (id: string) => `#/cohorts/${encodeURIComponent(id)}`,
  history: (id: string) => `#/cohorts/${encodeURIComponent(id)}/history`,
  connection: '#/connection',
};

export function navigate(to: string): void {
  location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
