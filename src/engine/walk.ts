// The packet walker: sends one packet and follows it through every namespace's stack, the way the kernel
// would, recording located events (Batfish's FlowTracer). It only *reads* the world's tables; whatever a
// real network would learn on the way (ARP answers, bridge FDB entries) lives in this walk's WalkContext.
//
// The per-namespace pipeline (net/ipv4/ip_input.c, ip_forward.c, ip_output.c; net/bridge/br_input.c):
//
//   receive(dev) ─▶ bridge port? ─▶ bridgeInput ─▶ fdb: port ─▶ transmit(port)
//        │                              └─▶ for the bridge itself ─▶ ipReceive(bridge)
//        └─▶ ipReceive ─▶ [PREROUTING] ─▶ route lookup ─┬─ local ─▶ [INPUT] ─▶ socket / VXLAN decap
//                                                       └─ forward ─▶ TTL-1 ─▶ [FORWARD] ─▶ ipOutput
//   socket ─▶ ipLocalOut ─▶ route lookup ─▶ [OUTPUT] ─▶ ipOutput
//   ipOutput ─▶ [POSTROUTING] ─▶ MTU check ─▶ neighbour ─▶ transmit(dev) ─▶ veth peer | bridge | VXLAN | wire
//
// Netfilter hooks are marked here; the Services issue fills them. Legs: the request, then the reply of the
// process that got it (or an ICMP error some router sent back), each ending in one verdict.
import { BROADCAST_MAC, cidrContains, cidrOf, formatCidr, isIp, parseIp, type Ip, type Mac } from './addr.ts';
import { cniCommandOf, cniWalk } from './cniWalk.ts';
import { arpAnswerer } from './neigh.ts';
import type { LearnedNeigh } from './neigh.ts';
import type { NetnsId } from './netops.ts';
import {
  IPV4_HEADER_LEN,
  UDP_HEADER_LEN,
  VXLAN_HEADER_LEN,
  ICMP_HEADER_LEN,
  frameLength,
  l4HeaderLength,
  stripEth,
  withEth,
  type Frame,
  type IcmpHeader,
  type IpPacket,
  type Ipv4Header,
  type L4Header,
} from './packet.ts';
import { ConntrackTable } from './conntrack.ts';
import type { Hook } from './netfilter.ts';
import { leaveNamespace, runHook, type HookContext, type HookOutcome } from './hooks.ts';
import { formatRoute, type Route } from './route.ts';
import {
  TRACE_FORMAT_VERSION,
  type Decision,
  type Flow,
  type LegKind,
  type Resolution,
  type LegSummary,
  type Trace,
  type TraceEvent,
  type Verdict,
  type VerdictKind,
  type Where,
} from './trace.ts';
import { EngineError, type Device, type Netns, type World } from './world.ts';
import {
  dnsMessageLength,
  formatRdata,
  formatRecord,
  makeQuery,
  validateDnsName,
  type DnsMessage,
} from './dns.ts';
import { answerQuery, dnsServerIn, type DnsServer, type ServerAnswer } from './dnsServers.ts';
import {
  afterAnswer,
  formatResolvConf,
  nodeResolvConf,
  podResolvConf,
  resolverOptions,
  searchCandidates,
  type ResolverSetup,
} from './resolver.ts';
import type { ClusterModel, PodModel } from '../scenario/model.ts';
import {
  evaluateEgress,
  evaluateIngress,
  policiesSelecting,
  policyEndpoint,
  type PolicyVerdict,
} from './netpol.ts';

export interface WalkSpec {
  /** pod/<ns>/<name>, a unique pod name, node/<name>, host/<name>, or an IP one of them owns. */
  readonly from: string;
  /** An IP, IP:port, or a reference as for `from`, optionally with :port. */
  readonly to: string;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  /** Payload bytes after the L4 header. Default 0 for TCP (a SYN), 32 for UDP, 56 for ICMP (ping's default). */
  readonly size?: number;
  /** Seeds every choice the walk makes (the source port, kube-proxy's random endpoint). Same seed, same trace. */
  readonly seed?: number;
  /** Pins kube-proxy's random endpoint choice to this endpoint ("ip:port"). */
  readonly pin?: string;
}

/** Linux's default net.ipv4.ip_default_ttl. */
const DEFAULT_TTL = 64;
/** Linux's default net.ipv4.ip_local_port_range, from which the source port and VXLAN's outer port come. */
const EPHEMERAL_LOW = 32768;
const EPHEMERAL_HIGH = 60999;
/** A guard against forwarding loops that no TTL stops (bridged loops): far above any real path's length. */
const MAX_EVENTS_PER_LEG = 2000;

class WalkBudgetExceeded extends Error {}

/** What the walk learns as it goes: the kernel state a real packet would leave behind. */
class WalkContext implements HookContext {
  readonly events: TraceEvent[] = [];
  private readonly tables = new Map<string, ConntrackTable>();
  private ctIds = 0;
  readonly transit: HookContext['transit'] = new Map();
  readonly recent: HookContext['recent'] = new Map();
  readonly ipvs: HookContext['ipvs'] = new Map();
  leg = 0;
  private legStart = 0;
  readonly neigh = new Map<string, LearnedNeigh>();
  readonly fdb = new Map<string, string>();
  /** Set when a process received the packet (the reply leg starts from here). */
  delivery: { ns: Netns; packet: IpPacket; listening: boolean } | null = null;
  /** The request, once sent: a packet coming back to its source with the reversed tuple is for its socket. */
  request: IpPacket | null = null;
  /** Set when a router, a host or a REJECT rule decided to answer with an ICMP error (or a TCP reset). */
  icmpError: { ns: Netns; packet: IpPacket } | null = null;

  constructor(
    readonly world: World,
    private readonly onEvent: ((e: TraceEvent) => void) | undefined,
    readonly random: () => number,
    readonly pin: string | null,
  ) {}

  conntrack(ns: Netns): ConntrackTable {
    let t = this.tables.get(ns.id);
    if (!t) {
      this.tables.set(ns.id, (t = new ConntrackTable(ns.id, () => ++this.ctIds)));
      // A node with pasted `conntrack -L` output starts with those connections.
      if (ns.pasted) t.preload(ns.pasted.conntrack);
    }
    return t;
  }

  startLeg(kind: LegKind, ns: Netns, packet: IpPacket, summary: string): void {
    this.legStart = this.events.length;
    this.emit({ type: 'leg', kind, at: where(ns), summary, packet });
  }

  emit(e: DistributiveOmit<TraceEvent, 'seq' | 'leg'>): void {
    // The verdict that ends a runaway leg must still be recorded, so it is exempt from the budget.
    if (e.type !== 'verdict' && this.events.length - this.legStart > MAX_EVENTS_PER_LEG)
      throw new WalkBudgetExceeded();
    const full = { ...e, seq: this.events.length, leg: this.leg } as TraceEvent;
    this.events.push(full);
    this.onEvent?.(full);
  }

  decide(ns: Netns, decision: Decision, summary: string, packet: Frame | IpPacket): void {
    this.emit({ type: 'decide', at: where(ns), decision, summary, packet });
  }

  observe(ns: Netns, dev: Device, direction: 'in' | 'out', packet: Frame): void {
    this.emit({ type: 'observe', at: where(ns), device: dev.name, direction, packet });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function where(ns: Netns): Where {
  return { node: ns.node, netns: ns.id };
}

/** The result of pushing a packet one step further: a verdict, or "not for this host" for flooded copies. */
type Outcome = Verdict | { readonly kind: 'ignored' };

function verdict(kind: VerdictKind, ns: Netns, reason: string): Verdict {
  return { kind, at: where(ns), reason };
}

// ───────────────────────────── references ─────────────────────────────

export interface ResolvedRef {
  readonly netns: NetnsId;
  readonly ip: Ip | null;
  readonly port: number | null;
}

/** Resolves a walk reference against the world. Throws EngineError with a readable message. */
export function resolveRef(world: World, text: string, allowPort: boolean): ResolvedRef {
  let ref = text.trim();
  let port: number | null = null;
  const m = /^(.*):(\d{1,5})$/.exec(ref);
  if (m && allowPort) {
    ref = m[1]!;
    port = Number(m[2]);
    if (port < 1 || port > 65535) throw new EngineError(`"${text}": port must be 1-65535`);
  }
  if (isIp(ref)) {
    const ip = parseIp(ref);
    const owner = world.plan.addressOwners.get(ip);
    return { netns: owner?.netns ?? '', ip, port };
  }
  const owner = world.plan.refs(ref);
  if (!owner)
    throw new EngineError(`"${ref}" is not a pod, service, node, host or IPv4 address of this scenario`);
  return { netns: owner.netns, ip: owner.ip, port };
}

// ───────────────────────────── the walk ─────────────────────────────

/** Walks a packet from `spec.from` to `spec.to` and returns the whole trace (streaming each event). When `to`
 *  is a DNS name, the source's resolver looks it up first: each query and answer is a leg of its own. */
export function walk(world: World, spec: WalkSpec, onEvent?: (e: TraceEvent) => void): Trace {
  // `from: cni/add` / `cni/del`: the pod's CNI ADD or DEL, step by step, instead of a packet (cniWalk.ts).
  if (cniCommandOf(spec.from)) return cniWalk(world, spec, onEvent);
  const seed = spec.seed ?? 1;
  const rng = mulberry32(seed);
  const from = resolveRef(world, spec.from, false);
  if (!from.netns) throw new EngineError(`"${spec.from}": no namespace of this scenario owns that address`);
  const name = dnsNameTarget(spec.to);
  const to = name ? null : resolveRef(world, spec.to, true);
  if (to && !to.ip) throw new EngineError(`"${spec.to}" has no IP address to send to`);
  const dport = name ? name.port : to!.port;
  if (spec.protocol !== 'icmp' && dport === null)
    throw new EngineError(`"${spec.to}": a ${spec.protocol} walk needs a port (ip:port)`);
  if (spec.protocol === 'icmp' && name?.port != null)
    throw new EngineError(`"${spec.to}": an ICMP walk has no port`);

  const ctx = new WalkContext(world, onEvent, rng, spec.pin ?? null);
  const srcNs = world.netns(from.netns);
  const legs: LegSummary[] = [];
  const runLeg: RunLeg = (kind, ns, packet, summary, extra = {}) => {
    ctx.delivery = null;
    ctx.icmpError = null;
    ctx.transit.clear();
    ctx.startLeg(kind, ns, packet, summary);
    extra.afterStart?.();
    let v: Verdict;
    try {
      const o = ipLocalOut(ctx, ns, packet, true);
      v = o.kind === 'ignored' ? verdict('dropped', ns, 'no host accepted the frame') : o;
    } catch (e) {
      if (!(e instanceof WalkBudgetExceeded)) throw e;
      v = verdict('loop', ns, `more than ${MAX_EVENTS_PER_LEG} steps: the packet is looping`);
    }
    if (extra.finish) v = extra.finish(v);
    const last = ctx.events[ctx.events.length - 1];
    ctx.emit({ type: 'verdict', verdict: v, packet: last && 'packet' in last ? last.packet : packet });
    legs.push({ kind, verdict: v });
    ctx.leg++;
    return v;
  };

  let dst: Ip;
  let resolution: Resolution | undefined;
  if (name) {
    resolution = resolveName(ctx, runLeg, srcNs, spec.from, name.name, rng);
    if (resolution.address === null) {
      const flow: Flow = {
        protocol: spec.protocol,
        src: from.ip ?? '0.0.0.0',
        dst: '0.0.0.0',
        sport: null,
        dport,
      };
      return {
        version: TRACE_FORMAT_VERSION,
        from: spec.from,
        to: spec.to,
        resolution,
        flow,
        seed,
        events: ctx.events,
        legs,
      };
    }
    dst = resolution.address;
  } else {
    dst = to!.ip!;
  }

  const sport =
    spec.protocol === 'icmp'
      ? null
      : EPHEMERAL_LOW + Math.floor(rng() * (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1));
  const l4: L4Header =
    spec.protocol === 'tcp'
      ? { kind: 'tcp', sport: sport!, dport: dport!, flags: 'S' }
      : spec.protocol === 'udp'
        ? { kind: 'udp', sport: sport!, dport: dport! }
        : { kind: 'icmp', type: 8, code: 0, id: Math.floor(rng() * 65536), seq: 1 };
  const payload = spec.size ?? (spec.protocol === 'tcp' ? 0 : spec.protocol === 'udp' ? 32 : 56);
  // An unbound socket gets its source address from the route (ip_route_connect); a walk from an IP is bound.
  const bound = isIp(spec.from.trim());
  const src = (bound ? from.ip : sourceFor(srcNs, dst)) ?? from.ip ?? '0.0.0.0';
  const request: IpPacket = {
    ip: {
      src,
      dst,
      ttl: DEFAULT_TTL,
      protocol: spec.protocol,
      df: true,
      length: IPV4_HEADER_LEN + l4HeaderLength(l4) + payload,
    },
    l4,
  };
  const flow: Flow = { protocol: spec.protocol, src: request.ip.src, dst: request.ip.dst, sport, dport };

  ctx.request = request;
  runLeg('request', srcNs, request, `${spec.protocol} ${describeEnds(request)} from ${srcNs.id}`);

  // The answer: from the process that received the request, or the ICMP error a router sent back.
  const delivery = ctx.delivery as WalkContext['delivery'];
  const icmpError = ctx.icmpError as WalkContext['icmpError'];
  if (delivery) {
    const reply = replyTo(delivery.packet, delivery.listening, rng);
    if (reply) {
      const kind: LegKind = reply.l4.kind === 'icmp' && reply.l4.type === 3 ? 'icmp-error' : 'reply';
      runLeg(kind, delivery.ns, reply, `${describeReply(reply)} from ${delivery.ns.id}`);
    }
  } else if (icmpError) {
    runIcmpErrorLeg(runLeg, icmpError);
  }

  return {
    version: TRACE_FORMAT_VERSION,
    from: spec.from,
    to: spec.to,
    ...(resolution ? { resolution } : {}),
    flow,
    seed,
    events: ctx.events,
    legs,
  };
}

type RunLeg = (
  kind: LegKind,
  ns: Netns,
  packet: IpPacket,
  summary: string,
  extra?: { afterStart?: () => void; finish?: (v: Verdict) => Verdict },
) => Verdict;

/** The ICMP error (or TCP reset) a router, host or REJECT rule sent back, as a leg of its own. */
function runIcmpErrorLeg(runLeg: RunLeg, icmpError: { ns: Netns; packet: IpPacket }): Verdict {
  return runLeg(
    icmpError.packet.l4.kind === 'tcp' ? 'reply' : 'icmp-error',
    icmpError.ns,
    icmpError.packet,
    icmpError.packet.l4.kind === 'tcp'
      ? `TCP reset from ${icmpError.ns.id} (REJECT --reject-with tcp-reset) to ${icmpError.packet.ip.dst}`
      : `ICMP ${describeIcmpShort(icmpError.packet.l4 as IcmpHeader)} from ${icmpError.ns.id} to ${icmpError.packet.ip.dst}`,
  );
}

// ───────────────────────────── name resolution ─────────────────────────────

/** The stub resolver walks model: glibc's (musl's differences are in resolver.ts and the docs). */
const STUB_RESOLVER = 'glibc' as const;
const DNS_PORT = 53;

/** `to` as a DNS name: no kind/ prefix and not an address (db-service, api.prod:8080, example.com.). */
function dnsNameTarget(text: string): { name: string; port: number | null } | null {
  let body = text.trim();
  let port: number | null = null;
  const m = /^(.*):(\d{1,5})$/.exec(body);
  if (m) {
    body = m[1]!;
    port = Number(m[2]);
  }
  if (body.includes('/') || body.includes(':') || /^[\d.]+$/.test(body)) return null;
  if (port !== null && (port < 1 || port > 65535)) throw new EngineError(`"${text}": port must be 1-65535`);
  const problem = validateDnsName(body);
  if (problem) throw new EngineError(`"${body.length > 60 ? `${body.slice(0, 60)}…` : body}": ${problem}`);
  return { name: body, port };
}

/** The resolv.conf the sending process reads: its pod's (as kubelet wrote it), else its node's. */
function resolverSetupFor(model: ClusterModel, srcNs: Netns, fromText: string): ResolverSetup {
  const ref = fromText.trim();
  const named = ref.startsWith('pod/') ? ref.slice(4) : ref;
  const [a, b] = named.split('/');
  const pod =
    model.pods.find((p) => !p.hostNetwork && `pod/${p.namespace}/${p.name}` === srcNs.id) ??
    model.pods.find((p) => (b === undefined ? p.name === a : p.namespace === a && p.name === b));
  if (pod && (srcNs.kind === 'pod' || pod.hostNetwork)) return podResolvConf(model, pod);
  if (srcNs.kind === 'node') return nodeResolvConf(model);
  return {
    conf: model.nodeResolvConf,
    why: 'a host outside the cluster: its resolv.conf names the same resolver as the nodes’',
  };
}

interface Served {
  readonly ns: Netns;
  readonly packet: IpPacket;
  readonly server: DnsServer;
  readonly answer: ServerAnswer;
}

function udpDns(src: Ip, sport: number, dst: Ip, dport: number, dns: DnsMessage): IpPacket {
  return {
    ip: {
      src,
      dst,
      ttl: DEFAULT_TTL,
      protocol: 'udp',
      // Linux sets DF on UDP when path MTU discovery is on (ip_no_pmtu_disc=0, IP_PMTUDISC_WANT).
      df: true,
      length: IPV4_HEADER_LEN + UDP_HEADER_LEN + dnsMessageLength(dns),
    },
    l4: { kind: 'udp', sport, dport },
    dns,
  };
}

function ephemeralPort(rng: () => number): number {
  return EPHEMERAL_LOW + Math.floor(rng() * (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1));
}

/** The address an answer gives for the name: the first A record (after any CNAMEs it follows). */
function addressIn(m: DnsMessage): Ip | null {
  for (const rr of m.answer) if (rr.type === 'A' && 'address' in rr.data) return rr.data.address as Ip;
  return null;
}

function dnsDecision(server: string, query: DnsMessage, r: ServerAnswer): Decision {
  const q = query.question[0];
  const question = q ? `${q.name} IN ${q.type}` : '(no question)';
  if (r.kind === 'forward')
    return {
      kind: 'dns',
      server,
      question,
      rcode: null,
      answer: [],
      authority: [],
      steps: r.steps,
      forwardTo: r.upstream,
    };
  return {
    kind: 'dns',
    server,
    question,
    rcode: r.response.rcode,
    answer: r.response.answer.map(formatRecord),
    authority: r.response.authority.map(formatRecord),
    steps: r.steps,
    forwardTo: null,
  };
}

/** Why a server forwards: the name is not its zone's, or (the kubernetes plugin chasing an ExternalName's
 *  CNAME, CoreDNS backend_lookup.go) the name is its zone's but the CNAME target is not. */
function forwardWhy(server: string, candidate: string, query: DnsMessage, upstream: Ip): string {
  const asked = query.question[0]?.name ?? candidate;
  if (asked.toLowerCase() === candidate.toLowerCase())
    return `${server}: ${candidate} is not its zone's, forward to ${upstream}`;
  return `${server}: ${candidate} is a CNAME to ${asked} (an ExternalName Service), which is not its zone's: forward A? ${asked} to ${upstream}`;
}

function describeAnswer(m: DnsMessage): string {
  if (m.rcode !== 'NOERROR') return m.rcode;
  if (m.answer.length === 0) return 'NOERROR, no records (NODATA)';
  return m.answer.map((rr) => `${rr.type} ${formatRdata(rr)}`).join(', ');
}

/**
 * getaddrinfo(name) in the sending process: glibc's search-list loop (resolver.ts), each attempt a UDP query
 * for A to the first nameserver and its answer, walked through the network like any packet (kube-proxy
 * DNATs the kube-dns ClusterIP to a CoreDNS pod; conntrack un-DNATs the answer). CoreDNS answers cluster
 * names itself and forwards the rest to its own upstream, which is walked too.
 */
function resolveName(
  ctx: WalkContext,
  runLeg: RunLeg,
  srcNs: Netns,
  fromText: string,
  name: string,
  rng: () => number,
): Resolution {
  const world = ctx.world;
  const model = world.model;
  if (!model) throw new EngineError(`"${name}": this world has no scenario to resolve names with`);
  const setup = resolverSetupFor(model, srcNs, fromText);
  const conf = setup.conf;
  const resolvConf = formatResolvConf(conf);
  const candidates = searchCandidates(name, conf, STUB_RESOLVER);
  const { timeout, attempts } = resolverOptions(conf);
  const done = (address: Ip | null, error: string | null): Resolution => ({
    name,
    resolvConf,
    candidates,
    address,
    error,
  });
  const nameserver = conf.nameservers[0];
  if (nameserver === undefined)
    throw new EngineError(
      `"${name}": ${srcNs.id}'s resolv.conf has no nameserver, so nothing can be resolved`,
    );
  const resolverSays = (
    candidate: string,
    outcome: 'try' | 'use' | 'next' | 'fail',
    address: Ip | null,
    summary: string,
    pkt: IpPacket,
  ) =>
    ctx.decide(
      srcNs,
      { kind: 'resolver', name, resolvConf, candidates, candidate, outcome, address },
      summary,
      pkt,
    );
  const timedOut = `no answer within timeout:${timeout} s, ${attempts} attempts: getaddrinfo fails with "Temporary failure in name resolution" (EAI_AGAIN)`;

  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    const query = makeQuery(candidate, 'A', Math.floor(rng() * 65536));
    const src = sourceFor(srcNs, nameserver) ?? '0.0.0.0';
    const packet = udpDns(src, ephemeralPort(rng), nameserver, DNS_PORT, query);
    ctx.request = packet;
    let served = null as Served | null;
    runLeg(
      'dns-query',
      srcNs,
      packet,
      `DNS query A? ${candidate} → ${nameserver}:53 (${i + 1} of ${candidates.length})`,
      {
        afterStart: () =>
          resolverSays(
            candidate,
            'try',
            null,
            `${i === 0 ? `${setup.why}. ` : ''}try ${candidate} (${i + 1} of ${candidates.length}, ndots:${resolverOptions(conf).ndots})`,
            packet,
          ),
        finish: (v) => {
          const d = ctx.delivery as WalkContext['delivery'];
          if (d?.listening && d.packet.dns) {
            const server = dnsServerIn(world, d.ns);
            if (server) {
              const l4 = d.packet.l4 as { sport: number };
              const answer = answerQuery(
                model,
                server,
                d.packet.dns,
                { ip: d.packet.ip.src, port: l4.sport },
                rng,
              );
              served = { ns: d.ns, packet: d.packet, server, answer };
              ctx.decide(
                d.ns,
                dnsDecision(server.label, d.packet.dns, answer),
                answer.kind === 'forward'
                  ? forwardWhy(server.label, candidate, answer.query, answer.upstream)
                  : `${server.label} answers ${describeAnswer(answer.response)}`,
                d.packet,
              );
              return v;
            }
          }
          if (!ctx.icmpError && !(d && !d.listening)) {
            // A query a NetworkPolicy dropped: the classic mistake of isolating egress without allowing DNS.
            const denied = [...ctx.events]
              .reverse()
              .find(
                (e) =>
                  e.leg === ctx.leg &&
                  e.type === 'decide' &&
                  e.decision.kind === 'policy' &&
                  e.decision.result === 'denied',
              );
            const why =
              denied?.type === 'decide' && denied.decision.kind === 'policy'
                ? `the query was dropped by NetworkPolicy (${denied.decision.direction} of ${denied.decision.pod}): when egress is isolated, DNS to kube-system's CoreDNS on 53/UDP must be allowed explicitly. ${timedOut}`
                : timedOut;
            resolverSays(candidate, 'fail', null, why, packet);
          }
          return v;
        },
      },
    );
    const got = served;
    if (!got) {
      // An ICMP error (port unreachable, a REJECT) is walked back; glibc takes it as a refused server.
      const d = ctx.delivery as WalkContext['delivery'];
      const icmpError = ctx.icmpError as WalkContext['icmpError'];
      const back =
        icmpError ?? (d && !d.listening ? { ns: d.ns, packet: replyTo(d.packet, false, rng)! } : null);
      const refused =
        'the nameserver refused (ICMP error): no other nameserver answers, so getaddrinfo fails with "Temporary failure in name resolution" (EAI_AGAIN)';
      if (back) {
        runLeg(
          back.packet.l4.kind === 'icmp' ? 'icmp-error' : 'reply',
          back.ns,
          back.packet,
          `ICMP error from ${back.ns.id} to ${back.packet.ip.dst}`,
          {
            finish: (v) => {
              if (v.kind === 'delivered') resolverSays(candidate, 'fail', null, refused, back.packet);
              return v;
            },
          },
        );
        return done(null, 'Temporary failure in name resolution (EAI_AGAIN)');
      }
      // Dropped on the way, or something listens on 53 that is no DNS server here: no answer comes.
      return done(null, 'Temporary failure in name resolution (EAI_AGAIN)');
    }

    let response: DnsMessage;
    if (got.answer.kind === 'forward') {
      const upstreamReply = forwardUpstream(ctx, runLeg, got.ns, got.server, got.answer, rng, model);
      response = got.answer.complete(upstreamReply).response;
    } else {
      response = got.answer.response;
    }

    // The server answers from the address the query reached (after kube-proxy's DNAT) to the sender.
    const l4 = got.packet.l4 as { sport: number; dport: number };
    const answerPacket = udpDns(got.packet.ip.dst, l4.dport, got.packet.ip.src, l4.sport, response);
    ctx.request = packet;
    let outcome = 'lost' as 'use' | 'next' | 'fail' | 'lost';
    const address = addressIn(response);
    runLeg(
      'dns-response',
      got.ns,
      answerPacket,
      `DNS answer ${describeAnswer(response)} for ${candidate} from ${got.ns.id}`,
      {
        finish: (v) => {
          const d = ctx.delivery as WalkContext['delivery'];
          if (!(d && d.ns === srcNs && v.kind === 'delivered')) {
            resolverSays(candidate, 'fail', null, timedOut, answerPacket);
            return v;
          }
          outcome = afterAnswer(STUB_RESOLVER, response.rcode, address !== null);
          const last = i === candidates.length - 1;
          if (outcome === 'use') {
            resolverSays(candidate, 'use', address, `${candidate} is ${address}: connect to it`, d.packet);
            return v;
          }
          if (outcome === 'next' && !last) {
            resolverSays(
              candidate,
              'next',
              null,
              `${describeAnswer(response)} for ${candidate}: try the next candidate, ${candidates[i + 1]}`,
              d.packet,
            );
            return v;
          }
          const why =
            outcome === 'next'
              ? `${describeAnswer(response)} for the last candidate: getaddrinfo fails with "Name or service not known" (EAI_NONAME)`
              : `${describeAnswer(response)}: glibc stops searching, getaddrinfo fails`;
          resolverSays(candidate, 'fail', null, why, d.packet);
          return verdict('unresolved', srcNs, why);
        },
      },
    );
    const final = outcome;
    if (final === 'use') return done(address, null);
    if (final === 'lost') return done(null, 'Temporary failure in name resolution (EAI_AGAIN)');
    if (final === 'fail') return done(null, `${response.rcode}: getaddrinfo fails`);
  }
  return done(null, 'Name or service not known (EAI_NONAME)');
}

/** CoreDNS's forward plugin: the query goes to the upstream (a new UDP flow from the CoreDNS pod, which
 *  flannel masquerades and the cloud NAT maps like any pod egress), and its answer comes back. Returns the
 *  upstream's answer, or null when none arrived (CoreDNS then answers SERVFAIL). */
function forwardUpstream(
  ctx: WalkContext,
  runLeg: RunLeg,
  coreNs: Netns,
  core: DnsServer,
  fwd: Extract<ServerAnswer, { kind: 'forward' }>,
  rng: () => number,
  model: ClusterModel,
): DnsMessage | null {
  const src = sourceFor(coreNs, fwd.upstream) ?? '0.0.0.0';
  const packet = udpDns(src, ephemeralPort(rng), fwd.upstream, DNS_PORT, fwd.query);
  ctx.request = packet;
  let served = null as { ns: Netns; packet: IpPacket; answer: DnsMessage } | null;
  const q = fwd.query.question[0];
  runLeg(
    'dns-query',
    coreNs,
    packet,
    `${core.label} forwards ${q?.type ?? ''}? ${q?.name ?? ''} to ${fwd.upstream}:53`,
    {
      finish: (v) => {
        const d = ctx.delivery as WalkContext['delivery'];
        const server = d?.listening && d.packet.dns ? dnsServerIn(ctx.world, d.ns) : null;
        if (d && server) {
          const l4 = d.packet.l4 as { sport: number };
          const r = answerQuery(model, server, d.packet.dns!, { ip: d.packet.ip.src, port: l4.sport }, rng);
          ctx.decide(
            d.ns,
            dnsDecision(server.label, d.packet.dns!, r),
            `${server.label} answers ${r.kind === 'answer' ? describeAnswer(r.response) : 'by forwarding'}`,
            d.packet,
          );
          if (r.kind === 'answer') served = { ns: d.ns, packet: d.packet, answer: r.response };
        }
        return v;
      },
    },
  );
  const got = served;
  if (!got) return null;
  const l4 = got.packet.l4 as { sport: number; dport: number };
  const back = udpDns(got.packet.ip.dst, l4.dport, got.packet.ip.src, l4.sport, got.answer);
  let arrived = false as boolean;
  runLeg(
    'dns-response',
    got.ns,
    back,
    `DNS answer ${describeAnswer(got.answer)} from ${got.ns.id} to ${core.label}`,
    {
      finish: (v) => {
        const d = ctx.delivery as WalkContext['delivery'];
        arrived = v.kind === 'delivered' && d?.ns === coreNs;
        if (arrived)
          ctx.decide(
            coreNs,
            {
              kind: 'dns',
              server: core.label,
              question: q ? `${q.name} IN ${q.type}` : '',
              rcode: got.answer.rcode,
              answer: got.answer.answer.map(formatRecord),
              authority: got.answer.authority.map(formatRecord),
              steps: [
                'forward: the upstream answered; the cache plugin keeps the answer for its TTL',
                'CoreDNS sends it on to the client',
              ],
              forwardTo: null,
            },
            `${core.label} passes the upstream's answer on`,
            d!.packet,
          );
        return v;
      },
    },
  );
  return arrived ? got.answer : null;
}

function describeEnds(p: IpPacket): string {
  const ports = p.l4.kind === 'icmp' ? null : p.l4;
  return ports ? `${p.ip.src}:${ports.sport} → ${p.ip.dst}:${ports.dport}` : `${p.ip.src} → ${p.ip.dst}`;
}

function describeReply(p: IpPacket): string {
  if (p.l4.kind === 'tcp') return `TCP [${p.l4.flags}] ${describeEnds(p)}`;
  if (p.l4.kind === 'udp') return `UDP ${describeEnds(p)}`;
  return `ICMP ${describeIcmpShort(p.l4)} ${describeEnds(p)}`;
}

function describeIcmpShort(h: IcmpHeader): string {
  if (h.type === 0) return 'echo reply';
  if (h.type === 11) return 'time exceeded';
  if (h.type === 3)
    return (
      (
        {
          0: 'net unreachable',
          1: 'host unreachable',
          3: 'port unreachable',
          4: 'fragmentation needed',
        } as Record<number, string>
      )[h.code] ?? 'unreachable'
    );
  return `type ${h.type}`;
}

/** What the receiving stack answers (tcp_v4_send_synack / tcp_v4_send_reset, icmp_echo, udp's port unreachable).
 *  Echo replies leave without DF: the kernel's ICMP socket uses IP_PMTUDISC_DONT (net/ipv4/icmp.c). */
function replyTo(req: IpPacket, listening: boolean, rng: () => number): IpPacket | null {
  const base = (l4: L4Header, payload: number): IpPacket => ({
    ip: {
      src: req.ip.dst,
      dst: req.ip.src,
      ttl: DEFAULT_TTL,
      protocol: l4.kind,
      df: l4.kind !== 'icmp',
      length: IPV4_HEADER_LEN + l4HeaderLength(l4) + payload,
    },
    l4,
  });
  switch (req.l4.kind) {
    case 'tcp':
      if (!req.l4.flags.includes('S')) return null;
      return base(
        { kind: 'tcp', sport: req.l4.dport, dport: req.l4.sport, flags: listening ? 'S.' : 'R.' },
        0,
      );
    case 'udp':
      if (listening)
        return base(
          { kind: 'udp', sport: req.l4.dport, dport: req.l4.sport },
          Math.max(0, req.ip.length - IPV4_HEADER_LEN - UDP_HEADER_LEN),
        );
      return icmpErrorPacket(req, req.ip.dst, 3, 3);
    case 'icmp': {
      void rng;
      if (req.l4.type !== 8) return null;
      return base(
        { kind: 'icmp', type: 0, code: 0, id: req.l4.id ?? 0, seq: req.l4.seq ?? 0 },
        req.ip.length - IPV4_HEADER_LEN - ICMP_HEADER_LEN,
      );
    }
  }
}

/** How much of `orig` an ICMP error quotes. RFC 792 asks for the IP header and 8 bytes; Linux quotes as much
 *  as fits in 576 bytes of error (net/ipv4/icmp.c __icmp_send: room = min(route MTU, 576) less the headers;
 *  RFC 1812 4.3.2.3), for redirects too. The kernel conformance test icmp-errors.test.ts compares the bytes. */
function icmpQuoteLength(orig: IpPacket): number {
  return Math.min(orig.ip.length, 576 - IPV4_HEADER_LEN - ICMP_HEADER_LEN);
}

/** An ICMP error about `orig`, sent from `src`, quoting it (icmpQuoteLength). */
function icmpErrorPacket(orig: IpPacket, src: Ip, type: number, code: number, mtu?: number): IpPacket {
  const quoted = icmpQuoteLength(orig);
  const l4: IcmpHeader = {
    kind: 'icmp',
    type,
    code,
    ...(mtu !== undefined ? { mtu } : {}),
    original: { ip: orig.ip, l4: orig.l4 },
  };
  return {
    ip: {
      src,
      dst: orig.ip.src,
      ttl: DEFAULT_TTL,
      protocol: 'icmp',
      df: false,
      length: IPV4_HEADER_LEN + ICMP_HEADER_LEN + quoted,
    },
    l4,
  };
}

function isIcmpError(p: IpPacket): boolean {
  return p.l4.kind === 'icmp' && (p.l4.type === 3 || p.l4.type === 11 || p.l4.type === 5);
}

// ───────────────────────────── routing ─────────────────────────────

type Lookup =
  | {
      kind: 'found';
      route: Route;
      table: 'local' | 'main';
      /** For a multipath route: which nexthop this flow's hash chose (route then holds its gateway/dev). */
      nexthop?: { index: number; of: number; route: Route };
    }
  | { kind: 'noRoute' };

/** The source address the kernel gives an unbound socket sending to `dst`: the route's `src`, else
 *  inet_select_addr on the route's device (see Netns.selectSource). */
function sourceFor(ns: Netns, dst: Ip): Ip | null {
  const lookup = fibLookup(ns, dst);
  if (lookup.kind === 'noRoute') return null;
  const r = lookup.route;
  if (r.type === 'local') return r.src ?? dst;
  return r.src ?? ns.selectSource(r.dev ?? '', r.gateway ?? dst);
}

/** fib_lookup: the local table, then main; a multipath route resolves to one nexthop per flow, chosen by a
 *  hash of source and destination (fib_multipath_hash's L3 policy; the kernel's hash is seeded per boot, so
 *  which nexthop a real flow takes differs — every nexthop is equally likely). */
function fibLookup(ns: Netns, dst: Ip, src: Ip = '0.0.0.0'): Lookup {
  const local = ns.local.lookup(dst);
  if (local.kind === 'found') return { kind: 'found', route: local.route, table: 'local' };
  const main = ns.main.lookup(dst);
  if (main.kind !== 'found') return { kind: 'noRoute' };
  const hops = main.route.nexthops;
  if (!hops || hops.length === 0) return { kind: 'found', route: main.route, table: 'main' };
  let h = 0x811c9dc5;
  for (const c of `${src}|${dst}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const index = h % hops.length;
  const hop = hops[index]!;
  return {
    kind: 'found',
    route: { ...main.route, gateway: hop.gateway, dev: hop.dev },
    table: 'main',
    nexthop: { index, of: hops.length, route: main.route },
  };
}

function decideRoute(ctx: WalkContext, ns: Netns, pkt: IpPacket, lookup: Lookup, src: Ip | null): void {
  const dst = pkt.ip.dst;
  if (lookup.kind === 'noRoute') {
    ctx.decide(
      ns,
      {
        kind: 'route',
        table: null,
        dst,
        route: null,
        result: 'unreachable',
        dev: null,
        gateway: null,
        src: null,
      },
      `${dst}: no route (RTNETLINK: Network is unreachable)`,
      pkt,
    );
    return;
  }
  const r = lookup.route;
  const result = r.type === 'local' ? 'local' : r.type === 'broadcast' ? 'broadcast' : r.type;
  const get =
    r.type === 'local'
      ? `local ${dst} dev lo table local src ${r.src ?? dst}`
      : `${dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${src ? ` src ${src}` : ''}`;
  ctx.decide(
    ns,
    {
      kind: 'route',
      table: lookup.table,
      dst,
      route: formatRoute(lookup.nexthop?.route ?? r),
      result,
      dev: r.dev,
      gateway: r.gateway,
      src,
    },
    `${get}  [${lookup.table}: ${formatRoute(lookup.nexthop?.route ?? r)}]${
      lookup.nexthop
        ? ` — multipath: nexthop ${lookup.nexthop.index + 1} of ${lookup.nexthop.of}, by a hash of the addresses`
        : ''
    }`,
    pkt,
  );
}

// ───────────────────────────── output path ─────────────────────────────

/** A packet a local process sends: ip_route_output, OUTPUT, then ipOutput. */
function ipLocalOut(ctx: WalkContext, ns: Netns, pkt: IpPacket, explicitSrc: boolean): Outcome {
  const lookup = fibLookup(ns, pkt.ip.dst, pkt.ip.src);
  let src: Ip | null = null;
  if (lookup.kind === 'found') {
    const r = lookup.route;
    src =
      explicitSrc || isIcmpError(pkt) || pkt.vxlan
        ? pkt.ip.src
        : (r.src ??
          (r.type === 'local' ? pkt.ip.dst : ns.selectSource(r.dev ?? '', r.gateway ?? pkt.ip.dst)));
  }
  const withSrc: IpPacket = src && src !== pkt.ip.src ? { ...pkt, ip: { ...pkt.ip, src } } : pkt;
  decideRoute(ctx, ns, withSrc, lookup, src);
  if (
    lookup.kind === 'noRoute' ||
    lookup.route.type === 'unreachable' ||
    lookup.route.type === 'blackhole' ||
    lookup.route.type === 'prohibit'
  )
    return verdict(
      'local-error',
      ns,
      `connect(): Network is unreachable — ${ns.id} has no route to ${pkt.ip.dst}`,
    );
  let r = lookup.route;
  if (r.type === 'broadcast')
    // ip_route_output gives RTN_BROADCAST; a socket without SO_BROADCAST gets EACCES (no ARP: the MAC is ff:ff…).
    return verdict(
      'local-error',
      ns,
      `sendmsg(): Permission denied — ${pkt.ip.dst} is a broadcast address and the socket has no SO_BROADCAST`,
    );
  const out = hookPoint(ctx, ns, 'OUTPUT', withSrc, { in: '', out: r.dev ?? 'lo' });
  if ('verdict' in out) return out.verdict;
  let sent = out.packet;
  if (sent.ip.dst !== withSrc.ip.dst) {
    // OUTPUT's DNAT changed the destination: the kernel routes again (ip_route_me_harder).
    const again = fibLookup(ns, sent.ip.dst, sent.ip.src);
    decideRoute(ctx, ns, sent, again, sent.ip.src);
    if (again.kind === 'noRoute' || (again.route.type !== 'unicast' && again.route.type !== 'local'))
      return verdict(
        'local-error',
        ns,
        `connect(): Network is unreachable — no route to ${sent.ip.dst} after DNAT`,
      );
    r = again.route;
  }
  if (r.type === 'local') {
    const lo = ns.device('lo');
    // Loopback traffic meets POSTROUTING, then INPUT, like any other.
    const post = hookPoint(ctx, ns, 'POSTROUTING', sent, { in: '', out: 'lo', nextHop: sent.ip.dst });
    if ('verdict' in post) return post.verdict;
    sent = post.packet;
    const frame = withEth(sent, { src: lo.mac, dst: lo.mac });
    ctx.observe(ns, lo, 'out', frame);
    ctx.observe(ns, lo, 'in', frame);
    return ipLocalDeliver(ctx, ns, 'lo', sent);
  }
  return ipOutput(ctx, ns, r, sent, false);
}

/** A netfilter hook point: the translated packet, or the verdict of a DROP or REJECT. */
function hookPoint(
  ctx: WalkContext,
  ns: Netns,
  hook: Hook,
  pkt: IpPacket,
  io: { in: string; out: string; nextHop?: string; bridged?: boolean },
): { packet: IpPacket; ipvsResend?: true } | { verdict: Verdict } {
  const o: HookOutcome = runHook(ctx, ns, hook, pkt, io);
  if (o.kind === 'accept') {
    const denied = enforcePolicy(ctx, ns, hook, o.packet);
    return denied ? { verdict: denied } : { packet: o.packet };
  }
  if (o.kind === 'ipvs-resend') return { packet: o.packet, ipvsResend: true };
  if (o.kind === 'drop') return { verdict: verdict('dropped', ns, o.reason) };
  if (o.kind === 'ipvs-icmp')
    return {
      verdict: sendIcmpError(ctx, ns, pkt, o.type, o.code, o.verdict, `${o.reason}: ICMP sent back`),
    };
  if (o.with === 'tcp-reset' && pkt.l4.kind === 'tcp') {
    // REJECT --reject-with tcp-reset answers as the destination would (nf_send_reset).
    const l4: L4Header = { kind: 'tcp', sport: pkt.l4.dport, dport: pkt.l4.sport, flags: 'R.' };
    ctx.icmpError = {
      ns,
      packet: {
        ip: {
          src: pkt.ip.dst,
          dst: pkt.ip.src,
          ttl: DEFAULT_TTL,
          protocol: 'tcp',
          df: true,
          length: IPV4_HEADER_LEN + l4HeaderLength(l4),
        },
        l4,
      },
    };
    return { verdict: verdict('unreachable', ns, `${o.reason}: a TCP reset is sent back`) };
  }
  const code = REJECT_CODES[o.with] ?? 3;
  return {
    verdict: sendIcmpError(ctx, ns, pkt, 3, code, 'unreachable', `${o.reason}: ICMP ${o.with} sent back`),
  };
}

/**
 * NetworkPolicy where a node's policy agent enforces it with iptables (kube-router's and Calico's iptables
 * dataplanes): at the top of the filter table's FORWARD (bridged frames too, through br_netfilter), INPUT and
 * OUTPUT hooks. Packets of an established connection pass on conntrack state; a new connection is checked
 * against the egress policies of a source pod on this node and the ingress policies of a destination pod on
 * this node, with addresses as they are here (after kube-proxy's DNAT, before any SNAT). Traffic from a pod's
 * own node is always allowed in (the NetworkPolicy documentation; kubelet's probes depend on it). A denied
 * packet is dropped (Calico's behaviour; kube-router answers with a REJECT instead).
 * Modelled on the policy semantics (netpol.ts), not on either agent's chain layout.
 */
function enforcePolicy(ctx: WalkContext, ns: Netns, hook: Hook, pkt: IpPacket): Verdict | null {
  const model = ctx.world.model;
  if (!model || model.networkPolicies.length === 0 || ns.kind !== 'node') return null;
  if (hook !== 'FORWARD' && hook !== 'INPUT' && hook !== 'OUTPUT') return null;
  const localPod = (ip: Ip) => {
    const p = policyEndpoint(model, ip).pod;
    return p && p.nodeName === ns.node ? p : null;
  };
  const srcPod = hook === 'OUTPUT' ? null : localPod(pkt.ip.src);
  const dstPod = hook === 'INPUT' ? null : localPod(pkt.ip.dst);
  if (!srcPod && !dstPod) return null;
  const protocol = pkt.l4.kind;
  const port = pkt.l4.kind === 'icmp' ? null : pkt.l4.dport;
  const what = `${protocol.toUpperCase()}${port === null ? '' : ` ${port}`}`;
  const say = (
    direction: 'ingress' | 'egress',
    pod: PodModel,
    result: 'allowed' | 'denied' | 'not-isolated' | 'established',
    policies: readonly string[],
    rule: string | null,
    reason: string,
  ) =>
    ctx.decide(
      ns,
      { kind: 'policy', direction, pod: `${pod.namespace}/${pod.name}`, result, policies, rule, reason },
      `NetworkPolicy ${direction} of ${pod.namespace}/${pod.name}: ${reason}`,
      pkt,
    );
  const ct = ctx.transit.get(ns.id)?.ct ?? null;
  if (ct && (ct.related || ct.direction === 'reply' || ct.entry.seenReply)) {
    for (const [direction, pod] of [
      ['egress', srcPod],
      ['ingress', dstPod],
    ] as const) {
      if (!pod) continue;
      const selecting = policiesSelecting(model, pod, direction === 'egress' ? 'Egress' : 'Ingress');
      if (selecting.length)
        say(
          direction,
          pod,
          'established',
          selecting,
          null,
          `${ct.related ? 'RELATED' : 'ESTABLISHED'} (conntrack): part of an allowed connection, no rule is consulted`,
        );
    }
    return null;
  }
  // One direction's check: say what policy decided (when any policy selects the pod) and drop if denied.
  const check = (
    direction: 'ingress' | 'egress',
    pod: PodModel,
    v: PolicyVerdict,
    peer: string,
    denied: string,
  ): Verdict | null => {
    if (!v.isolated && v.selecting.length === 0) return null;
    const rule = v.allowedBy ? `${v.allowedBy.policy} ${direction}[${v.allowedBy.rule}]` : null;
    const result = v.allowed ? 'allowed' : 'denied';
    say(
      direction,
      pod,
      result,
      v.selecting,
      rule,
      v.allowed ? `${what} ${peer} allowed by ${rule}` : v.reason,
    );
    return v.allowed ? null : verdict('dropped', ns, `NetworkPolicy: ${denied} (${v.reason})`);
  };
  if (srcPod) {
    const v = evaluateEgress(model, srcPod, policyEndpoint(model, pkt.ip.dst), protocol, port);
    const dropped = check(
      'egress',
      srcPod,
      v,
      `to ${pkt.ip.dst}`,
      `${srcPod.namespace}/${srcPod.name} may not send ${what} to ${pkt.ip.dst}`,
    );
    if (dropped) return dropped;
  }
  if (dstPod && hook === 'OUTPUT') {
    // Traffic from the pod's own node is always allowed in (the NetworkPolicy documentation).
    const selecting = policiesSelecting(model, dstPod, 'Ingress');
    if (selecting.length)
      say(
        'ingress',
        dstPod,
        'allowed',
        selecting,
        null,
        `from its own node ${ns.node ?? ''}: always allowed`,
      );
  } else if (dstPod) {
    const v = evaluateIngress(model, dstPod, policyEndpoint(model, pkt.ip.src), protocol, port);
    const dropped = check(
      'ingress',
      dstPod,
      v,
      `from ${pkt.ip.src}`,
      `${dstPod.namespace}/${dstPod.name} does not accept ${what} from ${pkt.ip.src}`,
    );
    if (dropped) return dropped;
  }
  return null;
}

/** REJECT --reject-with types and their ICMP codes (net/ipv4/netfilter/ipt_REJECT.c). */
const REJECT_CODES: Readonly<Record<string, number>> = {
  'icmp-net-unreachable': 0,
  'icmp-host-unreachable': 1,
  'icmp-proto-unreachable': 2,
  'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9,
  'icmp-host-prohibited': 10,
  'icmp-admin-prohibited': 13,
};

/** ip_finish_output: POSTROUTING, the MTU check, the neighbour, and the device. */
function ipOutput(ctx: WalkContext, ns: Netns, r: Route, pkt: IpPacket, forwarded: boolean): Outcome {
  if (!r.dev) return verdict('dropped', ns, `route ${formatRoute(r)} has no device`);
  const dev = ns.device(r.dev);
  const post = hookPoint(ctx, ns, 'POSTROUTING', pkt, {
    in: '',
    out: dev.name,
    nextHop: r.gateway ?? pkt.ip.dst,
  });
  if ('verdict' in post) return post.verdict;
  pkt = post.packet;
  if (pkt.ip.length > dev.mtu) {
    ctx.decide(
      ns,
      { kind: 'mtu', device: dev.name, mtu: dev.mtu, length: pkt.ip.length, df: pkt.ip.df },
      `${pkt.ip.length} bytes > mtu ${dev.mtu} of ${dev.name}${pkt.ip.df ? ' and DF is set' : ''}`,
      pkt,
    );
    if (pkt.ip.df) {
      if (!forwarded)
        return verdict(
          'local-error',
          ns,
          `sendmsg(): Message too long — ${pkt.ip.length} bytes do not fit ${dev.name}'s MTU ${dev.mtu} and DF is set`,
        );
      return sendIcmpError(
        ctx,
        ns,
        pkt,
        3,
        4,
        'frag-needed',
        `${pkt.ip.length} bytes with DF do not fit ${dev.name} (mtu ${dev.mtu}): ICMP fragmentation needed sent back`,
        dev.mtu,
      );
    }
    // Without DF the kernel fragments; this model follows the first fragment only.
  }
  const nextHop = r.gateway ?? pkt.ip.dst;
  const mac = resolveNeighbour(ctx, ns, dev, nextHop, pkt);
  if (!mac) {
    if (!forwarded)
      return verdict(
        'local-error',
        ns,
        // A reply the kernel sends itself (a SYN-ACK, an echo reply) has no caller to return an error to:
        // the neighbour entry fails and the packets queued on it are discarded.
        ctx.request && isAnswerTo(pkt, ctx.request)
          ? `nobody answered ARP for ${nextHop} on ${dev.name}: the reply is discarded with the failed neighbour entry`
          : `connect(): No route to host — nobody answered ARP for ${nextHop} on ${dev.name}`,
      );
    return sendIcmpError(
      ctx,
      ns,
      pkt,
      3,
      1,
      'unreachable',
      `nobody answered ARP for ${nextHop} on ${dev.name}: ICMP host unreachable sent back`,
    );
  }
  return transmit(ctx, ns, dev, withEth(pkt, { src: dev.mac, dst: mac }));
}

/** ip_error / icmp_send: the router answers the sender; the ICMP travels as the next leg. */
function sendIcmpError(
  ctx: WalkContext,
  ns: Netns,
  orig: IpPacket,
  type: number,
  code: number,
  kind: VerdictKind,
  reason: string,
  mtu?: number,
): Verdict {
  // Never answer an ICMP error with one (RFC 1122 3.2.2).
  if (isIcmpError(orig))
    return verdict('dropped', ns, `${reason.split(':')[0]}; no ICMP error is sent about an ICMP error`);
  const back = fibLookup(ns, orig.ip.src);
  // icmp_send: an error about a packet addressed to this host comes from that address (RTCF_LOCAL), e.g. a
  // ClusterIP on kube-ipvs0; otherwise from the address the route back selects.
  const src =
    back.kind === 'found'
      ? ns.ownsAddress(orig.ip.dst)
        ? orig.ip.dst
        : (back.route.src ?? ns.selectSource(back.route.dev ?? '', back.route.gateway ?? orig.ip.src))
      : null;
  if (!src)
    return verdict(
      kind,
      ns,
      `${reason.replace(/ sent back$/, '')} — but ${ns.id} has no route back to ${orig.ip.src} either, so no ICMP error leaves`,
    );
  ctx.icmpError = { ns, packet: icmpErrorPacket(orig, src, type, code, mtu) };
  return verdict(kind, ns, reason);
}

// ───────────────────────────── neighbours ─────────────────────────────

function resolveNeighbour(ctx: WalkContext, ns: Netns, dev: Device, ip: Ip, pkt: IpPacket): Mac | null {
  const key = `${ns.id}|${dev.name}|${ip}`;
  const stat = ns.neigh.get(dev.name)?.get(ip);
  if (stat) {
    ctx.decide(
      ns,
      {
        kind: 'neigh',
        device: dev.name,
        ip,
        mac: stat.mac,
        stateBefore: 'PERMANENT',
        stateAfter: 'PERMANENT',
        arp: null,
        entry: `${ip} dev ${dev.name} lladdr ${stat.mac} PERMANENT`,
      },
      `${ip} dev ${dev.name} lladdr ${stat.mac} PERMANENT`,
      pkt,
    );
    return stat.mac;
  }
  if (dev.kind === 'loopback') return dev.mac;
  // What this walk learned, else what the node had learned before it (a pasted `ip neigh`).
  const learned = ctx.neigh.get(key) ?? ns.pasted?.neigh.get(dev.name)?.get(ip);
  if (learned) {
    const after = learned.state === 'STALE' ? 'DELAY' : learned.state;
    ctx.decide(
      ns,
      {
        kind: 'neigh',
        device: dev.name,
        ip,
        mac: learned.mac,
        stateBefore: learned.state,
        stateAfter: after,
        arp: null,
        entry: `${ip} dev ${dev.name} lladdr ${learned.mac} ${learned.state}`,
      },
      `${ip} dev ${dev.name} lladdr ${learned.mac} ${learned.state}${after !== learned.state ? ` → ${after} (used, to be confirmed)` : ''}`,
      pkt,
    );
    return learned.mac;
  }
  const answer = arpAnswerer(ctx.world, ns, dev, ip);
  if (!answer) {
    const why =
      dev.kind === 'vxlan'
        ? `${dev.name} has no FDB entry to flood an ARP request to`
        : 'no host on the link owns it';
    ctx.decide(
      ns,
      {
        kind: 'neigh',
        device: dev.name,
        ip,
        mac: null,
        stateBefore: 'NONE',
        stateAfter: 'FAILED',
        arp: null,
        entry: null,
      },
      `${ip} dev ${dev.name} FAILED — ARP who-has ${ip}: no answer (${why})`,
      pkt,
    );
    return null;
  }
  const ansNs = ctx.world.netns(answer.netns);
  const ansDev = ansNs.device(answer.device);
  // The answer teaches the asker; the request taught the answerer (STALE) and every bridge on the way.
  ctx.neigh.set(key, { mac: ansDev.mac, state: 'REACHABLE' });
  const askerIp = ns.ownsAddress(pkt.ip.src) ? pkt.ip.src : ns.selectSource(dev.name, ip);
  if (askerIp) {
    const back = `${answer.netns}|${answer.device}|${askerIp}`;
    if (!ctx.neigh.has(back)) ctx.neigh.set(back, { mac: dev.mac, state: 'STALE' });
  }
  for (const b of answer.bridges) {
    if (b.ingress) ctx.fdb.set(`${b.netns}|${b.bridge}|${dev.mac}`, b.ingress);
    if (b.towards) ctx.fdb.set(`${b.netns}|${b.bridge}|${ansDev.mac}`, b.towards);
  }
  ctx.decide(
    ns,
    {
      kind: 'neigh',
      device: dev.name,
      ip,
      mac: ansDev.mac,
      stateBefore: 'NONE',
      stateAfter: 'REACHABLE',
      arp: { answeredBy: answer.netns, device: answer.device },
      entry: `${ip} dev ${dev.name} lladdr ${ansDev.mac} REACHABLE`,
    },
    `${ip} dev ${dev.name}: no entry → ARP who-has ${ip} tell ${askerIp ?? '?'} → ${ansDev.mac} (${answer.netns} ${answer.device}) REACHABLE`,
    pkt,
  );
  return ansDev.mac;
}

// ───────────────────────────── devices ─────────────────────────────

/** dev_queue_xmit: what a capture on `dev` sees going out, then where the device sends it. */
function transmit(ctx: WalkContext, ns: Netns, dev: Device, frame: Frame): Outcome {
  ctx.observe(ns, dev, 'out', frame);
  switch (dev.kind) {
    case 'veth': {
      const peerNs = ctx.world.netns(dev.peer.netns);
      if (peerNs !== ns) leaveNamespace(ctx, ns);
      return receive(ctx, peerNs, peerNs.device(dev.peer.name), frame);
    }
    case 'bridge':
      return bridgeForward(ctx, ns, dev, null, frame);
    case 'vxlan':
      return vxlanTransmit(ctx, ns, dev, frame);
    case 'physical': {
      const m = ctx.world.segmentMemberByMac(dev.segment, frame.eth.dst);
      if (!m) return verdict('dropped', ns, `no NIC on ${dev.segment} has MAC ${frame.eth.dst}`);
      const peerNs = ctx.world.netns(m.netns);
      leaveNamespace(ctx, ns);
      return receive(ctx, peerNs, peerNs.device(m.device), frame);
    }
    case 'loopback':
      return receive(ctx, ns, dev, frame);
    case 'dummy':
      return verdict(
        'dropped',
        ns,
        `${dev.name} is a dummy device: whatever is sent through it is discarded`,
      );
  }
}

/** netif_receive_skb: the capture sees it coming in; a bridge port hands it to the bridge. */
function receive(ctx: WalkContext, ns: Netns, dev: Device, frame: Frame): Outcome {
  ctx.observe(ns, dev, 'in', frame);
  if (dev.master) {
    const br = ns.device(dev.master);
    if (br.kind === 'bridge') return bridgeForward(ctx, ns, br, dev, frame);
  }
  return l2Receive(ctx, ns, dev, frame);
}

/** eth_type_trans + ip_rcv: frames for another host's MAC are PACKET_OTHERHOST and dropped by IP. */
function l2Receive(ctx: WalkContext, ns: Netns, dev: Device, frame: Frame): Outcome {
  if (frame.eth.dst !== dev.mac && frame.eth.dst !== BROADCAST_MAC) {
    ctx.decide(
      ns,
      { kind: 'l2-drop', device: dev.name, reason: `destination MAC ${frame.eth.dst} is not ${dev.mac}` },
      `${dev.name}: frame for ${frame.eth.dst}, not for this host — dropped`,
      frame,
    );
    return { kind: 'ignored' };
  }
  return ipReceive(ctx, ns, dev, stripEth(frame));
}

/** br_handle_frame_finish / br_dev_xmit: learn the source, then local delivery, a known port, or flooding.
 *  `ingress` is the port the frame came in on, or null when the host sends through the bridge device. */
function bridgeForward(
  ctx: WalkContext,
  ns: Netns,
  br: Device & { kind: 'bridge' },
  ingress: Device | null,
  frame: Frame,
): Outcome {
  const key = (mac: Mac): string => `${ns.id}|${br.name}|${mac}`;
  if (ingress) ctx.fdb.set(key(frame.eth.src), ingress.name);
  // br_netfilter (bridge-nf-call-iptables=1, which kubelet and CNIs require): a frame entering a bridge port
  // meets the IP PREROUTING hook before the FDB decides, with the bridge as its input interface
  // (net/bridge/br_netfilter_hooks.c br_nf_pre_routing). The IP layer does not run PREROUTING again.
  const brnf = ingress !== null && ns.bridgeNfCallIptables && ns.ruleset !== null;
  if (brnf) {
    const pre = hookPoint(ctx, ns, 'PREROUTING', stripEth(frame), { in: br.name, out: '', bridged: true });
    if ('verdict' in pre) return pre.verdict;
    const changed = pre.packet.ip.dst !== frame.ip.dst;
    frame = withEth(pre.packet, frame.eth);
    if (changed) {
      // br_nf_pre_routing_finish: DNAT took place, so the new destination is routed. If it leaves by this
      // same bridge, the frame is re-addressed to the new destination's MAC and *bridged* — no IP forwarding,
      // no TTL decrement, the source MAC kept ("bridged DNAT"); otherwise it goes up to be routed.
      const look = fibLookup(ns, frame.ip.dst);
      if (look.kind === 'found' && look.route.type === 'unicast' && look.route.dev === br.name) {
        decideRoute(ctx, ns, pre.packet, look, null);
        const nextHop = look.route.gateway ?? frame.ip.dst;
        // br_nf_pre_routing_finish_bridge: only a NUD_CONNECTED neighbour (REACHABLE, PERMANENT) takes the fast
        // path; otherwise the packet goes out through the bridge device's neighbour output first — seen on
        // the bridge with its MAC as source, before POSTROUTING — and br_dev_xmit restores the original source
        // MAC (found by the kernel conformance test).
        const state = ns.neigh.get(br.name)?.has(nextHop)
          ? 'PERMANENT'
          : (ctx.neigh.get(`${ns.id}|${br.name}|${nextHop}`)?.state ??
            ns.pasted?.neigh.get(br.name)?.get(nextHop)?.state ??
            'NONE');
        const mac = resolveNeighbour(ctx, ns, br, nextHop, pre.packet);
        if (!mac)
          return verdict(
            'dropped',
            ns,
            `bridged DNAT: nobody answered ARP for ${frame.ip.dst} on ${br.name}`,
          );
        if (state !== 'PERMANENT' && state !== 'REACHABLE')
          ctx.observe(ns, br, 'out', withEth(pre.packet, { src: br.mac, dst: mac }));
        frame = withEth(pre.packet, { src: frame.eth.src, dst: mac });
      }
    }
  }
  const dst = frame.eth.dst;
  // Local FDB entries: the bridge's own MAC and its ports' MACs are delivered to the host (br_fdb_add_local).
  if (ingress && (dst === br.mac || br.ports.some((p) => ns.device(p).mac === dst))) {
    ctx.decide(
      ns,
      {
        kind: 'fdb',
        bridge: br.name,
        mac: dst,
        result: 'local',
        port: null,
        entry: `${dst} dev ${br.name} master ${br.name} permanent`,
        learned: false,
      },
      `fdb ${dst}: local (${br.name} itself) → up to the IP stack`,
      frame,
    );
    ctx.observe(ns, br, 'in', frame);
    return l2Receive(ctx, ns, br, frame);
  }
  const walked = ctx.fdb.get(key(dst));
  // What this walk taught the bridge, else what the node's bridge knew before it (a pasted `bridge fdb`).
  const port = walked ?? ns.pasted?.bridgeFdb.get(br.name)?.get(dst);
  if (port) {
    ctx.decide(
      ns,
      {
        kind: 'fdb',
        bridge: br.name,
        mac: dst,
        result: 'port',
        port,
        entry: `${dst} dev ${port} master ${br.name}`,
        learned: walked !== undefined,
      },
      `fdb ${dst} dev ${port} master ${br.name} (${walked !== undefined ? 'learned' : "from the node's bridge fdb"})`,
      frame,
    );
    if (ingress && port === ingress.name && !ingress.hairpin)
      return verdict(
        'dropped',
        ns,
        `${br.name} does not send a frame back out ${port}, the port it came in on (hairpin off)`,
      );
    if (brnf) {
      // br_nf_forward_ip and br_nf_post_routing: a bridged frame meets FORWARD and POSTROUTING too, with the
      // bridge as both interfaces; this is where the reply of a bridged DNAT is un-DNATed.
      const fwd = hookPoint(ctx, ns, 'FORWARD', stripEth(frame), {
        in: br.name,
        out: br.name,
        bridged: true,
      });
      if ('verdict' in fwd) return fwd.verdict;
      const post = hookPoint(ctx, ns, 'POSTROUTING', fwd.packet, {
        in: '',
        out: br.name,
        nextHop: fwd.packet.ip.dst,
        bridged: true,
      });
      if ('verdict' in post) return post.verdict;
      frame = withEth(post.packet, frame.eth);
    }
    return transmit(ctx, ns, ns.device(port), frame);
  }
  const ports = br.ports.filter((p) => !ingress || p !== ingress.name || ingress.hairpin);
  ctx.decide(
    ns,
    { kind: 'fdb', bridge: br.name, mac: dst, result: 'flood', port: null, entry: null, learned: false },
    `fdb ${dst}: unknown → flood to ${ports.join(', ') || 'no port'}`,
    frame,
  );
  let best: Outcome = { kind: 'ignored' };
  for (const p of ports) {
    const o = transmit(ctx, ns, ns.device(p), frame);
    if (best.kind === 'ignored' || (o.kind === 'delivered' && best.kind !== 'delivered')) best = o;
  }
  return best;
}

/** vxlan_xmit: the FDB maps the inner destination MAC to a remote VTEP; the frame is wrapped in
 *  UDP/IP and sent by the host's own IP stack (drivers/net/vxlan/vxlan_core.c). A MAC without an entry
 *  falls back to the all-zeros entry: a copy to each of its destinations (weave's per-peer flooding). */
function vxlanTransmit(ctx: WalkContext, ns: Netns, dev: Device & { kind: 'vxlan' }, frame: Frame): Outcome {
  const remote = dev.fdb.get(frame.eth.dst) ?? null;
  if (!remote && dev.flood.length > 0) {
    let best: Outcome = { kind: 'ignored' };
    for (const dst of dev.flood) {
      const entry = `00:00:00:00:00:00 dev ${dev.name} dst ${dst} self permanent`;
      ctx.decide(
        ns,
        { kind: 'vxlan-fdb', device: dev.name, mac: frame.eth.dst, remote: dst, entry },
        `fdb ${frame.eth.dst} dev ${dev.name}: no entry → ${entry} (a copy to each default destination)`,
        frame,
      );
      const o = vxlanEncapsulate(ctx, ns, dev, frame, dst);
      if (best.kind === 'ignored' || (o.kind === 'delivered' && best.kind !== 'delivered')) best = o;
    }
    return best;
  }
  ctx.decide(
    ns,
    {
      kind: 'vxlan-fdb',
      device: dev.name,
      mac: frame.eth.dst,
      remote,
      entry: remote ? `${frame.eth.dst} dev ${dev.name} dst ${remote} self permanent` : null,
    },
    remote
      ? `fdb ${frame.eth.dst} dev ${dev.name} dst ${remote} self permanent`
      : `fdb ${frame.eth.dst} dev ${dev.name}: no entry — dropped`,
    frame,
  );
  if (!remote) return verdict('dropped', ns, `${dev.name} has no FDB entry for ${frame.eth.dst}`);
  return vxlanEncapsulate(ctx, ns, dev, frame, remote);
}

/** The frame in VXLAN/UDP/IP to `remote`, sent by the host's own stack. */
function vxlanEncapsulate(
  ctx: WalkContext,
  ns: Netns,
  dev: Device & { kind: 'vxlan' },
  frame: Frame,
  remote: Ip,
): Outcome {
  // The outer source port is a hash of the inner flow within the local port range (udp_flow_src_port);
  // the kernel's hash is seeded per boot, so only the range is comparable with a real capture.
  const inner = frame;
  const sport = EPHEMERAL_LOW + (flowHash(inner) % (EPHEMERAL_HIGH - EPHEMERAL_LOW + 1));
  const outer: IpPacket = {
    ip: {
      src: dev.local,
      dst: remote,
      ttl: DEFAULT_TTL,
      protocol: 'udp',
      df: dev.df,
      length: IPV4_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN + frameLength(inner),
    },
    l4: { kind: 'udp', sport, dport: dev.port },
    vxlan: { vni: dev.vni },
    inner,
  };
  ctx.decide(
    ns,
    { kind: 'encap', device: dev.name, vni: dev.vni, local: dev.local, remote, port: dev.port },
    `encapsulate: VXLAN vni ${dev.vni}, UDP ${dev.local}:${sport} → ${remote}:${dev.port}`,
    outer,
  );
  // iptunnel_xmit scrubs the packet: the outer packet has its own conntrack entry and no mark.
  leaveNamespace(ctx, ns);
  return ipLocalOut(ctx, ns, outer, true);
}

function flowHash(f: Frame): number {
  const s = `${f.ip.src}|${f.ip.dst}|${f.ip.protocol}|${f.l4.kind === 'icmp' ? (f.l4.id ?? 0) : `${f.l4.sport}|${f.l4.dport}`}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

// ───────────────────────────── input path ─────────────────────────────

/** ip_rcv_finish: PREROUTING, then ip_route_input decides local delivery or forwarding. */
function ipReceive(ctx: WalkContext, ns: Netns, dev: Device, pkt: IpPacket): Outcome {
  const pre = hookPoint(ctx, ns, 'PREROUTING', pkt, { in: dev.name, out: '' });
  if ('verdict' in pre) return pre.verdict;
  pkt = pre.packet;
  const lookup = fibLookup(ns, pkt.ip.dst, pkt.ip.src);
  decideRoute(ctx, ns, pkt, lookup, null);
  if (lookup.kind === 'found' && lookup.route.type === 'local') return ipLocalDeliver(ctx, ns, dev.name, pkt);
  if (lookup.kind === 'found' && lookup.route.type === 'broadcast')
    return verdict('dropped', ns, `${pkt.ip.dst} is a broadcast address; no process takes this packet`);
  if (!ns.ipForward)
    // ip_route_input_slow: with forwarding off the route is an error, and ip_error sends nothing.
    return verdict(
      'dropped',
      ns,
      `${ns.id} does not forward (net.ipv4.ip_forward=0) and ${pkt.ip.dst} is not its address`,
    );
  if (lookup.kind === 'noRoute')
    return sendIcmpError(
      ctx,
      ns,
      pkt,
      3,
      0,
      'unreachable',
      `${ns.id} has no route to ${pkt.ip.dst}: ICMP net unreachable sent back`,
    );
  const r = lookup.route;
  if (r.type !== 'unicast')
    return sendIcmpError(
      ctx,
      ns,
      pkt,
      3,
      r.type === 'prohibit' ? 13 : 1,
      r.type === 'blackhole' ? 'dropped' : 'unreachable',
      `route ${formatRoute(r)} discards it`,
    );
  return ipForward(ctx, ns, dev, r, pkt);
}

/** ip_forward: TTL, redirects, FORWARD, then output. */
function ipForward(ctx: WalkContext, ns: Netns, inDev: Device, r: Route, pkt: IpPacket): Outcome {
  if (pkt.ip.ttl <= 1) {
    ctx.decide(
      ns,
      { kind: 'forward', ipForward: true, ttlBefore: pkt.ip.ttl, ttlAfter: 0 },
      `forward: ttl ${pkt.ip.ttl} would reach 0`,
      pkt,
    );
    return sendIcmpError(
      ctx,
      ns,
      pkt,
      11,
      0,
      'ttl-exceeded',
      `TTL expired in ${ns.id}: ICMP time exceeded sent back`,
    );
  }
  // ip_forward checks the MTU before it decrements the TTL, so a "fragmentation needed" error quotes the
  // packet as it arrived (net/ipv4/ip_forward.c; confirmed by the kernel conformance test).
  const outDev = r.dev ? ns.devices.get(r.dev) : undefined;
  if (outDev && pkt.ip.df && pkt.ip.length > outDev.mtu) {
    ctx.decide(
      ns,
      { kind: 'mtu', device: outDev.name, mtu: outDev.mtu, length: pkt.ip.length, df: true },
      `${pkt.ip.length} bytes > mtu ${outDev.mtu} of ${outDev.name} and DF is set`,
      pkt,
    );
    return sendIcmpError(
      ctx,
      ns,
      pkt,
      3,
      4,
      'frag-needed',
      `${pkt.ip.length} bytes with DF do not fit ${outDev.name} (mtu ${outDev.mtu}): ICMP fragmentation needed sent back`,
      outDev.mtu,
    );
  }
  const ip: Ipv4Header = { ...pkt.ip, ttl: pkt.ip.ttl - 1 };
  const fwd: IpPacket = { ...pkt, ip };
  ctx.decide(
    ns,
    { kind: 'forward', ipForward: true, ttlBefore: pkt.ip.ttl, ttlAfter: ip.ttl },
    `forward (ip_forward=1): ttl ${pkt.ip.ttl} → ${ip.ttl}`,
    fwd,
  );
  // ip_forward: leaving by the interface it came in on, towards a next hop on the sender's own subnet,
  // makes the kernel tell the sender about the better gateway (send_redirects=1 by default).
  if (r.dev === inDev.name && r.gateway && inDev.kind === 'physical') {
    const sub = inDev.addrs.find(
      (a) => cidrContains(cidrOf(a), pkt.ip.src) && cidrContains(cidrOf(a), r.gateway!),
    );
    if (sub) {
      ctx.decide(
        ns,
        { kind: 'icmp-redirect', to: pkt.ip.src, gateway: r.gateway },
        `ICMP redirect to ${pkt.ip.src}: next time send ${pkt.ip.dst} straight to ${r.gateway} (${formatCidr(cidrOf(sub))} is shared)`,
        fwd,
      );
      sendRedirect(ctx, ns, fwd, r.gateway, inDev);
    }
  }
  const f = hookPoint(ctx, ns, 'FORWARD', fwd, { in: inDev.name, out: r.dev ?? '' });
  if ('verdict' in f) return f.verdict;
  return ipOutput(ctx, ns, r, f.packet, true);
}

/** ip_rt_send_redirect: the redirect is a real packet, sent before the forwarded one leaves (the kernel
 *  conformance test captures it); it quotes the packet with its TTL already decremented. It is followed to
 *  its receiver inside the current leg, whose own verdict it does not change. */
function sendRedirect(ctx: WalkContext, ns: Netns, fwd: IpPacket, gateway: Ip, inDev: Device): void {
  const src =
    inDev.addrs.find((a) => cidrContains(cidrOf(a), fwd.ip.src))?.ip ??
    ns.selectSource(inDev.name, fwd.ip.src);
  if (!src) return;
  const l4: IcmpHeader = { kind: 'icmp', type: 5, code: 1, gateway, original: { ip: fwd.ip, l4: fwd.l4 } };
  const redirect: IpPacket = {
    ip: {
      src,
      dst: fwd.ip.src,
      ttl: DEFAULT_TTL,
      protocol: 'icmp',
      df: false,
      length: IPV4_HEADER_LEN + ICMP_HEADER_LEN + icmpQuoteLength(fwd),
    },
    l4,
  };
  const saved = { delivery: ctx.delivery, icmpError: ctx.icmpError, transit: new Map(ctx.transit) };
  ctx.transit.clear();
  ipLocalOut(ctx, ns, redirect, true);
  ctx.delivery = saved.delivery;
  ctx.icmpError = saved.icmpError;
  ctx.transit.clear();
  for (const [k, v] of saved.transit) ctx.transit.set(k, v);
}

/** ip_local_deliver: INPUT, then the socket — or the VXLAN device's UDP socket, which decapsulates. */
function ipLocalDeliver(ctx: WalkContext, ns: Netns, inIface: string, arrived: IpPacket): Outcome {
  const input = hookPoint(ctx, ns, 'INPUT', arrived, { in: inIface, out: '' });
  if ('verdict' in input) return input.verdict;
  if (input.ipvsResend) return ipvsResend(ctx, ns, input.packet);
  const pkt = input.packet;
  if (pkt.l4.kind === 'udp' && pkt.vxlan && pkt.inner) {
    const dport = pkt.l4.dport;
    const vtep = [...ns.devices.values()].find(
      (d): d is Device & { kind: 'vxlan' } => d.kind === 'vxlan' && d.port === dport,
    );
    if (vtep) {
      if (vtep.vni !== pkt.vxlan.vni)
        return verdict(
          'dropped',
          ns,
          `VXLAN vni ${pkt.vxlan.vni} does not match ${vtep.name} (vni ${vtep.vni})`,
        );
      ctx.decide(
        ns,
        { kind: 'decap', device: vtep.name, vni: vtep.vni, port: dport },
        `decapsulate: UDP ${dport} is ${vtep.name}'s socket, vni ${vtep.vni} → inner frame enters ${vtep.name}`,
        pkt.inner,
      );
      leaveNamespace(ctx, ns); // the inner packet starts afresh (skb_scrub_packet on decapsulation)
      return receive(ctx, ns, vtep, pkt.inner);
    }
  }
  if (pkt.l4.kind === 'icmp' && pkt.l4.type === 5) {
    // icmp_redirect: a host that forwards (ip_forward=1) ignores redirects (accept_redirects is then off).
    const taken = !ns.ipForward;
    ctx.decide(
      ns,
      { kind: 'deliver', socket: 'the kernel (icmp_redirect)', listening: taken },
      taken
        ? `ICMP redirect accepted: the kernel will send to ${pkt.l4.gateway ?? '?'} directly (a route exception)`
        : 'ICMP redirect ignored: this host forwards (ip_forward=1), so accept_redirects does not apply',
      pkt,
    );
    return verdict('delivered', ns, 'the redirect reached its host');
  }
  if (isIcmpError(pkt)) {
    ctx.decide(
      ns,
      { kind: 'deliver', socket: 'the socket that sent the original packet', listening: true },
      'ICMP error delivered to the socket of the original packet (the application sees the error)',
      pkt,
    );
    ctx.delivery = { ns, packet: pkt, listening: true };
    return verdict('delivered', ns, 'the ICMP error reached the sender');
  }
  let socket: string;
  let listening: boolean;
  if (ctx.request && isAnswerTo(pkt, ctx.request)) {
    socket = 'the socket that sent the request';
    listening = true;
  } else if (pkt.l4.kind === 'icmp') {
    socket = pkt.l4.type === 8 ? 'the kernel (icmp_echo answers pings itself)' : 'the ping socket';
    listening = true;
  } else {
    const port = pkt.l4.dport;
    const proto = pkt.l4.kind.toUpperCase();
    if (ns.listen === 'any') {
      socket = `a process on ${proto} ${port} (the scenario declares no ports here, so every port is taken as open)`;
      listening = true;
    } else {
      listening = ns.listen.includes(port);
      socket = listening
        ? `the process listening on ${proto} ${port}`
        : `nothing: no process listens on ${proto} ${port}`;
    }
  }
  ctx.decide(ns, { kind: 'deliver', socket, listening }, `deliver to ${socket}`, pkt);
  ctx.delivery = { ns, packet: pkt, listening };
  if (!listening && pkt.l4.kind === 'tcp')
    return verdict(
      'delivered',
      ns,
      `reached ${ns.id}, but nothing listens on TCP ${pkt.l4.dport}: the kernel answers with RST`,
    );
  if (!listening && pkt.l4.kind === 'udp')
    return verdict(
      'delivered',
      ns,
      `reached ${ns.id}, but nothing listens on UDP ${pkt.l4.dport}: ICMP port unreachable`,
    );
  return verdict('delivered', ns, `${ns.id} received it`);
}

/** ip_vs_nat_xmit + ip_vs_nat_send_or_cont: IPVS stole the packet at LOCAL_IN and rewrote its destination to
 *  the real server; it is routed there from the host's table and sent through LOCAL_OUT (filter OUTPUT; nat
 *  OUTPUT and IPVS's hooks skip it), POSTROUTING and out. */
function ipvsResend(ctx: WalkContext, ns: Netns, pkt: IpPacket): Outcome {
  const lookup = fibLookup(ns, pkt.ip.dst, pkt.ip.src);
  decideRoute(ctx, ns, pkt, lookup, null);
  if (lookup.kind === 'noRoute' || lookup.route.type !== 'unicast')
    return verdict(
      'dropped',
      ns,
      `IPVS: no usable route to the real server ${pkt.ip.dst} (__ip_vs_get_out_rt fails)`,
    );
  const r = lookup.route;
  const out = hookPoint(ctx, ns, 'OUTPUT', pkt, { in: '', out: r.dev ?? '' });
  if ('verdict' in out) return out.verdict;
  return ipOutput(ctx, ns, r, out.packet, true);
}

/** True iff `p` travels the reverse way of `req` (same addresses and ports, swapped). */
function isAnswerTo(p: IpPacket, req: IpPacket): boolean {
  if (p.ip.src !== req.ip.dst || p.ip.dst !== req.ip.src || p.l4.kind !== req.l4.kind) return false;
  if (p.l4.kind === 'icmp' && req.l4.kind === 'icmp') return p.l4.type === 0 && p.l4.id === req.l4.id;
  if (p.l4.kind !== 'icmp' && req.l4.kind !== 'icmp')
    return p.l4.sport === req.l4.dport && p.l4.dport === req.l4.sport;
  return false;
}

// ───────────────────────────── randomness ─────────────────────────────

/** A small seeded PRNG (mulberry32), so the same seed gives the same walk. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
