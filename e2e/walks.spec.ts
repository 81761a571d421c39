// Every named walk of every built-in scenario, opened by its share link and played to the end in the browser:
// the hop list has one item per trace event and ends on the same verdict as the engine's own trace (the
// same engine the CLI runs, called here in Node).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { buildWorld, walk } from '../src/engine/index.ts';
import { parseScenario } from '../src/scenario/parse.ts';
import { VERDICT_LABELS } from '../src/ui/present.ts';
import { hops, verdict } from './helpers.ts';

const presetDir = join(import.meta.dirname, '..', 'src', 'scenario', 'presets');

for (const file of readdirSync(presetDir).filter((f) => f.endsWith('.yaml'))) {
  const id = file.replace(/\.yaml$/, '');
  const parsed = parseScenario(readFileSync(join(presetDir, file), 'utf8'));
  if (!parsed.ok) throw new Error(`${file} does not parse`);
  for (const w of parsed.model.walks) {
    test(`${id} / ${w.name}: hop list and verdict match the engine's trace`, async ({ page }) => {
      const trace = walk(buildWorld(parsed.model), {
        from: w.from,
        to: w.to,
        protocol: w.protocol,
        ...(w.size !== null ? { size: w.size } : {}),
      });
      const last = trace.legs.at(-1)!.verdict;
      await page.goto(`/#v=1&s=${id}&w=${w.name}`);
      await expect(hops(page)).toHaveCount(trace.events.length, { timeout: 20_000 });
      await page.keyboard.press('End');
      await expect(verdict(page)).toContainText(VERDICT_LABELS[last.kind]);
    });
  }
}
