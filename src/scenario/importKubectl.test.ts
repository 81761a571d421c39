import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildWorld, walk } from '../engine/index.ts';
import {
  formatImportIssue,
  readKubectlDump,
  withNodeState,
  writeImportedScenario,
  type ImportAnswers,
  type KubectlDump,
} from './importKubectl.ts';
import { parseScenario } from './parse.ts';

const FIXTURE = readFileSync(
  new URL('../../test/fixtures/kubectl/kubeadm-flannel.yaml', import.meta.url),
  'utf8',
);

function read(text: string): KubectlDump {
  const d = readKubectlDump(text);
  if (!d.ok) throw new Error(d.errors.map(formatImportIssue).join('\n'));
  return d;
}

function write(d: KubectlDump, answers: ImportAnswers = {}): string {
  const w = writeImportedScenario(d, answers);
  if (!w.ok) throw new Error(w.errors.map(formatImportIssue).join('\n'));
  return w.text;
}

const answer = (d: KubectlDump, id: string) => d.questions.find((q) => q.id === id)!;
const why = (d: KubectlDump, id: string) => answer(d, id).evidence.map((e) => e.text);

describe('readKubectlDump: kinds', () => {
  it('counts what a kubeadm + flannel dump holds, and says what it dropped and why', () => {
    const d = read(FIXTURE);
    expect(d.counts).toEqual({
      nodes: 2,
      pods: 7,
      services: 3,
      endpointSlices: 3,
      networkPolicies: 1,
      namespaces: 0,
      other: 0,
    });
    const dropped = Object.fromEntries(d.dropped.map((g) => [g.reason, g.objects]));
    expect(dropped).toEqual({
      'finished Pods (Succeeded or Failed: they hold no address)': ['Pod shop/migrate-x8k2l'],
      'Pods not scheduled to a node yet (no spec.nodeName)': ['Pod shop/pending-1'],
      'Secrets (never imported)': ['Secret shop/web-secrets'],
      'ConfigMaps (not read; they may hold configuration you do not mean to share)': [
        'ConfigMap kube-system/kube-proxy',
        'ConfigMap shop/web-config',
      ],
      'workload controllers (their Pods are imported)': ['Deployment shop/web'],
    });
  });

  it('reads JSON (kubectl -o json), several YAML documents, and typed lists (PodList) alike', () => {
    const list = read(FIXTURE);
    const asJson = read(JSON.stringify(parseAsJs(FIXTURE)));
    expect(asJson.counts).toEqual(list.counts);
    expect(asJson.kept.map((k) => k.object)).toEqual(list.kept.map((k) => k.object));
    const items = (parseAsJs(FIXTURE) as { items: unknown[] }).items;
    const docs = read(items.map((i) => JSON.stringify(i)).join('\n---\n'));
    expect(docs.counts).toEqual(list.counts);
    expect(docs.kept[3]).toMatchObject({ document: 4, prefix: [] });
    const podList = read(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'PodList',
        items: [
          { metadata: { name: 'a', namespace: 'x' }, spec: { nodeName: 'n' }, status: { podIP: '10.0.0.2' } },
        ],
      }),
    );
    expect(podList.kept.map((k) => `${k.kind} ${k.name}`)).toEqual(['Pod x/a']);
  });

  it('keeps the CoreDNS ConfigMap (its Corefile only), Namespaces, KubeProxyConfiguration and NodeState', () => {
    const d = read(`apiVersion: v1
kind: ConfigMap
metadata: { name: coredns, namespace: kube-system, annotations: { note: ANNOTATION-XYZ } }
data: { Corefile: ".:53 {\\n    errors\\n}\\n", other: OTHER-KEY-VALUE }
---
apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { team: a }, annotations: { owner: ANNOTATION-ABC } }
status: { phase: Active }
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clientConnection: { kubeconfig: /var/lib/kube-proxy/kubeconfig.conf }
---
apiVersion: packetwalk.dev/v1alpha1
kind: NodeState
metadata: { name: n1 }
spec: { ipRoute: "default via 192.168.1.1 dev eth0\\n" }
`);
    expect(d.counts).toMatchObject({ namespaces: 1, other: 3 });
    const text = JSON.stringify(d.kept.map((k) => k.object));
    expect(text).toContain('Corefile');
    expect(text).toContain('"mode":"ipvs"');
    expect(text).toContain('default via 192.168.1.1');
    for (const secret of ['ANNOTATION-XYZ', 'OTHER-KEY-VALUE', 'ANNOTATION-ABC', 'kubeconfig'])
      expect(text).not.toContain(secret);
  });

  it("turns kube-proxy's ConfigMap in ipvs mode into a KubeProxyConfiguration (mode only)", () => {
    const d = read(FIXTURE.replace('mode: ""', 'mode: ipvs'));
    const kp = d.kept.find((k) => k.kind === 'KubeProxyConfiguration')!;
    expect(kp.object).toEqual({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'ipvs',
    });
    const parsed = parseScenario(write(d));
    expect(parsed.ok && parsed.model.extra.kubeProxy?.mode).toBe('ipvs');
  });

  it('drops IPv6 Services with their slices, Endpoints, Events and unknown kinds, each with a reason', () => {
    const d = read(`apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Service, metadata: { name: v6, namespace: a }, spec: { clusterIP: "fd00::10", ports: [{ port: 80 }] } }
  - apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: { name: v6-abc, namespace: a, labels: { kubernetes.io/service-name: v6 } }
    addressType: IPv4
  - { apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: { name: x, namespace: a }, addressType: IPv6 }
  - { apiVersion: v1, kind: Endpoints, metadata: { name: web, namespace: a } }
  - { apiVersion: v1, kind: Event, metadata: { name: e1, namespace: a } }
  - { apiVersion: example.com/v1, kind: Widget, metadata: { name: w } }
  - { apiVersion: v1, kind: Node, metadata: { name: n1 } }
`);
    expect(d.dropped.map((g) => [g.reason, g.objects.length])).toEqual([
      ['IPv6 Services: Packet Walk models IPv4 only', 1],
      ['EndpointSlices of dropped Services', 1],
      ['IPv6 EndpointSlices: Packet Walk models IPv4 only', 1],
      ['v1 Endpoints (the EndpointSlices say the same)', 1],
      ['Events', 1],
      ['Widget (example.com/v1): not a kind Packet Walk reads', 1],
    ]);
  });
});

describe('trimming: nothing sensitive reaches the scenario text', () => {
  const SENSITIVE = [
    'hunter2-ENV-SECRET', // a container's env value
    'web-secrets', // a secretKeyRef's name
    'c2VjcmV0LUFQSS1LRVktOTk5', // Secret data
    'aHVudGVyMi1TRUNSRVQtREFUQQ==',
    'tok-LAST-APPLIED-4242', // inside last-applied-configuration
    'policy-LAST-APPLIED',
    'CONFIGMAP-SECRET-777', // another ConfigMap's data
    'last-applied-configuration',
    'managedFields',
    'registry.example.com', // images
    'serviceAccountToken',
    'kube-api-access', // volumes
    '/etc/kubernetes/pki', // commands and volumes
    '--service-account-key-file',
    'flannel.alpha.coreos.com', // annotations (read as evidence, never copied)
    'sleep',
    'uid',
    'resourceVersion',
  ];

  it.each(['yaml', 'json'])('from %s input', (format) => {
    const input = format === 'yaml' ? FIXTURE : JSON.stringify(parseAsJs(FIXTURE));
    for (const s of SENSITIVE) expect(input).toContain(s); // the fixture does hold them
    const text = write(read(input));
    for (const s of SENSITIVE) expect(text, s).not.toContain(s);
  });

  it('keeps the fields the parser reads, at their paths', () => {
    const d = read(FIXTURE);
    const web = d.kept.find((k) => k.name === 'shop/web-5d8f7b9c6-abcde')!.object;
    expect(web).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-5d8f7b9c6-abcde',
        namespace: 'shop',
        labels: { app: 'web', 'pod-template-hash': '5d8f7b9c6' },
      },
      spec: {
        nodeName: 'worker-1',
        containers: [{ name: 'web', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
      },
      status: { podIP: '10.244.1.5' },
    });
    const svc = d.kept.find((k) => k.kind === 'Service' && k.name === 'shop/web')!.object;
    expect(svc['spec']).toEqual({
      type: 'NodePort',
      clusterIP: '10.103.77.12',
      selector: { app: 'web' },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 31380 }],
    });
    const slice = d.kept.find((k) => k.name === 'kube-system/kube-dns-hx8pq')!.object;
    expect(slice['metadata']).toEqual({
      name: 'kube-dns-hx8pq',
      namespace: 'kube-system',
      labels: { 'kubernetes.io/service-name': 'kube-dns' },
    });
  });

  it('keeps a not-ready pod not ready', () => {
    const d = read(`apiVersion: v1
kind: Pod
metadata: { name: p, namespace: a }
spec: { nodeName: n1 }
status: { podIP: 10.244.0.5, conditions: [{ type: PodScheduled, status: "True" }, { type: Ready, status: "False", message: x }] }
`);
    expect(d.kept[0]!.object['status']).toEqual({
      podIP: '10.244.0.5',
      conditions: [{ type: 'Ready', status: 'False' }],
    });
  });
});

describe('questions and their defaults', () => {
  it('finds the CNI, ranges and node network in a kubeadm + flannel dump, with the evidence', () => {
    const d = read(FIXTURE);
    expect(Object.fromEntries(d.questions.map((q) => [q.id, q.default]))).toEqual({
      name: 'imported',
      cni: 'flannel-vxlan',
      clusterCIDR: '10.244.0.0/16',
      serviceCIDR: '10.96.0.0/12',
      nodeNetwork: '192.168.56.0/24',
      gateway: '192.168.56.1',
      internet: 'true',
    });
    expect(why(d, 'cni').join('\n')).toContain(
      'flannel.alpha.coreos.com/backend-type: vxlan (cp-1, worker-1)',
    );
    expect(why(d, 'clusterCIDR')).toContain(
      'pod kube-system/kube-controller-manager-cp-1: --cluster-cidr=10.244.0.0/16',
    );
    expect(why(d, 'clusterCIDR')).toContain('ConfigMap kube-system/kube-proxy: clusterCIDR 10.244.0.0/16');
    expect(why(d, 'serviceCIDR')[0]).toBe(
      'pod kube-system/kube-apiserver-cp-1: --service-cluster-ip-range=10.96.0.0/12',
    );
  });

  it('derives the ranges from podCIDRs, clusterIPs and InternalIPs when nothing states them', () => {
    const d = read(`apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Node, metadata: { name: a, annotations: { flannel.alpha.coreos.com/backend-type: host-gw } }, spec: { podCIDR: 10.42.0.0/24 }, status: { addresses: [{ type: InternalIP, address: 10.0.3.1 }] } }
  - { apiVersion: v1, kind: Node, metadata: { name: b }, spec: { podCIDR: 10.42.7.0/24 }, status: { addresses: [{ type: InternalIP, address: 10.0.9.200 }] } }
  - { apiVersion: v1, kind: Service, metadata: { name: kubernetes, namespace: default }, spec: { clusterIP: 10.43.0.1, ports: [{ port: 443 }] } }
  - { apiVersion: v1, kind: Service, metadata: { name: dns, namespace: kube-system }, spec: { clusterIP: 10.43.0.10, ports: [{ port: 53, protocol: UDP }] } }
`);
    const q = Object.fromEntries(d.questions.map((x) => [x.id, x.default]));
    expect(q).toMatchObject({
      cni: 'flannel-host-gw',
      clusterCIDR: '10.42.0.0/16',
      nodeNetwork: '10.0.0.0/20',
      gateway: '10.0.0.1',
    });
    // 10.43.0.0/12 would overlap 10.42.0.0/16: the clusterIPs' own common prefix is taken instead.
    expect(q['serviceCIDR']).toBe('10.43.0.0/28');
    expect(why(d, 'clusterCIDR')[0]).toBe(
      "the nodes' podCIDRs (a 10.42.0.0/24, b 10.42.7.0/24) lie in 10.42.0.0/16",
    );
  });

  it('says when nothing in the dump points anywhere, and names CNIs it does not model', () => {
    const bare = read('{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"}}');
    expect(why(bare, 'cni')[0]).toMatch(/^no CNI pods or flannel annotations/);
    expect(why(bare, 'clusterCIDR')[0]).toMatch(/^nothing in the dump says/);
    expect(answer(bare, 'nodeNetwork').default).toBe('192.168.1.0/24');
    const calico = read(`apiVersion: v1
kind: Pod
metadata: { name: calico-node-x2x9z, namespace: kube-system, labels: { k8s-app: calico-node } }
spec: { nodeName: n, hostNetwork: true }
status: { podIP: 192.168.1.10 }
`);
    expect(answer(calico, 'cni').default).toBe('flannel-host-gw');
    expect(why(calico, 'cni').join('\n')).toMatch(/Calico is not modelled/);
  });

  it("takes the dump's own Cluster document as the defaults", () => {
    const d = read(`${FIXTURE}---
apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata: { name: lab }
spec: { cni: bridge-host-gw, nodeNetwork: 192.168.56.0/25 }
`);
    expect(answer(d, 'name').default).toBe('lab');
    expect(answer(d, 'cni').default).toBe('bridge-host-gw');
    expect(answer(d, 'nodeNetwork').default).toBe('192.168.56.0/25');
  });
});

describe('writeImportedScenario', () => {
  it('writes a scenario that parses, with the answers and walks that deliver', () => {
    const d = read(FIXTURE);
    const text = write(d, { name: 'shop', cni: 'flannel-host-gw' });
    const parsed = parseScenario(text);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const m = parsed.model;
    expect(m.name).toBe('shop');
    expect(m.cni).toBe('flannel-host-gw');
    expect(m.nodes.map((n) => [n.name, n.internalIP, `${n.podCIDR.ip}/${n.podCIDR.prefix}`])).toEqual([
      ['cp-1', '192.168.56.10', '10.244.0.0/24'],
      ['worker-1', '192.168.56.11', '10.244.1.0/24'],
    ]);
    expect(m.walks.map((w) => `${w.name} ${w.from} ${w.to} ${w.protocol}`)).toEqual([
      'pod-to-service pod/shop/client svc/shop/web:80 tcp',
      'pod-to-pod pod/shop/client pod/shop/web-5d8f7b9c6-abcde:8080 tcp',
      'pod-to-internet pod/shop/client 203.0.113.10:80 tcp',
    ]);
    const world = buildWorld(m);
    for (const w of m.walks) {
      const t = walk(world, { from: w.from, to: w.to, protocol: w.protocol });
      expect(
        t.legs.map((l) => l.verdict.kind),
        w.name,
      ).toEqual(['delivered', 'delivered']);
    }
    // Nothing was allocated: every address came from the dump.
    expect(m.pods.flatMap((p) => p.allocated)).toEqual([]);
    expect(m.services.flatMap((s) => s.allocated)).toEqual([]);
  });

  it('without an internet, leaves out the gateway side and the internet walk', () => {
    const d = read(FIXTURE);
    const text = write(d, { internet: 'false', gateway: '' });
    const parsed = parseScenario(text);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.model.gateway).toBeNull();
    expect(parsed.model.walks.map((w) => w.name)).toEqual(['pod-to-service', 'pod-to-pod']);
  });

  it('names a bad answer by its question', () => {
    const d = read(FIXTURE);
    const w = writeImportedScenario(d, { clusterCIDR: '10.244.0.0/33', name: 'Bad_Name', gateway: 'x' });
    expect(w.ok).toBe(false);
    if (w.ok) return;
    expect(w.errors.map(formatImportIssue)).toEqual([
      'Scenario name: must be a lowercase RFC 1123 label: a-z, 0-9 and "-", starting and ending with a letter or digit',
      'Cluster CIDR: "10.244.0.0/33" has an invalid prefix length',
      'Gateway: "x" is not an IPv4 address',
    ]);
  });

  it('names an answer that contradicts the dump, and a range the dump does not fit', () => {
    const d = read(FIXTURE);
    const w = writeImportedScenario(d, { clusterCIDR: '10.96.0.0/16' });
    expect(w.ok).toBe(false);
    if (w.ok) return;
    const messages = w.errors.map(formatImportIssue);
    expect(messages).toContain('Service CIDR: 10.96.0.0/12 overlaps clusterCIDR 10.96.0.0/16');
    // The nodes' podCIDRs are not inside the answer: named in the input, at the node's field and line.
    expect(messages).toContain(
      'document 1 (Node cp-1), line 36: items[0].spec.podCIDR: 10.244.0.0/24 is outside clusterCIDR 10.96.0.0/16',
    );
  });
});

describe('errors name the input', () => {
  it('a bad field: the List item path and the input line', () => {
    const broken = FIXTURE.replace('podIP: 10.244.1.5', 'podIP: 10.244.1.300');
    const d = read(broken);
    const w = writeImportedScenario(d, {});
    expect(w.ok).toBe(false);
    if (w.ok) return;
    const line = broken.split('\n').findIndex((l) => l.includes('10.244.1.300')) + 1;
    expect(w.errors.map(formatImportIssue)).toEqual([
      `document 1 (Pod shop/web-5d8f7b9c6-abcde), line ${line}: items[7].status.podIP: "10.244.1.300" is not an IPv4 address`,
    ]);
  });

  it('the same from JSON input (lines found by the YAML parser only when needed)', () => {
    const json = JSON.stringify(parseAsJs(FIXTURE), null, 2).replace('"10.244.1.5"', '"10.244.1.300"');
    const w = writeImportedScenario(read(json), {});
    expect(w.ok).toBe(false);
    if (w.ok) return;
    const line = json.split('\n').findIndex((l) => l.includes('10.244.1.300')) + 1;
    expect(w.errors.map(formatImportIssue)).toEqual([
      `document 1 (Pod shop/web-5d8f7b9c6-abcde), line ${line}: items[7].status.podIP: "10.244.1.300" is not an IPv4 address`,
    ]);
  });

  it('broken YAML, an object without a kind, and nothing at all', () => {
    const yaml = readKubectlDump('apiVersion: v1\nkind: List\nitems:\n  - { a: [1, 2 }\n');
    expect(yaml.ok).toBe(false);
    if (!yaml.ok) expect(formatImportIssue(yaml.errors[0]!)).toMatch(/^document 1, line 4: YAML: /);
    const noKind = readKubectlDump(
      'apiVersion: v1\nkind: List\nitems:\n  - { apiVersion: v1, metadata: { name: x } }\n',
    );
    expect(noKind.ok).toBe(false);
    if (!noKind.ok)
      expect(noKind.errors.map(formatImportIssue)).toEqual(['document 1, line 4: items[0].kind: required']);
    const empty = readKubectlDump('# nothing\n');
    expect(empty.ok).toBe(false);
    if (!empty.ok) expect(empty.errors.map(formatImportIssue)).toEqual(['no Kubernetes objects found']);
  });

  it('a pod on a node the dump does not have', () => {
    const d = read(`apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Node, metadata: { name: a }, status: { addresses: [{ type: InternalIP, address: 192.168.1.10 }] } }
  - { apiVersion: v1, kind: Pod, metadata: { name: p, namespace: x }, spec: { nodeName: gone }, status: { podIP: 10.244.0.9 } }
`);
    const w = writeImportedScenario(d, {});
    expect(w.ok).toBe(false);
    if (!w.ok)
      expect(w.errors.map(formatImportIssue)).toContain(
        'document 1 (Pod x/p), line 5: items[1].spec.nodeName: no Node named "gone"',
      );
  });
});

/** The fixture as plain data (what kubectl -o json prints). */
function parseAsJs(text: string): unknown {
  return parse(text) as unknown;
}

describe('withNodeState', () => {
  const base = `# my cluster
apiVersion: v1
kind: Node
metadata: {name: n1}
---
{"apiVersion":"v1","kind":"Node","metadata":{"name":"n2"}}
`;

  it('adds a NodeState document and keeps every other document as written', () => {
    const text = withNodeState(base, 'n1', {
      ipRoute: 'default via 10.0.0.1 dev eth0   \r\n',
      conntrack: '  ',
    });
    expect(text.startsWith(base)).toBe(true);
    expect(text.slice(base.length)).toBe(`---
apiVersion: packetwalk.dev/v1alpha1
kind: NodeState
metadata:
  name: n1
spec:
  ipRoute: |
    default via 10.0.0.1 dev eth0
`);
  });

  it("replaces the node's NodeState, leaves another node's", () => {
    const once = withNodeState(withNodeState(base, 'n1', { ipRoute: 'a' }), 'n2', { ipNeigh: 'b' });
    const twice = withNodeState(once, 'n1', { bridgeFdb: 'c' });
    const states = parse(JSON.stringify(twice.split(/^---$/m).map((d) => parse(d) as unknown)));
    expect(states).toEqual([
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } },
      {
        apiVersion: 'packetwalk.dev/v1alpha1',
        kind: 'NodeState',
        metadata: { name: 'n2' },
        spec: { ipNeigh: 'b\n' },
      },
      {
        apiVersion: 'packetwalk.dev/v1alpha1',
        kind: 'NodeState',
        metadata: { name: 'n1' },
        spec: { bridgeFdb: 'c\n' },
      },
    ]);
  });
});
