import { describe, expect, it } from 'vitest';
import {
  allowlistEntry,
  partnerApiKeyFor,
  validateBrazeEndpoint,
  type BrazeRegion,
} from '../../src/domain/braze-endpoint';

const ALLOWLIST = [
  'http://127.0.0.1:4010',
  'http://localhost:4010/',
  'eu=http://127.0.0.1:4011',
  'AU=http://127.0.0.1:4012',
];

describe('validateBrazeEndpoint accepts', () => {
  const accepted: [string, string, BrazeRegion][] = [
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((n): [string, string, BrazeRegion] => [
      `https://rest.iad-0${n}.braze.com`,
      `https://rest.iad-0${n}.braze.com`,
      'US',
    ]),
    ['https://rest.fra-01.braze.eu', 'https://rest.fra-01.braze.eu', 'EU'],
    ['https://rest.fra-02.braze.eu/', 'https://rest.fra-02.braze.eu', 'EU'],
    ['https://rest.au-01.braze.com', 'https://rest.au-01.braze.com', 'AU'],
    ['  https://rest.iad-01.braze.com/\n', 'https://rest.iad-01.braze.com', 'US'],
    ['HTTPS://REST.IAD-03.BRAZE.COM', 'https://rest.iad-03.braze.com', 'US'],
    ['https://rest.iad-01.braze.com:443', 'https://rest.iad-01.braze.com', 'US'],
    ['http://127.0.0.1:4010', 'http://127.0.0.1:4010', 'US'],
    ['http://127.0.0.1:4010/', 'http://127.0.0.1:4010', 'US'],
    ['http://localhost:4010', 'http://localhost:4010', 'US'],
    ['http://127.0.0.1:4011', 'http://127.0.0.1:4011', 'EU'],
    ['http://127.0.0.1:4012/', 'http://127.0.0.1:4012', 'AU'],
  ];
  it.each(accepted)('%s', (input, endpoint, region) => {
    expect(validateBrazeEndpoint(input, ALLOWLIST)).toEqual({ ok: true, endpoint, region });
  });
});

describe('validateBrazeEndpoint rejects', () => {
  const rejected: [string, RegExp][] = [
    ['', /is empty/],
    ['rest.iad-01.braze.com', /is not a URL/],
    ['http://rest.iad-01.braze.com', /must use https/],
    ['ftp://rest.iad-01.braze.com', /must use https, not ftp/],
    ['https://rest.iad-09.braze.com', /rest\.iad-09\.braze\.com is not a Braze REST endpoint/],
    // In Braze's general host list, but not a documented cohort-import cluster.
    ['https://rest.iad-10.braze.com', /rest\.iad-10\.braze\.com is not a Braze REST endpoint/],
    ['https://rest.iad-00.braze.com', /not a Braze REST endpoint/],
    ['https://rest.fra-01.braze.com', /not a Braze REST endpoint/],
    ['https://rest.fra-03.braze.eu', /not a Braze REST endpoint/],
    ['https://rest.au-01.braze.eu', /not a Braze REST endpoint/],
    ['https://rest.iad-01.braze.com.evil.example', /not a Braze REST endpoint/],
    ['https://evil.example/rest.iad-01.braze.com', /must not have a path/],
    ['https://rest.iad-01.braze.com.', /not a Braze REST endpoint/],
    ['https://sdk.iad-01.braze.com', /not a Braze REST endpoint/],
    ['https://rest.iad-01.braze.com/users/track', /must not have a path \(got \/users\/track\)/],
    ['https://rest.iad-01.braze.com?x=1', /query string/],
    ['https://rest.iad-01.braze.com/?', /query string/],
    ['https://rest.iad-01.braze.com#frag', /fragment/],
    ['https://rest.iad-01.braze.com#', /fragment/],
    ['https://user:pass@rest.iad-01.braze.com', /credentials/],
    ['https://@rest.iad-01.braze.com', /credentials/],
    ['https://rest.iad-01.braze.com@evil.example', /credentials/],
    ['https://rest.iad-01.braze.com:8443', /port/],
    ['https://rest.iad-0\t1.braze.com', /whitespace or control characters/],
    ['https://127.0.0.1', /IP addresses are not accepted/],
    ['https://[::1]', /IP addresses are not accepted/],
    ['http://127.0.0.1:40100', /must use https/],
    ['https://127.0.0.1:4010', /port/],
    ['http://127.0.0.1:401', /must use https/],
    ['http://127.0.0.1:4010/api', /must not have a path/],
    ['http://127.0.0.1:4010?x', /query string/],
    ['http://evil@127.0.0.1:4010', /credentials/],
    ['javascript:alert(1)', /must use https, not javascript/],
  ];
  it.each(rejected)('%s', (input, reason) => {
    const result = validateBrazeEndpoint(input, ALLOWLIST);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toMatch(reason);
      expect(result.message).toMatch(/https:\/\/rest\.iad-01\.braze\.com through https:\/\/rest\.iad-08\.braze\.com/);
      expect(result.message).toMatch(/https:\/\/rest\.fra-01\.braze\.eu/);
      expect(result.message).toMatch(/https:\/\/rest\.au-01\.braze\.com/);
      expect(result.message.split('; ').at(-1)).not.toMatch(/iad-10/);
      expect(result.message).toMatch(
        /allowlisted origin \(http:\/\/127\.0\.0\.1:4010, http:\/\/localhost:4010, http:\/\/127\.0\.0\.1:4011, http:\/\/127\.0\.0\.1:4012\)/,
      );
    }
  });

  it('does not mention an allowlist when there is none', () => {
    const result = validateBrazeEndpoint('http://127.0.0.1:4010', []);
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.message).not.toMatch(/allowlisted/);
  });

  it('compares allowlisted origins exactly, not as string prefixes', () => {
    expect(validateBrazeEndpoint('http://127.0.0.1:40100', ['http://127.0.0.1:4010']).ok).toBe(false);
    expect(validateBrazeEndpoint('http://127.0.0.1:4010', ['http://127.0.0.1:40100']).ok).toBe(false);
    expect(validateBrazeEndpoint('http://127.0.0.1:4010.evil.example', ['http://127.0.0.1:4010']).ok).toBe(false);
    expect(validateBrazeEndpoint('https://127.0.0.1:4010', ['http://127.0.0.1:4010']).ok).toBe(false);
  });

  it('ignores allowlist entries that are not bare http(s) origins', () => {
    expect(allowlistEntry('http://127.0.0.1:4010/')).toEqual({ origin: 'http://127.0.0.1:4010', region: 'US' });
    expect(allowlistEntry(' EU = http://127.0.0.1:4011')).toEqual({ origin: 'http://127.0.0.1:4011', region: 'EU' });
    expect(allowlistEntry('127.0.0.1:4010')).toBeNull();
    expect(allowlistEntry('http://127.0.0.1:4010/braze')).toBeNull();
    expect(allowlistEntry('http://u@127.0.0.1:4010')).toBeNull();
    expect(allowlistEntry('APAC=http://127.0.0.1:4010')).toBeNull();
    expect(validateBrazeEndpoint('http://127.0.0.1:4010', ['not a url', 'http://127.0.0.1:4010/braze']).ok).toBe(false);
  });
});

describe('partnerApiKeyFor', () => {
  const keys = { US: 'pk-us', EU: 'pk-eu', AU: '' };
  it('gives US clusters the US key and EU clusters the EU key', () => {
    expect(partnerApiKeyFor('US', keys)).toEqual({ key: 'pk-us', variable: 'BRAZE_PARTNER_API_KEY_US' });
    expect(partnerApiKeyFor('EU', keys)).toEqual({ key: 'pk-eu', variable: 'BRAZE_PARTNER_API_KEY_EU' });
  });

  it('gives AU its own key when one is set, else the US key', () => {
    expect(partnerApiKeyFor('AU', keys)).toEqual({ key: 'pk-us', variable: 'BRAZE_PARTNER_API_KEY_US' });
    expect(partnerApiKeyFor('AU', { ...keys, AU: 'pk-au' })).toEqual({
      key: 'pk-au',
      variable: 'BRAZE_PARTNER_API_KEY_AU',
    });
  });

  it('never lends the EU key to another region, nor another key to EU', () => {
    expect(partnerApiKeyFor('US', { US: '', EU: 'pk-eu', AU: 'pk-au' })).toBeNull();
    expect(partnerApiKeyFor('AU', { US: '', EU: 'pk-eu', AU: '' })).toBeNull();
    expect(partnerApiKeyFor('EU', { US: 'pk-us', EU: '', AU: 'pk-au' })).toBeNull();
  });
});
