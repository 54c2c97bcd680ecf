import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createContext } from '../src/context';
import { nextRunAt } from '../src/domain/cadence';
import { schedulerIdFor } from '../src/services/schedule-reconciler';
import { startWorkers } from '../workers/start-workers';
import { parseMimeMessage } from './support/mime-message';
import { sandboxMembers } from './support/expectations';
import { createConnectedWorkspace, type Harness, startHarness, waitForRun } from './support/harness';
import { fireSchedule, waitFor } from './support/schedule-firing';
import { type InProcessSmtpServer, startSmtpServer } from './support/smtp-server';
import { withDocumentedResponses } from './support/openapi-validate';

/** Schedules end to end: API, reconciliation into BullMQ job schedulers, firing, email. */
let smtp: InProcessSmtpServer;
let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
/** The next N DATA commands are refused with 451 (then accepted). */
let refuseNext = 0;

const users = [
  { user_key: 's1', external_id: 'sched-1', properties: { tier: 'gold' } },
  { user_key: 's2', external_id: 'sched-2', properties: { tier: 'gold' } },
  { user_key: 's3', device_id: 'sched-dev-3', properties: { tier: 'gold' } },
  { user_key: 's4', properties: { tier: 'gold' } },
];

beforeAll(async () => {
  smtp = await startSmtpServer({
    faults: {
      data: () => (refuseNext-- > 0 ? { code: 451, message: 'Try again later' } : undefined),
    },
  });
  h = withDocumentedResponses(
    await startHarness({ env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, MAIL_BACKOFF_MS: '50' } }),
  );
  ws = await createConnectedWorkspace(h, 'Scheduler');
  await h.request('POST', '/v1/users/batch', { token: ws.token, body: { users } });
  await h.sandbox('POST', `/sandbox/workspaces/${ws.brazeWorkspaceId}/users/batch`, {
    users: [{ external_id: 'sched-1' }, { external_id: 'sched-2' }, { device_ids: ['sched-dev-3'] }],
  });
});
afterAll(async () => {
  await h?.close();
  await smtp?.close();
});

async function newCohort(name: string) {
  const res = await h.request('POST', '/v1/cohorts', {
    token: ws.token,
    body: { name, criteria: { all: [{ property: 'tier', op: 'eq', value: 'gold' }] } },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; braze_cohort_id: string; name: string };
}

const schedulers = () => h.ctx.queues.scheduledImport.getJobSchedulers(0, -1);

const fire = (cohortId: string) => fireSchedule(h, cohortId);

const mailsTo = (address: string) => smtp.received.filter((m) => m.rcptTo.includes(address));

describe('the schedule resource', () => {
  it('creates, reads, pauses, resumes, lists and deletes, mirroring each change in Redis', async () => {
    const cohort = await newCohort('Crud');
    const put = await h.request('PUT', `/v1/cohorts/${cohort.id}/schedule`, {
      token: ws.token,
      body: {
        cadence: 'weekly',
        weekday: 'monday',
        time: '09:30',
        timezone: 'America/New_York',
        recipients: ['a@example.com'],
      },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      cohort_id: cohort.id,
      cadence: 'weekly',
      weekday: 1,
      time: '09:30',
      timezone: 'America/New_York',
      enabled: true,
    });
    expect(put.body.next_run_at).toMatch(/T09:30:00-0[45]:00$/);
    expect(new Date(put.body.next_run_at).getTime()).toBeGreaterThan(Date.now());
    const mine = async () => (await schedulers()).find((s) => s.key === schedulerIdFor(cohort.id));
    expect(await mine()).toMatchObject({ pattern: '30 9 * * 1', tz: 'America/New_York' });

    expect((await h.request('GET', `/v1/cohorts/${cohort.id}/schedule`, { token: ws.token })).body).toEqual(put.body);

    const paused = await h.request('PATCH', `/v1/cohorts/${cohort.id}/schedule`, {
      token: ws.token,
      body: { enabled: false },
    });
    expect(paused.body).toMatchObject({ enabled: false, next_run_at: null, weekday: 1 });
    expect(await mine()).toBeUndefined();
    const resumed = await h.request('PATCH', `/v1/cohorts/${cohort.id}/schedule`, {
      token: ws.token,
      body: { enabled: true, time: '10:00' },
    });
    expect(resumed.body).toMatchObject({ enabled: true, time: '10:00' });
    expect(await mine()).toMatchObject({ pattern: '0 10 * * 1' });

    const other = await newCohort('Crud 2');
    await h.request('PUT', `/v1/cohorts/${other.id}/schedule`, {
      token: ws.token,
      body: { cadence: 'daily', time: '00:00' },
    });
    const list = await h.request('GET', '/v1/schedules', { token: ws.token });
    const ids = list.body.data.map((s: { cohort_id: string }) => s.cohort_id);
    expect(ids).toEqual(expect.arrayContaining([cohort.id, other.id]));
    const times = list.body.data.map((s: { next_run_at: string | null }) =>
      s.next_run_at ? Date.parse(s.next_run_at) : Infinity,
    );
    expect(times).toEqual([...times].sort((a, b) => a - b));

    expect((await h.request('DELETE', `/v1/cohorts/${cohort.id}/schedule`, { token: ws.token })).status).toBe(204);
    expect((await h.request('GET', `/v1/cohorts/${cohort.id}/schedule`, { token: ws.token })).status).toBe(404);
    expect(await mine()).toBeUndefined();

    // Deleting the cohort removes its schedule and scheduler too.
    expect((await h.request('DELETE', `/v1/cohorts/${other.id}`, { token: ws.token })).status).toBe(204);
    expect((await schedulers()).find((s) => s.key === schedulerIdFor(other.id))).toBeUndefined();
  });

  it.each([
    [{ cadence: 'daily', time: '09:00', timezone: 'Mars/Olympus' }, 'timezone'],
    [{ cadence: 'daily', time: '24:00' }, 'time'],
    [{ cadence: 'daily', time: '9:5' }, 'time'],
    [{ cadence: 'weekly', time: '09:00', weekday: 7 }, 'weekday'],
    [{ cadence: 'weekly', time: '09:00' }, 'weekday'],
    [{ cadence: 'monthly', time: '09:00', day_of_month: 31 }, 'last'],
    [{ cadence: 'daily', time: '09:00', weekday: 1 }, 'weekday'],
    [{ cadence: 'daily', time: '09:00', recipients: ['not-an-email'] }, 'recipients[0]'],
    [{ cadence: 'daily', time: '09:00', recipients: ['a@x.io', 'A@x.io'] }, 'recipients[1]'],
    [{ cadence: 'daily', time: '09:00', recipients: Array.from({ length: 21 }, (_, i) => `r${i}@x.io`) }, 'recipients'],
    [{ cadence: 'hourly', time: '09:00' }, 'time'],
    [{ cadence: 'hourly', every_hours: 5 }, 'every_hours'],
    [{ cadence: 'hourly', minute: 60 }, 'minute'],
    [{ cadence: 'daily', time: '09:00', notify: 'sometimes' }, 'notify'],
  ])('PUT %j → 400 naming %s', async (body, field) => {
    const cohort = await newCohort('Bad input');
    const res = await h.request('PUT', `/v1/cohorts/${cohort.id}/schedule`, { token: ws.token, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(`${res.body.error.message} ${JSON.stringify(res.body.error.details)}`).toContain(field);
    expect((await h.request('GET', `/v1/cohorts/${cohort.id}/schedule`, { token: ws.token })).status).toBe(404);
  });
});

describe('one scheduler per cohort', () => {
  it('20 concurrent PUTs leave exactly one scheduler, matching the database; restarts change nothing; a flush is repaired', async () => {
    const cohort = await newCohort('Contended');
    const puts = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.request('PUT', `/v1/cohorts/${cohort.id}/schedule`, {
          token: ws.token,
          body: { cadence: 'daily', time: `0${i % 10}:${String(i).padStart(2, '0')}`, timezone: 'Europe/Berlin' },
        }),
      ),
    );
    expect(puts.every((p) => p.status === 200)).toBe(true);
    const stored = (await h.request('GET', `/v1/cohorts/${cohort.id}/schedule`, { token: ws.token })).body;
    const mine = (await schedulers()).filter((s) => s.key.includes(cohort.id));
    expect(mine).toHaveLength(1);
    const [hh, mm] = stored.time.split(':').map(Number);
    expect(mine[0]).toMatchObject({ pattern: `${mm} ${hh} * * *`, tz: 'Europe/Berlin' });

    // A web restart reconciles from the database: twice in a row, nothing to do.
    const before = JSON.stringify(await schedulers());
    for (let i = 0; i < 2; i++) {
      const web = await createContext(h.config, 'web-restart', h.ctx.log);
      const report = await web.reconciler.reconcileAll();
      await web.close();
      expect(report).toMatchObject({ added: 0, updated: 0, removed: 0 });
    }
    expect(JSON.stringify(await schedulers())).toBe(before);

    // Schedulers flushed from Redis (and an orphan left behind) are repaired on the next start.
    const count = (await schedulers()).length;
    for (const s of await schedulers()) await h.ctx.queues.scheduledImport.removeJobScheduler(s.key);
    await h.ctx.queues.scheduledImport.upsertJobScheduler(
      'cohort-schedule-orphan',
      { pattern: '0 0 * * *' },
      { name: 'x', data: {} },
    );
    const web = await createContext(h.config, 'web-restart', h.ctx.log);
    const report = await web.reconciler.reconcileAll();
    await web.close();
    expect(report).toMatchObject({ added: count, removed: 1 });
    expect((await schedulers()).filter((s) => s.key.includes(cohort.id))).toHaveLength(1);
    expect((await schedulers()).find((s) => s.key === 'cohort-schedule-orphan')).toBeUndefined();
  });
});

describe('a schedule fires', () => {
  it('runs the import, updates Braze, records the run in the history and emails the recipients', async () => {
    const cohort = await newCohort('Daily gold');
    await h.request('PUT', `/v1/cohorts/${cohort.id}/schedule`, {
      token: ws.token,
      body: {
        cadence: 'daily',
        time: '06:15',
        timezone: 'Australia/Sydney',
        recipients: ['ops@example.com', 'cmo@example.com'],
      },
    });
    const firedAt = await fire(cohort.id);
    const history = await waitFor('the scheduled run', async () => {
      const res = await h.request('GET', `/v1/cohorts/${cohort.id}/schedule/history`, { token: ws.token });
      const run = res.body.data[0];
      return run && run.status !== 'queued' && run.status !== 'running' ? run : undefined;
    });
    expect(history).toMatchObject({
      trigger: 'scheduled',
      status: 'succeeded',
      cohort_size: 4,
      members_imported: 3,
      added: 3,
      unmatchable: 1,
    });
    expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(
      new Set(['external_id:sched-1', 'external_id:sched-2', 'device_id:sched-dev-3']),
    );

    const mail = await waitFor('the email', () => mailsTo('ops@example.com')[0]);
    expect(mail.rcptTo.sort()).toEqual(['cmo@example.com', 'ops@example.com']);
    const message = parseMimeMessage(mail.raw);
    expect(message.header('subject')).toMatch(/Daily gold.*succeeded/);
    const text = message.parts.find((p) => p.contentType.startsWith('text/plain'))!.body;
    expect(text).toContain(history.id);
    expect(text).toMatch(/Added:?\s+3/i);
    expect(text).toMatch(/Unmatchable:?\s+1/i);
    expect(text).toContain('Australia/Sydney');
    expect(message.parts.some((p) => p.contentType.startsWith('text/html'))).toBe(true);

    // The scheduler has its next firing lined up, a day later.
    const next = await waitFor('the next firing', async () => {
      const s = await h.ctx.queues.scheduledImport.getJobScheduler(schedulerIdFor(cohort.id));
      return s?.next && s.next > firedAt ? s.next : undefined;
    });
    expect(next - firedAt).toBeGreaterThanOrEqual(23 * 3600_000);
    expect(next - firedAt).toBeLessThanOrEqual(25 * 3600_000);
  });
});

describe('manual trigger', () => {
  it('answers 409 while a run is active, then records a manual run in the history', async () => {
    const cohort = await newCohort('Manual');
    await h.request('PUT', `/v1/cohorts/${cohort.id}/schedule`, {
      token: ws.token,
      body: { cadence: 'monthly', day_of_month: 'last', time: '23:00' },
    });
    // Hold the cohort busy: a queued run whose job is not taken yet.
    await h.workers!.close();
    try {
      const first = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} });
      expect(first.status).toBe(202);
      const busy = await h.request('POST', `/v1/cohorts/${cohort.id}/schedule/run`, { token: ws.token });
      expect(busy.status).toBe(409);
      expect(busy.body.error.details.run_id).toBe(first.body.id);
    } finally {
      h.workers = await startWorkers(h.ctx);
    }
    await waitFor('the one-time run', async () => {
      const res = await h.request('GET', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token });
      return res.body.data.every((r: { status: string }) => r.status !== 'queued' && r.status !== 'running')
        ? true
        : undefined;
    });
    const manual = await h.request('POST', `/v1/cohorts/${cohort.id}/schedule/run`, { token: ws.token });
    expect(manual.status).toBe(202);
    expect(manual.body.trigger).toBe('manual');
    const done = await waitForRun(h, ws.token, manual.body.id);
    expect(done.status).toBe('succeeded');
    const history = await h.request('GET', `/v1/cohorts/${cohort.id}/schedule/history`, { token: ws.token });
    // The one-time import is not the schedule's; the manual run is.
    expect(history.body.data.map((r: { id: string; trigger: string }) => [r.id, r.trigger])).toEqual([
      [manual.body.id, 'manual'],
    ]);
  });
});

describe('completion email', () => {
  it('is sent exactly once when the SMTP server refuses the first attempts', async () => {
    const cohort = await newCohort('Retry mail');
    refuseNext = 2;
    const res = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, {
      token: ws.token,
      body: { recipients: ['retry@example.com'] },
    });
    const run = await waitForRun(h, ws.token, res.body.id);
    expect(run.status).toBe('succeeded');
    await waitFor('the email', () => mailsTo('retry@example.com')[0]);
    const job = await h.ctx.queues.notifications.getJob(`notify-${run.id}`);
    expect(job?.attemptsMade).toBeGreaterThanOrEqual(2);
    // A duplicate enqueue (e.g. a finalize retried) sends nothing more.
    const { enqueueRunNotification } = await import('../src/queue/producers');
    await h.ctx.queues.notifications.remove(`notify-${run.id}`);
    await enqueueRunNotification(h.ctx.queues, run.id, { attempts: 1, backoffMs: 10 });
    await waitFor('the duplicate job to finish', async () =>
      (await h.ctx.queues.notifications.getJob(`notify-${run.id}`))?.finishedOn ? true : undefined,
    );
    expect(mailsTo('retry@example.com')).toHaveLength(1);
  });

  it('tells the recipients why a run failed', async () => {
    const other = await createConnectedWorkspace(h, 'Broken key');
    await h.request('POST', '/v1/users/batch', { token: other.token, body: { users } });
    const cohort = await h.request('POST', '/v1/cohorts', {
      token: other.token,
      body: { name: 'Doomed', criteria: { all: [{ property: 'tier', op: 'eq', value: 'gold' }] } },
    });
    await h.request('PUT', `/v1/cohorts/${cohort.body.id}/schedule`, {
      token: other.token,
      body: { cadence: 'daily', time: '07:00', recipients: ['alerts@example.com'] },
    });
    await h.sandbox(
      'POST',
      `/sandbox/workspaces/${other.brazeWorkspaceId}/data-import-keys/${other.dataImportKeyId}/invalidate`,
      {},
    );
    const started = await h.request('POST', `/v1/cohorts/${cohort.body.id}/schedule/run`, { token: other.token });
    const run = await waitForRun(h, other.token, started.body.id);
    expect(run.status).toBe('failed');
    const mail = await waitFor('the failure email', () => mailsTo('alerts@example.com')[0]);
    const message = parseMimeMessage(mail.raw);
    expect(message.header('subject')).toMatch(/Doomed.*failed/);
    const text = message.parts.find((p) => p.contentType.startsWith('text/plain'))!.body;
    expect(text).toMatch(/data import key/);
    expect(text).not.toContain(other.dataImportKey);
  });
});

describe('time zones (issue 13)', () => {
  it.each(['Asia/Kolkata', 'Europe/Kyiv', 'America/Nuuk', 'Asia/Kathmandu', 'Asia/Calcutta'])(
    '%s comes back as sent, from PUT, GET, the list and the job scheduler',
    async (timezone) => {
      const cohort = await newCohort(`Zone ${timezone}`);
      const path = `/v1/cohorts/${cohort.id}/schedule`;
      const put = await h.request('PUT', path, {
        token: ws.token,
        body: { cadence: 'daily', time: '09:00', timezone },
      });
      expect(put.status).toBe(200);
      expect(put.body.timezone).toBe(timezone);
      expect((await h.request('GET', path, { token: ws.token })).body.timezone).toBe(timezone);
      const list = await h.request('GET', '/v1/schedules', { token: ws.token });
      expect(list.body.data.find((s: { cohort_id: string }) => s.cohort_id === cohort.id).timezone).toBe(timezone);
      const scheduler = await h.ctx.queues.scheduledImport.getJobScheduler(schedulerIdFor(cohort.id));
      expect(scheduler?.tz).toBe(timezone);
    },
  );

  it('a schedule whose next run cannot be computed reads as null and is logged, never a 500', async () => {
    const cohort = await newCohort('Unknowable');
    await h.request('PUT', `/v1/cohorts/${cohort.id}/schedule`, {
      token: ws.token,
      body: { cadence: 'daily', time: '09:00' },
    });
    // A zone this runtime's tz data does not know, as a hand edit or an older runtime could leave.
    const schedulesTable = h.ctx.db.tables.schedules;
    await h.ctx.db
      .update(schedulesTable)
      .set({ timezone: 'Mars/Olympus' })
      .where(eq(schedulesTable.cohortId, cohort.id));
    const one = await h.request('GET', `/v1/cohorts/${cohort.id}/schedule`, { token: ws.token });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ timezone: 'Mars/Olympus', enabled: true, next_run_at: null });
    const list = await h.request('GET', '/v1/schedules', { token: ws.token });
    expect(list.status).toBe(200);
    expect(list.body.data.at(-1)).toMatchObject({ cohort_id: cohort.id, next_run_at: null });
    expect(h.logs.some((line) => line.includes('schedule_next_run') && line.includes(cohort.id))).toBe(true);
    // Fixing it with a PATCH brings the next run back.
    const fixed = await h.request('PATCH', `/v1/cohorts/${cohort.id}/schedule`, {
      token: ws.token,
      body: { timezone: 'Asia/Kolkata' },
    });
    expect(fixed.body.next_run_at).toMatch(/T09:00:00\+05:30$/);
  });
});

describe('hourly schedules', () => {
  it('validates, mirrors, fires every N hours from local midnight and mails only failures when asked', async () => {
    const other = await createConnectedWorkspace(h, 'Hourly');
    await h.request('POST', '/v1/users/batch', { token: other.token, body: { users } });
    await h.sandbox('POST', `/sandbox/workspaces/${other.brazeWorkspaceId}/users/batch`, {
      users: [{ external_id: 'sched-1' }],
    });
    const cohort = await h.request('POST', '/v1/cohorts', {
      token: other.token,
      body: { name: 'Every three hours', criteria: { all: [{ property: 'tier', op: 'eq', value: 'gold' }] } },
    });
    const path = `/v1/cohorts/${cohort.body.id}/schedule`;
    const put = await h.request('PUT', path, {
      token: other.token,
      body: {
        cadence: 'hourly',
        minute: 20,
        every_hours: 3,
        timezone: 'Asia/Kathmandu',
        recipients: ['hourly@example.com'],
        notify: 'failures',
      },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      cadence: 'hourly',
      minute: 20,
      every_hours: 3,
      timezone: 'Asia/Kathmandu',
      notify: 'failures',
    });
    expect(put.body).not.toHaveProperty('time');
    // 00:20, 03:20, … 21:20 Kathmandu time (UTC+05:45).
    expect(put.body.next_run_at).toMatch(/T(00|03|06|09|12|15|18|21):20:00\+05:45$/);
    expect(await h.ctx.queues.scheduledImport.getJobScheduler(schedulerIdFor(cohort.body.id))).toMatchObject({
      pattern: '20 */3 * * *',
      tz: 'Asia/Kathmandu',
    });

    const firedAt = await fire(cohort.body.id);
    const run = await waitFor('the hourly run', async () => {
      const res = await h.request('GET', `${path}/history`, { token: other.token });
      const first = res.body.data[0];
      return first && first.status !== 'queued' && first.status !== 'running' ? first : undefined;
    });
    expect(run).toMatchObject({ trigger: 'scheduled', status: 'succeeded', added: 3 });
    // Succeeded under notify "failures": its run is settled and no email was queued for it.
    await waitFor('finalize to settle the run', async () =>
      (await h.ctx.queues.finalizeRun.getJob(`finalize-${run.id}`))?.finishedOn ? true : undefined,
    );
    expect(await h.ctx.queues.notifications.getJob(`notify-${run.id}`)).toBeUndefined();

    // The next firing is the next slot after the one that fired (the job was promoted early).
    const spec = { cadence: 'hourly', minute: 20, every_hours: 3, timezone: 'Asia/Kathmandu' } as const;
    const next = await waitFor('the next firing', async () => {
      const s = await h.ctx.queues.scheduledImport.getJobScheduler(schedulerIdFor(cohort.body.id));
      return s?.next && s.next > firedAt ? s.next : undefined;
    });
    expect(next).toBe(nextRunAt(spec, new Date(firedAt)).getTime());
    expect(next - firedAt).toBe(3 * 3600_000);

    // A failed run is mailed.
    await h.sandbox(
      'POST',
      `/sandbox/workspaces/${other.brazeWorkspaceId}/data-import-keys/${other.dataImportKeyId}/invalidate`,
      {},
    );
    const manual = await h.request('POST', `${path}/run`, { token: other.token });
    expect((await waitForRun(h, other.token, manual.body.id)).status).toBe('failed');
    const mail = await waitFor('the failure email', () => mailsTo('hourly@example.com')[0]);
    expect(parseMimeMessage(mail.raw).header('subject')).toMatch(/Every three hours.*failed/);
    expect(mailsTo('hourly@example.com')).toHaveLength(1);
  });

  it('PATCH switches daily → hourly and back', async () => {
    const cohort = await newCohort('Switching');
    const path = `/v1/cohorts/${cohort.id}/schedule`;
    await h.request('PUT', path, { token: ws.token, body: { cadence: 'daily', time: '09:00' } });
    const hourly = await h.request('PATCH', path, { token: ws.token, body: { cadence: 'hourly', minute: 5 } });
    expect(hourly.status).toBe(200);
    expect(hourly.body).toMatchObject({ cadence: 'hourly', minute: 5, every_hours: 1, notify: 'always' });
    expect(hourly.body).not.toHaveProperty('time');
    expect(await h.ctx.queues.scheduledImport.getJobScheduler(schedulerIdFor(cohort.id))).toMatchObject({
      pattern: '5 * * * *',
    });
    const missing = await h.request('PATCH', path, { token: ws.token, body: { cadence: 'weekly' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['time', 'weekday']);
    const weekly = await h.request('PATCH', path, {
      token: ws.token,
      body: { cadence: 'weekly', time: '08:00', weekday: 'friday' },
    });
    expect(weekly.body).toMatchObject({ cadence: 'weekly', time: '08:00', weekday: 5 });
    expect(weekly.body).not.toHaveProperty('minute');
  });
});

describe('a firing while a run is active', () => {
  it('is recorded in the history as skipped, with the active run named, and mails no one', async () => {
    const cohort = await newCohort('Busy');
    const path = `/v1/cohorts/${cohort.id}/schedule`;
    await h.request('PUT', path, {
      token: ws.token,
      body: { cadence: 'hourly', every_hours: 2, recipients: ['busy@example.com'] },
    });
    // Hold the cohort busy: no worker takes import runs while the queue is paused.
    await h.ctx.queues.importRun.pause();
    let active: { id: string };
    try {
      const started = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: ws.token, body: {} });
      expect(started.status).toBe(202);
      active = started.body;
      await fire(cohort.id);
      const skipped = await waitFor('the skipped firing', async () => {
        const res = await h.request('GET', `${path}/history`, { token: ws.token });
        return res.body.data.find((r: { status: string }) => r.status === 'skipped');
      });
      expect(skipped).toMatchObject({ trigger: 'scheduled', status: 'skipped', cohort_size: null, added: 0 });
      expect(skipped.error).toContain(active.id);
      expect(skipped.finished_at).toBe(skipped.created_at);
      expect((await h.request('GET', `/v1/imports/${skipped.id}`, { token: ws.token })).body.status).toBe('skipped');
      expect(await h.ctx.queues.notifications.getJob(`notify-${skipped.id}`)).toBeUndefined();
    } finally {
      await h.ctx.queues.importRun.resume();
    }
    expect((await waitForRun(h, ws.token, active.id)).status).toBe('succeeded');
    // The skipped row does not block the cohort: the next manual run starts.
    const manual = await h.request('POST', `${path}/run`, { token: ws.token });
    expect(manual.status).toBe(202);
    expect((await waitForRun(h, ws.token, manual.body.id)).status).toBe('succeeded');
    const history = await h.request('GET', `${path}/history`, { token: ws.token });
    expect(history.body.data.map((r: { trigger: string; status: string }) => `${r.trigger} ${r.status}`)).toEqual([
      'manual succeeded',
      'scheduled skipped',
    ]);
  });
});
