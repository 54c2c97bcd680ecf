/**
 * Compiles validated criteria to one boolean SQLite expression over `users <alias>`.
 *
 * Safety: the `sql` tag below binds every interpolated string or number as a `?` parameter;
 * only other `sql` fragments and the checked table alias become SQL text. Property names
 * reach SQL solely as a bound JSON path (`$."address"."city"`) built from names that match
 * the property name pattern, so they cannot leave their quotes.
 *
 * Every fragment evaluates to 0 or 1, never NULL (types are read through
 * `IFNULL(json_type(...), 'null')`), so NOT, neq, not_in and not_exists are exact
 * complements. Semantics are documented in `criteria.ts`; `criteria-evaluator.ts` is the
 * in-memory oracle the tests hold this compiler to.
 */
import type { Criteria, CriteriaNode, EventCondition, PropertyCondition, ScalarValue } from './criteria';
import { propertyPathSegments } from './criteria-property-name';
import { identifiedSql } from './identity';
import { assertSqlIdentifier } from './sql-identifier';

export type SqlParam = string | number | null;

export interface CompiledCriteria {
  sql: string;
  params: SqlParam[];
}

export interface CompileCriteriaOptions {
  /** evaluation time, epoch milliseconds; event windows end here */
  now: number;
  /** alias of the `users` table in the surrounding query; default `u` */
  userAlias?: string;
}

const DAY_MS = 86_400_000;

// Aliases of the correlated subqueries; the users alias must differ from them.
const EVENT_ALIAS = 'criteria_event';
const ELEMENT_ALIAS = 'criteria_element';

class Sql {
  constructor(
    readonly text: string,
    readonly params: readonly SqlParam[],
  ) {}
}

/** Interpolated values are bound as parameters; only `Sql` fragments are inlined. */
function sql(strings: TemplateStringsArray, ...parts: (Sql | SqlParam)[]): Sql {
  let text = strings[0] ?? '';
  const params: SqlParam[] = [];
  parts.forEach((part, index) => {
    if (part instanceof Sql) {
      text += part.text;
      params.push(...part.params);
    } else {
      text += '?';
      params.push(part);
    }
    text += strings[index + 1] ?? '';
  });
  return new Sql(text, params);
}

/** For the few names the compiler itself owns (aliases), never for input. */
function trusted(text: string): Sql {
  return new Sql(text, []);
}

function join(fragments: readonly Sql[], operator: 'AND' | 'OR'): Sql {
  return new Sql(
    `(${fragments.map((fragment) => fragment.text).join(` ${operator} `)})`,
    fragments.flatMap((fragment) => fragment.params),
  );
}

function not(fragment: Sql): Sql {
  return sql`(NOT ${fragment})`;
}

/** `address.city` → `$."address"."city"`; the name pattern rules out quotes and backslashes. */
export function jsonPathOf(property: string): string {
  return `$${propertyPathSegments(property)
    .map((segment) => `."${segment}"`)
    .join('')}`;
}

interface Context {
  now: number;
  users: Sql;
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
    const identified = trusted(identifiedSql(ctx.users.text));
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

const NUMBER_TYPES = trusted(`('integer', 'real')`);
const BOOLEAN_TYPES = trusted(`('true', 'false')`);

function compileProperty(node: PropertyCondition, ctx: Context): Sql {
  const properties = sql`${ctx.users}.properties`;
  const path = jsonPathOf(node.property);
  const type = sql`IFNULL(json_type(${properties}, ${path}), 'null')`;
  const value = sql`json_extract(${properties}, ${path})`;

  const equalsScalar = (expected: ScalarValue): Sql => {
    if (typeof expected === 'string') return sql`(${type} = 'text' AND ${value} = ${expected})`;
    if (typeof expected === 'number') return sql`(${type} IN ${NUMBER_TYPES} AND ${value} = ${expected})`;
    // json_extract gives 1/0 for JSON true/false; the type test keeps numbers 1/0 out.
    return sql`(${type} IN ${BOOLEAN_TYPES} AND ${value} = ${expected ? 1 : 0})`;
  };

  const inList = (expected: readonly ScalarValue[]): Sql => {
    // One bound JSON array per type class keeps the statement size independent of the list.
    const strings = expected.filter((item): item is string => typeof item === 'string');
    const numbers = expected.filter((item): item is number => typeof item === 'number');
    const booleans = expected.filter((item): item is boolean => typeof item === 'boolean').map((b) => (b ? 1 : 0));
    const element = trusted(ELEMENT_ALIAS);
    const member = (list: readonly (string | number)[]) =>
      sql`${value} IN (SELECT ${element}.value FROM json_each(${JSON.stringify(list)}) ${element})`;
    const alternatives: Sql[] = [];
    if (strings.length > 0) alternatives.push(sql`(${type} = 'text' AND ${member(strings)})`);
    if (numbers.length > 0) alternatives.push(sql`(${type} IN ${NUMBER_TYPES} AND ${member(numbers)})`);
    if (booleans.length > 0) alternatives.push(sql`(${type} IN ${BOOLEAN_TYPES} AND ${member(booleans)})`);
    return join(alternatives, 'OR');
  };

  const compare = (operator: Sql, expected: number | string): Sql =>
    typeof expected === 'number'
      ? sql`(${type} IN ${NUMBER_TYPES} AND ${value} ${operator} ${expected})`
      : sql`(${type} = 'text' AND ${value} ${operator} ${expected})`;

  const exists = sql`(${type} <> 'null')`;

  switch (node.op) {
    case 'eq':
      return equalsScalar(node.value);
    case 'neq':
      return not(equalsScalar(node.value));
    case 'in':
      return inList(node.value);
    case 'not_in':
      return not(inList(node.value));
    case 'gt':
      return compare(trusted('>'), node.value);
    case 'gte':
      return compare(trusted('>='), node.value);
    case 'lt':
      return compare(trusted('<'), node.value);
    case 'lte':
      return compare(trusted('<='), node.value);
    case 'contains': {
      const element = trusted(ELEMENT_ALIAS);
      // instr is a case-sensitive, wildcard-free substring test (unlike LIKE).
      return sql`(CASE ${type} WHEN 'text' THEN instr(${value}, ${node.value}) > 0 WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(${properties}, ${path}) ${element} WHERE ${element}.type = 'text' AND ${element}.value = ${node.value}) ELSE 0 END)`;
    }
    case 'exists':
      return exists;
    case 'not_exists':
      return not(exists);
    default:
      throw new TypeError(`unknown property op ${JSON.stringify((node satisfies never as { op: unknown }).op)}`);
  }
}

/**
 * A 0/1 SQL expression over `users <alias>` with `?` placeholders, for example
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
  const compiled = compileNode(criteria, { now: options.now, users: trusted(alias) });
  return { sql: compiled.text, params: [...compiled.params] };
}
