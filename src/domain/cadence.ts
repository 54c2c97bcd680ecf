/**
 * Cadences and the instants a schedule fires.
 *
 * The rule, in every IANA zone: **exactly one run per selected local day (for an hourly
 * cadence, per selected local hour), at the chosen local time; at the first valid instant
 * after it when the clocks skip that time; at its first occurrence when the clocks fall back
 * over it.** Runs that land on the same instant (two hourly slots inside one skipped stretch)
 * are one run.
 *
 * Computed directly from the zone's transitions (`zone-clock.ts`), not by a cron library: the
 * cron-parser based computation found no next run around Lord Howe's half-hour fall-back
 * (reads answered 500), skipped times that exist (Chatham 03:45 after its 02:45 jump), and
 * lost days where clocks change at midnight (Azores, Havana, Nuuk, Santiago, Cairo). A schedule is still mirrored in BullMQ as a cron pattern plus `tz`
 * (readable in Bull Board, and what `upsertJobScheduler` asks for), but the pattern is only an
 * encoding: `cadenceRepeatStrategy` reads it back into a cadence and computes the next run
 * here. The scheduled queue and every worker of it must be created with
 * `settings: { repeatStrategy: cadenceRepeatStrategy }`.
 */
import { startOfWallDay, zoneClock } from './zone-clock';

export type Cadence = 'hourly' | 'daily' | 'weekly' | 'monthly';
/** 0 = Sunday … 6 = Saturday, as in cron. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;
/** 1–28, or the last day of the month. */
export type DayOfMonth = number | 'last';
/** Divisors of 24, so every day has the same slots, counted from local midnight. */
export const EVERY_HOURS = [1, 2, 3, 4, 6, 8, 12] as const;
export type EveryHours = (typeof EVERY_HOURS)[number];

interface LocalTime {
  /** "HH:MM", 24-hour clock. */
  time: string;
  /** IANA time zone name. */
  timezone: string;
}
export type HourlyCadence = { cadence: 'hourly'; minute: number; every_hours: EveryHours; timezone: string };
export type DailyCadence = LocalTime & { cadence: 'daily' };
export type WeeklyCadence = LocalTime & { cadence: 'weekly'; weekday: Weekday };
export type MonthlyCadence = LocalTime & { cadence: 'monthly'; day_of_month: DayOfMonth };
export type CadenceSpec = HourlyCadence | DailyCadence | WeeklyCadence | MonthlyCadence;

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

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Local days searched for the next run: a monthly cadence needs at most 31 + the 2 before. */
const SEARCH_DAYS = 40;

export function cadenceToCron(spec: CadenceSpec): CronSchedule {
  if (spec.cadence === 'hourly') {
    const hours = spec.every_hours === 1 ? '*' : `*/${spec.every_hours}`;
    return { pattern: `${spec.minute} ${hours} * * *`, tz: spec.timezone };
  }
  const minutes = clockMinutes(spec.time);
  const clock = `${minutes % 60} ${Math.floor(minutes / 60)}`;
  switch (spec.cadence) {
    case 'daily':
      return { pattern: `${clock} * * *`, tz: spec.timezone };
    case 'weekly':
      return { pattern: `${clock} * * ${spec.weekday}`, tz: spec.timezone };
    case 'monthly':
      return {
        pattern: `${clock} ${spec.day_of_month === 'last' ? 'L' : spec.day_of_month} * *`,
        tz: spec.timezone,
      };
  }
}

/** The cadence a pattern of `cadenceToCron` encodes, or undefined for any other pattern. */
export function cadenceFromCron(pattern: string, timezone: string): CadenceSpec | undefined {
  const fields = pattern.trim().split(/\s+/);
  if (fields.length !== 5 || fields[3] !== '*') return undefined;
  const [minuteField, hourField, dayField, , weekdayField] = fields as [string, string, string, string, string];
  const minute = wholeNumber(minuteField, 0, 59);
  if (minute === undefined) return undefined;

  const every = /^\*(?:\/(\d+))?$/.exec(hourField);
  if (every) {
    const everyHours = Number(every[1] ?? 1) as EveryHours;
    if (!EVERY_HOURS.includes(everyHours) || dayField !== '*' || weekdayField !== '*') return undefined;
    return { cadence: 'hourly', minute, every_hours: everyHours, timezone };
  }
  const hour = wholeNumber(hourField, 0, 23);
  if (hour === undefined) return undefined;
  const time = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
  if (dayField === '*' && weekdayField === '*') return { cadence: 'daily', time, timezone };
  if (dayField === '*') {
    const weekday = wholeNumber(weekdayField, 0, 6);
    return weekday === undefined ? undefined : { cadence: 'weekly', weekday: weekday as Weekday, time, timezone };
  }
  if (weekdayField !== '*') return undefined;
  const day = dayField === 'L' ? 'last' : wholeNumber(dayField, 1, 31);
  return day === undefined ? undefined : { cadence: 'monthly', day_of_month: day, time, timezone };
}

/**
 * A BullMQ `RepeatStrategy`. BullMQ calls it with "now" when a scheduler is upserted and,
 * after each firing, with the moment a worker picked the fired job up (never before the
 * firing), so "the first run strictly after `millis`" never repeats a run. It throws rather
 * than return nothing for a pattern it cannot read: nothing would end the scheduler silently,
 * and the worker logs the error.
 */
export function cadenceRepeatStrategy(millis: number, opts: CronRepeatOptions): number | undefined {
  const { pattern } = opts;
  if (!pattern) return undefined;
  const tz = opts.tz ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const spec = cadenceFromCron(pattern, tz);
  if (!spec) throw new Error(`cadenceRepeatStrategy: "${pattern}" is not a pattern made by cadenceToCron`);
  const after = opts.startDate === undefined ? millis : Math.max(millis, new Date(opts.startDate).getTime());
  return nextRunAt(spec, new Date(after)).getTime();
}

/** The first time the schedule fires strictly after `from`. Throws only for an unknown zone. */
export function nextRunAt(spec: CadenceSpec, from: Date): Date {
  const clock = zoneClock(spec.timezone);
  const fromMs = from.getTime();
  // Two days back: a run of an earlier day can land after `from` when its time was skipped
  // (Nuuk's Saturday 23:30 runs at Sunday 00:00, when the clocks jump over it).
  const firstDay = startOfWallDay(clock.wallOf(fromMs)) - 2 * DAY;
  const selected = selectedMinutes(spec);
  for (let day = firstDay; day < firstDay + SEARCH_DAYS * DAY; day += DAY) {
    if (!isSelectedDay(spec, day)) continue;
    for (const minutes of selected) {
      const run = clock.instantOf(day + minutes * MINUTE);
      if (run > fromMs) return new Date(run);
    }
  }
  // Unreachable for a valid cadence: every one selects a day within any 31.
  throw new Error(`no run of ${JSON.stringify(spec)} within ${SEARCH_DAYS} days of ${from.toISOString()}`);
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
  const offsetMinutes = Math.round(zoneClock(tz).offsetAt(ms) / MINUTE);
  const wall = new Date(ms + offsetMinutes * MINUTE);
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

/** The local times the cadence selects on a selected day, as minutes after midnight, ascending. */
function selectedMinutes(spec: CadenceSpec): number[] {
  if (spec.cadence !== 'hourly') return [clockMinutes(spec.time)];
  return Array.from({ length: 24 / spec.every_hours }, (_, i) => i * spec.every_hours * 60 + spec.minute);
}

/** Whether the cadence runs on a wall day (its midnight as epoch ms of the reading in UTC). */
function isSelectedDay(spec: CadenceSpec, day: number): boolean {
  switch (spec.cadence) {
    case 'hourly':
    case 'daily':
      return true;
    case 'weekly':
      return new Date(day).getUTCDay() === spec.weekday;
    case 'monthly':
      return spec.day_of_month === 'last'
        ? new Date(day + DAY).getUTCDate() === 1
        : new Date(day).getUTCDate() === spec.day_of_month;
  }
}

function clockMinutes(time: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  if (!match) throw new Error(`time must be "HH:MM", got "${time}"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

function wholeNumber(field: string, min: number, max: number): number | undefined {
  if (!/^\d{1,2}$/.test(field)) return undefined;
  const n = Number(field);
  return n >= min && n <= max ? n : undefined;
}
