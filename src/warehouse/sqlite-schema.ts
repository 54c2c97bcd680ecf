/**
 * Schema of the SQLite analytics warehouse. Applied in order on open; each entry runs once
 * (tracked in `warehouse_migrations`). Append new entries, never edit old ones.
 *
 * Conventions:
 * - `users.id` is the internal integer key: the keyset for pages and the join key everywhere.
 * - Times are epoch milliseconds (INTEGER).
 * - `properties` is a JSON object as TEXT.
 * - Braze identifiers are stored as (id_type, id_value, id_label):
 *   external_id → ('external_id', value, NULL); alias → ('alias', alias_name, alias_label);
 *   device_id → ('device_id', value, NULL); unmatchable → (NULL, NULL, NULL).
 */
export const warehouseMigrations: readonly string[] = [
  `
  CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL,
    user_key     TEXT    NOT NULL,
    external_id  TEXT,
    alias_name   TEXT,
    alias_label  TEXT,
    device_id    TEXT,
    properties   TEXT    NOT NULL DEFAULT '{}',
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX users_workspace_key ON users (workspace_id, user_key);
  CREATE INDEX users_workspace_id ON users (workspace_id, id);

  CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT    NOT NULL,
    user_id      INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    time         INTEGER NOT NULL,
    properties   TEXT
  );
  CREATE INDEX events_user_name_time ON events (user_id, name, time);

  -- The cohort's membership frozen at run start (one INSERT … SELECT per run).
  CREATE TABLE cohort_run_members (
    run_id   TEXT    NOT NULL,
    user_id  INTEGER NOT NULL,
    id_type  TEXT,
    id_value TEXT,
    id_label TEXT,
    PRIMARY KEY (run_id, user_id)
  ) WITHOUT ROWID;

  -- What Braze has been told, per cohort and sync scope (a Braze connection's endpoint).
  -- Changed only after Braze acknowledged the batch.
  CREATE TABLE cohort_synced_members (
    cohort_id  TEXT    NOT NULL,
    sync_scope TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    id_type    TEXT    NOT NULL,
    id_value   TEXT    NOT NULL,
    id_label   TEXT,
    PRIMARY KEY (cohort_id, sync_scope, user_id)
  ) WITHOUT ROWID;

  -- The run's diff (additions and removals), numbered so pages are seq ranges.
  CREATE TABLE cohort_run_changes (
    run_id   TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    op       TEXT    NOT NULL CHECK (op IN ('add', 'remove')),
    id_type  TEXT    NOT NULL,
    id_value TEXT    NOT NULL,
    id_label TEXT,
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID;
  `,
];
