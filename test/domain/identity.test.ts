import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  brazeIdentifierOf,
  brazeIdentifierSql,
  identifiedSql,
  isIdentified,
  type BrazeIdentifier,
  type UserIdentityFields,
} from '../../src/domain/identity';
import { warehouseMigrations } from '../../src/warehouse/sqlite-schema';

const CASES: [string, UserIdentityFields, BrazeIdentifier | null][] = [
  ['external id only', { external_id: 'ext-1' }, { type: 'external_id', value: 'ext-1' }],
  [
    'external id wins over alias and device',
    { external_id: 'ext-1', alias_name: 'a@b.c', alias_label: 'email', device_id: 'dev-1' },
    { type: 'external_id', value: 'ext-1' },
  ],
  [
    'external id wins over device',
    { external_id: 'ext-1', device_id: 'dev-1' },
    { type: 'external_id', value: 'ext-1' },
  ],
  ['alias only', { alias_name: 'a@b.c', alias_label: 'email' }, { type: 'alias', value: 'a@b.c', label: 'email' }],
  [
    'alias wins over device',
    { alias_name: 'a@b.c', alias_label: 'email', device_id: 'dev-1' },
    { type: 'alias', value: 'a@b.c', label: 'email' },
  ],
  [
    'empty external id falls through to the alias',
    { external_id: '', alias_name: 'a@b.c', alias_label: 'email', device_id: 'dev-1' },
    { type: 'alias', value: 'a@b.c', label: 'email' },
  ],
  [
    'alias name without label is no alias',
    { alias_name: 'a@b.c', device_id: 'dev-1' },
    { type: 'device_id', value: 'dev-1' },
  ],
  [
    'alias label without name is no alias',
    { alias_label: 'email', device_id: 'dev-1' },
    { type: 'device_id', value: 'dev-1' },
  ],
  ['empty alias label is no alias', { alias_name: 'a@b.c', alias_label: '' }, null],
  ['device only', { device_id: 'dev-1' }, { type: 'device_id', value: 'dev-1' }],
  [
    'device with null others',
    { external_id: null, alias_name: null, alias_label: null, device_id: 'dev-1' },
    { type: 'device_id', value: 'dev-1' },
  ],
  ['nothing', {}, null],
  ['all null', { external_id: null, alias_name: null, alias_label: null, device_id: null }, null],
  ['all empty', { external_id: '', alias_name: '', alias_label: '', device_id: '' }, null],
  ['values kept verbatim', { external_id: " 'quoted' " }, { type: 'external_id', value: " 'quoted' " }],
];

let db: Database.Database;

beforeAll(() => {
  db = new Database(':memory:');
  for (const migration of warehouseMigrations) db.exec(migration);
  const insert = db.prepare(
    `INSERT INTO users (workspace_id, user_key, external_id, alias_name, alias_label, device_id, first_seen, last_seen)
     VALUES ('w', ?, ?, ?, ?, ?, 0, 0)`,
  );
  for (const [name, user] of CASES) {
    insert.run(
      name,
      user.external_id ?? null,
      user.alias_name ?? null,
      user.alias_label ?? null,
      user.device_id ?? null,
    );
  }
});

afterAll(() => db.close());

function sqlIdentifier(
  name: string,
  alias = 'u',
): { id_type: string | null; id_value: string | null; id_label: string | null; identified: number } {
  const id = brazeIdentifierSql(alias);
  return db
    .prepare(
      `SELECT ${id.idType} AS id_type, ${id.idValue} AS id_value, ${id.idLabel} AS id_label, ${identifiedSql(alias)} AS identified
       FROM users ${alias} WHERE ${alias}.user_key = ?`,
    )
    .get(name) as { id_type: string | null; id_value: string | null; id_label: string | null; identified: number };
}

describe('brazeIdentifierOf and brazeIdentifierSql agree', () => {
  it.each(CASES)('%s', (name, user, expected) => {
    const identifier = brazeIdentifierOf(user);
    expect(identifier).toEqual(expected);

    const row = sqlIdentifier(name);
    expect(row.id_type).toBe(identifier?.type ?? null);
    expect(row.id_value).toBe(identifier?.value ?? null);
    expect(row.id_label).toBe(identifier?.type === 'alias' ? identifier.label : null);
    expect(row.identified).toBe(isIdentified(user) ? 1 : 0);
  });

  it('never yields a device id for a user with an external id or a complete alias', () => {
    for (const [, user] of CASES) {
      const hasAlias = Boolean(user.alias_name) && Boolean(user.alias_label);
      if (user.external_id || hasAlias) expect(brazeIdentifierOf(user)?.type).not.toBe('device_id');
    }
  });

  it('freezes members with INSERT … SELECT into cohort_run_members', () => {
    const id = brazeIdentifierSql('m');
    db.prepare(
      `INSERT INTO cohort_run_members (run_key, user_id, id_type, id_value, id_label)
       SELECT 1, m.id, ${id.idType}, ${id.idValue}, ${id.idLabel} FROM users m`,
    ).run();
    const counts = db
      .prepare(
        `SELECT id_type, count(*) AS n FROM cohort_run_members WHERE run_key = 1 GROUP BY id_type ORDER BY id_type`,
      )
      .all();
    const expected = new Map<string | null, number>();
    for (const [, user] of CASES) {
      const type = brazeIdentifierOf(user)?.type ?? null;
      expected.set(type, (expected.get(type) ?? 0) + 1);
    }
    expect(counts).toEqual(
      [...expected.entries()]
        .sort(([a], [b]) => (a ?? '').localeCompare(b ?? ''))
        .map(([id_type, n]) => ({ id_type, n })),
    );
  });

  it('rejects a table alias that is not a plain identifier', () => {
    expect(() => brazeIdentifierSql('u; DROP TABLE users')).toThrow(/alias/);
    expect(() => identifiedSql('1u')).toThrow(/alias/);
  });
});
