import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cohortChangesJson } from '../src/braze/cohort-changes';
import type { Criteria } from '../src/domain/criteria';
import { pageRanges } from '../src/queue/producers';
import { openSqliteWarehouse, type SqliteWarehouse } from '../src/warehouse/sqlite-warehouse';

/** A page read from the real warehouse SQL and turned into Braze's `cohort_changes`. */
describe('cohort_changes for one page', () => {
  let wh: SqliteWarehouse;
  const vip = { all: [{ property: 'vip', op: 'eq', value: true }] } as Criteria;
  beforeEach(async () => {
    wh = await openSqliteWarehouse(':memory:');
  });
  afterEach(() => wh.close());

  async function diff(runId: string) {
    await wh.freezeRunMembers(runId, 'w', vip, Date.now());
    const counts = await wh.computeChanges(runId, 'cohort', 'scope', false);
    return { counts, page: await wh.readPage(runId, 1, counts.additions + counts.removals) };
  }

  it('groups entries and exits by identifier type, escaping what JSON needs', async () => {
    await wh.upsertUsers('w', [
      { user_key: 'a', external_id: 'ext-"quoted"', device_id: 'dev-a', properties: { vip: true } },
      { user_key: 'b', alias: { name: 'b@example.com', label: 'email' }, properties: { vip: true } },
      { user_key: 'c', device_id: 'dev-ç-☃', properties: { vip: true } },
      { user_key: 'd', properties: { vip: true } },
      { user_key: 'e', external_id: 'ext-e', properties: { vip: false } },
    ]);
    const first = await diff('11111111-1111-4111-8111-111111111111');
    expect(first.counts).toEqual({ additions: 3, removals: 0 });
    expect(JSON.parse(cohortChangesJson(first.page))).toEqual([
      {
        user_ids: ['ext-"quoted"'],
        device_ids: ['dev-ç-☃'],
        aliases: [{ alias_name: 'b@example.com', alias_label: 'email' }],
      },
    ]);
    await wh.applyChanges('11111111-1111-4111-8111-111111111111', 'cohort', 'scope', 1, 3);

    // b leaves, e joins: one entry object and one exit object.
    await wh.upsertUsers('w', [
      { user_key: 'b', properties: { vip: false } },
      { user_key: 'e', properties: { vip: true } },
    ]);
    const second = await diff('22222222-2222-4222-8222-222222222222');
    expect(second.counts).toEqual({ additions: 1, removals: 1 });
    expect(JSON.parse(cohortChangesJson(second.page))).toEqual([
      { user_ids: ['ext-e'] },
      { aliases: [{ alias_name: 'b@example.com', alias_label: 'email' }], should_remove: true },
    ]);
  });

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
