// Neighbour resolution (ARP, RFC 826) and the L2 broadcast domain it floods, as net/ipv4/arp.c behaves with
// the defaults: arp_ignore=0 (answer for any local address, on whichever interface the request arrived),
// arp_announce=0 (the request's sender IP is the packet's own source), and a request for one of our
// addresses creates a STALE entry for the asker (neigh_event_ns in arp_process). Bridges learn the source
// MAC of the request at its ingress port and of the reply at the answerer's port (br_fdb_update).
// Static entries (flannel's PERMANENT ones) win; what a walk learns lives in the walk's own state.
import type { Ip, Mac } from './addr.ts';
import type { NetnsId } from './netops.ts';
import type { Device, Netns, World } from './world.ts';

export type NudState = 'PERMANENT' | 'REACHABLE' | 'STALE';

export interface LearnedNeigh {
  readonly mac: Mac;
  readonly state: NudState;
}

/** A receiving end of a broadcast: a device not enslaved to a bridge (or a bridge device itself). */
export interface L2Endpoint {
  readonly netns: NetnsId;
  readonly device: string;
  /** Bridges the broadcast crossed to get here: where it entered and which port leads towards this endpoint
   *  (null when the endpoint is the bridge device itself). */
  readonly bridges: readonly {
    readonly netns: NetnsId;
    readonly bridge: string;
    readonly ingress: string | null;
    readonly towards: string | null;
  }[];
}

/** Every endpoint a broadcast sent out of `dev` in `ns` reaches. With `only`, NICs on a segment that belong
 *  to other namespaces are skipped: on a 5,000-node network that avoids building every node to find one. */
export function broadcastDomain(
  world: World,
  ns: Netns,
  dev: Device,
  only: NetnsId | null = null,
): L2Endpoint[] {
  const out: L2Endpoint[] = [];
  const seen = new Set<string>();
  type Crossing = L2Endpoint['bridges'][number];

  const leave = (n: Netns, d: Device, path: readonly Crossing[]): void => {
    switch (d.kind) {
      case 'veth': {
        const peerNs = world.netns(d.peer.netns);
        arrive(peerNs, peerNs.device(d.peer.name), path);
        return;
      }
      case 'bridge':
        // Sent by the host through the bridge device: out of every port.
        for (const p of d.ports)
          leave(n, n.device(p), [...path, { netns: n.id, bridge: d.name, ingress: null, towards: p }]);
        return;
      case 'physical':
        for (const m of world.segment(d.segment).members) {
          if ((m.netns === n.id && m.device === d.name) || (only !== null && m.netns !== only)) continue;
          const mNs = world.netns(m.netns);
          arrive(mNs, mNs.device(m.device), path);
        }
        return;
      case 'vxlan':
        // A copy to each destination of the all-zeros FDB entry (weave's per-peer flooding), received by the
        // VTEP there with the same port and VNI; flannel's VXLAN device has none, so ARP goes nowhere.
        for (const dst of d.flood) {
          const owner = world.plan.addressOwners.get(dst);
          if (!owner || (only !== null && world.plan.unitOf(only) !== world.plan.unitOf(owner.netns)))
            continue;
          const rNs = world.netns(owner.netns);
          for (const r of rNs.devices.values())
            if (r.kind === 'vxlan' && r.port === d.port && r.vni === d.vni) arrive(rNs, r, path);
        }
        return;
      case 'loopback':
        return;
    }
  };

  const arrive = (n: Netns, d: Device, path: readonly Crossing[]): void => {
    const key = `${n.id}|${d.name}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (d.master) {
      const br = n.device(d.master);
      if (br.kind !== 'bridge') return;
      out.push({
        netns: n.id,
        device: br.name,
        bridges: [...path, { netns: n.id, bridge: br.name, ingress: d.name, towards: null }],
      });
      for (const p of br.ports)
        if (p !== d.name)
          leave(n, n.device(p), [...path, { netns: n.id, bridge: br.name, ingress: d.name, towards: p }]);
      return;
    }
    out.push({ netns: n.id, device: d.name, bridges: path });
  };

  leave(ns, dev, []);
  return out;
}

/** Who answers an ARP request for `ip` sent out of `dev`: the first endpoint whose namespace owns the address. */
export function arpAnswerer(world: World, ns: Netns, dev: Device, ip: Ip): L2Endpoint | null {
  const owner = world.plan.addressOwners.get(ip);
  if (!owner) return null;
  for (const e of broadcastDomain(world, ns, dev, owner.netns)) {
    if (e.netns !== owner.netns) continue;
    if (world.netns(e.netns).ownsAddress(ip)) return e;
  }
  return null;
}
