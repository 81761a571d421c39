// A pod is born: the pod-is-born scenario's CNI ADD and DEL walks stepped one event at a time. The canvas
// has a button per device ([data-device="<netns>|<device>"]); the pod's eth0 and its host-side veth must
// appear exactly at the step that creates the pair (ADD) and vanish at the step that deletes it (DEL), as
// the engine's own trace (computed here in Node) says. A screenshot of the finished ADD goes to the output
// directory for a person to look at.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { buildWorld, walk, type Trace } from '../src/engine/index.ts';
import { parseScenario } from '../src/scenario/parse.ts';
import { current, hops, verdict, watchErrors } from './helpers.ts';

const text = readFileSync(
  join(import.meta.dirname, '..', 'src', 'scenario', 'presets', 'pod-is-born.yaml'),
  'utf8',
);
const parsed = parseScenario(text);
if (!parsed.ok) throw new Error('pod-is-born does not parse');
const model = parsed.model;

function engineTrace(name: string): Trace {
  const w = model.walks.find((x) => x.name === name)!;
  return walk(buildWorld(model), { from: w.from, to: w.to, protocol: w.protocol });
}

/** The index of the first cni event whose op is `op` (and, if given, in `netns`). */
function stepOf(t: Trace, op: string, netns?: string): number {
  const i = t.events.findIndex(
    (e) => e.type === 'cni' && e.op?.op === op && (netns === undefined || e.op.netns === netns),
  );
  if (i < 0) throw new Error(`no ${op} step`);
  return i;
}

const device = (page: Page, key: string) => page.locator(`[data-device="${key}"]`);

async function open(page: Page, walkName: string, events: number): Promise<void> {
  await page.goto(`/#v=1&s=pod-is-born&w=${walkName}`);
  await expect(hops(page)).toHaveCount(events, { timeout: 20_000 });
  await page.keyboard.press('Home');
  await expect(current(page).locator('.hop-seq')).toHaveText('1');
  // The header shows the plugin command and the pod, no protocol; the legend explains the one colour.
  await expect(page.locator('.walk-route')).toHaveText(/^CNI (ADD|DEL) · pod\/default\/\w+$/);
  await expect(page.getByRole('list', { name: 'Legend' }).getByRole('listitem')).toHaveText([
    /^CNI step/,
    /drag to pan/,
  ]);
}

test('CNI ADD: the pod, its eth0 and the host-side veth appear step by step', async ({ page }, info) => {
  const errors = watchErrors(page);
  const t = engineTrace('web-is-born');
  const veth = t.events.find((e) => e.type === 'cni' && e.op?.op === 'link-add-veth');
  if (veth?.type !== 'cni' || veth.op?.op !== 'link-add-veth') throw new Error('no veth step');
  const hostVeth = `node/node-1|${veth.op.peerName}`;
  const eth0 = 'pod/default/web|eth0';
  const vethAt = stepOf(t, 'link-add-veth');
  const addrAt = stepOf(t, 'addr-add', 'pod/default/web');

  await open(page, 'web-is-born', t.events.length);
  // Step 0 made the namespace: no device of the pod yet, and node-1 has only client's veth.
  await expect(device(page, eth0)).toHaveCount(0);
  await expect(device(page, hostVeth)).toHaveCount(0);
  await expect(device(page, 'node/node-1|cni0')).toHaveCount(1);
  const before = await page.locator('[data-device^="node/node-1|veth"]').count();
  // The command of each step is in the hop list, in monospace.
  await expect(hops(page).nth(0).locator('code')).toContainText('ip netns add cni-');

  for (let i = 1; i <= vethAt; i++) {
    await page.keyboard.press('ArrowRight');
    // The page numbers hops from 1 (present.ts shownNumber); the cursor counts from 0.
    await expect(current(page).locator('.hop-seq')).toHaveText(String(i + 1));
    await expect(device(page, eth0)).toHaveCount(i < vethAt ? 0 : 1);
    await expect(device(page, hostVeth)).toHaveCount(i < vethAt ? 0 : 1);
  }
  await expect(page.locator('[data-device^="node/node-1|veth"]')).toHaveCount(before + 1);
  await expect(current(page).locator('code')).toContainText(`type veth peer name ${veth.op.peerName}`);
  await expect(page.getByRole('region', { name: 'After this step' })).toContainText('eth0@');
  await page.screenshot({ path: info.outputPath('cni-add-veth.png') });

  // On to the address: the inspector shows it on eth0 (ip -br addr after the step).
  for (let i = vethAt + 1; i <= addrAt; i++) await page.keyboard.press('ArrowRight');
  await expect(current(page).locator('.hop-seq')).toHaveText(String(addrAt + 1));
  await expect(page.getByRole('region', { name: 'After this step' })).toContainText('10.244.1.3/24');
  await expect(page.getByRole('region', { name: 'CNI state files' })).toContainText(
    '/var/lib/cni/networks/cbr0/10.244.1.3',
  );

  await page.keyboard.press('End');
  await expect(verdict(page)).toContainText('Pod network ready: eth0 10.244.1.3/24');
  await page.screenshot({ path: info.outputPath('cni-add.png') });
  expect(errors).toEqual([]);
});

test('CNI ADD of the first pod on a node: cni0 appears with it', async ({ page }) => {
  const t = engineTrace('first-pod-on-node-2');
  const bridgeAt = stepOf(t, 'link-add-bridge');
  await open(page, 'first-pod-on-node-2', t.events.length);
  await expect(device(page, 'node/node-2|cni0')).toHaveCount(0);
  for (let i = 1; i <= bridgeAt; i++) await page.keyboard.press('ArrowRight');
  await expect(device(page, 'node/node-2|cni0')).toHaveCount(1);
  await page.keyboard.press('End');
  await expect(verdict(page)).toContainText('Pod network ready: eth0 10.244.2.2/24');
});

test('CNI DEL: deleting eth0 removes the veth pair; then the namespace goes', async ({ page }) => {
  const t = engineTrace('web-is-removed');
  const delAt = stepOf(t, 'link-del');
  await open(page, 'web-is-removed', t.events.length);
  const eth0 = device(page, 'pod/default/web|eth0');
  await expect(eth0).toHaveCount(1);
  const vethsBefore = await page.locator('[data-device^="node/node-1|veth"]').count();
  for (let i = 1; i <= delAt; i++) await page.keyboard.press('ArrowRight');
  await expect(eth0).toHaveCount(0);
  await expect(page.locator('[data-device^="node/node-1|veth"]')).toHaveCount(vethsBefore - 1);
  // Stepping back brings it back: the view follows the cursor both ways.
  await page.keyboard.press('ArrowLeft');
  await expect(eth0).toHaveCount(1);
  await page.keyboard.press('End');
  await expect(verdict(page)).toContainText('Pod network removed');
  await expect(page.locator('[data-device^="pod/default/web|"]')).toHaveCount(0);
});
