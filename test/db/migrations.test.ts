import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { openControlDb, openSqlite } from '../../db/client';
import { scheduleSpecOf } from '../../src/services/schedule-spec';
import { scratchDir } from '../support/scratch';

/**
 * The hourly_schedules migration rebuilds `schedules` (time became nullable for hourly cadences). drizzle-kit generated
 * its copy step selecting the new columns from the old table; it was fixed by hand, and this
 * checks the upgrade of a database that already holds schedules and runs.
 */
const dir = scratchDir('migrations');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The migrations folder as it was before the migration whose tag ends with `name` (its number may change on merge). */
function migrationsBefore(name: string): string {
  const folder = join(dir, `before-${name}`);
  cpSync(resolve('db/migrations'), folder, { recursive: true });
  const journalPath = join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
  const index = journal.entries.findIndex((e) => e.tag.endsWith(name));
  if (index < 0) throw new Error(`no migration named *${name} in the journal`);
  journal.entries = journal.entries.slice(0, index);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

describe('the hourly_schedules migration', () => {
  it('keeps existing schedules and runs, which read as before with notify "always"', async () => {
    const path = join(dir, 'control.db');
    const old = openSqlite(path);
    migrate(drizzle(old), { migrationsFolder: migrationsBefore('_hourly_schedules') });
    old.exec(`
      INSERT INTO workspaces (id, name, created_at) VALUES ('w1', 'Acme', 1);
      INSERT INTO cohorts (id, workspace_id, name, braze_cohort_id, criteria, created_at, updated_at)
        VALUES ('c1', 'w1', 'Buyers', 'b1', '{}', 1, 1);
      INSERT INTO schedules (cohort_id, workspace_id, cadence, time, timezone, weekday, day_of_month, recipients, enabled, created_at, updated_at)
        VALUES ('c1', 'w1', 'weekly', '09:30', 'Asia/Calcutta', 1, NULL, '["ops@example.com"]', 1, 1, 2);
      INSERT INTO import_runs (id, workspace_id, cohort_id, trigger, status, recipients, created_at)
        VALUES ('r1', 'w1', 'c1', 'scheduled', 'succeeded', '["ops@example.com"]', 1);
    `);
    old.close();

    const db = await openControlDb(path);
    const { schedules, importRuns } = db.tables;
    const [row] = await db.select().from(schedules);
    expect(row).toMatchObject({
      cohortId: 'c1',
      minute: null,
      everyHours: null,
      notify: 'always',
      updatedAt: new Date(2),
    });
    expect(scheduleSpecOf(row!)).toEqual({
      cadence: 'weekly',
      time: '09:30',
      weekday: 1,
      timezone: 'Asia/Calcutta',
      recipients: ['ops@example.com'],
      notify: 'always',
      enabled: true,
    });
    expect((await db.select().from(importRuns))[0]).toMatchObject({ id: 'r1', notify: 'always' });
    // An hourly schedule has no time.
    await db.update(schedules).set({ cadence: 'hourly', time: null, minute: 15, everyHours: 6, notify: 'failures' });
    expect(scheduleSpecOf((await db.select().from(schedules))[0]!)).toMatchObject({
      cadence: 'hourly',
      minute: 15,
      every_hours: 6,
      notify: 'failures',
    });
    await db.close();
  });
});
