// What kube-proxy in ipvs mode programs on a node: the kube-ipvs0 dummy device's addresses, the IPVS virtual
// servers with their real servers, the ipsets, and the iptables rules ipvs mode keeps (masquerade marks,
// NodePort and LoadBalancer marks, the firewall chains, the access filter) — from the same KubeProxyInput as
// kubeproxy.ts, whose Service/endpoint view and endpoint categorisation it reuses.
//
// Followed (not copied) from kubernetes/kubernetes, pkg/proxy/ipvs at the version with KUBE-IPVS-OUT-FILTER
// and OnServiceCIDRsChanged (v1.31 era):
//   proxier.go     syncProxyRules (the order entries and virtual servers are made in, which addresses are
//                  bound to kube-ipvs0, which node addresses get NodePort virtual servers), syncEndpoint (the
//                  real servers: CategorizeEndpoints, local endpoints for Local policies with the cluster
//                  ones as fallback), writeIptablesRules + acceptIPVSTraffic (the iptables-restore text),
//                  createAndLinkKubeChain (chains and the jumps from the built-in chains), ipsetInfo and
//                  ipsetWithIptablesChain (sets, their types and the rules that match them), NewProxier (the
//                  sysctls, the masquerade mark "%#08x")
//   ipset.go       the set names and comments (kubeLoopBackIPSet … kubeIPVSSet)
//   ipset/ipset.go Entry.String() (`ip,proto:port`, `ip,proto:port,ip`, `ip,proto:port,net`, port), the
//                  set defaults (hashsize 1024, maxelem 65536, range 0-65535)
//   util/ipvs.go   FlagPersistent 0x1, FlagSourceHash 0x10
//   proxier_test.go the expectations the unit tests follow (see kubeproxyIpvs.test.ts and
//                  test/fixtures/kube-proxy-ipvs/)
//
// Not modelled: IPv6 (an IPv6 address is skipped, as an IPv4 proxier does); excludeCIDRs and the clean-up of
// stale virtual servers, addresses and set entries (a sync here starts from an empty node); graceful
// termination (a removed endpoint's real server kept with weight 0 until its connections end — the data has
// the weight field for it); topology hints; the IPVS timeouts (--ipvs-tcp-timeout …). Nothing here is checked
// against a kernel: the conformance machines have no IPVS module and no dummy links.
import { cidrContains, formatCidr, ipToInt, isIp } from './addr.ts';
import { ensureChain, formatIptablesSave, insertRules, parseIptablesSave } from './iptables.ts';
import {
  IPVS_SVC_FLAGS,
  ipvsServiceKey,
  type IpsetSet,
  type IpsetType,
  type IpvsRealServer,
  type IpvsTable,
  type IpvsVirtualServer,
} from './ipvs.ts';
import {
  categorizeEndpoints,
  localDetectorOf,
  nodePortAddresses,
  proxierMaps,
  usesClusterEndpoints,
  usesLocalEndpoints,
  cmpStr,
  type BuiltinJump,
  type KubeProxyInput,
  type ServicePortInfo,
} from './kubeproxy.ts';
import { BUILTIN_CHAINS, type Ruleset } from './netfilter.ts';

// ---------------------------------------------------------------------------------------------------------
// Names (pkg/proxy/ipvs/proxier.go and ipset.go).

export const KUBE_IPVS_DEVICE = 'kube-ipvs0';

const KUBE_SERVICES = 'KUBE-SERVICES';
const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
const KUBE_SOURCE_RANGES_FIREWALL = 'KUBE-SOURCE-RANGES-FIREWALL';
const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
const KUBE_NODE_PORT = 'KUBE-NODE-PORT';
const KUBE_FORWARD = 'KUBE-FORWARD';
const KUBE_LOAD_BALANCER = 'KUBE-LOAD-BALANCER';
const KUBE_IPVS_FILTER = 'KUBE-IPVS-FILTER';
const KUBE_IPVS_OUT_FILTER = 'KUBE-IPVS-OUT-FILTER';

/** The ipsets of the ipvs proxier (ipsetInfo), in its order, with their types and comments. */
export const KUBE_IPVS_SETS: readonly {
  readonly name: string;
  readonly type: IpsetType;
  readonly comment: string;
}[] = [
  {
    name: 'KUBE-LOOP-BACK',
    type: 'hash:ip,port,ip',
    comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose',
  },
  {
    name: 'KUBE-CLUSTER-IP',
    type: 'hash:ip,port',
    comment: 'Kubernetes service cluster ip + port for masquerade purpose',
  },
  {
    name: 'KUBE-EXTERNAL-IP',
    type: 'hash:ip,port',
    comment: 'Kubernetes service external ip + port for masquerade and filter purpose',
  },
  {
    name: 'KUBE-EXTERNAL-IP-LOCAL',
    type: 'hash:ip,port',
    comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local',
  },
  { name: 'KUBE-LOAD-BALANCER', type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  {
    name: 'KUBE-LOAD-BALANCER-FW',
    type: 'hash:ip,port',
    comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange',
  },
  {
    name: 'KUBE-LOAD-BALANCER-LOCAL',
    type: 'hash:ip,port',
    comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local',
  },
  {
    name: 'KUBE-LOAD-BALANCER-SOURCE-IP',
    type: 'hash:ip,port,ip',
    comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose',
  },
  {
    name: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
    type: 'hash:ip,port,net',
    comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
  },
  {
    name: 'KUBE-NODE-PORT-TCP',
    type: 'bitmap:port',
    comment: 'Kubernetes nodeport TCP port for masquerade purpose',
  },
  {
    name: 'KUBE-NODE-PORT-LOCAL-TCP',
    type: 'bitmap:port',
    comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local',
  },
  {
    name: 'KUBE-NODE-PORT-UDP',
    type: 'bitmap:port',
    comment: 'Kubernetes nodeport UDP port for masquerade purpose',
  },
  {
    name: 'KUBE-NODE-PORT-LOCAL-UDP',
    type: 'bitmap:port',
    comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local',
  },
  {
    name: 'KUBE-NODE-PORT-SCTP-HASH',
    type: 'hash:ip,port',
    comment: "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'",
  },
  {
    name: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
    type: 'hash:ip,port',
    comment: "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'",
  },
  { name: 'KUBE-HEALTH-CHECK-NODE-PORT', type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { name: 'KUBE-IPVS-IPS', type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

/** ipsetWithIptablesChain: the sets matched by one generated rule each (only when the set is not empty). */
const SETS_WITH_CHAIN: readonly {
  readonly name: string;
  readonly table: 'nat' | 'filter';
  readonly from: string;
  readonly to: string;
  readonly matchType: string;
  readonly protocol: string;
}[] = [
  {
    name: 'KUBE-LOOP-BACK',
    table: 'nat',
    from: KUBE_POSTROUTING,
    to: 'MASQUERADE',
    matchType: 'dst,dst,src',
    protocol: '',
  },
  {
    name: 'KUBE-LOAD-BALANCER',
    table: 'nat',
    from: KUBE_SERVICES,
    to: KUBE_LOAD_BALANCER,
    matchType: 'dst,dst',
    protocol: '',
  },
  {
    name: 'KUBE-LOAD-BALANCER-LOCAL',
    table: 'nat',
    from: KUBE_LOAD_BALANCER,
    to: 'RETURN',
    matchType: 'dst,dst',
    protocol: '',
  },
  {
    name: 'KUBE-NODE-PORT-LOCAL-TCP',
    table: 'nat',
    from: KUBE_NODE_PORT,
    to: 'RETURN',
    matchType: 'dst',
    protocol: 'tcp',
  },
  {
    name: 'KUBE-NODE-PORT-TCP',
    table: 'nat',
    from: KUBE_NODE_PORT,
    to: KUBE_MARK_MASQ,
    matchType: 'dst',
    protocol: 'tcp',
  },
  {
    name: 'KUBE-NODE-PORT-LOCAL-UDP',
    table: 'nat',
    from: KUBE_NODE_PORT,
    to: 'RETURN',
    matchType: 'dst',
    protocol: 'udp',
  },
  {
    name: 'KUBE-NODE-PORT-UDP',
    table: 'nat',
    from: KUBE_NODE_PORT,
    to: KUBE_MARK_MASQ,
    matchType: 'dst',
    protocol: 'udp',
  },
  {
    name: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
    table: 'nat',
    from: KUBE_NODE_PORT,
    to: 'RETURN',
    matchType: 'dst,dst',
    protocol: 'sctp',
  },
  {
    name: 'KUBE-NODE-PORT-SCTP-HASH',
    table: 'nat',
    from: KUBE_NODE_PORT,
    to: KUBE_MARK_MASQ,
    matchType: 'dst,dst',
    protocol: 'sctp',
  },
  {
    name: 'KUBE-LOAD-BALANCER-FW',
    table: 'filter',
    from: KUBE_PROXY_FIREWALL,
    to: KUBE_SOURCE_RANGES_FIREWALL,
    matchType: 'dst,dst',
    protocol: '',
  },
  {
    name: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
    table: 'filter',
    from: KUBE_SOURCE_RANGES_FIREWALL,
    to: 'RETURN',
    matchType: 'dst,dst,src',
    protocol: '',
  },
  {
    name: 'KUBE-LOAD-BALANCER-SOURCE-IP',
    table: 'filter',
    from: KUBE_SOURCE_RANGES_FIREWALL,
    to: 'RETURN',
    matchType: 'dst,dst,src',
    protocol: '',
  },
];

/** iptablesChains: the chains createAndLinkKubeChain declares, per table, in its order. */
const NAT_CHAINS = [KUBE_SERVICES, KUBE_POSTROUTING, KUBE_NODE_PORT, KUBE_LOAD_BALANCER, KUBE_MARK_MASQ];
const FILTER_CHAINS = [
  KUBE_FORWARD,
  KUBE_NODE_PORT,
  KUBE_PROXY_FIREWALL,
  KUBE_SOURCE_RANGES_FIREWALL,
  KUBE_IPVS_FILTER,
  KUBE_IPVS_OUT_FILTER,
];

/** iptablesJumpChain: the jumps createAndLinkKubeChain prepends (EnsureRule(Prepend, …)) to built-in chains. */
const JUMP_CHAINS: readonly {
  readonly table: 'nat' | 'filter';
  readonly from: BuiltinJump['chain'];
  readonly to: string;
  readonly comment: string;
}[] = [
  { table: 'nat', from: 'OUTPUT', to: KUBE_SERVICES, comment: 'kubernetes service portals' },
  { table: 'nat', from: 'PREROUTING', to: KUBE_SERVICES, comment: 'kubernetes service portals' },
  { table: 'nat', from: 'POSTROUTING', to: KUBE_POSTROUTING, comment: 'kubernetes postrouting rules' },
  { table: 'filter', from: 'FORWARD', to: KUBE_FORWARD, comment: 'kubernetes forwarding rules' },
  { table: 'filter', from: 'INPUT', to: KUBE_NODE_PORT, comment: 'kubernetes health check rules' },
  { table: 'filter', from: 'INPUT', to: KUBE_PROXY_FIREWALL, comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'FORWARD', to: KUBE_PROXY_FIREWALL, comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'INPUT', to: KUBE_IPVS_FILTER, comment: 'kubernetes ipvs access filter' },
  { table: 'filter', from: 'OUTPUT', to: KUBE_IPVS_OUT_FILTER, comment: 'kubernetes ipvs access filter' },
];

// ---------------------------------------------------------------------------------------------------------
// Input and output.

export interface KubeProxyIpvsOptions {
  /** --ipvs-scheduler; empty or absent means rr (defaultScheduler). */
  readonly scheduler?: string;
  /** --ipvs-strict-arp: kube-proxy sets arp_ignore=1 and arp_announce=2. */
  readonly strictARP?: boolean;
  /**
   * KUBE-IPVS-FILTER and KUBE-IPVS-OUT-FILTER with the KUBE-IPVS-IPS set (kube-proxy v1.27 and later; default
   * true). false leaves them out, as older kube-proxy had none — only to show why a ClusterIP answered ping
   * then (everything else stays as today's proxier writes it).
   */
  readonly accessFilter?: boolean;
}

export interface KubeProxyIpvsSysctl {
  readonly key: string;
  readonly value: number;
  readonly why: string;
}

export interface KubeProxyIpvsResult {
  /** kube-ipvs0 (a dummy link, state DOWN, NOARP) and the /32 addresses kube-proxy binds to it, sorted. */
  readonly dummyDevice: { readonly name: string; readonly addresses: readonly string[] };
  /** The IPVS table: one virtual server per ClusterIP, externalIP, LoadBalancer IP and node address × NodePort. */
  readonly table: IpvsTable;
  /** Every set of ipsetInfo (empty ones too: kube-proxy creates them all), entries sorted as `sets.List()`. */
  readonly ipsets: readonly IpsetSet[];
  /** The iptables-restore input of syncProxyRules: *nat then *filter, chains declared, rules in its order. */
  readonly restoreInput: string;
  /** The jumps from the built-in chains (kube-proxy's prepended ones, then kubelet's KUBE-FIREWALL jumps). */
  readonly builtinJumps: readonly BuiltinJump[];
  /** The sysctls NewProxier ensures. */
  readonly sysctls: readonly KubeProxyIpvsSysctl[];
}

// ---------------------------------------------------------------------------------------------------------
// syncProxyRules.

/** Go's netutils IsIPv4 + isValidForSet: an IPv4 address that is neither loopback nor link-local. */
function validForSet(ip: string): boolean {
  if (!isIp(ip)) return false;
  const n = ipToInt(ip);
  return n >>> 24 !== 127 && (n & 0xffff0000) >>> 0 !== ipToInt('169.254.0.0');
}

/** What kube-proxy's ipvs proxier programs on the node of `input` (one full sync from an empty node). */
export function kubeProxyIpvsSync(
  input: KubeProxyInput,
  options: KubeProxyIpvsOptions = {},
): KubeProxyIpvsResult {
  const scheduler = options.scheduler || 'rr';
  const accessFilter = options.accessFilter !== false;
  const { svcPorts, endpointsOf } = proxierMaps(input);

  const sets = new Map<string, Set<string>>(KUBE_IPVS_SETS.map((s) => [s.name, new Set<string>()]));
  const add = (set: string, entry: string): void => void sets.get(set)!.add(entry);
  const virtualServers: IpvsVirtualServer[] = [];
  const bound = new Set<string>();

  // nodeAddressSet: every address of the node but kube-ipvs0's (GetAllLocalAddressesExcept), IPv4, valid.
  const nodeAddressSet = new Set(input.nodeIPs.filter(validForSet));
  const npa = nodePortAddresses(input.nodePortAddresses);
  const nodeIPs = svcPorts.some((p) => p.nodePort !== 0)
    ? npa.matchAll
      ? [...nodeAddressSet]
      : [
          ...new Set(
            input.nodeIPs.filter((ip) => validForSet(ip) && npa.cidrs.some((c) => cidrContains(c, ip))),
          ),
        ]
    : [];
  const lbNoNodeAccess: { ip: string; proto: string; port: number }[] = [];

  /** syncEndpoint: the real servers of a virtual server. */
  const realServersOf = (svc: ServicePortInfo, onlyNodeLocal: boolean): IpvsRealServer[] => {
    const { clusterEndpoints, localEndpoints } = categorizeEndpoints(endpointsOf(svc), {
      usesClusterEndpoints: usesClusterEndpoints(svc),
      usesLocalEndpoints: usesLocalEndpoints(svc),
    });
    // Local policies fall back to the cluster endpoints (kubernetes/kubernetes#97081): local pods can still
    // reach the service; an external client's reply would come from a pod address and be discarded.
    const eps = onlyNodeLocal && localEndpoints.length > 0 ? localEndpoints : clusterEndpoints;
    const unique = [...new Map(eps.map((e) => [e.endpoint, e])).values()].sort((a, b) =>
      cmpStr(a.endpoint, b.endpoint),
    );
    return unique.map((e) => ({
      ip: e.ip,
      port: e.port,
      weight: 1,
      forward: 'Masq',
      activeConn: 0,
      inactConn: 0,
    }));
  };
  const virtualServer = (
    svc: ServicePortInfo,
    address: string,
    port: number,
    onlyNodeLocal: boolean,
    comment: string,
  ): void => {
    let flags = 0;
    if (svc.clientIPAffinity) flags |= IPVS_SVC_FLAGS.persistent;
    if (scheduler === 'mh') flags |= IPVS_SVC_FLAGS.sched2;
    // syncService + syncEndpoint: a virtual server two service ports share (the same address, protocol and
    // port) is updated in place, and its real servers become those of the later port.
    const key = ipvsServiceKey({ protocol: svc.protocol, address, port });
    const at = virtualServers.findIndex((v) => ipvsServiceKey(v) === key);
    virtualServers.splice(at < 0 ? virtualServers.length : at, at < 0 ? 0 : 1, {
      protocol: svc.protocol,
      address,
      port,
      scheduler,
      flags,
      timeout: svc.clientIPAffinity ? svc.stickyMaxAgeSeconds : 0,
      netmask: '255.255.255.255',
      realServers: realServersOf(svc, onlyNodeLocal),
      comment: `${svc.nameString} ${comment}`,
    });
  };

  for (const svc of svcPorts) {
    const proto = svc.proto;
    // Hairpin: every local endpoint, whatever its conditions (the EndpointsMap holds them all).
    for (const ep of endpointsOf(svc))
      if (ep.isLocal) add('KUBE-LOOP-BACK', `${ep.ip},${proto}:${ep.port},${ep.ip}`);

    add('KUBE-CLUSTER-IP', `${svc.clusterIP},${proto}:${svc.port}`);
    virtualServer(svc, svc.clusterIP, svc.port, svc.internalPolicyLocal, 'cluster IP');
    bound.add(svc.clusterIP);

    for (const ip of svc.externalIPs) {
      add(
        svc.externalPolicyLocal ? 'KUBE-EXTERNAL-IP-LOCAL' : 'KUBE-EXTERNAL-IP',
        `${ip},${proto}:${svc.port}`,
      );
      virtualServer(svc, ip, svc.port, svc.externalPolicyLocal, 'external IP');
      // "We must not add the address to the dummy device if it exist on another interface".
      if (!nodeAddressSet.has(ip)) bound.add(ip);
    }

    for (const ip of svc.loadBalancerVIPs) {
      const entry = `${ip},${proto}:${svc.port}`;
      add('KUBE-LOAD-BALANCER', entry);
      if (svc.externalPolicyLocal) add('KUBE-LOAD-BALANCER-LOCAL', entry);
      if (svc.loadBalancerSourceRanges.length > 0) {
        add('KUBE-LOAD-BALANCER-FW', entry);
        let allowFromNode = false;
        for (const cidr of svc.loadBalancerSourceRanges) {
          add('KUBE-LOAD-BALANCER-SOURCE-CIDR', `${entry},${formatCidr(cidr)}`);
          if (isIp(input.nodeIP) && cidrContains(cidr, input.nodeIP)) allowFromNode = true;
        }
        // The node reaches an LB IP through IPVS with the LB IP as its source (it is on kube-ipvs0).
        if (allowFromNode) add('KUBE-LOAD-BALANCER-SOURCE-IP', `${entry},${ip}`);
        else lbNoNodeAccess.push({ ip, proto, port: svc.port });
      }
      virtualServer(svc, ip, svc.port, svc.externalPolicyLocal, 'load balancer IP');
      if (!nodeAddressSet.has(ip)) bound.add(ip);
    }

    if (svc.nodePort !== 0) {
      // No node address for NodePorts: upstream skips the rest of this service port (health check included).
      if (nodeIPs.length === 0) continue;
      const upper = proto.toUpperCase();
      const entries =
        proto === 'sctp' ? nodeIPs.map((ip) => `${ip},sctp:${svc.nodePort}`) : [`${svc.nodePort}`];
      const setName = proto === 'sctp' ? 'KUBE-NODE-PORT-SCTP-HASH' : `KUBE-NODE-PORT-${upper}`;
      for (const e of entries) add(setName, e);
      if (svc.externalPolicyLocal) {
        const localName =
          proto === 'sctp' ? 'KUBE-NODE-PORT-LOCAL-SCTP-HASH' : `KUBE-NODE-PORT-LOCAL-${upper}`;
        for (const e of entries) add(localName, e);
      }
      // One virtual server per node address; node addresses are not bound to kube-ipvs0.
      for (const ip of nodeIPs) virtualServer(svc, ip, svc.nodePort, svc.externalPolicyLocal, 'node port');
    }

    if (svc.healthCheckNodePort !== 0) add('KUBE-HEALTH-CHECK-NODE-PORT', `${svc.healthCheckNodePort}`);
  }
  if (accessFilter) for (const ip of bound) add('KUBE-IPVS-IPS', ip);

  const ipsets: IpsetSet[] = KUBE_IPVS_SETS.filter((s) => accessFilter || s.name !== 'KUBE-IPVS-IPS').map(
    (s) => ({
      name: s.name,
      type: s.type,
      ...(s.type === 'bitmap:port' ? { range: { from: 0, to: 65535 } } : { hashsize: 1024, maxelem: 65536 }),
      entries: [...sets.get(s.name)!].sort(cmpStr),
      comment: s.comment,
    }),
  );
  const nonEmpty = (name: string): boolean => sets.get(name)!.size > 0;
  const restoreInput = writeIptablesRules(input, accessFilter, nonEmpty, lbNoNodeAccess);

  const sysctls: KubeProxyIpvsSysctl[] = [
    {
      key: 'net.ipv4.vs.conntrack',
      value: 1,
      why: 'conntrack keeps following IPVS-forwarded packets (masquerade, policies)',
    },
    {
      key: 'net.ipv4.vs.expire_nodest_conn',
      value: 1,
      why: 'a connection whose real server is gone is dropped at once',
    },
    {
      key: 'net.ipv4.vs.expire_quiescent_template',
      value: 1,
      why: 'a persistence template whose real server has weight 0 expires (sessionAffinity moves on)',
    },
    { key: 'net.ipv4.ip_forward', value: 1, why: 'the node forwards to real servers on other nodes' },
    ...(options.strictARP
      ? [
          {
            key: 'net.ipv4.conf.all.arp_ignore',
            value: 1,
            why: '--ipvs-strict-arp: no ARP answers for kube-ipvs0 addresses',
          },
          { key: 'net.ipv4.conf.all.arp_announce', value: 2, why: '--ipvs-strict-arp' },
        ]
      : []),
  ];
  // net.ipv4.vs.conn_reuse_mode: kube-proxy sets 0 only on kernels before 5.9 (it is fixed since): left as-is.

  return {
    dummyDevice: { name: KUBE_IPVS_DEVICE, addresses: [...bound].sort((a, b) => ipToInt(a) - ipToInt(b)) },
    table: { connTabSize: 4096, services: virtualServers },
    ipsets,
    restoreInput,
    builtinJumps: kubeProxyIpvsBuiltinJumps(options),
    sysctls,
  };
}

/** writeIptablesRules + acceptIPVSTraffic + createAndLinkKubeChain's chain lines: the restore input. */
function writeIptablesRules(
  input: KubeProxyInput,
  accessFilter: boolean,
  nonEmpty: (set: string) => boolean,
  lbNoNodeAccess: readonly { ip: string; proto: string; port: number }[],
): string {
  const comment = (set: string): string => `"${KUBE_IPVS_SETS.find((s) => s.name === set)!.comment}"`;
  const nat: string[] = [];
  const filter: string[] = [];
  const mark = input.masqueradeMark;

  nat.push(`-A ${KUBE_SERVICES} -s 127.0.0.0/8 -j RETURN`);
  for (const s of SETS_WITH_CHAIN) {
    if (!nonEmpty(s.name)) continue;
    const proto = s.protocol ? ` -p ${s.protocol}` : '';
    (s.table === 'nat' ? nat : filter).push(
      `-A ${s.from}${proto} -m comment --comment ${comment(s.name)} -m set --match-set ${s.name} ${s.matchType} -j ${s.to}`,
    );
  }
  if (nonEmpty('KUBE-CLUSTER-IP')) {
    const args = `-A ${KUBE_SERVICES} -m comment --comment ${comment('KUBE-CLUSTER-IP')} -m set --match-set KUBE-CLUSTER-IP`;
    const detector = localDetectorOf(input);
    if (input.masqueradeAll) nat.push(`${args} dst,dst -j ${KUBE_MARK_MASQ}`);
    // Off-cluster traffic to a VIP is masqueraded (it may leave the node again).
    else if (detector) nat.push(`${args} dst,dst ${detector.ifNotLocal} -j ${KUBE_MARK_MASQ}`);
    // Without a detector: masquerade what the node sends from a VIP (the VIP is picked as the source to a VIP).
    else nat.push(`${args} src,dst -j ${KUBE_MARK_MASQ}`);
  }
  const externalIPRules = (args: string): void => {
    // "all traffic from off-machine" (not from a bridge, not from a local process), and traffic for external
    // IPs that happen to be local addresses.
    nat.push(`${args} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${args} -m addrtype --dst-type LOCAL -j ACCEPT`);
  };
  if (nonEmpty('KUBE-EXTERNAL-IP')) {
    const args = `-A ${KUBE_SERVICES} -m comment --comment ${comment('KUBE-EXTERNAL-IP')} -m set --match-set KUBE-EXTERNAL-IP dst,dst`;
    nat.push(`${args} -j ${KUBE_MARK_MASQ}`);
    externalIPRules(args);
  }
  if (nonEmpty('KUBE-EXTERNAL-IP-LOCAL'))
    externalIPRules(
      `-A ${KUBE_SERVICES} -m comment --comment ${comment('KUBE-EXTERNAL-IP-LOCAL')} -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst`,
    );
  nat.push(`-A ${KUBE_SERVICES} -m addrtype --dst-type LOCAL -j ${KUBE_NODE_PORT}`);
  nat.push(`-A ${KUBE_LOAD_BALANCER} -j ${KUBE_MARK_MASQ}`);
  filter.push(`-A ${KUBE_SOURCE_RANGES_FIREWALL} -j DROP`);
  if (accessFilter)
    for (const e of lbNoNodeAccess)
      filter.push(
        `-A ${KUBE_IPVS_OUT_FILTER} -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.proto} --vport ${e.port} -j DROP`,
      );
  // acceptIPVSTraffic: accept what IPVS will take, in case later rules would drop it.
  for (const set of ['KUBE-CLUSTER-IP', 'KUBE-LOAD-BALANCER'])
    if (nonEmpty(set)) nat.push(`-A ${KUBE_SERVICES} -m set --match-set ${set} dst,dst -j ACCEPT`);
  filter.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`,
  );
  filter.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
  filter.push(
    `-A ${KUBE_NODE_PORT} -m comment --comment ${comment('KUBE-HEALTH-CHECK-NODE-PORT')} -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT`,
  );
  if (accessFilter) {
    // kubernetes/kubernetes#72236: host ports must not be reachable through VIP addresses.
    for (const set of ['KUBE-LOAD-BALANCER', 'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL'])
      filter.push(`-A ${KUBE_IPVS_FILTER} -m set --match-set ${set} dst,dst -j RETURN`);
    filter.push(`-A ${KUBE_IPVS_FILTER} -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN`);
    filter.push(
      `-A ${KUBE_IPVS_FILTER} -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT`,
    );
  }
  nat.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet that traverses the stack again is not masqueraded twice.
  nat.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`);
  nat.push(
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${input.hasRandomFully ? ' --random-fully' : ''}`,
  );
  nat.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);

  const filterChains = FILTER_CHAINS.filter(
    (c) => accessFilter || (c !== KUBE_IPVS_FILTER && c !== KUBE_IPVS_OUT_FILTER),
  );
  return [
    '*nat',
    ...NAT_CHAINS.map((c) => `:${c} - [0:0]`),
    ...nat,
    'COMMIT',
    '*filter',
    ...filterChains.map((c) => `:${c} - [0:0]`),
    ...filter,
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * The rules in the built-in chains: kube-proxy prepends each jump of iptablesJumpChain (`iptables -I CHAIN 1`),
 * so within a chain they end up in reverse order; kubelet's KUBE-FIREWALL jumps, added when the node started,
 * come after them (as kubeProxyBuiltinJumps in kubeproxy.ts).
 */
export function kubeProxyIpvsBuiltinJumps(options: KubeProxyIpvsOptions = {}): BuiltinJump[] {
  const accessFilter = options.accessFilter !== false;
  const jumps = JUMP_CHAINS.filter(
    (j) => accessFilter || (j.to !== KUBE_IPVS_FILTER && j.to !== KUBE_IPVS_OUT_FILTER),
  );
  const out: BuiltinJump[] = [];
  for (const key of [...new Set(jumps.map((j) => `${j.table} ${j.from}`))]) {
    const [table, from] = key.split(' ') as ['filter' | 'nat', BuiltinJump['chain']];
    for (const j of jumps.filter((x) => x.table === table && x.from === from).reverse())
      out.push({
        table,
        chain: from,
        rule: `-A ${from} -m comment --comment "${j.comment}" -j ${j.to}`,
        by: 'kube-proxy',
      });
    if (table === 'filter' && (from === 'INPUT' || from === 'OUTPUT'))
      out.push({ table, chain: from, rule: `-A ${from} -j KUBE-FIREWALL`, by: 'kubelet' });
  }
  return out;
}

/**
 * kube-proxy's part of the node's ruleset in ipvs mode, loaded through the iptables parser: the restore input
 * plus kube-proxy's own jumps from the built-in chains (kubelet's KUBE-FIREWALL jumps are left to the caller
 * that adds kubelet's chain). Throws if the text does not parse (it always should).
 */
export function kubeProxyIpvsRuleset(result: KubeProxyIpvsResult): Ruleset {
  const { ruleset, errors } = parseIptablesSave(result.restoreInput);
  if (errors.length > 0) throw new Error(errors.map((e) => `line ${e.line}: ${e.message}`).join('\n'));
  const own = result.builtinJumps.filter((j) => j.by === 'kube-proxy');
  for (const table of ['nat', 'filter'] as const) {
    for (const hook of BUILTIN_CHAINS[table]) ensureChain(ruleset, table, hook);
    for (const hook of BUILTIN_CHAINS[table]) {
      const rules = own.filter((j) => j.table === table && j.chain === hook).map((j) => j.rule);
      if (rules.length > 0) insertRules(ruleset, table, hook, rules);
    }
    // iptables-save lists the built-in chains first, in the kernel's order, then the user chains.
    const chains = ruleset.get(table)!;
    const builtins = BUILTIN_CHAINS[table].map((h) => [h, chains.get(h)!] as const);
    const users = [...chains].filter(([, c]) => c.policy === null);
    ruleset.set(table, new Map([...builtins, ...users]));
  }
  return ruleset;
}

/** kubeProxyIpvsRuleset as iptables-save text (nat, then filter). */
export function kubeProxyIpvsIptablesSave(result: KubeProxyIpvsResult): string {
  return formatIptablesSave(kubeProxyIpvsRuleset(result), ['nat', 'filter']);
}
