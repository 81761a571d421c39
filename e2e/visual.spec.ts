// Visual regression: the page as drawn at the frames that matter, compared with the committed snapshots in
// e2e/visual.spec.ts-snapshots/ on every run. Deterministic by construction: a fixed viewport, reduced motion
// (the packet sits on its hop, a NAT flash is steady), CSS animations and the caret off, and each shot taken
// only once the trace is complete, the wanted hop is current and two animation frames have been drawn. A
// small pixel tolerance absorbs font antialiasing.
//
// After an intended UI change, look at the new pictures and accept them:
//   npx playwright test e2e/visual.spec.ts --update-snapshots
import { expect, test, type Page } from '@playwright/test';
import { current, hops, verdict } from './helpers.ts';

const SHOT = { maxDiffPixelRatio: 0.01, animations: 'disabled', caret: 'hide', fullPage: false } as const;

test.use({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });

test.beforeEach(async ({ page }) => {
  await page.emulateMedia({ reducedMotion: 'reduce', colorScheme: 'light' });
});

/** Waits until the canvas has drawn what the store holds now: two animation frames after the last change. */
async function settled(page: Page): Promise<void> {
  await page.evaluate(
    () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))),
  );
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
}

/** Opens a built-in walk by its share link and waits for the whole trace. */
async function open(page: Page, walk: string, query = ''): Promise<void> {
  await page.goto(`/${query}#v=1&s=default&w=${walk}`);
  await expect(verdict(page)).toBeVisible();
  await expect(hops(page).last()).toContainText(/Delivered|Dropped|unreachable|refused|error/i);
}

/** Makes the hop whose text matches current (clicking its button) and waits for the frame. */
async function goToHop(page: Page, text: RegExp): Promise<void> {
  const hop = hops(page).filter({ hasText: text }).first();
  await hop.getByRole('button').click();
  await expect(current(page)).toContainText(text);
  await settled(page);
}

test('default walk: the first hop', async ({ page }) => {
  await open(page, 'pod-to-pod-cross-node');
  await page.keyboard.press('Home');
  await expect(current(page)).toBeVisible();
  await settled(page);
  await expect(page).toHaveScreenshot('cross-node-first-hop.png', SHOT);
});

test('default walk: on the wire between the nodes, wrapped in VXLAN', async ({ page }) => {
  await open(page, 'pod-to-pod-cross-node');
  await goToHop(page, /eth0 → out[^]*node-1|node-1[^]*eth0 → out/);
  await expect(page.locator('svg.topology-overlay g.packet')).toHaveClass(/packet--encap/);
  await expect(page).toHaveScreenshot('cross-node-vxlan.png', SHOT);
});

test("pod → Service: kube-proxy's DNAT", async ({ page }) => {
  await open(page, 'pod-to-service');
  await goToHop(page, /nat: DNAT/);
  await expect(page.locator('svg.topology-overlay g.packet')).toHaveAttribute('data-flash', /^DNAT dst /);
  await expect(page).toHaveScreenshot('service-dnat.png', SHOT);
});

test('default walk: the end (delivered)', async ({ page }) => {
  await open(page, 'pod-to-pod-cross-node');
  await page.keyboard.press('End');
  await expect(current(page)).toContainText('Delivered');
  await settled(page);
  await expect(page).toHaveScreenshot('cross-node-end.png', SHOT);
});

test('a dropped walk: the cloud NAT drops the unmapped laptop', async ({ page }) => {
  await open(page, 'unmapped-host-to-internet');
  await page.keyboard.press('End');
  await expect(verdict(page)).toContainText('Dropped');
  await expect(page.locator('g.marker--dropped')).toHaveCount(1);
  await settled(page);
  await expect(page).toHaveScreenshot('dropped.png', SHOT);
});

test('embed mode', async ({ page }) => {
  await page.goto('/?embed=1#v=1&s=default&w=pod-to-pod-cross-node&hop=6');
  await expect(page.locator('.app--embed')).toBeVisible();
  await expect(page.locator('.embed-status')).toContainText(/\S/);
  await settled(page);
  await page.waitForFunction(() => document.querySelector('svg.topology-overlay g.packet') !== null);
  await settled(page);
  await expect(page).toHaveScreenshot('embed.png', SHOT);
});

test.describe('narrow viewport', () => {
  test.use({ viewport: { width: 390, height: 844 } });
  test('the default walk on a phone-sized screen', async ({ page }) => {
    await open(page, 'pod-to-pod-cross-node');
    await goToHop(page, /eth0 → out[^]*node-1|node-1[^]*eth0 → out/);
    // The page scrolls on a phone (clicking the hop scrolled to it): the picture is at the top.
    await page.evaluate(() => window.scrollTo(0, 0));
    await settled(page);
    await expect(page).toHaveScreenshot('narrow.png', SHOT);
  });
});
