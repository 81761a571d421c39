// The panels against the real engine: the tables a hop consulted (kube-proxy's chains, conntrack), the
// narration, the inspector's changed fields and the hop list's grouping by leg.
import { expect, test, type Page } from '@playwright/test';
import { current, hopList, hops, watchErrors } from './helpers.ts';

const narration = (page: Page) => page.getByRole('region', { name: 'Why this hop' });
const tables = (page: Page) => page.getByRole('region', { name: 'Decision' });

async function openWalk(page: Page, walk: string): Promise<void> {
  await page.goto('/');
  await expect(hops(page).last()).toContainText('Delivered');
  await page.getByLabel('Walk', { exact: true }).selectOption(walk);
  await expect(hops(page).last()).toContainText('Delivered');
}

/** Clicks the first hop whose line matches, and waits until it is the current one. */
async function seekTo(page: Page, text: string | RegExp): Promise<void> {
  const hop = hops(page).filter({ hasText: text }).first();
  await hop.getByRole('button').click();
  await expect(hop).toHaveAttribute('aria-current', 'step');
}

test("pod-to-service: kube-proxy's DNAT hop shows the chains, the matched rules and the conntrack entry", async ({
  page,
}) => {
  const errors = watchErrors(page);
  await openWalk(page, 'pod-to-service');
  await seekTo(page, /iptables: nat PREROUTING .*DNAT/);

  const panel = tables(page);
  await expect(panel).toContainText(/iptables -t nat, PREROUTING hook .*: \d+ rules evaluated → ACCEPT/);
  // Every chain jumped through, as iptables-save lines.
  const svc = panel.getByRole('list', { name: /^-t nat KUBE-SVC-/ });
  const sep = panel.getByRole('list', { name: /^-t nat KUBE-SEP-/ });
  await expect(svc.locator('li.match')).toHaveCount(1);
  await expect(svc.locator('li.match')).toContainText(/-A KUBE-SVC-\w+ .*-j KUBE-SEP-/);
  await expect(sep.locator('li.match')).toContainText('-j DNAT --to-destination 10.244.2.2:3306');
  // The marks are announced, not only coloured.
  await expect(sep.locator('li.match').first()).toContainText('matched:');
  // KUBE-SERVICES: the Service's rule is marked, the other Services' rules are not.
  const services = panel.getByRole('list', { name: '-t nat KUBE-SERVICES' });
  await expect(services.locator('li.match')).toHaveCount(1);
  await expect(services.locator('li.match')).toContainText('-d 10.96.106.22');
  expect(await services.locator('li:not(.match):not(.tested)').count()).toBeGreaterThan(1);
  // The conntrack entry this first packet created.
  const conntrack = panel.getByRole('list', { name: /^conntrack -L/ });
  await expect(conntrack.locator('li.match')).toContainText(
    /tcp 6 SYN_SENT src=10\.244\.1\.2 dst=10\.96\.106\.22 sport=\d+ dport=3306/,
  );
  await expect(conntrack.locator('li.match')).toContainText('created by this packet');

  await expect(narration(page)).toContainText("kube-proxy's DNAT");
  await expect(narration(page)).toContainText('10.244.2.2:3306');
  await page.screenshot({ path: test.info().outputPath('panels-dnat.png') });
  expect(errors).toEqual([]);
});

test('pod-to-service: the NAT hops name the addresses, the inspector shows the old destination', async ({
  page,
}) => {
  await openWalk(page, 'pod-to-service');
  await seekTo(page, 'nat: DNAT');
  await expect(narration(page)).toContainText('from 10.96.106.22:3306 to 10.244.2.2:3306');
  const inspector = page.getByRole('region', { name: 'Packet' });
  const dst = inspector.getByRole('table', { name: 'IPv4' }).getByRole('row', { name: /^dst/ });
  await expect(dst).toContainText('10.244.2.2');
  await expect(dst).toContainText('was 10.96.106.22');
  await expect(dst).toHaveClass(/changed/);

  // The reply's un-DNAT: conntrack, not a rule, rewrites the source back to the ClusterIP.
  await seekTo(page, 'nat: conntrack src');
  await expect(narration(page)).toContainText('Reply un-DNAT');
  await expect(narration(page)).toContainText('back to 10.96.106.22:3306');
  const conntrack = tables(page).getByRole('list', { name: /^conntrack -L/ });
  await expect(conntrack.locator('li.match')).toContainText('matched in the reply direction');
});

test('the narration appears and changes hop by hop, from the keyboard too', async ({ page }) => {
  await openWalk(page, 'pod-to-service');
  await expect(current(page)).toContainText('Request');
  await expect(narration(page)).toContainText('No interface anywhere has 10.96.106.22');
  const texts = new Set<string>();
  for (let i = 0; i < 4; i++) {
    texts.add((await narration(page).innerText()).trim());
    await page.getByRole('button', { name: 'Step forward' }).click();
    await expect(hops(page).nth(i + 1)).toHaveAttribute('aria-current', 'step');
  }
  expect(texts.size).toBe(4);
  // Tab to a hop and press Enter: it seeks, and the focused row is visibly outlined.
  const target = hops(page).nth(8).getByRole('button');
  await target.focus();
  await page.keyboard.press('Enter');
  await expect(hops(page).nth(8)).toHaveAttribute('aria-current', 'step');
  const outline = await target.evaluate((b) => getComputedStyle(b).outlineStyle);
  expect(outline).not.toBe('none');
  await expect(narration(page)).toContainText('A bridge does not route');
});

test('dns-short-name: the hop list is grouped by leg, in order, each leg headed by its kind', async ({
  page,
}) => {
  await openWalk(page, 'dns-short-name');
  const heads = hopList(page).locator('li.hop--leg');
  await expect(heads).toHaveCount(4);
  await expect(heads.nth(0)).toContainText('DNS query');
  await expect(heads.nth(1)).toContainText('DNS answer');
  await expect(heads.nth(2)).toContainText('Request');
  await expect(heads.nth(3)).toContainText('Reply');
  await expect(heads.nth(0)).toContainText(/DNS query · leg 1 · \d+ events · delivered/);
  // One listitem per event, in order: the leg numbers never go down and each leg starts with its header.
  const items = await hops(page).evaluateAll((lis) =>
    lis.map((li) => ({ leg: Number(li.getAttribute('data-leg')), head: li.classList.contains('hop--leg') })),
  );
  expect(items.length).toBeGreaterThan(100);
  items.forEach((it, i) => {
    const prev = items[i - 1];
    if (prev) expect(it.leg).toBeGreaterThanOrEqual(prev.leg);
    expect(it.head).toBe(!prev || prev.leg !== it.leg);
  });
  // The resolver's hop: resolv.conf and the candidates, the one tried marked.
  await seekTo(page, 'resolver:');
  const candidates = tables(page).getByRole('list', { name: /the names "db-service" makes/ });
  await expect(candidates.locator('li.match')).toContainText('1. db-service.default.svc.cluster.local.');
  await expect(tables(page).getByRole('list', { name: '/etc/resolv.conf' })).toContainText('options ndots:5');
  await expect(narration(page)).toContainText('fewer than ndots:5');
  await page.screenshot({ path: test.info().outputPath('panels-dns.png') });
});
