import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planWorld, hostVethName, macOf } from './cni.ts';
import {
  buildWorld,
  EngineError,
  walk,
  resolveRef,
  type Trace,
  type TraceEvent,
  type WalkSpec,
} from './index.ts';
import type { NetOp } from './netops.ts';
import type { Frame, IpPacket } from './packet.ts';
import type { Decision } from './trace.ts';
import { World } from './world.ts';
import type { ClusterModel, CniMode } from '../scenario/model.ts';
import { ALL_CNI_MODES, clusterModelArb, modelWithWalksArb } from '../../test/fixtures/arbitraries.ts';
import { pod, threeNodes } from '../../test/fixtures/models.ts';

// ───────────────────────────── helpers ─────────────────────────────

function run(model: ClusterModel, spec: WalkSpec): Trace {
  return walk(buildWorld(model), spec);
}

function legEvents(t: Trace, leg: number): TraceEvent[] {
  return t.events.filter((e) => e.leg === leg);
}

/** The capture points a leg passed: "netns dir device". */
function path(t: Trace, leg = 0): string[] {
  return legEvents(t, leg).flatMap((e) =>
    e.type === 'observe' ? [`${e.at.netns} ${e.direction} ${e.device}`] : [],
  );
}

function decisions<K extends Decision['kind']>(
  t: Trace,
  kind: K,
  leg?: number,
): { netns: string; d: Extract<Decision, { kind: K }>; packet: Frame | IpPacket }[] {
  return t.events.flatMap((e) =>
    e.type === 'decide' && e.decision.kind === kind && (leg === undefined || e.leg === leg)
      ? [{ netns: e.at.netns, d: e.decision as Extract<Decision, { kind: K }>, packet: e.packet }]
      : [],
  );
}

/** The packet handed to the receiving socket in a leg. */
function deliveredPacket(t: Trace, leg = 0): Frame | IpPacket {
  const d = decisions(t, 'deliver', leg);
  expect(d, `leg ${leg} has a delivery`).toHaveLength(1);
  return d[0]!.packet;
}

function verdicts(t: Trace): string[] {
  return t.legs.map((l) => `${l.kind}:${l.verdict.kind}@${l.verdict.at.netns}`);
}

/** A world whose unit `unit` runs extra ops after the CNI's (the lower-level API, for odd topologies). */
function worldWithExtraOps(model: ClusterModel, unit: string, extra: readonly NetOp[]): World {
  const plan = planWorld(model);
  return new World(model.name, model.description, model.cni, {
    ...plan,
    opsOf: (u) => (u === unit ? [...plan.opsOf(u), ...extra] : plan.opsOf(u)),
  });
}

const CLIENT_VETH = hostVethName({ namespace: 'default', name: 'client' });

// ───────────────────────────── named cases ─────────────────────────────

describe('same-node traffic is bridged', () => {
  describe.each(ALL_CNI_MODES)('%s', (cni) => {
    const t = run(threeNodes(cni), { from: 'pod/default/client', to: 'pod/default/web:80', protocol: 'tcp' });
    const clientVeth = hostVethName({ namespace: 'default', name: 'client' }, cni);
    const webVeth = hostVethName({ namespace: 'default', name: 'web' }, cni);
    const bridge = cni === 'weave' ? 'weave' : 'cni0';

    it('delivers the SYN and the SYN-ACK', () => {
      expect(verdicts(t)).toEqual([
        'request:delivered@pod/default/web',
        'reply:delivered@pod/default/client',
      ]);
      expect(t.flow).toEqual({
        protocol: 'tcp',
        src: '10.244.1.2',
        dst: '10.244.1.3',
        sport: t.flow!.sport,
        dport: 80,
      });
      const syn = deliveredPacket(t, 0);
      expect(syn.l4.kind === 'tcp' && syn.l4.flags).toBe('S');
      const synAck = deliveredPacket(t, 1);
      expect(synAck.l4.kind === 'tcp' && synAck.l4.flags).toBe('S.');
    });

    it('keeps TTL 64: no router on the way', () => {
      expect(deliveredPacket(t, 0).ip.ttl).toBe(64);
      expect(deliveredPacket(t, 1).ip.ttl).toBe(64);
      expect(decisions(t, 'forward')).toEqual([]);
    });

    it("crosses the bridge from port to port and never enters the node's IP stack (br_netfilter's hooks only)", () => {
      expect(path(t, 0)).toEqual([
        'pod/default/client out eth0',
        `node/node-1 in ${clientVeth}`,
        `node/node-1 out ${webVeth}`,
        'pod/default/web in eth0',
      ]);
      const nodeEvents = t.events.filter(
        (e) => e.type !== 'verdict' && e.type !== 'leg' && e.at.netns === 'node/node-1',
      );
      // No route lookup, no forwarding, no TTL change: only the bridge's FDB and, because kubeadm turns
      // bridge-nf-call-iptables on, br_netfilter's PREROUTING/FORWARD/POSTROUTING with conntrack.
      expect(
        nodeEvents.every(
          (e) =>
            e.type === 'observe' ||
            (e.type === 'decide' &&
              (e.decision.kind === 'fdb' ||
                e.decision.kind === 'conntrack' ||
                (e.decision.kind === 'netfilter' && e.decision.bridged))),
        ),
      ).toBe(true);
      expect(
        nodeEvents.some(
          (e) => e.type === 'decide' && e.decision.kind === 'netfilter' && e.decision.hook === 'FORWARD',
        ),
      ).toBe(true);
      expect(nodeEvents.some((e) => e.type === 'observe' && e.device === bridge)).toBe(false);
      expect(decisions(t, 'fdb', 0).map((x) => x.d.result)).toEqual(['port']);
    });

    it('resolves the neighbour by ARP, then finds the entry the ARP left behind', () => {
      const n = decisions(t, 'neigh');
      expect(n[0]!.d).toMatchObject({
        device: 'eth0',
        ip: '10.244.1.3',
        stateBefore: 'NONE',
        stateAfter: 'REACHABLE',
        arp: { answeredBy: 'pod/default/web' },
      });
      // The request taught web a STALE entry for client; the reply uses it.
      expect(n[1]!.d).toMatchObject({
        ip: '10.244.1.2',
        stateBefore: 'STALE',
        stateAfter: 'DELAY',
        arp: null,
      });
    });
  });
});

describe('cross-node traffic', () => {
  it('VXLAN: delivers with inner TTL 62, in UDP 8472 between the node IPs', () => {
    const t = run(threeNodes('flannel-vxlan'), {
      from: 'pod/default/client',
      to: 'pod/default/db:3306',
      protocol: 'tcp',
    });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@pod/default/client']);
    expect(deliveredPacket(t, 0).ip.ttl).toBe(62);
    expect(deliveredPacket(t, 1).ip.ttl).toBe(62);
    const wire = t.events.find(
      (e) =>
        e.type === 'observe' &&
        e.leg === 0 &&
        e.at.netns === 'node/node-1' &&
        e.device === 'eth0' &&
        e.direction === 'out',
    );
    if (wire?.type !== 'observe') throw new Error('no capture on node-1 eth0');
    const outer = wire.packet;
    expect(outer.ip).toMatchObject({
      src: '192.168.1.11',
      dst: '192.168.1.12',
      ttl: 64,
      protocol: 'udp',
      df: false,
    });
    expect(outer.l4.kind === 'udp' && outer.l4.dport).toBe(8472);
    expect(outer.l4.kind === 'udp' && outer.l4.sport).toBeGreaterThanOrEqual(32768);
    expect(outer.vxlan).toEqual({ vni: 1 });
    expect(outer.inner?.ip).toMatchObject({ src: '10.244.1.2', dst: '10.244.2.2', ttl: 63 });
    // VXLAN adds 50 bytes: outer IP + UDP + VXLAN + inner Ethernet.
    expect(outer.ip.length).toBe(outer.inner!.ip.length + 50);
    expect(outer.inner?.eth).toEqual({
      src: macOf('node/node-1', 'flannel.1'),
      dst: macOf('node/node-2', 'flannel.1'),
    });
    expect(path(t, 0)).toEqual([
      'pod/default/client out eth0',
      `node/node-1 in ${CLIENT_VETH}`,
      'node/node-1 in cni0',
      'node/node-1 out flannel.1',
      'node/node-1 out eth0',
      'node/node-2 in eth0',
      'node/node-2 in flannel.1',
      'node/node-2 out cni0',
      `node/node-2 out ${hostVethName({ namespace: 'default', name: 'db' })}`,
      'pod/default/db in eth0',
    ]);
    expect(decisions(t, 'encap', 0).map((x) => x.d)).toEqual([
      {
        kind: 'encap',
        device: 'flannel.1',
        vni: 1,
        local: '192.168.1.11',
        remote: '192.168.1.12',
        port: 8472,
      },
    ]);
    expect(decisions(t, 'decap', 0).map((x) => x.netns)).toEqual(['node/node-2']);
    expect(decisions(t, 'neigh', 0).find((x) => x.d.device === 'flannel.1')?.d.stateBefore).toBe('PERMANENT');
  });

  it('VXLAN uses the scenario port and VNI', () => {
    const t = run(threeNodes('flannel-vxlan', { vxlan: { vni: 7, port: 4789 } }), {
      from: 'client',
      to: 'pod/default/db',
      protocol: 'icmp',
    });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@pod/default/client']);
    const encap = decisions(t, 'encap', 0)[0]!.d;
    expect([encap.device, encap.vni, encap.port]).toEqual(['flannel.7', 7, 4789]);
  });

  it.each(['flannel-host-gw', 'bridge-host-gw'] as const)(
    '%s: routes straight to the other node, TTL 62, no encapsulation',
    (cni) => {
      const t = run(threeNodes(cni), { from: 'client', to: 'pod/default/db:3306', protocol: 'tcp' });
      expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@pod/default/client']);
      expect(deliveredPacket(t, 0).ip.ttl).toBe(62);
      expect(decisions(t, 'encap')).toEqual([]);
      expect(decisions(t, 'route', 0).find((x) => x.netns === 'node/node-1')?.d).toMatchObject({
        gateway: '192.168.1.12',
        dev: 'eth0',
        table: 'main',
      });
      expect(path(t, 0)).toContain('node/node-2 in eth0');
      expect(path(t, 0)).not.toContain('host/gateway in eth0');
    },
  );

  it('bridge-router: goes through the gateway (TTL 61) and back the same way', () => {
    const t = run(threeNodes('bridge-router'), { from: 'client', to: 'pod/default/db', protocol: 'icmp' });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@pod/default/client']);
    expect(deliveredPacket(t, 0).ip.ttl).toBe(61);
    expect(deliveredPacket(t, 1).ip.ttl).toBe(61);
    expect(decisions(t, 'forward', 0).map((x) => x.netns)).toEqual([
      'node/node-1',
      'host/gateway',
      'node/node-2',
    ]);
  });

  it('bridge-router: the gateway sends an ICMP redirect to a laptop on the node network', () => {
    const t = run(threeNodes('bridge-router'), {
      from: 'host/laptop',
      to: 'pod/default/db:3306',
      protocol: 'tcp',
    });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@host/laptop']);
    expect(decisions(t, 'icmp-redirect', 0).map((x) => x.d)).toEqual([
      { kind: 'icmp-redirect', to: '192.168.1.100', gateway: '192.168.1.12' },
    ]);
  });
});

describe('node to pod', () => {
  it('over VXLAN the node uses its flannel.1 address 10.244.1.0 as source', () => {
    const t = run(threeNodes('flannel-vxlan'), {
      from: 'node/node-1',
      to: 'pod/default/web-2',
      protocol: 'icmp',
    });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/web-2', 'reply:delivered@node/node-1']);
    expect(decisions(t, 'route', 0)[0]!.d).toMatchObject({
      src: '10.244.1.0',
      dev: 'flannel.1',
      gateway: '10.244.3.0',
    });
    expect(deliveredPacket(t, 0).ip.src).toBe('10.244.1.0');
    expect(deliveredPacket(t, 0).ip.ttl).toBe(63);
    expect(deliveredPacket(t, 1).ip.dst).toBe('10.244.1.0');
  });

  it('with host-gw the node uses its own IP', () => {
    const t = run(threeNodes('flannel-host-gw'), {
      from: 'node-1',
      to: 'pod/default/web-2',
      protocol: 'icmp',
    });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/web-2', 'reply:delivered@node/node-1']);
    expect(deliveredPacket(t, 0).ip.src).toBe('192.168.1.11');
  });

  it('to a pod on the same node goes out through cni0 with src 10.244.1.1', () => {
    const t = run(threeNodes('flannel-vxlan'), {
      from: 'node/node-1',
      to: 'pod/default/web:80',
      protocol: 'tcp',
    });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/web', 'reply:delivered@node/node-1']);
    expect(deliveredPacket(t, 0).ip.src).toBe('10.244.1.1');
    expect(deliveredPacket(t, 0).ip.ttl).toBe(64);
  });

  it('the SYN-ACK reaches the connecting socket even when the source was chosen by the route', () => {
    const model = threeNodes('flannel-vxlan', {
      pods: [...threeNodes().pods, pod('kube-system', 'agent', 'node-1', '192.168.1.11', [10250], true)],
    });
    const t = run(model, { from: 'node/node-1', to: 'pod/default/web-2:80', protocol: 'tcp' });
    expect(t.flow!.src).toBe('10.244.1.0');
    expect(decisions(t, 'deliver', 1)[0]!.d).toEqual({
      kind: 'deliver',
      socket: 'the socket that sent the request',
      listening: true,
    });
  });
});

describe('failures', () => {
  it('unroutable: the gateway has no route to pods → unreachable, then an ICMP error leg back to the laptop', () => {
    const t = run(threeNodes('flannel-vxlan'), {
      from: 'host/laptop',
      to: 'pod/default/db',
      protocol: 'icmp',
    });
    expect(verdicts(t)).toEqual(['request:unreachable@host/gateway', 'icmp-error:delivered@host/laptop']);
    const err = deliveredPacket(t, 1);
    expect(err.ip).toMatchObject({ src: '192.168.1.1', dst: '192.168.1.100', protocol: 'icmp' });
    expect(err.l4).toMatchObject({ kind: 'icmp', type: 3, code: 0 });
    expect(err.l4.kind === 'icmp' && err.l4.original?.ip.dst).toBe('10.244.2.2');
    expect(t.events.find((e) => e.type === 'leg' && e.leg === 1)).toMatchObject({ kind: 'icmp-error' });
  });

  it('no default route on the node: net unreachable back to the pod', () => {
    const t = run(threeNodes('flannel-vxlan', { gateway: null, internet: null, hosts: [] }), {
      from: 'client',
      to: '8.8.8.8',
      protocol: 'icmp',
    });
    expect(verdicts(t)).toEqual([
      'request:unreachable@node/node-1',
      'icmp-error:delivered@pod/default/client',
    ]);
    expect(decisions(t, 'route', 0).find((x) => x.netns === 'node/node-1')?.d).toMatchObject({
      route: null,
      result: 'unreachable',
      table: null,
    });
  });

  it('no route in the sending namespace is a local error (ENETUNREACH), with no second leg', () => {
    const t = run(threeNodes('flannel-vxlan', { gateway: null, internet: null, hosts: [] }), {
      from: 'node-1',
      to: '8.8.8.8:53',
      protocol: 'udp',
    });
    expect(verdicts(t)).toEqual(['request:local-error@node/node-1']);
    expect(t.legs[0]!.verdict.reason).toMatch(/Network is unreachable/);
  });

  it('nobody answers ARP: host unreachable as a local error', () => {
    const t = run(threeNodes('flannel-vxlan'), { from: 'node-1', to: '192.168.1.200', protocol: 'icmp' });
    expect(verdicts(t)).toEqual(['request:local-error@node/node-1']);
    expect(decisions(t, 'neigh', 0)[0]!.d).toMatchObject({
      ip: '192.168.1.200',
      stateAfter: 'FAILED',
      mac: null,
    });
  });

  it('a missing pod behind a node: the node cannot resolve it and sends host unreachable', () => {
    const t = run(threeNodes('flannel-vxlan'), { from: 'client', to: '10.244.2.77', protocol: 'icmp' });
    expect(verdicts(t)).toEqual([
      'request:unreachable@node/node-2',
      'icmp-error:delivered@pod/default/client',
    ]);
    expect(deliveredPacket(t, 1).l4).toMatchObject({ type: 3, code: 1 });
  });

  it('DF ping larger than the pod MTU: local error (EMSGSIZE) before it leaves', () => {
    const t = run(threeNodes('flannel-vxlan'), {
      from: 'client',
      to: 'pod/default/db',
      protocol: 'icmp',
      size: 1500,
    });
    expect(verdicts(t)).toEqual(['request:local-error@pod/default/client']);
    expect(decisions(t, 'mtu')[0]!.d).toEqual({
      kind: 'mtu',
      device: 'eth0',
      mtu: 1450,
      length: 1528,
      df: true,
    });
    expect(path(t)).toEqual([]);
  });

  it('DF ping at exactly the pod MTU goes through; one byte more does not', () => {
    const fits = run(threeNodes('flannel-vxlan'), {
      from: 'client',
      to: 'pod/default/db',
      protocol: 'icmp',
      size: 1450 - 28,
    });
    expect(verdicts(fits)).toEqual([
      'request:delivered@pod/default/db',
      'reply:delivered@pod/default/client',
    ]);
    const over = run(threeNodes('flannel-vxlan'), {
      from: 'client',
      to: 'pod/default/db',
      protocol: 'icmp',
      size: 1450 - 27,
    });
    expect(verdicts(over)).toEqual(['request:local-error@pod/default/client']);
  });

  it('pod MTU 1500 on a VXLAN overlay: the node sends fragmentation needed (mtu 1450)', () => {
    const t = run(threeNodes('flannel-vxlan', { podMtu: 1500 }), {
      from: 'client',
      to: 'pod/default/db',
      protocol: 'icmp',
      size: 1450,
    });
    expect(verdicts(t)).toEqual([
      'request:frag-needed@node/node-1',
      'icmp-error:delivered@pod/default/client',
    ]);
    expect(decisions(t, 'mtu', 0)[0]!.d).toMatchObject({ device: 'flannel.1', mtu: 1450, length: 1478 });
    expect(deliveredPacket(t, 1).l4).toMatchObject({ kind: 'icmp', type: 3, code: 4, mtu: 1450 });
  });

  it('TCP to a closed port: the kernel answers RST', () => {
    const t = run(threeNodes('flannel-vxlan'), { from: 'client', to: 'pod/default/db:80', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@pod/default/client']);
    expect(decisions(t, 'deliver', 0)[0]!.d.listening).toBe(false);
    const rst = deliveredPacket(t, 1);
    expect(rst.l4.kind === 'tcp' && rst.l4.flags).toBe('R.');
  });

  it('UDP to a closed port: ICMP port unreachable comes back as an icmp-error leg', () => {
    const t = run(threeNodes('flannel-vxlan'), {
      from: 'client',
      to: 'pod/default/db:9999',
      protocol: 'udp',
    });
    expect(verdicts(t)).toEqual([
      'request:delivered@pod/default/db',
      'icmp-error:delivered@pod/default/client',
    ]);
    expect(deliveredPacket(t, 1).l4).toMatchObject({ kind: 'icmp', type: 3, code: 3 });
  });

  it('a ping to the subnet broadcast is refused by the sender (no SO_BROADCAST)', () => {
    const t = run(threeNodes('flannel-vxlan'), { from: 'client', to: '10.244.1.255', protocol: 'icmp' });
    expect(verdicts(t)).toEqual(['request:local-error@pod/default/client']);
    expect(decisions(t, 'route', 0)[0]!.d).toMatchObject({ table: 'local', result: 'broadcast' });
  });

  it('does not ARP for a broadcast address', () => {
    const t = run(threeNodes('flannel-vxlan'), { from: 'client', to: '10.244.1.255', protocol: 'icmp' });
    expect(decisions(t, 'neigh')).toEqual([]);
    expect(t.legs[0]!.verdict.reason).not.toMatch(/ARP/);
  });
});

describe('hairpin', () => {
  it('a pod talking to its own IP never leaves its namespace (loopback, table local)', () => {
    const t = run(threeNodes('flannel-vxlan'), {
      from: 'pod/default/client',
      to: '10.244.1.2:80',
      protocol: 'tcp',
    });
    expect(verdicts(t)).toEqual([
      'request:delivered@pod/default/client',
      'reply:delivered@pod/default/client',
    ]);
    expect(t.events.every((e) => e.type === 'verdict' || e.at.netns === 'pod/default/client')).toBe(true);
    expect(path(t, 0)).toEqual(['pod/default/client out lo', 'pod/default/client in lo']);
    expect(decisions(t, 'route', 0)[0]!.d).toMatchObject({ table: 'local', result: 'local' });
  });

  // A frame for the sender's own MAC (here: a static neighbour entry that points the pod's gateway at itself)
  // comes into cni0 on the pod's port, and the FDB says that MAC is behind that very port.
  const selfNeigh = (cni: CniMode): World =>
    worldWithExtraOps(threeNodes(cni), 'node/node-1', [
      {
        op: 'neigh-add',
        netns: 'pod/default/client',
        dev: 'eth0',
        ip: '10.244.1.1',
        mac: macOf('pod/default/client', 'eth0'),
        why: 'test',
      },
    ]);

  it('hairpin on (flannel): cni0 sends the frame back out the port it came in on', () => {
    const t = walk(selfNeigh('flannel-vxlan'), { from: 'client', to: 'pod/default/db', protocol: 'icmp' });
    expect(path(t)).toEqual([
      'pod/default/client out eth0',
      `node/node-1 in ${CLIENT_VETH}`,
      `node/node-1 out ${CLIENT_VETH}`,
      'pod/default/client in eth0',
    ]);
    expect(decisions(t, 'fdb')[0]!.d).toMatchObject({ result: 'port', port: CLIENT_VETH });
    // The pod does not forward, so its own reflected packet dies there.
    expect(verdicts(t)).toEqual(['request:dropped@pod/default/client']);
    expect(t.legs[0]!.verdict.reason).toMatch(/ip_forward=0/);
  });

  it('hairpin off (bridge plugin default): cni0 drops it', () => {
    const t = walk(selfNeigh('bridge-host-gw'), { from: 'client', to: 'pod/default/db', protocol: 'icmp' });
    expect(verdicts(t)).toEqual(['request:dropped@node/node-1']);
    expect(t.legs[0]!.verdict.reason).toMatch(/hairpin off/);
    expect(path(t)).toEqual(['pod/default/client out eth0', `node/node-1 in ${CLIENT_VETH}`]);
  });
});

describe('loops end', () => {
  it('a routing loop (bridge-router, a node without the pod subnet) ends by TTL with time exceeded', () => {
    // node-1 has no pods, so no cni0 and no route for 10.244.1.0/24: it sends the packet back to the gateway,
    // which sends it to node-1 again, until the TTL runs out.
    const model = threeNodes('bridge-router', { pods: [pod('default', 'db', 'node-2', '10.244.2.2')] });
    const t = run(model, { from: 'db', to: '10.244.1.5', protocol: 'icmp' });
    expect(t.legs.map((l) => `${l.kind}:${l.verdict.kind}`)).toEqual([
      'request:ttl-exceeded',
      'icmp-error:delivered',
    ]);
    const fwd = decisions(t, 'forward', 0).map((x) => x.d);
    expect(fwd.map((d) => d.ttlBefore)).toEqual(Array.from({ length: 64 }, (_, i) => 64 - i));
    expect(fwd.at(-1)).toMatchObject({ ttlBefore: 1, ttlAfter: 0 });
    expect(new Set(decisions(t, 'forward', 0).map((x) => x.netns))).toEqual(
      new Set(['node/node-2', 'host/gateway', 'node/node-1']),
    );
    const err = deliveredPacket(t, 1);
    expect(err.l4).toMatchObject({ kind: 'icmp', type: 11, code: 0 });
    expect(t.legs[1]!.verdict.at.netns).toBe('pod/default/db');
  });

  it('an L2 loop (bridges joined twice, STP off) ends with a loop verdict', () => {
    const N = 'node/node-1';
    const world = worldWithExtraOps(threeNodes('flannel-vxlan'), N, [
      { op: 'link-add-bridge', netns: N, name: 'br1', mac: '02:00:00:00:01:00', mtu: 1450, why: 'test' },
      {
        op: 'link-add-veth',
        netns: N,
        name: 'a0',
        mac: '02:00:00:00:00:a0',
        peerName: 'a1',
        peerNetns: N,
        peerMac: '02:00:00:00:00:a1',
        mtu: 1450,
        why: 'test',
      },
      {
        op: 'link-add-veth',
        netns: N,
        name: 'b0',
        mac: '02:00:00:00:00:b0',
        peerName: 'b1',
        peerNetns: N,
        peerMac: '02:00:00:00:00:b1',
        mtu: 1450,
        why: 'test',
      },
      { op: 'link-set-master', netns: N, name: 'a0', master: 'cni0', hairpin: false, why: 'test' },
      { op: 'link-set-master', netns: N, name: 'b0', master: 'cni0', hairpin: false, why: 'test' },
      { op: 'link-set-master', netns: N, name: 'a1', master: 'br1', hairpin: false, why: 'test' },
      { op: 'link-set-master', netns: N, name: 'b1', master: 'br1', hairpin: false, why: 'test' },
      // A gateway MAC nobody has: cni0 floods the frame, and it goes round the two bridges for ever.
      {
        op: 'neigh-add',
        netns: 'pod/default/client',
        dev: 'eth0',
        ip: '10.244.1.1',
        mac: '02:00:00:00:00:99',
        why: 'test',
      },
    ]);
    const t = walk(world, { from: 'client', to: 'pod/default/db', protocol: 'icmp' });
    expect(t.legs.map((l) => l.verdict.kind)).toEqual(['loop']);
    expect(t.events.at(-1)?.type).toBe('verdict');
  });
});

describe('references', () => {
  const world = buildWorld(threeNodes('flannel-vxlan'));

  it.each([
    ['pod/default/client', 'pod/default/client', '10.244.1.2'],
    ['client', 'pod/default/client', '10.244.1.2'],
    ['pod/client', 'pod/default/client', '10.244.1.2'],
    ['node/node-2', 'node/node-2', '192.168.1.12'],
    ['node-2', 'node/node-2', '192.168.1.12'],
    ['host/laptop', 'host/laptop', '192.168.1.100'],
    ['laptop', 'host/laptop', '192.168.1.100'],
    ['gateway', 'host/gateway', '192.168.1.1'],
    ['10.244.2.2', 'pod/default/db', '10.244.2.2'],
    ['10.244.1.0', 'node/node-1', '10.244.1.0'],
    ['10.244.1.1', 'node/node-1', '10.244.1.1'],
    ['203.0.113.1', 'host/gateway', '203.0.113.1'],
    ['  web-2  ', 'pod/default/web-2', '10.244.3.2'],
  ])('%j → %s (%s)', (ref, netns, ip) => {
    expect(resolveRef(world, ref, false)).toEqual({ netns, ip, port: null });
  });

  it('parses ports only where allowed', () => {
    expect(resolveRef(world, 'db:3306', true)).toEqual({
      netns: 'pod/default/db',
      ip: '10.244.2.2',
      port: 3306,
    });
    expect(resolveRef(world, '10.244.2.2:53', true)).toEqual({
      netns: 'pod/default/db',
      ip: '10.244.2.2',
      port: 53,
    });
    expect(resolveRef(world, '8.8.8.8:53', true)).toEqual({ netns: '', ip: '8.8.8.8', port: 53 });
    expect(() => resolveRef(world, 'db:3306', false)).toThrow(EngineError);
    expect(() => resolveRef(world, 'db:0', true)).toThrow('port must be 1-65535');
    expect(() => resolveRef(world, 'db:65536', true)).toThrow('port must be 1-65535');
  });

  it('a bare pod name and the full reference give the same walk', () => {
    const a = walk(buildWorld(threeNodes()), { from: 'client', to: 'pod/default/db:3306', protocol: 'tcp' });
    const b = walk(buildWorld(threeNodes()), {
      from: 'pod/default/client',
      to: 'pod/default/db:3306',
      protocol: 'tcp',
    });
    expect(a.events).toEqual(b.events);
  });

  it('an IP as source is the source address; the walk is otherwise the same', () => {
    const t = walk(world, { from: '10.244.1.2', to: '10.244.2.2', protocol: 'icmp' });
    expect(t.flow!.src).toBe('10.244.1.2');
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@pod/default/client']);
  });

  it.each<[string, WalkSpec, string | RegExp]>([
    [
      'unknown name',
      { from: 'nobody', to: 'pod/default/db', protocol: 'icmp' },
      '"nobody" is not a pod, service, node, host or IPv4 address of this scenario',
    ],
    [
      'unknown destination',
      { from: 'client', to: 'pod/default/nope:80', protocol: 'tcp' },
      '"pod/default/nope" is not a pod, service, node, host or IPv4 address',
    ],
    [
      'unknown kind',
      { from: 'svc/default/web', to: 'pod/default/db', protocol: 'icmp' },
      /"svc\/default\/web" is not a pod/,
    ],
    ['too many parts', { from: 'pod/a/b/c', to: 'pod/default/db', protocol: 'icmp' }, /is not a pod/],
    [
      'source address nobody owns',
      { from: '10.9.9.9', to: 'pod/default/db', protocol: 'icmp' },
      '"10.9.9.9": no namespace of this scenario owns that address',
    ],
    [
      'tcp without a port',
      { from: 'client', to: 'pod/default/db', protocol: 'tcp' },
      '"pod/default/db": a tcp walk needs a port (ip:port)',
    ],
    ['udp without a port', { from: 'client', to: '10.244.2.2', protocol: 'udp' }, 'a udp walk needs a port'],
    [
      'a port on the source',
      { from: 'client:80', to: 'pod/default/db', protocol: 'icmp' },
      /is not a pod, service, node, host or IPv4 address/,
    ],
    ['a bad port', { from: 'client', to: 'pod/default/db:99999', protocol: 'tcp' }, 'port must be 1-65535'],
    [
      'an octal-looking IP',
      { from: 'client', to: '010.244.2.2', protocol: 'icmp' },
      /is not a pod, service, node, host or IPv4 address/,
    ],
  ])('%s → EngineError', (_why, spec, message) => {
    expect(() => walk(world, spec)).toThrow(EngineError);
    expect(() => walk(world, spec)).toThrow(message);
  });

  it('an ambiguous bare pod name is not resolved', () => {
    const model = threeNodes('flannel-vxlan', {
      namespaces: ['default', 'other'],
      pods: [...threeNodes().pods, pod('other', 'web', 'node-2', '10.244.2.9')],
    });
    const w = buildWorld(model);
    expect(() => walk(w, { from: 'web', to: 'pod/default/db', protocol: 'icmp' })).toThrow(EngineError);
    expect(walk(w, { from: 'pod/other/web', to: 'pod/default/db', protocol: 'icmp' }).flow!.src).toBe(
      '10.244.2.9',
    );
  });
});

describe('determinism and streaming', () => {
  it('the same seed gives the same trace; the seed picks the source port', () => {
    const spec: WalkSpec = { from: 'client', to: 'pod/default/db:3306', protocol: 'tcp', seed: 42 };
    const a = walk(buildWorld(threeNodes()), spec);
    const b = walk(buildWorld(threeNodes()), spec);
    expect(a).toEqual(b);
    const ports = new Set(
      [1, 2, 3, 4, 5].map((seed) => walk(buildWorld(threeNodes()), { ...spec, seed }).flow!.sport),
    );
    expect(ports.size).toBeGreaterThan(1);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(32768);
  });

  it('streams every event, in order, to onEvent', () => {
    const seen: TraceEvent[] = [];
    const t = walk(
      buildWorld(threeNodes()),
      { from: 'client', to: 'pod/default/db', protocol: 'icmp' },
      (e) => seen.push(e),
    );
    expect(seen).toEqual(t.events);
  });

  it('a trace is plain data (structured-clone and JSON safe)', () => {
    const t = walk(buildWorld(threeNodes()), { from: 'client', to: 'pod/default/db:3306', protocol: 'tcp' });
    expect(structuredClone(t)).toEqual(t);
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });
});

// ───────────────────────────── properties ─────────────────────────────

/** The structural invariants every trace must satisfy. */
function expectWellFormed(t: Trace): void {
  expect(t.events.map((e) => e.seq)).toEqual(t.events.map((_, i) => i));
  expect(t.legs.length).toBeGreaterThanOrEqual(1);
  expect(t.legs.length).toBeLessThanOrEqual(2);
  const legIds = t.events.map((e) => e.leg);
  expect([...legIds].sort((a, b) => a - b)).toEqual(legIds); // legs are contiguous and in order
  for (let i = 0; i < t.legs.length; i++) {
    const evs = legEvents(t, i);
    expect(evs.length).toBeGreaterThanOrEqual(2);
    expect(evs[0]!.type).toBe('leg');
    const last = evs.at(-1)!;
    expect(last.type).toBe('verdict');
    expect(evs.filter((e) => e.type === 'verdict')).toHaveLength(1);
    expect(evs.filter((e) => e.type === 'leg')).toHaveLength(1);
    if (last.type === 'verdict') expect(last.verdict).toEqual(t.legs[i]!.verdict);
    if (evs[0]!.type === 'leg') expect(evs[0]!.kind).toBe(t.legs[i]!.kind);
  }
  expect(new Set(legIds).size).toBe(t.legs.length);
  expect(t.legs[0]!.kind).toBe('request');
  // A second leg exists only after a delivery (reply) or a router's ICMP error.
  if (t.legs.length === 2)
    expect(['delivered', 'unreachable', 'ttl-exceeded', 'frag-needed']).toContain(t.legs[0]!.verdict.kind);
  for (const e of t.events)
    if (e.type === 'observe' || e.type === 'decide') {
      expect(e.packet.ip.ttl).toBeGreaterThanOrEqual(0);
      expect(e.packet.ip.ttl).toBeLessThanOrEqual(64);
    }
}

describe('properties of random walks in random clusters', () => {
  it('every walk terminates with well-formed legs', () => {
    fc.assert(
      fc.property(modelWithWalksArb, ([model, specs]) => {
        const world = buildWorld(model);
        for (const spec of specs) expectWellFormed(walk(world, spec));
      }),
      { numRuns: 150 },
    );
  });

  it('walks are deterministic: twice on one world, on a fresh world, and on a structuredClone of the model', () => {
    fc.assert(
      fc.property(modelWithWalksArb, ([model, specs]) => {
        const warm = buildWorld(model);
        const first = specs.map((s) => walk(warm, s));
        const again = specs.map((s) => walk(warm, s));
        const cloned = buildWorld(structuredClone(model));
        const fresh = specs.map((s) => walk(cloned, s));
        expect(again).toEqual(first);
        expect(fresh).toEqual(first);
        // Order of walks on a world must not matter either (a walk keeps what it learns to itself).
        const other = buildWorld(model);
        const reversed = [...specs]
          .reverse()
          .map((s) => walk(other, s))
          .reverse();
        expect(reversed).toEqual(first);
      }),
      { numRuns: 100 },
    );
  });

  it('a walk between two pods of the default shape is delivered in every mode, with a TTL that fits the mode', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_CNI_MODES),
        fc.constantFrom('client', 'web', 'db', 'web-2'),
        fc.constantFrom('client', 'web', 'db', 'web-2'),
        fc.constantFrom<WalkSpec['protocol']>('tcp', 'udp', 'icmp'),
        (cni, a, b, protocol) => {
          const model = threeNodes(cni);
          const to = `pod/default/${b}`;
          const t = walk(buildWorld(model), { from: a, to: protocol === 'icmp' ? to : `${to}:80`, protocol });
          expectWellFormed(t);
          expect(t.legs[0]!.verdict.kind).toBe('delivered');
          const nodeOf = (n: string) => model.pods.find((p) => p.name === n)!.nodeName;
          const ttl = deliveredPacket(t, 0).ip.ttl;
          // weave bridges pods of every node into one L2 network: no router decrements the TTL.
          if (a === b || nodeOf(a) === nodeOf(b) || cni === 'weave') expect(ttl).toBe(64);
          else expect(ttl).toBe(cni === 'bridge-router' ? 61 : 62);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a walk between two pods of a random cluster is delivered, unless the mode needs a gateway that is missing', () => {
    fc.assert(
      fc.property(
        clusterModelArb.filter((m) => m.pods.filter((p) => !p.hostNetwork).length >= 2),
        fc.nat(),
        fc.nat(),
        (model, i, j) => {
          const pods = model.pods.filter((p) => !p.hostNetwork);
          const a = pods[i % pods.length]!;
          const b = pods[j % pods.length]!;
          const t = walk(buildWorld(model), {
            from: `pod/${a.namespace}/${a.name}`,
            to: `pod/${b.namespace}/${b.name}`,
            protocol: 'icmp',
          });
          expectWellFormed(t);
          const crossNode = a.nodeName !== b.nodeName;
          const needsGateway = crossNode && model.cni === 'bridge-router';
          // Pod MTU 1500 over 1400-byte links etc. does not matter for a 84-byte ping.
          if (!needsGateway || model.gateway)
            expect(t.legs.map((l) => l.verdict.kind)).toEqual(['delivered', 'delivered']);
        },
      ),
      { numRuns: 150 },
    );
  });
});
