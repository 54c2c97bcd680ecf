import type { ScalarValue } from './criteria';
import type { Sql } from './sql-fragment';

export type OrderOperator = '>' | '>=' | '<' | '<=';

/**
 * What a SQL engine does its own way when criteria read a JSON property: the compiler
 * (`criteria-sql.ts`) owns the tree, the negations and the event counts; a dialect only
 * says how one property is tested. Every fragment it returns is true or false, never NULL,
 * and never raises for a value of another type (a string where a number is compared), so
 * NOT of a fragment is its exact complement.
 */
export interface PropertyTests {
  equals(expected: ScalarValue): Sql;
  inList(expected: readonly ScalarValue[]): Sql;
  /** Numbers numerically; strings by code point (SQLite's BINARY order). */
  compare(operator: OrderOperator, expected: number | string): Sql;
  /** A substring of a string property, or a string element of an array property. */
  contains(expected: string): Sql;
  /** The path resolves to a value other than JSON null. */
  exists(): Sql;
}

export interface CriteriaDialect {
  readonly name: 'sqlite' | 'postgres';
  /** The text of the index-th bound parameter (1-based). */
  placeholder(index: number): string;
  /** Tests of the property at `segments` (already validated names) of the JSON column. */
  property(properties: Sql, segments: readonly string[]): PropertyTests;
}

/** Alias of the element subqueries (json_each, jsonb_array_elements); reserved by the compiler. */
export const ELEMENT_ALIAS = 'criteria_element';

/** An `in` list split by JSON type: each class is matched only by values of its type. */
export function byType(values: readonly ScalarValue[]) {
  return {
    strings: values.filter((item): item is string => typeof item === 'string'),
    numbers: values.filter((item): item is number => typeof item === 'number'),
    booleans: values.filter((item): item is boolean => typeof item === 'boolean'),
  };
}
