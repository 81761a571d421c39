// The importer's evidence lines and drop reasons as the UI words them: for every code the English message,
// filled in with the importer's parameters, is exactly the English text the importer wrote (so the English
// page reads as before), and the Korean one fills in every parameter.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateKubectlDump } from '../../../bench/kubectlDump.ts';
import {
  DROP_CODES,
  EVIDENCE_CODES,
  formatImportIssue,
  readKubectlDump,
  type DroppedGroup,
  type Evidence,
  type KubectlDump,
} from '../../scenario/importKubectl.ts';
import { en } from '../i18n/en.ts';
import { fixedT } from '../i18n/index.ts';
import { droppedText, evidenceText } from './notes.ts';

const FIXTURE = readFileSync(
  new URL('../../../test/fixtures/kubectl/kubeadm-flannel.yaml', import.meta.url),
  'utf8',
);

function read(text: string): KubectlDump {
  const d = readKubectlDump(text);
  if (!d.ok) throw new Error(d.errors.map(formatImportIssue).join('\n'));
  return d;
}

const list = (...items: string[]) =>
  `apiVersion: v1\nkind: List\nitems:\n${items.map((i) => `  - ${i}\n`).join('')}`;

// The dumps of src/scenario/importKubectl.test.ts, a generated one (bench/kubectlDump.ts), and a few that
// state the ranges in the places kubeadm, flannel and kube-proxy keep them.
const DUMPS: readonly string[] = [
  FIXTURE,
  FIXTURE.replace('mode: ""', 'mode: ipvs'),
  `${FIXTURE}---
apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata: { name: lab }
spec: { cni: bridge-host-gw, nodeNetwork: 192.168.56.0/25 }
`,
  list(
    '{ apiVersion: v1, kind: Service, metadata: { name: v6, namespace: a }, spec: { clusterIP: "fd00::10", ports: [{ port: 80 }] } }',
    '{ apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: { name: v6-abc, namespace: a, labels: { kubernetes.io/service-name: v6 } }, addressType: IPv4 }',
    '{ apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: { name: x, namespace: a }, addressType: IPv6 }',
    '{ apiVersion: discovery.k8s.io/v1, kind: EndpointSlice, metadata: { name: f, namespace: a }, addressType: FQDN }',
    '{ apiVersion: v1, kind: Endpoints, metadata: { name: web, namespace: a } }',
    '{ apiVersion: v1, kind: Event, metadata: { name: e1, namespace: a } }',
    '{ apiVersion: example.com/v1, kind: Widget, metadata: { name: w } }',
    '{ apiVersion: v1, kind: Pod, metadata: { name: p, namespace: a }, spec: { nodeName: n1 }, status: { phase: Pending } }',
    '{ apiVersion: v1, kind: Node, metadata: { name: n1 } }',
  ),
  list(
    '{ apiVersion: v1, kind: Node, metadata: { name: a, annotations: { flannel.alpha.coreos.com/backend-type: host-gw } }, spec: { podCIDR: 10.42.0.0/24 }, status: { addresses: [{ type: InternalIP, address: 10.0.3.1 }] } }',
    '{ apiVersion: v1, kind: Node, metadata: { name: b }, spec: { podCIDR: 10.42.7.0/24 }, status: { addresses: [{ type: InternalIP, address: 10.0.9.200 }] } }',
    '{ apiVersion: v1, kind: Service, metadata: { name: kubernetes, namespace: default }, spec: { clusterIP: 10.43.0.1, ports: [{ port: 443 }] } }',
  ),
  '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"}}',
  `apiVersion: v1
kind: Pod
metadata: { name: calico-node-x2x9z, namespace: kube-system, labels: { k8s-app: calico-node } }
spec: { nodeName: n, hostNetwork: true }
status: { podIP: 192.168.1.10 }
`,
  list(
    '{ apiVersion: v1, kind: Pod, metadata: { name: weave-net-1, namespace: kube-system }, spec: { nodeName: n }, status: { podIP: 10.32.0.2 } }',
  ),
  list(
    '{ apiVersion: v1, kind: Pod, metadata: { name: web, namespace: a }, spec: { nodeName: n }, status: { podIP: 10.32.0.9 } }',
    '{ apiVersion: v1, kind: ConfigMap, metadata: { name: kubeadm-config, namespace: kube-system }, data: { ClusterConfiguration: "networking:\\n  podSubnet: 10.32.0.0/12\\n  serviceSubnet: 10.96.0.0/12\\n" } }',
    '{ apiVersion: v1, kind: ConfigMap, metadata: { name: kube-flannel-cfg, namespace: kube-flannel }, data: { net-conf.json: "{\\"Network\\": \\"10.32.0.0/12\\", \\"Backend\\": {\\"Type\\": \\"vxlan\\"}}" } }',
    '{ apiVersion: kubeproxy.config.k8s.io/v1alpha1, kind: KubeProxyConfiguration, clusterCIDR: 10.32.0.0/12 }',
  ),
  list(
    '{ apiVersion: v1, kind: Pod, metadata: { name: kube-flannel-ds-1, namespace: kube-flannel }, spec: { nodeName: n, hostNetwork: true }, status: { podIP: 10.0.0.2 } }',
    '{ apiVersion: packetwalk.dev/v1alpha1, kind: Cluster, metadata: { name: tiny }, spec: { nodeNetwork: 10.0.0.0/31 } }',
  ),
  JSON.stringify(generateKubectlDump({ nodes: 6, pods: 30, replicas: 3 })),
];

const dumps = DUMPS.map(read);
const evidence: Evidence[] = dumps.flatMap((d) => d.questions.flatMap((q) => q.evidence));
const dropped: DroppedGroup[] = dumps.flatMap((d) => d.dropped);

describe('import notes', () => {
  const enT = fixedT('en');
  const koT = fixedT('ko');

  it('has an English and a Korean message for exactly the codes the importer defines', () => {
    expect(Object.keys(en.importer.why).sort()).toEqual([...EVIDENCE_CODES].sort());
    expect(Object.keys(en.importer.dropped).sort()).toEqual([...DROP_CODES].sort());
  });

  it('says each evidence line and drop reason in English exactly as the importer wrote it', () => {
    for (const e of evidence) expect(evidenceText(enT, e), e.code).toBe(e.text);
    for (const g of dropped) expect(droppedText(enT, g), g.code).toBe(g.reason);
  });

  it('says them in Korean with every parameter filled in', () => {
    for (const text of [
      ...evidence.map((e) => evidenceText(koT, e)),
      ...dropped.map((g) => droppedText(koT, g)),
    ]) {
      expect(text).toMatch(/[\uAC00-\uD7A3]/);
      expect(text).not.toMatch(/\{\{|\band \d+ more\b/);
    }
    const many = evidence.find((e) =>
      Object.values(e.params).some((v) => typeof v !== 'string' && v.length > 3),
    );
    expect(many && evidenceText(koT, many)).toMatch(/ 외 \d+개/);
  });

  it('falls back to the English text for a code it has no message for', () => {
    const e = { code: 'somethingNew', params: {}, text: 'a newer importer says so' } as unknown as Evidence;
    expect(evidenceText(koT, e)).toBe('a newer importer says so');
  });

  it('sees every code in the dumps above', () => {
    const seen = new Set<string>([...evidence.map((e) => e.code), ...dropped.map((g) => g.code)]);
    const all: string[] = [...EVIDENCE_CODES, ...DROP_CODES];
    // Every code occurs at present (none left uncovered); a new code needs a dump here that produces it.
    expect(all.filter((c) => !seen.has(c))).toEqual([]);
  });
});
