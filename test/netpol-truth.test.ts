// Truth tables in the style of the upstream NetworkPolicy conformance suite (kubernetes
// test/e2e/network/netpol/network_policy.go): namespaces x, y, z with pods a, b, c (labelled pod=a, ...), a
// policy or two, and for a probe (port/protocol) whether each pod may connect to each other pod.
// Every expected table below is worked out by hand from the policy in its fixture; nothing is computed by the
// code under test. Rows are sources, columns destinations; "." allowed, "X" denied. A pod to itself is
// always "." (loopback: the e2e suite's AllowLoopback; upstream ignores these cells).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReachabilityTable, reachability } from '../src/engine/netpol.ts';
import { formatIssue, parseScenario } from '../src/scenario/parse.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'netpol');
const PODS = ['x/a', 'x/b', 'x/c', 'y/a', 'y/b', 'y/c', 'z/a', 'z/b', 'z/c'];

interface TruthTable {
  /** "<port>/<protocol>", probed on every pod. */
  readonly probe: string;
  /** "<from> <mark per destination>", destinations in PODS order (then kube-system/coredns when present). */
  readonly rows: readonly string[];
}

interface Scenario {
  readonly name: string;
  /** Fixture files after base.yaml. */
  readonly files: readonly string[];
  readonly tables: readonly TruthTable[];
}

/** Rows for "nothing denied" over the nine pods. */
const ALL_ALLOWED = PODS.map((p) => `${p} . . . . . . . . .`);

const SCENARIOS: Scenario[] = [
  {
    name: 'default-deny-ingress: nothing reaches x; x still reaches y and z',
    files: ['default-deny-ingress.yaml'],
    tables: ['80/TCP', '80/UDP'].map((probe) => ({
      probe,
      rows: [
        'x/a . X X . . . . . .',
        'x/b X . X . . . . . .',
        'x/c X X . . . . . . .',
        'y/a X X X . . . . . .',
        'y/b X X X . . . . . .',
        'y/c X X X . . . . . .',
        'z/a X X X . . . . . .',
        'z/b X X X . . . . . .',
        'z/c X X X . . . . . .',
      ],
    })),
  },
  {
    name: 'default-deny-all: x is cut off both ways',
    files: ['default-deny-all.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . X X X X X X X X',
          'x/b X . X X X X X X X',
          'x/c X X . X X X X X X',
          'y/a X X X . . . . . .',
          'y/b X X X . . . . . .',
          'y/c X X X . . . . . .',
          'z/a X X X . . . . . .',
          'z/b X X X . . . . . .',
          'z/c X X X . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'allow from the same namespace (a podSelector peer is the policy’s namespace)',
    files: ['allow-same-namespace.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b . . . . . . . . .',
          'x/c . . . . . . . . .',
          'y/a X X X . . . . . .',
          'y/b X X X . . . . . .',
          'y/c X X X . . . . . .',
          'z/a X X X . . . . . .',
          'z/b X X X . . . . . .',
          'z/c X X X . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'allow x/a from namespace y via namespaceSelector (kubernetes.io/metadata.name)',
    files: ['allow-from-namespace-y.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b X . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a . . . . . . . . .',
          'y/b . . . . . . . . .',
          'y/c . . . . . . . . .',
          'z/a X . . . . . . . .',
          'z/b X . . . . . . . .',
          'z/c X . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'namespace labels from the Namespace document (ns2=updated on y)',
    files: ['namespace-labels.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b X . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a . . . . . . . . .',
          'y/b . . . . . . . . .',
          'y/c . . . . . . . . .',
          'z/a X . . . . . . . .',
          'z/b X . . . . . . . .',
          'z/c X . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'podSelector and namespaceSelector in one peer: pods b of y and z only (AND)',
    files: ['pod-and-namespace-one-peer.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b X . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a X . . . . . . . .',
          'y/b . . . . . . . . .',
          'y/c X . . . . . . . .',
          'z/a X . . . . . . . .',
          'z/b . . . . . . . . .',
          'z/c X . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'namespaceSelector and podSelector as two peers: all of y and z, or pod b of x (OR)',
    files: ['pod-or-namespace-two-peers.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b . . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a . . . . . . . . .',
          'y/b . . . . . . . . .',
          'y/c . . . . . . . . .',
          'z/a . . . . . . . . .',
          'z/b . . . . . . . . .',
          'z/c . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'matchExpressions: x/a and x/b take x and z, not y',
    files: ['match-expressions.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b . . . . . . . . .',
          'x/c . . . . . . . . .',
          'y/a X X . . . . . . .',
          'y/b X X . . . . . . .',
          'y/c X X . . . . . . .',
          'z/a . . . . . . . . .',
          'z/b . . . . . . . . .',
          'z/c . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'policies are additive: x/a takes y (one policy) and z (another)',
    files: ['additive.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b X . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a . . . . . . . . .',
          'y/b . . . . . . . . .',
          'y/c . . . . . . . . .',
          'z/a . . . . . . . . .',
          'z/b . . . . . . . . .',
          'z/c . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'ipBlock with except: x/a may not reach y/b (10.244.2.11/32) nor node-3’s pods (10.244.3.0/24)',
    files: ['ipblock-except.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . X . X X . . X',
          'x/b . . . . . . . . .',
          'x/c . . . . . . . . .',
          'y/a . . . . . . . . .',
          'y/b . . . . . . . . .',
          'y/c . . . . . . . . .',
          'z/a . . . . . . . . .',
          'z/b . . . . . . . . .',
          'z/c . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'ipBlock except, and a second policy allowing one excepted address (x/c)',
    files: ['ipblock-except.yaml', 'ipblock-except-overlap.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . X X . . X',
          'x/b . . . . . . . . .',
          'x/c . . . . . . . . .',
          'y/a . . . . . . . . .',
          'y/b . . . . . . . . .',
          'y/c . . . . . . . . .',
          'z/a . . . . . . . . .',
          'z/b . . . . . . . . .',
          'z/c . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'egress deny without DNS: x reaches nothing, CoreDNS included',
    files: ['dns.yaml', 'deny-egress.yaml'],
    tables: [
      {
        probe: '53/UDP',
        rows: [
          'x/a . X X X X X X X X X',
          'x/b X . X X X X X X X X',
          'x/c X X . X X X X X X X',
          'y/a . . . . . . . . . .',
          'y/b . . . . . . . . . .',
          'y/c . . . . . . . . . .',
          'z/a . . . . . . . . . .',
          'z/b . . . . . . . . . .',
          'z/c . . . . . . . . . .',
          'kube-system/coredns . . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'egress deny with DNS allowed: x reaches CoreDNS on 53, nothing else',
    files: ['dns.yaml', 'deny-egress.yaml', 'allow-dns.yaml'],
    tables: [
      {
        probe: '53/UDP',
        rows: [
          'x/a . X X X X X X X X .',
          'x/b X . X X X X X X X .',
          'x/c X X . X X X X X X .',
          'y/a . . . . . . . . . .',
          'y/b . . . . . . . . . .',
          'y/c . . . . . . . . . .',
          'z/a . . . . . . . . . .',
          'z/b . . . . . . . . . .',
          'z/c . . . . . . . . . .',
          'kube-system/coredns . . . . . . . . . .',
        ],
      },
      {
        probe: '80/TCP',
        rows: [
          'x/a . X X X X X X X X X',
          'x/b X . X X X X X X X X',
          'x/c X X . X X X X X X X',
          'y/a . . . . . . . . . .',
          'y/b . . . . . . . . . .',
          'y/c . . . . . . . . . .',
          'z/a . . . . . . . . . .',
          'z/b . . . . . . . . . .',
          'z/c . . . . . . . . . .',
          'kube-system/coredns . . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'egress to DNS without a protocol: TCP only, so DNS over UDP stays blocked',
    files: ['dns.yaml', 'deny-egress.yaml', 'allow-dns-tcp-only.yaml'],
    tables: [
      {
        probe: '53/UDP',
        rows: [
          'x/a . X X X X X X X X X',
          'x/b X . X X X X X X X X',
          'x/c X X . X X X X X X X',
          'y/a . . . . . . . . . .',
          'y/b . . . . . . . . . .',
          'y/c . . . . . . . . . .',
          'z/a . . . . . . . . . .',
          'z/b . . . . . . . . . .',
          'z/c . . . . . . . . . .',
          'kube-system/coredns . . . . . . . . . .',
        ],
      },
      {
        probe: '53/TCP',
        rows: [
          'x/a . X X X X X X X X .',
          'x/b X . X X X X X X X .',
          'x/c X X . X X X X X X .',
          'y/a . . . . . . . . . .',
          'y/b . . . . . . . . . .',
          'y/c . . . . . . . . . .',
          'z/a . . . . . . . . . .',
          'z/b . . . . . . . . . .',
          'z/c . . . . . . . . . .',
          'kube-system/coredns . . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'named port (ingress): x takes serve-81-tcp only',
    files: ['named-port-ingress.yaml'],
    tables: [
      { probe: '81/TCP', rows: ALL_ALLOWED },
      {
        probe: '80/TCP',
        rows: [
          'x/a . X X . . . . . .',
          'x/b X . X . . . . . .',
          'x/c X X . . . . . . .',
          'y/a X X X . . . . . .',
          'y/b X X X . . . . . .',
          'y/c X X X . . . . . .',
          'z/a X X X . . . . . .',
          'z/b X X X . . . . . .',
          'z/c X X X . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'named port (egress): x sends to serve-80-tcp only, resolved on each destination',
    files: ['named-port-egress.yaml'],
    tables: [
      { probe: '80/TCP', rows: ALL_ALLOWED },
      {
        probe: '81/TCP',
        rows: [
          'x/a . X X X X X X X X',
          'x/b X . X X X X X X X',
          'x/c X X . X X X X X X',
          'y/a . . . . . . . . .',
          'y/b . . . . . . . . .',
          'y/c . . . . . . . . .',
          'z/a . . . . . . . . .',
          'z/b . . . . . . . . .',
          'z/c . . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'egress rules without policyTypes: defaulted to [Ingress, Egress], so x takes nothing in',
    files: ['egress-without-policy-types.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . X X . . . . . .',
          'x/b X . X . . . . . .',
          'x/c X X . . . . . . .',
          'y/a X X X . . . . . .',
          'y/b X X X . . . . . .',
          'y/c X X X . . . . . .',
          'z/a X X X . . . . . .',
          'z/b X X X . . . . . .',
          'z/c X X X . . . . . .',
        ],
      },
      {
        probe: '81/TCP',
        rows: [
          'x/a . X X X X X X X X',
          'x/b X . X X X X X X X',
          'x/c X X . X X X X X X',
          'y/a X X X . . . . . .',
          'y/b X X X . . . . . .',
          'y/c X X X . . . . . .',
          'z/a X X X . . . . . .',
          'z/b X X X . . . . . .',
          'z/c X X X . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'endPort: x/a takes 81-90/TCP, not 80 nor UDP',
    files: ['endport.yaml'],
    tables: [
      { probe: '81/TCP', rows: ALL_ALLOWED },
      ...['80/TCP', '81/UDP'].map((probe) => ({
        probe,
        rows: [
          'x/a . . . . . . . . .',
          'x/b X . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a X . . . . . . . .',
          'y/b X . . . . . . . .',
          'y/c X . . . . . . . .',
          'z/a X . . . . . . . .',
          'z/b X . . . . . . . .',
          'z/c X . . . . . . . .',
        ],
      })),
    ],
  },
  {
    name: 'a protocol without a port: x/a takes any TCP port, no UDP',
    files: ['protocol-only.yaml'],
    tables: [
      { probe: '80/TCP', rows: ALL_ALLOWED },
      {
        probe: '80/UDP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b X . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a X . . . . . . . .',
          'y/b X . . . . . . . .',
          'y/c X . . . . . . . .',
          'z/a X . . . . . . . .',
          'z/b X . . . . . . . .',
          'z/c X . . . . . . . .',
        ],
      },
    ],
  },
  {
    name: 'Ingress and Egress together: x/a takes x/b only, and sends on 80 only',
    files: ['ingress-and-egress.yaml'],
    tables: [
      {
        probe: '80/TCP',
        rows: [
          'x/a . . . . . . . . .',
          'x/b . . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a X . . . . . . . .',
          'y/b X . . . . . . . .',
          'y/c X . . . . . . . .',
          'z/a X . . . . . . . .',
          'z/b X . . . . . . . .',
          'z/c X . . . . . . . .',
        ],
      },
      {
        probe: '81/TCP',
        rows: [
          'x/a . X X X X X X X X',
          'x/b . . . . . . . . .',
          'x/c X . . . . . . . .',
          'y/a X . . . . . . . .',
          'y/b X . . . . . . . .',
          'y/c X . . . . . . . .',
          'z/a X . . . . . . . .',
          'z/b X . . . . . . . .',
          'z/c X . . . . . . . .',
        ],
      },
    ],
  },
];

function load(files: readonly string[]) {
  const text = ['base.yaml', ...files].map((f) => readFileSync(join(DIR, f), 'utf8')).join('\n---\n');
  const r = parseScenario(text);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  expect(r.warnings.map(formatIssue)).toEqual([]);
  return r.model;
}

describe('NetworkPolicy truth tables (upstream netpol e2e scenarios)', () => {
  it('has the suite’s pods and a table for every scenario', () => {
    expect(load([]).pods.map((p) => `${p.namespace}/${p.name}`)).toEqual(PODS);
    expect(SCENARIOS.flatMap((s) => s.tables)).toHaveLength(30);
  });

  it('allows everything without a policy', () => {
    const t = reachability(load([]), { ports: [80, 81] });
    expect(t.tables.map((x) => x.cells.flat().every((c) => c.allowed))).toEqual([true, true]);
  });

  describe.each(SCENARIOS)('$name', (scenario) => {
    const model = load(scenario.files);
    it.each(scenario.tables.map((t) => [t.probe, t] as const))('%s', (_probe, expected) => {
      const [port, protocol] = expected.probe.split('/') as [string, 'TCP' | 'UDP'];
      const table = reachability(model, { ports: [Number(port)], protocol }).tables[0]!;
      const rows = table.from.map(
        (from, i) => `${from} ${table.cells[i]!.map((c) => (c.allowed ? '.' : 'X')).join(' ')}`,
      );
      expect(table.to, 'columns').toEqual(table.from);
      expect(rows, `observed:\n${formatReachabilityTable(table)}`).toEqual(expected.rows);
    });
  });
});
