import { gzipSync } from 'node:zlib';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from './support/engines';
import { createConnectedWorkspace, type Harness, startHarness } from './support/harness';
import { withDocumentedResponses } from './support/openapi-validate';

/** HTTP behaviour without workers: auth, isolation, validation, the error shape, secrets. */
let h: Harness;
let a: Awaited<ReturnType<typeof createConnectedWorkspace>>;
let b: Awaited<ReturnType<typeof createConnectedWorkspace>>;

const simpleCriteria = { all: [{ property: 'country', op: 'eq', value: 'BR' }] };

function expectErrorShape(body: any, code?: string) {
  expect(body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  if (code) expect(body.error.code).toBe(code);
}

beforeAll(async () => {
  h = withDocumentedResponses(await startHarness({ workers: false }));
  a = await createConnectedWorkspace(h, 'A');
  b = await createConnectedWorkspace(h, 'B');
});
afterAll(async () => {
  await h?.close();
});

describe('the engine under test', () => {
  it('is the one this file chose (test/postgres/ runs the same suite on PostgreSQL)', () => {
    expect(h.ctx.db.engine).toBe(testEngines().control);
  });
});

describe('authentication', () => {
  it('answers 401 without a token, with a wrong token, and for admin routes with a workspace token', async () => {
    const none = await h.request('GET', '/v1/cohorts');
    expect(none.status).toBe(401);
    expectErrorShape(none.body, 'unauthorized');
    expect((await h.request('GET', '/v1/cohorts', { token: 'ci_wrong' })).status).toBe(401);
    expect((await h.request('POST', '/v1/workspaces', { token: a.token, body: { name: 'x' } })).status).toBe(401);
  });

  it('serves no Bull Board without its own credentials (the admin token does not open it)', async () => {
    const basic = Buffer.from(`admin:${h.adminToken}`).toString('base64');
    const res = await h.request('GET', '/admin/queues/api/queues', { headers: { authorization: `Basic ${basic}` } });
    expect(res.status).toBe(404);
  });
});

describe('workspace isolation', () => {
  it("gives workspace B 404 for A's cohort, its preview, imports and runs", async () => {
    const created = await h.request('POST', '/v1/cohorts', {
      token: a.token,
      body: { name: 'Only A', criteria: simpleCriteria },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const run = await h.request('POST', `/v1/cohorts/${id}/imports`, { token: a.token, body: {} });
    expect(run.status).toBe(202);
    const schedule = { cadence: 'daily', time: '09:00' };
    expect((await h.request('PUT', `/v1/cohorts/${id}/schedule`, { token: a.token, body: schedule })).status).toBe(200);
    for (const [method, path] of [
      ['GET', `/v1/cohorts/${id}`],
      ['PATCH', `/v1/cohorts/${id}`],
      ['DELETE', `/v1/cohorts/${id}`],
      ['GET', `/v1/cohorts/${id}/preview`],
      ['POST', `/v1/cohorts/${id}/imports`],
      ['GET', `/v1/cohorts/${id}/imports`],
      ['GET', `/v1/imports/${run.body.id}`],
      ['PUT', `/v1/cohorts/${id}/schedule`],
      ['GET', `/v1/cohorts/${id}/schedule`],
      ['PATCH', `/v1/cohorts/${id}/schedule`],
      ['DELETE', `/v1/cohorts/${id}/schedule`],
      ['POST', `/v1/cohorts/${id}/schedule/run`],
      ['GET', `/v1/cohorts/${id}/schedule/history`],
    ] as const) {
      const res = await h.request(method, path, {
        token: b.token,
        body:
          method === 'PATCH' || method === 'PUT' ? (path.endsWith('/schedule') ? schedule : { name: 'x' }) : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(404);
      expectErrorShape(res.body, 'not_found');
    }
    expect((await h.request('GET', '/v1/schedules', { token: b.token })).body.data).toEqual([]);
    expect((await h.request('GET', `/v1/cohorts/${id}/schedule`, { token: a.token })).status).toBe(200);
    const listB = await h.request('GET', '/v1/cohorts', { token: b.token });
    expect(listB.body.data.map((c: { id: string }) => c.id)).not.toContain(id);
    expect((await h.request('GET', `/v1/imports/${run.body.id}`, { token: a.token })).status).toBe(200);
  });
});

describe('cohorts', () => {
  it('creates, reads, renames, lists with cursors and deletes', async () => {
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      const res = await h.request('POST', '/v1/cohorts', { token: b.token, body: { name, criteria: simpleCriteria } });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        name,
        criteria: simpleCriteria,
        braze_cohort_id: expect.stringMatching(/^cohort-/),
      });
      ids.push(res.body.id);
    }
    const page1 = await h.request('GET', '/v1/cohorts?limit=2', { token: b.token });
    expect(page1.body.data).toHaveLength(2);
    const page2 = await h.request('GET', `/v1/cohorts?limit=2&cursor=${page1.body.next_cursor}`, { token: b.token });
    const seen = [...page1.body.data, ...page2.body.data].map((c: { id: string }) => c.id);
    expect(new Set(seen)).toEqual(new Set(ids));

    const renamed = await h.request('PATCH', `/v1/cohorts/${ids[0]}`, { token: b.token, body: { name: 'renamed' } });
    expect(renamed.body.name).toBe('renamed');
    expect(renamed.body.braze_cohort_id).toBe(
      (await h.request('GET', `/v1/cohorts/${ids[0]}`, { token: b.token })).body.braze_cohort_id,
    );

    expect((await h.request('DELETE', `/v1/cohorts/${ids[1]}`, { token: b.token })).status).toBe(204);
    expect((await h.request('GET', `/v1/cohorts/${ids[1]}`, { token: b.token })).status).toBe(404);
  });

  it('previews members with the identifier each would be sent as', async () => {
    const users = [
      { user_key: 'p1', external_id: 'ext-p1', device_id: 'dev-p1', properties: { tier: 'gold' } },
      { user_key: 'p2', alias: { name: 'p2@example.com', label: 'email' }, properties: { tier: 'gold' } },
      { user_key: 'p3', device_id: 'dev-p3', properties: { tier: 'gold' } },
      { user_key: 'p4', properties: { tier: 'gold' } },
      { user_key: 'p5', external_id: 'ext-p5', properties: { tier: 'silver' } },
    ];
    expect((await h.request('POST', '/v1/users/batch', { token: b.token, body: { users } })).status).toBe(200);
    const cohort = await h.request('POST', '/v1/cohorts', {
      token: b.token,
      body: { name: 'gold', criteria: { all: [{ property: 'tier', op: 'eq', value: 'gold' }] } },
    });
    const preview = await h.request('GET', `/v1/cohorts/${cohort.body.id}/preview?limit=10`, { token: b.token });
    expect(preview.status).toBe(200);
    expect(preview.body.count).toBe(4);
    expect(preview.body.unmatchable).toBe(1);
    const byKey = Object.fromEntries(preview.body.sample.map((s: any) => [s.user_key, s.braze_identifier]));
    expect(byKey).toEqual({
      p1: { type: 'external_id', value: 'ext-p1' },
      p2: { type: 'alias', value: { alias_name: 'p2@example.com', alias_label: 'email' } },
      p3: { type: 'device_id', value: 'dev-p3' },
      p4: null,
    });
  });

  it('answers 409 with the active run id while a run of the cohort is queued, and honours Idempotency-Key', async () => {
    const cohort = await h.request('POST', '/v1/cohorts', {
      token: b.token,
      body: { name: 'busy', criteria: simpleCriteria },
    });
    const first = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, {
      token: b.token,
      body: {},
      headers: { 'idempotency-key': 'import-42' },
    });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'queued', trigger: 'one_time', cohort_id: cohort.body.id });
    const again = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, {
      token: b.token,
      body: {},
      headers: { 'idempotency-key': 'import-42' },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // The same key with another body is a client bug, not a retry.
    const otherBody = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, {
      token: b.token,
      body: { full_resync: true },
      headers: { 'idempotency-key': 'import-42' },
    });
    expect(otherBody.status).toBe(422);
    expectErrorShape(otherBody.body, 'idempotency_key_reused');
    expect(otherBody.body.error.details.run_id).toBe(first.body.id);
    const second = await h.request('POST', `/v1/cohorts/${cohort.body.id}/imports`, { token: b.token, body: {} });
    expect(second.status).toBe(409);
    expectErrorShape(second.body, 'run_in_progress');
    expect(second.body.error.details.run_id).toBe(first.body.id);
    const deleting = await h.request('DELETE', `/v1/cohorts/${cohort.body.id}`, { token: b.token });
    expect(deleting.status).toBe(409);
    const history = await h.request('GET', `/v1/cohorts/${cohort.body.id}/imports`, { token: b.token });
    expect(history.body.data.map((r: { id: string }) => r.id)).toEqual([first.body.id]);
  });
});

/** `{"n": {"n": … }}`, `depth` objects deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { n: value };
  return value;
}

describe('bodies are read only after authentication, and only as much as the route needs', () => {
  const post = (path: string, body: Buffer | string, headers: Record<string, string>) =>
    fetch(`${h.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('answers 401 to an unauthenticated body without reading it', async () => {
    // Malformed and large: read first, it would have been a 400 or a 413.
    const res = await post('/v1/cohorts', '{'.repeat(2_000_000), {});
    expect(res.status).toBe(401);
    const admin = await post('/v1/workspaces', '{'.repeat(2_000_000), { authorization: `Bearer ${a.token}` });
    expect(admin.status).toBe(401);
  });

  it('takes 256 KB of plain JSON on ordinary routes, and no compressed body', async () => {
    const auth = { authorization: `Bearer ${a.token}` };
    const big = await post('/v1/cohorts', JSON.stringify({ name: 'x'.repeat(300_000) }), auth);
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { message: string } }).error.message).toMatch(/at most 256 KB/);
    const zipped = gzipSync(JSON.stringify({ name: 'z', criteria: simpleCriteria }));
    const gz = await post('/v1/cohorts', zipped, { ...auth, 'content-encoding': 'gzip' });
    expect(gz.status).toBe(415);
    expectErrorShape(await gz.json(), 'unsupported_content_encoding');
  });

  it('takes gzip on the ingest routes, and stops a compressed bomb at the inflated limit', async () => {
    const auth = { authorization: `Bearer ${a.token}`, 'content-encoding': 'gzip' };
    const users = gzipSync(JSON.stringify({ users: [{ user_key: 'zipped', properties: { plan: 'pro' } }] }));
    expect((await post('/v1/users/batch', users, auth)).status).toBe(200);
    // About 30 KB on the wire, 30 MB inflated.
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"users":["'), Buffer.alloc(30 * 1024 * 1024, 'a')]));
    expect(bomb.length).toBeLessThan(100_000);
    const res = await post('/v1/users/batch', bomb, auth);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/at most 25 MB/);
  });
});

describe('bad input gets a 4xx naming the field, never a 500', () => {
  const cases: [string, string, unknown, number, RegExp][] = [
    [
      'POST',
      '/v1/cohorts',
      { name: 'x', criteria: { all: [{ property: 'country', op: 'between', value: 1 }] } },
      400,
      /criteria\.all\[0\]\.op/,
    ],
    [
      'POST',
      '/v1/cohorts',
      { name: 'x', criteria: { all: [{ property: "country') OR 1=1 --", op: 'eq', value: 'x' }] } },
      400,
      /criteria\.all\[0\]\.property/,
    ],
    ['POST', '/v1/cohorts', { name: 'x', criteria: { every: [] } }, 400, /criteria/],
    ['POST', '/v1/cohorts', { name: 'x', criteria: 'country = BR' }, 400, /criteria/],
    ['POST', '/v1/cohorts', { name: '', criteria: simpleCriteria }, 400, /name/],
    ['POST', '/v1/cohorts', { criteria: simpleCriteria }, 400, /name/],
    ['POST', '/v1/cohorts', [1, 2], 400, /body/],
    ['POST', '/v1/users/batch', { users: [{ external_id: 'x' }] }, 400, /users\[0\]\.user_key/],
    ['POST', '/v1/users/batch', { users: [{ user_key: 'k', alias: { name: 'n' } }] }, 400, /users\[0\]\.alias\.label/],
    ['POST', '/v1/users/batch', { users: [] }, 400, /users/],
    [
      'POST',
      '/v1/events/batch',
      { events: [{ user_key: 'k', name: 'open', time: 'yesterday' }] },
      400,
      /events\[0\]\.time/,
    ],
    [
      'PUT',
      '/v1/braze-connection',
      { rest_endpoint: 'https://evil.example.com', data_import_key: 'abcdefgh1234' },
      400,
      /rest_endpoint/,
    ],
    [
      'PUT',
      '/v1/braze-connection',
      { rest_endpoint: 'https://user:pw@rest.iad-01.braze.com', data_import_key: 'abcdefgh1234' },
      400,
      /rest_endpoint/,
    ],
    [
      'PUT',
      '/v1/braze-connection',
      { rest_endpoint: 'http://rest.iad-01.braze.com', data_import_key: 'abcdefgh1234' },
      400,
      /rest_endpoint/,
    ],
    [
      'PUT',
      '/v1/braze-connection',
      { rest_endpoint: 'https://10.0.0.1', data_import_key: 'abcdefgh1234' },
      400,
      /rest_endpoint/,
    ],
    [
      'PUT',
      '/v1/braze-connection',
      { rest_endpoint: 'https://rest.iad-01.braze.com/api', data_import_key: 'abcdefgh1234' },
      400,
      /rest_endpoint/,
    ],
    [
      'PUT',
      '/v1/braze-connection',
      { rest_endpoint: 'https://rest.iad-01.braze.com', data_import_key: 'a b' },
      400,
      /data_import_key/,
    ],
    ['PUT', '/v1/braze-connection', { rest_endpoint: 'https://rest.iad-01.braze.com' }, 400, /data_import_key/],
    ['GET', '/v1/cohorts?limit=0', undefined, 400, /limit/],
    ['GET', '/v1/cohorts?limit=0x10', undefined, 400, /limit/],
    [
      'POST',
      '/v1/users/batch',
      { users: [{ user_key: 'nul', properties: { nick: 'a\u0000b' } }] },
      400,
      /users\[0\]\.properties\.nick.*NUL/,
    ],
    [
      'POST',
      '/v1/cohorts',
      { name: 'x', criteria: { all: [{ property: 'nick', op: 'eq', value: 'a\u0000' }] } },
      400,
      /criteria\.all\[0\]\.value.*NUL/,
    ],
    ['GET', '/v1/cohorts?limit=1e1', undefined, 400, /limit/],
    [
      'POST',
      '/v1/users/batch',
      { users: [{ user_key: 'deep', properties: { a: nested(1_000) } }] },
      400,
      /users\[0\]\.properties.*levels deep/,
    ],
    [
      'POST',
      '/v1/events/batch',
      { events: [{ user_key: 'deep', name: 'e', time: 1, properties: { a: nested(9) } }] },
      400,
      /events\[0\]\.properties.*levels deep/,
    ],
    [
      'POST',
      '/v1/users/batch',
      { users: [{ user_key: 'huge', properties: { blob: 'x'.repeat(40_000) } }] },
      400,
      /users\[0\]\.properties.*bytes as JSON/,
    ],
    ['GET', '/v1/cohorts?cursor=garbage', undefined, 400, /cursor/],
    // Well-formed but forged: the position a client would like, without the API's signature.
    [
      'GET',
      `/v1/cohorts?cursor=${Buffer.from(JSON.stringify([Date.now(), 'zzz'])).toString('base64url')}`,
      undefined,
      400,
      /cursor/,
    ],
    [
      'GET',
      `/v1/cohorts?cursor=${Buffer.from(JSON.stringify([Date.now(), 'zzz'])).toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`,
      undefined,
      400,
      /cursor/,
    ],
  ];
  it.each(cases)('%s %s %j → %i', async (method, path, body, status, field) => {
    const res = await h.request(method, path, { token: a.token, body });
    expect(res.status).toBe(status);
    expectErrorShape(res.body);
    expect(`${res.body.error.message} ${JSON.stringify(res.body.error.details ?? {})}`).toMatch(field);
  });

  it('keeps properties within their bounds at the edge: 8 levels and 32 KB pass', async () => {
    const res = await h.request('POST', '/v1/users/batch', {
      token: a.token,
      body: { users: [{ user_key: 'edge', properties: { a: nested(7), blob: 'x'.repeat(30_000) } }] },
    });
    expect(res.status).toBe(200);
  });

  it('answers 400 for malformed JSON and 413 for more than 10,000 users', async () => {
    const bad = await h.request('POST', '/v1/cohorts', { token: a.token, body: '{"name":' });
    expect(bad.status).toBe(400);
    expectErrorShape(bad.body, 'invalid_json');
    const users = Array.from({ length: 10_001 }, (_, i) => ({ user_key: `big-${i}` }));
    const big = await h.request('POST', '/v1/users/batch', { token: a.token, body: { users } });
    expect(big.status).toBe(413);
    expect(big.body.error.message).toMatch(/users/);
  });

  it('treats injection-looking values as plain values', async () => {
    await h.request('POST', '/v1/users/batch', {
      token: a.token,
      body: {
        users: [
          { user_key: 'inj', external_id: 'inj', properties: { nick: "' OR 1=1 --" } },
          { user_key: 'plain', external_id: 'plain', properties: { nick: 'bob' } },
        ],
      },
    });
    const cohort = await h.request('POST', '/v1/cohorts', {
      token: a.token,
      body: { name: 'inj', criteria: { all: [{ property: 'nick', op: 'eq', value: "' OR 1=1 --" }] } },
    });
    expect(cohort.status).toBe(201);
    const preview = await h.request('GET', `/v1/cohorts/${cohort.body.id}/preview`, { token: a.token });
    expect(preview.body.count).toBe(1);
    expect(preview.body.sample[0].user_key).toBe('inj');
  });
});

describe('the Braze connection', () => {
  it('masks the key, keeps the sync scope when only the key changes, and deletes', async () => {
    const got = await h.request('GET', '/v1/braze-connection', { token: a.token });
    expect(got.status).toBe(200);
    expect(got.body.data_import_key).toBe(`…${a.dataImportKey.slice(-4)}`);
    expect(JSON.stringify(got.body)).not.toContain(a.dataImportKey);
    const connectionRow = async () => {
      const t = h.ctx.db.tables.brazeConnections;
      const [row] = await h.ctx.db.select().from(t).where(eq(t.workspaceId, a.workspaceId));
      return row!;
    };
    const scope = async () => (await connectionRow()).syncScope;
    const before = await scope();
    // Keys Braze does not know, and a real Braze host: saved without the key check.
    const sameEndpoint = await h.request('PUT', '/v1/braze-connection?verify=false', {
      token: a.token,
      body: { rest_endpoint: h.sandboxUrl, data_import_key: 'another-key-1234' },
    });
    expect(sameEndpoint.body.data_import_key).toBe('…1234');
    expect(await scope()).toBe(before);
    await h.request('PUT', '/v1/braze-connection?verify=false', {
      token: a.token,
      body: { rest_endpoint: 'https://rest.iad-03.braze.com', data_import_key: 'another-key-1234' },
    });
    expect(await scope()).not.toBe(before);
    const sealed = (await connectionRow()).dataImportKeySealed;
    expect(sealed).not.toContain('another-key-1234');
    expect((await h.request('DELETE', '/v1/braze-connection', { token: a.token })).status).toBe(204);
    expect((await h.request('GET', '/v1/braze-connection', { token: a.token })).status).toBe(404);
    // Put it back for other tests in this file.
    await h.request('PUT', '/v1/braze-connection', {
      token: a.token,
      body: { rest_endpoint: h.sandboxUrl, data_import_key: a.dataImportKey },
    });
  });
});

describe('request log', () => {
  it('logs each request with its full path and status, and no credentials', async () => {
    await h.request('GET', '/v1/cohorts?limit=1', { token: a.token, headers: { 'x-request-id': 'log-check-1' } });
    const lines = h.logs.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l));
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'GET', path: '/v1/cohorts', status: 200, requestId: 'log-check-1' }),
      ]),
    );
    const all = h.logs.join('');
    expect(all).not.toContain(a.token);
  });
});

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await h.request('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await h.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ redis: 'ok', warehouse: 'ok', control_db: 'ok' });
  });
});
