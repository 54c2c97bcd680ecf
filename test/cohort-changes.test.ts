import { describe, expect, it } from 'vitest';
import { cohortChangesJson } from '../src/braze/cohort-changes';
import { pageRanges } from '../src/queue/producers';

/** Pages read from the real warehouse SQL are turned into `cohort_changes` in test/warehouse.test.ts. */
describe('cohort_changes for one page', () => {
  it('refuses a page of more than 1,000 identifiers', () => {
    const lists = { userIds: '[]', deviceIds: '[]', aliases: '[]' };
    expect(() => cohortChangesJson({ added: 900, removed: 101, add: lists, remove: lists })).toThrow(/1000/);
  });
});

describe('pages of a diff', () => {
  it.each([
    [0, []],
    [1, [[1, 1]]],
    [1000, [[1, 1000]]],
    [
      1001,
      [
        [1, 1000],
        [1001, 1001],
      ],
    ],
    [
      2500,
      [
        [1, 1000],
        [1001, 2000],
        [2001, 2500],
      ],
    ],
  ])('%i changes → %j', (changes, ranges) => {
    expect(pageRanges(changes as number, 'r').map((p) => [p.fromSeq, p.toSeq])).toEqual(ranges);
    expect(pageRanges(changes as number, 'r').map((p) => p.page)).toEqual(ranges.map((_, i) => i + 1));
  });
});
