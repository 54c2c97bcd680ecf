/**
 * Wall clocks of IANA time zones: the UTC offset at an instant, and the instant a local wall
 * time stands for under the schedule rule (its first occurrence when it happens twice, the
 * first valid instant after it when the clocks skip it).
 *
 * A zone's offsets come from Intl (the runtime's tz data). Its transitions are found once per
 * UTC year, by reading the offset every six hours and bisecting each change to the second,
 * and kept; after that an offset is a lookup. Six hours is safe: tz data has no zone whose
 * offset changes and changes back within six hours.
 */

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const SAMPLE_STEP = 6 * HOUR;
/** Offsets lie within UTC−12 … UTC+14; a margin on both sides. */
const MAX_OFFSET_SPAN = 15 * HOUR;
/** Years of transitions kept per zone before its table is dropped and rebuilt as needed. */
const MAX_YEARS_PER_ZONE = 64;
/** Zones kept; names are validated, so this only bounds memory against odd use. */
const MAX_ZONES = 1000;

export interface ZoneTransition {
  /** The first instant (epoch ms) on the new offset. */
  at: number;
  /** Offsets in ms: local = UTC + offset. */
  offsetBefore: number;
  offsetAfter: number;
}

interface YearTable {
  /** Offset at the year's first instant. */
  startOffset: number;
  /** Transitions within the year, in order. */
  transitions: ZoneTransition[];
}

/** One zone's offsets, with its transitions cached by UTC year. */
export class ZoneClock {
  private readonly format: Intl.DateTimeFormat;
  private readonly years = new Map<number, YearTable>();

  /** Throws a RangeError for a name Intl does not know. */
  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The UTC offset in force at `ms`, in ms (local = UTC + offset). */
  offsetAt(ms: number): number {
    const table = this.yearTable(new Date(ms).getUTCFullYear());
    let offset = table.startOffset;
    for (const t of table.transitions) {
      if (t.at > ms) break;
      offset = t.offsetAfter;
    }
    return offset;
  }

  /** The local wall time of `ms`, as epoch ms of the same reading in UTC. */
  wallOf(ms: number): number {
    return ms + this.offsetAt(ms);
  }

  /** Transitions with `from < at <= to`, in order. */
  transitionsBetween(from: number, to: number): ZoneTransition[] {
    const found: ZoneTransition[] = [];
    const last = new Date(to).getUTCFullYear();
    for (let year = new Date(from).getUTCFullYear(); year <= last; year++) {
      for (const t of this.yearTable(year).transitions) {
        if (t.at > from && t.at <= to) found.push(t);
      }
    }
    return found;
  }

  /**
   * The instant a local wall time (epoch ms of the same reading in UTC) stands for: the
   * instant itself when it exists once, its first occurrence when the clocks fall back over
   * it, and the first valid instant after it (the moment the clocks jump) when they skip it.
   */
  instantOf(wall: number): number {
    const from = wall - MAX_OFFSET_SPAN;
    const transitions = this.transitionsBetween(from, wall + MAX_OFFSET_SPAN);
    // Segments of constant offset; the earliest one whose offset maps `wall` inside it wins.
    let start = from;
    let offset = this.offsetAt(from);
    for (let i = 0; i <= transitions.length; i++) {
      const end = transitions[i]?.at ?? Number.POSITIVE_INFINITY;
      const candidate = wall - offset;
      if (candidate >= start && candidate < end) return candidate;
      start = end;
      offset = transitions[i]?.offsetAfter ?? offset;
    }
    // Skipped: the wall clock jumped from before `wall` to after it at one transition.
    const jump = transitions.find((t) => t.at + t.offsetBefore <= wall && wall < t.at + t.offsetAfter);
    if (jump) return jump.at;
    throw new Error(`no instant for local time ${new Date(wall).toISOString()} in ${this.timeZone}`);
  }

  private yearTable(year: number): YearTable {
    let table = this.years.get(year);
    if (!table) {
      if (this.years.size >= MAX_YEARS_PER_ZONE) this.years.clear();
      table = this.scanYear(year);
      this.years.set(year, table);
    }
    return table;
  }

  private scanYear(year: number): YearTable {
    const start = Date.UTC(year, 0, 1);
    const end = Date.UTC(year + 1, 0, 1);
    const startOffset = this.readOffset(start);
    const transitions: ZoneTransition[] = [];
    // A change exactly at the year's first instant is listed here (the year before stops short of it).
    const offsetBefore = this.readOffset(start - SECOND);
    if (offsetBefore !== startOffset) transitions.push({ at: start, offsetBefore, offsetAfter: startOffset });
    let at = start;
    let offset = startOffset;
    while (at < end) {
      const next = Math.min(at + SAMPLE_STEP, end);
      const nextOffset = this.readOffset(next);
      if (nextOffset !== offset) {
        // tz data changes offsets on whole seconds: bisect in seconds.
        let lo = at / SECOND;
        let hi = next / SECOND;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (this.readOffset(mid * SECOND) === offset) lo = mid;
          else hi = mid;
        }
        const changeAt = hi * SECOND;
        // A change exactly at the year's end is listed in the next year's table.
        if (changeAt < end) transitions.push({ at: changeAt, offsetBefore: offset, offsetAfter: nextOffset });
      }
      at = next;
      offset = nextOffset;
    }
    return { startOffset, transitions };
  }

  /** The offset at `ms` as Intl formats it (whole seconds). */
  private readOffset(ms: number): number {
    const field: Record<string, string> = {};
    for (const part of this.format.formatToParts(new Date(ms))) field[part.type] = part.value;
    const wall = new Date(0);
    // setUTCFullYear, unlike Date.UTC, keeps years below 100 as they are.
    wall.setUTCFullYear(Number(field.year), Number(field.month) - 1, Number(field.day));
    wall.setUTCHours(Number(field.hour), Number(field.minute), Number(field.second), 0);
    return wall.getTime() - Math.floor(ms / SECOND) * SECOND;
  }
}

const clocks = new Map<string, ZoneClock>();

/** The shared clock of a zone; throws a RangeError for a name Intl does not know. */
export function zoneClock(timeZone: string): ZoneClock {
  let clock = clocks.get(timeZone);
  if (!clock) {
    if (clocks.size >= MAX_ZONES) clocks.clear();
    clock = new ZoneClock(timeZone);
    clocks.set(timeZone, clock);
  }
  return clock;
}

/** Midnight of the wall day that holds `wall` (both as epoch ms of the reading in UTC). */
export function startOfWallDay(wall: number): number {
  return Math.floor(wall / DAY) * DAY;
}
