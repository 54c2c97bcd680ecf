/**
 * `npx tsx bench/warehouse-engines.ts [--users N] [--engine sqlite|postgres|both] [--unlogged]`:
 * the warehouse's own work for one big run on each engine, with no queue and no Braze: seed,
 * preview, freeze, diff, read and apply every page, a 1% change and its diff, discard. On
 * PostgreSQL it also times a one-user upsert while a freeze runs. `--unlogged` makes the
 * PostgreSQL working sets UNLOGGED, to compare. Prints figures; asserts nothing.
 *
 * PostgreSQL: a database of its own (created and dropped) on BENCH_PG_URL's server, default
 * postgres://postgres@127.0.0.1:5432/postgres.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Criteria } from '../src/domain/criteria';
import { seedWarehouse } from '../src/seed/seed-warehouse';
import { openWarehouse, type OpenedWarehouse } from '../src/warehouse/open-warehouse';
import { PgWarehouse } from '../src/warehouse/pg-warehouse';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000000' },
    engine: { type: 'string', default: 'both' },
    unlogged: { type: 'boolean', default: false },
  },
});
const USERS = Number(values.users);
const PAGE = 1000;
const criteria = { all: [{ property: 'age', op: 'gte', value: 18 }] } as Criteria;
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function timed<T>(label: string, rows: Map<string, string>, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await work();
  rows.set(label, `${((performance.now() - t0) / 1000).toFixed(2)} s`);
  return result;
}

async function measure(wh: OpenedWarehouse): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  const now = Date.now();
  await timed('seed (users + events)', rows, () =>
    seedWarehouse(wh, { workspaceId: 'w', users: USERS, seed: 2026, now, scratch: true }),
  );
  if (wh instanceof PgWarehouse) await wh.pool.query('VACUUM ANALYZE');
  const preview = await timed('preview (count + sample)', rows, () => wh.preview('w', criteria, { now, limit: 20 }));
  rows.set('cohort size', preview.count.toLocaleString('en-US'));
  const run = 'bench-run-1';
  await timed('freeze', rows, () => wh.freezeRunMembers(run, 'w', criteria, now));
  const changes = await timed('diff (numbered)', rows, () => wh.computeChanges(run, 'cohort', 'scope', false));
  const total = changes.additions + changes.removals;
  rows.set('changes', total.toLocaleString('en-US'));
  let pageSeconds = 0;
  let applySeconds = 0;
  for (let from = 1; from <= total; from += PAGE) {
    const to = Math.min(from + PAGE - 1, total);
    const t0 = performance.now();
    await wh.readPage(run, from, to);
    const t1 = performance.now();
    await wh.applyChanges(run, 'cohort', 'scope', from, to);
    pageSeconds += (t1 - t0) / 1000;
    applySeconds += (performance.now() - t1) / 1000;
  }
  const pages = Math.ceil(total / PAGE);
  rows.set('read page (mean)', `${((pageSeconds / pages) * 1000).toFixed(1)} ms`);
  rows.set('apply page (mean)', `${((applySeconds / pages) * 1000).toFixed(1)} ms`);

  // 1% of the users move out of the cohort; the next run's diff holds only them.
  const moved = Array.from({ length: Math.floor(USERS / 100) }, (_, i) => ({
    user_key: `u-${String(i * 100).padStart(7, '0')}`,
    properties: { age: 10 },
  }));
  for (let i = 0; i < moved.length; i += 10_000) await wh.upsertUsers('w', moved.slice(i, i + 10_000));
  await timed('discard run', rows, () => wh.discardRun(run));
  const second = 'bench-run-2';
  if (wh instanceof PgWarehouse) {
    // A one-user upsert while a worker freezes the whole cohort.
    const freezing = wh.freezeRunMembers(second, 'w', criteria, now);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const t0 = performance.now();
    await wh.upsertUsers('w', [{ user_key: 'u-0000001', properties: { seen: true } }]);
    rows.set('1-user upsert during a freeze', `${(performance.now() - t0).toFixed(0)} ms`);
    await freezing;
  } else {
    await wh.freezeRunMembers(second, 'w', criteria, now);
  }
  const delta = await timed('diff after a 1% change', rows, () => wh.computeChanges(second, 'cohort', 'scope', false));
  rows.set('changes after a 1% change', (delta.additions + delta.removals).toLocaleString('en-US'));
  return rows;
}

const results = new Map<string, Map<string, string>>();
if (values.engine === 'both' || values.engine === 'sqlite') {
  const dir = mkdtempSync(join(tmpdir(), 'cohort-import-wh-bench-'));
  const wh = await openWarehouse(join(dir, 'warehouse.db'));
  try {
    console.error(`sqlite: ${USERS.toLocaleString('en-US')} users…`);
    results.set('SQLite', await measure(wh));
  } finally {
    await wh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
if (values.engine === 'both' || values.engine === 'postgres') {
  const name = `cohort_import_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const wh = await openWarehouse(url.toString());
  try {
    if (values.unlogged && wh instanceof PgWarehouse) {
      await wh.pool.query('ALTER TABLE cohort_run_members SET UNLOGGED; ALTER TABLE cohort_run_changes SET UNLOGGED');
    }
    console.error(
      `postgres${values.unlogged ? ' (unlogged working sets)' : ''}: ${USERS.toLocaleString('en-US')} users…`,
    );
    results.set(values.unlogged ? 'PostgreSQL (unlogged)' : 'PostgreSQL', await measure(wh));
  } finally {
    await wh.close();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const engines = [...results.keys()];
const labels = [...new Set([...results.values()].flatMap((r) => [...r.keys()]))];
const width = Math.max(...labels.map((l) => l.length));
console.log(`\n${'warehouse, ' + USERS.toLocaleString('en-US') + ' users'.padEnd(0)}`);
console.log(`${''.padEnd(width)}  ${engines.map((e) => e.padStart(22)).join('')}`);
for (const label of labels) {
  console.log(
    `${label.padEnd(width)}  ${engines.map((e) => (results.get(e)!.get(label) ?? '–').padStart(22)).join('')}`,
  );
}
