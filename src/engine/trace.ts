// The trace: what a walk records, as Batfish records a flow trace — an ordered list of located events,
// each leg ending in one verdict. Events carry a snapshot of the packet after the step, so a viewer can
// seek to any event without re-running the engine. The JSON form is documented in docs/trace-format.md.
import type { Ip, Mac } from './addr.ts';
import type { NetOp } from './netops.ts';
import type { Frame, IpPacket } from './packet.ts';
import type { NetnsView } from './view.ts';

/** Bump when the JSON shape of events changes incompatibly.
 *  2: `cni` events and CNI walks (legs `cni-add`/`cni-del`, verdicts `configured`/`removed`, `flow` null,
 *  a verdict's `packet` null when there is none). */
export const TRACE_FORMAT_VERSION = 2;

/** A place in the world: a network namespace (and the node it lives on). */
export interface Where {
  /** The Kubernetes node, or null for hosts outside the cluster. */
  readonly node: string | null;
  /** Network namespace id: node/<node>, pod/<ns>/<name> or host/<name>. */
  readonly netns: string;
}

export type LegKind =
  /** The packet the walk sends. */
  | 'request'
  /** The answer of the process that received it (SYN-ACK, RST, UDP answer, echo reply). */
  | 'reply'
  /** An ICMP error the network sent back about the request. */
  | 'icmp-error'
  /** A DNS query: the resolver's to its nameserver, or CoreDNS's forwarded to an upstream. */
  | 'dns-query'
  /** The DNS answer coming back. */
  | 'dns-response'
  /** A pod's CNI ADD: the steps that give it its network (no packet). */
  | 'cni-add'
  /** A pod's CNI DEL: the steps that take it away. */
  | 'cni-del';

/** What consulted which table, and what it found. */
export type Decision =
  | {
      readonly kind: 'route';
      /** The routing table that matched (local is consulted before main, as the kernel's rules say). */
      readonly table: 'local' | 'main' | null;
      readonly dst: Ip;
      /** The matched route as `ip route` prints it, or null when nothing matched. */
      readonly route: string | null;
      readonly result: 'local' | 'unicast' | 'broadcast' | 'unreachable' | 'blackhole' | 'prohibit';
      readonly dev: string | null;
      readonly gateway: Ip | null;
      readonly src: Ip | null;
    }
  | {
      readonly kind: 'fdb';
      readonly bridge: string;
      readonly mac: Mac;
      /** `port`: forwarded to that port; `local`: the frame is for the bridge device itself; `flood`: unknown. */
      readonly result: 'port' | 'local' | 'flood';
      readonly port: string | null;
      /** `bridge fdb` line that matched, or null. */
      readonly entry: string | null;
      /** True when the entry was learned during this walk (from an earlier frame's source MAC). */
      readonly learned: boolean;
    }
  | {
      readonly kind: 'vxlan-fdb';
      readonly device: string;
      readonly mac: Mac;
      readonly remote: Ip | null;
      readonly entry: string | null;
    }
  | {
      readonly kind: 'neigh';
      readonly device: string;
      readonly ip: Ip;
      readonly mac: Mac | null;
      /** NUD state found (before resolution) and the state after. */
      readonly stateBefore: 'PERMANENT' | 'REACHABLE' | 'STALE' | 'NONE';
      readonly stateAfter: 'PERMANENT' | 'REACHABLE' | 'STALE' | 'DELAY' | 'FAILED' | 'NOARP';
      /** When an ARP exchange resolved it: who answered (netns and device). */
      readonly arp: { readonly answeredBy: string; readonly device: string } | null;
      readonly entry: string | null;
    }
  | {
      readonly kind: 'forward';
      readonly ipForward: boolean;
      readonly ttlBefore: number;
      readonly ttlAfter: number;
    }
  | {
      readonly kind: 'mtu';
      readonly device: string;
      readonly mtu: number;
      readonly length: number;
      readonly df: boolean;
    }
  | {
      readonly kind: 'encap';
      readonly device: string;
      readonly vni: number;
      readonly local: Ip;
      readonly remote: Ip;
      readonly port: number;
    }
  | { readonly kind: 'decap'; readonly device: string; readonly vni: number; readonly port: number }
  | {
      readonly kind: 'deliver';
      /** What receives the packet in this namespace. */
      readonly socket: string;
      readonly listening: boolean;
    }
  | { readonly kind: 'l2-drop'; readonly device: string; readonly reason: string }
  | { readonly kind: 'icmp-redirect'; readonly to: Ip; readonly gateway: Ip }
  | {
      /** One table of one netfilter hook: the chains traversed and the rules that matched. */
      readonly kind: 'netfilter';
      readonly hook: 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
      readonly table: 'raw' | 'mangle' | 'nat' | 'filter';
      readonly verdict: 'ACCEPT' | 'DROP' | 'REJECT';
      /** Matched rules, jumps, returns and the terminal target, as iptables-save lines with their chain. */
      readonly steps: readonly {
        readonly chain: string;
        readonly index: number;
        readonly rule: string;
        readonly action: string;
        readonly random: {
          readonly probability: number;
          readonly roll: number;
          readonly taken: boolean;
        } | null;
      }[];
      /** How many rules the kernel evaluated, matching or not. */
      readonly evaluated: number;
      /** The packet mark after the table. */
      readonly mark: number;
      /** True when br_netfilter ran the hook for a bridged frame (bridge-nf-call-iptables=1). */
      readonly bridged: boolean;
    }
  | {
      readonly kind: 'conntrack';
      /** new: an unconfirmed entry was created; found: an existing entry matched; confirmed: the first packet
       *  left the last hook and the entry entered the table. */
      readonly action: 'new' | 'found' | 'confirmed';
      readonly direction: 'original' | 'reply';
      readonly state: 'NEW' | 'ESTABLISHED' | 'RELATED';
      /** The entry as `conntrack -L` prints it. */
      readonly entry: string;
    }
  | {
      /** IPVS (kube-proxy's ipvs mode) at one of its hooks: a request scheduled and DNATed to a real server
       *  (LVS-NAT), a reply un-NATed back to the virtual service, a packet it lets pass, or an ICMP error. */
      readonly kind: 'ipvs';
      readonly hook: 'LOCAL_IN' | 'LOCAL_OUT' | 'FORWARD';
      readonly action: 'forward' | 'un-nat' | 'pass' | 'reject' | 'ttl-exceeded' | 'not-modelled';
      /** The virtual service, "TCP 10.96.0.20:80" (null when the packet is for none). */
      readonly service: string | null;
      /** The real server "ip:port" chosen (forward) or answering (un-nat). */
      readonly realServer: string | null;
      /** forward: the conntrack entry after ip_vs_update_conntrack changed its reply tuple. */
      readonly conntrackReply: string | null;
    }
  | {
      /** The stub resolver (glibc) in the process that wants an address: the name it tries next, from which
       *  resolv.conf, and what it does with an answer. */
      readonly kind: 'resolver';
      /** The name as the program gave it. */
      readonly name: string;
      readonly resolvConf: string;
      /** Every name the search list and ndots make of it, in the order they are tried. */
      readonly candidates: readonly string[];
      /** The candidate this step is about. */
      readonly candidate: string;
      /** try: a query is sent; use: an address is taken; next: on to the next candidate; fail: getaddrinfo fails. */
      readonly outcome: 'try' | 'use' | 'next' | 'fail';
      readonly address: Ip | null;
    }
  | {
      /** A DNS server answered (or forwarded) a query. */
      readonly kind: 'dns';
      /** "CoreDNS kube-system/coredns-1" or "DNS resolver host/resolver". */
      readonly server: string;
      /** "db-service.default.svc.cluster.local. IN A". */
      readonly question: string;
      /** NOERROR, NXDOMAIN, ...; null when the query was forwarded and the answer is still to come. */
      readonly rcode: string | null;
      /** Records as dig prints them. */
      readonly answer: readonly string[];
      readonly authority: readonly string[];
      /** What each plugin did, in order. */
      readonly steps: readonly string[];
      /** The upstream the query is forwarded to, if any. */
      readonly forwardTo: Ip | null;
    }
  | {
      /** NetworkPolicy, enforced by the CNI's policy agent at the pod's veth (on the node's filter hooks). */
      readonly kind: 'policy';
      readonly direction: 'ingress' | 'egress';
      /** The pod the policy direction is about: "prod/db". */
      readonly pod: string;
      /** allowed / denied by policies selecting the pod; not-isolated: no policy selects it for this direction;
       *  established: a reply or later packet of an allowed connection, let through by conntrack. */
      readonly result: 'allowed' | 'denied' | 'not-isolated' | 'established';
      /** "ns/name" of the policies selecting the pod in this direction. */
      readonly policies: readonly string[];
      /** The rule that allowed it: "prod/allow-frontend ingress[0]". */
      readonly rule: string | null;
      readonly reason: string;
    }
  | {
      readonly kind: 'nat';
      /** DNAT/SNAT/MASQUERADE bound by a rule, or the translation conntrack applies to later packets. */
      readonly how: 'DNAT' | 'SNAT' | 'MASQUERADE' | 'conntrack';
      readonly hook: 'PREROUTING' | 'INPUT' | 'OUTPUT' | 'POSTROUTING';
      readonly field: 'src' | 'dst';
      readonly before: string;
      readonly after: string;
    };

export type VerdictKind =
  /** A process received it. */
  | 'delivered'
  /** Something discarded it silently. */
  | 'dropped'
  /** ICMP destination unreachable was (or would be) sent back. */
  | 'unreachable'
  /** TTL ran out in a router; ICMP time exceeded sent back. */
  | 'ttl-exceeded'
  /** Too big for a link with DF set; ICMP fragmentation needed sent back. */
  | 'frag-needed'
  /** The sending stack refused it (EMSGSIZE, ENETUNREACH, EHOSTUNREACH) before it left. */
  | 'local-error'
  /** The walk's step budget ran out (a forwarding loop without a TTL, e.g. an L2 loop). */
  | 'loop'
  /** The name did not resolve: the answer reached the resolver, which gives up (getaddrinfo fails). */
  | 'unresolved'
  /** A CNI ADD finished: the pod has its interface, address and routes (the result goes to the runtime). */
  | 'configured'
  /** A CNI DEL finished: the pod's network and its namespace are gone. */
  | 'removed';

export interface Verdict {
  readonly kind: VerdictKind;
  readonly at: Where;
  /** One sentence: why. */
  readonly reason: string;
}

interface EventBase {
  /** Position in the trace, from 0. */
  readonly seq: number;
  /** Which leg (0 = request). */
  readonly leg: number;
}

export type TraceEvent =
  | (EventBase & {
      readonly type: 'leg';
      readonly kind: LegKind;
      readonly at: Where;
      readonly summary: string;
      readonly packet: IpPacket;
    })
  | (EventBase & {
      readonly type: 'observe';
      readonly at: Where;
      readonly device: string;
      /** As `tcpdump -p -i DEV -Q in|out` would see it. */
      readonly direction: 'in' | 'out';
      readonly packet: Frame;
    })
  | (EventBase & {
      readonly type: 'decide';
      readonly at: Where;
      readonly decision: Decision;
      /** One line, like `ip route get` or `bridge fdb` would print. */
      readonly summary: string;
      /** The packet as it is at this point (an IP packet before it has an Ethernet header). */
      readonly packet: Frame | IpPacket;
    })
  | (EventBase & {
      /** One step of a pod's CNI ADD or DEL: what the runtime or a plugin did, as the command a person would
       *  type, and the namespaces it changed as they are after it. */
      readonly type: 'cni';
      /** Where the step acts: the node's root namespace or the pod's. */
      readonly at: Where;
      readonly command: 'ADD' | 'DEL';
      /** Who acts: the runtime (containerd) or a plugin. */
      readonly actor: 'containerd' | 'loopback' | 'flannel' | 'bridge' | 'host-local';
      /** The change, or null for a step that changes nothing (reading a file, running the next plugin). */
      readonly op: NetOp | null;
      /** The command(s) a person would type for the step, one per line, in the node's shell (a pod's
       *  namespace by its `ip netns` name, `cni-…`). */
      readonly shell: string;
      /** What the step reads or passes on (a file's text, a plugin's network config), or null. */
      readonly text: string | null;
      /** Why the plugin does it. */
      readonly why: string;
      /** The upstream source the step follows. */
      readonly source: string;
      /** The namespaces the step changed, after it: `view` null when the namespace is gone. Their iptables
       *  rules are left out (no step changes them). Empty for a step that changes nothing. */
      readonly state: readonly { readonly netns: string; readonly view: NetnsView | null }[];
    })
  | (EventBase & {
      readonly type: 'verdict';
      readonly verdict: Verdict;
      /** The packet as it last was; null when the walk has none (a CNI walk). */
      readonly packet: Frame | IpPacket | null;
    });

export type TraceEventType = TraceEvent['type'];

export interface Flow {
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly src: Ip;
  readonly dst: Ip;
  readonly sport: number | null;
  readonly dport: number | null;
}

export interface LegSummary {
  readonly kind: LegKind;
  readonly verdict: Verdict;
}

/** How the walk's destination name was resolved (walks to a DNS name only). */
export interface Resolution {
  readonly name: string;
  readonly resolvConf: string;
  readonly candidates: readonly string[];
  /** The address used, or null when resolution failed. */
  readonly address: Ip | null;
  /** getaddrinfo's error when it failed: "Name or service not known (EAI_NONAME)". */
  readonly error: string | null;
}

export interface Trace {
  readonly version: typeof TRACE_FORMAT_VERSION;
  readonly from: string;
  readonly to: string;
  /** Present when `to` was a DNS name: the lookup that came before the connection. When it failed, the trace
   *  ends with the DNS legs and `flow` is the connection that was never attempted (dst 0.0.0.0). */
  readonly resolution?: Resolution;
  /** The packet's flow; null for a CNI walk, which sends none. */
  readonly flow: Flow | null;
  /** A CNI walk: the command, the pod, its node and address. */
  readonly cni?: {
    readonly command: 'ADD' | 'DEL';
    readonly pod: string;
    readonly node: string;
    readonly ip: Ip;
  };
  readonly seed: number;
  readonly events: readonly TraceEvent[];
  readonly legs: readonly LegSummary[];
}
