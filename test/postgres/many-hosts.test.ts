import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Criteria } from '../../src/domain/criteria';
import { COUNTRY_WEIGHTS } from '../../src/seed/demo-users';
import { useEngines } from '../support/engines';
import { expectedFromDemo, sandboxMembers } from '../support/expectations';
import { createConnectedWorkspace, type Harness, seedDemo, startHarness, waitForRun } from '../support/harness';
import { freePort, type RunningProcess, startProcess } from '../support/processes';
import { type InProcessSmtpServer, startSmtpServer } from '../support/smtp-server';

/**
 * Across hosts: both databases on PostgreSQL, two web processes and three worker processes that
 * share nothing but Redis and PostgreSQL. The workers run with a DATA_DIR that does not exist
 * and SMTP for mail, so nothing they do can lean on a local file.
 */
useEngines({ control: 'postgres', warehouse: 'postgres' });

const USERS = 20_000;
const SEED = 31;
const COUNTRIES = COUNTRY_WEIGHTS.map(([country]) => country);
const criteriaOf = (country: string): Criteria =>
  ({ all: [{ identity: 'identified' }, { property: 'country', op: 'eq', value: country }] }) as Criteria;

let h: Harness;
let smtp: InProcessSmtpServer;
let missingDir: string;
const webs: { process: RunningProcess; url: string }[] = [];
const workers: RunningProcess[] = [];

beforeAll(async () => {
  smtp = await startSmtpServer();
  // The in-process harness only sets up (databases, sandbox, seed); it runs no workers.
  h = await startHarness({ workers: false });
  missingDir = join(h.dir, 'never-created');
  const env = {
    ...h.env,
    DATA_DIR: missingDir,
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    LOG_LEVEL: 'info',
    WORKER_CONCURRENCY: '4',
  };
  // All five at once, as hosts come up (each given longer to be ready: they share this machine's
  // cores). Each is recorded as soon as it is ready, so afterAll stops it whatever else failed.
  const ports: number[] = [];
  while (ports.length < 2) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const started = await Promise.allSettled([
    ...ports.map(async (port) => {
      const process = await startProcess('src/web.ts', { ...env, PORT: String(port) }, /web listening/, 60_000);
      webs.push({ process, url: `http://127.0.0.1:${port}` });
    }),
    ...[1, 2, 3].map(async () => {
      workers.push(await startProcess('workers/main.ts', env, /worker ready/, 60_000));
    }),
  ]);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}, 120_000);

afterAll(async () => {
  await Promise.all([...webs.map((w) => w.process.stop()), ...workers.map((w) => w.stop())]);
  await h?.close();
  await smtp?.close();
});

describe('many hosts on PostgreSQL', () => {
  it('50 concurrent requests for 10 cohorts: one run per cohort, every run finishes, membership exact', async () => {
    const ws = await createConnectedWorkspace(h, 'Hosts');
    const now = await seedDemo(h, ws, { users: USERS, seed: SEED });
    const cohorts = await Promise.all(
      COUNTRIES.map(async (country) => {
        const res = await h.request('POST', '/v1/cohorts', {
          token: ws.token,
          body: { name: `Identified in ${country}`, criteria: criteriaOf(country) },
        });
        expect(res.status).toBe(201);
        return { ...res.body, country } as { id: string; braze_cohort_id: string; country: string };
      }),
    );

    // Five requests per cohort, spread over both web processes, all at once.
    const requests = Array.from({ length: 50 }, (_, i) => {
      const cohort = cohorts[i % cohorts.length]!;
      const web = webs[i % webs.length]!;
      return fetch(`${web.url}/v1/cohorts/${cohort.id}/imports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ws.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ recipients: ['ops@example.com'] }),
      }).then(async (res) => ({ cohort, status: res.status, body: (await res.json()) as any }));
    });
    const answers = await Promise.all(requests);

    // Exactly one active run per cohort at any time: a 409 names the active run, and a 202 can
    // only come once the cohort's earlier run has ended (a small cohort may finish while the
    // other requests are still arriving).
    expect(answers.every((a) => a.status === 202 || a.status === 409)).toBe(true);
    let runsTotal = 0;
    for (const cohort of cohorts) {
      const mine = answers.filter((a) => a.cohort.id === cohort.id);
      const started = mine.filter((a) => a.status === 202).map((a) => a.body.id as string);
      expect(started.length).toBeGreaterThanOrEqual(1);
      for (const a of mine.filter((x) => x.status === 409)) expect(started).toContain(a.body.error.details.run_id);
      const runs = [];
      for (const id of started) runs.push(await waitForRun(h, ws.token, id, 120_000));
      runs.sort((x, y) => Date.parse(x.created_at) - Date.parse(y.created_at));
      for (let i = 1; i < runs.length; i++) {
        expect(Date.parse(runs[i].created_at)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1].finished_at));
      }
      const expected = expectedFromDemo(criteriaOf(cohort.country), { users: USERS, seed: SEED, now });
      expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
      // The first run sends every member; later ones find nothing changed.
      expect(runs.map((r) => r.added)).toEqual([expected.sendable, ...runs.slice(1).map(() => 0)]);
      expect(await sandboxMembers(h, ws.brazeWorkspaceId, cohort.braze_cohort_id)).toEqual(expected.inBraze);
      runsTotal += runs.length;
    }

    // Every process did its share, and none of it touched a local file.
    const pagesBy = new Set((await h.ctx.queues.uploadPage.getJobs(['completed'], 0, -1)).map((j) => j.processedBy));
    expect(pagesBy.size).toBeGreaterThan(1);
    const deadline = Date.now() + 30_000;
    while (smtp.received.length < runsTotal && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(smtp.received).toHaveLength(runsTotal);
    expect(existsSync(missingDir)).toBe(false);
  }, 240_000);
});
