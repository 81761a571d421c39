// The Import dialog against the real engine: a kubectl dump pasted, the questions answered, the scenario
// loaded and walked; a node's pasted state; a broken dump's error.
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { hops, verdict, watchErrors } from './helpers.ts';

const DUMP = readFileSync(new URL('../test/fixtures/kubectl/kubeadm-flannel.yaml', import.meta.url), 'utf8');

async function openImport(page: Page) {
  await page.goto('/');
  await expect(hops(page).last()).toContainText('Delivered');
  await page.getByRole('button', { name: 'Import' }).click();
  const dialog = page.getByRole('dialog', { name: 'Import' });
  await expect(dialog).toBeVisible();
  return dialog;
}

test('a pasted kubectl dump, answered and loaded, is the scenario: its nodes on the canvas, its walk played', async ({
  page,
}) => {
  const errors = watchErrors(page);
  const dialog = await openImport(page);
  await dialog.getByLabel('kubectl output (YAML or JSON)').fill(DUMP);
  await dialog.getByRole('button', { name: 'Read' }).click();
  const found = dialog.getByRole('region', { name: 'Found' });
  await expect(found).toContainText('Found 2 nodes, 7 pods, 3 Services, 3 EndpointSlices, 1 NetworkPolicies');
  await expect(found).toContainText('Left out 1: Secrets (never imported)');
  // Defaults with their evidence.
  await expect(dialog.getByLabel('CNI')).toHaveValue('flannel-vxlan');
  await expect(dialog.getByLabel('Node network', { exact: true })).toHaveValue('192.168.56.0/24');
  await expect(dialog).toContainText('--service-cluster-ip-range=10.96.0.0/12');
  await dialog.getByLabel('Scenario name').fill('shop');
  await dialog.getByRole('button', { name: 'Load' }).click();
  await expect(dialog).toBeHidden();

  await expect(page.locator('[data-device="node/cp-1|eth0"]')).toBeVisible();
  await expect(page.locator('[data-device="node/worker-1|flannel.1"]')).toBeVisible();
  await expect(page.locator('[data-device="pod/shop/client|eth0"]')).toBeVisible();
  await expect(page.getByLabel('Walk', { exact: true })).toHaveValue('pod-to-service');
  await expect(hops(page).last()).toContainText('Delivered');
  await expect(page.locator('ol[aria-label="Hops"]')).toContainText('10.103.77.12');
  // The scenario is the user's own now; its share link carries no Secret.
  await expect(page.getByLabel('Scenario')).toHaveValue('');
  await page.getByLabel('Speed').selectOption('8');
  await page.getByRole('button', { name: 'Play' }).click();
  await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
  await expect(verdict(page)).toContainText('In flight');
  // The packet moves: the current hop is no longer the first.
  await expect(hops(page).first()).not.toHaveAttribute('aria-current', 'step');
  expect(page.url()).not.toContain('hunter2');
  expect(errors).toEqual([]);
});

test('a broken dump gives an error naming the item, the field and the line; Escape closes', async ({
  page,
}) => {
  const dialog = await openImport(page);
  const broken = DUMP.replace('podIP: 10.244.1.5', 'podIP: 10.244.1.300');
  await dialog.getByLabel('kubectl output (YAML or JSON)').fill(broken);
  await dialog.getByRole('button', { name: 'Read' }).click();
  await dialog.getByRole('button', { name: 'Load' }).click();
  const line = broken.split('\n').findIndex((l) => l.includes('10.244.1.300')) + 1;
  await expect(dialog.getByRole('alert')).toContainText(
    `document 1 (Pod shop/web-5d8f7b9c6-abcde), line ${line}: items[7].status.podIP: "10.244.1.300" is not an IPv4 address`,
  );
  await dialog.getByLabel('kubectl output (YAML or JSON)').fill('items: [ {');
  await dialog.getByRole('button', { name: 'Read' }).click();
  await expect(dialog.getByRole('alert')).toContainText('YAML:');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('button', { name: 'Import' })).toBeFocused();
  // Nothing was loaded: the default scenario is still there.
  await expect(page.getByLabel('Scenario')).toHaveValue('default');
});

test("a node's pasted iptables-save and ip route become its tables: the walk meets the administrator's DROP", async ({
  page,
}) => {
  const errors = watchErrors(page);
  let dialog = await openImport(page);
  await dialog.getByLabel('kubectl output (YAML or JSON)').fill(DUMP);
  await dialog.getByRole('button', { name: 'Read' }).click();
  await dialog.getByRole('button', { name: 'Load' }).click();
  await expect(hops(page).last()).toContainText('Delivered');
  await expect(page.locator('[data-device="node/worker-1|eth0"]')).toBeVisible();

  await page.getByRole('button', { name: 'Import' }).click();
  dialog = page.getByRole('dialog', { name: 'Import' });
  await dialog.getByRole('tab', { name: 'Node state' }).click();
  await dialog.getByLabel('Node', { exact: true }).selectOption('worker-1');
  await dialog.getByLabel('iptables-save').fill(fixture('worker-1.iptables'));
  // A line `ip route` never prints: the dialog stays open, says which output and line, and keeps the text.
  const route = dialog.getByLabel('ip route');
  await route.fill(`${fixture('worker-1.route')}nonsense here\n`);
  await dialog.getByRole('button', { name: 'Add to scenario' }).click();
  await expect(dialog).toBeVisible();
  await expect(route).toHaveAttribute('aria-invalid', 'true');
  await expect(route).toHaveAccessibleDescription(/^line \d+: unknown route type "nonsense"/);
  await expect(dialog.getByRole('alert')).toContainText('nothing was added');
  await expect(dialog.getByLabel('iptables-save')).not.toHaveAttribute('aria-invalid', 'true');
  // Nothing was applied: the walk still ends as before the paste.
  await expect(hops(page).last()).toContainText('Delivered');
  await route.fill(fixture('worker-1.route'));
  await expect(route).not.toHaveAttribute('aria-invalid', 'true');
  await dialog.getByRole('button', { name: 'Add to scenario' }).click();
  await expect(dialog).toBeHidden();
  // The same walk again, now through worker-1's own rules.
  await expect(page.getByLabel('Walk', { exact: true })).toHaveValue('pod-to-service');
  await expect(hops(page).last()).toContainText('Dropped');
  await expect(page.locator('ol[aria-label="Hops"]')).toContainText('worker-1');
  expect(errors).toEqual([]);
});

function fixture(name: string): string {
  return readFileSync(new URL(`../test/fixtures/node-state/${name}`, import.meta.url), 'utf8');
}
