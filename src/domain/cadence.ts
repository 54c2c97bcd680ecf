/**
 * Cadence → cron pattern, and the instants a schedule fires.
 *
 * A schedule is mirrored as a BullMQ job scheduler `{pattern, tz}`. BullMQ 6.7 computes each
 * next fire time with cron-parser 5.10.3 (`defaultRepeatStrategy`, bullmq's
 * `job-scheduler.js`): `CronExpressionParser.parse(pattern, {...repeatOpts, currentDate})
 * .next()`, where `currentDate` is "now" when the scheduler is upserted and, after each
 * fire, the moment a worker picks the fired job up (never earlier than the fire time).
 *
 * What cron-parser does with `tz` at daylight saving transitions (measured; see the tests):
 * - A time the transition does not touch: exactly HH:MM local, once (09:00 in New York,
 *   Berlin and Sydney on both change days).
 * - Spring forward, HH:MM missing (02:30 in New York on 2026-03-08, in Berlin on
 *   2026-03-29, in Sydney on 2026-10-04): once, at HH:MM + the gap (03:30 local). But where
 *   the clock jumps at midnight (America/Santiago, Atlantic/Azores, Africa/Cairo) every time
 *   in the gap is skipped that day, and a weekly schedule on that weekday misses a week.
 * - Fall back, HH:MM twice (01:30 in New York on 2026-11-01; 02:30 in Berlin and Sydney):
 *   the first occurrence, and the second too whenever `currentDate` lies between the
 *   clock falling back and the second occurrence: a worker picking the first run up
 *   30 minutes late (one minute late for 01:59), or a scheduler upserted in that window,
 *   makes the schedule run twice that day.
 *
 * Chosen behaviour, exactly once per selected local day, implemented by
 * `cadenceRepeatStrategy` around that same cron-parser call:
 * - A time that happens twice runs at its first occurrence only; a schedule created after
 *   the first occurrence first runs on the next selected day.
 * - A time that does not exist runs at that wall time read with the offset in force before
 *   the jump (02:30 → 03:30), as cron-parser already does away from midnight.
 * BullMQ fires this way only if the Queue and every Worker of the scheduled queue are
 * created with `settings: { repeatStrategy: cadenceRepeatStrategy }`; without it BullMQ
 * fires as plain cron-parser, which differs from `nextRunAt` only in the cases above.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';

export type Cadence = 'daily' | 'weekly' | 'monthly';
/** 0 = Sunday … 6 = Saturday, as in cron. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;
/** 1–28, or the last day of the month. */
export type DayOfMonth = number | 'last';

interface LocalTime {
  /** "HH:MM", 24-hour clock. */
  time: string;
  /** IANA time zone name. */
  timezone: string;
}
export type DailyCadence = LocalTime & { cadence: 'daily' };
export type WeeklyCadence = LocalTime & { cadence: 'weekly'; weekday: Weekday };
export type MonthlyCadence = LocalTime & { cadence: 'monthly'; day_of_month: DayOfMonth };
export type CadenceSpec = DailyCadence | WeeklyCadence | MonthlyCadence;

/** What BullMQ's `upsertJobScheduler` takes as repeat options. */
export interface CronSchedule {
  pattern: string;
  tz: string;
}

/** The subset of BullMQ's `RepeatOptions` a repeat strategy reads. */
export interface CronRepeatOptions {
  pattern?: string;
  tz?: string;
  startDate?: Date | string | number;
  endDate?: Date | string | number;
}

const DAY_MS = 86_400_000;

export function cadenceToCron(spec: CadenceSpec): CronSchedule {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(spec.time);
  if (!match) {
    throw new Error(`cadenceToCron: time must be "HH:MM", got "${spec.time}"`);
  }
  const clock = `${Number(match[2])} ${Number(match[1])}`;
  switch (spec.cadence) {
    case 'daily':
      return { pattern: `${clock} * * *`, tz: spec.timezone };
    case 'weekly':
      return { pattern: `${clock} * * ${spec.weekday}`, tz: spec.timezone };
    case 'monthly':
      // cron-parser's `L` is the month's last day, leap years included (Feb 29 2028).
      return {
        pattern: `${clock} ${spec.day_of_month === 'last' ? 'L' : spec.day_of_month} * *`,
        tz: spec.timezone,
      };
  }
}

/**
 * A BullMQ `RepeatStrategy`: BullMQ's default cron computation, corrected at daylight
 * saving transitions as described at the top of this file.
 */
export function cadenceRepeatStrategy(millis: number, opts: CronRepeatOptions): number | undefined {
  const { pattern } = opts;
  if (!pattern) return undefined;
  const tz = opts.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone;

  let next = bullmqNextMillis(millis, opts);
  // Drop the second pass over a repeated hour, and cron-parser's own stand-in for a missing
  // time (its wall clock does not match the pattern); the stand-in is recomputed below.
  while (next !== undefined && (isSecondOccurrence(next, tz) || !wallClockMatches(pattern, next, tz))) {
    next = bullmqNextMillis(next, opts);
  }
  if (next === undefined) return undefined;
  const after = Math.max(millis, opts.startDate === undefined ? millis : new Date(opts.startDate).getTime());
  const gapRun = firstRunInSkippedTime(pattern, tz, after, next);
  return gapRun ?? next;
}

/** The first time the schedule fires strictly after `from`. */
export function nextRunAt(spec: CadenceSpec, from: Date): Date {
  const next = cadenceRepeatStrategy(from.getTime(), cadenceToCron(spec));
  if (next === undefined) {
    throw new Error(`no next run for ${spec.cadence} schedule at ${spec.time} ${spec.timezone}`);
  }
  return new Date(next);
}

/** The next `count` fire times after `from`, each computed from the previous one as BullMQ does. */
export function nextRuns(spec: CadenceSpec, from: Date, count: number): Date[] {
  const runs: Date[] = [];
  let cursor = from;
  for (let i = 0; i < count; i++) {
    cursor = nextRunAt(spec, cursor);
    runs.push(cursor);
  }
  return runs;
}

/** ISO 8601 in the zone's local time with its offset, e.g. `2026-03-08T09:00:00-04:00`. */
export function formatInZone(date: Date, tz: string): string {
  const ms = date.getTime();
  const offsetMinutes = Math.round(offsetAt(ms, tz) / 60_000);
  const wall = new Date(ms + offsetMinutes * 60_000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const fraction = wall.getUTCMilliseconds() === 0 ? '' : `.${pad(wall.getUTCMilliseconds(), 3)}`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return (
    `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}` +
    `T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}${fraction}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** Exactly bullmq's `defaultRepeatStrategy` (without `immediately`, which we never set). */
function bullmqNextMillis(millis: number, opts: CronRepeatOptions): number | undefined {
  const fromMillis = new Date(millis);
  const startDate = opts.startDate === undefined ? undefined : new Date(opts.startDate);
  const currentDate = startDate && startDate > fromMillis ? startDate : fromMillis;
  const interval = CronExpressionParser.parse(opts.pattern ?? '', { ...opts, currentDate });
  try {
    return interval.next().getTime();
  } catch {
    return undefined;
  }
}

/** True when the same local wall time already happened earlier (fall-back repeat). */
function isSecondOccurrence(ms: number, tz: string): boolean {
  const offset = offsetAt(ms, tz);
  const shift = offsetAt(ms - DAY_MS, tz) - offset;
  return shift > 0 && offsetAt(ms - shift, tz) === offset + shift;
}

/** Whether the local wall time of `ms` is one the pattern selects. */
function wallClockMatches(pattern: string, ms: number, tz: string): boolean {
  return wallClockPattern(pattern).includesDate(new Date(ms + offsetAt(ms, tz)));
}

const wallClockPatterns = new Map<string, CronExpression>();

/**
 * The pattern evaluated in UTC, applied to "wall time as if it were UTC": compares fields
 * only, so it can test wall times that do not exist in the zone. Cached: parsing costs
 * about half a millisecond.
 */
function wallClockPattern(pattern: string): CronExpression {
  let expression = wallClockPatterns.get(pattern);
  if (!expression) {
    expression = CronExpressionParser.parse(pattern, { tz: 'UTC' });
    wallClockPatterns.set(pattern, expression);
  }
  return expression;
}

/**
 * The earliest run in (after, before) that stands in for a selected wall time skipped by a
 * spring-forward jump: that wall time read with the offset in force before the jump.
 */
function firstRunInSkippedTime(pattern: string, tz: string, after: number, before: number): number | undefined {
  // A stand-in lies at most one gap (under a day) after its transition.
  for (const jump of springForwardJumps(tz, after - DAY_MS, before)) {
    const gapStart = jump.at + jump.offsetBefore;
    const gapEnd = jump.at + jump.offsetAfter;
    const wall = firstWallTimeFrom(pattern, gapStart);
    if (wall === undefined || wall >= gapEnd) continue;
    const run = wall - jump.offsetBefore;
    if (run > after && run < before) return run;
  }
  return undefined;
}

/** The first wall time (as if UTC) at or after `wallFrom` that the pattern selects. */
function firstWallTimeFrom(pattern: string, wallFrom: number): number | undefined {
  const wallClock = wallClockPattern(pattern);
  wallClock.reset(new Date(wallFrom - 1));
  try {
    return wallClock.next().getTime();
  } catch {
    return undefined;
  }
}

interface ClockJump {
  /** First instant on the new offset. */
  at: number;
  offsetBefore: number;
  offsetAfter: number;
}

/** Forward clock jumps in (from, to], in order; assumes at most one transition a day. */
function springForwardJumps(tz: string, from: number, to: number): ClockJump[] {
  const jumps: ClockJump[] = [];
  let start = from;
  let startOffset = offsetAt(start, tz);
  while (start < to) {
    const end = Math.min(start + DAY_MS, to);
    const endOffset = offsetAt(end, tz);
    if (endOffset > startOffset) {
      let lo = start;
      let hi = end;
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetAt(mid, tz) === startOffset) lo = mid;
        else hi = mid;
      }
      jumps.push({ at: hi, offsetBefore: startOffset, offsetAfter: endOffset });
    }
    start = end;
    startOffset = endOffset;
  }
  return jumps;
}

const wallClockFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at `ms`, in milliseconds (local = UTC + offset). */
function offsetAt(ms: number, tz: string): number {
  let format = wallClockFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallClockFormats.set(tz, format);
  }
  const field: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(ms))) {
    if (part.type !== 'literal') field[part.type] = Number(part.value);
  }
  const wall = Date.UTC(
    field.year ?? 0,
    (field.month ?? 1) - 1,
    field.day ?? 1,
    field.hour ?? 0,
    field.minute ?? 0,
    field.second ?? 0,
  );
  return wall - Math.floor(ms / 1000) * 1000;
}
