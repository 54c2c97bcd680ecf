import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest, longest first: workers killed and started again, a browser,
 * processes that must fail to start, rate windows, a schedule waiting for its minute. Two files
 * run at a time, so the suite ends when its last long file does: these start first, and the
 * short ones fill in beside them and at the end. (Vitest's own order without timings, as on a
 * fresh clone, is largest file first, which started some of these last.) A file missing here
 * only starts later; keep the list to files of more than about fifteen seconds.
 */
export const LONGEST_FIRST = [
  'test/postgres/resilience.test.ts',
  'test/resilience.test.ts',
  'test/console.browser.test.ts',
  'test/first-run.test.ts',
  // Mostly waiting for its minute: the file beside it has both cores meanwhile.
  'test/schedule-fires.test.ts',
  'test/rate-window.e2e.test.ts',
  'test/postgres/many-hosts.test.ts',
  'test/rate-limit.test.ts',
  'test/domain/cadence-oracle.test.ts',
  'test/page-spans.test.ts',
];

/**
 * The rest, larger first as vitest does without timings, except that a file under
 * test/postgres/ that runs another file's suite weighs as that suite (it is five lines long).
 */
function weight(file: string): number {
  const suite = /await import\('(\.{1,2}\/[^']+\.test)'\)/.exec(readFileSync(file, 'utf8'));
  return statSync(suite ? resolve(dirname(file), `${suite[1]}.ts`) : file).size;
}

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const rank = (spec: TestSpecification) => {
      const i = LONGEST_FIRST.indexOf(relative(root, spec.moduleId));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    const weights = new Map(files.map((spec) => [spec.moduleId, weight(spec.moduleId)]));
    return [...files].sort((a, b) => rank(a) - rank(b) || weights.get(b.moduleId)! - weights.get(a.moduleId)!);
  }
}
