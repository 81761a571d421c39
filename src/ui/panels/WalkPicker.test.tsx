// @vitest-environment jsdom
// The scenario picker of the scenario library: presets grouped by topic, and the running scenario's
// introduction, as text only.
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineClient, EngineListener } from '../../worker/engineClient.ts';
import { PROTOCOL_VERSION, type NamedWalkRef, type ToMain, type WalkRequest } from '../../worker/protocol.ts';
import { App } from '../App.tsx';
import { fixtureWorld } from '../testWorld.ts';
import { paragraphsOf, presetGroups, walkRoute, type PresetOption } from './WalkPicker.tsx';
import { fixedT } from '../i18n/index.ts';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

class ScriptedClient implements EngineClient {
  runs: { text: string; walk: WalkRequest | NamedWalkRef; runId: number }[] = [];
  private listeners = new Set<EngineListener>();
  private last = 0;
  run(text: string, walk: WalkRequest | NamedWalkRef): number {
    this.runs.push({ text, walk, runId: ++this.last });
    return this.last;
  }
  cancel(): void {}
  subscribe(l: EngineListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  currentRunId(): number | null {
    return this.last;
  }
  validate(): Promise<null> {
    return Promise.resolve(null);
  }
  exportRun(): Promise<never> {
    return Promise.reject(new Error('no export in this test'));
  }
  dispose(): void {}
  emit(m: ToMain): void {
    act(() => {
      for (const l of this.listeners) l(m);
    });
  }
}

const PRESETS: PresetOption[] = [
  { id: 'default', title: 'default', text: 'default text' },
  {
    id: 'weave-overlay',
    title: 'weave-overlay',
    text: 'weave text',
    topic: 'pod-networking',
    description: 'One flat network.\nAcross nodes.\n\nSecond <b>paragraph</b>.',
  },
  { id: 'broken-mtu', title: 'broken-mtu', text: 'mtu text', topic: 'what-breaks' },
  { id: 'one-node-bridge', title: 'one-node-bridge', text: 'bridge text', topic: 'pod-networking' },
];

describe('presetGroups', () => {
  it('groups by topic in the library order, keeps each group in preset order, and leaves out empty topics', () => {
    expect(presetGroups(PRESETS).map((g) => [g.topic, g.presets.map((p) => p.id)])).toEqual([
      ['pod-networking', ['weave-overlay', 'one-node-bridge']],
      ['what-breaks', ['broken-mtu']],
      ['cluster', ['default']],
    ]);
  });
});

describe('paragraphsOf', () => {
  it('splits at blank lines and folds single line breaks', () => {
    expect(paragraphsOf('a\nb\n\n  c  \n\n\n')).toEqual(['a b', 'c']);
    expect(paragraphsOf('')).toEqual([]);
  });
});

describe('the picker in the app', () => {
  let container: HTMLDivElement;
  let root: Root;
  let client: ScriptedClient;

  beforeEach(() => {
    container = document.createElement('div');
    document.body.append(container);
    client = new ScriptedClient();
    root = createRoot(container);
    act(() => root.render(<App client={client} presets={PRESETS} initialPresetId="weave-overlay" />));
  });

  afterEach(() => {
    act(() => root.unmount());
    container.remove();
  });

  it('lists the presets in optgroups by topic', () => {
    const groups = [...container.querySelectorAll('optgroup')].map((g) => [
      g.label,
      [...g.querySelectorAll('option')].map((o) => o.value),
    ]);
    expect(groups).toEqual([
      ['Pod networking', ['weave-overlay', 'one-node-bridge']],
      ['What breaks', ['broken-mtu']],
      ['Clusters', ['default']],
    ]);
  });

  it("shows the preset's introduction in a collapsible section, as text, before the engine answers", () => {
    const about = container.querySelector('details.scenario-about')!;
    expect(about.querySelector('summary')!.textContent).toBe('About this scenario');
    expect([...about.querySelectorAll('p')].map((p) => p.textContent)).toEqual([
      'One flat network. Across nodes.',
      'Second <b>paragraph</b>.',
    ]);
    expect(about.querySelector('b')).toBeNull();
  });

  it("then shows the running world's description (a shared link's scenario has no preset)", () => {
    const runId = client.runs.at(-1)!.runId;
    const view = { ...fixtureWorld([1, 1]), description: 'From the link.' };
    const scenario = { cni: 'weave', kubeProxyMode: 'iptables', externalTrafficPolicy: {} } as const;
    client.emit({
      type: 'world',
      v: PROTOCOL_VERSION,
      runId,
      view,
      settings: { scenario, effective: scenario, hasGateway: false },
    });
    const about = container.querySelector('details.scenario-about')!;
    expect([...about.querySelectorAll('p')].map((p) => p.textContent)).toEqual(['From the link.']);
  });

  it('has no introduction section for a scenario without a description', () => {
    const select = container.querySelector('select')!;
    act(() => {
      select.value = 'broken-mtu';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(client.runs.at(-1)!.text).toBe('mtu text');
    expect(container.querySelector('details.scenario-about')).toBeNull();
  });
});

describe('walkRoute', () => {
  it('a packet walk is from → to · protocol; a CNI walk is the plugin command and the pod, no protocol', () => {
    const en = fixedT('en');
    expect(walkRoute({ from: 'pod/default/client', to: 'db-service:3306', protocol: 'tcp' }, en)).toBe(
      'pod/default/client → db-service:3306 · tcp',
    );
    expect(walkRoute({ from: 'cni/add', to: 'pod/default/web', protocol: 'tcp' }, en)).toBe(
      'CNI ADD · pod/default/web',
    );
    expect(walkRoute({ from: 'cni/del', to: 'pod/default/web', protocol: 'tcp' }, fixedT('ko'))).toBe(
      `${fixedT('ko')('leg.cni-del')} · pod/default/web`,
    );
  });
});
