/**
 * Which identifier a warehouse user is sent to Braze as (the partner contract):
 * external_id → `user_ids`; else an alias (name and label) → `aliases`; else device_id →
 * `device_ids`; else nothing Braze could match (unmatchable).
 *
 * Braze ignores a device id sent for an identified user, so a user with an external id or
 * a complete alias is never sent by device id. A field counts as present when it is
 * neither null nor the empty string; an alias needs both its name and its label (a name
 * without a label is not an alias, so such a user falls through to its device id).
 *
 * `brazeIdentifierSql` is the same mapping in SQL for `INSERT … SELECT`; tests hold the
 * two to the same table of cases.
 */
import { assertSqlIdentifier } from './sql-identifier';

export interface UserIdentityFields {
  external_id?: string | null;
  alias_name?: string | null;
  alias_label?: string | null;
  device_id?: string | null;
}

export type BrazeIdentifier =
  | { type: 'external_id'; value: string }
  | { type: 'alias'; value: string; label: string }
  | { type: 'device_id'; value: string };

export type BrazeIdentifierType = BrazeIdentifier['type'];

function present(value: string | null | undefined): value is string {
  return value !== undefined && value !== null && value !== '';
}

export function brazeIdentifierOf(user: UserIdentityFields): BrazeIdentifier | null {
  if (present(user.external_id)) return { type: 'external_id', value: user.external_id };
  if (present(user.alias_name) && present(user.alias_label)) {
    return { type: 'alias', value: user.alias_name, label: user.alias_label };
  }
  if (present(user.device_id)) return { type: 'device_id', value: user.device_id };
  return null;
}

/** Identified = has an external id or a complete alias; anonymous = neither. */
export function isIdentified(user: UserIdentityFields): boolean {
  const identifier = brazeIdentifierOf(user);
  return identifier !== null && identifier.type !== 'device_id';
}

export interface BrazeIdentifierSql {
  /** 'external_id' | 'alias' | 'device_id' | NULL (unmatchable) */
  idType: string;
  idValue: string;
  /** the alias label for aliases, otherwise NULL */
  idLabel: string;
}

function presentSql(column: string): string {
  return `COALESCE(${column}, '') <> ''`;
}

function hasExternalIdSql(alias: string): string {
  return presentSql(`${alias}.external_id`);
}

function hasAliasSql(alias: string): string {
  return `(${presentSql(`${alias}.alias_name`)} AND ${presentSql(`${alias}.alias_label`)})`;
}

/** SQL expressions (no parameters) over the `users` table aliased as `alias`; SQLite and PostgreSQL alike. */
export function brazeIdentifierSql(alias = 'u'): BrazeIdentifierSql {
  assertSqlIdentifier(alias, 'users table alias');
  const external = hasExternalIdSql(alias);
  const aliased = hasAliasSql(alias);
  const device = presentSql(`${alias}.device_id`);
  return {
    idType:
      `(CASE WHEN ${external} THEN 'external_id' WHEN ${aliased} THEN 'alias'` +
      ` WHEN ${device} THEN 'device_id' END)`,
    idValue:
      `(CASE WHEN ${external} THEN ${alias}.external_id WHEN ${aliased} THEN ${alias}.alias_name` +
      ` WHEN ${device} THEN ${alias}.device_id END)`,
    idLabel: `(CASE WHEN ${external} THEN NULL WHEN ${aliased} THEN ${alias}.alias_label END)`,
  };
}

/** A boolean SQL expression (never NULL, no parameters): the user is identified. SQLite and PostgreSQL alike. */
export function identifiedSql(alias = 'u'): string {
  assertSqlIdentifier(alias, 'users table alias');
  return `(${hasExternalIdSql(alias)} OR ${hasAliasSql(alias)})`;
}
