import type { IdentifierLists, PageChanges } from '../warehouse/warehouse';

/** At most this many identifiers per request, across user_ids, device_ids and aliases. */
export const MAX_IDENTIFIERS_PER_REQUEST = 1000;

const EMPTY = '[]';

/**
 * The `cohort_changes` array of one page, as JSON text: one object for entries and one for
 * exits (`should_remove`), each with the identifier lists that are not empty. The lists come
 * as JSON already (SQL builds them), so a page is joined, not re-serialised.
 */
export function cohortChangesJson(page: PageChanges): string {
  if (page.added + page.removed > MAX_IDENTIFIERS_PER_REQUEST) {
    throw new Error(
      `A page holds at most ${MAX_IDENTIFIERS_PER_REQUEST} identifiers, got ${page.added + page.removed}`,
    );
  }
  const objects = [changeObject(page.add, false), changeObject(page.remove, true)].filter((o) => o !== null);
  return `[${objects.join(',')}]`;
}

function changeObject(lists: IdentifierLists, remove: boolean): string | null {
  const fields: string[] = [];
  if (lists.userIds !== EMPTY) fields.push(`"user_ids":${lists.userIds}`);
  if (lists.deviceIds !== EMPTY) fields.push(`"device_ids":${lists.deviceIds}`);
  if (lists.aliases !== EMPTY) fields.push(`"aliases":${lists.aliases}`);
  if (fields.length === 0) return null;
  if (remove) fields.push('"should_remove":true');
  return `{${fields.join(',')}}`;
}
