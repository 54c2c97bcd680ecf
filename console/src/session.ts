/**
 * The API token lives in sessionStorage only: gone when the tab closes or on "Sign out",
 * never in localStorage, a cookie or a URL.
 */
const KEY = 'cohort-control.token';

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
