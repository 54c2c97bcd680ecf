import type { EveryHours, PlannedChanges, Run, RunStatus, RunTrigger, Schedule } from './types';

/** The browser's own IANA zone (what the user's clock shows). */
export const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** Every IANA zone the browser knows, for the searchable zone list. */
export function timeZones(): string[] {
  const zones = Intl.supportedValuesOf('timeZone');
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string, withYear: boolean, withZone: boolean): Intl.DateTimeFormat {
  const key = `${zone}|${withYear}|${withZone}`;
  let f = formatters.get(key);
  if (!f) {
    // en-GB reads "Mon 30 Nov, 09:00": day before month, 24-hour clock.
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      ...(withYear ? { year: 'numeric' } : {}),
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      ...(withZone ? { timeZoneName: 'short' } : {}),
    });
    formatters.set(key, f);
  }
  return f;
}

/** "Mon 30 Nov, 09:00" in the zone (the year only when it is not the year of `now`). */
export function dateTimeIn(iso: string, zone: string, opts: { withZone?: boolean; now?: Date } = {}): string {
  const d = new Date(iso);
  const withYear = d.getUTCFullYear() !== (opts.now ?? new Date()).getUTCFullYear();
  return formatter(zone, withYear, opts.withZone ?? false).format(d);
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
export const weekdayName = (n: number): string => WEEKDAYS[n] ?? String(n);

function ordinal(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

/** "Daily at 09:00 America/Sao_Paulo — next run Mon 30 Nov, 09:00", or "… — paused". */
export function scheduleInWords(s: Schedule, now = new Date()): string {
  let when: string;
  switch (s.cadence) {
    case 'hourly': {
      const minute = `:${String(s.minute ?? 0).padStart(2, '0')}`;
      const every = s.every_hours ?? 1;
      when = every === 1 ? `Every hour at ${minute}` : `Every ${every} hours from midnight at ${minute}`;
      break;
    }
    case 'daily':
      when = 'Daily';
      break;
    case 'weekly':
      when = `Weekly on ${weekdayName(s.weekday ?? 0)}`;
      break;
    case 'monthly':
      when =
        s.day_of_month === 'last' ? 'Monthly on the last day' : `Monthly on the ${ordinal(s.day_of_month as number)}`;
      break;
  }
  const head = s.cadence === 'hourly' ? `${when} ${s.timezone}` : `${when} at ${s.time} ${s.timezone}`;
  if (!s.enabled || !s.next_run_at) return `${head} — paused`;
  return `${head} — next run ${dateTimeIn(s.next_run_at, s.timezone, { now })}`;
}

/**
 * The steps the API allows for an hourly schedule. Keyed by the server's own type, so a step
 * added or dropped there fails the console's type-check until this list follows.
 */
const HOURLY_STEPS: Record<EveryHours, true> = { 1: true, 2: true, 3: true, 4: true, 6: true, 8: true, 12: true };
export const EVERY_HOURS = Object.keys(HOURLY_STEPS)
  .map(Number)
  .sort((a, b) => a - b) as EveryHours[];

const clock = (hour: number, minute: number) => `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;

/**
 * The local times an hourly schedule runs at, counted from midnight: "00:15, 06:15, 12:15 and
 * 18:15"; a long list keeps its ends ("00:15, 02:15, 04:15, …, 22:15").
 */
export function hourlyRunTimes(everyHours: EveryHours, minute: number): string {
  const times = Array.from({ length: 24 / everyHours }, (_, i) => clock(i * everyHours, minute));
  if (times.length > 8) return `${times.slice(0, 3).join(', ')}, …, ${times.at(-1)}`;
  return `${times.slice(0, -1).join(', ')} and ${times.at(-1)}`;
}

const users = (n: number): string => `${count(n)} ${n === 1 ? 'user' : 'users'}`;

/** The question before a held run is approved: "Remove 4 of 6 users from the Braze cohort?" */
export function approvalQuestion(p: PlannedChanges): string {
  if (p.removed === 0) return `Add ${users(p.added)} to the Braze cohort?`;
  return `Remove ${count(p.removed)} of ${users(p.synced_before)} from the Braze cohort?`;
}

/** What approving a held run sends: "4 users removed and none added: the Braze cohort goes from 6 users to 2." */
export function plannedInWords(p: PlannedChanges): string {
  const added = p.added === 0 ? 'none' : count(p.added);
  const after = p.synced_before - p.removed + p.added;
  return `${users(p.removed)} removed and ${added} added: the Braze cohort goes from ${users(p.synced_before)} to ${count(after)}.`;
}

export const OUTCOME_LABEL: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  held: 'Held for approval',
  succeeded: 'Succeeded',
  partially_failed: 'Partially failed',
  failed: 'Failed',
  skipped: 'Skipped (a run was in progress)',
};

export const TRIGGER_LABEL: Record<RunTrigger, string> = {
  one_time: 'Once',
  scheduled: 'Scheduled',
  manual: 'Manual',
};

/** Members sent to Braze: the frozen cohort less those Braze could not match (as the API's members_imported). */
export function usersImported(run: Run): number | null {
  return run.cohort_size === null ? null : run.cohort_size - run.unmatchable;
}

export function duration(run: Run): string | null {
  if (!run.started_at || !run.finished_at) return null;
  const ms = Date.parse(run.finished_at) - Date.parse(run.started_at);
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 100) / 10;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const count = (n: number | null | undefined): string =>
  n === null || n === undefined ? '—' : n.toLocaleString('en');
