import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr } from '../engine/addr.ts';
import type { ClusterModel } from './model.ts';
import { formatIssue, parseScenario, parseWalkRef, type ScenarioIssue } from './parse.ts';
import { DEFAULT_PRESET_ID, PRESETS } from './presets.ts';

// ---------------------------------------------------------------------------------------------------------
// Helpers: small documents in YAML flow style, joined into one stream.

const CLUSTER = `apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata: { name: test }
spec:
  nodeNetwork: 192.168.1.0/24
`;

function node(name: string, ip: string | null, podCIDR: string | null = null): string {
  const spec = podCIDR ? `spec: { podCIDR: ${podCIDR} }\n` : '';
  const status = ip ? `status: { addresses: [{ type: InternalIP, address: ${ip} }] }\n` : '';
  return `apiVersion: v1\nkind: Node\nmetadata: { name: ${name} }\n${spec}${status}`;
}

interface PodOptions {
  ns?: string;
  ip?: string;
  labels?: string;
  ports?: string;
  ready?: boolean;
  hostNetwork?: boolean;
}

function pod(name: string, nodeName: string, o: PodOptions = {}): string {
  const status = [
    o.ip ? `podIP: ${o.ip}` : null,
    o.ready === false ? 'conditions: [{ type: Ready, status: "False" }]' : null,
  ].filter((x) => x !== null);
  return (
    `apiVersion: v1\nkind: Pod\nmetadata: { name: ${name}, namespace: ${o.ns ?? 'default'}, labels: ${o.labels ?? '{}'} }\n` +
    `spec:\n  nodeName: ${nodeName}\n  hostNetwork: ${o.hostNetwork ?? false}\n` +
    `  containers: [{ name: c, image: busybox, ports: ${o.ports ?? '[]'} }]\n` +
    (status.length ? `status: { ${status.join(', ')} }\n` : '')
  );
}

function service(name: string, spec: string, ns = 'default'): string {
  return `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: ${spec}\n`;
}

const stream = (...docs: string[]) => docs.join('---\n');

/** The 1-based line of the first line of `text` containing `needle`. */
function lineContaining(text: string, needle: string): number {
  return text.split('\n').findIndex((l) => l.includes(needle)) + 1;
}

/** Two nodes after the Cluster document: further documents start at document 4. */
const BASE = [
  CLUSTER,
  node('node-1', '192.168.1.11', '10.244.1.0/24'),
  node('node-2', '192.168.1.12', '10.244.2.0/24'),
];

function modelOf(text: string): ClusterModel {
  const r = parseScenario(text);
  if (!r.ok) throw new Error(`expected a model, got:\n${r.errors.map(formatIssue).join('\n')}`);
  return r.model;
}

function errorsOf(text: string): ScenarioIssue[] {
  const r = parseScenario(text);
  if (r.ok) throw new Error('expected errors, got a model');
  return r.errors;
}

// ---------------------------------------------------------------------------------------------------------

describe('the default preset', () => {
  const preset = PRESETS.find((p) => p.id === DEFAULT_PRESET_ID);

  it('is listed first with its Cluster name as title', () => {
    expect(PRESETS[0]?.id).toBe(DEFAULT_PRESET_ID);
    expect(preset?.title).toBe('default');
  });

  it('parses with no errors and no warnings', () => {
    const r = parseScenario(preset!.text);
    expect(r.ok ? r.warnings : r.errors.map(formatIssue)).toEqual([]);
  });

  it('gives the expected nodes, pods and addresses', () => {
    const m = modelOf(preset!.text);
    expect(m.cni).toBe('flannel-vxlan');
    expect(m.nodes.map((n) => [n.name, n.internalIP, `${n.podCIDR.ip}/${n.podCIDR.prefix}`])).toEqual([
      ['node-1', '192.168.1.11', '10.244.1.0/24'],
      ['node-2', '192.168.1.12', '10.244.2.0/24'],
      ['node-3', '192.168.1.13', '10.244.3.0/24'],
    ]);
    expect(m.pods.map((p) => [p.name, p.nodeName, p.podIP, p.allocated])).toEqual([
      ['client', 'node-1', '10.244.1.2', []],
      ['web', 'node-1', '10.244.1.3', []],
      ['db', 'node-2', '10.244.2.2', []],
      ['web-2', 'node-3', '10.244.3.2', ['status.podIP']],
      ['api', 'node-3', '10.244.3.3', []],
      ['coredns-1', 'node-2', '10.244.2.10', []],
      ['coredns-2', 'node-3', '10.244.3.10', []],
    ]);
    expect(m.clusterDNS).toBe('10.96.0.10');
    expect(m.nodeResolvConf).toEqual({ nameservers: ['203.0.113.53'], searches: [], options: [] });
    expect(m.pods.filter((p) => p.dnsPolicy !== 'ClusterFirst').map((p) => [p.name, p.dnsPolicy])).toEqual([
      ['coredns-1', 'Default'],
      ['coredns-2', 'Default'],
    ]);
    expect(m.gateway).toEqual({
      name: 'gateway',
      ip: '192.168.1.1',
      internetIP: '203.0.113.1',
      cloudNat: true,
    });
    // The cloud NAT gives every node a public address from .101 on, in node order.
    expect(
      m.nodes.map((n) => [n.name, n.externalIP, n.allocated.includes('status.addresses[ExternalIP]')]),
    ).toEqual([
      ['node-1', '203.0.113.101', true],
      ['node-2', '203.0.113.102', true],
      ['node-3', '203.0.113.103', true],
    ]);
    expect(m.hosts.map((h) => [h.name, h.network, h.listen])).toEqual([
      ['laptop', 'node', []],
      ['example', 'internet', [80, 443]],
      ['resolver', 'internet', [53]],
    ]);
    expect(m.hosts.find((h) => h.name === 'example')?.names).toEqual(['example.com', 'www.example.com']);
    expect(m.hosts.filter((h) => h.dnsServer).map((h) => h.ip)).toEqual(['203.0.113.53']);
    expect(m.walks).toHaveLength(18);
    expect(m.namespaces).toEqual(['default', 'prod', 'kube-system']);
  });

  it('allocates clusterIPs in the serviceCIDR and generates the EndpointSlices', () => {
    const m = modelOf(preset!.text);
    for (const s of m.services.filter((x) => x.name !== 'kube-dns')) {
      // LoadBalancer services also get a nodePort, as the API server allocates one.
      expect(s.allocated).toEqual(
        s.type === 'LoadBalancer' ? ['spec.clusterIP', 'spec.ports[0].nodePort'] : ['spec.clusterIP'],
      );
      expect(s.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    }
    const web = m.endpointSlices.find((s) => s.serviceName === 'web');
    expect(web?.generated).toBe(true);
    expect(web?.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
    expect(web?.endpoints.map((e) => [e.targetPod, e.addresses, e.nodeName])).toEqual([
      ['default/web', ['10.244.1.3'], 'node-1'],
      ['default/web-2', ['10.244.3.2'], 'node-3'],
    ]);
  });
});

describe('kubectl List JSON', () => {
  const list = JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: 'kind-worker', labels: { 'kubernetes.io/hostname': 'kind-worker' } },
          spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
          status: {
            addresses: [
              { type: 'InternalIP', address: '172.18.0.3' },
              { type: 'Hostname', address: 'kind-worker' },
            ],
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'echo', namespace: 'apps', labels: { app: 'echo' }, uid: 'x' },
          spec: {
            nodeName: 'kind-worker',
            containers: [{ name: 'echo', image: 'echo', ports: [{ containerPort: 8080, protocol: 'TCP' }] }],
          },
          status: {
            phase: 'Running',
            podIP: '10.244.1.7',
            podIPs: [{ ip: '10.244.1.7' }],
            conditions: [{ type: 'Ready', status: 'True' }],
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'echo', namespace: 'apps' },
          spec: {
            type: 'ClusterIP',
            clusterIP: '10.96.0.42',
            clusterIPs: ['10.96.0.42'],
            selector: { app: 'echo' },
            ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }],
          },
        },
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'echo', namespace: 'apps' } },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'token', namespace: 'apps' } },
      ],
    },
    null,
    4,
  );

  it('expands to its items', () => {
    const r = parseScenario(list);
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.model.nodes.map((n) => [n.name, n.internalIP])).toEqual([['kind-worker', '172.18.0.3']]);
    expect(r.model.nodeNetwork).toEqual({ ip: '172.18.0.0', prefix: 24 });
    expect(r.model.pods.map((p) => [p.namespace, p.name, p.podIP])).toEqual([['apps', 'echo', '10.244.1.7']]);
    expect(r.model.services[0]?.clusterIP).toBe('10.96.0.42');
    expect(r.model.endpointSlices[0]?.endpoints[0]?.addresses).toEqual(['10.244.1.7']);
    expect(r.model.namespaces).toEqual(['default', 'apps']);
    // The Deployment and the missing Cluster document are warned about; the Secret is skipped silently.
    expect(r.warnings.map((w) => [w.document, w.kind, w.name, w.path, w.message])).toEqual([
      [
        1,
        'Deployment',
        'apps/echo',
        'items[3]',
        'ignored: Packet Walk runs no controllers: list the Pods this Deployment would create',
      ],
      [
        null,
        null,
        null,
        '',
        'no packetwalk.dev/v1alpha1 Cluster document: using the defaults (cni flannel-vxlan, mtu 1500, ' +
          'clusterCIDR 10.244.0.0/16, serviceCIDR 10.96.0.0/12, no gateway, no hosts, no walks)',
      ],
    ]);
  });

  it('reports errors inside items with the item path and the JSON line', () => {
    const broken = list.replace('"containerPort": 8080', '"containerPort": 0');
    const errors = errorsOf(broken);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      document: 1,
      kind: 'Pod',
      name: 'apps/echo',
      path: 'items[1].spec.containers[0].ports[0].containerPort',
      message: 'must be 1-65535',
    });
    const line = broken.split('\n').findIndex((l) => l.includes('"containerPort": 0')) + 1;
    expect(errors[0]?.line).toBe(line);
  });
});

// ---------------------------------------------------------------------------------------------------------

interface InvalidCase {
  name: string;
  docs: string[];
  /** [path, message] of every error, in order. */
  errors: [string, string][];
}

const INVALID: InvalidCase[] = [
  {
    name: 'service port out of range',
    docs: [service('db', '{ ports: [{ port: 70000 }] }')],
    errors: [['spec.ports[0].port', 'must be 1-65535']],
  },
  {
    name: 'containerPort missing',
    docs: [pod('a', 'node-1', { ports: '[{ name: http }]' })],
    errors: [['spec.containers[0].ports[0].containerPort', 'required']],
  },
  {
    name: 'unknown protocol',
    docs: [service('db', '{ ports: [{ port: 53, protocol: tcp }] }')],
    errors: [['spec.ports[0].protocol', 'must be one of TCP, UDP, SCTP']],
  },
  {
    name: 'nodePort out of range',
    docs: [service('db', '{ type: NodePort, ports: [{ port: 80, nodePort: 8080 }] }')],
    errors: [['spec.ports[0].nodePort', 'must be 30000-32767']],
  },
  {
    name: 'nodePort on a ClusterIP service',
    docs: [service('db', '{ ports: [{ port: 80, nodePort: 30080 }] }')],
    errors: [['spec.ports[0].nodePort', 'may only be set when type is NodePort or LoadBalancer']],
  },
  {
    name: 'second port without a name',
    docs: [service('db', '{ ports: [{ name: a, port: 80 }, { port: 81 }] }')],
    errors: [['spec.ports[1].name', 'required when the Service has more than one port']],
  },
  {
    name: 'numeric targetPort written as a string',
    docs: [service('db', '{ ports: [{ port: 80, targetPort: "8080" }] }')],
    errors: [['spec.ports[0].targetPort', '"8080" is a string: write 8080 without quotes for a port number']],
  },
  {
    name: 'clusterIP outside the serviceCIDR',
    docs: [service('db', '{ clusterIP: 10.0.0.10, ports: [{ port: 80 }] }')],
    errors: [['spec.clusterIP', '10.0.0.10 is outside serviceCIDR 10.96.0.0/12']],
  },
  {
    name: 'clusterIP reserved for kubernetes.default',
    docs: [service('db', '{ clusterIP: 10.96.0.1, ports: [{ port: 80 }] }')],
    errors: [['spec.clusterIP', '10.96.0.1 is reserved for the kubernetes Service (default/kubernetes)']],
  },
  {
    name: 'IPv6 pod IP',
    docs: [pod('a', 'node-1', { ip: '"fd00::5"' })],
    errors: [['status.podIP', '"fd00::5": IPv6 is not modelled yet']],
  },
  {
    name: 'not an IP',
    docs: [pod('a', 'node-1', { ip: '10.244.1.300' })],
    errors: [['status.podIP', '"10.244.1.300" is not an IPv4 address']],
  },
  {
    name: 'podCIDR with host bits',
    docs: [node('node-3', '192.168.1.13', '10.244.3.1/24')],
    errors: [['spec.podCIDR', '"10.244.3.1/24" has host bits set (network is 10.244.3.0/24)']],
  },
  {
    name: 'podCIDR outside clusterCIDR',
    docs: [node('node-3', '192.168.1.13', '10.245.3.0/24')],
    errors: [['spec.podCIDR', '10.245.3.0/24 is outside clusterCIDR 10.244.0.0/16']],
  },
  {
    name: 'InternalIP outside the node network',
    docs: [node('node-3', '192.168.2.13')],
    errors: [['status.addresses[0].address', '192.168.2.13 is outside the node network 192.168.1.0/24']],
  },
  {
    name: 'nodeName of an unknown node',
    docs: [pod('a', 'node-9')],
    errors: [['spec.nodeName', 'no Node named "node-9"']],
  },
  {
    name: 'pod without nodeName',
    docs: ['apiVersion: v1\nkind: Pod\nmetadata: { name: a }\nspec: { containers: [] }\n'],
    errors: [['spec.nodeName', 'required: Packet Walk does not schedule pods, name the node']],
  },
  {
    name: "pod IP outside its node's podCIDR",
    docs: [pod('a', 'node-1', { ip: '10.244.2.9' })],
    errors: [['status.podIP', "10.244.2.9 is outside node node-1's podCIDR 10.244.1.0/24"]],
  },
  {
    name: "pod IP on the node's cni0 bridge",
    docs: [pod('a', 'node-1', { ip: '10.244.1.1' })],
    errors: [['status.podIP', "10.244.1.1 is node node-1's cni0 bridge address (the pods' gateway)"]],
  },
  {
    name: 'duplicate pod IP',
    docs: [pod('a', 'node-1', { ip: '10.244.1.5' }), pod('b', 'node-1', { ip: '10.244.1.5' })],
    errors: [['status.podIP', "10.244.1.5 is already Pod default/a's address"]],
  },
  {
    name: 'duplicate pod name',
    docs: [pod('a', 'node-1'), pod('a', 'node-2')],
    errors: [['metadata.name', 'duplicate Pod "default/a" (first in document 4)']],
  },
  {
    name: 'missing metadata.name',
    docs: ['apiVersion: v1\nkind: Node\nmetadata: { labels: { a: b } }\n'],
    errors: [['metadata.name', 'required']],
  },
  {
    name: 'invalid object name',
    docs: [service('Web_Server', '{ ports: [{ port: 80 }] }')],
    errors: [
      [
        'metadata.name',
        'must be a lowercase RFC 1035 label: at most 63 characters a-z, 0-9 and "-", starting with a letter',
      ],
    ],
  },
  {
    name: 'label value that is not a string',
    docs: [pod('a', 'node-1', { labels: '{ version: 1 }' })],
    errors: [['metadata.labels.version', 'must be a string (quote values such as 1, true or null)']],
  },
  {
    name: 'named container port that is not an IANA name',
    docs: [pod('a', 'node-1', { ports: '[{ name: web_http, containerPort: 80 }]' })],
    errors: [
      [
        'spec.containers[0].ports[0].name',
        'must be an IANA service name: at most 15 characters a-z, 0-9 and "-", with at least one letter',
      ],
    ],
  },
  {
    name: 'EndpointSlice without its service label',
    docs: [
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: s }\naddressType: IPv4\nendpoints: []\n',
    ],
    errors: [['metadata.labels["kubernetes.io/service-name"]', 'required: the slice names its Service']],
  },
  {
    name: 'kube-proxy in nftables mode',
    docs: ['apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n'],
    errors: [['mode', 'nftables is not modelled yet (use iptables or ipvs)']],
  },
  {
    name: 'unknown cni and a bad mtu in the Cluster document',
    docs: [
      CLUSTER.replace('spec:\n', 'spec:\n  cni: calico\n  mtu: 100\n'),
      node('node-1', '192.168.1.11', '10.244.1.0/24'),
    ],
    errors: [
      ['spec.cni', 'must be one of flannel-vxlan, flannel-host-gw, bridge-host-gw, bridge-router, weave'],
      ['spec.mtu', 'must be 576-9000'],
    ],
  },
  {
    name: 'an unknown topic and a bad podMtu',
    docs: [
      CLUSTER.replace('spec:\n', 'spec:\n  topic: networking\n  podMtu: 20000\n'),
      node('node-1', '192.168.1.11', '10.244.1.0/24'),
    ],
    errors: [
      [
        'spec.topic',
        'must be one of pod-networking, what-breaks, services, dns-policy, control-plane, cluster',
      ],
      ['spec.podMtu', 'must be 576-9000'],
    ],
  },
  {
    name: 'overlapping podCIDRs still may not give two pods one address',
    docs: [
      node('node-3', '192.168.1.13', '10.244.0.0/23'),
      pod('a', 'node-1', { ip: '10.244.1.7' }),
      pod('b', 'node-3', { ip: '10.244.1.7' }),
    ],
    errors: [['status.podIP', "10.244.1.7 is already Pod default/a's address"]],
  },
];

describe('scenario metadata and overlapping podCIDRs', () => {
  it('reads spec.topic and a block-scalar description (trimmed); the topic defaults to cluster', () => {
    const withTopic = modelOf(
      stream(
        CLUSTER.replace(
          'spec:\n',
          'spec:\n  topic: what-breaks\n  description: |\n    Line one.\n    Line two.\n',
        ),
        node('node-1', '192.168.1.11'),
      ),
    );
    expect([withTopic.topic, withTopic.description]).toEqual(['what-breaks', 'Line one.\nLine two.']);
    expect(modelOf(stream(...BASE)).topic).toBe('cluster');
  });

  it('reads spec.podMtu into the model (what the CNI gives the bridge and pods)', () => {
    const m = modelOf(
      stream(CLUSTER.replace('spec:\n', 'spec:\n  podMtu: 1500\n'), node('node-1', '192.168.1.11')),
    );
    expect(m.podMtu).toBe(1500);
    expect('podMtu' in modelOf(stream(...BASE))).toBe(false);
  });

  it('reads gateway.podRoutes (bridge-router only; absent means the router has the routes)', () => {
    const gw = (extra: string, cni = 'bridge-router') =>
      parseScenario(
        stream(
          CLUSTER.replace('spec:\n', `spec:\n  cni: ${cni}\n  gateway: { ip: 192.168.1.1${extra} }\n`),
          node('node-1', '192.168.1.11'),
        ),
      );
    const off = gw(', podRoutes: false');
    expect(off.ok && off.model.gateway).toEqual({
      name: 'gateway',
      ip: '192.168.1.1',
      internetIP: null,
      podRoutes: false,
    });
    const on = gw('');
    expect(on.ok && on.model.gateway?.podRoutes).toBeUndefined();
    const ignored = gw(', podRoutes: false', 'flannel-vxlan');
    expect(ignored.ok && ignored.warnings.map((w) => [w.path, w.message])).toEqual([
      ['spec.gateway.podRoutes', 'only bridge-router gives the gateway routes to the podCIDRs (ignored)'],
    ]);
    const bad = gw(', podRoutes: no');
    expect(!bad.ok && bad.errors.map((e) => [e.path, e.message])).toEqual([
      ['spec.gateway.podRoutes', 'must be true or false'],
    ]);
  });

  it('warns about overlapping podCIDRs, naming both nodes, and builds the model', () => {
    const r = parseScenario(stream(...BASE, node('node-3', '192.168.1.13', '10.244.0.0/23')));
    expect(r.ok && r.warnings.map((w) => [w.name, w.path, w.message])).toEqual([
      [
        'node-3',
        'spec.podCIDR',
        "10.244.0.0/23 overlaps the podCIDR 10.244.1.0/24 of node node-1: a pod whose subnet covers the other node's pod addresses takes them for neighbours on its own bridge and ARPs for them there instead of sending them to its gateway",
      ],
    ]);
    expect(r.ok && r.model.nodes.map((n) => `${n.name} ${formatCidr(n.podCIDR)}`)).toContain(
      'node-3 10.244.0.0/23',
    );
  });
});

describe('invalid input', () => {
  it('has at least 15 cases', () => expect(INVALID.length).toBeGreaterThanOrEqual(15));

  it.each(INVALID)('$name', ({ docs, errors }) => {
    // Cases that bring their own Cluster document replace the base.
    const text = docs[0]?.includes('kind: Cluster') ? stream(...docs) : stream(...BASE, ...docs);
    expect(errorsOf(text).map((e) => [e.path, e.message])).toEqual(errors);
  });

  it('names the document, kind, object and line', () => {
    const text = stream(...BASE, service('db', '{ ports: [{ port: 70000 }] }', 'prod'));
    const errors = errorsOf(text);
    const line = lineContaining(text, '70000');
    expect(line).toBeGreaterThan(20);
    expect(errors).toEqual([
      {
        document: 4,
        kind: 'Service',
        name: 'prod/db',
        path: 'spec.ports[0].port',
        message: 'must be 1-65535',
        line,
      },
    ]);
    expect(formatIssue(errors[0]!)).toBe(
      `document 4 (Service prod/db), line ${line}: spec.ports[0].port: must be 1-65535`,
    );
  });

  it('places a missing field on the line of its parent key', () => {
    const text = stream(
      ...BASE,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  hostNetwork: true\n',
    );
    expect(errorsOf(text).map((e) => [e.path, e.line])).toEqual([
      ['spec.nodeName', lineContaining(text, 'hostNetwork: true') - 1],
    ]);
  });

  it('reports several errors at once, across documents', () => {
    const text = stream(
      CLUSTER.replace('spec:\n', 'spec:\n  mtu: 20000\n'),
      node('node-1', '192.168.1.11', '10.244.1.0/24'),
      pod('a', 'node-7', { ports: '[{ containerPort: 0, protocol: ICMP }]' }),
      service('s', '{ type: Balancer, ports: [{ port: -1 }] }'),
    );
    expect(errorsOf(text).map((e) => [e.document, e.path, e.message])).toEqual([
      [1, 'spec.mtu', 'must be 576-9000'],
      [3, 'spec.containers[0].ports[0].containerPort', 'must be 1-65535'],
      [3, 'spec.containers[0].ports[0].protocol', 'must be one of TCP, UDP, SCTP'],
      [4, 'spec.type', 'must be one of ClusterIP, NodePort, LoadBalancer, ExternalName'],
      [4, 'spec.ports[0].port', 'must be 1-65535'],
      [3, 'spec.nodeName', 'no Node named "node-7"'],
    ]);
  });

  it('reports a YAML syntax error with its line', () => {
    const text = stream(...BASE, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a, b\n  namespace: x\n');
    const errors = errorsOf(text);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({
      document: 4,
      kind: null,
      path: '',
      line: lineContaining(text, 'namespace: x'),
    });
    expect(errors[0]?.message).toMatch(/^YAML: /);
  });

  it('reports duplicate keys as YAML errors', () => {
    const text = stream(...BASE, 'apiVersion: v1\nkind: Namespace\nkind: Pod\n');
    expect(errorsOf(text).map((e) => [e.document, e.line, e.message])).toEqual([
      [4, lineContaining(text, 'kind: Pod'), 'YAML: Map keys must be unique'],
    ]);
  });

  it('rejects empty input and non-objects', () => {
    expect(errorsOf('').map((e) => e.message)).toEqual(['no Kubernetes objects found']);
    expect(errorsOf('# nothing\n').map((e) => e.message)).toEqual(['no Kubernetes objects found']);
    expect(errorsOf(stream(...BASE, '[1, 2]\n')).map((e) => [e.document, e.message])).toEqual([
      [4, 'must be a mapping: a Kubernetes object with apiVersion and kind'],
    ]);
  });

  it('reads untrusted text as data only', () => {
    const text = stream(
      ...BASE,
      'apiVersion: v1\nkind: Pod\nmetadata: { name: a, labels: { __proto__: x } }\n' +
        'spec: { nodeName: !!js/function "function () { return 1 }" }\n',
    );
    // __proto__ is an ordinary (invalid) label key; the unknown tag leaves a plain string.
    expect(errorsOf(text).map((e) => e.path)).toEqual(['metadata.labels.__proto__', 'spec.nodeName']);
    const r = parseScenario(
      stream(
        ...BASE,
        'apiVersion: v1\nkind: Pod\nmetadata: { name: a, labels: { constructor: x, toString: y } }\n' +
          'spec: { nodeName: node-1 }\n',
      ),
    );
    if (!r.ok) throw new Error('expected a model');
    const labels = r.model.pods[0]!.labels;
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(labels).toEqual({ constructor: 'x', toString: 'y' });
    expect(structuredClone(r.model)).toEqual(r.model);
  });
});

describe('walks', () => {
  const cluster = (walks: string) =>
    CLUSTER + '  hosts: [{ name: laptop, ip: 192.168.1.100 }]\n' + `  walks:\n${walks}`;
  const withWalks = (walks: string) =>
    stream(
      cluster(walks),
      BASE[1]!,
      BASE[2]!,
      pod('a', 'node-1'),
      pod('b', 'node-2', { ns: 'prod' }),
      pod('b', 'node-1'),
    );

  it('accepts every reference form', () => {
    const m = modelOf(
      withWalks(
        [
          '    - { name: w1, from: pod/default/a, to: "pod/prod/b:80" }',
          '    - { name: w2, from: a, to: "node/node-2:10250" }',
          '    - { name: w3, from: node/node-1, to: host/laptop, protocol: icmp }',
          '    - { name: w4, from: host/laptop, to: "10.250.0.1:443", protocol: udp, size: 1200 }',
          '    - { name: w5, from: 10.244.1.2, to: 8.8.8.8, protocol: icmp }',
        ].join('\n') + '\n',
      ),
    );
    expect(m.walks.map((w) => [w.name, w.protocol, w.size])).toEqual([
      ['w1', 'tcp', null],
      ['w2', 'tcp', null],
      ['w3', 'icmp', null],
      ['w4', 'udp', 1200],
      ['w5', 'icmp', null],
    ]);
  });

  it.each([
    {
      name: 'bad syntax',
      walk: '{ name: w, from: service/default/a, to: a }',
      path: 'from',
      message:
        '"service/default/a": expected pod/<namespace>/<name>, svc/<namespace>/<name>, node/<name>, host/<name>, an IPv4 address, a pod name (as the source) or a DNS name (as the destination)',
    },
    {
      name: 'a service as the source',
      walk: '{ name: w, from: svc/default/a, to: a }',
      path: 'from',
      message: 'a Service sends nothing: walk from a pod, node or host',
    },
    {
      name: 'missing service',
      walk: '{ name: w, from: a, to: svc/default/zz:80 }',
      path: 'to',
      message: 'no Service "zz" in namespace "default"',
    },
    {
      name: 'missing pod',
      walk: '{ name: w, from: a, to: pod/default/zz }',
      path: 'to',
      message: 'no Pod "zz" in namespace "default"',
    },
    {
      name: 'ambiguous bare name',
      walk: '{ name: w, from: b, to: a }',
      path: 'from',
      message: '"b" names pods in namespaces prod, default: write pod/<namespace>/b',
    },
    {
      name: 'missing node',
      walk: '{ name: w, from: node/node-9, to: a }',
      path: 'from',
      message: 'no Node named "node-9"',
    },
    {
      name: 'missing host',
      walk: '{ name: w, from: a, to: host/nas }',
      path: 'to',
      message: 'no host named "nas" in spec.hosts',
    },
    {
      name: 'port on from',
      walk: '{ name: w, from: "a:80", to: a }',
      path: 'from',
      message: 'takes no port (the source port is chosen by the sender)',
    },
    {
      name: 'port out of range',
      walk: '{ name: w, from: a, to: "pod/prod/b:99999" }',
      path: 'to',
      message: '"pod/prod/b:99999": the port must be 1-65535',
    },
    {
      name: 'ICMP with a port',
      walk: '{ name: w, from: a, to: "pod/prod/b:80", protocol: icmp }',
      path: 'to',
      message: 'an ICMP walk has no port',
    },
    {
      name: 'IPv6 destination',
      walk: '{ name: w, from: a, to: "fd00::1" }',
      path: 'to',
      message: '"fd00::1": IPv6 is not modelled yet',
    },
    {
      name: 'unknown source IP',
      walk: '{ name: w, from: 10.244.1.99, to: a }',
      path: 'from',
      message: 'no pod, node or host has the address 10.244.1.99',
    },
  ])('rejects $name', ({ walk, path, message }) => {
    const errors = errorsOf(withWalks(`    - ${walk}\n`));
    expect(errors.map((e) => [e.path, e.message])).toEqual([[`spec.walks[0].${path}`, message]]);
  });

  it('parseWalkRef splits the port off', () => {
    expect(parseWalkRef('pod/default/db:3306')).toEqual({
      target: { kind: 'pod', namespace: 'default', name: 'db' },
      port: 3306,
    });
    expect(parseWalkRef('10.0.0.1')).toEqual({ target: { kind: 'ip', ip: '10.0.0.1' }, port: null });
    expect(parseWalkRef('node/a/b')).toMatch(/expected/);
  });
});

describe('hosts and the gateway', () => {
  it.each([
    {
      name: 'host in no known network',
      spec: '  gateway: { ip: 192.168.1.1, internetIP: 203.0.113.1 }\n  internet: 203.0.113.0/24\n  hosts: [{ name: h, ip: 10.9.9.9 }]\n',
      errors: [
        [
          'spec.hosts[0].ip',
          '10.9.9.9 is in neither the node network 192.168.1.0/24 nor the internet 203.0.113.0/24',
        ],
      ],
    },
    {
      name: 'host on a node address',
      spec: '  hosts: [{ name: h, ip: 192.168.1.11 }]\n',
      errors: [['status.addresses[0].address', "192.168.1.11 is already host h's address"]],
    },
    {
      name: 'internet without gateway',
      spec: '  internet: 203.0.113.0/24\n',
      errors: [['spec.internet', 'needs spec.gateway: the internet is reached through it']],
    },
    {
      name: 'gateway without internetIP while there is an internet',
      spec: '  gateway: { ip: 192.168.1.1 }\n  internet: 203.0.113.0/24\n',
      errors: [['spec.gateway.internetIP', 'required when spec.internet is set']],
    },
    {
      name: 'node network overlapping the clusterCIDR',
      spec: '  clusterCIDR: 192.168.0.0/16\n',
      errors: [
        ['spec.nodeNetwork', '192.168.1.0/24 overlaps clusterCIDR 192.168.0.0/16'],
        ['spec.podCIDR', '10.244.1.0/24 is outside clusterCIDR 192.168.0.0/16'],
      ],
    },
  ])('$name', ({ spec, errors }) => {
    const text = stream(CLUSTER + spec, BASE[1]!);
    expect(errorsOf(text).map((e) => [e.path, e.message])).toEqual(errors);
  });

  it('warns about unknown Cluster fields', () => {
    const r = parseScenario(stream(CLUSTER + '  mtus: 1400\n', BASE[1]!));
    expect(r.ok && r.warnings.map((w) => [w.path, w.message])).toEqual([
      ['spec.mtus', 'unknown field (ignored)'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('allocation', () => {
  const services = [
    service('alpha', '{ selector: { app: a }, ports: [{ port: 80 }] }'),
    service(
      'beta',
      '{ type: NodePort, ports: [{ name: http, port: 80 }, { name: dns, port: 53, protocol: UDP }] }',
    ),
    service('gamma', '{ clusterIP: None, selector: { app: a } }'),
    service('delta', '{ type: ExternalName, externalName: db.example.com }'),
  ];
  const text = stream(...BASE, pod('p', 'node-1', { labels: '{ app: a }' }), ...services);

  it('is deterministic', () => {
    expect(modelOf(text)).toEqual(modelOf(text));
  });

  it('fills clusterIPs and nodePorts and records them', () => {
    const m = modelOf(text);
    const byName = new Map(m.services.map((s) => [s.name, s]));
    expect(byName.get('alpha')?.allocated).toEqual(['spec.clusterIP']);
    expect(byName.get('beta')?.allocated).toEqual([
      'spec.clusterIP',
      'spec.ports[0].nodePort',
      'spec.ports[1].nodePort',
    ]);
    for (const p of byName.get('beta')?.ports ?? []) {
      expect(p.nodePort).toBeGreaterThanOrEqual(30000);
      expect(p.nodePort).toBeLessThanOrEqual(32767);
    }
    expect(byName.get('gamma')?.clusterIP).toBeNull();
    expect(byName.get('delta')).toMatchObject({
      clusterIP: null,
      externalName: 'db.example.com',
      allocated: [],
    });
  });

  it('does not move existing services when an unrelated one is added or documents are reordered', () => {
    const before = modelOf(text).services;
    const more = modelOf(
      stream(
        ...BASE,
        service('zeta', '{ type: NodePort, ports: [{ port: 8080 }] }', 'other'),
        ...services.slice().reverse(),
        pod('p', 'node-1', { labels: '{ app: a }' }),
      ),
    ).services;
    for (const s of before) {
      const after = more.find((x) => x.name === s.name && x.namespace === s.namespace);
      expect(after?.clusterIP).toBe(s.clusterIP);
      expect(after?.ports.map((p) => p.nodePort)).toEqual(s.ports.map((p) => p.nodePort));
    }
  });

  it('gives pods IPs in host-local order from .2, skipping declared ones', () => {
    const m = modelOf(
      stream(
        ...BASE,
        pod('a', 'node-1'),
        pod('b', 'node-1', { ip: '10.244.1.3' }),
        pod('c', 'node-1'),
        pod('d', 'node-2'),
        pod('h', 'node-2', { hostNetwork: true }),
      ),
    );
    expect(m.pods.map((p) => [p.name, p.podIP, p.allocated.length > 0])).toEqual([
      ['a', '10.244.1.2', true],
      ['b', '10.244.1.3', false],
      ['c', '10.244.1.4', true],
      ['d', '10.244.2.2', true],
      ['h', '192.168.1.12', true],
    ]);
  });

  it('gives nodes InternalIPs from .11 and the next free /24 podCIDRs, never overlapping', () => {
    const m = modelOf(
      stream(
        CLUSTER,
        node('a', null, '10.244.0.0/24'),
        node('b', '192.168.1.11'),
        node('c', null),
        node('d', null, '10.244.1.0/24'),
        node('e', null),
      ),
    );
    expect(
      m.nodes.map((n) => [n.name, n.internalIP, `${n.podCIDR.ip}/${n.podCIDR.prefix}`, n.allocated]),
    ).toEqual([
      ['a', '192.168.1.12', '10.244.0.0/24', ['status.addresses[InternalIP]']],
      ['b', '192.168.1.11', '10.244.2.0/24', ['spec.podCIDR']],
      ['c', '192.168.1.13', '10.244.3.0/24', ['status.addresses[InternalIP]', 'spec.podCIDR']],
      ['d', '192.168.1.14', '10.244.1.0/24', ['status.addresses[InternalIP]']],
      ['e', '192.168.1.15', '10.244.4.0/24', ['status.addresses[InternalIP]', 'spec.podCIDR']],
    ]);
  });

  it('keeps many allocated podCIDRs pairwise disjoint and inside the clusterCIDR', () => {
    const nodes = Array.from({ length: 40 }, (_, i) =>
      node(`n${i}`, null, i % 7 === 3 ? `10.244.${(i * 5) % 64}.0/24` : null),
    );
    const cidrs = modelOf(stream(CLUSTER, ...nodes)).nodes.map((n) => n.podCIDR);
    expect(new Set(cidrs.map((c) => c.ip)).size).toBe(40);
    for (const c of cidrs) expect(c).toMatchObject({ prefix: 24, ip: expect.stringMatching(/^10\.244\./) });
  });

  it('errors when no node network can be derived', () => {
    expect(errorsOf(stream(node('a', null))).map((e) => [e.path, e.message])).toEqual([
      ['status.addresses', 'no InternalIP, and no spec.nodeNetwork to allocate one from'],
    ]);
  });
});

describe('EndpointSlice generation', () => {
  const web = service(
    'web',
    '{ selector: { app: web }, ports: [{ name: http, port: 80, targetPort: http }] }',
  );

  it('resolves named targetPorts per pod and groups pods by resolved port', () => {
    const m = modelOf(
      stream(
        ...BASE,
        pod('w1', 'node-1', { labels: '{ app: web }', ports: '[{ name: http, containerPort: 8080 }]' }),
        pod('w2', 'node-2', { labels: '{ app: web }', ports: '[{ name: http, containerPort: 9090 }]' }),
        pod('w3', 'node-2', {
          labels: '{ app: web }',
          ports: '[{ name: http, containerPort: 8080 }]',
          ready: false,
        }),
        pod('w4', 'node-1', { labels: '{ app: web }', ports: '[{ name: metrics, containerPort: 9100 }]' }),
        pod('w5', 'node-1', {
          labels: '{ app: web }',
          ports: '[{ name: http, containerPort: 8080, protocol: UDP }]',
        }),
        pod('other', 'node-1', { labels: '{ app: db }', ports: '[{ name: http, containerPort: 8080 }]' }),
        web,
      ),
    );
    const slices = m.endpointSlices.filter((s) => s.serviceName === 'web');
    expect(slices.map((s) => [s.ports, s.endpoints.map((e) => [e.targetPod, e.ready, e.serving])])).toEqual([
      [
        [{ name: 'http', port: 8080, protocol: 'TCP' }],
        [
          ['default/w1', true, true],
          ['default/w3', false, false],
        ],
      ],
      [[{ name: 'http', port: 9090, protocol: 'TCP' }], [['default/w2', true, true]]],
    ]);
    for (const s of slices) {
      expect(s.generated).toBe(true);
      expect(s.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    }
    expect(new Set(slices.map((s) => s.name)).size).toBe(2);
  });

  it('writes an empty placeholder slice when no pod matches', () => {
    const m = modelOf(stream(...BASE, web));
    expect(m.endpointSlices).toMatchObject([
      { serviceName: 'web', ports: [], endpoints: [], generated: true },
    ]);
  });

  it('uses a declared slice instead of generating one', () => {
    const slice =
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n' +
      'metadata: { name: web-abc, labels: { kubernetes.io/service-name: web } }\naddressType: IPv4\n' +
      'ports: [{ name: http, port: 8080 }]\n' +
      'endpoints: [{ addresses: [10.244.1.9], conditions: { ready: false }, nodeName: node-1, targetRef: { kind: Pod, name: x } }]\n';
    const m = modelOf(stream(...BASE, web, slice));
    expect(m.endpointSlices).toEqual([
      {
        namespace: 'default',
        name: 'web-abc',
        serviceName: 'web',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [
          {
            addresses: ['10.244.1.9'],
            ready: false,
            serving: false,
            terminating: false,
            nodeName: 'node-1',
            targetPod: 'default/x',
          },
        ],
        generated: false,
      },
    ]);
  });
});

describe('other documents', () => {
  it('keeps NetworkPolicies, the CoreDNS Corefile and the kube-proxy configuration', () => {
    const m = modelOf(
      stream(
        ...BASE,
        'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny, namespace: prod }\nspec: { podSelector: {} }\n',
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: coredns, namespace: kube-system }\ndata: { Corefile: ".:53 {\\n  forward . 8.8.8.8\\n}\\n" }\n',
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: other, namespace: default }\ndata: {}\n',
        'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ""\nclusterCIDR: 10.244.0.0/16\niptables: { masqueradeAll: true }\n',
        'apiVersion: v1\nkind: Namespace\nmetadata: { name: staging }\n',
      ),
    );
    expect(m.networkPolicies).toEqual([
      {
        namespace: 'prod',
        name: 'deny',
        podSelector: { matchLabels: {}, matchExpressions: [] },
        policyTypes: ['Ingress'],
        ingress: [],
        egress: [],
        allocated: ['spec.policyTypes'],
      },
    ]);
    expect(m.extra.corefile).toBe('.:53 {\n  forward . 8.8.8.8\n}\n');
    expect(m.extra.kubeProxy).toEqual({ mode: 'iptables', masqueradeAll: true });
    expect(m.namespaces).toEqual(['default', 'staging', 'prod', 'kube-system']);
  });

  it('takes the clusterCIDR from kube-proxy when the Cluster document has none, and rejects a conflict', () => {
    const kp = (cidr: string) =>
      `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclusterCIDR: ${cidr}\n`;
    expect(modelOf(stream(CLUSTER, node('a', '192.168.1.11'), kp('10.32.0.0/12'))).nodes[0]?.podCIDR).toEqual(
      {
        ip: '10.32.0.0',
        prefix: 24,
      },
    );
    const errors = errorsOf(
      stream(
        CLUSTER.replace('spec:\n', 'spec:\n  clusterCIDR: 10.244.0.0/16\n'),
        BASE[1]!,
        kp('10.32.0.0/12'),
      ),
    );
    expect(errors.map((e) => [e.kind, e.path, e.message])).toEqual([
      [
        'KubeProxyConfiguration',
        'clusterCIDR',
        "10.32.0.0/12 differs from the Cluster's clusterCIDR 10.244.0.0/16",
      ],
    ]);
  });

  it('warns about kinds it does not read', () => {
    const r = parseScenario(
      stream(
        ...BASE,
        'apiVersion: v1\nkind: Endpoints\nmetadata: { name: x }\n',
        'apiVersion: apps/v1\nkind: Pod\nmetadata: { name: x }\n',
      ),
    );
    expect(r.ok && r.warnings.map((w) => [w.document, w.message])).toEqual([
      [4, 'ignored: Packet Walk reads EndpointSlices, not v1 Endpoints'],
      [5, 'ignored: Pod is read from apiVersion v1, not apps/v1'],
    ]);
  });

  it('rejects a second Cluster document', () => {
    expect(errorsOf(stream(...BASE, CLUSTER)).map((e) => [e.document, e.message])).toEqual([
      [4, 'only one Cluster document is allowed (the first is in document 1)'],
    ]);
  });
});

describe('formatIssue', () => {
  it.each([
    {
      name: 'full',
      issue: {
        document: 3,
        kind: 'Service',
        name: 'prod/db-service',
        path: 'spec.ports[0].port',
        message: 'must be 1-65535',
        line: null,
      },
      text: 'document 3 (Service prod/db-service): spec.ports[0].port: must be 1-65535',
    },
    {
      name: 'with a line',
      issue: {
        document: 2,
        kind: null,
        name: null,
        path: '',
        message: 'YAML: Map keys must be unique',
        line: 7,
      },
      text: 'document 2, line 7: YAML: Map keys must be unique',
    },
    {
      name: 'global',
      issue: {
        document: null,
        kind: null,
        name: null,
        path: '',
        message: 'no Kubernetes objects found',
        line: null,
      },
      text: 'no Kubernetes objects found',
    },
  ])('$name', ({ issue, text }) => expect(formatIssue(issue)).toBe(text));
});

describe('docs/scenario.md', () => {
  it('has a complete example that parses as described', () => {
    const doc = readFileSync(new URL('../../docs/scenario.md', import.meta.url), 'utf8');
    const example =
      doc.slice(doc.indexOf('## A complete example')).split('```yaml\n')[1]?.split('```')[0] ?? '';
    const r = parseScenario(example);
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.warnings).toEqual([]);
    expect(r.model.nodes.map((n) => [n.name, n.internalIP, n.podCIDR.ip])).toEqual([
      ['node-a', '10.0.0.11', '10.244.0.0'],
      ['node-b', '10.0.0.12', '10.244.1.0'],
    ]);
    expect(r.model.pods.map((p) => [p.name, p.podIP])).toEqual([
      ['client', '10.244.0.2'],
      ['web', '10.244.1.2'],
    ]);
    expect(r.model.endpointSlices[0]?.ports).toEqual([{ name: null, port: 80, protocol: 'TCP' }]);
  });
});

describe('robustness', () => {
  const preset = PRESETS.find((p) => p.id === DEFAULT_PRESET_ID)!.text;
  const lines = preset.split('\n');

  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseScenario(s)));
  });

  it('never throws on arbitrary JSON values shaped like objects', () => {
    const object = fc.record({
      apiVersion: fc.constantFrom('v1', 'discovery.k8s.io/v1', 'packetwalk.dev/v1alpha1', 'x'),
      kind: fc.constantFrom('Node', 'Pod', 'Service', 'EndpointSlice', 'Cluster', 'List'),
      metadata: fc.jsonValue(),
      spec: fc.jsonValue(),
      status: fc.jsonValue(),
      items: fc.jsonValue(),
    });
    fc.assert(
      fc.property(
        fc.array(object),
        (docs) => void parseScenario(docs.map((d) => JSON.stringify(d)).join('\n---\n')),
      ),
    );
  });

  it('never throws on the default preset with lines removed', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(lines.length - 1), { maxLength: 8 }), (drop) => {
        const r = parseScenario(lines.filter((_, i) => !drop.includes(i)).join('\n'));
        if (!r.ok) for (const e of r.errors) expect(formatIssue(e)).not.toBe('');
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// NetworkPolicy (networking.k8s.io/v1), validated as the API server's ValidateNetworkPolicySpec does

function netpol(name: string, spec: string, ns = 'prod'): string {
  return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${spec}`;
}

describe('NetworkPolicy', () => {
  it('reads every field into the typed model, with the API server’s defaults', () => {
    const text = stream(
      ...BASE,
      netpol(
        'full',
        `  podSelector:
    matchLabels: { app: db }
    matchExpressions:
      - { key: tier, operator: In, values: [data, cache] }
      - { key: canary, operator: DoesNotExist }
  policyTypes: [Ingress, Egress]
  ingress:
    - from:
        - podSelector: { matchLabels: { app: web } }
          namespaceSelector: { matchLabels: { team: shop } }
        - namespaceSelector: {}
        - ipBlock: { cidr: 192.168.1.0/24, except: [192.168.1.100/32] }
      ports:
        - { port: 3306 }
        - { protocol: UDP, port: mysql }
        - { protocol: TCP, port: 8000, endPort: 8080 }
        - { protocol: SCTP }
  egress:
    - {}
`,
      ),
    );
    expect(modelOf(text).networkPolicies).toEqual([
      {
        namespace: 'prod',
        name: 'full',
        podSelector: {
          matchLabels: { app: 'db' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['data', 'cache'] },
            { key: 'canary', operator: 'DoesNotExist', values: [] },
          ],
        },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            peers: [
              {
                kind: 'pods',
                podSelector: { matchLabels: { app: 'web' }, matchExpressions: [] },
                namespaceSelector: { matchLabels: { team: 'shop' }, matchExpressions: [] },
              },
              {
                kind: 'pods',
                podSelector: null,
                namespaceSelector: { matchLabels: {}, matchExpressions: [] },
              },
              {
                kind: 'ipBlock',
                cidr: { ip: '192.168.1.0', prefix: 24 },
                except: [{ ip: '192.168.1.100', prefix: 32 }],
              },
            ],
            ports: [
              { protocol: 'TCP', port: 3306, endPort: null },
              { protocol: 'UDP', port: 'mysql', endPort: null },
              { protocol: 'TCP', port: 8000, endPort: 8080 },
              { protocol: 'SCTP', port: null, endPort: null },
            ],
          },
        ],
        egress: [{ peers: [], ports: [] }],
        allocated: [],
      },
    ]);
  });

  it.each([
    { name: 'no spec: deny all ingress', spec: '  {}\n', types: ['Ingress'], allocated: true },
    { name: 'ingress rules only', spec: '  ingress: [{}]\n', types: ['Ingress'], allocated: true },
    {
      name: 'egress rules add Egress',
      spec: '  egress: [{ ports: [{ port: 53 }] }]\n',
      types: ['Ingress', 'Egress'],
      allocated: true,
    },
    { name: 'an empty egress list does not', spec: '  egress: []\n', types: ['Ingress'], allocated: true },
    {
      name: 'an empty policyTypes list is defaulted',
      spec: '  policyTypes: []\n',
      types: ['Ingress'],
      allocated: true,
    },
    { name: 'stated: Egress only', spec: '  policyTypes: [Egress]\n', types: ['Egress'], allocated: false },
    {
      name: 'stated, in the API’s order, duplicates once',
      spec: '  policyTypes: [Egress, Egress]\n',
      types: ['Egress'],
      allocated: false,
    },
  ])('policyTypes: $name', ({ spec, types, allocated }) => {
    const [p] = modelOf(stream(...BASE, netpol('p', spec))).networkPolicies;
    expect(p?.policyTypes).toEqual(types);
    expect(p?.allocated).toEqual(allocated ? ['spec.policyTypes'] : []);
  });

  it.each([
    {
      name: 'selector operator',
      spec: '  podSelector: { matchExpressions: [{ key: app, operator: Equals, values: [a] }] }\n',
      errors: [
        ['spec.podSelector.matchExpressions[0].operator', 'must be one of In, NotIn, Exists, DoesNotExist'],
      ],
    },
    {
      name: 'In without values',
      spec: '  podSelector: { matchExpressions: [{ key: app, operator: In }] }\n',
      errors: [
        ['spec.podSelector.matchExpressions[0].values', 'required: at least one value when operator is In'],
      ],
    },
    {
      name: 'Exists with values',
      spec: '  podSelector: { matchExpressions: [{ key: app, operator: Exists, values: [a] }] }\n',
      errors: [['spec.podSelector.matchExpressions[0].values', 'must be empty when operator is Exists']],
    },
    {
      name: 'label key syntax',
      spec: '  ingress: [{ from: [{ podSelector: { matchLabels: { "-app": web } } }] }]\n',
      errors: [
        [
          'spec.ingress[0].from[0].podSelector.matchLabels["-app"]',
          'is not a valid label key: an optional DNS subdomain and "/", then at most 63 characters A-Z, a-z, 0-9, "-", "_" and "." starting and ending with a letter or digit',
        ],
      ],
    },
    {
      name: 'label value syntax',
      spec: '  podSelector: { matchExpressions: [{ key: app, operator: NotIn, values: ["web!"] }] }\n',
      errors: [
        [
          'spec.podSelector.matchExpressions[0].values[0]',
          'must be at most 63 characters A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit',
        ],
      ],
    },
    {
      name: 'empty peer',
      spec: '  ingress: [{ from: [{}] }]\n',
      errors: [['spec.ingress[0].from[0]', 'must specify a peer: podSelector, namespaceSelector or ipBlock']],
    },
    {
      name: 'ipBlock with a selector',
      spec: '  egress: [{ to: [{ ipBlock: { cidr: 10.0.0.0/8 }, namespaceSelector: {} }] }]\n',
      errors: [['spec.egress[0].to[0]', 'may not specify both ipBlock and another peer']],
    },
    {
      name: 'ipBlock without cidr',
      spec: '  ingress: [{ from: [{ ipBlock: { except: [10.0.0.0/8] } }] }]\n',
      errors: [['spec.ingress[0].from[0].ipBlock.cidr', 'required']],
    },
    {
      name: 'ipBlock cidr',
      spec: '  ingress: [{ from: [{ ipBlock: { cidr: 10.0.0.0/33 } }] }]\n',
      errors: [['spec.ingress[0].from[0].ipBlock.cidr', '"10.0.0.0/33" has an invalid prefix length']],
    },
    {
      name: 'ipBlock IPv6',
      spec: '  ingress: [{ from: [{ ipBlock: { cidr: "2001:db8::/64" } }] }]\n',
      errors: [['spec.ingress[0].from[0].ipBlock.cidr', '"2001:db8::/64": IPv6 is not modelled yet']],
    },
    {
      name: 'except outside cidr, and equal to it',
      spec: '  ingress:\n    - from:\n        - ipBlock: { cidr: 10.1.0.0/16, except: [10.2.0.0/24, 10.1.0.0/16, 10.1.2.0/24] }\n',
      errors: [
        ['spec.ingress[0].from[0].ipBlock.except[0]', 'must be a strict subset of cidr 10.1.0.0/16'],
        ['spec.ingress[0].from[0].ipBlock.except[1]', 'must be a strict subset of cidr 10.1.0.0/16'],
      ],
    },
    {
      name: 'port out of range',
      spec: '  ingress: [{ ports: [{ port: 0 }] }]\n',
      errors: [['spec.ingress[0].ports[0].port', 'must be 1-65535']],
    },
    {
      name: 'port number written as a string',
      spec: '  ingress: [{ ports: [{ port: "80" }] }]\n',
      errors: [
        ['spec.ingress[0].ports[0].port', '"80" is a string: write 80 without quotes for a port number'],
      ],
    },
    {
      name: 'port name syntax',
      spec: '  ingress: [{ ports: [{ port: my_port }] }]\n',
      errors: [
        [
          'spec.ingress[0].ports[0].port',
          'must be an IANA service name: at most 15 characters a-z, 0-9 and "-", with at least one letter',
        ],
      ],
    },
    {
      name: 'protocol',
      spec: '  egress: [{ ports: [{ protocol: ICMP }] }]\n',
      errors: [['spec.egress[0].ports[0].protocol', 'must be one of TCP, UDP, SCTP']],
    },
    {
      name: 'endPort without port',
      spec: '  ingress: [{ ports: [{ endPort: 90 }] }]\n',
      errors: [['spec.ingress[0].ports[0].endPort', 'may not be specified when port is not specified']],
    },
    {
      name: 'endPort with a named port',
      spec: '  ingress: [{ ports: [{ port: http, endPort: 90 }] }]\n',
      errors: [['spec.ingress[0].ports[0].endPort', 'may not be specified when port is a name']],
    },
    {
      name: 'endPort below port',
      spec: '  ingress: [{ ports: [{ port: 90, endPort: 80 }] }]\n',
      errors: [['spec.ingress[0].ports[0].endPort', 'must be greater than or equal to port (90)']],
    },
    {
      name: 'policyTypes value',
      spec: '  policyTypes: [Ingres]\n',
      errors: [['spec.policyTypes[0]', 'must be Ingress or Egress']],
    },
    {
      name: 'three policyTypes',
      spec: '  policyTypes: [Ingress, Egress, Ingress]\n',
      errors: [['spec.policyTypes', 'may not specify more than two policyTypes']],
    },
    {
      name: 'rules not a list',
      spec: '  ingress: { from: [] }\n',
      errors: [['spec.ingress', 'must be a list']],
    },
  ])('rejects $name', ({ spec, errors }) => {
    expect(errorsOf(stream(...BASE, netpol('bad', spec))).map((e) => [e.path, e.message])).toEqual(errors);
  });

  it('names the document, the policy and the line, and still checks the other documents (own fields first)', () => {
    const bad = netpol(
      'bad',
      '  ingress:\n    - from:\n        - ipBlock: { cidr: 10.0.0.0/8, except: [11.0.0.0/8] }\n',
    );
    const text = stream(...BASE, pod('p', 'node-9'), bad);
    expect(errorsOf(text).map(formatIssue)).toEqual([
      `document 5 (NetworkPolicy prod/bad), line ${lineContaining(text, '11.0.0.0/8')}: spec.ingress[0].from[0].ipBlock.except[0]: must be a strict subset of cidr 10.0.0.0/8`,
      `document 4 (Pod default/p), line ${lineContaining(text, 'nodeName: node-9')}: spec.nodeName: no Node named "node-9"`,
    ]);
  });

  it('warns about unknown fields (a misspelt selector would select everything), ignored rules and host bits', () => {
    const r = parseScenario(
      stream(
        ...BASE,
        netpol(
          'p',
          '  podSelector: { matchLabel: { app: db } }\n  policyTypes: [Egress]\n  ingress: [{}]\n  egress: [{ to: [{ ipBlock: { cidr: 10.1.2.3/16 } }] }]\n',
        ),
      ),
    );
    expect(r.ok && r.warnings.map((w) => [w.path, w.message])).toEqual([
      ['spec.podSelector.matchLabel', 'unknown field (ignored)'],
      ['spec.egress[0].to[0].ipBlock.cidr', '"10.1.2.3/16" has host bits set: read as 10.1.0.0/16'],
      ['spec.ingress', 'ignored: policyTypes does not include Ingress'],
    ]);
    expect(r.ok && r.model.networkPolicies[0]?.egress[0]?.peers[0]).toEqual({
      kind: 'ipBlock',
      cidr: { ip: '10.1.0.0', prefix: 16 },
      except: [],
    });
  });

  it('rejects two policies of the same name in one namespace, not in two', () => {
    const errors = errorsOf(
      stream(...BASE, netpol('p', '  {}\n'), netpol('p', '  {}\n'), netpol('p', '  {}\n', 'dev')),
    );
    expect(errors.map((e) => [e.document, e.path, e.message])).toEqual([
      [5, 'metadata.name', 'duplicate NetworkPolicy "prod/p" (first in document 4)'],
    ]);
  });
});

describe('Namespace labels', () => {
  it('keeps each Namespace’s labels and sets kubernetes.io/metadata.name as the API server does', () => {
    const m = modelOf(
      stream(
        ...BASE,
        'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop, labels: { team: web, kubernetes.io/metadata.name: other } }\n',
        pod('p', 'node-1', { ns: 'dev' }),
        netpol('p', '  {}\n', 'sec'),
      ),
    );
    expect(m.namespaces).toEqual(['default', 'shop', 'dev', 'sec']);
    expect(m.namespaceLabels).toEqual({
      default: { 'kubernetes.io/metadata.name': 'default' },
      shop: { team: 'web', 'kubernetes.io/metadata.name': 'shop' },
      dev: { 'kubernetes.io/metadata.name': 'dev' },
      sec: { 'kubernetes.io/metadata.name': 'sec' },
    });
  });

  it('rejects a bad namespace label', () => {
    const errors = errorsOf(
      stream(...BASE, 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop, labels: { team: "a b" } }\n'),
    );
    expect(errors.map((e) => [e.kind, e.path])).toEqual([['Namespace', 'metadata.labels.team']]);
  });
});

describe('the three-tier preset', () => {
  const preset = PRESETS.find((p) => p.id === 'three-tier')!;

  it('parses with no errors and no warnings', () => {
    const r = parseScenario(preset.text);
    expect(r.ok ? r.warnings : r.errors.map(formatIssue)).toEqual([]);
    expect(preset.title).toBe('three-tier');
  });

  it('has the tiers, the policies and CoreDNS as kubeadm deploys it', () => {
    const m = modelOf(preset.text);
    expect(m.cni).toBe('flannel-vxlan');
    expect(m.nodes).toHaveLength(3);
    expect(m.networkPolicies.map((p) => [p.name, p.policyTypes])).toEqual([
      ['default-deny', ['Ingress', 'Egress']],
      ['frontend-allow-web', ['Ingress']],
      ['backend-allow-frontend', ['Ingress']],
      ['db-allow-backend', ['Ingress']],
      ['frontend-egress', ['Egress']],
      ['backend-egress', ['Egress']],
    ]);
    expect(m.namespaceLabels['kube-system']).toEqual({ 'kubernetes.io/metadata.name': 'kube-system' });
    const dns = m.services.find((s) => s.namespace === 'kube-system' && s.name === 'kube-dns')!;
    expect(dns.clusterIP).toBe('10.96.0.10');
    expect(dns.ports.map((p) => [p.name, p.port, p.protocol])).toEqual([
      ['dns', 53, 'UDP'],
      ['dns-tcp', 53, 'TCP'],
      ['metrics', 9153, 'TCP'],
    ]);
    const coredns = m.pods.filter((p) => p.labels['k8s-app'] === 'kube-dns');
    expect(coredns).toHaveLength(2);
    for (const p of coredns)
      expect(p.ports).toEqual([
        { name: 'dns', containerPort: 53, protocol: 'UDP' },
        { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
        { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
      ]);
    expect(m.walks.map((w) => w.name)).toEqual([
      'frontend-to-backend',
      'backend-to-db',
      'frontend-to-db',
      'frontend-to-frontend',
      'backend-to-db-by-name',
      'frontend-to-backend-by-name',
    ]);
  });
});

describe('docs/scenario.md NetworkPolicy example', () => {
  it('parses, with no warnings, into what its comments say', () => {
    const doc = readFileSync(new URL('../../docs/scenario.md', import.meta.url), 'utf8');
    const example = doc.slice(doc.indexOf('## NetworkPolicy')).split('```yaml\n')[1]?.split('```')[0] ?? '';
    const r = parseScenario(stream(...BASE, example));
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    expect(r.warnings).toEqual([]);
    const p = r.model.networkPolicies[0]!;
    expect([p.namespace, p.name, p.policyTypes]).toEqual(['shop', 'db-allow-backend', ['Ingress']]);
    expect(p.allocated).toEqual([]);
    expect(p.ingress[0]?.peers.map((peer) => peer.kind)).toEqual(['pods', 'pods', 'pods', 'ipBlock']);
    expect(p.ingress[0]?.ports).toEqual([
      { protocol: 'TCP', port: 5432, endPort: null },
      { protocol: 'TCP', port: 'metrics', endPort: null },
      { protocol: 'TCP', port: 30000, endPort: 30100 },
    ]);
  });
});

describe('DNS fields', () => {
  const nodeDoc = node('n1', '192.168.1.11');
  it('a Corefile directive the model does not know is a warning naming its line; the scenario still parses', () => {
    const cm =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: coredns, namespace: kube-system }\ndata:\n' +
      '  Corefile: |\n    .:53 {\n        errors\n        frobnicate on\n        forward . /etc/resolv.conf\n    }\n';
    const r = parseScenario(`${cm}---\n${nodeDoc}`);
    expect(r.ok).toBe(true);
    expect(r.ok && r.warnings.map((w) => [w.path, w.message])).toContainEqual([
      'data.Corefile',
      'Corefile line 3, column 5: unknown directive "frobnicate"',
    ]);
  });

  it('dnsPolicy and dnsConfig are read and checked', () => {
    const ok = modelOf(
      `${nodeDoc}---\napiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  nodeName: n1\n  dnsPolicy: None\n` +
        '  dnsConfig:\n    nameservers: [1.2.3.4]\n    searches: [my.dns.search.suffix]\n    options: [{ name: ndots, value: "2" }, { name: edns0 }]\n',
    );
    expect(ok.pods[0]).toMatchObject({
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.2.3.4'],
        searches: ['my.dns.search.suffix'],
        options: [
          { name: 'ndots', value: '2' },
          { name: 'edns0', value: null },
        ],
      },
    });
    const bad = errorsOf(
      `${nodeDoc}---\napiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  nodeName: n1\n  dnsPolicy: Sometimes\n`,
    );
    expect(bad.map((e) => e.path)).toEqual(['spec.dnsPolicy']);
    const none = errorsOf(
      `${nodeDoc}---\napiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  nodeName: n1\n  dnsPolicy: None\n`,
    );
    expect(none.map((e) => [e.path, e.message])).toEqual([
      ['spec.dnsConfig.nameservers', 'dnsPolicy None needs at least one nameserver in dnsConfig'],
    ]);
  });

  it('a walk to a name longer than DNS allows is an error naming the walk field', () => {
    const cluster =
      'apiVersion: packetwalk.dev/v1alpha1\nkind: Cluster\nmetadata: { name: c }\nspec:\n  nodeNetwork: 192.168.1.0/24\n' +
      `  walks:\n    - { name: w, from: node/n1, to: "${'a'.repeat(64)}.example:80" }\n`;
    const errors = errorsOf(`${cluster}---\n${nodeDoc}`);
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ['spec.walks[0].to', expect.stringContaining('labels of 1-63')],
    ]);
  });
});

describe('JSON documents in a stream (the import writes large scenarios so)', () => {
  const yamlText = `apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata: { name: j }
spec: { nodeNetwork: 192.168.1.0/24 }
---
apiVersion: v1
kind: Node
metadata: { name: n1 }
status: { addresses: [{ type: InternalIP, address: 192.168.1.11 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: p, namespace: default }
spec: { nodeName: n1 }
`;
  const jsonText = `# a comment before the first document
apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata: { name: j }
spec: { nodeNetwork: 192.168.1.0/24 }
---
{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP","address":"192.168.1.11"}]}}
---
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"},"spec":{"nodeName":"n1"}}
`;

  it('read one object per line as JSON give the model the YAML gives', () => {
    const a = parseScenario(yamlText);
    const b = parseScenario(jsonText);
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) expect(b.model).toEqual(a.model);
  });

  it('name the document and the line of a problem in a JSON document', () => {
    const bad = jsonText.replace('"nodeName":"n1"', '"nodeName":"n2"');
    const p = parseScenario(bad);
    expect(p.ok).toBe(false);
    if (!p.ok)
      expect(p.errors.map(formatIssue)).toEqual([
        'document 3 (Pod default/p), line 9: spec.nodeName: no Node named "n2"',
      ]);
    const broken = parseScenario(jsonText.replace('"kind":"Pod",', '"kind":"Pod",,'));
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.errors[0]!.line).toBe(9);
  });

  it('number documents as the YAML parser does around empty ones', () => {
    const p = parseScenario(
      `${yamlText}---\n---\n{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":0}]}}\n`,
    );
    expect(p.ok).toBe(false);
    if (!p.ok)
      expect(p.errors.map(formatIssue)).toEqual([
        'document 5 (Service default/s), line 17: spec.ports[0].port: must be 1-65535',
      ]);
  });
});
