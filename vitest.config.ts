import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/support/sequencer';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration files start servers and workers; two cores run two files at a time.
    maxWorkers: 2,
    fileParallelism: true,
    // The longest files start first, so the last to end is a short one (test/support/sequencer.ts).
    sequence: { sequencer: LongestFirstSequencer },
  },
});
