// The netfilter hooks as the IP stack meets them: conntrack lookup and creation, the tables of each hook in
// priority order (netfilter.ts), NAT bound on a connection's first packet and applied by conntrack to every
// later packet in either direction, and the packet mark (skb->mark) that lives while the packet stays in one
// namespace. walk.ts calls runHook at the five hook points; a namespace without rules (a pod) has no hooks.
import {
  formatConntrack,
  rewrite,
  type ConntrackEntry,
  type ConntrackTable,
  type CtLookup,
} from './conntrack.ts';
import {
  HOOK_TABLES,
  evaluateTable,
  type AddrType,
  type CtState,
  type Hook,
  type PacketView,
  type Rule,
  type Table,
} from './netfilter.ts';
import {
  applyIpvsRewrite,
  emptyIpvsState,
  ipsetMatcher,
  ipvsConntrackReply,
  ipvsLocalIn,
  ipvsOut,
  ipvsPacketOf,
  ipvsServiceKey,
  type IpvsState,
} from './ipvs.ts';
import type { IpPacket } from './packet.ts';
import type { Decision } from './trace.ts';
import type { Netns } from './world.ts';

/** What runHook needs from the walk. */
export interface HookContext {
  conntrack(ns: Netns): ConntrackTable;
  decide(ns: Netns, decision: Decision, summary: string, packet: IpPacket): void;
  /** A number in [0, 1) from the walk's seeded generator. */
  random(): number;
  /** A pinned endpoint "ip:port": statistic branches towards other endpoints are not taken. */
  readonly pin: string | null;
  /** The conntrack entry and mark of the packet while it is in a namespace (skb->_nfct, skb->mark). */
  readonly transit: Map<string, Transit>;
  /** IPVS connections and scheduler positions per namespace, for the whole walk (all legs). */
  readonly ipvs: Map<string, IpvsState>;
  /** -m recent lists per namespace: name → source addresses. */
  readonly recent: Map<string, Map<string, Set<string>>>;
}

/** The packet's per-namespace state: skb->_nfct, skb->mark, and skb->ipvs_property (IPVS re-sent it). */
export interface Transit {
  ct: CtLookup | null;
  mark: number;
  preroutingDone: boolean;
  /** IPVS stole the packet and re-sends it through OUTPUT: conntrack keeps its entry, nat OUTPUT and IPVS's
   *  own hooks do not run again (ip_vs_nat_send_or_cont). */
  ipvsProperty: boolean;
}

export type HookOutcome =
  | { readonly kind: 'accept'; readonly packet: IpPacket }
  /** IPVS (LVS-NAT) stole the packet at LOCAL_IN: the walk routes it to the real server and re-sends it
   *  through OUTPUT (nat skipped), POSTROUTING and out (ip_vs_nat_send_or_cont). */
  | { readonly kind: 'ipvs-resend'; readonly packet: IpPacket }
  /** IPVS dropped the packet and answers with an ICMP error (no real server; TTL exceeded). */
  | {
      readonly kind: 'ipvs-icmp';
      readonly type: number;
      readonly code: number;
      readonly verdict: 'unreachable' | 'ttl-exceeded';
      readonly reason: string;
    }
  | { readonly kind: 'drop'; readonly reason: string }
  | { readonly kind: 'reject'; readonly with: string; readonly reason: string };

function transitOf(ctx: HookContext, ns: Netns): Transit {
  let t = ctx.transit.get(ns.id);
  if (!t) ctx.transit.set(ns.id, (t = { ct: null, mark: 0, preroutingDone: false, ipvsProperty: false }));
  return t;
}

/** The packet leaves the namespace: its conntrack reference and mark do not go with it (skb_scrub_packet). */
export function leaveNamespace(ctx: HookContext, ns: Netns): void {
  ctx.transit.delete(ns.id);
}

function ctStates(look: CtLookup | null): CtState[] {
  if (!look) return ['INVALID'];
  const base: CtState = look.related
    ? 'RELATED'
    : look.direction === 'reply' || look.entry.seenReply
      ? 'ESTABLISHED'
      : 'NEW';
  const out: CtState[] = [base];
  if (look.entry.dnat) out.push('DNAT');
  if (look.entry.snat) out.push('SNAT');
  return out;
}

function addrTypeIn(ns: Netns): (ip: string) => AddrType {
  return (ip) => {
    const l = ns.local.lookup(ip);
    if (l.kind === 'found' && l.route.dst.prefix === 32) {
      if (l.route.type === 'local') return 'LOCAL';
      if (l.route.type === 'broadcast') return 'BROADCAST';
    }
    if (ip === '255.255.255.255') return 'BROADCAST';
    const first = Number(ip.split('.')[0]);
    if (first >= 224 && first <= 239) return 'MULTICAST';
    return 'UNICAST';
  };
}

function endpointOf(e: ConntrackEntry, which: 'src' | 'dst'): string {
  const t = e.original;
  return which === 'src' ? `${t.src}:${t.sport}` : `${t.dst}:${t.dport}`;
}

function hostPort(p: IpPacket, which: 'src' | 'dst'): string {
  const port = p.l4.kind === 'icmp' ? null : which === 'src' ? p.l4.sport : p.l4.dport;
  const ip = which === 'src' ? p.ip.src : p.ip.dst;
  return port === null ? ip : `${ip}:${port}`;
}

/**
 * Runs one hook in `ns` for `pkt`. Preconditions:
 *   - `io.in` / `io.out` are the interfaces the hook sees ('' where it has none);
 *   - for POSTROUTING, `io.nextHop` is the route's gateway or the destination (MASQUERADE picks the source
 *     address the out interface would use towards it, as inet_select_addr does in nf_nat_masquerade_ipv4).
 */
export function runHook(
  ctx: HookContext,
  ns: Netns,
  hook: Hook,
  pkt: IpPacket,
  io: { in: string; out: string; nextHop?: string; bridged?: boolean },
): HookOutcome {
  const rs = ns.ruleset;
  if (!rs) return { kind: 'accept', packet: pkt };
  const transit = transitOf(ctx, ns);
  let packet = pkt;

  // A packet IPVS re-sends keeps its conntrack entry (the skb's nfct): no second lookup.
  if ((hook === 'PREROUTING' || hook === 'OUTPUT') && !(hook === 'OUTPUT' && transit.ipvsProperty)) {
    if (hook === 'PREROUTING' && transit.preroutingDone) return { kind: 'accept', packet };
    if (hook === 'PREROUTING') transit.preroutingDone = true;
    const table = ctx.conntrack(ns);
    let look = table.lookup(packet);
    let action: 'new' | 'found' = 'found';
    if (!look) {
      const created = table.create(packet);
      look = created ? { entry: created, direction: 'original', related: false } : null;
      action = 'new';
    } else if (look.direction === 'reply' && !look.related) {
      look.entry.seenReply = true;
      if (look.entry.tcpState === 'SYN_SENT') look.entry.tcpState = 'SYN_RECV';
    }
    transit.ct = look;
    if (look) {
      const state = look.related
        ? 'RELATED'
        : look.direction === 'reply' || look.entry.seenReply
          ? 'ESTABLISHED'
          : 'NEW';
      ctx.decide(
        ns,
        { kind: 'conntrack', action, direction: look.direction, state, entry: formatConntrack(look.entry) },
        `conntrack ${action === 'new' ? 'new entry' : `${look.direction} direction`} (${state}): ${formatConntrack(look.entry)}`,
        packet,
      );
      // Later packets are translated by the entry: destination manips happen here.
      if (action === 'found') {
        const e = look.entry;
        if (look.direction === 'original' && e.dnat)
          packet = translate(ctx, ns, hook, packet, 'dst', e.dnat.ip, e.dnat.port);
        if (look.direction === 'reply' && e.snat)
          packet = translate(ctx, ns, hook, packet, 'dst', e.original.src, e.original.sport);
      }
    }
  }

  const look = transit.ct;
  const isNew = look !== null && !look.related && look.direction === 'original' && !look.entry.confirmed;
  const view = (): PacketView => ({
    src: packet.ip.src,
    dst: packet.ip.dst,
    proto: packet.ip.protocol,
    sport: packet.l4.kind === 'icmp' ? null : packet.l4.sport,
    dport: packet.l4.kind === 'icmp' ? null : packet.l4.dport,
    inIface: io.in,
    outIface: io.out,
    mark: transit.mark,
    ctstate: ctStates(look),
    addrType: addrTypeIn(ns),
    recentSeen: (name, ip) => ctx.recent.get(ns.id)?.get(name)?.has(ip) ?? false,
    ...(ns.ipsets ? { ipsetMatch: ipsetMatcher(ns.ipsets) } : {}),
  });
  const choose = (rule: Rule, probability: number): { roll: number; taken: boolean } => {
    const roll = ctx.random();
    if (ctx.pin) {
      const to = /-> (\S+?)"?(\s|$)/.exec(rule.text)?.[1];
      if (to) return { roll, taken: to === ctx.pin };
    }
    return { roll, taken: roll < probability };
  };

  // IPVS's hooks (ip_vs_ops4): LOCAL_IN after filter (out 98, in 99), LOCAL_OUT after nat (out -99, in -98),
  // FORWARD after filter (out 100). A packet IPVS re-sent (ipvs_property) is skipped.
  const ipvsSlot: Table | 'end' | null =
    !ns.ipvs || transit.ipvsProperty
      ? null
      : hook === 'INPUT'
        ? 'nat'
        : hook === 'OUTPUT'
          ? 'filter'
          : hook === 'FORWARD'
            ? 'end'
            : null;
  const ipvsStep = (): HookOutcome | null => {
    const r = runIpvs(ctx, ns, hook as 'INPUT' | 'OUTPUT' | 'FORWARD', packet, look, transit);
    if (r.kind === 'accept') {
      packet = r.packet;
      return null;
    }
    return r;
  };

  for (const table of HOOK_TABLES[hook]) {
    if (ipvsSlot === table) {
      const stop = ipvsStep();
      if (stop) return stop;
    }
    if (!rs.get(table)?.get(hook)) continue;
    // The nat table sees only a connection's first packet; conntrack translates the rest. A packet IPVS
    // re-sends skips nat OUTPUT: its entry's destination NAT was settled when it arrived.
    if (table === 'nat' && (!isNew || (hook === 'OUTPUT' && transit.ipvsProperty))) continue;
    const r = evaluateTable(rs, table, hook, view(), choose);
    transit.mark = r.mark;
    for (const name of r.recentSet) {
      let lists = ctx.recent.get(ns.id);
      if (!lists) ctx.recent.set(ns.id, (lists = new Map()));
      let set = lists.get(name);
      if (!set) lists.set(name, (set = new Set()));
      set.add(packet.ip.src);
    }
    // An empty built-in chain (policy ACCEPT, no rule) says nothing worth a line.
    if (r.evaluated > 0 || r.verdict !== 'ACCEPT')
      ctx.decide(
        ns,
        {
          kind: 'netfilter',
          hook,
          table,
          verdict: r.verdict,
          steps: r.steps.map((s) => ({
            chain: s.chain,
            index: s.index,
            rule: s.rule,
            action: s.action,
            random: s.random,
          })),
          evaluated: r.evaluated,
          mark: r.mark,
          bridged: io.bridged ?? false,
        },
        `${table} ${hook}${io.bridged ? ' (br_netfilter)' : ''}: ${r.steps.map((s) => `${s.chain}#${s.index + 1} ${s.action}`).join(' → ') || 'no rule matched'} ⇒ ${r.verdict}${r.nat ? ` ${r.nat.kind}` : ''} (${r.evaluated} rules evaluated)`,
        packet,
      );
    if (r.verdict === 'DROP')
      return { kind: 'drop', reason: `${table} ${hook} dropped it (${lastRule(r.steps)})` };
    if (r.verdict === 'REJECT')
      return {
        kind: 'reject',
        with: r.rejectWith ?? 'icmp-port-unreachable',
        reason: `${table} ${hook} rejected it (${lastRule(r.steps)})`,
      };
    if (r.nat && look) {
      const e = look.entry;
      const port = (p: number | null, cur: number | null): number => p ?? cur ?? 0;
      if (r.nat.kind === 'DNAT') {
        const cur = packet.l4.kind === 'icmp' ? null : packet.l4.dport;
        ctx.conntrack(ns).bindDnat(e, r.nat.ip, port(r.nat.port, cur ?? e.original.dport));
        packet = translate(ctx, ns, hook, packet, 'dst', r.nat.ip, r.nat.port ?? cur, 'DNAT');
      } else {
        const cur = packet.l4.kind === 'icmp' ? null : packet.l4.sport;
        const ip = r.nat.kind === 'SNAT' ? r.nat.ip : ns.selectSource(io.out, io.nextHop ?? packet.ip.dst);
        if (!ip) return { kind: 'drop', reason: `MASQUERADE: ${io.out} has no address to masquerade with` };
        // Linux keeps the source port when it is free (it is, in a walk's fresh tables) — unless
        // --random-fully, where nf_nat_l4proto_unique_tuple draws it at random from 1024-65535 (so a real
        // capture shows another number: only the range is comparable).
        const newPort =
          r.nat.kind === 'SNAT' && r.nat.port !== null
            ? r.nat.port
            : cur !== null && r.nat.randomFully
              ? 1024 + Math.floor(ctx.random() * (65535 - 1024 + 1))
              : cur;
        ctx.conntrack(ns).bindSnat(e, ip, newPort ?? e.original.sport);
        packet = translate(ctx, ns, hook, packet, 'src', ip, newPort, r.nat.kind);
      }
    }
  }

  if (ipvsSlot === 'end') {
    const stop = ipvsStep();
    if (stop) return stop;
  }

  if (hook === 'POSTROUTING' || hook === 'INPUT') {
    if (look && !isNew && hook === 'POSTROUTING') {
      // Source manips of later packets: SNAT for originals, the un-DNAT for replies.
      const e = look.entry;
      if (look.direction === 'original' && e.snat)
        packet = translate(ctx, ns, hook, packet, 'src', e.snat.ip, e.snat.port);
      if (look.direction === 'reply' && e.dnat) {
        const [ip, p] = endpointOf(e, 'dst').split(':');
        packet = translate(ctx, ns, hook, packet, 'src', ip!, Number(p));
      }
    }
    if (look && !look.entry.confirmed) {
      look.entry.confirmed = true;
      ctx.decide(
        ns,
        {
          kind: 'conntrack',
          action: 'confirmed',
          direction: look.direction,
          state: 'NEW',
          entry: formatConntrack(look.entry),
        },
        `conntrack confirm: ${formatConntrack(look.entry)}`,
        packet,
      );
    }
  }
  return { kind: 'accept', packet };
}

function lastRule(steps: readonly { chain: string; index: number; rule: string }[]): string {
  const s = steps.at(-1);
  if (!s) return 'policy';
  if (s.index < 0) return `${s.chain} policy`;
  const comment = /--comment (?:"([^"]*)"|(\S+))/.exec(s.rule);
  return `${s.chain} rule ${s.index + 1}${comment ? `: "${comment[1] ?? comment[2]}"` : ''}`;
}

function translate(
  ctx: HookContext,
  ns: Netns,
  hook: Hook,
  p: IpPacket,
  field: 'src' | 'dst',
  ip: string,
  port: number | null,
  how: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'conntrack' = 'conntrack',
): IpPacket {
  const before = hostPort(p, field);
  const next =
    field === 'dst'
      ? rewrite(p, { dst: ip, ...(port !== null ? { dport: port } : {}) })
      : rewrite(p, { src: ip, ...(port !== null ? { sport: port } : {}) });
  const after = hostPort(next, field);
  if (before !== after && hook !== 'FORWARD')
    ctx.decide(
      ns,
      { kind: 'nat', how, hook, field, before, after },
      `${how === 'conntrack' ? 'conntrack' : how} ${field} ${before} → ${after}`,
      next,
    );
  return next;
}

const IPVS_HOOK = { INPUT: 'LOCAL_IN', OUTPUT: 'LOCAL_OUT', FORWARD: 'FORWARD' } as const;

function ipvsDecide(
  ctx: HookContext,
  ns: Netns,
  hook: 'INPUT' | 'OUTPUT' | 'FORWARD',
  d: {
    action: 'forward' | 'un-nat' | 'pass' | 'reject' | 'ttl-exceeded' | 'not-modelled';
    service: string | null;
    realServer: string | null;
    conntrackReply: string | null;
  },
  summary: string,
  packet: IpPacket,
): void {
  ctx.decide(ns, { kind: 'ipvs', hook: IPVS_HOOK[hook], ...d }, summary, packet);
}

/**
 * IPVS at one hook of a namespace with an IPVS table: ipvsOut (replies of IPVS connections get the virtual
 * service's address back), then, at LOCAL_IN and LOCAL_OUT, ipvsLocalIn (requests to a virtual service are
 * scheduled to a real server and DNATed). Keeps the walk's IpvsState per namespace.
 */
function runIpvs(
  ctx: HookContext,
  ns: Netns,
  hook: 'INPUT' | 'OUTPUT' | 'FORWARD',
  pkt: IpPacket,
  look: CtLookup | null,
  transit: Transit,
): HookOutcome {
  const table = ns.ipvs;
  if (!table) return { kind: 'accept', packet: pkt };
  const state = ctx.ipvs.get(ns.id) ?? emptyIpvsState();
  const out = ipvsOut(ipvsPacketOf(pkt), state);
  ctx.ipvs.set(ns.id, out.state);
  if (out.kind === 'un-nat') {
    const c = out.connection;
    const next = applyIpvsRewrite(pkt, out.rewrite);
    ipvsDecide(
      ctx,
      ns,
      hook,
      {
        action: 'un-nat',
        service: ipvsServiceKey({ protocol: c.protocol, address: c.vaddr, port: c.vport }),
        realServer: `${c.daddr}:${c.dport}`,
        conntrackReply: null,
      },
      out.summary,
      next,
    );
    return { kind: 'accept', packet: next };
  }
  if (hook === 'FORWARD') return { kind: 'accept', packet: pkt };

  const vpkt = ipvsPacketOf(pkt);
  const r = ipvsLocalIn(table, vpkt, out.state, {
    hook: hook === 'INPUT' ? 'LOCAL_IN' : 'LOCAL_OUT',
    isLocal: (ip) => ns.ownsAddress(ip) && !onDummy(ns, ip),
    pin: ctx.pin,
  });
  ctx.ipvs.set(ns.id, r.state);
  const service = vpkt.dport !== null ? `${vpkt.dst}:${vpkt.dport}` : vpkt.dst;
  switch (r.kind) {
    case 'pass':
      // Only worth a line for a packet to a Service address (kube-ipvs0), e.g. a ping to a ClusterIP.
      if (onDummy(ns, pkt.ip.dst))
        ipvsDecide(
          ctx,
          ns,
          hook,
          { action: 'pass', service: null, realServer: null, conntrackReply: null },
          `IPVS: ${service} — ${r.reason}`,
          pkt,
        );
      return { kind: 'accept', packet: pkt };
    case 'not-modelled':
      ipvsDecide(
        ctx,
        ns,
        hook,
        { action: 'not-modelled', service: ipvsServiceKey(r.vs), realServer: null, conntrackReply: null },
        `IPVS ${ipvsServiceKey(r.vs)}: ${r.reason}`,
        pkt,
      );
      return { kind: 'drop', reason: `not modelled: ${r.reason}` };
    case 'reject':
    case 'ttl-exceeded': {
      ipvsDecide(
        ctx,
        ns,
        hook,
        {
          action: r.kind,
          service: ipvsServiceKey(r.vs),
          realServer: r.kind === 'ttl-exceeded' ? `${r.realServer.ip}:${r.realServer.port}` : null,
          conntrackReply: null,
        },
        `IPVS ${ipvsServiceKey(r.vs)}: ${r.reason}`,
        pkt,
      );
      return {
        kind: 'ipvs-icmp',
        type: r.icmp.type,
        code: r.icmp.code,
        verdict: r.kind === 'reject' ? 'unreachable' : 'ttl-exceeded',
        reason: `IPVS: ${r.reason}`,
      };
    }
    case 'forward': {
      const next = applyIpvsRewrite(pkt, r.rewrite);
      // ip_vs_update_conntrack (net.ipv4.vs.conntrack=1): the entry's reply tuple now expects the real server,
      // without DST_NAT status — conntrack itself will not un-DNAT the replies; ip_vs_out does.
      let reply: string | null = null;
      if (look && look.direction === 'original' && !look.related && !look.entry.confirmed) {
        look.entry.reply = ipvsConntrackReply(
          look.entry.original,
          r.conntrack.replySrc,
          r.conntrack.replySport,
        );
        reply = formatConntrack(look.entry);
      }
      ipvsDecide(
        ctx,
        ns,
        hook,
        {
          action: 'forward',
          service: ipvsServiceKey(r.vs),
          realServer: `${r.realServer.ip}:${r.realServer.port}`,
          conntrackReply: reply,
        },
        `${r.summary}${reply ? `; conntrack entry now ${reply}` : ''}`,
        next,
      );
      // At LOCAL_IN a non-local real server means NF_STOLEN and a re-send through LOCAL_OUT; at LOCAL_OUT the
      // packet goes on (the walk routes it again: the destination changed).
      if (hook === 'INPUT' && !r.local) {
        transit.ipvsProperty = true;
        return { kind: 'ipvs-resend', packet: next };
      }
      if (hook === 'OUTPUT') transit.ipvsProperty = true;
      return { kind: 'accept', packet: next };
    }
  }
}

/** True iff `ip` is bound to a dummy device (kube-ipvs0): a Service address, not the host's own. */
function onDummy(ns: Netns, ip: string): boolean {
  for (const d of ns.devices.values())
    if (d.kind === 'dummy' && d.addrs.some((a) => a.ip === ip)) return true;
  return false;
}
