/**
 * The sandbox's Braze data in one SQLite database (better-sqlite3; `:memory:` in tests).
 *
 * Conventions:
 * - Workspaces have a public id (uuid) and an internal integer `key` that every other table uses.
 * - Data import keys are stored as a SHA-256 hash plus a masked form: the full key leaves the
 *   sandbox once, in the answer that created it.
 * - A user may hold one external_id, any number of aliases (an alias belongs to one user) and
 *   any number of device ids (a device may appear on several users, as on a shared phone).
 * - `user_aliases` and `user_devices` answer "who has this identifier"; the user's own row keeps
 *   its aliases and device ids as JSON arrays for display, so registering a user costs no
 *   reverse index.
 * - Every request is one synchronous transaction over prepared statements.
 */
import Database from 'better-sqlite3';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CohortChange } from './validation';

const SCHEMA_VERSION = 1;

const schema = `
  CREATE TABLE workspaces (
    key        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
  );

  CREATE TABLE data_import_keys (
    id            TEXT    PRIMARY KEY,
    workspace_key INTEGER NOT NULL,
    key_hash      TEXT    NOT NULL UNIQUE,
    masked        TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('active', 'invalidated')),
    created_at    TEXT    NOT NULL
  );
  CREATE INDEX data_import_keys_workspace ON data_import_keys (workspace_key, created_at);

  CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    workspace_key INTEGER NOT NULL,
    external_id   TEXT,
    aliases       TEXT,  -- JSON [{alias_name, alias_label}], NULL when none
    device_ids    TEXT   -- JSON [string], NULL when none
  );
  CREATE UNIQUE INDEX users_external_id ON users (workspace_key, external_id);

  CREATE TABLE user_aliases (
    workspace_key INTEGER NOT NULL,
    alias_name    TEXT    NOT NULL,
    alias_label   TEXT    NOT NULL,
    user_id       INTEGER NOT NULL,
    PRIMARY KEY (workspace_key, alias_name, alias_label)
  ) WITHOUT ROWID;

  CREATE TABLE user_devices (
    workspace_key INTEGER NOT NULL,
    device_id     TEXT    NOT NULL,
    user_id       INTEGER NOT NULL,
    PRIMARY KEY (workspace_key, device_id, user_id)
  ) WITHOUT ROWID;

  CREATE TABLE cohorts (
    key           INTEGER PRIMARY KEY,
    workspace_key INTEGER NOT NULL,
    cohort_id     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (workspace_key, cohort_id)
  );
  CREATE INDEX cohorts_name ON cohorts (workspace_key, name);

  CREATE TABLE cohort_members (
    cohort_key INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    PRIMARY KEY (cohort_key, user_id)
  ) WITHOUT ROWID;
`;

const tablesInDeleteOrder = [
  'cohort_members',
  'cohorts',
  'user_devices',
  'user_aliases',
  'users',
  'data_import_keys',
  'workspaces',
] as const;

/** The columns that describe a user in answers; `u` is the users row. */
const userProfileColumns = `u.external_id, u.aliases, u.device_ids`;

const cohortKeysByName = `SELECT key FROM cohorts WHERE workspace_key = ? AND name = ?`;

export interface Workspace {
  key: number;
  id: string;
  name: string;
  created_at: string;
}

export type DataImportKeyStatus = 'active' | 'invalidated';

export interface DataImportKeyView {
  id: string;
  masked: string;
  status: DataImportKeyStatus;
  created_at: string;
}

export interface Alias {
  alias_name: string;
  alias_label: string;
}

export interface SandboxUserRecord {
  external_id?: string | null;
  aliases?: Alias[];
  device_ids?: string[];
}

export interface UserProfile {
  external_id: string | null;
  aliases: Alias[];
  device_ids: string[];
}

export interface CohortView {
  cohort_id: string;
  name: string;
  created_at: string;
  size: number;
}

export interface Page {
  limit: number;
  offset: number;
}

export type SegmentFilter = 'includes_value' | 'excludes_value';

export type CohortUpsertOutcome = 'created' | 'renamed' | 'unchanged';

export interface MembershipChangeOutcome {
  /** Memberships that did not exist before. */
  added: number;
  /** Memberships that existed and are gone. */
  removed: number;
}

/** A users batch record contradicts what the workspace already knows; nothing of the batch is kept. */
export class UserConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserConflictError';
  }
}

interface ProfileRow {
  external_id: string | null;
  aliases: string | null;
  device_ids: string | null;
}

interface OwnerRow {
  id: number;
  external_id: string | null;
}

export class BrazeSandboxStore {
  private readonly db: Database.Database;
  private readonly statements: Statements;
  private readonly upsertUsersTransaction: (
    workspaceKey: number,
    records: readonly SandboxUserRecord[],
  ) => { created: number; updated: number };
  private readonly applyChangesTransaction: (
    cohortKey: number,
    workspaceKey: number,
    changes: readonly CohortChange[],
  ) => MembershipChangeOutcome;

  constructor(dbPath: string) {
    if (dbPath !== ':memory:') mkdirSync(dirname(dbPath), { recursive: true });
    this.db = new Database(dbPath);
    if (dbPath !== ':memory:') {
      this.db.pragma('journal_mode = WAL');
      // No fsync at all: the sandbox's data is a stand-in, registered again at will, and with
      // large users batches every commit ends in a checkpoint whose fsync was wall time (a 10M
      // registration: 318 s with NORMAL, 266 s with OFF, the same CPU). A crashed process
      // loses nothing; only an OS crash could lose or damage data.
      this.db.pragma('synchronous = OFF');
      // Ten million users' indexes stay in memory while batches arrive: device ids are random,
      // so registering one touches a random page of user_devices (~300 MB at ten million).
      // Only what is used is allocated.
      this.db.pragma('cache_size = -524288');
    }
    this.migrate();
    this.statements = prepareStatements(this.db);
    this.upsertUsersTransaction = this.db.transaction((workspaceKey: number, records: readonly SandboxUserRecord[]) =>
      this.upsertUsersNow(workspaceKey, records),
    );
    this.applyChangesTransaction = this.db.transaction(
      (cohortKey: number, workspaceKey: number, changes: readonly CohortChange[]) =>
        this.applyChangesNow(cohortKey, workspaceKey, changes),
    );
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version !== 0) {
      throw new Error(
        `Braze sandbox database has schema version ${version}, expected ${SCHEMA_VERSION}: delete the file and start again`,
      );
    }
    this.db.transaction(() => {
      this.db.exec(schema);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  createWorkspace(name: string): Workspace {
    const id = randomUUID();
    this.statements.insertWorkspace.run(id, name, new Date().toISOString());
    return this.getWorkspace(id)!;
  }

  getWorkspace(id: string): Workspace | undefined {
    return this.statements.workspaceById.get(id);
  }

  /** Creates an active data import key; the only place the full key is ever returned. */
  createDataImportKey(workspaceKey: number): DataImportKeyView & { key: string } {
    const id = randomUUID();
    const key = randomUUID();
    const masked = `****${key.slice(-4)}`;
    this.statements.insertKey.run(id, workspaceKey, hashKey(key), masked, new Date().toISOString());
    return { ...this.statements.keyById.get(workspaceKey, id)!, key };
  }

  listDataImportKeys(workspaceKey: number): DataImportKeyView[] {
    return this.statements.keysOfWorkspace.all(workspaceKey);
  }

  invalidateDataImportKey(workspaceKey: number, keyId: string): DataImportKeyView | undefined {
    this.statements.invalidateKey.run(workspaceKey, keyId);
    return this.statements.keyById.get(workspaceKey, keyId);
  }

  /** The workspace a client_secret (data import key) opens, if the key exists and is active. */
  workspaceForClientSecret(clientSecret: string): Workspace | undefined {
    return this.statements.workspaceByActiveKeyHash.get(hashKey(clientSecret));
  }

  /** Upserts a batch of users in one transaction; throws UserConflictError and keeps nothing on a conflict. */
  upsertUsers(workspaceKey: number, records: readonly SandboxUserRecord[]): { created: number; updated: number } {
    return this.upsertUsersTransaction(workspaceKey, records);
  }

  private upsertUsersNow(workspaceKey: number, records: readonly SandboxUserRecord[]) {
    let created = 0;
    records.forEach((record, index) => {
      const { userId, isNew } = this.resolveUser(workspaceKey, record, index);
      if (isNew) created += 1;
      this.attachIdentifiers(workspaceKey, userId, isNew, record.aliases ?? [], record.device_ids ?? []);
    });
    return { created, updated: records.length - created };
  }

  /**
   * Finds or creates the user a batch record describes: by external_id first, else the owner
   * of one of its aliases, else an anonymous user holding one of its device ids (which the
   * record's external_id then identifies), else a new user holding the record's identifiers.
   */
  private resolveUser(
    workspaceKey: number,
    record: SandboxUserRecord,
    index: number,
  ): { userId: number; isNew: boolean } {
    const s = this.statements;
    const externalId = record.external_id ?? null;
    const aliasOwner = this.soleAliasOwner(workspaceKey, record.aliases ?? [], index);
    const knownUser = aliasOwner ?? this.anonymousOwnerOfDevices(workspaceKey, record.device_ids ?? []);

    if (externalId === null) {
      if (knownUser) return { userId: knownUser.id, isNew: false };
      const inserted = s.insertAnonymousUser.run(workspaceKey, ...profileJson(record));
      return { userId: Number(inserted.lastInsertRowid), isNew: true };
    }
    if (!knownUser) {
      // The common case (a new or resent identified user) costs one statement when new.
      const inserted = s.insertIdentifiedUser.run(workspaceKey, externalId, ...profileJson(record));
      if (inserted.changes === 1) return { userId: Number(inserted.lastInsertRowid), isNew: true };
      return { userId: s.userIdByExternalId.get(workspaceKey, externalId)!, isNew: false };
    }
    const identified = s.userIdByExternalId.get(workspaceKey, externalId);
    if (identified !== undefined) {
      if (aliasOwner && aliasOwner.id !== identified) {
        throw new UserConflictError(`users[${index}]: an alias of this record belongs to another user`);
      }
      return { userId: identified, isNew: false };
    }
    if (knownUser.external_id !== null) {
      throw new UserConflictError(
        `users[${index}]: an alias of this record belongs to a user with another external_id`,
      );
    }
    s.identifyUser.run(externalId, knownUser.id);
    return { userId: knownUser.id, isNew: false };
  }

  /** Makes the record's aliases and device ids findable; an existing user's row gains the new ones. */
  private attachIdentifiers(
    workspaceKey: number,
    userId: number,
    isNew: boolean,
    aliases: readonly Alias[],
    deviceIds: readonly string[],
  ): void {
    const s = this.statements;
    const addedAliases = aliases.filter(
      (alias) => s.insertAlias.run(workspaceKey, alias.alias_name, alias.alias_label, userId).changes === 1,
    );
    const addedDeviceIds = deviceIds.filter(
      (deviceId) => s.insertDevice.run(workspaceKey, deviceId, userId).changes === 1,
    );
    if (isNew || (addedAliases.length === 0 && addedDeviceIds.length === 0)) return;
    const profile = toUserProfile(s.profileOfUser.get(userId)!);
    s.updateProfile.run(
      ...profileJson({
        aliases: [...profile.aliases, ...addedAliases],
        device_ids: [...profile.device_ids, ...addedDeviceIds],
      }),
      userId,
    );
  }

  private soleAliasOwner(workspaceKey: number, aliases: readonly Alias[], index: number): OwnerRow | undefined {
    let owner: OwnerRow | undefined;
    for (const alias of aliases) {
      const found = this.statements.aliasOwner.get(workspaceKey, alias.alias_name, alias.alias_label);
      if (!found) continue;
      if (owner && owner.id !== found.id) {
        throw new UserConflictError(`users[${index}]: the aliases of this record belong to different users`);
      }
      owner = found;
    }
    return owner;
  }

  private anonymousOwnerOfDevices(workspaceKey: number, deviceIds: readonly string[]): OwnerRow | undefined {
    for (const deviceId of deviceIds) {
      const owner = this.statements.anonymousDeviceOwner.get(workspaceKey, deviceId);
      if (owner !== undefined) return { id: owner, external_id: null };
    }
    return undefined;
  }

  countUsers(workspaceKey: number): number {
    return this.statements.usersOfWorkspace.get(workspaceKey) ?? 0;
  }

  /** Creates the cohort, or renames it when the name changed (created_at stays the first one). */
  upsertCohort(workspaceKey: number, cohortId: string, name: string, createdAt: string): CohortUpsertOutcome {
    const now = new Date().toISOString();
    const existing = this.statements.cohortByCohortId.get(workspaceKey, cohortId);
    if (!existing) {
      this.statements.insertCohort.run(workspaceKey, cohortId, name, createdAt, now);
      return 'created';
    }
    if (existing.name === name) return 'unchanged';
    this.statements.renameCohort.run(name, now, existing.key);
    return 'renamed';
  }

  /**
   * Applies cohort_changes in order, matching users as Braze does; unknown identifiers are
   * ignored. Returns undefined when the cohort was never created.
   */
  applyCohortChanges(
    workspaceKey: number,
    cohortId: string,
    changes: readonly CohortChange[],
  ): MembershipChangeOutcome | undefined {
    const cohort = this.statements.cohortByCohortId.get(workspaceKey, cohortId);
    if (!cohort) return undefined;
    return this.applyChangesTransaction(cohort.key, workspaceKey, changes);
  }

  private applyChangesNow(cohortKey: number, workspaceKey: number, changes: readonly CohortChange[]) {
    const s = this.statements;
    const outcome: MembershipChangeOutcome = { added: 0, removed: 0 };
    for (const change of changes) {
      const remove = change.should_remove === true;
      const byExternalId = remove ? s.removeByExternalId : s.addByExternalId;
      const byAlias = remove ? s.removeByAlias : s.addByAlias;
      const byDeviceId = remove ? s.removeByDeviceId : s.addByDeviceId;
      let changed = 0;
      for (const externalId of change.user_ids ?? [])
        changed += byExternalId.run(cohortKey, workspaceKey, externalId).changes;
      for (const alias of change.aliases ?? []) {
        changed += byAlias.run(cohortKey, workspaceKey, alias.alias_name, alias.alias_label).changes;
      }
      for (const deviceId of change.device_ids ?? [])
        changed += byDeviceId.run(cohortKey, workspaceKey, deviceId).changes;
      if (remove) outcome.removed += changed;
      else outcome.added += changed;
    }
    return outcome;
  }

  listCohorts(workspaceKey: number): CohortView[] {
    return this.statements.cohortsOfWorkspace.all(workspaceKey);
  }

  /** One page of a cohort's members, or undefined when the cohort does not exist. */
  cohortMembers(
    workspaceKey: number,
    cohortId: string,
    page: Page,
  ): { count: number; members: UserProfile[] } | undefined {
    const cohort = this.statements.cohortByCohortId.get(workspaceKey, cohortId);
    if (!cohort) return undefined;
    return {
      count: this.statements.cohortMemberCount.get(cohort.key) ?? 0,
      members: this.statements.cohortMembersPage.all(cohort.key, page.limit, page.offset).map(toUserProfile),
    };
  }

  /**
   * The segment "<Partner> Cohorts includes_value NAME" (or excludes_value): users in any
   * cohort of that name, or in none. Undefined when no cohort has that name.
   */
  segment(
    workspaceKey: number,
    cohortName: string,
    filter: SegmentFilter,
    page: Page,
  ): { count: number; users: UserProfile[] } | undefined {
    const s = this.statements;
    if (!s.cohortCountByName.get(workspaceKey, cohortName)) return undefined;
    const included = s.segmentIncludesCount.get(workspaceKey, cohortName) ?? 0;
    if (filter === 'includes_value') {
      return {
        count: included,
        users: s.segmentIncludesPage.all(workspaceKey, cohortName, page.limit, page.offset).map(toUserProfile),
      };
    }
    return {
      count: this.countUsers(workspaceKey) - included,
      users: s.segmentExcludesPage
        .all(workspaceKey, workspaceKey, cohortName, page.limit, page.offset)
        .map(toUserProfile),
    };
  }

  /** Deletes every workspace, key, user and cohort. */
  reset(): void {
    this.db.transaction(() => {
      for (const table of tablesInDeleteOrder) this.db.exec(`DELETE FROM ${table}`);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The users row's aliases and device_ids columns: deduplicated JSON arrays, NULL when empty. */
function profileJson(record: Pick<SandboxUserRecord, 'aliases' | 'device_ids'>): [string | null, string | null] {
  const aliases = record.aliases ?? [];
  const deviceIds = record.device_ids ?? [];
  // The usual record (and every seeded one) has at most one of each: nothing to deduplicate.
  if (aliases.length <= 1 && deviceIds.length <= 1) {
    const alias = aliases[0];
    return [
      alias === undefined ? null : JSON.stringify([{ alias_name: alias.alias_name, alias_label: alias.alias_label }]),
      deviceIds.length === 0 ? null : JSON.stringify(deviceIds),
    ];
  }
  const uniqueAliases = new Map(aliases.map((alias) => [`${alias.alias_name}\u0000${alias.alias_label}`, alias]));
  return [
    aliases.length === 0
      ? null
      : JSON.stringify([...uniqueAliases.values()].map(({ alias_name, alias_label }) => ({ alias_name, alias_label }))),
    deviceIds.length === 0 ? null : JSON.stringify([...new Set(deviceIds)]),
  ];
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function toUserProfile(row: ProfileRow): UserProfile {
  return {
    external_id: row.external_id,
    aliases: row.aliases === null ? [] : (JSON.parse(row.aliases) as Alias[]),
    device_ids: row.device_ids === null ? [] : (JSON.parse(row.device_ids) as string[]),
  };
}

function prepareStatements(db: Database.Database) {
  return {
    insertWorkspace: db.prepare<[string, string, string], never>(
      `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`,
    ),
    workspaceById: db.prepare<[string], Workspace>(`SELECT key, id, name, created_at FROM workspaces WHERE id = ?`),

    insertKey: db.prepare<[string, number, string, string, string], never>(
      `INSERT INTO data_import_keys (id, workspace_key, key_hash, masked, status, created_at)
       VALUES (?, ?, ?, ?, 'active', ?)`,
    ),
    keysOfWorkspace: db.prepare<[number], DataImportKeyView>(
      `SELECT id, masked, status, created_at FROM data_import_keys
       WHERE workspace_key = ? ORDER BY created_at, rowid`,
    ),
    invalidateKey: db.prepare<[number, string], never>(
      `UPDATE data_import_keys SET status = 'invalidated' WHERE workspace_key = ? AND id = ?`,
    ),
    keyById: db.prepare<[number, string], DataImportKeyView>(
      `SELECT id, masked, status, created_at FROM data_import_keys WHERE workspace_key = ? AND id = ?`,
    ),
    workspaceByActiveKeyHash: db.prepare<[string], Workspace>(
      `SELECT w.key, w.id, w.name, w.created_at
       FROM data_import_keys k JOIN workspaces w ON w.key = k.workspace_key
       WHERE k.key_hash = ? AND k.status = 'active'`,
    ),

    userIdByExternalId: db
      .prepare<[number, string], number>(`SELECT id FROM users WHERE workspace_key = ? AND external_id = ?`)
      .pluck(),
    aliasOwner: db.prepare<[number, string, string], OwnerRow>(
      `SELECT u.id, u.external_id FROM user_aliases a JOIN users u ON u.id = a.user_id
       WHERE a.workspace_key = ? AND a.alias_name = ? AND a.alias_label = ?`,
    ),
    anonymousDeviceOwner: db
      .prepare<[number, string], number>(
        `SELECT d.user_id FROM user_devices d JOIN users u ON u.id = d.user_id
         WHERE d.workspace_key = ? AND d.device_id = ? AND u.external_id IS NULL
         ORDER BY d.user_id LIMIT 1`,
      )
      .pluck(),
    insertAnonymousUser: db.prepare<[number, string | null, string | null], never>(
      `INSERT INTO users (workspace_key, external_id, aliases, device_ids) VALUES (?, NULL, ?, ?)`,
    ),
    insertIdentifiedUser: db.prepare<[number, string, string | null, string | null], never>(
      `INSERT INTO users (workspace_key, external_id, aliases, device_ids) VALUES (?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    ),
    profileOfUser: db.prepare<[number], ProfileRow>(`SELECT external_id, aliases, device_ids FROM users WHERE id = ?`),
    updateProfile: db.prepare<[string | null, string | null, number], never>(
      `UPDATE users SET aliases = ?, device_ids = ? WHERE id = ?`,
    ),
    identifyUser: db.prepare<[string, number], never>(`UPDATE users SET external_id = ? WHERE id = ?`),
    insertAlias: db.prepare<[number, string, string, number], never>(
      `INSERT OR IGNORE INTO user_aliases (workspace_key, alias_name, alias_label, user_id) VALUES (?, ?, ?, ?)`,
    ),
    insertDevice: db.prepare<[number, string, number], never>(
      `INSERT OR IGNORE INTO user_devices (workspace_key, device_id, user_id) VALUES (?, ?, ?)`,
    ),
    usersOfWorkspace: db.prepare<[number], number>(`SELECT COUNT(*) FROM users WHERE workspace_key = ?`).pluck(),

    insertCohort: db.prepare<[number, string, string, string, string], never>(
      `INSERT INTO cohorts (workspace_key, cohort_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
    ),
    cohortByCohortId: db.prepare<[number, string], { key: number; name: string }>(
      `SELECT key, name FROM cohorts WHERE workspace_key = ? AND cohort_id = ?`,
    ),
    renameCohort: db.prepare<[string, string, number], never>(
      `UPDATE cohorts SET name = ?, updated_at = ? WHERE key = ?`,
    ),
    cohortsOfWorkspace: db.prepare<[number], CohortView>(
      `SELECT c.cohort_id, c.name, c.created_at,
              (SELECT COUNT(*) FROM cohort_members m WHERE m.cohort_key = c.key) AS size
       FROM cohorts c WHERE c.workspace_key = ? ORDER BY c.key`,
    ),

    addByExternalId: db.prepare<[number, number, string], never>(
      `INSERT OR IGNORE INTO cohort_members (cohort_key, user_id)
       SELECT ?, id FROM users WHERE workspace_key = ? AND external_id = ?`,
    ),
    addByAlias: db.prepare<[number, number, string, string], never>(
      `INSERT OR IGNORE INTO cohort_members (cohort_key, user_id)
       SELECT ?, user_id FROM user_aliases WHERE workspace_key = ? AND alias_name = ? AND alias_label = ?`,
    ),
    addByDeviceId: db.prepare<[number, number, string], never>(
      `INSERT OR IGNORE INTO cohort_members (cohort_key, user_id)
       SELECT ?, d.user_id FROM user_devices d JOIN users u ON u.id = d.user_id
       WHERE d.workspace_key = ? AND d.device_id = ? AND u.external_id IS NULL`,
    ),
    removeByExternalId: db.prepare<[number, number, string], never>(
      `DELETE FROM cohort_members WHERE cohort_key = ? AND user_id IN
         (SELECT id FROM users WHERE workspace_key = ? AND external_id = ?)`,
    ),
    removeByAlias: db.prepare<[number, number, string, string], never>(
      `DELETE FROM cohort_members WHERE cohort_key = ? AND user_id IN
         (SELECT user_id FROM user_aliases WHERE workspace_key = ? AND alias_name = ? AND alias_label = ?)`,
    ),
    removeByDeviceId: db.prepare<[number, number, string], never>(
      `DELETE FROM cohort_members WHERE cohort_key = ? AND user_id IN
         (SELECT d.user_id FROM user_devices d JOIN users u ON u.id = d.user_id
          WHERE d.workspace_key = ? AND d.device_id = ? AND u.external_id IS NULL)`,
    ),

    cohortMemberCount: db.prepare<[number], number>(`SELECT COUNT(*) FROM cohort_members WHERE cohort_key = ?`).pluck(),
    cohortMembersPage: db.prepare<[number, number, number], ProfileRow>(
      `SELECT ${userProfileColumns}
       FROM cohort_members m JOIN users u ON u.id = m.user_id
       WHERE m.cohort_key = ? ORDER BY m.user_id LIMIT ? OFFSET ?`,
    ),
    cohortCountByName: db
      .prepare<[number, string], number>(`SELECT COUNT(*) FROM cohorts WHERE workspace_key = ? AND name = ?`)
      .pluck(),
    segmentIncludesCount: db
      .prepare<[number, string], number>(
        `SELECT COUNT(DISTINCT user_id) FROM cohort_members WHERE cohort_key IN (${cohortKeysByName})`,
      )
      .pluck(),
    segmentIncludesPage: db.prepare<[number, string, number, number], ProfileRow>(
      `WITH picked AS (
         SELECT DISTINCT user_id AS id FROM cohort_members
         WHERE cohort_key IN (${cohortKeysByName}) ORDER BY user_id LIMIT ? OFFSET ?
       )
       SELECT ${userProfileColumns} FROM picked p JOIN users u ON u.id = p.id ORDER BY u.id`,
    ),
    segmentExcludesPage: db.prepare<[number, number, string, number, number], ProfileRow>(
      // NOT INDEXED: walk users in id order instead of sorting a whole workspace per page.
      `SELECT ${userProfileColumns} FROM users u NOT INDEXED
       WHERE u.workspace_key = ? AND NOT EXISTS (
         SELECT 1 FROM cohort_members m
         WHERE m.cohort_key IN (${cohortKeysByName}) AND m.user_id = u.id
       )
       ORDER BY u.id LIMIT ? OFFSET ?`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;
