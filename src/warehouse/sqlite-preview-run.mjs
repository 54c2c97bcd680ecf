// Plain JavaScript: the preview thread runs it without a TypeScript loader (under tsx, vitest
// or plain node alike), and the in-process path of an in-memory warehouse runs the same code.

/**
 * Registers `interruption_point()`, which the preview's SQL calls once per candidate user.
 * better-sqlite3 exposes no sqlite3_interrupt, and worker.terminate() cannot stop native
 * code; but a JS function cannot run once its thread is terminating, so the statement fails
 * at the next row and the thread stops.
 */
export function allowInterruption(db) {
  db.function('interruption_point', { deterministic: false }, () => 1);
}

/** The count and the sample of one preview, from one snapshot. */
export function runPreview(db, query) {
  const counts = db.prepare(query.countSql);
  const sample = db.prepare(query.sampleSql);
  return db.transaction(() => {
    const { count, unmatchable } = counts.get(...query.params);
    return { count, unmatchable, sample: sample.all(...query.params, query.limit) };
  })();
}
