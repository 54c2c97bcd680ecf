import { Temporal } from '@js-temporal/polyfill';
import { describe, expect, it } from 'vitest';
import { ZoneClock, zoneClock } from '../../src/domain/zone-clock';
import { ScheduleOracle } from '../support/schedule-oracle';

const HOUR = 3_600_000;

describe('ZoneClock', () => {
  it('reads offsets, including half and three-quarter hours', () => {
    expect(zoneClock('Asia/Kolkata').offsetAt(Date.UTC(2026, 5, 1)) / 60_000).toBe(330);
    expect(zoneClock('Pacific/Chatham').offsetAt(Date.UTC(2026, 0, 15)) / 60_000).toBe(825);
    expect(zoneClock('America/St_Johns').offsetAt(Date.UTC(2026, 0, 15)) / 60_000).toBe(-210);
  });

  it('lists the transitions of a year with the offsets on both sides', () => {
    const clock = zoneClock('America/New_York');
    expect(clock.transitionsBetween(Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1))).toEqual([
      { at: Date.parse('2026-03-08T07:00:00Z'), offsetBefore: -5 * HOUR, offsetAfter: -4 * HOUR },
      { at: Date.parse('2026-11-01T06:00:00Z'), offsetBefore: -4 * HOUR, offsetAfter: -5 * HOUR },
    ]);
  });

  it('refuses a zone Intl does not know', () => {
    expect(() => new ZoneClock('Mars/Olympus')).toThrow(RangeError);
  });

  // Zones whose offset changed exactly at a UTC new year: the change sits on the edge of two
  // cached years and must still be seen from both sides.
  it.each([
    ['America/Inuvik', 1953],
    ['America/Rankin_Inlet', 1957],
    ['Antarctica/Casey', 1969],
    ['Antarctica/Palmer', 1965],
    ['America/Cambridge_Bay', 1920],
  ])('%s: a change at the start of %i', (zone, year) => {
    const clock = new ZoneClock(zone);
    const oracle = new ScheduleOracle(zone);
    const boundary = Date.UTC(year, 0, 1);
    expect(clock.transitionsBetween(boundary - HOUR, boundary + HOUR).map((t) => t.at)).toEqual([boundary]);
    const mismatches: string[] = [];
    for (let day = -2; day <= 2; day++) {
      const date = Temporal.PlainDate.from({ year, month: 1, day: 1 }).add({ days: day });
      const midnight = Date.UTC(date.year, date.month - 1, date.day);
      for (let minutes = 0; minutes < 24 * 60; minutes += 30) {
        const got = clock.instantOf(midnight + minutes * 60_000);
        const want = oracle.instantOf(date, minutes);
        if (got !== want)
          mismatches.push(`${date} +${minutes} min: ${new Date(got).toISOString()} ≠ ${new Date(want).toISOString()}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
