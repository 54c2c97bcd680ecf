import { describe, expect, it } from 'vitest';
import { composeRunEmail } from '../../src/notifications/run-email';
import type { RunView } from '../../src/runs/run-store';

function finishedRun(overrides: Partial<RunView> = {}): RunView {
  return {
    id: 'run_01JDX4Q8Z5',
    cohort_id: 'coh_42',
    trigger: 'scheduled',
    status: 'succeeded',
    full_resync: false,
    recipients: ['ops@example.com'],
    created_at: '2026-11-28T14:00:00.000Z',
    started_at: '2026-11-28T14:00:04.000Z',
    finished_at: '2026-11-28T14:03:10.000Z',
    cohort_size: 12_345,
    added: 1_234,
    removed: 56,
    unmatchable: 7,
    failed: 0,
    error: null,
    guardrail: true,
    planned: null,
    hold_reason: null,
    ...overrides,
  };
}

/** The HTML with tags removed and entities resolved, to compare facts with the plain text. */
function htmlFacts(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

const compose = (run: RunView, extra: { cohortName?: string; timezone?: string; appUrl?: string } = {}) =>
  composeRunEmail({
    run,
    cohortName: extra.cohortName ?? 'Lusophone buyers',
    timezone: extra.timezone ?? 'UTC',
    appUrl: extra.appUrl,
  });

describe('composeRunEmail: outcomes', () => {
  it.each<[string, Partial<RunView>, string, string]>([
    ['succeeded', {}, '[Cohort Import] "Lusophone buyers" succeeded: +1,234 / −56', 'succeeded'],
    [
      'succeeded without changes',
      { added: 0, removed: 0 },
      '[Cohort Import] "Lusophone buyers" succeeded: no changes',
      'succeeded',
    ],
    [
      'partially failed',
      {
        status: 'partially_failed',
        failed: 1_500,
        error: '1500 of 2790 changes could not be sent to Braze after every retry (2 page(s)). Last error: 503.',
      },
      '[Cohort Import] "Lusophone buyers" partially failed: +1,234 / −56, 1,500 failed',
      'partially failed',
    ],
    [
      'failed with a reason',
      {
        status: 'failed',
        added: 0,
        removed: 0,
        error: 'Braze rejected the data import key. Update the Braze connection and run again.',
      },
      '[Cohort Import] "Lusophone buyers" failed: Braze rejected the data import key.',
      'failed',
    ],
    [
      'failed without a reason',
      { status: 'failed', added: 0, removed: 0 },
      '[Cohort Import] "Lusophone buyers" failed',
      'failed',
    ],
  ])('%s', (_name, overrides, subject, outcome) => {
    const email = compose(finishedRun(overrides));
    expect(email.subject).toBe(subject);
    expect(email.text).toMatch(new RegExp(`^Outcome: +${outcome}$`, 'm'));
    expect(htmlFacts(email.html)).toMatch(new RegExp(`Outcome\\s+${outcome}\\s`));
  });

  it.each<[RunView['trigger'], string]>([
    ['one_time', 'one-time'],
    ['scheduled', 'scheduled'],
    ['manual', 'manual'],
  ])('names the %s trigger as "%s"', (trigger, label) => {
    const email = compose(finishedRun({ trigger }));
    expect(email.text).toMatch(new RegExp(`^Trigger: +${label}$`, 'm'));
    expect(htmlFacts(email.html)).toMatch(new RegExp(`Trigger\\s+${label}\\s`));
  });

  it('shortens a long failure reason in the subject but keeps all of it in the body', () => {
    const error = `Warehouse query failed: ${'column x does not exist '.repeat(10)}(SQLITE_ERROR)`;
    const email = compose(finishedRun({ status: 'failed', error }));
    expect(email.subject.length).toBeLessThan(160);
    expect(email.subject).toMatch(/failed: Warehouse query failed: column x does not exist .*…$/);
    expect(email.text).toContain(error);
    expect(htmlFacts(email.html)).toContain(error);
  });

  it('refuses a run that has not finished', () => {
    expect(() => compose(finishedRun({ status: 'running', finished_at: null }))).toThrow(/run_01JDX4Q8Z5 is running/);
  });
});

describe('composeRunEmail: facts', () => {
  it('lists counts with thousands separators, members imported as cohort size minus unmatchable, and the run id', () => {
    const email = compose(
      finishedRun({
        cohort_size: 1_234_567,
        unmatchable: 4_567,
        added: 23_456,
        removed: 7_890,
        failed: 1_001,
        status: 'partially_failed',
      }),
    );
    const expected: Array<[string, string]> = [
      ['Members imported to Braze', '1,230,000'],
      ['Added', '23,456'],
      ['Removed', '7,890'],
      ['Unmatchable', '4,567'],
      ['Failed', '1,001'],
      ['Run id', 'run_01JDX4Q8Z5'],
    ];
    for (const [label, value] of expected) {
      expect(email.text).toMatch(new RegExp(`^${label}: +${value}$`, 'm'));
      expect(htmlFacts(email.html)).toMatch(new RegExp(`${label}\\s+${value}\\s`));
    }
  });

  it('shows a dash for members imported when the run never froze its members, and "not started" without a start', () => {
    const email = compose(
      finishedRun({
        status: 'failed',
        cohort_size: null,
        started_at: null,
        unmatchable: 0,
        added: 0,
        removed: 0,
        error: 'The job queue was unreachable.',
      }),
    );
    expect(email.text).toMatch(/^Members imported to Braze: +—$/m);
    expect(email.text).toMatch(/^Started: +not started$/m);
    expect(email.text).toMatch(/^Error: +The job queue was unreachable\.$/m);
    expect(htmlFacts(email.html)).toMatch(/Members imported to Braze\s+—\s/);
  });

  it('has no Error line when the run has no error', () => {
    const email = compose(finishedRun());
    expect(email.text).not.toMatch(/^Error:/m);
    expect(email.html).not.toContain('>Error<');
  });

  it('carries the same facts in the plain text and the HTML', () => {
    const email = compose(finishedRun({ status: 'failed', error: 'Braze answered 401.\nCheck the key.' }), {
      timezone: 'Europe/Berlin',
      appUrl: 'https://imports.example.com/',
    });
    const html = htmlFacts(email.html).replace(/\s+/g, ' ');
    const lines = email.text.split('\n').filter((l) => l.includes(':'));
    expect(lines.length).toBeGreaterThanOrEqual(12);
    for (const line of lines) {
      const [label, ...rest] = line.split(/:\s+/);
      const value = rest.join(': ').trim();
      expect(html).toContain(label!.trim());
      if (value) expect(html).toContain(value);
    }
    expect(email.text).toContain('Details:                   https://imports.example.com/v1/imports/run_01JDX4Q8Z5');
    expect(email.html).toContain('<a href="https://imports.example.com/v1/imports/run_01JDX4Q8Z5">');
  });
});

describe('composeRunEmail: times in the schedule zone', () => {
  it.each<[string, string, string, string]>([
    // America/New_York is UTC−4 in July (EDT) and UTC−5 in January (EST).
    [
      'New York in July',
      'America/New_York',
      '2026-07-15T13:00:04.000Z',
      '2026-07-15 09:00:04 (America/New_York, UTC−04:00)',
    ],
    [
      'New York in January',
      'America/New_York',
      '2026-01-15T14:00:04.000Z',
      '2026-01-15 09:00:04 (America/New_York, UTC−05:00)',
    ],
    ['Berlin in summer', 'Europe/Berlin', '2026-07-15T07:00:00.000Z', '2026-07-15 09:00:00 (Europe/Berlin, UTC+02:00)'],
    [
      'Sydney in January (DST)',
      'Australia/Sydney',
      '2026-01-14T22:00:00.000Z',
      '2026-01-15 09:00:00 (Australia/Sydney, UTC+11:00)',
    ],
    ['Kolkata half hour', 'Asia/Kolkata', '2026-01-15T03:30:00.000Z', '2026-01-15 09:00:00 (Asia/Kolkata, UTC+05:30)'],
    [
      'London in winter (zero offset)',
      'Europe/London',
      '2026-01-15T09:00:00.000Z',
      '2026-01-15 09:00:00 (Europe/London, UTC+00:00)',
    ],
    ['UTC', 'UTC', '2026-01-15T00:00:00.000Z', '2026-01-15 00:00:00 (UTC)'],
    ['an unknown zone falls back to UTC', 'Mars/Olympus_Mons', '2026-01-15T09:00:00.000Z', '2026-01-15 09:00:00 (UTC)'],
  ])('%s', (_name, timezone, instant, shown) => {
    const email = compose(finishedRun({ started_at: instant, finished_at: instant }), { timezone });
    expect(email.text).toMatch(new RegExp(`^Started: +${escapeRegExp(shown)}$`, 'm'));
    expect(email.text).toMatch(new RegExp(`^Finished: +${escapeRegExp(shown)}$`, 'm'));
    expect(htmlFacts(email.html)).toContain(shown);
  });

  it('shows each time with the offset in force at that instant across a DST change', () => {
    // US fall back on 2026-11-01 at 02:00 EDT: a run spanning it starts in EDT and ends in EST.
    const email = compose(
      finishedRun({ started_at: '2026-11-01T05:30:00.000Z', finished_at: '2026-11-01T06:30:00.000Z' }),
      {
        timezone: 'America/New_York',
      },
    );
    expect(email.text).toMatch(/^Started: +2026-11-01 01:30:00 \(America\/New_York, UTC−04:00\)$/m);
    expect(email.text).toMatch(/^Finished: +2026-11-01 01:30:00 \(America\/New_York, UTC−05:00\)$/m);
  });
});

describe('composeRunEmail: untrusted text', () => {
  const cohortName = '<script>alert("name")</script> & co\'s';
  const error = 'Braze said: <img src=x onerror="alert(1)"> & "quoted"';
  const email = compose(finishedRun({ status: 'failed', error }), { cohortName });

  it('escapes the cohort name and the error in the HTML', () => {
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt; &amp; co&#39;s');
    expect(email.html).toContain('Braze said: &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &quot;quoted&quot;');
  });

  it('keeps the plain text and the subject literal', () => {
    expect(email.text).toContain(`Cohort:                    ${cohortName}`);
    expect(email.text).toContain(error);
    expect(email.subject).toBe(`[Cohort Import] "${cohortName}" failed: ${error}`);
  });

  it('keeps a line break in a cohort name out of the subject', () => {
    const { subject } = compose(finishedRun(), { cohortName: 'Line one\r\nBcc: attacker@example.com' });
    expect(subject).toBe('[Cohort Import] "Line one Bcc: attacker@example.com" succeeded: +1,234 / −56');
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
