import { describe, expect, it } from 'vitest';
import { cohortChangesJson } from '../src/braze/cohort-changes';
import { LEAD_SPAN_PAGES, MAX_JOBS_PER_RUN, MIN_JOBS_PER_RUN, PAGES_PER_JOB } from '../src/queue/names';
import { cutSpans, pageSpans } from '../src/queue/producers';

/** Pages read from the real warehouse SQL are turned into `cohort_changes` in test/warehouse.test.ts. */
describe('cohort_changes for one page', () => {
  it('refuses a page of more than 1,000 identifiers', () => {
    const lists = { userIds: '[]', deviceIds: '[]', aliases: '[]' };
    expect(() => cohortChangesJson({ added: 900, removed: 101, add: lists, remove: lists })).toThrow(/1000/);
  });
});

describe('pages of a diff, in spans of pages per job', () => {
  it.each([
    [0, []],
    [1, [[1, 1, 1, 1]]],
    [1000, [[1, 1, 1, 1000]]],
    [
      1001,
      [
        [1, 1, 1, 1000],
        [2, 2, 1001, 1001],
      ],
    ],
    [
      2500,
      [
        [1, 1, 1, 1000],
        [2, 2, 1001, 2000],
        [3, 3, 2001, 2500],
      ],
    ],
    // 10 pages: spread over 4 jobs (3 pages each), so a small run still has 4 jobs side by side.
    [
      9_500,
      [
        [1, 3, 1, 3000],
        [4, 6, 3001, 6000],
        [7, 9, 6001, 9000],
        [10, 10, 9001, 9500],
      ],
    ],
  ])('%i changes → [first page, last page, from seq, to seq] %j', (changes, spans) => {
    expect(pageSpans(changes as number, 'r').map((p) => [p.firstPage, p.lastPage, p.fromSeq, p.toSeq])).toEqual(spans);
  });

  it.each([95_000, 1_000_000, 3_000_000, 10_000_000, 25_000_001])(
    '%i changes: every identifier in exactly one page, pages of 1,000 in order, and a bounded number of jobs',
    (changes) => {
      const spans = pageSpans(changes, 'r');
      expect(spans.length).toBeLessThanOrEqual(MAX_JOBS_PER_RUN);
      expect(spans[0]).toMatchObject({ firstPage: 1, fromSeq: 1 });
      expect(spans.at(-1)).toMatchObject({ lastPage: Math.ceil(changes / 1000), toSeq: changes });
      for (let i = 1; i < spans.length; i++) {
        expect(spans[i]!.firstPage).toBe(spans[i - 1]!.lastPage + 1);
        expect(spans[i]!.fromSeq).toBe(spans[i - 1]!.toSeq + 1);
        expect(spans[i - 1]!.toSeq - spans[i - 1]!.fromSeq + 1).toBe(
          (spans[i - 1]!.lastPage - spans[i - 1]!.firstPage + 1) * 1000,
        );
      }
      // From 4 spans' worth up to ~20M members a span is PAGES_PER_JOB pages; beyond, spans grow so
      // the count stays bounded. The first 4 are short.
      const sizes = spans.map((s) => s.lastPage - s.firstPage + 1);
      expect(sizes.slice(0, MIN_JOBS_PER_RUN)).toEqual(Array(MIN_JOBS_PER_RUN).fill(LEAD_SPAN_PAGES));
      expect(Math.max(...sizes)).toBe(
        Math.max(PAGES_PER_JOB, Math.ceil(Math.ceil(changes / 1000) / (MAX_JOBS_PER_RUN - MIN_JOBS_PER_RUN))),
      );
    },
  );

  it('cuts the first spans short, so a run frozen chunk by chunk has 4 spans out soon', () => {
    const cut = (extent: number, complete: boolean) =>
      cutSpans('r', extent, complete, 20).map((p) => [p.firstPage, p.lastPage]);
    // 15.5 pages frozen so far: three full lead spans; the fourth waits for its fifth page.
    expect(cut(15_500, false)).toEqual([
      [1, 5],
      [6, 10],
      [11, 15],
    ]);
    expect(cut(20_000, false)).toEqual([
      [1, 5],
      [6, 10],
      [11, 15],
      [16, 20],
    ]);
    // Then spans of 20, each cut once its every page is frozen, and the same cuts once complete.
    expect(cut(39_999, false)).toHaveLength(4);
    expect(cut(40_000, false).at(-1)).toEqual([21, 40]);
    expect(cut(45_500, true).slice(4)).toEqual([
      [21, 40],
      [41, 46],
    ]);
  });
});
