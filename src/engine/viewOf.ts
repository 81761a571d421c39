// Builds the viewer's picture of a world (view.ts). Materialises every namespace: meant for the clusters a
// person looks at, not the 5,000-node benchmark.
import { formatCidr } from './addr.ts';
import { formatIptablesSave } from './iptables.ts';
import type { LinkView, NetnsView, WorldView } from './view.ts';
import { formatNeigh, routesOf, type Netns, type World } from './world.ts';

/** One namespace as the viewer sees it, and the veth links of its devices. `rules`: false leaves the
 *  iptables rules out (a CNI walk's snapshots: no step changes them). */
export function netnsView(ns: Netns, rules = true): { view: NetnsView; veths: LinkView[] } {
  const fdb: string[] = [];
  const veths: LinkView[] = [];
  for (const d of ns.devices.values()) {
    if (d.kind === 'vxlan') {
      for (const dst of d.flood) fdb.push(`00:00:00:00:00:00 dev ${d.name} dst ${dst} self permanent`);
      for (const [mac, dst] of d.fdb) fdb.push(`${mac} dev ${d.name} dst ${dst} self permanent`);
    }
    if (d.kind === 'bridge') {
      fdb.push(`${d.mac} dev ${d.name} master ${d.name} permanent`);
      for (const p of d.ports) fdb.push(`${ns.device(p).mac} dev ${p} master ${d.name} permanent`);
    }
    if (d.kind === 'veth')
      veths.push({
        kind: 'veth',
        a: { netns: ns.id, device: d.name },
        b: { netns: d.peer.netns, device: d.peer.name },
        segment: null,
      });
  }
  const view: NetnsView = {
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
    ...(rules && ns.ruleset ? { iptablesSave: formatIptablesSave(ns.ruleset) } : {}),
    ...(ns.files.size > 0 ? { files: [...ns.files].map(([path, content]) => ({ path, content })) } : {}),
  };
  return { view, veths };
}

export function worldView(world: World, walks: WorldView['walks'] = []): WorldView {
  const namespaces: NetnsView[] = [];
  const links: LinkView[] = [];
  const seenVeth = new Set<string>();
  for (const ns of world.allNetns()) {
    const { view, veths } = netnsView(ns);
    namespaces.push(view);
    for (const v of veths) {
      const key = [`${v.a.netns}|${v.a.device}`, `${v.b.netns}|${v.b.device}`].sort().join('~');
      if (seenVeth.has(key)) continue;
      seenVeth.add(key);
      links.push(v);
    }
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
    ...(world.model?.translations ? { translations: world.model.translations } : {}),
  };
}
