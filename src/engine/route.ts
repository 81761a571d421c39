// Routing tables and longest-prefix match, as the kernel's FIB does for IPv4 (net/ipv4/fib_trie.c):
// the `local` table is consulted before `main` (the default policy rules 0 and 32766), the most specific
// prefix wins, and among equal prefixes the lowest metric. No policy routing beyond that, no multipath.
import {
  AddrError,
  cidrContains,
  formatCidr,
  ipToInt,
  isIp,
  maskOf,
  parseCidr,
  type Cidr,
  type Ip,
} from './addr.ts';
import type { TextProblem } from './nodeState.ts';

export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit';

export interface Route {
  readonly table: 'local' | 'main';
  readonly type: RouteType;
  readonly dst: Cidr;
  readonly gateway: Ip | null;
  readonly dev: string | null;
  /** Preferred source address (`src`), as the kernel sets on connected and local routes. */
  readonly src: Ip | null;
  readonly scope: 'host' | 'link' | 'global';
  /** Who installed it, as iproute2 names it: kernel, boot (the default), static, dhcp, bird, ... */
  readonly proto: string;
  /** The gateway is reachable on `dev` even though no connected route covers it (flannel's VXLAN routes). */
  readonly onlink: boolean;
  readonly metric: number;
  /** Multipath (ECMP): the kernel picks one per flow by a hash of the addresses (fib_multipath_hash). */
  readonly nexthops?: readonly { readonly gateway: Ip; readonly dev: string }[];
}

/** The answer of a lookup: a tagged result rather than null (smoltcp's neighbor::Answer style). */
export type RouteAnswer = { readonly kind: 'found'; readonly route: Route } | { readonly kind: 'noRoute' };

/** One routing table, indexed by prefix length so a lookup costs at most 33 map probes. */
export class RouteTable {
  private readonly byLength = new Map<number, Map<number, Route[]>>();
  private lengths: number[] = [];
  private readonly all: Route[] = [];

  add(route: Route): void {
    let bucket = this.byLength.get(route.dst.prefix);
    if (!bucket) {
      bucket = new Map();
      this.byLength.set(route.dst.prefix, bucket);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    const key = ipToInt(route.dst.ip);
    const list = bucket.get(key);
    if (list) {
      list.push(route);
      list.sort((a, b) => a.metric - b.metric);
    } else bucket.set(key, [route]);
    this.all.push(route);
  }

  lookup(dst: Ip): RouteAnswer {
    const n = ipToInt(dst);
    for (const len of this.lengths) {
      const hit = this.byLength.get(len)?.get((n & maskOf(len)) >>> 0);
      if (hit && hit[0]) return { kind: 'found', route: hit[0] };
    }
    return { kind: 'noRoute' };
  }

  routes(): readonly Route[] {
    return this.all;
  }

  /** Drops every route out of `dev` (a device that is deleted takes its routes with it: fib_sync_down_dev in
   *  net/ipv4/fib_semantics.c); a multipath route goes when one of its nexthops used it. */
  removeDev(dev: string): void {
    const uses = (r: Route): boolean => r.dev === dev || (r.nexthops ?? []).some((h) => h.dev === dev);
    const kept = this.all.filter((r) => !uses(r));
    this.all.length = 0;
    this.byLength.clear();
    this.lengths = [];
    for (const r of kept) this.add(r);
  }
}

/** The reference implementation the property tests compare `lookup` against: scan everything. */
export function bruteForceLookup(routes: readonly Route[], dst: Ip): Route | null {
  let best: Route | null = null;
  for (const r of routes) {
    if (!cidrContains(r.dst, dst)) continue;
    if (
      !best ||
      r.dst.prefix > best.dst.prefix ||
      (r.dst.prefix === best.dst.prefix && r.metric < best.metric)
    )
      best = r;
  }
  return best;
}

/** The route as `ip route show table <t>` prints it. */
export function formatRoute(r: Route): string {
  const dst = r.dst.prefix === 0 ? 'default' : r.dst.prefix === 32 ? r.dst.ip : formatCidr(r.dst);
  const parts: string[] = [];
  if (r.type !== 'unicast') parts.push(r.type);
  parts.push(dst);
  if (r.gateway) parts.push('via', r.gateway);
  if (r.dev) parts.push('dev', r.dev);
  if (r.proto !== 'boot') parts.push('proto', r.proto); // iproute2 hides the default 'boot'
  if (r.scope !== 'global') parts.push('scope', r.scope);
  if (r.src) parts.push('src', r.src);
  if (r.metric) parts.push('metric', String(r.metric));
  for (const h of r.nexthops ?? []) parts.push('nexthop', 'via', h.gateway, 'dev', h.dev, 'weight', '1');
  if (r.onlink) parts.push('onlink');
  return parts.join(' ');
}

// ───────────────────────────── `ip route` text ─────────────────────────────

const ROUTE_TYPES: readonly RouteType[] = [
  'unicast',
  'local',
  'broadcast',
  'blackhole',
  'unreachable',
  'prohibit',
];
/** Types iproute2 prints that the FIB model has no behaviour for. */
const OTHER_TYPES = ['multicast', 'throw', 'nat', 'anycast'];
/** Attributes `ip route` may print that do not change which route is chosen or where it sends (with the
 *  number of words that follow each). */
const IGNORED: Readonly<Record<string, number>> = {
  pref: 1,
  expires: 1,
  mtu: 1,
  advmss: 1,
  rtt: 1,
  rttvar: 1,
  reordering: 1,
  window: 1,
  cwnd: 1,
  initcwnd: 1,
  initrwnd: 1,
  ssthresh: 1,
  realms: 1,
  realm: 1,
  rto_min: 1,
  hoplimit: 1,
  quickack: 1,
  congctl: 1,
  fastopen_no_cookie: 1,
  features: 1,
  nhid: 1,
  tos: 1,
  dsfield: 1,
  linkdown: 0,
  dead: 0,
  pervasive: 0,
  offload: 0,
  trap: 0,
  rt_offload: 0,
  rt_trap: 0,
  notify: 0,
  cache: 0,
  lock: 0,
};

/**
 * Reads what `ip route` (or `ip route show table all`, `ip -4 route`) prints: one route per line, multipath
 * routes with their `nexthop` lines. Routes of the local and main tables are kept; other tables, IPv6 and
 * types without behaviour here (multicast, throw, ...) are left out with a warning; anything unreadable is an
 * error naming the line.
 */
export function parseIpRoute(text: string): {
  routes: Route[];
  /** The line of each route (a multipath route's first line). */
  lines: number[];
  problems: TextProblem[];
} {
  const routes: Route[] = [];
  const lines: number[] = [];
  const problems: TextProblem[] = [];
  let last: { route: Route; line: number } | null = null;
  const flushMultipath = () => {
    const head: { route: Route; line: number } | null = last;
    last = null;
    if (!head) return;
    if (!head.route.nexthops?.length)
      problems.push({
        line: head.line,
        message: 'a route needs a dev, a via or nexthop lines',
        severity: 'error',
      });
    else {
      routes.push(head.route);
      lines.push(head.line);
    }
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const words = raw
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    const error = (message: string) => problems.push({ line, message, severity: 'error' });
    const warn = (message: string) => problems.push({ line, message, severity: 'warning' });
    if (words.length === 0 || words[0]!.startsWith('#')) return;
    if (words[0] === 'nexthop') {
      if (!last) return error('"nexthop" without a route before it');
      const hop = readNexthop(words.slice(1));
      if (typeof hop === 'string') return error(hop);
      const prev: Route = last.route;
      last.route = { ...prev, nexthops: [...(prev.nexthops ?? []), hop] };
      return;
    }
    flushMultipath();
    const parsed = readRoute(words);
    if (parsed.kind === 'error') return error(parsed.message);
    if (parsed.kind === 'skip') return warn(parsed.message);
    // A route with no dev and no gateway is the head of a multipath route: its nexthops follow.
    if (parsed.route.type === 'unicast' && !parsed.route.dev && !parsed.route.gateway) {
      last = { route: parsed.route, line };
      return;
    }
    routes.push(parsed.route);
    lines.push(line);
  });
  flushMultipath();
  return { routes, lines, problems };
}

function readNexthop(words: readonly string[]): { gateway: Ip; dev: string } | string {
  let gateway: Ip | null = null;
  let dev: string | null = null;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const v = words[i + 1];
    if (w === 'via') {
      if (!v || !isIp(v)) return `nexthop via "${v ?? ''}": not an IPv4 address`;
      gateway = v;
      i++;
    } else if (w === 'dev') {
      if (!v) return 'nexthop dev: missing device name';
      dev = v;
      i++;
    } else if (w === 'weight') i++;
    else if (w === 'onlink' || w === 'dead' || w === 'linkdown' || w === 'pervasive') continue;
    else return `nexthop: unknown keyword "${w}"`;
  }
  if (!gateway || !dev) return 'nexthop needs "via ADDRESS dev DEVICE"';
  return { gateway, dev };
}

type ReadRoute =
  { kind: 'route'; route: Route } | { kind: 'skip'; message: string } | { kind: 'error'; message: string };

function readRoute(words: readonly string[]): ReadRoute {
  let i = 0;
  let type: RouteType = 'unicast';
  const first = words[0]!;
  if ((ROUTE_TYPES as readonly string[]).includes(first)) {
    type = first as RouteType;
    i++;
  } else if (OTHER_TYPES.includes(first)) {
    return { kind: 'skip', message: `${first} routes are not modelled; left out` };
  } else if (first !== 'default' && !/^[0-9a-fA-F:.]+(\/\d+)?$/.test(first)) {
    return { kind: 'error', message: `unknown route type "${first}"` };
  }
  const dstText = words[i++];
  if (dstText === undefined) return { kind: 'error', message: 'missing destination' };
  if (dstText.includes(':')) return { kind: 'skip', message: 'IPv6 routes are not modelled; left out' };
  let dst: Cidr;
  try {
    dst =
      dstText === 'default'
        ? { ip: '0.0.0.0', prefix: 0 }
        : parseCidr(dstText.includes('/') ? dstText : `${dstText}/32`, true);
  } catch (e) {
    return {
      kind: 'error',
      message: e instanceof AddrError ? e.message : `"${dstText}" is not a destination`,
    };
  }
  let table: 'local' | 'main' = type === 'local' || type === 'broadcast' ? 'local' : 'main';
  let gateway: Ip | null = null;
  let dev: string | null = null;
  let src: Ip | null = null;
  let scope: Route['scope'] | null = null;
  let proto = 'boot';
  let metric = 0;
  let onlink = false;
  for (; i < words.length; i++) {
    const w = words[i]!;
    const v = words[i + 1];
    const need = (what: string): string | null => (v === undefined ? `${w}: missing ${what}` : null);
    switch (w) {
      case 'via': {
        if (need('address')) return { kind: 'error', message: need('address')! };
        const addr = v === 'inet' ? words[++i + 1] : v;
        if (!addr || !isIp(addr)) {
          if (addr?.includes(':'))
            return { kind: 'skip', message: 'IPv6 gateways are not modelled; left out' };
          return { kind: 'error', message: `via "${addr ?? ''}": not an IPv4 address` };
        }
        gateway = addr;
        i++;
        break;
      }
      case 'dev':
        if (need('device name')) return { kind: 'error', message: need('device name')! };
        dev = v!;
        i++;
        break;
      case 'src':
        if (!v || !isIp(v)) return { kind: 'error', message: `src "${v ?? ''}": not an IPv4 address` };
        src = v;
        i++;
        break;
      case 'proto':
      case 'protocol':
        if (need('protocol')) return { kind: 'error', message: need('protocol')! };
        proto = v!;
        i++;
        break;
      case 'scope':
        if (v === 'host' || v === 'link' || v === 'global') scope = v;
        else if (v === 'universe') scope = 'global';
        else return { kind: 'error', message: `scope "${v ?? ''}": expected host, link or global` };
        i++;
        break;
      case 'metric':
      case 'preference':
      case 'priority':
        if (!v || !/^\d+$/.test(v)) return { kind: 'error', message: `${w} "${v ?? ''}": not a number` };
        metric = Number(v);
        i++;
        break;
      case 'table':
        if (v === 'main' || v === '254') table = 'main';
        else if (v === 'local' || v === '255') table = 'local';
        else
          return {
            kind: 'skip',
            message: `table ${v ?? '?'} is not modelled (only main and local); left out`,
          };
        i++;
        break;
      case 'onlink':
        onlink = true;
        break;
      default:
        if (w in IGNORED) {
          // `mtu lock 1400`: the lock word comes before the value.
          if (words[i + 1] === 'lock') i++;
          i += IGNORED[w]!;
          break;
        }
        return { kind: 'error', message: `unknown keyword "${w}"` };
    }
  }
  const route: Route = {
    table,
    type,
    dst,
    gateway,
    dev,
    src,
    scope:
      scope ??
      (type === 'local'
        ? 'host'
        : type === 'broadcast' || (type === 'unicast' && !gateway && dev)
          ? 'link'
          : 'global'),
    proto,
    onlink,
    metric,
  };
  return { kind: 'route', route };
}
