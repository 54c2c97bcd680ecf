import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnectedWorkspace, type Harness, startHarness } from './support/harness';

/** Another process holds SQLite's write lock past the busy wait: the client is told to retry, never 500. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ workers: false, controlDb: 'sqlite', warehouse: 'sqlite' });
});
afterAll(async () => {
  await h?.close();
});

describe('a busy store', () => {
  it('answers 503 with Retry-After and the error shape, and the write goes through once the lock is gone', async () => {
    const ws = await createConnectedWorkspace(h, 'Busy');
    // As a worker's long write would: an exclusive transaction on the control database.
    const holder = new Database(h.config.databaseUrl);
    holder.exec('BEGIN EXCLUSIVE');
    let res;
    try {
      res = await h.request('POST', '/v1/cohorts', {
        token: ws.token,
        body: { name: 'Waits', criteria: { all: [{ identity: 'identified' }] } },
      });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
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
});
