import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr } from './addr.ts';
import { WEAVE_BRIDGE, bridgeGateway, hostVethName, macOf, planWorld } from './cni.ts';
import { flannelDefaults, nodeIptablesSave, weaveDefaults } from './cniRules.ts';
import { buildWorld } from './index.ts';
import { formatIptablesSave, parseIptablesSave } from './iptables.ts';
import { kubeProxyInputFromModel, kubeProxyIptablesSave } from './kubeproxy.ts';
import { formatRoute } from './route.ts';
import {
  EngineError,
  formatNeigh,
  routesOf,
  World,
  type Device,
  type Netns,
  type WorldPlan,
} from './world.ts';
import type { ClusterModel, CniMode } from '../scenario/model.ts';
import { ALL_CNI_MODES, clusterModelArb } from '../../test/fixtures/arbitraries.ts';
import { pod, service, threeNodes, threeNodesWithServices } from '../../test/fixtures/models.ts';

const V1 = hostVethName({ namespace: 'default', name: 'client' });

function devices(ns: Netns): Record<string, Device['kind']> {
  return Object.fromEntries([...ns.devices.values()].map((d) => [d.name, d.kind]));
}

function addrs(ns: Netns, dev: string): string[] {
  return ns.device(dev).addrs.map(formatCidr);
}

/**
 * The addressOwners index must agree with what materialising builds: every address of every namespace
 * (loopback aside) is indexed to that namespace and device, and every index entry is a local address there.
 */
function expectAddressOwnersConsistent(model: ClusterModel): void {
  const world = buildWorld(model);
  const all = world.allNetns();
  const owners = world.plan.addressOwners;
  for (const ns of all)
    for (const dev of ns.devices.values())
      for (const a of dev.addrs) {
        if (dev.kind === 'loopback') continue;
        expect(owners.get(a.ip), `${a.ip} on ${ns.id} ${dev.name}`).toEqual({
          netns: ns.id,
          device: dev.name,
        });
      }
  for (const [ip, owner] of owners) {
    const ns = world.netns(owner.netns);
    expect(ns.ownsAddress(ip), `${ip} should be local in ${owner.netns}`).toBe(true);
    expect(
      ns.device(owner.device).addrs.some((a) => a.ip === ip),
      `${ip} should be on ${owner.netns} ${owner.device}`,
    ).toBe(true);
  }
  // Every namespace the plan names is built, and none is built twice.
  expect(new Set(all.map((n) => n.id)).size).toBe(all.length);
}

describe('materialising the default three-node model', () => {
  describe.each(ALL_CNI_MODES)('%s', (cni) => {
    const vxlan = cni === 'flannel-vxlan';
    const flannel = cni.startsWith('flannel');
    const world = buildWorld(threeNodes(cni));

    it('creates the expected namespaces', () => {
      expect(
        world
          .allNetns()
          .map((n) => n.id)
          .sort(),
      ).toEqual(
        [
          'node/node-1',
          'node/node-2',
          'node/node-3',
          'pod/default/client',
          'pod/default/web',
          'pod/default/db',
          'pod/default/web-2',
          'host/gateway',
          'host/laptop',
          'host/example',
        ].sort(),
      );
    });

    const weave = cni === 'weave';
    const br = weave ? 'weave' : 'cni0';
    const v1 = hostVethName({ namespace: 'default', name: 'client' }, cni);
    const v2 = hostVethName({ namespace: 'default', name: 'web' }, cni);

    it('gives a node lo, eth0, its pod bridge, a veth per pod (and flannel.1 / vxlan-6784 on overlays)', () => {
      const n1 = world.netns('node/node-1');
      expect(devices(n1)).toEqual({
        lo: 'loopback',
        eth0: 'physical',
        [br]: 'bridge',
        [v1]: 'veth',
        [v2]: 'veth',
        ...(vxlan ? { 'flannel.1': 'vxlan' } : {}),
        ...(weave ? { 'vxlan-6784': 'vxlan' } : {}),
      });
      expect(addrs(n1, 'eth0')).toEqual(['192.168.1.11/24']);
      // weave expose: the bridge's address has the prefix of the whole pod network.
      expect(addrs(n1, br)).toEqual([weave ? '10.244.1.1/16' : '10.244.1.1/24']);
      expect(addrs(n1, 'lo')).toEqual(['127.0.0.1/8']);
      expect(n1.ipForward).toBe(true);
      expect(n1.kind).toBe('node');
      expect(n1.node).toBe('node-1');
      const bridge = n1.device(br);
      expect(bridge.kind === 'bridge' && bridge.ports).toEqual(weave ? ['vxlan-6784', v1, v2] : [v1, v2]);
      for (const v of [v1, v2]) {
        const d = n1.device(v);
        expect(d.master).toBe(br);
        expect(d.hairpin).toBe(flannel);
        expect(d.addrs).toEqual([]);
        expect(d.up).toBe(true);
      }
      if (weave) {
        const vx = n1.device('vxlan-6784');
        expect(vx.kind === 'vxlan' && [vx.port, vx.master, vx.learning, vx.local]).toEqual([
          6784,
          'weave',
          false,
          '192.168.1.11',
        ]);
        // One default destination per peer, and the MACs behind each peer.
        expect(vx.kind === 'vxlan' && vx.flood).toEqual(['192.168.1.12', '192.168.1.13']);
        expect(vx.kind === 'vxlan' && vx.fdb.get(macOf('pod/default/db', 'eth0'))).toBe('192.168.1.12');
        expect(vx.kind === 'vxlan' && vx.fdb.get(macOf('node/node-3', 'weave'))).toBe('192.168.1.13');
      }
      expect([...n1.devices.values()].every((d) => d.up)).toBe(true);
      expect(n1.device('eth0').mac).toBe(macOf('node/node-1', 'eth0'));
    });

    it('gives a pod lo and eth0, the veth peer of the host end, with the pod MTU', () => {
      const p = world.netns('pod/default/client');
      expect(devices(p)).toEqual({ lo: 'loopback', eth0: 'veth' });
      const eth0 = p.device('eth0');
      expect(eth0.kind === 'veth' && eth0.peer).toEqual({ netns: 'node/node-1', name: v1 });
      const host = world.netns('node/node-1').device(v1);
      expect(host.kind === 'veth' && host.peer).toEqual({ netns: 'pod/default/client', name: 'eth0' });
      expect(addrs(p, 'eth0')).toEqual([weave ? '10.244.1.2/16' : '10.244.1.2/24']);
      const mtu = vxlan ? 1450 : weave ? 1376 : 1500;
      expect(eth0.mtu).toBe(mtu);
      expect(host.mtu).toBe(mtu);
      expect(world.netns('node/node-1').device(br).mtu).toBe(mtu);
      expect(world.netns('node/node-1').device('eth0').mtu).toBe(1500);
      expect(p.ipForward).toBe(false);
      expect(p.kind).toBe('pod');
      expect(p.node).toBe('node-1');
      expect(p.label).toBe('default/client');
    });

    it("gives a pod the CNI's routes", () => {
      expect(routesOf(world.netns('pod/default/client'))).toEqual([
        weave
          ? '10.244.0.0/16 dev eth0 proto kernel scope link src 10.244.1.2'
          : '10.244.1.0/24 dev eth0 proto kernel scope link src 10.244.1.2',
        ...(flannel ? ['10.244.0.0/16 via 10.244.1.1 dev eth0'] : []),
        'default via 10.244.1.1 dev eth0',
      ]);
    });

    it('gives a node its overlay routes', () => {
      const routes = routesOf(world.netns('node/node-1'));
      expect(routes).toContain('default via 192.168.1.1 dev eth0');
      expect(routes).toContain('192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.11');
      if (weave) {
        // One on-link route for the whole pod network; no route per peer.
        expect(routes).toContain('10.244.0.0/16 dev weave proto kernel scope link src 10.244.1.1');
        expect(routes.filter((r) => r.startsWith('10.244.'))).toHaveLength(1);
        return;
      }
      expect(routes).toContain('10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1');
      const remote = routes.filter((r) => r.startsWith('10.244.2.0/24') || r.startsWith('10.244.3.0/24'));
      if (vxlan)
        expect(remote).toEqual([
          '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
          '10.244.3.0/24 via 10.244.3.0 dev flannel.1 onlink',
        ]);
      else if (cni === 'bridge-router') expect(remote).toEqual([]);
      else
        expect(remote).toEqual([
          '10.244.2.0/24 via 192.168.1.12 dev eth0',
          '10.244.3.0/24 via 192.168.1.13 dev eth0',
        ]);
    });

    it('gives the gateway eth0 and eth1, forwarding, and the pod routes only in bridge-router mode', () => {
      const gw = world.netns('host/gateway');
      expect(devices(gw)).toEqual({ lo: 'loopback', eth0: 'physical', eth1: 'physical' });
      expect(addrs(gw, 'eth0')).toEqual(['192.168.1.1/24']);
      expect(addrs(gw, 'eth1')).toEqual(['203.0.113.1/24']);
      expect(gw.ipForward).toBe(true);
      const podRoutes = routesOf(gw).filter((r) => r.startsWith('10.244.'));
      expect(podRoutes).toEqual(
        cni === 'bridge-router'
          ? [
              '10.244.1.0/24 via 192.168.1.11 dev eth0',
              '10.244.2.0/24 via 192.168.1.12 dev eth0',
              '10.244.3.0/24 via 192.168.1.13 dev eth0',
            ]
          : [],
      );
    });

    it('gives hosts a NIC on their segment and a default route to the gateway', () => {
      const laptop = world.netns('host/laptop');
      expect(devices(laptop)).toEqual({ lo: 'loopback', eth0: 'physical' });
      expect(
        laptop.device('eth0').kind === 'physical' && (laptop.device('eth0') as { segment: string }).segment,
      ).toBe('node-network');
      expect(routesOf(laptop)).toEqual([
        '192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.100',
        'default via 192.168.1.1 dev eth0',
      ]);
      const ex = world.netns('host/example');
      expect((ex.device('eth0') as { segment: string }).segment).toBe('internet');
      expect(routesOf(ex)).toEqual([
        '203.0.113.0/24 dev eth0 proto kernel scope link src 203.0.113.10',
        'default via 203.0.113.1 dev eth0',
      ]);
      expect(laptop.ipForward).toBe(false);
      expect(ex.listen).toEqual([80, 443]);
      expect(laptop.listen).toBe('any');
    });

    it('keeps plan.addressOwners consistent with every namespace', () => {
      expectAddressOwnersConsistent(threeNodes(cni));
    });
  });

  it('flannel.1 has the /32 network address, permanent neighbours and FDB entries for the other nodes', () => {
    const world = buildWorld(threeNodes('flannel-vxlan'));
    const n1 = world.netns('node/node-1');
    const vx = n1.device('flannel.1');
    if (vx.kind !== 'vxlan') throw new Error('flannel.1 is not a vxlan device');
    expect(vx.addrs).toEqual([{ ip: '10.244.1.0', prefix: 32 }]);
    expect(vx.mtu).toBe(1450);
    expect({
      vni: vx.vni,
      port: vx.port,
      local: vx.local,
      underlay: vx.underlay,
      learning: vx.learning,
    }).toEqual({
      vni: 1,
      port: 8472,
      local: '192.168.1.11',
      underlay: 'eth0',
      learning: false,
    });
    const mac2 = macOf('node/node-2', 'flannel.1');
    const mac3 = macOf('node/node-3', 'flannel.1');
    expect(world.netns('node/node-2').device('flannel.1').mac).toBe(mac2);
    expect(
      [...(n1.neigh.get('flannel.1') ?? new Map()).values()].map((e) => formatNeigh('flannel.1', e)),
    ).toEqual([
      `10.244.2.0 dev flannel.1 lladdr ${mac2} PERMANENT`,
      `10.244.3.0 dev flannel.1 lladdr ${mac3} PERMANENT`,
    ]);
    expect([...vx.fdb]).toEqual([
      [mac2, '192.168.1.12'],
      [mac3, '192.168.1.13'],
    ]);
    const onlink = n1.main.routes().filter((r) => r.dev === 'flannel.1');
    expect(onlink.every((r) => r.onlink && r.gateway === r.dst.ip && r.scope === 'global')).toBe(true);
    // No neighbour or FDB entry for the node itself.
    expect(n1.neigh.get('flannel.1')?.has('10.244.1.0')).toBe(false);
    expect(vx.fdb.has(vx.mac)).toBe(false);
  });

  it('records the ops in the order the components run them', () => {
    const world = buildWorld(threeNodes('flannel-vxlan'));
    const ops = world.netns('node/node-1').ops.map((o) => o.op);
    expect(ops[0]).toBe('netns-add');
    // The VTEP exists before its neighbours, FDB entries and routes; cni0 appears with the first pod.
    expect(ops.indexOf('link-add-vxlan')).toBeLessThan(ops.indexOf('neigh-add'));
    expect(ops.indexOf('neigh-add')).toBeLessThan(ops.indexOf('fdb-add'));
    expect(ops.indexOf('link-add-bridge')).toBeGreaterThan(ops.indexOf('route-add'));
    expect(world.netns('pod/default/client').ops.map((o) => o.op)).toEqual([
      'netns-add',
      'link-add-loopback',
      'link-add-veth',
      'addr-add',
      'link-set-up',
      'route-add',
      'route-add',
    ]);
  });

  it('honours a podMtu override (1500 on a VXLAN overlay)', () => {
    const world = buildWorld(threeNodes('flannel-vxlan', { podMtu: 1500 }));
    expect(world.netns('pod/default/client').device('eth0').mtu).toBe(1500);
    expect(world.netns('node/node-1').device('cni0').mtu).toBe(1500);
    expect(world.netns('node/node-1').device('flannel.1').mtu).toBe(1450);
  });

  it('uses the scenario VNI and port for the VTEP', () => {
    const world = buildWorld(threeNodes('flannel-vxlan', { vxlan: { vni: 42, port: 4789 } }));
    const n2 = world.netns('node/node-2');
    expect(devices(n2)['flannel.42']).toBe('vxlan');
    const vx = n2.device('flannel.42');
    expect(vx.kind === 'vxlan' && [vx.vni, vx.port]).toEqual([42, 4789]);
    expect(routesOf(n2)).toContain('10.244.1.0/24 via 10.244.1.0 dev flannel.42 onlink');
  });

  it('a node without pods has no cni0 and owns no bridge gateway address', () => {
    const model = threeNodes('flannel-vxlan', { pods: [pod('default', 'db', 'node-2', '10.244.2.2')] });
    const world = buildWorld(model);
    expect(devices(world.netns('node/node-1'))).toEqual({
      lo: 'loopback',
      eth0: 'physical',
      'flannel.1': 'vxlan',
    });
    expect(world.plan.addressOwners.has('10.244.1.1')).toBe(false);
    expect(world.plan.addressOwners.get('10.244.1.0')).toEqual({ netns: 'node/node-1', device: 'flannel.1' });
    expectAddressOwnersConsistent(model);
  });

  it('a hostNetwork pod shares the node namespace and its ports are what the node listens on', () => {
    const model = threeNodes('flannel-vxlan', {
      pods: [...threeNodes().pods, pod('kube-system', 'proxy', 'node-1', '192.168.1.11', [10250], true)],
    });
    const world = buildWorld(model);
    expect(world.hasNetns('pod/kube-system/proxy')).toBe(false);
    // The pod's port, and the node agents' (kubelet 10250 is both here; kube-proxy's healthz 10256).
    expect(world.netns('node/node-1').listen).toEqual([10250, 10256]);
    expect(world.netns('node/node-2').listen).toBe('any');
    expect(world.plan.refs('pod/kube-system/proxy')).toEqual({ netns: 'node/node-1', ip: '192.168.1.11' });
    expect(world.plan.addressOwners.get('192.168.1.11')).toEqual({ netns: 'node/node-1', device: 'eth0' });
    expectAddressOwnersConsistent(model);
  });

  it('a scenario without a gateway gives nodes and hosts no default route', () => {
    const world = buildWorld(threeNodes('flannel-host-gw', { gateway: null, internet: null, hosts: [] }));
    expect(routesOf(world.netns('node/node-1')).some((r) => r.startsWith('default'))).toBe(false);
    expect(world.allNetns().map((n) => n.id)).not.toContain('host/gateway');
  });
});

describe('the world is lazy', () => {
  function spied(model: ClusterModel): { world: World; built: string[] } {
    const plan = planWorld(model);
    const built: string[] = [];
    const spy: WorldPlan = {
      ...plan,
      opsOf(unit) {
        built.push(unit);
        return plan.opsOf(unit);
      },
    };
    return { world: new World(model.name, model.description, model.cni, spy), built };
  }

  it('builds nothing until asked, then only the unit asked for', () => {
    const { world, built } = spied(threeNodes());
    expect(built).toEqual([]);
    world.netns('pod/default/db');
    expect(built).toEqual(['node/node-2']);
    world.netns('node/node-2');
    world.netns('pod/default/db');
    expect(built).toEqual(['node/node-2']);
    world.netns('host/laptop');
    expect(built).toEqual(['node/node-2', 'host/laptop']);
    world.allNetns();
    expect([...built].sort()).toEqual([
      'host/example',
      'host/gateway',
      'host/laptop',
      'node/node-1',
      'node/node-2',
      'node/node-3',
    ]);
  });

  it('materialises the same namespace once, returning the same object', () => {
    const world = buildWorld(threeNodes());
    expect(world.netns('pod/default/client')).toBe(world.netns('pod/default/client'));
    expect(world.netns('node/node-1').device(V1).kind).toBe('veth');
  });

  it('a lazily built namespace equals an eagerly built one', () => {
    const lazy = buildWorld(threeNodes());
    const eager = buildWorld(threeNodes());
    eager.allNetns();
    for (const id of ['node/node-3', 'pod/default/web-2', 'host/gateway']) {
      const a = lazy.netns(id);
      const b = eager.netns(id);
      expect([...a.devices.values()]).toEqual([...b.devices.values()]);
      expect(a.main.routes().map(formatRoute)).toEqual(b.main.routes().map(formatRoute));
      expect(a.local.routes().map(formatRoute)).toEqual(b.local.routes().map(formatRoute));
    }
  });

  it('unknown namespaces, devices and segments are EngineErrors', () => {
    const world = buildWorld(threeNodes());
    expect(() => world.netns('pod/default/nope')).toThrow(EngineError);
    expect(() => world.netns('node/node-9')).toThrow('no network namespace node/node-9');
    expect(() => world.netns('nonsense')).toThrow(EngineError);
    expect(world.hasNetns('pod/default/client')).toBe(true);
    expect(world.hasNetns('pod/default/nope')).toBe(false);
    expect(() => world.netns('node/node-1').device('eth9')).toThrow('node/node-1 has no device eth9');
    expect(() => world.segment('nowhere')).toThrow(EngineError);
  });

  it('the segment index finds every NIC by MAC', () => {
    const world = buildWorld(threeNodes());
    const seg = world.segment('node-network');
    expect(seg.members.map((m) => m.netns).sort()).toEqual([
      'host/gateway',
      'host/laptop',
      'node/node-1',
      'node/node-2',
      'node/node-3',
    ]);
    for (const m of seg.members) {
      expect(world.segmentMemberByMac('node-network', m.mac)).toEqual(m);
      expect(world.netns(m.netns).device(m.device).mac).toBe(m.mac);
    }
    expect(world.segment('internet').members.map((m) => `${m.netns} ${m.device}`)).toEqual([
      'host/gateway eth1',
      'host/example eth0',
    ]);
    expect(world.segmentMemberByMac('internet', macOf('node/node-1', 'eth0'))).toBeNull();
  });
});

describe('properties of random clusters', () => {
  it('addressOwners agrees with every materialised namespace', () => {
    fc.assert(
      fc.property(clusterModelArb, (model) => {
        expectAddressOwnersConsistent(model);
      }),
      { numRuns: 100 },
    );
  });

  it('every node gets a route to every other node’s pods (except in bridge-router mode; weave: one on-link route)', () => {
    fc.assert(
      fc.property(clusterModelArb, (model) => {
        const world = buildWorld(model);
        for (const n of model.nodes) {
          const ns = world.netns(`node/${n.name}`);
          for (const o of model.nodes) {
            if (o.name === n.name) continue;
            const hit = ns.main.lookup(o.podCIDR.ip);
            if (model.cni === 'bridge-router') continue;
            // weave: the whole pod network is on-link on the weave bridge.
            if (model.cni === 'weave')
              expect(hit.kind === 'found' && [hit.route.dst, hit.route.dev]).toEqual([
                model.clusterCIDR,
                'weave',
              ]);
            else expect(hit.kind === 'found' && hit.route.dst).toEqual(o.podCIDR);
          }
        }
      }),
      { numRuns: 50 },
    );
  });

  it('device names are unique per namespace and every veth has a peer that points back', () => {
    fc.assert(
      fc.property(clusterModelArb, (model: ClusterModel) => {
        const world = buildWorld(model);
        for (const ns of world.allNetns())
          for (const d of ns.devices.values()) {
            if (d.kind !== 'veth') continue;
            const peer = world.netns(d.peer.netns).device(d.peer.name);
            expect(peer.kind === 'veth' && peer.peer).toEqual({ netns: ns.id, name: d.name });
            expect(peer.mtu).toBe(d.mtu);
          }
      }),
      { numRuns: 50 },
    );
  });
});

describe('a unit built the fast way is the unit built op by op', () => {
  /** Everything a namespace holds, as plain data (maps as their entries, in order). */
  function picture(ns: Netns): unknown {
    return {
      id: ns.id,
      kind: ns.kind,
      node: ns.node,
      label: ns.label,
      listen: ns.listen,
      devices: [...ns.devices.values()].map((d) => (d.kind === 'vxlan' ? { ...d, fdb: [...d.fdb] } : d)),
      local: ns.local.routes(),
      main: ns.main.routes(),
      neigh: [...ns.neigh].map(([dev, t]) => [dev, [...t]]),
      ipForward: ns.ipForward,
      bridgeNfCallIptables: ns.bridgeNfCallIptables,
      ruleset: ns.ruleset,
      saved: ns.ruleset && formatIptablesSave(ns.ruleset),
      ruleErrors: ns.ruleErrors,
      ipvs: ns.ipvs,
      ipsets: ns.ipsets,
      ops: ns.ops,
    };
  }
  /** The world as the ops build it one by one: a plan whose opsOf is wrapped has no fast way. */
  function opByOp(model: ClusterModel): World {
    const plan = planWorld(model);
    return new World(model.name, model.description, model.cni, { ...plan, opsOf: (u) => plan.opsOf(u) });
  }
  function expectSame(model: ClusterModel): void {
    const plan = planWorld(model);
    const fast = buildWorld(model).allNetns();
    expect(fast.map(picture)).toEqual(opByOp(model).allNetns().map(picture));
    // Each namespace lists the ops its unit's plan has for it.
    for (const ns of fast)
      expect(ns.ops).toEqual(plan.opsOf(plan.unitOf(ns.id)!).filter((op) => op.netns === ns.id));
    // A node's rules are those of kube-proxy's, kubelet's and flannel's (or weave's) text, printed and parsed.
    if ((model.extra.kubeProxy?.mode ?? 'iptables') !== 'iptables') return;
    for (const n of model.nodes) {
      const ns = fast.find((x) => x.id === `node/${n.name}`)!;
      const text = nodeIptablesSave({
        kubeProxy: kubeProxyIptablesSave(kubeProxyInputFromModel(model, n.name)),
        flannel: model.cni.startsWith('flannel')
          ? flannelDefaults(formatCidr(model.clusterCIDR), formatCidr(n.podCIDR))
          : null,
        weave:
          model.cni === 'weave'
            ? weaveDefaults(
                WEAVE_BRIDGE,
                `${bridgeGateway(n.podCIDR)}/${model.clusterCIDR.prefix}`,
                formatCidr(n.podCIDR),
                model.networkPolicies.some((p) => p.policyTypes.includes('Egress')),
              )
            : null,
      });
      const restore = ns.ops.find((op) => op.op === 'iptables-restore');
      expect(restore?.op === 'iptables-restore' && restore.text).toBe(text);
      const parsed = parseIptablesSave(text);
      expect(ns.ruleErrors).toEqual(
        parsed.errors.map((e) => `${restore!.writer} line ${e.line}: ${e.message}`),
      );
      expect(ns.ruleset).toEqual(parsed.ruleset);
    }
  }

  it.each(ALL_CNI_MODES)('%s: the default model', (cni) => expectSame(threeNodes(cni)));

  it.each(ALL_CNI_MODES)('%s: Services, one with a Local policy (node-specific rules)', (cni) => {
    const web = service('default', 'web', {
      clusterIP: '10.96.0.20',
      port: 80,
      type: 'NodePort',
      nodePort: 30080,
    });
    const db = service('default', 'db', {
      clusterIP: '10.96.0.30',
      port: 3306,
      type: 'NodePort',
      nodePort: 30306,
      externalTrafficPolicy: 'Local',
    });
    expectSame(
      threeNodesWithServices(cni, [
        { service: web, endpoints: ['web', 'web-2'] },
        { service: db, endpoints: ['db'] },
      ]),
    );
  });

  it('kube-proxy in ipvs mode', () => {
    const web = service('default', 'web', { clusterIP: '10.96.0.20', port: 80 });
    const m = threeNodesWithServices('flannel-vxlan', [{ service: web, endpoints: ['web', 'web-2'] }]);
    expectSame({ ...m, extra: { ...m.extra, kubeProxy: { mode: 'ipvs', masqueradeAll: false } } });
  });

  it('any generated model', () => {
    fc.assert(fc.property(clusterModelArb, expectSame), { numRuns: 40 });
  });
});

// Make sure every mode is exercised by name somewhere (a new mode must be added to these tests).
it('covers every CNI mode', () => {
  expect([...ALL_CNI_MODES].sort()).toEqual([
    'bridge-host-gw',
    'bridge-router',
    'flannel-host-gw',
    'flannel-vxlan',
    'weave',
  ] satisfies CniMode[]);
});
