// A deterministic generator of large clusters for the benchmark: N nodes with P pods each, every address
// derived from the indexes, so two runs build the very same model.
//
//   cluster network  10.0.0.0/8       node i (0-based) gets 10.x.y.0/24 = the (i+1)-th /24 (room for 65,535)
//   node network     172.16.0.0/16    gateway .0.1, laptop .0.5, node i at the (10+i)-th address
//   service network  172.20.0.0/16    (unused by the engine so far; kept apart from both)
//   internet         203.0.113.0/24   gateway .1, an internet host .10
//
// Pods are named pod-<node>-<j> in the default namespace, with IPs from .2 up in their node's /24.
import { intToIp, ipToInt, type Cidr } from '../src/engine/addr.ts';
import type {
  ClusterModel,
  CniMode,
  EndpointSliceModel,
  NodeModel,
  PodModel,
  ServiceModel,
} from '../src/scenario/model.ts';

export interface GenerateOptions {
  readonly nodes: number;
  readonly podsPerNode: number;
  readonly cni: CniMode;
  /** ClusterIP services svc-<k> (TCP 80 → 8080), each with `endpointsPerService` pods spread over the nodes. */
  readonly services?: number;
  readonly endpointsPerService?: number;
}

const CLUSTER: Cidr = { ip: '10.0.0.0', prefix: 8 };
const NODES: Cidr = { ip: '172.16.0.0', prefix: 16 };
const SERVICES: Cidr = { ip: '172.20.0.0', prefix: 16 };
const INTERNET: Cidr = { ip: '203.0.113.0', prefix: 24 };
const FIRST_NODE_HOST = 10;

export function nodeName(i: number): string {
  return `node-${i + 1}`;
}

export function podName(node: number, j: number): string {
  return `pod-${node + 1}-${j}`;
}

export function generateCluster(o: GenerateOptions): ClusterModel {
  if (o.nodes < 1 || o.nodes > 65535 - FIRST_NODE_HOST)
    throw new Error(`nodes must be 1..${65535 - FIRST_NODE_HOST}`);
  if (o.podsPerNode < 0 || o.podsPerNode > 253)
    throw new Error('podsPerNode must be 0..253 (a /24 per node)');
  const clusterBase = ipToInt(CLUSTER.ip);
  const nodeBase = ipToInt(NODES.ip);
  const nodes: NodeModel[] = [];
  const pods: PodModel[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const subnet = clusterBase + (i + 1) * 256;
    const node: NodeModel = {
      name: nodeName(i),
      internalIP: intToIp(nodeBase + FIRST_NODE_HOST + i),
      podCIDR: { ip: intToIp(subnet), prefix: 24 },
      labels: {},
      allocated: [],
    };
    nodes.push(node);
    for (let j = 0; j < o.podsPerNode; j++)
      pods.push({
        namespace: 'default',
        name: podName(i, j),
        nodeName: node.name,
        podIP: intToIp(subnet + 2 + j),
        hostNetwork: false,
        labels: { app: `app-${j}` },
        ports: [{ name: null, containerPort: 8080, protocol: 'TCP' }],
        dnsPolicy: 'ClusterFirst',
        dnsConfig: null,
        ready: true,
        allocated: [],
      });
  }
  const services: ServiceModel[] = [];
  const endpointSlices: EndpointSliceModel[] = [];
  const serviceBase = ipToInt(SERVICES.ip);
  const perService = o.endpointsPerService ?? 10;
  for (let k = 0; k < (o.services ?? 0); k++) {
    const name = `svc-${k}`;
    services.push({
      namespace: 'default',
      name,
      type: 'ClusterIP',
      clusterIP: intToIp(serviceBase + 1 + k),
      selector: null,
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: null }],
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      externalName: null,
      allocated: [],
    });
    // Endpoints walk through the pods with a stride, so every service spans several nodes.
    const endpoints = Array.from(
      { length: perService },
      (_, e) => pods[(k * 7919 + e * 104729) % pods.length]!,
    );
    endpointSlices.push({
      namespace: 'default',
      name: `${name}-abcde`,
      serviceName: name,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: endpoints.map((p) => ({
        addresses: [p.podIP],
        ready: true,
        serving: true,
        terminating: false,
        nodeName: p.nodeName,
        targetPod: `${p.namespace}/${p.name}`,
      })),
      generated: false,
    });
  }
  return {
    name: `generated-${o.cni}-${o.nodes}x${o.podsPerNode}`,
    description: `${o.nodes} nodes, ${o.podsPerNode} pods per node (bench/generate.ts)`,
    cni: o.cni,
    mtu: 1500,
    vxlan: { vni: 1, port: 8472 },
    clusterCIDR: CLUSTER,
    serviceCIDR: SERVICES,
    clusterDomain: 'cluster.local',
    clusterDNS: '10.96.0.10',
    nodeResolvConf: { nameservers: [], searches: [], options: [] },
    nodeNetwork: NODES,
    gateway: { name: 'gateway', ip: intToIp(nodeBase + 1), internetIP: '203.0.113.1' },
    internet: INTERNET,
    namespaces: ['default'],
    namespaceLabels: { default: { 'kubernetes.io/metadata.name': 'default' } },
    nodes,
    pods,
    services,
    endpointSlices,
    hosts: [
      { name: 'laptop', ip: intToIp(nodeBase + 5), network: 'node', listen: [], names: [], dnsServer: false },
      {
        name: 'example',
        ip: '203.0.113.10',
        network: 'internet',
        listen: [80, 443],
        names: [],
        dnsServer: false,
      },
    ],
    walks: [],
    networkPolicies: [],
    extra: { corefile: null, kubeProxy: null },
  };
}
