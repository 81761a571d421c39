import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cniAddSteps, hostVethName, nodeNetns, podNetns } from './cni.ts';
import { cniCommandOf, startWorld } from './cniWalk.ts';
import { buildWorld, walk, worldView } from './index.ts';
import type { NetOp } from './netops.ts';
import type { Trace, TraceEvent } from './trace.ts';
import type { NetnsView } from './view.ts';
import { netnsView } from './viewOf.ts';
import { parseScenario } from '../scenario/parse.ts';
import type { ClusterModel } from '../scenario/model.ts';

const presetText = readFileSync(
  join(import.meta.dirname, '..', 'scenario', 'presets', 'pod-is-born.yaml'),
  'utf8',
);

function model(text = presetText): ClusterModel {
  const p = parseScenario(text);
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return p.model;
}

const cniEvents = (t: Trace) =>
  t.events.filter((e): e is Extract<TraceEvent, { type: 'cni' }> => e.type === 'cni');
const opsOf = (t: Trace): NetOp[] => cniEvents(t).flatMap((e) => (e.op ? [e.op] : []));

/** Every namespace's last snapshot in the trace: the world the walk leaves behind. */
function finalState(t: Trace): Map<string, NetnsView | null> {
  const out = new Map<string, NetnsView | null>();
  for (const e of cniEvents(t)) for (const s of e.state) out.set(s.netns, s.view);
  return out;
}

describe('cniCommandOf', () => {
  it.each([
    ['cni/add', 'ADD'],
    ['CNI/Del', 'DEL'],
    [' cni/add ', 'ADD'],
    ['cni/check', null],
    ['pod/default/web', null],
    ['cni', null],
  ])('%s → %s', (from, want) => expect(cniCommandOf(from)).toBe(want));
});

describe('CNI ADD of a pod on a node that has pods', () => {
  const m = model();
  const world = buildWorld(m);
  const t = walk(world, { from: 'cni/add', to: 'pod/default/web', protocol: 'tcp' });

  it('is the very ops the node build applies for the pod, in order (one source of truth)', () => {
    // In the whole scenario web is node-1's second pod, so its ADD there is the same ADD as the walk's.
    const unitOps = world.plan.opsOf('node/node-1');
    const start = unitOps.findIndex((o) => o.op === 'netns-add' && o.netns === 'pod/default/web');
    const ops = opsOf(t);
    expect(ops.length).toBeGreaterThan(10);
    expect(unitOps.slice(start, start + ops.length)).toEqual(ops);
    // And the step list is cni.ts's, non-op steps included.
    const web = m.pods.find((p) => p.name === 'web')!;
    const steps = cniAddSteps(m, m.nodes[0]!, web, false);
    expect(cniEvents(t).map((e) => e.op ?? e.shell)).toEqual(steps.map((s) => s.op ?? s.command));
  });

  it('starts from the world without the pod and ends with the world that has it', () => {
    const start = worldView(startWorld(world, { from: 'cni/add', to: 'pod/default/web', protocol: 'tcp' }));
    expect(start.namespaces.map((n) => n.id)).not.toContain('pod/default/web');
    const startNode = start.namespaces.find((n) => n.id === 'node/node-1')!;
    expect(startNode.devices.filter((d) => d.kind === 'veth')).toHaveLength(1); // client's only
    const end = finalState(t);
    const full = world.netns('pod/default/web');
    expect(end.get('pod/default/web')).toEqual(netnsView(full, false).view);
    expect(end.get('node/node-1')).toEqual(netnsView(world.netns('node/node-1'), false).view);
  });

  it('shows each step as a command in the node shell, the pod namespace by its cni- name', () => {
    const [first] = cniEvents(t);
    expect(first!.shell).toMatch(
      /^ip netns add cni-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const netnsName = first!.shell.slice('ip netns add '.length);
    const veth = cniEvents(t).find((e) => e.op?.op === 'link-add-veth')!;
    expect(veth.shell).toMatch(
      new RegExp(`^ip -n ${netnsName} link add eth0 .* type veth peer name veth[0-9a-f]{8} .* netns 1$`),
    );
    const master = cniEvents(t).find((e) => e.op?.op === 'link-set-master')!;
    expect(master.shell).toMatch(
      /^ip link set veth[0-9a-f]{8} master cni0\nbridge link set dev veth[0-9a-f]{8} hairpin on$/,
    );
    const addr = cniEvents(t).find((e) => e.op?.op === 'addr-add')!;
    expect(addr.shell).toBe(`ip -n ${netnsName} addr add 10.244.1.3/24 dev eth0`);
    // cni0 exists already: a step that looks and changes nothing.
    expect(cniEvents(t).some((e) => e.op?.op === 'link-add-bridge')).toBe(false);
    expect(cniEvents(t).find((e) => e.shell === 'ip link show cni0')?.state).toEqual([]);
  });

  it('reads subnet.env, saves and delegates the bridge config (flannel), reserves the address (host-local)', () => {
    const subnet = cniEvents(t).find((e) => e.shell === 'cat /run/flannel/subnet.env')!;
    expect(subnet.actor).toBe('flannel');
    expect(subnet.text).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
    const saved = cniEvents(t).find((e) => e.op?.op === 'file-write' && e.actor === 'flannel')!;
    const conf = JSON.parse(saved.text!) as Record<string, unknown>;
    expect(conf).toMatchObject({
      type: 'bridge',
      isGateway: true,
      ipMasq: false,
      mtu: 1450,
      hairpinMode: true,
    });
    expect(conf['ipam']).toEqual({
      ranges: [[{ subnet: '10.244.1.0/24' }]],
      routes: [{ dst: '10.244.0.0/16' }],
      type: 'host-local',
    });
    const reserve = cniEvents(t).find((e) => e.op?.op === 'file-write' && e.actor === 'host-local')!;
    expect(reserve.op).toMatchObject({ path: '/var/lib/cni/networks/cbr0/10.244.1.3' });
    expect(reserve.text).toMatch(/^[0-9a-f]{64}\r\neth0$/);
    const files = finalState(t)
      .get('node/node-1')!
      .files!.map((f) => f.path);
    expect(files).toContain('/var/lib/cni/networks/cbr0/10.244.1.3');
    expect(files).toContain('/run/flannel/subnet.env');
  });

  it('records the namespaces each step changed, after it', () => {
    const veth = cniEvents(t).find((e) => e.op?.op === 'link-add-veth')!;
    expect(veth.state.map((s) => s.netns)).toEqual(['pod/default/web', 'node/node-1']);
    const pod = veth.state[0]!.view!;
    expect(pod.devices.map((d) => d.name)).toEqual(['lo', 'eth0']);
    expect(pod.routes).toEqual([]); // no address yet
    const route = cniEvents(t).find((e) => e.op?.op === 'route-add' && e.op.dst === 'default')!;
    expect(route.state[0]!.view!.routes).toContain('default via 10.244.1.1 dev eth0');
    // Snapshots leave iptables out (no step changes them).
    expect(cniEvents(t).every((e) => e.state.every((s) => s.view?.iptablesSave === undefined))).toBe(true);
  });

  it('ends configured, at the pod, with its address and gateway', () => {
    expect(t.flow).toBeNull();
    expect(t.cni).toEqual({ command: 'ADD', pod: 'default/web', node: 'node-1', ip: '10.244.1.3' });
    expect(t.legs).toEqual([{ kind: 'cni-add', verdict: expect.objectContaining({ kind: 'configured' }) }]);
    expect(t.events.at(-1)).toMatchObject({
      type: 'verdict',
      packet: null,
      verdict: { kind: 'configured', reason: 'eth0 10.244.1.3/24, default via 10.244.1.1' },
    });
  });

  it('is deterministic and leaves the caller’s world as it was', () => {
    const before = worldView(world);
    const again = walk(world, { from: 'cni/add', to: 'pod/default/web', protocol: 'tcp' });
    expect(again).toEqual(t);
    expect(structuredClone(again)).toEqual(t);
    expect(worldView(world)).toEqual(before);
  });
});

describe('CNI ADD of the first pod on a node', () => {
  const world = buildWorld(model());
  const t = walk(world, { from: 'cni/add', to: 'pod/default/cache', protocol: 'tcp' });

  it('creates cni0 and brings it up before the veth, and puts the gateway on it after the routes', () => {
    const kinds = opsOf(t).map((o) => `${o.op} ${o.netns}`);
    const bridge = kinds.indexOf('link-add-bridge node/node-2');
    const veth = kinds.indexOf('link-add-veth pod/default/cache');
    const gateway = kinds.lastIndexOf('addr-add node/node-2');
    const route = kinds.lastIndexOf('route-add pod/default/cache');
    expect(bridge).toBeGreaterThanOrEqual(0);
    expect(bridge).toBeLessThan(veth);
    expect(route).toBeLessThan(gateway);
    const start = startWorld(world, { from: 'cni/add', to: 'pod/default/cache', protocol: 'tcp' });
    expect([...start.netns('node/node-2').devices.keys()]).not.toContain('cni0');
    const end = finalState(t).get('node/node-2')!;
    expect(end.devices.find((d) => d.name === 'cni0')?.addrs).toEqual(['10.244.2.1/24']);
    expect(end.routes).toContain('10.244.2.0/24 dev cni0 proto kernel scope link src 10.244.2.1');
  });
});

describe('CNI DEL', () => {
  const world = buildWorld(model());
  const t = walk(world, { from: 'cni/del', to: 'pod/default/web', protocol: 'tcp' });

  it('deletes eth0 (and so its peer), releases the address, then removes the namespace; cni0 stays', () => {
    expect(opsOf(t).map((o) => o.op)).toEqual(['link-del', 'file-remove', 'file-remove', 'netns-del']);
    const del = cniEvents(t).find((e) => e.op?.op === 'link-del')!;
    expect(del.state.map((s) => s.netns)).toEqual(['pod/default/web', 'node/node-1']);
    expect(del.state[0]!.view!.devices.map((d) => d.name)).toEqual(['lo']);
    expect(del.state[0]!.view!.routes).toEqual([]);
    const node = finalState(t).get('node/node-1')!;
    const veth = { name: hostVethName({ namespace: 'default', name: 'web' }) };
    expect(world.netns('node/node-1').devices.has(veth.name)).toBe(true);
    expect(node.devices.map((d) => d.name)).not.toContain(veth.name);
    expect(node.devices.find((d) => d.name === 'cni0')).toBeDefined();
    expect(node.fdb.some((l) => l.includes(veth.name))).toBe(false);
    expect(node.files!.map((f) => f.path)).not.toContain('/var/lib/cni/networks/cbr0/10.244.1.3');
    expect(finalState(t).get('pod/default/web')).toBeNull();
    expect(t.events.at(-1)).toMatchObject({ type: 'verdict', verdict: { kind: 'removed' } });
  });

  it('starts from the whole world (the pod is there)', () => {
    const start = startWorld(world, { from: 'cni/del', to: 'pod/default/web', protocol: 'tcp' });
    expect(start).toBe(world);
  });
});

describe('CNI walks in the bridge modes (no flannel)', () => {
  it('runs the bridge plugin directly: no subnet.env, no saved delegate config, no hairpin', () => {
    const m = { ...model(), cni: 'bridge-host-gw' as const };
    const t = walk(buildWorld(m), { from: 'cni/add', to: 'pod/default/web', protocol: 'tcp' });
    const shells = cniEvents(t).map((e) => e.shell);
    expect(shells.some((s) => s.includes('/opt/cni/bin/bridge <<<'))).toBe(true);
    expect(shells.some((s) => s.includes('subnet.env') || s.includes('/var/lib/cni/flannel'))).toBe(false);
    expect(shells.some((s) => s.includes('hairpin'))).toBe(false);
    expect(
      opsOf(t)
        .filter((o) => o.op === 'route-add')
        .map((o) => o.op === 'route-add' && o.dst),
    ).toEqual(['default']);
  });
});

describe('CNI walk errors', () => {
  const world = buildWorld(model());
  it.each([
    ['pod/default/nobody', /not a pod of this scenario/],
    ['node/node-1', /not a pod of this scenario/],
  ])('%s', (to, message) => {
    expect(() => walk(world, { from: 'cni/add', to, protocol: 'tcp' })).toThrow(message);
  });

  it('refuses a hostNetwork pod: CNI is never called for it', () => {
    const m = model(
      `${presetText}\n---\napiVersion: v1\nkind: Pod\nmetadata: { name: agent }\nspec: { nodeName: node-1, hostNetwork: true, containers: [{ name: a, image: a }] }\n`,
    );
    expect(() => walk(buildWorld(m), { from: 'cni/del', to: 'agent', protocol: 'tcp' })).toThrow(
      /hostNetwork/,
    );
  });
});

describe('scenario syntax: cni + pod', () => {
  const cluster = (walks: string) => `apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata: { name: t }
spec:
  nodeNetwork: 192.168.1.0/24
  walks:
${walks}
---
apiVersion: v1
kind: Node
metadata: { name: node-1 }
---
apiVersion: v1
kind: Pod
metadata: { name: web }
spec: { nodeName: node-1, containers: [{ name: a, image: a }] }
---
apiVersion: v1
kind: Pod
metadata: { name: agent }
spec: { nodeName: node-1, hostNetwork: true, containers: [{ name: a, image: a }] }
`;
  const errors = (walks: string) => {
    const p = parseScenario(cluster(walks));
    return p.ok ? [] : p.errors.map((e) => [e.path, e.message]);
  };

  it('reads cni + pod as from cni/<command> to the pod', () => {
    const p = parseScenario(
      cluster(
        '    - { name: born, cni: ADD, pod: pod/default/web }\n    - { name: gone, cni: DEL, pod: web }',
      ),
    );
    expect(p.ok && p.model.walks.map((w) => [w.name, w.from, w.to])).toEqual([
      ['born', 'cni/add', 'pod/default/web'],
      ['gone', 'cni/del', 'web'],
    ]);
  });

  it.each([
    ['    - { name: a, cni: CHECK, pod: web }', 'spec.walks[0].cni', 'must be one of ADD, DEL'],
    ['    - { name: a, cni: ADD }', 'spec.walks[0].pod', expect.stringContaining('required')],
    [
      '    - { name: a, cni: ADD, pod: web, to: web }',
      'spec.walks[0].to',
      expect.stringContaining('names its pod in "pod"'),
    ],
    ['    - { name: a, cni: ADD, pod: nobody }', 'spec.walks[0].pod', 'no Pod named "nobody"'],
    [
      '    - { name: a, cni: ADD, pod: node/node-1 }',
      'spec.walks[0].pod',
      expect.stringContaining('pod/<namespace>/<name>'),
    ],
    ['    - { name: a, cni: DEL, pod: agent }', 'spec.walks[0].pod', expect.stringContaining('hostNetwork')],
    [
      '    - { name: a, from: web, to: web, pod: web }',
      'spec.walks[0].pod',
      expect.stringContaining('only a CNI walk'),
    ],
  ])('%s', (walks, path, message) => {
    expect(errors(walks)).toContainEqual([path, message]);
  });
});

it('the pod and node ids the walk uses are cni.ts’s', () => {
  expect(podNetns({ namespace: 'default', name: 'web' })).toBe('pod/default/web');
  expect(nodeNetns('node-1')).toBe('node/node-1');
});
