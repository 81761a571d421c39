// The page's layout at the widths people use — a phone, a tablet, a laptop, a desktop — in English and in
// Korean (whose words are of other lengths): nothing wider than the window, the header's controls on one row
// from 1280 px, and every header menu opens inside the window.
import { expect, test, type Page } from '@playwright/test';
import { hops } from './helpers.ts';

/** The hop list's rows in any language (helpers.ts finds the list by its English name). */
const rows = (page: Page) => page.locator('ol.hops > li');

const WIDTHS = [390, 768, 1280, 1440] as const;
const LANGS = ['en', 'ko'] as const;

/** How far the document is wider than the window (0 when nothing overflows sideways). */
const overflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

/** The rows the header bar's items sit on: their vertical centres, grouped to 8 px. */
const headerRows = (page: Page) =>
  page.evaluate(() => {
    const items = document.querySelectorAll(
      '.header-bar > h1, .picker-field, .picker .header-menu-button, .header-bar > .header-menu .header-menu-button, .header-actions > *',
    );
    const centres = [...items].map((e) => {
      const b = e.getBoundingClientRect();
      return (b.top + b.bottom) / 2;
    });
    centres.sort((a, b) => a - b);
    let rows = 0;
    let last = -Infinity;
    for (const c of centres) {
      if (c - last > 8) rows++;
      last = c;
    }
    return { rows, items: centres.length };
  });

for (const lang of LANGS)
  for (const width of WIDTHS)
    test(`${lang}, ${width} px: no sideways overflow${width >= 1280 ? ', the header on one row' : ''}`, async ({
      page,
    }) => {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`/?lang=${lang}#v=1&s=default&w=pod-to-service&hop=7`);
      await expect(page.locator('html')).toHaveAttribute('lang', lang);
      await expect(rows(page).last()).toContainText(lang === 'en' ? 'Delivered' : '전달됨');
      await expect(rows(page).nth(7)).toHaveAttribute('aria-current', 'step');
      expect(await overflow(page)).toBeLessThanOrEqual(0);

      const { rows: lines, items } = await headerRows(page);
      expect(items).toBeGreaterThanOrEqual(9);
      if (width >= 1280) expect(lines).toBe(1);

      // Each header menu opens inside the window and widens nothing.
      const buttons = page.locator('.header-menu-button');
      const count = await buttons.count();
      expect(count).toBe(4);
      for (let i = 0; i < count; i++) {
        await buttons.nth(i).click();
        const panel = page.locator('.header-menu-panel:not([hidden])');
        await expect(panel).toHaveCount(1);
        const box = (await panel.boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(width);
        expect(await overflow(page)).toBeLessThanOrEqual(0);
        await page.keyboard.press('Escape');
        await expect(panel).toHaveCount(0);
        await expect(buttons.nth(i)).toBeFocused();
      }
    });

test('a header menu closes on a press outside it, and keeps what it holds', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto('/#v=1&s=default&w=pod-to-service');
  await expect(hops(page).last()).toContainText('Delivered');
  const share = page.getByRole('button', { name: 'Share', exact: true });
  await share.click();
  await expect(share).toHaveAttribute('aria-expanded', 'true');
  await page.getByRole('button', { name: 'Copy link' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Link copied.' })).toBeVisible();
  await page.locator('.walk-about').click();
  await expect(share).toHaveAttribute('aria-expanded', 'false');
  await expect(page.getByRole('button', { name: 'Copy link' })).toBeHidden();
  await share.click();
  await expect(page.getByRole('status').filter({ hasText: 'Link copied.' })).toBeVisible();
});
