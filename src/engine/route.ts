// Routing tables and longest-prefix match, as the kernel's FIB does for IPv4 (net/ipv4/fib_trie.c):
// the `local` table is consulted before `main` (the default policy rules 0 and 32766), the most specific
// prefix wins, and among equal prefixes the lowest metric. No policy routing beyond that, no multipath.
import { cidrContains, formatCidr, ipToInt, maskOf, type Cidr, type Ip } from './addr.ts';

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
  readonly proto: 'kernel' | 'boot' | 'static';
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
