// Test fixtures for the UI kernels: a WorldView shaped like the engine's for a flannel-VXLAN cluster
// (node/<n> with eth0, cni0, flannel.1 and one veth per pod; pod/<ns>/<name> with eth0; a gateway and hosts),
// and small trace-event builders. Used only by tests; the app never fabricates engine output.
import type { DeviceView, LinkView, NetnsView, WorldView } from '../engine/view.ts';
import type { Frame } from '../engine/packet.ts';
import type { Decision, LegKind, TraceEvent, VerdictKind } from '../engine/trace.ts';

const dev = (name: string, kind: DeviceView['kind'], extra: Partial<DeviceView> = {}): DeviceView => ({
  name,
  kind,
  mac: '02:00:00:00:00:01',
  mtu: 1500,
  addrs: [],
  master: null,
  peer: null,
  segment: null,
  ...extra,
});

export function fixtureWorld(podsPerNode: readonly number[], opts: { internet?: boolean } = {}): WorldView {
  const namespaces: NetnsView[] = [];
  const links: LinkView[] = [];
  const ns = (
    id: string,
    kind: NetnsView['kind'],
    node: string | null,
    label: string,
    devices: DeviceView[],
  ) =>
    namespaces.push({
      id,
      kind,
      node,
      label,
      devices,
      routes: [],
      neighbours: [],
      fdb: [],
      ipForward: kind !== 'pod',
    });
  podsPerNode.forEach((count, i) => {
    const node = `node-${i + 1}`;
    const nodeId = `node/${node}`;
    const pods = Array.from({ length: count }, (_, j) => `pod/default/p${i + 1}-${j + 1}`);
    ns(nodeId, 'node', node, node, [
      dev('lo', 'loopback', { addrs: ['127.0.0.1/8'] }),
      dev('eth0', 'physical', { addrs: [`192.168.1.${11 + i}/24`], segment: 'node-network' }),
      dev('cni0', 'bridge', { addrs: [`10.244.${i + 1}.1/24`] }),
      dev('flannel.1', 'vxlan', { addrs: [`10.244.${i + 1}.0/32`] }),
      ...pods.map((p, j) =>
        dev(`veth${i}${j}`, 'veth', { master: 'cni0', peer: { netns: p, device: 'eth0' } }),
      ),
    ]);
    links.push({
      kind: 'wire',
      a: { netns: nodeId, device: 'eth0' },
      b: { netns: nodeId, device: 'eth0' },
      segment: 'node-network',
    });
    pods.forEach((p, j) => {
      ns(p, 'pod', node, p.slice(4), [
        dev('lo', 'loopback'),
        dev('eth0', 'veth', {
          addrs: [`10.244.${i + 1}.${j + 2}/24`],
          peer: { netns: nodeId, device: `veth${i}${j}` },
        }),
      ]);
      links.push({
        kind: 'veth',
        a: { netns: p, device: 'eth0' },
        b: { netns: nodeId, device: `veth${i}${j}` },
        segment: null,
      });
    });
  });
  ns('host/laptop', 'host', null, 'laptop', [
    dev('eth0', 'physical', { addrs: ['192.168.1.100/24'], segment: 'node-network' }),
  ]);
  const internet = opts.internet ?? true;
  ns('host/gateway', 'host', null, 'gateway', [
    dev('eth0', 'physical', { addrs: ['192.168.1.1/24'], segment: 'node-network' }),
    ...(internet ? [dev('eth1', 'physical', { addrs: ['203.0.113.1/24'], segment: 'internet' })] : []),
  ]);
  if (internet)
    ns('host/example', 'host', null, 'example', [
      dev('eth0', 'physical', { addrs: ['203.0.113.10/24'], segment: 'internet' }),
    ]);
  return {
    name: 'fixture',
    description: '',
    cni: 'flannel-vxlan',
    namespaces,
    segments: [
      { id: 'node-network', cidr: '192.168.1.0/24', label: 'node network' },
      ...(internet ? [{ id: 'internet', cidr: '203.0.113.0/24', label: 'internet' }] : []),
    ],
    links,
    walks: [
      { name: 'w', description: '', from: 'pod/default/p1-1', to: 'pod/default/p2-1:3306', protocol: 'tcp' },
    ],
  };
}

export function frame(over: { src?: string; dst?: string; ttl?: number; inner?: Frame } = {}): Frame {
  const base: Frame = {
    eth: { src: '0a:00:00:00:00:01', dst: '0a:00:00:00:00:02' },
    ip: {
      src: over.src ?? '10.244.1.2',
      dst: over.dst ?? '10.244.2.2',
      ttl: over.ttl ?? 64,
      protocol: 'tcp',
      df: true,
      length: 60,
    },
    l4: { kind: 'tcp', sport: 40000, dport: 3306, flags: 'S' },
  };
  if (!over.inner) return base;
  return {
    eth: base.eth,
    ip: { ...base.ip, protocol: 'udp', length: 110 },
    l4: { kind: 'udp', sport: 51000, dport: 8472 },
    vxlan: { vni: 1 },
    inner: over.inner,
  };
}

/** Builds a trace from terse steps, numbering seq and leg. */
export function trace(
  steps: readonly (
    | { leg: LegKind; at: string }
    | { observe: string; dir?: 'in' | 'out'; packet?: Frame }
    | { decide: Decision; at: string; summary?: string }
    | { verdict: VerdictKind; at: string; reason?: string }
  )[],
): TraceEvent[] {
  const out: TraceEvent[] = [];
  let leg = -1;
  const where = (netns: string) => ({ node: netns.startsWith('node/') ? netns.slice(5) : null, netns });
  for (const s of steps) {
    const seq = out.length;
    if ('leg' in s) {
      leg++;
      const p = frame();
      out.push({
        type: 'leg',
        seq,
        leg,
        kind: s.leg,
        at: where(s.at),
        summary: `${s.leg} leg`,
        packet: { ip: p.ip, l4: p.l4 },
      });
    } else if ('observe' in s) {
      const [netns, device] = s.observe.split('|') as [string, string];
      out.push({
        type: 'observe',
        seq,
        leg,
        at: where(netns),
        device,
        direction: s.dir ?? 'out',
        packet: s.packet ?? frame(),
      });
    } else if ('decide' in s) {
      out.push({
        type: 'decide',
        seq,
        leg,
        at: where(s.at),
        decision: s.decide,
        summary: s.summary ?? s.decide.kind,
        packet: frame(),
      });
    } else {
      out.push({
        type: 'verdict',
        seq,
        leg,
        verdict: { kind: s.verdict, at: where(s.at), reason: s.reason ?? s.verdict },
        packet: frame(),
      });
    }
  }
  return out;
}

export const routeDecision = (dev: string): Decision => ({
  kind: 'route',
  table: 'main',
  dst: '10.244.2.2',
  route: `10.244.2.0/24 via 10.244.2.0 dev ${dev} onlink`,
  result: 'unicast',
  dev,
  gateway: '10.244.2.0',
  src: null,
});
