// The node firewall (the Cluster document's `nodeFirewall`): what the parser accepts and rejects, field by
// field, and the iptables rules the engine loads from it — checked as rules (parseIptablesSave) and by walks
// that meet them.
import { describe, expect, it } from 'vitest';
import { parseCidr } from './addr.ts';
import { NODE_FIREWALL_CHAIN, nodeFirewallRestore } from './cniRules.ts';
import { parseIptablesSave } from './iptables.ts';
import { buildWorld, walk } from './index.ts';
import { formatIssue, parseScenario } from '../scenario/parse.ts';
import type { ClusterModel, NodeFirewallModel } from '../scenario/model.ts';

const node = (name: string, ip: string, labels = '{}'): string =>
  `apiVersion: v1\nkind: Node\nmetadata: { name: ${name}, labels: ${labels} }\nstatus: { addresses: [{ type: InternalIP, address: ${ip} }] }\n`;

/** A Cluster document with `firewall` (YAML lines under `nodeFirewall:`, indented 4) and two nodes. */
function scenario(firewall: string, walks = ''): string {
  return [
    `apiVersion: packetwalk.dev/v1alpha1\nkind: Cluster\nmetadata: { name: fw }\nspec:\n  nodeNetwork: 192.168.1.0/24\n  hosts: [{ name: laptop, ip: 192.168.1.100 }]\n  nodeFirewall:\n${firewall}${walks}`,
    node('cp-1', '192.168.1.11', "{ node-role.kubernetes.io/control-plane: '' }"),
    node('worker-1', '192.168.1.21'),
  ].join('---\n');
}

function model(text: string): ClusterModel {
  const r = parseScenario(text);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.model;
}

function errorsOf(text: string): string[] {
  const r = parseScenario(text);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('nodeFirewall in the Cluster document', () => {
  it('resolves nodeSelector and nodes to node names and keeps the allow rules in order', () => {
    const m = model(
      scenario(
        [
          '    - name: control-plane',
          "      nodeSelector: { node-role.kubernetes.io/control-plane: '' }",
          '      allow:',
          '        - { protocol: TCP, port: 6443, description: kube-apiserver }',
          '        - { protocol: TCP, port: 2379, endPort: 2380, from: [192.168.1.11/32, 10.0.0.0/8] }',
          '    - name: all',
          '      nodeSelector: {}',
          '      allow: [{ protocol: ICMP }, { protocol: UDP, port: 8472 }]',
          '    - name: one',
          '      nodes: [worker-1]',
          '      allow: [{ port: 10250, endPort: 10250 }]',
          '',
        ].join('\n'),
      ),
    );
    expect(m.nodeFirewall).toEqual<NodeFirewallModel[]>([
      {
        name: 'control-plane',
        nodes: ['cp-1'],
        allow: [
          { protocol: 'TCP', port: 6443, endPort: null, from: [], description: 'kube-apiserver' },
          {
            protocol: 'TCP',
            port: 2379,
            endPort: 2380,
            from: [parseCidr('192.168.1.11/32'), parseCidr('10.0.0.0/8')],
            description: '',
          },
        ],
      },
      {
        name: 'all',
        nodes: ['cp-1', 'worker-1'],
        allow: [
          { protocol: 'ICMP', port: null, endPort: null, from: [], description: '' },
          { protocol: 'UDP', port: 8472, endPort: null, from: [], description: '' },
        ],
      },
      // endPort equal to port is one port; protocol defaults to TCP.
      {
        name: 'one',
        nodes: ['worker-1'],
        allow: [{ protocol: 'TCP', port: 10250, endPort: null, from: [], description: '' }],
      },
    ]);
  });

  it('is absent from the model when the scenario has none', () => {
    const text = scenario('    []\n');
    expect(model(text).nodeFirewall).toBeUndefined();
  });

  it.each([
    [
      '    - { name: a, nodes: [cp-1], allow: [{ port: 70000 }] }\n',
      'spec.nodeFirewall[0].allow[0].port: must be 1-65535',
    ],
    [
      '    - { name: a, nodes: [cp-1], allow: [{ port: 2380, endPort: 2379 }] }\n',
      'spec.nodeFirewall[0].allow[0].endPort: must be greater than or equal to port (2380)',
    ],
    [
      '    - { name: a, nodes: [cp-1], allow: [{ endPort: 2379 }] }\n',
      'spec.nodeFirewall[0].allow[0].endPort: may not be specified when port is not specified',
    ],
    [
      '    - { name: a, nodes: [cp-1], allow: [{ protocol: ICMP, port: 8 }] }\n',
      'spec.nodeFirewall[0].allow[0].port: ICMP has no ports',
    ],
    [
      '    - { name: a, nodes: [cp-1], allow: [{ protocol: SCTP, port: 9 }] }\n',
      'spec.nodeFirewall[0].allow[0].protocol: must be one of TCP, UDP, ICMP',
    ],
    [
      '    - { name: a, nodes: [cp-1], allow: [{ port: 22, from: [192.168.1.5/24] }] }\n',
      'spec.nodeFirewall[0].allow[0].from[0]: ',
    ],
    [
      '    - { name: a, nodes: [cp-1], allow: [{ port: 22, description: \'say "hi"\' }] }\n',
      'spec.nodeFirewall[0].allow[0].description: must not contain double quotes, backslashes or line breaks (it becomes an iptables comment)',
    ],
    [
      '    - { name: a, nodes: [cp-1], nodeSelector: {}, allow: [{ port: 22 }] }\n',
      'spec.nodeFirewall[0]: give nodeSelector or nodes, not both',
    ],
    [
      '    - { name: a, allow: [{ port: 22 }] }\n',
      'spec.nodeFirewall[0]: required: nodeSelector (node labels; {} selects every node) or nodes (node names)',
    ],
    [
      '    - { name: a, nodes: [cp-9], allow: [{ port: 22 }] }\n',
      'spec.nodeFirewall[0].nodes[0]: no Node "cp-9"',
    ],
    [
      '    - { name: a, nodes: [cp-1], allow: [] }\n    - { name: a, nodes: [cp-1], allow: [] }\n',
      'spec.nodeFirewall[1].name: duplicate: another nodeFirewall entry is named "a"',
    ],
    ['    - { nodes: [cp-1], allow: [] }\n', 'spec.nodeFirewall[0].name: required'],
  ])('rejects %j', (firewall, expected) => {
    const errors = errorsOf(scenario(firewall));
    expect(
      errors.some((e) => e.startsWith(expected)),
      errors.join('\n'),
    ).toBe(true);
  });

  it('warns about an unknown field and a selector that selects no node', () => {
    const r = parseScenario(
      scenario('    - { name: a, nodeSelector: { role: gpu }, allow: [{ port: 22, protocl: UDP }] }\n'),
    );
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    const warnings = r.warnings.map((w) => `${w.path}: ${w.message}`);
    expect(warnings).toContain('spec.nodeFirewall[0].allow[0].protocl: unknown field (ignored)');
    expect(warnings).toContain(
      'spec.nodeFirewall[0].nodeSelector: selects no node: this firewall applies nowhere',
    );
  });
});

describe('the node firewall as iptables rules', () => {
  const firewalls: NodeFirewallModel[] = [
    {
      name: 'control-plane',
      nodes: ['cp-1'],
      allow: [
        { protocol: 'TCP', port: 6443, endPort: null, from: [], description: 'kube-apiserver' },
        {
          protocol: 'TCP',
          port: 2379,
          endPort: 2380,
          from: [parseCidr('192.168.1.11/32'), parseCidr('192.168.1.12/32')],
          description: 'etcd',
        },
      ],
    },
    {
      name: 'all',
      nodes: ['cp-1', 'worker-1'],
      allow: [
        { protocol: 'UDP', port: 8472, endPort: null, from: [parseCidr('192.168.1.0/24')], description: '' },
        { protocol: 'ICMP', port: null, endPort: null, from: [], description: 'ping' },
      ],
    },
  ];

  it('writes one chain per node: loopback, replies, each allowed port and source in order, then DROP', () => {
    expect(nodeFirewallRestore('cp-1', firewalls)).toBe(
      [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':PW-NODE-FIREWALL - [0:0]',
        '-A INPUT -m comment --comment "node firewall" -j PW-NODE-FIREWALL',
        '-A PW-NODE-FIREWALL -i lo -m comment --comment "node firewall: loopback" -j ACCEPT',
        '-A PW-NODE-FIREWALL -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "node firewall: replies of known connections" -j ACCEPT',
        '-A PW-NODE-FIREWALL -p tcp -m tcp --dport 6443 -m comment --comment "control-plane: kube-apiserver" -j ACCEPT',
        '-A PW-NODE-FIREWALL -s 192.168.1.11/32 -p tcp -m tcp --dport 2379:2380 -m comment --comment "control-plane: etcd" -j ACCEPT',
        '-A PW-NODE-FIREWALL -s 192.168.1.12/32 -p tcp -m tcp --dport 2379:2380 -m comment --comment "control-plane: etcd" -j ACCEPT',
        '-A PW-NODE-FIREWALL -s 192.168.1.0/24 -p udp -m udp --dport 8472 -m comment --comment "all: UDP 8472" -j ACCEPT',
        '-A PW-NODE-FIREWALL -p icmp -m comment --comment "all: ping" -j ACCEPT',
        '-A PW-NODE-FIREWALL -m comment --comment "node firewall: nothing else is allowed" -j DROP',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(nodeFirewallRestore('worker-1', firewalls)).toContain('all: UDP 8472');
    expect(nodeFirewallRestore('worker-1', firewalls)).not.toContain('control-plane');
    expect(nodeFirewallRestore('worker-2', firewalls)).toBeNull();
  });

  it('parses without errors as iptables-restore input', () => {
    const parsed = parseIptablesSave(nodeFirewallRestore('cp-1', firewalls)!);
    expect(parsed.errors).toEqual([]);
    const chain = parsed.ruleset.get('filter')!.get(NODE_FIREWALL_CHAIN)!;
    expect(chain.rules.map((r) => r.target.kind)).toEqual([
      'ACCEPT',
      'ACCEPT',
      'ACCEPT',
      'ACCEPT',
      'ACCEPT',
      'ACCEPT',
      'ACCEPT',
      'DROP',
    ]);
  });

  const walksScenario = scenario(
    [
      '    - name: control-plane',
      "      nodeSelector: { node-role.kubernetes.io/control-plane: '' }",
      '      allow: [{ protocol: TCP, port: 6443, description: kube-apiserver }]',
      '',
    ].join('\n'),
  );

  it('is appended to the node INPUT chain after kubelet and kube-proxy, only on the nodes it selects', () => {
    const world = buildWorld(model(walksScenario));
    const input = (n: string) => world.netns(`node/${n}`).ruleset!.get('filter')!.get('INPUT')!.rules;
    const cpInput = input('cp-1');
    expect(cpInput.at(-1)!.target).toEqual({ kind: 'jump', chain: NODE_FIREWALL_CHAIN });
    expect(
      input('worker-1').some((r) => r.target.kind === 'jump' && r.target.chain === NODE_FIREWALL_CHAIN),
    ).toBe(false);
  });

  it('accepts an allowed port and drops another one with its last rule, named in the verdict', () => {
    const world = buildWorld(model(walksScenario));
    const allowed = walk(world, { from: 'node/worker-1', to: 'node/cp-1:6443', protocol: 'tcp' });
    expect(allowed.legs.map((l) => l.verdict.kind)).toEqual(['delivered', 'delivered']);
    const blocked = walk(world, { from: 'host/laptop', to: 'node/cp-1:10250', protocol: 'tcp' });
    const v = blocked.legs[0]!.verdict;
    expect(v.kind).toBe('dropped');
    expect(JSON.stringify(v)).toContain('PW-NODE-FIREWALL');
    expect(JSON.stringify(v)).toContain('node firewall: nothing else is allowed');
    // The same port on the node without a firewall is delivered.
    const open = walk(world, { from: 'host/laptop', to: 'node/worker-1:10250', protocol: 'tcp' });
    expect(open.legs[0]!.verdict.kind).toBe('delivered');
  });
});
