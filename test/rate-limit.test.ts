import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateBudget } from '../src/queue/rate-budget';
import { importEveryone } from './support/expectations';
import { type Harness, startHarness } from './support/harness';
import { scratchRedis } from './support/scratch';

describe('the shared request budget (real Redis)', () => {
  const { redis, prefix, close } = scratchRedis();
  afterAll(close);

  it('allows a burst of ten seconds of budget, then asks the caller to wait', async () => {
    const budget = new RateBudget(redis, prefix, 3600); // one request a second, ten in a burst
    const waits = [];
    for (let i = 0; i < 11; i++) waits.push(await budget.take('conn-a'));
    expect(waits.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(waits[10]).toBeGreaterThan(0);
    expect(waits[10]).toBeLessThanOrEqual(1000);
  });

  it('pauses one connection after a 429 without touching another', async () => {
    const budget = new RateBudget(redis, prefix, 250_000);
    await budget.pauseUntil('conn-b', Date.now() + 5000);
    expect(await budget.take('conn-b')).toBeGreaterThan(4000);
    expect(await budget.take('conn-c')).toBe(0);
  });
});

describe("Braze's rate limit", () => {
  let h: Harness;
  beforeAll(async () => {
    // One attempt per page: a 429 that spent an attempt would fail the run.
    h = await startHarness({ env: { UPLOAD_ATTEMPTS: '1' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('waits for the reset time on 429 without spending attempts, and finishes with exact membership', async () => {
    await h.sandbox('PUT', '/sandbox/config', { rate_limit: { limit: 2, window_seconds: 1 } });
    const { run, expected, statuses, members } = await importEveryone(h, 'Limited', { users: 6000, seed: 3 });
    expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
    expect(members).toEqual(expected.inBraze);
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s === 201).length).toBe(1 + Math.ceil(expected.sendable / 1000));
  });
});

describe("Braze's X-RateLimit headers", () => {
  let h: Harness;
  beforeAll(async () => {
    // One page at a time, one attempt each: any 429 would show, and would fail the run.
    h = await startHarness({ env: { UPLOAD_ATTEMPTS: '1', BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT: '1' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('pauses when X-RateLimit-Remaining reaches 0 until X-RateLimit-Reset, so Braze never has to say 429', async () => {
    await h.sandbox('PUT', '/sandbox/config', { rate_limit: { limit: 2, window_seconds: 1 } });
    const { run, expected, statuses } = await importEveryone(h, 'Polite', { users: 5000, seed: 4 });
    expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
    expect(statuses).toEqual(Array(1 + Math.ceil(expected.sendable / 1000)).fill(201));
  });
});
