import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, errorSummary, issuesAt } from '../api';
import { browserZone, scheduleInWords, timeZones, weekdayName } from '../format';
import type { Cadence, Cohort, FieldIssue, Run, Schedule } from '../types';
import { describedBy, FieldError } from './field-error';
import { Modal } from './modal';

type Mode = 'once' | 'schedule';
/** The fields of the dialog that show the API's messages next to them. */
const FIELDS = ['cadence', 'time', 'timezone', 'weekday', 'day_of_month', 'recipients'];

/** Splits "a@x.com, b@y.com" into addresses; the API checks each one. */
const recipientList = (text: string) => text.split(/[\s,;]+/).filter(Boolean);

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
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const [onceRecipients, setOnceRecipients] = useState('');
  const [cadence, setCadence] = useState<Cadence>('daily');
  const [time, setTime] = useState('09:00');
  const [zone, setZone] = useState(browserZone());
  const [weekday, setWeekday] = useState(1);
  const [dayOfMonth, setDayOfMonth] = useState<string>('1');
  const [recipients, setRecipients] = useState('');
  const zones = useMemo(timeZones, []);

  useEffect(() => {
    api<Schedule>('GET', `/cohorts/${cohort.id}/schedule`)
      .then((s) => {
        setExisting(s);
        setCadence(s.cadence);
        setTime(s.time);
        setZone(s.timezone);
        if (s.weekday !== undefined) setWeekday(s.weekday);
        if (s.day_of_month !== undefined) setDayOfMonth(String(s.day_of_month));
        setRecipients(s.recipients.join(', '));
      })
      .catch((e: ApiError) => (e.status === 404 ? setExisting(null) : setMessage(e.message)));
  }, [cohort.id]);

  const close = () => props.onClose(changed);
  const fail = (e: unknown) => {
    const err = e as ApiError;
    setIssues(err.issues ?? []);
    setMessage(
      err.code === 'run_in_progress'
        ? `An import of this cohort is already active (run ${String(err.details.run_id)}). Wait for it or cancel it in the history.`
        : errorSummary(err, FIELDS),
    );
  };
  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setIssues([]);
    setMessage(null);
    try {
      await work();
    } catch (e) {
      fail(e);
    } finally {
      setBusy(false);
    }
  };

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
        time,
        timezone: zone.trim(),
        recipients: recipientList(recipients),
        enabled: existing?.enabled ?? true,
      };
      if (cadence === 'weekly') body.weekday = weekday;
      if (cadence === 'monthly') body.day_of_month = dayOfMonth === 'last' ? 'last' : Number(dayOfMonth);
      const saved = await api<Schedule>('PUT', `/cohorts/${cohort.id}/schedule`, body);
      setExisting(saved);
      setChanged(true);
      setMessage(`Schedule saved: ${scheduleInWords(saved)}.`);
    });

  const setEnabled = (enabled: boolean) =>
    act(async () => {
      const saved = await api<Schedule>('PATCH', `/cohorts/${cohort.id}/schedule`, { enabled });
      setExisting(saved);
      setChanged(true);
      setMessage(enabled ? 'Schedule resumed.' : 'Schedule paused.');
    });

  const deleteSchedule = () =>
    act(async () => {
      await api('DELETE', `/cohorts/${cohort.id}/schedule`);
      setExisting(null);
      setChanged(true);
      setMessage('Schedule deleted.');
    });

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
          <div class="field">
            <label for="once-recipients">Email when it ends (optional)</label>
            <input
              id="once-recipients"
              type="text"
              inputMode="email"
              autocomplete="off"
              value={onceRecipients}
              onInput={(e) => setOnceRecipients(e.currentTarget.value)}
              {...describedBy('once-recipients-error', at('recipients'), 'once-recipients-hint')}
            />
            <p id="once-recipients-hint" class="hint">
              Addresses separated by commas.
            </p>
            <FieldError id="once-recipients-error" issues={at('recipients')} />
          </div>
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
              <div class="field">
                <label for="time">Time</label>
                <input
                  id="time"
                  type="time"
                  required
                  value={time}
                  onInput={(e) => setTime(e.currentTarget.value)}
                  {...describedBy('time-error', at('time'))}
                />
                <FieldError id="time-error" issues={at('time')} />
              </div>
              <div class="field">
                <label for="timezone">Time zone</label>
                <input
                  id="timezone"
                  list="timezones"
                  autocomplete="off"
                  spellcheck={false}
                  value={zone}
                  onInput={(e) => setZone(e.currentTarget.value)}
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
            <div class="field">
              <label for="recipients">Recipients</label>
              <input
                id="recipients"
                type="text"
                inputMode="email"
                autocomplete="off"
                value={recipients}
                onInput={(e) => setRecipients(e.currentTarget.value)}
                {...describedBy('recipients-error', at('recipients'), 'recipients-hint')}
              />
              <p id="recipients-hint" class="hint">
                Email addresses told about each run, separated by commas (up to 20).
              </p>
              <FieldError id="recipients-error" issues={at('recipients')} />
            </div>
          </>
        )}

        <p role="status" class={message && issues.length === 0 ? 'status' : 'error'}>
          {message}
        </p>

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
