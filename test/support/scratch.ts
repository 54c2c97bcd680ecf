import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Names for a test run's scratch state (temp folders, Redis queue prefixes, PostgreSQL
 * databases in `postgres.ts`) that carry the pid
 * of the vitest process that owns them, so the set-up of a later run removes only what a dead
 * run left behind — never the state of a suite that is still running beside it (another
 * checkout on the same machine, or a second `npm test`).
 */
export const TEST_PREFIX_ROOT = 'citest';
const DIR_ROOT = 'cohort-import-test-';

/** The owning run: vitest's main process (forks are its children; globalSetup runs in it). */
export function ownerPid(): number {
  const fromEnv = Number(process.env.COHORT_TEST_OWNER_PID);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : process.pid;
}

/** A fresh temp folder for one test or harness, e.g. `cohort-import-test-1234-health-XXXXXX`. */
export function scratchDir(label = 'run'): string {
  return mkdtempSync(join(tmpdir(), `${DIR_ROOT}${ownerPid()}-${label}-`));
}

/** A queue prefix of its own, e.g. `citest-1234-<uuid>`. */
export function scratchPrefix(): string {
  return `${TEST_PREFIX_ROOT}-${ownerPid()}-${randomUUID()}`;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The owner pid a scratch name carries, or null for a name from before owners were recorded. */
export function ownerOf(name: string, root: string): number | null {
  const m = new RegExp(`^${root}(\\d+)-`).exec(name);
  return m ? Number(m[1]) : null;
}

/** True when a scratch name belongs to no running test process. */
export function isOrphan(name: string, root: string): boolean {
  const pid = ownerOf(name, root);
  return pid === null || !isAlive(pid);
}

export function removeOrphanDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith(DIR_ROOT) && isOrphan(name, DIR_ROOT)) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}
