// The worker, in-process (HASH's simulation.worker.test.ts): stub `self`, import the module, send it
// messages as the page would, and read what it posts back. The engine and parser are the real ones.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EVENT_BATCH_SIZE,
  PROTOCOL_VERSION,
  type ToMain,
  type ToMainOf,
  type ToMainType,
  type ToWorker,
} from './protocol.ts';

const SCENARIO = readFileSync(new URL('../scenario/presets/default.yaml', import.meta.url), 'utf8');
const THREE_TIER = readFileSync(new URL('../scenario/presets/three-tier.yaml', import.meta.url), 'utf8');
const v = PROTOCOL_VERSION;

interface FakeScope {
  posted: ToMain[];
  listeners: ((e: { data: unknown }) => void)[];
  postMessage(m: ToMain): void;
  addEventListener(type: string, l: (e: { data: unknown }) => void): void;
}

let scope: FakeScope;

beforeEach(async () => {
  scope = {
    posted: [],
    listeners: [],
    postMessage(m) {
      // What the page receives is a structured clone; cloning here catches anything that would not survive.
      this.posted.push(structuredClone(m));
    },
    addEventListener(type, l) {
      if (type === 'message') this.listeners.push(l);
    },
  };
  vi.stubGlobal('self', scope);
  vi.resetModules();
  await import('./engine.worker.ts');
});

afterEach(() => {
  vi.unstubAllGlobals();
});

function send(data: ToWorker | unknown): void {
  for (const l of scope.listeners) l({ data });
}

/** Runs are deferred by one task; wait for the worker to have handled everything sent so far. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function getMessages<T extends ToMainType>(type: T, runId?: number): ToMainOf<T>[] {
  return scope.posted.filter(
    (m): m is ToMainOf<T> => m.type === type && (runId === undefined || m.runId === runId),
  );
}

const WALK = { from: 'pod/default/client', to: 'pod/default/db:3306', protocol: 'tcp' } as const;

describe('engine.worker', () => {
  it('answers a run with world, then events in seq order, then done', async () => {
    send({ type: 'run', v, runId: 1, scenarioText: SCENARIO, walk: WALK, overrides: {} });
    await settle();
    const types = scope.posted.map((m) => m.type);
    expect(types[0]).toBe('world');
    expect(types.at(-1)).toBe('done');
    expect(types.slice(1, -1).every((t) => t === 'events')).toBe(true);
    expect(scope.posted.every((m) => m.runId === 1 && m.v === v)).toBe(true);

    const events = getMessages('events').flatMap((m) => m.events);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(getMessages('events').every((m) => m.events.length <= EVENT_BATCH_SIZE)).toBe(true);
    const [done] = getMessages('done');
    expect(done!.trace.eventCount).toBe(events.length);
    expect(done!.trace.legs[0]!.verdict.kind).toBe('delivered');
    expect(done!.trace.flow).toMatchObject({
      protocol: 'tcp',
      src: '10.244.1.2',
      dst: '10.244.2.2',
      dport: 3306,
    });

    const [world] = getMessages('world');
    expect(world!.view.namespaces.map((n) => n.id)).toContain('pod/default/db');
    expect(world!.view.walks[0]!.name).toBe('pod-to-pod-cross-node');
  });

  it("runs the scenario's named walk, and its first when the name is null", async () => {
    send({ type: 'run', v, runId: 1, scenarioText: SCENARIO, walk: { name: null }, overrides: {} });
    send({
      type: 'run',
      v,
      runId: 2,
      scenarioText: SCENARIO,
      walk: { name: 'too-big-for-the-overlay' },
      overrides: {},
    });
    await settle();
    // Run 1 was superseded before it started: only run 2 ran.
    expect(scope.posted.filter((m) => m.runId === 1)).toEqual([]);
    const [done] = getMessages('done', 2);
    expect(done!.trace.flow).toMatchObject({ protocol: 'icmp', dst: '10.244.2.2' });
    // The walk's size (1472) came from the scenario: it does not fit the pod's MTU.
    expect(done!.trace.legs[0]!.verdict.kind).not.toBe('delivered');

    send({ type: 'run', v, runId: 3, scenarioText: SCENARIO, walk: { name: null }, overrides: {} });
    await settle();
    expect(getMessages('done', 3)[0]!.trace).toMatchObject({ from: 'pod/default/client' });
  });

  it('ignores a run cancelled before it started', async () => {
    send({ type: 'run', v, runId: 7, scenarioText: SCENARIO, walk: WALK, overrides: {} });
    send({ type: 'cancel', v, runId: 7 });
    await settle();
    expect(scope.posted).toEqual([]);
  });

  it('coalesces queued runs: a stale runId never produces messages after a newer run was queued', async () => {
    for (let runId = 1; runId <= 5; runId++)
      send({ type: 'run', v, runId, scenarioText: SCENARIO, walk: WALK, overrides: {} });
    await settle();
    expect(new Set(scope.posted.map((m) => m.runId))).toEqual(new Set([5]));
  });

  it("posts the settings with the world: the scenario's own and the overridden ones", async () => {
    send({
      type: 'run',
      v,
      runId: 1,
      scenarioText: SCENARIO,
      walk: WALK,
      overrides: { cni: 'flannel-host-gw' },
    });
    await settle();
    const [world] = getMessages('world');
    expect(world!.settings.scenario.cni).toBe('flannel-vxlan');
    expect(world!.settings.effective.cni).toBe('flannel-host-gw');
    expect(world!.settings.hasGateway).toBe(true);
    expect(world!.settings.scenario.externalTrafficPolicy).toMatchObject({
      'default/web': 'Cluster',
      'default/web-local': 'Local',
    });
    expect(world!.view.cni).toMatch(/host-gw/);
  });

  it('flannel-host-gw instead of vxlan: the same walk is delivered without a flannel.1 hop', async () => {
    const devicesOf = (runId: number) =>
      getMessages('events', runId)
        .flatMap((m) => m.events)
        .map((e) => JSON.stringify(e));
    send({ type: 'run', v, runId: 1, scenarioText: SCENARIO, walk: WALK, overrides: {} });
    await settle();
    send({
      type: 'run',
      v,
      runId: 2,
      scenarioText: SCENARIO,
      walk: WALK,
      overrides: { cni: 'flannel-host-gw' },
    });
    await settle();
    expect(devicesOf(1).some((e) => e.includes('flannel.1'))).toBe(true);
    expect(devicesOf(2).some((e) => e.includes('flannel.1'))).toBe(false);
    expect(getMessages('done', 2)[0]!.trace.legs[0]!.verdict.kind).toBe('delivered');
  });

  it('kube-proxy ipvs mode and externalTrafficPolicy overrides change the walk through a Service', async () => {
    const svcWalk = { name: 'internet-to-loadbalancer' };
    send({ type: 'run', v, runId: 1, scenarioText: SCENARIO, walk: svcWalk, overrides: {} });
    await settle();
    send({
      type: 'run',
      v,
      runId: 2,
      scenarioText: SCENARIO,
      walk: svcWalk,
      overrides: { externalTrafficPolicy: { 'default/web': 'Local' } },
    });
    await settle();
    send({
      type: 'run',
      v,
      runId: 3,
      scenarioText: SCENARIO,
      walk: WALK,
      overrides: { kubeProxyMode: 'ipvs' },
    });
    await settle();
    const text = (runId: number) => JSON.stringify(getMessages('events', runId).flatMap((m) => m.events));
    expect(getMessages('world', 2)[0]!.settings.effective.externalTrafficPolicy['default/web']).toBe('Local');
    expect(text(2)).not.toEqual(text(1));
    expect(getMessages('world', 3)[0]!.settings.effective.kubeProxyMode).toBe('ipvs');
    expect(text(3)).toContain('KUBE-IPVS-FILTER');
    expect(text(1)).not.toContain('KUBE-IPVS');
  });

  it.each([
    [{ cni: 'bridge-router' }, /bridge-router needs a gateway/],
    [{ cni: 'calico' }, /Unknown CNI mode "calico"/],
    [{ kubeProxyMode: 'nftables' }, /Unknown kube-proxy mode/],
    [{ externalTrafficPolicy: { 'default/nope': 'Local' } }, /no Service default\/nope/],
    [
      { externalTrafficPolicy: { 'default/db-service': 'Local' } },
      /ClusterIP: externalTrafficPolicy applies/,
    ],
  ])(
    'refuses an override the scenario cannot take (%j) with a readable error and no world',
    async (o, re) => {
      // three-tier has no gateway.
      const scenarioText = 'cni' in o && o.cni === 'bridge-router' ? THREE_TIER : SCENARIO;
      send({ type: 'run', v, runId: 4, scenarioText, walk: { name: null }, overrides: o });
      await settle();
      expect(scope.posted.map((m) => m.type)).toEqual(['error']);
      expect(getMessages('error')[0]!.message).toMatch(re);
    },
  );

  it("passes a named walk's seed to the engine: the same seed, the same trace", async () => {
    const sportOf = (runId: number) => getMessages('done', runId)[0]!.trace.flow!.sport;
    send({ type: 'run', v, runId: 1, scenarioText: SCENARIO, walk: { name: null, seed: 7 }, overrides: {} });
    await settle();
    send({ type: 'run', v, runId: 2, scenarioText: SCENARIO, walk: { name: null, seed: 8 }, overrides: {} });
    await settle();
    send({ type: 'run', v, runId: 3, scenarioText: SCENARIO, walk: { name: null, seed: 7 }, overrides: {} });
    await settle();
    expect(getMessages('done', 1)[0]!.trace.seed).toBe(7);
    expect(sportOf(1)).not.toBe(sportOf(2));
    expect(sportOf(3)).toBe(sportOf(1));
  });

  it('reports a bad scenario as an error with issues, and no world', async () => {
    const bad = SCENARIO.replace('podCIDR: 10.244.2.0/24', 'podCIDR: 10.244.2.0/99');
    send({ type: 'run', v, runId: 3, scenarioText: bad, walk: WALK, overrides: {} });
    await settle();
    expect(scope.posted.map((m) => m.type)).toEqual(['error']);
    const [err] = getMessages('error');
    expect(err!.runId).toBe(3);
    expect(err!.issues!.length).toBeGreaterThan(0);
    expect(err!.issues!.some((i) => i.path.includes('podCIDR'))).toBe(true);
  });

  it('reports YAML that is not a scenario at all', async () => {
    send({ type: 'run', v, runId: 4, scenarioText: 'just: [unclosed', walk: WALK, overrides: {} });
    await settle();
    expect(scope.posted.map((m) => m.type)).toEqual(['error']);
  });

  it('turns engine errors (an unknown reference) into an error message, after the world', async () => {
    send({
      type: 'run',
      v,
      runId: 5,
      scenarioText: SCENARIO,
      walk: { ...WALK, from: 'pod/default/nobody' },
      overrides: {},
    });
    await settle();
    expect(scope.posted.map((m) => m.type)).toEqual(['world', 'error']);
    expect(getMessages('error')[0]!.message).toMatch(/nobody/);
  });

  it('reports an unknown named walk', async () => {
    send({ type: 'run', v, runId: 6, scenarioText: SCENARIO, walk: { name: 'no-such-walk' }, overrides: {} });
    await settle();
    expect(getMessages('error')[0]!.message).toMatch(/no walk named "no-such-walk"/);
  });

  it('replies to a message of another protocol version with an error, and does not run it', async () => {
    send({ type: 'run', v: v + 1, runId: 9, scenarioText: SCENARIO, walk: WALK, overrides: {} });
    await settle();
    expect(scope.posted).toHaveLength(1);
    expect(scope.posted[0]).toMatchObject({ type: 'error', runId: 9, v });
    expect((scope.posted[0] as ToMainOf<'error'>).message).toMatch(/version/);
  });

  it('replies to junk and unknown message types with an error', async () => {
    send('hello');
    send({ type: 'frobnicate', v, runId: 2 });
    await settle();
    expect(scope.posted.map((m) => [m.type, m.runId])).toEqual([
      ['error', -1],
      ['error', 2],
    ]);
  });

  it('validates without building a world: errors placed in the text, the walks of a valid scenario', async () => {
    send({ type: 'validate', v, runId: 1, scenarioText: SCENARIO });
    const broken = SCENARIO.replace('cni: flannel-vxlan', 'cni: flannel-vxlam');
    send({ type: 'validate', v, runId: 2, scenarioText: broken });
    await settle();
    expect(scope.posted.map((m) => m.type)).toEqual(['validated', 'validated']);
    const [ok, bad] = getMessages('validated');
    expect(ok).toMatchObject({ runId: 1, ok: true, issues: [] });
    expect(ok!.walks[0]).toBe('pod-to-pod-cross-node');
    expect(bad).toMatchObject({ runId: 2, ok: false, walks: [] });
    const [first] = bad!.issues;
    expect(first).toMatchObject({ severity: 'error', issue: { path: 'spec.cni' } });
    expect(broken.slice(first!.range.from, first!.range.to)).toBe('cni: flannel-vxlam');
  });

  it('exports the finished run: its trace as pcapng, its world as the lab script', async () => {
    send({ type: 'run', v, runId: 4, scenarioText: SCENARIO, walk: WALK, overrides: {} });
    await settle();
    send({ type: 'export', v, runId: 4, requestId: 1, format: 'pcapng' });
    send({ type: 'export', v, runId: 4, requestId: 2, format: 'lab-script' });
    const [pcap, lab] = getMessages('exported', 4);
    expect(pcap).toMatchObject({ requestId: 1, format: 'pcapng' });
    const bytes = pcap!.contents as Uint8Array;
    expect([...bytes.subarray(0, 4)]).toEqual([0x0a, 0x0d, 0x0d, 0x0a]);
    const observed = getMessages('events', 4)
      .flatMap((m) => m.events)
      .filter((e) => e.type === 'observe').length;
    // One Enhanced Packet Block (type 6) per observed hop.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let epbs = 0;
    for (let at = 0; at < bytes.length; at += view.getUint32(at + 4, true))
      if (view.getUint32(at, true) === 6) epbs++;
    expect(epbs).toBe(observed);
    expect(lab).toMatchObject({ requestId: 2, format: 'lab-script' });
    expect(lab!.contents as string).toContain('ip netns add pwlab-default.client');
  });

  it('refuses to export a run that is not its latest finished one', async () => {
    send({ type: 'run', v, runId: 5, scenarioText: SCENARIO, walk: WALK, overrides: {} });
    await settle();
    send({ type: 'export', v, runId: 3, requestId: 9, format: 'pcapng' });
    const [failed] = getMessages('export-failed', 3);
    expect(failed).toMatchObject({ requestId: 9 });
    expect(failed!.message).toContain('no longer');
  });
});

describe('a CNI walk', () => {
  const BORN = readFileSync(new URL('../scenario/presets/pod-is-born.yaml', import.meta.url), 'utf8');

  it('posts the world without the pod (an ADD), then one cni event per step, then a done without a flow', async () => {
    send({ type: 'run', v, runId: 1, scenarioText: BORN, walk: { name: 'web-is-born' }, overrides: {} });
    await settle();
    expect(scope.posted.map((m) => m.type)).toEqual(['world', 'events', 'done']);
    const world = getMessages('world')[0]!.view;
    expect(world.namespaces.map((n) => n.id)).not.toContain('pod/default/web');
    const events = getMessages('events').flatMap((m) => m.events);
    expect(events.slice(0, -1).every((e) => e.type === 'cni')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'verdict', verdict: { kind: 'configured' } });
    const done = getMessages('done')[0]!.trace;
    expect(done).toMatchObject({
      flow: null,
      cni: { command: 'ADD', pod: 'default/web' },
      eventCount: events.length,
    });
  });

  it('a DEL starts from the world with the pod', async () => {
    send({ type: 'run', v, runId: 1, scenarioText: BORN, walk: { name: 'web-is-removed' }, overrides: {} });
    await settle();
    expect(getMessages('world')[0]!.view.namespaces.map((n) => n.id)).toContain('pod/default/web');
    expect(getMessages('done')[0]!.trace.legs[0]!.verdict.kind).toBe('removed');
  });
});
