import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app';
import { API_AUTH_FAILURES_PER_MINUTE, BULL_BOARD_AUTH_FAILURES_PER_MINUTE } from '../src/api/app';
import { requestIdOf } from '../src/api/request-id';
import { ConfigError, loadConfig } from '../src/config';
import { createMetricsServer, scrapeAllowed } from '../src/metrics/metrics-endpoint';
import { createConnectedWorkspace, type Harness, seedDemo, startHarness, waitForRun } from './support/harness';

/** Metrics, request ids, Bull Board's own login, failed-login slowing and security headers. */
let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
const BOARD = { user: 'operator', password: 'board-password-0123456789' };
const boardAuth = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  h = await startHarness({
    env: { BULL_BOARD_USER: BOARD.user, BULL_BOARD_PASSWORD: BOARD.password, BULL_BOARD_READ_ONLY: 'true' },
  });
  ws = await createConnectedWorkspace(h, 'Ops');
  await seedDemo(h, ws, { users: 1500, seed: 7 });
});
afterAll(async () => {
  await h?.close();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The value of one series in a Prometheus text scrape (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('request ids', () => {
  it('echoes a good X-Request-Id and puts it on the request log line', async () => {
    const res = await h.request('GET', '/v1/cohorts', {
      token: ws.token,
      headers: { 'x-request-id': 'trace-abc.123' },
    });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.requestId === 'trace-abc.123');
    expect(line).toMatchObject({ method: 'GET', path: '/v1/cohorts', status: 200 });
  });

  it('replaces an unacceptable id (too long, spaces, control characters) with a fresh one', async () => {
    for (const bad of ['x'.repeat(129), 'two words', 'bell\u0007']) {
      expect(requestIdOf(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(requestIdOf(undefined)).toMatch(/^[0-9a-f-]{36}$/);
    const res = await h.request('GET', '/healthz', { headers: { 'x-request-id': 'has space' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('follows an import from the HTTP call through its import, page and finalize jobs', async () => {
    const cohort = await h.request('POST', '/v1/cohorts', {
      token: ws.token,
      body: { name: 'Everyone', criteria: { all: [{ property: 'age', op: 'gte', value: 0 }] } },
    });
    const before = await h.request('GET', '/metrics');
    const started = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, {
      token: ws.token,
      body: {},
      headers: { 'x-request-id': 'import-trace-1' },
    });
    expect(started.status).toBe(202);
    const run = await waitForRun(h, ws.token, started.body.id);
    expect(run.status).toBe('succeeded');

    const tracedLines = () => h.logs.map((l) => JSON.parse(l)).filter((l) => l.requestId === 'import-trace-1');
    // finalize-run marks the run succeeded before its worker logs the job done: polled, not read once.
    await expect
      .poll(
        () =>
          new Set(
            tracedLines()
              .filter((l) => l.msg === 'job done')
              .map((l) => l.queue),
          ),
      )
      .toEqual(new Set(['import-run', 'upload-page', 'finalize-run']));
    const traced = tracedLines();
    expect(traced.filter((l) => l.queue === 'upload-page').length).toBe(run.pages_total ?? 2);

    // The same import in the metrics, labelled by bounded values only.
    const after = await h.request('GET', '/metrics');
    const delta = (series: string) => sample(after.body, series) - sample(before.body, series);
    expect(delta('cohort_import_runs_started_total{trigger="one_time"}')).toBe(1);
    expect(delta('cohort_import_runs_finished_total{trigger="one_time",outcome="succeeded"}')).toBe(1);
    expect(delta('cohort_import_identifiers_sent_total{op="add"}')).toBe(run.added);
    expect(delta('cohort_import_braze_requests_total{endpoint="cohorts/users",status_class="2xx"}')).toBeGreaterThan(0);
    expect(after.body).toContain(
      'cohort_import_http_requests_total{method="POST",route="/v1/cohorts/:id/imports",status="202"}',
    );
    expect(after.body).toMatch(/cohort_import_queue_jobs\{queue="upload-page",state="waiting"\} \d+/);
    expect(after.body).toMatch(/cohort_import_job_schedulers \d+/);
    expect(after.body).toContain('nodejs_eventloop_lag_seconds');
    expect(after.body).not.toContain(cohort.body.id);
    expect(after.body).not.toContain(run.id);
    expect(after.body).not.toContain(ws.token);
  });
});

describe('metrics access', () => {
  it('answers on loopback without METRICS_TOKEN, and refuses other addresses', () => {
    const peer = (remoteAddress: string) => ({ headers: {}, socket: { remoteAddress } }) as unknown as IncomingMessage;
    expect(scrapeAllowed(peer('127.0.0.1'), '')).toBe(true);
    expect(scrapeAllowed(peer('::ffff:127.0.0.1'), '')).toBe(true);
    expect(scrapeAllowed(peer('::1'), '')).toBe(true);
    expect(scrapeAllowed(peer('10.1.2.3'), '')).toBe(false);
  });

  it('with METRICS_TOKEN, needs the bearer token on web, even from loopback', async () => {
    const token = 'metrics-token-0123456789';
    const ctx = { ...h.ctx, config: { ...h.ctx.config, metrics: { ...h.ctx.config.metrics, token } } };
    const server = createApp(ctx).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    try {
      const none = await fetch(url);
      expect(none.status).toBe(401);
      expect(((await none.json()) as any).error.code).toBe('unauthorized');
      expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    } finally {
      await close(server);
    }
  });

  it("serves a worker's metrics on its own server, GET /metrics only", async () => {
    const token = 'worker-metrics-token-0123';
    const server = createMetricsServer(token, () => {});
    const base = await listen(server);
    try {
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const ok = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('cohort_import_pages_given_up_total');
      const other = await fetch(`${base}/other`, { headers: { authorization: `Bearer ${token}` } });
      expect(other.status).toBe(404);
      expect(((await other.json()) as any).error.code).toBe('route_not_found');
    } finally {
      await close(server);
    }
  });
});

describe('configuration', () => {
  const base = { ADMIN_TOKEN: 'a'.repeat(16), ENCRYPTION_KEY: 'b'.repeat(64) };
  it('needs both Bull Board variables or neither; Bull Board is off without them', () => {
    expect(() => loadConfig({ ...base, BULL_BOARD_USER: 'ops' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, BULL_BOARD_USER: 'ops' })).toThrow(/BULL_BOARD_PASSWORD: is required/);
    expect(loadConfig(base).bullBoard).toBeNull();
  });
  it('makes Bull Board read-only by default in production only', () => {
    const creds = { ...base, BULL_BOARD_USER: 'ops', BULL_BOARD_PASSWORD: 'p'.repeat(16) };
    expect(loadConfig({ ...creds, NODE_ENV: 'production' }).bullBoard?.readOnly).toBe(true);
    expect(loadConfig(creds).bullBoard?.readOnly).toBe(false);
    expect(loadConfig({ ...creds, NODE_ENV: 'production', BULL_BOARD_READ_ONLY: 'false' }).bullBoard?.readOnly).toBe(
      false,
    );
  });
  it('names a malformed METRICS_PORT', () => {
    expect(() => loadConfig({ ...base, METRICS_PORT: 'abc' })).toThrow(/METRICS_PORT: must be a whole number/);
  });
});

describe('security headers', () => {
  it('sets the usual headers on the API, with a deny-all CSP for its JSON', async () => {
    const res = await h.request('GET', '/v1/cohorts', { token: ws.token });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
  });
});

describe('Bull Board', () => {
  it('takes its own login, not the admin token', async () => {
    const anonymous = await h.request('GET', '/admin/queues');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/Basic/);
    const admin = await h.request('GET', '/admin/queues', {
      headers: { authorization: boardAuth('admin', h.adminToken) },
    });
    expect(admin.status).toBe(401);
    const ok = await h.request('GET', '/admin/queues/api/queues', {
      headers: { authorization: boardAuth(BOARD.user, BOARD.password) },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.queues.map((q: { name: string }) => q.name)).toContain('upload-page');
    expect(ok.body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
  });

  it('in read-only mode refuses to change a queue', async () => {
    const pause = await h.request('PUT', '/admin/queues/api/queues/import-run/pause', {
      headers: { authorization: boardAuth(BOARD.user, BOARD.password) },
    });
    expect(pause.status).toBe(405);
    expect(await h.ctx.queues.importRun.isPaused()).toBe(false);
  });

  it('answers 429 with Retry-After after repeated failed logins from one address, even to the right password', async () => {
    // The two refusals above count too: the block comes within the limit's worth of attempts.
    const statuses: number[] = [];
    for (let i = 0; i < BULL_BOARD_AUTH_FAILURES_PER_MINUTE; i++) {
      statuses.push(
        (await h.request('GET', '/admin/queues', { headers: { authorization: boardAuth('x', 'y') } })).status,
      );
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 401).length).toBeLessThan(BULL_BOARD_AUTH_FAILURES_PER_MINUTE);
    const blocked = await h.request('GET', '/admin/queues', {
      headers: { authorization: boardAuth(BOARD.user, BOARD.password) },
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.body.error.code).toBe('too_many_failed_attempts');
  });
});

describe('failed API authentication', () => {
  it('answers 429 with Retry-After after repeated 401s from one address', async () => {
    for (let i = 0; i < API_AUTH_FAILURES_PER_MINUTE; i++) {
      expect((await h.request('GET', '/v1/cohorts', { token: `ci_wrong_${i}` })).status).toBe(401);
    }
    const blocked = await h.request('GET', '/v1/cohorts', { token: ws.token });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.body.error.code).toBe('too_many_failed_attempts');
    // Only the API's door: health still answers.
    expect((await h.request('GET', '/healthz')).status).toBe(200);
  });
});
