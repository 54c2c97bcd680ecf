import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { isOrphan, ownerPid, TEST_PREFIX_ROOT } from './scratch';

/**
 * Databases of their own for tests, on the PostgreSQL at PGHOST:PGPORT (default
 * 127.0.0.1:5432, user postgres, trust auth; PGUSER / PGPASSWORD as libpq reads them). A
 * name carries the owning test run's pid, like the scratch folders, so set-up drops only the
 * databases of runs that died before dropping their own.
 */
const DB_ROOT = `${TEST_PREFIX_ROOT}-`;

function server() {
  return {
    host: process.env.PGHOST ?? '127.0.0.1',
    port: Number(process.env.PGPORT ?? 5432),
    user: process.env.PGUSER ?? 'postgres',
    password: process.env.PGPASSWORD,
  };
}

/** The URL of a database on the test server. */
export function postgresUrl(database: string): string {
  const { host, port, user, password } = server();
  const auth = encodeURIComponent(user) + (password ? `:${encodeURIComponent(password)}` : '');
  return `postgres://${auth}@${host}:${port}/${encodeURIComponent(database)}`;
}

async function withMaintenance<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...server(), database: 'postgres', connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Database names are made here from a pid, a label and hex; the pattern keeps them that way. */
function quoted(name: string): string {
  if (!/^[a-z0-9-]{1,63}$/.test(name)) throw new Error(`not a test database name: ${name}`);
  return `"${name}"`;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database, e.g. `citest-1234-e2e-9f2c1a`; `drop()` removes it. `icuLocale`
 * (e.g. `en-US`) gives it a linguistic collation instead of the server's default, which on
 * these machines is C.UTF-8 and would hide a missing `COLLATE "C"`.
 */
export async function createTestDatabase(label: string, opts: { icuLocale?: string } = {}): Promise<TestDatabase> {
  const name = `${DB_ROOT}${ownerPid()}-${label.toLowerCase().replace(/[^a-z0-9]/g, '')}-${randomBytes(4).toString('hex')}`;
  let create = `CREATE DATABASE ${quoted(name)}`;
  if (opts.icuLocale !== undefined) {
    if (!/^[A-Za-z-]{2,20}$/.test(opts.icuLocale)) throw new Error(`not an ICU locale: ${opts.icuLocale}`);
    create += ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${opts.icuLocale}'`;
  }
  await withMaintenance((c) => c.query(create));
  return {
    name,
    url: postgresUrl(name),
    drop: () => withMaintenance((c) => c.query(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`)).then(() => {}),
  };
}

/** Drops the test databases of runs that are no longer alive; quiet when PostgreSQL is away. */
export async function dropOrphanDatabases(): Promise<void> {
  let names: string[];
  try {
    names = await withMaintenance(async (c) => {
      const { rows } = await c.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
        [DB_ROOT],
      );
      return rows.map((r) => r.datname);
    });
  } catch {
    return; // the suites that need PostgreSQL say so themselves
  }
  for (const name of names.filter((n) => isOrphan(n, DB_ROOT))) {
    await withMaintenance((c) => c.query(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`));
  }
}
