import { defineConfig } from '@playwright/test';

// End-to-end tests in Debian's Chromium (never a downloaded browser) against the built admin,
// a real `kassa serve` and the Zitadel stand-in, all started by infra/scripts/admin.sh test
// (ADMIN_URL, API_URL, ISSUER say where).
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.ADMIN_URL ?? 'http://127.0.0.1:13000',
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox'],
    },
  },
});
