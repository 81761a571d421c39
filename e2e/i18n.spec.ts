// Korean, in a browser whose language is Korean: the page starts in Korean (<html lang="ko">), every panel,
// menu and dialog is worded in it — no English UI text is left on the page, in its text or its accessible
// names and tooltips — the narration keeps Linux's names, the language can be switched and is remembered,
// and a link's lang= wins over the browser's.
import { expect, test, type Page } from '@playwright/test';
import { en } from '../src/ui/i18n/en.ts';
import { ko } from '../src/ui/i18n/ko.ts';
import { flattenMessages } from '../src/ui/i18n/languages.ts';
import { watchErrors } from './helpers.ts';

const KO = flattenMessages(ko);
/** English UI phrases that Korean words differently: none of them may be on a Korean page. Whole phrases
 *  without {{variables}} or <slots/> (those are split around values): labels of two words or more that start
 *  with a capital, and any of three words or more — a lowercase pair ("the node") also occurs in the
 *  engine's own English sentences (a rule's comment, a CNI step's why), which are data, not UI text. */
const ENGLISH_PHRASES = [...flattenMessages(en)]
  .filter(
    ([key, text]) =>
      KO.get(key) !== text && !/[{<]/.test(text) && (/^[A-Z]\w* \w/.test(text) || /\w+ \w+ \w/.test(text)),
  )
  .map(([, text]) => text);

/** Everything the page says: its text, and the accessible names, tooltips, placeholders and group labels —
 *  not the scenario's own source in the editor, nor code (rules, commands), which are data, not UI text. */
async function everythingSaid(page: Page): Promise<string> {
  return page.evaluate(() => {
    let text = document.body.innerText;
    for (const el of document.querySelectorAll<HTMLElement>('.cm-content, pre, code'))
      text = text.replace(el.innerText, '');
    const parts = [text];
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], optgroup[label]'))
      for (const a of ['aria-label', 'title', 'placeholder', 'label'])
        if (el.hasAttribute(a)) parts.push(el.getAttribute(a) ?? '');
    return parts.join('\n');
  });
}

function expectNoEnglishUi(said: string): void {
  const left = ENGLISH_PHRASES.filter((p) => said.includes(p));
  expect(left, 'English UI text on a Korean page').toEqual([]);
}

const hopListKo = (page: Page) => page.getByRole('list', { name: ko.hops.label, exact: true });
const headerButton = (page: Page, name: string) =>
  page.locator('.header-menu-button').filter({ hasText: new RegExp(`^${name}`) });

test.describe('a Korean browser', () => {
  test.use({ locale: 'ko-KR' });

  test('starts in Korean; panels, menus, the editor and the Import dialog leave no English UI text', async ({
    page,
  }) => {
    test.setTimeout(90_000);
    const errors = watchErrors(page);
    await page.goto('/#v=1&s=default&w=pod-to-pod-cross-node');
    await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
    // The trace is complete when the last hop is the reply's verdict.
    await expect(hopListKo(page).getByRole('listitem').last()).toContainText(ko.verdict.kind.delivered);
    await expect(page.getByRole('button', { name: ko.controls.play, exact: true })).toBeVisible();

    // The scenario's own prose, from its spec.translations.ko: the walk's description and the introduction.
    await expect(page.locator('.picker-help')).toContainText('VXLAN 오버레이');
    await page.getByText(ko.picker.about).click();
    await expect(page.locator('.scenario-about')).toContainText(/[\uAC00-\uD7A3]/);
    await expect(page.locator('.scenario-about')).not.toContainText('Three nodes on');

    // A few hops in: the narration is Korean and names the devices as Linux does.
    const step = page.getByRole('button', { name: ko.controls.stepForward, exact: true });
    for (let i = 0; i < 4; i++) await step.click();
    const narration = page.locator('.narration');
    await expect(narration).toContainText(/[\uAC00-\uD7A3]/);
    await expect(narration).toContainText(/eth0|veth|cni0/);
    await page.keyboard.press('End');
    await expect(page.getByRole('status', { name: ko.verdict.label })).toContainText(
      ko.verdict.kind.delivered,
    );

    expectNoEnglishUi(await everythingSaid(page));

    // Every header menu, opened.
    for (const name of [ko.header.cluster, ko.header.share, ko.header.export]) {
      await headerButton(page, name).click();
      await expect(headerButton(page, name)).toHaveAttribute('aria-expanded', 'true');
      expectNoEnglishUi(await everythingSaid(page));
      await page.keyboard.press('Escape');
    }

    // The commands dialog (its script is shell, not UI text).
    await headerButton(page, ko.header.export).click();
    await page.getByRole('button', { name: ko.exporter.commands }).click();
    const commands = page.getByRole('dialog', { name: ko.commands.title });
    await expect(commands).toBeVisible();
    await expect(commands.locator('code').first()).toHaveText('sudo npx packet-walk lab <scenario> --up');
    await expect(commands.getByRole('button', { name: ko.commands.download })).toBeEnabled();
    await commands.getByRole('button', { name: ko.commands.close }).click();
    await page.keyboard.press('Escape');

    // The editor: its bar and its status.
    await page.getByRole('button', { name: ko.editor.open }).click();
    const editor = page.getByRole('region', { name: ko.editor.pane });
    await expect(editor.locator('.editor-status')).toHaveText(ko.editor.valid);
    expectNoEnglishUi(await everythingSaid(page));
    await page.getByRole('button', { name: ko.editor.close, exact: true }).click();

    // The Import dialog, both tabs, and what a read dump finds.
    await page.getByRole('button', { name: ko.importer.button, exact: true }).click();
    const dialog = page.getByRole('dialog', { name: ko.importer.title });
    await expect(dialog).toBeVisible();
    await expect(dialog.locator('.import-help code').first()).toHaveText(
      'kubectl get nodes,pods,services,endpointslices,networkpolicies -A -o json',
    );
    await dialog.getByLabel(ko.importer.kubectlText).fill(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          {
            apiVersion: 'v1',
            kind: 'Node',
            metadata: { name: 'n1' },
            spec: { podCIDR: '10.244.0.0/24' },
            status: { addresses: [{ type: 'InternalIP', address: '192.168.1.11' }] },
          },
        ],
      }),
    );
    await dialog.getByRole('button', { name: ko.importer.read }).click();
    await expect(dialog.locator('.import-found p').first()).toHaveText(/^찾은 것: 노드 1개, 파드 0개/);
    await expect(dialog.getByLabel(ko.importer.question.clusterCIDR)).toBeVisible();
    await expect(dialog.getByRole('combobox', { name: ko.importer.question.cni })).toContainText(
      ko.cniMode['flannel-vxlan'],
    );
    expectNoEnglishUi(await everythingSaid(page));
    await dialog.getByRole('tab', { name: ko.importer.nodeTab }).click();
    await expect(dialog.getByRole('button', { name: ko.importer.addToScenario })).toBeVisible();
    expectNoEnglishUi(await everythingSaid(page));
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();

    expect(errors).toEqual([]);
  });

  test('a pod is born, in Korean: the CNI steps, the inspector and the state files', async ({ page }) => {
    await page.goto('/#v=1&s=pod-is-born&w=web-is-born');
    await expect(hopListKo(page).getByRole('listitem').first()).toBeVisible();
    await page.getByRole('button', { name: ko.controls.stepForward, exact: true }).click();
    await expect(page.locator('.inspector.cni-step h2')).toHaveText(ko.cniPanel.after);
    await expect(page.locator('.narration')).toContainText(/[\uAC00-\uD7A3]/);
    // The last step: the pod has a network.
    await hopListKo(page).getByRole('listitem').last().getByRole('button').click();
    await expect(page.locator('.narration')).toContainText(ko.narration.cni.configured.concept);
    await expect(page.locator('.decision h2')).toHaveText(ko.cniPanel.filesTitle);
    expectNoEnglishUi(await everythingSaid(page));
  });

  test('switching to English is shown at once, written into the address, and remembered', async ({
    page,
  }) => {
    await page.goto('/#v=1&s=default&w=pod-to-pod-cross-node');
    await expect(hopListKo(page)).toBeVisible();
    await page.getByRole('combobox', { name: 'Language / 언어' }).selectOption('en');
    await expect(page.getByRole('list', { name: 'Hops', exact: true })).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect.poll(() => page.url()).toContain('lang=en');
    // Remembered: a link without lang= opens in English in this Korean browser.
    await page.goto('/?again=1#v=1&s=default&w=pod-to-pod-cross-node');
    await expect(page.getByRole('list', { name: 'Hops', exact: true })).toBeVisible();
  });
});

test.describe('an English browser', () => {
  test.use({ locale: 'en-US' });

  test("a link's lang=ko shows Korean, is kept in the address, and is not remembered", async ({ page }) => {
    await page.goto('/#v=1&s=default&w=pod-to-pod-cross-node&lang=ko');
    await expect(hopListKo(page)).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
    await expect.poll(() => page.url()).toContain('lang=ko');
    await page.goto('/?again=1#v=1&s=default&w=pod-to-pod-cross-node');
    await expect(page.getByRole('list', { name: 'Hops', exact: true })).toBeVisible();
  });

  test('the embed view in Korean', async ({ page }) => {
    await page.goto('/?embed=1#v=1&s=default&w=pod-to-pod-cross-node&lang=ko');
    await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
    await expect(page.getByRole('button', { name: ko.controls.play, exact: true })).toBeVisible();
    expectNoEnglishUi(await everythingSaid(page));
  });
});
