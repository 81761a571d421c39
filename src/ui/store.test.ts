import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION as v } from '../worker/protocol.ts';
import { createAppStore, runFinished } from './store.ts';
import { fixtureWorld, trace } from './testWorld.ts';

const CLUSTER = { cni: 'flannel-vxlan', kubeProxyMode: 'iptables', externalTrafficPolicy: {} } as const;
const SETTINGS = { scenario: CLUSTER, effective: CLUSTER, hasGateway: true };

const fresh = () =>
  createAppStore({ scenarioId: 'default', scenarioText: 'text', walk: null, walkName: null });

describe('app store', () => {
  it('collects a run: world, events appended in order, done', () => {
    const store = fresh();
    store.getState().startRun(1);
    const view = fixtureWorld([1]);
    store.getState().receive({ type: 'world', v, runId: 1, view, settings: SETTINGS });
    const events = trace([
      { leg: 'request', at: 'pod/default/p1-1' },
      { observe: 'pod/default/p1-1|eth0' },
      { verdict: 'delivered', at: 'pod/default/p1-1' },
    ]);
    store.getState().receive({ type: 'events', v, runId: 1, events: events.slice(0, 2) });
    store.getState().receive({ type: 'events', v, runId: 1, events: events.slice(2) });
    expect(store.getState().run?.events).toEqual(events);
    expect(runFinished(store.getState().run)).toBe(false);
    store.getState().receive({
      type: 'done',
      v,
      runId: 1,
      trace: {
        version: 2,
        from: 'a',
        to: 'b',
        flow: { protocol: 'tcp', src: 'x', dst: 'y', sport: 1, dport: 2 },
        seed: 1,
        legs: [],
        eventCount: 3,
      },
    });
    expect(runFinished(store.getState().run)).toBe(true);
  });

  it("fills the walk fields from the world's first walk when the run was by name", () => {
    const store = fresh();
    store.getState().startRun(1);
    store.getState().receive({ type: 'world', v, runId: 1, view: fixtureWorld([1, 1]), settings: SETTINGS });
    expect(store.getState().walk).toEqual({
      from: 'pod/default/p1-1',
      to: 'pod/default/p2-1:3306',
      protocol: 'tcp',
    });
    expect(store.getState().walkName).toBe('w');
  });

  it('keeps the previous world until the new run sends its own, and ignores other runs', () => {
    const store = fresh();
    store.getState().startRun(1);
    const view = fixtureWorld([1]);
    store.getState().receive({ type: 'world', v, runId: 1, view, settings: SETTINGS });
    store.getState().startRun(2);
    expect(store.getState().run).toMatchObject({ runId: 2, view, events: [], done: null, error: null });
    store.getState().receive({ type: 'events', v, runId: 1, events: trace([{ leg: 'request', at: 'x' }]) });
    expect(store.getState().run?.events).toEqual([]);
    store.getState().receive({ type: 'error', v, runId: 2, message: 'bad' });
    expect(store.getState().run?.error).toEqual({ message: 'bad', issues: [] });
    expect(runFinished(store.getState().run)).toBe(true);
  });

  it('keeps the previous world and settings until the new run sends its own; a new scenario clears the toggles', () => {
    const store = fresh();
    store.getState().setOverrides({ cni: 'flannel-host-gw' });
    store.getState().setSeed(5);
    store.getState().startRun(1);
    store.getState().receive({ type: 'world', v, runId: 1, view: fixtureWorld([1, 1]), settings: SETTINGS });
    store.getState().startRun(2);
    expect(store.getState().run!.settings).toBe(SETTINGS);
    expect(store.getState().run!.events).toEqual([]);
    expect(store.getState().overrides).toEqual({ cni: 'flannel-host-gw' });
    store.getState().setScenario('three-tier', 'other text');
    expect(store.getState().overrides).toEqual({});
    expect(store.getState().seed).toBe(5);
  });

  it('holds a link error until dismissed', () => {
    const store = createAppStore({
      scenarioId: 'default',
      scenarioText: 'text',
      walk: null,
      walkName: null,
      linkError: 'The link is damaged.',
    });
    expect(store.getState().linkError).toBe('The link is damaged.');
    store.getState().dismissLinkError();
    expect(store.getState().linkError).toBeNull();
  });
});
