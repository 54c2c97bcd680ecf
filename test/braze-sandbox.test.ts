/**
 * The Braze sandbox over real HTTP: each test starts its own sandbox on a free port with an
 * in-memory database and talks to it with fetch, as the importer does.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FixedWindowRateLimiter } from '../src/braze-sandbox/rate-limiter';
import { startBrazeSandbox, type BrazeSandbox, type BrazeSandboxOptions } from '../src/braze-sandbox/server';
import { scratchDir } from './support/scratch';

const US_KEY = 'pk-test-us';
const EU_KEY = 'pk-test-eu';
const TOO_MANY = 'Only 1,000 user_ids, device_ids, and aliases are allowed per request';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

let sandbox: BrazeSandbox | undefined;

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

async function start(options: Partial<BrazeSandboxOptions> = {}): Promise<BrazeSandbox> {
  sandbox = await startBrazeSandbox({
    port: 0,
    host: '127.0.0.1',
    dbPath: ':memory:',
    partner: 'kubit',
    partnerApiKeys: { US: US_KEY, EU: EU_KEY },
    ...options,
  });
  return sandbox;
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${sandbox!.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** A Braze workspace with one active data import key. */
async function brazeWorkspace(name = 'Acme') {
  const workspace = await call('POST', '/sandbox/workspaces', { name });
  expect(workspace.status).toBe(201);
  const key = await call('POST', `/sandbox/workspaces/${workspace.body.id}/data-import-keys`, {});
  expect(key.status).toBe(201);
  return { id: workspace.body.id as string, keyId: key.body.id as string, secret: key.body.key as string };
}

async function registerUsers(workspaceId: string, users: unknown[]): Promise<Answer> {
  return call('POST', `/sandbox/workspaces/${workspaceId}/users/batch`, { users });
}

function createCohort(secret: string, cohortId: string, name: string, partnerApiKey = US_KEY): Promise<Answer> {
  return call('POST', '/partners/kubit/cohorts', {
    partner_api_key: partnerApiKey,
    client_secret: secret,
    cohort_id: cohortId,
    name,
    created_at: '2026-11-28T09:00:00+00:00',
  });
}

function changeMembers(
  secret: string,
  cohortId: string,
  cohortChanges: unknown,
  partnerApiKey = US_KEY,
): Promise<Answer> {
  return call('POST', '/partners/kubit/cohorts/users', {
    partner_api_key: partnerApiKey,
    client_secret: secret,
    cohort_id: cohortId,
    cohort_changes: cohortChanges,
  });
}

async function memberExternalIds(workspaceId: string, cohortId: string): Promise<(string | null)[]> {
  const answer = await call('GET', `/sandbox/workspaces/${workspaceId}/cohorts/${cohortId}/members`);
  expect(answer.status).toBe(200);
  expect(answer.body.count).toBe(answer.body.members.length);
  return answer.body.members.map((member: { external_id: string | null }) => member.external_id);
}

async function memberCount(workspaceId: string, cohortId: string): Promise<number> {
  const answer = await call('GET', `/sandbox/workspaces/${workspaceId}/cohorts/${cohortId}/members?limit=0`);
  expect(answer.status).toBe(200);
  return answer.body.count;
}

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

describe('cohorts and members', () => {
  it('creates a cohort, adds and removes members, and answers the segment question', async () => {
    await start();
    const ws = await brazeWorkspace();
    expect(
      await registerUsers(ws.id, [{ external_id: 'ext-1' }, { external_id: 'ext-2' }, { external_id: 'ext-3' }]),
    ).toMatchObject({
      status: 200,
      body: { created: 3, updated: 0 },
    });

    const created = await createCohort(ws.secret, 'cohort-1', 'Power users');
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ message: 'success' });

    const added = await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1', 'ext-2', 'ext-3'] }]);
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ message: 'success' });
    const removed = await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-2'], should_remove: true }]);
    expect(removed.status).toBe(201);

    const cohorts = await call('GET', `/sandbox/workspaces/${ws.id}/cohorts`);
    expect(cohorts.body.cohorts).toEqual([
      { cohort_id: 'cohort-1', name: 'Power users', created_at: '2026-11-28T09:00:00+00:00', size: 2 },
    ]);

    const includes = await call(
      'GET',
      `/sandbox/workspaces/${ws.id}/segment?cohort_name=Power%20users&filter=includes_value`,
    );
    expect(includes.body).toEqual({
      filter: 'Kubit Cohorts',
      cohort_name: 'Power users',
      count: 2,
      users: [
        { external_id: 'ext-1', aliases: [], device_ids: [] },
        { external_id: 'ext-3', aliases: [], device_ids: [] },
      ],
    });
    const excludes = await call(
      'GET',
      `/sandbox/workspaces/${ws.id}/segment?cohort_name=Power%20users&filter=excludes_value`,
    );
    expect(excludes.body.count).toBe(1);
    expect(excludes.body.users.map((user: { external_id: string }) => user.external_id)).toEqual(['ext-2']);
  });

  it('treats resent batches as harmless and renames a cohort under the same cohort_id', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }, { external_id: 'ext-2' }]);
    await createCohort(ws.secret, 'cohort-1', 'Old name');

    for (let attempt = 0; attempt < 2; attempt++) {
      expect((await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }])).status).toBe(201);
      expect((await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-2'], should_remove: true }])).status).toBe(
        201,
      );
    }
    expect(await memberExternalIds(ws.id, 'cohort-1')).toEqual(['ext-1']);

    expect((await createCohort(ws.secret, 'cohort-1', 'New name')).status).toBe(201);
    const cohorts = await call('GET', `/sandbox/workspaces/${ws.id}/cohorts`);
    expect(cohorts.body.cohorts).toEqual([
      expect.objectContaining({ cohort_id: 'cohort-1', name: 'New name', size: 1 }),
    ]);
    expect((await call('GET', `/sandbox/workspaces/${ws.id}/segment?cohort_name=New%20name`)).body.count).toBe(1);
    expect((await call('GET', `/sandbox/workspaces/${ws.id}/segment?cohort_name=Old%20name`)).status).toBe(404);
  });

  it('refuses members for a cohort_id that was never created', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }]);
    const answer = await changeMembers(ws.secret, 'never-created', [{ user_ids: ['ext-1'] }]);
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain('never-created');
  });

  it('keeps workspaces apart: a data import key only reaches its own workspace', async () => {
    await start();
    const acme = await brazeWorkspace('Acme');
    const globex = await brazeWorkspace('Globex');
    await registerUsers(acme.id, [{ external_id: 'ext-1' }]);
    await registerUsers(globex.id, [{ external_id: 'ext-1' }]);
    await createCohort(acme.secret, 'shared-id', 'Acme cohort');
    await createCohort(globex.secret, 'shared-id', 'Globex cohort');

    await changeMembers(acme.secret, 'shared-id', [{ user_ids: ['ext-1'] }]);
    expect(await memberCount(acme.id, 'shared-id')).toBe(1);
    expect(await memberCount(globex.id, 'shared-id')).toBe(0);
  });
});

describe('user matching', () => {
  it('matches external ids, aliases and device ids of anonymous users, and ignores the rest', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [
      { external_id: 'ext-1', device_ids: ['dev-identified'] },
      { aliases: [{ alias_name: 'a@example.com', alias_label: 'email' }] },
      { device_ids: ['dev-anonymous'] },
    ]);
    await createCohort(ws.secret, 'everyone', 'Everyone');
    const answer = await changeMembers(ws.secret, 'everyone', [
      {
        user_ids: ['ext-1', 'ext-unknown'],
        aliases: [
          { alias_name: 'a@example.com', alias_label: 'email' },
          { alias_name: 'a@example.com', alias_label: 'other-label' },
        ],
        device_ids: ['dev-anonymous', 'dev-unknown'],
      },
    ]);
    expect(answer.status).toBe(201);

    const members = await call('GET', `/sandbox/workspaces/${ws.id}/cohorts/everyone/members`);
    expect(members.body).toEqual({
      count: 3,
      members: [
        { external_id: 'ext-1', aliases: [], device_ids: ['dev-identified'] },
        { external_id: null, aliases: [{ alias_name: 'a@example.com', alias_label: 'email' }], device_ids: [] },
        { external_id: null, aliases: [], device_ids: ['dev-anonymous'] },
      ],
    });
  });

  it('neither adds nor removes an identified user by device id', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1', device_ids: ['dev-1'] }]);
    await createCohort(ws.secret, 'by-device', 'By device');

    expect((await changeMembers(ws.secret, 'by-device', [{ device_ids: ['dev-1'] }])).status).toBe(201);
    expect(await memberCount(ws.id, 'by-device')).toBe(0);

    await changeMembers(ws.secret, 'by-device', [{ user_ids: ['ext-1'] }]);
    await changeMembers(ws.secret, 'by-device', [{ device_ids: ['dev-1'], should_remove: true }]);
    expect(await memberExternalIds(ws.id, 'by-device')).toEqual(['ext-1']);
  });

  it('stops matching a device id once its anonymous user becomes identified', async () => {
    await start();
    const ws = await brazeWorkspace();
    expect((await registerUsers(ws.id, [{ device_ids: ['dev-1'] }])).body).toEqual({ created: 1, updated: 0 });
    expect((await registerUsers(ws.id, [{ external_id: 'ext-1', device_ids: ['dev-1'] }])).body).toEqual({
      created: 0,
      updated: 1,
    });
    await createCohort(ws.secret, 'cohort-1', 'Cohort');

    await changeMembers(ws.secret, 'cohort-1', [{ device_ids: ['dev-1'] }]);
    expect(await memberCount(ws.id, 'cohort-1')).toBe(0);
    await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }]);
    expect(await memberExternalIds(ws.id, 'cohort-1')).toEqual(['ext-1']);
  });

  it('applies change objects in order within one request', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }, { external_id: 'ext-2' }]);
    await createCohort(ws.secret, 'cohort-1', 'Cohort');
    await changeMembers(ws.secret, 'cohort-1', [
      { user_ids: ['ext-1', 'ext-2'] },
      { user_ids: ['ext-1'], should_remove: true },
    ]);
    expect(await memberExternalIds(ws.id, 'cohort-1')).toEqual(['ext-2']);
  });
});

describe('users batch', () => {
  it('refuses a conflicting record and keeps nothing of that batch', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [
      { external_id: 'ext-1', aliases: [{ alias_name: 'a@example.com', alias_label: 'email' }] },
    ]);
    const conflict = await registerUsers(ws.id, [
      { external_id: 'ext-new' },
      { external_id: 'ext-2', aliases: [{ alias_name: 'a@example.com', alias_label: 'email' }] },
    ]);
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toContain('users[1]');

    await createCohort(ws.secret, 'cohort-1', 'Cohort');
    await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-new'] }]);
    expect(await memberCount(ws.id, 'cohort-1')).toBe(0);
  });

  it('refuses records without identifiers and batches over 50,000 users', async () => {
    await start();
    const ws = await brazeWorkspace();
    const empty = await registerUsers(ws.id, [{ external_id: 'ext-1' }, {}]);
    expect(empty.status).toBe(400);
    expect(empty.body.message).toBe('users[1] needs an external_id, an alias or a device id');

    const tooMany = await registerUsers(
      ws.id,
      ids('ext', 50_001).map((externalId) => ({ external_id: externalId })),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe('users must hold at most 50,000 users');
  });
});

describe('validation', () => {
  it('answers 400 with the contract message for 1,001 identifiers across change objects', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'user-0' }]);
    await createCohort(ws.secret, 'cohort-1', 'Cohort');

    const tooMany = await changeMembers(ws.secret, 'cohort-1', [
      { user_ids: ids('user', 400), device_ids: ids('device', 300) },
      { aliases: ids('alias', 301).map((name) => ({ alias_name: name, alias_label: 'email' })), should_remove: true },
    ]);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toBe(TOO_MANY);
    expect(tooMany.body.errors).toEqual([expect.stringContaining('1,001')]);
    expect(await memberCount(ws.id, 'cohort-1')).toBe(0);

    const atTheCap = await changeMembers(ws.secret, 'cohort-1', [
      { user_ids: ids('user', 400), device_ids: ids('device', 300) },
      { aliases: ids('alias', 300).map((name) => ({ alias_name: name, alias_label: 'email' })), should_remove: true },
    ]);
    expect(atTheCap.status).toBe(201);
    expect(await memberCount(ws.id, 'cohort-1')).toBe(1);
  });

  const validCohort = { cohort_id: 'cohort-1', name: 'Cohort', created_at: '2026-11-28T09:00:00Z' };
  it.each([
    [
      'cohort_id missing',
      { name: 'Cohort', created_at: '2026-11-28T09:00:00Z' },
      'cohort_id must be a non-empty string',
    ],
    ['cohort_id empty', { ...validCohort, cohort_id: '' }, 'cohort_id must be a non-empty string'],
    ['cohort_id a number', { ...validCohort, cohort_id: 7 }, 'cohort_id must be a non-empty string'],
    ['name blank', { ...validCohort, name: '  ' }, 'name must be a non-empty string'],
    [
      'created_at not ISO-8601',
      { ...validCohort, created_at: '28/11/2026' },
      'created_at must be an ISO-8601 timestamp',
    ],
    [
      'created_at an impossible date',
      { ...validCohort, created_at: '2026-02-30T09:00:00Z' },
      'created_at must be an ISO-8601 timestamp',
    ],
    [
      'created_at a number',
      { ...validCohort, created_at: 1_764_320_400_000 },
      'created_at must be an ISO-8601 timestamp',
    ],
  ])('answers 400 to a cohort with %s', async (_case, fields, message) => {
    await start();
    const ws = await brazeWorkspace();
    const answer = await call('POST', '/partners/kubit/cohorts', {
      partner_api_key: US_KEY,
      client_secret: ws.secret,
      ...fields,
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ message, errors: expect.arrayContaining([message]) });
  });

  it.each([
    ['cohort_changes missing', undefined, 'cohort_changes must be an array of objects'],
    ['cohort_changes an object', { user_ids: ['ext-1'] }, 'cohort_changes must be an array of objects'],
    [
      'a change object without identifiers',
      [{ should_remove: true }],
      'cohort_changes[0] must have user_ids, device_ids or aliases',
    ],
    [
      'a change that is not an object',
      ['ext-1'],
      'cohort_changes[0] must be an object with user_ids, device_ids or aliases',
    ],
    ['user_ids holding a number', [{ user_ids: ['ext-1', 2] }], 'cohort_changes[0].user_ids[1] must be a string'],
    ['device_ids not an array', [{ device_ids: 'dev-1' }], 'cohort_changes[0].device_ids must be an array of strings'],
    [
      'an alias without alias_label',
      [{ aliases: [{ alias_name: 'a@example.com' }] }],
      'cohort_changes[0].aliases[0].alias_label must be a non-empty string',
    ],
    [
      'should_remove a string',
      [{ user_ids: ['ext-1'], should_remove: 'yes' }],
      'cohort_changes[0].should_remove must be a boolean',
    ],
  ])('answers 400 to cohort changes with %s', async (_case, cohortChanges, message) => {
    await start();
    const ws = await brazeWorkspace();
    await createCohort(ws.secret, 'cohort-1', 'Cohort');
    const answer = await changeMembers(ws.secret, 'cohort-1', cohortChanges);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ message, errors: expect.arrayContaining([message]) });
  });

  it('accepts created_at in the ISO-8601 forms Braze does not rule out, offsets included', async () => {
    await start();
    const ws = await brazeWorkspace();
    const variants = [
      '2026-11-28T09:00:00+00:00',
      '2026-11-28T09:00:00.123+05:30',
      '2026-11-28T09:00:00-0300',
      '2026-11-28T09:00+01',
      '2026-11-28 09:00:00Z',
      '20261128T090000Z',
      '2026-11-28',
    ];
    for (const [i, createdAt] of variants.entries()) {
      const answer = await call('POST', '/partners/kubit/cohorts', {
        partner_api_key: US_KEY,
        client_secret: ws.secret,
        cohort_id: `cohort-${i}`,
        name: `Cohort ${i}`,
        created_at: createdAt,
      });
      expect([createdAt, answer.status]).toEqual([createdAt, 201]);
    }
    const cohorts = await call('GET', `/sandbox/workspaces/${ws.id}/cohorts`);
    expect(cohorts.body.cohorts.map((cohort: { created_at: string }) => cohort.created_at)).toEqual(variants);
  });

  it('answers 2xx to empty cohort_changes and changes nothing, even for a cohort_id never created', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }]);
    await createCohort(ws.secret, 'cohort-1', 'Cohort');
    await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }]);

    const noop = await changeMembers(ws.secret, 'cohort-1', []);
    expect(noop.status).toBe(201);
    expect(noop.body).toEqual({ message: 'success' });
    expect(await memberCount(ws.id, 'cohort-1')).toBe(1);
    const connectionTest = await changeMembers(ws.secret, 'never-created', []);
    expect(connectionTest.status).toBe(201);
    expect((await call('GET', `/sandbox/workspaces/${ws.id}/cohorts`)).body.cohorts).toHaveLength(1);
    // Still authenticated like any call: an empty change list is no way around the keys.
    expect((await changeMembers('not-a-key', 'never-created', [])).status).toBe(401);
  });

  it('answers 400 to a body that is not JSON', async () => {
    await start();
    const answer = await call('POST', '/partners/kubit/cohorts/users', '{"partner_api_key": ');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ message: 'Request body is not valid JSON', errors: [expect.any(String)] });
  });
});

describe('authentication', () => {
  it('answers 401 to an unknown partner API key', async () => {
    await start();
    const ws = await brazeWorkspace();
    const answer = await createCohort(ws.secret, 'cohort-1', 'Cohort', 'pk-wrong');
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      message: 'Invalid partner API key',
      errors: ['partner_api_key is missing or unknown'],
    });
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort')).status).toBe(201);
  });

  it('takes only the partner key of its region: US refuses the EU key, EU the US key, AU takes the US key', async () => {
    await start();
    let ws = await brazeWorkspace();
    const refused = await createCohort(ws.secret, 'cohort-1', 'Cohort', EU_KEY);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toBe('Invalid partner API key');
    expect(refused.body.errors).toEqual([expect.stringContaining('this is the EU partner API key')]);
    expect(JSON.stringify(refused.body)).not.toContain(EU_KEY);
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort', US_KEY)).status).toBe(201);
    await sandbox!.close();

    await start({ region: 'EU' });
    ws = await brazeWorkspace();
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort', US_KEY)).status).toBe(401);
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort', EU_KEY)).status).toBe(201);
    await sandbox!.close();

    await start({ region: 'AU' });
    ws = await brazeWorkspace();
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort', EU_KEY)).status).toBe(401);
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort', US_KEY)).status).toBe(201);
    await sandbox!.close();

    await start({ region: 'AU', partnerApiKeys: { US: US_KEY, AU: 'pk-test-au' } });
    ws = await brazeWorkspace();
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort', US_KEY)).status).toBe(401);
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort', 'pk-test-au')).status).toBe(201);
  });

  it('refuses to start without a partner key for its region', async () => {
    await expect(start({ region: 'EU', partnerApiKeys: { US: US_KEY } })).rejects.toThrow(/region EU/);
  });

  it('answers 401 to an unknown or invalidated data import key, while another key keeps working', async () => {
    await start();
    const ws = await brazeWorkspace();
    expect((await createCohort('not-a-key', 'cohort-1', 'Cohort')).body.message).toBe('Invalid client secret');
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort')).status).toBe(201);

    const invalidated = await call('POST', `/sandbox/workspaces/${ws.id}/data-import-keys/${ws.keyId}/invalidate`);
    expect(invalidated.status).toBe(200);
    expect(invalidated.body.status).toBe('invalidated');
    const refused = await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }]);
    expect(refused.status).toBe(401);
    expect(refused.body.message).toBe('Invalid client secret');

    const second = await call('POST', `/sandbox/workspaces/${ws.id}/data-import-keys`);
    expect((await changeMembers(second.body.key, 'cohort-1', [{ user_ids: ['ext-1'] }])).status).toBe(201);

    const keys = await call('GET', `/sandbox/workspaces/${ws.id}/data-import-keys`);
    expect(keys.body.keys.map((key: { status: string }) => key.status)).toEqual(['invalidated', 'active']);
    expect(JSON.stringify(keys.body)).not.toContain(ws.secret);
  });
});

describe('rate limit and faults', () => {
  it("sends Braze's X-RateLimit headers on every authenticated answer, by default 250,000 an hour", async () => {
    await start();
    const ws = await brazeWorkspace();
    const answers = [
      await createCohort(ws.secret, 'cohort-1', 'Cohort'),
      await changeMembers(ws.secret, 'cohort-1', []),
      await changeMembers(ws.secret, 'cohort-1', [{ user_ids: [7] }]),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 400]);
    expect(answers.map((answer) => answer.headers.get('x-ratelimit-limit'))).toEqual(['250000', '250000', '250000']);
    expect(answers.map((answer) => answer.headers.get('x-ratelimit-remaining'))).toEqual([
      '249999',
      '249998',
      '249997',
    ]);
    const reset = Number(answers[0]!.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThan(Date.now() / 1000 + 3500);
    expect(answers.map((answer) => Number(answer.headers.get('x-ratelimit-reset')))).toEqual([reset, reset, reset]);
    expect(answers[0]!.headers.get('retry-after')).toBeNull();
    expect((await call('GET', '/sandbox/config')).body).toEqual({
      rate_limit: { limit: 250_000, window_seconds: 3_600 },
      faults: null,
      maintenance: false,
      lock_on_overlap: false,
    });
  });

  it('takes its starting limit as an option, and null puts it back', async () => {
    await start({ rateLimit: { limit: 5, window_seconds: 60 } });
    const ws = await brazeWorkspace();
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort')).headers.get('x-ratelimit-limit')).toBe('5');
    await call('PUT', '/sandbox/config', { rate_limit: { limit: 9, window_seconds: 1 } });
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort')).headers.get('x-ratelimit-limit')).toBe('9');
    const restored = await call('PUT', '/sandbox/config', { rate_limit: null });
    expect(restored.body.rate_limit).toEqual({ limit: 5, window_seconds: 60 });
    const fresh = await createCohort(ws.secret, 'cohort-1', 'Cohort');
    expect([fresh.headers.get('x-ratelimit-limit'), fresh.headers.get('x-ratelimit-remaining')]).toEqual(['5', '4']);
  });

  it('answers 429 per Braze workspace, whichever data import key is used, then admits calls after the reset', async () => {
    await start();
    const ws = await brazeWorkspace('Acme');
    const secondKey = (await call('POST', `/sandbox/workspaces/${ws.id}/data-import-keys`)).body.key as string;
    const other = await brazeWorkspace('Globex');
    const config = await call('PUT', '/sandbox/config', { rate_limit: { limit: 2, window_seconds: 1 } });
    expect(config.body.rate_limit).toEqual({ limit: 2, window_seconds: 1 });

    const first = await createCohort(ws.secret, 'cohort-1', 'Cohort');
    const second = await createCohort(secondKey, 'cohort-1', 'Cohort');
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect([first.headers.get('x-ratelimit-remaining'), second.headers.get('x-ratelimit-remaining')]).toEqual([
      '1',
      '0',
    ]);

    const limited = await createCohort(ws.secret, 'cohort-1', 'Cohort');
    expect(limited.status).toBe(429);
    expect(limited.body.message).toBe('Rate limit exceeded');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const resetAt = Number(limited.headers.get('x-ratelimit-reset'));
    expect(resetAt).toBe(Number(first.headers.get('x-ratelimit-reset')));

    // Another Braze workspace has a window of its own, on the same partner key.
    const otherAnswer = await createCohort(other.secret, 'cohort-1', 'Cohort');
    expect([otherAnswer.status, otherAnswer.headers.get('x-ratelimit-remaining')]).toEqual([201, '1']);
    // A refused key is counted against no workspace and carries no figures.
    const unknown = await createCohort('not-a-key', 'cohort-1', 'Cohort');
    expect([unknown.status, unknown.headers.get('x-ratelimit-limit')]).toEqual([401, null]);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, resetAt * 1000 - Date.now()) + 20));
    const afterReset = await createCohort(ws.secret, 'cohort-1', 'Cohort');
    expect(afterReset.status).toBe(201);
    expect(afterReset.headers.get('x-ratelimit-remaining')).toBe('1');
  });

  it('injects errors and 429s as the injected random decides, without applying the call', async () => {
    const draws: number[] = [];
    await start({
      random: () => {
        const draw = draws.shift();
        if (draw === undefined) throw new Error('no scripted draw left');
        return draw;
      },
    });
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }]);
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort')).status).toBe(201);

    await call('PUT', '/sandbox/config', {
      faults: { error_share: 0.5, rate_limited_share: 0.25, error_statuses: [500, 503] },
    });
    const add = () => changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }]);

    draws.push(0.1, 0.9); // an error; the second draw picks the second status
    const failed = await add();
    expect(failed.status).toBe(503);
    expect(failed.body).toEqual({ message: 'Service Unavailable', errors: [expect.any(String)] });

    draws.push(0.6); // within rate_limited_share
    const limited = await add();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    expect(await memberCount(ws.id, 'cohort-1')).toBe(0);

    draws.push(0.8); // no fault
    expect((await add()).status).toBe(201);
    expect(await memberCount(ws.id, 'cohort-1')).toBe(1);

    await call('PUT', '/sandbox/config', { faults: { error_share: 1, error_statuses: [423] } });
    draws.push(0.99);
    const locked = await add();
    expect(locked.status).toBe(423);
    expect(locked.body.message).toBe('Resource locked');

    await call('PUT', '/sandbox/config', { faults: null });
    expect((await add()).status).toBe(201);
    expect(draws).toEqual([]);
  });

  it('refuses a fault config whose shares exceed 1', async () => {
    await start();
    const answer = await call('PUT', '/sandbox/config', { faults: { error_share: 0.8, rate_limited_share: 0.3 } });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toContain('must not exceed 1');
    expect((await call('GET', '/sandbox/config')).body).toMatchObject({ faults: null });
  });
});

describe('maintenance mode', () => {
  it('answers 202 queued, applies nothing until it ends, then applies the calls in order', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }, { external_id: 'ext-2' }]);
    await createCohort(ws.secret, 'cohort-1', 'Old name');
    const on = await call('PUT', '/sandbox/config', { maintenance: true });
    expect(on.body.maintenance).toBe(true);

    const added = await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1', 'ext-2'] }]);
    expect(added.status).toBe(202);
    expect(added.body).toEqual({ message: 'queued' });
    expect(added.headers.get('x-ratelimit-remaining')).not.toBeNull();
    expect((await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-2'], should_remove: true }])).status).toBe(
      202,
    );
    expect((await createCohort(ws.secret, 'cohort-1', 'New name')).status).toBe(202);
    // Queued for a cohort that will not exist when applied: dropped then, as Braze already answered.
    expect((await changeMembers(ws.secret, 'never-created', [{ user_ids: ['ext-1'] }])).status).toBe(202);
    // Still checked at once: keys and validation, and nothing to queue for no changes.
    expect((await changeMembers('not-a-key', 'cohort-1', [{ user_ids: ['ext-1'] }])).status).toBe(401);
    expect((await changeMembers(ws.secret, 'cohort-1', [{ user_ids: [1] }])).status).toBe(400);
    expect((await changeMembers(ws.secret, 'cohort-1', [])).status).toBe(201);

    expect(await memberCount(ws.id, 'cohort-1')).toBe(0);
    expect((await call('GET', `/sandbox/workspaces/${ws.id}/cohorts`)).body.cohorts[0].name).toBe('Old name');
    const during = await call('GET', '/sandbox/requests');
    expect(during.body.queued).toBe(4);
    expect(during.body.requests.map((entry: { status: number }) => entry.status)).toEqual([
      201, 202, 202, 202, 202, 401, 400, 201,
    ]);

    const off = await call('PUT', '/sandbox/config', { maintenance: false });
    expect(off.body.maintenance).toBe(false);
    expect(await memberExternalIds(ws.id, 'cohort-1')).toEqual(['ext-1']);
    expect((await call('GET', `/sandbox/workspaces/${ws.id}/cohorts`)).body.cohorts).toEqual([
      expect.objectContaining({ cohort_id: 'cohort-1', name: 'New name', size: 1 }),
    ]);
    expect((await call('GET', '/sandbox/requests')).body.queued).toBe(0);
    expect((await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-2'] }])).status).toBe(201);
  });
});

describe('calls of one cohort in flight', () => {
  /** Starts a call and waits until the sandbox counts it in flight (it is then held by latency_ms). */
  async function holdOneCall(secret: string, cohortId: string): Promise<{ held: Promise<Answer> }> {
    const held = changeMembers(secret, cohortId, [{ user_ids: ['ext-1'] }]);
    while ((await call('GET', '/sandbox/requests')).body.in_flight === 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Wrapped: an async function returning the promise itself would wait for it.
    return { held };
  }

  it('with lock_on_overlap, answers 423 Resource locked to a second call for a cohort in flight', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }]);
    await createCohort(ws.secret, 'cohort-1', 'One');
    await createCohort(ws.secret, 'cohort-2', 'Two');
    await call('PUT', '/sandbox/config', { lock_on_overlap: true, faults: { latency_ms: 1_000 } });

    const { held } = await holdOneCall(ws.secret, 'cohort-1');
    const [locked, otherCohort] = await Promise.all([
      changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }]),
      changeMembers(ws.secret, 'cohort-2', [{ user_ids: ['ext-1'] }]),
    ]);
    expect(locked.status).toBe(423);
    expect(locked.body.message).toBe('Resource locked');
    expect(locked.headers.get('x-ratelimit-limit')).toBe('250000');
    expect(otherCohort.status).toBe(201);
    expect((await held).status).toBe(201);
    // Once the first call ended, the cohort takes calls again.
    expect((await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }])).status).toBe(201);
    expect((await call('GET', '/sandbox/requests')).body.max_in_flight_per_cohort).toBe(1);
  });

  it('without the lock, admits overlapping calls and reports the most in flight for one cohort', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }]);
    await createCohort(ws.secret, 'cohort-1', 'One');
    await call('PUT', '/sandbox/config', { faults: { latency_ms: 1_000 } });

    const { held } = await holdOneCall(ws.secret, 'cohort-1');
    const second = await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }]);
    expect([second.status, (await held).status]).toEqual([201, 201]);
    expect((await call('GET', '/sandbox/requests')).body.max_in_flight_per_cohort).toBe(2);
  });
});

describe('request log', () => {
  it('records partner calls with their identifier counts and never a secret', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }]);
    await createCohort(ws.secret, 'cohort-1', 'Cohort');
    await changeMembers(ws.secret, 'cohort-1', [
      { user_ids: ['ext-1', 'ext-2'], device_ids: ['dev-1'] },
      { aliases: [{ alias_name: 'a@example.com', alias_label: 'email' }], user_ids: ['ext-3'], should_remove: true },
    ]);
    await createCohort(ws.secret, 'cohort-1', 'Cohort', 'pk-wrong');
    await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ids('ext', 1_001) }]);

    const log = await call('GET', '/sandbox/requests');
    expect(log.body.count).toBe(4);
    expect(log.body.max_identifiers).toBe(1_001);
    expect(log.body.requests).toEqual([
      expect.objectContaining({
        seq: 1,
        path: '/partners/kubit/cohorts',
        status: 201,
        cohort_id: 'cohort-1',
        workspace_id: ws.id,
        identifiers: 0,
      }),
      expect.objectContaining({
        seq: 2,
        path: '/partners/kubit/cohorts/users',
        status: 201,
        additions: 3,
        removals: 2,
        identifiers: 5,
      }),
      expect.objectContaining({ seq: 3, path: '/partners/kubit/cohorts', status: 401, workspace_id: null }),
      expect.objectContaining({
        seq: 4,
        path: '/partners/kubit/cohorts/users',
        status: 400,
        additions: 1_001,
        identifiers: 1_001,
      }),
    ]);
    expect(Date.parse(log.body.requests[0].at)).not.toBeNaN();
    expect(Date.parse(log.body.requests[0].arrived_at)).toBeLessThanOrEqual(Date.parse(log.body.requests[0].at));
    const text = JSON.stringify(log.body);
    for (const secret of [ws.secret, US_KEY, 'pk-wrong']) expect(text).not.toContain(secret);

    const latest = await call('GET', '/sandbox/requests?limit=1');
    expect(latest.body.count).toBe(4);
    expect(latest.body.requests.map((entry: { seq: number }) => entry.seq)).toEqual([4]);
  });

  it('keeps only the latest entries while the running figures cover every call', async () => {
    await start({ requestLogCapacity: 3 });
    const ws = await brazeWorkspace();
    await createCohort(ws.secret, 'cohort-1', 'Cohort');
    await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ids('ext', 10) }]);
    for (let i = 0; i < 3; i++) await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }]);

    const log = await call('GET', '/sandbox/requests');
    expect(log.body.count).toBe(5);
    expect(log.body.max_identifiers).toBe(10);
    expect(log.body.requests.map((entry: { seq: number }) => entry.seq)).toEqual([3, 4, 5]);
    const askedForMore = await call('GET', '/sandbox/requests?limit=10');
    expect(askedForMore.body.requests.map((entry: { seq: number }) => entry.seq)).toEqual([3, 4, 5]);
  });
});

describe('reset', () => {
  it('clears workspaces, keys, users, cohorts, the request log and the config', async () => {
    await start();
    const ws = await brazeWorkspace();
    await registerUsers(ws.id, [{ external_id: 'ext-1' }]);
    await createCohort(ws.secret, 'cohort-1', 'Cohort');
    await call('PUT', '/sandbox/config', {
      rate_limit: { limit: 100, window_seconds: 60 },
      faults: { latency_ms: 1 },
      maintenance: true,
      lock_on_overlap: true,
    });
    expect((await changeMembers(ws.secret, 'cohort-1', [{ user_ids: ['ext-1'] }])).status).toBe(202);

    expect((await call('POST', '/sandbox/reset')).status).toBe(200);

    expect((await call('GET', '/sandbox/config')).body).toEqual({
      rate_limit: { limit: 250_000, window_seconds: 3_600 },
      faults: null,
      maintenance: false,
      lock_on_overlap: false,
    });
    expect((await call('GET', '/sandbox/requests')).body).toEqual({
      count: 0,
      max_identifiers: 0,
      in_flight: 0,
      max_in_flight_per_cohort: 0,
      queued: 0,
      requests: [],
    });
    expect((await call('GET', `/sandbox/workspaces/${ws.id}/cohorts`)).status).toBe(404);
    expect((await createCohort(ws.secret, 'cohort-1', 'Cohort')).status).toBe(401);

    const fresh = await brazeWorkspace();
    await createCohort(fresh.secret, 'cohort-1', 'Cohort');
    await changeMembers(fresh.secret, 'cohort-1', [{ user_ids: ['ext-1'] }]);
    expect(await memberCount(fresh.id, 'cohort-1')).toBe(0);
  });
});

describe('FixedWindowRateLimiter', () => {
  it('opens a window with the first call and reports its end in epoch seconds', () => {
    let now = 10_000_400;
    const limiter = new FixedWindowRateLimiter(2, 5, () => now);
    expect(limiter.take('key')).toMatchObject({ allowed: true, remaining: 1, resetEpochSeconds: 10_006 });
    now += 1_000;
    expect(limiter.take('key')).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.take('key')).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 4 });
    expect(limiter.take('other')).toMatchObject({ allowed: true, remaining: 1 });
    now = 10_005_400;
    expect(limiter.take('key')).toMatchObject({ allowed: true, remaining: 1, resetEpochSeconds: 10_011 });
  });
});

describe('process entry', () => {
  const repoRoot = fileURLToPath(new URL('..', import.meta.url));

  // Every child is killed after its test, pass or fail; each gets a DATA_DIR of its own so it
  // never reads the developer's data/local.env (which `npm start` writes).
  const children = new Set<ReturnType<typeof spawn>>();
  const dirs: string[] = [];
  afterEach(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    children.clear();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function startProcess(env: Record<string, string>) {
    const dataDir = scratchDir('sandbox-process');
    dirs.push(dataDir);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/braze-sandbox/main.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    const exited = once(child, 'exit').then(([code]) => code as number | null);
    return { child, output, exited };
  }

  it('logs its URL (and no key) on start, serves, and exits 0 on SIGTERM', async () => {
    const dir = scratchDir('sandbox-db');
    dirs.push(dir);
    const { child, output, exited } = startProcess({
      BRAZE_SANDBOX_PORT: '0',
      BRAZE_SANDBOX_DB: join(dir, 'nested', 'sandbox.db'),
      BRAZE_PARTNER_API_KEY_US: 'pk-process-secret',
      BRAZE_PARTNER_API_KEY_EU: 'pk-process-eu',
      BRAZE_SANDBOX_RATE_LIMIT_REQUESTS: '7',
      BRAZE_SANDBOX_RATE_LIMIT_WINDOW_S: '60',
    });
    try {
      let url: string | undefined;
      while (!url) {
        url = /listening on (http:\/\/\S+)/.exec(output.stdout)?.[1];
        if (child.exitCode !== null) throw new Error(`sandbox exited early: ${output.stderr}`);
        if (!url) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(output.stdout.trim().split('\n')).toHaveLength(1);
      expect((await fetch(`${url}/sandbox/requests`)).status).toBe(200);
      expect(output.stdout).toContain('region US');
      const post = async (path: string, body: unknown) =>
        fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const workspace = (await (await post('/sandbox/workspaces', { name: 'Process' })).json()) as { id: string };
      const key = (await (await post(`/sandbox/workspaces/${workspace.id}/data-import-keys`, {})).json()) as {
        key: string;
      };
      const users = (partnerApiKey: string) =>
        post('/partners/kubit/cohorts/users', {
          partner_api_key: partnerApiKey,
          client_secret: key.key,
          cohort_id: 'check',
          cohort_changes: [],
        });
      const accepted = await users('pk-process-secret');
      expect([accepted.status, accepted.headers.get('x-ratelimit-limit')]).toEqual([201, '7']);
      expect((await users('pk-process-eu')).status).toBe(401);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(`${output.stdout}${output.stderr}`).not.toContain('pk-process-secret');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses to start without a partner API key and names the variables', async () => {
    const { output, exited } = startProcess({ BRAZE_SANDBOX_PORT: '0', BRAZE_SANDBOX_DB: ':memory:' });
    expect(await exited).toBe(1);
    expect(output.stderr).toContain('BRAZE_PARTNER_API_KEY_US');
  });

  it('refuses to start for a region whose partner key is not set', async () => {
    const { output, exited } = startProcess({
      BRAZE_SANDBOX_PORT: '0',
      BRAZE_SANDBOX_DB: ':memory:',
      BRAZE_SANDBOX_REGION: 'EU',
      BRAZE_PARTNER_API_KEY_US: 'pk-us-only',
    });
    expect(await exited).toBe(1);
    expect(output.stderr).toContain('BRAZE_PARTNER_API_KEY_EU');
    expect(output.stderr).not.toContain('pk-us-only');
  });
});
