// IPVS, the kernel's L4 load balancer (net/netfilter/ipvs), as data: virtual services with their real servers,
// the schedulers that pick one, the connection table, and the LVS-NAT ("Masq") forwarding kube-proxy's ipvs
// mode uses — plus ipsets, the hash tables its iptables rules match on. Pure: every function takes the table and
// a per-walk state and returns a new state; nothing here reads a clock or a random source.
//
// Where IPVS sits in the netfilter hooks (ip_vs_ops4[] in net/netfilter/ipvs/ip_vs_core.c; priorities from
// include/uapi/linux/netfilter_ipv4.h):
//
//   LOCAL_IN:  mangle (-150) → filter (0) → ip_vs_out_hook (98) → ip_vs_in_hook (99) → nat SNAT (100) → confirm
//   LOCAL_OUT: raw → conntrack → mangle → nat DNAT (-100) → ip_vs_out_hook (-99) → ip_vs_in_hook (-98) → filter
//   FORWARD:   mangle (-150) → filter (0) → ip_vs_forward_icmp (99) → ip_vs_out_hook (100)
//
//   request:  client ──▶ VIP:vport  (VIP is a local address: kube-proxy binds it to kube-ipvs0)
//             PREROUTING ─ route: local ─ LOCAL_IN: filter INPUT ─ ip_vs_in: schedule, DNAT to RIP:rport,
//             TTL−1, alter the conntrack reply tuple ─ re-sent through LOCAL_OUT ─ route to RIP ─ POSTROUTING
//   reply:    RIP:rport ──▶ client   (routed: FORWARD, or LOCAL_IN when the client is this host)
//             ip_vs_out: the connection is found, the source becomes VIP:vport again ("un-NAT")
//
// With net.ipv4.vs.conntrack=1 (kube-proxy sets it) conntrack keeps following the packet: IPVS does not bind a
// NAT to the entry, it rewrites the entry's reply tuple (ip_vs_update_conntrack → nf_conntrack_alter_reply in
// net/netfilter/ipvs/ip_vs_nfct.c): original CIP:cport → VIP:vport, reply RIP:rport → CIP:cport. The entry
// has no DST_NAT status (`-m conntrack --ctstate DNAT` does not match), and replies are un-NATed by IPVS,
// not by conntrack. iptables' MASQUERADE in POSTROUTING still binds its SNAT to the same entry as usual.
//
// Followed: ip_vs_core.c (ip_vs_in_hook, ip_vs_out_hook, ip_vs_schedule, ip_vs_sched_persist, ip_vs_leave),
// ip_vs_xmit.c (ip_vs_nat_xmit, __ip_vs_get_out_rt, decrement_ttl, ip_vs_nat_send_or_cont), ip_vs_nfct.c,
// ip_vs_proto_tcp.c (the TCP state table and timeouts), ip_vs_proto_udp.c, ip_vs_rr.c, ip_vs_wrr.c, ip_vs_lc.c,
// ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c, ip_vs_sh.c; ipvsadm 1.31 (ipvsadm.c print_title, print_service_entry,
// print_conn, list_all; libipvs ipvs_cmp_services/ipvs_cmp_dests); ipset 7.x lib/session.c (list_create,
// list_adt) and the kernel's ip_set_hash_*.c, ip_set_bitmap_port.c, ip_set_getport.c, xt_set.c.
//
// Not modelled: IPv6; fwmark services; DR/TUN forwarding (only Masq and Local); the mh, dh, lblc, lblcr, fo,
// ovf and twos schedulers (pass a pinned choice); one-packet scheduling; connection expiry (a walk has no
// clock: entries and persistence templates live as long as the walk); the kernel's destination list order
// (it prepends each added real server and kube-proxy adds them in Go map order: the model keeps the table's
// order); FTP helpers; sync daemons; ipset timeouts, counters, comments and nomatch entries. Nothing in this
// file is checked against a kernel here: the machines that run the conformance tests have no IPVS module.
import { AddrError, ipToInt, parseCidr, parseIp, type Ip } from './addr.ts';
import { rewrite, type Tuple } from './conntrack.ts';
import type { Ruleset } from './netfilter.ts';
import type { IpPacket } from './packet.ts';

// ---------------------------------------------------------------------------------------------------------
// The table.

export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP';

/** How a real server is reached (ip_vs.h IP_VS_CONN_F_*): kube-proxy only uses Masq (LVS-NAT). */
export type IpvsForward = 'Masq' | 'Local' | 'Tunnel' | 'Route';

/** Virtual service flags (include/uapi/linux/ip_vs.h). */
export const IPVS_SVC_FLAGS = {
  /** IP_VS_SVC_F_PERSISTENT: sessionAffinity ClientIP (the persistence timeout is the service's timeout). */
  persistent: 0x1,
  /** IP_VS_SVC_F_HASHED: set by the kernel on every service in its table. */
  hashed: 0x2,
  /** IP_VS_SVC_F_ONEPACKET: one-packet scheduling (UDP). */
  onePacket: 0x4,
  /** IP_VS_SVC_F_SCHED1: sh-fallback / mh-fallback. */
  sched1: 0x8,
  /** IP_VS_SVC_F_SCHED2: sh-port / mh-port (kube-proxy's FlagSourceHash for the mh scheduler). */
  sched2: 0x10,
  /** IP_VS_SVC_F_SCHED3. */
  sched3: 0x20,
} as const;

export interface IpvsRealServer {
  readonly ip: Ip;
  readonly port: number;
  /** 0 takes no new connections (graceful termination sets it before deleting the server). */
  readonly weight: number;
  readonly forward: IpvsForward;
  /** Connection counters as `ipvsadm -Ln` shows them before the walk (connections the walk makes are added). */
  readonly activeConn: number;
  readonly inactConn: number;
}

export interface IpvsVirtualServer {
  readonly protocol: IpvsProtocol;
  readonly address: Ip;
  readonly port: number;
  /** rr, wrr, lc, wlc, sed, nq, sh are scheduled here; any other name needs a pinned choice. */
  readonly scheduler: string;
  /** IPVS_SVC_FLAGS bits. */
  readonly flags: number;
  /** Persistence timeout in seconds (meaningful with the persistent flag). */
  readonly timeout: number;
  /** Persistence netmask: clients in the same masked network share a template (kube-proxy: /32). */
  readonly netmask: Ip;
  /** In the kernel's list order (the order rr walks). */
  readonly realServers: readonly IpvsRealServer[];
  /** Who made it and why, e.g. "ns1/svc1:p80 cluster IP" (not kernel data; for the trace). */
  readonly comment?: string;
}

export interface IpvsTable {
  /** IP_VS_CONN_TAB_SIZE, the `(size=4096)` of `ipvsadm -L`: 1 << CONFIG_IP_VS_TAB_BITS (12). */
  readonly connTabSize: number;
  readonly services: readonly IpvsVirtualServer[];
}

export function emptyIpvsTable(): IpvsTable {
  return { connTabSize: 4096, services: [] };
}

/** "TCP 10.96.0.10:80": a virtual service's identity (protocol, address, port), as the kernel hashes it. */
export function ipvsServiceKey(vs: Pick<IpvsVirtualServer, 'protocol' | 'address' | 'port'>): string {
  return `${vs.protocol} ${vs.address}:${vs.port}`;
}

/** The virtual service a packet to `dst:dport` over `protocol` is for (ip_vs_service_find), or null. */
export function ipvsFindService(
  table: IpvsTable,
  protocol: IpvsProtocol,
  dst: Ip,
  dport: number,
): IpvsVirtualServer | null {
  return table.services.find((s) => s.protocol === protocol && s.address === dst && s.port === dport) ?? null;
}

// ---------------------------------------------------------------------------------------------------------
// The per-walk state: scheduler positions, connections and persistence templates.

/** One entry of the IPVS connection table (struct ip_vs_conn; /proc/net/ip_vs_conn). */
export interface IpvsConnection {
  readonly protocol: IpvsProtocol;
  /** Client. */
  readonly caddr: Ip;
  /** 0 for a persistence template. */
  readonly cport: number;
  /** Virtual service. */
  readonly vaddr: Ip;
  readonly vport: number;
  /** Real server. */
  readonly daddr: Ip;
  readonly dport: number;
  readonly forward: IpvsForward;
  /** A persistence template (state NONE), not a connection. */
  readonly template: boolean;
  /** ip_vs_proto_tcp.c state names (SYN_RECV, ESTABLISHED, CLOSE, …), UDP, SCTP, or NONE for templates. */
  readonly state: string;
  /** Seconds until it expires, as the state sets it (the walk has no clock: it never counts down). */
  readonly timeout: number;
}

export interface IpvsState {
  /** Scheduler position per service key: rr's last chosen index, wrr's index and current weight. */
  readonly sched: Readonly<Record<string, { readonly i: number; readonly cw: number }>>;
  /** Connections and templates in creation order. */
  readonly connections: readonly IpvsConnection[];
}

export function emptyIpvsState(): IpvsState {
  return { sched: {}, connections: [] };
}

// ip_vs_proto_tcp.c: tcp_timeouts (seconds) and the state table (rows syn, fin, ack, rst; INPUT then OUTPUT).
const TCP_STATES = [
  'NONE',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'SYNACK',
] as const;
const TCP_TIMEOUTS: Readonly<Record<string, number>> = {
  NONE: 2,
  ESTABLISHED: 900,
  SYN_SENT: 120,
  SYN_RECV: 60,
  FIN_WAIT: 120,
  TIME_WAIT: 120,
  CLOSE: 10,
  CLOSE_WAIT: 60,
  LAST_ACK: 30,
  LISTEN: 120,
  SYNACK: 120,
};
const [_sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI] = TCP_STATES;
const TCP_STATE_TABLE: Readonly<Record<'in' | 'out', readonly (readonly string[])[]>> = {
  //         sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA
  in: [
    [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR], // syn
    [sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW], // fin
    [sCL, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES], // ack
    [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR], // rst
  ],
  out: [
    [sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR],
    [sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW],
    [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES],
    [sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL],
  ],
} as const;
/** ip_vs_proto_udp.c udp_timeouts[IP_VS_UDP_S_NORMAL]. */
const UDP_TIMEOUT = 300;

/** The next state of a connection after a packet (set_tcp_state; tcp_state_idx: rst, syn, fin, ack). */
function nextState(
  c: Pick<IpvsConnection, 'protocol' | 'state'>,
  dir: 'in' | 'out',
  tcpFlags: string,
): { state: string; timeout: number } {
  if (c.protocol !== 'TCP') return { state: c.protocol, timeout: UDP_TIMEOUT };
  const idx = tcpFlags.includes('R')
    ? 3
    : tcpFlags.includes('S')
      ? 0
      : tcpFlags.includes('F')
        ? 1
        : tcpFlags.includes('.')
          ? 2
          : -1;
  if (idx < 0) return { state: c.state, timeout: TCP_TIMEOUTS[c.state] ?? 2 };
  const from = TCP_STATES.indexOf(c.state as (typeof TCP_STATES)[number]);
  const state = TCP_STATE_TABLE[dir][idx]![from < 0 ? 0 : from]!;
  return { state, timeout: TCP_TIMEOUTS[state]! };
}

/** A connection counts as active in ESTABLISHED only (ip_vs_bind_dest starts it inactive; set_tcp_state). */
function isActive(c: IpvsConnection): boolean {
  return !c.template && c.protocol === 'TCP' && c.state === 'ESTABLISHED';
}

// ---------------------------------------------------------------------------------------------------------
// Scheduling.

/** The tuple the schedulers and the connection lookup see. */
export interface IpvsTuple {
  readonly protocol: IpvsProtocol;
  readonly src: Ip;
  readonly sport: number;
  readonly dst: Ip;
  readonly dport: number;
}

export interface IpvsScheduleOptions {
  /**
   * "ip:port" of the real server to take (the walk's pin, like HookContext.pin): used when it is an available
   * server of the service and no persistence template decides first. Otherwise the scheduler decides.
   */
  readonly pin?: string | null;
}

export type IpvsScheduleResult =
  /** A real server was chosen; `state` has the scheduler moved on (and a template added if new). */
  | {
      readonly kind: 'scheduled';
      readonly vs: IpvsVirtualServer;
      readonly realServer: IpvsRealServer;
      /** How: the scheduler, a pinned choice, or an existing persistence template. */
      readonly by: 'scheduler' | 'pin' | 'template';
      /** For a persistent service: whether a template was created or reused. */
      readonly template: 'new' | 'reused' | null;
      readonly state: IpvsState;
    }
  /** No virtual service for this protocol, address and port. */
  | { readonly kind: 'no-service' }
  /** The service has no real server with weight > 0 ("no destination available"). */
  | { readonly kind: 'no-destination'; readonly vs: IpvsVirtualServer }
  /** A scheduler this model does not implement, and no usable pin. */
  | { readonly kind: 'not-modelled'; readonly vs: IpvsVirtualServer; readonly reason: string };

const available = (rs: IpvsRealServer): boolean => rs.weight > 0;

/** Linux's hash_32(val, bits) (include/linux/hash.h): the top `bits` bits of val * GOLDEN_RATIO_32. */
export function hash32(val: number, bits: number): number {
  return Math.imul(val >>> 0, 0x61c88647) >>> (32 - bits);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Connections (active, inactive) each real server of `vs` has: the table's counters plus the walk's. */
function loadOf(vs: IpvsVirtualServer, state: IpvsState): { active: number; inact: number }[] {
  return vs.realServers.map((rs) => {
    let active = rs.activeConn;
    let inact = rs.inactConn;
    for (const c of state.connections) {
      if (c.template || c.protocol !== vs.protocol || c.vaddr !== vs.address || c.vport !== vs.port) continue;
      if (c.daddr !== rs.ip || c.dport !== rs.port) continue;
      if (isActive(c)) active++;
      else inact++;
    }
    return { active, inact };
  });
}

/**
 * The scheduler's choice (sched->schedule): an index into vs.realServers, the scheduler state after it, or
 * null when no server is available; `undefined` when the scheduler is not modelled.
 */
function runScheduler(
  vs: IpvsVirtualServer,
  tuple: IpvsTuple,
  state: IpvsState,
): { index: number; sched: { i: number; cw: number } | null } | null | undefined {
  const rss = vs.realServers;
  const key = ipvsServiceKey(vs);
  const n = rss.length;
  switch (vs.scheduler) {
    case 'rr': {
      // ip_vs_rr_schedule: the first available server after the last chosen one, wrapping around once.
      const last = state.sched[key]?.i ?? -1;
      for (let k = 1; k <= n; k++) {
        const i = (last + k) % n;
        if (available(rss[i]!)) return { index: i, sched: { i, cw: 0 } };
      }
      return null;
    }
    case 'wrr': {
      // ip_vs_wrr.c: interleaved weighted round robin (current weight cw steps down by the weights' gcd).
      const weights = rss.map((r) => Math.max(0, r.weight));
      const max = Math.max(0, ...weights);
      if (max === 0) return null;
      const div = weights.filter((w) => w > 0).reduce(gcd);
      let { i, cw } = state.sched[key] ?? { i: -1, cw: 0 };
      for (let steps = 0; steps <= n * (max / div + 1); steps++) {
        i = (i + 1) % n;
        if (i === 0) {
          cw -= div;
          if (cw <= 0) cw = max;
        }
        if (weights[i]! >= cw) return { index: i, sched: { i, cw } };
      }
      return null;
    }
    case 'lc':
    case 'wlc':
    case 'sed':
    case 'nq': {
      // ip_vs_lc/wlc/sed/nq: least (weighted) load, the first in list order on a tie. lc and wlc count an
      // active connection as 256 inactive ones (ip_vs_dest_conn_overhead); sed and nq count active + 1.
      const load = loadOf(vs, state);
      let best = -1;
      for (let i = 0; i < n; i++) {
        const rs = rss[i]!;
        if (!available(rs)) continue;
        if (vs.scheduler === 'nq' && load[i]!.active === 0) return { index: i, sched: null };
        if (best < 0) {
          best = i;
          continue;
        }
        const b = load[best]!;
        const w = rs.weight;
        const bw = rss[best]!.weight;
        const cost = (x: { active: number; inact: number }): number =>
          vs.scheduler === 'lc' || vs.scheduler === 'wlc' ? x.active * 256 + x.inact : x.active + 1;
        const better = vs.scheduler === 'lc' ? cost(load[i]!) < cost(b) : cost(b) * w > cost(load[i]!) * bw;
        if (better) best = i;
      }
      return best < 0 ? null : { index: best, sched: null };
    }
    case 'sh': {
      // ip_vs_sh.c: a 256-bucket table filled from the server list (each server `weight` buckets in a row),
      // indexed by hash_32(source port (with sh-port) + source address, 8).
      if (n === 0) return null;
      const buckets: number[] = [];
      let p = 0;
      let count = 0;
      for (let b = 0; b < 256; b++) {
        buckets.push(p);
        if (++count >= rss[p]!.weight) {
          p = (p + 1) % n;
          count = 0;
        }
      }
      const port = vs.flags & IPVS_SVC_FLAGS.sched2 ? tuple.sport : 0;
      const hashkey = (offset: number): number =>
        (offset + hash32((port + ipToInt(tuple.src)) >>> 0, 8)) & 255;
      const first = buckets[hashkey(0)]!;
      if (available(rss[first]!)) return { index: first, sched: null };
      if (!(vs.flags & IPVS_SVC_FLAGS.sched1)) return null;
      // sh-fallback: walk the table from the original hash to the next available server.
      const ihash = hashkey(0);
      for (let off = 0; off < 256; off++) {
        const i = buckets[hashkey((off + ihash) % 256)]!;
        if (available(rss[i]!)) return { index: i, sched: null };
      }
      return null;
    }
    default:
      return undefined;
  }
}

/** The persistence template's client key: the client address under the service's netmask. */
function templateClient(vs: IpvsVirtualServer, src: Ip): Ip {
  const m = ipToInt(vs.netmask);
  const v = (ipToInt(src) & m) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/**
 * Chooses the real server for a new connection to a virtual service (ip_vs_schedule, and ip_vs_sched_persist
 * for persistent services). Deterministic: round robin continues from `state`, a pin or a persistence template
 * decides before the scheduler. Pure: the returned state has the scheduler position and any new template.
 *
 * Persistence (sessionAffinity: ClientIP): a template <client & netmask, 0, VIP, vport> → <RIP, rport> is kept
 * for the service's timeout; while its server is available (weight > 0, as expire_quiescent_template=1 asks),
 * every new connection from that client goes to the same server.
 */
export function ipvsSchedule(
  table: IpvsTable,
  tuple: IpvsTuple,
  state: IpvsState,
  options: IpvsScheduleOptions = {},
): IpvsScheduleResult {
  const vs = ipvsFindService(table, tuple.protocol, tuple.dst, tuple.dport);
  if (!vs) return { kind: 'no-service' };
  const rss = vs.realServers;
  const persistent = (vs.flags & IPVS_SVC_FLAGS.persistent) !== 0;
  let connections = state.connections;
  const client = persistent ? templateClient(vs, tuple.src) : null;

  if (persistent) {
    const t = connections.find(
      (c) =>
        c.template &&
        c.protocol === vs.protocol &&
        c.caddr === client &&
        c.vaddr === vs.address &&
        c.vport === vs.port,
    );
    if (t) {
      const rs = rss.find((r) => r.ip === t.daddr && r.port === t.dport);
      if (rs && available(rs))
        return { kind: 'scheduled', vs, realServer: rs, by: 'template', template: 'reused', state };
      // ip_vs_check_template: the template's server is gone or quiescent: expire it, schedule again.
      connections = connections.filter((c) => c !== t);
    }
  }

  let index: number;
  let by: 'scheduler' | 'pin' = 'scheduler';
  let sched = state.sched;
  const pinned = options.pin ? rss.findIndex((r) => `${r.ip}:${r.port}` === options.pin) : -1;
  if (pinned >= 0 && available(rss[pinned]!)) {
    index = pinned;
    by = 'pin';
    // The pin stands for the scheduler's choice: round robin continues after it.
    if (vs.scheduler === 'rr') sched = { ...sched, [ipvsServiceKey(vs)]: { i: pinned, cw: 0 } };
  } else {
    const r = runScheduler(vs, tuple, { ...state, connections });
    if (r === undefined)
      return {
        kind: 'not-modelled',
        vs,
        reason: `the ${vs.scheduler} scheduler is not modelled: pin a real server to choose one`,
      };
    if (r === null) return { kind: 'no-destination', vs };
    index = r.index;
    if (r.sched) sched = { ...sched, [ipvsServiceKey(vs)]: r.sched };
  }
  const realServer = rss[index]!;
  if (persistent)
    connections = [
      ...connections,
      {
        protocol: vs.protocol,
        caddr: client!,
        cport: 0,
        vaddr: vs.address,
        vport: vs.port,
        daddr: realServer.ip,
        dport: realServer.port,
        forward: realServer.forward,
        template: true,
        state: 'NONE',
        timeout: vs.timeout,
      },
    ];
  return {
    kind: 'scheduled',
    vs,
    realServer,
    by,
    template: persistent ? 'new' : null,
    state: { sched, connections },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The hooks: ip_vs_in (requests) and ip_vs_out (replies).

/** A packet as IPVS sees it. */
export interface IpvsPacket {
  readonly proto: 'tcp' | 'udp' | 'sctp' | 'icmp';
  readonly src: Ip;
  readonly dst: Ip;
  /** null for ICMP. */
  readonly sport: number | null;
  readonly dport: number | null;
  /** tcpdump's TCP flags ('S', 'S.', '.', 'R', 'F.', …); ignored for other protocols. */
  readonly tcpFlags?: string;
  readonly ttl: number;
  /** For an ICMP error (destination unreachable, time exceeded): the tuple of the packet it quotes. */
  readonly quoted?: {
    readonly proto: 'tcp' | 'udp' | 'sctp' | 'icmp';
    readonly src: Ip;
    readonly dst: Ip;
    readonly sport: number | null;
    readonly dport: number | null;
  };
}

/** The engine's packet as IPVS sees it (the outer header of an encapsulated packet). */
export function ipvsPacketOf(p: IpPacket): IpvsPacket {
  const l4 = p.l4;
  const base = { proto: l4.kind, src: p.ip.src, dst: p.ip.dst, ttl: p.ip.ttl } as const;
  if (l4.kind === 'tcp') return { ...base, sport: l4.sport, dport: l4.dport, tcpFlags: l4.flags };
  if (l4.kind === 'udp') return { ...base, sport: l4.sport, dport: l4.dport };
  const q = l4.original;
  const isError = l4.type === 3 || l4.type === 11 || l4.type === 4;
  if (!isError || !q) return { ...base, sport: null, dport: null };
  const ql4 = q.l4;
  return {
    ...base,
    sport: null,
    dport: null,
    quoted: {
      proto: ql4.kind,
      src: q.ip.src,
      dst: q.ip.dst,
      sport: ql4.kind === 'icmp' ? null : ql4.sport,
      dport: ql4.kind === 'icmp' ? null : ql4.dport,
    },
  };
}

/** The address and port changes an IPVS result asks for, applied to the engine's packet. */
export function applyIpvsRewrite(
  p: IpPacket,
  change: {
    readonly src?: Ip;
    readonly sport?: number;
    readonly dst?: Ip;
    readonly dport?: number;
    readonly ttl?: number;
  },
): IpPacket {
  const { ttl, ...addrs } = change;
  const next = rewrite(p, addrs);
  return ttl === undefined ? next : { ...next, ip: { ...next.ip, ttl } };
}

const PROTOCOL: Readonly<Record<string, IpvsProtocol>> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

export interface IpvsInOptions {
  /** Where ip_vs_in_hook runs: LOCAL_IN for packets routed to a local address, LOCAL_OUT for a local sender. */
  readonly hook?: 'LOCAL_IN' | 'LOCAL_OUT';
  /** True iff `ip` is an address of this host (then the real server is reached locally, without TTL−1). */
  readonly isLocal?: (ip: Ip) => boolean;
  /** A pinned real server "ip:port" (see IpvsScheduleOptions.pin). */
  readonly pin?: string | null;
}

export type IpvsInResult =
  /**
   * Not IPVS's packet: the hook accepts it and the packet goes on to the local stack (nat INPUT, the socket) or,
   * at LOCAL_OUT, on through the OUTPUT tables. Examples: ICMP echo to a VIP (the host answers it), a TCP
   * segment without SYN and without a connection, a port no virtual service has.
   */
  | { readonly kind: 'pass'; readonly reason: string; readonly state: IpvsState }
  /** Scheduled (or an existing connection): LVS-NAT to the real server. */
  | {
      readonly kind: 'forward';
      readonly vs: IpvsVirtualServer;
      readonly realServer: IpvsRealServer;
      readonly connection: IpvsConnection;
      /** A new connection (the first packet) or one found in the connection table. */
      readonly newConnection: boolean;
      /** How the server was chosen (null for an existing connection). */
      readonly by: 'scheduler' | 'pin' | 'template' | null;
      /** The persistence template, for a persistent service. */
      readonly template: 'new' | 'reused' | null;
      /** The packet's new destination, and its TTL (decremented unless the real server is local). */
      readonly rewrite: { readonly dst: Ip; readonly dport: number; readonly ttl: number };
      /**
       * ip_vs_update_conntrack: the conntrack entry's reply tuple becomes RIP:rport → CIP:cport (its original
       * tuple stays CIP:cport → VIP:vport). Apply only to an unconfirmed entry, for a packet in the original
       * direction; it is not a NAT binding (no DST_NAT status, conntrack will not un-DNAT replies).
       */
      readonly conntrack: { readonly replySrc: Ip; readonly replySport: number };
      /** The real server is this host (IP_VS_CONN_F_LOCALNODE route): NF_ACCEPT, no re-send, no TTL−1. */
      readonly local: boolean;
      readonly state: IpvsState;
      /** One line for the trace. */
      readonly summary: string;
    }
  /** ip_vs_leave: the service has no available real server: ICMP port unreachable back, the packet dropped. */
  | {
      readonly kind: 'reject';
      readonly vs: IpvsVirtualServer;
      readonly icmp: { readonly type: 3; readonly code: 3 };
      readonly reason: string;
      readonly state: IpvsState;
    }
  /** decrement_ttl: TTL 1 would reach 0 on the way to the real server: ICMP time exceeded back, dropped. */
  | {
      readonly kind: 'ttl-exceeded';
      readonly vs: IpvsVirtualServer;
      readonly realServer: IpvsRealServer;
      readonly icmp: { readonly type: 11; readonly code: 0 };
      readonly reason: string;
      readonly state: IpvsState;
    }
  /** A scheduler this model does not implement: the walk must stop and say so. */
  | {
      readonly kind: 'not-modelled';
      readonly vs: IpvsVirtualServer;
      readonly reason: string;
      readonly state: IpvsState;
    };

function replaceConnection(state: IpvsState, old: IpvsConnection | null, next: IpvsConnection): IpvsState {
  const connections = old
    ? state.connections.map((c) => (c === old ? next : c))
    : [...state.connections, next];
  return { ...state, connections };
}

/**
 * ip_vs_in_hook for one packet (net/netfilter/ipvs/ip_vs_core.c): the request direction of LVS-NAT.
 *
 * Where the walk calls it:
 *   - NF_INET_LOCAL_IN, priority NF_IP_PRI_NAT_SRC - 1 (99): after mangle and filter INPUT, before nat INPUT —
 *     for a packet whose route lookup said `local` (a VIP bound to kube-ipvs0, or a node IP for NodePorts);
 *   - NF_INET_LOCAL_OUT, priority NF_IP_PRI_NAT_DST + 2 (-98): after nat OUTPUT, before filter OUTPUT — for a
 *     packet a process on this host sends (hook: 'LOCAL_OUT').
 * Call ipvsOut first at the same hook (it runs one priority earlier) for packets that may be replies.
 *
 * Preconditions:
 *   - `pkt` is the packet as it stands at that point (after PREROUTING's and OUTPUT's NAT);
 *   - `state` is this walk's IPVS state for the namespace (start from emptyIpvsState());
 *   - packets IPVS itself re-sent (skb->ipvs_property) are not passed again.
 *
 * What the walk does with the result:
 *   - pass: continue as if IPVS were absent;
 *   - forward, local=false: rewrite the destination (and TTL) with applyIpvsRewrite; set the conntrack entry's
 *     reply tuple (see `conntrack`); stop this hook's traversal (NF_STOLEN) and re-send the packet through
 *     NF_INET_LOCAL_OUT (ip_vs_nat_send_or_cont): raw, mangle and filter OUTPUT run, nat OUTPUT does not (the
 *     entry's destination NAT was settled in PREROUTING/OUTPUT), IPVS's own hooks skip it; route to the real
 *     server (from the host's routing table), POSTROUTING (nat: KUBE-POSTROUTING may MASQUERADE), transmit;
 *   - forward, local=true: rewrite the destination, set the reply tuple, and continue this hook (nat INPUT,
 *     conntrack confirm) to the local socket on RIP:rport;
 *   - reject: send ICMP port unreachable (type 3 code 3) to the source, drop the packet;
 *   - ttl-exceeded: send ICMP time exceeded (type 11 code 0) to the source, drop the packet;
 *   - not-modelled: stop the walk with the reason.
 */
export function ipvsLocalIn(
  table: IpvsTable,
  pkt: IpvsPacket,
  state: IpvsState,
  options: IpvsInOptions = {},
): IpvsInResult {
  const protocol = PROTOCOL[pkt.proto];
  // ip_vs_in_hook: ICMP echo and other protocols IPVS does not balance go on (ICMP errors about a connection
  // are ip_vs_in_icmp's business: see ipvsOut, which handles the direction kube-proxy's walks need).
  if (!protocol || pkt.sport === null || pkt.dport === null)
    return {
      kind: 'pass',
      reason:
        pkt.proto === 'icmp'
          ? 'IPVS balances TCP, UDP and SCTP only: ICMP goes on to the local stack'
          : `IPVS has no protocol handler for ${pkt.proto}`,
      state,
    };
  const tuple: IpvsTuple = { protocol, src: pkt.src, sport: pkt.sport, dst: pkt.dst, dport: pkt.dport };
  const flags = pkt.tcpFlags ?? (protocol === 'TCP' ? 'S' : '');
  const isLocal = options.isLocal ?? (() => false);

  const existing = state.connections.find(
    (c) =>
      !c.template &&
      c.protocol === protocol &&
      c.caddr === pkt.src &&
      c.cport === pkt.sport &&
      c.vaddr === pkt.dst &&
      c.vport === pkt.dport,
  );
  let vs: IpvsVirtualServer | null;
  let realServer: IpvsRealServer | null;
  let by: 'scheduler' | 'pin' | 'template' | null = null;
  let template: 'new' | 'reused' | null = null;
  let next: IpvsState;
  let conn: IpvsConnection;
  if (existing) {
    vs = ipvsFindService(table, protocol, pkt.dst, pkt.dport);
    realServer = vs?.realServers.find((r) => r.ip === existing.daddr && r.port === existing.dport) ?? null;
    if (!vs || !realServer)
      return { kind: 'pass', reason: 'the connection’s virtual service or real server is gone', state };
    conn = { ...existing, ...nextState(existing, 'in', flags) };
    next = replaceConnection(state, existing, conn);
  } else {
    vs = ipvsFindService(table, protocol, pkt.dst, pkt.dport);
    if (!vs)
      return {
        kind: 'pass',
        reason: `no virtual service ${protocol} ${pkt.dst}:${pkt.dport}: the packet goes on to the local stack`,
        state,
      };
    // tcp_conn_schedule: only a SYN opens a connection (sloppy_tcp=0); anything else is left to the stack.
    if (protocol === 'TCP' && (!flags.includes('S') || flags.includes('R')))
      return {
        kind: 'pass',
        reason: `a TCP segment without SYN [${flags}] and no IPVS connection is not scheduled`,
        state,
      };
    const s = ipvsSchedule(table, tuple, state, { pin: options.pin ?? null });
    if (s.kind === 'no-service') return { kind: 'pass', reason: 'no virtual service', state };
    if (s.kind === 'not-modelled') return { kind: 'not-modelled', vs: s.vs, reason: s.reason, state };
    if (s.kind === 'no-destination')
      return {
        kind: 'reject',
        vs,
        icmp: { type: 3, code: 3 },
        reason: `${ipvsServiceKey(vs)} has no real server that takes connections: IPVS answers ICMP port unreachable (ip_vs_leave)`,
        state,
      };
    realServer = s.realServer;
    by = s.by;
    template = s.template;
    const fresh: IpvsConnection = {
      protocol,
      caddr: pkt.src,
      cport: pkt.sport,
      vaddr: pkt.dst,
      vport: pkt.dport,
      daddr: realServer.ip,
      dport: realServer.port,
      forward: realServer.forward,
      template: false,
      state: 'NONE',
      timeout: TCP_TIMEOUTS.NONE!,
    };
    conn = { ...fresh, ...nextState(fresh, 'in', flags) };
    next = replaceConnection(s.state, null, conn);
  }

  const local = realServer.forward === 'Local' || isLocal(realServer.ip);
  if (!local && pkt.ttl <= 1)
    return {
      kind: 'ttl-exceeded',
      vs,
      realServer,
      icmp: { type: 11, code: 0 },
      reason: `TTL ${pkt.ttl} would reach 0 on the way to ${realServer.ip}: ICMP time exceeded (decrement_ttl)`,
      state: next,
    };
  const ttl = local ? pkt.ttl : pkt.ttl - 1;
  const how =
    by === 'template'
      ? 'persistence template'
      : by === 'pin'
        ? 'pinned'
        : by === 'scheduler'
          ? `scheduler ${vs.scheduler}`
          : 'existing connection';
  return {
    kind: 'forward',
    vs,
    realServer,
    connection: conn,
    newConnection: !existing,
    by,
    template,
    rewrite: { dst: realServer.ip, dport: realServer.port, ttl },
    conntrack: { replySrc: realServer.ip, replySport: realServer.port },
    local,
    state: next,
    summary: `IPVS ${ipvsServiceKey(vs)} → ${realServer.ip}:${realServer.port} (${how}, ${realServer.forward}${local ? ', local' : `, ttl ${pkt.ttl} → ${ttl}`})`,
  };
}

export type IpvsOutResult =
  /** Not a reply of an IPVS connection: nothing to do. */
  | { readonly kind: 'pass'; readonly state: IpvsState }
  /** A reply (or an ICMP error about one): the source goes back to the virtual service. */
  | {
      readonly kind: 'un-nat';
      readonly connection: IpvsConnection;
      /**
       * The change for applyIpvsRewrite: the outer source becomes VIP (and, for TCP/UDP, the source port vport);
       * for an ICMP error the quoted packet's destination becomes VIP:vport (applyIpvsRewrite mirrors it).
       */
      readonly rewrite: { readonly src: Ip; readonly sport: number };
      readonly icmpError: boolean;
      readonly state: IpvsState;
      readonly summary: string;
    };

/**
 * ip_vs_out_hook (net/netfilter/ipvs/ip_vs_core.c): the reply direction of LVS-NAT. A packet from a real
 * server back to the client of an IPVS connection gets the virtual service's address and port as its source
 * ("un-NAT", handle_response → snat_handler); an ICMP error quoting such a connection is translated likewise
 * (ip_vs_out_icmp → ip_vs_nat_icmp).
 *
 * Where the walk calls it: NF_INET_FORWARD priority 100 (after filter FORWARD: the client is elsewhere, e.g. a
 * pod on this node); NF_INET_LOCAL_IN priority 98 (after filter INPUT, just before ipvsLocalIn: the client is
 * this host); NF_INET_LOCAL_OUT priority -99 (after nat OUTPUT: the real server is this host and answers).
 *
 * Preconditions: `pkt` is the packet at that point — after PREROUTING, where conntrack has already undone a
 * MASQUERADE (the destination is the client again).
 */
export function ipvsOut(pkt: IpvsPacket, state: IpvsState): IpvsOutResult {
  const q = pkt.quoted;
  const icmpError = pkt.proto === 'icmp' && q !== undefined;
  // The connection seen from the real server's side: source RIP:rport, destination CIP:cport (for an ICMP
  // error, the quoted packet went CIP:cport → RIP:rport).
  const look = icmpError
    ? { proto: q.proto, rip: q.dst, rport: q.dport, cip: q.src, cport: q.sport }
    : { proto: pkt.proto, rip: pkt.src, rport: pkt.sport, cip: pkt.dst, cport: pkt.dport };
  const protocol = PROTOCOL[look.proto];
  if (!protocol || look.rport === null || look.cport === null) return { kind: 'pass', state };
  const conn = state.connections.find(
    (c) =>
      !c.template &&
      c.forward === 'Masq' &&
      c.protocol === protocol &&
      c.daddr === look.rip &&
      c.dport === look.rport &&
      c.caddr === look.cip &&
      c.cport === look.cport,
  );
  if (!conn) return { kind: 'pass', state };
  const next = icmpError ? conn : { ...conn, ...nextState(conn, 'out', pkt.tcpFlags ?? '') };
  return {
    kind: 'un-nat',
    connection: next,
    rewrite: { src: conn.vaddr, sport: conn.vport },
    icmpError,
    state: replaceConnection(state, conn, next),
    summary: icmpError
      ? `IPVS: ICMP error about ${conn.caddr}:${conn.cport} → ${conn.daddr}:${conn.dport} now comes from ${conn.vaddr} (quoting ${conn.vaddr}:${conn.vport})`
      : `IPVS un-NAT: source ${conn.daddr}:${conn.dport} → ${conn.vaddr}:${conn.vport}`,
  };
}

/** The conntrack tuple IPVS leaves as the entry's reply after ip_vs_update_conntrack (for tests and traces). */
export function ipvsConntrackReply(original: Tuple, replySrc: Ip, replySport: number): Tuple {
  return {
    proto: original.proto,
    src: replySrc,
    dst: original.src,
    sport: original.proto === 'icmp' ? original.dport : replySport,
    dport: original.sport,
  };
}

// ---------------------------------------------------------------------------------------------------------
// ipvsadm's text.

const PROTO_NUMBER: Readonly<Record<IpvsProtocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/** C's `(int)(a - b)` of two unsigned 32-bit values, as libipvs compares addresses. */
function cmpU32(a: number, b: number): number {
  return ((a - b) | 0) >> 0;
}

/** libipvs ipvs_cmp_services (fwmark, family, protocol, address, port), with its 32-bit subtraction. */
function cmpServices(a: IpvsVirtualServer, b: IpvsVirtualServer): number {
  return (
    PROTO_NUMBER[a.protocol] - PROTO_NUMBER[b.protocol] ||
    cmpU32(ipToInt(a.address), ipToInt(b.address)) ||
    a.port - b.port
  );
}

/** libipvs ipvs_cmp_dests (address, port). */
function cmpDests(a: IpvsRealServer, b: IpvsRealServer): number {
  return cmpU32(ipToInt(a.ip), ipToInt(b.ip)) || a.port - b.port;
}

/** A stable merge sort (glibc's qsort is one when memory allows), so the subtraction's quirks stay stable. */
function mergeSort<T>(items: readonly T[], cmp: (a: T, b: T) => number): T[] {
  if (items.length <= 1) return [...items];
  const mid = items.length >> 1;
  const a = mergeSort(items.slice(0, mid), cmp);
  const b = mergeSort(items.slice(mid), cmp);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(cmp(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!);
  return out.concat(a.slice(i), b.slice(j));
}

const pad = (s: string | number, n: number): string => `${s}`.padEnd(n);

function schedFlagsText(vs: IpvsVirtualServer): string {
  const f = vs.flags;
  const names: string[] = [];
  if (vs.scheduler === 'sh' || vs.scheduler === 'mh') {
    if (f & IPVS_SVC_FLAGS.sched1) names.push(`${vs.scheduler}-fallback`);
    if (f & IPVS_SVC_FLAGS.sched2) names.push(`${vs.scheduler}-port`);
  } else {
    if (f & IPVS_SVC_FLAGS.sched1) names.push('flag-1');
    if (f & IPVS_SVC_FLAGS.sched2) names.push('flag-2');
    if (f & IPVS_SVC_FLAGS.sched3) names.push('flag-3');
  }
  return names.join(',');
}

/**
 * `ipvsadm -Ln` (list_all with FMT_NUMERIC): the version line, the title, every service sorted as libipvs
 * sorts them, each with its real servers sorted by address and port. ActiveConn/InActConn are the table's
 * counters plus the walk's connections in `state` (ESTABLISHED TCP ones are active, the rest inactive, as
 * ip_vs_bind_dest and set_tcp_state count them). The trailing blanks of `%-10u` are kept.
 *
 * The order: libipvs compares addresses with a signed 32-bit subtraction, which wraps for addresses more than
 * 2^31 apart (10.x sorts after 192.168.x); real ipvsadm then depends on the kernel's hash order, which is not
 * modelled — here the table's order goes into the same stable merge sort.
 */
export function formatIpvsadmList(table: IpvsTable, state: IpvsState = emptyIpvsState()): string {
  const out = [
    `IP Virtual Server version 1.2.1 (size=${table.connTabSize})`,
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  for (const vs of mergeSort(table.services, cmpServices)) {
    let line = `${pad(vs.protocol, 4)} ${vs.address}:${vs.port}`.slice(0, 33) + ` ${vs.scheduler}`;
    const sf = schedFlagsText(vs);
    if (sf) line += ` (${sf})`;
    if (vs.flags & IPVS_SVC_FLAGS.persistent) {
      line += ` persistent ${vs.timeout}`;
      if (vs.netmask !== '255.255.255.255') line += ` mask ${vs.netmask}`;
    }
    if (vs.flags & IPVS_SVC_FLAGS.onePacket) line += ' ops';
    out.push(line);
    const load = loadOf(vs, state);
    const rows = vs.realServers.map((rs, i) => ({ rs, load: load[i]! }));
    for (const { rs, load: l } of mergeSort(rows, (a, b) => cmpDests(a.rs, b.rs)))
      out.push(
        `  -> ${pad(`${rs.ip}:${rs.port}`.slice(0, 28), 28)} ${pad(rs.forward, 7)} ${pad(rs.weight, 6)} ${pad(l.active, 10)} ${pad(l.inact, 10)}`,
      );
  }
  return `${out.join('\n')}\n`;
}

const FWD_SWITCH: Readonly<Record<IpvsForward, string>> = {
  Masq: '-m',
  Tunnel: '-i',
  Local: '-g',
  Route: '-g',
};
const SERVICE_SWITCH: Readonly<Record<IpvsProtocol, string>> = {
  TCP: '-t',
  UDP: '-u',
  SCTP: '--sctp-service',
};

/** `ipvsadm -Sn` (FMT_RULE): `-A -t VIP:port -s rr [-p T]` and `-a -t VIP:port -r RIP:port -m -w 1` lines. */
export function formatIpvsadmSave(table: IpvsTable): string {
  const out: string[] = [];
  for (const vs of mergeSort(table.services, cmpServices)) {
    const svc = `${SERVICE_SWITCH[vs.protocol]} ${vs.address}:${vs.port}`;
    let line = `-A ${svc} -s ${vs.scheduler}`;
    if (vs.flags & IPVS_SVC_FLAGS.persistent) {
      line += ` -p ${vs.timeout}`;
      if (vs.netmask !== '255.255.255.255') line += ` -M ${vs.netmask}`;
    }
    if (vs.flags & IPVS_SVC_FLAGS.onePacket) line += ' -o';
    const sf = schedFlagsText(vs);
    if (sf) line += ` -b ${sf}`;
    out.push(line);
    for (const rs of mergeSort(vs.realServers, cmpDests))
      out.push(`-a ${svc} -r ${rs.ip}:${rs.port} ${FWD_SWITCH[rs.forward]} -w ${rs.weight}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/**
 * `ipvsadm -Lnc` (list_conn, print_conn): the connection table, templates included, in creation order (the
 * kernel lists its hash buckets; the order is not modelled). `expire` is the full timeout of the state: the
 * walk has no clock.
 */
export function formatIpvsConnections(state: IpvsState): string {
  const out = [
    'IPVS connection entries',
    `pro expire ${pad('state', 11)} ${pad('source', 18)} ${pad('virtual', 18)} destination`,
  ];
  for (const c of state.connections) {
    const expire = `${String(Math.floor(c.timeout / 60)).padStart(2, '0')}:${String(c.timeout % 60).padStart(2, '0')}`;
    out.push(
      `${pad(c.protocol, 3)} ${pad(expire, 6)} ${pad(c.state, 11)} ${pad(`${c.caddr}:${c.cport}`, 18)} ${pad(`${c.vaddr}:${c.vport}`, 18)} ${c.daddr}:${c.dport}`,
    );
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// ipsets.

export type IpsetType =
  'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'hash:net' | 'bitmap:port';

/** The kinds of the dimensions of each set type, in order. */
const DIMENSIONS: Readonly<Record<IpsetType, readonly ('ip' | 'port' | 'net')[]>> = {
  'hash:ip': ['ip'],
  'hash:ip,port': ['ip', 'port'],
  'hash:ip,port,ip': ['ip', 'port', 'ip'],
  'hash:ip,port,net': ['ip', 'port', 'net'],
  // weave's weaver-no-masq-local (net/bridge.go: ipset.HashNet).
  'hash:net': ['net'],
  'bitmap:port': ['port'],
};

export interface IpsetSet {
  readonly name: string;
  readonly type: IpsetType;
  /** Hash sets: `family inet hashsize 1024 maxelem 65536` (kube-proxy's defaults, pkg/proxy/ipvs/ipset). */
  readonly hashsize?: number;
  readonly maxelem?: number;
  /** bitmap:port: `range 0-65535`. */
  readonly range?: { readonly from: number; readonly to: number };
  /** Entries as `ipset add` takes them (kube-proxy's Entry.String()): `10.96.0.10,tcp:53`, `30080`, … */
  readonly entries: readonly string[];
  /** What kube-proxy uses it for (kube-proxy's comment text; not an ipset option it sets). */
  readonly comment?: string;
  /** "Size in memory" to print; without it listing prints an estimate (see formatIpsetList). */
  readonly memsize?: number;
}

type ParsedEntry = readonly (
  | { readonly kind: 'ip'; readonly ip: number }
  | { readonly kind: 'port'; readonly proto: string; readonly port: number }
  | { readonly kind: 'net'; readonly net: number; readonly prefix: number }
)[];

const PARSED = new WeakMap<IpsetSet, ParsedEntry[]>();

/** Parses one entry of a set of `type` (throws on a malformed entry). */
export function parseIpsetEntry(type: IpsetType, text: string): ParsedEntry {
  const dims = DIMENSIONS[type];
  const parts = text.split(',');
  if (parts.length !== dims.length) throw new Error(`"${text}" is not a ${type} entry`);
  return dims.map((d, i) => {
    const part = parts[i]!;
    try {
      if (d === 'ip') return { kind: 'ip', ip: ipToInt(parseIp(part)) } as const;
      if (d === 'net') {
        const c = parseCidr(part.includes('/') ? part : `${part}/32`);
        return { kind: 'net', net: ipToInt(c.ip), prefix: c.prefix } as const;
      }
    } catch (e) {
      if (e instanceof AddrError) throw new Error(`"${text}": ${e.message}`, { cause: e });
      throw e;
    }
    // A port: `proto:port` in hash sets (tcp is the default protocol), a bare number in bitmap:port.
    const m = /^(?:(tcp|udp|sctp|udplite|icmp):)?(\d+)$/.exec(part);
    if (!m || Number(m[2]) > 65535) throw new Error(`"${text}": "${part}" is not a [proto:]port`);
    return {
      kind: 'port',
      proto: type === 'bitmap:port' ? '' : (m[1] ?? 'tcp'),
      port: Number(m[2]),
    } as const;
  });
}

function parsedEntries(set: IpsetSet): ParsedEntry[] {
  let p = PARSED.get(set);
  if (!p) PARSED.set(set, (p = set.entries.map((e) => parseIpsetEntry(set.type, e))));
  return p;
}

/** A packet value from netfilter (PacketView.ipsetMatch): `addr,proto:port` or `addr,proto`. */
function parseValue(v: string): { ip: number; proto: string; port: number | null } | null {
  const m = /^(\d+\.\d+\.\d+\.\d+),([a-z]+)(?::(\d+))?$/.exec(v);
  if (!m) return null;
  return { ip: ipToInt(m[1]!), proto: m[2]!, port: m[3] === undefined ? null : Number(m[3]) };
}

/**
 * xt_set's test (ip_set_test → the type's kadt): is the packet, as the match's flags select it, in `set`?
 * `values[i]` is the i-th flag's side (`addr,proto:port`). Fewer values than the set has dimensions never match
 * (ip_set_test checks opt->dim); extra values are ignored. A port dimension matches only TCP, UDP and SCTP
 * packets whose protocol and port are those of the entry (bitmap:port: TCP and UDP, any protocol's entry, as
 * ip_set_get_ip_port allows); an ICMP packet never matches one here.
 */
export function ipsetMatchPacket(set: IpsetSet, values: readonly string[]): boolean {
  const dims = DIMENSIONS[set.type];
  if (values.length < dims.length) return false;
  const vals = values.slice(0, dims.length).map(parseValue);
  if (vals.some((v) => v === null)) return false;
  return parsedEntries(set).some((entry) =>
    entry.every((e, i) => {
      const v = vals[i]!;
      switch (e.kind) {
        case 'ip':
          return v.ip === e.ip;
        case 'net':
          return (v.ip & maskBits(e.prefix)) >>> 0 === e.net;
        case 'port':
          if (v.port === null || v.port !== e.port) return false;
          return set.type === 'bitmap:port' ? v.proto === 'tcp' || v.proto === 'udp' : v.proto === e.proto;
      }
    }),
  );
}

function maskBits(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** `ipset test SET ENTRY`: is `entry` in the set (for hash:ip,port,net an address in the net position tests
 *  containment, as the kernel does for a host entry)? */
export function ipsetTest(set: IpsetSet, entry: string): boolean {
  const want = parseIpsetEntry(set.type, entry);
  return parsedEntries(set).some((e) =>
    e.every((d, i) => {
      const w = want[i]!;
      if (d.kind === 'ip' && w.kind === 'ip') return d.ip === w.ip;
      if (d.kind === 'port' && w.kind === 'port') return d.port === w.port && d.proto === w.proto;
      if (d.kind === 'net' && w.kind === 'net')
        return w.prefix >= d.prefix && (w.net & maskBits(d.prefix)) >>> 0 === d.net;
      return false;
    }),
  );
}

/** The PacketView.ipsetMatch of a namespace with these sets (an unknown set name never matches: the kernel
 *  would not have loaded a rule naming it). */
export function ipsetMatcher(
  sets: readonly IpsetSet[],
): (name: string, values: readonly string[]) => boolean {
  const byName = new Map(sets.map((s) => [s.name, s]));
  return (name, values) => {
    const set = byName.get(name);
    return set !== undefined && ipsetMatchPacket(set, values);
  };
}

/** Kernel header and revision of each type, as Linux 5.15 with ipset 7.15 (e.g. Ubuntu 22.04) report them. */
const REVISIONS: Readonly<Record<IpsetType, number>> = {
  'hash:ip': 5,
  'hash:ip,port': 6,
  'hash:ip,port,ip': 6,
  'hash:ip,port,net': 8,
  'hash:net': 7,
  'bitmap:port': 3,
};
/** The kernel's element sizes (struct hash_*4_elem, bytes), for the memory estimate. */
const ELEM_SIZE: Readonly<Record<IpsetType, number>> = {
  'hash:ip': 4,
  'hash:ip,port': 8,
  'hash:ip,port,ip': 12,
  'hash:ip,port,net': 16,
  'hash:net': 8,
  'bitmap:port': 0,
};

/** A stable stand-in for the random `initval` a hash set gets at creation (FNV-1a of its name). */
function initvalOf(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return `0x${h.toString(16).padStart(8, '0')}`;
}

function sortEntries(set: IpsetSet): string[] {
  const key = (e: ParsedEntry): number[] =>
    e.flatMap((d) =>
      d.kind === 'ip' ? [d.ip] : d.kind === 'net' ? [d.net, d.prefix] : [d.proto.charCodeAt(0) || 0, d.port],
    );
  const rows = set.entries.map((text) => ({ text, key: key(parseIpsetEntry(set.type, text)) }));
  rows.sort((a, b) => {
    for (let i = 0; i < Math.min(a.key.length, b.key.length); i++)
      if (a.key[i] !== b.key[i]) return a.key[i]! - b.key[i]!;
    return 0;
  });
  return rows.map((r) => r.text);
}

/** A member line as `ipset list` prints it: a /32 net without its prefix (ipset_print_ip). */
function memberText(set: IpsetSet, entry: string): string {
  if (set.type !== 'hash:ip,port,net' && set.type !== 'hash:net') return entry;
  return entry.replace(/\/32$/, '');
}

/**
 * `ipset list` (plain output, lib/session.c list_create + list_adt): per set `Name:`, `Type:`, `Revision:`,
 * `Header:`, `Size in memory:`, `References:`, `Number of entries:`, `Members:` and one line per member; a
 * blank line between sets. Members are printed sorted (as `ipset list -sorted`: the kernel's own order is its
 * hash order). `references` counts the iptables rules naming each set (ipsetReferences). Not the kernel's own
 * numbers: `Revision` and the `bucketsize 12 initval 0x…` header are those of Linux 5.15 + ipset 7.15, the
 * initval (random in the kernel) is a stable stand-in, and `Size in memory` is an estimate unless the set
 * carries `memsize`.
 */
export function formatIpsetList(
  sets: readonly IpsetSet[],
  references: Readonly<Record<string, number>> = {},
): string {
  const blocks = sets.map((set) => {
    const hash = set.type !== 'bitmap:port';
    const header = hash
      ? `family inet hashsize ${set.hashsize ?? 1024} maxelem ${set.maxelem ?? 65536} bucketsize 12 initval ${initvalOf(set.name)}`
      : `range ${set.range?.from ?? 0}-${set.range?.to ?? 65535}`;
    const n = set.entries.length;
    const range = set.range ?? { from: 0, to: 65535 };
    const memsize =
      set.memsize ??
      (hash ? 200 + n * (16 + 4 * ELEM_SIZE[set.type]) : 72 + Math.ceil((range.to - range.from + 1) / 8));
    return [
      `Name: ${set.name}`,
      `Type: ${set.type}`,
      `Revision: ${REVISIONS[set.type]}`,
      `Header: ${header}`,
      `Size in memory: ${memsize}`,
      `References: ${references[set.name] ?? 0}`,
      `Number of entries: ${n}`,
      'Members:',
      ...sortEntries(set).map((e) => memberText(set, e)),
    ].join('\n');
  });
  return blocks.length === 0 ? '' : `${blocks.join('\n\n')}\n`;
}

/** How many rules name each set in a `-m set` match: the `References:` the kernel counts (each rule that loads
 *  xt_set with a set takes one reference; deleted chains are not counted). */
export function ipsetReferences(ruleset: Ruleset): Record<string, number> {
  const out: Record<string, number> = {};
  for (const chains of ruleset.values())
    for (const chain of chains.values()) {
      if (chain.deleted) continue;
      for (const rule of chain.rules)
        for (const m of rule.matches) if (m.kind === 'set') out[m.name] = (out[m.name] ?? 0) + 1;
    }
  return out;
}
