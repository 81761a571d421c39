// Every named walk of every built-in scenario, opened by its share link and played to the end in the browser:
// the hop list has one item per trace event and ends on the same verdict as the engine's own trace (the
// same engine the CLI runs, called here in Node).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test as base, type Page } from '@playwright/test';
import { buildWorld, walk } from '../src/engine/index.ts';
import { parseScenario } from '../src/scenario/parse.ts';
import { VERDICT_LABELS } from '../src/ui/present.ts';
import { hops, verdict } from './helpers.ts';

const presetDir = join(import.meta.dirname, '..', 'src', 'scenario', 'presets');

// One tab per Playwright worker, kept from walk to walk: a new browser context and tab per walk (a new
// renderer process) cost about as much as the walk itself. Every walk still opens its share link as a new
// document — from about:blank, so that it is a real navigation, not a change of the hash in the page before —
// and the app starts from nothing: its state, its engine worker and the world are new. Only the browser's
// cache of the app's files and the tab's storage (unused by these walks) carry over.
const test = base.extend<object, { walkPage: Page }>({
  walkPage: [
    async ({ browser }, use) => {
      const context = await browser.newContext();
      await use(await context.newPage());
      await context.close();
    },
    { scope: 'worker' },
  ],
});

for (const file of readdirSync(presetDir).filter((f) => f.endsWith('.yaml'))) {
  const id = file.replace(/\.yaml$/, '');
  const parsed = parseScenario(readFileSync(join(presetDir, file), 'utf8'));
  if (!parsed.ok) throw new Error(`${file} does not parse`);
  for (const w of parsed.model.walks) {
    test(`${id} / ${w.name}: hop list and verdict match the engine's trace`, async ({ walkPage: page }) => {
      const trace = walk(buildWorld(parsed.model), {
        from: w.from,
        to: w.to,
        protocol: w.protocol,
        ...(w.size !== null ? { size: w.size } : {}),
      });
      const last = trace.legs.at(-1)!.verdict;
      await page.goto('about:blank');
      await page.goto(`/#v=1&s=${id}&w=${w.name}`);
      await expect(hops(page)).toHaveCount(trace.events.length, { timeout: 20_000 });
      await page.keyboard.press('End');
      await expect(verdict(page)).toContainText(VERDICT_LABELS[last.kind]);
    });
  }
}
