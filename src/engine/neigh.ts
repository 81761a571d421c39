// Neighbour resolution (ARP, RFC 826) and the L2 broadcast domain it floods, as net/ipv4/arp.c behaves with
// the defaults: arp_ignore=0 (answer for any local address, on whichever interface the request arrived),
// arp_announce=0 (the request's sender IP is the packet's own source), and a request for one of our
// addresses creates a STALE entry for the asker (neigh_event_ns in arp_process). Bridges learn the source
// MAC of the request at its ingress port and of the reply at the answerer's port (br_fdb_update).
// Static entries (flannel's PERMANENT ones) win; what a walk learns lives in the walk's own state.
import { isIp, isMac, parseMac, type Ip, type Mac } from './addr.ts';
import type { TextProblem } from './nodeState.ts';
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

// ───────────────────────────── `ip neigh` and `bridge fdb` text ─────────────────────────────

/** A line of `ip neigh`: an entry with a link-layer address. */
export interface NeighLine {
  readonly ip: Ip;
  readonly dev: string;
  readonly mac: Mac;
  /** PERMANENT and NOARP entries are static; REACHABLE and STALE ones were learned (DELAY and PROBE are read
   *  as STALE: a used entry the kernel has not confirmed yet). */
  readonly state: NudState;
  readonly line: number;
}

const NUD_STATES = [
  'PERMANENT',
  'NOARP',
  'REACHABLE',
  'STALE',
  'DELAY',
  'PROBE',
  'FAILED',
  'INCOMPLETE',
  'NONE',
];

/**
 * Reads what `ip neigh` (`ip neigh show`) prints: "IP dev DEV lladdr MAC [router] [proxy] STATE". Entries
 * without an address (FAILED, INCOMPLETE) hold nothing a walk could use and are left out; IPv6 lines too,
 * with a warning.
 */
export function parseIpNeigh(text: string): { entries: NeighLine[]; problems: TextProblem[] } {
  const entries: NeighLine[] = [];
  const problems: TextProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const words = raw
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length === 0 || words[0]!.startsWith('#')) return;
    const error = (message: string) => problems.push({ line, message, severity: 'error' });
    const ip = words[0]!;
    if (ip.includes(':') && !isIp(ip)) {
      problems.push({ line, message: 'IPv6 neighbours are not modelled; left out', severity: 'warning' });
      return;
    }
    if (!isIp(ip)) return error(`"${ip}" is not an IPv4 address`);
    let dev: string | null = null;
    let mac: Mac | null = null;
    let state: string | null = null;
    for (let k = 1; k < words.length; k++) {
      const w = words[k]!;
      const v = words[k + 1];
      if (w === 'dev' && v) {
        dev = v;
        k++;
      } else if (w === 'lladdr' && v) {
        if (!isMac(v)) return error(`lladdr "${v}": not a MAC address`);
        mac = parseMac(v);
        k++;
      } else if (w === 'router' || w === 'proxy' || w === 'extern_learn' || w === 'managed') continue;
      else if (w === 'probes' || w === 'vlan' || w === 'nud' || w === 'protocol') k++;
      else if (NUD_STATES.includes(w)) state = w;
      else return error(`unknown word "${w}" (expected dev, lladdr or a state such as REACHABLE)`);
    }
    if (!dev) return error('missing "dev DEVICE"');
    if (state === null) return error('missing the state (PERMANENT, REACHABLE, STALE, ...)');
    if (!mac) return; // FAILED / INCOMPLETE: nothing learned yet.
    const nud: NudState =
      state === 'PERMANENT' || state === 'NOARP'
        ? 'PERMANENT'
        : state === 'REACHABLE'
          ? 'REACHABLE'
          : 'STALE';
    entries.push({ ip, dev, mac, state: nud, line });
  });
  return { entries, problems };
}

/** A line of `bridge fdb`: a VXLAN device's remote (`dst`), or a bridge port's MAC (`master`). */
export type FdbLine =
  | {
      readonly kind: 'vxlan';
      readonly mac: Mac;
      readonly dev: string;
      readonly dst: Ip;
      readonly line: number;
    }
  | {
      readonly kind: 'bridge';
      readonly mac: Mac;
      /** The port the MAC is behind. */
      readonly dev: string;
      readonly master: string;
      readonly permanent: boolean;
      readonly line: number;
    };

/**
 * Reads what `bridge fdb` (`bridge fdb show`) prints. Kept: `dst` entries of VXLAN devices ("MAC dev
 * flannel.1 dst 192.168.1.13 self permanent") and entries learned or added on bridge ports ("MAC dev veth…
 * master cni0"). The NICs' own multicast filter entries ("33:33:… dev eth0 self permanent") say nothing about
 * forwarding and are skipped without a word.
 */
export function parseBridgeFdb(text: string): { entries: FdbLine[]; problems: TextProblem[] } {
  const entries: FdbLine[] = [];
  const problems: TextProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const words = raw
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length === 0 || words[0]!.startsWith('#')) return;
    const error = (message: string) => problems.push({ line, message, severity: 'error' });
    if (!isMac(words[0]!)) return error(`"${words[0]!}" is not a MAC address`);
    const mac = parseMac(words[0]!);
    let dev: string | null = null;
    let dst: string | null = null;
    let master: string | null = null;
    let permanent = false;
    for (let k = 1; k < words.length; k++) {
      const w = words[k]!;
      const v = words[k + 1];
      if (
        (w === 'dev' ||
          w === 'dst' ||
          w === 'master' ||
          w === 'vlan' ||
          w === 'port' ||
          w === 'vni' ||
          w === 'via' ||
          w === 'src_vni' ||
          w === 'nhid') &&
        v === undefined
      )
        return error(`${w}: missing value`);
      if (w === 'dev') dev = words[++k]!;
      else if (w === 'dst') dst = words[++k]!;
      else if (w === 'master') master = words[++k]!;
      else if (w === 'vlan' || w === 'port' || w === 'vni' || w === 'via' || w === 'src_vni' || w === 'nhid')
        k++;
      else if (w === 'permanent' || w === 'static') permanent = true;
      else if (
        [
          'self',
          'offload',
          'router',
          'extern_learn',
          'sticky',
          'dynamic',
          'local',
          'use',
          'activity_notify',
          'inactive',
        ].includes(w)
      )
        continue;
      else return error(`unknown word "${w}"`);
    }
    if (!dev) return error('missing "dev DEVICE"');
    if (dst !== null) {
      if (dst.includes(':')) {
        problems.push({
          line,
          message: 'IPv6 VXLAN remotes are not modelled; left out',
          severity: 'warning',
        });
        return;
      }
      if (!isIp(dst)) return error(`dst "${dst}": not an IPv4 address`);
      entries.push({ kind: 'vxlan', mac, dev, dst, line });
      return;
    }
    if (master !== null) {
      entries.push({ kind: 'bridge', mac, dev, master, permanent, line });
      return;
    }
    // "MAC dev eth0 self permanent": the NIC's own address filter (multicast), not forwarding.
  });
  return { entries, problems };
}
