/**
 * Compiles validated criteria to one boolean SQL expression over `users <alias>`, for
 * SQLite or PostgreSQL from the same tree. This file owns the tree (all/any/not), identity,
 * event counts and which property tests negate which; a dialect (`criteria-sqlite.ts`,
 * `criteria-postgres.ts`) says how one JSON property is tested.
 *
 * Safety: every value is bound as a parameter (see `sql-fragment.ts`); only other fragments
 * and the checked table alias become SQL text. Property names reach SQL solely as a bound
 * JSON path built from names that match the property name pattern.
 *
 * Every fragment evaluates to true or false, never NULL, so NOT, neq, not_in and not_exists
 * are exact complements. Semantics are documented in `criteria.ts`; `criteria-evaluator.ts`
 * is the in-memory oracle the tests hold this compiler to, on both engines.
 */
import type { Criteria, CriteriaNode, EventCondition, PropertyCondition } from './criteria';
import { type CriteriaDialect, ELEMENT_ALIAS } from './criteria-dialect';
import { propertyPathSegments } from './criteria-property-name';
import { postgresDialect } from './criteria-postgres';
import { sqliteDialect, sqliteJsonPath } from './criteria-sqlite';
import { identifiedSql } from './identity';
import { not, join, type Sql, sql, type SqlParam, trusted } from './sql-fragment';
import { assertSqlIdentifier } from './sql-identifier';

export type { SqlParam } from './sql-fragment';

export interface CompiledCriteria {
  sql: string;
  params: SqlParam[];
}

export type SqlDialectName = CriteriaDialect['name'];

export interface CompileCriteriaOptions {
  /** evaluation time, epoch milliseconds; event windows end here */
  now: number;
  /** alias of the `users` table in the surrounding query; default `u` */
  userAlias?: string;
  /** default `sqlite` */
  dialect?: SqlDialectName;
  /** PostgreSQL: the number of the first placeholder (`$n`), after the query's own; default 1 */
  firstParameter?: number;
}

const DIALECTS: Record<SqlDialectName, CriteriaDialect> = { sqlite: sqliteDialect, postgres: postgresDialect };

const DAY_MS = 86_400_000;

// Alias of the correlated event subquery; the users alias must differ from it and ELEMENT_ALIAS.
const EVENT_ALIAS = 'criteria_event';

/** `address.city` → `$."address"."city"` (SQLite's JSON path). */
export function jsonPathOf(property: string): string {
  return sqliteJsonPath(propertyPathSegments(property));
}

interface Context {
  now: number;
  alias: string;
  users: Sql;
  dialect: CriteriaDialect;
}

function compileNode(node: CriteriaNode, ctx: Context): Sql {
  if ('all' in node)
    return join(
      node.all.map((child) => compileNode(child, ctx)),
      'AND',
    );
  if ('any' in node)
    return join(
      node.any.map((child) => compileNode(child, ctx)),
      'OR',
    );
  if ('not' in node) return not(compileNode(node.not, ctx));
  if ('identity' in node) {
    const identified = trusted(identifiedSql(ctx.alias));
    switch (node.identity) {
      case 'identified':
        return identified;
      case 'anonymous':
        return not(identified);
      default:
        throw new TypeError(`unknown identity ${JSON.stringify(node.identity satisfies never)}`);
    }
  }
  if ('event' in node) return compileEvent(node, ctx);
  return compileProperty(node, ctx);
}

function compileEvent(node: EventCondition, ctx: Context): Sql {
  const events = trusted(EVENT_ALIAS);
  const from = ctx.now - node.within_days * DAY_MS;
  // Matches the (user_id, name, time) index: equality on both, range on time.
  const count = sql`(SELECT COUNT(*) FROM events ${events} WHERE ${events}.user_id = ${ctx.users}.id AND ${events}.name = ${node.event} AND ${events}.time >= ${from} AND ${events}.time <= ${ctx.now})`;
  switch (node.op) {
    case 'eq':
      return sql`(${count} = ${node.count})`;
    case 'neq':
      return sql`(${count} <> ${node.count})`;
    case 'gt':
      return sql`(${count} > ${node.count})`;
    case 'gte':
      return sql`(${count} >= ${node.count})`;
    case 'lt':
      return sql`(${count} < ${node.count})`;
    case 'lte':
      return sql`(${count} <= ${node.count})`;
    default:
      throw new TypeError(`unknown event op ${JSON.stringify(node.op satisfies never)}`);
  }
}

function compileProperty(node: PropertyCondition, ctx: Context): Sql {
  const test = ctx.dialect.property(sql`${ctx.users}.properties`, propertyPathSegments(node.property));
  switch (node.op) {
    case 'eq':
      return test.equals(node.value);
    case 'neq':
      return not(test.equals(node.value));
    case 'in':
      return test.inList(node.value);
    case 'not_in':
      return not(test.inList(node.value));
    case 'gt':
      return test.compare('>', node.value);
    case 'gte':
      return test.compare('>=', node.value);
    case 'lt':
      return test.compare('<', node.value);
    case 'lte':
      return test.compare('<=', node.value);
    case 'contains':
      return test.contains(node.value);
    case 'exists':
      return test.exists();
    case 'not_exists':
      return not(test.exists());
    default:
      throw new TypeError(`unknown property op ${JSON.stringify((node satisfies never as { op: unknown }).op)}`);
  }
}

/**
 * A boolean SQL expression over `users <alias>` with the dialect's placeholders, for example
 * `SELECT u.id FROM users u WHERE u.workspace_id = ? AND (<sql>)`.
 */
export function compileCriteria(criteria: Criteria, options: CompileCriteriaOptions): CompiledCriteria {
  const alias = assertSqlIdentifier(options.userAlias ?? 'u', 'userAlias');
  if ([EVENT_ALIAS, ELEMENT_ALIAS].includes(alias.toLowerCase())) {
    throw new TypeError(`userAlias ${JSON.stringify(alias)} is reserved for the criteria subqueries`);
  }
  if (!Number.isSafeInteger(options.now)) {
    throw new TypeError(`now must be an integer epoch in milliseconds; got ${String(options.now)}`);
  }
  const first = options.firstParameter ?? 1;
  if (!Number.isSafeInteger(first) || first < 1) {
    throw new TypeError(`firstParameter must be a positive integer; got ${String(first)}`);
  }
  const dialect = DIALECTS[options.dialect ?? 'sqlite'];
  const compiled = compileNode(criteria, { now: options.now, alias, users: trusted(alias), dialect });
  const { text, params } = compiled.render(dialect.placeholder, first);
  return { sql: text, params };
}
