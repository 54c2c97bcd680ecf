import { join } from 'node:path';
import pg from 'pg';
import { openSqlite } from '../db/client';

export type BenchEngine = 'sqlite' | 'postgres';

export interface BenchStores {
  engine: BenchEngine;
  databaseUrl: string;
  warehouseUrl: string;
  /** PostgreSQL: the server processes serving this run's database (its CPU is not the bench's). */
  backendPids(): Promise<number[]>;
  /** After seeding, the warehouse as a live one is: PostgreSQL vacuumed with statistics, SQLite checkpointed. */
  settle(): Promise<void>;
  /** Removes what `createStores` made (the PostgreSQL database); the temp folder is the caller's. */
  drop(): Promise<void>;
}

/** The server the PostgreSQL run creates its database on; loopback, user postgres, trust auth. */
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
let created = 0;

/**
 * Both databases of one bench run: two SQLite files in `dir`, or one fresh PostgreSQL database
 * (named after this pid) holding both, dropped by `drop` whatever is still connected to it.
 */
export async function createStores(engine: BenchEngine, dir: string): Promise<BenchStores> {
  if (engine === 'sqlite') {
    return {
      engine,
      databaseUrl: join(dir, 'control.db'),
      warehouseUrl: join(dir, 'warehouse.db'),
      backendPids: async () => [],
      // At rest, as PostgreSQL's VACUUM ANALYZE below: the seed's pages copied from the WAL into the
      // file. Otherwise the first commit after it (a run's start) paid for that checkpoint (~0.13 s at 1M).
      settle: async () => {
        const db = openSqlite(join(dir, 'warehouse.db'));
        try {
          db.pragma('wal_checkpoint(TRUNCATE)');
        } finally {
          db.close();
        }
      },
      drop: async () => undefined,
    };
  }
  const name = `cohort_import_bench_${process.pid}_${++created}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    engine,
    databaseUrl: url.toString(),
    warehouseUrl: url.toString(),
    backendPids: () =>
      withAdmin(async (admin) => {
        const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
          name,
        ]);
        return rows.map((r) => r.pid);
      }),
    settle: async () => {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      await client.query('VACUUM ANALYZE').finally(() => client.end());
    },
    drop: async () => void (await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
