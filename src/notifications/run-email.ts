import type { RunView } from '../runs/run-store';

/**
 * The email that tells a schedule's recipients how a run ended. Pure: the same run renders
 * the same message, so a retried notification is the same email. Plain text and HTML are
 * rendered from one list of facts, so they cannot drift apart.
 */
export interface RunEmailInput {
  run: RunView;
  cohortName: string;
  /** IANA zone the times are shown in: the schedule's zone, or "UTC". */
  timezone: string;
  /** Public base URL of the API; when given, the email links to the run. */
  appUrl?: string;
}

export interface RunEmail {
  subject: string;
  text: string;
  html: string;
}

type FinishedStatus = 'succeeded' | 'partially_failed' | 'failed';

/** One line of the email: label, value, and how the HTML should present the value. */
type Fact = [label: string, value: string, presentation?: { error?: boolean; link?: boolean }];

const outcomeLabels: Record<FinishedStatus, string> = {
  succeeded: 'succeeded',
  partially_failed: 'partially failed',
  failed: 'failed',
};

const triggerLabels: Record<RunView['trigger'], string> = {
  one_time: 'one-time',
  scheduled: 'scheduled',
  manual: 'manual',
};

const MINUS = '\u2212';
const NOT_AVAILABLE = '\u2014';
const count = new Intl.NumberFormat('en-US');

export function composeRunEmail(input: RunEmailInput): RunEmail {
  const { run } = input;
  const status = finishedStatus(run);
  const outcome = outcomeLabels[status];
  const zone = usableTimeZone(input.timezone);
  const runUrl = runLink(input);

  const facts: Fact[] = [
    ['Cohort', input.cohortName],
    ['Outcome', outcome],
    ['Trigger', triggerLabels[run.trigger]],
    ['Started', run.started_at ? formatInstant(run.started_at, zone) : 'not started'],
    ['Finished', run.finished_at ? formatInstant(run.finished_at, zone) : NOT_AVAILABLE],
    [
      'Members imported to Braze',
      run.cohort_size === null ? NOT_AVAILABLE : count.format(run.cohort_size - run.unmatchable),
    ],
    ['Added', count.format(run.added)],
    ['Removed', count.format(run.removed)],
    ['Unmatchable', count.format(run.unmatchable)],
    ['Failed', count.format(run.failed)],
  ];
  if (run.error) facts.push(['Error', run.error, { error: true }]);
  facts.push(['Run id', run.id]);
  if (runUrl) facts.push(['Details', runUrl, { link: true }]);

  const headline = `The import of "${input.cohortName}" into Braze ${outcome}.`;
  return {
    subject: subjectLine(input.cohortName, status, run),
    text: renderText(headline, facts),
    html: renderHtml(headline, facts),
  };
}

/**
 * The email that tells the recipients the removal guardrail held a run: why, with the counts,
 * and how to send or drop it. Nothing was sent to Braze.
 */
export function composeHoldEmail(input: RunEmailInput): RunEmail {
  const { run } = input;
  if (run.status !== 'held' || !run.planned) {
    throw new Error(`composeHoldEmail needs a held run; run ${run.id} is ${run.status}`);
  }
  const zone = usableTimeZone(input.timezone);
  const runUrl = runLink(input);
  const facts: Fact[] = [
    ['Cohort', input.cohortName],
    ['Outcome', 'held for approval: nothing was sent to Braze'],
    ['Trigger', triggerLabels[run.trigger]],
    ['Started', run.started_at ? formatInstant(run.started_at, zone) : 'not started'],
    ['Members in Braze now', count.format(run.planned.synced_before)],
    ['Would add', count.format(run.planned.added)],
    ['Would remove', count.format(run.planned.removed)],
    ['Cohort size', run.cohort_size === null ? NOT_AVAILABLE : count.format(run.cohort_size)],
    ['Unmatchable', count.format(run.unmatchable)],
    ['Why', run.hold_reason ?? NOT_AVAILABLE, { error: true }],
    ['To send it', `POST /v1/imports/${run.id}/approve`],
    ['To drop it', `POST /v1/imports/${run.id}/cancel`],
    ['Run id', run.id],
  ];
  if (runUrl) facts.push(['Details', runUrl, { link: true }]);
  const name = `"${truncate(singleLine(input.cohortName), 80)}"`;
  const headline = `The import of "${input.cohortName}" into Braze is held: it would remove ${count.format(run.planned.removed)} of ${count.format(run.planned.synced_before)} members.`;
  return {
    subject: `[Cohort Import] ${name} held for approval: would remove ${count.format(run.planned.removed)} of ${count.format(run.planned.synced_before)}`,
    text: renderText(headline, facts),
    html: renderHtml(headline, facts),
  };
}

function runLink(input: RunEmailInput): string | null {
  return input.appUrl ? `${input.appUrl.replace(/\/+$/, '')}/v1/imports/${encodeURIComponent(input.run.id)}` : null;
}

function finishedStatus(run: RunView): FinishedStatus {
  if (run.status === 'queued' || run.status === 'running' || run.status === 'held' || run.status === 'skipped') {
    // A caller bug, not a retryable condition: only a run that ran and ended has an outcome to report.
    throw new Error(`composeRunEmail needs a finished run; run ${run.id} is ${run.status}`);
  }
  return run.status;
}

function subjectLine(cohortName: string, status: FinishedStatus, run: RunView): string {
  const name = `"${truncate(singleLine(cohortName), 80)}"`;
  const changes =
    run.added === 0 && run.removed === 0
      ? 'no changes'
      : `+${count.format(run.added)} / ${MINUS}${count.format(run.removed)}`;
  switch (status) {
    case 'succeeded':
      return `[Cohort Import] ${name} succeeded: ${changes}`;
    case 'partially_failed':
      return `[Cohort Import] ${name} partially failed: ${changes}, ${count.format(run.failed)} failed`;
    case 'failed':
      return `[Cohort Import] ${name} failed${run.error ? `: ${shortReason(run.error)}` : ''}`;
  }
}

/** The first sentence of an error, so the subject stays readable; the body has all of it. */
function shortReason(error: string): string {
  const line = singleLine(error);
  const sentenceEnd = /[.!?](?=\s+[A-Z]|$)/.exec(line);
  const sentence = sentenceEnd ? line.slice(0, sentenceEnd.index + 1) : line;
  return truncate(sentence, 100);
}

function singleLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
}

function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max - 1);
  const atWord = cut.lastIndexOf(' ');
  return `${(atWord > max / 2 ? cut.slice(0, atWord) : cut).trimEnd()}\u2026`;
}

/**
 * Schedules are validated before they are saved, so a bad zone here means old or hand-edited
 * data; the email still goes out, with times in UTC and labelled as such.
 */
function usableTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
}

/** "2026-11-28 09:00:04 (America/New_York, UTC−05:00)"; the offset is the one in force at that instant. */
function formatInstant(iso: string, zone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  }).formatToParts(new Date(iso));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const local = `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}`;
  if (zone === 'UTC') return `${local} (UTC)`;
  // longOffset renders "GMT-05:00", or plain "GMT" for a zero offset.
  const gmt = part('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return `${local} (${zone}, UTC${gmt.replace('-', MINUS)})`;
}

function renderText(headline: string, facts: Fact[]): string {
  const width = Math.max(...facts.map(([label]) => label.length)) + 2;
  const rows = facts.map(([label, value]) => {
    // Continuation lines of a multi-line value (an error) line up under its first line.
    const indented = value.split(/\r?\n/).join(`\n${' '.repeat(width)}`);
    return `${`${label}:`.padEnd(width)}${indented}`;
  });
  return `${headline}\n\n${rows.join('\n')}\n`;
}

function renderHtml(headline: string, facts: Fact[]): string {
  const rows = facts
    .map(([label, value, presentation = {}]) => {
      const cell = presentation.link ? `<a href="${escapeHtml(value)}">${escapeHtml(value)}</a>` : escapeHtml(value);
      const valueStyle = presentation.error ? 'padding:4px 0;white-space:pre-wrap;color:#b00020' : 'padding:4px 0';
      return (
        `<tr><th scope="row" style="text-align:left;padding:4px 16px 4px 0;vertical-align:top;font-weight:600">` +
        `${escapeHtml(label)}</th><td style="${valueStyle}">${cell}</td></tr>`
      );
    })
    .join('\n');
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"><title>Cohort Import</title></head>',
    '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1a1a1a">',
    `<p style="font-size:16px">${escapeHtml(headline)}</p>`,
    '<table style="border-collapse:collapse">',
    rows,
    '</table>',
    '</body></html>',
    '',
  ].join('\n');
}

const htmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => htmlEntities[c] ?? c);
}
