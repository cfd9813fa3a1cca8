// `make bench-web`: the designer's benchmarks, with the browser tests' set-up (one callflow serve).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.bench\.ts/,
  globalSetup: '../../web/tests/setup.ts',
  globalTeardown: '../../web/tests/teardown.ts',
  workers: 1,
  reporter: [['list']],
  outputDir: '../../web/test-results/bench',
  use: {
    baseURL: process.env.CALLFLOW_URL,
    launchOptions: { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-dev-shm-usage'] },
    viewport: { width: 1400, height: 900 },
  },
});
