import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openControlDb } from '../db/client';
import { createTestDatabase, type TestDatabase } from './support/postgres';
import { scratchDir } from './support/scratch';

/**
 * The control database's two schemas (db/schema.ts with its SQLite migrations, db/pg-schema.ts
 * with its PostgreSQL ones) read back from live databases after every migration: the same
 * tables, columns, nullability and indexes. Column types differ on purpose (epoch ms integers
 * vs timestamptz, JSON text vs jsonb).
 */
interface Shape {
  columns: Record<string, string[]>; // table → "name null|not null"
  indexes: string[]; // "table.name unique? (cols) partial?"
}

const MIGRATION_TABLES = /^(__drizzle_migrations|sqlite_sequence)$/;

function sqliteShape(path: string): Shape {
  const db = new Database(path, { readonly: true });
  try {
    const tables = (
      db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
        name: string;
      }[]
    )
      .map((t) => t.name)
      .filter((t) => !MIGRATION_TABLES.test(t));
    const columns: Shape['columns'] = {};
    const indexes: string[] = [];
    for (const table of tables) {
      const info = db.prepare(`SELECT name, "notnull" AS nn, pk FROM pragma_table_info(?)`).all(table) as {
        name: string;
        nn: number;
        pk: number;
      }[];
      columns[table] = info.map((c) => `${c.name} ${c.nn || c.pk ? 'not null' : 'null'}`).sort();
      const list = db.prepare('SELECT name, "unique" AS u, partial FROM pragma_index_list(?)').all(table) as {
        name: string;
        u: number;
        partial: number;
      }[];
      for (const index of list.filter((i) => !i.name.startsWith('sqlite_autoindex_'))) {
        const cols = (
          db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(index.name) as {
            name: string;
          }[]
        ).map((c) => c.name);
        indexes.push(
          `${table}.${index.name}${index.u ? ' unique' : ''} (${cols.join(',')})${index.partial ? ' partial' : ''}`,
        );
      }
    }
    return { columns, indexes: indexes.sort() };
  } finally {
    db.close();
  }
}

async function postgresShape(url: string): Promise<Shape> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const cols = await client.query<{ table_name: string; column_name: string; is_nullable: string }>(
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const columns: Shape['columns'] = {};
    for (const c of cols.rows) {
      if (MIGRATION_TABLES.test(c.table_name)) continue;
      (columns[c.table_name] ??= []).push(`${c.column_name} ${c.is_nullable === 'YES' ? 'null' : 'not null'}`);
    }
    for (const t of Object.keys(columns)) columns[t]!.sort();
    const idx = await client.query<{ tbl: string; name: string; uniq: boolean; partial: boolean; cols: string[] }>(
      `SELECT t.relname AS tbl, i.relname AS name, x.indisunique AS uniq, x.indpred IS NOT NULL AS partial,
              array(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n) AS cols
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace ns ON ns.oid = t.relnamespace
       WHERE ns.nspname = 'public' AND NOT x.indisprimary`,
    );
    const indexes = idx.rows.map(
      (i) => `${i.tbl}.${i.name}${i.uniq ? ' unique' : ''} (${i.cols.join(',')})${i.partial ? ' partial' : ''}`,
    );
    return { columns, indexes: indexes.sort() };
  } finally {
    await client.end();
  }
}

describe('the control database on SQLite and on PostgreSQL', () => {
  let dir: string;
  let database: TestDatabase;
  beforeAll(async () => {
    dir = scratchDir('schema-drift');
    database = await createTestDatabase('schema-drift');
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('have the same tables, columns, nullability and indexes after their migrations', async () => {
    const path = join(dir, 'control.db');
    await (await openControlDb(path)).close();
    await (await openControlDb(database.url)).close();
    const sqlite = sqliteShape(path);
    const postgres = await postgresShape(database.url);
    expect(Object.keys(sqlite.columns)).toContain('import_runs');
    expect(sqlite.indexes).toContain('import_runs.import_runs_one_active unique (cohort_id) partial');
    expect(postgres).toEqual(sqlite);
  });

  it('apply migrations once when several processes open the database at once', async () => {
    const opened = await Promise.all(Array.from({ length: 4 }, () => openControlDb(database.url)));
    const ids = await Promise.all(
      opened.map(async (db) => (await db.select().from(db.tables.deployment)).map((r) => r.id)),
    );
    await Promise.all(opened.map((db) => db.close()));
    // One deployment row, made by the one migration that ran: every process sees the same.
    expect(new Set(ids.flat()).size).toBe(1);
    expect(ids.every((list) => list.length === 1)).toBe(true);
  });
});
