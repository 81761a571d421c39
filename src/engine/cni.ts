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
import { cidrContains, formatCidr, hashHex, macFromName, nthAddress, type Cidr, type Ip } from './addr.ts';
import { flannelDefaults, nodeIptablesSave } from './cniRules.ts';
import { kubeProxyIptablesSave, kubeProxyInputFromModel, type BuiltinJump } from './kubeproxy.ts';
import { kubeProxyIpvsBuiltinJumps, kubeProxyIpvsSync } from './kubeproxyIpvs.ts';
import type { NetOp, NetnsId } from './netops.ts';
import { VXLAN_OVERHEAD } from './packet.ts';
import type { AddressOwner, Segment, SegmentMember, WorldPlan } from './world.ts';
import type { ClusterModel, NodeModel, PodModel, ServiceModel } from '../scenario/model.ts';

export const NODE_NETWORK = 'node-network';
export const INTERNET = 'internet';
export const NODE_NIC = 'eth0';
export const BRIDGE = 'cni0';

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
export function hostVethName(pod: Pick<PodModel, 'namespace' | 'name'>): string {
  return `veth${hashHex(`${pod.namespace}/${pod.name}`)}`;
}

export function vxlanDeviceName(vni: number): string {
  return `flannel.${vni}`;
}

/** The MTU flannel writes to subnet.env (FLANNEL_MTU) and the CNI plugin gives the bridge and pods. */
export function podMtu(model: ClusterModel): number {
  if (model.podMtu !== undefined) return model.podMtu;
  return model.cni === 'flannel-vxlan' ? model.mtu - VXLAN_OVERHEAD : model.mtu;
}

/** The gateway address of a node's pod subnet (host-local IPAM's default: the first address). */
export function bridgeGateway(podCIDR: Cidr): Ip {
  return nthAddress(podCIDR, 1);
}

function nodeOps(model: ClusterModel, node: NodeModel, pods: readonly PodModel[]): NetOp[] {
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
  ops.push(...overlayOps(model, node));
  ops.push(...nodeRuleOps(model, node));
  pods.forEach((pod, i) => ops.push(...cniAdd(model, node, pod, i === 0)));
  return ops;
}

/** What kubelet, kube-proxy and flanneld write into a node's iptables, as one restore op: the chains of each
 *  and the jumps into them in the order they end up in (cniRules.ts nodeIptablesSave). In ipvs mode kube-proxy
 *  first creates kube-ipvs0 (a dummy link left DOWN) with every Service address as a /32, and loads its ipsets
 *  and IPVS virtual servers (kubeproxyIpvs.ts kubeProxyIpvsSync). */
function nodeRuleOps(model: ClusterModel, node: NodeModel): NetOp[] {
  const kp = model.extra.kubeProxy;
  const mode = kp?.mode ?? 'iptables';
  const ns = nodeNetns(node.name);
  const ops: NetOp[] = [];
  let kubeProxy: string | null;
  let builtinJumps: readonly BuiltinJump[] | undefined;
  if (mode === 'iptables') kubeProxy = kubeProxyIptablesSave(kubeProxyInputFromModel(model, node.name));
  else {
    const options = { accessFilter: kp?.ipvsAccessFilter !== false };
    const ipvs = kubeProxyIpvsSync(kubeProxyInputFromModel(model, node.name), options);
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
  const writers = [
    'kubelet',
    ...(kubeProxy !== null ? ['kube-proxy'] : []),
    ...(flannel ? ['flanneld'] : []),
  ];
  ops.push({
    op: 'iptables-restore',
    netns: ns,
    writer: writers.join(' + '),
    text: nodeIptablesSave({ kubeProxy, flannel, ...(builtinJumps ? { builtinJumps } : {}) }),
    why: `${writers.join(', ')}: ${kubeProxy !== null ? (mode === 'ipvs' ? 'the ipset-matching Service rules of ipvs mode, ' : 'every Service of the cluster, ') : ''}the localnet firewall${flannel ? ', masquerade of pod traffic leaving the cluster network' : ''}`,
  });
  return ops;
}

/** Node-level setup by flanneld (or the administrator, for static routes). */
function overlayOps(model: ClusterModel, node: NodeModel): NetOp[] {
  const ns = nodeNetns(node.name);
  const others = model.nodes.filter((n) => n.name !== node.name);
  switch (model.cni) {
    case 'flannel-vxlan': {
      const dev = vxlanDeviceName(model.vxlan.vni);
      const ops: NetOp[] = [
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
      for (const o of others) {
        const vtepMac = macOf(nodeNetns(o.name), dev);
        ops.push(
          {
            op: 'neigh-add',
            netns: ns,
            dev,
            ip: o.podCIDR.ip,
            mac: vtepMac,
            why: `flanneld: ${o.name}'s VTEP MAC (no ARP over the overlay)`,
          },
          {
            op: 'fdb-add',
            netns: ns,
            dev,
            mac: vtepMac,
            dst: o.internalIP,
            why: `flanneld: frames for that MAC go to ${o.internalIP}`,
          },
          {
            op: 'route-add',
            netns: ns,
            dst: formatCidr(o.podCIDR),
            gateway: o.podCIDR.ip,
            dev,
            onlink: true,
            type: 'unicast',
            why: `flanneld: ${o.name}'s pod subnet through the overlay`,
          },
        );
      }
      return ops;
    }
    case 'flannel-host-gw':
    case 'bridge-host-gw':
      return others.map((o) => ({
        op: 'route-add' as const,
        netns: ns,
        dst: formatCidr(o.podCIDR),
        gateway: o.internalIP,
        dev: NODE_NIC,
        onlink: false,
        type: 'unicast' as const,
        why: `${model.cni === 'flannel-host-gw' ? 'flanneld (host-gw)' : 'static route'}: ${o.name}'s pod subnet via its node IP`,
      }));
    case 'bridge-router':
      return [];
  }
}

/** CNI ADD for one pod: what the bridge plugin and host-local IPAM do. */
function cniAdd(model: ClusterModel, node: NodeModel, pod: PodModel, first: boolean): NetOp[] {
  const nodeNs = nodeNetns(node.name);
  const ns = podNetns(pod);
  const veth = hostVethName(pod);
  const gw = bridgeGateway(node.podCIDR);
  const mtu = podMtu(model);
  const flannel = model.cni.startsWith('flannel');
  const ops: NetOp[] = [];
  if (first)
    ops.push(
      {
        op: 'link-add-bridge',
        netns: nodeNs,
        name: BRIDGE,
        mac: macOf(nodeNs, BRIDGE),
        mtu,
        why: 'bridge plugin: create cni0 on the first pod ADD',
      },
      { op: 'link-set-up', netns: nodeNs, name: BRIDGE, why: 'bring the bridge up' },
    );
  ops.push(
    {
      op: 'netns-add',
      netns: ns,
      why: `kubelet creates the pause container of ${pod.namespace}/${pod.name} with a new network namespace`,
    },
    { op: 'link-add-loopback', netns: ns, why: 'loopback inside the pod' },
    {
      op: 'link-add-veth',
      netns: ns,
      name: 'eth0',
      mac: macOf(ns, 'eth0'),
      peerName: veth,
      peerNetns: nodeNs,
      peerMac: macOf(nodeNs, veth),
      mtu,
      why: 'bridge plugin: a veth pair, eth0 in the pod and its peer on the node',
    },
    {
      op: 'link-set-master',
      netns: nodeNs,
      name: veth,
      master: BRIDGE,
      hairpin: flannel,
      why: `attach the host end to ${BRIDGE}${flannel ? ' (hairpinMode)' : ''}`,
    },
    { op: 'link-set-up', netns: nodeNs, name: veth, why: 'bring the host end up' },
    {
      op: 'addr-add',
      netns: ns,
      dev: 'eth0',
      ip: pod.podIP,
      prefix: node.podCIDR.prefix,
      why: 'host-local IPAM: the pod IP',
    },
    { op: 'link-set-up', netns: ns, name: 'eth0', why: 'bring eth0 up' },
  );
  if (flannel)
    ops.push({
      op: 'route-add',
      netns: ns,
      dst: formatCidr(model.clusterCIDR),
      gateway: gw,
      dev: 'eth0',
      onlink: false,
      type: 'unicast',
      why: 'flannel IPAM route to the cluster network',
    });
  ops.push({
    op: 'route-add',
    netns: ns,
    dst: 'default',
    gateway: gw,
    dev: 'eth0',
    onlink: false,
    type: 'unicast',
    why: 'isDefaultGateway: default route via cni0',
  });
  if (first)
    ops.push({
      op: 'addr-add',
      netns: nodeNs,
      dev: BRIDGE,
      ip: gw,
      prefix: node.podCIDR.prefix,
      why: 'isGateway: the gateway address on the bridge',
    });
  return ops;
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
    if (model.cni === 'bridge-router')
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
    if ((podsByNode.get(n.name) ?? []).length > 0) own(bridgeGateway(n.podCIDR), ns, BRIDGE);
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
      // hostNetwork pods share the node's namespace, so their ports are the node's too.
      const hostNetPorts = hostNetPortsByNode.get(node.name) ?? [];
      return [
        {
          id: unit,
          kind: 'node',
          node: node.name,
          label: node.name,
          listen: hostNetPorts.length ? hostNetPorts : 'any',
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
    opsOf(unit) {
      if (unit.startsWith('host/')) return hostOps(model, unit.slice(5));
      const node = nodeByName.get(unit.slice(5));
      return node ? nodeOps(model, node, podsByNode.get(node.name) ?? []) : [];
    },
  };
}

/** The pod whose IP this is, if any (for naming endpoints in traces). */
export function podByIp(model: ClusterModel, ip: Ip): PodModel | undefined {
  return model.pods.find((p) => p.podIP === ip && !p.hostNetwork);
}

export function nodeForPodCidr(model: ClusterModel, ip: Ip): NodeModel | undefined {
  return model.nodes.find((n) => cidrContains(n.podCIDR, ip));
}
