import { defineConfig } from 'vitest/config';

// Two projects: fast unit tests that own tiny in-memory/temp data, and end-to-end tests that run
// the real pipeline (dbt CLI, DuckDB file, HTTP API) and so get longer time limits. Both load
// tests/support/test-env.ts first: a fixed test pseudonym key, and no writes to the real ~/.config.
const setupFiles = ['tests/support/test-env.ts'];
export default defineConfig({
  test: {
    // Two files at a time (Vitest's default on 2 cores is one): the e2e files stay serial among
    // themselves (fileParallelism below), so a unit file runs beside the e2e file of the moment,
    // which spends most of its time waiting on dbt's Python process.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          setupFiles,
          // Limits for a core shared with an e2e file: compiling the Cube model in a beforeAll takes
          // seconds on 2 busy cores, and the CLI tests start child processes.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          setupFiles,
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // Each e2e file runs dbt (a Python process) and DuckDB; two cores, so keep them serial.
          fileParallelism: false,
        },
      },
    ],
  },
});
