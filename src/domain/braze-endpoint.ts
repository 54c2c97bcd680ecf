/**
 * The customer's Braze REST endpoint. It receives our partner API key and their data
 * import key, so only Braze's documented cohort-import hosts are accepted (over https, as
 * a bare origin), plus the exact origins an operator allowlists (the local sandbox, e.g.
 * `http://127.0.0.1:4010`, or `EU=http://127.0.0.1:4011` for a stand-in of an EU cluster).
 * Allowlist entries are compared as parsed origins, never as string prefixes, so
 * `http://127.0.0.1:40100` does not pass for `http://127.0.0.1:4010`.
 */
export type BrazeRegion = 'US' | 'EU' | 'AU';

export type BrazeEndpointResult = { ok: true; endpoint: string; region: BrazeRegion } | { ok: false; message: string };

/**
 * The hosts Braze documents cohort import for: US-01..08, EU-01/02 and AU-01. (US-10 is in
 * Braze's general host list, but not among the cohort-import clusters.)
 */
const BRAZE_HOSTS: readonly string[] = [
  ...['01', '02', '03', '04', '05', '06', '07', '08'].map((n) => `rest.iad-${n}.braze.com`),
  'rest.fra-01.braze.eu',
  'rest.fra-02.braze.eu',
  'rest.au-01.braze.com',
];

function regionOf(hostname: string): BrazeRegion {
  if (hostname.endsWith('.braze.eu')) return 'EU';
  if (hostname === 'rest.au-01.braze.com') return 'AU';
  return 'US';
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname);
}

export interface AllowlistEntry {
  origin: string;
  /** Which partner API key the origin is sent: `US` unless the entry names a region. */
  region: BrazeRegion;
}

/**
 * What an allowlist entry stands for — `http://127.0.0.1:4010` (a US stand-in) or
 * `EU=http://127.0.0.1:4011` — or null when it is not a bare http(s) origin with an optional
 * region (such an entry can never match; config validation rejects it at start-up).
 */
export function allowlistEntry(entry: string): AllowlistEntry | null {
  const tagged = /^\s*(US|EU|AU)\s*=(.*)$/i.exec(entry);
  const region = (tagged?.[1]?.toUpperCase() ?? 'US') as BrazeRegion;
  let url: URL;
  try {
    url = new URL((tagged?.[2] ?? entry).trim());
  } catch {
    return null;
  }
  const bare =
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '';
  return bare ? { origin: url.origin, region } : null;
}

function accepted(allowlist: readonly string[]): string {
  const braze =
    'https://rest.iad-01.braze.com through https://rest.iad-08.braze.com, ' +
    'https://rest.fra-01.braze.eu, https://rest.fra-02.braze.eu or https://rest.au-01.braze.com';
  const origins = allowlist.flatMap((entry) => allowlistEntry(entry)?.origin ?? []);
  const extra = origins.length > 0 ? `, or an allowlisted origin (${origins.join(', ')})` : '';
  return `use the REST endpoint shown on Braze's Technology Partners page: ${braze}${extra}, with no path, query or credentials`;
}

export function validateBrazeEndpoint(input: string, allowlist: string[]): BrazeEndpointResult {
  const fail = (reason: string): BrazeEndpointResult => ({ ok: false, message: `${reason}; ${accepted(allowlist)}` });
  const raw = input.trim();
  if (raw === '') return fail('the Braze REST endpoint is empty');
  if (/[\s\u0000-\u001f\u007f]/.test(raw))
    return fail('the Braze REST endpoint contains whitespace or control characters');

  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail(`${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return fail(`the Braze REST endpoint must use https, not ${url.protocol.replace(/:$/, '')}`);
  }
  // The parser drops an empty userinfo (`https://@host`), an empty query and an empty
  // fragment, so the raw text is checked as well.
  if (url.username !== '' || url.password !== '' || raw.includes('@')) {
    return fail('the Braze REST endpoint must not contain credentials');
  }
  if (url.search !== '' || raw.includes('?')) return fail('the Braze REST endpoint must not have a query string');
  if (url.hash !== '' || raw.includes('#')) return fail('the Braze REST endpoint must not have a fragment');
  if (url.pathname !== '/') return fail(`the Braze REST endpoint must not have a path (got ${url.pathname})`);

  const allowlisted = allowlist.map(allowlistEntry).find((entry) => entry?.origin === url.origin);
  if (allowlisted) return { ok: true, endpoint: url.origin, region: allowlisted.region };
  if (url.protocol !== 'https:') return fail('the Braze REST endpoint must use https');
  if (url.port !== '') return fail(`the Braze REST endpoint must not name a port (got ${url.port})`);
  if (isIpLiteral(url.hostname))
    return fail(`IP addresses are not accepted as a Braze REST endpoint (got ${url.hostname})`);
  if (!BRAZE_HOSTS.includes(url.hostname)) {
    return fail(`${url.hostname} is not a Braze REST endpoint that supports cohort import`);
  }
  return { ok: true, endpoint: url.origin, region: regionOf(url.hostname) };
}

export type PartnerApiKeys = Record<BrazeRegion, string>;

/**
 * The partner API key a region's clusters take, and the variable it is configured by. Braze
 * issues one key for its US clusters and one for EU; for AU it documents none, so AU uses
 * its own key when one is configured and the US key otherwise (as Segment's client does).
 * Null when no key applies.
 */
export function partnerApiKeyFor(region: BrazeRegion, keys: PartnerApiKeys): { key: string; variable: string } | null {
  const order: BrazeRegion[] = region === 'AU' ? ['AU', 'US'] : [region];
  const found = order.find((candidate) => keys[candidate] !== '');
  return found ? { key: keys[found], variable: `BRAZE_PARTNER_API_KEY_${found}` } : null;
}

export interface RestEndpointChoice {
  url: string;
  region: BrazeRegion;
  /** true for an operator's allowlisted origin (such as the local sandbox), false for Braze's own hosts */
  allowlisted: boolean;
}

/** Every REST endpoint a connection may use: Braze's documented hosts, then the allowlisted origins. */
export function restEndpointChoices(allowlist: readonly string[]): RestEndpointChoice[] {
  const braze = BRAZE_HOSTS.map((host) => ({ url: `https://${host}`, region: regionOf(host), allowlisted: false }));
  const extra = allowlist
    .map(allowlistEntry)
    .filter((entry): entry is AllowlistEntry => entry !== null)
    .map((entry) => ({ url: entry.origin, region: entry.region, allowlisted: true }));
  return [...braze, ...extra];
}
