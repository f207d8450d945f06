import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: the end-to-end suites start sshd, the server and Chromium; keep them from starving each other.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // `npx vitest run --project unit` (npm run test:unit) for the fast part; `npm test` runs both.
    projects: [
      // Pure code, and the client against in-process stand-ins on loopback: no jitssh server, sshd or browser.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // The real server on 127.0.0.1:0 with the real client; end to end with real sshd, ssh and Chromium.
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'] } },
    ],
  },
})
