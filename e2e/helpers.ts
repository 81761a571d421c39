// What every e2e spec needs: the hop list's accessible parts and a console-error collector.
import type { Page } from '@playwright/test';

export const hopList = (page: Page) => page.getByRole('list', { name: 'Hops' });
export const hops = (page: Page) => hopList(page).getByRole('listitem');
export const current = (page: Page) => hopList(page).locator('li[aria-current="step"]');
export const verdict = (page: Page) => page.getByRole('status', { name: 'Verdict' });

/** Collects console errors and uncaught exceptions for the whole test. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

/** Opens a header menu (src/ui/panels/HeaderMenu.tsx) by the start of its button's text, unless it is open:
 *  the cluster toggles, the walk typed in, Share, Export. */
export async function openMenu(
  page: Page,
  name: 'Cluster' | 'From / to' | 'Share' | 'Export',
): Promise<void> {
  const button = page.locator('.header-menu-button').filter({ hasText: new RegExp(`^${name}`) });
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
}
