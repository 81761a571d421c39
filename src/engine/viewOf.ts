// Builds the viewer's picture of a world (view.ts). Materialises every namespace: meant for the clusters a
// person looks at, not the 5,000-node benchmark.
import { formatCidr } from './addr.ts';
import { formatIptablesSave } from './iptables.ts';
import type { LinkView, NetnsView, WorldView } from './view.ts';
import { formatNeigh, routesOf, type World } from './world.ts';

export function worldView(world: World, walks: WorldView['walks'] = []): WorldView {
  const namespaces: NetnsView[] = [];
  const links: LinkView[] = [];
  const seenVeth = new Set<string>();
  for (const ns of world.allNetns()) {
    const fdb: string[] = [];
    for (const d of ns.devices.values()) {
      if (d.kind === 'vxlan') {
        for (const dst of d.flood) fdb.push(`00:00:00:00:00:00 dev ${d.name} dst ${dst} self permanent`);
        for (const [mac, dst] of d.fdb) fdb.push(`${mac} dev ${d.name} dst ${dst} self permanent`);
      }
      if (d.kind === 'bridge') {
        fdb.push(`${d.mac} dev ${d.name} master ${d.name} permanent`);
        for (const p of d.ports) fdb.push(`${ns.device(p).mac} dev ${p} master ${d.name} permanent`);
      }
      if (d.kind === 'veth') {
        const key = [`${ns.id}|${d.name}`, `${d.peer.netns}|${d.peer.name}`].sort().join('~');
        if (!seenVeth.has(key)) {
          seenVeth.add(key);
          links.push({
            kind: 'veth',
            a: { netns: ns.id, device: d.name },
            b: { netns: d.peer.netns, device: d.peer.name },
            segment: null,
          });
        }
      }
    }
    namespaces.push({
      id: ns.id,
      kind: ns.kind,
      node: ns.node,
      label: ns.label,
      devices: [...ns.devices.values()].map((d) => ({
        name: d.name,
        kind: d.kind,
        mac: d.mac,
        mtu: d.mtu,
        addrs: d.addrs.map(formatCidr),
        master: d.master,
        peer: d.kind === 'veth' ? { netns: d.peer.netns, device: d.peer.name } : null,
        segment: d.kind === 'physical' ? d.segment : null,
      })),
      routes: routesOf(ns),
      neighbours: [...ns.neigh.entries()].flatMap(([dev, t]) =>
        [...t.values()].map((e) => formatNeigh(dev, e)),
      ),
      fdb,
      ipForward: ns.ipForward,
      ...(ns.ruleset ? { iptablesSave: formatIptablesSave(ns.ruleset) } : {}),
    });
  }
  const segments = [...world.plan.segments.values()].map((s) => {
    for (const m of s.members)
      links.push({
        kind: 'wire',
        a: { netns: m.netns, device: m.device },
        b: { netns: 'segment', device: s.id },
        segment: s.id,
      });
    return { id: s.id, cidr: formatCidr(s.cidr), label: s.label };
  });
  return {
    name: world.name,
    description: world.description,
    cni: world.cni,
    namespaces,
    segments,
    links,
    walks,
  };
}
