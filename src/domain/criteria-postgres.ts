import type { ScalarValue } from './criteria';
import {
  byType,
  type CriteriaDialect,
  ELEMENT_ALIAS,
  type OrderOperator,
  type PropertyTests,
} from './criteria-dialect';
import { join, type Sql, sql, trusted } from './sql-fragment';

/**
 * PostgreSQL over a `jsonb` column: the path is a bound `text[]` (`#>` / `#>>`), types come
 * from `coalesce(jsonb_typeof(...), 'null')`. PostgreSQL does not promise to evaluate AND
 * left to right, so a cast to numeric sits inside a CASE on the type: a string never reaches
 * it. Text compares under `COLLATE "C"` (UTF-8 bytes, i.e. code points: SQLite's BINARY).
 * Lists bind as one array per type class (`= ANY($n::text[])`).
 */
export const postgresDialect: CriteriaDialect = {
  name: 'postgres',
  placeholder: (index: number) => `$${index}`,
  property(properties: Sql, segments: readonly string[]): PropertyTests {
    const path = sql`${segments}::text[]`;
    const type = sql`coalesce(jsonb_typeof(${properties} #> ${path}), 'null')`;
    const text = sql`(${properties} #>> ${path})`;
    const numeric = (test: Sql) => sql`(CASE WHEN ${type} = 'number' THEN ${test} ELSE false END)`;
    return {
      equals(expected: ScalarValue) {
        if (typeof expected === 'string') return sql`(${type} = 'string' AND ${text} = ${expected})`;
        if (typeof expected === 'number') return numeric(sql`${text}::numeric = ${String(expected)}::numeric`);
        return sql`(${type} = 'boolean' AND ${text} = ${String(expected)})`;
      },
      inList(expected: readonly ScalarValue[]) {
        const { strings, numbers, booleans } = byType(expected);
        const alternatives: Sql[] = [];
        if (strings.length > 0) alternatives.push(sql`(${type} = 'string' AND ${text} = ANY(${strings}::text[]))`);
        if (numbers.length > 0) {
          alternatives.push(numeric(sql`${text}::numeric = ANY(${numbers.map(String)}::numeric[])`));
        }
        if (booleans.length > 0) {
          alternatives.push(sql`(${type} = 'boolean' AND ${text} = ANY(${booleans.map(String)}::text[]))`);
        }
        return join(alternatives, 'OR');
      },
      compare(operator: OrderOperator, expected: number | string) {
        const op = trusted(operator);
        return typeof expected === 'number'
          ? numeric(sql`${text}::numeric ${op} ${String(expected)}::numeric`)
          : sql`(${type} = 'string' AND ${text} COLLATE "C" ${op} ${expected}::text COLLATE "C")`;
      },
      contains(expected: string) {
        const element = trusted(ELEMENT_ALIAS);
        // strpos is a case-sensitive, wildcard-free substring test (unlike LIKE).
        return sql`(CASE ${type} WHEN 'string' THEN strpos(${text}, ${expected}::text) > 0 WHEN 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(${properties} #> ${path}) ${element} WHERE jsonb_typeof(${element}.value) = 'string' AND ${element}.value #>> '{}' = ${expected}::text) ELSE false END)`;
      },
      exists() {
        return sql`(${type} <> 'null')`;
      },
    };
  },
};
