import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateBudget } from '../src/queue/rate-budget';
import { importEveryone } from './support/expectations';
import { type Harness, startHarness } from './support/harness';
import { scratchRedis } from './support/scratch';

describe('the shared request budget (real Redis)', () => {
  const { redis, prefix, close } = scratchRedis();
  afterAll(close);

  it('lets a burst of N go at once, then makes the next wait for the window', async () => {
    const budget = new RateBudget(redis, prefix, { requests: 10, windowMs: 1000 });
    const waits = [];
    for (let i = 0; i < 11; i++) waits.push(await budget.take('conn-a'));
    expect(waits.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(waits[10]).toBeGreaterThan(0);
    // At most the window plus the slot the oldest request is counted in.
    expect(waits[10]).toBeLessThanOrEqual(1000 + 2 * Math.ceil(1000 / 60));
  });

  it('does not slow an import that fits in the window', async () => {
    const budget = new RateBudget(redis, prefix, { requests: 250_000, windowMs: 3_600_000 });
    const waits = await Promise.all(Array.from({ length: 1000 }, () => budget.take('conn-big')));
    expect(waits.every((w) => w === 0)).toBe(true);
  });

  // 25 a second is taken one by one; 400 a second in batches (a batch is counted where its lease ends).
  it.each([
    { requests: 25, windowMs: 1000 },
    { requests: 400, windowMs: 1000 },
  ])(
    'never grants more than $requests in any window of $windowMs ms, to three clients taking at once',
    async (limit) => {
      const clients = [1, 2, 3].map(() => new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'));
      const granted: number[] = [];
      const stopAt = Date.now() + 3_500;
      try {
        await Promise.all(
          clients.map(async (client) => {
            const budget = new RateBudget(client, prefix, limit);
            // Four senders per client, each a moment apart, as a worker's pages are: a batch's
            // requests are used over its lease, not all at once.
            await Promise.all(
              [1, 2, 3, 4].map(async () => {
                while (Date.now() < stopAt) {
                  const wait = await budget.take('conn-shared');
                  if (wait === 0) granted.push(Date.now());
                  await new Promise((r) => setTimeout(r, wait === 0 ? 1 : Math.min(wait, 50)));
                }
              }),
            );
          }),
        );
      } finally {
        for (const c of clients) c.disconnect();
      }
      granted.sort((a, b) => a - b);
      // Three windows' worth and a half: the budget went on granting as the window slid…
      expect(granted.length).toBeGreaterThan(limit.requests * 3);
      // …and no window held more than N (observed on this side of Redis: a few ms of slack).
      let most = 0;
      for (let i = 0, j = 0; j < granted.length; j++) {
        while (granted[j]! - granted[i]! >= limit.windowMs - 20) i++;
        most = Math.max(most, j - i + 1);
      }
      expect(most).toBeLessThanOrEqual(limit.requests);
    },
  );

  it('pauses one connection after a 429 without touching another', async () => {
    const budget = new RateBudget(redis, prefix, { requests: 250_000, windowMs: 3_600_000 });
    await budget.pauseUntil('conn-b', Date.now() + 5000);
    expect(await budget.take('conn-b')).toBeGreaterThan(4000);
    expect(await budget.take('conn-c')).toBe(0);
  });

  it("stops using its process's batch once the connection is paused", async () => {
    const budget = new RateBudget(redis, prefix, { requests: 250_000, windowMs: 3_600_000 });
    // The first take fetched a batch; the next ones come from it without asking Redis.
    expect(await budget.take('conn-d')).toBe(0);
    await redis.set(`${prefix}:braze-pause:conn-d`, String(Date.now() + 5000), 'PX', 5000);
    expect(await budget.take('conn-d')).toBe(0);
    // A 429 seen here drops what is left of the batch: the pause holds at once.
    await budget.pauseUntil('conn-d', Date.now() + 5000);
    expect(await budget.take('conn-d')).toBeGreaterThan(4000);
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
