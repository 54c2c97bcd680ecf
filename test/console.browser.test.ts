import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scheduleInWords } from '../console/src/format';
import { ARTIFACTS_DIR, ensureConsoleBuilt, launchChromium } from './support/browser';
import { sandboxMembers } from './support/expectations';
import { createConnectedWorkspace, type Harness, seedDemo, startHarness, waitForRun } from './support/harness';

/**
 * Cohort Control in a real browser (Debian's Chromium through playwright-core) against the
 * real stack: the API and workers on real Redis and SQLite, and the Braze sandbox.
 */
let h: Harness;
let browser: Browser;
let ws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
const contexts: BrowserContext[] = [];
const ZONE = 'Europe/Lisbon';

beforeAll(async () => {
  await ensureConsoleBuilt();
  h = await startHarness();
  ws = await createConnectedWorkspace(h, 'Console');
  await seedDemo(h, ws, { users: 2_000, seed: 21 });
  browser = await launchChromium();
}, 120_000);
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** A fresh browser tab, watched for what must never happen: CSP violations, page errors, a token in a URL. */
async function openConsole(opts: { width?: number; height?: number } = {}) {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    timezoneId: ZONE,
    locale: 'en-GB',
  });
  contexts.push(context);
  const page = await context.newPage();
  const problems: string[] = [];
  const urls: string[] = [];
  page.on('console', (m) => {
    // Chromium logs every 4xx answer; the API's answers are checked where they matter.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(`${h.baseUrl}/`);
  return { page, problems, urls };
}

async function signIn(page: Page, token: string) {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Cohort Control' }).waitFor();
}

interface Focused {
  tag: string;
  text: string;
  row: string | null;
  outline: string;
}
/** The focused element, read in the page (a string: this file is type-checked without the DOM). */
const FOCUSED = `(() => {
  const el = document.activeElement;
  return { tag: el.tagName, text: el.textContent, row: el.closest('tr')?.getAttribute('data-cohort-id') ?? null,
           outline: getComputedStyle(el).outlineStyle };
})()`;

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`), fullPage: true });

async function apiGet(path: string, token = ws.token) {
  const res = await h.request('GET', path, { token });
  expect(res.status, path).toBe(200);
  return res.body;
}

/** The first history row once its outcome is no longer queued or running. */
async function settledRow(page: Page, trigger: string) {
  const row = page.locator('table.history tbody tr').first();
  await expect.poll(() => row.locator('[data-label="Trigger"]').textContent(), { timeout: 60_000 }).toBe(trigger);
  await expect
    .poll(() => row.locator('[data-label="Outcome"]').textContent(), { timeout: 60_000 })
    .toMatch(/^(Succeeded|Failed|Partially failed)$/);
  return row;
}

describe('Cohort Control in Chromium', () => {
  it('runs the marketer workflow: sign in → build → preview → import once → schedule → run now → errors → sign out', async () => {
    const { page, problems, urls } = await openConsole();
    await signIn(page, ws.token);
    await page.getByText('No cohorts yet').waitFor();
    await shot(page, '01-empty-workspace');

    // Build a cohort in the builder.
    await page.getByRole('main').getByRole('link', { name: 'New cohort' }).click();
    await page.getByRole('button', { name: 'Add property condition' }).click();
    // The API's validation messages sit next to the field they name: the live preview's…
    const propertyName = page.getByLabel('Property name');
    await expect.poll(() => propertyName.getAttribute('aria-invalid')).toBe('true');
    const propertyError = await page.locator(`#${await propertyName.getAttribute('id')}-error`).textContent();
    expect(propertyError).toMatch(/invalid property name ""/);
    // …and the save's.
    await page.getByRole('button', { name: 'Create cohort' }).click();
    await page.locator('#name-error').getByText('must be a non-empty string').waitFor();
    expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Name', { exact: true }).fill('Brazil, identified');
    await propertyName.fill('country');
    await expect.poll(() => propertyName.getAttribute('aria-invalid')).toBeNull();
    await page.getByLabel('Value', { exact: true }).fill('BR');
    await page.getByRole('button', { name: 'Add identity condition' }).click();
    const criteria = { all: [{ property: 'country', op: 'eq', value: 'BR' }, { identity: 'identified' }] };

    // The live preview says what the API says.
    const expected = await h.request('POST', '/v1/cohorts/preview', { token: ws.token, body: { criteria } });
    expect(expected.status).toBe(200);
    expect(expected.body.count).toBeGreaterThan(0);
    const previewCount = page.getByTestId('preview-count');
    await expect.poll(() => previewCount.textContent()).toBe(expected.body.count.toLocaleString('en'));
    expect(await page.getByTestId('preview-unmatchable').textContent()).toBe(
      expected.body.unmatchable.toLocaleString('en'),
    );
    await page
      .getByRole('table', { name: /Sample members/ })
      .getByText('external_id')
      .first()
      .waitFor();
    expect(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBeNull();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(
      0,
    );
    await shot(page, '02-cohort-builder');
    await page.getByRole('button', { name: 'JSON' }).click();
    expect(JSON.parse(await page.getByLabel('Criteria as JSON').inputValue())).toEqual(criteria);
    await page.getByRole('button', { name: 'Builder' }).click();
    await page.getByRole('button', { name: 'Create cohort' }).click();
    await page.waitForURL(/#\/cohorts\/[0-9a-f-]{36}$/);
    const cohortId = /cohorts\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    expect((await apiGet(`/v1/cohorts/${cohortId}`)).criteria).toEqual(criteria);
    // The saved cohort opens in the builder as it was built.
    await page.getByRole('heading', { level: 1, name: 'Edit Brazil, identified' }).waitFor();
    expect(await page.getByLabel('Property name').inputValue()).toBe('country');
    expect(await page.getByLabel('Value', { exact: true }).inputValue()).toBe('BR');
    expect(await page.getByLabel('Identity', { exact: true }).inputValue()).toBe('identified');

    // Import to Braze, once.
    await page.getByRole('button', { name: 'Import to Braze' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByRole('radio', { name: 'Once now' }).isChecked()).toBe(true);
    await dialog.getByRole('button', { name: 'Import now' }).click();
    await page.waitForURL(/\/history$/);
    const first = await settledRow(page, 'Once');
    expect(await first.locator('[data-label="Outcome"]').textContent()).toBe('Succeeded');
    const imported = expected.body.count - expected.body.unmatchable;
    expect(await first.locator('[data-label="Users imported"]').textContent()).toBe(imported.toLocaleString('en'));
    const [run] = (await apiGet(`/v1/cohorts/${cohortId}/imports`)).data;
    expect(run).toMatchObject({ status: 'succeeded', cohort_size: expected.body.count, added: imported });

    // A daily schedule in a named zone, shown in words with its next run on the list.
    await page.getByRole('button', { name: 'Import to Braze' }).click();
    await dialog.getByRole('radio', { name: 'On a schedule' }).check();
    expect(await dialog.getByLabel('Time zone').inputValue()).toBe(ZONE); // the browser's zone, preselected
    await dialog.getByLabel('Cadence').selectOption('daily');
    await dialog.getByLabel('Time', { exact: true }).fill('09:00');
    await dialog.getByLabel('Time zone').fill('America/Sao_Paulo');
    await dialog.getByRole('button', { name: 'Save schedule' }).click();
    await dialog.getByText(/^Schedule saved/).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    const schedule = await apiGet(`/v1/cohorts/${cohortId}/schedule`);
    expect(schedule).toMatchObject({ cadence: 'daily', time: '09:00', timezone: 'America/Sao_Paulo' });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cohorts' }).click();
    const listRow = page.locator(`tr[data-cohort-id="${cohortId}"]`);
    await expect.poll(() => listRow.locator('[data-label="Schedule"]').textContent()).toBe(scheduleInWords(schedule));
    expect(scheduleInWords(schedule)).toMatch(
      /^Daily at 09:00 America\/Sao_Paulo — next run \w{3},? \d{1,2} \w{3}( \d{4})?, 09:00$/,
    );
    expect(await listRow.locator('[data-label="Size"]').textContent()).toBe(expected.body.count.toLocaleString('en'));
    expect(await listRow.locator('[data-label="Last run"]').textContent()).toMatch(/^Succeeded /);
    await shot(page, '03-cohort-control');

    // Run now: a second row, trigger manual.
    await listRow.getByRole('link', { name: /History/ }).click();
    await page.getByRole('button', { name: 'Run now' }).click();
    const second = await settledRow(page, 'Manual');
    expect(await second.locator('[data-label="Outcome"]').textContent()).toBe('Succeeded');
    expect(await page.locator('table.history tbody tr').count()).toBe(2);
    expect(await page.getByRole('columnheader', { name: /Execution time \(America\/Sao_Paulo\)/ }).count()).toBe(1);
    await shot(page, '04-history');

    // An invalid recipient: the API's message next to the field.
    await page.getByRole('button', { name: 'Import to Braze' }).click();
    await dialog.getByRole('radio', { name: 'On a schedule' }).check();
    await dialog.getByText(/already has a schedule/).waitFor();
    await dialog.getByLabel('Recipients').fill('crm@example.com, not-an-email');
    await dialog.getByRole('button', { name: 'Save schedule' }).click();
    const recipientsError = dialog.locator('#recipients-error');
    await recipientsError.waitFor();
    expect(await recipientsError.textContent()).toMatch(/"not-an-email" is not a valid email address/);
    expect(await dialog.getByLabel('Recipients').getAttribute('aria-invalid')).toBe('true');
    await shot(page, '05-recipient-error');
    await dialog.getByRole('button', { name: 'Pause schedule' }).click();
    await dialog.getByText('Schedule paused.').waitFor();
    expect((await apiGet(`/v1/cohorts/${cohortId}/schedule`)).enabled).toBe(false);
    await dialog.getByRole('button', { name: 'Resume schedule' }).click();
    await dialog.getByText('Schedule resumed.').waitFor();
    expect((await apiGet(`/v1/cohorts/${cohortId}/schedule`)).enabled).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    // Sign out: the token is gone from the tab, and was never in a URL or localStorage.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate('[sessionStorage.length, localStorage.length]')).toEqual([0, 0]);
    expect(urls.filter((u) => u.includes(ws.token))).toEqual([]);
    expect(problems).toEqual([]);
  }, 180_000);

  it('says "This token is not valid" for a wrong token and stays signed out', async () => {
    const { page, problems } = await openConsole();
    await page.getByLabel('API token').fill('ci_not_a_real_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'This token is not valid' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(problems).toEqual([]);
  });

  it('imports with the keyboard alone, with focus always visible', async () => {
    const created = await h.request('POST', '/v1/cohorts', {
      token: ws.token,
      body: { name: 'Keyboard cohort', criteria: { all: [{ property: 'country', op: 'eq', value: 'PT' }] } },
    });
    const { page } = await openConsole();
    await page.getByLabel('API token').focus();
    await page.keyboard.type(ws.token);
    await page.keyboard.press('Enter');
    // A new page puts focus on its heading; Tab goes on from there.
    await expect.poll(() => page.evaluate<string>('document.activeElement?.tagName')).toBe('H1');

    /** Tabs forward until the focused element is the one wanted; every stop must show its focus. */
    async function tabTo(wanted: (el: Focused) => boolean, max = 60) {
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab');
        const el = await page.evaluate<Focused>(FOCUSED);
        if (el.tag !== 'BODY') expect(el.outline, `focus visible on ${el.tag} "${el.text}"`).not.toBe('none');
        if (wanted(el)) return;
      }
      throw new Error('the control was not reached with Tab');
    }
    await tabTo((el) => el.text === 'Import to Braze' && el.row === created.body.id);
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await tabTo((el) => el.text === 'Import now');
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`${created.body.id}/history$`));
    const row = await settledRow(page, 'Once');
    expect(await row.locator('[data-label="Outcome"]').textContent()).toBe('Succeeded');
  }, 120_000);

  it('reads well at 390 px: no sideways scrolling, tables become cards, the dialog fits', async () => {
    const { page } = await openConsole({ width: 390, height: 844 });
    await signIn(page, ws.token);
    await page.locator('table.cohorts tbody tr').first().waitFor();
    const overflow = () => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(await overflow()).toBeLessThanOrEqual(0);
    expect((await page.locator('table.cohorts thead').boundingBox())!.height).toBeLessThan(2);
    await shot(page, '06-phone-list');
    await page.getByRole('button', { name: 'Import to Braze' }).first().click();
    await page.getByRole('dialog').getByRole('radio', { name: 'On a schedule' }).check();
    const box = await page.getByRole('dialog').boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    await shot(page, '07-phone-dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await page.getByRole('main').getByRole('link', { name: 'New cohort' }).click();
    await page.getByRole('button', { name: 'Add event condition' }).click();
    expect(await overflow()).toBeLessThanOrEqual(0);
  });

  it('pages a workspace of 1,000 cohorts 50 at a time', async () => {
    const other = await createConnectedWorkspace(h, 'Many');
    for (let i = 0; i < 1000; i++) {
      h.ctx.cohorts.create(other.workspaceId, { name: `Cohort ${i}`, criteria: { identity: 'identified' } });
    }
    const { page } = await openConsole();
    await signIn(page, other.token);
    const rows = page.locator('table.cohorts tbody tr');
    await rows.first().waitFor();
    const names = () => rows.locator('th').allTextContents();
    const first = await names();
    expect(first).toHaveLength(50);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('Page 2').waitFor();
    const second = await names();
    expect(second).toHaveLength(50);
    expect(second.filter((n) => first.includes(n))).toEqual([]);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('Page 1').waitFor();
    expect(await names()).toEqual(first);
  });

  it("shows an active run's progress, says which run blocks Run now, and cancels it", async () => {
    const created = await h.request('POST', '/v1/cohorts', {
      token: ws.token,
      body: { name: 'Slow cohort', criteria: { all: [{ property: 'country', op: 'eq', value: 'US' }] } },
    });
    const id = created.body.id;
    await h.request('PUT', `/v1/cohorts/${id}/schedule`, {
      token: ws.token,
      body: { cadence: 'monthly', day_of_month: 'last', time: '06:30', timezone: 'Asia/Tokyo' },
    });
    // A slow Braze keeps the run active long enough to watch it.
    await h.sandbox('PUT', '/sandbox/config', { faults: { latency_ms: 3_000 } });
    try {
      const { page } = await openConsole();
      await signIn(page, ws.token);
      await page
        .locator(`tr[data-cohort-id="${id}"]`)
        .getByRole('link', { name: /History/ })
        .click();
      await page.getByText('Schedule: Monthly on the last day at 06:30 Asia/Tokyo').waitFor();
      await page.getByRole('button', { name: 'Run now' }).click();
      const active = page.getByRole('region', { name: 'Active run' });
      await active.waitFor();
      await active.getByRole('progressbar', { name: 'Pages sent' }).waitFor();
      // Once the cohort is registered in Braze, the run's pages are counted as they are sent.
      await active.getByText(/: 0 of 1 pages sent\./).waitFor({ timeout: 30_000 });
      const [run] = (await apiGet(`/v1/cohorts/${id}/imports`)).data;

      await page.getByRole('button', { name: 'Run now' }).click();
      await page.getByText(`Run ${run.id} is already active`).waitFor();
      await shot(page, '08-active-run');

      await active.getByRole('button', { name: 'Cancel run' }).click();
      const row = await settledRow(page, 'Manual');
      expect(await row.locator('[data-label="Outcome"]').textContent()).toBe('Failed');
      expect(await row.locator('[data-label="Error"]').textContent()).toBe('Cancelled by request.');
      await active.waitFor({ state: 'detached' });
    } finally {
      await h.sandbox('PUT', '/sandbox/config', { faults: null });
    }
  }, 120_000);

  it('connects Braze: endpoint from the list, key write-only, removal confirmed', async () => {
    const ws2 = await h.request('POST', '/v1/workspaces', { token: h.adminToken, body: { name: 'Unconnected' } });
    const brazeWs = await h.sandbox('POST', '/sandbox/workspaces', { name: 'Unconnected' });
    const key = await h.sandbox('POST', `/sandbox/workspaces/${brazeWs.id}/data-import-keys`, {});
    const { page } = await openConsole();
    await signIn(page, ws2.body.api_token);
    await page.getByRole('link', { name: 'Braze connection' }).click();
    await page.getByText('This workspace is not connected to Braze yet.').waitFor();
    await page.getByText('Partner Integrations > Technology Partners').waitFor();
    const endpoint = page.getByLabel('REST endpoint');
    expect(await endpoint.locator('option').allTextContents()).toContain('https://rest.iad-01.braze.com (US)');

    await page.getByRole('button', { name: 'Save connection' }).click();
    await page.locator('#endpoint-error').waitFor();

    await endpoint.selectOption(h.sandboxUrl);
    await page.getByLabel('Data import key').fill(key.key);
    await page.getByRole('button', { name: 'Save connection' }).click();
    await page.getByText('Braze connection saved.').waitFor();
    expect(await page.getByLabel('Data import key').inputValue()).toBe('');
    const shown = await page.locator('.facts').textContent();
    expect(shown).toContain(`…${key.key.slice(-4)}`);
    expect(shown).not.toContain(key.key);

    await page.getByRole('button', { name: 'Remove connection' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove the Braze connection?' });
    await confirm.getByRole('button', { name: 'Keep it' }).click();
    expect((await h.request('GET', '/v1/braze-connection', { token: ws2.body.api_token })).status).toBe(200);
    await page.getByRole('button', { name: 'Remove connection' }).click();
    await confirm.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.getByText('This workspace is not connected to Braze yet.').waitFor();
    expect((await h.request('GET', '/v1/braze-connection', { token: ws2.body.api_token })).status).toBe(404);
  });

  it("creates an hourly schedule: every N hours at minute M, the API's message next to the minute", async () => {
    const created = await h.request('POST', '/v1/cohorts', {
      token: ws.token,
      body: { name: 'Hourly cohort', criteria: { all: [{ property: 'country', op: 'eq', value: 'DE' }] } },
    });
    const id = created.body.id;
    const { page, problems } = await openConsole();
    await signIn(page, ws.token);
    const listRow = page.locator(`tr[data-cohort-id="${id}"]`);
    await listRow.getByRole('button', { name: 'Import to Braze' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('radio', { name: 'On a schedule' }).check();
    await dialog.getByLabel('Cadence').selectOption('hourly');
    // An hourly schedule has no time of day: every N hours from local midnight, at a minute.
    expect(await dialog.getByLabel('Time', { exact: true }).count()).toBe(0);
    expect(await dialog.getByLabel('Every').locator('option').allTextContents()).toEqual([
      'hour',
      '2 hours',
      '3 hours',
      '4 hours',
      '6 hours',
      '8 hours',
      '12 hours',
    ]);
    await dialog.getByLabel('Every').selectOption('2');
    const minute = dialog.getByLabel('Minute past the hour');
    await minute.fill('75');
    await dialog.getByLabel('Time zone').fill('Asia/Kolkata');
    await dialog.getByRole('button', { name: 'Save schedule' }).click();
    const minuteError = dialog.locator('#minute-error');
    await minuteError.waitFor();
    expect(await minuteError.textContent()).toMatch(/minute must be a whole number from 0 to 59.*\(got 75\)/);
    expect(await minute.getAttribute('aria-invalid')).toBe('true');
    await dialog.getByText('Correct the highlighted field.').waitFor();
    expect((await h.request('GET', `/v1/cohorts/${id}/schedule`, { token: ws.token })).status).toBe(404);

    await minute.fill('15');
    await dialog.getByLabel('Email them').selectOption('failures');
    await minuteError.waitFor({ state: 'detached' });
    await dialog.getByText('Runs at 00:15, 02:15, 04:15, …, 22:15 in the time zone, counted from midnight.').waitFor();
    await dialog.getByRole('button', { name: 'Save schedule' }).click();
    await dialog.getByText(/^Schedule saved/).waitFor();
    await shot(page, '09-hourly-schedule');
    const schedule = await apiGet(`/v1/cohorts/${id}/schedule`);
    expect(schedule).toMatchObject({
      cadence: 'hourly',
      minute: 15,
      every_hours: 2,
      timezone: 'Asia/Kolkata',
      notify: 'failures',
    });
    expect(schedule.time).toBeUndefined();
    await dialog.getByRole('button', { name: 'Close' }).click();

    // Listed in words, as the console's own describer says it.
    await expect.poll(() => listRow.locator('[data-label="Schedule"]').textContent()).toBe(scheduleInWords(schedule));
    expect(scheduleInWords(schedule)).toMatch(
      /^Every 2 hours from midnight at :15 Asia\/Kolkata — next run \w{3},? \d{1,2} \w{3}( \d{4})?, ([01]\d|2[0-3]):15$/,
    );

    // Opened again, the form holds the hourly schedule, and saving it unchanged keeps it.
    await listRow.getByRole('button', { name: 'Import to Braze' }).click();
    await dialog.getByRole('radio', { name: 'On a schedule' }).check();
    await dialog.getByText(/already has a schedule \(Every 2 hours from midnight at :15 Asia\/Kolkata/).waitFor();
    expect(await dialog.getByLabel('Cadence').inputValue()).toBe('hourly');
    expect(await dialog.getByLabel('Every').inputValue()).toBe('2');
    expect(await minute.inputValue()).toBe('15');
    expect(await dialog.getByLabel('Email them').inputValue()).toBe('failures');
    await dialog.getByRole('button', { name: 'Save schedule' }).click();
    await dialog.getByText(/^Schedule saved/).waitFor();
    expect(await apiGet(`/v1/cohorts/${id}/schedule`)).toMatchObject({
      cadence: 'hourly',
      minute: 15,
      every_hours: 2,
      timezone: 'Asia/Kolkata',
      // Re-saved from the form, the email setting is kept (the form used to send none: "always").
      notify: 'failures',
    });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await listRow.getByRole('link', { name: /History/ }).click();
    await page.getByText('Schedule: Every 2 hours from midnight at :15 Asia/Kolkata — next run').waitFor();
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('Runs held by the removal guardrail, in Chromium', () => {
  let gws: Awaited<ReturnType<typeof createConnectedWorkspace>>;
  beforeAll(async () => {
    gws = await createConnectedWorkspace(h, 'Guardrail');
  });

  /**
   * A cohort of six users imported once, then a run that would remove four of them: over its
   * guardrail (more than 50% and more than 2), so it is held with nothing sent.
   */
  async function heldRun(name: string) {
    const keys = [1, 2, 3, 4, 5, 6].map((n) => `${name}-${n}`);
    await h.sandbox('POST', `/sandbox/workspaces/${gws.brazeWorkspaceId}/users/batch`, {
      users: keys.map((k) => ({ external_id: `ext-${k}` })),
    });
    const setTier = async (tier: string, userKeys: string[]) => {
      const res = await h.request('POST', '/v1/users/batch', {
        token: gws.token,
        body: { users: userKeys.map((k) => ({ user_key: k, external_id: `ext-${k}`, properties: { tier } })) },
      });
      expect(res.status).toBe(200);
    };
    const importNow = async () => {
      const res = await h.request('POST', `/v1/cohorts/${cohort.id}/imports`, { token: gws.token, body: {} });
      expect(res.status).toBe(202);
      return waitForRun(h, gws.token, res.body.id);
    };
    const created = await h.request('POST', '/v1/cohorts', {
      token: gws.token,
      body: {
        name,
        criteria: { all: [{ property: 'tier', op: 'eq', value: `${name}-gold` }] },
        guardrail: { max_removal_percent: 50, min_removals: 2 },
      },
    });
    expect(created.status).toBe(201);
    const cohort = created.body as { id: string; braze_cohort_id: string };
    await setTier(`${name}-gold`, keys);
    expect(await importNow()).toMatchObject({ status: 'succeeded', added: 6 });
    await setTier('silver', keys.slice(0, 4));
    const run = await importNow();
    expect(run).toMatchObject({ status: 'held', planned: { added: 0, removed: 4, synced_before: 6 } });
    return { cohort, run, keys, inBraze: () => sandboxMembers(h, gws.brazeWorkspaceId, cohort.braze_cohort_id) };
  }

  async function openHistory(cohortId: string, opts: { width?: number; height?: number } = {}) {
    const opened = await openConsole(opts);
    await signIn(opened.page, gws.token);
    await opened.page
      .locator(`tr[data-cohort-id="${cohortId}"]`)
      .getByRole('link', { name: /History/ })
      .click();
    return opened;
  }

  const rowOf = (page: Page, runId: string) => page.locator(`table.history tr[data-run-id="${runId}"]`);
  const errorLine = (page: Page) => page.locator('p[role="status"].error');

  it('shows why a run was held and what it would send; Approve, once confirmed, sends it in place', async () => {
    const { cohort, run, keys, inBraze } = await heldRun('approve');
    const { page, problems } = await openHistory(cohort.id);
    const held = page.getByRole('region', { name: 'Held run' });
    await held.waitFor();
    expect(await held.locator('.hold-reason').textContent()).toBe(run.hold_reason);
    expect(run.hold_reason).toMatch(/remove 4 of the 6 /);
    expect(await held.getByTestId('planned-synced-before').textContent()).toBe('6');
    expect(await held.getByTestId('planned-removed').textContent()).toBe('4');
    expect(await held.getByTestId('planned-added').textContent()).toBe('0');
    const row = rowOf(page, run.id);
    expect(await row.locator('[data-label="Outcome"]').textContent()).toBe('Held for approval');
    // Marks this document: a reload would drop the mark.
    await page.evaluate('window.sameDocument = true');

    // The confirmation says what approving removes; keeping it held sends nothing.
    await held.getByRole('button', { name: 'Approve' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove 4 of 6 users from the Braze cohort?' });
    await confirm.getByText('4 users removed and none added: the Braze cohort goes from 6 users to 2.').waitFor();
    await shot(page, '10-approve-held-run');
    await confirm.getByRole('button', { name: 'Keep it held' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await apiGet(`/v1/imports/${run.id}`, gws.token)).status).toBe('held');

    await held.getByRole('button', { name: 'Approve' }).click();
    await confirm.getByRole('button', { name: 'Approve and send' }).click();
    await expect.poll(() => row.locator('[data-label="Outcome"]').textContent(), { timeout: 60_000 }).toBe('Succeeded');
    expect(await row.locator('[data-label="Removed"]').textContent()).toBe('4');
    await held.waitFor({ state: 'detached' });
    expect(await page.evaluate('window.sameDocument')).toBe(true);
    expect(await apiGet(`/v1/imports/${run.id}`, gws.token)).toMatchObject({ status: 'succeeded', removed: 4 });
    expect(await inBraze()).toEqual(new Set(keys.slice(4).map((k) => `external_id:ext-${k}`)));
    expect(await errorLine(page).count()).toBe(0);
    expect(problems).toEqual([]);
  }, 120_000);

  it('cancels a held run: the row shows it failed as cancelled, and Braze keeps every member', async () => {
    const { cohort, run, keys, inBraze } = await heldRun('cancel');
    // On a phone: the held run's panel fits without sideways scrolling.
    const { page, problems } = await openHistory(cohort.id, { width: 390, height: 844 });
    const held = page.getByRole('region', { name: 'Held run' });
    await held.waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(
      0,
    );
    await shot(page, '12-phone-held-run');
    await held.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByText('Run cancelled: nothing was sent to Braze.').waitFor();
    const row = rowOf(page, run.id);
    expect(await row.locator('[data-label="Outcome"]').textContent()).toBe('Failed');
    expect(await row.locator('[data-label="Error"]').textContent()).toBe('Cancelled by request.');
    await held.waitFor({ state: 'detached' });
    expect(await apiGet(`/v1/imports/${run.id}`, gws.token)).toMatchObject({
      status: 'failed',
      error: 'Cancelled by request.',
    });
    expect(await inBraze()).toEqual(new Set(keys.map((k) => `external_id:ext-${k}`)));
    expect(problems).toEqual([]);
  }, 120_000);

  it("shows the API's error when someone else approved the run first, and the row's new status", async () => {
    const { cohort, run } = await heldRun('raced');
    const { page, problems } = await openHistory(cohort.id);
    const held = page.getByRole('region', { name: 'Held run' });
    await held.waitFor();
    // Approved through the API behind the console's back.
    expect((await h.request('POST', `/v1/imports/${run.id}/approve`, { token: gws.token })).status).toBe(200);
    await held.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Approve and send' }).click();
    await expect
      .poll(() => errorLine(page).textContent())
      .toMatch(/^Only a held run can be approved; this one is (running|succeeded)\.$/);
    await shot(page, '11-approve-conflict');
    const row = rowOf(page, run.id);
    await expect.poll(() => row.locator('[data-label="Outcome"]').textContent(), { timeout: 60_000 }).toBe('Succeeded');
    await held.waitFor({ state: 'detached' });
    expect(problems).toEqual([]);
  }, 120_000);
});
