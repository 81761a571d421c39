// What kubelet, the CNI plugins and flanneld do to a node's network, as NetOps (netops.ts), in the order
// they do it. Nothing here special-cases a walk: walks only ever see the tables these ops build.
//
// Sources modelled:
// - containernetworking/plugins plugins/main/bridge/bridge.go: ensure the bridge (cni0) exists and is up,
//   create the veth pair from the container's namespace (eth0 inside, vethXXXXXXXX on the host), enslave
//   the host end (hairpin when configured), host-local IPAM's address on eth0 and its routes, the gateway
//   address on the bridge (isGateway), ip_forward=1.
// - flannel-io/cni-plugin flannel_linux.go: delegates to bridge with isGateway, mtu=FLANNEL_MTU and an
//   IPAM route to the whole flannel network; the kube-flannel conflist adds isDefaultGateway and hairpinMode.
// - flannel-io/flannel pkg/backend/vxlan: flannel.<VNI> with no learning, local = node IP, the kernel's
//   default port 8472, MTU = uplink - 50, a /32 address = the network address of the node's subnet; per
//   remote lease: a permanent neighbour (subnet IP → VTEP MAC), an FDB entry (VTEP MAC → public IP) and an
//   onlink route `subnet via subnet-IP dev flannel.1`, in that order.
// - flannel pkg/backend/hostgw: per remote lease a route `subnet via public-IP dev <uplink>`.
// - weaveworks/weave (fastdp), see weaveOps: the `weave` bridge with an address of the whole pod network
//   (`weave expose`), a VXLAN port on it (UDP 6784) with per-peer FDB entries; plugin/net/cni.go: the pod's
//   veth (vethwepl…) on that bridge, its address with the allocation range's prefix, a default route via the
//   bridge's address (findBridgeIP), MTU 1376 (WEAVE_MTU's default); the router's, `weave expose`'s and
//   weave-npc's iptables rules and the ipset weaver-no-masq-local (cniRules.ts, with the node's rules).
//
// What is the same on every node is made once per plan and shared (docs/performance.md): the per-lease
// routes, neighbour and FDB entries (made with the plan, applied as one batch: leaseBatch), and kube-proxy's
// rules when no node has its own (kubeProxyRules().nodeSpecific). opsOf still lists every op.
import {
  cidrContains,
  formatCidr,
  hashHex,
  macFromName,
  nthAddress,
  type Cidr,
  type Ip,
  type Mac,
} from './addr.ts';
import {
  flannelDefaults,
  nodeFirewallRestore,
  nodeIptables,
  nodeIptablesSave,
  weaveDefaults,
  weaveIpsets,
} from './cniRules.ts';
import { withParse } from './iptables.ts';
import {
  kubeProxyClusterInput,
  kubeProxyNodeInput,
  kubeProxyRules,
  type BuiltinJump,
  type KubeProxyClusterInput,
  type KubeProxyRules,
} from './kubeproxy.ts';
import { kubeProxyIpvsBuiltinJumps, kubeProxyIpvsSync } from './kubeproxyIpvs.ts';
import type { NetOp, NetnsId } from './netops.ts';
import { VXLAN_OVERHEAD } from './packet.ts';
import type { Route } from './route.ts';
import {
  neighOf,
  routeOf,
  setVxlanFdb,
  type AddressOwner,
  type NeighEntry,
  type Netns,
  type OpBatch,
  type Segment,
  type SegmentMember,
  type VxlanDevice,
  type WorldPlan,
} from './world.ts';
import type { ClusterModel, CniMode, NodeModel, PodModel, ServiceModel } from '../scenario/model.ts';

export const NODE_NETWORK = 'node-network';
export const INTERNET = 'internet';
export const NODE_NIC = 'eth0';
export const BRIDGE = 'cni0';
/** Ports the node agents listen on, on every node address: kubelet's API, kube-proxy's healthz. */
export const NODE_AGENT_PORTS: readonly number[] = [10250, 10256];

export function nodeNetns(node: string): NetnsId {
  return `node/${node}`;
}
export function podNetns(pod: Pick<PodModel, 'namespace' | 'name'>): NetnsId {
  return `pod/${pod.namespace}/${pod.name}`;
}
export function hostNetns(host: string): NetnsId {
  return `host/${host}`;
}

/** Deterministic MAC of a device, so the engine and a kernel lab built from the same ops agree. */
export function macOf(netns: NetnsId, dev: string): string {
  return macFromName(`${netns}|${dev}`);
}

/** The host-side veth name: "veth" + 8 hex digits, as the bridge plugin names it (there: random). */
export function hostVethName(pod: Pick<PodModel, 'namespace' | 'name'>, cni?: CniMode): string {
  const hash = hashHex(`${pod.namespace}/${pod.name}`);
  // weave-net's vethPair: "vethwepl" + the first 7 characters of the container ID (plugin/net/cni.go).
  return cni === 'weave' ? `vethwepl${hash.slice(0, 7)}` : `veth${hash}`;
}

export function vxlanDeviceName(vni: number): string {
  return `flannel.${vni}`;
}

/** Weave Net's bridge, which holds the pods (weave's default bridge name, plugin/net/cni.go loadNetConf). */
export const WEAVE_BRIDGE = 'weave';
/** The UDP port of weave's fastdp VXLAN tunnels (6783 + 1; the vport is named after it). */
export const WEAVE_VXLAN_PORT = 6784;
export const WEAVE_VXLAN = `vxlan-${WEAVE_VXLAN_PORT}`;
/** WEAVE_MTU's default: what weave gives its bridge and every pod's veth, whatever the node's MTU. */
export const WEAVE_MTU = 1376;
/** Linux's largest VXLAN device MTU (IP_MAX_MTU less VXLAN's 50 bytes): what a vport-like device has. */
const VXLAN_MAX_MTU = 65485;
/** A VXLAN FDB entry for this MAC is the default destination list: broadcast and unknown unicast go to each. */
export const ZERO_MAC = '00:00:00:00:00:00';

/** The bridge the pods of this CNI mode are attached to. */
export function podBridge(model: Pick<ClusterModel, 'cni'>): string {
  return model.cni === 'weave' ? WEAVE_BRIDGE : BRIDGE;
}

/** The MTU flannel writes to subnet.env (FLANNEL_MTU) and the CNI plugin gives the bridge and pods. */
export function podMtu(model: ClusterModel): number {
  if (model.podMtu !== undefined) return model.podMtu;
  if (model.cni === 'weave') return WEAVE_MTU;
  return model.cni === 'flannel-vxlan' ? model.mtu - VXLAN_OVERHEAD : model.mtu;
}

/** The gateway address of a node's pod subnet (host-local IPAM's default: the first address). */
export function bridgeGateway(podCIDR: Cidr): Ip {
  return nthAddress(podCIDR, 1);
}

/**
 * What a plan works out once and shares between the nodes it builds (see planWorld): kube-proxy's input for
 * the cluster, kube-proxy's rules when they are the same on every node, flanneld's per-lease entries.
 */
interface PlanShared {
  kubeProxyCluster: KubeProxyClusterInput | null;
  /** kube-proxy's rules (iptables mode) once a node found them not node-specific. */
  kubeProxyRules: KubeProxyRules | null;
  /** The lease entries, or 'ops' where they cannot be shared (see leaseEntries). */
  readonly leases: Leases | 'ops';
}

function nodeOps(
  model: ClusterModel,
  node: NodeModel,
  pods: readonly PodModel[],
  shared: PlanShared,
): NetOp[] {
  return nodeBuild(model, node, pods, shared).flatMap((s) => ('op' in s ? [s] : s.ops()));
}

/** A node's ops (nodeOps), with flanneld's per-lease ones as one batch (see leaseBatch). */
function nodeBuild(
  model: ClusterModel,
  node: NodeModel,
  pods: readonly PodModel[],
  shared: PlanShared,
): (NetOp | OpBatch)[] {
  const ns = nodeNetns(node.name);
  const ops: NetOp[] = [
    { op: 'netns-add', netns: ns, why: `the node ${node.name} (its root network namespace)` },
    { op: 'link-add-loopback', netns: ns, why: 'loopback' },
    {
      op: 'link-add-physical',
      netns: ns,
      name: NODE_NIC,
      mac: macOf(ns, NODE_NIC),
      mtu: model.mtu,
      segment: NODE_NETWORK,
      why: "the node's NIC on the node network",
    },
    {
      op: 'addr-add',
      netns: ns,
      dev: NODE_NIC,
      ip: node.internalIP,
      prefix: model.nodeNetwork.prefix,
      why: "the node's InternalIP",
    },
    { op: 'link-set-up', netns: ns, name: NODE_NIC, why: 'bring the NIC up' },
  ];
  if (model.gateway)
    ops.push({
      op: 'route-add',
      netns: ns,
      dst: 'default',
      gateway: model.gateway.ip,
      dev: NODE_NIC,
      onlink: false,
      type: 'unicast',
      why: 'default route to the gateway',
    });
  ops.push({
    op: 'sysctl',
    netns: ns,
    key: 'net.ipv4.ip_forward',
    value: 1,
    why: 'Kubernetes nodes forward pod traffic',
  });
  ops.push({
    op: 'sysctl',
    netns: ns,
    key: 'net.bridge.bridge-nf-call-iptables',
    value: 1,
    why: 'kubeadm requires br_netfilter: bridged pod traffic must meet iptables (kube-proxy, policies)',
  });
  const steps: (NetOp | OpBatch)[] = [...ops, ...overlayOps(model, node)];
  if (model.cni.startsWith('flannel'))
    steps.push({
      op: 'file-write',
      netns: ns,
      path: SUBNET_ENV,
      content: subnetEnv(model, node),
      writer: 'flanneld',
      why: "flanneld writes the node's lease for the CNI plugin: network, subnet, MTU, masquerade",
    });
  if (model.nodes.some((n) => n.name !== node.name)) steps.push(leaseBatch(model, node, shared));
  steps.push(...nodeRuleOps(model, node, pods.length > 0, shared));
  pods.forEach((pod, i) => steps.push(...cniAdd(model, node, pod, i === 0)));
  return steps;
}

/** What kubelet, kube-proxy and flanneld (or weave's router and weave-npc) write into a node's iptables, as one
 *  restore op: the chains of each and the jumps into them in the order they end up in (cniRules.ts
 *  nodeIptablesSave); weave's ipset weaver-no-masq-local rides on the op, created before the rules. In ipvs mode kube-proxy
 *  first creates kube-ipvs0 (a dummy link left DOWN) with every Service address as a /32, and loads its ipsets
 *  and IPVS virtual servers (kubeproxyIpvs.ts kubeProxyIpvsSync). */
function nodeRuleOps(model: ClusterModel, node: NodeModel, hasPods: boolean, shared: PlanShared): NetOp[] {
  const kp = model.extra.kubeProxy;
  const mode = kp?.mode ?? 'iptables';
  const ns = nodeNetns(node.name);
  const ops: NetOp[] = [];
  const input = (): ReturnType<typeof kubeProxyNodeInput> =>
    kubeProxyNodeInput(model, node, hasPods, (shared.kubeProxyCluster ??= kubeProxyClusterInput(model)));
  // iptables mode: kube-proxy's rules as data (kubeProxyRules), shared by every node when nothing in them is
  // the node's own; ipvs mode: kube-proxy's restore text.
  let kubeProxyRulesOfNode: KubeProxyRules | null = null;
  let kubeProxy: string | null = null;
  let builtinJumps: readonly BuiltinJump[] | undefined;
  if (mode === 'iptables') {
    kubeProxyRulesOfNode = shared.kubeProxyRules;
    if (kubeProxyRulesOfNode === null) {
      kubeProxyRulesOfNode = kubeProxyRules(input());
      if (!kubeProxyRulesOfNode.nodeSpecific) shared.kubeProxyRules = kubeProxyRulesOfNode;
    }
  } else {
    const options = { accessFilter: kp?.ipvsAccessFilter !== false };
    const ipvs = kubeProxyIpvsSync(input(), options);
    kubeProxy = ipvs.restoreInput;
    builtinJumps = kubeProxyIpvsBuiltinJumps(options);
    const dev = ipvs.dummyDevice.name;
    ops.push({
      op: 'link-add-dummy',
      netns: ns,
      name: dev,
      mac: macOf(ns, dev),
      why: 'kube-proxy (ipvs): a dummy device to bind every Service address to, so the node owns them (left DOWN)',
    });
    for (const ip of ipvs.dummyDevice.addresses)
      ops.push({
        op: 'addr-add',
        netns: ns,
        dev,
        ip,
        prefix: 32,
        why: `kube-proxy (ipvs): ${ip} is a Service address; as a local address it reaches IPVS in LOCAL_IN`,
      });
    ops.push({
      op: 'ipvs-load',
      netns: ns,
      writer: 'kube-proxy',
      ipsets: ipvs.ipsets,
      table: ipvs.table,
      why: `kube-proxy (ipvs): ${ipvs.table.services.length} virtual servers (one per Service address and port, NodePorts on every node address) and the ipsets its iptables rules match`,
    });
  }
  const flannel = model.cni.startsWith('flannel')
    ? flannelDefaults(formatCidr(model.clusterCIDR), formatCidr(node.podCIDR))
    : null;
  // weave-kube: the router's rules, `weave expose`'s (its address: the bridge's, with the range's prefix) and
  // weave-npc's (cniRules.ts weaveIptablesRules).
  const weave =
    model.cni === 'weave'
      ? weaveDefaults(
          WEAVE_BRIDGE,
          `${bridgeGateway(node.podCIDR)}/${model.clusterCIDR.prefix}`,
          formatCidr(node.podCIDR),
          model.networkPolicies.some((p) => p.policyTypes.includes('Egress')),
        )
      : null;
  const ipsets = weave ? { ipsets: weaveIpsets(weave) } : {};
  const hasKubeProxy = kubeProxy !== null || kubeProxyRulesOfNode !== null;
  const writers = [
    'kubelet',
    ...(hasKubeProxy ? ['kube-proxy'] : []),
    ...(flannel ? ['flanneld'] : []),
    ...(weave ? ['weaver', 'weave-npc'] : []),
  ];
  const writer = writers.join(' + ');
  const why = `${writers.join(', ')}: ${hasKubeProxy ? (mode === 'ipvs' ? 'the ipset-matching Service rules of ipvs mode, ' : 'every Service of the cluster, ') : ''}the localnet firewall${flannel ? ', masquerade of pod traffic leaving the cluster network' : ''}${weave ? ", masquerade of pod traffic leaving the weave range (chain WEAVE; the ipset weaver-no-masq-local holds this peer's range), the weave bridge's FORWARD rules and weave-npc's chains" : ''}`;
  const jumps = builtinJumps ? { builtinJumps } : {};
  if (kubeProxyRulesOfNode === null)
    ops.push({
      op: 'iptables-restore',
      netns: ns,
      writer,
      text: nodeIptablesSave({ kubeProxy, flannel, weave, ...jumps }),
      ...ipsets,
      why,
    });
  else {
    // The same op, its text printed only when someone reads it, its rules loaded from the data.
    const rules = nodeIptables({ kubeProxy: kubeProxyRulesOfNode.tables, flannel, weave, ...jumps });
    let text: string | null = null;
    const op: Extract<NetOp, { op: 'iptables-restore' }> = {
      op: 'iptables-restore',
      netns: ns,
      writer,
      get text(): string {
        return (text ??= rules.text());
      },
      ...ipsets,
      why,
    };
    ops.push(withParse(op, rules.parse));
  }
  const firewall = nodeFirewallRestore(node.name, model.nodeFirewall ?? []);
  if (firewall !== null)
    ops.push({
      op: 'iptables-restore',
      netns: ns,
      writer: 'node firewall',
      text: firewall,
      why: `the administrator's host firewall (${(model.nodeFirewall ?? [])
        .filter((f) => f.nodes.includes(node.name))
        .map((f) => f.name)
        .join(', ')}): INPUT accepts replies and the allowed ports, drops the rest`,
    });
  return ops;
}

/** Node-level setup by flanneld before its leases: the VTEP (VXLAN only). */
function overlayOps(model: ClusterModel, node: NodeModel): NetOp[] {
  const ns = nodeNetns(node.name);
  switch (model.cni) {
    case 'flannel-vxlan': {
      const dev = vxlanDeviceName(model.vxlan.vni);
      return [
        {
          op: 'link-add-vxlan',
          netns: ns,
          name: dev,
          mac: macOf(ns, dev),
          vni: model.vxlan.vni,
          local: node.internalIP,
          port: model.vxlan.port,
          underlay: NODE_NIC,
          learning: false,
          mtu: model.mtu - VXLAN_OVERHEAD,
          why: "flanneld creates the node's VTEP",
        },
        {
          op: 'addr-add',
          netns: ns,
          dev,
          ip: node.podCIDR.ip,
          prefix: 32,
          why: 'a /32 so host-to-pod traffic has a source on the flannel network',
        },
        { op: 'link-set-up', netns: ns, name: dev, why: 'bring the VTEP up' },
      ];
    }
    case 'weave':
      return weaveOps(model, node);
    case 'flannel-host-gw':
    case 'bridge-host-gw':
    case 'bridge-router':
      return [];
  }
}

/**
 * What the weave router sets up when it starts on a node (weave-kube's launch, fastdp), simplified: the
 * `weave` bridge, a VXLAN device as one of its ports, and `weave expose`'s address on the bridge. Weave's
 * real datapath is an Open vSwitch kernel datapath (`datapath`, joined to the bridge by the veth pair
 * vethwe-bridge/vethwe-datapath) with the vport vxlan-6784, whose flows the router programs; here the vport
 * is a Linux VXLAN device enslaved to the bridge directly, and the router's flows are FDB entries (leaseOps).
 * The address has the prefix of the whole allocation range (IPALLOC_RANGE, the clusterCIDR), so every
 * node has the one pod network on-link: weave is one L2 network across the nodes.
 */
function weaveOps(model: ClusterModel, node: NodeModel): NetOp[] {
  const ns = nodeNetns(node.name);
  return [
    {
      op: 'link-add-bridge',
      netns: ns,
      name: WEAVE_BRIDGE,
      mac: macOf(ns, WEAVE_BRIDGE),
      mtu: podMtu(model),
      why: 'weave: the bridge every pod on this node is attached to',
    },
    {
      op: 'link-add-vxlan',
      netns: ns,
      name: WEAVE_VXLAN,
      mac: macOf(ns, WEAVE_VXLAN),
      vni: model.vxlan.vni,
      local: node.internalIP,
      port: WEAVE_VXLAN_PORT,
      underlay: NODE_NIC,
      learning: false,
      mtu: VXLAN_MAX_MTU,
      // router/fastdp.go sets DF on every tunnel (SetDf(true)).
      df: true,
      why: "weave (fastdp): the VXLAN vport that carries the pod network's frames to the other peers",
    },
    {
      op: 'link-set-master',
      netns: ns,
      name: WEAVE_VXLAN,
      master: WEAVE_BRIDGE,
      hairpin: false,
      why: 'weave: the overlay is a port of the bridge (the OVS datapath and its veth link, simplified)',
    },
    { op: 'link-set-up', netns: ns, name: WEAVE_VXLAN, why: 'bring the vport up' },
    { op: 'link-set-up', netns: ns, name: WEAVE_BRIDGE, why: 'bring the bridge up' },
    {
      op: 'addr-add',
      netns: ns,
      dev: WEAVE_BRIDGE,
      ip: bridgeGateway(node.podCIDR),
      prefix: model.clusterCIDR.prefix,
      why: `weave expose: an address from this peer's share (${formatCidr(node.podCIDR)}) with the prefix of the whole range, so the node reaches every pod on-link`,
    },
  ];
}

/** Per remote node, what flanneld does for its lease (or the administrator's static route to its pods). */
function leaseOps(model: ClusterModel, node: NodeModel): NetOp[] {
  const ns = nodeNetns(node.name);
  return model.nodes.filter((n) => n.name !== node.name).flatMap((o) => leaseOpsFor(model, ns, o));
}

/** What `ns` gets for the lease of the remote node `o`. `why`: false leaves the ops' reasons out (for
 *  leaseEntries, which only applies them). */
function leaseOpsFor(model: ClusterModel, ns: NetnsId, o: NodeModel, why = true): NetOp[] {
  switch (model.cni) {
    case 'flannel-vxlan': {
      const dev = vxlanDeviceName(model.vxlan.vni);
      const vtepMac = macOf(nodeNetns(o.name), dev);
      return [
        {
          op: 'neigh-add',
          netns: ns,
          dev,
          ip: o.podCIDR.ip,
          mac: vtepMac,
          why: why ? `flanneld: ${o.name}'s VTEP MAC (no ARP over the overlay)` : '',
        },
        {
          op: 'fdb-add',
          netns: ns,
          dev,
          mac: vtepMac,
          dst: o.internalIP,
          why: why ? `flanneld: frames for that MAC go to ${o.internalIP}` : '',
        },
        {
          op: 'route-add',
          netns: ns,
          dst: formatCidr(o.podCIDR),
          gateway: o.podCIDR.ip,
          dev,
          onlink: true,
          type: 'unicast',
          why: why ? `flanneld: ${o.name}'s pod subnet through the overlay` : '',
        },
      ];
    }
    case 'flannel-host-gw':
    case 'bridge-host-gw':
      return [
        {
          op: 'route-add',
          netns: ns,
          dst: formatCidr(o.podCIDR),
          gateway: o.internalIP,
          dev: NODE_NIC,
          onlink: false,
          type: 'unicast',
          why: why
            ? `${model.cni === 'flannel-host-gw' ? 'flanneld (host-gw)' : 'static route'}: ${o.name}'s pod subnet via its node IP`
            : '',
        },
      ];
    case 'bridge-router':
      return [];
    case 'weave': {
      // The weave router floods broadcasts (ARP) to every peer and, once it has seen a MAC, sends that
      // MAC's frames to its peer only (router/fastdp.go's flows); as FDB entries: one default destination
      // per peer, and the peer's bridge and pod MACs, known from the start.
      const remote = model.pods.filter((p) => p.nodeName === o.name && !p.hostNetwork);
      const on = (mac: Mac, reason: string): NetOp => ({
        op: 'fdb-add',
        netns: ns,
        dev: WEAVE_VXLAN,
        mac,
        dst: o.internalIP,
        why: why ? `weave: ${reason}` : '',
      });
      const behind = (whose: string): string => `${whose} is behind the peer ${o.name} (${o.internalIP})`;
      return [
        on(ZERO_MAC, `broadcasts and unknown unicast get a copy to the peer ${o.name} (${o.internalIP})`),
        on(macOf(nodeNetns(o.name), WEAVE_BRIDGE), behind(`${o.name}'s weave bridge`)),
        ...remote.map((p) => on(macOf(podNetns(p), 'eth0'), behind(`${p.namespace}/${p.name}`))),
      ];
    }
  }
}

/**
 * One remote node's lease as the other nodes' tables hold it: the entries applyOp makes of leaseOpsFor's
 * ops, which are the same in every node — so they are made once per plan and shared (a 5,000-node VXLAN
 * cluster has 3 × 4,999 of them per node). Nothing changes an entry once it is in a table: the world is
 * read-only once built.
 */
interface LeaseEntry {
  readonly node: string;
  readonly neigh: { readonly dev: string; readonly entry: NeighEntry } | null;
  readonly fdb: { readonly dev: string; readonly mac: Mac; readonly dst: Ip } | null;
  readonly route: Route | null;
}

/** The lease entries of a plan: per node, and as whole tables where they can be copied. */
interface Leases {
  readonly entries: readonly LeaseEntry[];
  /**
   * Every node's neighbour entries (FDB entries), in model order, as one map per device — when every entry
   * is on that one device, and no two nodes have the same key: a node's table is then a copy less its own
   * node's entry (a map copied is cheaper than one filled entry by entry).
   */
  readonly neigh: { readonly dev: string; readonly table: ReadonlyMap<Ip, NeighEntry> } | null;
  readonly fdb: { readonly dev: string; readonly table: ReadonlyMap<Mac, Ip> } | null;
}

/** Every node's lease entries, in model order; 'ops' when one of the ops does not apply (a pod CIDR with host
 *  bits set: applying the ops one by one then fails where it always did). */
function leaseEntries(model: ClusterModel): Leases | 'ops' {
  // Weave's entries per peer are one per MAC behind it: not one lease entry each.
  if (model.cni === 'weave') return 'ops';
  const out: LeaseEntry[] = [];
  try {
    for (const o of model.nodes) {
      const entry: { -readonly [K in keyof LeaseEntry]: LeaseEntry[K] } = {
        node: o.name,
        neigh: null,
        fdb: null,
        route: null,
      };
      for (const op of leaseOpsFor(model, '', o, false)) {
        if (op.op === 'neigh-add') entry.neigh = { dev: op.dev, entry: neighOf(op) };
        else if (op.op === 'fdb-add') entry.fdb = { dev: op.dev, mac: op.mac, dst: op.dst };
        else if (op.op === 'route-add') entry.route = routeOf(op);
        else return 'ops';
      }
      out.push(entry);
    }
  } catch {
    return 'ops';
  }
  return {
    entries: out,
    neigh: wholeTable(out, (e) => e.neigh && [e.neigh.dev, e.neigh.entry.ip, e.neigh.entry]),
    fdb: wholeTable(out, (e) => e.fdb && [e.fdb.dev, e.fdb.mac, e.fdb.dst]),
  };
}

/** The entries `part` picks, as one map, if they are all on one device with keys that differ. */
function wholeTable<K, V>(
  entries: readonly LeaseEntry[],
  part: (e: LeaseEntry) => readonly [string, K, V] | null,
): { readonly dev: string; readonly table: ReadonlyMap<K, V> } | null {
  let dev: string | null = null;
  const table = new Map<K, V>();
  for (const e of entries) {
    const p = part(e);
    if (p === null) continue;
    if ((dev !== null && p[0] !== dev) || table.has(p[1])) return null;
    dev = p[0];
    table.set(p[1], p[2]);
  }
  return dev === null ? null : { dev, table };
}

/**
 * leaseOps(model, node) as a batch: applied from the plan's shared entries, in leaseOps' order (per remote
 * node: neighbour, FDB entry, route), to the same effect as applyOp of each op; the ops themselves are made
 * only when someone lists the node's ops.
 */
function leaseBatch(model: ClusterModel, node: NodeModel, shared: PlanShared): OpBatch {
  return {
    kind: 'batch',
    netns: nodeNetns(node.name),
    ops: () => leaseOps(model, node),
    apply(ns: Netns): boolean {
      const leases = shared.leases;
      if (leases === 'ops') return false;
      // (A node's own entries: those of every node of its name, as leaseOps leaves them all out.)
      const own = leases.entries.filter((e) => e.node === node.name);
      // An FDB entry needs its VXLAN device (fdb-add throws otherwise): that is left to the ops.
      const fdbs = new Map<string, VxlanDevice>();
      for (const e of leases.entries) {
        if (e.node === node.name || e.fdb === null || fdbs.has(e.fdb.dev)) continue;
        const dev = ns.devices.get(e.fdb.dev);
        if (dev?.kind !== 'vxlan') return false;
        fdbs.set(e.fdb.dev, dev);
      }
      // Whole tables where the node's are still empty: a copy, less the node's own entry.
      const neighWhole = leases.neigh !== null && !ns.neigh.has(leases.neigh.dev);
      if (neighWhole) {
        const table = new Map(leases.neigh!.table);
        for (const e of own) if (e.neigh) table.delete(e.neigh.entry.ip);
        ns.neigh.set(leases.neigh!.dev, table);
      }
      const fdbDev = leases.fdb && fdbs.get(leases.fdb.dev);
      const fdbWhole = !!fdbDev && fdbDev.fdb.size === 0;
      if (fdbWhole) {
        const table = new Map(leases.fdb!.table);
        for (const e of own) if (e.fdb) table.delete(e.fdb.mac);
        setVxlanFdb(fdbDev, table);
      }
      // Else entry by entry; the same device, table and map for (nearly) every entry, looked up when it changes.
      let neighDev: string | null = null;
      let neigh: Map<Ip, NeighEntry> | undefined;
      let fdbOf: string | null = null;
      let fdb: Map<string, string> | undefined;
      for (const e of leases.entries) {
        if (e.node === node.name) continue;
        if (e.neigh && !neighWhole) {
          if (e.neigh.dev !== neighDev) {
            neighDev = e.neigh.dev;
            neigh = ns.neigh.get(neighDev);
            if (!neigh) ns.neigh.set(neighDev, (neigh = new Map()));
          }
          neigh!.set(e.neigh.entry.ip, e.neigh.entry);
        }
        if (e.fdb && !fdbWhole) {
          if (e.fdb.dev !== fdbOf) fdb = fdbs.get((fdbOf = e.fdb.dev))!.fdb;
          fdb!.set(e.fdb.mac, e.fdb.dst);
        }
        if (e.route) ns.main.add(e.route);
      }
      return true;
    },
  };
}

// ─── A pod's CNI ADD and DEL, step by step ────────────────────────────────────────────────────────────
//
// kubelet's RunPodSandbox asks the container runtime for the pod's sandbox; containerd creates a network
// namespace (/var/run/netns/cni-<uuid>), runs the CNI plugins on it, and starts the pause container in it,
// which keeps it for the pod's life (every container of the pod joins it). StopPodSandbox runs CNI DEL and
// removes the namespace. Sources: kubernetes pkg/kubelet/kuberuntime/kuberuntime_sandbox.go
// (createPodSandbox); containerd internal/cri/server/sandbox_run.go (RunPodSandbox: netns.NewNetNS, then
// setupPodNetwork) and sandbox_stop.go (teardownPodNetwork, then the netns is removed).
//
// The plugins, in the order they act:
// - containernetworking/plugins plugins/main/loopback: lo up, run by containerd before the pod network.
// - flannel-io/cni-plugin flannel_linux.go doCmdAdd: reads /run/flannel/subnet.env (flannel.go
//   defaultSubnetFile), fills the delegate's type=bridge, ipMasq = !FLANNEL_IPMASQ, mtu = FLANNEL_MTU,
//   isGateway=true and host-local IPAM over FLANNEL_SUBNET with a route to FLANNEL_NETWORK (getDelegateIPAM),
//   saves it to /var/lib/cni/flannel/<container id> for DEL (flannel.go delegateAdd, saveScratchNetConf) and
//   delegates. doCmdDel reads that file back, delegates DEL and removes it (consumeScratchNetConf).
// - plugins/main/bridge/bridge.go cmdAdd: setupBridge (create cni0 and bring it up, if missing);
//   setupVeth → pkg/ip/link_linux.go SetupVethWithName (the pair is made inside the pod's namespace, eth0
//   there and the peer, vethXXXXXXXX, placed in the host's; the host end up), LinkSetMaster to cni0,
//   hairpin on the port; ipam.ExecAdd (host-local); pkg/ipam/ipam_linux.go ConfigureIface (addresses, eth0
//   up, routes — isDefaultGateway adds the default route via the gateway); isGateway: ensureAddr puts the
//   gateway on cni0 (nothing when it has it already) and enableIPForward. cmdDel: ip.DelLinkByNameAddr
//   (eth0 and so its peer), then ipam.ExecDel ("call ipam.ExecDel after clean up device in netns").
// - plugins/ipam/host-local/backend/disk/backend.go: a reservation is a file named after the address in
//   /var/lib/cni/networks/<network>, holding "<container id>\r\n<ifname>"; last_reserved_ip.0 holds the last
//   address given (the next search starts after it). DEL removes the reservation, not last_reserved_ip.

/** Who performs a step of a pod's CNI ADD or DEL. */
export type CniActor = 'containerd' | 'loopback' | 'flannel' | 'bridge' | 'host-local';

/** One step of a pod's CNI ADD or DEL: a NetOp, or a step that changes nothing (reading a file, running the
 *  next plugin), with the command a person would type to see or do the same. */
export type CniStep =
  | { readonly actor: CniActor; readonly op: NetOp; readonly source: string }
  | {
      readonly actor: CniActor;
      readonly op: null;
      readonly netns: NetnsId;
      readonly command: string;
      /** What the step reads or passes on: the file's text, the plugin's network config on stdin. */
      readonly text: string | null;
      readonly why: string;
      readonly source: string;
    };

/** The CNI network's name (kube-flannel's conflist names it cbr0); host-local keeps its state under it. */
export const CNI_NETWORK = 'cbr0';
const CNI_BIN = '/opt/cni/bin';
const SUBNET_ENV = '/run/flannel/subnet.env';
const FLANNEL_DATA_DIR = '/var/lib/cni/flannel';
const HOST_LOCAL_DIR = `/var/lib/cni/networks/${CNI_NETWORK}`;

const SRC = {
  sandbox:
    'containerd internal/cri/server/sandbox_run.go (RunPodSandbox), kubelet pkg/kubelet/kuberuntime/kuberuntime_sandbox.go',
  stop: 'containerd internal/cri/server/sandbox_stop.go (StopPodSandbox)',
  loopback: 'containernetworking/plugins plugins/main/loopback/loopback.go',
  flannel: 'flannel-io/cni-plugin flannel_linux.go (doCmdAdd, getDelegateIPAM), flannel.go (delegateAdd)',
  flannelDel: 'flannel-io/cni-plugin flannel_linux.go (doCmdDel), flannel.go (consumeScratchNetConf)',
  bridge: 'containernetworking/plugins plugins/main/bridge/bridge.go (cmdAdd, setupBridge)',
  veth: 'containernetworking/plugins plugins/main/bridge/bridge.go (setupVeth), pkg/ip/link_linux.go (SetupVethWithName)',
  configure: 'containernetworking/plugins pkg/ipam/ipam_linux.go (ConfigureIface)',
  gateway:
    'containernetworking/plugins plugins/main/bridge/bridge.go (cmdAdd: isGateway, ensureAddr, enableIPForward)',
  bridgeDel: 'containernetworking/plugins plugins/main/bridge/bridge.go (cmdDel)',
  hostLocal: 'containernetworking/plugins plugins/ipam/host-local/backend/disk/backend.go (Reserve, Release)',
  weave: 'weaveworks/weave plugin/net/cni.go (CmdAdd), prog/weave-kube/launch.sh (10-weave.conflist)',
} as const;

/** weave-kube's CNI config (prog/weave-kube/launch.sh writes 10-weave.conflist with this plugin entry). */
const WEAVE_NETCONF = JSON.stringify({
  cniVersion: '0.3.0',
  name: 'weave',
  type: 'weave-net',
  hairpinMode: true,
});

/** The pause container's id (containerd: 64 hex digits, there random), deterministic here. */
export function sandboxId(pod: Pick<PodModel, 'namespace' | 'name'>): string {
  return Array.from({ length: 8 }, (_, i) => hashHex(`${i}|sandbox|${pod.namespace}/${pod.name}`)).join('');
}

/** The name containerd gives the pod's network namespace: cni-<uuid> (there a random UUID). */
export function sandboxNetnsName(pod: Pick<PodModel, 'namespace' | 'name'>): string {
  const h = Array.from({ length: 4 }, (_, i) => hashHex(`${i}|netns|${pod.namespace}/${pod.name}`)).join('');
  return `cni-${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** flanneld's /run/flannel/subnet.env for a node (flannel pkg/subnet WriteSubnetFile): the network, the
 *  node's subnet as its first address, the pod MTU, and whether flanneld masquerades (kube-flannel: yes). */
export function subnetEnv(model: ClusterModel, node: NodeModel): string {
  return [
    `FLANNEL_NETWORK=${formatCidr(model.clusterCIDR)}`,
    `FLANNEL_SUBNET=${bridgeGateway(node.podCIDR)}/${node.podCIDR.prefix}`,
    `FLANNEL_MTU=${podMtu(model)}`,
    'FLANNEL_IPMASQ=true',
    '',
  ].join('\n');
}

/** The network config the runtime hands the first plugin (kube-flannel's conflist; for the bridge modes the
 *  bridge plugin's own), and the one flannel passes on to bridge. Key order as Go's json.Marshal of a map. */
function netConfs(model: ClusterModel, node: NodeModel): NetConfs {
  // The same for every pod of the node: made once per node (a node build asks for each of its pods).
  const cached = netConfsOfNode.get(node);
  if (cached?.model === model) return cached.confs;
  const confs = makeNetConfs(model, node);
  netConfsOfNode.set(node, { model, confs });
  return confs;
}

interface NetConfs {
  readonly first: string;
  readonly delegate: string | null;
}
const netConfsOfNode = new WeakMap<NodeModel, { model: ClusterModel; confs: NetConfs }>();

function makeNetConfs(model: ClusterModel, node: NodeModel): NetConfs {
  const mtu = podMtu(model);
  const subnet = formatCidr(node.podCIDR);
  if (!model.cni.startsWith('flannel'))
    return {
      first: JSON.stringify({
        cniVersion: '0.3.1',
        name: CNI_NETWORK,
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        isDefaultGateway: true,
        mtu,
        ipam: { type: 'host-local', subnet },
      }),
      delegate: null,
    };
  return {
    first: JSON.stringify({
      cniVersion: '0.3.1',
      name: CNI_NETWORK,
      type: 'flannel',
      delegate: { hairpinMode: true, isDefaultGateway: true },
    }),
    delegate: JSON.stringify({
      cniVersion: '0.3.1',
      hairpinMode: true,
      ipMasq: false,
      ipam: {
        ranges: [[{ subnet }]],
        routes: [{ dst: formatCidr(model.clusterCIDR) }],
        type: 'host-local',
      },
      isDefaultGateway: true,
      isGateway: true,
      mtu,
      name: CNI_NETWORK,
      type: 'bridge',
    }),
  };
}

/** The plugin run as the runtime runs it: the CNI_* environment, the network config on stdin (a file that
 *  holds it, or the JSON itself as a here-string). */
function pluginExec(
  command: 'ADD' | 'DEL',
  ids: { readonly cid: string; readonly netns: string },
  plugin: string,
  stdin: string,
): string {
  return [
    `CNI_COMMAND=${command}`,
    `CNI_CONTAINERID=${ids.cid}`,
    `CNI_NETNS=/var/run/netns/${ids.netns}`,
    'CNI_IFNAME=eth0',
    `CNI_PATH=${CNI_BIN}`,
    stdin.startsWith('/') ? `${CNI_BIN}/${plugin} < ${stdin}` : `${CNI_BIN}/${plugin} <<< '${stdin}'`,
  ].join(' ');
}

/**
 * CNI ADD for one pod, step by step: the sandbox's namespace, loopback, (flannel: subnet.env, the saved
 * delegate config) and the bridge plugin with host-local IPAM. `first`: no pod on the node yet, so cni0 is
 * created here and gets its gateway address. The node's build applies exactly these steps' ops.
 */
export function cniAddSteps(model: ClusterModel, node: NodeModel, pod: PodModel, first: boolean): CniStep[] {
  const nodeNs = nodeNetns(node.name);
  const ns = podNetns(pod);
  const veth = hostVethName(pod, model.cni);
  const gw = bridgeGateway(node.podCIDR);
  const mtu = podMtu(model);
  const flannel = model.cni.startsWith('flannel');
  const weave = model.cni === 'weave';
  const bridge = podBridge(model);
  const cid = sandboxId(pod);
  const ids = { cid, netns: sandboxNetnsName(pod) };
  const confs = netConfs(model, node);
  const steps: CniStep[] = [];
  const op = (actor: CniActor, source: string, o: NetOp): void => void steps.push({ actor, op: o, source });
  const note = (
    actor: CniActor,
    source: string,
    at: NetnsId,
    command: string,
    text: string | null,
    why: string,
  ) => void steps.push({ actor, op: null, netns: at, command, text, why, source });

  op('containerd', SRC.sandbox, {
    op: 'netns-add',
    netns: ns,
    why: `kubelet asks the runtime for ${pod.namespace}/${pod.name}'s sandbox (RunPodSandbox): containerd creates its network namespace, ${ids.netns}; the pause container will hold it for the pod's life, and every container of the pod joins it`,
  });
  op('loopback', SRC.loopback, {
    op: 'link-add-loopback',
    netns: ns,
    why: 'the loopback plugin, which containerd runs first: lo up, so 127.0.0.1 works inside the pod',
  });
  if (flannel) {
    note(
      'containerd',
      SRC.sandbox,
      nodeNs,
      pluginExec('ADD', ids, 'flannel', confs.first),
      confs.first,
      "containerd runs the plugin its config in /etc/cni/net.d names (kube-flannel's 10-flannel.conflist: flannel), with the pod's namespace and the interface to create in the environment and that plugin's network config on stdin",
    );
    note(
      'flannel',
      SRC.flannel,
      nodeNs,
      `cat ${SUBNET_ENV}`,
      subnetEnv(model, node),
      "flannel reads what flanneld wrote when it got this node's lease: the cluster network, this node's subnet, the MTU, and that flanneld masquerades",
    );
    op('flannel', SRC.flannel, {
      op: 'file-write',
      netns: nodeNs,
      path: `${FLANNEL_DATA_DIR}/${cid}`,
      content: confs.delegate!,
      writer: 'flannel',
      why: `flannel fills in the bridge plugin's config from subnet.env (isGateway, ipMasq=false because flanneld masquerades, mtu ${mtu}, host-local over ${formatCidr(node.podCIDR)} with a route to ${formatCidr(model.clusterCIDR)}) and saves it for the DEL`,
    });
    note(
      'flannel',
      SRC.flannel,
      nodeNs,
      pluginExec('ADD', ids, 'bridge', `${FLANNEL_DATA_DIR}/${cid}`),
      confs.delegate,
      'flannel itself creates nothing: it delegates to the bridge plugin with that config',
    );
  } else if (weave) {
    note(
      'containerd',
      SRC.sandbox,
      nodeNs,
      pluginExec('ADD', ids, 'weave-net', WEAVE_NETCONF),
      WEAVE_NETCONF,
      "containerd runs the plugin its config in /etc/cni/net.d names (weave-kube's 10-weave.conflist: weave-net), which asks the weave router for an address (weave's own IPAM) and plugs the pod into the weave bridge",
    );
  } else {
    note(
      'containerd',
      SRC.sandbox,
      nodeNs,
      pluginExec('ADD', ids, 'bridge', confs.first),
      confs.first,
      "containerd runs the plugin its config in /etc/cni/net.d names (the bridge plugin with host-local IPAM), with the pod's namespace and the interface to create in the environment and the network config on stdin",
    );
  }
  if (weave)
    note(
      'bridge',
      SRC.weave,
      nodeNs,
      `ip link show ${WEAVE_BRIDGE}`,
      null,
      `${WEAVE_BRIDGE} exists already: the weave router created it when it started on the node`,
    );
  else if (first) {
    op('bridge', SRC.bridge, {
      op: 'link-add-bridge',
      netns: nodeNs,
      name: BRIDGE,
      mac: macOf(nodeNs, BRIDGE),
      mtu,
      why: `the bridge plugin needs ${BRIDGE}; this is the node's first pod, so it creates it`,
    });
    op('bridge', SRC.bridge, { op: 'link-set-up', netns: nodeNs, name: BRIDGE, why: `bring ${BRIDGE} up` });
  } else
    note(
      'bridge',
      SRC.bridge,
      nodeNs,
      `ip link show ${BRIDGE}`,
      null,
      `${BRIDGE} exists already (an earlier pod's ADD created it) and is up: nothing to do`,
    );
  op('bridge', SRC.veth, {
    op: 'link-add-veth',
    netns: ns,
    name: 'eth0',
    mac: macOf(ns, 'eth0'),
    peerName: veth,
    peerNetns: nodeNs,
    peerMac: macOf(nodeNs, veth),
    mtu,
    why: `a veth pair, made inside the pod's namespace: eth0 stays there, its peer ${veth} is placed in the node's`,
  });
  op('bridge', SRC.veth, {
    op: 'link-set-up',
    netns: nodeNs,
    name: veth,
    why: 'bring the host end up',
  });
  op('bridge', SRC.veth, {
    op: 'link-set-master',
    netns: nodeNs,
    name: veth,
    master: bridge,
    hairpin: flannel,
    why: `plug the host end into ${bridge}${flannel ? ', with hairpin mode on the port (hairpinMode: a pod may reach itself through a Service)' : ''}`,
  });
  if (!weave) hostLocalReserve();
  function hostLocalReserve(): void {
    op('host-local', SRC.hostLocal, {
      op: 'file-write',
      netns: nodeNs,
      path: `${HOST_LOCAL_DIR}/${pod.podIP}`,
      content: `${cid}\r\neth0`,
      writer: 'host-local',
      why: `host-local IPAM, run by the bridge plugin, takes the next free address of ${formatCidr(node.podCIDR)}, ${pod.podIP}, and reserves it: a file named after the address, holding the container id`,
    });
    op('host-local', SRC.hostLocal, {
      op: 'file-write',
      netns: nodeNs,
      path: `${HOST_LOCAL_DIR}/last_reserved_ip.0`,
      content: pod.podIP,
      writer: 'host-local',
      why: 'host-local remembers the last address it gave; the next search starts after it',
    });
  }
  op('bridge', SRC.configure, {
    op: 'addr-add',
    netns: ns,
    dev: 'eth0',
    ip: pod.podIP,
    prefix: weave ? model.clusterCIDR.prefix : node.podCIDR.prefix,
    why: weave
      ? "weave IPAM: an address from this peer's share, with the whole range's prefix (one flat pod network)"
      : 'the address host-local gave, on eth0 (the connected route to the pod subnet comes with it)',
  });
  op('bridge', SRC.configure, { op: 'link-set-up', netns: ns, name: 'eth0', why: 'bring eth0 up' });
  if (flannel)
    op('bridge', SRC.configure, {
      op: 'route-add',
      netns: ns,
      dst: formatCidr(model.clusterCIDR),
      gateway: gw,
      dev: 'eth0',
      onlink: false,
      type: 'unicast',
      why: "flannel IPAM route to the cluster network, via the gateway (the bridge's address)",
    });
  op('bridge', SRC.configure, {
    op: 'route-add',
    netns: ns,
    dst: 'default',
    gateway: gw,
    dev: 'eth0',
    onlink: false,
    type: 'unicast',
    why: weave
      ? "weave-net plugin: no routes configured, so a default route via the weave bridge's address"
      : `isDefaultGateway: the default route via ${gw}, ${BRIDGE}'s address`,
  });
  if (first && !weave)
    op('bridge', SRC.gateway, {
      op: 'addr-add',
      netns: nodeNs,
      dev: BRIDGE,
      ip: gw,
      prefix: node.podCIDR.prefix,
      why: `isGateway: the gateway address ${gw} on ${BRIDGE}, so the node routes for its pods`,
    });
  else if (!weave)
    note(
      'bridge',
      SRC.gateway,
      nodeNs,
      `ip addr show dev ${BRIDGE}`,
      null,
      `isGateway: ${BRIDGE} has the gateway address ${gw} already (ensureAddr adds nothing)`,
    );
  op('bridge', SRC.gateway, {
    op: 'sysctl',
    netns: nodeNs,
    key: 'net.ipv4.ip_forward',
    value: 1,
    why: 'isGateway: forwarding on (enableIPForward), so pod traffic can be routed off the node',
  });
  return steps;
}

/** CNI DEL for one pod, step by step (see cniAddSteps): eth0 deleted (and with it the veth's host end), the
 *  address released, flannel's saved config removed, then the runtime removes the namespace. cni0 stays:
 *  the bridge plugin never deletes the bridge. */
export function cniDelSteps(model: ClusterModel, node: NodeModel, pod: PodModel): CniStep[] {
  const nodeNs = nodeNetns(node.name);
  const ns = podNetns(pod);
  const cid = sandboxId(pod);
  const ids = { cid, netns: sandboxNetnsName(pod) };
  const flannel = model.cni.startsWith('flannel');
  const weave = model.cni === 'weave';
  const confs = netConfs(model, node);
  const steps: CniStep[] = [];
  const op = (actor: CniActor, source: string, o: NetOp): void => void steps.push({ actor, op: o, source });
  const note = (actor: CniActor, source: string, command: string, text: string | null, why: string) =>
    void steps.push({ actor, op: null, netns: nodeNs, command, text, why, source });
  if (flannel) {
    note(
      'containerd',
      SRC.stop,
      pluginExec('DEL', ids, 'flannel', confs.first),
      confs.first,
      `kubelet stops ${pod.namespace}/${pod.name}'s sandbox (StopPodSandbox): containerd runs the plugin with CNI_COMMAND=DEL for the same container and namespace`,
    );
    note(
      'flannel',
      SRC.flannelDel,
      pluginExec('DEL', ids, 'bridge', `${FLANNEL_DATA_DIR}/${cid}`),
      confs.delegate,
      'flannel reads back the config it saved at ADD and delegates DEL to the bridge plugin with it',
    );
  } else
    note(
      'containerd',
      SRC.stop,
      pluginExec('DEL', ids, weave ? 'weave-net' : 'bridge', weave ? WEAVE_NETCONF : confs.first),
      weave ? WEAVE_NETCONF : confs.first,
      `kubelet stops ${pod.namespace}/${pod.name}'s sandbox (StopPodSandbox): containerd runs the ${weave ? 'weave-net' : 'bridge'} plugin with CNI_COMMAND=DEL`,
    );
  op('bridge', SRC.bridgeDel, {
    op: 'link-del',
    netns: ns,
    name: 'eth0',
    why: `in the pod's namespace the bridge plugin deletes eth0; a veth pair lives and dies together, so ${hostVethName(pod, model.cni)} leaves ${podBridge(model)} and the node with it`,
  });
  if (!weave)
    op('host-local', SRC.hostLocal, {
      op: 'file-remove',
      netns: nodeNs,
      path: `${HOST_LOCAL_DIR}/${pod.podIP}`,
      why: `host-local releases ${pod.podIP} (after the device is gone): the next pod may get it`,
    });
  if (flannel)
    op('flannel', SRC.flannelDel, {
      op: 'file-remove',
      netns: nodeNs,
      path: `${FLANNEL_DATA_DIR}/${cid}`,
      why: 'the DEL went through, so flannel removes the config it saved',
    });
  op('containerd', SRC.stop, {
    op: 'netns-del',
    netns: ns,
    why: `with the pod's network torn down, containerd removes ${ids.netns} (lo goes with it)`,
  });
  return steps;
}

/** The ops of a pod's CNI ADD, as the node's build applies them. */
function cniAdd(model: ClusterModel, node: NodeModel, pod: PodModel, first: boolean): NetOp[] {
  return cniAddSteps(model, node, pod, first).flatMap((s) => (s.op ? [s.op] : []));
}

function hostOps(model: ClusterModel, name: string): NetOp[] {
  const ns = hostNetns(name);
  const ops: NetOp[] = [
    { op: 'netns-add', netns: ns, why: `the host ${name}` },
    { op: 'link-add-loopback', netns: ns, why: 'loopback' },
  ];
  const gw = model.gateway;
  if (gw && gw.name === name) {
    ops.push(
      {
        op: 'link-add-physical',
        netns: ns,
        name: 'eth0',
        mac: macOf(ns, 'eth0'),
        mtu: model.mtu,
        segment: NODE_NETWORK,
        why: 'the gateway on the node network',
      },
      {
        op: 'addr-add',
        netns: ns,
        dev: 'eth0',
        ip: gw.ip,
        prefix: model.nodeNetwork.prefix,
        why: 'gateway address',
      },
      { op: 'link-set-up', netns: ns, name: 'eth0', why: 'up' },
    );
    if (gw.internetIP && model.internet)
      ops.push(
        {
          op: 'link-add-physical',
          netns: ns,
          name: 'eth1',
          mac: macOf(ns, 'eth1'),
          mtu: model.mtu,
          segment: INTERNET,
          why: 'the gateway on the internet side',
        },
        {
          op: 'addr-add',
          netns: ns,
          dev: 'eth1',
          ip: gw.internetIP,
          prefix: model.internet.prefix,
          why: 'internet-side address',
        },
        { op: 'link-set-up', netns: ns, name: 'eth1', why: 'up' },
      );
    ops.push({ op: 'sysctl', netns: ns, key: 'net.ipv4.ip_forward', value: 1, why: 'a router forwards' });
    if (model.cni === 'bridge-router' && gw.podRoutes !== false)
      for (const n of model.nodes)
        ops.push({
          op: 'route-add',
          netns: ns,
          dst: formatCidr(n.podCIDR),
          gateway: n.internalIP,
          dev: 'eth0',
          onlink: false,
          type: 'unicast',
          why: `the router knows ${n.name}'s pod subnet`,
        });
    ops.push(...loadBalancerRoutes(model, ns));
    if (gw.cloudNat && gw.internetIP) ops.push(...cloudNatOps(model, ns));
    return ops;
  }
  const host = model.hosts.find((h) => h.name === name);
  if (!host) return ops;
  const onNodeNet = host.network === 'node';
  const cidr = onNodeNet ? model.nodeNetwork : model.internet;
  if (!cidr) return ops;
  ops.push(
    {
      op: 'link-add-physical',
      netns: ns,
      name: 'eth0',
      mac: macOf(ns, 'eth0'),
      mtu: model.mtu,
      segment: onNodeNet ? NODE_NETWORK : INTERNET,
      why: `${name}'s NIC`,
    },
    { op: 'addr-add', netns: ns, dev: 'eth0', ip: host.ip, prefix: cidr.prefix, why: `${name}'s address` },
    { op: 'link-set-up', netns: ns, name: 'eth0', why: 'up' },
  );
  const via = gw ? (onNodeNet ? gw.ip : gw.internetIP) : null;
  if (via)
    ops.push({
      op: 'route-add',
      netns: ns,
      dst: 'default',
      gateway: via,
      dev: 'eth0',
      onlink: false,
      type: 'unicast',
      why: 'default route to the gateway',
    });
  return ops;
}

/** The nodes that announce a LoadBalancer IP: with externalTrafficPolicy Local only those with a ready local
 *  endpoint (MetalLB and cloud health checks both leave the others out), else every node. */
export function announcingNodes(model: ClusterModel, svc: ServiceModel): NodeModel[] {
  if (svc.externalTrafficPolicy === 'Cluster') return [...model.nodes];
  const slices = model.endpointSlices.filter(
    (e) => e.namespace === svc.namespace && e.serviceName === svc.name,
  );
  const withEndpoints = new Set(
    slices.flatMap((e) =>
      e.endpoints.filter((ep) => ep.ready && ep.nodeName !== null).map((ep) => ep.nodeName!),
    ),
  );
  return model.nodes.filter((n) => withEndpoints.has(n.name));
}

/** The external load balancer, modelled as BGP announcements on the gateway (MetalLB's BGP mode; a cloud's
 *  passthrough load balancer behaves alike): a route to each LoadBalancer IP with one nexthop per announcing
 *  node, so the destination stays the LB IP and kube-proxy on the chosen node does the rest. */
function loadBalancerRoutes(model: ClusterModel, ns: NetnsId): NetOp[] {
  const ops: NetOp[] = [];
  for (const svc of model.services) {
    if (svc.type !== 'LoadBalancer') continue;
    const nodes = announcingNodes(model, svc);
    if (nodes.length === 0) continue;
    for (const ip of svc.loadBalancerIPs)
      ops.push({
        op: 'route-add',
        netns: ns,
        dst: `${ip}/32`,
        gateway: nodes.length === 1 ? nodes[0]!.internalIP : null,
        dev: nodes.length === 1 ? NODE_NIC : null,
        ...(nodes.length > 1
          ? { nexthops: nodes.map((n) => ({ gateway: n.internalIP, dev: NODE_NIC })) }
          : {}),
        onlink: false,
        type: 'unicast',
        why: `load balancer: ${svc.namespace}/${svc.name}'s ${ip} is announced by ${nodes.map((n) => n.name).join(', ')}`,
      });
  }
  return ops;
}

/** The cloud's 1:1 NAT on the gateway: each node's ExternalIP is an address of the gateway's internet side,
 *  DNATed to the node's InternalIP on the way in and SNATed from it on the way out; any other source is
 *  dropped, since the NAT knows only the nodes' addresses (the course notes' "packets from pods die at the
 *  NAT"). Clouds implement this in their fabric; here it is iptables on the gateway, which behaves alike. */
function cloudNatOps(model: ClusterModel, ns: NetnsId): NetOp[] {
  const mapped = model.nodes.filter((n) => n.externalIP !== undefined);
  const ops: NetOp[] = mapped.map((n) => ({
    op: 'addr-add' as const,
    netns: ns,
    dev: 'eth1',
    ip: n.externalIP!,
    prefix: 32,
    why: `cloud NAT: ${n.name}'s public address ${n.externalIP}`,
  }));
  const lines = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ...mapped.map(
      (n) =>
        `-A PREROUTING -d ${n.externalIP}/32 -i eth1 -m comment --comment "cloud NAT: ${n.name}" -j DNAT --to-destination ${n.internalIP}`,
    ),
    ...mapped.map(
      (n) =>
        `-A POSTROUTING -s ${n.internalIP}/32 -o eth1 -m comment --comment "cloud NAT: ${n.name}" -j SNAT --to-source ${n.externalIP}`,
    ),
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "cloud NAT: replies of known connections" -j ACCEPT',
    '-A FORWARD -i eth1 -o eth0 -m conntrack --ctstate DNAT -m comment --comment "cloud NAT: to a mapped node address" -j ACCEPT',
    ...model.services
      .filter((svc) => svc.type === 'LoadBalancer')
      .flatMap((svc) =>
        svc.loadBalancerIPs.map(
          (ip) =>
            `-A FORWARD -d ${ip}/32 -i eth1 -o eth0 -m comment --comment "load balancer: ${svc.namespace}/${svc.name}" -j ACCEPT`,
        ),
      ),
    ...mapped.map(
      (n) =>
        `-A FORWARD -s ${n.internalIP}/32 -i eth0 -o eth1 -m comment --comment "cloud NAT: ${n.name} is mapped" -j ACCEPT`,
    ),
    '-A FORWARD -o eth1 -m comment --comment "cloud NAT: no mapping for this source address" -j DROP',
    '-A FORWARD -i eth1 -m comment --comment "cloud NAT: nothing maps this destination" -j DROP',
    'COMMIT',
    '',
  ];
  ops.push({
    op: 'iptables-restore',
    netns: ns,
    writer: 'cloud NAT',
    text: lines.join('\n'),
    why: '1:1 NAT of node addresses; other sources are dropped',
  });
  return ops;
}

/** The plan of a cluster's world: units, their ops, and the cross-unit indexes. */
export function planWorld(model: ClusterModel): WorldPlan {
  const podsByNode = new Map<string, PodModel[]>();
  const podByNetns = new Map<NetnsId, PodModel>();
  for (const p of model.pods) {
    if (p.hostNetwork) continue;
    const list = podsByNode.get(p.nodeName) ?? [];
    list.push(p);
    podsByNode.set(p.nodeName, list);
    podByNetns.set(podNetns(p), p);
  }
  const nodeByName = new Map(model.nodes.map((n) => [n.name, n]));
  // Indexes for references and hostNetwork ports: a 150,000-pod model must not be scanned per lookup.
  const podByNsName = new Map<string, Map<string, PodModel>>();
  const podsByName = new Map<string, PodModel[]>();
  const hostNetPortsByNode = new Map<string, number[]>();
  for (const p of model.pods) {
    let inNs = podByNsName.get(p.namespace);
    if (!inNs) podByNsName.set(p.namespace, (inNs = new Map()));
    inNs.set(p.name, p);
    const same = podsByName.get(p.name);
    if (same) same.push(p);
    else podsByName.set(p.name, [p]);
    if (p.hostNetwork) {
      const ports = hostNetPortsByNode.get(p.nodeName) ?? [];
      ports.push(...p.ports.map((x) => x.containerPort));
      hostNetPortsByNode.set(p.nodeName, ports);
    }
  }
  const hostNames = [...(model.gateway ? [model.gateway.name] : []), ...model.hosts.map((h) => h.name)];
  const units = [...model.nodes.map((n) => nodeNetns(n.name)), ...hostNames.map(hostNetns)];
  const hostSet = new Set(hostNames);

  const unitOf = (id: NetnsId): string | null => {
    if (id.startsWith('node/')) return nodeByName.has(id.slice(5)) ? id : null;
    if (id.startsWith('host/')) return hostSet.has(id.slice(5)) ? id : null;
    const pod = podByNetns.get(id);
    return pod ? nodeNetns(pod.nodeName) : null;
  };

  const addressOwners = new Map<Ip, AddressOwner>();
  const own = (ip: Ip, netns: NetnsId, device: string): void => {
    if (!addressOwners.has(ip)) addressOwners.set(ip, { netns, device });
  };
  const nodeMembers: SegmentMember[] = [];
  const internetMembers: SegmentMember[] = [];
  for (const n of model.nodes) {
    const ns = nodeNetns(n.name);
    own(n.internalIP, ns, NODE_NIC);
    nodeMembers.push({ netns: ns, device: NODE_NIC, mac: macOf(ns, NODE_NIC) });
    if (model.cni === 'weave') own(bridgeGateway(n.podCIDR), ns, WEAVE_BRIDGE);
    else if ((podsByNode.get(n.name) ?? []).length > 0) own(bridgeGateway(n.podCIDR), ns, BRIDGE);
    if (model.cni === 'flannel-vxlan') own(n.podCIDR.ip, ns, vxlanDeviceName(model.vxlan.vni));
  }
  for (const p of podByNetns.values()) own(p.podIP, podNetns(p), 'eth0');
  if (model.gateway) {
    const ns = hostNetns(model.gateway.name);
    own(model.gateway.ip, ns, 'eth0');
    nodeMembers.push({ netns: ns, device: 'eth0', mac: macOf(ns, 'eth0') });
    if (model.gateway.internetIP && model.internet) {
      own(model.gateway.internetIP, ns, 'eth1');
      if (model.gateway.cloudNat)
        for (const n of model.nodes) if (n.externalIP) own(n.externalIP, ns, 'eth1');
      internetMembers.push({ netns: ns, device: 'eth1', mac: macOf(ns, 'eth1') });
    }
  }
  for (const h of model.hosts) {
    const ns = hostNetns(h.name);
    own(h.ip, ns, 'eth0');
    (h.network === 'node' ? nodeMembers : internetMembers).push({
      netns: ns,
      device: 'eth0',
      mac: macOf(ns, 'eth0'),
    });
  }
  const segments = new Map<string, Segment>([
    [
      NODE_NETWORK,
      {
        id: NODE_NETWORK,
        label: `node network ${formatCidr(model.nodeNetwork)}`,
        cidr: model.nodeNetwork,
        members: nodeMembers,
      },
    ],
  ]);
  if (model.internet)
    segments.set(INTERNET, {
      id: INTERNET,
      label: `internet ${formatCidr(model.internet)}`,
      cidr: model.internet,
      members: internetMembers,
    });

  const listenOf = (ports: readonly number[]): readonly number[] | 'any' => (ports.length ? ports : 'any');

  // The lease entries are made with the plan, once for every node it builds (~10 ms at 5,000 nodes).
  const shared: PlanShared = { kubeProxyCluster: null, kubeProxyRules: null, leases: leaseEntries(model) };
  const opsOf = (unit: string): readonly NetOp[] => {
    if (unit.startsWith('host/')) return hostOps(model, unit.slice(5));
    const node = nodeByName.get(unit.slice(5));
    return node ? nodeOps(model, node, podsByNode.get(node.name) ?? [], shared) : [];
  };
  const build = (unit: string): readonly (NetOp | OpBatch)[] => {
    const node = unit.startsWith('node/') ? nodeByName.get(unit.slice(5)) : undefined;
    return node ? nodeBuild(model, node, podsByNode.get(node.name) ?? [], shared) : opsOf(unit);
  };

  const nodeRef = (n: NodeModel) => ({ netns: nodeNetns(n.name), ip: n.internalIP });
  const podRef = (p: PodModel) =>
    p.hostNetwork ? { netns: nodeNetns(p.nodeName), ip: p.podIP } : { netns: podNetns(p), ip: p.podIP };
  const hostRef = (name: string) => {
    if (model.gateway?.name === name) return { netns: hostNetns(name), ip: model.gateway.ip };
    const h = model.hosts.find((x) => x.name === name);
    return h ? { netns: hostNetns(name), ip: h.ip } : null;
  };
  const refs = (ref: string) => {
    const [kind, ...rest] = ref.split('/');
    if (kind === 'pod' && rest.length === 2) {
      const p = podByNsName.get(rest[0]!)?.get(rest[1]!);
      return p ? podRef(p) : null;
    }
    if (kind === 'pod' && rest.length === 1) return refs(rest[0]!);
    if (kind === 'svc' && rest.length === 2) {
      // A Service's ClusterIP is virtual: no namespace owns it (netns ''), so it can only be a destination.
      const svc = model.services.find((x) => x.namespace === rest[0] && x.name === rest[1]);
      return svc?.clusterIP ? { netns: '', ip: svc.clusterIP } : null;
    }
    if (kind === 'node' && rest.length === 1) {
      const n = nodeByName.get(rest[0]!);
      return n ? nodeRef(n) : null;
    }
    if (kind === 'host' && rest.length === 1) return hostRef(rest[0]!);
    if (rest.length > 0) return null;
    const pods = podsByName.get(ref) ?? [];
    if (pods.length === 1) return podRef(pods[0]!);
    const n = nodeByName.get(ref);
    if (n) return nodeRef(n);
    return hostRef(ref);
  };

  return {
    units,
    unitOf,
    refs,
    addressOwners,
    segments,
    namespacesOf(unit) {
      if (unit.startsWith('host/')) {
        const name = unit.slice(5);
        const h = model.hosts.find((x) => x.name === name);
        return [{ id: unit, kind: 'host', node: null, label: name, listen: listenOf(h?.listen ?? []) }];
      }
      const node = nodeByName.get(unit.slice(5));
      if (!node) return [];
      // hostNetwork pods share the node's namespace, so their ports are the node's too — next to the node
      // agents', which are not pods: kubelet's API (10250) and kube-proxy's healthz (10256) listen on every
      // node address (kubelet --port, kube-proxy --healthz-bind-address defaults).
      const hostNetPorts = hostNetPortsByNode.get(node.name) ?? [];

      return [
        {
          id: unit,
          kind: 'node',
          node: node.name,
          label: node.name,
          listen: hostNetPorts.length ? [...new Set([...hostNetPorts, ...NODE_AGENT_PORTS])] : 'any',
        },
        ...(podsByNode.get(node.name) ?? []).map((p) => ({
          id: podNetns(p),
          kind: 'pod' as const,
          node: node.name,
          label: `${p.namespace}/${p.name}`,
          listen: listenOf(p.ports.map((x) => x.containerPort)),
        })),
      ];
    },
    opsOf,
    fastBuild: { opsOf, build },
  };
}

/** The pod whose IP this is, if any (for naming endpoints in traces). */
export function podByIp(model: ClusterModel, ip: Ip): PodModel | undefined {
  return model.pods.find((p) => p.podIP === ip && !p.hostNetwork);
}

export function nodeForPodCidr(model: ClusterModel, ip: Ip): NodeModel | undefined {
  return model.nodes.find((n) => cidrContains(n.podCIDR, ip));
}
