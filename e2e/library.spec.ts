// The scenario library in the picker: scenarios grouped by topic, and a scenario's introduction under
// "About this scenario" (as text), with no serious accessibility violation once it is open.
import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import { hops, watchErrors } from './helpers.ts';

test('the picker groups the built-in scenarios by topic and shows the chosen one’s introduction', async ({
  page,
}) => {
  const errors = watchErrors(page);
  await page.goto('/');
  await expect(hops(page).last()).toContainText('Delivered');
  const picker = page.getByLabel('Scenario');
  const groups = await picker
    .locator('optgroup')
    .evaluateAll((gs) => gs.map((g) => (g as HTMLOptGroupElement).label));
  expect(groups.slice(0, 3)).toEqual(['Pod networking', 'What breaks', 'Services']);
  expect(groups.at(-1)).toBe('Clusters');
  await expect(picker.locator('optgroup[label="Pod networking"] option[value="weave-overlay"]')).toHaveCount(
    1,
  );
  await expect(picker.locator('optgroup[label="What breaks"] option[value="broken-mtu"]')).toHaveCount(1);

  await picker.selectOption('weave-overlay');
  await expect(page.getByLabel('Walk', { exact: true })).toHaveValue('pod-to-pod-cross-node');
  await expect(hops(page).last()).toContainText('Delivered');
  const about = page.locator('details.scenario-about');
  await expect(about.getByText('Weave Net runs an agent on every node')).toBeHidden();
  await about.getByText('About this scenario').click();
  await expect(about.getByText('Weave Net runs an agent on every node')).toBeVisible();

  // The picker and its introduction (the rest of the app has its own a11y spec).
  const r = await new AxeBuilder({ page })
    .include('.picker')
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  expect(
    r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
  ).toEqual([]);
  expect(errors).toEqual([]);
});

test('a what-breaks scenario opened by its share link ends on its failure', async ({ page }) => {
  await page.goto('/#v=1&s=broken-router-no-routes&w=pod-to-pod-dropped-at-router');
  await expect(hops(page).last()).toContainText('Unreachable');
  await expect(page.getByLabel('Scenario')).toHaveValue('broken-router-no-routes');
});
