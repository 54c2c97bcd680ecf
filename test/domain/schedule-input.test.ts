import { describe, expect, it } from 'vitest';
import { mergeSchedulePatch, parseScheduleInput, type ScheduleSpec } from '../../src/domain/schedule-input';

const emails = (count: number) => Array.from({ length: count }, (_, i) => `person${i}@example.com`);

describe('parseScheduleInput accepts', () => {
  it('a minimal daily schedule, filling in the defaults', () => {
    expect(parseScheduleInput({ cadence: 'daily', time: '09:00' })).toEqual({
      ok: true,
      value: { cadence: 'daily', time: '09:00', timezone: 'UTC', recipients: [], notify: 'always', enabled: true },
    });
  });

  it('a full weekly schedule', () => {
    expect(
      parseScheduleInput({
        cadence: 'weekly',
        time: '23:59',
        timezone: 'Europe/Berlin',
        weekday: 0,
        recipients: ['ops@example.com', 'Data.Team+cohorts@example.co.uk'],
        notify: 'failures',
        enabled: false,
      }),
    ).toEqual({
      ok: true,
      value: {
        cadence: 'weekly',
        time: '23:59',
        timezone: 'Europe/Berlin',
        weekday: 0,
        recipients: ['ops@example.com', 'Data.Team+cohorts@example.co.uk'],
        notify: 'failures',
        enabled: false,
      },
    });
  });

  it.each([
    ['sunday', 0],
    ['monday', 1],
    ['tuesday', 2],
    ['wednesday', 3],
    ['thursday', 4],
    ['friday', 5],
    ['saturday', 6],
    ['Monday', 1],
    ['SATURDAY', 6],
    [0, 0],
    [6, 6],
  ])('weekday %j as %i', (weekday, expected) => {
    const result = parseScheduleInput({ cadence: 'weekly', time: '08:00', weekday });
    expect(result.ok && result.value.cadence === 'weekly' && result.value.weekday).toBe(expected);
  });

  it.each([1, 15, 28, 'last'])('day_of_month %j', (day) => {
    const result = parseScheduleInput({ cadence: 'monthly', time: '08:00', day_of_month: day });
    expect(result.ok && result.value.cadence === 'monthly' && result.value.day_of_month).toBe(day);
  });

  it.each(['00:00', '09:05', '12:30', '23:59'])('time %s', (time) => {
    expect(parseScheduleInput({ cadence: 'daily', time }).ok).toBe(true);
  });

  it.each([
    ['America/New_York', 'America/New_York'],
    ['america/new_york', 'America/New_York'],
    ['Australia/Sydney', 'Australia/Sydney'],
    ['UTC', 'UTC'],
    ['utc', 'UTC'],
    // Aliases and new names are kept as sent, though Intl answers the old ICU names.
    ['Asia/Kolkata', 'Asia/Kolkata'],
    ['Europe/Kyiv', 'Europe/Kyiv'],
    ['America/Nuuk', 'America/Nuuk'],
    ['Asia/Kathmandu', 'Asia/Kathmandu'],
    ['Asia/Calcutta', 'Asia/Calcutta'],
    ['US/Eastern', 'US/Eastern'],
  ])('time zone %s, stored as %s', (timezone, stored) => {
    const result = parseScheduleInput({ cadence: 'daily', time: '09:00', timezone });
    expect(result.ok && result.value.timezone).toBe(stored);
  });

  it('exactly 20 recipients', () => {
    const result = parseScheduleInput({ cadence: 'daily', time: '09:00', recipients: emails(20) });
    expect(result.ok && result.value.recipients).toHaveLength(20);
  });

  it('an hourly schedule, every hour at :00 unless told otherwise', () => {
    expect(parseScheduleInput({ cadence: 'hourly' })).toEqual({
      ok: true,
      value: {
        cadence: 'hourly',
        minute: 0,
        every_hours: 1,
        timezone: 'UTC',
        recipients: [],
        notify: 'always',
        enabled: true,
      },
    });
  });

  it.each([1, 2, 3, 4, 6, 8, 12])('every_hours %i', (every) => {
    const result = parseScheduleInput({
      cadence: 'hourly',
      minute: 59,
      every_hours: every,
      timezone: 'Asia/Kathmandu',
    });
    expect(result.ok && result.value).toMatchObject({ minute: 59, every_hours: every, timezone: 'Asia/Kathmandu' });
  });

  it('notify "failures"', () => {
    const result = parseScheduleInput({ cadence: 'daily', time: '09:00', notify: 'failures' });
    expect(result.ok && result.value.notify).toBe('failures');
  });

  it('null for the other cadence’s day field, as a client switching cadence may send', () => {
    expect(parseScheduleInput({ cadence: 'daily', time: '09:00', weekday: null, day_of_month: null }).ok).toBe(true);
  });
});

describe('parseScheduleInput rejects, naming the field', () => {
  it.each<[string, unknown, string, RegExp]>([
    [
      'unknown time zone',
      { cadence: 'daily', time: '09:00', timezone: 'Mars/Olympus_Mons' },
      'timezone',
      /unknown time zone "Mars\/Olympus_Mons"/,
    ],
    ['empty time zone', { cadence: 'daily', time: '09:00', timezone: '' }, 'timezone', /unknown time zone ""/],
    [
      'offset instead of a zone',
      { cadence: 'daily', time: '09:00', timezone: '+05:00' },
      'timezone',
      /unknown time zone "\+05:00"/,
    ],
    ['time zone not a string', { cadence: 'daily', time: '09:00', timezone: 5 }, 'timezone', /IANA time zone name/],
    ['"24:00"', { cadence: 'daily', time: '24:00' }, 'time', /"HH:MM".*got "24:00"/],
    ['"9:5"', { cadence: 'daily', time: '9:5' }, 'time', /"HH:MM".*got "9:5"/],
    ['"9:05"', { cadence: 'daily', time: '9:05' }, 'time', /"HH:MM"/],
    ['"09:60"', { cadence: 'daily', time: '09:60' }, 'time', /"HH:MM"/],
    ['"09:00:00"', { cadence: 'daily', time: '09:00:00' }, 'time', /"HH:MM"/],
    ['time as a number', { cadence: 'daily', time: 900 }, 'time', /"HH:MM".*got 900/],
    ['missing time', { cadence: 'daily' }, 'time', /time is required/],
    ['weekday 7', { cadence: 'weekly', time: '09:00', weekday: 7 }, 'weekday', /0 to 6 .*got 7/],
    ['weekday -1', { cadence: 'weekly', time: '09:00', weekday: -1 }, 'weekday', /0 to 6 .*got -1/],
    ['weekday 1.5', { cadence: 'weekly', time: '09:00', weekday: 1.5 }, 'weekday', /0 to 6/],
    [
      'weekday "mon"',
      { cadence: 'weekly', time: '09:00', weekday: 'mon' },
      'weekday',
      /"sunday" to "saturday".*got "mon"/,
    ],
    ['weekday "3"', { cadence: 'weekly', time: '09:00', weekday: '3' }, 'weekday', /0 to 6/],
    [
      'day_of_month 31',
      { cadence: 'monthly', time: '09:00', day_of_month: 31 },
      'day_of_month',
      /31 does not exist in every month: use "last"/,
    ],
    [
      'day_of_month 29',
      { cadence: 'monthly', time: '09:00', day_of_month: 29 },
      'day_of_month',
      /29 does not exist in every month: use "last"/,
    ],
    ['day_of_month 0', { cadence: 'monthly', time: '09:00', day_of_month: 0 }, 'day_of_month', /from 1 to 28.*got 0/],
    [
      'day_of_month 32',
      { cadence: 'monthly', time: '09:00', day_of_month: 32 },
      'day_of_month',
      /from 1 to 28.*got 32/,
    ],
    ['day_of_month "LAST"', { cadence: 'monthly', time: '09:00', day_of_month: 'LAST' }, 'day_of_month', /got "LAST"/],
    [
      'weekday on a daily schedule',
      { cadence: 'daily', time: '09:00', weekday: 1 },
      'weekday',
      /only applies to a weekly schedule; remove it from this daily/,
    ],
    [
      'weekday on a monthly schedule',
      { cadence: 'monthly', time: '09:00', day_of_month: 1, weekday: 1 },
      'weekday',
      /only applies to a weekly schedule/,
    ],
    [
      'day_of_month on a daily schedule',
      { cadence: 'daily', time: '09:00', day_of_month: 1 },
      'day_of_month',
      /only applies to a monthly schedule/,
    ],
    [
      'day_of_month on a weekly schedule',
      { cadence: 'weekly', time: '09:00', weekday: 1, day_of_month: 1 },
      'day_of_month',
      /remove it from this weekly/,
    ],
    [
      'weekly without weekday',
      { cadence: 'weekly', time: '09:00' },
      'weekday',
      /weekday is required for a weekly schedule/,
    ],
    [
      'monthly without day_of_month',
      { cadence: 'monthly', time: '09:00' },
      'day_of_month',
      /day_of_month is required for a monthly schedule/,
    ],
    [
      'invalid email',
      { cadence: 'daily', time: '09:00', recipients: ['a@example.com', 'not-an-email'] },
      'recipients[1]',
      /"not-an-email" is not a valid email address/,
    ],
    [
      'email with spaces',
      { cadence: 'daily', time: '09:00', recipients: [' a@example.com'] },
      'recipients[0]',
      /not a valid email/,
    ],
    [
      'recipient not a string',
      { cadence: 'daily', time: '09:00', recipients: [42] },
      'recipients[0]',
      /42 is not a valid email/,
    ],
    [
      'duplicate email, other case',
      { cadence: 'daily', time: '09:00', recipients: ['a@example.com', 'b@example.com', 'A@Example.com'] },
      'recipients[2]',
      /already listed as recipients\[0\]/,
    ],
    ['21 recipients', { cadence: 'daily', time: '09:00', recipients: emails(21) }, 'recipients', /at most 20 .*got 21/],
    [
      'recipients not a list',
      { cadence: 'daily', time: '09:00', recipients: 'a@example.com' },
      'recipients',
      /list of email addresses/,
    ],
    ['enabled not a boolean', { cadence: 'daily', time: '09:00', enabled: 'yes' }, 'enabled', /true or false/],
    [
      'unknown cadence',
      { cadence: 'yearly', time: '09:00' },
      'cadence',
      /"hourly", "daily", "weekly" or "monthly".*got "yearly"/,
    ],
    [
      'time on an hourly schedule',
      { cadence: 'hourly', time: '09:00' },
      'time',
      /time only applies to a daily, weekly or monthly schedule.*minute and every_hours/,
    ],
    ['minute 60', { cadence: 'hourly', minute: 60 }, 'minute', /from 0 to 59.*got 60/],
    ['minute -1', { cadence: 'hourly', minute: -1 }, 'minute', /from 0 to 59/],
    ['minute "30"', { cadence: 'hourly', minute: '30' }, 'minute', /from 0 to 59.*got "30"/],
    ['every_hours 5', { cadence: 'hourly', every_hours: 5 }, 'every_hours', /1, 2, 3, 4, 6, 8 or 12.*got 5/],
    ['every_hours 24', { cadence: 'hourly', every_hours: 24 }, 'every_hours', /divide the day/],
    ['every_hours 0', { cadence: 'hourly', every_hours: 0 }, 'every_hours', /got 0/],
    [
      'minute on a daily schedule',
      { cadence: 'daily', time: '09:00', minute: 5 },
      'minute',
      /only applies to an hourly schedule; remove it from this daily/,
    ],
    [
      'every_hours on a weekly schedule',
      { cadence: 'weekly', time: '09:00', weekday: 1, every_hours: 2 },
      'every_hours',
      /only applies to an hourly schedule/,
    ],
    [
      'weekday on an hourly schedule',
      { cadence: 'hourly', weekday: 1 },
      'weekday',
      /only applies to a weekly schedule; remove it from this hourly/,
    ],
    [
      'notify "never"',
      { cadence: 'daily', time: '09:00', notify: 'never' },
      'notify',
      /"always".*"failures".*got "never"/,
    ],
    ['missing cadence', { time: '09:00' }, 'cadence', /cadence is required/],
    ['unknown field', { cadence: 'daily', time: '09:00', hour: 9 }, 'hour', /unknown field "hour"/],
  ])('%s', (_case, input, path, message) => {
    const result = parseScheduleInput(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]?.path).toBe(path);
    expect(result.issues[0]?.message).toMatch(message);
  });

  it.each([null, [], 'daily', 42])('%j, which is not an object', (input) => {
    expect(parseScheduleInput(input)).toEqual({
      ok: false,
      issues: [{ path: '', message: 'the schedule must be a JSON object' }],
    });
  });

  it('every problem at once', () => {
    const result = parseScheduleInput({
      cadence: 'weekly',
      time: '24:00',
      timezone: 'Nowhere/Special',
      recipients: ['ok@example.com', 'bad', 'OK@example.com'],
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((issue) => issue.path)).toEqual([
      'time',
      'timezone',
      'recipients[1]',
      'recipients[2]',
      'weekday',
    ]);
  });

  it('both too many recipients and the bad ones among them', () => {
    const result = parseScheduleInput({ cadence: 'daily', time: '09:00', recipients: [...emails(20), 'nope'] });
    expect(!result.ok && result.issues.map((issue) => issue.path)).toEqual(['recipients', 'recipients[20]']);
  });
});

describe('mergeSchedulePatch', () => {
  const weekly: ScheduleSpec = {
    cadence: 'weekly',
    time: '09:00',
    timezone: 'America/New_York',
    weekday: 1,
    recipients: ['ops@example.com'],
    notify: 'always',
    enabled: true,
  };

  it('pauses, keeping every other field', () => {
    expect(mergeSchedulePatch(weekly, { enabled: false })).toEqual({ ok: true, value: { ...weekly, enabled: false } });
  });

  it('resumes', () => {
    expect(mergeSchedulePatch({ ...weekly, enabled: false }, { enabled: true })).toEqual({ ok: true, value: weekly });
  });

  it('an empty patch changes nothing', () => {
    expect(mergeSchedulePatch(weekly, {})).toEqual({ ok: true, value: weekly });
  });

  it('keeps the time zone when the patch leaves it out (no reset to UTC)', () => {
    const result = mergeSchedulePatch(weekly, { time: '10:15' });
    expect(result).toEqual({ ok: true, value: { ...weekly, time: '10:15' } });
  });

  it('replaces recipients whole', () => {
    const result = mergeSchedulePatch(weekly, { recipients: ['a@example.com', 'b@example.com'] });
    expect(result.ok && result.value.recipients).toEqual(['a@example.com', 'b@example.com']);
  });

  it('changes the weekday by name', () => {
    const result = mergeSchedulePatch(weekly, { weekday: 'friday' });
    expect(result).toEqual({ ok: true, value: { ...weekly, weekday: 5 } });
  });

  it('weekly → daily drops weekday', () => {
    const result = mergeSchedulePatch(weekly, { cadence: 'daily' });
    expect(result).toEqual({
      ok: true,
      value: {
        cadence: 'daily',
        time: '09:00',
        timezone: 'America/New_York',
        recipients: ['ops@example.com'],
        notify: 'always',
        enabled: true,
      },
    });
  });

  it('weekly → monthly requires day_of_month', () => {
    expect(mergeSchedulePatch(weekly, { cadence: 'monthly' })).toEqual({
      ok: false,
      issues: [
        {
          path: 'day_of_month',
          message: 'day_of_month is required for a monthly schedule: a day from 1 to 28, or "last"',
        },
      ],
    });
  });

  it('weekly → monthly with day_of_month, weekday gone', () => {
    const result = mergeSchedulePatch(weekly, { cadence: 'monthly', day_of_month: 'last' });
    expect(result.ok && result.value).toEqual({
      cadence: 'monthly',
      time: '09:00',
      timezone: 'America/New_York',
      day_of_month: 'last',
      recipients: ['ops@example.com'],
      notify: 'always',
      enabled: true,
    });
  });

  it('daily → weekly requires weekday', () => {
    const daily: ScheduleSpec = {
      cadence: 'daily',
      time: '09:00',
      timezone: 'UTC',
      recipients: [],
      notify: 'always',
      enabled: true,
    };
    const result = mergeSchedulePatch(daily, { cadence: 'weekly' });
    expect(!result.ok && result.issues.map((issue) => issue.path)).toEqual(['weekday']);
  });

  it('restating the same cadence keeps its day field', () => {
    expect(mergeSchedulePatch(weekly, { cadence: 'weekly' })).toEqual({ ok: true, value: weekly });
  });

  it('rejects a field that does not belong to the resulting cadence', () => {
    const daily: ScheduleSpec = {
      cadence: 'daily',
      time: '09:00',
      timezone: 'UTC',
      recipients: [],
      notify: 'always',
      enabled: true,
    };
    const onDaily = mergeSchedulePatch(daily, { weekday: 2 });
    expect(!onDaily.ok && onDaily.issues.map((issue) => issue.path)).toEqual(['weekday']);
    const switching = mergeSchedulePatch(weekly, { cadence: 'daily', weekday: 2 });
    expect(!switching.ok && switching.issues.map((issue) => issue.path)).toEqual(['weekday']);
  });

  it('weekday: null on a weekly schedule leaves it without its required field', () => {
    const result = mergeSchedulePatch(weekly, { weekday: null });
    expect(!result.ok && result.issues.map((issue) => issue.path)).toEqual(['weekday']);
  });

  it.each<[unknown, string]>([
    [{ time: '9:5' }, 'time'],
    [{ timezone: 'Atlantis/Capital' }, 'timezone'],
    [{ recipients: ['x@example.com', 'X@EXAMPLE.COM'] }, 'recipients[1]'],
    [{ cadence: 'yearly' }, 'cadence'],
    [{ next_run_at: '2026-01-01T00:00:00Z' }, 'next_run_at'],
  ])('reports bad patch %j at %s', (patch, path) => {
    const result = mergeSchedulePatch(weekly, patch);
    expect(!result.ok && result.issues.map((issue) => issue.path)).toContain(path);
  });

  it('weekly → hourly drops time and weekday; minute and every_hours take their defaults', () => {
    expect(mergeSchedulePatch(weekly, { cadence: 'hourly', every_hours: 6 })).toEqual({
      ok: true,
      value: {
        cadence: 'hourly',
        minute: 0,
        every_hours: 6,
        timezone: 'America/New_York',
        recipients: ['ops@example.com'],
        notify: 'always',
        enabled: true,
      },
    });
  });

  it('hourly → daily drops minute and every_hours and requires time', () => {
    const hourly: ScheduleSpec = {
      cadence: 'hourly',
      minute: 15,
      every_hours: 2,
      timezone: 'UTC',
      recipients: [],
      notify: 'failures',
      enabled: true,
    };
    const missing = mergeSchedulePatch(hourly, { cadence: 'daily' });
    expect(!missing.ok && missing.issues.map((issue) => issue.path)).toEqual(['time']);
    expect(mergeSchedulePatch(hourly, { cadence: 'daily', time: '07:00' })).toEqual({
      ok: true,
      value: { cadence: 'daily', time: '07:00', timezone: 'UTC', recipients: [], notify: 'failures', enabled: true },
    });
    expect(mergeSchedulePatch(hourly, { minute: 45 })).toEqual({ ok: true, value: { ...hourly, minute: 45 } });
  });

  it('rejects a patch that is not an object', () => {
    expect(mergeSchedulePatch(weekly, ['enabled'])).toEqual({
      ok: false,
      issues: [{ path: '', message: 'the schedule patch must be a JSON object' }],
    });
  });

  it('does not modify the existing schedule', () => {
    const before = structuredClone(weekly);
    mergeSchedulePatch(weekly, { cadence: 'monthly', day_of_month: 3, recipients: [] });
    expect(weekly).toEqual(before);
  });
});
