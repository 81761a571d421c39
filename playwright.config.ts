import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig, devices } from '@playwright/test';

const CI = Boolean(process.env['CI']);
// PW_PORT / PW_OUTDIR let two runs on one machine use their own preview server and build directory.
const PORT = Number(process.env['PW_PORT'] ?? 4173);
const OUT_DIR = process.env['PW_OUTDIR'] ?? 'dist';

// `npx playwright install` cannot download browsers on the project's machines; Debian's chromium works.
// PW_CHROMIUM_PATH wins, then /usr/bin/chromium, else Playwright's own browser (a laptop).
const executablePath =
  process.env['PW_CHROMIUM_PATH'] ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  fullyParallel: true,
  forbidOnly: CI,
  retries: CI ? 1 : 0,
  // Two workers at least, also on CI: Playwright's default (half the cores) is one on the project's 2-core
  // machines, and a test spends much of its time waiting on the page, the engine worker or the preview server.
  workers: Math.max(2, Math.floor(availableParallelism() / 2)),
  reporter: CI ? [['list'], ['html', { open: 'never' }]] : 'list',
  use: {
    baseURL: `http://localhost:${PORT}`,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        viewport: { width: 1440, height: 900 },
        launchOptions: {
          ...(executablePath ? { executablePath } : {}),
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      },
    },
  ],
  webServer: {
    command: `npx tsc -b && npx vite build --outDir ${OUT_DIR} --emptyOutDir && npx vite preview --outDir ${OUT_DIR} --port ${PORT} --strictPort`,
    url: `http://localhost:${PORT}`,
    reuseExistingServer: !CI,
    timeout: 120_000,
  },
});
