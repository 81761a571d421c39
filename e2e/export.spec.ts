// Export in Chromium against the real engine: the pcapng download is a capture tshark reads (when tshark is
// installed; the check is skipped with the reason otherwise), the GIF is a GIF89a with one frame per shot,
// and "Show the commands" shows the lab script with its `ip netns add` lines.
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { buildWorld, walk } from '../src/engine/index.ts';
import { tracePcapng } from '../src/engine/pcapng.ts';
import { parseScenario } from '../src/scenario/parse.ts';
import { hops, openMenu, watchErrors } from './helpers.ts';

/** The same walk built by the engine in Node: the capture the page must have downloaded, byte for byte. */
async function enginePcapng(
  preset: string,
  walkName: string,
): Promise<{ bytes: Uint8Array; packets: number }> {
  const text = await readFile(new URL(`../src/scenario/presets/${preset}.yaml`, import.meta.url), 'utf8');
  const parsed = parseScenario(text);
  if (!parsed.ok) throw new Error(`${preset} does not parse`);
  const w = parsed.model.walks.find((x) => x.name === walkName)!;
  const world = buildWorld(parsed.model);
  const trace = walk(world, {
    from: w.from,
    to: w.to,
    protocol: w.protocol,
    ...(w.size !== null ? { size: w.size } : {}),
  });
  const bytes = tracePcapng(trace, { mtuOf: (ns, dev) => world.netns(ns).devices.get(dev)?.mtu });
  return { bytes, packets: trace.events.filter((e) => e.type === 'observe').length };
}

const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

test('Export pcapng downloads a capture that tshark reads, one packet per observed hop', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/#v=1&s=default&w=pod-to-service');
  await expect(hops(page).last()).toContainText('Delivered');
  await openMenu(page, 'Export');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export pcapng' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/\.pcapng$/);
  const file = await download.path();
  const bytes = await readFile(file);
  expect(bytes.readUInt32LE(0)).toBe(0x0a0d0d0a);
  const engine = await enginePcapng('default', 'pod-to-service');
  expect(Buffer.compare(bytes, Buffer.from(engine.bytes))).toBe(0);
  const observed = engine.packets;
  if (!hasTshark) {
    test.info().annotations.push({ type: 'skip', description: 'tshark is not installed: not decoded' });
    console.warn('export.spec: tshark is not installed; the pcapng download is not decoded');
  } else {
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ip.dst'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(observed);
    // The ClusterIP before kube-proxy's DNAT, the pod after it.
    expect(lines).toContain('10.96.106.22');
    expect(lines.some((l) => l.startsWith('10.244.'))).toBe(true);
  }
  expect(errors).toEqual([]);
});

test('Export GIF renders the walk off-screen into a GIF89a with one frame per shot', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/#v=1&s=default&w=pod-to-pod-same-node');
  await expect(hops(page).last()).toContainText('Delivered');
  await openMenu(page, 'Export');
  const started = Date.now();
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.getByRole('button', { name: 'Export GIF' }).click(),
  ]);
  const seconds = (Date.now() - started) / 1000;
  expect(download.suggestedFilename()).toMatch(/\.gif$/);
  const gif = await readFile(await download.path());
  expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
  expect(gif.readUInt16LE(6)).toBe(960);
  expect(gif.readUInt16LE(8)).toBe(540);
  // Frames: each starts with a Graphic Control Extension (21 f9 04) followed by an image descriptor.
  let frames = 0;
  for (let i = 0; i + 2 < gif.length; i++)
    if (gif[i] === 0x21 && gif[i + 1] === 0xf9 && gif[i + 2] === 0x04) frames++;
  const events = await hops(page).count();
  // One held frame per event, plus sub-frames while the packet moves between hops.
  expect(frames).toBeGreaterThanOrEqual(events);
  expect(gif[gif.length - 1]).toBe(0x3b); // trailer
  await expect(page.getByRole('status').filter({ hasText: 'GIF downloaded' })).toBeVisible();
  console.log(`GIF: ${events} events, ${frames} frames, ${gif.length} bytes, ${seconds.toFixed(1)} s`);
  expect(errors).toEqual([]);
});

test('GIF export can be cancelled', async ({ page }) => {
  await page.goto('/#v=1&s=default&w=dns-external-name');
  await expect(hops(page).last()).toContainText('Delivered');
  await openMenu(page, 'Export');
  await page.getByRole('button', { name: 'Export GIF' }).click();
  await expect(page.getByRole('progressbar', { name: 'Rendering the GIF' })).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Export cancelled.' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Export GIF' })).toBeEnabled();
});

test('Show the commands: the lab script as text, with Copy and Download .sh', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const errors = watchErrors(page);
  await page.goto('/');
  await expect(hops(page).last()).toContainText('Delivered');
  await openMenu(page, 'Export');
  await page.getByRole('button', { name: 'Show the commands' }).click();
  const dialog = page.getByRole('dialog', { name: 'The commands that build this cluster' });
  const script = dialog.getByLabel('Shell script');
  await expect(script).toContainText('ip netns add pwlab-node-1');
  await expect(script).toContainText('ip netns add pwlab-default.client');
  await expect(script).toContainText('type vxlan id 1');
  await dialog.getByRole('button', { name: 'Copy' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('ip netns add pwlab-');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    dialog.getByRole('button', { name: 'Download .sh' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/\.lab\.sh$/);
  expect(await readFile(await download.path(), 'utf8')).toMatch(/^#!\/bin\/sh/);
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('Export WebM, where the browser records a canvas: a WebM (EBML) file', async ({ page }) => {
  await page.goto('/#v=1&s=default&w=pod-to-pod-same-node');
  await expect(hops(page).last()).toContainText('Delivered');
  await openMenu(page, 'Export');
  const button = page.getByRole('button', { name: 'Export WebM' });
  const supported = await page.evaluate(
    () =>
      typeof MediaRecorder !== 'undefined' &&
      typeof HTMLCanvasElement.prototype.captureStream === 'function' &&
      MediaRecorder.isTypeSupported('video/webm'),
  );
  if (!supported) {
    // Feature-detected: no recorder, no button.
    await expect(button).toHaveCount(0);
    test.skip(true, 'this Chromium cannot record a canvas as WebM');
    return;
  }
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), button.click()]);
  expect(download.suggestedFilename()).toMatch(/\.webm$/);
  const webm = await readFile(await download.path());
  expect([...webm.subarray(0, 4)]).toEqual([0x1a, 0x45, 0xdf, 0xa3]); // EBML header
  expect(webm.length).toBeGreaterThan(10_000);
});
