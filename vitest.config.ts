import { configDefaults, defineConfig } from 'vitest/config'

// Tests that force garbage collection (global.gc) while the client waits; vitest has no per-file node flags,
// so they are a project of their own, the unit project's twin with --expose-gc.
const GC_TESTS = ['test/unit/client-timeouts.test.ts']

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: the end-to-end suites start sshd, the server and Chromium; keep them from starving each other.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // `npm run test:unit` (the unit and unit-gc projects) for the fast part; `npm test` runs them all.
    projects: [
      // Pure code, and the client against in-process stand-ins on loopback: no jitssh server, sshd or browser.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], exclude: [...configDefaults.exclude, ...GC_TESTS] } },
      { extends: true, test: { name: 'unit-gc', include: GC_TESTS, execArgv: ['--expose-gc'] } },
      // The real server on 127.0.0.1:0 with the real client; end to end with real sshd, ssh and Chromium.
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'] } },
    ],
  },
})
