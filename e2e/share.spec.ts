// Share links, embed mode, toggles and export, against the real engine in Chromium.
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { hopList, hops, openMenu, watchErrors } from './helpers.ts';

const position = (page: Page) => page.getByLabel('Position');
const cniToggle = (page: Page) => page.getByLabel('CNI', { exact: true });
/** The picture, whichever element the canvas module draws it in. */
const picture = (page: Page) =>
  page.locator('[data-testid="topology"], svg.topology, canvas.topology').first();

async function ready(page: Page, url = '/'): Promise<void> {
  await page.goto(url);
  await expect(hops(page).last()).toContainText('Delivered');
}

test('share link round trip: copy link, open it in a new page, same walk, toggles and hop', async ({
  page,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const errors = watchErrors(page);
  await ready(page);
  await page.getByLabel('Walk', { exact: true }).selectOption('pod-to-service');
  await expect(page.locator('.walk-route')).toContainText('db-service');
  await openMenu(page, 'Cluster');
  await cniToggle(page).selectOption('flannel-host-gw');
  await expect(hops(page).last()).toContainText('Delivered');
  await expect(hopList(page)).not.toContainText('flannel.1');
  for (let i = 0; i < 5; i++) await page.getByRole('button', { name: 'Step forward' }).click();
  await expect(hops(page).nth(5)).toHaveAttribute('aria-current', 'step');
  const where = await position(page).textContent();

  await openMenu(page, 'Share');
  await page.getByRole('button', { name: 'Copy link' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Link copied.' })).toBeVisible();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toMatch(/#v=1&s=default&w=pod-to-service&cni=flannel-host-gw(&seed=\d+)?&hop=5&lang=en$/);
  // The address bar holds the same state.
  expect(page.url()).toBe(link);

  const other = await context.newPage();
  const otherErrors = watchErrors(other);
  await other.goto(link);
  await expect(hops(other).nth(5)).toHaveAttribute('aria-current', 'step');
  await expect(position(other)).toHaveText(where ?? '');
  await expect(other.getByLabel('Walk', { exact: true })).toHaveValue('pod-to-service');
  await expect(cniToggle(other)).toHaveValue('flannel-host-gw');
  await expect(hopList(other)).not.toContainText('flannel.1');
  expect(await hopList(other).textContent()).toBe(await hopList(page).textContent());
  expect([...errors, ...otherErrors]).toEqual([]);
});

test('a broken link shows why, as text, over the default cluster', async ({ page }) => {
  await page.goto('/#v=1&cni=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E');
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('This link could not be opened');
  await expect(alert).toContainText('<img src=x onerror=alert(1)>');
  await expect(alert.locator('img')).toHaveCount(0);
  await expect(hops(page).last()).toContainText('Delivered');
  await expect(page.getByLabel('Walk', { exact: true })).toHaveValue('pod-to-pod-cross-node');
  await expect(hopList(page)).toContainText('flannel.1');

  // A scenario cut short, and a link from a newer version.
  await page.goto('/#v=1&sc=NYSwdgJgXABACgewgKALYFMAuBDC2dTIwx');
  await expect(page.getByRole('alert')).toContainText('damaged');
  await page.goto('/#v=7&s=default');
  await expect(page.getByRole('alert')).toContainText('newer Packet Walk');
  await expect(hops(page).last()).toContainText('Delivered');
});

test('a toggle the scenario cannot take: bridge-router without a gateway says so', async ({ page }) => {
  await page.goto('/#v=1&s=three-tier&cni=bridge-router');
  await expect(page.getByRole('alert')).toContainText('bridge-router needs a gateway');
  // The scenario's own mode works, and the option is then disabled with the reason.
  await openMenu(page, 'Cluster');
  await page.getByRole('button', { name: 'Reset toggles' }).click();
  await expect(hops(page).last()).toContainText('Delivered');
  const router = cniToggle(page).locator('option[value="bridge-router"]');
  await expect(router).toBeDisabled();
  await expect(router).toContainText('needs a gateway');
});

test('toggles: flannel-vxlan → flannel-host-gw changes the hop list (no flannel.1), and back', async ({
  page,
}) => {
  await ready(page);
  await expect(cniToggle(page)).toHaveValue('flannel-vxlan');
  await expect(hopList(page)).toContainText('flannel.1');
  const before = await hops(page).count();
  await openMenu(page, 'Cluster');
  await cniToggle(page).selectOption('flannel-host-gw');
  await expect(hops(page).last()).toContainText('Delivered');
  await expect(hopList(page)).not.toContainText('flannel.1');
  const after = await hops(page).count();
  expect(after).toBeLessThan(before);
  await expect(page.getByRole('status').filter({ hasText: 'Before (CNI flannel-vxlan)' })).toContainText(
    `${before} hops · now: ${after} hops`,
  );
  expect(page.url()).toContain('cni=flannel-host-gw');

  // kube-proxy ipvs: the pod-to-service walk meets IPVS.
  await page.getByLabel('Walk', { exact: true }).selectOption('pod-to-service');
  await openMenu(page, 'Cluster');
  await page.getByLabel('kube-proxy', { exact: true }).selectOption('ipvs');
  await expect(hops(page).last()).toContainText('Delivered');
  await expect(hopList(page)).toContainText(/ipvs|IPVS/);

  await openMenu(page, 'Cluster');
  await page.getByRole('button', { name: 'Reset toggles' }).click();
  await expect(cniToggle(page)).toHaveValue('flannel-vxlan');
  await expect(hopList(page)).toContainText('flannel.1');
});

test('embed mode: no chrome, compact controls and the verdict, keyboard steps', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/?embed=1#v=1&s=default&w=pod-to-pod-cross-node&hop=2');
  await expect(position(page)).toHaveText(/^3 \/ \d+$/);
  await expect(page.getByLabel('Current hop')).toContainText('#3 default/client · neigh');
  await expect(page.locator('header')).toHaveCount(0);
  await expect(hopList(page)).toHaveCount(0);
  await expect(page.getByRole('group', { name: 'Share and export' })).toHaveCount(0);
  await expect(picture(page)).toBeVisible();
  await expect(page.getByRole('status', { name: 'Verdict' })).toContainText('In flight');
  await page.locator('main.stage').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('ArrowRight');
  await expect(position(page)).toHaveText(/^4 \/ \d+$/);
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await expect(position(page)).toHaveText(/^2 \/ \d+$/);
  await page.screenshot({ path: test.info().outputPath('embed.png') });
  expect(errors).toEqual([]);
});

test('embed in an iframe: the deck steps and seeks with postMessage and hears the state back', async ({
  page,
  baseURL,
}) => {
  // The deck is another origin's page (about:blank here) holding the frame.
  const src = `${baseURL}/?embed=1#v=1&s=default&w=pod-to-pod-cross-node`;
  await page.setContent(
    `<iframe id="walk" src="${src}" width="960" height="540"></iframe>` +
      `<script>window.states = []; addEventListener('message', (e) => { if (e.data && e.data.type === 'packetwalk:state') window.states.push(e.data); });</script>`,
  );
  const frame = page.frameLocator('#walk');
  await expect(frame.getByLabel('Position')).toHaveText(/^1 \/ \d+$/);
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { states: unknown[] }).states.length))
    .toBeGreaterThan(0);
  const send = (msg: unknown) =>
    page.evaluate(
      (m) => (document.getElementById('walk') as HTMLIFrameElement).contentWindow!.postMessage(m, '*'),
      msg,
    );

  await send({ type: 'packetwalk:step', dir: 'forward' });
  await expect(frame.getByLabel('Position')).toHaveText(/^2 \/ \d+$/);
  await send({ type: 'packetwalk:goto', hop: 10 });
  await expect(frame.getByLabel('Position')).toHaveText(/^11 \/ \d+$/);
  await send({ type: 'packetwalk:step', dir: 'back' });
  await expect(frame.getByLabel('Position')).toHaveText(/^10 \/ \d+$/);
  // Junk is ignored.
  await send({ type: 'packetwalk:goto', hop: -3 });
  await send('packetwalk:play');
  await send({ type: 'packetwalk:step', dir: 'up' });
  await expect(frame.getByLabel('Position')).toHaveText(/^10 \/ \d+$/);
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { states: { hop: number }[] }).states.at(-1)?.hop))
    .toBe(9);
  const last = await page.evaluate(() =>
    (window as unknown as { states: Record<string, unknown>[] }).states.at(-1),
  );
  expect(last).toMatchObject({
    type: 'packetwalk:state',
    hop: 9,
    playing: false,
    complete: true,
    verdict: 'In flight',
  });

  await page.screenshot({ path: test.info().outputPath('embed-iframe.png') });
  await send({ type: 'packetwalk:play' });
  await expect(frame.getByRole('button', { name: 'Pause' })).toBeVisible();
  await send({ type: 'packetwalk:pause' });
  await expect(frame.getByRole('button', { name: 'Play' })).toBeVisible();
});

test('autoplay=1 plays the embedded walk by itself', async ({ page }) => {
  await page.goto('/?embed=1&autoplay=1#v=1&s=default&w=pod-to-pod-same-node');
  await expect(page.getByRole('button', { name: 'Pause' })).toBeVisible();
});

test('export: the trace as JSON and the frame as PNG and SVG', async ({ page }) => {
  await ready(page);
  const count = await hops(page).count();

  await openMenu(page, 'Share');
  const [json] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export JSON' }).click(),
  ]);
  expect(json.suggestedFilename()).toBe('packet-walk-pod-to-pod-cross-node-hop-1.trace.json');
  const trace = JSON.parse(await readFile((await json.path())!, 'utf8')) as {
    version: number;
    flow: { dst: string };
    events: unknown[];
    legs: unknown[];
  };
  expect(trace.version).toBe(2);
  expect(trace.flow.dst).toBe('10.244.2.2');
  expect(trace.legs).toHaveLength(2);
  // Every event is a hop-list row.
  expect(trace.events.length).toBe(count);

  await expect(page.getByRole('button', { name: 'Export PNG' })).toBeEnabled();
  const [png] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export PNG' }).click(),
  ]);
  const bytes = await readFile((await png.path())!);
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect(bytes.length).toBeGreaterThan(5000);

  // The frame as SVG: drawn again by the canvas's own code, text as text.
  const exportSvg = page.getByRole('button', { name: 'Export SVG' });
  await expect(exportSvg).toBeEnabled();
  const [svg] = await Promise.all([page.waitForEvent('download'), exportSvg.click()]);
  expect(svg.suggestedFilename()).toBe('packet-walk-pod-to-pod-cross-node-hop-1.svg');
  const text = await readFile((await svg.path())!, 'utf8');
  expect(text).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  // It parses as XML, and every device's name and every namespace's title is a <text>.
  const parsed = await page.evaluate((source) => {
    const doc = new DOMParser().parseFromString(source, 'image/svg+xml');
    return {
      error: doc.querySelector('parsererror')?.textContent ?? null,
      texts: [...doc.querySelectorAll('text')].map((t) => t.textContent ?? ''),
    };
  }, text);
  expect(parsed.error).toBeNull();
  const names = await page
    .locator('[data-device]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-device')!.split('|')[1]!));
  expect(names.length).toBeGreaterThan(20);
  for (const name of names) expect(parsed.texts).toContain(name);
  for (const title of ['default/client', 'default/db', 'node-1', 'node-2', 'laptop'])
    expect(parsed.texts).toContain(title);
  expect(parsed.texts).toContain('request · TCP [S]');

  // And it looks like the PNG: drawn at the PNG's size, few pixels differ much — far fewer than between the
  // PNG and an empty picture of the same background.
  const { differing, blank } = await page.evaluate(
    async ({ svgText, pngBase64 }) => {
      const load = async (src: string) => {
        const img = new Image();
        img.src = src;
        await img.decode();
        return img;
      };
      const png = await load(`data:image/png;base64,${pngBase64}`);
      const vector = await load(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText)}`);
      const pixels = (img: HTMLImageElement | null) => {
        const c = document.createElement('canvas');
        c.width = png.width;
        c.height = png.height;
        const ctx = c.getContext('2d')!;
        ctx.fillStyle = getComputedStyle(document.querySelector('.stage')!).backgroundColor;
        ctx.fillRect(0, 0, c.width, c.height);
        if (img) ctx.drawImage(img, 0, 0, c.width, c.height);
        return ctx.getImageData(0, 0, c.width, c.height).data;
      };
      const share = (a: Uint8ClampedArray, b: Uint8ClampedArray) => {
        let n = 0;
        for (let i = 0; i < a.length; i += 4)
          if (
            Math.max(
              Math.abs(a[i]! - b[i]!),
              Math.abs(a[i + 1]! - b[i + 1]!),
              Math.abs(a[i + 2]! - b[i + 2]!),
            ) > 64
          )
            n++;
        return n / (a.length / 4);
      };
      const reference = pixels(png);
      return { differing: share(reference, pixels(vector)), blank: share(reference, pixels(null)) };
    },
    { svgText: text, pngBase64: bytes.toString('base64') },
  );
  console.log(
    `SVG vs PNG: ${(differing * 100).toFixed(2)}% of pixels differ by more than 64 in a channel ` +
      `(an empty picture: ${(blank * 100).toFixed(2)}%)`,
  );
  expect(blank).toBeGreaterThan(0.02);
  expect(differing).toBeLessThan(blank / 5);
});
