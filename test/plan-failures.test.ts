import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planCohortPayload } from '../src/queue/payloads';
import { QueueNames } from '../src/queue/names';
import { createConnectedWorkspace, type Harness, startHarness } from './support/harness';

/**
 * GET /v1/cohorts/:id/plan when the worker's plan fails: what changed under it is answered as
 * such (the cohort deleted: 404; the connection removed: 409), anything else 503, never a 500.
 * The harness runs no workers; each test takes the plan job with a worker of its own that first
 * does what the test names, then the real computation (or fails outright).
 */
let h: Harness;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
let connection: Redis;
let worker: Worker | undefined;

beforeAll(async () => {
  h = await startHarness({ workers: false });
  ws = await createConnectedWorkspace(h, 'Plans');
  connection = new Redis(h.env.REDIS_URL!, { maxRetriesPerRequest: null });
});
afterEach(async () => {
  await worker?.close();
  worker = undefined;
});
afterAll(async () => {
  connection?.disconnect();
  await h?.close();
});

/** Takes plan jobs: `before` runs first, then the real plan (unless `before` throws). */
function planWorker(before: (job: Job) => Promise<void>) {
  worker = new Worker(
    QueueNames.planCohort,
    async (job) => {
      await before(job);
      return h.ctx.plans.compute(planCohortPayload.parse(job.data));
    },
    { connection, prefix: h.env.QUEUE_PREFIX },
  );
}

async function newCohort(name: string) {
  const res = await h.request('POST', '/v1/cohorts', {
    token: ws.token,
    body: { name, criteria: { all: [{ property: 'tier', op: 'eq', value: 'gold' }] } },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

const plan = (cohortId: string) => h.request('GET', `/v1/cohorts/${cohortId}/plan`, { token: ws.token });

describe('a plan that fails in the worker', () => {
  it('answers 200 when nothing fails (the worker of these tests does plan)', async () => {
    const cohort = await newCohort('fine');
    planWorker(async () => undefined);
    const res = await plan(cohort.id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ cohort_id: cohort.id, cohort_size: 0 });
  });

  it('answers 404 when the cohort was deleted while it was planned', async () => {
    const cohort = await newCohort('deleted meanwhile');
    planWorker(async () => {
      expect((await h.request('DELETE', `/v1/cohorts/${cohort.id}`, { token: ws.token })).status).toBe(204);
    });
    const res = await plan(cohort.id);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('answers 503 plan_failed, with no internal detail, when the computation itself fails', async () => {
    const cohort = await newCohort('failing');
    planWorker(async () => {
      throw new Error('SQLITE_CORRUPT: internal detail');
    });
    const res = await plan(cohort.id);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('plan_failed');
    expect(JSON.stringify(res.body)).not.toContain('SQLITE_CORRUPT');
  });

  // Last: it removes the workspace's connection.
  it('answers 409 when the Braze connection was removed while it was planned', async () => {
    const cohort = await newCohort('connection removed');
    planWorker(async () => {
      expect((await h.request('DELETE', '/v1/braze-connection', { token: ws.token })).status).toBe(204);
    });
    const res = await plan(cohort.id);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('braze_connection_missing');
  });
});
