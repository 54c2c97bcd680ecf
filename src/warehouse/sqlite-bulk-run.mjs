// Plain JavaScript: a warehouse's bulk thread runs it without a TypeScript loader (a loader in a
// thread costs ~50 MB of a worker's memory), and an in-memory warehouse runs the same code on
// its caller's thread. The SQL that depends on criteria is compiled by the caller.

/**
 * Users (by id) per statement of a freeze or a diff. Between two chunks the deadline is checked,
 * so a freeze or a diff outlives `bulkMs` by at most one chunk; 62 chunks per 1M users cost no
 * measurable time (a statement is a B-tree seek and a prepared-statement step).
 */
const BULK_CHUNK_IDS = 16_384;

/** `[lo, hi]` id ranges of `size` ids covering `min..max` (none when the set is empty). */
function* idChunks(range, size = BULK_CHUNK_IDS) {
  if (range.lo === null || range.hi === null) return;
  for (let lo = range.lo; lo <= range.hi; lo += size) yield [lo, Math.min(lo + size - 1, range.hi)];
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
    // A run's range may hold another run's rows (a first import frozen chunk by chunk): the key too.
    deleteChanges: db.prepare('DELETE FROM cohort_run_changes WHERE seq BETWEEN ? AND ? AND run_key = ?'),
    countChanges: db
      .prepare('SELECT count(*) FROM cohort_run_changes WHERE seq BETWEEN ? AND ? AND run_key = ?')
      .pluck(),
    setFreeze: db.prepare(`
      UPDATE run_keys SET freeze_next = @next, freeze_hi = @hi, freeze_changes = 0, freeze_unmatchable = 0
      WHERE id = @runKey`),
    advanceFreeze: db.prepare(`
      UPDATE run_keys SET freeze_next = @next, freeze_changes = freeze_changes + @changes,
        freeze_unmatchable = freeze_unmatchable + @unmatchable
      WHERE id = @runKey`),
    // What Braze acknowledged, folded into the synced set: entries upserted, exits deleted.
    foldAdds: db.prepare(`
      INSERT INTO cohort_synced_members (sync_set, user_id, id_type, id_value, id_label)
      SELECT a.sync_set, c.user_id, c.id_type, c.id_value, c.id_label
      FROM run_acks a JOIN cohort_run_changes c ON c.seq BETWEEN a.from_seq AND a.to_seq
      WHERE a.run_key = @runKey AND a.from_seq <= @upTo AND c.run_key = a.run_key AND c.op = 'add'
      ON CONFLICT (sync_set, user_id) DO UPDATE SET
        id_type = excluded.id_type, id_value = excluded.id_value, id_label = excluded.id_label`),
    foldRemoves: db.prepare(`
      DELETE FROM cohort_synced_members WHERE (sync_set, user_id) IN (
        SELECT a.sync_set, c.user_id
        FROM run_acks a JOIN cohort_run_changes c ON c.seq BETWEEN a.from_seq AND a.to_seq
        WHERE a.run_key = @runKey AND a.from_seq <= @upTo AND c.run_key = a.run_key AND c.op = 'remove')`),
    deleteAcks: db.prepare('DELETE FROM run_acks WHERE run_key = @runKey AND from_seq <= @upTo'),
    // The first seq of the run's `n`-th oldest acknowledged page (undefined: it has fewer).
    nthAck: db.prepare('SELECT from_seq FROM run_acks WHERE run_key = ? ORDER BY from_seq LIMIT 1 OFFSET ?').pluck(),
    anyAck: db.prepare('SELECT 1 FROM run_acks WHERE run_key = ? LIMIT 1').pluck(),
    deleteSomeMembers: db.prepare(`
      DELETE FROM cohort_run_members WHERE run_key = @runKey AND user_id IN (
        SELECT user_id FROM cohort_run_members WHERE run_key = @runKey ORDER BY user_id LIMIT @rows)`),
    runsWithAcks: db.prepare('SELECT DISTINCT run_key FROM run_acks WHERE sync_set = ? ORDER BY run_key').pluck(),
    freezeState: db.prepare(`
      SELECT freeze_next AS next, freeze_hi AS hi, freeze_changes AS changes, freeze_unmatchable AS unmatchable,
             first_seq AS firstSeq, last_seq AS lastSeq
      FROM run_keys WHERE id = ?`),
    runCounts: db.prepare(`
      SELECT count(*) AS size, coalesce(sum(id_type IS NULL), 0) AS unmatchable
      FROM cohort_run_members WHERE run_key = ?`),
    syncedCount: db.prepare('SELECT count(*) FROM cohort_synced_members WHERE sync_set = ?').pluck(),
    changeCounts: db.prepare(`
      SELECT coalesce(sum(op = 'add'), 0) AS additions, coalesce(sum(op = 'remove'), 0) AS removals
      FROM cohort_run_changes WHERE seq BETWEEN ? AND ? AND run_key = ?`),
  };
  prepared.set(db, s);
  return s;
}

/** Prepares the statements bulk work shares on a connection, ahead of its first call. */
export function prepareBulk(db) {
  statementsOf(db);
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
    for (const [lo, hi] of idChunks(s.workspaceIds.get({ key: r.workspaceId }), r.chunkIds)) {
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
    if (!nothingSynced(s, r, checkpoint)) return null;
    const runKey = keyOf(s.runKey, s.insertRunKey, r.runId);
    s.deleteRunMembers.run(runKey);
    let additions = 0;
    let unmatchable = 0;
    writeRunChanges(s, r.runId, runKey, () => {
      for (const [lo, hi] of idChunks(s.workspaceIds.get({ key: r.workspaceId }), r.chunkIds)) {
        checkpoint();
        additions += insertAdditions.run(runKey, r.workspaceId, lo, hi, ...r.params).changes;
        unmatchable += countUnmatchable.get(r.workspaceId, lo, hi, ...r.params);
      }
      checkpoint();
      return additions;
    });
    return { cohortSize: additions + unmatchable, unmatchable, additions, removals: 0, syncedBefore: 0 };
  },

  // A first import frozen chunk by chunk: the begin checks and resets, each chunk then commits on
  // its own, so the pages it completes can be read (and sent) while the next chunk is frozen.
  beginFirstImport(_db, s, r, checkpoint) {
    if (!nothingSynced(s, r, checkpoint)) return null;
    const range = s.workspaceIds.get({ key: r.workspaceId });
    if (range.lo === null || range.hi - range.lo + 1 < r.minUsers) return null;
    const runKey = keyOf(s.runKey, s.insertRunKey, r.runId);
    s.deleteRunMembers.run(runKey);
    deleteRunChanges(s, runKey);
    // Users made after this point (higher ids) are not members of this run.
    s.setFreeze.run({ next: range.lo, hi: range.hi, runKey });
    return { userIds: range.hi - range.lo + 1 };
  },

  freezeFirstImportChunk(db, s, r, checkpoint) {
    const runKey = s.runKey.get(r.runId);
    const f = runKey === undefined ? undefined : s.freezeState.get(runKey);
    if (!f || f.next === null) throw new Error(`Run ${r.runId} has no first import begun`);
    if (f.next <= f.hi) {
      const hi = Math.min(f.next + (r.chunkIds ?? BULK_CHUNK_IDS) - 1, f.hi);
      const before = s.lastSeq.get();
      const changes = db.prepare(r.insertSql).run(runKey, r.workspaceId, f.next, hi, ...r.params).changes;
      const unmatchable = db
        .prepare(r.countUnmatchableSql)
        .pluck()
        .get(r.workspaceId, f.next, hi, ...r.params);
      checkpoint();
      if (changes > 0) {
        assertConsecutive(s, r.runId, runKey, before + 1, before + changes);
        s.setRunRange.run(f.firstSeq ?? before + 1, before + changes, runKey);
      }
      s.advanceFreeze.run({ next: hi + 1, changes, unmatchable, runKey });
    }
    const now = s.freezeState.get(runKey);
    return {
      additions: now.changes,
      unmatchable: now.unmatchable,
      extent: now.firstSeq === null ? 0 : now.lastSeq - now.firstSeq + 1,
      done: now.next > now.hi,
    };
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
    foldSyncSet(s, syncSet, checkpoint);
    const syncedBefore = s.syncedCount.get(syncSet);
    // Additions first, then removals.
    const range = writeRunChanges(s, r.runId, runKey, () => {
      let changes = 0;
      for (const [lo, hi] of idChunks(s.memberIds.get({ key: runKey }), r.chunkIds)) {
        checkpoint();
        changes += insertAdditions.run({ runKey, syncSet, lo, hi }).changes;
      }
      for (const [lo, hi] of idChunks(s.syncedIds.get({ key: syncSet }), r.chunkIds)) {
        checkpoint();
        changes += insertRemovals.run({ runKey, syncSet, lo, hi }).changes;
      }
      checkpoint();
      return changes;
    });
    if (!range) return { additions: 0, removals: 0, syncedBefore };
    return { ...s.changeCounts.get(range.first, range.last, runKey), syncedBefore };
  },

  /**
   * One step of a run's clean-up, in its own short transaction: at most a chunk's worth of its
   * acknowledged pages folded into the synced set, then of its diff deleted, then of its frozen
   * members; true once nothing of the run is left (its key is gone). A 10M-member run's clean-up
   * in one transaction held the write lock for about 15 s, and every other run's page records
   * waited behind it; in steps, they pass between two.
   */
  discardStep(_db, s, r) {
    const rows = r.chunkIds ?? BULK_CHUNK_IDS;
    const runKey = s.runKey.get(r.runId);
    if (runKey === undefined) return true;
    if (s.anyAck.get(runKey) !== undefined) {
      foldRun(s, runKey, s.nthAck.get(runKey, Math.max(1, Math.ceil(rows / 1000))) ?? Number.MAX_SAFE_INTEGER);
      return false;
    }
    const range = s.runRange.get(runKey);
    if (range?.firstSeq != null && range.lastSeq != null) {
      const upTo = Math.min(range.firstSeq + rows - 1, range.lastSeq);
      s.deleteChanges.run(range.firstSeq, upTo, runKey);
      if (upTo >= range.lastSeq) s.setRunRange.run(null, null, runKey);
      else s.setRunRange.run(upTo + 1, range.lastSeq, runKey);
      return false;
    }
    if (s.deleteSomeMembers.run({ runKey, rows }).changes > 0) return false;
    s.deleteRunKey.run(runKey);
    return true;
  },
};

/** Folds what Braze acknowledged of a run's diff into the synced set, and forgets the acknowledgements. */
function foldRun(s, runKey, upTo = Number.MAX_SAFE_INTEGER) {
  s.foldAdds.run({ runKey, upTo });
  s.foldRemoves.run({ runKey, upTo });
  s.deleteAcks.run({ runKey, upTo });
}

/**
 * Whether Braze holds nothing for the cohort under the request's sync scope (what was acknowledged
 * and not yet folded counts: it is folded first), the condition of a first import.
 */
function nothingSynced(s, r, checkpoint) {
  const syncSet = keyOf(s.syncSet, s.insertSyncSet, r.cohortId, r.syncScope);
  foldSyncSet(s, syncSet, checkpoint);
  return s.syncedCount.get(syncSet) === 0;
}

/**
 * Inside the write transaction nobody else inserts, so the rows a statement just added took the
 * seqs after the largest before it: `first..last` must all be the run's.
 */
function assertConsecutive(s, runId, runKey, first, last) {
  if (s.countChanges.get(first, last, runKey) !== last - first + 1) {
    throw new Error(`The changes of run ${runId} did not get consecutive seqs`);
  }
}

/**
 * Brings a sync set up to date before it is read: every run's acknowledged pages, oldest run
 * first (a later run's diff was taken after an earlier one's pages were folded).
 */
function foldSyncSet(s, syncSet, checkpoint) {
  for (const runKey of s.runsWithAcks.all(syncSet)) {
    checkpoint();
    foldRun(s, runKey);
  }
}

/** Drops a run's diff (its recorded seq range) and forgets the range; what Braze acknowledged of it is folded first. */
function deleteRunChanges(s, runKey) {
  foldRun(s, runKey);
  const range = s.runRange.get(runKey);
  if (range?.firstSeq != null && range.lastSeq != null) s.deleteChanges.run(range.firstSeq, range.lastSeq, runKey);
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
  assertConsecutive(s, runId, runKey, first, last);
  s.setRunRange.run(first, last, runKey);
  return { first, last };
}
