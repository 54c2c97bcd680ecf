import { defaultRepeatStrategy, type RepeatStrategy } from 'bullmq';
import { describe, expect, it } from 'vitest';
import {
  cadenceFromCron,
  cadenceRepeatStrategy,
  cadenceToCron,
  EVERY_HOURS,
  type EveryHours,
  formatInZone,
  nextRunAt,
  nextRuns,
  type CadenceSpec,
  type Weekday,
} from '../../src/domain/cadence';
import { parseScheduleInput } from '../../src/domain/schedule-input';

// Compile-time check: the strategy plugs into Queue/Worker `settings.repeatStrategy`.
const asBullmqStrategy: RepeatStrategy = cadenceRepeatStrategy;

const daily = (time: string, timezone: string): CadenceSpec => ({ cadence: 'daily', time, timezone });

/** Runs as local ISO strings, so a failure shows the local times side by side. */
function localRuns(spec: CadenceSpec, fromIso: string, count: number): string[] {
  return nextRuns(spec, new Date(fromIso), count).map((run) => formatInZone(run, spec.timezone));
}

describe('cadenceToCron', () => {
  it.each<[string, CadenceSpec, string]>([
    ['daily 09:00', { cadence: 'daily', time: '09:00', timezone: 'UTC' }, '0 9 * * *'],
    ['daily midnight', { cadence: 'daily', time: '00:00', timezone: 'UTC' }, '0 0 * * *'],
    ['daily 23:59', { cadence: 'daily', time: '23:59', timezone: 'UTC' }, '59 23 * * *'],
    ['daily 07:05', { cadence: 'daily', time: '07:05', timezone: 'UTC' }, '5 7 * * *'],
    ['weekly Sunday', { cadence: 'weekly', time: '08:30', timezone: 'UTC', weekday: 0 }, '30 8 * * 0'],
    ['weekly Monday', { cadence: 'weekly', time: '08:30', timezone: 'UTC', weekday: 1 }, '30 8 * * 1'],
    ['weekly Wednesday', { cadence: 'weekly', time: '08:30', timezone: 'UTC', weekday: 3 }, '30 8 * * 3'],
    ['weekly Saturday', { cadence: 'weekly', time: '08:30', timezone: 'UTC', weekday: 6 }, '30 8 * * 6'],
    ['monthly 1st', { cadence: 'monthly', time: '06:00', timezone: 'UTC', day_of_month: 1 }, '0 6 1 * *'],
    ['monthly 15th', { cadence: 'monthly', time: '06:00', timezone: 'UTC', day_of_month: 15 }, '0 6 15 * *'],
    ['monthly 28th', { cadence: 'monthly', time: '06:00', timezone: 'UTC', day_of_month: 28 }, '0 6 28 * *'],
    ['monthly last', { cadence: 'monthly', time: '18:45', timezone: 'UTC', day_of_month: 'last' }, '45 18 L * *'],
  ])('%s → %s', (_name, spec, pattern) => {
    expect(cadenceToCron(spec)).toEqual({ pattern, tz: 'UTC' });
  });

  it('passes the time zone through as tz', () => {
    expect(cadenceToCron(daily('09:00', 'Australia/Sydney'))).toEqual({ pattern: '0 9 * * *', tz: 'Australia/Sydney' });
  });

  it.each<[string, CadenceSpec, string]>([
    ['hourly at :00', { cadence: 'hourly', minute: 0, every_hours: 1, timezone: 'UTC' }, '0 * * * *'],
    ['every 2 h at :30', { cadence: 'hourly', minute: 30, every_hours: 2, timezone: 'UTC' }, '30 */2 * * *'],
    ['every 12 h at :59', { cadence: 'hourly', minute: 59, every_hours: 12, timezone: 'UTC' }, '59 */12 * * *'],
  ])('%s → %s', (_name, spec, pattern) => {
    expect(cadenceToCron(spec)).toEqual({ pattern, tz: 'UTC' });
  });

  it('refuses a time that is not HH:MM', () => {
    expect(() => cadenceToCron(daily('24:00', 'UTC'))).toThrow(/HH:MM/);
  });
});

describe('formatInZone', () => {
  it.each([
    ['2026-03-08T14:00:00Z', 'America/New_York', '2026-03-08T10:00:00-04:00'],
    ['2026-03-08T13:00:00Z', 'America/New_York', '2026-03-08T09:00:00-04:00'],
    ['2026-01-15T12:00:00Z', 'America/New_York', '2026-01-15T07:00:00-05:00'],
    ['2026-01-15T12:00:00Z', 'UTC', '2026-01-15T12:00:00+00:00'],
    ['2026-01-15T12:00:00Z', 'Asia/Kolkata', '2026-01-15T17:30:00+05:30'],
    ['2026-01-15T12:00:00Z', 'America/St_Johns', '2026-01-15T08:30:00-03:30'],
    ['2026-01-15T12:00:00Z', 'Pacific/Chatham', '2026-01-16T01:45:00+13:45'],
    ['2026-12-31T23:30:00Z', 'Australia/Sydney', '2027-01-01T10:30:00+11:00'],
    ['2026-01-15T12:00:00.250Z', 'Europe/Berlin', '2026-01-15T13:00:00.250+01:00'],
  ])('%s in %s → %s', (utc, tz, expected) => {
    expect(formatInZone(new Date(utc), tz)).toBe(expected);
  });

  it('round-trips through Date', () => {
    const date = new Date('2026-11-01T05:30:00Z');
    expect(new Date(formatInZone(date, 'America/New_York')).getTime()).toBe(date.getTime());
  });
});

describe('nextRunAt on ordinary days', () => {
  it.each<[string, CadenceSpec, string, string]>([
    ['daily, later today', daily('09:00', 'Europe/Berlin'), '2026-06-10T08:59:00+02:00', '2026-06-10T09:00:00+02:00'],
    [
      'daily, exactly at the time → tomorrow',
      daily('09:00', 'Europe/Berlin'),
      '2026-06-10T09:00:00+02:00',
      '2026-06-11T09:00:00+02:00',
    ],
    [
      'daily, just after → tomorrow',
      daily('09:00', 'Europe/Berlin'),
      '2026-06-10T09:00:00.001+02:00',
      '2026-06-11T09:00:00+02:00',
    ],
    ['daily midnight', daily('00:00', 'Asia/Tokyo'), '2026-06-10T12:00:00+09:00', '2026-06-11T00:00:00+09:00'],
    ['daily across the year end', daily('23:59', 'UTC'), '2026-12-31T23:59:30Z', '2027-01-01T23:59:00+00:00'],
  ])('%s', (_name, spec, from, expected) => {
    expect(formatInZone(nextRunAt(spec, new Date(from)), spec.timezone)).toBe(expected);
  });

  // 2026-06-10 is a Wednesday.
  it.each<[Weekday, string]>([
    [0, '2026-06-14T07:15:00-04:00'],
    [1, '2026-06-15T07:15:00-04:00'],
    [2, '2026-06-16T07:15:00-04:00'],
    [3, '2026-06-10T07:15:00-04:00'],
    [4, '2026-06-11T07:15:00-04:00'],
    [5, '2026-06-12T07:15:00-04:00'],
    [6, '2026-06-13T07:15:00-04:00'],
  ])('weekly on weekday %i', (weekday, expected) => {
    const spec: CadenceSpec = { cadence: 'weekly', time: '07:15', timezone: 'America/New_York', weekday };
    const from = '2026-06-10T00:00:00-04:00';
    expect(formatInZone(nextRunAt(spec, new Date(from)), spec.timezone)).toBe(expected);
    expect(localRuns(spec, from, 3).map((run) => new Date(run).getTime() - new Date(expected).getTime())).toEqual([
      0,
      7 * 86_400_000,
      14 * 86_400_000,
    ]);
  });

  it.each([
    ['sunday', '2026-06-14'],
    ['monday', '2026-06-15'],
    ['tuesday', '2026-06-16'],
    ['wednesday', '2026-06-10'],
    ['thursday', '2026-06-11'],
    ['friday', '2026-06-12'],
    ['Saturday', '2026-06-13'],
  ])('weekly named "%s" runs on %s', (weekday, date) => {
    const parsed = parseScheduleInput({ cadence: 'weekly', time: '07:15', timezone: 'Asia/Kolkata', weekday });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const run = nextRunAt(parsed.value, new Date('2026-06-10T00:00:00+05:30'));
    expect(formatInZone(run, 'Asia/Kolkata')).toBe(`${date}T07:15:00+05:30`);
  });

  it('weekly across a DST change keeps the local time', () => {
    const spec: CadenceSpec = { cadence: 'weekly', time: '09:00', timezone: 'America/New_York', weekday: 0 };
    expect(localRuns(spec, '2026-02-25T00:00:00-05:00', 3)).toEqual([
      '2026-03-01T09:00:00-05:00',
      '2026-03-08T09:00:00-04:00',
      '2026-03-15T09:00:00-04:00',
    ]);
  });
});

describe('monthly', () => {
  it.each(Array.from({ length: 28 }, (_, i) => i + 1))('day %i runs on that day of every month', (day) => {
    const spec: CadenceSpec = { cadence: 'monthly', time: '06:00', timezone: 'UTC', day_of_month: day };
    const runs = localRuns(spec, '2026-01-31T12:00:00Z', 13);
    const dd = String(day).padStart(2, '0');
    const months = ['02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'];
    expect(runs).toEqual([
      ...months.map((mm) => `2026-${mm}-${dd}T06:00:00+00:00`),
      `2027-01-${dd}T06:00:00+00:00`,
      `2027-02-${dd}T06:00:00+00:00`,
    ]);
  });

  it('"last" runs on Jan 31, Feb 28, Mar 31, Apr 30 … in 2026', () => {
    const spec: CadenceSpec = { cadence: 'monthly', time: '09:00', timezone: 'Europe/Berlin', day_of_month: 'last' };
    expect(localRuns(spec, '2026-01-15T00:00:00+01:00', 13)).toEqual([
      '2026-01-31T09:00:00+01:00',
      '2026-02-28T09:00:00+01:00',
      '2026-03-31T09:00:00+02:00',
      '2026-04-30T09:00:00+02:00',
      '2026-05-31T09:00:00+02:00',
      '2026-06-30T09:00:00+02:00',
      '2026-07-31T09:00:00+02:00',
      '2026-08-31T09:00:00+02:00',
      '2026-09-30T09:00:00+02:00',
      '2026-10-31T09:00:00+01:00',
      '2026-11-30T09:00:00+01:00',
      '2026-12-31T09:00:00+01:00',
      '2027-01-31T09:00:00+01:00',
    ]);
  });

  it.each([
    ['2028 (leap)', '2028-02-10T00:00:00Z', '2028-02-29T23:30:00+00:00'],
    ['2024 (leap)', '2024-02-10T00:00:00Z', '2024-02-29T23:30:00+00:00'],
    ['2027', '2027-02-10T00:00:00Z', '2027-02-28T23:30:00+00:00'],
    ['2100 (divisible by 100, not leap)', '2100-02-10T00:00:00Z', '2100-02-28T23:30:00+00:00'],
    ['2000 (divisible by 400, leap)', '2000-02-10T00:00:00Z', '2000-02-29T23:30:00+00:00'],
  ])('"last" in February %s', (_year, from, expected) => {
    const spec: CadenceSpec = { cadence: 'monthly', time: '23:30', timezone: 'UTC', day_of_month: 'last' };
    expect(localRuns(spec, from, 2)).toEqual([expected, expected.replace(/-02-2\d/, '-03-31')]);
  });

  it('"last" on Feb 28 2026 does not run again on Feb 29 or Mar 1', () => {
    const spec: CadenceSpec = { cadence: 'monthly', time: '00:00', timezone: 'UTC', day_of_month: 'last' };
    expect(localRuns(spec, '2026-02-27T23:59:59Z', 2)).toEqual([
      '2026-02-28T00:00:00+00:00',
      '2026-03-31T00:00:00+00:00',
    ]);
  });

  it('day 28 in a leap February runs on the 28th, not the 29th', () => {
    const spec: CadenceSpec = { cadence: 'monthly', time: '12:00', timezone: 'UTC', day_of_month: 28 };
    expect(localRuns(spec, '2028-02-01T00:00:00Z', 2)).toEqual([
      '2028-02-28T12:00:00+00:00',
      '2028-03-28T12:00:00+00:00',
    ]);
  });

  it('"last" in local time: Sydney month end is UTC the day before', () => {
    const spec: CadenceSpec = { cadence: 'monthly', time: '08:00', timezone: 'Australia/Sydney', day_of_month: 'last' };
    const [run] = nextRuns(spec, new Date('2028-02-01T00:00:00+11:00'), 1);
    expect(run?.toISOString()).toBe('2028-02-28T21:00:00.000Z');
    expect(formatInZone(run!, 'Australia/Sydney')).toBe('2028-02-29T08:00:00+11:00');
  });
});

/**
 * One week around each transition. Every list is one run per local day, at the local time,
 * or, for a time the clocks skip, at the first instant after it: the moment of the jump.
 */
interface DstWeek {
  zone: string;
  change: string;
  time: string;
  from: string;
  runs: string[];
}

const dstWeeks: DstWeek[] = [
  {
    zone: 'America/New_York',
    change: 'spring forward 2026-03-08 02:00 → 03:00',
    time: '09:00',
    from: '2026-03-05T00:00:00-05:00',
    runs: [
      '2026-03-05T09:00:00-05:00',
      '2026-03-06T09:00:00-05:00',
      '2026-03-07T09:00:00-05:00',
      '2026-03-08T09:00:00-04:00',
      '2026-03-09T09:00:00-04:00',
      '2026-03-10T09:00:00-04:00',
      '2026-03-11T09:00:00-04:00',
    ],
  },
  {
    zone: 'America/New_York',
    change: 'spring forward 2026-03-08, 02:30 does not exist',
    time: '02:30',
    from: '2026-03-05T00:00:00-05:00',
    runs: [
      '2026-03-05T02:30:00-05:00',
      '2026-03-06T02:30:00-05:00',
      '2026-03-07T02:30:00-05:00',
      '2026-03-08T03:00:00-04:00',
      '2026-03-09T02:30:00-04:00',
      '2026-03-10T02:30:00-04:00',
      '2026-03-11T02:30:00-04:00',
    ],
  },
  {
    zone: 'America/New_York',
    change: 'fall back 2026-11-01 02:00 → 01:00',
    time: '09:00',
    from: '2026-10-29T00:00:00-04:00',
    runs: [
      '2026-10-29T09:00:00-04:00',
      '2026-10-30T09:00:00-04:00',
      '2026-10-31T09:00:00-04:00',
      '2026-11-01T09:00:00-05:00',
      '2026-11-02T09:00:00-05:00',
      '2026-11-03T09:00:00-05:00',
      '2026-11-04T09:00:00-05:00',
    ],
  },
  {
    zone: 'America/New_York',
    change: 'fall back 2026-11-01, 01:30 happens twice',
    time: '01:30',
    from: '2026-10-29T00:00:00-04:00',
    runs: [
      '2026-10-29T01:30:00-04:00',
      '2026-10-30T01:30:00-04:00',
      '2026-10-31T01:30:00-04:00',
      '2026-11-01T01:30:00-04:00',
      '2026-11-02T01:30:00-05:00',
      '2026-11-03T01:30:00-05:00',
      '2026-11-04T01:30:00-05:00',
    ],
  },
  {
    zone: 'Europe/Berlin',
    change: 'spring forward 2026-03-29 02:00 → 03:00',
    time: '09:00',
    from: '2026-03-26T00:00:00+01:00',
    runs: [
      '2026-03-26T09:00:00+01:00',
      '2026-03-27T09:00:00+01:00',
      '2026-03-28T09:00:00+01:00',
      '2026-03-29T09:00:00+02:00',
      '2026-03-30T09:00:00+02:00',
      '2026-03-31T09:00:00+02:00',
      '2026-04-01T09:00:00+02:00',
    ],
  },
  {
    zone: 'Europe/Berlin',
    change: 'spring forward 2026-03-29, 02:30 does not exist',
    time: '02:30',
    from: '2026-03-26T00:00:00+01:00',
    runs: [
      '2026-03-26T02:30:00+01:00',
      '2026-03-27T02:30:00+01:00',
      '2026-03-28T02:30:00+01:00',
      '2026-03-29T03:00:00+02:00',
      '2026-03-30T02:30:00+02:00',
      '2026-03-31T02:30:00+02:00',
      '2026-04-01T02:30:00+02:00',
    ],
  },
  {
    zone: 'Europe/Berlin',
    change: 'fall back 2026-10-25 03:00 → 02:00',
    time: '09:00',
    from: '2026-10-22T00:00:00+02:00',
    runs: [
      '2026-10-22T09:00:00+02:00',
      '2026-10-23T09:00:00+02:00',
      '2026-10-24T09:00:00+02:00',
      '2026-10-25T09:00:00+01:00',
      '2026-10-26T09:00:00+01:00',
      '2026-10-27T09:00:00+01:00',
      '2026-10-28T09:00:00+01:00',
    ],
  },
  {
    zone: 'Europe/Berlin',
    change: 'fall back 2026-10-25, 02:30 happens twice',
    time: '02:30',
    from: '2026-10-22T00:00:00+02:00',
    runs: [
      '2026-10-22T02:30:00+02:00',
      '2026-10-23T02:30:00+02:00',
      '2026-10-24T02:30:00+02:00',
      '2026-10-25T02:30:00+02:00',
      '2026-10-26T02:30:00+01:00',
      '2026-10-27T02:30:00+01:00',
      '2026-10-28T02:30:00+01:00',
    ],
  },
  {
    zone: 'Australia/Sydney',
    change: 'spring forward 2026-10-04 02:00 → 03:00',
    time: '09:00',
    from: '2026-10-01T00:00:00+10:00',
    runs: [
      '2026-10-01T09:00:00+10:00',
      '2026-10-02T09:00:00+10:00',
      '2026-10-03T09:00:00+10:00',
      '2026-10-04T09:00:00+11:00',
      '2026-10-05T09:00:00+11:00',
      '2026-10-06T09:00:00+11:00',
      '2026-10-07T09:00:00+11:00',
    ],
  },
  {
    zone: 'Australia/Sydney',
    change: 'spring forward 2026-10-04, 02:30 does not exist',
    time: '02:30',
    from: '2026-10-01T00:00:00+10:00',
    runs: [
      '2026-10-01T02:30:00+10:00',
      '2026-10-02T02:30:00+10:00',
      '2026-10-03T02:30:00+10:00',
      '2026-10-04T03:00:00+11:00',
      '2026-10-05T02:30:00+11:00',
      '2026-10-06T02:30:00+11:00',
      '2026-10-07T02:30:00+11:00',
    ],
  },
  {
    zone: 'Australia/Sydney',
    change: 'fall back 2026-04-05 03:00 → 02:00',
    time: '09:00',
    from: '2026-04-02T00:00:00+11:00',
    runs: [
      '2026-04-02T09:00:00+11:00',
      '2026-04-03T09:00:00+11:00',
      '2026-04-04T09:00:00+11:00',
      '2026-04-05T09:00:00+10:00',
      '2026-04-06T09:00:00+10:00',
      '2026-04-07T09:00:00+10:00',
      '2026-04-08T09:00:00+10:00',
    ],
  },
  {
    zone: 'Australia/Sydney',
    change: 'fall back 2026-04-05, 02:30 happens twice',
    time: '02:30',
    from: '2026-04-02T00:00:00+11:00',
    runs: [
      '2026-04-02T02:30:00+11:00',
      '2026-04-03T02:30:00+11:00',
      '2026-04-04T02:30:00+11:00',
      '2026-04-05T02:30:00+11:00',
      '2026-04-06T02:30:00+10:00',
      '2026-04-07T02:30:00+10:00',
      '2026-04-08T02:30:00+10:00',
    ],
  },
];

/** Local calendar dates of the runs, which must be consecutive days. */
function expectOneRunPerLocalDay(runs: string[]): void {
  const dates = runs.map((run) => run.slice(0, 10));
  for (let i = 1; i < dates.length; i++) {
    const gap = Date.parse(`${dates[i]}T00:00:00Z`) - Date.parse(`${dates[i - 1]}T00:00:00Z`);
    expect(gap, `${dates[i - 1]} → ${dates[i]}`).toBe(86_400_000);
  }
}

describe.each(dstWeeks)('daylight saving: $zone, $change, daily $time', ({ zone, time, from, runs }) => {
  const spec = daily(time, zone);

  it('runs once per local day at the expected local time', () => {
    expect(localRuns(spec, from, runs.length)).toEqual(runs);
    expectOneRunPerLocalDay(runs);
  });

  it('from any instant of the week, the next run is the first listed run after it', () => {
    const fires = runs.map((run) => Date.parse(run));
    const start = Date.parse(from);
    const end = fires[fires.length - 2]!;
    // Every 7 min 13.5 s, plus each run itself and the millisecond on either side.
    const instants = [
      ...Array.from({ length: Math.floor((end - start) / 433_500) }, (_, i) => start + i * 433_500),
      ...fires.slice(0, -1).flatMap((fire) => [fire - 1, fire, fire + 1]),
    ];
    for (const instant of instants) {
      const expected = fires.find((fire) => fire > instant)!;
      const actual = nextRunAt(spec, new Date(instant)).getTime();
      if (actual !== expected) {
        expect(formatInZone(new Date(actual), zone), `from ${formatInZone(new Date(instant), zone)}`).toBe(
          formatInZone(new Date(expected), zone),
        );
      }
    }
  });
});

describe('where plain cron-parser misbehaves, cadenceRepeatStrategy does not', () => {
  const strategyRun = (spec: CadenceSpec, fromIso: string) =>
    formatInZone(new Date(cadenceRepeatStrategy(Date.parse(fromIso), cadenceToCron(spec))!), spec.timezone);
  const bullmqRun = (spec: CadenceSpec, fromIso: string) =>
    formatInZone(new Date(defaultRepeatStrategy(Date.parse(fromIso), cadenceToCron(spec)) as number), spec.timezone);

  it.each([
    ['01:30 picked up 45 minutes late', '01:30', '2026-11-01T01:15:00-05:00', '2026-11-01T01:30:00-05:00'],
    ['01:59 picked up 61 seconds late', '01:59', '2026-11-01T01:00:01-05:00', '2026-11-01T01:59:00-05:00'],
    [
      '01:30 schedule created during the repeated hour',
      '01:30',
      '2026-11-01T01:05:00-05:00',
      '2026-11-01T01:30:00-05:00',
    ],
  ])('New York fall back, %s: BullMQ would run the repeated time again', (_case, time, from, bullmqSecondRun) => {
    const spec = daily(time, 'America/New_York');
    expect(bullmqRun(spec, from)).toBe(bullmqSecondRun);
    expect(strategyRun(spec, from)).toBe(`2026-11-02T${time}:00-05:00`);
  });

  it('Berlin fall back, 02:30 picked up 40 minutes late: the second 02:30 is skipped', () => {
    const spec = daily('02:30', 'Europe/Berlin');
    expect(bullmqRun(spec, '2026-10-25T02:10:00+01:00')).toBe('2026-10-25T02:30:00+01:00');
    expect(strategyRun(spec, '2026-10-25T02:10:00+01:00')).toBe('2026-10-26T02:30:00+01:00');
  });

  it('Santiago springs forward at midnight: cron-parser skips the day, we run when the clocks jump', () => {
    const spec = daily('00:30', 'America/Santiago');
    expect(bullmqRun(spec, '2026-09-05T12:00:00-04:00')).toBe('2026-09-07T00:30:00-03:00');
    expect(localRuns(spec, '2026-09-04T12:00:00-04:00', 4)).toEqual([
      '2026-09-05T00:30:00-04:00',
      '2026-09-06T01:00:00-03:00',
      '2026-09-07T00:30:00-03:00',
      '2026-09-08T00:30:00-03:00',
    ]);
  });

  it('Santiago daily 00:00 on the day midnight does not exist runs at 01:00', () => {
    expect(localRuns(daily('00:00', 'America/Santiago'), '2026-09-05T12:00:00-04:00', 2)).toEqual([
      '2026-09-06T01:00:00-03:00',
      '2026-09-07T00:00:00-03:00',
    ]);
  });

  it('Santiago falls back at midnight: 23:30 runs once on Apr 4', () => {
    expect(localRuns(daily('23:30', 'America/Santiago'), '2026-04-03T12:00:00-03:00', 3)).toEqual([
      '2026-04-03T23:30:00-03:00',
      '2026-04-04T23:30:00-03:00',
      '2026-04-05T23:30:00-04:00',
    ]);
    expect(strategyRun(daily('23:30', 'America/Santiago'), '2026-04-04T23:10:00-04:00')).toBe(
      '2026-04-05T23:30:00-04:00',
    );
  });

  it('Cairo weekly Friday 00:30: cron-parser skips the Friday of the change, a whole week', () => {
    const spec: CadenceSpec = { cadence: 'weekly', time: '00:30', timezone: 'Africa/Cairo', weekday: 5 };
    expect(bullmqRun(spec, '2026-04-17T00:30:00+02:00')).toBe('2026-05-01T00:30:00+03:00');
    expect(localRuns(spec, '2026-04-10T12:00:00+02:00', 3)).toEqual([
      '2026-04-17T00:30:00+02:00',
      '2026-04-24T01:00:00+03:00',
      '2026-05-01T00:30:00+03:00',
    ]);
  });

  it('Lord Howe’s half-hour jump: 02:15 runs once, at 02:30 when the clocks jump', () => {
    expect(localRuns(daily('02:15', 'Australia/Lord_Howe'), '2026-10-03T00:00:00+10:30', 3)).toEqual([
      '2026-10-03T02:15:00+10:30',
      '2026-10-04T02:30:00+11:00',
      '2026-10-05T02:15:00+11:00',
    ]);
  });

  it('on the spring-forward day after the jump but before 02:30 would have been, the run still happens', () => {
    // cron-parser alone answers the next day here (2026-03-09T02:30).
    const spec = daily('02:30', 'America/New_York');
    expect(bullmqRun(spec, '2026-03-08T02:59:00-05:00')).toBe('2026-03-09T02:30:00-04:00');
    expect(strategyRun(spec, '2026-03-08T01:59:00-05:00')).toBe('2026-03-08T03:00:00-04:00');
  });
});

/** The five classes of issue 13, each with the case the independent check reported. */
describe('issue 13 regressions', () => {
  it('Lord Howe’s 30-minute fall-back: no throw, every quarter-hour time of the day has a next run', () => {
    // The cron-parser based strategy found no next run here, and reads answered 500.
    const from = new Date('2026-04-04T00:00:00Z');
    expect(formatInZone(nextRunAt(daily('09:00', 'Australia/Lord_Howe'), from), 'Australia/Lord_Howe')).toBe(
      '2026-04-05T09:00:00+10:30',
    );
    for (let q = 0; q < 96; q++) {
      const time = `${String(Math.floor(q / 4)).padStart(2, '0')}:${String((q % 4) * 15).padStart(2, '0')}`;
      const runs = localRuns(daily(time, 'Australia/Lord_Howe'), '2026-04-04T00:00:00Z', 3);
      expectOneRunPerLocalDay(runs);
    }
    // 01:45 happens twice on 2026-04-05 (02:00 → 01:30): the first one only.
    expect(localRuns(daily('01:45', 'Australia/Lord_Howe'), '2026-04-04T00:00:00Z', 3)).toEqual([
      '2026-04-05T01:45:00+11:00',
      '2026-04-06T01:45:00+10:30',
      '2026-04-07T01:45:00+10:30',
    ]);
  });

  it.each([
    ['Atlantic/Azores', '2026-10-24T12:00:00Z', '2026-10-25T00:30:00+00:00', '2026-10-26T00:30:00-01:00'],
    ['America/Havana', '2026-10-31T12:00:00Z', '2026-11-01T00:30:00-04:00', '2026-11-02T00:30:00-05:00'],
  ])('%s: a repeated hour starting at midnight runs at its first occurrence', (zone, from, first, second) => {
    expect(localRuns(daily('00:30', zone), from, 2)).toEqual([first, second]);
  });

  it('Azores weekly Sunday 00:00 and monthly do not lose a week or a month', () => {
    const weekly: CadenceSpec = { cadence: 'weekly', weekday: 0, time: '00:00', timezone: 'Atlantic/Azores' };
    expect(localRuns(weekly, '2026-10-20T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:00:00+00:00',
      '2026-11-01T00:00:00-01:00',
    ]);
    const monthly: CadenceSpec = { cadence: 'monthly', day_of_month: 25, time: '00:15', timezone: 'Atlantic/Azores' };
    expect(localRuns(monthly, '2026-10-20T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:15:00+00:00',
      '2026-11-25T00:15:00-01:00',
    ]);
  });

  it('Chatham (02:45 → 03:45): 03:45 exists on the spring-forward day and runs then', () => {
    expect(localRuns(daily('03:45', 'Pacific/Chatham'), '2026-09-26T00:00:00Z', 2)).toEqual([
      '2026-09-27T03:45:00+13:45',
      '2026-09-28T03:45:00+13:45',
    ]);
    expect(localRuns(daily('03:00', 'Pacific/Chatham'), '2026-09-26T00:00:00Z', 2)).toEqual([
      '2026-09-27T03:45:00+13:45',
      '2026-09-28T03:00:00+13:45',
    ]);
  });

  it.each(['America/Nuuk', 'America/Scoresbysund'])('%s (jumps Saturday 23:00): Saturday keeps its run', (zone) => {
    expect(localRuns(daily('09:00', zone), '2026-03-28T01:30:00Z', 2)).toEqual([
      '2026-03-28T09:00:00-02:00',
      '2026-03-29T09:00:00-01:00',
    ]);
    // 23:30 does not exist on Saturday: Saturday's run is when the clocks jump (Sunday 00:00),
    // and Sunday still has exactly its own, at 23:30.
    expect(localRuns(daily('23:30', zone), '2026-03-27T12:00:00Z', 3)).toEqual([
      '2026-03-27T23:30:00-02:00',
      '2026-03-29T00:00:00-01:00',
      '2026-03-29T23:30:00-01:00',
    ]);
    const saturday: CadenceSpec = { cadence: 'weekly', weekday: 6, time: '23:30', timezone: zone };
    expect(localRuns(saturday, '2026-03-22T12:00:00Z', 2)).toEqual([
      '2026-03-29T00:00:00-01:00',
      '2026-04-04T23:30:00-01:00',
    ]);
    const sunday: CadenceSpec = { cadence: 'weekly', weekday: 0, time: '23:30', timezone: zone };
    expect(localRuns(sunday, '2026-03-22T12:00:00Z', 2)).toEqual([
      '2026-03-22T23:30:00-02:00',
      '2026-03-29T23:30:00-01:00',
    ]);
  });
});

describe('hourly', () => {
  const hourly = (minute: number, every_hours: EveryHours, timezone = 'UTC'): CadenceSpec => ({
    cadence: 'hourly',
    minute,
    every_hours,
    timezone,
  });

  it.each(EVERY_HOURS.map((every) => [every]))('every %i h is anchored at local midnight', (every) => {
    const runs = localRuns(hourly(20, every, 'Asia/Kolkata'), '2026-06-09T23:59:00+05:30', 24 / every);
    expect(runs).toEqual(
      Array.from({ length: 24 / every }, (_, i) => `2026-06-10T${String(i * every).padStart(2, '0')}:20:00+05:30`),
    );
  });

  it('runs each selected local hour once across a fall-back: the repeated hour once', () => {
    expect(localRuns(hourly(30, 1, 'America/New_York'), '2026-11-01T00:00:00-04:00', 4)).toEqual([
      '2026-11-01T00:30:00-04:00',
      '2026-11-01T01:30:00-04:00',
      '2026-11-01T02:30:00-05:00',
      '2026-11-01T03:30:00-05:00',
    ]);
  });

  it('a skipped hour runs when the clocks jump; two skipped slots at one instant are one run', () => {
    expect(localRuns(hourly(30, 1, 'America/New_York'), '2026-03-08T00:00:00-05:00', 3)).toEqual([
      '2026-03-08T00:30:00-05:00',
      '2026-03-08T01:30:00-05:00',
      '2026-03-08T03:00:00-04:00',
    ]);
    // Troll jumps 01:00 → 03:00: 01:30 and 02:30 both stand at 03:00, then 03:30.
    expect(localRuns(hourly(30, 1, 'Antarctica/Troll'), '2026-03-29T00:00:00+00:00', 3)).toEqual([
      '2026-03-29T00:30:00+00:00',
      '2026-03-29T03:00:00+02:00',
      '2026-03-29T03:30:00+02:00',
    ]);
  });

  it('every 12 h at :45 in Chatham', () => {
    expect(localRuns(hourly(45, 12, 'Pacific/Chatham'), '2026-01-15T00:00:00+13:45', 3)).toEqual([
      '2026-01-15T00:45:00+13:45',
      '2026-01-15T12:45:00+13:45',
      '2026-01-16T00:45:00+13:45',
    ]);
  });
});

describe('cadenceFromCron', () => {
  const specs: CadenceSpec[] = [
    { cadence: 'hourly', minute: 0, every_hours: 1, timezone: 'UTC' },
    { cadence: 'hourly', minute: 59, every_hours: 12, timezone: 'Asia/Kolkata' },
    { cadence: 'daily', time: '00:00', timezone: 'UTC' },
    { cadence: 'daily', time: '23:59', timezone: 'Europe/Kyiv' },
    { cadence: 'weekly', weekday: 6, time: '07:05', timezone: 'America/Nuuk' },
    { cadence: 'monthly', day_of_month: 28, time: '12:00', timezone: 'UTC' },
    { cadence: 'monthly', day_of_month: 'last', time: '18:45', timezone: 'UTC' },
  ];
  it.each(specs)('reads back what cadenceToCron wrote: %j', (spec) => {
    const { pattern, tz } = cadenceToCron(spec);
    expect(cadenceFromCron(pattern, tz)).toEqual(spec);
  });

  it.each([
    '',
    '0 9 * *',
    '*/5 * * * *',
    '0 */5 * * *',
    '0 9 * 1 *',
    '0 9 1 * 1',
    '60 9 * * *',
    '0 24 * * *',
    '0 9 * * 7',
  ])('refuses "%s"', (pattern) => {
    expect(cadenceFromCron(pattern, 'UTC')).toBeUndefined();
    if (pattern) expect(() => cadenceRepeatStrategy(0, { pattern, tz: 'UTC' })).toThrow(/not a pattern/);
    else expect(cadenceRepeatStrategy(0, { tz: 'UTC' })).toBeUndefined();
  });
});

describe('cadenceRepeatStrategy as BullMQ calls it', () => {
  it('accepts the repeat options BullMQ passes along and ignores the extra fields', () => {
    const opts = { pattern: '0 9 * * *', tz: 'Europe/Berlin', count: 4, offset: 0, prevMillis: 1, key: 'k' };
    const millis = Date.parse('2026-06-10T10:00:00+02:00');
    expect(asBullmqStrategy(millis, opts)).toBe(Date.parse('2026-06-11T09:00:00+02:00'));
    expect(defaultRepeatStrategy(millis, opts)).toBe(Date.parse('2026-06-11T09:00:00+02:00'));
  });

  it('honours startDate as BullMQ does', () => {
    const opts = { pattern: '0 9 * * *', tz: 'UTC', startDate: '2026-07-01T00:00:00Z' };
    expect(cadenceRepeatStrategy(Date.parse('2026-06-10T10:00:00Z'), opts)).toBe(Date.parse('2026-07-01T09:00:00Z'));
  });

  it('returns undefined without a pattern', () => {
    expect(cadenceRepeatStrategy(Date.now(), { tz: 'UTC' })).toBeUndefined();
  });
});
