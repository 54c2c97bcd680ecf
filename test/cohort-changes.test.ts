import { describe, expect, it } from 'vitest';
import { buildCohortChanges, countIdentifiers } from '../src/braze/cohort-changes';
import { pageRanges } from '../src/queue/producers';
import type { ChangeRow } from '../src/warehouse/warehouse';

describe('cohort_changes for one page', () => {
  it('groups entries and exits by identifier type', () => {
    const rows: ChangeRow[] = [
      { userId: 1, op: 'add', idType: 'external_id', idValue: 'e1', idLabel: null },
      { userId: 2, op: 'add', idType: 'alias', idValue: 'a@b.c', idLabel: 'email' },
      { userId: 3, op: 'add', idType: 'device_id', idValue: 'd3', idLabel: null },
      { userId: 4, op: 'remove', idType: 'external_id', idValue: 'e4', idLabel: null },
    ];
    expect(buildCohortChanges(rows)).toEqual([
      { user_ids: ['e1'], device_ids: ['d3'], aliases: [{ alias_name: 'a@b.c', alias_label: 'email' }] },
      { user_ids: ['e4'], should_remove: true },
    ]);
    expect(countIdentifiers(buildCohortChanges(rows))).toBe(4);
  });

  it('refuses more than 1,000 identifiers', () => {
    const rows = Array.from({ length: 1001 }, (_, i): ChangeRow => ({
      userId: i,
      op: 'add',
      idType: 'external_id',
      idValue: `e${i}`,
      idLabel: null,
    }));
    expect(() => buildCohortChanges(rows)).toThrow(/1000/);
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
