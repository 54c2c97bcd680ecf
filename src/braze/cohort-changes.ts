import type { ChangeRow } from '../warehouse/warehouse';

/** At most this many identifiers per request, across user_ids, device_ids and aliases. */
export const MAX_IDENTIFIERS_PER_REQUEST = 1000;

export interface CohortChange {
  user_ids?: string[];
  device_ids?: string[];
  aliases?: { alias_name: string; alias_label: string }[];
  should_remove?: boolean;
}

/** Builds the `cohort_changes` array for one page: one object for entries, one for exits. */
export function buildCohortChanges(rows: readonly ChangeRow[]): CohortChange[] {
  if (rows.length > MAX_IDENTIFIERS_PER_REQUEST) {
    throw new Error(`A page holds at most ${MAX_IDENTIFIERS_PER_REQUEST} identifiers, got ${rows.length}`);
  }
  const add: CohortChange = {};
  const remove: CohortChange = { should_remove: true };
  for (const row of rows) {
    const target = row.op === 'add' ? add : remove;
    switch (row.idType) {
      case 'external_id':
        (target.user_ids ??= []).push(row.idValue);
        break;
      case 'device_id':
        (target.device_ids ??= []).push(row.idValue);
        break;
      case 'alias':
        (target.aliases ??= []).push({ alias_name: row.idValue, alias_label: row.idLabel ?? '' });
        break;
    }
  }
  const hasIds = (c: CohortChange) => Boolean(c.user_ids || c.device_ids || c.aliases);
  return [add, remove].filter(hasIds);
}

export function countIdentifiers(changes: readonly CohortChange[]): number {
  return changes.reduce(
    (n, c) => n + (c.user_ids?.length ?? 0) + (c.device_ids?.length ?? 0) + (c.aliases?.length ?? 0),
    0,
  );
}
