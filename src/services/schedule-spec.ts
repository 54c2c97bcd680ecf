import type { ControlTables } from '../../db/client';
import type { EveryHours, Weekday } from '../domain/cadence';
import type { ScheduleSpec } from '../domain/schedule-input';

export type ScheduleRow = ControlTables['schedules']['$inferSelect'];

/** A stored schedule row as the domain's spec. */
export function scheduleSpecOf(row: ScheduleRow): ScheduleSpec {
  const base = { timezone: row.timezone, recipients: row.recipients, notify: row.notify, enabled: row.enabled };
  const time = row.time ?? '00:00';
  switch (row.cadence) {
    case 'hourly':
      return { ...base, cadence: 'hourly', minute: row.minute ?? 0, every_hours: (row.everyHours ?? 1) as EveryHours };
    case 'daily':
      return { ...base, time, cadence: 'daily' };
    case 'weekly':
      return { ...base, time, cadence: 'weekly', weekday: (row.weekday ?? 0) as Weekday };
    case 'monthly':
      return {
        ...base,
        time,
        cadence: 'monthly',
        day_of_month: row.dayOfMonth === 'last' ? 'last' : Number(row.dayOfMonth ?? 1),
      };
  }
}

/** The columns a spec is stored as. */
export function scheduleColumnsOf(spec: ScheduleSpec) {
  return {
    cadence: spec.cadence,
    time: spec.cadence === 'hourly' ? null : spec.time,
    minute: spec.cadence === 'hourly' ? spec.minute : null,
    everyHours: spec.cadence === 'hourly' ? spec.every_hours : null,
    timezone: spec.timezone,
    weekday: spec.cadence === 'weekly' ? spec.weekday : null,
    dayOfMonth: spec.cadence === 'monthly' ? String(spec.day_of_month) : null,
    recipients: spec.recipients,
    notify: spec.notify,
    enabled: spec.enabled,
  };
}
