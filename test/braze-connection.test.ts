/**
 * Saving a Braze connection checks the key with Braze first (one call that changes nothing),
 * and the partner API key sent is the one of the endpoint's region: US and EU their own, AU
 * the US key when no AU key is set. Stand-ins for EU and AU clusters are sandboxes started
 * for those regions, which refuse other regions' keys as Braze does.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrazeSandbox, type BrazeSandbox } from '../src/braze-sandbox/server';
import { SecretBox } from '../src/crypto/secret-box';
import { BrazeConnectionService } from '../src/services/braze-connections';
import { PARTNER_KEY, type Harness, startHarness, waitForRun } from './support/harness';

const EU_KEY = 'pk-test-eu';

let h: Harness;
let eu: BrazeSandbox;
let au: BrazeSandbox;
let closedPort: number;
let token: string;
let workspaceId: string;

async function sandboxCall(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`sandbox ${method} ${path} → ${res.status} ${await res.text()}`);
  return res.json();
}

/** A Braze workspace with an active data import key, in the given sandbox. */
async function brazeKey(url: string) {
  const ws = await sandboxCall(url, 'POST', '/sandbox/workspaces', { name: 'Acme' });
  const key = await sandboxCall(url, 'POST', `/sandbox/workspaces/${ws.id}/data-import-keys`, {});
  return { workspaceId: ws.id as string, keyId: key.id as string, key: key.key as string };
}

function put(body: unknown, query = '') {
  return h.request('PUT', `/v1/braze-connection${query}`, { token, body });
}

function expectIssue(res: { status: number; body: any }, status: number, code: string, path: string) {
  expect(res.status).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.details.issues).toEqual([{ path, message: expect.any(String) }]);
  expect(res.body.error.message).toMatch(new RegExp(`^${path}: `));
}

beforeAll(async () => {
  const keys = { US: PARTNER_KEY, EU: EU_KEY };
  eu = await startBrazeSandbox({ region: 'EU', partnerApiKeys: keys });
  au = await startBrazeSandbox({ region: 'AU', partnerApiKeys: keys });
  // A port nothing listens on: Braze unreachable.
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  h = await startHarness({
    env: { BRAZE_PARTNER_API_KEY_EU: EU_KEY },
    allowlist: [`EU=${eu.url}`, `AU=${au.url}`, `http://127.0.0.1:${closedPort}`],
  });
  const ws = await h.request('POST', '/v1/workspaces', { token: h.adminToken, body: { name: 'Acme' } });
  token = ws.body.api_token;
  workspaceId = ws.body.id;
});

afterAll(async () => {
  await h?.close();
  await eu?.close();
  await au?.close();
});

describe('PUT /v1/braze-connection checks the key', () => {
  it('saves a key Braze accepts, with one call that changes nothing, and records when it passed', async () => {
    const braze = await brazeKey(h.sandboxUrl);
    const before = (await h.sandbox('GET', '/sandbox/requests')).count;
    const res = await put({ rest_endpoint: h.sandboxUrl, data_import_key: braze.key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      rest_endpoint: h.sandboxUrl,
      region: 'US',
      data_import_key: `…${braze.key.slice(-4)}`,
    });
    expect(Date.parse(res.body.key_verified_at)).not.toBeNaN();
    const log = await h.sandbox('GET', '/sandbox/requests');
    expect(log.requests.filter((r: { seq: number }) => r.seq > before)).toEqual([
      expect.objectContaining({
        path: '/partners/kubit/cohorts/users',
        status: 201,
        identifiers: 0,
        workspace_id: braze.workspaceId,
      }),
    ]);
    expect((await h.sandbox('GET', `/sandbox/workspaces/${braze.workspaceId}/cohorts`)).cohorts).toEqual([]);
  });

  it('answers 422 naming data_import_key when Braze refuses it, and keeps the saved connection', async () => {
    const good = await brazeKey(h.sandboxUrl);
    await put({ rest_endpoint: h.sandboxUrl, data_import_key: good.key });
    const wrong = 'not-a-braze-key-9876';
    const res = await put({ rest_endpoint: h.sandboxUrl, data_import_key: wrong });
    expectIssue(res, 422, 'braze_refused_key', 'data_import_key');
    expect(res.body.error.message).toMatch(/rejected the data import key \(401\)/);
    expect(JSON.stringify(res.body)).not.toContain(wrong);
    expect(JSON.stringify(res.body)).not.toContain(PARTNER_KEY);
    const saved = await h.request('GET', '/v1/braze-connection', { token });
    expect(saved.body.data_import_key).toBe(`…${good.key.slice(-4)}`);
  });

  it('answers 422 naming data_import_key when Braze refuses the account (403)', async () => {
    const braze = await brazeKey(h.sandboxUrl);
    await h.sandbox('PUT', '/sandbox/config', { faults: { error_share: 1, error_statuses: [403] } });
    try {
      const res = await put({ rest_endpoint: h.sandboxUrl, data_import_key: braze.key });
      expectIssue(res, 422, 'braze_refused_account', 'data_import_key');
      expect(res.body.error.message).toMatch(/refused the account \(403\)/);
    } finally {
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
    }
  });

  it("answers 502 with Braze's words when Braze is unreachable or failing", async () => {
    const braze = await brazeKey(h.sandboxUrl);
    const unreachable = await put({ rest_endpoint: `http://127.0.0.1:${closedPort}`, data_import_key: braze.key });
    expect(unreachable.status).toBe(502);
    expect(unreachable.body.error).toMatchObject({ code: 'braze_unavailable' });
    expect(unreachable.body.error.message).toMatch(/could not be reached/);
    expect(unreachable.body.error.message).toMatch(/\?verify=false/);

    await h.sandbox('PUT', '/sandbox/config', { faults: { error_share: 1, error_statuses: [503] } });
    try {
      const failing = await put({ rest_endpoint: h.sandboxUrl, data_import_key: braze.key });
      expect(failing.status).toBe(502);
      expect(failing.body.error.message).toMatch(/Braze answered 503: Service Unavailable/);
      expect(JSON.stringify(failing.body)).not.toContain(braze.key);
    } finally {
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
    }
  });

  it('skips the check with ?verify=false (and refuses any other value of verify)', async () => {
    const before = (await h.sandbox('GET', '/sandbox/requests')).count;
    const unchecked = await put(
      { rest_endpoint: h.sandboxUrl, data_import_key: 'unknown-to-braze-1' },
      '?verify=false',
    );
    expect(unchecked.status).toBe(200);
    expect(unchecked.body.key_verified_at).toBeNull();
    expect((await h.sandbox('GET', '/sandbox/requests')).count).toBe(before);
    const bad = await put({ rest_endpoint: h.sandboxUrl, data_import_key: 'unknown-to-braze-1' }, '?verify=no');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^verify: /);
  });

  it('checks the endpoint and key locally before calling Braze', async () => {
    const before = (await h.sandbox('GET', '/sandbox/requests')).count;
    const res = await put({ rest_endpoint: h.sandboxUrl, data_import_key: 'a b' });
    expect(res.status).toBe(400);
    expect((await h.sandbox('GET', '/sandbox/requests')).count).toBe(before);
  });
});

describe('POST /v1/braze-connection/verify', () => {
  it('re-checks the saved key: records when it passed, and answers 422 once Braze refuses it', async () => {
    const braze = await brazeKey(h.sandboxUrl);
    const saved = await put({ rest_endpoint: h.sandboxUrl, data_import_key: braze.key }, '?verify=false');
    expect(saved.body.key_verified_at).toBeNull();

    const passed = await h.request('POST', '/v1/braze-connection/verify', { token });
    expect(passed.status).toBe(200);
    const verifiedAt = passed.body.key_verified_at;
    expect(Date.parse(verifiedAt)).not.toBeNaN();
    expect((await h.request('GET', '/v1/braze-connection', { token })).body.key_verified_at).toBe(verifiedAt);

    await h.sandbox('POST', `/sandbox/workspaces/${braze.workspaceId}/data-import-keys/${braze.keyId}/invalidate`, {});
    const refused = await h.request('POST', '/v1/braze-connection/verify', { token });
    expectIssue(refused, 422, 'braze_refused_key', 'data_import_key');
    expect(JSON.stringify(refused.body)).not.toContain(braze.key);
    // Only a pass is recorded: the last one stands.
    expect((await h.request('GET', '/v1/braze-connection', { token })).body.key_verified_at).toBe(verifiedAt);
  });

  it('answers 404 without a connection', async () => {
    const other = await h.request('POST', '/v1/workspaces', { token: h.adminToken, body: { name: 'Bare' } });
    const res = await h.request('POST', '/v1/braze-connection/verify', { token: other.body.api_token });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });
});

describe('partner API keys per region', () => {
  it('sends the EU key to an EU cluster, for the key check and for an import', async () => {
    const braze = await brazeKey(eu.url);
    const saved = await put({ rest_endpoint: eu.url, data_import_key: braze.key });
    expect(saved.status).toBe(200);
    expect(saved.body.region).toBe('EU');

    await sandboxCall(eu.url, 'POST', `/sandbox/workspaces/${braze.workspaceId}/users/batch`, {
      users: [{ external_id: 'eu-1' }, { external_id: 'eu-2' }],
    });
    await h.request('POST', '/v1/users/batch', {
      token,
      body: { users: ['eu-1', 'eu-2'].map((id) => ({ user_key: id, external_id: id, properties: { market: 'eu' } })) },
    });
    const cohort = await h.request('POST', '/v1/cohorts', {
      token,
      body: { name: 'EU market', criteria: { all: [{ property: 'market', op: 'eq', value: 'eu' }] } },
    });
    const started = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, { token, body: {} });
    const run = await waitForRun(h, token, started.body.id);
    expect(run).toMatchObject({ status: 'succeeded', added: 2 });
    const members = await sandboxCall(
      eu.url,
      'GET',
      `/sandbox/workspaces/${braze.workspaceId}/cohorts/${cohort.body.braze_cohort_id}/members`,
    );
    expect(members.members.map((m: { external_id: string }) => m.external_id)).toEqual(['eu-1', 'eu-2']);
    const euLog = await sandboxCall(eu.url, 'GET', '/sandbox/requests');
    expect(euLog.requests.map((r: { status: number }) => r.status)).not.toContain(401);
  });

  it('sends the US key to an AU cluster when no AU key is set', async () => {
    expect(h.config.braze.partnerApiKeys.AU).toBe('');
    const braze = await brazeKey(au.url);
    const saved = await put({ rest_endpoint: au.url, data_import_key: braze.key });
    expect(saved.status).toBe(200);
    expect(saved.body.region).toBe('AU');
  });

  it('without a partner key for the region: 422 naming rest_endpoint on save, a clear run error', async () => {
    const braze = await brazeKey(eu.url);
    expect((await put({ rest_endpoint: eu.url, data_import_key: braze.key })).status).toBe(200);
    // The same database, under a deployment configured with the US key alone.
    const usOnly = new BrazeConnectionService(h.ctx.db, new SecretBox(h.config.encryptionKey), {
      ...h.config.braze,
      partnerApiKeys: { US: PARTNER_KEY, EU: '', AU: '' },
    });
    await expect(usOnly.forRun(workspaceId)).rejects.toThrow(
      /No partner API key is configured for Braze's EU region: the operator should set BRAZE_PARTNER_API_KEY_EU/,
    );
    const attempt = usOnly.put(workspaceId, { rest_endpoint: eu.url, data_import_key: braze.key });
    await expect(attempt).rejects.toMatchObject({
      status: 422,
      code: 'braze_region_unavailable',
      details: { issues: [{ path: 'rest_endpoint', message: expect.stringMatching(/BRAZE_PARTNER_API_KEY_EU/) }] },
    });
  });
});
