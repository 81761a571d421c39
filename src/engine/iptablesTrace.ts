// `packet-walk iptables-trace`: one packet through a node's netfilter tables without the rest of the walk —
// for a scenario's node, or for a pasted `iptables-save` of a real node. The hook order is the kernel's
// (netfilter.ts HOOK_TABLES): PREROUTING (DNAT may change the destination), then INPUT when the destination
// is one of the node's addresses, else FORWARD and POSTROUTING. With `allBranches`, every outcome of the
// `-m statistic` choices is followed, so every endpoint a random choice could reach is listed with its
// probability.
import type { Ip } from './addr.ts';
import {
  HOOK_TABLES,
  evaluateTable,
  type AddrType,
  type Hook,
  type PacketView,
  type RuleStep,
  type Ruleset,
  type TableResult,
} from './netfilter.ts';

export interface IptablesTracePacket {
  readonly src: Ip;
  readonly dst: Ip;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly sport: number | null;
  readonly dport: number | null;
  /** The interface it arrives on. */
  readonly inIface: string;
}

export interface IptablesTraceOptions {
  /** Which addresses are the node's own (addrtype LOCAL, and INPUT versus FORWARD). */
  readonly isLocal: (ip: Ip) => boolean;
  /** The interface a forwarded packet to `dst` leaves by ('' when unknown): the node's route lookup. */
  readonly routeOut: (dst: Ip) => string;
  /** The source address MASQUERADE would pick on the out interface (null when unknown). */
  readonly masqueradeSource: (outIface: string) => Ip | null;
}

export interface TableVisit {
  readonly hook: Hook;
  readonly table: string;
  readonly result: TableResult;
}

export interface IptablesTraceBranch {
  /** The product of the statistic probabilities along this branch. */
  readonly probability: number;
  readonly visits: readonly TableVisit[];
  readonly verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  /** Where the packet goes after netfilter: to a local socket, or forwarded. */
  readonly path: 'INPUT' | 'FORWARD';
  readonly dnat: string | null;
  readonly snat: string | null;
  /** The packet as it leaves the last hook. */
  readonly packet: {
    readonly src: Ip;
    readonly dst: Ip;
    readonly sport: number | null;
    readonly dport: number | null;
  };
}

/** At most this many branches are followed (a chain of n statistic rules has n branches, not 2^n, in
 *  kube-proxy's layout; the cap only guards against pathological rulesets). */
const MAX_BRANCHES = 1000;

/**
 * Traces the packet. With `allBranches` false, statistic matches are decided by `random` (seeded by the
 * caller); with true, every branch is followed and returned.
 */
export function traceIptables(
  ruleset: Ruleset,
  pkt: IptablesTracePacket,
  opts: IptablesTraceOptions,
  mode: { allBranches: true } | { allBranches: false; random: () => number },
): IptablesTraceBranch[] {
  const out: IptablesTraceBranch[] = [];
  // A branch is a prescribed sequence of statistic outcomes; unexplored alternatives are queued.
  const queue: boolean[][] = [[]];
  while (queue.length > 0 && out.length < MAX_BRANCHES) {
    const prescribed = queue.shift()!;
    let depth = 0;
    let probability = 1;
    const choose = (_rule: unknown, p: number): { roll: number; taken: boolean } => {
      if (!mode.allBranches) {
        const roll = mode.random();
        return { roll, taken: roll < p };
      }
      let taken = prescribed[depth];
      if (taken === undefined) {
        taken = true;
        queue.push([...prescribed.slice(0, depth), false]);
        prescribed.push(true);
      }
      depth++;
      probability *= taken ? p : 1 - p;
      return { roll: taken ? 0 : 1, taken };
    };
    out.push({ ...runOnce(ruleset, pkt, opts, choose), probability });
  }
  return out;
}

function runOnce(
  ruleset: Ruleset,
  pkt: IptablesTracePacket,
  opts: IptablesTraceOptions,
  choose: (rule: never, p: number) => { roll: number; taken: boolean },
): Omit<IptablesTraceBranch, 'probability'> {
  let src = pkt.src;
  let dst = pkt.dst;
  let sport = pkt.sport;
  let dport = pkt.dport;
  let mark = 0;
  let dnat: string | null = null;
  let snat: string | null = null;
  const visits: TableVisit[] = [];
  const addrType = (ip: Ip): AddrType => (opts.isLocal(ip) ? 'LOCAL' : 'UNICAST');
  const view = (inIface: string, outIface: string): PacketView => ({
    src,
    dst,
    proto: pkt.proto,
    sport,
    dport,
    inIface,
    outIface,
    mark,
    ctstate: dnat ? ['NEW', 'DNAT'] : ['NEW'],
    addrType,
    recentSeen: () => false,
  });
  const hook = (h: Hook, inIface: string, outIface: string): 'ACCEPT' | 'DROP' | 'REJECT' => {
    for (const table of HOOK_TABLES[h]) {
      if (!ruleset.get(table)?.get(h)) continue;
      const r = evaluateTable(ruleset, table, h, view(inIface, outIface), choose as never);
      visits.push({ hook: h, table, result: r });
      mark = r.mark;
      if (r.verdict !== 'ACCEPT') return r.verdict;
      if (r.nat?.kind === 'DNAT') {
        dnat = `${r.nat.ip}${r.nat.port !== null ? `:${r.nat.port}` : ''}`;
        dst = r.nat.ip;
        if (r.nat.port !== null) dport = r.nat.port;
      } else if (r.nat?.kind === 'SNAT') {
        snat = `${r.nat.ip}${r.nat.port !== null ? `:${r.nat.port}` : ''}`;
        src = r.nat.ip;
        if (r.nat.port !== null) sport = r.nat.port;
      } else if (r.nat?.kind === 'MASQUERADE') {
        const ip = opts.masqueradeSource(outIface);
        snat = `MASQUERADE${ip ? ` to ${ip}` : ' (to the out interface address)'}${r.nat.randomFully ? ', random port' : ''}`;
        if (ip) src = ip;
      }
    }
    return 'ACCEPT';
  };
  const done = (verdict: 'ACCEPT' | 'DROP' | 'REJECT', path: 'INPUT' | 'FORWARD') => ({
    visits,
    verdict,
    path,
    dnat,
    snat,
    packet: { src, dst, sport, dport },
  });
  let v = hook('PREROUTING', pkt.inIface, '');
  if (v !== 'ACCEPT') return done(v, opts.isLocal(dst) ? 'INPUT' : 'FORWARD');
  if (opts.isLocal(dst)) {
    v = hook('INPUT', pkt.inIface, '');
    return done(v, 'INPUT');
  }
  const out = opts.routeOut(dst);
  v = hook('FORWARD', pkt.inIface, out);
  if (v === 'ACCEPT') v = hook('POSTROUTING', '', out);
  return done(v, 'FORWARD');
}

/** One step as a line: `nat PREROUTING  KUBE-SERVICES #3  -A KUBE-SERVICES ... -j KUBE-SVC-...  → JUMP`. */
export function formatRuleStep(hook: Hook, table: string, s: RuleStep): string {
  const where = `${table} ${hook}`.padEnd(18);
  const pos = s.index >= 0 ? `#${s.index + 1}` : s.rule.startsWith('-P') ? 'policy' : 'end';
  const roll = s.random
    ? ` (probability ${s.random.probability}, ${s.random.taken ? 'taken' : 'not taken'})`
    : '';
  return `${where} ${`${s.chain} ${pos}`.padEnd(34)} ${s.rule}  → ${s.action}${roll}`;
}
