// A node's own tables, pasted from the machine: `iptables-save`, `ip route`, `ip neigh`, `bridge fdb` and
// `conntrack -L` (the scenario's NodeState document, docs/import.md). Each text is read by the module of its
// concept (iptables.ts, route.ts, neigh.ts, conntrack.ts); this module checks them as a whole and, when the
// world builds the node, puts them in place of what the scenario built: every table given is REPLACED, the
// others stay as the CNI and kube-proxy made them.
//
// Devices: the pasted text names the machine's devices. The NIC that holds the node's InternalIP (enp0s8,
// ens3, ...) is read as the model's eth0, saying so; any other device the node does not have (a pod's
// veth under its random name) leaves its entries out with a warning naming the line.
import type { Ip, Mac } from './addr.ts';
import { parseConntrackList, type ConntrackEntry } from './conntrack.ts';
import { parseIptablesSave } from './iptables.ts';
import { parseBridgeFdb, parseIpNeigh, type LearnedNeigh, type NeighLine } from './neigh.ts';
import { parseIpRoute, RouteTable, type Route } from './route.ts';
import type { Netns, NeighEntry } from './world.ts';

/** A problem in a pasted text: its 1-based line, and whether the line was left out (warning) or the text
 *  cannot be used (error). */
export interface TextProblem {
  readonly line: number;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

/** The five texts of a NodeState document; null when not given. */
export interface NodeStateTexts {
  readonly iptablesSave: string | null;
  readonly ipRoute: string | null;
  readonly ipNeigh: string | null;
  readonly bridgeFdb: string | null;
  readonly conntrack: string | null;
}

export type NodeStateField = keyof NodeStateTexts;

/** Every problem of every text given, by field. iptables rules the model cannot read are warnings (the rule
 *  is left out, as a kernel without the extension would refuse it); the other texts' syntax errors are
 *  errors. */
export function checkNodeState(texts: NodeStateTexts): { field: NodeStateField; problem: TextProblem }[] {
  const out: { field: NodeStateField; problem: TextProblem }[] = [];
  const add = (field: NodeStateField, problems: readonly TextProblem[]) => {
    for (const problem of problems) out.push({ field, problem });
  };
  if (texts.iptablesSave !== null)
    add(
      'iptablesSave',
      parseIptablesSave(texts.iptablesSave).errors.map((e) => ({
        line: e.line,
        message: `${e.message} (the rule is left out)`,
        severity: 'warning' as const,
      })),
    );
  if (texts.ipRoute !== null) add('ipRoute', parseIpRoute(texts.ipRoute).problems);
  if (texts.ipNeigh !== null) add('ipNeigh', parseIpNeigh(texts.ipNeigh).problems);
  if (texts.bridgeFdb !== null) add('bridgeFdb', parseBridgeFdb(texts.bridgeFdb).problems);
  if (texts.conntrack !== null) add('conntrack', parseConntrackList(texts.conntrack).problems);
  return out;
}

/** What a NodeState adds to a node's namespace beyond its replaced tables (walk.ts reads these). */
export interface PastedState {
  /** Learned neighbours (REACHABLE, STALE) per device: used like the walk's own learned entries. */
  readonly neigh: ReadonlyMap<string, ReadonlyMap<Ip, LearnedNeigh>>;
  /** Bridge FDB entries per bridge: MAC → port. */
  readonly bridgeFdb: ReadonlyMap<string, ReadonlyMap<Mac, string>>;
  /** The node's connections: every walk starts with them in its conntrack table. */
  readonly conntrack: readonly ConntrackEntry[];
}

const LABELS: Readonly<Record<NodeStateField, string>> = {
  iptablesSave: 'iptables-save',
  ipRoute: 'ip route',
  ipNeigh: 'ip neigh',
  bridgeFdb: 'bridge fdb',
  conntrack: 'conntrack -L',
};

/**
 * Puts the pasted tables in place of the namespace's own, with `nic` (the node's NIC, eth0) standing for the
 * device that holds `internalIP` in the pasted routes. Returns the warnings (entries left out, devices read
 * as others). Lines with errors were reported when the scenario was parsed and are skipped here.
 */
export function applyNodeState(ns: Netns, texts: NodeStateTexts, internalIP: Ip, nic: string): string[] {
  const warnings: string[] = [];
  const warn = (field: NodeStateField, line: number, message: string) =>
    warnings.push(`${LABELS[field]} line ${line}: ${message}`);
  const routes = texts.ipRoute !== null ? parseIpRoute(texts.ipRoute).routes : [];
  // The NIC: the device of a pasted route whose preferred source is the node's InternalIP.
  const alias = new Map<string, string>();
  const named = routes.find((r) => r.src === internalIP && r.dev !== null && !ns.devices.has(r.dev));
  if (named?.dev && ns.devices.has(nic)) {
    alias.set(named.dev, nic);
    warnings.push(`${named.dev} is read as ${nic}: it holds the node's InternalIP ${internalIP}`);
  }
  const dev = (name: string): string => alias.get(name) ?? name;
  const missing = (name: string): string =>
    `device ${name} does not exist on ${ns.label} (it has ${[...ns.devices.keys()].join(', ')}); left out`;

  if (texts.ipRoute !== null) {
    const main = new RouteTable();
    const local = new RouteTable();
    let anyLocal = false;
    const parsed = parseIpRoute(texts.ipRoute);
    parsed.routes.forEach((r, i) => {
      const line = parsed.lines[i] ?? 0;
      const devs = [r.dev, ...(r.nexthops ?? []).map((h) => h.dev)].filter((d): d is string => d !== null);
      const gone = devs.find((d) => !ns.devices.has(dev(d)));
      if (gone) return warn('ipRoute', line, missing(gone));
      const route: Route = {
        ...r,
        dev: r.dev === null ? null : dev(r.dev),
        ...(r.nexthops ? { nexthops: r.nexthops.map((h) => ({ ...h, dev: dev(h.dev) })) } : {}),
      };
      if (route.table === 'local') {
        anyLocal = true;
        local.add(route);
      } else main.add(route);
    });
    ns.main = main;
    // `ip route` shows only main; the local table (the node's own addresses) is replaced only when given.
    if (anyLocal) ns.local = local;
  }

  if (texts.ipNeigh !== null) {
    const stat = new Map<string, Map<Ip, NeighEntry>>();
    const learned = new Map<string, Map<Ip, LearnedNeigh>>();
    for (const e of parseIpNeigh(texts.ipNeigh).entries) {
      const d = dev(e.dev);
      if (!ns.devices.has(d)) {
        warn('ipNeigh', e.line, missing(e.dev));
        continue;
      }
      if (e.state === 'PERMANENT') put(stat, d, e.ip, { ip: e.ip, mac: e.mac, state: 'PERMANENT' });
      else put(learned, d, e.ip, learnedOf(e));
    }
    ns.neigh.clear();
    for (const [d, t] of stat) ns.neigh.set(d, t);
    ns.pasted = { ...pastedOf(ns), neigh: learned };
  }

  if (texts.bridgeFdb !== null) {
    const vxlan = new Map<string, Map<Mac, Ip>>();
    const bridge = new Map<string, Map<Mac, string>>();
    for (const e of parseBridgeFdb(texts.bridgeFdb).entries) {
      const d = dev(e.dev);
      const device = ns.devices.get(d);
      if (!device) {
        warn('bridgeFdb', e.line, missing(e.dev));
        continue;
      }
      if (e.kind === 'vxlan') {
        if (device.kind !== 'vxlan') warn('bridgeFdb', e.line, `${e.dev} is not a VXLAN device; left out`);
        else put(vxlan, d, e.mac, e.dst);
        continue;
      }
      const master = ns.devices.get(e.master);
      if (!master || master.kind !== 'bridge') {
        warn('bridgeFdb', e.line, `master ${e.master} is not a bridge on ${ns.label}; left out`);
        continue;
      }
      // The bridge's own entry ("MAC dev cni0 master cni0") and its ports' local ones are the kernel's.
      if (d !== e.master) put(bridge, e.master, e.mac, d);
    }
    for (const device of ns.devices.values())
      if (device.kind === 'vxlan')
        (device as { fdb: Map<Mac, Ip> }).fdb = vxlan.get(device.name) ?? new Map();
    ns.pasted = { ...pastedOf(ns), bridgeFdb: bridge };
  }

  if (texts.conntrack !== null)
    ns.pasted = { ...pastedOf(ns), conntrack: parseConntrackList(texts.conntrack).entries };

  if (texts.iptablesSave !== null) {
    // The whole ruleset, as `iptables-restore` (without --noflush) would leave it.
    const parsed = parseIptablesSave(texts.iptablesSave);
    ns.ruleset = parsed.ruleset;
    for (const e of parsed.errors) warn('iptablesSave', e.line, `${e.message} (the rule is left out)`);
  }
  return warnings;
}

function put<K, V>(m: Map<string, Map<K, V>>, key: string, k: K, v: V): void {
  let inner = m.get(key);
  if (!inner) m.set(key, (inner = new Map()));
  inner.set(k, v);
}

function learnedOf(e: NeighLine): LearnedNeigh {
  return { mac: e.mac, state: e.state };
}

function pastedOf(ns: Netns): PastedState {
  return ns.pasted ?? { neigh: new Map(), bridgeFdb: new Map(), conntrack: [] };
}
