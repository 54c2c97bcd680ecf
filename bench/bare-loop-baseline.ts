import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { isPostgresUrl, openSqlite } from '../db/client';
import { compileCriteria, type Criteria } from '../src/domain/criteria';
import { brazeIdentifierSql } from '../src/domain/identity';

type IdentifierRow = [type: string, value: string, label: string | null];

export interface BaselineOptions {
  warehouseUrl: string;
  workspaceId: string;
  criteria: Criteria;
  sandboxUrl: string;
  partnerApiKey: string;
  brazeKey: string;
  /** Requests in flight at once. */
  inFlight: number;
}

const BATCH = 1000;

/**
 * The floor: no queue, no bookkeeping; the cohort's SELECT on the run's own engine, streamed in
 * batches of 1,000 identifiers, each POSTed to the sandbox over keep-alive HTTP as it fills.
 */
export async function bareLoopBaseline(options: BaselineOptions) {
  const { sandboxUrl, partnerApiKey, brazeKey } = options;
  const cohortId = `baseline-${randomUUID()}`;
  const post = (path: string, body: object) =>
    fetch(`${sandboxUrl}/partners/kubit/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ partner_api_key: partnerApiKey, client_secret: brazeKey, cohort_id: cohortId, ...body }),
    }).then(async (r) => {
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`baseline POST ${r.status}`);
    });
  const t0 = performance.now();
  await post('cohorts', { name: cohortId, created_at: new Date().toISOString() });
  let identifiers = 0;
  let requests = 1;
  const inFlight = new Set<Promise<void>>();
  for await (const batch of identifierBatches(options)) {
    const change: { user_ids: string[]; device_ids: string[]; aliases: { alias_name: string; alias_label: string }[] } =
      { user_ids: [], device_ids: [], aliases: [] };
    for (const [t, v, l] of batch) {
      if (t === 'external_id') change.user_ids.push(v);
      else if (t === 'device_id') change.device_ids.push(v);
      else change.aliases.push({ alias_name: v, alias_label: l ?? '' });
    }
    identifiers += batch.length;
    requests++;
    const p = post('cohorts/users', { cohort_changes: [change] }).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= options.inFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return { seconds: (performance.now() - t0) / 1000, identifiers, requests };
}

/** The cohort's identifiers in batches of 1,000, read while earlier batches are being sent. */
async function* identifierBatches(options: BaselineOptions): AsyncGenerator<IdentifierRow[]> {
  const id = brazeIdentifierSql('u');
  const postgres = isPostgresUrl(options.warehouseUrl);
  const where = compileCriteria(options.criteria, {
    now: Date.now(),
    userAlias: 'u',
    dialect: postgres ? 'postgres' : 'sqlite',
    firstParameter: 2,
  });
  const select =
    `SELECT ${id.idType} AS t, ${id.idValue} AS v, ${id.idLabel} AS l FROM users u ` +
    `WHERE u.workspace_id = ${postgres ? '$1' : '?'} AND (${where.sql}) AND ${id.idType} IS NOT NULL`;
  const params = [options.workspaceId, ...where.params];
  if (postgres) {
    // A server-side cursor: PostgreSQL streams the rows as SQLite's iterator does.
    const client = new pg.Client({ connectionString: options.warehouseUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query({ text: `DECLARE baseline NO SCROLL CURSOR FOR ${select}`, values: params });
      for (;;) {
        const { rows } = await client.query<IdentifierRow>({ text: `FETCH ${BATCH} FROM baseline`, rowMode: 'array' });
        if (rows.length === 0) break;
        yield rows;
      }
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    return;
  }
  const db = openSqlite(options.warehouseUrl);
  try {
    // WAL lets this read alongside the writers.
    const rows = db
      .prepare(select)
      .raw()
      .iterate(...params) as IterableIterator<IdentifierRow>;
    let batch: IdentifierRow[] = [];
    for (const row of rows) {
      batch.push(row);
      if (batch.length === BATCH) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } finally {
    db.close();
  }
}
