// Plain JavaScript: a warehouse's bulk thread runs it without a TypeScript loader (a loader in a
// thread costs ~50 MB of a worker's memory), and an in-memory warehouse runs the same code on
// its caller's thread. The SQL that depends on criteria is compiled by the caller.

/**
 * Users (by id) per statement of a freeze or a diff. Between two chunks the deadline is checked,
 * so a freeze or a diff outlives `bulkMs` by at most one chunk; 16 chunks per 1M users cost no
 * measurable time (a statement is a B-tree seek and a prepared-statement step).
 */
const BULK_CHUNK_IDS = 65_536;

/** `[lo, hi]` id ranges of BULK_CHUNK_IDS covering `min..max` (none when the set is empty). */
function* idChunks(range) {
  if (range.lo === null || range.hi === null) return;
  for (let lo = range.lo; lo <= range.hi; lo += BULK_CHUNK_IDS) yield [lo, Math.min(lo + BULK_CHUNK_IDS - 1, range.hi)];
}

const prepared = new WeakMap();

/** The statements bulk work shares, prepared once per connection. */
function statementsOf(db) {
  let s = prepared.get(db);
  if (s) return s;
  s = {
    insertRunKey: db.prepare('INSERT INTO run_keys (run_id) VALUES (?) ON CONFLICT (run_id) DO NOTHING'),
    runKey: db.prepare('SELECT id FROM run_keys WHERE run_id = ?').pluck(),
    deleteRunKey: db.prepare('DELETE FROM run_keys WHERE id = ?'),
    insertSyncSet: db.prepare(
      'INSERT INTO sync_sets (cohort_id, sync_scope) VALUES (?, ?) ON CONFLICT (cohort_id, sync_scope) DO NOTHING',
    ),
    syncSet: db.prepare('SELECT id FROM sync_sets WHERE cohort_id = ? AND sync_scope = ?').pluck(),
    deleteRunMembers: db.prepare('DELETE FROM cohort_run_members WHERE run_key = ?'),
    // min() and max() as separate subqueries: each is one index seek, together they would scan.
    workspaceIds: db.prepare(`
      SELECT (SELECT min(id) FROM users WHERE workspace_id = @key) AS lo,
             (SELECT max(id) FROM users WHERE workspace_id = @key) AS hi`),
    memberIds: db.prepare(`
      SELECT (SELECT min(user_id) FROM cohort_run_members WHERE run_key = @key) AS lo,
             (SELECT max(user_id) FROM cohort_run_members WHERE run_key = @key) AS hi`),
    syncedIds: db.prepare(`
      SELECT (SELECT min(user_id) FROM cohort_synced_members WHERE sync_set = @key) AS lo,
             (SELECT max(user_id) FROM cohort_synced_members WHERE sync_set = @key) AS hi`),
    lastSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM cohort_run_changes').pluck(),
    runRange: db.prepare('SELECT first_seq AS firstSeq, last_seq AS lastSeq FROM run_keys WHERE id = ?'),
    setRunRange: db.prepare('UPDATE run_keys SET first_seq = ?, last_seq = ? WHERE id = ?'),
    deleteChanges: db.prepare('DELETE FROM cohort_run_changes WHERE seq BETWEEN ? AND ?'),
    countChanges: db.prepare('SELECT count(*) FROM cohort_run_changes WHERE seq BETWEEN ? AND ?').pluck(),
    runCounts: db.prepare(`
      SELECT count(*) AS size, coalesce(sum(id_type IS NULL), 0) AS unmatchable
      FROM cohort_run_members WHERE run_key = ?`),
    syncedCount: db.prepare('SELECT count(*) FROM cohort_synced_members WHERE sync_set = ?').pluck(),
    changeCounts: db.prepare(`
      SELECT coalesce(sum(op = 'add'), 0) AS additions, coalesce(sum(op = 'remove'), 0) AS removals
      FROM cohort_run_changes WHERE seq BETWEEN ? AND ?`),
  };
  prepared.set(db, s);
  return s;
}

/**
 * A key of a small lookup table (run keys, sync sets), read first and made only when missing: a
 * reader of one that exists then takes no write lock.
 */
export function keyOf(read, insert, ...args) {
  const key = read.get(...args);
  if (key !== undefined) return key;
  insert.run(...args);
  return read.get(...args);
}

/** The error a bulk call past its deadline throws here, for a caller to revive. */
export function plainTimeoutError(operation, limitMs) {
  return Object.assign(new Error(`The warehouse did not finish ${operation} within ${limitMs} ms`), {
    name: 'WarehouseTimeoutError',
    operation,
    limitMs,
  });
}

/**
 * One bulk call (see BulkRequest in sqlite-bulk-run.d.mts) as one IMMEDIATE transaction of
 * chunked statements, checking the deadline between chunks: past it, `timeoutError` is thrown
 * inside the transaction and every chunk rolls back. IMMEDIATE takes the write lock first and
 * waits for it with the busy timeout; a deferred transaction that read before its first write
 * would be refused at once if another writer held it.
 */
export function runBulk(db, request, timeoutError = plainTimeoutError) {
  const s = statementsOf(db);
  const deadline = performance.now() + request.bulkMs;
  const operation = request.op === 'computeChanges' ? 'computing the changes' : 'freezing the members';
  const checkpoint = () => {
    if (performance.now() > deadline) throw timeoutError(operation, request.bulkMs);
  };
  const work = BULK_WORK[request.op];
  if (!work) throw new Error(`Unknown bulk call ${request.op}`);
  return db.transaction(() => work(db, s, request, checkpoint)).immediate();
}

const BULK_WORK = {
  freezeRunMembers(db, s, r, checkpoint) {
    const insert = db.prepare(r.insertSql);
    const runKey = keyOf(s.runKey, s.insertRunKey, r.runId);
    s.deleteRunMembers.run(runKey);
    for (const [lo, hi] of idChunks(s.workspaceIds.get({ key: r.workspaceId }))) {
      checkpoint();
      insert.run(runKey, r.workspaceId, lo, hi, ...r.params);
    }
    checkpoint();
    const c = s.runCounts.get(runKey);
    return { cohortSize: c.size, unmatchable: c.unmatchable };
  },

  freezeFirstImport(db, s, r, checkpoint) {
    const insertAdditions = db.prepare(r.insertSql);
    const countUnmatchable = db.prepare(r.countUnmatchableSql).pluck();
    const syncSet = keyOf(s.syncSet, s.insertSyncSet, r.cohortId, r.syncScope);
    if (s.syncedCount.get(syncSet) > 0) return null;
    const runKey = keyOf(s.runKey, s.insertRunKey, r.runId);
    s.deleteRunMembers.run(runKey);
    let additions = 0;
    let unmatchable = 0;
    writeRunChanges(s, r.runId, runKey, () => {
      for (const [lo, hi] of idChunks(s.workspaceIds.get({ key: r.workspaceId }))) {
        checkpoint();
        additions += insertAdditions.run(runKey, r.workspaceId, lo, hi, ...r.params).changes;
        unmatchable += countUnmatchable.get(r.workspaceId, lo, hi, ...r.params);
      }
      checkpoint();
      return additions;
    });
    return { cohortSize: additions + unmatchable, unmatchable, additions, removals: 0, syncedBefore: 0 };
  },

  computeChanges(db, s, r, checkpoint) {
    // Additions: frozen members Braze does not know under this identifier (all of them on a
    // full resync). Removals: what Braze was told about users who are no longer members.
    const alreadySynced = r.fullResync
      ? ''
      : `AND NOT EXISTS (
           SELECT 1 FROM cohort_synced_members s
           WHERE s.sync_set = @syncSet AND s.user_id = m.user_id
             AND s.id_type = m.id_type AND s.id_value = m.id_value AND s.id_label IS m.id_label)`;
    const insertAdditions = db.prepare(`
      INSERT INTO cohort_run_changes (run_key, user_id, op, id_type, id_value, id_label)
      SELECT @runKey, m.user_id, 'add', m.id_type, m.id_value, m.id_label
      FROM cohort_run_members m
      WHERE m.run_key = @runKey AND m.user_id BETWEEN @lo AND @hi AND m.id_type IS NOT NULL ${alreadySynced}`);
    const insertRemovals = db.prepare(`
      INSERT INTO cohort_run_changes (run_key, user_id, op, id_type, id_value, id_label)
      SELECT @runKey, s.user_id, 'remove', s.id_type, s.id_value, s.id_label
      FROM cohort_synced_members s
      WHERE s.sync_set = @syncSet AND s.user_id BETWEEN @lo AND @hi AND NOT EXISTS (
        SELECT 1 FROM cohort_run_members m
        WHERE m.run_key = @runKey AND m.user_id = s.user_id AND m.id_type IS NOT NULL)`);
    const runKey = keyOf(s.runKey, s.insertRunKey, r.runId);
    const syncSet = keyOf(s.syncSet, s.insertSyncSet, r.cohortId, r.syncScope);
    const syncedBefore = s.syncedCount.get(syncSet);
    // Additions first, then removals.
    const range = writeRunChanges(s, r.runId, runKey, () => {
      let changes = 0;
      for (const [lo, hi] of idChunks(s.memberIds.get({ key: runKey }))) {
        checkpoint();
        changes += insertAdditions.run({ runKey, syncSet, lo, hi }).changes;
      }
      for (const [lo, hi] of idChunks(s.syncedIds.get({ key: syncSet }))) {
        checkpoint();
        changes += insertRemovals.run({ runKey, syncSet, lo, hi }).changes;
      }
      checkpoint();
      return changes;
    });
    if (!range) return { additions: 0, removals: 0, syncedBefore };
    return { ...s.changeCounts.get(range.first, range.last), syncedBefore };
  },

  discardRun(_db, s, r) {
    const runKey = s.runKey.get(r.runId);
    if (runKey === undefined) return undefined;
    s.deleteRunMembers.run(runKey);
    deleteRunChanges(s, runKey);
    s.deleteRunKey.run(runKey);
    return undefined;
  },
};

/** Drops a run's diff (its recorded seq range) and forgets the range. */
function deleteRunChanges(s, runKey) {
  const range = s.runRange.get(runKey);
  if (range?.firstSeq != null && range.lastSeq != null) s.deleteChanges.run(range.firstSeq, range.lastSeq);
  s.setRunRange.run(null, null, runKey);
}

/**
 * Writes a run's diff inside a freeze's or a diff's transaction: drops an earlier attempt's,
 * lets `insert` add the rows (it answers how many), and records their range on the run's key.
 * Inside the write transaction nobody else inserts: each new row takes max(seq) + 1, so the
 * run's changes are the consecutive seqs after the last one before. Null when there are none.
 */
function writeRunChanges(s, runId, runKey, insert) {
  deleteRunChanges(s, runKey);
  const before = s.lastSeq.get();
  const changes = insert();
  if (changes === 0) return null;
  const first = before + 1;
  const last = before + changes;
  if (s.countChanges.get(first, last) !== changes) {
    throw new Error(`The changes of run ${runId} did not get consecutive seqs`);
  }
  s.setRunRange.run(first, last, runKey);
  return { first, last };
}
