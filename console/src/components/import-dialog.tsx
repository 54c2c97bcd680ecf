import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, type ApiError, issuesAt } from '../api';
import { browserZone, EVERY_HOURS, hourlyRunTimes, scheduleInWords, timeZones, weekdayName } from '../format';
import type { Cadence, Cohort, EveryHours, FieldIssue, Run, Schedule } from '../types';
import { ActionStatus, useAction } from './action';
import { describedBy, FieldError } from './field-error';
import { Modal } from './modal';

type Mode = 'once' | 'schedule';
/** The fields of the dialog that show the API's messages next to them. */
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
];

/** Splits "a@x.com, b@y.com" into addresses; the API checks each one. */
const recipientList = (text: string) => text.split(/[\s,;]+/).filter(Boolean);

/** The minute field as typed: a number when it reads as one, else the text, for the API to name what is wrong. */
const minuteValue = (text: string): number | string =>
  text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
const isMinute = (value: number | string): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 59;

/**
 * "Import to Braze": once now, or on a schedule (which replaces the cohort's one schedule).
 * `onStarted` gets the cohort id once a run was started; `onClose(changed)` says whether the
 * schedule changed.
 */
export function ImportDialog(props: {
  cohort: Pick<Cohort, 'id' | 'name'>;
  onClose: (changed: boolean) => void;
  onStarted: (cohortId: string) => void;
}) {
  const { cohort } = props;
  const [mode, setMode] = useState<Mode>('once');
  const [existing, setExisting] = useState<Schedule | null | undefined>(undefined);
  const [changed, setChanged] = useState(false);
  const { busy, issues, message, setMessage, run: act, dismiss } = useAction(FIELDS);

  const [onceRecipients, setOnceRecipients] = useState('');
  const [cadence, setCadence] = useState<Cadence>('daily');
  const [time, setTime] = useState('09:00');
  const [minute, setMinute] = useState('0');
  const [everyHours, setEveryHours] = useState<EveryHours>(1);
  const [zone, setZone] = useState(browserZone());
  const [weekday, setWeekday] = useState(1);
  const [dayOfMonth, setDayOfMonth] = useState<string>('1');
  const [recipients, setRecipients] = useState('');
  const [notify, setNotify] = useState<Schedule['notify']>('always');
  const zones = useMemo(timeZones, []);
  const minuteTyped = minuteValue(minute);

  useEffect(() => {
    api<Schedule>('GET', `/cohorts/${cohort.id}/schedule`)
      .then((s) => {
        setExisting(s);
        setCadence(s.cadence);
        setTime(s.time ?? '09:00');
        if (s.minute !== undefined) setMinute(String(s.minute));
        if (s.every_hours !== undefined) setEveryHours(s.every_hours as EveryHours);
        setZone(s.timezone);
        if (s.weekday !== undefined) setWeekday(s.weekday);
        if (s.day_of_month !== undefined) setDayOfMonth(String(s.day_of_month));
        setRecipients(s.recipients.join(', '));
        setNotify(s.notify);
      })
      .catch((e: ApiError) => (e.status === 404 ? setExisting(null) : setMessage({ text: e.message, error: true })));
  }, [cohort.id]);

  const close = () => props.onClose(changed);
  const importNow = () =>
    act(async () => {
      const list = recipientList(onceRecipients);
      await api<Run>('POST', `/cohorts/${cohort.id}/imports`, list.length > 0 ? { recipients: list } : {});
      props.onStarted(cohort.id);
    });

  const saveSchedule = () =>
    act(async () => {
      const body: Record<string, unknown> = {
        cadence,
        timezone: zone.trim(),
        recipients: recipientList(recipients),
        notify,
        enabled: existing?.enabled ?? true,
      };
      if (cadence === 'hourly') {
        body.minute = minuteTyped;
        body.every_hours = everyHours;
      } else body.time = time;
      if (cadence === 'weekly') body.weekday = weekday;
      if (cadence === 'monthly') body.day_of_month = dayOfMonth === 'last' ? 'last' : Number(dayOfMonth);
      const saved = await api<Schedule>('PUT', `/cohorts/${cohort.id}/schedule`, body);
      setExisting(saved);
      setChanged(true);
      return `Schedule saved: ${scheduleInWords(saved)}.`;
    });

  const setEnabled = (enabled: boolean) =>
    act(async () => {
      const saved = await api<Schedule>('PATCH', `/cohorts/${cohort.id}/schedule`, { enabled });
      setExisting(saved);
      setChanged(true);
      return enabled ? 'Schedule resumed.' : 'Schedule paused.';
    });

  const deleteSchedule = () =>
    act(async () => {
      await api('DELETE', `/cohorts/${cohort.id}/schedule`);
      setExisting(null);
      setChanged(true);
      return 'Schedule deleted.';
    });

  const chooseEveryHours = (n: EveryHours) => {
    setEveryHours(n);
    dismiss('every_hours');
  };

  const onSubmit = (e: Event) => {
    e.preventDefault();
    void (mode === 'once' ? importNow() : saveSchedule());
  };
  const at = (field: string) => issuesAt(issues, field);

  return (
    <Modal title={`Import to Braze: ${cohort.name}`} onClose={close}>
      <form onSubmit={onSubmit} noValidate>
        <fieldset class="choice">
          <legend>When</legend>
          <label>
            <input type="radio" name="mode" value="once" checked={mode === 'once'} onChange={() => setMode('once')} />
            Once now
          </label>
          <label>
            <input
              type="radio"
              name="mode"
              value="schedule"
              checked={mode === 'schedule'}
              onChange={() => setMode('schedule')}
            />
            On a schedule
          </label>
        </fieldset>

        {mode === 'once' ? (
          <RecipientsField
            id="once-recipients"
            label="Email when it ends (optional)"
            hint="Addresses separated by commas."
            value={onceRecipients}
            onInput={(text) => (setOnceRecipients(text), dismiss('recipients'))}
            issues={at('recipients')}
          />
        ) : (
          <>
            {existing && (
              <p class="note" id="replace-note">
                This cohort already has a schedule ({scheduleInWords(existing)}). Saving replaces it.
              </p>
            )}
            <div class="grid">
              <div class="field">
                <label for="cadence">Cadence</label>
                <select
                  id="cadence"
                  value={cadence}
                  onChange={(e) => setCadence(e.currentTarget.value as Cadence)}
                  {...describedBy('cadence-error', at('cadence'))}
                >
                  <option value="hourly">Hourly</option>
                  <option value="daily">Daily</option>
                  <option value="weekly">Weekly</option>
                  <option value="monthly">Monthly</option>
                </select>
                <FieldError id="cadence-error" issues={at('cadence')} />
              </div>
              {cadence === 'weekly' && (
                <div class="field">
                  <label for="weekday">Weekday</label>
                  <select
                    id="weekday"
                    value={String(weekday)}
                    onChange={(e) => setWeekday(Number(e.currentTarget.value))}
                    {...describedBy('weekday-error', at('weekday'))}
                  >
                    {[1, 2, 3, 4, 5, 6, 0].map((d) => (
                      <option key={d} value={String(d)}>
                        {weekdayName(d)}
                      </option>
                    ))}
                  </select>
                  <FieldError id="weekday-error" issues={at('weekday')} />
                </div>
              )}
              {cadence === 'monthly' && (
                <div class="field">
                  <label for="day-of-month">Day of month</label>
                  <select
                    id="day-of-month"
                    value={dayOfMonth}
                    onChange={(e) => setDayOfMonth(e.currentTarget.value)}
                    {...describedBy('day-error', at('day_of_month'), 'day-hint')}
                  >
                    {Array.from({ length: 28 }, (_, i) => (
                      <option key={i} value={String(i + 1)}>
                        {i + 1}
                      </option>
                    ))}
                    <option value="last">Last day of the month</option>
                  </select>
                  <p id="day-hint" class="hint">
                    For the 29th to 31st, choose the last day.
                  </p>
                  <FieldError id="day-error" issues={at('day_of_month')} />
                </div>
              )}
              {cadence === 'hourly' ? (
                <>
                  <div class="field">
                    <label for="every-hours">Every</label>
                    <select
                      id="every-hours"
                      value={String(everyHours)}
                      onChange={(e) => chooseEveryHours(Number(e.currentTarget.value) as EveryHours)}
                      {...describedBy('every-hours-error', at('every_hours'), 'hourly-hint')}
                    >
                      {EVERY_HOURS.map((n) => (
                        <option key={n} value={String(n)}>
                          {n === 1 ? 'hour' : `${n} hours`}
                        </option>
                      ))}
                    </select>
                    <FieldError id="every-hours-error" issues={at('every_hours')} />
                  </div>
                  <div class="field">
                    <label for="minute">Minute past the hour</label>
                    <input
                      id="minute"
                      type="number"
                      inputMode="numeric"
                      min={0}
                      max={59}
                      step={1}
                      required
                      value={minute}
                      onInput={(e) => (setMinute(e.currentTarget.value), dismiss('minute'))}
                      {...describedBy('minute-error', at('minute'), 'hourly-hint')}
                    />
                    <FieldError id="minute-error" issues={at('minute')} />
                  </div>
                </>
              ) : (
                <div class="field">
                  <label for="time">Time</label>
                  <input
                    id="time"
                    type="time"
                    required
                    value={time}
                    onInput={(e) => (setTime(e.currentTarget.value), dismiss('time'))}
                    {...describedBy('time-error', at('time'))}
                  />
                  <FieldError id="time-error" issues={at('time')} />
                </div>
              )}
              <div class="field">
                <label for="timezone">Time zone</label>
                <input
                  id="timezone"
                  list="timezones"
                  autocomplete="off"
                  spellcheck={false}
                  value={zone}
                  onInput={(e) => (setZone(e.currentTarget.value), dismiss('timezone'))}
                  {...describedBy('timezone-error', at('timezone'), 'timezone-hint')}
                />
                <datalist id="timezones">
                  {zones.map((z) => (
                    <option key={z} value={z} />
                  ))}
                </datalist>
                <p id="timezone-hint" class="hint">
                  Type to search, e.g. “Sao” or “Berlin”. Your browser is in {browserZone()}.
                </p>
                <FieldError id="timezone-error" issues={at('timezone')} />
              </div>
            </div>
            {cadence === 'hourly' && (
              <p id="hourly-hint" class="hint">
                {isMinute(minuteTyped)
                  ? `Runs at ${hourlyRunTimes(everyHours, minuteTyped)} in the time zone, counted from midnight.`
                  : 'Runs at that minute past each chosen hour, counted from midnight in the time zone.'}
              </p>
            )}
            <RecipientsField
              id="recipients"
              label="Recipients"
              hint="Email addresses told about each run, separated by commas (up to 20)."
              value={recipients}
              onInput={(text) => (setRecipients(text), dismiss('recipients'))}
              issues={at('recipients')}
            />
            <div class="field">
              <label for="notify">Email them</label>
              <select
                id="notify"
                value={notify}
                onChange={(e) => (setNotify(e.currentTarget.value as Schedule['notify']), dismiss('notify'))}
                {...describedBy('notify-error', at('notify'))}
              >
                <option value="always">After every run</option>
                <option value="failures">Only when a run fails or partly fails</option>
              </select>
              <FieldError id="notify-error" issues={at('notify')} />
            </div>
          </>
        )}

        <ActionStatus message={message} />

        <div class="buttons">
          {mode === 'once' ? (
            <button type="submit" disabled={busy}>
              Import now
            </button>
          ) : (
            <>
              <button type="submit" disabled={busy || existing === undefined}>
                Save schedule
              </button>
              {existing && (
                <>
                  <button type="button" class="secondary" disabled={busy} onClick={() => setEnabled(!existing.enabled)}>
                    {existing.enabled ? 'Pause schedule' : 'Resume schedule'}
                  </button>
                  <button type="button" class="danger" disabled={busy} onClick={deleteSchedule}>
                    Delete schedule
                  </button>
                </>
              )}
            </>
          )}
        </div>
      </form>
    </Modal>
  );
}

function RecipientsField(props: {
  id: string;
  label: string;
  hint: string;
  value: string;
  onInput: (text: string) => void;
  issues: FieldIssue[];
}) {
  const { id } = props;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        type="text"
        inputMode="email"
        autocomplete="off"
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
        {...describedBy(`${id}-error`, props.issues, `${id}-hint`)}
      />
      <p id={`${id}-hint`} class="hint">
        {props.hint}
      </p>
      <FieldError id={`${id}-error`} issues={props.issues} />
    </div>
  );
}
