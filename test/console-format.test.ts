import { describe, expect, it } from 'vitest';
import {
  approvalQuestion,
  dateTimeIn,
  duration,
  EVERY_HOURS,
  hourlyRunTimes,
  plannedInWords,
  scheduleInWords,
  usersImported,
} from '../console/src/format';
import { EVERY_HOURS as API_EVERY_HOURS } from '../src/domain/cadence';
import type { Run, Schedule } from '../console/src/types';

const now = new Date('2026-11-29T12:00:00Z');

/** The console's words for schedules and runs (pure functions; Node's Intl stands in for the browser's). */
const base: Schedule = {
  cohort_id: 'c1',
  cadence: 'daily',
  time: '09:00',
  timezone: 'America/Sao_Paulo',
  recipients: [],
  notify: 'always',
  enabled: true,
  next_run_at: '2026-11-30T09:00:00-03:00',
  created_at: '2026-11-01T00:00:00.000Z',
  updated_at: '2026-11-01T00:00:00.000Z',
};

describe('scheduleInWords', () => {
  it('says an hourly cadence by its step and minute', () => {
    const hourly = { ...base, cadence: 'hourly' as const, time: undefined, minute: 5, every_hours: 6 };
    expect(scheduleInWords({ ...hourly, next_run_at: '2026-11-29T12:05:00-03:00' }, now)).toBe(
      'Every 6 hours from midnight at :05 America/Sao_Paulo — next run Sun 29 Nov, 12:05',
    );
    expect(scheduleInWords({ ...hourly, every_hours: 1, enabled: false, next_run_at: null }, now)).toBe(
      'Every hour at :05 America/Sao_Paulo — paused',
    );
  });

  it('says the cadence, time, zone and next run in that zone', () => {
    expect(scheduleInWords(base, now)).toBe('Daily at 09:00 America/Sao_Paulo — next run Mon 30 Nov, 09:00');
    expect(
      scheduleInWords({ ...base, cadence: 'weekly', weekday: 0, next_run_at: '2026-12-06T09:00:00-03:00' }, now),
    ).toBe('Weekly on Sunday at 09:00 America/Sao_Paulo — next run Sun 6 Dec, 09:00');
    expect(
      scheduleInWords(
        {
          ...base,
          cadence: 'monthly',
          day_of_month: 'last',
          time: '23:30',
          timezone: 'Asia/Tokyo',
          next_run_at: '2026-11-30T23:30:00+09:00',
        },
        now,
      ),
    ).toBe('Monthly on the last day at 23:30 Asia/Tokyo — next run Mon 30 Nov, 23:30');
    expect(scheduleInWords({ ...base, cadence: 'monthly', day_of_month: 22 }, now)).toMatch(
      /^Monthly on the 22nd at 09:00/,
    );
  });

  it('says when a schedule is paused', () => {
    expect(scheduleInWords({ ...base, enabled: false, next_run_at: null }, now)).toBe(
      'Daily at 09:00 America/Sao_Paulo — paused',
    );
  });
});

describe('hourly choices', () => {
  it('offers the steps the API accepts, in order', () => {
    expect(EVERY_HOURS).toEqual([...API_EVERY_HOURS]);
  });

  it('lists the local times an hourly schedule runs at, keeping the ends of a long list', () => {
    expect(hourlyRunTimes(6, 15)).toBe('00:15, 06:15, 12:15 and 18:15');
    expect(hourlyRunTimes(12, 0)).toBe('00:00 and 12:00');
    expect(hourlyRunTimes(3, 5)).toBe('00:05, 03:05, 06:05, 09:05, 12:05, 15:05, 18:05 and 21:05');
    expect(hourlyRunTimes(2, 45)).toBe('00:45, 02:45, 04:45, …, 22:45');
    expect(hourlyRunTimes(1, 59)).toBe('00:59, 01:59, 02:59, …, 23:59');
  });
});

describe('a held run in words', () => {
  it('asks what approving removes, out of what Braze holds', () => {
    expect(approvalQuestion({ added: 0, removed: 4, synced_before: 6 })).toBe(
      'Remove 4 of 6 users from the Braze cohort?',
    );
    expect(approvalQuestion({ added: 3, removed: 1_200, synced_before: 2_000 })).toBe(
      'Remove 1,200 of 2,000 users from the Braze cohort?',
    );
    expect(approvalQuestion({ added: 0, removed: 1, synced_before: 1 })).toBe(
      'Remove 1 of 1 user from the Braze cohort?',
    );
    expect(approvalQuestion({ added: 1, removed: 0, synced_before: 0 })).toBe('Add 1 user to the Braze cohort?');
  });

  it('says what the cohort in Braze becomes', () => {
    expect(plannedInWords({ added: 0, removed: 4, synced_before: 6 })).toBe(
      '4 users removed and none added: the Braze cohort goes from 6 users to 2.',
    );
    expect(plannedInWords({ added: 25, removed: 1, synced_before: 1_500 })).toBe(
      '1 user removed and 25 added: the Braze cohort goes from 1,500 users to 1,524.',
    );
  });
});

describe('runs in words', () => {
  const run: Run = {
    id: 'r1',
    cohort_id: 'c1',
    trigger: 'manual',
    status: 'succeeded',
    full_resync: false,
    recipients: [],
    created_at: '2026-11-29T12:00:00.000Z',
    started_at: '2026-11-29T12:00:01.000Z',
    finished_at: '2026-11-29T12:02:31.500Z',
    cohort_size: 1200,
    added: 40,
    removed: 3,
    unmatchable: 200,
    failed: 0,
    error: null,
    guardrail: true,
    planned: null,
    hold_reason: null,
  };

  it('counts users imported as the API does (cohort size less unmatchable), unknown before the freeze', () => {
    expect(usersImported(run)).toBe(1000);
    expect(usersImported({ ...run, cohort_size: null })).toBeNull();
  });

  it('gives durations in units a person reads', () => {
    expect(duration(run)).toBe('2 min 31 s');
    expect(duration({ ...run, finished_at: '2026-11-29T12:00:01.250Z' })).toBe('250 ms');
    expect(duration({ ...run, finished_at: null })).toBeNull();
  });

  it('writes a time in the given zone, naming the zone when asked, and the year when it is not this one', () => {
    expect(dateTimeIn('2027-01-04T12:00:00Z', 'UTC', { now })).toBe('Mon, 4 Jan 2027, 12:00');
    expect(dateTimeIn('2026-11-29T12:00:00Z', 'Europe/Lisbon', { withZone: true, now })).toMatch(
      /^Sun 29 Nov, 12:00 (WET|GMT)$/,
    );
    expect(dateTimeIn('2026-11-29T12:00:00Z', 'Asia/Kolkata', { withZone: true, now })).toMatch(
      /^Sun 29 Nov, 17:30 (IST|GMT\+5:30)$/,
    );
  });
});
