import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from './support/engines';
import { createConnectedWorkspace, type Harness, startHarness } from './support/harness';

/** Issuing, listing and revoking workspace tokens over HTTP, on the real control database. */
let h: Harness;

function expectError(res: { status: number; body: any }, status: number, code: string, mentions?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.body).toMatchObject({ error: { code, message: expect.any(String) } });
  if (mentions) expect(res.body.error.message).toMatch(mentions);
}

beforeAll(async () => {
  h = await startHarness({ workers: false });
});
afterAll(async () => {
  await h?.close();
});

describe('workspace tokens', () => {
  it(`runs on ${testEngines().control}`, () => {
    expect(h.ctx.db.engine).toBe(testEngines().control);
  });

  it('rotates: a second token works beside the first, a third is refused, a revoked one answers 401 at once', async () => {
    const ws = await createConnectedWorkspace(h, 'Rotating');
    const admin = { token: h.adminToken };
    const issued = await h.request('POST', `/v1/workspaces/${ws.workspaceId}/tokens`, admin);
    expect(issued.status).toBe(201);
    expect(issued.body).toEqual({
      id: expect.any(String),
      api_token: expect.any(String),
      created_at: expect.any(String),
    });
    const fresh = issued.body.api_token as string;
    expect(fresh).not.toBe(ws.token);
    for (const token of [ws.token, fresh]) expect((await h.request('GET', '/v1/cohorts', { token })).status).toBe(200);

    const third = await h.request('POST', `/v1/workspaces/${ws.workspaceId}/tokens`, admin);
    expectError(third, 409, 'token_limit', /at most 2 live tokens/);

    const listed = await h.request('GET', `/v1/workspaces/${ws.workspaceId}/tokens`, admin);
    expect(listed.status).toBe(200);
    expect(listed.body.tokens).toHaveLength(2);
    const oldId = listed.body.tokens.find((t: any) => t.id !== issued.body.id).id as string;
    // Neither the tokens nor their hashes are ever listed.
    expect(JSON.stringify(listed.body)).not.toContain(fresh);
    expect(JSON.stringify(listed.body)).not.toContain(ws.token);
    expect(Object.keys(listed.body.tokens[0]).sort()).toEqual(['created_at', 'id', 'revoked_at']);

    const revoked = await h.request('DELETE', `/v1/workspaces/${ws.workspaceId}/tokens/${oldId}`, admin);
    expect(revoked.status).toBe(204);
    expectError(await h.request('GET', '/v1/cohorts', { token: ws.token }), 401, 'unauthorized');
    expect((await h.request('GET', '/v1/cohorts', { token: fresh })).status).toBe(200);
    // Revoking again changes nothing; the slot it freed takes a new token.
    expect((await h.request('DELETE', `/v1/workspaces/${ws.workspaceId}/tokens/${oldId}`, admin)).status).toBe(204);
    const after = await h.request('GET', `/v1/workspaces/${ws.workspaceId}/tokens`, admin);
    const old = after.body.tokens.find((t: any) => t.id === oldId);
    expect(old.revoked_at).toEqual(expect.any(String));
    expect((await h.request('POST', `/v1/workspaces/${ws.workspaceId}/tokens`, admin)).status).toBe(201);
  });

  it('never lets concurrent issues leave more than two live tokens', async () => {
    const ws = await createConnectedWorkspace(h, 'Racing');
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        h.request('POST', `/v1/workspaces/${ws.workspaceId}/tokens`, { token: h.adminToken }),
      ),
    );
    expect(results.filter((r) => r.status === 201).length).toBeLessThanOrEqual(1);
    for (const r of results.filter((x) => x.status !== 201)) expectError(r, 409, 'token_limit');
    const listed = await h.request('GET', `/v1/workspaces/${ws.workspaceId}/tokens`, { token: h.adminToken });
    expect(listed.body.tokens.filter((t: any) => t.revoked_at === null).length).toBeLessThanOrEqual(2);
  });

  it("answers 404 for an unknown workspace or token, or another workspace's token", async () => {
    const a = await createConnectedWorkspace(h, 'A');
    const b = await createConnectedWorkspace(h, 'B');
    const admin = { token: h.adminToken };
    const unknown = '00000000-0000-4000-8000-000000000000';
    expectError(await h.request('POST', `/v1/workspaces/${unknown}/tokens`, admin), 404, 'not_found', /Workspace/);
    expectError(await h.request('GET', `/v1/workspaces/${unknown}/tokens`, admin), 404, 'not_found', /Workspace/);
    expectError(
      await h.request('DELETE', `/v1/workspaces/${a.workspaceId}/tokens/${unknown}`, admin),
      404,
      'not_found',
      /Token/,
    );
    const [bToken] = (await h.request('GET', `/v1/workspaces/${b.workspaceId}/tokens`, admin)).body.tokens;
    expectError(
      await h.request('DELETE', `/v1/workspaces/${a.workspaceId}/tokens/${bToken.id}`, admin),
      404,
      'not_found',
    );
    expect((await h.request('GET', '/v1/cohorts', { token: b.token })).status).toBe(200);
  });

  it('answers 400 naming a malformed id, and 401 without the admin credential', async () => {
    const ws = await createConnectedWorkspace(h, 'Shapes');
    const admin = { token: h.adminToken };
    expectError(await h.request('POST', '/v1/workspaces/nope/tokens', admin), 400, 'validation_failed', /^id:/);
    expectError(
      await h.request('DELETE', `/v1/workspaces/${ws.workspaceId}/tokens/x'1`, admin),
      400,
      'validation_failed',
      /^tokenId:/,
    );
    for (const [method, path] of [
      ['POST', `/v1/workspaces/${ws.workspaceId}/tokens`],
      ['GET', `/v1/workspaces/${ws.workspaceId}/tokens`],
      ['DELETE', `/v1/workspaces/${ws.workspaceId}/tokens/00000000-0000-4000-8000-000000000000`],
    ] as const) {
      expectError(await h.request(method, path, { token: ws.token }), 401, 'unauthorized');
    }
  });
});
