import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from './support/engines';
import { sandboxMembers } from './support/expectations';
import { createConnectedWorkspace, type Harness, queryWarehouse, startHarness, waitForRun } from './support/harness';
import { parseMimeMessage } from './support/mime-message';
import { fireSchedule, waitFor } from './support/schedule-firing';
import { type InProcessSmtpServer, startSmtpServer } from './support/smtp-server';

/**
 * The removal guardrail end to end (issue 13): real API and workers on real Redis, the Braze
 * sandbox over HTTP and an SMTP server, on the file's engines (test/postgres/ runs it again
 * with both databases on PostgreSQL).
 */
let smtp: InProcessSmtpServer;
let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;

const keys = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'];

beforeAll(async () => {
  smtp = await startSmtpServer();
  h = await startHarness({ env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, MAIL_BACKOFF_MS: '50' } });
  ws = await createConnectedWorkspace(h, 'Guardrail');
  await h.sandbox('POST', `/sandbox/workspaces/${ws.brazeWorkspaceId}/users/batch`, {
    users: keys.map((k) => ({ external_id: `ext-${k}` })),
  });
});
afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

async function setTier(tier: string, userKeys: string[]) {
  const res = await h.request('POST', '/v1/users/batch', {
    token: ws.token,
    body: { users: userKeys.map((k) => ({ user_key: k, external_id: `ext-${k}`, properties: { tier } })) },
  });
  expect(res.status).toBe(200);
}

async function newCohort(name: string, guardrail?: unknown) {
  const res = await h.request('POST', '/v1/cohorts', {
    token: ws.token,
    body: { name, criteria: { all: [{ property: 'tier', op: 'eq', value: `${name}-gold` }] }, guardrail },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; braze_cohort_id: string; name: string };
}

async function importNow(cohortId: string, body: Record<string, unknown>) {
  const res = await h.request('POST', `/v1/cohorts/${cohortId}/imports`, { token: ws.token, body });
  expect(res.status).toBe(202);
  return waitForRun(h, ws.token, res.body.id);
}

const inBraze = (cohort: { braze_cohort_id: string }) => sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id);
const mailsTo = (address: string) => smtp.received.filter((m) => m.rcptTo.includes(address));
const textOf = (raw: Buffer) => parseMimeMessage(raw).parts.find((p) => p.contentType.startsWith('text/plain'))!.body;

describe('the guardrail setting', () => {
  it('defaults to 50% and 1,000 removals, and is validated on create and PATCH with the field named', async () => {
    const cohort = await newCohort('defaults');
    expect((await h.request('GET', `/v1/cohorts/${cohort.id}`, { token: ws.token })).body.guardrail).toEqual({
      max_removal_percent: 50,
      min_removals: 1000,
    });
    const bad = await h.request('POST', '/v1/cohorts', {
      token: ws.token,
      body: {
        name: 'x',
        criteria: { all: [{ property: 'tier', op: 'eq', value: 'x' }] },
        guardrail: { max_removal_percent: 150 },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('guardrail.max_removal_percent');
    const path = `/v1/cohorts/${cohort.id}`;
    for (const [guardrail, field] of [
      [{ min_removals: -1 }, 'guardrail.min_removals'],
      [{ min_removals: 1.5 }, 'guardrail.min_removals'],
      [{ max: 1 }, 'guardrail.max'],
      ['off', 'guardrail'],
    ] as const) {
      const res = await h.request('PATCH', path, { token: ws.token, body: { guardrail } });
      expect(res.status, JSON.stringify(guardrail)).toBe(400);
      expect(res.body.error.details.issues[0].path).toBe(field);
    }
    const patched = await h.request('PATCH', path, { token: ws.token, body: { guardrail: { min_removals: 10 } } });
    expect(patched.status).toBe(200);
    expect(patched.body.guardrail).toEqual({ max_removal_percent: 50, min_removals: 10 });
    const optOut = await h.request('POST', `${path}/imports`, { token: ws.token, body: { guardrail: 'no' } });
    expect(optOut.status).toBe(400);
    expect(optOut.body.error.details.issues[0].path).toBe('guardrail');
  });
});

describe('a run that would remove too much', () => {
  it('is held with nothing sent and the recipients told why; approve sends it as planned', async () => {
    const cohort = await newCohort('held', { max_removal_percent: 50, min_removals: 2 });
    await setTier('held-gold', keys);
    const first = await importNow(cohort.id, {});
    expect(first).toMatchObject({ status: 'succeeded', added: 6, planned: { added: 6, removed: 0, synced_before: 0 } });

    await setTier('silver', ['g1', 'g2', 'g3', 'g4']);
    const held = await importNow(cohort.id, { recipients: ['ops@example.com'] });
    expect(held).toMatchObject({
      status: 'held',
      added: 0,
      removed: 0,
      finished_at: null,
      planned: { added: 0, removed: 4, synced_before: 6 },
    });
    expect(held.hold_reason).toMatch(/remove 4 of the 6 .*66\.7%/);
    expect((await inBraze(cohort)).size).toBe(6);

    const mail = await waitFor('the hold email', () => mailsTo('ops@example.com')[0]);
    expect(parseMimeMessage(mail.raw).header('subject')).toMatch(/"held" held for approval: would remove 4 of 6/);
    const text = textOf(mail.raw);
    expect(text).toMatch(/Members in Braze now:\s+6/);
    expect(text).toMatch(/Would remove:\s+4/);
    expect(text).toContain(`/v1/imports/${held.id}/approve`);

    // A held run holds its cohort: no second run while it waits.
    const second = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} });
    expect(second.status).toBe(409);
    expect(second.body.error.details.run_id).toBe(held.id);

    const approved = await h.request('POST', `/v1/imports/${held.id}/approve`, { token: ws.token });
    expect(approved.status).toBe(200);
    const done = await waitForRun(h, ws.token, held.id);
    expect(done).toMatchObject({ status: 'succeeded', removed: 4, added: 0, hold_reason: held.hold_reason });
    expect(await inBraze(cohort)).toEqual(new Set(['external_id:ext-g5', 'external_id:ext-g6']));
    const completion = await waitFor('the completion email', () => mailsTo('ops@example.com')[1]);
    expect(parseMimeMessage(completion.raw).header('subject')).toMatch(/succeeded/);

    const again = await h.request('POST', `/v1/imports/${held.id}/approve`, { token: ws.token });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('run_not_held');
    expect(mailsTo('ops@example.com')).toHaveLength(2);
  });

  it('cancel drops a held run; a one-time import with guardrail: false goes through', async () => {
    const cohort = await newCohort('dropped', { max_removal_percent: 10, min_removals: 1 });
    await setTier('dropped-gold', keys);
    expect((await importNow(cohort.id, {})).status).toBe('succeeded');
    await setTier('silver', ['g1', 'g2']);

    const held = await importNow(cohort.id, {});
    expect(held.status).toBe('held');
    const cancelled = await h.request('POST', `/v1/imports/${held.id}/cancel`, { token: ws.token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'failed', error: 'Cancelled by request.' });
    expect((await inBraze(cohort)).size).toBe(6);

    const forced = await importNow(cohort.id, { guardrail: false });
    expect(forced).toMatchObject({ status: 'succeeded', removed: 2, guardrail: false, hold_reason: null });
    expect((await inBraze(cohort)).size).toBe(4);
  });

  it('holds scheduled runs too, and a firing while one is held is recorded as skipped', async () => {
    const cohort = await newCohort('scheduled', { max_removal_percent: 50, min_removals: 1 });
    await setTier('scheduled-gold', keys);
    const path = `/v1/cohorts/${cohort.id}/schedule`;
    const put = await h.request('PUT', path, {
      token: ws.token,
      body: { cadence: 'daily', time: '06:00', recipients: ['sched@example.com'] },
    });
    expect(put.status).toBe(200);
    const manual = await h.request('POST', `${path}/run`, { token: ws.token });
    expect((await waitForRun(h, ws.token, manual.body.id)).status).toBe('succeeded');
    await setTier('silver', keys);

    await fireSchedule(h, cohort.id);
    const history = async () => (await h.request('GET', `${path}/history`, { token: ws.token })).body.data;
    const held = await waitFor('the held scheduled run', async () =>
      (await history()).find((r: { status: string }) => r.status === 'held'),
    );
    expect(held).toMatchObject({ trigger: 'scheduled', planned: { removed: 6, synced_before: 6 } });
    await waitFor('the hold email', () => mailsTo('sched@example.com').find((m) => textOf(m.raw).includes(held.id)));

    await fireSchedule(h, cohort.id);
    const skipped = await waitFor('the skipped firing', async () =>
      (await history()).find((r: { status: string }) => r.status === 'skipped'),
    );
    expect(skipped.error).toContain(held.id);
    expect((await inBraze(cohort)).size).toBe(6);
  });
});

describe('GET /v1/cohorts/:id/plan', () => {
  /** The warehouse's working sets: run keys and the rows under them. */
  const workingSets = async () =>
    queryWarehouse<{ keys: number; members: number; changes: number }>(
      h,
      `SELECT (SELECT count(*) FROM run_keys) AS keys, (SELECT count(*) FROM cohort_run_members) AS members,
              (SELECT count(*) FROM cohort_run_changes) AS changes`,
    ).then(([r]) => ({ keys: Number(r!.keys), members: Number(r!.members), changes: Number(r!.changes) }));

  async function plan(cohortId: string) {
    const res = await h.request('GET', `/v1/cohorts/${cohortId}/plan`, { token: ws.token });
    expect(res.status).toBe(200);
    return res.body;
  }

  it('answers what a run would do now, with the guardrail’s verdict, sending nothing and leaving no working set', async () => {
    const cohort = await newCohort('planned', { max_removal_percent: 50, min_removals: 2 });
    await setTier('planned-gold', keys);
    const anonymous = await h.request('POST', '/v1/users/batch', {
      token: ws.token,
      body: { users: [{ user_key: 'planned-anon', properties: { tier: 'planned-gold' } }] },
    });
    expect(anonymous.status).toBe(200);
    const planJobsBefore = (await h.ctx.queues.planCohort.getJobCounts('completed')).completed!;

    expect(await plan(cohort.id)).toEqual({
      cohort_id: cohort.id,
      cohort_size: 7,
      unmatchable: 1,
      additions: 6,
      removals: 0,
      synced_before: 0,
      guardrail: { max_removal_percent: 50, min_removals: 2, would_hold: false, reason: null },
    });
    // It ran in a worker (a job), not on web's event loop.
    expect((await h.ctx.queues.planCohort.getJobCounts('completed')).completed).toBe(planJobsBefore + 1);
    // Not even registered in Braze: a plan sends nothing.
    const brazeCohorts = await h.sandbox('GET', `/sandbox/workspaces/${ws.brazeWorkspaceId}/cohorts`);
    expect(brazeCohorts.cohorts.map((c: { cohort_id: string }) => c.cohort_id)).not.toContain(cohort.braze_cohort_id);

    const run = await importNow(cohort.id, {});
    expect(run).toMatchObject({ status: 'succeeded', added: 6, cohort_size: 7 });
    // Its working set is dropped once it settles; what is left belongs to other runs (a held one).
    await waitFor('the run to settle', async () =>
      (await queryWarehouse(h, 'SELECT 1 FROM run_keys WHERE run_id = $1', [run.id])).length === 0 ? true : undefined,
    );
    const before = await workingSets();

    await setTier('silver', ['g1', 'g2', 'g3', 'g4']);
    const planned = await plan(cohort.id);
    expect(planned).toMatchObject({ cohort_size: 3, unmatchable: 1, additions: 0, removals: 4, synced_before: 6 });
    expect(planned.guardrail.would_hold).toBe(true);
    expect(planned.guardrail.reason).toMatch(/remove 4 of the 6/);
    // Nothing sent, nothing recorded as synced: asking again answers the same, and a run agrees.
    expect(await plan(cohort.id)).toEqual(planned);
    expect(await workingSets()).toEqual(before);
    expect((await inBraze(cohort)).size).toBe(6);
    const held = await importNow(cohort.id, {});
    expect(held).toMatchObject({ status: 'held', planned: { added: 0, removed: 4, synced_before: 6 } });
    expect((await h.request('POST', `/v1/imports/${held.id}/cancel`, { token: ws.token })).status).toBe(200);
  });

  it('answers 404 for an unknown cohort', async () => {
    const res = await h.request('GET', '/v1/cohorts/00000000-0000-4000-8000-000000000000/plan', { token: ws.token });
    expect(res.status).toBe(404);
  });
});
