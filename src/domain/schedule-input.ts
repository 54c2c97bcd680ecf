/**
 * Validation of a cohort's import schedule as the API receives it (PUT body, PATCH body).
 * Every problem is reported at once, each naming its field (`weekday`, `recipients[2]`)
 * with a message a customer can act on.
 */
import * as z from 'zod';
import type { CadenceSpec, DayOfMonth, Weekday } from './cadence';

export type ScheduleSpec = CadenceSpec & {
  recipients: string[];
  enabled: boolean;
};

export interface ScheduleInputIssue {
  path: string;
  message: string;
}

export type ScheduleInputResult = { ok: true; value: ScheduleSpec } | { ok: false; issues: ScheduleInputIssue[] };

export const MAX_RECIPIENTS = 20;
export const DEFAULT_TIMEZONE = 'UTC';

const FIELDS = ['cadence', 'time', 'timezone', 'weekday', 'day_of_month', 'recipients', 'enabled'] as const;
type Field = (typeof FIELDS)[number];

const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

/** A zod schema and the one message shown when it rejects a value. */
interface FieldRule<T> {
  schema: z.ZodType<T>;
  explain: (input: unknown) => string;
}

const cadenceRule: FieldRule<CadenceSpec['cadence']> = {
  schema: z.enum(['daily', 'weekly', 'monthly']),
  explain: (input) => `cadence must be "daily", "weekly" or "monthly" (got ${show(input)})`,
};

const timeRule: FieldRule<string> = {
  schema: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/),
  explain: (input) =>
    `time must be "HH:MM" on a 24-hour clock with two digits each, from "00:00" to "23:59" (got ${show(input)})`,
};

const timezoneRule: FieldRule<string> = {
  schema: z.string().transform((name, ctx) => {
    const canonical = canonicalTimeZone(name);
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: 'unknown time zone' });
      return z.NEVER;
    }
    return canonical;
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

/** Field and rule for each cadence's own day field. */
const DAY_FIELD = {
  daily: undefined,
  weekly: { field: 'weekday', hint: 'a number from 0 to 6 (0 = Sunday) or a day name such as "monday"' },
  monthly: { field: 'day_of_month', hint: 'a day from 1 to 28, or "last"' },
} as const;

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

  const cadence = requiredField(
    input,
    'cadence',
    cadenceRule,
    'cadence is required: "daily", "weekly" or "monthly"',
    issues,
  );
  const time = requiredField(input, 'time', timeRule, 'time is required, as "HH:MM" (e.g. "09:00")', issues);
  const timezone = optionalField(input, 'timezone', timezoneRule, issues) ?? DEFAULT_TIMEZONE;
  const enabled = optionalField(input, 'enabled', enabledRule, issues) ?? true;
  const recipients = input.recipients === undefined ? [] : parseRecipients(input.recipients, issues);
  // null clears a day field, so a client may send `weekday: null` when switching cadence.
  const weekday = input.weekday === null ? undefined : optionalField(input, 'weekday', weekdayRule, issues);
  const dayOfMonth =
    input.day_of_month === null ? undefined : optionalField(input, 'day_of_month', dayOfMonthRule, issues);

  if (cadence !== undefined) {
    const own = DAY_FIELD[cadence];
    for (const dayField of ['weekday', 'day_of_month'] as const) {
      const present = input[dayField] !== undefined && input[dayField] !== null;
      if (present && own?.field !== dayField) {
        const owner = dayField === 'weekday' ? 'weekly' : 'monthly';
        issues.push({
          path: dayField,
          message: `${dayField} only applies to a ${owner} schedule; remove it from this ${cadence} schedule`,
        });
      }
    }
    if (own && !(input[own.field] !== undefined && input[own.field] !== null)) {
      issues.push({ path: own.field, message: `${own.field} is required for a ${cadence} schedule: ${own.hint}` });
    }
  }

  if (issues.length > 0 || cadence === undefined || time === undefined) {
    return { ok: false, issues };
  }
  const common = { time, timezone, recipients, enabled };
  switch (cadence) {
    case 'daily':
      return { ok: true, value: { cadence, ...common } };
    case 'weekly':
      return { ok: true, value: { cadence, weekday: weekday as Weekday, ...common } };
    case 'monthly':
      return { ok: true, value: { cadence, day_of_month: dayOfMonth as DayOfMonth, ...common } };
  }
}

/**
 * PATCH: `patch` may set any field. Fields it leaves out keep their current value, except
 * that changing the cadence drops the old cadence's day field (`weekday` or `day_of_month`),
 * so the new cadence's day field must then be in the patch. `recipients` is replaced whole.
 */
export function mergeSchedulePatch(existing: ScheduleSpec, patch: unknown): ScheduleInputResult {
  if (!isPlainObject(patch)) {
    return { ok: false, issues: [{ path: '', message: 'the schedule patch must be a JSON object' }] };
  }
  const merged: Record<string, unknown> = { ...existing, recipients: [...existing.recipients] };
  if ('cadence' in patch && patch.cadence !== existing.cadence) {
    delete merged.weekday;
    delete merged.day_of_month;
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

/** The zone's canonical IANA name as Intl knows it, or undefined when Intl does not know it. */
function canonicalTimeZone(name: string): string | undefined {
  // Intl also accepts offsets such as "+05:00" on newer Node versions; those are not zones.
  if (!/^[A-Za-z]/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
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
