import { Temporal } from '@js-temporal/polyfill';
import { describe, expect, it } from 'vitest';
import {
  type CadenceSpec,
  cadenceRepeatStrategy,
  cadenceToCron,
  EVERY_HOURS,
  formatInZone,
  nextRunAt,
} from '../../src/domain/cadence';
import { ScheduleOracle } from '../support/schedule-oracle';

/**
 * The schedule rule against an independent implementation (Temporal), around DST changes.
 * `npm test` runs a trimmed set: the zones whose changes are unusual, changes of 2026. The
 * full set (`npm run test:schedules-full`, SCHEDULES_FULL=1) runs every zone Intl knows and
 * every change of 2026–2030.
 *
 * Around each change T, for daily, weekly and monthly cadences at every quarter hour and hourly
 * cadences of every step at :00/:15/:30/:45:
 * - the runs BullMQ chains through the repeat strategy equal the oracle's, and each formats
 *   with the offset the oracle gives;
 * - after each run, picked up 0 s to 1 h late, the next run is the oracle's next;
 * - from instants all around T (every 15 minutes, T and the milliseconds beside it), the next
 *   run is the oracle's first run after that instant.
 */
const FULL = process.env.SCHEDULES_FULL === '1';

const AWKWARD_ZONES = [
  'Australia/Lord_Howe', // half-hour changes
  'Atlantic/Azores', // falls back 01:00 → 00:00
  'America/Havana', // springs 00:00 → 01:00, falls back 01:00 → 00:00
  'Pacific/Chatham', // 02:45 → 03:45
  'America/Nuuk', // jumps Saturday 23:00 → Sunday 00:00
  'America/Scoresbysund',
  'America/Santiago', // midnight changes
  'Africa/Cairo', // midnight on a Friday
  'Antarctica/Troll', // a two-hour change
  'Africa/Casablanca', // changes around Ramadan
  'Asia/Gaza',
  'America/New_York',
  'Europe/Berlin',
  'Australia/Sydney',
  'Asia/Kolkata', // no change: one window mid-year
];
const ZONES = FULL ? Intl.supportedValuesOf('timeZone') : AWKWARD_ZONES;
const FROM = Date.UTC(2026, 0, 1);
const TO = FULL ? Date.UTC(2031, 0, 1) : Date.UTC(2027, 0, 1);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const QUARTER_HOURS = Array.from(
  { length: 96 },
  (_, i) => `${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}`,
);
const PICKUP_DELAYS = [0, 1, 1000, MINUTE, 15 * MINUTE, 30 * MINUTE, 45 * MINUTE, HOUR - 1, HOUR];
/** Mismatches listed per zone before the rest are only counted. */
const SHOWN = 20;

function steps(from: number, to: number, step: number, around: number): number[] {
  const probes = [around - 1, around, around + 1];
  for (let at = from; at <= to; at += step) probes.push(at);
  return probes;
}

function describeSpec(spec: CadenceSpec): string {
  switch (spec.cadence) {
    case 'hourly':
      return `hourly :${spec.minute} every ${spec.every_hours} h`;
    case 'daily':
      return `daily ${spec.time}`;
    case 'weekly':
      return `weekly ${spec.weekday} ${spec.time}`;
    case 'monthly':
      return `monthly ${spec.day_of_month} ${spec.time}`;
  }
}

class ZoneCheck {
  readonly oracle: ScheduleOracle;
  readonly mismatches: string[] = [];
  checks = 0;

  constructor(readonly zone: string) {
    this.oracle = new ScheduleOracle(zone);
  }

  private local(ms: number): string {
    return Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(this.zone).toString({ timeZoneName: 'never' });
  }

  /** `what` is a function: formatting every instant up front would cost more than the check. */
  private compare(spec: CadenceSpec, what: () => string, got: number | undefined, want: number): boolean {
    this.checks++;
    if (got === want) return true;
    this.mismatches.push(
      `${describeSpec(spec)} ${what()}: got ${got === undefined ? 'nothing' : this.local(got)}, expected ${this.local(want)}`,
    );
    return false;
  }

  /** The three properties for one cadence over (from, to], probing the given instants. */
  spec(spec: CadenceSpec, from: number, to: number, probes: number[]): void {
    const expected = this.oracle.runs(spec, from, to);
    const after = (x: number) => expected.find((run) => run > x);

    const repeat = cadenceToCron(spec);
    let at = from;
    for (const want of expected) {
      const got = cadenceRepeatStrategy(at, repeat);
      if (!this.compare(spec, () => `run after ${this.local(at)} (BullMQ chain)`, got, want)) break;
      this.checks++;
      if (formatInZone(new Date(want), this.zone) !== this.local(want)) {
        this.mismatches.push(`${describeSpec(spec)}: ${formatInZone(new Date(want), this.zone)} ≠ ${this.local(want)}`);
      }
      at = want;
    }

    for (const run of expected) {
      for (const delay of PICKUP_DELAYS) {
        const want = after(run + delay);
        if (want === undefined) continue;
        const got = nextRunAt(spec, new Date(run + delay)).getTime();
        this.compare(spec, () => `next after ${this.local(run)} picked up ${delay / 1000} s late`, got, want);
      }
    }

    for (const probe of probes) {
      const want = after(probe);
      if (want === undefined) continue;
      this.compare(spec, () => `next after ${this.local(probe)}`, nextRunAt(spec, new Date(probe)).getTime(), want);
    }
  }

  /** Every cadence around one instant T (a change, or any instant in a zone without one). */
  around(t: number): void {
    const before = this.oracle.dateAt(t - 1);
    const on = this.oracle.dateAt(t);
    const dailyProbes = steps(t - DAY, t + DAY, 15 * MINUTE, t);
    const coarseProbes = steps(t - DAY, t + DAY, HOUR, t);
    const weekdays = new Set([before.dayOfWeek % 7, on.dayOfWeek % 7]);
    const monthDays = new Set<number | 'last'>();
    for (const date of [before, on]) {
      if (date.day === date.daysInMonth) monthDays.add('last');
      if (date.day <= 28) monthDays.add(date.day);
    }

    for (const time of QUARTER_HOURS) {
      const base = { time, timezone: this.zone };
      this.spec({ cadence: 'daily', ...base }, t - 3 * DAY, t + 3 * DAY, dailyProbes);
      for (const weekday of weekdays) {
        this.spec({ cadence: 'weekly', weekday: weekday as 0, ...base }, t - 8 * DAY, t + 8 * DAY, coarseProbes);
      }
      for (const day of monthDays) {
        this.spec({ cadence: 'monthly', day_of_month: day, ...base }, t - 35 * DAY, t + 35 * DAY, coarseProbes);
      }
    }
    const hourlyProbes = steps(t - 12 * HOUR, t + 12 * HOUR, 15 * MINUTE, t);
    for (const every of EVERY_HOURS) {
      for (const minute of [0, 15, 30, 45]) {
        const spec: CadenceSpec = { cadence: 'hourly', minute, every_hours: every, timezone: this.zone };
        this.spec(spec, t - DAY, t + DAY, hourlyProbes);
      }
    }
  }
}

describe(`next runs match the Temporal oracle (${FULL ? 'full' : 'trimmed'} set)`, () => {
  it.each(ZONES)('%s', { timeout: 600_000 }, (zone) => {
    const check = new ZoneCheck(zone);
    const changes = check.oracle.transitions(FROM, TO);
    for (const t of changes.length > 0 ? changes : [Date.UTC(2026, 5, 15, 12)]) check.around(t);
    expect(check.checks).toBeGreaterThan(1000);
    const shown = check.mismatches.slice(0, SHOWN);
    if (check.mismatches.length > SHOWN) shown.push(`… and ${check.mismatches.length - SHOWN} more`);
    expect(shown).toEqual([]);
  });
});
