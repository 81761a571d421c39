// Accessibility: axe-core (WCAG 2.1 A/AA rules) on the app and on embed mode finds no serious or critical
// violation. Minor and moderate findings are printed for a person to read.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { hops } from './helpers.ts';

async function serious(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  for (const v of r.violations.filter((x) => x.impact !== 'serious' && x.impact !== 'critical'))
    console.log(`axe (${v.impact ?? '?'}): ${v.id} — ${v.help} (${v.nodes.length})`);
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('the app on the default walk has no serious accessibility violations', async ({ page }) => {
  await page.goto('/');
  await expect(hops(page).last()).toContainText('Delivered');
  await page.getByRole('button', { name: 'Step forward' }).click();
  expect(await serious(page)).toEqual([]);
});

test('embed mode has no serious accessibility violations', async ({ page }) => {
  await page.goto('/?embed=1#v=1&s=default&w=pod-to-service');
  await expect(page.getByRole('button', { name: 'Step forward' })).toBeVisible();
  expect(await serious(page)).toEqual([]);
});

test('a DNS walk and a dropped walk have no serious accessibility violations', async ({ page }) => {
  await page.goto('/#v=1&s=default&w=dns-short-name&hop=3');
  await expect(hops(page).last()).toContainText('Delivered');
  expect(await serious(page)).toEqual([]);
  await page.goto('/#v=1&s=three-tier&w=frontend-to-db');
  await expect(hops(page).last()).toContainText('Dropped');
  await page.keyboard.press('End');
  expect(await serious(page)).toEqual([]);
});
