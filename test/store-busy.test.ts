import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from './support/engines';
import { createConnectedWorkspace, type Harness, startHarness } from './support/harness';
import { holdStore } from './support/store-lock';

/**
 * Another session holds a lock past the store's lock wait (SQLite's busy_timeout, PostgreSQL's
 * lock_timeout): the client is told to retry, never 500, and nothing is half-written. On SQLite
 * the lock is the database-wide write lock (a worker's long freeze held it); PostgreSQL has none,
 * so its fault is a lock on the written table held by another session (test/postgres/ runs this
 * file there). A freeze on PostgreSQL blocks no other tenant's write: not a fault there.
 */
let h: Harness;
beforeAll(async () => {
  // A lock wait of one second, not production's ten: the answer is the same, sooner.
  h = await startHarness({ workers: false, env: { STORE_LOCK_WAIT_MS: '1000' } });
});
afterAll(async () => {
  await h?.close();
});

describe('a busy store', () => {
  it('is the engine this file chose', () => {
    expect(h.config.databaseUrl.startsWith('postgres')).toBe(testEngines().control === 'postgres');
  });

  it('answers 503 with Retry-After and the error shape, and the write goes through once the lock is gone', async () => {
    const ws = await createConnectedWorkspace(h, 'Busy');
    // As a worker's long write would (SQLite), or a migration's table lock (PostgreSQL).
    const release = await holdStore(h.config.databaseUrl, 'cohorts');
    let res;
    try {
      res = await h.request('POST', '/v1/cohorts', {
        token: ws.token,
        body: { name: 'Waits', criteria: { all: [{ identity: 'identified' }] } },
      });
    } finally {
      await release();
    }
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.body.error.code).toBe('store_busy');
    const again = await h.request('POST', '/v1/cohorts', {
      token: ws.token,
      body: { name: 'Waits', criteria: { all: [{ identity: 'identified' }] } },
    });
    expect(again.status).toBe(201);
    // Nothing half-written: exactly the one cohort of the retry exists.
    const list = await h.request('GET', '/v1/cohorts', { token: ws.token });
    expect(list.body.data.map((c: { name: string }) => c.name)).toEqual(['Waits']);
  }, 30_000);

  it('answers an ingest batch meeting a held warehouse with 503 store_busy, and the retry writes every user once', async () => {
    const ws = await createConnectedWorkspace(h, 'Busy ingest');
    const users = Array.from({ length: 50 }, (_, i) => ({ user_key: `busy-${i}`, external_id: `busy-${i}` }));
    const release = await holdStore(h.config.warehouseUrl, 'users');
    let res;
    try {
      res = await h.request('POST', '/v1/users/batch', { token: ws.token, body: { users } });
    } finally {
      await release();
    }
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.body.error.code).toBe('store_busy');
    // Nothing of the refused batch was kept: a preview counts none of its users.
    const cohort = (
      await h.request('POST', '/v1/cohorts', {
        token: ws.token,
        body: { name: 'Ingested', criteria: { all: [{ identity: 'identified' }] } },
      })
    ).body;
    const preview = async () => (await h.request('GET', `/v1/cohorts/${cohort.id}/preview`, { token: ws.token })).body;
    expect((await preview()).count).toBe(0);
    const again = await h.request('POST', '/v1/users/batch', { token: ws.token, body: { users } });
    expect(again.status).toBe(200);
    expect((await preview()).count).toBe(50);
  }, 30_000);
});
