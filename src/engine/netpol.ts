// NetworkPolicy (networking.k8s.io/v1): which pods a policy isolates, and whether a new connection is allowed.
// Pure: reads the validated model only; the same model and flow always give the same verdict.
//
// Semantics, from the API's own doc comments (staging/src/k8s.io/api/networking/v1/types.go) and the upstream
// conformance suite (test/e2e/network/netpol/network_policy.go):
// - A pod is isolated for ingress (egress) iff some policy of its namespace selects it (spec.podSelector)
//   and lists Ingress (Egress) in policyTypes. A pod no policy isolates accepts (sends) everything.
// - Policies are additive: an isolated pod takes a connection iff at least one rule of one selecting policy
//   matches it. Nothing denies explicitly; order does not matter.
// - A rule matches when one of its peers matches (no peers: every peer) and one of its ports matches (no
//   ports: every port and protocol, ICMP included).
// - A peer with podSelector and namespaceSelector selects the pods matching both; podSelector alone means the
//   policy's own namespace; namespaceSelector alone means every pod of the selected namespaces (matched on
//   Namespace labels, kubernetes.io/metadata.name included). Two peers are an OR.
// - ipBlock matches addresses in cidr and in none of except; it applies to pod IPs too (the e2e suite allows
//   egress to a pod by its /32).
// - A port matches the protocol (TCP default) and a number, a range port..endPort, or a container port name
//   resolved on the destination pod: for ingress the selected pod, for egress the peer pod (name and protocol
//   must both match, as Calico and Cilium resolve named ports).
// - Traffic from the pod's own node always reaches it (types.go: "OR if the traffic source is the pod's local
//   node"), so kubelet's probes work. The node's addresses: its InternalIP, cni0's (.1 of its podCIDR, the
//   source of what the node sends to its own pods) and flannel.1's (.0, VXLAN mode).
// - hostNetwork pods are not subject to policy, and podSelector/namespaceSelector never match them: their
//   traffic is the node's (the most common implementation, as the NetworkPolicy docs allow).
// Verdicts are for the first packet of a connection. Implementations are stateful: replies of an allowed
// connection pass (conntrack), which the walker models, not this module.
// Not modelled: AdminNetworkPolicy/BaselineAdminNetworkPolicy, CNI-specific policy kinds, SCTP walks (SCTP is
// evaluated, but the engine has no SCTP packets).
import { ipToInt, maskOf, nthAddress, type Ip } from './addr.ts';
import type { IpProtocol } from './packet.ts';
import type {
  ClusterModel,
  LabelSelectorModel,
  NetworkPolicyModel,
  NetworkPolicyPortModel,
  PodModel,
} from '../scenario/model.ts';

/** The direction a policy applies to, as spelled in policyTypes. */
export type PolicyDirection = 'Ingress' | 'Egress';

/** A flow's protocol: the engine's own, plus SCTP (which NetworkPolicy ports can name). */
export type PolicyProtocol = IpProtocol | 'sctp';

/** The other end of a connection: its address, and the pod behind it when there is one. */
export interface PolicyEndpoint {
  readonly ip: Ip;
  /** The pod with this address (after any Service DNAT), or null: a node, a host, the internet. */
  readonly pod: PodModel | null;
}

/** Which rule let a connection through. Indices are into the policy's spec, as in its YAML. */
export interface PolicyMatch {
  /** "namespace/name" of the policy. */
  readonly policy: string;
  /** Index into spec.ingress or spec.egress. */
  readonly rule: number;
  /** Index into the rule's from/to, or null when the rule has none (every peer). */
  readonly peer: number | null;
  /** Index into the rule's ports, or null when the rule has none (every port). */
  readonly port: number | null;
}

export interface PolicyVerdict {
  /** True when policy lets the connection through in this direction. */
  readonly allowed: boolean;
  /** True when some policy selects the pod for this direction (only rules can then allow). */
  readonly isolated: boolean;
  /** "namespace/name" of every policy that selects the pod for this direction, in document order. */
  readonly selecting: readonly string[];
  /** The first rule (in document order) that allows it; null when not isolated or denied. */
  readonly allowedBy: PolicyMatch | null;
  /** One sentence for people, e.g. "no rule allows it: prod/default-deny selects pod prod/db for Ingress". */
  readonly reason: string;
}

// ---------------------------------------------------------------------------------------------------------
// Label selectors

type Labels = Readonly<Record<string, string>>;
type Matcher = (labels: Labels) => boolean;

const MATCH_ALL: Matcher = () => true;

/** Compiles a metav1.LabelSelector as apimachinery's labels.Selector evaluates it: NotIn and DoesNotExist hold
 *  when the key is absent; In, Exists and matchLabels need it present. Empty selects everything. */
function compileSelector(sel: LabelSelectorModel): Matcher {
  const pairs = Object.entries(sel.matchLabels);
  const exprs = sel.matchExpressions.map((e) => ({ ...e, set: new Set(e.values) }));
  if (pairs.length === 0 && exprs.length === 0) return MATCH_ALL;
  return (labels) => {
    for (const [k, v] of pairs) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
    for (const e of exprs) {
      const has = Object.hasOwn(labels, e.key);
      const ok =
        e.operator === 'In'
          ? has && e.set.has(labels[e.key]!)
          : e.operator === 'NotIn'
            ? !has || !e.set.has(labels[e.key]!)
            : e.operator === 'Exists'
              ? has
              : !has;
      if (!ok) return false;
    }
    return true;
  };
}

/** True iff `labels` satisfy the selector (exported for tests and viewers). */
export function selectorMatches(sel: LabelSelectorModel, labels: Labels): boolean {
  return compileSelector(sel)(labels);
}

// ---------------------------------------------------------------------------------------------------------
// The compiled index: built once per model, so that a verdict costs a few closure calls per rule.

type CompiledPeer =
  | { readonly kind: 'pods'; readonly pod: Matcher | null; readonly ns: Matcher | null }
  | {
      readonly kind: 'ipBlock';
      readonly net: number;
      readonly mask: number;
      readonly except: readonly { readonly net: number; readonly mask: number }[];
    };

interface CompiledRule {
  readonly peers: readonly CompiledPeer[];
  readonly ports: readonly NetworkPolicyPortModel[];
}

interface CompiledPolicy {
  readonly key: string;
  readonly namespace: string;
  readonly selects: Matcher;
  /** Rules per direction; null when policyTypes does not list it (the policy does not apply that way). */
  readonly Ingress: readonly CompiledRule[] | null;
  readonly Egress: readonly CompiledRule[] | null;
}

interface Selecting {
  readonly Ingress: readonly CompiledPolicy[];
  readonly Egress: readonly CompiledPolicy[];
}

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

class NetpolIndex {
  private readonly byNamespace = new Map<string, CompiledPolicy[]>();
  private readonly selecting = new Map<string, Selecting>();
  /** Each node's own addresses (InternalIP, cni0, flannel.1). */
  private readonly nodeAddresses = new Map<string, ReadonlySet<Ip>>();
  private readonly podsByIP = new Map<Ip, PodModel>();
  /** Per namespace matcher: namespace → matched, since namespaces are few and selectors are reused per pod. */
  private readonly nsMatches = new Map<Matcher, Map<string, boolean>>();

  constructor(private readonly model: ClusterModel) {
    for (const p of model.networkPolicies) {
      const list = this.byNamespace.get(p.namespace) ?? [];
      list.push(compilePolicy(p));
      this.byNamespace.set(p.namespace, list);
    }
    for (const n of model.nodes) {
      const own = [n.internalIP, nthAddress(n.podCIDR, 0), nthAddress(n.podCIDR, 1)];
      this.nodeAddresses.set(n.name, new Set(own));
    }
    for (const pod of model.pods) if (!pod.hostNetwork) this.podsByIP.set(pod.podIP, pod);
  }

  /** The non-hostNetwork pod with this IP, if any. */
  podAt(ip: Ip): PodModel | null {
    return this.podsByIP.get(ip) ?? null;
  }

  /** True iff `ip` is an address of the node the pod runs on. */
  isOwnNode(pod: PodModel, ip: Ip): boolean {
    return this.nodeAddresses.get(pod.nodeName)?.has(ip) ?? false;
  }

  /** The policies of the pod's namespace that select it, per direction. */
  selectingOf(pod: PodModel): Selecting {
    const key = `${pod.namespace}/${pod.name}`;
    let s = this.selecting.get(key);
    if (!s) {
      const mine = (this.byNamespace.get(pod.namespace) ?? []).filter((p) => p.selects(pod.labels));
      s = { Ingress: mine.filter((p) => p.Ingress !== null), Egress: mine.filter((p) => p.Egress !== null) };
      this.selecting.set(key, s);
    }
    return s;
  }

  namespaceMatches(m: Matcher, namespace: string): boolean {
    let cache = this.nsMatches.get(m);
    if (!cache) this.nsMatches.set(m, (cache = new Map()));
    let hit = cache.get(namespace);
    if (hit === undefined) {
      const labels = this.model.namespaceLabels[namespace] ?? { [NAMESPACE_NAME_LABEL]: namespace };
      hit = m(labels);
      cache.set(namespace, hit);
    }
    return hit;
  }
}

function compilePolicy(p: NetworkPolicyModel): CompiledPolicy {
  const rules = (list: NetworkPolicyModel['ingress']): CompiledRule[] =>
    list.map((r) => ({
      ports: r.ports,
      peers: r.peers.map((peer): CompiledPeer => {
        if (peer.kind === 'pods') {
          return {
            kind: 'pods',
            pod: peer.podSelector ? compileSelector(peer.podSelector) : null,
            ns: peer.namespaceSelector ? compileSelector(peer.namespaceSelector) : null,
          };
        }
        const block = (c: { ip: Ip; prefix: number }) => ({ net: ipToInt(c.ip), mask: maskOf(c.prefix) });
        return { kind: 'ipBlock', ...block(peer.cidr), except: peer.except.map(block) };
      }),
    }));
  return {
    key: `${p.namespace}/${p.name}`,
    namespace: p.namespace,
    selects: compileSelector(p.podSelector),
    Ingress: p.policyTypes.includes('Ingress') ? rules(p.ingress) : null,
    Egress: p.policyTypes.includes('Egress') ? rules(p.egress) : null,
  };
}

// The model is read-only once parsed, so one index per model object is safe and makes repeated calls cheap
// (the walker asks per packet; reachability asks per pair).
const INDEXES = new WeakMap<ClusterModel, NetpolIndex>();

function indexOf(model: ClusterModel): NetpolIndex {
  let index = INDEXES.get(model);
  if (!index) INDEXES.set(model, (index = new NetpolIndex(model)));
  return index;
}

// ---------------------------------------------------------------------------------------------------------
// Matching one flow

function peerMatches(
  index: NetpolIndex,
  peer: CompiledPeer,
  policyNamespace: string,
  ip: number,
  pod: PodModel | null,
): boolean {
  if (peer.kind === 'ipBlock') {
    if ((ip & peer.mask) >>> 0 !== peer.net) return false;
    return peer.except.every((e) => (ip & e.mask) >>> 0 !== e.net);
  }
  if (!pod) return false;
  const nsOk = peer.ns ? index.namespaceMatches(peer.ns, pod.namespace) : pod.namespace === policyNamespace;
  return nsOk && (peer.pod === null || peer.pod(pod.labels));
}

/** True iff a `ports` entry admits the flow. `target` is the pod whose container port names apply. */
function portMatches(
  p: NetworkPolicyPortModel,
  protocol: PolicyProtocol,
  port: number | null,
  target: PodModel | null,
): boolean {
  if (protocol === 'icmp' || port === null || p.protocol !== protocol.toUpperCase()) return false;
  if (p.port === null) return true;
  if (typeof p.port === 'number')
    return p.endPort === null ? port === p.port : port >= p.port && port <= p.endPort;
  return (
    target !== null &&
    target.ports.some((c) => c.name === p.port && c.protocol === p.protocol && c.containerPort === port)
  );
}

interface Flow {
  /** The pod the policies select: the destination for Ingress, the source for Egress. */
  readonly pod: PodModel;
  /** The other end. */
  readonly peer: PolicyEndpoint;
  readonly protocol: PolicyProtocol;
  readonly port: number | null;
}

function evaluate(model: ClusterModel, direction: PolicyDirection, flow: Flow): PolicyVerdict {
  const { pod } = flow;
  const podKey = `${pod.namespace}/${pod.name}`;
  if (pod.hostNetwork) {
    return {
      allowed: true,
      isolated: false,
      selecting: [],
      allowedBy: null,
      reason: `pod ${podKey} uses the host network: NetworkPolicy does not apply to it`,
    };
  }
  const index = indexOf(model);
  const policies = index.selectingOf(pod)[direction];
  const selecting = policies.map((p) => p.key);
  if (policies.length === 0) {
    return {
      allowed: true,
      isolated: false,
      selecting,
      allowedBy: null,
      reason: `no NetworkPolicy selects pod ${podKey} for ${direction}: not isolated`,
    };
  }
  if (direction === 'Ingress' && index.isOwnNode(pod, flow.peer.ip)) {
    return {
      allowed: true,
      isolated: true,
      selecting,
      allowedBy: null,
      reason: `from the pod's own node (${flow.peer.ip}): always allowed`,
    };
  }
  // A hostNetwork pod's traffic is its node's: only ipBlock can match it.
  const peerPod = flow.peer.pod && !flow.peer.pod.hostNetwork ? flow.peer.pod : null;
  // Named ports resolve on the destination: the selected pod for Ingress, the peer for Egress.
  const target = direction === 'Ingress' ? pod : peerPod;
  const ip = ipToInt(flow.peer.ip);
  for (const policy of policies) {
    const rules = policy[direction]!;
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r]!;
      const peer =
        rule.peers.length === 0
          ? null
          : rule.peers.findIndex((p) => peerMatches(index, p, policy.namespace, ip, peerPod));
      if (peer === -1) continue;
      const port =
        rule.ports.length === 0
          ? null
          : rule.ports.findIndex((p) => portMatches(p, flow.protocol, flow.port, target));
      if (port === -1) continue;
      const field = direction === 'Ingress' ? 'ingress' : 'egress';
      const peerField = direction === 'Ingress' ? 'from' : 'to';
      const where = [
        `spec.${field}[${r}]`,
        peer === null ? null : `${peerField}[${peer}]`,
        port === null ? null : `ports[${port}]`,
      ].filter((x) => x !== null);
      return {
        allowed: true,
        isolated: true,
        selecting,
        allowedBy: { policy: policy.key, rule: r, peer, port },
        reason: `allowed by ${policy.key} ${where.join(' ')}`,
      };
    }
  }
  const verb = selecting.length === 1 ? 'selects' : 'select';
  return {
    allowed: false,
    isolated: true,
    selecting,
    allowedBy: null,
    reason: `no rule allows it: ${selecting.join(', ')} ${verb} pod ${podKey} for ${direction}`,
  };
}

/**
 * May `srcPod` open this connection? Egress policies of the source's namespace decide.
 * Preconditions:
 *   `dst` is the address the packet leaves the pod for after any Service DNAT, with its pod when it has one.
 *   `port` is the destination port; null for ICMP.
 */
export function evaluateEgress(
  model: ClusterModel,
  srcPod: PodModel,
  dst: PolicyEndpoint,
  protocol: PolicyProtocol,
  port: number | null,
): PolicyVerdict {
  return evaluate(model, 'Egress', { pod: srcPod, peer: dst, protocol, port });
}

/**
 * May this connection reach `dstPod`? Ingress policies of the destination's namespace decide.
 * Preconditions:
 *   `src` is the source as the destination sees it (after any SNAT), with its pod when it has one.
 *   `port` is the destination port; null for ICMP.
 */
export function evaluateIngress(
  model: ClusterModel,
  dstPod: PodModel,
  src: PolicyEndpoint,
  protocol: PolicyProtocol,
  port: number | null,
): PolicyVerdict {
  return evaluate(model, 'Ingress', { pod: dstPod, peer: src, protocol, port });
}

/** An address as a policy endpoint: the (non-hostNetwork) pod that owns it, if any. */
export function policyEndpoint(model: ClusterModel, ip: Ip): PolicyEndpoint {
  return { ip, pod: indexOf(model).podAt(ip) };
}

/** "namespace/name" of the policies selecting `pod` for `direction`, in document order. */
export function policiesSelecting(model: ClusterModel, pod: PodModel, direction: PolicyDirection): string[] {
  if (pod.hostNetwork) return [];
  const policies = indexOf(model).selectingOf(pod)[direction];
  return policies.map((p) => p.key);
}

// ---------------------------------------------------------------------------------------------------------
// Reachability: every pod to every pod, on pod IPs (no Services), as the e2e suite's truth tables

/** One probe: a protocol and destination port. */
export interface ReachabilityProbe {
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
}

export interface ReachabilityOptions {
  /** Probe these ports on every pod. Default: each pod on its own container ports (one table per port). */
  readonly ports?: readonly number[];
  /** The protocol of `ports` (default TCP); without `ports`, only container ports of this protocol. */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface ReachabilityCell {
  /** Egress from the source and ingress to the destination both allow it. */
  readonly allowed: boolean;
  /** The deciding reason: the denying side's, or both sides' when allowed. */
  readonly reason: string;
  /** null for a pod to itself (loopback: no policy applies). */
  readonly egress: PolicyVerdict | null;
  readonly ingress: PolicyVerdict | null;
}

export interface ReachabilityTable {
  readonly probe: ReachabilityProbe;
  /** Rows: "namespace/name" of every source pod. */
  readonly from: readonly string[];
  /** Columns: every destination pod probed on this port. */
  readonly to: readonly string[];
  /** cells[i][j] is from[i] → to[j]. */
  readonly cells: readonly (readonly ReachabilityCell[])[];
}

export interface ReachabilityMatrix {
  /** Every non-hostNetwork pod, in model order. */
  readonly pods: readonly string[];
  /** One table per probe, by protocol then port. */
  readonly tables: readonly ReachabilityTable[];
}

/**
 * Whether each pod may connect to each pod, port by port: egress(src) && ingress(dst), on pod IPs.
 * A pod to itself is always allowed: its own IP is local, the packet never leaves its network namespace
 * (the e2e suite's AllowLoopback; upstream leaves loopback undefined and ignores it).
 */
export function reachability(model: ClusterModel, opts: ReachabilityOptions = {}): ReachabilityMatrix {
  const pods = model.pods.filter((p) => !p.hostNetwork);
  const keyOf = (p: PodModel) => `${p.namespace}/${p.name}`;
  const probes = new Map<string, { probe: ReachabilityProbe; to: PodModel[] }>();
  const add = (probe: ReachabilityProbe, pod: PodModel) => {
    const k = `${probe.protocol}/${String(probe.port).padStart(5, '0')}`;
    const entry = probes.get(k) ?? { probe, to: [] };
    if (!entry.to.includes(pod)) entry.to.push(pod);
    probes.set(k, entry);
  };
  for (const pod of pods) {
    if (opts.ports) {
      for (const port of opts.ports) add({ protocol: opts.protocol ?? 'TCP', port }, pod);
      continue;
    }
    for (const c of pod.ports)
      if (!opts.protocol || c.protocol === opts.protocol)
        add({ protocol: c.protocol, port: c.containerPort }, pod);
  }
  const tables = [...probes.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, { probe, to }]): ReachabilityTable => {
      const protocol = probe.protocol.toLowerCase() as PolicyProtocol;
      const cells = pods.map((src) =>
        to.map((dst): ReachabilityCell => {
          if (src === dst) {
            const reason = 'loopback: a pod reaching its own IP never leaves its network namespace';
            return { allowed: true, reason, egress: null, ingress: null };
          }
          const egress = evaluateEgress(model, src, { ip: dst.podIP, pod: dst }, protocol, probe.port);
          const ingress = evaluateIngress(model, dst, { ip: src.podIP, pod: src }, protocol, probe.port);
          const allowed = egress.allowed && ingress.allowed;
          const reason = allowed
            ? `egress: ${egress.reason}; ingress: ${ingress.reason}`
            : [egress, ingress]
                .filter((v) => !v.allowed)
                .map((v) => (v === egress ? `egress: ${v.reason}` : `ingress: ${v.reason}`))
                .join('; ');
          return { allowed, reason, egress, ingress };
        }),
      );
      return { probe, from: pods.map(keyOf), to: to.map(keyOf), cells };
    });
  return { pods: pods.map(keyOf), tables };
}

/**
 * One table as the e2e suite's TruthTable.PrettyPrint lays it out (test/e2e/network/netpol/truthtable.go):
 * a "-" corner, destinations across, sources down, "." allowed and "X" denied — with columns padded to the
 * names instead of tab-separated.
 */
export function formatReachabilityTable(table: ReachabilityTable): string {
  const first = Math.max(1, ...table.from.map((f) => f.length));
  const widths = table.to.map((t) => Math.max(1, t.length));
  const row = (head: string, cells: readonly string[]) =>
    [head.padEnd(first), ...cells.map((c, i) => c.padEnd(widths[i]!))].join('  ').trimEnd();
  const lines = [row('-', table.to)];
  table.from.forEach((f, i) => {
    const marks = table.cells[i]!.map((c) => (c.allowed ? '.' : 'X'));
    lines.push(row(f, marks));
  });
  return `${lines.join('\n')}\n`;
}

/** Every table, each under a "<port>/<protocol>" heading with its counts. */
export function formatReachability(matrix: ReachabilityMatrix): string {
  if (matrix.tables.length === 0) return 'no pods with container ports to probe (give ports to probe)\n';
  return matrix.tables
    .map((t) => {
      const all = t.cells.flat();
      const allowed = all.filter((c) => c.allowed).length;
      const head = `${t.probe.port}/${t.probe.protocol}: ${allowed} allowed, ${all.length - allowed} denied`;
      return `${head}\n${formatReachabilityTable(t)}`;
    })
    .join('\n');
}
