import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectedWorkspace, type Harness, startHarness } from './support/harness';

/**
 * A schedule firing on BullMQ's own clock, nothing promoted: due at the next whole minute, so
 * this file waits up to about a minute (it runs beside the others).
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('a schedule due in under a minute', () => {
  it('fires at its minute and records a scheduled run', { timeout: 120_000 }, async () => {
    const ws = await createConnectedWorkspace(h, 'Clock');
    await h.request('POST', '/v1/users/batch', {
      token: ws.token,
      body: { users: [{ user_key: 'c1', external_id: 'clock-1', properties: { on: true } }] },
    });
    const cohort = await h.request('POST', '/v1/cohorts', {
      token: ws.token,
      body: { name: 'Clockwork', criteria: { all: [{ property: 'on', op: 'eq', value: true }] } },
    });
    // The next minute in Asia/Kolkata (UTC+05:30), at least 5 seconds away.
    const due = new Date(Math.ceil((Date.now() + 5_000) / 60_000) * 60_000);
    const local = new Date(due.getTime() + 330 * 60_000);
    const time = `${String(local.getUTCHours()).padStart(2, '0')}:${String(local.getUTCMinutes()).padStart(2, '0')}`;
    const put = await h.request('PUT', `/v1/cohorts/${cohort.body.id}/schedule`, {
      token: ws.token,
      body: { cadence: 'daily', time, timezone: 'Asia/Kolkata' },
    });
    expect(put.status).toBe(200);
    expect(Date.parse(put.body.next_run_at)).toBe(due.getTime());

    let run: any;
    while (!run || run.status === 'queued' || run.status === 'running') {
      await new Promise((r) => setTimeout(r, 200));
      const history = await h.request('GET', `/v1/cohorts/${cohort.body.id}/schedule/history`, { token: ws.token });
      run = history.body.data[0];
    }
    expect(run).toMatchObject({ trigger: 'scheduled', status: 'succeeded', added: 1 });
    expect(Date.parse(run.created_at)).toBeGreaterThanOrEqual(due.getTime());
  });
});
