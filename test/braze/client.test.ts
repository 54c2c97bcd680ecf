/**
 * The contract client against the Braze sandbox over HTTP: each refusal Braze can give gets
 * its own message and says whose setting to check, and no message carries a secret.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BrazeClient, type BrazeClientOptions } from '../../src/braze/client';
import { BrazeError, BrazePermanentError, BrazeRetryableError } from '../../src/braze/errors';
import { startBrazeSandbox, type BrazeSandbox, type BrazeSandboxOptions } from '../../src/braze-sandbox/server';

const US_KEY = 'pk-client-us';
const EU_KEY = 'pk-client-eu';

let sandbox: BrazeSandbox | undefined;
afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function start(options: Partial<BrazeSandboxOptions> = {}) {
  sandbox = await startBrazeSandbox({ partnerApiKeys: { US: US_KEY, EU: EU_KEY }, ...options });
  const admin = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${sandbox!.url}${path}`, {
      method: path.endsWith('config') ? 'PUT' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.json()) as any;
  };
  const ws = await admin('/sandbox/workspaces', { name: 'Acme' });
  const key = await admin(`/sandbox/workspaces/${ws.id}/data-import-keys`);
  const client = (opts: Partial<BrazeClientOptions> = {}) =>
    new BrazeClient({
      endpoint: sandbox!.url,
      partner: 'kubit',
      partnerApiKey: US_KEY,
      partnerApiKeyVariable: 'BRAZE_PARTNER_API_KEY_US',
      dataImportKey: key.key,
      userAgent: 'partner-Kubit-CohortImport/test',
      timeoutMs: 5_000,
      ...opts,
    });
  return { admin, workspaceId: ws.id as string, keyId: key.id as string, secret: key.key as string, client };
}

/** The error a call throws, checked to carry none of the secrets. */
async function refusal(call: Promise<unknown>, secrets: string[]): Promise<BrazeError> {
  const error = await call.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(BrazeError);
  for (const secret of secrets) expect((error as Error).message).not.toContain(secret);
  return error as BrazeError;
}

describe('the key check', () => {
  it('passes with a call that changes nothing, whatever cohorts exist', async () => {
    const s = await start();
    const result = await s.client().checkKeys();
    expect(result.status).toBe(201);
    expect(result.rateLimitRemaining).toBe(249_999);
    const cohorts = await fetch(`${sandbox!.url}/sandbox/workspaces/${s.workspaceId}/cohorts`);
    expect(((await cohorts.json()) as any).cohorts).toEqual([]);
  });
});

describe('each refusal says whose setting to check', () => {
  it('401 for the data import key: the customer generates a new key', async () => {
    const s = await start();
    await s.admin(`/sandbox/workspaces/${s.workspaceId}/data-import-keys/${s.keyId}/invalidate`);
    const error = await refusal(s.client().checkKeys(), [s.secret, US_KEY]);
    expect(error).toBeInstanceOf(BrazePermanentError);
    expect(error).toMatchObject({ status: 401, refusal: 'data_import_key' });
    expect(error.message).toMatch(/rejected the data import key \(401\)/);
    expect(error.message).toMatch(/Technology Partners/);
  });

  it("401 for the partner key: the operator's variable is named, not the customer's key", async () => {
    const s = await start({ region: 'EU' });
    const error = await refusal(s.client().checkKeys(), [s.secret, US_KEY, EU_KEY]);
    expect(error).toMatchObject({ status: 401, refusal: 'partner_api_key' });
    expect(error.message).toMatch(/partner API key/);
    expect(error.message).toMatch(/BRAZE_PARTNER_API_KEY_US/);
    expect(error.message).toMatch(/data import key was not the problem/);
    const eu = s.client({ partnerApiKey: EU_KEY, partnerApiKeyVariable: 'BRAZE_PARTNER_API_KEY_EU' });
    expect((await eu.checkKeys()).status).toBe(201);
  });

  it('403: the Braze account or plan, not the key', async () => {
    const s = await start();
    await s.admin('/sandbox/config', { faults: { error_share: 1, error_statuses: [403] } });
    const error = await refusal(s.client().checkKeys(), [s.secret, US_KEY]);
    expect(error).toMatchObject({ status: 403, refusal: 'account' });
    expect(error.message).toMatch(/refused the account \(403\)/);
    expect(error.message).toMatch(/plan/);
    expect(error.message).not.toMatch(/data import key/);
  });

  it('404: the cluster or the partner slug, not the key', async () => {
    const s = await start();
    const error = await refusal(s.client({ partner: 'no-such-partner' }).checkKeys(), [s.secret, US_KEY]);
    expect(error).toMatchObject({ status: 404, refusal: 'endpoint' });
    expect(error.message).toMatch(/404/);
    expect(error.message).toMatch(/not available on this Braze cluster/);
    expect(error.message).toMatch(/partner slug "no-such-partner"/);
    expect(error.message).toMatch(/BRAZE_PARTNER/);
    expect(error.message).not.toMatch(/data import key/);
  });

  it('400: our request, with Braze words', async () => {
    const s = await start();
    const error = await refusal(s.client().updateCohortUsers({ cohortId: 'c', cohortChangesJson: '[{}]' }), [
      s.secret,
      US_KEY,
    ]);
    expect(error).toMatchObject({ status: 400, refusal: 'request' });
    expect(error.message).toMatch(/rejected the request \(400\): cohort_changes\[0\] must have user_ids/);
  });

  it('423 and 5xx are retried, and carry Braze words', async () => {
    const s = await start();
    await s.admin('/sandbox/config', { faults: { error_share: 1, error_statuses: [423] } });
    const locked = await refusal(s.client().checkKeys(), [s.secret, US_KEY]);
    expect(locked).toBeInstanceOf(BrazeRetryableError);
    expect(locked.message).toMatch(/Braze answered 423: Resource locked/);
    await s.admin('/sandbox/config', { faults: { error_share: 1, error_statuses: [503] } });
    const down = await refusal(s.client().checkKeys(), [s.secret, US_KEY]);
    expect(down).toBeInstanceOf(BrazeRetryableError);
    expect(down.message).toMatch(/Braze answered 503: Service Unavailable/);
  });

  it('a Braze that does not answer within the timeout, or cannot be reached, is retried and says which', async () => {
    const s = await start();
    // The sandbox would answer 201 after 3 s: only giving up at the timeout makes this a refusal.
    await s.admin('/sandbox/config', { faults: { latency_ms: 3_000 } });
    const slow = await refusal(s.client({ timeoutMs: 200 }).checkKeys(), [s.secret, US_KEY]);
    expect(slow).toBeInstanceOf(BrazeRetryableError);
    expect(slow.message).toBe(`Braze timed out (${new URL(sandbox!.url).host})`);
    await s.admin('/sandbox/config', { faults: null });

    const closed = await refusal(s.client({ endpoint: 'http://127.0.0.1:1' }).checkKeys(), [s.secret, US_KEY]);
    expect(closed).toBeInstanceOf(BrazeRetryableError);
    expect(closed.message).toBe('Braze could not be reached (127.0.0.1:1)');
  });

  it('takes 202 queued (maintenance) as accepted', async () => {
    const s = await start();
    await s.admin('/sandbox/config', { maintenance: true });
    const result = await s.client().createCohort({ cohortId: 'c', name: 'C', createdAt: new Date() });
    expect(result.status).toBe(202);
  });
});
