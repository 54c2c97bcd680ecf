import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';
import { CONSOLE_DIR } from '../../src/api/console';

/** Debian's Chromium (package `chromium`); `npm test` installs it like Redis when missing. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots of the browser tests (git-ignored); the README shows two of them. */
export const ARTIFACTS_DIR = join(process.cwd(), 'test-artifacts', 'console');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: run \`apt-get install -y chromium\` (npm test does it when run as root) or set CHROMIUM_PATH.`,
    );
  }
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--disable-dev-shm-usage'] });
}

/** `npm test` builds the console first; a single test file run on its own builds it when missing. */
export async function ensureConsoleBuilt(): Promise<void> {
  if (existsSync(join(CONSOLE_DIR, 'index.html'))) return;
  await build({ configFile: join(process.cwd(), 'console', 'vite.config.ts'), logLevel: 'warn' });
}
