import type { ControlTables } from '../../db/client';
import type { Weekday } from '../domain/cadence';
import type { ScheduleSpec } from '../domain/schedule-input';

export type ScheduleRow = ControlTables['schedules']['$inferSelect'];

/** A stored schedule row as the domain's spec. */
export function scheduleSpecOf(row: ScheduleRow): ScheduleSpec {
  const base = { time: row.time, timezone: row.timezone, recipients: row.recipients, enabled: row.enabled };
  switch (row.cadence) {
    case 'daily':
      return { ...base, cadence: 'daily' };
    case 'weekly':
      return { ...base, cadence: 'weekly', weekday: (row.weekday ?? 0) as Weekday };
    case 'monthly':
      return {
        ...base,
        cadence: 'monthly',
        day_of_month: row.dayOfMonth === 'last' ? 'last' : Number(row.dayOfMonth ?? 1),
      };
  }
}

/** The columns a spec is stored as. */
export function scheduleColumnsOf(spec: ScheduleSpec) {
  return {
    cadence: spec.cadence,
    time: spec.time,
    timezone: spec.timezone,
    weekday: spec.cadence === 'weekly' ? spec.weekday : null,
    dayOfMonth: spec.cadence === 'monthly' ? String(spec.day_of_month) : null,
    recipients: spec.recipients,
    enabled: spec.enabled,
  };
}
