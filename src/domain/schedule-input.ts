/**
 * Validation of a cohort's import schedule as the API receives it (PUT body, PATCH body).
 * Every problem is reported at once, each naming its field (`weekday`, `recipients[2]`)
 * with a message a customer can act on.
 */
import * as z from 'zod';
import { type Cadence, type CadenceSpec, type DayOfMonth, EVERY_HOURS, type EveryHours, type Weekday } from './cadence';
import { NOTIFY_POLICIES, type NotifyPolicy } from './notify-policy';

export type ScheduleSpec = CadenceSpec & {
  recipients: string[];
  enabled: boolean;
  notify: NotifyPolicy;
};

export interface ScheduleInputIssue {
  path: string;
  message: string;
}

export type ScheduleInputResult = { ok: true; value: ScheduleSpec } | { ok: false; issues: ScheduleInputIssue[] };

export const MAX_RECIPIENTS = 20;
export const DEFAULT_TIMEZONE = 'UTC';

const FIELDS = [
  'cadence',
  'time',
  'minute',
  'every_hours',
  'timezone',
  'weekday',
  'day_of_month',
  'recipients',
  'notify',
  'enabled',
] as const;
type Field = (typeof FIELDS)[number];

/** The fields that belong to one cadence or another; `null` for any of them means absent. */
const CADENCE_FIELDS = ['time', 'weekday', 'day_of_month', 'minute', 'every_hours'] as const;
type CadenceField = (typeof CADENCE_FIELDS)[number];

const TIME_HINT = 'a local time "HH:MM" on a 24-hour clock, such as "09:00"';

/** Each cadence's own fields: required ones with the hint shown when missing, optional ones with no hint. */
const OWN_FIELDS: Record<Cadence, Partial<Record<CadenceField, string | null>>> = {
  hourly: { minute: null, every_hours: null },
  daily: { time: TIME_HINT },
  weekly: {
    time: TIME_HINT,
    weekday: 'a number from 0 to 6 (0 = Sunday) or a day name such as "monday"',
  },
  monthly: { time: TIME_HINT, day_of_month: 'a day from 1 to 28, or "last"' },
};

/** Which cadences a field belongs to, as the message says it. */
const FIELD_OWNERS: Record<CadenceField, string> = {
  time: 'a daily, weekly or monthly schedule (an hourly one has minute and every_hours)',
  weekday: 'a weekly schedule',
  day_of_month: 'a monthly schedule',
  minute: 'an hourly schedule',
  every_hours: 'an hourly schedule',
};

const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

/** A zod schema and the one message shown when it rejects a value. */
interface FieldRule<T> {
  schema: z.ZodType<T>;
  explain: (input: unknown) => string;
}

const cadenceRule: FieldRule<Cadence> = {
  schema: z.enum(['hourly', 'daily', 'weekly', 'monthly']),
  explain: (input) => `cadence must be "hourly", "daily", "weekly" or "monthly" (got ${show(input)})`,
};

const minuteRule: FieldRule<number> = {
  schema: z.int().min(0).max(59),
  explain: (input) => `minute must be a whole number from 0 to 59, the minute past each hour (got ${show(input)})`,
};

const everyHoursRule: FieldRule<EveryHours> = {
  schema: z.union(EVERY_HOURS.map((n) => z.literal(n))) as z.ZodType<EveryHours>,
  explain: (input) =>
    `every_hours must be 1, 2, 3, 4, 6, 8 or 12: runs are counted from local midnight, so the step must divide the day evenly (got ${show(input)})`,
};

const notifyRule: FieldRule<NotifyPolicy> = {
  schema: z.enum(NOTIFY_POLICIES),
  explain: (input) =>
    `notify must be "always" (an email after every run) or "failures" (only after a failed or partially failed run) (got ${show(input)})`,
};

const timeRule: FieldRule<string> = {
  schema: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/),
  explain: (input) =>
    `time must be "HH:MM" on a 24-hour clock with two digits each, from "00:00" to "23:59" (got ${show(input)})`,
};

const timezoneRule: FieldRule<string> = {
  schema: z.string().transform((name, ctx) => {
    const known = knownTimeZone(name);
    if (known === undefined) {
      ctx.addIssue({ code: 'custom', message: 'unknown time zone' });
      return z.NEVER;
    }
    return known;
  }),
  explain: (input) =>
    typeof input === 'string'
      ? `unknown time zone "${input}": use an IANA time zone name such as "America/New_York", "Europe/Berlin" or "UTC"`
      : `timezone must be an IANA time zone name such as "Europe/Berlin" (got ${show(input)})`,
};

const weekdayRule: FieldRule<Weekday> = {
  schema: z.union([
    z.int().min(0).max(6),
    z
      .string()
      .toLowerCase()
      .pipe(z.enum(WEEKDAY_NAMES))
      .transform((name) => WEEKDAY_NAMES.indexOf(name)),
  ]) as z.ZodType<Weekday>,
  explain: (input) =>
    `weekday must be a number from 0 to 6 (0 = Sunday) or a day name from "sunday" to "saturday" (got ${show(input)})`,
};

const dayOfMonthRule: FieldRule<DayOfMonth> = {
  schema: z.union([z.int().min(1).max(28), z.literal('last')]),
  explain: (input) =>
    input === 29 || input === 30 || input === 31
      ? `day_of_month ${input} does not exist in every month: use "last" to run on the last day of each month, or a day from 1 to 28`
      : `day_of_month must be a whole number from 1 to 28, or "last" for the last day of the month (got ${show(input)})`,
};

const enabledRule: FieldRule<boolean> = {
  schema: z.boolean(),
  explain: (input) => `enabled must be true or false (got ${show(input)})`,
};

const emailSchema = z.email();

/**
 * A schedule as one schema, for the API's description (OpenAPI): the rules above, field by
 * field. `parseScheduleInput` stays the validator; which cadence needs which field (and the
 * messages saying so) are its own, told here in the description.
 */
export const scheduleInputShape = z
  .object({
    cadence: cadenceRule.schema,
    time: timeRule.schema.nullable().optional(),
    minute: minuteRule.schema.nullable().optional(),
    every_hours: everyHoursRule.schema.nullable().optional(),
    timezone: timezoneRule.schema.optional(),
    weekday: weekdayRule.schema.nullable().optional(),
    day_of_month: dayOfMonthRule.schema.nullable().optional(),
    recipients: z.array(emailSchema).max(MAX_RECIPIENTS).optional(),
    notify: notifyRule.schema.optional(),
    enabled: enabledRule.schema.optional(),
  })
  .strict()
  .meta({
    description:
      'hourly: minute (0-59, default 0) and every_hours (default 1); daily: time; weekly: time and weekday; ' +
      'monthly: time and day_of_month. A field of another cadence is refused unless null. ' +
      `timezone: an IANA name (default ${DEFAULT_TIMEZONE}); notify: "always" (default) or "failures"; enabled defaults to true.`,
  });

/** A PATCH: any field of a schedule; changing the cadence needs the new cadence's fields. */
export const schedulePatchShape = scheduleInputShape.partial();

export function parseScheduleInput(input: unknown): ScheduleInputResult {
  if (!isPlainObject(input)) {
    return { ok: false, issues: [{ path: '', message: 'the schedule must be a JSON object' }] };
  }
  const issues: ScheduleInputIssue[] = [];

  for (const key of Object.keys(input)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      issues.push({ path: key, message: `unknown field "${key}"; a schedule has ${FIELDS.join(', ')}` });
    }
  }
  // null clears a cadence's field, so a client may send `weekday: null` when switching cadence.
  const given = (field: CadenceField) => input[field] !== undefined && input[field] !== null;
  const cadenceField = <T>(field: CadenceField, rule: FieldRule<T>) =>
    given(field) ? optionalField(input, field, rule, issues) : undefined;

  const cadence = requiredField(
    input,
    'cadence',
    cadenceRule,
    'cadence is required: "hourly", "daily", "weekly" or "monthly"',
    issues,
  );
  const time = cadenceField('time', timeRule);
  const timezone = optionalField(input, 'timezone', timezoneRule, issues) ?? DEFAULT_TIMEZONE;
  const enabled = optionalField(input, 'enabled', enabledRule, issues) ?? true;
  const recipients = input.recipients === undefined ? [] : parseRecipients(input.recipients, issues);
  const notify = optionalField(input, 'notify', notifyRule, issues) ?? 'always';
  const weekday = cadenceField('weekday', weekdayRule);
  const dayOfMonth = cadenceField('day_of_month', dayOfMonthRule);
  const minute = cadenceField('minute', minuteRule) ?? 0;
  const everyHours = cadenceField('every_hours', everyHoursRule) ?? 1;

  if (cadence !== undefined) {
    const own = OWN_FIELDS[cadence];
    for (const field of CADENCE_FIELDS) {
      if (given(field) && !(field in own)) {
        issues.push({
          path: field,
          message: `${field} only applies to ${FIELD_OWNERS[field]}; remove it from this ${cadence} schedule`,
        });
      }
    }
    for (const [field, hint] of Object.entries(own)) {
      if (hint && !given(field as CadenceField)) {
        issues.push({ path: field, message: `${field} is required for a ${cadence} schedule: ${hint}` });
      }
    }
  }

  if (issues.length > 0 || cadence === undefined) return { ok: false, issues };
  const common = { timezone, recipients, notify, enabled };
  switch (cadence) {
    case 'hourly':
      return { ok: true, value: { cadence, minute, every_hours: everyHours, ...common } };
    case 'daily':
      return { ok: true, value: { cadence, time: time!, ...common } };
    case 'weekly':
      return { ok: true, value: { cadence, time: time!, weekday: weekday as Weekday, ...common } };
    case 'monthly':
      return { ok: true, value: { cadence, time: time!, day_of_month: dayOfMonth as DayOfMonth, ...common } };
  }
}

/**
 * PATCH: `patch` may set any field. Fields it leaves out keep their current value, except
 * that changing the cadence drops the old cadence's fields the new one does not have
 * (`weekday`, `day_of_month`, `time`, `minute`, `every_hours`), so the new cadence's
 * required fields must then be in the patch. `recipients` is replaced whole.
 */
export function mergeSchedulePatch(existing: ScheduleSpec, patch: unknown): ScheduleInputResult {
  if (!isPlainObject(patch)) {
    return { ok: false, issues: [{ path: '', message: 'the schedule patch must be a JSON object' }] };
  }
  const merged: Record<string, unknown> = { ...existing, recipients: [...existing.recipients] };
  const next = OWN_FIELDS[patch.cadence as Cadence];
  if ('cadence' in patch && patch.cadence !== existing.cadence) {
    for (const field of CADENCE_FIELDS) {
      if (!next || !(field in next) || !(field in OWN_FIELDS[existing.cadence])) delete merged[field];
    }
  }
  return parseScheduleInput({ ...merged, ...patch });
}

function parseRecipients(input: unknown, issues: ScheduleInputIssue[]): string[] {
  if (!Array.isArray(input)) {
    issues.push({ path: 'recipients', message: `recipients must be a list of email addresses (got ${show(input)})` });
    return [];
  }
  if (input.length > MAX_RECIPIENTS) {
    issues.push({
      path: 'recipients',
      message: `recipients can hold at most ${MAX_RECIPIENTS} email addresses (got ${input.length})`,
    });
  }
  const firstIndexOf = new Map<string, number>();
  const recipients: string[] = [];
  input.forEach((entry: unknown, index) => {
    const path = `recipients[${index}]`;
    const parsed = emailSchema.safeParse(entry);
    if (!parsed.success) {
      issues.push({ path, message: `${show(entry)} is not a valid email address` });
      return;
    }
    const key = parsed.data.toLowerCase();
    const first = firstIndexOf.get(key);
    if (first !== undefined) {
      issues.push({
        path,
        message: `"${parsed.data}" is already listed as recipients[${first}] (addresses are compared ignoring case)`,
      });
      return;
    }
    firstIndexOf.set(key, index);
    recipients.push(parsed.data);
  });
  return recipients;
}

function requiredField<T>(
  input: Record<string, unknown>,
  field: Field,
  rule: FieldRule<T>,
  missing: string,
  issues: ScheduleInputIssue[],
): T | undefined {
  if (input[field] === undefined) {
    issues.push({ path: field, message: missing });
    return undefined;
  }
  return optionalField(input, field, rule, issues);
}

function optionalField<T>(
  input: Record<string, unknown>,
  field: Field,
  rule: FieldRule<T>,
  issues: ScheduleInputIssue[],
): T | undefined {
  const value = input[field];
  if (value === undefined) return undefined;
  const parsed = rule.schema.safeParse(value);
  if (!parsed.success) {
    issues.push({ path: field, message: rule.explain(value) });
    return undefined;
  }
  return parsed.data;
}

/**
 * The zone name to store, or undefined when Intl does not know it. The name is kept as the
 * client sent it, canonical or alias (Intl would answer "Asia/Calcutta" for "Asia/Kolkata"
 * and "Europe/Kiev" for "Europe/Kyiv"); only a name that differs from Intl's by letter case
 * alone takes Intl's spelling.
 */
function knownTimeZone(name: string): string | undefined {
  // Intl also accepts offsets such as "+05:00" on newer Node versions; those are not zones.
  if (!/^[A-Za-z]/.test(name)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
