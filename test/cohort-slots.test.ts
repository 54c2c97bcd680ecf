/**
 * BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT: the semaphore on real Redis, then whole imports
 * against a sandbox that holds each call (latency) and, optionally, locks a cohort while
 * a call for it is in flight (423), as Braze may.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CohortSlots } from '../src/queue/cohort-slots';
import { importEveryone, sandboxRequests } from './support/expectations';
import { type Harness, startHarness } from './support/harness';
import { scratchRedis } from './support/scratch';

describe('CohortSlots (real Redis)', () => {
  const { redis, prefix, close } = scratchRedis();
  afterAll(close);

  it('gives out at most N slots per cohort, again to a holder that has one, and frees released ones', async () => {
    const slots = new CohortSlots(redis, prefix, { limit: 2, leaseMs: 60_000 });
    expect(await slots.acquire('cohort-a', 'page-1', 0)).toBe(true);
    expect(await slots.acquire('cohort-a', 'page-2', 0)).toBe(true);
    expect(await slots.acquire('cohort-a', 'page-3', 0)).toBe(false);
    expect(await slots.acquire('cohort-a', 'page-1', 0)).toBe(true);
    expect(await slots.acquire('cohort-b', 'page-3', 0)).toBe(true);
    await slots.release('cohort-a', 'page-1');
    expect(await slots.acquire('cohort-a', 'page-3', 0)).toBe(true);
  });

  it('lets a waiting holder in as soon as a slot is released', async () => {
    const slots = new CohortSlots(redis, prefix, { limit: 1, leaseMs: 60_000, pollMs: 5 });
    expect(await slots.acquire('cohort-c', 'page-1', 0)).toBe(true);
    const waiting = slots.acquire('cohort-c', 'page-2', 30_000);
    await slots.release('cohort-c', 'page-1');
    expect(await waiting).toBe(true);
  });

  it('wakes a waiter in another process when a slot is released, without waiting for its next poll', async () => {
    // Two processes: each has its own connection and its own subscriber. The waiter would poll
    // again only after a minute, so only the release announcement can let it in in time.
    const other = redis.duplicate();
    const holderSide = new CohortSlots(other, prefix, { limit: 1, leaseMs: 60_000 });
    const waiterSide = new CohortSlots(redis, prefix, { limit: 1, leaseMs: 60_000, pollMs: 60_000 });
    try {
      expect(await holderSide.acquire('cohort-e', 'page-1', 0)).toBe(true);
      let settled = false;
      const waiting = waiterSide.acquire('cohort-e', 'page-2', 120_000).finally(() => (settled = true));
      // The waiter has asked, been refused, and is listening.
      await new Promise((r) => setTimeout(r, 200));
      expect(settled).toBe(false);
      await holderSide.release('cohort-e', 'page-1');
      const woke = await Promise.race([waiting, new Promise((r) => setTimeout(() => r('still waiting'), 10_000))]);
      expect(woke).toBe(true);
    } finally {
      await waiterSide.close();
      await holderSide.close();
      await other.quit();
    }
  });

  it('frees the slot of a holder that never released it once its lease ran out', async () => {
    const slots = new CohortSlots(redis, prefix, { limit: 1, leaseMs: 50, pollMs: 10 });
    expect(await slots.acquire('cohort-d', 'crashed', 0)).toBe(true);
    expect(await slots.acquire('cohort-d', 'next', 0)).toBe(false);
    expect(await slots.acquire('cohort-d', 'next', 30_000)).toBe(true);
  });
});

const demo = { users: 4_000 };

describe('pages in flight per cohort, at most 1', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT: '1', WORKER_CONCURRENCY: '4' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("never meets Braze's per-cohort lock, with four pages a worker could send at once", async () => {
    await h.sandbox('PUT', '/sandbox/config', { lock_on_overlap: true, faults: { latency_ms: 30 } });
    const { run, expected, statuses, members } = await importEveryone(h, 'One at a time', { ...demo, seed: 11 });
    expect(run).toMatchObject({ status: 'succeeded', added: expected.sendable, failed: 0 });
    expect(members).toEqual(expected.inBraze);
    expect(statuses).not.toContain(423);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1 + Math.ceil(expected.sendable / 1000));
    expect((await sandboxRequests(h)).max_in_flight_per_cohort).toBe(1);
  });
});

describe('pages in flight per cohort, at most 2', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { BRAZE_MAX_PAGES_IN_FLIGHT_PER_COHORT: '2', WORKER_CONCURRENCY: '4' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps at most two pages of a cohort at Braze; a 423 from overlapping ones is retried', async () => {
    await h.sandbox('PUT', '/sandbox/config', { faults: { latency_ms: 30 } });
    const unlocked = await importEveryone(h, 'Two at a time', { ...demo, seed: 12 });
    expect(unlocked.run).toMatchObject({ status: 'succeeded', added: unlocked.expected.sendable, failed: 0 });
    expect((await sandboxRequests(h)).max_in_flight_per_cohort).toBeLessThanOrEqual(2);

    // Braze's lock allows one; two overlap, so some calls meet 423 and are sent again.
    await h.sandbox('PUT', '/sandbox/config', { lock_on_overlap: true, faults: { latency_ms: 200 } });
    const locked = await importEveryone(h, 'Locked', { ...demo, seed: 13 });
    expect(locked.run).toMatchObject({ status: 'succeeded', added: locked.expected.sendable, failed: 0 });
    expect(locked.members).toEqual(locked.expected.inBraze);
    expect(locked.statuses).toContain(423);
  });
});
