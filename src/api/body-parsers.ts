import express from 'express';

/**
 * Request bodies are read only after authentication (see app.ts), and each route reads no more
 * than it needs: the batch ingest routes take up to 25 MB (10,000 users or events; gzip allowed,
 * the limit counting inflated bytes, so a small compressed bomb stops at the same bound), every
 * other route 256 KB of plain JSON (a cohort's criteria, a schedule, a connection).
 */
export const INGEST_BODY_LIMIT_BYTES = 25 * 1024 * 1024;
export const BODY_LIMIT_BYTES = 256 * 1024;

export const ingestJson = express.json({ limit: INGEST_BODY_LIMIT_BYTES, inflate: true });
export const smallJson = express.json({ limit: BODY_LIMIT_BYTES, inflate: false });

/** The paths whose bodies may be large. */
export const INGEST_PATHS = ['/users/batch', '/events/batch'];
