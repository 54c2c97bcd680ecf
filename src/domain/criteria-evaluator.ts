/**
 * Criteria evaluated over one in-memory user, with exactly the semantics documented in
 * `criteria.ts`. It exists as an independent oracle: tests compare it with the compiled
 * SQL over generated users. Production code selects members with `compileCriteria`.
 */
import type { Criteria, CriteriaNode, EventCondition, PropertyCondition, ScalarValue } from './criteria';
import { propertyPathSegments } from './criteria-property-name';
import { isIdentified, type UserIdentityFields } from './identity';

export interface EvaluatedEvent {
  name: string;
  /** epoch milliseconds */
  time: number;
}

export interface EvaluatedUser extends UserIdentityFields {
  properties: Record<string, unknown>;
  events: readonly EvaluatedEvent[];
}

const DAY_MS = 86_400_000;

/** The JSON type the way SQLite's json_type reports it, with missing folded into null. */
type JsonType = 'null' | 'true' | 'false' | 'number' | 'text' | 'array' | 'object';

function jsonTypeOf(value: unknown): JsonType {
  if (value === undefined || value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'text';
  if (Array.isArray(value)) return 'array';
  return 'object';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function propertyValue(properties: Record<string, unknown>, property: string): unknown {
  let current: unknown = properties;
  for (const segment of propertyPathSegments(property)) {
    if (!isObject(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

/** Code point order, which is SQLite's BINARY collation over UTF-8 (JS `<` uses UTF-16 units). */
function compareText(a: string, b: string): number {
  const left = Array.from(a, (char) => char.codePointAt(0) ?? 0);
  const right = Array.from(b, (char) => char.codePointAt(0) ?? 0);
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

function equalsScalar(actual: unknown, expected: ScalarValue): boolean {
  const type = jsonTypeOf(actual);
  if (typeof expected === 'string') return type === 'text' && actual === expected;
  if (typeof expected === 'number') return type === 'number' && actual === expected;
  return (type === 'true' || type === 'false') && actual === expected;
}

function compareOrdered(actual: unknown, expected: number | string): number | null {
  if (typeof expected === 'number') {
    return typeof actual === 'number' ? Math.sign(actual - expected) : null;
  }
  return typeof actual === 'string' ? Math.sign(compareText(actual, expected)) : null;
}

function evaluateProperty(node: PropertyCondition, user: EvaluatedUser): boolean {
  const actual = propertyValue(user.properties, node.property);
  switch (node.op) {
    case 'eq':
      return equalsScalar(actual, node.value);
    case 'neq':
      return !equalsScalar(actual, node.value);
    case 'in':
      return node.value.some((expected) => equalsScalar(actual, expected));
    case 'not_in':
      return !node.value.some((expected) => equalsScalar(actual, expected));
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const order = compareOrdered(actual, node.value);
      if (order === null) return false;
      if (node.op === 'gt') return order > 0;
      if (node.op === 'gte') return order >= 0;
      if (node.op === 'lt') return order < 0;
      return order <= 0;
    }
    case 'contains':
      if (typeof actual === 'string') return actual.includes(node.value);
      if (Array.isArray(actual)) return actual.some((element) => element === node.value);
      return false;
    case 'exists':
      return jsonTypeOf(actual) !== 'null';
    case 'not_exists':
      return jsonTypeOf(actual) === 'null';
  }
}

function evaluateEvent(node: EventCondition, user: EvaluatedUser, now: number): boolean {
  const from = now - node.within_days * DAY_MS;
  const count = user.events.filter(
    (event) => event.name === node.event && event.time >= from && event.time <= now,
  ).length;
  switch (node.op) {
    case 'eq':
      return count === node.count;
    case 'neq':
      return count !== node.count;
    case 'gt':
      return count > node.count;
    case 'gte':
      return count >= node.count;
    case 'lt':
      return count < node.count;
    case 'lte':
      return count <= node.count;
  }
}

function evaluateNode(node: CriteriaNode, user: EvaluatedUser, now: number): boolean {
  if ('all' in node) return node.all.every((child) => evaluateNode(child, user, now));
  if ('any' in node) return node.any.some((child) => evaluateNode(child, user, now));
  if ('not' in node) return !evaluateNode(node.not, user, now);
  if ('identity' in node) return isIdentified(user) === (node.identity === 'identified');
  if ('event' in node) return evaluateEvent(node, user, now);
  return evaluateProperty(node, user);
}

export function evaluateCriteria(criteria: Criteria, user: EvaluatedUser, options: { now: number }): boolean {
  return evaluateNode(criteria, user, options.now);
}
