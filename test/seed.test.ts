import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  COUNTRY_WEIGHTS,
  demoPropertiesCode,
  demoUser,
  demoUserIdentity,
  EVENT_NAME_WEIGHTS,
  type DemoUser,
} from '../src/seed/demo-users';
import { createProgressBar } from '../src/seed/progress-bar';
import { registerInSandbox, type SandboxUserRecord } from '../src/seed/register-in-sandbox';
import { seedWarehouse } from '../src/seed/seed-warehouse';
import { openSqliteWarehouse, type SqliteWarehouse } from '../src/warehouse/sqlite-warehouse';
import { scratchDir } from './support/scratch';

const SEED = 7;
const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const DAY_MS = 86_400_000;
const USERS = 5_000;
const WORKSPACE = 'ws-demo';

interface UserRow {
  id: number;
  user_key: string;
  external_id: string | null;
  alias_name: string | null;
  alias_label: string | null;
  device_id: string | null;
  properties: string;
  first_seen: number;
  last_seen: number;
}

interface EventRow {
  user_id: number;
  name: string;
  time: number;
}

function demoUsers(count: number, seed = SEED, now = NOW, startIndex = 0): DemoUser[] {
  return Array.from({ length: count }, (_, i) => demoUser(seed, startIndex + i, now));
}

function share(part: number, whole: number): number {
  return part / whole;
}

describe('seedWarehouse', () => {
  let dir: string;
  let warehouse: SqliteWarehouse;
  let db: Database.Database;

  beforeEach(async () => {
    dir = scratchDir('seed');
    warehouse = await openSqliteWarehouse(join(dir, 'warehouse.db'));
    db = warehouse.db;
  });

  afterEach(async () => {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const userRows = (workspaceId = WORKSPACE): UserRow[] =>
    db
      .prepare<[string], UserRow>(
        'SELECT *, json(properties) AS properties FROM users WHERE workspace_id = ? ORDER BY user_key',
      )
      .all(workspaceId);
  const eventRows = (workspaceId = WORKSPACE): EventRow[] =>
    db
      .prepare<[string], EventRow>('SELECT user_id, name, time FROM events WHERE workspace_id = ? ORDER BY user_id, id')
      .all(workspaceId);
  const eventCount = (): number => db.prepare<[], number>('SELECT COUNT(*) FROM events').pluck().get()!;

  it('stores the agreed shares of identity kinds', async () => {
    await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: USERS, seed: SEED, now: NOW });
    const rows = userRows();
    expect(rows).toHaveLength(USERS);

    const withExternal = rows.filter((r) => r.external_id !== null);
    const externalWithDevice = withExternal.filter((r) => r.device_id !== null);
    const aliasOnly = rows.filter((r) => r.alias_name !== null && r.external_id === null && r.device_id === null);
    const anonymous = rows.filter((r) => r.device_id !== null && r.external_id === null && r.alias_name === null);
    const none = rows.filter((r) => r.external_id === null && r.alias_name === null && r.device_id === null);

    expect(Math.abs(share(withExternal.length, USERS) - 0.6)).toBeLessThan(0.03);
    expect(Math.abs(share(externalWithDevice.length, withExternal.length) - 0.25)).toBeLessThan(0.04);
    expect(Math.abs(share(aliasOnly.length, USERS) - 0.1)).toBeLessThan(0.02);
    expect(Math.abs(share(anonymous.length, USERS) - 0.25)).toBeLessThan(0.03);
    expect(Math.abs(share(none.length, USERS) - 0.05)).toBeLessThan(0.015);
    // The kinds partition the users: no alias user also carries another identifier.
    expect(withExternal.length + aliasOnly.length + anonymous.length + none.length).toBe(USERS);
    expect(withExternal.every((r) => r.alias_name === null && r.alias_label === null)).toBe(true);

    for (const row of aliasOnly) {
      expect(row.alias_label).toBe('email');
      expect(row.alias_name).toMatch(/^[\w.+-]+@[\w-]+\.[a-z]+$/);
    }
    expect(rows.every((r) => (r.alias_name === null) === (r.alias_label === null))).toBe(true);
  });

  it('stores weighted countries and plans and ages from 16 to 80', async () => {
    await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: USERS, seed: SEED, now: NOW });
    const properties = userRows().map((r) => JSON.parse(r.properties) as Record<string, unknown>);

    const countries = new Map<unknown, number>();
    for (const p of properties) countries.set(p.country, (countries.get(p.country) ?? 0) + 1);
    const listed = COUNTRY_WEIGHTS.map(([code]) => code);
    expect([...countries.keys()].sort()).toEqual([...listed].sort());
    expect(listed).toEqual(expect.arrayContaining(['BR', 'PT', 'US', 'DE', 'FR']));
    expect(Math.abs(share(countries.get('BR') ?? 0, USERS) - 0.22)).toBeLessThan(0.03);
    expect(Math.abs(share(countries.get('US') ?? 0, USERS) - 0.2)).toBeLessThan(0.03);
    expect(countries.get('BR')!).toBeGreaterThan(countries.get('JP')! * 3);

    const plans = (plan: string): number => properties.filter((p) => p.plan === plan).length;
    expect(plans('free') + plans('pro') + plans('enterprise')).toBe(USERS);
    expect(Math.abs(share(plans('free'), USERS) - 0.7)).toBeLessThan(0.03);
    expect(Math.abs(share(plans('pro'), USERS) - 0.25)).toBeLessThan(0.03);
    expect(Math.abs(share(plans('enterprise'), USERS) - 0.05)).toBeLessThan(0.015);

    const ages = properties.map((p) => p.age as number);
    expect(ages.every((age) => Number.isInteger(age) && age >= 16 && age <= 80)).toBe(true);
    expect(Math.min(...ages)).toBeLessThanOrEqual(20);
    expect(Math.max(...ages)).toBeGreaterThanOrEqual(76);
  });

  it('stores 0 to 6 events per user, all within the last 90 days and between first and last seen', async () => {
    const result = await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: USERS, seed: SEED, now: NOW });
    const users = userRows();
    const events = eventRows();
    expect(result).toEqual({ users: USERS, events: events.length });
    // About 3 per user, so a million users make about three million events.
    expect(events.length / USERS).toBeGreaterThan(2.7);
    expect(events.length / USERS).toBeLessThan(3.3);

    const names = new Set(EVENT_NAME_WEIGHTS.map(([name]) => name));
    expect(names).toEqual(new Set(['app_open', 'view_item', 'add_to_cart', 'purchase']));
    const byUser = new Map<number, EventRow[]>();
    for (const event of events) {
      expect(names.has(event.name)).toBe(true);
      expect(event.time).toBeGreaterThan(NOW - 90 * DAY_MS);
      expect(event.time).toBeLessThanOrEqual(NOW);
      byUser.set(event.user_id, [...(byUser.get(event.user_id) ?? []), event]);
    }
    let withoutEvents = 0;
    for (const user of users) {
      const own = byUser.get(user.id) ?? [];
      expect(own.length).toBeLessThanOrEqual(6);
      if (own.length === 0) withoutEvents++;
      expect(user.first_seen).toBeLessThanOrEqual(user.last_seen);
      expect(user.last_seen).toBeLessThanOrEqual(NOW);
      for (const event of own) {
        expect(event.time).toBeGreaterThanOrEqual(user.first_seen);
        expect(event.time).toBeLessThanOrEqual(user.last_seen);
      }
    }
    expect(withoutEvents).toBeGreaterThan(0);
    expect(withoutEvents).toBeLessThan(USERS * 0.25);
  });

  it('gives every user unique identifiers', async () => {
    await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: USERS, seed: SEED, now: NOW });
    const uniqueness = db
      .prepare<[], Record<string, number>>(
        `SELECT COUNT(user_key) AS keys,       COUNT(DISTINCT user_key)   AS distinct_keys,
                COUNT(external_id) AS externals, COUNT(DISTINCT external_id) AS distinct_externals,
                COUNT(alias_name) AS aliases,   COUNT(DISTINCT alias_name)  AS distinct_aliases,
                COUNT(device_id) AS devices,    COUNT(DISTINCT device_id)   AS distinct_devices
         FROM users`,
      )
      .get()!;
    expect(uniqueness.keys).toBe(USERS);
    expect(uniqueness.distinct_keys).toBe(uniqueness.keys);
    expect(uniqueness.distinct_externals).toBe(uniqueness.externals);
    expect(uniqueness.distinct_aliases).toBe(uniqueness.aliases);
    expect(uniqueness.distinct_devices).toBe(uniqueness.devices);
    expect(uniqueness.devices).toBeGreaterThan(1_000);
    // An identifier also never doubles as another kind (a device id that is someone's external id).
    const identifiers = userRows().flatMap((r) => [r.external_id, r.alias_name, r.device_id].filter((v) => v !== null));
    expect(new Set(identifiers).size).toBe(identifiers.length);
  });

  /** The stored users in the shape of demoUser's result, without what the warehouse does not keep. */
  const storedUsers = (): Omit<DemoUser, 'known_to_braze'>[] => {
    const eventsByUser = new Map<number, { name: string; time: number }[]>();
    for (const { user_id, name, time } of eventRows()) {
      eventsByUser.set(user_id, [...(eventsByUser.get(user_id) ?? []), { name, time }]);
    }
    return userRows().map((row) => ({
      user_key: row.user_key,
      external_id: row.external_id,
      alias_name: row.alias_name,
      alias_label: row.alias_label,
      device_id: row.device_id,
      properties: JSON.parse(row.properties) as DemoUser['properties'],
      first_seen: row.first_seen,
      last_seen: row.last_seen,
      events: eventsByUser.get(row.id) ?? [],
    }));
  };
  const regenerated = (count: number, now = NOW, seed = SEED): Omit<DemoUser, 'known_to_braze'>[] =>
    demoUsers(count, seed, now).map(({ known_to_braze: _notStored, ...stored }) => stored);

  it('stores exactly what demoUser(seed, index, now) regenerates', async () => {
    await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: USERS, seed: SEED, now: NOW });
    const stored = storedUsers();
    expect(stored[42]!.user_key).toBe('u-0000042');
    expect(stored).toStrictEqual(regenerated(USERS));
  });

  it('re-seeding the same range changes nothing, and a later `now` replaces the events', async () => {
    const first = await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: USERS, seed: SEED, now: NOW });
    const idsBefore = userRows().map((r) => [r.user_key, r.id]);
    const eventsBefore = eventRows();

    const again = await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: USERS, seed: SEED, now: NOW });
    expect(again).toEqual(first);
    expect(userRows().map((r) => [r.user_key, r.id])).toEqual(idsBefore);
    expect(eventCount()).toBe(eventsBefore.length); // checked first: a diff of duplicates is slow to print
    expect(eventRows()).toEqual(eventsBefore);

    const later = NOW + 10 * DAY_MS;
    const moved = await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: USERS, seed: SEED, now: later });
    const expectedEvents = demoUsers(USERS, SEED, later).reduce((n, u) => n + u.events.length, 0);
    expect(moved.events).toBe(expectedEvents);
    expect(eventCount()).toBe(expectedEvents);
    expect(userRows().map((r) => [r.user_key, r.id])).toEqual(idsBefore);
    expect(storedUsers()).toStrictEqual(regenerated(USERS, later));
    const oldest = db.prepare<[], number>('SELECT MIN(time) FROM events').pluck().get()!;
    expect(oldest).toBeGreaterThan(later - 90 * DAY_MS);
  });

  it('re-seeding a range with another seed replaces those users in place', async () => {
    await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: 1_000, seed: SEED, now: NOW });
    const idsBefore = userRows().map((r) => r.id);
    await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: 1_000, seed: SEED + 1, now: NOW });
    expect(userRows().map((r) => r.id)).toEqual(idsBefore);
    expect(storedUsers()).toStrictEqual(regenerated(1_000, NOW, SEED + 1));
  });

  it('seeds overlapping ranges with startIndex without duplicates and reports progress per transaction', async () => {
    const progress: [number, number][] = [];
    await seedWarehouse(warehouse, { workspaceId: WORKSPACE, users: 3_000, seed: SEED, now: NOW });
    const second = await seedWarehouse(warehouse, {
      workspaceId: WORKSPACE,
      users: 3_000,
      startIndex: 2_000,
      seed: SEED,
      now: NOW,
      usersPerTransaction: 1_000,
      onProgress: (done, total) => progress.push([done, total]),
    });

    expect(progress).toEqual([
      [1_000, 3_000],
      [2_000, 3_000],
      [3_000, 3_000],
    ]);
    expect(second.users).toBe(3_000);
    expect(second.events).toBe(demoUsers(3_000, SEED, NOW, 2_000).reduce((n, u) => n + u.events.length, 0));
    const rows = userRows();
    expect(rows.map((r) => r.user_key)).toEqual(demoUsers(USERS).map((u) => u.user_key));
    expect(eventCount()).toBe(demoUsers(USERS).reduce((n, u) => n + u.events.length, 0));
  });

  it('writes a first seeding as the user-by-user upsert would: consecutive ids, events in user order, JSONB as jsonb(?) makes it', async () => {
    // Another workspace first, so the new one's ids start above existing rows.
    await seedWarehouse(warehouse, { workspaceId: 'ws-other', users: 10, seed: SEED, now: NOW });
    await seedWarehouse(warehouse, {
      workspaceId: WORKSPACE,
      users: 1_700,
      seed: SEED,
      now: NOW,
      usersPerTransaction: 700,
    });
    const users = demoUsers(1_700);
    const stored = db
      .prepare<[string], { id: number; user_key: string; properties: Buffer }>(
        'SELECT id, user_key, properties FROM users WHERE workspace_id = ? ORDER BY id',
      )
      .all(WORKSPACE);
    expect(stored.map((r) => r.user_key)).toEqual(users.map((u) => u.user_key));
    expect(stored.map((r) => r.id)).toEqual(users.map((_, i) => 11 + i));
    const jsonb = db.prepare<[string], Buffer>('SELECT jsonb(?)').pluck();
    stored.forEach((r, i) => expect(r.properties.equals(jsonb.get(JSON.stringify(users[i]!.properties))!)).toBe(true));
    const events = db
      .prepare<[string], { user_id: number; name: string; time: number }>(
        'SELECT user_id, name, time FROM events WHERE workspace_id = ? ORDER BY id',
      )
      .all(WORKSPACE);
    expect(events).toEqual(
      users.flatMap((u, i) => u.events.map((e) => ({ user_id: 11 + i, name: e.name, time: e.time }))),
    );
  });

  it("seeds a scratch warehouse without fsync, then puts the connection's setting back, also after a failure", async () => {
    const synchronous = () => db.pragma('synchronous', { simple: true });
    expect(synchronous()).toBe(1); // NORMAL, as every connection is opened
    const during: unknown[] = [];
    await seedWarehouse(warehouse, {
      workspaceId: WORKSPACE,
      users: 300,
      seed: SEED,
      now: NOW,
      usersPerTransaction: 100,
      scratch: true,
      onProgress: () => during.push(synchronous()),
    });
    expect(during).toEqual([0, 0, 0]);
    expect(synchronous()).toBe(1);
    expect(userRows()).toHaveLength(300);

    const failing = seedWarehouse(warehouse, {
      workspaceId: WORKSPACE,
      users: 300,
      seed: SEED,
      now: NOW,
      scratch: true,
      onProgress: () => {
        throw new Error('stop');
      },
    });
    await expect(failing).rejects.toThrow('stop');
    expect(synchronous()).toBe(1);
  });

  it('writes a workspace id with quotes in it as it is', async () => {
    const quoted = `ws-'; DROP TABLE users; --`;
    await seedWarehouse(warehouse, { workspaceId: quoted, users: 50, seed: SEED, now: NOW });
    expect(userRows(quoted).map((r) => r.user_key)).toEqual(demoUsers(50).map((u) => u.user_key));
    expect(eventRows(quoted)).toHaveLength(demoUsers(50).reduce((n, u) => n + u.events.length, 0));
  });

  it('keeps workspaces apart', async () => {
    await seedWarehouse(warehouse, { workspaceId: 'ws-a', users: 1_000, seed: SEED, now: NOW });
    const eventsA = eventRows('ws-a').length;
    await seedWarehouse(warehouse, { workspaceId: 'ws-b', users: 1_000, seed: SEED + 1, now: NOW });
    expect(userRows('ws-a')).toHaveLength(1_000);
    expect(userRows('ws-b')).toHaveLength(1_000);
    expect(eventRows('ws-a')).toHaveLength(eventsA);
    // Same keys, different users: the seed changes the data, not the identifiers.
    expect(userRows('ws-b').map((r) => r.user_key)).toEqual(userRows('ws-a').map((r) => r.user_key));
    const rowsB = userRows('ws-b');
    const sameProperties = userRows('ws-a').filter((r, i) => r.properties === rowsB[i]!.properties);
    expect(sameProperties.length).toBeLessThan(100);
  });
});

describe('demoUser', () => {
  it('is deterministic per (seed, index) and differs between seeds', () => {
    for (const index of [0, 1, 999, 123_456, 9_999_999]) {
      expect(demoUser(SEED, index, NOW)).toStrictEqual(demoUser(SEED, index, NOW));
    }
    const a = demoUsers(200, 1);
    const b = demoUsers(200, 2);
    const differing = a.filter((u, i) => JSON.stringify(u) !== JSON.stringify(b[i]));
    expect(differing.length).toBeGreaterThan(190);
  });

  it('gives equal properties equal codes and different properties different codes', () => {
    const codes = new Map<number, string>();
    const texts = new Map<string, number>();
    for (const { properties } of demoUsers(30_000)) {
      const code = demoPropertiesCode(properties);
      expect(code).toBeDefined();
      const text = JSON.stringify(properties);
      expect(codes.get(code!) ?? text).toBe(text);
      expect(texts.get(text) ?? code).toBe(code);
      codes.set(code!, text);
      texts.set(text, code!);
    }
    expect(codes.size).toBeGreaterThan(5_000);
    expect(demoPropertiesCode({ country: 'NL', plan: 'free', age: 30, newsletter: false })).toBeUndefined();
    expect(demoPropertiesCode({ country: 'US', plan: 'free', age: 30.5, newsletter: false })).toBeUndefined();
  });

  it('draws the same identity on its own as within the whole user', () => {
    for (let index = 0; index < 2_000; index++) {
      const { external_id, alias_name, alias_label, device_id, known_to_braze } = demoUser(SEED, index, NOW);
      expect(demoUserIdentity(SEED, index)).toStrictEqual({
        external_id,
        alias_name,
        alias_label,
        device_id,
        known_to_braze,
      });
    }
  });

  it('leaves about 3% of users with identifiers unknown to Braze, and every user without one', () => {
    const users = demoUsers(USERS);
    const identified = users.filter((u) => u.external_id !== null || u.alias_name !== null || u.device_id !== null);
    const unknown = identified.filter((u) => !u.known_to_braze);
    expect(unknown.length).toBeGreaterThan(0);
    expect(Math.abs(share(unknown.length, identified.length) - 0.03)).toBeLessThan(0.01);
    const withoutIdentifier = users.filter((u) => !identified.includes(u));
    expect(withoutIdentifier.length).toBeGreaterThan(0);
    expect(withoutIdentifier.every((u) => !u.known_to_braze)).toBe(true);
  });
});

describe('registerInSandbox', () => {
  interface Recorded {
    method: string;
    url: string;
    contentType: string | undefined;
    body: { users: SandboxUserRecord[] };
  }
  let server: Server;
  let sandboxUrl: string;
  let requests: Recorded[];
  let connections: number;
  let answer: { status: number; body: string };

  beforeEach(async () => {
    requests = [];
    connections = 0;
    answer = { status: 200, body: '{"created":0,"updated":0}' };
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          contentType: req.headers['content-type'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Recorded['body'],
        });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    sandboxUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function expectedRecords(users: DemoUser[]): SandboxUserRecord[] {
    return users
      .filter((u) => u.known_to_braze)
      .map((u) => {
        const record: SandboxUserRecord = {};
        if (u.external_id) record.external_id = u.external_id;
        if (u.alias_name && u.alias_label) record.aliases = [{ alias_name: u.alias_name, alias_label: u.alias_label }];
        if (u.device_id) record.device_ids = [u.device_id];
        return record;
      });
  }

  it('posts the users known to Braze in batches over one kept-alive connection', async () => {
    const progress: [number, number][] = [];
    const result = await registerInSandbox({
      sandboxUrl: `${sandboxUrl}/`,
      brazeWorkspaceId: 'bws 1',
      users: USERS,
      seed: SEED,
      now: NOW,
      batchSize: 1_000,
      onProgress: (done, total) => progress.push([done, total]),
    });

    const expected = expectedRecords(demoUsers(USERS));
    expect(result).toEqual({ registered: expected.length });
    expect(requests).toHaveLength(Math.ceil(expected.length / 1_000));
    for (const request of requests) {
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/sandbox/workspaces/bws%201/users/batch');
      expect(request.contentType).toMatch(/^application\/json/);
      expect(request.body.users.length).toBeLessThanOrEqual(1_000);
    }
    expect(requests.slice(0, -1).every((r) => r.body.users.length === 1_000)).toBe(true);
    expect(requests.flatMap((r) => r.body.users)).toStrictEqual(expected);
    // Keep-alive: sockets are reused (undici may open a second one), not one per batch.
    expect(connections).toBeLessThanOrEqual(2);
    expect(connections).toBeLessThan(requests.length);

    expect(progress).toHaveLength(requests.length);
    expect(progress.at(-1)).toEqual([USERS, USERS]);
    expect(progress.every(([done], i) => i === 0 || done > progress[i - 1]![0])).toBe(true);
  });

  it('sends users first seen anonymous with both their external_id and device_id', async () => {
    await registerInSandbox({ sandboxUrl, brazeWorkspaceId: 'bws', users: 500, seed: SEED, now: NOW });
    const sent = requests.flatMap((r) => r.body.users);
    expect(requests).toHaveLength(1);
    const both = sent.filter((u) => u.external_id !== undefined && u.device_ids !== undefined);
    expect(both.length).toBeGreaterThan(20);
    for (const record of sent) {
      expect(record.external_id !== undefined || record.aliases !== undefined || record.device_ids !== undefined).toBe(
        true,
      );
      if (record.aliases) expect(record.aliases).toEqual([{ alias_name: expect.any(String), alias_label: 'email' }]);
    }
    const unknown = demoUsers(500).filter((u) => !u.known_to_braze && u.external_id !== null);
    const sentExternalIds = new Set(sent.map((u) => u.external_id));
    expect(unknown.length).toBeGreaterThan(0);
    for (const user of unknown) expect(sentExternalIds.has(user.external_id!)).toBe(false);
  });

  it('registers the range that starts at startIndex', async () => {
    const result = await registerInSandbox({
      sandboxUrl,
      brazeWorkspaceId: 'bws',
      users: 300,
      startIndex: 1_000,
      seed: SEED,
      now: NOW,
    });
    const expected = expectedRecords(demoUsers(300, SEED, NOW, 1_000));
    expect(result.registered).toBe(expected.length);
    expect(requests.flatMap((r) => r.body.users)).toStrictEqual(expected);
  });

  it('fails with the status when the sandbox refuses a batch', async () => {
    answer = { status: 400, body: '{"message":"too many users"}' };
    await expect(
      registerInSandbox({ sandboxUrl, brazeWorkspaceId: 'bws', users: 100, seed: SEED, now: NOW }),
    ).rejects.toThrow(/400.*too many users/);
  });

  it('refuses a batch size above the sandbox limit before sending anything', async () => {
    await expect(
      registerInSandbox({ sandboxUrl, brazeWorkspaceId: 'bws', users: 100, seed: SEED, now: NOW, batchSize: 50_001 }),
    ).rejects.toThrow(RangeError);
    expect(requests).toHaveLength(0);
  });
});

describe('createProgressBar', () => {
  function fakeStream(isTTY: boolean): {
    writes: string[];
    isTTY: boolean;
    columns: number;
    write(text: string): void;
  } {
    return {
      writes: [],
      isTTY,
      columns: 120,
      write(text: string) {
        this.writes.push(text);
      },
    };
  }

  it('redraws one line in place on a terminal with percentage, rate and ETA', () => {
    let now = 0;
    const stream = fakeStream(true);
    const bar = createProgressBar({ label: 'users', total: 1_000, stream, clock: () => now });
    now = 1_000;
    bar.update(250);
    now = 1_050;
    bar.update(260); // within the redraw interval: skipped
    now = 2_000;
    bar.update(500);
    bar.finish();

    expect(stream.writes).toHaveLength(4);
    expect(stream.writes[0]).toMatch(/^\rusers \[#+-+\] 25\.0% 250\/1,000 250\/s ETA 3s/);
    expect(stream.writes[1]).toMatch(/^\rusers .* 50\.0% 500\/1,000 250\/s ETA 2s/);
    expect(stream.writes.slice(0, 3).every((w) => w.startsWith('\r') && !w.includes('\n'))).toBe(true);
    expect(stream.writes[3]).toBe('\n');
  });

  it('writes occasional plain lines when not on a terminal', () => {
    let now = 0;
    const stream = fakeStream(false);
    const bar = createProgressBar({ label: 'users', total: 100, stream, clock: () => now, lineEveryMs: 5_000 });
    for (let done = 1; done <= 100; done++) {
      now = done * 100;
      bar.update(done);
    }
    bar.finish();

    // 10 s of updates: the first, the one 5 s later, and the final line.
    expect(stream.writes).toHaveLength(3);
    expect(stream.writes.every((w) => !w.includes('\r') && w.endsWith('\n'))).toBe(true);
    expect(stream.writes.at(-1)).toMatch(/^users 100\.0% 100\/100 10\/s in 10s\n$/);
  });
});
