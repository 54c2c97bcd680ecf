import type { ScalarValue } from './criteria';
import {
  byType,
  type CriteriaDialect,
  ELEMENT_ALIAS,
  type OrderOperator,
  type PropertyTests,
} from './criteria-dialect';
import { join, type Sql, sql, trusted } from './sql-fragment';

const NUMBER_TYPES = trusted(`('integer', 'real')`);
const BOOLEAN_TYPES = trusted(`('true', 'false')`);

/** `['address', 'city']` → `$."address"."city"`; the name pattern rules out quotes and backslashes. */
export function sqliteJsonPath(segments: readonly string[]): string {
  return `$${segments.map((segment) => `."${segment}"`).join('')}`;
}

/**
 * SQLite: the JSON path is a bound `$."a"."b"` string; types are read through
 * `IFNULL(json_type(...), 'null')`, and json_extract gives 1/0 for JSON true/false (the type
 * test keeps the numbers 1/0 out). Comparisons are 0/1, BINARY collation.
 */
export const sqliteDialect: CriteriaDialect = {
  name: 'sqlite',
  placeholder: () => '?',
  property(properties: Sql, segments: readonly string[]): PropertyTests {
    const path = sqliteJsonPath(segments);
    const type = sql`IFNULL(json_type(${properties}, ${path}), 'null')`;
    const value = sql`json_extract(${properties}, ${path})`;
    const element = trusted(ELEMENT_ALIAS);
    const member = (list: readonly (string | number)[]) =>
      sql`${value} IN (SELECT ${element}.value FROM json_each(${JSON.stringify(list)}) ${element})`;
    return {
      equals(expected: ScalarValue) {
        if (typeof expected === 'string') return sql`(${type} = 'text' AND ${value} = ${expected})`;
        if (typeof expected === 'number') return sql`(${type} IN ${NUMBER_TYPES} AND ${value} = ${expected})`;
        return sql`(${type} IN ${BOOLEAN_TYPES} AND ${value} = ${expected ? 1 : 0})`;
      },
      inList(expected: readonly ScalarValue[]) {
        // One bound JSON array per type class keeps the statement size independent of the list.
        const { strings, numbers, booleans } = byType(expected);
        const alternatives: Sql[] = [];
        if (strings.length > 0) alternatives.push(sql`(${type} = 'text' AND ${member(strings)})`);
        if (numbers.length > 0) alternatives.push(sql`(${type} IN ${NUMBER_TYPES} AND ${member(numbers)})`);
        if (booleans.length > 0) {
          alternatives.push(sql`(${type} IN ${BOOLEAN_TYPES} AND ${member(booleans.map((b) => (b ? 1 : 0)))})`);
        }
        return join(alternatives, 'OR');
      },
      compare(operator: OrderOperator, expected: number | string) {
        return typeof expected === 'number'
          ? sql`(${type} IN ${NUMBER_TYPES} AND ${value} ${trusted(operator)} ${expected})`
          : sql`(${type} = 'text' AND ${value} ${trusted(operator)} ${expected})`;
      },
      contains(expected: string) {
        // instr is a case-sensitive, wildcard-free substring test (unlike LIKE).
        return sql`(CASE ${type} WHEN 'text' THEN instr(${value}, ${expected}) > 0 WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(${properties}, ${path}) ${element} WHERE ${element}.type = 'text' AND ${element}.value = ${expected}) ELSE 0 END)`;
      },
      exists() {
        return sql`(${type} <> 'null')`;
      },
    };
  },
};
