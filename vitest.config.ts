import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // builds dist/ once (tsc, incremental) before any file runs; a build failure stops the run
    globalSetup: ['./test/global-setup.ts'],
    // native handles and real sockets: one process per test file, no shared threads
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
})
