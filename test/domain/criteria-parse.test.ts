import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CRITERIA_LIMITS,
  criteriaSchema,
  formatIssuePath,
  parseCriteria,
  type CriteriaNode,
} from '../../src/domain/criteria';

const leaf = { property: 'plan', op: 'eq', value: 'pro' };

/** `levels` groups nested inside one another (all → any → not → all …) around one leaf. */
function nested(levels: number): unknown {
  let node: unknown = leaf;
  for (let level = levels; level >= 1; level--) {
    const kind = ['all', 'any', 'not'][(level - 1) % 3];
    node = kind === 'not' ? { not: node } : { [kind as string]: [node] };
  }
  return node;
}

function firstIssue(input: unknown): { path: string; message: string } {
  const result = parseCriteria(input);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  const [issue] = result.issues;
  if (issue === undefined) throw new Error('rejected without issues');
  return issue;
}

describe('parseCriteria accepts', () => {
  const valid: [string, unknown][] = [
    [
      'the design example',
      {
        all: [
          { property: 'country', op: 'in', value: ['BR', 'PT'] },
          { event: 'purchase', op: 'gte', count: 2, within_days: 30 },
          { identity: 'identified' },
          {
            any: [
              { property: 'plan', op: 'eq', value: 'pro' },
              { not: { event: 'app_open', op: 'gte', count: 1, within_days: 7 } },
            ],
          },
        ],
      },
    ],
    ['a bare condition at the root', leaf],
    ['eq with a number', { property: 'age', op: 'eq', value: 30 }],
    ['neq with a boolean', { property: 'beta', op: 'neq', value: false }],
    ['in with mixed scalars', { property: 'x', op: 'in', value: ['a', 1, true] }],
    ['not_in', { property: 'x', op: 'not_in', value: ['a'] }],
    ['gt with a number', { property: 'age', op: 'gt', value: 1.5 }],
    ['lte with a string', { property: 'name', op: 'lte', value: 'm' }],
    ['contains', { property: 'tags', op: 'contains', value: 'vip' }],
    ['exists', { property: 'email', op: 'exists' }],
    ['not_exists', { property: 'email', op: 'not_exists' }],
    ['a dotted property path', { property: 'address.city', op: 'eq', value: 'Lisbon' }],
    ['five path segments', { property: 'a.b.c.d.e', op: 'exists' }],
    ['a 64-character segment', { property: `_${'a'.repeat(63)}`, op: 'exists' }],
    ['event names with any characters', { event: 'it\'s "odd" \' OR 1=1 --', op: 'eq', count: 0, within_days: 1 }],
    ['a 200-character event name', { event: 'e'.repeat(200), op: 'eq', count: 0, within_days: 3650 }],
    ['identity anonymous', { identity: 'anonymous' }],
    [
      `${CRITERIA_LIMITS.maxListValues} list values`,
      { property: 'x', op: 'in', value: Array.from({ length: 1000 }, (_, i) => i) },
    ],
    [`${CRITERIA_LIMITS.maxGroupSize} conditions in a group`, { any: Array.from({ length: 100 }, () => leaf) }],
    ['5 nested groups', nested(5)],
  ];
  it.each(valid)('%s', (_name, input) => {
    const result = parseCriteria(input);
    expect(result.ok ? [] : result.issues).toEqual([]);
    if (result.ok) expect(result.criteria).toEqual(input);
  });
});

describe('parseCriteria rejects, naming the path and the problem first', () => {
  const cases: [string, unknown, string, RegExp][] = [
    [
      'an unknown property op',
      { all: [leaf, { property: 'country', op: 'between', value: [1, 2] }] },
      'criteria.all[1].op',
      /^unknown op "between" for a property condition; expected one of eq, neq, in, not_in, gt, gte, lt, lte, contains, exists, not_exists$/,
    ],
    ['a missing op', { property: 'country', value: 'BR' }, 'criteria.op', /^op is required; expected one of eq, neq/],
    [
      'an op meant for events',
      { event: 'purchase', op: 'in', count: 1, within_days: 7 },
      'criteria.op',
      /^unknown op "in" for an event condition; expected one of eq, neq, gt, gte, lt, lte$/,
    ],
    [
      'a misspelt key (before the missing value it causes)',
      { property: 'plan', op: 'eq', valeu: 'pro' },
      'criteria.valeu',
      /^unknown key "valeu"; a property condition has only the keys property, op, value$/,
    ],
    [
      'an unknown key on an event',
      { event: 'x', op: 'eq', count: 1, within_days: 7, days: 3 },
      'criteria.days',
      /^unknown key "days"; an event condition has only the keys event, op, count, within_days$/,
    ],
    ['a key that is not an identifier', { identity: 'identified', 'a b': 1 }, 'criteria["a b"]', /^unknown key "a b"/],
    [
      'a group with extra keys',
      { all: [leaf], name: 'x' },
      'criteria.name',
      /^unknown key "name"; an all group has only the keys all$/,
    ],
    [
      'a missing value',
      { all: [{ property: 'plan', op: 'eq' }] },
      'criteria.all[0].value',
      /^value is required for op "eq": a string, number or boolean$/,
    ],
    [
      'a value for exists',
      { property: 'plan', op: 'exists', value: true },
      'criteria.value',
      /^op "exists" takes no value; remove "value"$/,
    ],
    [
      'a value for not_exists',
      { property: 'plan', op: 'not_exists', value: null },
      'criteria.value',
      /^op "not_exists" takes no value/,
    ],
    [
      'a list for eq',
      { property: 'plan', op: 'eq', value: ['pro'] },
      'criteria.value',
      /^op "eq" needs a string, number or boolean value; got an array; use "in" to compare with a list$/,
    ],
    [
      'null for neq',
      { property: 'plan', op: 'neq', value: null },
      'criteria.value',
      /^op "neq" needs a string, number or boolean value; got null$/,
    ],
    [
      'a scalar for in',
      { property: 'plan', op: 'in', value: 'pro' },
      'criteria.value',
      /^op "in" needs a non-empty array of at most 1000 strings, numbers or booleans; got the string "pro"$/,
    ],
    ['an empty list', { property: 'plan', op: 'not_in', value: [] }, 'criteria.value', /got an empty array$/],
    [
      'too many list values',
      { property: 'plan', op: 'in', value: Array.from({ length: 1001 }, (_, i) => i) },
      'criteria.value',
      /^op "in" accepts at most 1000 values; got 1001$/,
    ],
    [
      'an object in a list',
      { property: 'plan', op: 'in', value: ['a', { b: 1 }] },
      'criteria.value[1]',
      /^list entries must be strings, numbers or booleans; got an object$/,
    ],
    [
      'a boolean for gt',
      { property: 'age', op: 'gt', value: true },
      'criteria.value',
      /^op "gt" needs a number or a string value; got the boolean true$/,
    ],
    [
      'a number for contains',
      { property: 'tags', op: 'contains', value: 1 },
      'criteria.value',
      /^op "contains" needs a non-empty string value; got the number 1$/,
    ],
    [
      'an empty string for contains',
      { property: 'tags', op: 'contains', value: '' },
      'criteria.value',
      /^op "contains" needs a non-empty string value/,
    ],
    [
      'a non-string property',
      { property: 7, op: 'exists' },
      'criteria.property',
      /^property must be a string naming a user property; got the number 7$/,
    ],
    [
      'SQL in a property name',
      { property: "country') OR 1=1 --", op: 'eq', value: 'BR' },
      'criteria.property',
      /^invalid property name "country'\) OR 1=1 --"; a property name is 1 to 5 dot-separated segments/,
    ],
    [
      'a JSON path escape in a property name',
      { property: 'a"."b', op: 'exists' },
      'criteria.property',
      /^invalid property name/,
    ],
    ['a $ path', { property: '$', op: 'exists' }, 'criteria.property', /^invalid property name/],
    ['a leading digit', { property: '1st', op: 'exists' }, 'criteria.property', /^invalid property name/],
    ['an empty segment', { property: 'a..b', op: 'exists' }, 'criteria.property', /^invalid property name/],
    ['a trailing dot', { property: 'a.', op: 'exists' }, 'criteria.property', /^invalid property name/],
    ['six segments', { property: 'a.b.c.d.e.f', op: 'exists' }, 'criteria.property', /^invalid property name/],
    [
      'a 65-character segment',
      { property: 'a'.repeat(65), op: 'exists' },
      'criteria.property',
      /^invalid property name/,
    ],
    ['an empty property name', { property: '', op: 'exists' }, 'criteria.property', /^invalid property name ""/],
    [
      'an empty event name',
      { event: '', op: 'eq', count: 1, within_days: 1 },
      'criteria.event',
      /^event must not be empty$/,
    ],
    [
      'a 201-character event name',
      { event: 'e'.repeat(201), op: 'eq', count: 1, within_days: 1 },
      'criteria.event',
      /^event must be at most 200 characters$/,
    ],
    [
      'a negative count',
      { event: 'x', op: 'eq', count: -1, within_days: 1 },
      'criteria.count',
      /^count must be a whole number from 0 to 1000000000 \(how many events\); got -1$/,
    ],
    ['a fractional count', { event: 'x', op: 'eq', count: 1.5, within_days: 1 }, 'criteria.count', /got 1\.5$/],
    [
      'a count given as a string',
      { event: 'x', op: 'eq', count: '2', within_days: 1 },
      'criteria.count',
      /got the string "2"$/,
    ],
    [
      'a missing window',
      { event: 'x', op: 'eq', count: 1 },
      'criteria.within_days',
      /^within_days is required: a whole number from 1 to 3650/,
    ],
    [
      'a zero-day window',
      { event: 'x', op: 'eq', count: 1, within_days: 0 },
      'criteria.within_days',
      /^within_days must be a whole number from 1 to 3650.*got 0$/,
    ],
    [
      'a window over 3650 days',
      { event: 'x', op: 'eq', count: 1, within_days: 3651 },
      'criteria.within_days',
      /got 3651$/,
    ],
    [
      'an unknown identity',
      { identity: 'known' },
      'criteria.identity',
      /^unknown identity "known"; expected one of identified, anonymous$/,
    ],
    ['an empty all', { all: [] }, 'criteria.all', /^all must contain at least one condition$/],
    [
      'an any that is not an array',
      { any: leaf },
      'criteria.any',
      /^any must be an array of conditions; got an object$/,
    ],
    [
      'too many conditions in a group',
      { any: Array.from({ length: 101 }, () => leaf) },
      'criteria.any',
      /^any may contain at most 100 conditions/,
    ],
    ['not with an array', { not: [leaf] }, 'criteria.not', /^not takes a single condition object, not an array/],
    ['not with a scalar', { not: 'x' }, 'criteria.not', /^expected a condition object; got the string "x"/],
    [
      'two node keys',
      { all: [{ property: 'x', event: 'y', op: 'eq' }] },
      'criteria.all[0]',
      /^ambiguous condition with the keys property, event; a condition is an object with exactly one of the keys/,
    ],
    ['and instead of all', { and: [leaf] }, 'criteria.and', /^unknown key "and"; use "all" instead$/],
    ['or instead of any', { all: [{ or: [leaf] }] }, 'criteria.all[0].or', /^unknown key "or"; use "any" instead$/],
    [
      'a missing property key',
      { all: [{ op: 'eq', value: 1 }] },
      'criteria.all[0]',
      /^unrecognised condition \(an object with the keys op, value\);.*a property condition needs "property"$/,
    ],
    [
      'a missing event key',
      { any: [{ op: 'gte', count: 1, within_days: 7 }] },
      'criteria.any[0]',
      /an event condition needs "event"$/,
    ],
    ['an empty object', {}, 'criteria', /^unrecognised condition \(an empty object\)/],
    ['null', null, 'criteria', /^expected a condition object; got null/],
    ['an array at the root', [leaf], 'criteria', /^expected a condition object; got an array/],
    ['a string at the root', 'all', 'criteria', /^expected a condition object; got the string "all"/],
    [
      '6 nested groups',
      nested(6),
      'criteria.all[0].any[0].not.all[0].any[0]',
      /^criteria are nested too deeply: at most 5 all\/any\/not groups/,
    ],
  ];
  it.each(cases)('%s', (_name, input, path, message) => {
    const issue = firstIssue(input);
    expect(issue.path).toBe(path);
    expect(issue.message).toMatch(message);
  });

  it('reports every problem, in document order', () => {
    const result = parseCriteria({
      all: [
        { property: 'bad name', op: 'eq', value: 1 },
        { event: 'x', op: 'between', count: 1, within_days: 7 },
      ],
    });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues.map((issue) => issue.path)).toEqual(['criteria.all[0].property', 'criteria.all[1].op']);
    }
  });

  it('counts depth as groups on the path: a 6th group is rejected wherever it sits', () => {
    const deepInSecondBranch = { any: [leaf, nested(5)] };
    expect(firstIssue(deepInSecondBranch).path).toBe('criteria.any[1].all[0].any[0].not.all[0]');
    expect(parseCriteria({ any: [leaf, nested(4)] }).ok).toBe(true);
  });

  it('uses the given root in paths', () => {
    const result = parseCriteria({ all: [{ identity: 'x' }] }, { root: 'body.criteria' });
    expect(result.ok ? null : result.issues[0]?.path).toBe('body.criteria.all[0].identity');
  });

  it('returns a plain copy without extra keys', () => {
    const result = parseCriteria({ all: [{ identity: 'anonymous' }] });
    expect(result).toEqual({ ok: true, criteria: { all: [{ identity: 'anonymous' }] } });
  });
});

describe('criteriaSchema', () => {
  const body = z.object({ name: z.string(), criteria: criteriaSchema });

  it('embeds in a request schema with paths relative to the body', () => {
    const result = body.safeParse({ name: 'vip', criteria: { all: [leaf, { property: 'x', op: 'nope' }] } });
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue?.path).toEqual(['criteria', 'all', 1, 'op']);
    expect(issue?.message).toMatch(/^unknown op "nope"/);
  });

  it('outputs typed criteria', () => {
    const parsed = body.parse({ name: 'vip', criteria: leaf });
    const criteria: CriteriaNode = parsed.criteria;
    expect(criteria).toEqual(leaf);
  });
});

describe('formatIssuePath', () => {
  it.each([
    [[], 'criteria'],
    [['all', 1, 'op'], 'criteria.all[1].op'],
    [['not', 'value', 0], 'criteria.not.value[0]'],
    [['a b'], 'criteria["a b"]'],
  ] as const)('%j → %s', (path, expected) => {
    expect(formatIssuePath('criteria', path)).toBe(expected);
  });
});

describe('bounds of the whole tree', () => {
  const group = (n: number, node: unknown = leaf) => ({ all: Array.from({ length: n }, () => node) });
  const inList = (n: number) => ({ property: 'plan', op: 'in', value: Array.from({ length: n }, (_, i) => `v${i}`) });

  it('takes 200 conditions and refuses 201, naming the limit', () => {
    expect(parseCriteria({ all: [group(100), group(100)] }).ok).toBe(true);
    expect(firstIssue({ all: [group(100), group(100), leaf] })).toEqual({
      path: 'criteria',
      message: 'has 201 conditions; at most 200 are allowed in one cohort',
    });
  });

  it('takes 5,000 list values in all and refuses more', () => {
    expect(parseCriteria(group(5, inList(1000))).ok).toBe(true);
    expect(firstIssue(group(6, inList(1000))).message).toBe(
      'has 6000 values in its in/not_in lists together; at most 5000 are allowed',
    );
  });

  it('refuses criteria larger than 64 KB as JSON', () => {
    const long = (i: number) => ({ property: 'plan', op: 'in', value: [`${'x'.repeat(990)}${i}`] });
    const issue = firstIssue({ any: Array.from({ length: 70 }, (_, i) => long(i)) });
    expect(issue.path).toBe('criteria');
    expect(issue.message).toMatch(/^is \d+ bytes as JSON; at most 65536 are allowed$/);
  });
});
