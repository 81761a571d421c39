// Netfilter: tables, chains and rules as data, and their evaluation, as iptables (nft backend) runs them.
// The rule text format is iptables-save's (iptables.ts parses and prints it); what kube-proxy, kubelet and
// CNIs write is loaded through it, so a pasted `iptables-save` of a real node is walked the same way.
//
// Hook order for one packet (net/netfilter/core.c, priorities in include/uapi/linux/netfilter_ipv4.h):
//
//   PREROUTING:  raw (-300) → conntrack (-200) → mangle (-150) → nat DNAT (-100)
//   INPUT:       mangle (-150) → filter (0) → nat SNAT (100) → conntrack confirm
//   FORWARD:     mangle (-150) → filter (0)
//   OUTPUT:      raw (-300) → conntrack (-200) → mangle (-150) → nat DNAT (-100) → filter (0)
//   POSTROUTING: mangle (-150) → nat SNAT (100) → conntrack confirm
//
// The nat table is consulted only for the first packet of a connection (ctstate NEW); later packets and
// replies are translated by conntrack (conntrack.ts), not by rules.
//
// One table traversal (evaluateTable) follows ipt_do_table (net/ipv4/netfilter/ip_tables.c) and
// nft_do_chain (net/netfilter/nf_tables_core.c):
//
//   built-in chain ──rule──rule──rule── … ── policy
//                          │ -j X (push)            ▲ RETURN / end of X (pop; at the built-in chain: policy)
//                          ▼                        │
//                   chain X ──rule──rule── … ───────┘
//                          │ -g Y (replace: Y returns to X's caller)
//
// Per rule: the IP header part first (-s, -d, -i, -o, -p: ip_packet_match), then the -m matches in order;
// the first failing match ends the rule. ACCEPT, DROP, REJECT and the NAT targets end the traversal of the
// table; MARK and a rule without a target continue. What the engine does not model (an unknown match or
// target, a jump to a missing chain, a loop) stops the traversal with DROP and a step that says so: a walk is
// never silently wrong.
//
// Not modelled: IPv6 (ip6tables), -f fragments, address lists, the per-interface address type of
// addrtype --limit-iface-in/out unless the PacketView provides addrTypeOn, -m recent --remove, --rdest for
// --set/--update, --hitcount, and every match or target iptables.ts parses as `unknown`. ipsets (-m set) are
// data the caller owns (ipvs.ts): a view without PacketView.ipsetMatch stops at a -m set match, as before.
import { ipToInt, maskOf, type Cidr, type Ip } from './addr.ts';

export type Table = 'raw' | 'mangle' | 'nat' | 'filter';
export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** The tables each hook runs, in priority order. */
export const HOOK_TABLES: Readonly<Record<Hook, readonly Table[]>> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'nat'],
  FORWARD: ['mangle', 'filter'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter'],
  POSTROUTING: ['mangle', 'nat'],
};

/** The tables, in the order iptables-save prints a fresh node's (raw, mangle, nat, filter are all legal). */
export const TABLES: readonly Table[] = ['raw', 'mangle', 'nat', 'filter'];

/** The built-in chains of each table, in iptables-save's order (the hooks whose HOOK_TABLES list the table). */
export const BUILTIN_CHAINS: Readonly<Record<Table, readonly Hook[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/**
 * How deep jumps may nest: 16, the nft backend's NFT_JUMP_STACK_SIZE (include/net/netfilter/nf_tables.h),
 * which iptables-nft rulesets run under (gVisor's iptables uses the same bound). The 17th nested jump is an
 * error: the kernel refuses to load such a ruleset, so evaluation stops with DROP and says why.
 */
export const MAX_JUMP_DEPTH = 16;

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED' | 'SNAT' | 'DNAT';
export type AddrType =
  'LOCAL' | 'UNICAST' | 'BROADCAST' | 'MULTICAST' | 'BLACKHOLE' | 'UNREACHABLE' | 'PROHIBIT';

/** One match of a rule. `negate` is iptables' `!`. */
export type Match =
  | { readonly kind: 'src'; readonly cidr: Cidr; readonly negate: boolean }
  | { readonly kind: 'dst'; readonly cidr: Cidr; readonly negate: boolean }
  | { readonly kind: 'proto'; readonly proto: 'tcp' | 'udp' | 'icmp' | 'sctp'; readonly negate: boolean }
  | { readonly kind: 'sport' | 'dport'; readonly from: number; readonly to: number; readonly negate: boolean }
  /** -m multiport --dports/--sports a,b:c */
  | {
      readonly kind: 'multiport';
      readonly dir: 'src' | 'dst' | 'any';
      readonly ranges: readonly (readonly [number, number])[];
      readonly negate: boolean;
    }
  /** -i / -o, with iptables' trailing '+' wildcard. */
  | { readonly kind: 'in' | 'out'; readonly iface: string; readonly negate: boolean }
  | { readonly kind: 'comment'; readonly text: string }
  | {
      readonly kind: 'addrtype';
      readonly src: AddrType | null;
      readonly srcNegate: boolean;
      readonly dst: AddrType | null;
      readonly dstNegate: boolean;
      readonly limitIfaceIn: boolean;
      readonly limitIfaceOut: boolean;
    }
  | { readonly kind: 'mark'; readonly value: number; readonly mask: number; readonly negate: boolean }
  /** -m conntrack --ctstate (and -m state --state, which is the same test). */
  | { readonly kind: 'conntrack'; readonly ctstate: readonly CtState[]; readonly negate: boolean }
  /** -m statistic --mode random --probability p */
  | { readonly kind: 'statistic'; readonly probability: number; readonly negate: boolean }
  /** -m recent (kube-proxy's sessionAffinity: --set / --rcheck --seconds N --reap, with --name and --mask). */
  | {
      readonly kind: 'recent';
      readonly op: 'set' | 'rcheck' | 'update' | 'remove';
      readonly name: string;
      readonly seconds: number | null;
      readonly rsource: boolean;
      readonly negate: boolean;
    }
  /** -m nfacct --nfacct-name: counts, always matches. */
  | { readonly kind: 'nfacct'; readonly name: string }
  /**
   * -m set [!] --match-set NAME src,dst,… (xt_set): is the packet in the ipset? Each flag picks the source or
   * the destination side of the packet for one dimension of the set, in order (`dst,dst` on a hash:ip,port set:
   * destination address, destination port). Evaluated through PacketView.ipsetMatch.
   */
  | {
      readonly kind: 'set';
      readonly name: string;
      readonly flags: readonly ('src' | 'dst')[];
      readonly negate: boolean;
    }
  /** A match the engine does not model: kept as text; evaluating it is an error stated in the trace. */
  | { readonly kind: 'unknown'; readonly text: string };

export type Target =
  | { readonly kind: 'ACCEPT' | 'DROP' | 'RETURN' }
  | { readonly kind: 'REJECT'; readonly with: string | null }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string }
  /**
   * xt_MARK. `op` is how the rule was written. For 'set-xmark', mark = (mark & ~mask) ^ value (--set-mark v/m
   * is parsed as set-xmark v/(m|v), as libxt_MARK does). For 'or', 'xor' and 'and', `value` is the operand
   * (mark | value, mark ^ value, mark & value) and `mask` is not used (0xffffffff).
   */
  | {
      readonly kind: 'MARK';
      readonly op: 'set-xmark' | 'or' | 'xor' | 'and';
      readonly value: number;
      readonly mask: number;
    }
  | { readonly kind: 'DNAT'; readonly ip: Ip; readonly port: number | null }
  | { readonly kind: 'SNAT'; readonly ip: Ip; readonly port: number | null; readonly randomFully: boolean }
  /** MASQUERADE [--to-ports from[-to]] [--random-fully]. */
  | {
      readonly kind: 'MASQUERADE';
      readonly randomFully: boolean;
      readonly toPorts?: { readonly from: number; readonly to: number };
    }
  /** No -j: the rule only counts. */
  | { readonly kind: 'none' }
  | { readonly kind: 'unknown'; readonly text: string };

export interface Rule {
  readonly matches: readonly Match[];
  readonly target: Target;
  /** The rule as iptables-save prints it, e.g. `-A KUBE-SERVICES -m comment ... -j KUBE-SVC-XPGD46QRK7WJZT7O`. */
  readonly text: string;
}

export interface Chain {
  readonly name: string;
  /** Built-in chains have a policy; user chains have none (null). */
  readonly policy: 'ACCEPT' | 'DROP' | null;
  readonly rules: Rule[];
  /** The `[packets:bytes]` of the chain's declaration line; absent means [0:0]. */
  readonly counters?: { readonly packets: number; readonly bytes: number };
  /**
   * iptables-restore input only: the chain is deleted (`-X NAME`, as kube-proxy writes for stale chains after
   * declaring them). Evaluation treats a deleted chain as absent; formatting prints the `-X` line.
   */
  readonly deleted?: boolean;
}

/** One namespace's rules: table → chain name → chain. */
export type Ruleset = Map<Table, Map<string, Chain>>;

/** What a rule can see of the packet and of the namespace. */
export interface PacketView {
  readonly src: Ip;
  readonly dst: Ip;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly sport: number | null;
  readonly dport: number | null;
  /** Input and output interface names ('' where the hook has none). */
  readonly inIface: string;
  readonly outIface: string;
  readonly mark: number;
  /** The conntrack states the packet has (e.g. ['NEW'] or ['ESTABLISHED', 'DNAT']). */
  readonly ctstate: readonly CtState[];
  /** The address type of an address in this namespace (addrtype's LOCAL is "one of ours"). */
  addrType(ip: Ip): AddrType;
  /**
   * Optional: the address type as seen through one interface, for addrtype --limit-iface-in/out (the
   * kernel's inet_dev_addr_type: LOCAL only if the address is on that interface). Without it, the limit is
   * approximated by addrType (any local address counts as LOCAL).
   */
  addrTypeOn?(ip: Ip, iface: string): AddrType;
  /** For -m recent --rcheck: was the source address set in list `name` within `seconds` (null = ever)? */
  recentSeen(name: string, ip: Ip, seconds: number | null): boolean;
  /**
   * Optional: ipset membership for -m set (ipvs.ts ipsetMatcher implements it over a node's sets).
   * `values[i]` is what the match's i-th flag selects of the packet: that side's address and port, written
   * `addr,proto:port` (e.g. `10.96.0.10,udp:53`), or `addr,icmp` for ICMP (whose type and code this view does
   * not carry, so a port dimension never matches it). The set's type decides which part each dimension uses.
   * Without it a -m set match stops the traversal as not modelled, as it did before ipsets were modelled.
   */
  ipsetMatch?(name: string, values: readonly string[]): boolean;
}

/** One step of a traversal, for the trace. */
export interface RuleStep {
  readonly table: Table;
  readonly chain: string;
  /** 0-based position of the rule in its chain; -1 for the chain's policy (or the implicit end of a user chain). */
  readonly index: number;
  /** The rule's iptables-save line; `-P CHAIN POLICY` for a policy; '' for the end of a user chain. */
  readonly rule: string;
  /** What happened: the target taken, or 'policy ACCEPT', 'RETURN', 'end of chain'. */
  readonly action: string;
  /** For a statistic match: the probability, and whether the walk's random draw took the branch. */
  readonly random: { readonly probability: number; readonly roll: number; readonly taken: boolean } | null;
}

export interface TableResult {
  readonly verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  readonly rejectWith: string | null;
  /** The NAT a matched DNAT/SNAT/MASQUERADE target asks for (nat table only). */
  readonly nat:
    | { readonly kind: 'DNAT'; readonly ip: Ip; readonly port: number | null }
    | { readonly kind: 'SNAT'; readonly ip: Ip; readonly port: number | null; readonly randomFully: boolean }
    | {
        readonly kind: 'MASQUERADE';
        readonly randomFully: boolean;
        readonly toPorts?: { readonly from: number; readonly to: number };
      }
    | null;
  /** The packet mark after MARK targets. */
  readonly mark: number;
  /** -m recent --set lists the packet was added to. */
  readonly recentSet: readonly string[];
  /** Matched rules and chain transitions, in order (not every rule evaluated: see `evaluated`). */
  readonly steps: readonly RuleStep[];
  /** How many rules the kernel evaluated (matched or not) — the linear cost ipvs and nftables avoid. */
  readonly evaluated: number;
  /**
   * Set when the traversal stopped on something the engine does not model or the kernel would not load
   * (unknown match or target, missing chain, jump loop, jumps nested too deep); the verdict is then DROP.
   */
  readonly error?: string;
}

/** The caller's random draw for a statistic match: the roll in [0, 1) and whether the branch is taken. */
export type Choose = (rule: Rule, probability: number) => { roll: number; taken: boolean };

export interface EvaluateOptions {
  /**
   * 'auto' (default) uses the chain index where it pays (long chains of "-d ip -p proto --dport n" rules);
   * 'always' and 'never' force it on or off (tests compare the two).
   */
  readonly index?: 'auto' | 'always' | 'never';
}

// ---------------------------------------------------------------------------------------------------------
// The chain index.
//
// kube-proxy's KUBE-SERVICES (and KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES, KUBE-PROXY-FIREWALL) hold one rule
// per Service port, each of the form "-d <ip>/32 -p <proto> --dport <n>" (or, for node ports, without -d).
// The kernel tests them one by one. The index finds the next rule that can match without testing the others,
// and counts the skipped rules as evaluated — they are exactly the rules a linear scan would test and find
// not matching. A rule is keyed only if it has no side effects when tested (no statistic roll, no recent
// list, nothing unknown): skipping it is then unobservable.

/** Chains shorter than this are scanned linearly in 'auto' mode. */
const INDEX_MIN_RULES = 16;

interface ChainIndex {
  readonly rules: readonly Rule[];
  readonly length: number;
  readonly last: Rule | undefined;
  /** "dst/proto/dport" → rule positions (ascending), for rules with -d a.b.c.d/32. */
  readonly full: Map<string, number[]>;
  /** "proto/dport" → rule positions, for keyed rules without an exact destination. */
  readonly port: Map<string, number[]>;
  /** Every other rule: always a candidate. */
  readonly wild: number[];
  /** At least half of the rules are keyed. */
  readonly useful: boolean;
}

const INDEXES = new WeakMap<Chain, ChainIndex>();

function ruleKey(rule: Rule): { kind: 'full' | 'port'; key: string } | null {
  let dst: number | null = null;
  let proto: string | null = null;
  let dport: number | null = null;
  for (const m of rule.matches) {
    switch (m.kind) {
      case 'dst':
        if (!m.negate && m.cidr.prefix === 32 && dst === null) dst = ipToInt(m.cidr.ip);
        break;
      case 'proto':
        if (!m.negate) proto = m.proto;
        break;
      case 'dport':
        if (!m.negate && m.from === m.to && dport === null) dport = m.from;
        break;
      case 'statistic':
      case 'recent':
      case 'unknown':
        return null;
      default:
        break;
    }
  }
  if (proto === null || dport === null || proto === 'icmp') return null;
  return dst === null
    ? { kind: 'port', key: `${proto}/${dport}` }
    : { kind: 'full', key: `${dst}/${proto}/${dport}` };
}

function chainIndex(chain: Chain): ChainIndex {
  const rules = chain.rules;
  const have = INDEXES.get(chain);
  if (have && have.rules === rules && have.length === rules.length && have.last === rules[rules.length - 1])
    return have;
  const full = new Map<string, number[]>();
  const port = new Map<string, number[]>();
  const wild: number[] = [];
  rules.forEach((rule, i) => {
    const k = ruleKey(rule);
    if (!k) return wild.push(i);
    const map = k.kind === 'full' ? full : port;
    const list = map.get(k.key);
    if (list) list.push(i);
    else map.set(k.key, [i]);
  });
  const ix: ChainIndex = {
    rules,
    length: rules.length,
    last: rules[rules.length - 1],
    full,
    port,
    wild,
    useful: wild.length * 2 <= rules.length,
  };
  INDEXES.set(chain, ix);
  return ix;
}

/** The first position ≥ from in an ascending list, or Infinity. */
function nextIn(list: readonly number[] | undefined, from: number): number {
  if (!list) return Infinity;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < list.length ? list[lo]! : Infinity;
}

/** The packet's keys for the index (null when it has no destination port: only wild rules can match). */
function packetKeys(pkt: PacketView): { full: string; port: string } | null {
  if (pkt.dport === null || pkt.proto === 'icmp') return null;
  return { full: `${ipToInt(pkt.dst)}/${pkt.proto}/${pkt.dport}`, port: `${pkt.proto}/${pkt.dport}` };
}

// ---------------------------------------------------------------------------------------------------------
// Matches.

function inCidr(c: Cidr, ip: Ip): boolean {
  return (ipToInt(ip) & maskOf(c.prefix)) >>> 0 === ipToInt(c.ip);
}

/** iptables' interface match: exact, or a prefix with a trailing '+' (net/ipv4/netfilter/ip_tables.c). */
export function ifaceMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

function portIn(port: number | null, from: number, to: number): boolean {
  return port !== null && port >= from && port <= to;
}

const HEADER_KINDS: ReadonlySet<Match['kind']> = new Set(['src', 'dst', 'in', 'out', 'proto']);

/** The state of one traversal. */
interface Run {
  readonly table: Table;
  readonly pkt: PacketView;
  readonly choose: Choose;
  mark: number;
  evaluated: number;
  readonly steps: RuleStep[];
  readonly recentSet: string[];
}

type RuleOutcome =
  | { readonly kind: 'match'; readonly random: RuleStep['random'] }
  | { readonly kind: 'nomatch'; readonly random: RuleStep['random'] }
  | { readonly kind: 'stop'; readonly reason: string };

/** True iff `m` matches; or the reason evaluation must stop. Side effects: statistic rolls, recent --set. */
function testMatch(
  run: Run,
  rule: Rule,
  m: Match,
  rolled: { random: RuleStep['random'] },
): boolean | { stop: string } {
  const pkt = run.pkt;
  switch (m.kind) {
    case 'src':
      return inCidr(m.cidr, pkt.src) !== m.negate;
    case 'dst':
      return inCidr(m.cidr, pkt.dst) !== m.negate;
    case 'proto':
      return (pkt.proto === m.proto) !== m.negate;
    case 'in':
      return ifaceMatches(m.iface, pkt.inIface) !== m.negate;
    case 'out':
      return ifaceMatches(m.iface, pkt.outIface) !== m.negate;
    case 'sport':
    case 'dport': {
      // The tcp/udp/sctp match needs a port; iptables only loads it with the matching -p.
      const port = m.kind === 'sport' ? pkt.sport : pkt.dport;
      return port !== null && portIn(port, m.from, m.to) !== m.negate;
    }
    case 'multiport': {
      if (pkt.sport === null || pkt.dport === null) return false;
      const hit = m.ranges.some(
        ([a, b]) =>
          (m.dir !== 'dst' && portIn(pkt.sport, a, b)) || (m.dir !== 'src' && portIn(pkt.dport, a, b)),
      );
      return hit !== m.negate;
    }
    case 'comment':
    case 'nfacct':
      return true;
    case 'addrtype': {
      const typeOf = (ip: Ip, limit: boolean, iface: string): AddrType =>
        limit && iface !== '' && pkt.addrTypeOn ? pkt.addrTypeOn(ip, iface) : pkt.addrType(ip);
      if (m.src !== null) {
        const t = typeOf(
          pkt.src,
          m.limitIfaceIn || m.limitIfaceOut,
          m.limitIfaceIn ? pkt.inIface : pkt.outIface,
        );
        if ((t === m.src) === m.srcNegate) return false;
      }
      if (m.dst !== null) {
        const t = typeOf(
          pkt.dst,
          m.limitIfaceIn || m.limitIfaceOut,
          m.limitIfaceIn ? pkt.inIface : pkt.outIface,
        );
        if ((t === m.dst) === m.dstNegate) return false;
      }
      return true;
    }
    case 'mark':
      return ((run.mark & m.mask) >>> 0 === m.value >>> 0) !== m.negate;
    case 'conntrack':
      return m.ctstate.some((s) => pkt.ctstate.includes(s)) !== m.negate;
    case 'statistic': {
      const { roll, taken } = run.choose(rule, m.probability);
      rolled.random = { probability: m.probability, roll, taken };
      return taken !== m.negate;
    }
    case 'recent': {
      // xt_recent's recent_mt: --set always adds (and matches unless negated); --rcheck/--update match when
      // the address is in the list (within --seconds); --update refreshes it when found.
      if (m.op === 'remove') return { stop: `not modelled: -m recent --remove --name ${m.name}` };
      if (!m.rsource && m.op !== 'rcheck')
        return { stop: `not modelled: -m recent --${m.op} --rdest --name ${m.name}` };
      if (m.op === 'set') {
        run.recentSet.push(m.name);
        return !m.negate;
      }
      const seen = run.pkt.recentSeen(m.name, m.rsource ? pkt.src : pkt.dst, m.seconds);
      if (m.op === 'update' && seen) run.recentSet.push(m.name);
      return seen !== m.negate;
    }
    case 'set': {
      if (!pkt.ipsetMatch)
        return {
          stop: `not modelled: -m set ${m.negate ? '! ' : ''}--match-set ${m.name} ${m.flags.join(',')}`,
        };
      const values = m.flags.map((f) => {
        const ip = f === 'src' ? pkt.src : pkt.dst;
        const port = f === 'src' ? pkt.sport : pkt.dport;
        return port === null ? `${ip},${pkt.proto}` : `${ip},${pkt.proto}:${port}`;
      });
      return pkt.ipsetMatch(m.name, values) !== m.negate;
    }
    case 'unknown':
      return { stop: `not modelled: ${m.text}` };
  }
}

function testRule(run: Run, rule: Rule): RuleOutcome {
  const rolled: { random: RuleStep['random'] } = { random: null };
  // ip_packet_match first (addresses, interfaces, protocol), then the matches in their order.
  for (let pass = 0; pass < 2; pass++) {
    for (const m of rule.matches) {
      if (HEADER_KINDS.has(m.kind) !== (pass === 0)) continue;
      const r = testMatch(run, rule, m, rolled);
      if (r === false) return { kind: 'nomatch', random: rolled.random };
      if (r !== true) return { kind: 'stop', reason: r.stop };
    }
  }
  return { kind: 'match', random: rolled.random };
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** The new mark after a MARK target (xt_MARK's mark_tg). */
export function applyMark(mark: number, t: Extract<Target, { kind: 'MARK' }>): number {
  switch (t.op) {
    case 'set-xmark':
      return ((mark & ~t.mask) ^ t.value) >>> 0;
    case 'or':
      return (mark | t.value) >>> 0;
    case 'xor':
      return (mark ^ t.value) >>> 0;
    case 'and':
      return (mark & t.value) >>> 0;
  }
}

function markText(t: Extract<Target, { kind: 'MARK' }>): string {
  switch (t.op) {
    case 'set-xmark':
      return `MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    case 'or':
      return `MARK --or-mark ${hex(t.value)}`;
    case 'xor':
      return `MARK --xor-mark ${hex(t.value)}`;
    case 'and':
      return `MARK --and-mark ${hex(t.value)}`;
  }
}

function natText(t: Extract<Target, { kind: 'DNAT' | 'SNAT' | 'MASQUERADE' }>): string {
  switch (t.kind) {
    case 'DNAT':
      return `DNAT --to-destination ${t.ip}${t.port === null ? '' : `:${t.port}`}`;
    case 'SNAT':
      return `SNAT --to-source ${t.ip}${t.port === null ? '' : `:${t.port}`}${t.randomFully ? ' --random-fully' : ''}`;
    case 'MASQUERADE':
      return `MASQUERADE${t.toPorts ? ` --to-ports ${t.toPorts.from}${t.toPorts.to !== t.toPorts.from ? `-${t.toPorts.to}` : ''}` : ''}${t.randomFully ? ' --random-fully' : ''}`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// The traversal.

/**
 * Runs the built-in chain `hook` of `table` for one packet, as the kernel does (see the module header).
 * Preconditions:
 *   - `pkt` is the packet as this table sees it (earlier tables' NAT already applied by the caller);
 *   - `choose` decides statistic matches: it is called once per statistic match reached, in kernel order.
 * An absent table or chain (or a deleted one) accepts with no steps.
 */
export function evaluateTable(
  ruleset: Ruleset,
  table: Table,
  hook: Hook,
  pkt: PacketView,
  choose: Choose,
  options: EvaluateOptions = {},
): TableResult {
  const chains = ruleset.get(table);
  const base = chains?.get(hook);
  if (!chains || !base || base.deleted)
    return {
      verdict: 'ACCEPT',
      rejectWith: null,
      nat: null,
      mark: pkt.mark,
      recentSet: [],
      steps: [],
      evaluated: 0,
    };
  const mode = options.index ?? 'auto';
  const run: Run = { table, pkt, choose, mark: pkt.mark, evaluated: 0, steps: [], recentSet: [] };
  const keys = packetKeys(pkt);
  const step = (
    chain: Chain,
    index: number,
    rule: string,
    action: string,
    random: RuleStep['random'] = null,
  ) => run.steps.push({ table, chain: chain.name, index, rule, action, random });
  const done = (
    verdict: TableResult['verdict'],
    extra: { rejectWith?: string; nat?: TableResult['nat']; error?: string } = {},
  ): TableResult => ({
    verdict,
    rejectWith: extra.rejectWith ?? null,
    nat: extra.nat ?? null,
    mark: run.mark,
    recentSet: run.recentSet,
    steps: run.steps,
    evaluated: run.evaluated,
    ...(extra.error !== undefined ? { error: extra.error } : {}),
  });
  const fail = (chain: Chain, index: number, rule: string, reason: string): TableResult => {
    step(chain, index, rule, `${reason} ⇒ DROP`);
    return done('DROP', { error: reason });
  };
  const policy = (): TableResult => {
    const p = base.policy ?? 'ACCEPT';
    step(base, -1, `-P ${base.name} ${p}`, `policy ${p}`);
    return done(p);
  };

  /** Return positions: the calling chain and the index of the jump rule. */
  const stack: { chain: Chain; index: number; entered: Set<string> }[] = [];
  let cur = base;
  let i = 0;
  /** Chains entered at the current level (the chain jumped to, then each goto): a repeat is a loop. */
  let entered = new Set<string>([base.name]);
  const active = (name: string): boolean => entered.has(name) || stack.some((f) => f.entered.has(name));

  for (;;) {
    const rules = cur.rules;
    let j = i;
    if (i < rules.length && mode !== 'never') {
      const ix = rules.length >= INDEX_MIN_RULES || mode === 'always' ? chainIndex(cur) : null;
      if (ix && (ix.useful || mode === 'always')) {
        const next = Math.min(
          keys ? nextIn(ix.full.get(keys.full), i) : Infinity,
          keys ? nextIn(ix.port.get(keys.port), i) : Infinity,
          nextIn(ix.wild, i),
        );
        j = Math.min(next, rules.length);
      }
    }
    // Rules i..j-1 were skipped by the index: each is tested by the kernel and does not match.
    run.evaluated += j - i;

    if (j >= rules.length) {
      // The end of a chain: an implicit RETURN (the built-in chain's policy rule, for the base chain).
      if (cur === base && stack.length === 0) return policy();
      const caller = stack.pop();
      if (!caller) {
        step(cur, -1, '', 'end of chain, RETURN');
        return policy();
      }
      step(cur, -1, '', `end of chain, RETURN to ${caller.chain.name}`);
      cur = caller.chain;
      i = caller.index + 1;
      entered = caller.entered;
      continue;
    }

    const rule = rules[j]!;
    run.evaluated++;
    const outcome = testRule(run, rule);
    if (outcome.kind === 'stop') return fail(cur, j, rule.text, outcome.reason);
    if (outcome.kind === 'nomatch') {
      if (outcome.random) step(cur, j, rule.text, 'no match (random branch not taken)', outcome.random);
      i = j + 1;
      continue;
    }
    const random = outcome.random;
    const t = rule.target;
    switch (t.kind) {
      case 'ACCEPT':
      case 'DROP':
        step(cur, j, rule.text, t.kind, random);
        return done(t.kind);
      case 'REJECT': {
        const w = t.with ?? 'icmp-port-unreachable';
        step(cur, j, rule.text, `REJECT --reject-with ${w}`, random);
        return done('REJECT', { rejectWith: w });
      }
      case 'RETURN': {
        step(cur, j, rule.text, 'RETURN', random);
        const caller = stack.pop();
        if (!caller) return policy();
        cur = caller.chain;
        i = caller.index + 1;
        entered = caller.entered;
        continue;
      }
      case 'jump':
      case 'goto': {
        const verb = t.kind === 'jump' ? 'JUMP' : 'GOTO';
        const next = chains.get(t.chain);
        if (!next || next.deleted)
          return fail(
            cur,
            j,
            rule.text,
            `not modelled: ${t.kind === 'jump' ? '-j' : '-g'} ${t.chain}: no chain ${t.chain} in the ${table} table (a target the engine does not know, or a chain iptables-restore would refuse)`,
          );
        if (next.policy !== null)
          return fail(
            cur,
            j,
            rule.text,
            `invalid: ${verb} to the built-in chain ${t.chain} (iptables refuses it)`,
          );
        if (active(t.chain))
          return fail(
            cur,
            j,
            rule.text,
            `loop: ${verb} ${t.chain} re-enters a chain already being traversed (the kernel refuses looping rulesets: ELOOP)`,
          );
        if (t.kind === 'jump') {
          if (stack.length >= MAX_JUMP_DEPTH)
            return fail(
              cur,
              j,
              rule.text,
              `jump stack overflow: JUMP ${t.chain} would nest ${MAX_JUMP_DEPTH + 1} chains deep (limit ${MAX_JUMP_DEPTH}, NFT_JUMP_STACK_SIZE)`,
            );
          stack.push({ chain: cur, index: j, entered });
          entered = new Set([t.chain]);
        } else {
          entered.add(t.chain);
        }
        step(cur, j, rule.text, `${verb} ${t.chain}`, random);
        cur = next;
        i = 0;
        continue;
      }
      case 'MARK': {
        const before = run.mark;
        run.mark = applyMark(before, t);
        step(cur, j, rule.text, `${markText(t)} (mark ${hex(before)} → ${hex(run.mark)})`, random);
        i = j + 1;
        continue;
      }
      case 'DNAT':
      case 'SNAT':
      case 'MASQUERADE': {
        step(cur, j, rule.text, natText(t), random);
        const nat: TableResult['nat'] =
          t.kind === 'DNAT'
            ? { kind: 'DNAT', ip: t.ip, port: t.port }
            : t.kind === 'SNAT'
              ? { kind: 'SNAT', ip: t.ip, port: t.port, randomFully: t.randomFully }
              : {
                  kind: 'MASQUERADE',
                  randomFully: t.randomFully,
                  ...(t.toPorts ? { toPorts: t.toPorts } : {}),
                };
        return done('ACCEPT', { nat });
      }
      case 'none':
        step(cur, j, rule.text, 'no target (counted), continue', random);
        i = j + 1;
        continue;
      case 'unknown':
        return fail(cur, j, rule.text, `not modelled: ${t.text}`);
    }
  }
}

/**
 * A short form of a rule for the trace, like `iptables -L`'s: without the `-A CHAIN` prefix, the comment
 * moved to the end as a C comment. E.g. `-p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-… /* ns1/svc1:p80 *\/`.
 */
export function describeRule(rule: Rule): string {
  let text = rule.text.replace(/^-A\s+\S+\s*/, '');
  const comments: string[] = [];
  text = text.replace(
    /(^|\s)-m\s+comment\s+--comment\s+("(?:[^"\\]|\\.)*"|'[^']*'|\S+)/g,
    (_all, lead: string, c: string) => {
      const inner = c.startsWith('"')
        ? c.slice(1, -1).replace(/\\(.)/g, '$1')
        : c.startsWith("'")
          ? c.slice(1, -1)
          : c;
      comments.push(inner);
      return lead;
    },
  );
  text = text.replace(/\s+/g, ' ').trim();
  const tail = comments.map((c) => `/* ${c} */`).join(' ');
  return [text, tail].filter((s) => s !== '').join(' ');
}
