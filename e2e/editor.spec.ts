// The scenario editor in Chromium: invalid input of many kinds, each problem placed on its line and naming
// its field; a valid edit redraws the cluster; the draft survives a reload; Download gives the text; an
// edited scenario's share link opens the same text; another scenario picked keeps the user's edits.
import { readFile } from 'node:fs/promises';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { hops, watchErrors } from './helpers.ts';

const DEFAULT = await readFile(new URL('../src/scenario/presets/default.yaml', import.meta.url), 'utf8');

const editorText = (page: Page) => page.getByRole('textbox', { name: 'Scenario YAML' });
const problems = (page: Page) => page.getByRole('list', { name: 'Problems' }).getByRole('listitem');
const editorStatus = (page: Page) => page.locator('.editor-status');

async function openEditor(page: Page, url = '/'): Promise<void> {
  await page.goto(url);
  await expect(hops(page).last()).toContainText('Delivered');
  await page.getByRole('button', { name: 'Edit scenario' }).click();
  await expect(editorText(page)).toBeVisible();
  await expect(editorStatus(page)).toContainText('Valid');
}

/** Replaces the editor's whole text as a paste would (select all, insert). */
async function setText(page: Page, text: string): Promise<void> {
  await editorText(page).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

/** The editor's whole text. CodeMirror draws only the lines in view, so this asks the editor itself, the
 *  way its EditorView.findFromDOM does (the content element's tile, whose root holds the view). */
async function fullText(page: Page): Promise<string> {
  return page.evaluate(() => {
    type View = { state: { doc: { toString(): string } } };
    const content = document.querySelector('.cm-content') as
      (Element & { cmTile?: { root?: { view?: View } } }) | null;
    const view = content?.cmTile?.root?.view;
    if (!view) throw new Error('no CodeMirror view on .cm-content');
    return view.state.doc.toString();
  });
}

function edit(from: string, to: string, text = DEFAULT): string {
  if (!text.includes(from)) throw new Error(`the default preset has no ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

/** The 1-based line of the first line containing `needle`. */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

interface InvalidCase {
  readonly name: string;
  readonly text: string;
  readonly severity: 'error' | 'warning';
  /** The field the problem must name ('' for YAML syntax). */
  readonly field: string;
  /** Words of the message. */
  readonly message: string;
  /** The underlined text. */
  readonly underlined: string;
  /** Text on the line the problem must be on. */
  readonly onLine: string;
  /** That line's number, where the first line with `onLine` is not it. */
  readonly line?: (text: string) => number;
}

/** The 1-based number of the `n`th line (1-based) that is exactly `line`. */
function nthLine(text: string, line: string, n: number): number {
  let seen = 0;
  return text.split('\n').findIndex((l) => l === line && ++seen === n) + 1;
}

const NETWORK_POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-ingress
spec:
  podSelector:
    matchExpressions:
      - key: app
        operator: Has
        values: [db]
`;

const CASES: InvalidCase[] = [
  {
    name: 'YAML syntax error',
    text: edit('cni: flannel-vxlan', 'cni: "flannel-vxlan'),
    severity: 'error',
    field: '',
    message: 'Missing closing "quote',
    underlined: '"flannel-vxlan',
    onLine: 'cni: "flannel-vxlan',
  },
  {
    name: 'bad indentation',
    text: edit('spec:\n  podCIDR: 10.244.1.0/24', 'spec:\n  podCIDR: 10.244.1.0/24\n podCIDRs: []'),
    severity: 'error',
    field: '',
    message: 'must start at the same column',
    underlined: 'podCIDRs',
    onLine: ' podCIDRs: []',
  },
  {
    name: 'unknown kind (warning)',
    text: `${DEFAULT}---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n`,
    severity: 'warning',
    field: '',
    message: 'runs no controllers',
    underlined: 'kind: Deployment',
    onLine: 'kind: Deployment',
  },
  {
    name: 'port out of range',
    text: edit('port: 3306, targetPort', 'port: 70000, targetPort'),
    severity: 'error',
    field: 'spec.ports[0].port',
    message: 'must be 1-65535',
    underlined: 'port: 70000',
    onLine: 'port: 70000',
  },
  {
    name: 'invalid IP',
    text: edit('podIP: 10.244.1.2', 'podIP: 10.244.1.300'),
    severity: 'error',
    field: 'status.podIP',
    message: 'is not an IPv4 address',
    underlined: 'podIP: 10.244.1.300',
    onLine: 'podIP: 10.244.1.300',
  },
  {
    name: 'podCIDR not inside clusterCIDR',
    text: edit('podCIDR: 10.244.1.0/24', 'podCIDR: 10.245.1.0/24'),
    severity: 'error',
    field: 'spec.podCIDR',
    message: 'is outside clusterCIDR 10.244.0.0/16',
    underlined: 'podCIDR: 10.245.1.0/24',
    onLine: 'podCIDR: 10.245.1.0/24',
  },
  {
    name: 'overlapping networks',
    text: edit('serviceCIDR: 10.96.0.0/12', 'serviceCIDR: 10.244.0.0/16'),
    severity: 'error',
    field: 'spec.serviceCIDR',
    message: 'overlaps clusterCIDR',
    underlined: 'serviceCIDR: 10.244.0.0/16',
    onLine: 'serviceCIDR: 10.244.0.0/16',
  },
  {
    name: 'duplicate names',
    text: edit('name: node-2\n', 'name: node-1\n'),
    severity: 'error',
    field: 'metadata.name',
    message: 'duplicate Node "node-1"',
    underlined: 'name: node-1',
    onLine: 'name: node-1',
    // On the second Node called node-1, not the first.
    line: (text) => nthLine(text, '  name: node-1', 2),
  },
  {
    name: 'unknown walk reference',
    text: edit('to: pod/default/db:3306', 'to: pod/default/nosuch:3306'),
    severity: 'error',
    field: 'spec.walks[0].to',
    message: 'no Pod "nosuch"',
    underlined: 'to: pod/default/nosuch:3306',
    onLine: 'to: pod/default/nosuch:3306',
  },
  {
    name: 'bad CNI mode',
    text: edit('cni: flannel-vxlan', 'cni: flannel-vxlam'),
    severity: 'error',
    field: 'spec.cni',
    message: 'must be one of flannel-vxlan',
    underlined: 'cni: flannel-vxlam',
    onLine: 'cni: flannel-vxlam',
  },
  {
    name: 'missing required field',
    text: edit('  nodeName: node-3\n  containers:\n    - name: nginx', '  containers:\n    - name: nginx'),
    severity: 'error',
    field: 'spec.nodeName',
    message: 'required',
    underlined: 'spec',
    onLine: 'spec:',
    // On the `spec:` of the pod without nodeName (web-2).
    line: (text) => lineOf(text, 'name: web-2') + 3,
  },
  {
    name: 'IPv6 address',
    text: edit('podIP: 10.244.1.2', 'podIP: fd00::2'),
    severity: 'error',
    field: 'status.podIP',
    message: 'IPv6 is not modelled yet',
    underlined: 'podIP: fd00::2',
    onLine: 'podIP: fd00::2',
  },
  {
    name: 'bad label selector',
    text: `${DEFAULT}---\n${NETWORK_POLICY}`,
    severity: 'error',
    field: 'spec.podSelector.matchExpressions[0].operator',
    message: 'must be one of In, NotIn',
    underlined: 'operator: Has',
    onLine: 'operator: Has',
  },
];

test.describe('invalid input: each problem on its line, naming its field', () => {
  for (const c of CASES) {
    test(c.name, async ({ page }) => {
      const errors = watchErrors(page);
      await openEditor(page);
      await setText(page, c.text);
      await expect(editorStatus(page)).toContainText(c.severity === 'error' ? 'error' : 'warning');
      const line = c.line?.(c.text) ?? lineOf(c.text, c.onLine);
      const item = problems(page).filter({ hasText: c.message }).first();
      await expect(item).toContainText(`${c.severity === 'error' ? 'Error' : 'Warning'}, line ${line}`);
      if (c.field) await expect(item).toContainText(`${c.field}: `);

      // Click to jump: the cursor lands on that line, the underline covers the field, the gutter marks it.
      await item.getByRole('button').click();
      await expect(page.locator('.cm-lineNumbers .cm-activeLineGutter')).toHaveText(String(line));
      const activeLine = page.locator('.cm-activeLine');
      await expect(activeLine).toContainText(c.onLine.trim());
      const underline = page.locator(`.cm-lintRange-${c.severity}`).filter({ hasText: c.underlined.trim() });
      await expect(underline.first()).toBeVisible();
      await expect(page.locator(`.cm-lint-marker-${c.severity}`).first()).toBeVisible();
      // The diagnostic's own message (hover tooltip) names the field too.
      await underline.first().hover();
      const tooltip = page.locator('.cm-tooltip-lint');
      await expect(tooltip).toContainText(c.message);
      if (c.field) await expect(tooltip).toContainText(c.field);
      if (c.severity === 'error')
        await expect(editorStatus(page)).toContainText('the picture still shows the last valid scenario');
      expect(errors).toEqual([]);
    });
  }
});

test('the editor open (screenshot), accessible, closed by default and absent in embed mode', async ({
  page,
}, info) => {
  const errors = watchErrors(page);
  await page.goto('/');
  await expect(hops(page).last()).toContainText('Delivered');
  await expect(page.getByRole('region', { name: 'Scenario editor' })).toHaveCount(0);
  const toggle = page.getByRole('button', { name: 'Edit scenario' });
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await toggle.click();
  await expect(editorText(page)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Close editor' })).toHaveAttribute('aria-expanded', 'true');
  await expect(page.getByRole('region', { name: 'Scenario editor' })).toBeVisible();
  await setText(page, edit('podCIDR: 10.244.1.0/24', 'podCIDR: 10.245.1.0/24'));
  await expect(problems(page).first()).toBeVisible();
  await problems(page).first().getByRole('button').click();
  await page.locator('.cm-lintRange-error').first().hover();
  await expect(page.locator('.cm-tooltip-lint')).toBeVisible();
  await page.screenshot({ path: info.outputPath('editor-open.png') });

  // axe-core (WCAG 2.1 A/AA), as e2e/a11y.spec.ts runs it on the rest of the app: nothing serious.
  const axe = await new AxeBuilder({ page })
    .include('.editor-pane')
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  for (const v of axe.violations)
    console.log(
      `axe (${v.impact ?? '?'}): ${v.id} — ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    );
  expect(
    axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id),
  ).toEqual([]);

  // Tab indents inside the editor; Escape then Tab leaves it.
  await editorText(page).click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('Tab');
  await expect(page.locator('.cm-line').first()).toHaveText(/^ {2}# Packet Walk/);
  await page.keyboard.press('Control+Z');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.closest('.cm-editor') === null)).toBe(true);

  await page.goto('/?embed=1');
  await expect(page.getByRole('button', { name: /Edit scenario|Close editor/ })).toHaveCount(0);
  await expect(page.getByRole('region', { name: 'Scenario editor' })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('typing: the problem appears as you type, undo takes it away, a valid edit redraws the cluster', async ({
  page,
}) => {
  const errors = watchErrors(page);
  await openEditor(page);
  // Type into the `mtu: 1500` line: put a letter after the number.
  await page.getByText('mtu: 1500').click();
  await page.keyboard.press('End');
  await page.keyboard.type('x');
  await expect(problems(page).first()).toContainText('spec.mtu: must be an integer');
  await page.keyboard.press('Control+Z');
  await expect(editorStatus(page)).toContainText('Valid');
  await expect(problems(page)).toHaveCount(0);

  // A new pod on node-1: the canvas gets a device for it, and the walk is walked again.
  const extra = `---
apiVersion: v1
kind: Pod
metadata:
  name: extra
  namespace: default
spec:
  nodeName: node-1
  containers:
    - name: c
      image: busybox
status:
  podIP: 10.244.1.9
`;
  const device = page.locator('[data-device="pod/default/extra|eth0"]');
  await expect(device).toHaveCount(0);
  await setText(page, `${DEFAULT}${extra}`);
  await expect(editorStatus(page)).toContainText('Valid: the picture shows this scenario');
  await expect(device).toHaveCount(1);
  await expect(hops(page).last()).toContainText('Delivered');
  await expect(page.getByLabel('Walk', { exact: true })).toHaveValue('pod-to-pod-cross-node');

  // While invalid, the picture stays.
  await setText(page, `${DEFAULT}${extra}`.replace('podIP: 10.244.1.9', 'podIP: 10.244.1.999'));
  await expect(editorStatus(page)).toContainText('1 error');
  await expect(device).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('the draft survives a reload, says so, and can be discarded', async ({ page }) => {
  const errors = watchErrors(page);
  await openEditor(page);
  const broken = edit('cni: flannel-vxlan', 'cni: flannel-vxlam');
  await setText(page, broken);
  await expect(editorStatus(page)).toContainText('1 error');
  // The draft is written half a second after the last keystroke.
  await expect
    .poll(() => page.evaluate(() => localStorage.getItem('packetwalk:editor:draft:v1')))
    .toContain('flannel-vxlam');

  await page.reload();
  await expect(editorText(page)).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'was restored' })).toBeVisible();
  await expect(editorStatus(page)).toContainText('1 error');
  expect(await fullText(page)).toBe(broken);
  await expect(problems(page).first()).toContainText('spec.cni');

  await page.getByRole('button', { name: 'Discard draft' }).click();
  await expect(editorStatus(page)).toContainText('Valid');
  expect(await fullText(page)).toBe(DEFAULT);
  await expect(page.getByRole('status').filter({ hasText: 'was restored' })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('Download saves the text under the scenario name, even while it is invalid', async ({ page }) => {
  await openEditor(page);
  // Not a valid Cluster name (a DNS label): the file name keeps only letters, digits and dashes.
  const text = edit('  name: default\n', '  name: My Lab 2!\n');
  await setText(page, text);
  await expect(editorStatus(page)).toContainText('1 error');
  await expect(problems(page).first()).toContainText('metadata.name');
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download' }).click(),
  ]);
  expect(file.suggestedFilename()).toBe('my-lab-2.yaml');
  const path = await file.path();
  expect(await readFile(path, 'utf8')).toBe(text);
});

test('share link round trip with an edited scenario; another scenario picked keeps the edits', async ({
  page,
  browser,
}) => {
  const errors = watchErrors(page);
  await openEditor(page);
  const text = edit('  name: default\n', '  name: edited\n').replace(
    'podIP: 10.244.1.3',
    'podIP: 10.244.1.30',
  );
  await setText(page, text);
  await expect(editorStatus(page)).toContainText('Valid');
  await expect(page).toHaveURL(/#v=1&sc=/);
  // The default cluster's link is longer than some tools keep: the editor says so.
  await expect(page.locator('.editor-link')).toContainText('characters long');
  const link = page.url();

  // A fresh browser (no draft in its storage) opens the link: the same text in the editor.
  const other = await browser.newContext();
  const fresh = await other.newPage();
  const freshErrors = watchErrors(fresh);
  await openEditor(fresh, link);
  expect(await fullText(fresh)).toBe(text);
  await expect(fresh.getByLabel('Start from')).toHaveValue('');
  expect(freshErrors).toEqual([]);
  await other.close();

  // Unapplied edits, then another scenario from the header's picker: the editor shows it, the edits are
  // kept and come back with one button.
  const unapplied = `${text}\n# work in progress\nkind: [`;
  await setText(page, unapplied);
  await expect(editorStatus(page)).toContainText('error');
  await page.getByLabel('Scenario', { exact: true }).selectOption('three-tier');
  await expect(page.getByRole('status').filter({ hasText: 'replaced your edits' })).toBeVisible();
  await expect(editorStatus(page)).toContainText('Valid');
  await expect(page.getByLabel('Start from')).toHaveValue('three-tier');
  expect(await fullText(page)).toContain('name: three-tier');
  await page.getByRole('button', { name: 'Bring back my edits' }).click();
  await expect.poll(() => fullText(page)).toBe(unapplied);
  expect(errors).toEqual([]);
});
