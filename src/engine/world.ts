// The world: every network namespace with its devices and tables, built by applying NetOps (netops.ts)
// the way the kernel applies the equivalent netlink requests — adding an address installs the local,
// broadcast and connected routes (net/ipv4/fib_frontend.c fib_add_ifaddr), enslaving a port to a bridge
// adds the port's MAC as a permanent local FDB entry (net/bridge/br_if.c), and so on.
//
// Namespaces are materialised lazily, one "unit" at a time (a node's root namespace with its pods, or a
// host), because a 5,000-node host-gw cluster has 25 million per-node routes and a walk touches a handful
// of nodes. What walks need across units without materialising them — which namespace owns an address,
// which NIC has a MAC on a segment — comes from indexes the CNI plan computes from the model.
// Once built, a namespace is read-only: a walk keeps what it learns (ARP, FDB) in its own state. Because
// nothing in a built namespace changes, a plan may apply a run of ops at once with objects shared between
// namespaces (OpBatch: flanneld's per-lease routes and entries, the same in every node), and an
// iptables-restore may come with its parse (iptables.ts withParse: kube-proxy's rules as data).
import {
  broadcastOf,
  cidrContains,
  cidrOf,
  intToIp,
  ipToInt,
  maskOf,
  parseCidr,
  type Cidr,
  type IfAddr,
  type Ip,
  type Mac,
} from './addr.ts';
import type { NetOp, NetnsId } from './netops.ts';
import { mergeRulesets, parseRestoreInput } from './iptables.ts';
import type { IpsetSet, IpvsTable } from './ipvs.ts';
import type { Ruleset } from './netfilter.ts';
import { applyNodeState, type PastedState } from './nodeState.ts';
import { formatRoute, RouteTable, type Route } from './route.ts';
import type { ClusterModel } from '../scenario/model.ts';

interface DeviceBase {
  readonly name: string;
  readonly mac: Mac;
  readonly mtu: number;
  readonly addrs: IfAddr[];
  /** The bridge this device is a port of. */
  master: string | null;
  /** Bridge port flag: frames may be sent back out the port they came in on (the bridge plugin's hairpinMode). */
  hairpin: boolean;
  up: boolean;
}

export type Device =
  | (DeviceBase & { readonly kind: 'loopback' })
  | (DeviceBase & {
      readonly kind: 'veth';
      readonly peer: { readonly netns: NetnsId; readonly name: string };
    })
  | (DeviceBase & { readonly kind: 'bridge'; readonly ports: string[] })
  | (DeviceBase & {
      readonly kind: 'vxlan';
      readonly vni: number;
      readonly local: Ip;
      readonly port: number;
      readonly underlay: string;
      readonly learning: boolean;
      /** The outer packets' DF bit (`df set`). */
      readonly df: boolean;
      /** Static FDB: inner destination MAC → remote VTEP IP (`bridge fdb ... dst IP self permanent`). */
      readonly fdb: Map<Mac, Ip>;
      /** The all-zeros entry's destinations (`bridge fdb append 00:00:00:00:00:00 ... dst IP`): broadcasts
       *  and frames for a MAC without an entry are sent to each (vxlan_xmit's default destination list). */
      readonly flood: Ip[];
    })
  | (DeviceBase & { readonly kind: 'physical'; readonly segment: string })
  /** A dummy link (kube-proxy's kube-ipvs0): it only holds addresses; nothing is sent through it. */
  | (DeviceBase & { readonly kind: 'dummy' });

export type DeviceKind = Device['kind'];

export type VxlanDevice = Extract<Device, { kind: 'vxlan' }>;

/** For a plan that fills a VXLAN device's static FDB at once (cni.ts's flanneld leases): `fdb` becomes the
 *  device's FDB, which must still be empty. */
export function setVxlanFdb(dev: VxlanDevice, fdb: Map<Mac, Ip>): void {
  if (dev.fdb.size !== 0) throw new EngineError(`${dev.name} already has FDB entries`);
  (dev as { fdb: Map<Mac, Ip> }).fdb = fdb;
}

export interface NeighEntry {
  readonly ip: Ip;
  readonly mac: Mac;
  readonly state: 'PERMANENT';
}

export class Netns {
  readonly devices = new Map<string, Device>();
  /** Replaced as a whole when a NodeState gives the node's own routes (nodeState.ts). */
  local = new RouteTable();
  main = new RouteTable();
  /** Static neighbour entries per device (learned ones live in the walk's state). */
  readonly neigh = new Map<string, Map<Ip, NeighEntry>>();
  ipForward = false;
  /** br_netfilter's net.bridge.bridge-nf-call-iptables: bridged IPv4 frames traverse iptables. */
  bridgeNfCallIptables = false;
  /** iptables rules (all tables), or null when nothing has written any: then no hook runs here. */
  ruleset: Ruleset | null = null;
  /** kube-proxy's ipvs mode: the IPVS virtual servers (null without IPVS) and the ipsets its rules match. */
  ipvs: IpvsTable | null = null;
  ipsets: readonly IpsetSet[] | null = null;
  /** Files components keep their state in on the node (host-local's reservations, flannel's subnet.env and
   *  saved delegate configs), by path: not kernel state, but what the next CNI ADD or DEL reads. */
  readonly files = new Map<string, string>();
  /** Rule text that could not be loaded, with the reason (shown, never silently ignored). */
  readonly ruleErrors: string[] = [];
  /** What a NodeState pasted beyond the tables it replaced (learned neighbours, bridge FDB, connections). */
  pasted: PastedState | null = null;
  /** What applying a NodeState left out or read differently (devices the node does not have). */
  readonly stateWarnings: string[] = [];
  /** The ops applied here, in order; a batch's (OpBatch) as the function that lists them. */
  private readonly applied: (NetOp | (() => readonly NetOp[]))[] = [];
  private listed: NetOp[] | null = null;

  constructor(
    readonly id: NetnsId,
    readonly kind: 'node' | 'pod' | 'host',
    readonly node: string | null,
    readonly label: string,
    /** Ports a process listens on; 'any' when the scenario declares none (stated in the trace). */
    readonly listen: readonly number[] | 'any',
  ) {}

  /** The order in which ops created this namespace, for "show the commands". */
  get ops(): NetOp[] {
    return (this.listed ??= this.applied.flatMap((a) => (typeof a === 'function' ? a() : [a])));
  }

  /** For applyOp and batches: `op` (or the ops `list` gives) was applied here. */
  recordOps(op: NetOp | (() => readonly NetOp[])): void {
    this.applied.push(op);
    this.listed = null;
  }

  device(name: string): Device {
    const d = this.devices.get(name);
    if (!d) throw new EngineError(`${this.id} has no device ${name}`);
    return d;
  }

  /** True iff `ip` is one of this namespace's own addresses (any device, the weak host model). */
  ownsAddress(ip: Ip): boolean {
    const a = this.local.lookup(ip);
    return a.kind === 'found' && a.route.type === 'local';
  }

  /** The source address the kernel picks for traffic out of `dev` towards `dst` when the route has no `src`
   *  (inet_select_addr in net/ipv4/devinet.c): an address of `dev` whose subnet holds dst, else dev's first
   *  global address, else any global address in the namespace. */
  selectSource(dev: string, dst: Ip): Ip | null {
    const d = this.devices.get(dev);
    if (d) {
      for (const a of d.addrs) if (a.prefix < 32 && cidrContains(cidrOf(a), dst)) return a.ip;
      const first = d.addrs.find((a) => !a.ip.startsWith('127.'));
      if (first) return first.ip;
    }
    for (const other of this.devices.values())
      for (const a of other.addrs) if (!a.ip.startsWith('127.')) return a.ip;
    return null;
  }
}

export class EngineError extends Error {}

/** Where an address lives, without materialising anything. */
export interface AddressOwner {
  readonly netns: NetnsId;
  readonly device: string;
}

/** A NIC plugged into an L2 segment. */
export interface SegmentMember {
  readonly netns: NetnsId;
  readonly device: string;
  readonly mac: Mac;
}

export interface Segment {
  readonly id: string;
  readonly label: string;
  readonly cidr: Cidr;
  readonly members: readonly SegmentMember[];
}

/**
 * A run of ops in one namespace that a plan applies at once (cni.ts: flanneld's per-lease entries, shared by
 * every node), with exactly the effect of applyOp on each: the same devices, tables and entries in the same
 * order. The ops themselves are made only if someone lists the namespace's ops.
 */
export interface OpBatch {
  readonly kind: 'batch';
  readonly netns: NetnsId;
  /** The ops of the run, as opsOf lists them. */
  ops(): readonly NetOp[];
  /** Applies the run to `ns`; false (before changing anything) where it cannot, and then the ops are applied
   *  one by one. */
  apply(ns: Netns): boolean;
}

/** What the CNI plan supplies to build a world (see cni.ts). */
export interface WorldPlan {
  /** The unit a namespace belongs to (a node name or a host name). */
  unitOf(netns: NetnsId): string | null;
  /** Namespaces a unit creates, with their metadata. */
  namespacesOf(unit: string): readonly {
    id: NetnsId;
    kind: 'node' | 'pod' | 'host';
    node: string | null;
    label: string;
    listen: readonly number[] | 'any';
  }[];
  /** The ops that build the unit, in the order the real components run them. */
  opsOf(unit: string): readonly NetOp[];
  /**
   * Optional: a faster way to the same unit — opsOf(unit)'s ops in order, with runs of them as batches
   * (OpBatch) the plan can apply faster. Used only while the plan's `opsOf` is the `opsOf` given here, so a
   * plan that wraps opsOf (tests add ops) is built from its ops.
   */
  readonly fastBuild?: {
    readonly opsOf: WorldPlan['opsOf'];
    build(unit: string): readonly (NetOp | OpBatch)[];
  };
  readonly units: readonly string[];
  /** Resolves pod/<ns>/<name>, svc/<ns>/<name>, node/<name>, host/<name> or a bare unique name to a namespace
   *  and address. A Service's ClusterIP has netns '' (no namespace owns a virtual IP). */
  refs(ref: string): { readonly netns: NetnsId; readonly ip: Ip } | null;
  readonly addressOwners: ReadonlyMap<Ip, AddressOwner>;
  readonly segments: ReadonlyMap<string, Segment>;
}

export class World {
  private readonly built = new Map<NetnsId, Netns>();
  private readonly builtUnits = new Set<string>();
  private readonly segmentByMac = new Map<string, Map<Mac, SegmentMember>>();

  constructor(
    readonly name: string,
    readonly description: string,
    readonly cni: string,
    readonly plan: WorldPlan,
    /** The validated scenario behind the world, for the parts that read objects rather than tables (the pod's
     *  resolv.conf, CoreDNS's view of Services, NetworkPolicy). null for worlds built from bare plans. */
    readonly model: ClusterModel | null = null,
  ) {
    for (const s of plan.segments.values())
      this.segmentByMac.set(s.id, new Map(s.members.map((m) => [m.mac, m])));
  }

  /** The namespace, materialising its unit on first use. Throws EngineError for unknown ids. */
  netns(id: NetnsId): Netns {
    const got = this.built.get(id);
    if (got) return got;
    const unit = this.plan.unitOf(id);
    if (unit === null || this.builtUnits.has(unit)) throw new EngineError(`no network namespace ${id}`);
    this.materialise(unit);
    const now = this.built.get(id);
    if (!now) throw new EngineError(`no network namespace ${id}`);
    return now;
  }

  /** True iff the namespace exists now (built, and not deleted since): for a CNI walk's stage. */
  hasBuilt(id: NetnsId): boolean {
    return this.built.has(id);
  }

  hasNetns(id: NetnsId): boolean {
    return this.plan.unitOf(id) !== null;
  }

  segment(id: string): Segment {
    const s = this.plan.segments.get(id);
    if (!s) throw new EngineError(`no segment ${id}`);
    return s;
  }

  /** The NIC on `segment` whose MAC is `mac` (an ideal learning switch that already knows every port). */
  segmentMemberByMac(segment: string, mac: Mac): SegmentMember | null {
    return this.segmentByMac.get(segment)?.get(mac) ?? null;
  }

  /** Every namespace, materialising everything: for viewers of small worlds and for tests. */
  allNetns(): Netns[] {
    for (const u of this.plan.units) if (!this.builtUnits.has(u)) this.materialise(u);
    return [...this.built.values()];
  }

  private materialise(unit: string): void {
    this.builtUnits.add(unit);
    for (const n of this.plan.namespacesOf(unit))
      this.built.set(n.id, new Netns(n.id, n.kind, n.node, n.label, n.listen));
    const fast = this.plan.fastBuild;
    const steps = fast && fast.opsOf === this.plan.opsOf ? fast.build(unit) : this.plan.opsOf(unit);
    for (const step of steps) {
      if ('op' in step) {
        applyOp(this, step);
        continue;
      }
      const ns = this.building(step.netns);
      if (step.apply(ns)) ns.recordOps(() => step.ops());
      else for (const op of step.ops()) applyOp(this, op);
    }
    // The node's own tables, pasted from the machine, in place of the built ones (NodeState documents).
    const state = this.model?.nodeStates?.find((s) => `node/${s.node}` === unit);
    const node = state && this.model?.nodes.find((n) => n.name === state.node);
    const ns = this.built.get(unit);
    if (state && node && ns) ns.stateWarnings.push(...applyNodeState(ns, state, node.internalIP, 'eth0'));
  }

  /** For applyOp: the namespace being built (no lazy lookup; ops only touch their own unit). */
  building(id: NetnsId): Netns {
    const n = this.built.get(id);
    if (!n) throw new EngineError(`op refers to namespace ${id}, which its unit does not create`);
    return n;
  }

  /**
   * A CNI walk's own stage (cniWalk.ts) grows and shrinks as the steps run: a namespace its unit did not
   * create, made by a netns-add op applied afterwards. Only for worlds private to such a walk: a world shared
   * with walks stays read-only.
   */
  createNetns(meta: {
    id: NetnsId;
    kind: 'node' | 'pod' | 'host';
    node: string | null;
    label: string;
    listen: readonly number[] | 'any';
  }): Netns {
    if (this.built.has(meta.id)) throw new EngineError(`network namespace ${meta.id} already exists`);
    const ns = new Netns(meta.id, meta.kind, meta.node, meta.label, meta.listen);
    this.built.set(meta.id, ns);
    return ns;
  }

  /** For applyOp's netns-del: the namespace is gone. */
  dropNetns(id: NetnsId): void {
    this.built.delete(id);
  }
}

function base(name: string, mac: Mac, mtu: number): Omit<DeviceBase, never> {
  return { name, mac, mtu, addrs: [], master: null, hairpin: false, up: false };
}

function kernelRoute(partial: Partial<Route> & Pick<Route, 'table' | 'type' | 'dst'>): Route {
  return {
    gateway: null,
    dev: null,
    src: null,
    scope: 'global',
    proto: 'kernel',
    onlink: false,
    metric: 0,
    ...partial,
  };
}

/** Applies one op to the world under construction, with the side effects the kernel has. */
export function applyOp(world: World, op: NetOp): void {
  const ns = world.building(op.netns);
  ns.recordOps(op);
  switch (op.op) {
    case 'netns-add':
      return;
    case 'link-add-loopback': {
      const lo = { ...base('lo', '00:00:00:00:00:00', 65536), kind: 'loopback' as const, up: true };
      lo.addrs.push({ ip: '127.0.0.1', prefix: 8 });
      ns.devices.set('lo', lo);
      const dst = { ip: '127.0.0.0', prefix: 8 };
      ns.local.add(
        kernelRoute({ table: 'local', type: 'local', dst, dev: 'lo', scope: 'host', src: '127.0.0.1' }),
      );
      ns.local.add(
        kernelRoute({
          table: 'local',
          type: 'local',
          dst: { ip: '127.0.0.1', prefix: 32 },
          dev: 'lo',
          scope: 'host',
          src: '127.0.0.1',
        }),
      );
      return;
    }
    case 'link-add-veth': {
      const peerNs = world.building(op.peerNetns);
      ns.devices.set(op.name, {
        ...base(op.name, op.mac, op.mtu),
        kind: 'veth',
        peer: { netns: op.peerNetns, name: op.peerName },
      });
      peerNs.devices.set(op.peerName, {
        ...base(op.peerName, op.peerMac, op.mtu),
        kind: 'veth',
        peer: { netns: op.netns, name: op.name },
      });
      return;
    }
    case 'link-add-bridge':
      ns.devices.set(op.name, { ...base(op.name, op.mac, op.mtu), kind: 'bridge', ports: [] });
      return;
    case 'link-add-vxlan':
      ns.devices.set(op.name, {
        ...base(op.name, op.mac, op.mtu),
        kind: 'vxlan',
        vni: op.vni,
        local: op.local,
        port: op.port,
        underlay: op.underlay,
        learning: op.learning,
        df: op.df === true,
        fdb: new Map(),
        flood: [],
      });
      return;
    case 'link-add-dummy':
      ns.devices.set(op.name, { ...base(op.name, op.mac, 1500), kind: 'dummy' });
      return;
    case 'link-add-physical':
      ns.devices.set(op.name, { ...base(op.name, op.mac, op.mtu), kind: 'physical', segment: op.segment });
      return;
    case 'link-set-master': {
      const dev = ns.device(op.name);
      const br = ns.device(op.master);
      if (br.kind !== 'bridge') throw new EngineError(`${op.master} is not a bridge`);
      dev.master = op.master;
      dev.hairpin = op.hairpin;
      br.ports.push(op.name);
      return;
    }
    case 'link-set-up':
      ns.device(op.name).up = true;
      return;
    case 'addr-add': {
      const dev = ns.device(op.dev);
      const a = { ip: op.ip, prefix: op.prefix };
      dev.addrs.push(a);
      // fib_add_ifaddr: a host route in `local`, the broadcast address, and the connected prefix in `main`.
      ns.local.add(
        kernelRoute({
          table: 'local',
          type: 'local',
          dst: { ip: op.ip, prefix: 32 },
          dev: op.dev,
          scope: 'host',
          src: op.ip,
        }),
      );
      if (op.prefix < 31) {
        const net = cidrOf(a);
        ns.local.add(
          kernelRoute({
            table: 'local',
            type: 'broadcast',
            dst: { ip: broadcastOf(net), prefix: 32 },
            dev: op.dev,
            scope: 'link',
            src: op.ip,
          }),
        );
      }
      if (op.prefix < 32)
        ns.main.add(
          kernelRoute({
            table: 'main',
            type: 'unicast',
            dst: cidrOf(a),
            dev: op.dev,
            scope: 'link',
            src: op.ip,
          }),
        );
      return;
    }
    case 'route-add':
      ns.main.add(routeOf(op));
      return;
    case 'neigh-add': {
      let table = ns.neigh.get(op.dev);
      if (!table) ns.neigh.set(op.dev, (table = new Map()));
      table.set(op.ip, neighOf(op));
      return;
    }
    case 'fdb-add': {
      const dev = ns.device(op.dev);
      if (dev.kind !== 'vxlan')
        throw new EngineError(`fdb dst entries need a vxlan device, ${op.dev} is ${dev.kind}`);
      // `bridge fdb append` of the all-zeros MAC adds one more default destination.
      if (op.mac === '00:00:00:00:00:00') {
        if (!dev.flood.includes(op.dst)) dev.flood.push(op.dst);
      } else dev.fdb.set(op.mac, op.dst);
      return;
    }
    case 'sysctl':
      if (op.key === 'net.ipv4.ip_forward') ns.ipForward = op.value === 1;
      else ns.bridgeNfCallIptables = op.value === 1;
      return;
    case 'iptables-restore': {
      // The sets the rules match come first (ipset restore), next to any the node has (kube-proxy's, ipvs mode).
      if (op.ipsets?.length) ns.ipsets = [...(ns.ipsets ?? []), ...op.ipsets];
      // The writer may know the parse without the text (iptables.ts withParse: cni.ts's node rules).
      const parsed = parseRestoreInput(op);
      for (const e of parsed.errors) ns.ruleErrors.push(`${op.writer} line ${e.line}: ${e.message}`);
      // Into no rules, the merge copies every chain as it is (less counters and deleted chains): a parse's
      // tables are the caller's own (parseRestoreInput) and chains are never changed once loaded, so when
      // there are neither it is kept instead of copied.
      const plain = [...parsed.ruleset.values()].every((t) => {
        for (const c of t.values()) if (c.counters || c.deleted) return false;
        return true;
      });
      ns.ruleset =
        ns.ruleset === null && plain
          ? parsed.ruleset
          : mergeRulesets(ns.ruleset ?? new Map(), parsed.ruleset);
      return;
    }
    case 'ipvs-load':
      ns.ipvs = op.table;
      ns.ipsets = op.ipsets;
      return;
    case 'file-write':
      ns.files.set(op.path, op.content);
      return;
    case 'file-remove':
      ns.files.delete(op.path);
      return;
    case 'link-del': {
      const dev = ns.device(op.name);
      deleteDevice(ns, dev);
      if (dev.kind === 'veth') {
        const peerNs = world.building(dev.peer.netns);
        deleteDevice(peerNs, peerNs.device(dev.peer.name));
      }
      return;
    }
    case 'netns-del':
      // Every device goes with the namespace; a veth's peer elsewhere with it (the kernel destroys the pair).
      for (const d of [...ns.devices.values()]) {
        if (d.kind !== 'veth') continue;
        const peerNs = world.building(d.peer.netns);
        const peer = peerNs.devices.get(d.peer.name);
        if (peer) deleteDevice(peerNs, peer);
      }
      world.dropNetns(op.netns);
      return;
  }
}

/** Removes a device as `ip link del` does: out of its bridge, with its addresses' and routes' entries. */
function deleteDevice(ns: Netns, dev: Device): void {
  if (dev.master) {
    const br = ns.devices.get(dev.master);
    if (br?.kind === 'bridge') br.ports.splice(br.ports.indexOf(dev.name), 1);
  }
  ns.devices.delete(dev.name);
  ns.local.removeDev(dev.name);
  ns.main.removeDev(dev.name);
  ns.neigh.delete(dev.name);
}

/** The route a route-add op installs. */
export function routeOf(op: Extract<NetOp, { op: 'route-add' }>): Route {
  const dst = op.dst === 'default' ? { ip: '0.0.0.0', prefix: 0 } : parseStrictCidr(op.dst);
  const scope = op.type !== 'unicast' ? 'global' : op.gateway || op.nexthops ? 'global' : 'link';
  return {
    table: 'main',
    type: op.type,
    dst,
    gateway: op.gateway,
    dev: op.dev,
    src: null,
    scope,
    proto: 'boot',
    onlink: op.onlink,
    metric: 0,
    ...(op.nexthops ? { nexthops: op.nexthops } : {}),
  };
}

/** The permanent neighbour entry a neigh-add op installs. */
export function neighOf(op: Extract<NetOp, { op: 'neigh-add' }>): NeighEntry {
  return { ip: op.ip, mac: op.mac, state: 'PERMANENT' };
}

/**
 * parseCidr(text, true). A CIDR the CNI wrote from the model is already canonical ("10.0.5.0/24"): that is
 * recognised by the integer round trip — a string equal to intToIp of its own ipToInt is a canonical dotted
 * quad, which ipaddr.js accepts and prints unchanged — and anything else goes to parseCidr. (A 5,000-node
 * cluster's node has 4,999 such routes; parseCidr costs ~2.5 µs each.)
 */
function parseStrictCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const ip = text.slice(0, slash);
  const len = text.slice(slash + 1);
  if (slash > 0 && /^\d{1,2}$/.test(len)) {
    const n = ipToInt(ip);
    const prefix = Number(len);
    if (prefix <= 32 && intToIp(n) === ip && (n & maskOf(prefix)) >>> 0 === n) return { ip, prefix };
  }
  return parseCidr(text, true);
}

export function formatNeigh(dev: string, e: NeighEntry): string {
  return `${e.ip} dev ${dev} lladdr ${e.mac} ${e.state}`;
}

export function routesOf(ns: Netns): string[] {
  return ns.main.routes().map(formatRoute);
}
