import { Temporal } from '@js-temporal/polyfill';
import type { CadenceSpec } from '../../src/domain/cadence';

interface LocalDate {
  date: Temporal.PlainDate;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  day: number;
  isLast: boolean;
}

/**
 * An independent implementation of the schedule rule, on the Temporal polyfill, used only as
 * the property tests' oracle: one run per selected local day (hour), at the local time; at the
 * first instant after it when the clocks skip it; at its first occurrence when it happens twice.
 * It shares nothing with src/domain but the cadence's type.
 */
export class ScheduleOracle {
  /** Resolved instants by "date minutes": hourly and daily specs of a zone share them. */
  private readonly instants = new Map<string, number>();
  /** The local dates a window spans; many specs share one window. */
  private readonly windows = new Map<string, LocalDate[]>();

  constructor(readonly timeZone: string) {}

  /** Every run of `spec` in (from, to], ascending, each instant once. */
  runs(spec: CadenceSpec, from: number, to: number): number[] {
    const runs = new Set<number>();
    for (const date of this.datesOf(from, to)) {
      for (const minutes of this.selectedMinutes(spec, date)) {
        const run = this.instantOf(date.date, minutes);
        if (run > from && run <= to) runs.add(run);
      }
    }
    return [...runs].sort((a, b) => a - b);
  }

  /** Local dates from two days before `from` (a skipped time can run the next day) to after `to`. */
  private datesOf(from: number, to: number): LocalDate[] {
    const key = `${from} ${to}`;
    let dates = this.windows.get(key);
    if (!dates) {
      dates = [];
      const last = this.dateAt(to).add({ days: 1 });
      for (let date = this.dateAt(from).subtract({ days: 2 }); Temporal.PlainDate.compare(date, last) <= 0;) {
        // Temporal's getters are slow; read each once.
        dates.push({ date, weekday: date.dayOfWeek % 7, day: date.day, isLast: date.day === date.daysInMonth });
        date = date.add({ days: 1 });
      }
      this.windows.set(key, dates);
    }
    return dates;
  }

  /** Instants (epoch ms) where the zone's offset changes, in [from, to). */
  transitions(from: number, to: number): number[] {
    const found: number[] = [];
    let at = Temporal.Instant.fromEpochMilliseconds(from - 1).toZonedDateTimeISO(this.timeZone);
    for (;;) {
      const next = at.getTimeZoneTransition('next');
      if (!next || next.epochMilliseconds >= to) return found;
      found.push(next.epochMilliseconds);
      at = next;
    }
  }

  /** The local calendar date at an instant. */
  dateAt(ms: number): Temporal.PlainDate {
    return Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(this.timeZone).toPlainDate();
  }

  /** The instant a local date and time (minutes after midnight) stands for under the rule. */
  instantOf(date: Temporal.PlainDate, minutes: number): number {
    const key = `${date.toString()} ${minutes}`;
    let instant = this.instants.get(key);
    if (instant === undefined) {
      const local = date.toPlainDateTime({ hour: Math.floor(minutes / 60), minute: minutes % 60 });
      // 'earlier' is the first occurrence of a repeated time; for a skipped time it lies
      // before the jump, and the jump is the first valid instant after the time.
      const earlier = local.toZonedDateTime(this.timeZone, { disambiguation: 'earlier' });
      instant = earlier.toPlainDateTime().equals(local)
        ? earlier.epochMilliseconds
        : earlier.getTimeZoneTransition('next')!.epochMilliseconds;
      this.instants.set(key, instant);
    }
    return instant;
  }

  private selectedMinutes(spec: CadenceSpec, date: LocalDate): number[] {
    if (spec.cadence === 'hourly') {
      const slots: number[] = [];
      for (let hour = 0; hour < 24; hour += spec.every_hours) slots.push(hour * 60 + spec.minute);
      return slots;
    }
    const [hh, mm] = spec.time.split(':').map(Number) as [number, number];
    const selected =
      spec.cadence === 'daily' ||
      (spec.cadence === 'weekly' && date.weekday === spec.weekday) ||
      (spec.cadence === 'monthly' && (spec.day_of_month === 'last' ? date.isLast : date.day === spec.day_of_month));
    return selected ? [hh * 60 + mm] : [];
  }
}
