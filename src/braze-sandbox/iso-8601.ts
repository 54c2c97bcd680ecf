/**
 * Braze asks for `created_at` "in ISO-8601" and says no more, so the sandbox accepts what
 * ISO-8601 (and RFC 3339, its common profile) allows for a four-digit year:
 * - a date: calendar `2026-11-28` / `20261128`, ordinal `2026-332` / `2026332`,
 *   week `2026-W48-6` / `2026W486`;
 * - optionally a time after `T` (or `t`, or a space as RFC 3339 allows): `09`, `09:00`,
 *   `09:00:00`, basic `0900` / `090000`, seconds up to 60 (a leap second), a decimal fraction
 *   of the last component after `.` or `,` (`09.5` is half past nine);
 * - optionally an offset: `Z`/`z`, `±hh`, `±hhmm` or `±hh:mm`.
 * Impossible dates (Feb 30, day 366 of a common year, week 53 of a 52-week year) are refused.
 */
const DATE = /^(\d{4})(?:-(\d{2})-(\d{2})|(\d{2})(\d{2})|-(\d{3})|(\d{3})|-W(\d{2})-([1-7])|W(\d{2})([1-7]))/;
const TIME = /^[Tt ](\d{2})(?::(\d{2})(?::(\d{2}))?|(\d{2})(\d{2})?)?(?:[.,]\d+)?/;
const OFFSET = /^(?:[Zz]|[+-](\d{2})(?::?(\d{2}))?)$/;

export function isIso8601Timestamp(text: string): boolean {
  const date = DATE.exec(text);
  if (!date || !validDate(date)) return false;
  let rest = text.slice(date[0].length);
  if (rest === '') return true;
  const time = TIME.exec(rest);
  if (!time || !validTime(time)) return false;
  rest = rest.slice(time[0].length);
  if (rest === '') return true;
  const offset = OFFSET.exec(rest);
  return offset !== null && Number(offset[1] ?? 0) <= 23 && Number(offset[2] ?? 0) <= 59;
}

function validDate(m: RegExpExecArray): boolean {
  const year = Number(m[1]);
  const month = m[2] ?? m[4];
  const day = m[3] ?? m[5];
  if (month !== undefined && day !== undefined) {
    return Number(month) >= 1 && Number(month) <= 12 && Number(day) >= 1 && Number(day) <= daysIn(year, Number(month));
  }
  const ordinal = m[6] ?? m[7];
  if (ordinal !== undefined) return Number(ordinal) >= 1 && Number(ordinal) <= (isLeap(year) ? 366 : 365);
  const week = Number(m[8] ?? m[10]);
  return week >= 1 && week <= isoWeeksIn(year);
}

function validTime(m: RegExpExecArray): boolean {
  const [hour, minute, second] = [m[1], m[2] ?? m[4], m[3] ?? m[5]].map((part) => Number(part ?? 0));
  return hour! <= 23 && minute! <= 59 && second! <= 60;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysIn(year: number, month: number): number {
  return month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** 53 when the year starts on a Thursday, or is a leap year starting on a Wednesday; else 52. */
function isoWeeksIn(year: number): number {
  const jan1 = new Date(0);
  jan1.setUTCFullYear(year, 0, 1); // Date.UTC would read years 0–99 as 1900–1999
  const weekday = jan1.getUTCDay();
  return weekday === 4 || (isLeap(year) && weekday === 3) ? 53 : 52;
}
