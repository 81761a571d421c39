// @vitest-environment jsdom
// The app shell with a scripted engine client: what it asks the engine for, and how it shows answers —
// including a scenario error whose text looks like HTML (it must stay text).
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineClient, EngineListener } from '../worker/engineClient.ts';
import {
  PROTOCOL_VERSION,
  type ExportContents,
  type ExportFormat,
  type NamedWalkRef,
  type Overrides,
  type ToMain,
  type WalkRequest,
} from '../worker/protocol.ts';
import { App } from './App.tsx';
import { BASE_TICK_MS } from './playbackMachine.ts';
import { PLAYING_WRITE_MS } from './share/useShare.ts';
import { fixtureWorld, routeDecision, trace } from './testWorld.ts';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

class ScriptedClient implements EngineClient {
  runs: { text: string; walk: WalkRequest | NamedWalkRef; runId: number }[] = [];
  overrides: Overrides[] = [];
  private listeners = new Set<EngineListener>();
  private last = 0;
  run(text: string, walk: WalkRequest | NamedWalkRef, overrides: Overrides = {}): number {
    this.runs.push({ text, walk, runId: ++this.last });
    this.overrides.push(overrides);
    return this.last;
  }
  cancel(): void {}
  validate(): Promise<null> {
    return Promise.resolve(null);
  }
  subscribe(l: EngineListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  currentRunId(): number | null {
    return this.last;
  }
  exported: ExportFormat[] = [];
  exportRun<F extends ExportFormat>(format: F): Promise<ExportContents[F]> {
    this.exported.push(format);
    const contents: ExportContents = {
      pcapng: Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a),
      'lab-script': 'ip netns add pwlab-node-1\n',
    };
    return Promise.resolve(contents[format]);
  }
  dispose(): void {}
  emit(m: ToMain): void {
    act(() => {
      for (const l of this.listeners) l(m);
    });
  }
}

const v = PROTOCOL_VERSION;
const CLUSTER = { cni: 'flannel-vxlan', kubeProxyMode: 'iptables', externalTrafficPolicy: {} } as const;
const SETTINGS = { scenario: CLUSTER, effective: CLUSTER, hasGateway: false };
const PRESETS = [{ id: 'default', title: 'default', text: 'kind: Cluster # the scenario text' }];

let container: HTMLDivElement;
let root: Root;
let client: ScriptedClient;

beforeEach(() => {
  container = document.createElement('div');
  document.body.append(container);
  client = new ScriptedClient();
  root = createRoot(container);
  act(() => root.render(<App client={client} presets={PRESETS} initialPresetId="default" />));
});

afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

const $ = (sel: string) => container.querySelector(sel);
const $$ = (sel: string) => [...container.querySelectorAll(sel)];
const button = (name: string) =>
  $$('button').find(
    (b) => b.getAttribute('aria-label') === name || b.textContent === name,
  ) as HTMLButtonElement;

describe('App', () => {
  it("asks for the scenario's first walk on start", () => {
    expect(client.runs).toEqual([{ text: PRESETS[0]!.text, walk: { name: null }, runId: 1 }]);
  });

  it('shows the world, the hops and the verdict; Step forward moves aria-current', () => {
    const runId = client.runs.at(-1)!.runId;
    const view = fixtureWorld([1, 1]);
    client.emit({ type: 'world', v, runId, view, settings: SETTINGS });
    const events = trace([
      { leg: 'request', at: 'pod/default/p1-1' },
      { decide: routeDecision('eth0'), at: 'pod/default/p1-1' },
      { observe: 'pod/default/p1-1|eth0' },
      { verdict: 'dropped', at: 'pod/default/p1-1', reason: 'testing <b>bold</b>' },
    ]);
    client.emit({ type: 'events', v, runId, events });
    client.emit({
      type: 'done',
      v,
      runId,
      trace: {
        version: 2,
        from: 'a',
        to: 'b',
        flow: { protocol: 'tcp', src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2 },
        seed: 1,
        legs: [],
        eventCount: 4,
      },
    });

    // The walk picker shows the scenario's walk.
    expect(($('input[placeholder="pod/default/client"]') as HTMLInputElement).value).toBe('pod/default/p1-1');
    expect($$('[data-device]').length).toBeGreaterThan(5);
    expect($('[data-device="node/node-2|flannel.1"]')).not.toBeNull();

    const items = $$('ol[aria-label="Hops"] > li');
    expect(items).toHaveLength(4);
    expect(items[0]!.getAttribute('aria-current')).toBe('step');
    act(() => button('Step forward').click());
    expect(items[1]!.getAttribute('aria-current')).toBe('step');
    // One number for the hop everywhere people see it, counted from 1 like the position: the row, the
    // inspector, the decision panel and the counter (the event's seq is 1).
    expect(items[1]!.querySelector('.hop-seq')!.textContent).toBe('2');
    expect($('.inspector .panel-sub')!.textContent).toMatch(/^#2 /);
    expect($('.decision .panel-sub')!.textContent).toMatch(/^#2 /);
    expect($('[aria-label="Position"]')!.textContent).toBe('2 / 4');
    expect(items[0]!.querySelector('.hop-group')!.textContent).toContain('leg 1 · 4 events');
    act(() => button('Step back').click());
    expect(items[0]!.getAttribute('aria-current')).toBe('step');

    act(() => (items[3]!.querySelector('button') as HTMLButtonElement).click());
    const status = $('[role="status"][aria-label="Verdict"]')!;
    expect(status.textContent).toContain('Dropped: testing <b>bold</b>');
    expect(status.querySelector('b')).toBeNull();
  });

  it('export: disabled until the walk is done; pcapng and the commands come from the engine client', async () => {
    const runId = client.runs.at(-1)!.runId;
    expect(button('Export pcapng').disabled).toBe(true);
    expect(button('Show the commands').disabled).toBe(true);
    client.emit({ type: 'world', v, runId, view: fixtureWorld([1, 1]), settings: SETTINGS });
    client.emit({
      type: 'done',
      v,
      runId,
      trace: {
        version: 2,
        from: 'a',
        to: 'b',
        flow: { protocol: 'tcp', src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2 },
        seed: 1,
        legs: [],
        eventCount: 0,
      },
    });
    expect(button('Export pcapng').disabled).toBe(false);

    const urls: Blob[] = [];
    const { createObjectURL, revokeObjectURL } = URL;
    URL.createObjectURL = (b: Blob | MediaSource) => (urls.push(b as Blob), 'blob:test');
    URL.revokeObjectURL = () => {};
    try {
      await act(async () => button('Export pcapng').click());
      expect(client.exported).toEqual(['pcapng']);
      expect(urls[0]?.type).toBe('application/x-pcapng');
      expect(container.textContent).toContain('Capture downloaded (pcapng)');
    } finally {
      URL.createObjectURL = createObjectURL;
      URL.revokeObjectURL = revokeObjectURL;
    }

    await act(async () => button('Show the commands').click());
    const dialog = $('[role="dialog"]')!;
    expect(dialog.getAttribute('aria-labelledby')).toBe('commands-title');
    expect(dialog.querySelector('pre')!.textContent).toBe('ip netns add pwlab-node-1\n');
    expect(client.exported).toEqual(['pcapng', 'lab-script']);
    act(() => button('Close').click());
    expect($('[role="dialog"]')).toBeNull();
  });

  it('lists scenario issues by document and field, as text', () => {
    const runId = client.runs.at(-1)!.runId;
    client.emit({
      type: 'error',
      v,
      runId,
      message: 'The scenario has 2 problems.',
      issues: [
        {
          document: 3,
          kind: 'Service',
          name: 'prod/db-service',
          path: 'spec.ports[0].port',
          message: 'must be 1-65535',
          line: 12,
        },
        {
          document: null,
          kind: null,
          name: null,
          path: '',
          message: '<img src=x onerror="alert(1)">',
          line: null,
        },
      ],
    });
    const alert = $('[role="alert"]')!;
    const lines = [...alert.querySelectorAll('li')].map((li) => li.textContent);
    expect(lines[0]).toBe(
      'document 3 (Service prod/db-service) spec.ports[0].port: must be 1-65535 (line 12)',
    );
    expect(lines[1]).toBe('scenario: <img src=x onerror="alert(1)">');
    expect(container.querySelector('img')).toBeNull();
  });

  it('drops messages of an earlier run', () => {
    const first = client.runs.at(-1)!.runId;
    act(() => button('Walk').click()); // empty fields: nothing happens
    expect(client.runs).toHaveLength(1);
    const input = (sel: string) => $(sel) as HTMLInputElement;
    act(() => {
      setValue(input('input[placeholder="pod/default/client"]'), 'pod/default/a');
      setValue(input('input[placeholder="db-service:3306 or 10.96.0.10:53"]'), '10.0.0.1:80');
    });
    act(() => button('Walk').click());
    expect(client.runs.at(-1)!.walk).toEqual({ from: 'pod/default/a', to: '10.0.0.1:80', protocol: 'tcp' });
    client.emit({ type: 'events', v, runId: first, events: trace([{ leg: 'request', at: 'x' }]) });
    expect($$('ol[aria-label="Hops"] > li')).toHaveLength(0);
  });
  it('changing a toggle re-runs the walk with the override, and Reset clears it', () => {
    const runId = client.runs.at(-1)!.runId;
    const settings = { ...SETTINGS, hasGateway: false };
    client.emit({ type: 'world', v, runId, view: fixtureWorld([1, 1]), settings });
    const cni = $$('select').find(
      (el) => el.id !== '' && $(`label[for="${el.id}"]`)?.textContent === 'CNI',
    ) as HTMLSelectElement;
    // bridge-router needs a gateway this scenario lacks: offered, but disabled and saying why.
    const router = [...cni.options].find((o) => o.value === 'bridge-router')!;
    expect(router.disabled).toBe(true);
    expect(router.textContent).toContain('needs a gateway');
    act(() => {
      cni.value = 'flannel-host-gw';
      cni.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(client.overrides.at(-1)).toEqual({ cni: 'flannel-host-gw' });
    expect(client.runs.at(-1)!.walk).toEqual({ name: 'w' });
    act(() => button('Reset toggles').click());
    expect(client.overrides.at(-1)).toEqual({});
  });
});

describe('App opened from a link', () => {
  const mount = (props: Partial<Parameters<typeof App>[0]>) => {
    act(() => root.unmount());
    client = new ScriptedClient();
    root = createRoot(container);
    act(() => root.render(<App client={client} presets={PRESETS} initialPresetId="default" {...props} />));
  };

  it("runs the link's walk with its toggles and seed", () => {
    mount({
      link: {
        kind: 'state',
        state: {
          scenario: { kind: 'text', text: 'my own scenario' },
          walk: { kind: 'custom', walk: { from: 'pod/default/a', to: '10.0.0.1:80', protocol: 'tcp' } },
          overrides: { kubeProxyMode: 'ipvs' },
          seed: 42,
          hop: 2,
        },
      },
    });
    expect(client.runs).toEqual([
      {
        text: 'my own scenario',
        walk: { from: 'pod/default/a', to: '10.0.0.1:80', protocol: 'tcp', seed: 42 },
        runId: 1,
      },
    ]);
    expect(client.overrides).toEqual([{ kubeProxyMode: 'ipvs' }]);
    expect(($('input[placeholder="pod/default/client"]') as HTMLInputElement).value).toBe('pod/default/a');
    // The address bar holds the state, the pending hop included.
    expect(window.location.hash).toContain('kp=ipvs');
    expect(window.location.hash).toContain('seed=42');
    expect(window.location.hash).toContain('hop=2');
  });

  it('while playing, the address follows at most once a second, and at once when playback stops', () => {
    vi.useFakeTimers();
    try {
      mount({});
      const runId = client.runs.at(-1)!.runId;
      client.emit({ type: 'world', v, runId, view: fixtureWorld([1, 1]), settings: SETTINGS });
      const hopsIn = [{ leg: 'request' as const, at: 'pod/default/p1-1' }];
      for (let i = 0; i < 8; i++) hopsIn.push({ leg: 'request', at: 'pod/default/p1-1' });
      client.emit({ type: 'events', v, runId, events: trace(hopsIn) });
      const hop = () => /[#&]hop=(\d+)/.exec(window.location.hash)?.[1] ?? '0';
      act(() => button('Play').click());
      // Two ticks: the cursor is on the third hop; the address was last written a second in, at the second.
      act(() => vi.advanceTimersByTime(2 * BASE_TICK_MS));
      expect($('[aria-label="Position"]')!.textContent).toMatch(/^3 \//);
      expect(PLAYING_WRITE_MS).toBeLessThan(2 * BASE_TICK_MS);
      expect(hop()).toBe('1');
      act(() => button('Pause').click());
      expect(hop()).toBe('2');
    } finally {
      vi.useRealTimers();
    }
  });

  it('a broken link: an alert with the reason as text, and the default scenario', () => {
    mount({ link: { kind: 'error', message: 'The CNI mode "<b>x</b>" is bad.' } });
    const alert = $('[role="alert"]')!;
    expect(alert.textContent).toContain('The CNI mode "<b>x</b>" is bad.');
    expect(alert.querySelector('b')).toBeNull();
    expect(client.runs).toEqual([{ text: PRESETS[0]!.text, walk: { name: null }, runId: 1 }]);
    act(() => button('Dismiss').click());
    expect($('[role="alert"]')).toBeNull();
  });

  it('embed mode shows the picture, the controls and the verdict, and no header or hop list', () => {
    mount({ viewOptions: { embed: true, autoplay: false } });
    expect($('.app--embed')).not.toBeNull();
    expect($('header')).toBeNull();
    expect($('ol[aria-label="Hops"]')).toBeNull();
    expect(button('Step forward')).toBeDefined();
    expect($('[role="status"][aria-label="Verdict"]')).not.toBeNull();
  });
});

/** Sets an input's value the way React notices (through the native setter, then an input event). */
function setValue(el: HTMLInputElement, value: string): void {
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
  setter.call(el, value);
  el.dispatchEvent(new Event('input', { bubbles: true }));
}
