/**
 * Cohort criteria: a JSON tree of `all` / `any` / `not` groups over property, event-count
 * and identity conditions. This file holds the types and the validating parser; the SQL
 * compiler is in `criteria-sql.ts` and the in-memory oracle in `criteria-evaluator.ts`
 * (both re-exported here). The semantics all three share:
 *
 * - **Property names** are 1–5 dot-separated segments, each matching
 *   `[A-Za-z_][A-Za-z0-9_]{0,63}` (see `criteria-property-name.ts`). `address.city` reads
 *   the key `city` of the object under `address`; a top-level key that itself contains a
 *   dot cannot be addressed.
 * - **Missing** = the path does not resolve (absent key, or an intermediate value that is
 *   not an object) or resolves to JSON `null`. Missing never matches eq, in, gt, gte, lt,
 *   lte, contains or exists; it always matches neq, not_in and not_exists
 *   (neq / not_in / not_exists are exactly the negations of eq / in / exists).
 * - **Types are strict**: a string value matches only JSON strings, a number only JSON
 *   numbers (integer and real compare numerically: 2 = 2.0), a boolean only JSON
 *   true/false. So `eq 1` does not match `true` or `"1"`, and `eq "1"` does not match `1`.
 *   gt/gte/lt/lte with a number compare numbers; with a string compare strings by code
 *   point (SQLite's BINARY collation, case-sensitive).
 * - **contains** (non-empty string): a string property containing it as a case-sensitive
 *   substring, or an array property with a string element equal to it.
 * - **Event conditions** count the user's events with that exact name whose time lies in
 *   [now − within_days × 24 h, now], both ends inclusive (events after `now` do not count),
 *   and compare the count with `count`.
 * - **Identity**: identified = a non-empty external_id, or a complete alias (non-empty name
 *   and label); anonymous = neither (the same rule as the Braze identifier mapping).
 * - **Depth**: the number of groups (all/any/not) on the path from the root to a node.
 *   At most 5 groups may be nested; a 6th group inside 5 others is rejected. A bare
 *   condition at the root has depth 0.
 */
import { z } from 'zod';
import { MAX_PROPERTY_SEGMENTS, PROPERTY_NAME_PATTERN, PROPERTY_NAME_RULE } from './criteria-property-name';

export { PROPERTY_NAME_PATTERN } from './criteria-property-name';

export { compileCriteria } from './criteria-sql';
export type { CompiledCriteria, CompileCriteriaOptions, SqlParam } from './criteria-sql';
export { evaluateCriteria } from './criteria-evaluator';
export type { EvaluatedEvent, EvaluatedUser } from './criteria-evaluator';

export const PROPERTY_OPS = [
  'eq',
  'neq',
  'in',
  'not_in',
  'gt',
  'gte',
  'lt',
  'lte',
  'contains',
  'exists',
  'not_exists',
] as const;
export const EVENT_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const;
export const IDENTITY_STATES = ['identified', 'anonymous'] as const;

export type PropertyOp = (typeof PROPERTY_OPS)[number];
export type EventOp = (typeof EVENT_OPS)[number];
export type IdentityState = (typeof IDENTITY_STATES)[number];

export const CRITERIA_LIMITS = {
  /** groups (all/any/not) nested on one path from the root */
  maxGroupDepth: 5,
  /** conditions in one all/any group; keeps the compiled SQL bounded */
  maxGroupSize: 100,
  maxListValues: 1000,
  /** conditions in the whole tree: what one evaluation costs per user grows with it */
  maxConditions: 200,
  /** values of every in/not_in list together */
  maxTotalListValues: 5000,
  /** the criteria as JSON */
  maxBytes: 64 * 1024,
  maxEventNameLength: 200,
  maxWithinDays: 3650,
  maxPropertySegments: MAX_PROPERTY_SEGMENTS,
} as const;

export type ScalarValue = string | number | boolean;

export type PropertyCondition =
  | { property: string; op: 'eq' | 'neq'; value: ScalarValue }
  | { property: string; op: 'in' | 'not_in'; value: ScalarValue[] }
  | { property: string; op: 'gt' | 'gte' | 'lt' | 'lte'; value: number | string }
  | { property: string; op: 'contains'; value: string }
  | { property: string; op: 'exists' | 'not_exists' };

export interface EventCondition {
  event: string;
  op: EventOp;
  count: number;
  within_days: number;
}

export interface IdentityCondition {
  identity: IdentityState;
}

export interface AllGroup {
  all: CriteriaNode[];
}
export interface AnyGroup {
  any: CriteriaNode[];
}
export interface NotGroup {
  not: CriteriaNode;
}

export type CriteriaNode = PropertyCondition | EventCondition | IdentityCondition | AllGroup | AnyGroup | NotGroup;

/** The root of a cohort's criteria (any node). */
export type Criteria = CriteriaNode;

export type IssuePath = (string | number)[];

export interface CriteriaIssue {
  /** JSON path such as `criteria.all[1].op` */
  path: string;
  message: string;
}

export type ParseCriteriaResult = { ok: true; criteria: Criteria } | { ok: false; issues: CriteriaIssue[] };

// ---------------------------------------------------------------------------------------
// Field schemas. Every message is written for a customer reading a 400 response.

function show(input: unknown): string {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function kindOf(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'object') return 'an object';
  if (typeof input === 'number' && !Number.isFinite(input)) return String(input);
  return `the ${typeof input} ${show(input)}`;
}

const listOf = (values: readonly string[]) => values.join(', ');

const propertyNameSchema = z
  .string({
    error: (iss) => `property must be a string naming a user property; got ${kindOf(iss.input)}`,
  })
  .regex(PROPERTY_NAME_PATTERN, {
    error: (iss) => `invalid property name ${show(iss.input)}; ${PROPERTY_NAME_RULE}`,
  });

function opSchema<const T extends readonly [string, ...string[]]>(ops: T, conditionKind: string) {
  return z.enum(ops, {
    error: (iss) =>
      iss.input === undefined
        ? `op is required; expected one of ${listOf(ops)}`
        : `unknown op ${show(iss.input)} for ${conditionKind}; expected one of ${listOf(ops)}`,
  });
}

const propertyOpSchema = opSchema(PROPERTY_OPS, 'a property condition');
const eventOpSchema = opSchema(EVENT_OPS, 'an event condition');

const eventNameSchema = z
  .string({
    error: (iss) => `event must be a string naming an event; got ${kindOf(iss.input)}`,
  })
  .min(1, { error: 'event must not be empty' })
  .max(CRITERIA_LIMITS.maxEventNameLength, {
    error: `event must be at most ${CRITERIA_LIMITS.maxEventNameLength} characters`,
  });

function integerSchema(name: string, min: number, max: number, meaning: string) {
  const range = `a whole number from ${min} to ${max} (${meaning})`;
  const rule = `${name} must be ${range}`;
  return z
    .number({
      error: (iss) => (iss.input === undefined ? `${name} is required: ${range}` : `${rule}; got ${kindOf(iss.input)}`),
    })
    .int({ error: (iss) => `${rule}; got ${show(iss.input)}` })
    .min(min, { error: (iss) => `${rule}; got ${show(iss.input)}` })
    .max(max, { error: (iss) => `${rule}; got ${show(iss.input)}` });
}

const countSchema = integerSchema('count', 0, 1_000_000_000, 'how many events');
const withinDaysSchema = integerSchema(
  'within_days',
  1,
  CRITERIA_LIMITS.maxWithinDays,
  'the window in days ending now',
);

const identityStateSchema = z.enum(IDENTITY_STATES, {
  error: (iss) => `unknown identity ${show(iss.input)}; expected one of ${listOf(IDENTITY_STATES)}`,
});

type ValueRule = { schema: z.ZodType; describe: string };

function scalarRule(op: 'eq' | 'neq'): ValueRule {
  const listOp = op === 'eq' ? 'in' : 'not_in';
  return {
    describe: 'a string, number or boolean',
    schema: z.union([z.string(), z.number(), z.boolean()], {
      error: (iss) =>
        `op "${op}" needs a string, number or boolean value; got ${kindOf(iss.input)}` +
        (Array.isArray(iss.input) ? `; use "${listOp}" to compare with a list` : ''),
    }),
  };
}

function listRule(op: 'in' | 'not_in'): ValueRule {
  const describe = `a non-empty array of at most ${CRITERIA_LIMITS.maxListValues} strings, numbers or booleans`;
  return {
    describe,
    schema: z
      .array(
        z.union([z.string(), z.number(), z.boolean()], {
          error: (iss) => `list entries must be strings, numbers or booleans; got ${kindOf(iss.input)}`,
        }),
        { error: (iss) => `op "${op}" needs ${describe}; got ${kindOf(iss.input)}` },
      )
      .min(1, { error: `op "${op}" needs ${describe}; got an empty array` })
      .max(CRITERIA_LIMITS.maxListValues, {
        error: (iss) =>
          `op "${op}" accepts at most ${CRITERIA_LIMITS.maxListValues} values; ` +
          `got ${Array.isArray(iss.input) ? iss.input.length : 'more'}`,
      }),
  };
}

function orderedRule(op: 'gt' | 'gte' | 'lt' | 'lte'): ValueRule {
  return {
    describe: 'a number or a string',
    schema: z.union([z.number(), z.string()], {
      error: (iss) => `op "${op}" needs a number or a string value; got ${kindOf(iss.input)}`,
    }),
  };
}

const containsRule: ValueRule = {
  describe: 'a non-empty string',
  schema: z
    .string({
      error: (iss) => `op "contains" needs a non-empty string value; got ${kindOf(iss.input)}`,
    })
    .min(1, { error: 'op "contains" needs a non-empty string value; got the empty string' }),
};

const VALUE_RULES: Record<PropertyOp, ValueRule | null> = {
  eq: scalarRule('eq'),
  neq: scalarRule('neq'),
  in: listRule('in'),
  not_in: listRule('not_in'),
  gt: orderedRule('gt'),
  gte: orderedRule('gte'),
  lt: orderedRule('lt'),
  lte: orderedRule('lte'),
  contains: containsRule,
  exists: null,
  not_exists: null,
};

const propertyConditionSchema = z.strictObject({
  property: propertyNameSchema,
  op: propertyOpSchema,
  value: z.unknown().optional(),
});

const eventConditionSchema = z.strictObject({
  event: eventNameSchema,
  op: eventOpSchema,
  count: countSchema,
  within_days: withinDaysSchema,
});

const identityConditionSchema = z.strictObject({ identity: identityStateSchema });

function groupSchema(key: 'all' | 'any') {
  return z.strictObject({
    [key]: z
      .array(z.unknown(), {
        error: (iss) => `${key} must be an array of conditions; got ${kindOf(iss.input)}`,
      })
      .min(1, { error: `${key} must contain at least one condition` })
      .max(CRITERIA_LIMITS.maxGroupSize, {
        error: `${key} may contain at most ${CRITERIA_LIMITS.maxGroupSize} conditions; nest groups to go further`,
      }),
  });
}

const allGroupSchema = groupSchema('all');
const anyGroupSchema = groupSchema('any');
const notGroupSchema = z.strictObject({ not: z.unknown() });

/**
 * The criteria tree as one schema, for the API's description (OpenAPI): the parser's own node
 * schemas and value rules, one property condition per op. The parser below stays the validator:
 * a union's errors would name neither the node nor its path. Depth and total size are checked by
 * the parser only (JSON Schema has no word for them).
 */
export const criteriaShape: z.ZodType = z.union([
  ...PROPERTY_OPS.map((op) => {
    const rule = VALUE_RULES[op];
    return z.strictObject({ property: propertyNameSchema, op: z.literal(op), ...(rule ? { value: rule.schema } : {}) });
  }),
  eventConditionSchema,
  identityConditionSchema,
  z.strictObject({
    get all() {
      return groupItems();
    },
  }),
  z.strictObject({
    get any() {
      return groupItems();
    },
  }),
  z.strictObject({
    get not() {
      return criteriaShape;
    },
  }),
]);

function groupItems(): z.ZodType {
  return z.array(criteriaShape).min(1).max(CRITERIA_LIMITS.maxGroupSize);
}

// ---------------------------------------------------------------------------------------
// The recursive parser. zod validates each node's own shape; the dispatch on the node's
// key and the recursion are ours, so that a mistake deep in the tree is reported as one
// targeted message at its exact path (zod's union errors name neither).

const NODE_KEYS = ['property', 'event', 'identity', 'all', 'any', 'not'] as const;
type NodeKey = (typeof NODE_KEYS)[number];

const NODE_SHAPES: Record<NodeKey, { name: string; keys: readonly string[] }> = {
  property: { name: 'a property condition', keys: ['property', 'op', 'value'] },
  event: { name: 'an event condition', keys: ['event', 'op', 'count', 'within_days'] },
  identity: { name: 'an identity condition', keys: ['identity'] },
  all: { name: 'an all group', keys: ['all'] },
  any: { name: 'an any group', keys: ['any'] },
  not: { name: 'a not group', keys: ['not'] },
};

const KEY_HINTS: Record<string, string> = { and: 'all', or: 'any' };

/** A condition whose discriminating key is missing usually still has its other keys. */
function missingKeyHint(keys: readonly string[]): string {
  if (keys.includes('count') || keys.includes('within_days')) return '; an event condition needs "event"';
  if (keys.includes('op') || keys.includes('value')) return '; a property condition needs "property"';
  return '';
}

const NODE_RULE = `a condition is an object with exactly one of the keys ${listOf(NODE_KEYS)}`;

class IssueCollector {
  readonly issues: { path: IssuePath; message: string }[] = [];

  add(path: IssuePath, message: string): void {
    this.issues.push({ path, message });
  }

  /** Unknown keys first: a misspelt key usually explains the other issues of its node. */
  addZodIssues(base: IssuePath, error: z.ZodError, shape: { name: string; keys: readonly string[] }): void {
    const unknown: { path: IssuePath; message: string }[] = [];
    const other: { path: IssuePath; message: string }[] = [];
    for (const issue of error.issues) {
      const path = [...base, ...(issue.path as (string | number)[])];
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          unknown.push({
            path: [...path, key],
            message: `unknown key ${show(key)}; ${shape.name} has only the keys ${listOf(shape.keys)}`,
          });
        }
      } else {
        other.push({ path, message: issue.message });
      }
    }
    this.issues.push(...unknown, ...other);
  }
}

function isPlainObject(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

function parseNode(
  input: unknown,
  path: IssuePath,
  groupsAbove: number,
  out: IssueCollector,
): CriteriaNode | undefined {
  if (!isPlainObject(input)) {
    out.add(path, `expected a condition object; got ${kindOf(input)}; ${NODE_RULE}`);
    return undefined;
  }
  const present = NODE_KEYS.filter((key) => Object.hasOwn(input, key));
  if (present.length === 0) {
    const keys = Object.keys(input);
    const hinted = keys.find((key) => Object.hasOwn(KEY_HINTS, key.toLowerCase()));
    if (hinted !== undefined) {
      out.add([...path, hinted], `unknown key ${show(hinted)}; use ${show(KEY_HINTS[hinted.toLowerCase()])} instead`);
    } else {
      const got = keys.length === 0 ? 'an empty object' : `an object with the keys ${listOf(keys)}`;
      out.add(path, `unrecognised condition (${got}); ${NODE_RULE}${missingKeyHint(keys)}`);
    }
    return undefined;
  }
  if (present.length > 1) {
    out.add(
      path,
      `ambiguous condition with the keys ${listOf(present)}; ${NODE_RULE} ` +
        '(combine conditions with all, any or not)',
    );
    return undefined;
  }
  const kind = present[0] as NodeKey;
  switch (kind) {
    case 'property':
      return parsePropertyCondition(input, path, out);
    case 'event':
      return parseShape(eventConditionSchema, input, path, NODE_SHAPES.event, out);
    case 'identity':
      return parseShape(identityConditionSchema, input, path, NODE_SHAPES.identity, out);
    case 'all':
    case 'any':
    case 'not':
      return parseGroup(kind, input, path, groupsAbove, out);
  }
}

function parseShape<T>(
  schema: z.ZodType<T>,
  input: Record<string, unknown>,
  path: IssuePath,
  shape: { name: string; keys: readonly string[] },
  out: IssueCollector,
): T | undefined {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  out.addZodIssues(path, result.error, shape);
  return undefined;
}

function parsePropertyCondition(
  input: Record<string, unknown>,
  path: IssuePath,
  out: IssueCollector,
): PropertyCondition | undefined {
  const before = out.issues.length;
  const base = parseShape(propertyConditionSchema, input, path, NODE_SHAPES.property, out);
  const op = propertyOpSchema.safeParse(input.op);
  if (!op.success) return undefined;

  const rule = VALUE_RULES[op.data];
  const valuePath = [...path, 'value'];
  const hasValue = Object.hasOwn(input, 'value');
  if (rule === null) {
    if (hasValue) out.add(valuePath, `op "${op.data}" takes no value; remove "value"`);
  } else if (!hasValue || input.value === undefined) {
    out.add(valuePath, `value is required for op "${op.data}": ${rule.describe}`);
  } else {
    const value = rule.schema.safeParse(input.value);
    if (!value.success) {
      for (const issue of value.error.issues) {
        out.add([...valuePath, ...(issue.path as (string | number)[])], issue.message);
      }
    }
  }
  if (base === undefined || out.issues.length > before) return undefined;
  return base as PropertyCondition;
}

function parseGroup(
  kind: 'all' | 'any' | 'not',
  input: Record<string, unknown>,
  path: IssuePath,
  groupsAbove: number,
  out: IssueCollector,
): CriteriaNode | undefined {
  if (groupsAbove >= CRITERIA_LIMITS.maxGroupDepth) {
    out.add(
      path,
      `criteria are nested too deeply: at most ${CRITERIA_LIMITS.maxGroupDepth} all/any/not groups ` +
        'may be nested inside one another',
    );
    return undefined;
  }
  if (kind === 'not') {
    const shape = parseShape(notGroupSchema, input, path, NODE_SHAPES.not, out);
    if (shape === undefined) return undefined;
    if (Array.isArray(shape.not)) {
      out.add(
        [...path, 'not'],
        'not takes a single condition object, not an array; wrap several conditions in all or any',
      );
      return undefined;
    }
    const child = parseNode(shape.not, [...path, 'not'], groupsAbove + 1, out);
    return child === undefined ? undefined : { not: child };
  }
  const schema = kind === 'all' ? allGroupSchema : anyGroupSchema;
  const shape = parseShape(schema, input, path, NODE_SHAPES[kind], out);
  if (shape === undefined) return undefined;
  const items = shape[kind] as unknown[];
  const children: CriteriaNode[] = [];
  let failed = false;
  items.forEach((item, index) => {
    const child = parseNode(item, [...path, kind, index], groupsAbove + 1, out);
    if (child === undefined) failed = true;
    else children.push(child);
  });
  if (failed) return undefined;
  return kind === 'all' ? { all: children } : { any: children };
}

function parseIssues(input: unknown): { criteria?: Criteria; issues: { path: IssuePath; message: string }[] } {
  const out = new IssueCollector();
  const criteria = parseNode(input, [], 0, out);
  if (out.issues.length > 0 || criteria === undefined) return { issues: out.issues };
  const tooBig = sizeProblem(criteria);
  return tooBig ? { issues: [{ path: [], message: tooBig }] } : { criteria, issues: [] };
}

/**
 * The whole tree's bounds, past the per-group ones: a valid tree of many large groups could
 * still make an evaluation that holds a query for minutes.
 */
function sizeProblem(criteria: Criteria): string | null {
  let conditions = 0;
  let listValues = 0;
  const stack: CriteriaNode[] = [criteria];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if ('all' in node) stack.push(...node.all);
    else if ('any' in node) stack.push(...node.any);
    else if ('not' in node) stack.push(node.not);
    else {
      conditions++;
      if ('property' in node && (node.op === 'in' || node.op === 'not_in')) listValues += node.value.length;
    }
  }
  const L = CRITERIA_LIMITS;
  if (conditions > L.maxConditions) {
    return `has ${conditions} conditions; at most ${L.maxConditions} are allowed in one cohort`;
  }
  if (listValues > L.maxTotalListValues) {
    return `has ${listValues} values in its in/not_in lists together; at most ${L.maxTotalListValues} are allowed`;
  }
  const bytes = new TextEncoder().encode(JSON.stringify(criteria)).length;
  if (bytes > L.maxBytes) return `is ${bytes} bytes as JSON; at most ${L.maxBytes} are allowed`;
  return null;
}

const IDENTIFIER_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `criteria.all[1].op`; keys that are not identifiers are written `["a key"]`. */
export function formatIssuePath(root: string, path: readonly (string | number)[]): string {
  let text = root;
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (IDENTIFIER_KEY.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/**
 * Validate untrusted criteria. Issues come in document order, and within a node the most
 * telling problem (an unknown key, then the fields in order) first.
 */
export function parseCriteria(input: unknown, options: { root?: string } = {}): ParseCriteriaResult {
  const root = options.root ?? 'criteria';
  const { criteria, issues } = parseIssues(input);
  if (criteria !== undefined) return { ok: true, criteria };
  return {
    ok: false,
    issues: issues.map((issue) => ({ path: formatIssuePath(root, issue.path), message: issue.message })),
  };
}

/**
 * The same validation as a zod schema, to embed in a request body schema
 * (`z.object({ name: …, criteria: criteriaSchema })`); issue paths are relative to it.
 */
export const criteriaSchema = z.unknown().transform((input, ctx): Criteria => {
  const { criteria, issues } = parseIssues(input);
  if (criteria !== undefined) return criteria;
  for (const issue of issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input });
  return z.NEVER;
});
