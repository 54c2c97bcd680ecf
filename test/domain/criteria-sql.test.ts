import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileCriteria,
  evaluateCriteria,
  parseCriteria,
  type Criteria,
  type EvaluatedUser,
  type SqlParam,
} from '../../src/domain/criteria';
import type { SqlDialectName } from '../../src/domain/criteria-sql';
import { openPgWarehouse, type PgWarehouse } from '../../src/warehouse/pg-warehouse';
import { warehouseMigrations } from '../../src/warehouse/sqlite-schema';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 28, 9, 0, 0);
const INJECTION = "' OR 1=1 --";
const ODD_EVENT = 'weird \' name" --';

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FixtureUser extends EvaluatedUser {
  key: string;
  /** the JSON text stored in users.properties; `properties` is its JSON.parse */
  propertiesJson: string;
}

const MISSING = Symbol('missing');

// Pools chosen to hit the edges: missing vs null, 1 vs true vs "1", integer vs real,
// code point vs UTF-16 order, LIKE wildcards, nested objects, arrays.
const POOLS: Record<string, unknown[]> = {
  country: ['BR', 'PT', 'US', 'br', '', null, MISSING, 1, true, ['BR'], { code: 'BR' }],
  plan: ['pro', 'free', 'Pro', 'pro ', null, MISSING],
  age: [0, 1, 17, 18, 30, 30.5, 65, -3, '30', '4', true, false, null, MISSING],
  flag: [true, false, 1, 0, '1', 'true', null, MISSING],
  tags: [['vip', 'beta'], [], ['pro', 1, true], 'vip,beta', ['x', ['vip']], ['VIP'], MISSING],
  name: [INJECTION, "O'Brien", 'é', '😀', '\uFB00', 'abc', 'a%b', 'a_b', '%', 'ab', 'B', MISSING],
  address: [{ city: 'Lisbon', zip: 1000 }, { city: 'São Paulo' }, { city: null }, 'Lisbon', ['Lisbon'], MISSING],
  score: [2, 2.5, -1, 1e21, '2', '10', 10, MISSING],
};

const EVENT_NAMES = ['purchase', 'app_open', 'Purchase', ODD_EVENT];
const WINDOW_EDGES = [1, 7, 30];

function eventTimes(rand: () => number): number[] {
  const times: number[] = [];
  const n = Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const pick = rand();
    if (pick < 0.4) {
      const days = WINDOW_EDGES[Math.floor(rand() * WINDOW_EDGES.length)] ?? 1;
      const offset = [-1, 0, 1][Math.floor(rand() * 3)] ?? 0;
      times.push(NOW - days * DAY + offset);
    } else if (pick < 0.5) {
      times.push(rand() < 0.5 ? NOW : NOW + 1);
    } else {
      times.push(NOW - Math.floor(rand() * 60 * DAY));
    }
  }
  return times;
}

function generateUsers(count: number): FixtureUser[] {
  const rand = random(20261128);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const users: FixtureUser[] = [];
  for (let i = 0; i < count; i++) {
    const properties: Record<string, unknown> = {};
    for (const [name, pool] of Object.entries(POOLS)) {
      const value = pick(pool);
      if (value !== MISSING) properties[name] = value;
    }
    const events = EVENT_NAMES.flatMap((name) =>
      rand() < 0.6 ? eventTimes(rand).map((time) => ({ name, time })) : [],
    );
    users.push({
      key: `gen-${i}`,
      external_id: pick([null, null, '', `ext-${i}`]),
      alias_name: pick([null, '', `alias-${i}`]),
      alias_label: pick([null, '', 'email']),
      device_id: pick([null, `dev-${i}`]),
      properties,
      propertiesJson: JSON.stringify(properties),
      events,
    });
  }
  return users;
}

/** Users whose JSON text matters (reals written as 2.0, explicit nulls, literal look-alikes). */
const NAMED: { key: string; json: string; events?: { name: string; time: number }[] }[] = [
  { key: 'bool-true', json: '{"flag": true}' },
  { key: 'num-one', json: '{"flag": 1}' },
  { key: 'str-one', json: '{"flag": "1"}' },
  { key: 'real-two', json: '{"score": 2.0}' },
  { key: 'int-two', json: '{"score": 2}' },
  { key: 'str-two', json: '{"score": "2"}' },
  { key: 'null-plan', json: '{"plan": null}' },
  { key: 'empty', json: '{}' },
  { key: 'injection', json: JSON.stringify({ name: INJECTION }) },
  { key: 'injection-prefix', json: JSON.stringify({ name: `${INJECTION} ` }) },
  { key: 'ffi', json: JSON.stringify({ name: '\uFB00' }) },
  { key: 'emoji', json: JSON.stringify({ name: '😀' }) },
  { key: 'nested', json: '{"address": {"city": "Lisbon", "geo": {"lat": 38.7}}}' },
  { key: 'dotted-key', json: '{"address.city": "Lisbon"}' },
  { key: 'tags-array', json: '{"tags": ["vip", 7, true, ["inner"]]}' },
  { key: 'tags-string', json: '{"tags": "big vip"}' },
  { key: 'odd-event', json: '{}', events: [{ name: ODD_EVENT, time: NOW - DAY }] },
  {
    key: 'window-edges',
    json: '{}',
    events: [
      { name: 'purchase', time: NOW - 30 * DAY }, // on the window's start: counted
      { name: 'purchase', time: NOW - 30 * DAY - 1 }, // just before it: not counted
      { name: 'purchase', time: NOW }, // now: counted
      { name: 'purchase', time: NOW + 1 }, // future: not counted
    ],
  },
];

function namedUsers(): FixtureUser[] {
  return NAMED.map(({ key, json, events }) => ({
    key,
    properties: JSON.parse(json) as Record<string, unknown>,
    propertiesJson: json,
    events: events ?? [],
  }));
}

const users = [...namedUsers(), ...generateUsers(400)];

/** The fixture users in one engine's warehouse schema, queried with SQL compiled for it. */
interface Engine {
  /** user keys selected by `SELECT … FROM users <alias> WHERE <sql>`, in id order */
  select(sql: string, params: SqlParam[], alias?: string): Promise<string[]>;
  /** the query plan of a WHERE over users u, as text */
  plan(sql: string, params: SqlParam[]): Promise<string>;
  userCount(): Promise<number>;
  close(): Promise<void>;
}

function openSqliteEngine(): Engine {
  const db = new Database(':memory:');
  for (const migration of warehouseMigrations) db.exec(migration);
  const insertUser = db.prepare(
    `INSERT INTO users (workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)
     VALUES ('w', ?, ?, ?, ?, ?, jsonb(?), 0, 0)`,
  );
  const insertEvent = db.prepare(`INSERT INTO events (workspace_id, user_id, name, time) VALUES ('w', ?, ?, ?)`);
  db.transaction(() => {
    for (const user of users) {
      const { lastInsertRowid } = insertUser.run(
        user.key,
        user.external_id ?? null,
        user.alias_name ?? null,
        user.alias_label ?? null,
        user.device_id ?? null,
        user.propertiesJson,
      );
      for (const event of user.events) insertEvent.run(lastInsertRowid, event.name, event.time);
    }
  })();
  return {
    async select(sql, params, alias = 'u') {
      const rows = db
        .prepare(`SELECT ${alias}.user_key AS key FROM users ${alias} WHERE ${sql} ORDER BY ${alias}.id`)
        .all(...params) as { key: string }[];
      return rows.map((row) => row.key);
    },
    async plan(sql, params) {
      const rows = db.prepare(`EXPLAIN QUERY PLAN SELECT u.id FROM users u WHERE ${sql}`).all(...params) as {
        detail: string;
      }[];
      return rows.map((row) => row.detail).join('\n');
    },
    async userCount() {
      return (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
    },
    async close() {
      db.close();
    },
  };
}

async function openPostgresEngine(): Promise<Engine> {
  // A linguistic collation, as many deployments have: text order must still be by code point.
  const database: TestDatabase = await createTestDatabase('criteria', { icuLocale: 'en-US' });
  let warehouse: PgWarehouse | undefined;
  try {
    warehouse = await openPgWarehouse(database.url);
    const pool = warehouse.pool;
    // Ids follow the fixture order, as in SQLite, so both engines list members alike.
    await pool.query(
      `INSERT INTO users (id, workspace_id, user_key, external_id, alias_name, alias_label, device_id, properties, first_seen, last_seen)
       SELECT n, 'w', k, e, an, al, d, p, 0, 0
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) WITH ORDINALITY AS i(k, e, an, al, d, p, n)`,
      [
        users.map((u) => u.key),
        users.map((u) => u.external_id ?? null),
        users.map((u) => u.alias_name ?? null),
        users.map((u) => u.alias_label ?? null),
        users.map((u) => u.device_id ?? null),
        users.map((u) => u.propertiesJson),
      ],
    );
    const events = users.flatMap((user, i) => user.events.map((event) => ({ id: i + 1, ...event })));
    await pool.query(
      `INSERT INTO events (workspace_id, user_id, name, time) SELECT 'w', * FROM unnest($1::bigint[], $2::text[], $3::bigint[])`,
      [events.map((e) => e.id), events.map((e) => e.name), events.map((e) => e.time)],
    );
    await pool.query('ANALYZE users; ANALYZE events');
  } catch (err) {
    await warehouse?.close();
    await database.drop();
    throw err;
  }
  const pool = warehouse.pool;
  const opened = warehouse;
  return {
    async select(sql, params, alias = 'u') {
      const { rows } = await pool.query<{ key: string }>(
        `SELECT ${alias}.user_key AS key FROM users ${alias} WHERE ${sql} ORDER BY ${alias}.id`,
        params as unknown[],
      );
      return rows.map((row) => row.key);
    },
    async plan(sql, params) {
      // A table of 400 rows is read whole unless told otherwise; the question is whether the index fits.
      const client = await pool.connect();
      try {
        await client.query('SET enable_seqscan = off');
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT u.id FROM users u WHERE ${sql}`,
          params as unknown[],
        );
        await client.query('RESET enable_seqscan');
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      } finally {
        client.release();
      }
    },
    async userCount() {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
      return rows[0]!.n;
    },
    async close() {
      await opened.close();
      await database.drop();
    },
  };
}

function oracleMembers(criteria: Criteria, now = NOW): string[] {
  return users.filter((user) => evaluateCriteria(criteria, user, { now })).map((user) => user.key);
}

function valid(input: unknown): Criteria {
  const result = parseCriteria(input);
  if (!result.ok) throw new Error(`invalid test criteria ${JSON.stringify(input)}: ${JSON.stringify(result.issues)}`);
  return result.criteria;
}

const p = (property: string, op: string, value?: unknown): unknown =>
  value === undefined ? { property, op } : { property, op, value };
const ev = (event: string, op: string, count: number, within_days: number): unknown => ({
  event,
  op,
  count,
  within_days,
});

const HAND_WRITTEN: unknown[] = [
  // every property op, with strings, numbers and booleans
  p('country', 'eq', 'BR'),
  p('country', 'neq', 'BR'),
  p('country', 'eq', ''),
  p('country', 'eq', 1),
  p('country', 'eq', true),
  p('country', 'in', ['BR', 'PT']),
  p('country', 'not_in', ['BR', 'PT']),
  p('country', 'in', ['BR', 1, true]),
  p('country', 'not_in', ['br', false]),
  p('age', 'gt', 18),
  p('age', 'gte', 18),
  p('age', 'lt', 18),
  p('age', 'lte', 30),
  p('age', 'gt', 30.25),
  p('age', 'gt', '3'),
  p('age', 'lt', '30'),
  p('age', 'eq', 30),
  p('age', 'eq', '30'),
  p('age', 'in', [0, 1, 30]),
  p('age', 'eq', 1),
  p('age', 'eq', false),
  p('flag', 'eq', true),
  p('flag', 'eq', false),
  p('flag', 'neq', true),
  p('flag', 'eq', 1),
  p('flag', 'eq', '1'),
  p('flag', 'in', [true]),
  p('flag', 'in', [true, false]),
  p('flag', 'not_in', [1, '1']),
  p('tags', 'contains', 'vip'),
  p('tags', 'contains', 'VIP'),
  p('tags', 'contains', 'ip,b'),
  p('tags', 'contains', 'pro'),
  p('name', 'contains', '%'),
  p('name', 'contains', '_'),
  p('name', 'contains', "'"),
  p('name', 'gt', 'B'),
  p('name', 'lt', '😀'),
  p('name', 'gte', '\uFB00'),
  p('name', 'lte', 'a'),
  p('name', 'eq', INJECTION),
  p('plan', 'exists'),
  p('plan', 'not_exists'),
  p('plan', 'neq', 'pro'),
  p('plan', 'eq', 'pro'),
  p('plan', 'gte', 'free'),
  p('address', 'exists'),
  p('address.city', 'eq', 'Lisbon'),
  p('address.city', 'exists'),
  p('address.city', 'not_exists'),
  p('address.zip', 'gte', 1000),
  p('address.geo.lat', 'gt', 38),
  p('address', 'contains', 'Lisbon'),
  p('address', 'eq', 'Lisbon'),
  p('score', 'eq', 2),
  p('score', 'gt', 1e20),
  p('score', 'lt', '10'),
  p('score', 'in', ['2', 2.5]),
  p('never_set', 'not_exists'),
  p('never_set', 'neq', 1),
  p('never_set', 'not_in', ['x']),
  p('never_set', 'eq', 1),
  // events at every op and the window edges
  ev('purchase', 'gte', 1, 30),
  ev('purchase', 'gte', 2, 30),
  ev('purchase', 'eq', 0, 30),
  ev('purchase', 'neq', 0, 7),
  ev('purchase', 'gt', 1, 1),
  ev('purchase', 'lt', 2, 30),
  ev('purchase', 'lte', 1, 7),
  ev('purchase', 'gte', 0, 1),
  ev('Purchase', 'gte', 1, 60),
  ev('app_open', 'eq', 1, 1),
  ev(ODD_EVENT, 'gte', 1, 7),
  ev('never_happened', 'eq', 0, 3650),
  // identity
  { identity: 'identified' },
  { identity: 'anonymous' },
  // groups, not and nesting
  { not: p('country', 'eq', 'BR') },
  { not: { not: p('plan', 'exists') } },
  { all: [p('country', 'in', ['BR', 'PT']), ev('purchase', 'gte', 1, 30)] },
  { any: [p('plan', 'eq', 'pro'), { not: ev('app_open', 'gte', 1, 7) }] },
  {
    all: [
      p('country', 'in', ['BR', 'PT']),
      ev('purchase', 'gte', 2, 30),
      { identity: 'identified' },
      { any: [p('plan', 'eq', 'pro'), { not: ev('app_open', 'gte', 1, 7) }] },
    ],
  },
  {
    any: [
      { all: [{ not: { any: [{ all: [p('age', 'gte', 18), p('flag', 'eq', true)] }, p('name', 'exists')] } }] },
      { identity: 'anonymous' },
    ],
  },
];

const ENGINES: SqlDialectName[] = ['sqlite', 'postgres'];

describe.each(ENGINES)('on %s', (dialect) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = dialect === 'sqlite' ? openSqliteEngine() : await openPostgresEngine();
  });
  afterAll(async () => {
    await engine?.close();
  });

  async function sqlMembers(criteria: Criteria, now = NOW): Promise<string[]> {
    const { sql, params } = compileCriteria(criteria, { now, dialect });
    return engine.select(sql, params);
  }

  describe('compiled SQL agrees with evaluateCriteria', () => {
    it.each(HAND_WRITTEN.map((input) => [JSON.stringify(input), input]))('%s', async (_label, input) => {
      const criteria = valid(input);
      expect(await sqlMembers(criteria)).toEqual(oracleMembers(criteria));
    });

    it('on 500 random criteria trees up to the depth limit', async () => {
      const rand = random(7);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
      const scalars = [...new Set(Object.values(POOLS).flat())].filter((value): value is string | number | boolean =>
        ['string', 'number', 'boolean'].includes(typeof value),
      );
      const properties = [...Object.keys(POOLS), 'address.city', 'address.zip', 'never_set'];
      const ops = ['eq', 'neq', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'contains', 'exists', 'not_exists'];

      const leaf = (): unknown => {
        const kind = rand();
        if (kind < 0.15) return { identity: pick(['identified', 'anonymous']) };
        if (kind < 0.4)
          return ev(
            pick(EVENT_NAMES),
            pick(['eq', 'neq', 'gt', 'gte', 'lt', 'lte']),
            Math.floor(rand() * 4),
            pick([1, 7, 30, 60]),
          );
        const op = pick(ops);
        const property = pick(properties);
        switch (op) {
          case 'in':
          case 'not_in':
            return p(
              property,
              op,
              Array.from({ length: 1 + Math.floor(rand() * 4) }, () => pick(scalars)),
            );
          case 'gt':
          case 'gte':
          case 'lt':
          case 'lte':
            return p(property, op, pick(scalars.filter((value) => typeof value !== 'boolean')));
          case 'contains':
            return p(property, op, pick(['vip', 'B', "'", '%', 'Lis', 'a', 'pro']));
          case 'exists':
          case 'not_exists':
            return p(property, op);
          default:
            return p(property, op, pick(scalars));
        }
      };
      const node = (groupsAbove: number): unknown => {
        if (groupsAbove === 5 || rand() < 0.45) return leaf();
        const kind = pick(['all', 'any', 'not']);
        if (kind === 'not') return { not: node(groupsAbove + 1) };
        return { [kind]: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => node(groupsAbove + 1)) };
      };

      const sizes = new Set<number>();
      for (let i = 0; i < 500; i++) {
        const criteria = valid(node(0));
        const expected = oracleMembers(criteria);
        expect(await sqlMembers(criteria), JSON.stringify(criteria)).toEqual(expected);
        sizes.add(expected.length);
      }
      // The generated trees select many different cohorts, not just everyone or no one.
      expect(sizes.size).toBeGreaterThan(50);
    });

    it('at a different now (windows move with it)', async () => {
      for (const now of [NOW - DAY, NOW + 29 * DAY, NOW - 30 * DAY]) {
        for (const within of [1, 7, 30]) {
          const criteria = valid(ev('purchase', 'gte', 1, within));
          expect(await sqlMembers(criteria, now)).toEqual(oracleMembers(criteria, now));
        }
      }
    });
  });

  describe('semantics, spelled out', () => {
    const among = async (criteria: unknown, keys: string[]): Promise<string[]> =>
      (await sqlMembers(valid(criteria))).filter((key) => keys.includes(key));

    it('booleans, numbers and numeric strings never match one another', async () => {
      const keys = ['bool-true', 'num-one', 'str-one'];
      expect(await among(p('flag', 'eq', true), keys)).toEqual(['bool-true']);
      expect(await among(p('flag', 'eq', 1), keys)).toEqual(['num-one']);
      expect(await among(p('flag', 'eq', '1'), keys)).toEqual(['str-one']);
      expect(await among(p('flag', 'neq', true), keys)).toEqual(['num-one', 'str-one']);
    });

    it('integers and reals compare numerically; strings stay strings', async () => {
      const keys = ['real-two', 'int-two', 'str-two'];
      expect(await among(p('score', 'eq', 2), keys)).toEqual(['real-two', 'int-two']);
      expect(await among(p('score', 'in', [2.0]), keys)).toEqual(['real-two', 'int-two']);
      expect(await among(p('score', 'gte', '10'), keys)).toEqual(['str-two']); // "2" > "10" as text
      expect(await among(p('score', 'lt', 10), keys)).toEqual(['real-two', 'int-two']);
    });

    it('missing and null match only the negative ops', async () => {
      const keys = ['null-plan', 'empty'];
      for (const op of ['eq', 'gt', 'gte', 'lt', 'lte', 'contains'])
        expect(await among(p('plan', op, 'x'), keys)).toEqual([]);
      expect(await among(p('plan', 'in', ['x']), keys)).toEqual([]);
      expect(await among(p('plan', 'exists'), keys)).toEqual([]);
      expect(await among(p('plan', 'neq', 'x'), keys)).toEqual(keys);
      expect(await among(p('plan', 'not_in', ['x']), keys)).toEqual(keys);
      expect(await among(p('plan', 'not_exists'), keys)).toEqual(keys);
    });

    it('strings order by code point, as SQLite does (not by UTF-16 unit)', async () => {
      expect(await among(p('name', 'lt', '😀'), ['ffi', 'emoji'])).toEqual(['ffi']);
    });

    it('dotted names step into objects; a literal dotted key is not addressed', async () => {
      expect(await among(p('address.city', 'eq', 'Lisbon'), ['nested', 'dotted-key'])).toEqual(['nested']);
      expect(await among(p('address.geo.lat', 'gt', 38.5), ['nested'])).toEqual(['nested']);
    });

    it('contains is a substring of a string, or a string element of an array', async () => {
      const keys = ['tags-array', 'tags-string'];
      expect(await among(p('tags', 'contains', 'vip'), keys)).toEqual(keys);
      expect(await among(p('tags', 'contains', 'vi'), keys)).toEqual(['tags-string']);
      expect(await among(p('tags', 'contains', 'inner'), keys)).toEqual([]);
      expect(await among(p('tags', 'contains', '7'), keys)).toEqual([]);
      expect(await among(p('tags', 'contains', '["inner"]'), keys)).toEqual([]);
    });

    it('event windows include both ends and exclude the future', async () => {
      const keys = ['window-edges'];
      expect(await among(ev('purchase', 'eq', 2, 30), keys)).toEqual(keys);
      expect(await among(ev('purchase', 'eq', 1, 29), keys)).toEqual(keys);
      expect(await among(ev('purchase', 'eq', 3, 31), keys)).toEqual(keys);
    });
  });

  describe('injection', () => {
    it('a value that looks like SQL matches itself literally and nothing else', async () => {
      expect(await sqlMembers(valid(p('name', 'eq', INJECTION)))).toEqual(
        oracleMembers(valid(p('name', 'eq', INJECTION))),
      );
      const members = await sqlMembers(valid(p('name', 'eq', INJECTION)));
      expect(members).toContain('injection');
      expect(members).not.toContain('injection-prefix');
      for (const key of members) {
        expect(users.find((user) => user.key === key)?.properties.name).toBe(INJECTION);
      }
      expect(await sqlMembers(valid(p('name', 'in', [INJECTION, "'; DROP TABLE users; --"])))).toEqual(members);
    });

    it('an event name with quotes matches literally', async () => {
      const members = await sqlMembers(valid(ev(ODD_EVENT, 'gte', 1, 7)));
      expect(members).toContain('odd-event');
      expect(members).toEqual(oracleMembers(valid(ev(ODD_EVENT, 'gte', 1, 7))));
    });

    it('no value or name ever appears in the SQL text', async () => {
      const secrets = [INJECTION, 'needle_property', 'needle-value', 'needle-event', "'; DROP TABLE users; --"];
      const { sql, params } = compileCriteria(
        valid({
          all: [
            p('needle_property', 'eq', 'needle-value'),
            p('needle_property', 'in', [INJECTION, "'; DROP TABLE users; --"]),
            p('needle_property', 'contains', INJECTION),
            p('needle_property', 'gt', 'needle-value'),
            ev('needle-event', 'gte', 12345, 30),
          ],
        }),
        { now: NOW, dialect },
      );
      for (const secret of [...secrets, '12345']) expect(sql).not.toContain(secret);
      if (dialect === 'sqlite') {
        expect(sql.split('?').length - 1).toBe(params.length);
        expect(params).toContain('$."needle_property"');
      } else {
        // $1 … $n, each once, in order: the text holds nothing else that could be a value.
        const numbers = [...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
        expect(numbers).toEqual(params.map((_, i) => i + 1));
        expect(params).toContainEqual(['needle_property']);
      }
      expect(await engine.select('true', [])).toHaveLength(users.length);
      expect(await engine.userCount()).toBe(users.length);
    });

    it('compileCriteria refuses property names that did not pass validation', async () => {
      const forged = { property: 'a"."b', op: 'exists' } as Criteria;
      expect(() => compileCriteria(forged, { now: NOW })).toThrow(/invalid property name/);
    });

    it('compileCriteria refuses an alias that is not a plain identifier or is reserved', async () => {
      const criteria = valid({ identity: 'identified' });
      expect(() => compileCriteria(criteria, { now: NOW, userAlias: 'u; DROP TABLE users' })).toThrow(/userAlias/);
      expect(() => compileCriteria(criteria, { now: NOW, userAlias: 'criteria_event' })).toThrow(/reserved/);
      expect(() => compileCriteria(criteria, { now: Number.NaN })).toThrow(/now/);
    });
  });

  describe('compileCriteria', () => {
    it('uses the given users alias', async () => {
      const criteria = valid({
        all: [ev('purchase', 'gte', 1, 30), p('country', 'eq', 'BR'), { identity: 'anonymous' }],
      });
      const { sql, params } = compileCriteria(criteria, { now: NOW, userAlias: 'member', dialect });
      expect(sql).not.toMatch(/\bu\./);
      expect(await engine.select(sql, params, 'member')).toEqual(oracleMembers(criteria));
    });

    it('counts events through the (user_id, name, time) index', async () => {
      const { sql, params } = compileCriteria(valid(ev('purchase', 'gte', 1, 30)), { now: NOW, dialect });
      expect(await engine.plan(sql, params)).toMatch(/events_user_name_time/);
    });

    it('handles a 1,000-value list with a constant number of parameters', async () => {
      const values = Array.from({ length: 1000 }, (_, i) => `c${i}`).concat('BR');
      const criteria = valid(p('country', 'in', values.slice(-1000)));
      const { params } = compileCriteria(criteria, { now: NOW, dialect });
      expect(params.length).toBeLessThan(5);
      expect(await sqlMembers(criteria)).toEqual(oracleMembers(criteria));
    });
  });
});
