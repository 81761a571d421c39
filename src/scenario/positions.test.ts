// Every kind of issue the parser reports, placed in the text: the range must cover the field the message
// names (or, for YAML syntax errors, the token the yaml library points at), on the line a reader expects.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPath, type Path } from './allocate.ts';
import { parseScenario, type ScenarioIssue } from './parse.ts';
import { locateIssues, parseIssuePath } from './positions.ts';

const DEFAULT = readFileSync(new URL('./presets/default.yaml', import.meta.url), 'utf8');

/** The default preset with `from` replaced by `to` (which must occur). */
function edit(from: string, to: string, text = DEFAULT): string {
  if (!text.includes(from)) throw new Error(`the default preset has no ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

const append = (doc: string) => `${DEFAULT}---\n${doc}`;

function issuesOf(text: string): { issues: ScenarioIssue[]; severity: 'error' | 'warning' } {
  const r = parseScenario(text);
  return r.ok ? { issues: r.warnings, severity: 'warning' } : { issues: r.errors, severity: 'error' };
}

const lineOf = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

interface Case {
  readonly name: string;
  readonly text: string;
  readonly severity: 'error' | 'warning';
  /** The issue's field path ('' for YAML syntax and whole-scenario issues). */
  readonly path: string;
  /** A part of the issue's message. */
  readonly message: string;
  /** The exact text the range covers. */
  readonly underlined: string;
  /** A text on the line the range starts on. */
  readonly onLine: string;
}

const NETWORK_POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-ingress
spec:
  podSelector:
    matchExpressions:
      - key: app
        operator: Has
        values: [db]
`;

const COREFILE = `apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
data:
  Corefile: |
    .:53 {
        errors
        frobnicate on
    }
`;

const LIST = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Node
    metadata:
      name: n1
    spec:
      podCIDR: 10.244.1.0/24
    status:
      addresses:
        - { type: InternalIP, address: 192.168.1.300 }
`;

const CASES: Case[] = [
  {
    name: 'YAML syntax: a duplicate key',
    text: edit('  cni: flannel-vxlan\n', '  cni: flannel-vxlan\n  cni: flannel-host-gw\n'),
    severity: 'error',
    path: '',
    message: 'Map keys must be unique',
    underlined: 'cni',
    onLine: 'cni: flannel-host-gw',
  },
  {
    name: 'YAML syntax: a quote left open, at the end of its line',
    text: edit('cni: flannel-vxlan', 'cni: "flannel-vxlan'),
    severity: 'error',
    path: '',
    message: 'Missing closing "quote',
    underlined: '"flannel-vxlan',
    onLine: 'cni: "flannel-vxlan',
  },
  {
    name: 'bad indentation: a key one column left of its siblings',
    text: edit('spec:\n  podCIDR: 10.244.1.0/24', 'spec:\n  podCIDR: 10.244.1.0/24\n podCIDRs: []'),
    severity: 'error',
    path: '',
    message: 'All mapping items must start at the same column',
    underlined: ' podCIDRs',
    onLine: 'podCIDRs: []',
  },
  {
    name: 'a tab as indentation',
    text: edit('  mtu: 1500', '\tmtu: 1500'),
    severity: 'error',
    path: '',
    message: 'Tabs are not allowed as indentation',
    underlined: '\tmtu',
    onLine: 'mtu: 1500',
  },
  {
    name: 'a kind Packet Walk does not read (warning on its kind)',
    text: append('apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n'),
    severity: 'warning',
    path: '',
    message: 'runs no controllers',
    underlined: 'kind: Deployment',
    onLine: 'kind: Deployment',
  },
  {
    name: 'an unknown field of the Cluster document (warning)',
    text: edit('  mtu: 1500', '  mtuu: 1500'),
    severity: 'warning',
    path: 'spec.mtuu',
    message: 'unknown field',
    underlined: 'mtuu: 1500',
    onLine: 'mtuu: 1500',
  },
  {
    name: 'port out of range',
    text: edit('port: 3306, targetPort', 'port: 70000, targetPort'),
    severity: 'error',
    path: 'spec.ports[0].port',
    message: 'must be 1-65535',
    underlined: 'port: 70000',
    onLine: 'port: 70000',
  },
  {
    name: 'an invalid IP',
    text: edit('podIP: 10.244.1.2', 'podIP: 10.244.1.300'),
    severity: 'error',
    path: 'status.podIP',
    message: 'is not an IPv4 address',
    underlined: 'podIP: 10.244.1.300',
    onLine: 'podIP: 10.244.1.300',
  },
  {
    name: 'an IPv6 address',
    text: edit('podIP: 10.244.1.2', 'podIP: fd00::2'),
    severity: 'error',
    path: 'status.podIP',
    message: 'IPv6 is not modelled yet',
    underlined: 'podIP: fd00::2',
    onLine: 'podIP: fd00::2',
  },
  {
    name: 'podCIDR not inside clusterCIDR',
    text: edit('podCIDR: 10.244.1.0/24', 'podCIDR: 10.245.1.0/24'),
    severity: 'error',
    path: 'spec.podCIDR',
    message: 'is outside clusterCIDR 10.244.0.0/16',
    underlined: 'podCIDR: 10.245.1.0/24',
    onLine: 'podCIDR: 10.245.1.0/24',
  },
  {
    name: 'overlapping networks',
    text: edit('serviceCIDR: 10.96.0.0/12', 'serviceCIDR: 10.244.0.0/16'),
    severity: 'error',
    path: 'spec.serviceCIDR',
    message: 'overlaps clusterCIDR',
    underlined: 'serviceCIDR: 10.244.0.0/16',
    onLine: 'serviceCIDR: 10.244.0.0/16',
  },
  {
    name: 'a duplicate name (on the second object)',
    text: edit('name: node-2\n', 'name: node-1\n'),
    severity: 'error',
    path: 'metadata.name',
    message: 'duplicate Node "node-1"',
    underlined: 'name: node-1',
    onLine: 'name: node-1',
  },
  {
    name: 'a duplicate address',
    text: edit('podIP: 10.244.1.3', 'podIP: 10.244.1.2'),
    severity: 'error',
    path: 'status.podIP',
    message: "already Pod default/client's address",
    underlined: 'podIP: 10.244.1.2',
    onLine: 'podIP: 10.244.1.2',
  },
  {
    name: 'a walk to a pod that does not exist',
    text: edit('to: pod/default/db:3306', 'to: pod/default/nosuch:3306'),
    severity: 'error',
    path: 'spec.walks[0].to',
    message: 'no Pod "nosuch"',
    underlined: 'to: pod/default/nosuch:3306',
    onLine: 'to: pod/default/nosuch:3306',
  },
  {
    name: 'a CNI mode that does not exist',
    text: edit('cni: flannel-vxlan', 'cni: flannel-vxlam'),
    severity: 'error',
    path: 'spec.cni',
    message: 'must be one of flannel-vxlan',
    underlined: 'cni: flannel-vxlam',
    onLine: 'cni: flannel-vxlam',
  },
  {
    name: 'a missing required field: on the key of the mapping that lacks it',
    text: edit('  nodeName: node-3\n  containers:\n    - name: nginx', '  containers:\n    - name: nginx'),
    severity: 'error',
    path: 'spec.nodeName',
    message: 'required',
    underlined: 'spec',
    onLine: 'spec:',
  },
  {
    name: 'a bad label key in a selector',
    text: edit('selector: { app: db }', 'selector: { "app/": db }'),
    severity: 'error',
    path: 'spec.selector["app/"]',
    message: 'is not a valid label key',
    underlined: '"app/": db',
    onLine: 'selector: { "app/": db }',
  },
  {
    name: 'a bad label selector operator',
    text: append(NETWORK_POLICY),
    severity: 'error',
    path: 'spec.podSelector.matchExpressions[0].operator',
    message: 'must be one of In, NotIn',
    underlined: 'operator: Has',
    onLine: 'operator: Has',
  },
  {
    name: 'a Corefile directive the model does not know: its line inside the block',
    text: append(COREFILE),
    severity: 'warning',
    path: 'data.Corefile',
    message: 'unknown directive "frobnicate"',
    underlined: 'frobnicate on',
    onLine: 'frobnicate on',
  },
  {
    name: 'a field inside an item of a kind: List',
    text: LIST,
    severity: 'error',
    path: 'items[0].status.addresses[0].address',
    message: 'is not an IPv4 address',
    underlined: 'address: 192.168.1.300',
    onLine: 'address: 192.168.1.300',
  },
  {
    name: 'a document that is not a mapping',
    text: append('just text\n'),
    severity: 'error',
    path: '',
    message: 'must be a mapping',
    underlined: 'just text',
    onLine: 'just text',
  },
  {
    name: 'a scenario without nodes: the first line',
    text: '# a comment\napiVersion: packetwalk.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: x\n',
    severity: 'error',
    path: '',
    message: 'no Node documents',
    underlined: 'apiVersion: packetwalk.dev/v1alpha1',
    onLine: 'apiVersion: packetwalk.dev/v1alpha1',
  },
];

describe('locateIssues: each kind of issue on its field', () => {
  it.each(CASES)('$name', (c) => {
    const { issues, severity } = issuesOf(c.text);
    expect(severity).toBe(c.severity);
    const index = issues.findIndex((i) => i.path === c.path && i.message.includes(c.message));
    expect(index, `issues: ${JSON.stringify(issues, null, 1)}`).toBeGreaterThanOrEqual(0);
    const range = locateIssues(c.text, issues)[index];
    if (!range) throw new Error('no range');
    expect(c.text.slice(range.from, range.to)).toBe(c.underlined);
    const line = c.text.split('\n')[lineOf(c.text, range.from) - 1];
    expect(line).toContain(c.onLine);
    // The parser's own line agrees where it names a field (for a whole object it gives the object's first
    // line; for a Corefile problem, the Corefile key's).
    const issue = issues[index];
    if (issue?.line != null && c.path !== '' && c.path !== 'data.Corefile')
      expect(lineOf(c.text, range.from)).toBe(issue.line);
  });

  it('an empty text: the one issue sits at the start', () => {
    const { issues } = issuesOf('');
    expect(issues.map((i) => i.message)).toEqual(['no Kubernetes objects found']);
    expect(locateIssues('', issues)).toEqual([{ from: 0, to: 0 }]);
  });

  it('every issue of every case has a range inside the text, at least one character wide', () => {
    for (const c of CASES) {
      const { issues } = issuesOf(c.text);
      const ranges = locateIssues(c.text, issues);
      expect(ranges).toHaveLength(issues.length);
      for (const r of ranges) {
        expect(r.from).toBeGreaterThanOrEqual(0);
        expect(r.to).toBeLessThanOrEqual(c.text.length);
        expect(r.to).toBeGreaterThan(r.from);
      }
    }
  });

  it('two identical YAML errors in one document get their own places', () => {
    const text = edit('  cni: flannel-vxlan\n', '  cni: a\n  cni: b\n  mtu: 1\n');
    const { issues } = issuesOf(text);
    const dupes = issues.filter((i) => i.message.includes('Map keys must be unique'));
    expect(dupes.length).toBeGreaterThanOrEqual(2);
    const ranges = locateIssues(text, issues).filter((_, i) => issues[i]?.message.includes('unique'));
    expect(new Set(ranges.map((r) => r.from)).size).toBe(ranges.length);
  });
});

describe('parseIssuePath', () => {
  it.each([
    ['', []],
    ['spec.ports[0].port', ['spec', 'ports', 0, 'port']],
    ['metadata.labels["app.kubernetes.io/name"]', ['metadata', 'labels', 'app.kubernetes.io/name']],
    ['items[2].spec["a \\"b\\""]', ['items', 2, 'spec', 'a "b"']],
  ])('%s', (text, path) => {
    expect(parseIssuePath(text)).toEqual(path);
  });

  it('is not fooled by text that is not a path', () => {
    expect(parseIssuePath('spec..x')).toBeNull();
    expect(parseIssuePath('[x]')).toBeNull();
  });

  it('reads back whatever formatPath writes', () => {
    const segment = fc.oneof(fc.string({ minLength: 1 }), fc.nat(1000));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (path: Path) => {
        expect(parseIssuePath(formatPath(path))).toEqual(path);
      }),
    );
  });
});
