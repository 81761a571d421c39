// The second half of the scenario parser: objects read one document at a time (parse.ts) are checked against
// each other and everything Kubernetes would fill in is filled in, deterministically: node podCIDRs and
// InternalIPs, pod IPs (host-local IPAM order), Service clusterIPs and nodePorts (hash-seeded so that adding
// an unrelated Service moves nothing), and the EndpointSlices the controller would write.
import {
  broadcastOf,
  cidrContains,
  cidrOf,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  hashHex,
  isIp,
  nthAddress,
  nthSubnet,
  parseCidr,
  type Cidr,
  type Ip,
} from '../engine/addr.ts';
import type { IpProtocol } from '../engine/packet.ts';
import type {
  ClusterModel,
  CniMode,
  Topic,
  ContainerPort,
  DnsPolicy,
  EndpointModel,
  EndpointSliceModel,
  GatewayModel,
  HostModel,
  NetworkPolicyModel,
  NodeFirewallAllowModel,
  NodeFirewallModel,
  NodeModel,
  PodDnsConfig,
  PodModel,
  ResolvConfModel,
  ScenarioTranslations,
  ServiceModel,
  ServicePortModel,
  WalkModel,
} from './model.ts';

// ---------------------------------------------------------------------------------------------------------
// Raw objects: what parse.ts hands over. A field is null when it was omitted or invalid (already reported).

/** A field path inside a document, e.g. ["spec", "ports", 0, "port"]. */
export type Path = readonly (string | number)[];

/** Where an object came from, so that issues found later can still name its document, field and line. */
export interface Origin {
  readonly document: number | null;
  readonly kind: string | null;
  /** "namespace/name" for namespaced objects, "name" otherwise. */
  readonly name: string | null;
  /** Path of the object inside its document: [] or ["items", 3] inside a List. */
  readonly prefix: Path;
  /** 1-based line of the node at a document path (including the prefix), or of its nearest ancestor. */
  lineOf(path: Path): number | null;
}

export interface IssueSink {
  error(origin: Origin, path: Path, message: string): void;
  warn(origin: Origin, path: Path, message: string): void;
}

type Protocol = ContainerPort['protocol'];

export interface RawNode {
  readonly origin: Origin;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly podCIDR: Cidr | null;
  readonly internalIP: Ip | null;
  /** Path of the InternalIP's address field (or of status.addresses when there is none). */
  readonly internalIPPath: Path;
  readonly externalIP: Ip | null;
}

export interface RawPod {
  readonly origin: Origin;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly nodeName: string | null;
  readonly hostNetwork: boolean;
  readonly ports: ContainerPort[];
  readonly podIP: Ip | null;
  readonly ready: boolean;
  readonly dnsPolicy: DnsPolicy;
  readonly dnsConfig: PodDnsConfig | null;
}

export interface RawServicePort {
  readonly name: string | null;
  readonly protocol: Protocol;
  readonly port: number;
  readonly targetPort: number | string;
  readonly nodePort: number | null;
}

export interface RawService {
  readonly origin: Origin;
  readonly namespace: string;
  readonly name: string;
  readonly type: ServiceModel['type'];
  /** 'None' for a headless service. */
  readonly clusterIP: Ip | 'None' | null;
  readonly selector: Record<string, string> | null;
  readonly ports: RawServicePort[];
  readonly externalTrafficPolicy: ServiceModel['externalTrafficPolicy'];
  readonly internalTrafficPolicy: ServiceModel['internalTrafficPolicy'];
  readonly sessionAffinity: ServiceModel['sessionAffinity'];
  readonly externalIPs: Ip[];
  readonly loadBalancerIPs: Ip[];
  readonly loadBalancerSourceRanges: Cidr[];
  readonly externalName: string | null;
}

export interface RawEndpointSlice {
  readonly origin: Origin;
  readonly namespace: string;
  readonly name: string;
  readonly serviceName: string | null;
  readonly ports: EndpointSliceModel['ports'];
  readonly endpoints: EndpointModel[];
}

export interface RawHost {
  readonly index: number;
  readonly name: string | null;
  readonly ip: Ip | null;
  readonly listen: number[];
  readonly names: string[];
  readonly dnsServer: boolean;
}

export interface RawWalk {
  readonly index: number;
  readonly name: string | null;
  readonly description: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly protocol: IpProtocol;
  readonly size: number | null;
  /** A CNI walk's command (from is then cni/add or cni/del, and to the pod, written `pod:`). */
  readonly cni: 'ADD' | 'DEL' | null;
}

/** A `spec.nodeFirewall[]` entry as parse.ts read it: the nodes not yet looked up. */
export interface RawNodeFirewall {
  readonly index: number;
  readonly name: string;
  /** matchLabels on node labels ({} selects every node), or null when `nodes` names them. */
  readonly nodeSelector: Readonly<Record<string, string>> | null;
  readonly nodes: readonly string[] | null;
  readonly allow: readonly NodeFirewallAllowModel[];
}

export interface RawCluster {
  readonly origin: Origin;
  readonly name: string;
  readonly description: string;
  readonly topic: Topic;
  readonly cni: CniMode;
  readonly mtu: number;
  readonly podMtu: number | null;
  readonly vxlan: { readonly vni: number; readonly port: number };
  readonly clusterCIDR: Cidr | null;
  readonly serviceCIDR: Cidr | null;
  readonly clusterDomain: string;
  readonly nodeNetwork: Cidr | null;
  readonly gateway: {
    readonly name: string;
    readonly ip: Ip | null;
    readonly internetIP: Ip | null;
    readonly cloudNat: boolean;
    readonly podRoutes: boolean;
  } | null;
  readonly internet: Cidr | null;
  readonly hosts: RawHost[];
  readonly walks: RawWalk[];
  readonly nodeResolvConf: ResolvConfModel | null;
  readonly nodeFirewall?: readonly RawNodeFirewall[];
  /** spec.translations, already checked against the walk names (null: none). */
  readonly translations?: ScenarioTranslations | null;
}

export interface RawKubeProxy {
  readonly origin: Origin;
  readonly mode: 'iptables' | 'ipvs';
  readonly clusterCIDR: Cidr | null;
  readonly masqueradeAll: boolean;
}

/** A v1 Namespace document. */
export interface RawNamespace {
  readonly origin: Origin;
  readonly namespace: null;
  readonly name: string;
  readonly labels: Record<string, string>;
}

/** A NetworkPolicy, already validated on its own by parse.ts (nothing in it refers to other objects). */
export interface RawNetworkPolicy {
  readonly origin: Origin;
  readonly namespace: string;
  readonly name: string;
  readonly policy: NetworkPolicyModel;
}

export interface RawNamed {
  readonly origin: Origin;
  readonly namespace: string | null;
  readonly name: string;
}

export interface RawScenario {
  cluster: RawCluster | null;
  namespaces: RawNamespace[];
  nodes: RawNode[];
  pods: RawPod[];
  services: RawService[];
  endpointSlices: RawEndpointSlice[];
  networkPolicies: RawNetworkPolicy[];
  corefile: string | null;
  kubeProxy: RawKubeProxy | null;
  /** Namespaces named by objects of kinds that are otherwise ignored or kept as is (e.g. kube-system). */
  otherNamespaces: string[];
}

export const DEFAULTS = {
  name: 'cluster',
  topic: 'cluster',
  cni: 'flannel-vxlan',
  mtu: 1500,
  vxlan: { vni: 1, port: 8472 },
  clusterCIDR: '10.244.0.0/16',
  serviceCIDR: '10.96.0.0/12',
  clusterDomain: 'cluster.local',
  gatewayName: 'gateway',
} as const;

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;
/** kube-controller-manager's --node-cidr-mask-size default for IPv4. */
const NODE_CIDR_PREFIX = 24;
/** The first address handed to a node without an InternalIP (x.y.z.11, x.y.z.12, ...). */
const FIRST_NODE_HOST = 11;

const NO_ORIGIN: Origin = { document: null, kind: null, name: null, prefix: [], lineOf: () => null };
const DEFAULT_CLUSTER_ORIGIN: Origin = { ...NO_ORIGIN, kind: 'Cluster' };

// ---------------------------------------------------------------------------------------------------------
// Walk references

export type WalkTarget =
  | { readonly kind: 'pod'; readonly namespace: string | null; readonly name: string }
  | { readonly kind: 'node'; readonly name: string }
  | { readonly kind: 'host'; readonly name: string }
  /** svc/<namespace>/<name>: the Service's ClusterIP (what a client of the Service connects to). */
  | { readonly kind: 'service'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'ip'; readonly ip: Ip }
  /** A DNS name the source resolves first (`to` only): db-service, db-service.prod, example.com. */
  | { readonly kind: 'name'; readonly name: string };

export type WalkRef = { readonly target: WalkTarget; readonly port: number | null };

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const REF_SYNTAX =
  'expected pod/<namespace>/<name>, svc/<namespace>/<name>, node/<name>, host/<name>, an IPv4 address, a pod name (as the source) or a DNS name (as the destination)';
/** A DNS name as a stub resolver accepts it: 1-63-character labels, 253 characters, an optional final dot. */
const DNS_NAME_RE =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Parses a walk endpoint: pod/<ns>/<name>, node/<name>, host/<name>, a bare pod name or an IPv4 address,
 * each optionally followed by ":port". Returns an error message for text that is not one of these.
 * (Whether the object exists is checked by the caller.)
 */
export function parseWalkRef(text: string, role: 'from' | 'to' = 'from'): WalkRef | string {
  if ((text.match(/:/g) ?? []).length > 1) return `"${text}": IPv6 is not modelled yet`;
  let body = text;
  let port: number | null = null;
  const colon = text.lastIndexOf(':');
  if (colon >= 0) {
    body = text.slice(0, colon);
    const portText = text.slice(colon + 1);
    if (!/^\d{1,5}$/.test(portText)) return `"${text}": the port after ":" must be a number`;
    port = Number(portText);
    if (port < 1 || port > 65535) return `"${text}": the port must be 1-65535`;
  }
  const parts = body.split('/');
  const named = (name: string | undefined): name is string => name !== undefined && NAME_RE.test(name);
  if (parts.length === 3 && parts[0] === 'pod' && named(parts[1]) && named(parts[2]))
    return { target: { kind: 'pod', namespace: parts[1], name: parts[2] }, port };
  if (parts.length === 3 && parts[0] === 'svc' && named(parts[1]) && named(parts[2]))
    return { target: { kind: 'service', namespace: parts[1], name: parts[2] }, port };
  if (parts.length === 2 && (parts[0] === 'node' || parts[0] === 'host') && named(parts[1]))
    return { target: { kind: parts[0], name: parts[1] }, port };
  if (parts.length === 1 && /^[\d.]+$/.test(body)) {
    return isIp(body) ? { target: { kind: 'ip', ip: body }, port } : `"${body}" is not an IPv4 address`;
  }
  // As the destination a bare name is what a program would be given: a DNS name, resolved by the source's
  // resolver (a pod's resolv.conf search list turns `db-service` into db-service.<ns>.svc.cluster.local).
  if (parts.length === 1 && role === 'to') {
    if (DNS_NAME_RE.test(body)) return { target: { kind: 'name', name: body }, port };
    if (body.replace(/\.$/, '').length > 253)
      return `"${body.slice(0, 40)}…": a DNS name has at most 253 characters`;
    return `"${body}": a DNS name has labels of 1-63 letters, digits, "-" or "_", separated by dots`;
  }
  if (parts.length === 1 && named(body))
    return { target: { kind: 'pod', namespace: null, name: body }, port };
  return `"${text}": ${REF_SYNTAX}`;
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** Renders a path the way users write fields: spec.ports[0].port, metadata.labels["app.kubernetes.io/name"]. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** "document 4" or "document 1 at items[2]": where an earlier object is, for messages about a later one. */
function where(origin: Origin): string {
  if (origin.document === null) return 'an earlier object';
  const at = origin.prefix.length > 0 ? ` at ${formatPath(origin.prefix)}` : '';
  return `document ${origin.document}${at}`;
}

/** FNV-1a of a string as an unsigned 32-bit number: the seed of every hashed allocation. */
function hash32(text: string): number {
  return parseInt(hashHex(text, 8), 16);
}

/** Who holds each address, so that a second claim is reported with the first holder's name. */
class AddressBook {
  private readonly owners = new Map<Ip, string>();
  constructor(private readonly log: IssueSink) {}
  /** Records a declared address; reports it when someone else already holds it. */
  claim(ip: Ip, owner: string, origin: Origin, path: Path): void {
    const prev = this.owners.get(ip);
    if (prev !== undefined) this.log.error(origin, path, `${ip} is already ${prev}'s address`);
    else this.owners.set(ip, owner);
  }
  /** Records an allocated address (known to be free). */
  take(ip: Ip, owner: string): void {
    this.owners.set(ip, owner);
  }
  taken(ip: Ip): boolean {
    return this.owners.has(ip);
  }
}

/** Drops the second and later objects with the same key, reporting each. */
function dedupe<T extends { readonly origin: Origin }>(
  log: IssueSink,
  items: readonly T[],
  key: (item: T) => string,
  label: string,
): T[] {
  const seen = new Map<string, T>();
  const out: T[] = [];
  for (const item of items) {
    const k = key(item);
    const first = seen.get(k);
    if (first) {
      log.error(
        item.origin,
        ['metadata', 'name'],
        `duplicate ${label} "${k}" (first in ${where(first.origin)})`,
      );
      continue;
    }
    seen.set(k, item);
    out.push(item);
  }
  return out;
}

/** Why `ip` cannot be a host's address on `net` (`what` names it): outside it, or its network or broadcast. */
function addressProblem(net: Cidr, ip: Ip, what: string): string | null {
  if (!cidrContains(net, ip)) return `${ip} is outside ${what} ${formatCidr(net)}`;
  if (net.prefix >= 31) return null;
  if (ip === net.ip) return `${ip} is the network address of ${what} ${formatCidr(net)}`;
  if (ip === broadcastOf(net)) return `${ip} is the broadcast address of ${what} ${formatCidr(net)}`;
  return null;
}

function selectorMatches(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
) {
  return Object.entries(selector).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

// ---------------------------------------------------------------------------------------------------------
// The model builder

interface Settings {
  readonly origin: Origin;
  readonly clusterCIDR: Cidr;
  readonly serviceCIDR: Cidr;
  readonly nodeNetwork: Cidr | null;
  readonly internet: Cidr | null;
}

interface Built<T> {
  readonly value: T;
  readonly origin: Origin;
}

/**
 * Checks the objects against each other, fills in what Kubernetes would and returns the model, or null when
 * it cannot be built. Every problem goes to `log`; the caller discards the model if any error was logged.
 */
export function buildModel(raw: RawScenario, log: IssueSink): ClusterModel | null {
  const book = new AddressBook(log);
  const nodesIn = dedupe(log, raw.nodes, (n) => n.name, 'Node');
  if (raw.nodes.length === 0) {
    log.error(NO_ORIGIN, [], 'no Node documents: a scenario needs at least one node');
  }
  const settings = resolveSettings(raw, nodesIn, log);
  const gateway = buildGateway(raw.cluster, settings, book, log);
  const hosts = buildHosts(raw.cluster, settings, gateway, nodesIn, book, log);
  const nodes = assignExternalIPs(
    buildNodes(nodesIn, settings, book, log),
    nodesIn,
    gateway,
    settings,
    book,
    log,
  );
  const pods = buildPods(
    dedupe(log, raw.pods, (p) => `${p.namespace}/${p.name}`, 'Pod'),
    nodes,
    book,
    log,
  );
  const services = buildServices(
    dedupe(log, raw.services, (s) => `${s.namespace}/${s.name}`, 'Service'),
    settings,
    book,
    log,
  );
  const slices = buildEndpointSlices(
    dedupe(log, raw.endpointSlices, (s) => `${s.namespace}/${s.name}`, 'EndpointSlice'),
    services,
    pods,
    nodes,
    log,
  );
  const policies = dedupe(log, raw.networkPolicies, (p) => `${p.namespace}/${p.name}`, 'NetworkPolicy');
  const namespaces = collectNamespaces(raw, log);
  const namespaceLabels = namespaceLabelsOf(raw, namespaces);
  const walks = buildWalks(raw.cluster, pods, nodes, hosts, services, log);
  const nodeFirewall = buildNodeFirewall(raw.cluster, nodes, log);

  if (!settings.nodeNetwork) return null;
  const c = raw.cluster;
  return {
    name: c?.name ?? DEFAULTS.name,
    description: c?.description ?? '',
    topic: c?.topic ?? DEFAULTS.topic,
    ...(c?.translations ? { translations: c.translations } : {}),
    cni: c?.cni ?? DEFAULTS.cni,
    mtu: c?.mtu ?? DEFAULTS.mtu,
    ...(c?.podMtu != null ? { podMtu: c.podMtu } : {}),
    vxlan: c?.vxlan ?? { ...DEFAULTS.vxlan },
    clusterCIDR: settings.clusterCIDR,
    serviceCIDR: settings.serviceCIDR,
    clusterDomain: c?.clusterDomain ?? DEFAULTS.clusterDomain,
    clusterDNS: clusterDnsOf(services, settings.serviceCIDR),
    nodeResolvConf: c?.nodeResolvConf ?? {
      // Without a stated resolv.conf, nodes use the scenario's DNS server host (as a cloud VPC resolver).
      nameservers: hosts
        .filter((h) => h.dnsServer)
        .map((h) => h.ip)
        .slice(0, 3),
      searches: [],
      options: [],
    },
    nodeNetwork: settings.nodeNetwork,
    gateway,
    internet: settings.internet,
    namespaces,
    namespaceLabels,
    networkPolicies: policies.map((p) => p.policy),
    ...(nodeFirewall.length > 0 ? { nodeFirewall } : {}),
    nodes: nodes.map((n) => n.value),
    pods: pods.map((p) => p.value),
    services: services.map((s) => s.value),
    endpointSlices: slices,
    hosts,
    walks,
    extra: {
      corefile: raw.corefile,
      kubeProxy: raw.kubeProxy
        ? { mode: raw.kubeProxy.mode, masqueradeAll: raw.kubeProxy.masqueradeAll }
        : null,
    },
  };
}

/** kubelet's --cluster-dns: the kube-dns Service's ClusterIP, else kubeadm's choice (the 10th address of the
 *  service CIDR, cmd/kubeadm/app/constants GetDNSIP). */
function clusterDnsOf(services: readonly Built<ServiceModel>[], serviceCIDR: Cidr): Ip {
  const kubeDns = services.find((s) => s.value.namespace === 'kube-system' && s.value.name === 'kube-dns');
  return kubeDns?.value.clusterIP ?? nthAddress(serviceCIDR, 10);
}

/** The cluster-wide prefixes, with defaults, and their mutual consistency. */
function resolveSettings(raw: RawScenario, nodes: readonly RawNode[], log: IssueSink): Settings {
  const c = raw.cluster;
  const origin = c?.origin ?? DEFAULT_CLUSTER_ORIGIN;
  if (!c) {
    log.warn(
      NO_ORIGIN,
      [],
      `no packetwalk.dev/v1alpha1 Cluster document: using the defaults (cni ${DEFAULTS.cni}, mtu ${DEFAULTS.mtu}, ` +
        `clusterCIDR ${DEFAULTS.clusterCIDR}, serviceCIDR ${DEFAULTS.serviceCIDR}, no gateway, no hosts, no walks)`,
    );
  }
  const kp = raw.kubeProxy;
  const clusterCIDR = c?.clusterCIDR ?? kp?.clusterCIDR ?? parseCidr(DEFAULTS.clusterCIDR);
  if (kp?.clusterCIDR && formatCidr(kp.clusterCIDR) !== formatCidr(clusterCIDR)) {
    log.error(
      kp.origin,
      ['clusterCIDR'],
      `${formatCidr(kp.clusterCIDR)} differs from the Cluster's clusterCIDR ${formatCidr(clusterCIDR)}`,
    );
  }
  const serviceCIDR = c?.serviceCIDR ?? parseCidr(DEFAULTS.serviceCIDR);
  if (cidrsOverlap(clusterCIDR, serviceCIDR)) {
    log.error(
      origin,
      ['spec', 'serviceCIDR'],
      `${formatCidr(serviceCIDR)} overlaps clusterCIDR ${formatCidr(clusterCIDR)}`,
    );
  }

  let nodeNetwork = c?.nodeNetwork ?? null;
  let derivedFrom: string | null = null;
  if (!nodeNetwork) {
    const first = nodes.find((n) => n.internalIP !== null);
    if (first?.internalIP) {
      nodeNetwork = cidrOf({ ip: first.internalIP, prefix: 24 });
      derivedFrom = first.name;
    }
  }
  const internet = c?.internet ?? null;
  const named: [string, Cidr | null][] = [
    ['clusterCIDR', clusterCIDR],
    ['serviceCIDR', serviceCIDR],
    ['nodeNetwork', nodeNetwork],
    ['internet', internet],
  ];
  for (let i = 2; i < named.length; i++) {
    const [field, net] = named[i]!;
    if (!net) continue;
    for (const [otherField, other] of named.slice(0, i)) {
      if (!other || !cidrsOverlap(net, other)) continue;
      const how =
        field === 'nodeNetwork' && derivedFrom ? ` (the /24 around ${derivedFrom}'s InternalIP)` : '';
      log.error(
        origin,
        ['spec', field],
        `${formatCidr(net)}${how} overlaps ${otherField} ${formatCidr(other)}`,
      );
    }
  }
  if (internet && !c?.gateway) {
    log.error(origin, ['spec', 'internet'], 'needs spec.gateway: the internet is reached through it');
  }
  return { origin, clusterCIDR, serviceCIDR, nodeNetwork, internet };
}

function buildGateway(
  c: RawCluster | null,
  s: Settings,
  book: AddressBook,
  log: IssueSink,
): GatewayModel | null {
  if (!c?.gateway) return null;
  const g = c.gateway;
  const at = (field: string) => ['spec', 'gateway', field];
  if (g.ip) {
    const problem = s.nodeNetwork && addressProblem(s.nodeNetwork, g.ip, 'the node network');
    if (problem) log.error(c.origin, at('ip'), problem);
    book.claim(g.ip, 'the gateway', c.origin, at('ip'));
  }
  if (g.internetIP) {
    const problem = s.internet
      ? addressProblem(s.internet, g.internetIP, 'the internet')
      : 'needs spec.internet (the network it is on)';
    if (problem) log.error(c.origin, at('internetIP'), problem);
    book.claim(g.internetIP, 'the gateway', c.origin, at('internetIP'));
  } else if (s.internet) {
    log.error(c.origin, at('internetIP'), 'required when spec.internet is set');
  }
  if (g.cloudNat && !s.internet)
    log.error(c.origin, at('cloudNAT'), 'needs spec.internet (where the public addresses are)');
  if (!g.podRoutes && c.cni !== 'bridge-router')
    log.warn(
      c.origin,
      at('podRoutes'),
      'only bridge-router gives the gateway routes to the podCIDRs (ignored)',
    );
  if (!g.ip) return null;
  return {
    name: g.name,
    ip: g.ip,
    internetIP: g.internetIP,
    ...(g.cloudNat ? { cloudNat: true } : {}),
    ...(g.podRoutes ? {} : { podRoutes: false }),
  };
}

function buildHosts(
  c: RawCluster | null,
  s: Settings,
  gateway: GatewayModel | null,
  nodes: readonly RawNode[],
  book: AddressBook,
  log: IssueSink,
): HostModel[] {
  if (!c) return [];
  const hosts: HostModel[] = [];
  const names = new Map<string, string>(nodes.map((n) => [n.name, `Node ${n.name}`]));
  if (gateway) names.set(gateway.name, 'the gateway');
  for (const h of c.hosts) {
    const path = ['spec', 'hosts', h.index];
    if (h.name !== null) {
      const prev = names.get(h.name);
      if (prev) log.error(c.origin, [...path, 'name'], `"${h.name}" is already the name of ${prev}`);
      names.set(h.name, `host ${h.name}`);
    }
    if (h.ip === null || h.name === null) continue;
    let network: HostModel['network'] | null = null;
    let problem: string | null;
    if (s.nodeNetwork && cidrContains(s.nodeNetwork, h.ip)) {
      network = 'node';
      problem = addressProblem(s.nodeNetwork, h.ip, 'the node network');
    } else if (s.internet && cidrContains(s.internet, h.ip)) {
      network = 'internet';
      problem = addressProblem(s.internet, h.ip, 'the internet');
    } else {
      const nets = [
        s.nodeNetwork ? `the node network ${formatCidr(s.nodeNetwork)}` : null,
        s.internet ? `the internet ${formatCidr(s.internet)}` : null,
      ].filter((x) => x !== null);
      problem = `${h.ip} is in neither ${nets.join(' nor ')}`;
      if (nets.length < 2) problem = `${h.ip} is not in ${nets[0] ?? 'any known network'}`;
    }
    if (problem) log.error(c.origin, [...path, 'ip'], problem);
    book.claim(h.ip, `host ${h.name}`, c.origin, [...path, 'ip']);
    if (network)
      hosts.push({
        name: h.name,
        ip: h.ip,
        network,
        listen: h.listen,
        names: h.names,
        dnsServer: h.dnsServer,
      });
  }
  return hosts;
}

function buildNodes(
  nodes: readonly RawNode[],
  s: Settings,
  book: AddressBook,
  log: IssueSink,
): Built<NodeModel>[] {
  // Declared addresses first, so that allocation can skip all of them whatever the document order.
  const podCIDRs: { cidr: Cidr; node: string }[] = [];
  for (const n of nodes) {
    if (n.internalIP) {
      const problem = s.nodeNetwork && addressProblem(s.nodeNetwork, n.internalIP, 'the node network');
      if (problem) log.error(n.origin, n.internalIPPath, problem);
      book.claim(n.internalIP, `Node ${n.name}`, n.origin, n.internalIPPath);
    }
    if (n.podCIDR) {
      const text = formatCidr(n.podCIDR);
      if (!cidrContains(s.clusterCIDR, n.podCIDR.ip) || n.podCIDR.prefix < s.clusterCIDR.prefix) {
        log.error(
          n.origin,
          ['spec', 'podCIDR'],
          `${text} is outside clusterCIDR ${formatCidr(s.clusterCIDR)}`,
        );
      }
      // kube-controller-manager never hands out overlapping podCIDRs, but a hand-written node spec (or a CNI
      // configured by hand, the course's "net-script.sh") can have them. The model can still be built — each
      // node's bridge takes its own prefix — and the walk shows what follows, so this is a warning.
      const clash = podCIDRs.find((p) => cidrsOverlap(p.cidr, n.podCIDR!));
      if (clash) {
        log.warn(
          n.origin,
          ['spec', 'podCIDR'],
          `${text} overlaps the podCIDR ${formatCidr(clash.cidr)} of node ${clash.node}: a pod whose subnet ` +
            `covers the other node's pod addresses takes them for neighbours on its own bridge and ARPs for ` +
            `them there instead of sending them to its gateway`,
        );
      }
      podCIDRs.push({ cidr: n.podCIDR, node: n.name });
    }
  }

  let nextSubnet = 0;
  const subnetCount = 2 ** (NODE_CIDR_PREFIX - Math.min(NODE_CIDR_PREFIX, s.clusterCIDR.prefix));
  let nextHost = FIRST_NODE_HOST;
  const built: Built<NodeModel>[] = [];
  for (const n of nodes) {
    const allocated: string[] = [];
    let internalIP = n.internalIP;
    if (!internalIP) {
      const net = s.nodeNetwork;
      if (!net) {
        log.error(
          n.origin,
          ['status', 'addresses'],
          'no InternalIP, and no spec.nodeNetwork to allocate one from',
        );
      } else {
        while (nextHost < cidrSize(net) - 1 && book.taken(nthAddress(net, nextHost))) nextHost++;
        if (nextHost >= cidrSize(net) - 1) {
          log.error(
            n.origin,
            ['status', 'addresses'],
            `no free address left in the node network ${formatCidr(net)}`,
          );
        } else {
          internalIP = nthAddress(net, nextHost++);
          book.take(internalIP, `Node ${n.name}`);
          allocated.push('status.addresses[InternalIP]');
        }
      }
    }
    let podCIDR = n.podCIDR;
    if (!podCIDR) {
      while (
        s.clusterCIDR.prefix <= NODE_CIDR_PREFIX &&
        nextSubnet < subnetCount &&
        podCIDRs.some((p) => cidrsOverlap(p.cidr, nthSubnet(s.clusterCIDR, NODE_CIDR_PREFIX, nextSubnet)))
      ) {
        nextSubnet++;
      }
      if (s.clusterCIDR.prefix > NODE_CIDR_PREFIX) {
        log.error(
          n.origin,
          ['spec', 'podCIDR'],
          `clusterCIDR ${formatCidr(s.clusterCIDR)} is too small to hand out /${NODE_CIDR_PREFIX} podCIDRs`,
        );
      } else if (nextSubnet >= subnetCount) {
        log.error(
          n.origin,
          ['spec', 'podCIDR'],
          `no free /${NODE_CIDR_PREFIX} left in clusterCIDR ${formatCidr(s.clusterCIDR)}`,
        );
      } else {
        podCIDR = nthSubnet(s.clusterCIDR, NODE_CIDR_PREFIX, nextSubnet++);
        podCIDRs.push({ cidr: podCIDR, node: n.name });
        allocated.push('spec.podCIDR');
      }
    }
    if (!internalIP || !podCIDR) continue;
    built.push({
      origin: n.origin,
      value: { name: n.name, internalIP, podCIDR, labels: n.labels, allocated },
    });
  }
  return built;
}

/** The first public address the cloud's 1:1 NAT hands a node without an ExternalIP (x.y.z.101, ...). */
const FIRST_EXTERNAL_HOST = 101;

/** Declared ExternalIPs are kept (and checked against the internet when the gateway NATs); with cloudNAT,
 *  nodes without one get the next free address of the internet from .101, in node order. */
function assignExternalIPs(
  nodes: Built<NodeModel>[],
  raw: readonly RawNode[],
  gateway: GatewayModel | null,
  s: Settings,
  book: AddressBook,
  log: IssueSink,
): Built<NodeModel>[] {
  const declared = new Map(raw.map((n) => [n.name, n]));
  const net = s.internet;
  for (const n of raw) {
    if (!n.externalIP) continue;
    if (gateway?.cloudNat && net && !cidrContains(net, n.externalIP))
      log.error(
        n.origin,
        ['status', 'addresses'],
        `ExternalIP ${n.externalIP} is not in the internet ${formatCidr(net)}`,
      );
    book.claim(n.externalIP, `Node ${n.name}`, n.origin, ['status', 'addresses']);
  }
  let next = FIRST_EXTERNAL_HOST;
  return nodes.map((b) => {
    const mine = declared.get(b.value.name)?.externalIP ?? null;
    if (mine) return { ...b, value: { ...b.value, externalIP: mine } };
    if (!gateway?.cloudNat || !net) return b;
    while (next < cidrSize(net) - 1 && book.taken(nthAddress(net, next))) next++;
    if (next >= cidrSize(net) - 1) {
      log.error(
        b.origin,
        ['status', 'addresses'],
        `no free address left in the internet ${formatCidr(net)} for the cloud NAT`,
      );
      return b;
    }
    const ip = nthAddress(net, next++);
    book.take(ip, `Node ${b.value.name}`);
    return {
      ...b,
      value: {
        ...b.value,
        externalIP: ip,
        allocated: [...b.value.allocated, 'status.addresses[ExternalIP]'],
      },
    };
  });
}

function buildPods(
  pods: readonly RawPod[],
  nodes: readonly Built<NodeModel>[],
  book: AddressBook,
  log: IssueSink,
): Built<PodModel>[] {
  const nodeByName = new Map(nodes.map((n) => [n.value.name, n.value]));
  const ipPath = ['status', 'podIP'];
  const placed: { pod: RawPod; node: NodeModel }[] = [];
  for (const pod of pods) {
    if (pod.nodeName === null) continue;
    const node = nodeByName.get(pod.nodeName);
    if (!node) {
      log.error(pod.origin, ['spec', 'nodeName'], `no Node named "${pod.nodeName}"`);
      continue;
    }
    placed.push({ pod, node });
    if (!pod.podIP) continue;
    if (pod.hostNetwork) {
      if (pod.podIP !== node.internalIP) {
        log.error(pod.origin, ipPath, `a hostNetwork pod has its node's address ${node.internalIP}`);
      }
      continue;
    }
    const cidr = node.podCIDR;
    const problem =
      cidr.prefix < 31 && pod.podIP === nthAddress(cidr, 1)
        ? `${pod.podIP} is node ${node.name}'s cni0 bridge address (the pods' gateway)`
        : addressProblem(cidr, pod.podIP, `node ${node.name}'s podCIDR`);
    if (problem) log.error(pod.origin, ipPath, problem);
    book.claim(pod.podIP, `Pod ${pod.namespace}/${pod.name}`, pod.origin, ipPath);
  }

  // host-local IPAM: each node hands out its podCIDR from .2 upwards, in document order.
  const nextHost = new Map<string, number>();
  const built: Built<PodModel>[] = [];
  for (const { pod, node } of placed) {
    const allocated: string[] = [];
    let podIP = pod.hostNetwork ? node.internalIP : pod.podIP;
    if (!podIP) {
      const cidr = node.podCIDR;
      const last = cidrSize(cidr) - 2;
      let n = nextHost.get(node.name) ?? 2;
      while (n <= last && book.taken(nthAddress(cidr, n))) n++;
      if (n > last) {
        log.error(
          pod.origin,
          ipPath,
          `no free address left in node ${node.name}'s podCIDR ${formatCidr(cidr)}`,
        );
        continue;
      }
      podIP = nthAddress(cidr, n);
      nextHost.set(node.name, n + 1);
      book.take(podIP, `Pod ${pod.namespace}/${pod.name}`);
    }
    if (podIP !== pod.podIP) allocated.push('status.podIP');
    built.push({
      origin: pod.origin,
      value: {
        namespace: pod.namespace,
        name: pod.name,
        nodeName: node.name,
        podIP,
        hostNetwork: pod.hostNetwork,
        labels: pod.labels,
        ports: pod.ports,
        ready: pod.ready,
        dnsPolicy: pod.dnsPolicy,
        dnsConfig: pod.dnsConfig,
        allocated,
      },
    });
  }
  return built;
}

function buildServices(
  services: readonly RawService[],
  s: Settings,
  book: AddressBook,
  log: IssueSink,
): Built<ServiceModel>[] {
  const net = s.serviceCIDR;
  const reserved = cidrSize(net) > 2 ? nthAddress(net, 1) : null;
  const nodePorts = new Map<number, { svc: string; protocols: Set<Protocol> }>();
  for (const svc of services) {
    const key = `${svc.namespace}/${svc.name}`;
    if (svc.clusterIP && svc.clusterIP !== 'None') {
      const ip = svc.clusterIP;
      const path = ['spec', 'clusterIP'];
      const problem =
        ip === reserved && key !== 'default/kubernetes'
          ? `${ip} is reserved for the kubernetes Service (default/kubernetes)`
          : addressProblem(net, ip, 'serviceCIDR');
      if (problem) log.error(svc.origin, path, problem);
      book.claim(ip, `Service ${key}`, svc.origin, path);
    }
    svc.ports.forEach((p, i) => {
      if (p.nodePort === null) return;
      const holder = nodePorts.get(p.nodePort);
      if (holder && (holder.svc !== key || holder.protocols.has(p.protocol))) {
        const who = holder.svc === key ? 'another port of this Service' : `Service ${holder.svc}`;
        log.error(svc.origin, ['spec', 'ports', i, 'nodePort'], `${p.nodePort} is already used by ${who}`);
        return;
      }
      if (holder) holder.protocols.add(p.protocol);
      else nodePorts.set(p.nodePort, { svc: key, protocols: new Set([p.protocol]) });
    });
    if (svc.type === 'LoadBalancer' && svc.loadBalancerIPs.length === 0) {
      log.warn(
        svc.origin,
        ['status', 'loadBalancer', 'ingress'],
        'no load balancer IP (no cloud controller assigned one): only the nodePorts reach this Service',
      );
    }
  }

  // Allocation runs in name order with hash-seeded probes, so neither document order nor an unrelated new
  // Service changes an existing Service's clusterIP or nodePorts (barring a hash collision).
  const clusterIPs = new Map<string, Ip>();
  const allocatedNodePorts = new Map<string, Map<number, number>>();
  const sorted = [...services].sort((a, b) =>
    compareKeys(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`),
  );
  const usable = cidrSize(net) - 3; // minus the network address, .1 (kubernetes.default) and the broadcast
  for (const svc of sorted) {
    const key = `${svc.namespace}/${svc.name}`;
    if (svc.clusterIP === null && svc.type !== 'ExternalName') {
      let ip: Ip | null = null;
      const start = usable > 0 ? hash32(key) % usable : 0;
      for (let k = 0; k < usable && !ip; k++) {
        const candidate = nthAddress(net, 2 + ((start + k) % usable));
        if (!book.taken(candidate)) ip = candidate;
      }
      if (!ip) {
        log.error(
          svc.origin,
          ['spec', 'clusterIP'],
          `no free address left in serviceCIDR ${formatCidr(net)}`,
        );
      } else {
        book.take(ip, `Service ${key}`);
        clusterIPs.set(key, ip);
      }
    }
    if (svc.type !== 'NodePort' && svc.type !== 'LoadBalancer') continue;
    const chosen = new Map<number, number>();
    svc.ports.forEach((p, i) => {
      if (p.nodePort !== null) return;
      const range = NODE_PORT_MAX - NODE_PORT_MIN + 1;
      const start = hash32(`${key}:${p.name ?? p.port}/${p.protocol}`) % range;
      for (let k = 0; k < range; k++) {
        const candidate = NODE_PORT_MIN + ((start + k) % range);
        if (nodePorts.has(candidate)) continue;
        nodePorts.set(candidate, { svc: key, protocols: new Set([p.protocol]) });
        chosen.set(i, candidate);
        return;
      }
      log.error(svc.origin, ['spec', 'ports', i, 'nodePort'], 'no free nodePort left in 30000-32767');
    });
    allocatedNodePorts.set(key, chosen);
  }

  return services.map((svc) => {
    const key = `${svc.namespace}/${svc.name}`;
    const allocated: string[] = [];
    let clusterIP: Ip | null = svc.clusterIP === 'None' ? null : svc.clusterIP;
    if (clusterIP === null && clusterIPs.has(key)) {
      clusterIP = clusterIPs.get(key) ?? null;
      allocated.push('spec.clusterIP');
    }
    const chosen = allocatedNodePorts.get(key);
    const ports = svc.ports.map((p, i): ServicePortModel => {
      const nodePort = p.nodePort ?? chosen?.get(i) ?? null;
      if (p.nodePort === null && nodePort !== null) allocated.push(`spec.ports[${i}].nodePort`);
      return { name: p.name, protocol: p.protocol, port: p.port, targetPort: p.targetPort, nodePort };
    });
    const value: ServiceModel = {
      namespace: svc.namespace,
      name: svc.name,
      type: svc.type,
      clusterIP,
      selector: svc.selector,
      ports,
      externalTrafficPolicy: svc.externalTrafficPolicy,
      internalTrafficPolicy: svc.internalTrafficPolicy,
      sessionAffinity: svc.sessionAffinity,
      externalIPs: svc.externalIPs,
      loadBalancerIPs: svc.loadBalancerIPs,
      loadBalancerSourceRanges: svc.loadBalancerSourceRanges,
      externalName: svc.externalName,
      allocated,
    };
    return { origin: svc.origin, value };
  });
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The endpoint slice controller's random suffix alphabet (no vowels, no confusable characters). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function sliceName(service: string, seed: string): string {
  let h = hash32(seed);
  let suffix = '';
  for (let i = 0; i < 5; i++) {
    suffix += SUFFIX_ALPHABET[h % SUFFIX_ALPHABET.length];
    h = Math.floor(h / SUFFIX_ALPHABET.length);
  }
  return `${service}-`.slice(0, 58) + suffix;
}

/** Resolves a service port's targetPort on a pod as the endpoints controller does (podutil.FindPort). */
function findPort(pod: PodModel, port: ServicePortModel): number | null {
  if (typeof port.targetPort === 'number') return port.targetPort;
  const found = pod.ports.find((c) => c.name === port.targetPort && c.protocol === port.protocol);
  return found ? found.containerPort : null;
}

function buildEndpointSlices(
  declared: readonly RawEndpointSlice[],
  services: readonly Built<ServiceModel>[],
  pods: readonly Built<PodModel>[],
  nodes: readonly Built<NodeModel>[],
  log: IssueSink,
): EndpointSliceModel[] {
  const serviceKeys = new Set(services.map((s) => `${s.value.namespace}/${s.value.name}`));
  const nodeNames = new Set(nodes.map((n) => n.value.name));
  const covered = new Set<string>();
  const names = new Set<string>();
  const slices: EndpointSliceModel[] = [];
  for (const s of declared) {
    names.add(`${s.namespace}/${s.name}`);
    if (s.serviceName === null) continue;
    const key = `${s.namespace}/${s.serviceName}`;
    if (!serviceKeys.has(key)) {
      log.error(
        s.origin,
        ['metadata', 'labels', SERVICE_NAME_LABEL],
        `no Service "${s.serviceName}" in namespace "${s.namespace}"`,
      );
    }
    covered.add(key);
    s.endpoints.forEach((e, i) => {
      if (e.nodeName !== null && !nodeNames.has(e.nodeName)) {
        log.error(s.origin, ['endpoints', i, 'nodeName'], `no Node named "${e.nodeName}"`);
      }
    });
    slices.push({
      namespace: s.namespace,
      name: s.name,
      serviceName: s.serviceName,
      ports: s.ports,
      endpoints: s.endpoints,
      generated: false,
    });
  }

  for (const { value: svc } of services) {
    const key = `${svc.namespace}/${svc.name}`;
    if (!svc.selector || svc.type === 'ExternalName' || covered.has(key)) continue;
    // Pods are grouped by their resolved port numbers: one slice per distinct mapping, as the controller does.
    const groups = new Map<string, { ports: EndpointSliceModel['ports']; endpoints: EndpointModel[] }>();
    for (const { value: pod } of pods) {
      if (pod.namespace !== svc.namespace || !selectorMatches(svc.selector, pod.labels)) continue;
      const ports = svc.ports.flatMap((p) => {
        const port = findPort(pod, p);
        return port === null ? [] : [{ name: p.name, port, protocol: p.protocol }];
      });
      if (svc.ports.length > 0 && ports.length === 0) continue;
      const groupKey = ports.map((p) => `${p.name ?? ''}=${p.port}/${p.protocol}`).join(',');
      const group = groups.get(groupKey) ?? { ports, endpoints: [] };
      groups.set(groupKey, group);
      group.endpoints.push({
        addresses: [pod.podIP],
        ready: pod.ready,
        serving: pod.ready,
        terminating: false,
        nodeName: pod.nodeName,
        targetPod: `${pod.namespace}/${pod.name}`,
      });
    }
    // With no matching pod the controller still writes one empty placeholder slice.
    const list = groups.size > 0 ? [...groups.values()] : [{ ports: [], endpoints: [] }];
    let seed = 0;
    for (const group of list) {
      let name = sliceName(svc.name, `${key}#${seed++}`);
      while (names.has(`${svc.namespace}/${name}`)) name = sliceName(svc.name, `${key}#${seed++}`);
      names.add(`${svc.namespace}/${name}`);
      slices.push({ namespace: svc.namespace, name, serviceName: svc.name, ...group, generated: true });
    }
  }
  return slices;
}

/** The label the API server sets on every Namespace to its name (NamespaceDefaultLabelName, GA in 1.22);
 *  it overrides whatever the document says, so namespaceSelectors can always name a namespace. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

function namespaceLabelsOf(
  raw: RawScenario,
  namespaces: readonly string[],
): Record<string, Readonly<Record<string, string>>> {
  const declared = new Map(raw.namespaces.map((n) => [n.name, n.labels] as const));
  return Object.fromEntries(
    namespaces.map((ns) => [ns, { ...declared.get(ns), [NAMESPACE_NAME_LABEL]: ns }] as const),
  );
}

function collectNamespaces(raw: RawScenario, log: IssueSink): string[] {
  const out = new Set<string>(['default']);
  for (const ns of dedupe(log, raw.namespaces, (n) => n.name, 'Namespace')) out.add(ns.name);
  const used = [...raw.pods, ...raw.services, ...raw.endpointSlices, ...raw.networkPolicies];
  for (const o of used) if (o.namespace !== null) out.add(o.namespace);
  for (const ns of raw.otherNamespaces) out.add(ns);
  return [...out];
}

/** The node firewall entries with their nodes looked up: named nodes must exist; a selector matches labels. */
function buildNodeFirewall(
  c: RawCluster | null,
  nodes: readonly Built<NodeModel>[],
  log: IssueSink,
): NodeFirewallModel[] {
  if (!c) return [];
  return (c.nodeFirewall ?? []).map((f) => {
    const path = ['spec', 'nodeFirewall', f.index];
    let chosen: string[];
    if (f.nodes !== null) {
      const known = new Set(nodes.map((n) => n.value.name));
      f.nodes.forEach((name, i) => {
        if (!known.has(name)) log.error(c.origin, [...path, 'nodes', i], `no Node "${name}"`);
      });
      const named = new Set(f.nodes);
      chosen = nodes.filter((n) => named.has(n.value.name)).map((n) => n.value.name);
    } else {
      const want = Object.entries(f.nodeSelector ?? {});
      chosen = nodes.filter((n) => want.every(([k, v]) => n.value.labels[k] === v)).map((n) => n.value.name);
      if (chosen.length === 0)
        log.warn(c.origin, [...path, 'nodeSelector'], 'selects no node: this firewall applies nowhere');
    }
    return { name: f.name, nodes: chosen, allow: f.allow };
  });
}

function buildWalks(
  c: RawCluster | null,
  pods: readonly Built<PodModel>[],
  nodes: readonly Built<NodeModel>[],
  hosts: readonly HostModel[],
  services: readonly Built<ServiceModel>[],
  log: IssueSink,
): WalkModel[] {
  if (!c) return [];
  const names = new Set<string>();
  const walks: WalkModel[] = [];
  const podKeys = new Set(pods.map((p) => `${p.value.namespace}/${p.value.name}`));
  const nodeNames = new Set(nodes.map((n) => n.value.name));
  const hostNames = new Set(hosts.map((h) => h.name));
  const sources = new Set<Ip>([
    ...pods.filter((p) => !p.value.hostNetwork).map((p) => p.value.podIP),
    ...nodes.map((n) => n.value.internalIP),
    ...hosts.map((h) => h.ip),
  ]);

  /** Checks one end of a walk; returns false when it is unusable. */
  const check = (w: RawWalk, field: 'from' | 'to', text: string): boolean => {
    const path = ['spec', 'walks', w.index, field];
    const ref = parseWalkRef(text, field);
    if (typeof ref === 'string') {
      log.error(c.origin, path, ref);
      return false;
    }
    const problem = refProblem(ref, field, w.protocol);
    if (problem) log.error(c.origin, path, problem);
    return problem === null;
  };
  const refProblem = (ref: WalkRef, field: 'from' | 'to', protocol: IpProtocol): string | null => {
    if (ref.port !== null && field === 'from')
      return 'takes no port (the source port is chosen by the sender)';
    if (ref.port !== null && protocol === 'icmp') return 'an ICMP walk has no port';
    const t = ref.target;
    switch (t.kind) {
      case 'pod': {
        if (t.namespace !== null) {
          return podKeys.has(`${t.namespace}/${t.name}`)
            ? null
            : `no Pod "${t.name}" in namespace "${t.namespace}"`;
        }
        const matches = pods.filter((p) => p.value.name === t.name).map((p) => p.value.namespace);
        if (matches.length === 0) return `no Pod named "${t.name}"`;
        if (matches.length > 1) {
          return `"${t.name}" names pods in namespaces ${matches.join(', ')}: write pod/<namespace>/${t.name}`;
        }
        return null;
      }
      case 'node':
        return nodeNames.has(t.name) ? null : `no Node named "${t.name}"`;
      case 'host':
        return hostNames.has(t.name) ? null : `no host named "${t.name}" in spec.hosts`;
      case 'service': {
        if (field === 'from') return 'a Service sends nothing: walk from a pod, node or host';
        const svc = services.find((x) => x.value.namespace === t.namespace && x.value.name === t.name);
        if (!svc) return `no Service "${t.name}" in namespace "${t.namespace}"`;
        if (svc.value.clusterIP === null)
          return `Service ${t.namespace}/${t.name} has no ClusterIP (headless or ExternalName)`;
        return null;
      }
      case 'ip':
        return field === 'from' && !sources.has(t.ip) ? `no pod, node or host has the address ${t.ip}` : null;
      case 'name':
        // Whether it resolves is the walk's to show (NXDOMAIN is a lesson, not a scenario error).
        return null;
    }
  };

  /** Why a CNI walk's pod cannot be walked, or null. */
  const cniPodProblem = (text: string): string | null => {
    const ref = parseWalkRef(text, 'from');
    if (typeof ref === 'string') return ref;
    if (ref.target.kind !== 'pod' || ref.port !== null)
      return `"${text}": a CNI walk's pod is pod/<namespace>/<name>`;
    const problem = refProblem(ref, 'from', 'tcp');
    if (problem) return problem;
    const t = ref.target;
    const pod = pods.find(
      (p) => p.value.name === t.name && (t.namespace === null || p.value.namespace === t.namespace),
    );
    if (pod?.value.hostNetwork)
      return `${pod.value.namespace}/${pod.value.name} uses the node's network (hostNetwork): CNI is never called for it`;
    return null;
  };

  for (const w of c.walks) {
    if (w.name !== null) {
      if (names.has(w.name))
        log.error(c.origin, ['spec', 'walks', w.index, 'name'], `duplicate walk "${w.name}"`);
      names.add(w.name);
    }
    if (w.cni !== null) {
      const problem = w.to === null ? null : cniPodProblem(w.to);
      if (problem) log.error(c.origin, ['spec', 'walks', w.index, 'pod'], problem);
      if (w.name === null || w.from === null || w.to === null || problem) continue;
      walks.push({
        name: w.name,
        description: w.description,
        from: w.from,
        to: w.to,
        protocol: 'tcp',
        size: null,
      });
      continue;
    }
    const fromOk = w.from !== null && check(w, 'from', w.from);
    const toOk = w.to !== null && check(w, 'to', w.to);
    if (w.name === null || w.from === null || w.to === null || !fromOk || !toOk) continue;
    walks.push({
      name: w.name,
      description: w.description,
      from: w.from,
      to: w.to,
      protocol: w.protocol,
      size: w.size,
    });
  }
  return walks;
}
