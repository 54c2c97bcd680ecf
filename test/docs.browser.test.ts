import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser';
import { type Harness, startHarness } from './support/harness';

/** The API reference at /docs, rendered by a real browser under the page's own CSP, offline. */
let h: Harness;
let browser: Browser;
beforeAll(async () => {
  h = await startHarness({ workers: false });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

describe('the API reference at /docs', () => {
  it('renders every documented operation from /v1/openapi.json, with no CSP violation and no request off the host', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on(
      'request',
      (r) => !r.url().startsWith(h.baseUrl) && !r.url().startsWith('data:') && elsewhere.push(r.url()),
    );
    await page.goto(`${h.baseUrl}/docs`);
    await page.waitForSelector('.opblock', { timeout: 30_000 });
    const doc = (await h.request('GET', '/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(await page.locator('.opblock').count()).toBe(documented);
    expect(await page.locator('.info .title').innerText()).toMatch(/Cohort Import/);
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
    await page.close();
  });
});
