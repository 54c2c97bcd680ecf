import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../src/api/console';
import { ensureConsoleBuilt } from './support/browser';
import { createConnectedWorkspace, type Harness, seedDemo, startHarness, waitForRun } from './support/harness';
import { withDocumentedResponses } from './support/openapi-validate';

/** What Cohort Control needs from the server: its files with strict headers, and the /v1 calls it makes. */
let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
const criteria = { all: [{ property: 'country', op: 'eq', value: 'PT' }] };

beforeAll(async () => {
  await ensureConsoleBuilt();
  h = withDocumentedResponses(await startHarness());
  ws = await createConnectedWorkspace(h, 'Console API');
  await seedDemo(h, ws, { users: 500, seed: 5 });
});
afterAll(async () => {
  await h?.close();
});

describe('the console files', () => {
  it('are served at / with a strict Content-Security-Policy and no inline script', async () => {
    const page = await fetch(`${h.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const html = await page.text();
    // Every <script> loads a file of this origin; none carries code of its own.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/assets\//);
      expect(body!.trim()).toBe('');
    }
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${h.baseUrl}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/immutable/);
    expect(js.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
  });

  it('leave the API closed to other origins (no CORS headers, preflight refused)', async () => {
    const origin = 'https://evil.example';
    const get = await fetch(`${h.baseUrl}/v1/cohorts`, {
      headers: { origin, authorization: `Bearer ${ws.token}` },
    });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${h.baseUrl}/v1/cohorts`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
  });
});

describe('the /v1 calls the console makes', () => {
  it('previews criteria before they are saved, with the same figures as a saved cohort', async () => {
    const draft = await h.request('POST', '/v1/cohorts/preview', { token: ws.token, body: { criteria, limit: 3 } });
    expect(draft.status).toBe(200);
    expect(draft.body.sample).toHaveLength(3);
    const cohort = await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'PT', criteria } });
    const saved = await h.request('GET', `/v1/cohorts/${cohort.body.id}/preview?limit=3`, { token: ws.token });
    expect(draft.body).toEqual(saved.body);
  });

  it('names the bad field of draft criteria, and the bad limit', async () => {
    const bad = await h.request('POST', '/v1/cohorts/preview', {
      token: ws.token,
      body: { criteria: { all: [{ property: 'country', op: 'between', value: 1 }] } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('criteria.all[0].op');
    const limit = await h.request('POST', '/v1/cohorts/preview', { token: ws.token, body: { criteria, limit: 0 } });
    expect(limit.status).toBe(400);
    expect(limit.body.error.details.issues[0].path).toBe('limit');
    const other = await h.request('POST', '/v1/cohorts/preview', { token: 'ci_wrong', body: { criteria } });
    expect(other.status).toBe(401);
  });

  it('lists each cohort with its last run and its schedule', async () => {
    const ran = await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Ran', criteria } });
    const idle = await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Idle', criteria } });
    // Two runs: the list shows the newer one.
    const older = await h.request('POST', `/v1/cohorts/${ran.body.id}/imports`, { token: ws.token, body: {} });
    await waitForRun(h, ws.token, older.body.id);
    const started = await h.request('POST', `/v1/cohorts/${ran.body.id}/imports`, { token: ws.token, body: {} });
    const run = await waitForRun(h, ws.token, started.body.id);
    expect(run.id).not.toBe(older.body.id);
    await h.request('PUT', `/v1/cohorts/${ran.body.id}/schedule`, {
      token: ws.token,
      body: { cadence: 'weekly', weekday: 'monday', time: '09:00', timezone: 'America/Sao_Paulo' },
    });

    const list = await h.request('GET', '/v1/cohorts', { token: ws.token });
    const byId = new Map(list.body.data.map((c: { id: string }) => [c.id, c]));
    expect(byId.get(ran.body.id)).toMatchObject({
      last_run: { id: run.id, status: 'succeeded', cohort_size: run.cohort_size },
      schedule: { cadence: 'weekly', weekday: 1, timezone: 'America/Sao_Paulo', next_run_at: expect.any(String) },
    });
    expect(byId.get(idle.body.id)).toMatchObject({ last_run: null, schedule: null });
  });

  it("reports a run's pages done out of its pages", async () => {
    const cohort = await h.request('POST', '/v1/cohorts', { token: ws.token, body: { name: 'Progress', criteria } });
    const started = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, { token: ws.token, body: {} });
    const queued = await h.request('GET', `/v1/imports/${started.body.id}/progress`, { token: ws.token });
    expect(queued.status).toBe(200);
    expect(queued.body).toMatchObject({ run_id: started.body.id, pages_total: expect.any(Number) });
    await waitForRun(h, ws.token, started.body.id);
    const done = await h.request('GET', `/v1/imports/${started.body.id}/progress`, { token: ws.token });
    expect(done.body).toEqual({ run_id: started.body.id, status: 'succeeded', pages_done: 1, pages_total: 1 });
    const stranger = await createConnectedWorkspace(h, 'Stranger');
    const hidden = await h.request('GET', `/v1/imports/${started.body.id}/progress`, { token: stranger.token });
    expect(hidden.status).toBe(404);
  });

  it("lists Braze's documented REST endpoints, then the allowlisted ones", async () => {
    const res = await h.request('GET', '/v1/braze-connection/endpoints', { token: ws.token });
    expect(res.status).toBe(200);
    const urls = res.body.data.map((e: { url: string }) => e.url);
    expect(urls).toContain('https://rest.iad-01.braze.com');
    expect(urls).toContain('https://rest.fra-02.braze.eu');
    expect(res.body.data.at(-1)).toMatchObject({ allowlisted: true });
    expect(urls).toContain(h.sandboxUrl);
    // Every listed endpoint is one PUT /v1/braze-connection accepts (without the key check:
    // no test talks to a real Braze host).
    for (const url of urls) {
      const put = await h.request('PUT', '/v1/braze-connection?verify=false', {
        token: ws.token,
        body: { rest_endpoint: url, data_import_key: 'ci-key-12345678' },
      });
      expect(put.status, url).toBe(200);
    }
  });
});
