// The app against the real engine (in its worker): the default scenario's first walk, played, stepped and
// driven from the keyboard.
import { expect, test, type Page } from '@playwright/test';
import { current, hops, openMenu, verdict, watchErrors } from './helpers.ts';

async function openReady(page: Page): Promise<void> {
  await page.goto('/');
  // The trace is complete when the last hop is the reply's verdict.
  await expect(hops(page).last()).toContainText('Delivered');
}

test('loads the default scenario on its first walk, with no console errors', async ({ page }) => {
  const errors = watchErrors(page);
  await openReady(page);
  await expect(page.getByLabel('Walk', { exact: true })).toHaveValue('pod-to-pod-cross-node');
  // The walk's route is on the header's second line; the fields to change it behind "From / to".
  await expect(page.locator('.walk-route')).toHaveText('pod/default/client → pod/default/db:3306 · tcp');
  await openMenu(page, 'From / to');
  await expect(page.getByRole('textbox', { name: 'From' })).toHaveValue('pod/default/client');
  await expect(page.getByRole('textbox', { name: 'To' })).toHaveValue('pod/default/db:3306');
  await expect(page.locator('[data-device="pod/default/client|eth0"]')).toBeVisible();
  await expect(page.locator('[data-device="node/node-2|flannel.1"]')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Play' })).toBeEnabled();
  await expect(current(page)).toHaveCount(1);
  await expect(current(page)).toContainText('Request');
  expect(errors).toEqual([]);
});

test('the hop list starts with the request from client and ends with the reply delivered to client', async ({
  page,
}) => {
  await openReady(page);
  const first = hops(page).first();
  await expect(first).toContainText('client');
  await expect(first).toContainText('Request');
  await expect(first).toContainText('10.244.1.2');
  const last = hops(page).last();
  await expect(last).toContainText('client');
  await expect(last).toContainText('Delivered');
  // Grouped by leg: a request header, then a reply header.
  const legHeads = page.locator('ol[aria-label="Hops"] li.hop--leg');
  await expect(legHeads).toHaveCount(2);
  await expect(legHeads.nth(1)).toContainText('Reply');
  // The VXLAN hop is on the way.
  await expect(page.locator('ol[aria-label="Hops"]')).toContainText('flannel.1');
});

test('plays to the verdict "Delivered"', async ({ page }) => {
  const errors = watchErrors(page);
  await openReady(page);
  await page.getByLabel('Speed').selectOption('8');
  await page.getByRole('button', { name: 'Play' }).click();
  await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
  await expect(verdict(page)).toContainText('In flight');
  // Finished: the cursor is on the last hop and the button offers Play again.
  await expect(page.getByRole('button', { name: 'Play' })).toBeVisible({ timeout: 20_000 });
  await expect(hops(page).last()).toHaveAttribute('aria-current', 'step');
  await expect(verdict(page)).toContainText('Delivered');
  await expect(verdict(page)).toContainText('Reply');
  // The packet sits at the client again, with the delivered markers drawn.
  await expect(page.locator('g.marker--delivered')).toHaveCount(2);
  await page.screenshot({ path: test.info().outputPath('finished.png') });
  await page.screenshot({ path: 'test-results/app-finished.png' });
  expect(errors).toEqual([]);
});

test('step forward and back move aria-current, and hops seek', async ({ page }) => {
  await openReady(page);
  await expect(hops(page).nth(0)).toHaveAttribute('aria-current', 'step');
  await page.getByRole('button', { name: 'Step forward' }).click();
  await expect(hops(page).nth(1)).toHaveAttribute('aria-current', 'step');
  await expect(hops(page).nth(0)).not.toHaveAttribute('aria-current', 'step');
  await page.getByRole('button', { name: 'Step forward' }).click();
  await expect(hops(page).nth(2)).toHaveAttribute('aria-current', 'step');
  await page.getByRole('button', { name: 'Step back' }).click();
  await expect(hops(page).nth(1)).toHaveAttribute('aria-current', 'step');
  await expect(page.getByLabel('Position')).toHaveText(/^2 \/ \d+$/);

  // Clicking a hop seeks to it; the inspector shows it encapsulated on the wire.
  const wire = hops(page).filter({ hasText: 'eth0 → out' }).filter({ hasText: 'node-1' }).first();
  await wire.getByRole('button').click();
  await expect(wire).toHaveAttribute('aria-current', 'step');
  const inspector = page.getByRole('region', { name: 'Packet' });
  await expect(inspector.getByRole('heading', { name: 'Outer' })).toBeVisible();
  await expect(inspector.getByRole('heading', { name: 'Inner' })).toBeVisible();
  await expect(inspector).toContainText('192.168.1.11');
  await expect(inspector).toContainText('8472');
  await expect(page.locator('g.packet--encap')).toHaveCount(1);

  // Restart goes back to the first hop.
  await page.getByRole('button', { name: 'Restart' }).click();
  await expect(hops(page).nth(0)).toHaveAttribute('aria-current', 'step');
});

test('keyboard: arrows step, End and Home jump, Space plays and pauses', async ({ page }) => {
  await openReady(page);
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(hops(page).nth(2)).toHaveAttribute('aria-current', 'step');
  await page.keyboard.press('ArrowLeft');
  await expect(hops(page).nth(1)).toHaveAttribute('aria-current', 'step');
  await page.keyboard.press('End');
  await expect(hops(page).last()).toHaveAttribute('aria-current', 'step');
  await expect(verdict(page)).toContainText('Delivered');
  await page.keyboard.press('Home');
  await expect(hops(page).first()).toHaveAttribute('aria-current', 'step');
  await page.keyboard.press('Space');
  await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
  await page.keyboard.press('Space');
  await expect(page.getByRole('button', { name: 'Play' })).toBeVisible();
});

test('the decision panel shows the route that matched', async ({ page }) => {
  await openReady(page);
  await page.keyboard.press('ArrowRight'); // #1: the client's route lookup
  const decision = page.getByRole('region', { name: 'Decision' });
  await expect(decision).toContainText('route');
  await expect(decision.locator('li.match')).toHaveCount(1);
  await expect(decision.locator('li.match')).toContainText('10.244.0.0/16 via 10.244.1.1 dev eth0');
});

test('another walk of the scenario, and a custom one with an unknown pod, report their results', async ({
  page,
}) => {
  await openReady(page);
  await page.getByLabel('Walk', { exact: true }).selectOption('too-big-for-the-overlay');
  await openMenu(page, 'From / to');
  await expect(page.getByRole('textbox', { name: 'To' })).toHaveValue('pod/default/db');
  await page.keyboard.press('End');
  await expect(verdict(page)).not.toContainText('Delivered');
  await expect(verdict(page)).toContainText(/:/);

  await openMenu(page, 'From / to');
  await page.getByRole('textbox', { name: 'From' }).fill('pod/default/nobody');
  await page.getByRole('button', { name: 'Walk', exact: true }).click();
  await expect(page.getByRole('alert')).toContainText('nobody');
});

test('with reduced motion the packet jumps from hop to hop instead of gliding', async ({ page }) => {
  await page.emulateMedia({ reducedMotion: 'reduce' });
  await openReady(page);
  const packet = page.locator('svg.topology-overlay g.packet');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  await expect(hops(page).nth(3)).toHaveAttribute('aria-current', 'step');
  const before = await packet.getAttribute('transform');
  await page.keyboard.press('ArrowRight'); // the pod's eth0 → the node's veth: a different place
  await expect.poll(() => packet.getAttribute('transform')).not.toBe(before);
  const first = await packet.getAttribute('transform');
  await page.waitForTimeout(500);
  expect(await packet.getAttribute('transform')).toBe(first);
});

test('clicking a device shows its details and its namespace routes', async ({ page }) => {
  await openReady(page);
  await page.locator('[data-device="node/node-1|flannel.1"]').click();
  const card = page.getByRole('region', { name: /flannel\.1/ });
  await expect(card).toContainText('vxlan');
  await expect(card).toContainText('10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink');
  await expect(page.locator('[data-device="node/node-1|flannel.1"]')).toHaveClass(/is-selected/);
  await page.keyboard.press('Escape');
  await expect(card).toHaveCount(0);
});

test('a walk to a DNS name: the query legs come first, the decision panel shows the answer, then the connection', async ({
  page,
}) => {
  const errors = watchErrors(page);
  await openReady(page);
  await page.getByLabel('Walk', { exact: true }).selectOption('dns-short-name');
  await expect(page.locator('.walk-route')).toContainText('→ db-service:3306 ·');
  await expect(hops(page).first()).toContainText('DNS query');
  await expect(hops(page).filter({ hasText: 'DNS answer' }).first()).toBeVisible();
  // Jump to CoreDNS's answer: the decision panel lists the A record.
  await hops(page)
    .filter({ hasText: /dns: CoreDNS .* answers A/ })
    .first()
    .getByRole('button')
    .click();
  const decision = page.getByRole('region', { name: 'Decision' });
  await expect(decision).toContainText('db-service.default.svc.cluster.local.');
  const inspector = page.getByRole('region', { name: 'Packet' });
  await expect(inspector.getByRole('table', { name: 'DNS' })).toContainText(
    'db-service.default.svc.cluster.local. A',
  );
  await page.keyboard.press('End');
  await expect(verdict(page)).toContainText('Delivered');
  expect(errors).toEqual([]);
});

test('three-tier: a frontend whose egress policy forgot DNS cannot resolve the backend', async ({ page }) => {
  await openReady(page);
  await page.getByLabel('Scenario').selectOption('three-tier');
  await page.getByLabel('Walk', { exact: true }).selectOption('frontend-to-backend-by-name');
  await expect(hops(page).filter({ hasText: 'network policy' }).first()).toContainText('no rule allows it');
  await page.keyboard.press('End');
  await expect(verdict(page)).toContainText('Dropped: NetworkPolicy');
});
