import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCidr } from './addr.ts';
import {
  evaluateEgress,
  evaluateIngress,
  formatReachability,
  formatReachabilityTable,
  policiesSelecting,
  policyEndpoint,
  reachability,
  selectorMatches,
  type PolicyMatch,
  type PolicyProtocol,
} from './netpol.ts';
import type {
  ClusterModel,
  ContainerPort,
  LabelSelectorModel,
  LabelSelectorRequirement,
  NetworkPolicyModel,
  NetworkPolicyPeerModel,
  NetworkPolicyPortModel,
  NetworkPolicyRuleModel,
  PodModel,
} from '../scenario/model.ts';
import { threeNodes } from '../../test/fixtures/models.ts';

// ---------------------------------------------------------------------------------------------------------
// Builders: hand-made models, independent of the scenario parser.

function pod(
  id: string,
  nodeName: string,
  podIP: string,
  labels: Record<string, string>,
  ports: ContainerPort[] = [],
  hostNetwork = false,
): PodModel {
  const [namespace, name] = id.split('/') as [string, string];
  return {
    namespace,
    name,
    nodeName,
    podIP,
    hostNetwork,
    labels,
    ports,
    ready: true,
    dnsPolicy: 'ClusterFirst',
    dnsConfig: null,
    allocated: [],
  };
}

const tcp = (containerPort: number, name: string | null = null): ContainerPort => ({
  name,
  containerPort,
  protocol: 'TCP',
});
const udp = (containerPort: number, name: string | null = null): ContainerPort => ({
  name,
  containerPort,
  protocol: 'UDP',
});

/** node-1 192.168.1.11, node-2 .12, node-3 .13 (threeNodes). */
const PODS = {
  prodWeb: pod('prod/web', 'node-1', '10.244.1.10', { app: 'web' }, [tcp(80, 'http'), tcp(9100, 'metrics')]),
  prodDb: pod('prod/db', 'node-2', '10.244.2.10', { app: 'db' }, [tcp(3306, 'mysql')]),
  prodCache: pod('prod/cache', 'node-2', '10.244.2.11', { app: 'cache', tier: 'backend' }, [tcp(6379)]),
  devWeb: pod('dev/web', 'node-3', '10.244.3.10', { app: 'web' }, [tcp(8080, 'http')]),
  devTool: pod('dev/tool', 'node-3', '10.244.3.11', { app: 'tool' }),
  dns: pod('default/dns', 'node-1', '10.244.1.53', { app: 'dns' }, [udp(53, 'dns'), tcp(53, 'dns-tcp')]),
  agent: pod('prod/agent', 'node-1', '192.168.1.11', { app: 'agent' }, [tcp(9100, 'metrics')], true),
};

const sel = (
  matchLabels: Record<string, string> = {},
  matchExpressions: LabelSelectorRequirement[] = [],
): LabelSelectorModel => ({ matchLabels, matchExpressions });

const pods = (podSelector: LabelSelectorModel | null, namespaceSelector: LabelSelectorModel | null = null) =>
  ({ kind: 'pods', podSelector, namespaceSelector }) as const;
const block = (cidr: string, except: string[] = []): NetworkPolicyPeerModel => ({
  kind: 'ipBlock',
  cidr: parseCidr(cidr),
  except: except.map((e) => parseCidr(e)),
});
const port = (
  p: number | string | null,
  protocol: NetworkPolicyPortModel['protocol'] = 'TCP',
  endPort: number | null = null,
): NetworkPolicyPortModel => ({ protocol, port: p, endPort });
const rule = (
  peers: NetworkPolicyPeerModel[] = [],
  ports: NetworkPolicyPortModel[] = [],
): NetworkPolicyRuleModel => ({
  peers,
  ports,
});

function policy(
  id: string,
  spec: {
    podSelector?: LabelSelectorModel;
    types?: ('Ingress' | 'Egress')[];
    ingress?: NetworkPolicyRuleModel[];
    egress?: NetworkPolicyRuleModel[];
  },
): NetworkPolicyModel {
  const [namespace, name] = id.split('/') as [string, string];
  return {
    namespace,
    name,
    podSelector: spec.podSelector ?? sel(),
    policyTypes: spec.types ?? ['Ingress'],
    ingress: spec.ingress ?? [],
    egress: spec.egress ?? [],
    allocated: [],
  };
}

function model(
  networkPolicies: NetworkPolicyModel[],
  podList: PodModel[] = Object.values(PODS),
): ClusterModel {
  return threeNodes('flannel-vxlan', {
    namespaces: ['default', 'prod', 'dev'],
    namespaceLabels: {
      default: { 'kubernetes.io/metadata.name': 'default' },
      prod: { 'kubernetes.io/metadata.name': 'prod', team: 'prod' },
      dev: { 'kubernetes.io/metadata.name': 'dev', team: 'dev' },
    },
    pods: podList,
    networkPolicies,
  });
}

const at = (p: PodModel) => ({ ip: p.podIP, pod: p });
const outside = (ip: string) => ({ ip, pod: null });

// ---------------------------------------------------------------------------------------------------------

describe('label selectors (apimachinery labels.Selector)', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    { name: 'empty selects everything', s: sel(), match: true },
    { name: 'matchLabels equal', s: sel({ app: 'web' }), match: true },
    { name: 'matchLabels all must hold', s: sel({ app: 'web', tier: 'back' }), match: false },
    { name: 'matchLabels missing key', s: sel({ zone: 'a' }), match: false },
    { name: 'In', s: sel({}, [{ key: 'app', operator: 'In', values: ['db', 'web'] }]), match: true },
    { name: 'In, other value', s: sel({}, [{ key: 'app', operator: 'In', values: ['db'] }]), match: false },
    { name: 'In, missing key', s: sel({}, [{ key: 'zone', operator: 'In', values: ['a'] }]), match: false },
    { name: 'NotIn', s: sel({}, [{ key: 'app', operator: 'NotIn', values: ['web'] }]), match: false },
    {
      name: 'NotIn, missing key holds',
      s: sel({}, [{ key: 'zone', operator: 'NotIn', values: ['a'] }]),
      match: true,
    },
    { name: 'Exists', s: sel({}, [{ key: 'tier', operator: 'Exists', values: [] }]), match: true },
    { name: 'Exists, missing', s: sel({}, [{ key: 'zone', operator: 'Exists', values: [] }]), match: false },
    {
      name: 'DoesNotExist',
      s: sel({}, [{ key: 'tier', operator: 'DoesNotExist', values: [] }]),
      match: false,
    },
    {
      name: 'DoesNotExist, missing',
      s: sel({}, [{ key: 'zone', operator: 'DoesNotExist', values: [] }]),
      match: true,
    },
    {
      name: 'matchLabels AND expressions',
      s: sel({ app: 'web' }, [{ key: 'tier', operator: 'NotIn', values: ['front'] }]),
      match: false,
    },
  ])('$name', ({ s, match }) => expect(selectorMatches(s, labels)).toBe(match));

  it('does not see inherited properties as labels', () => {
    const exists = sel({}, [{ key: 'constructor', operator: 'Exists', values: [] }]);
    expect(selectorMatches(exists, {})).toBe(false);
    expect(selectorMatches(exists, { constructor: 'x' })).toBe(true);
  });
});

interface Case {
  name: string;
  policies: NetworkPolicyModel[];
  direction: 'Ingress' | 'Egress';
  /** The selected pod: the destination for Ingress, the source for Egress. */
  pod: PodModel;
  peer: { ip: string; pod: PodModel | null };
  protocol?: PolicyProtocol;
  port?: number | null;
  allowed: boolean;
  isolated?: boolean;
  allowedBy?: PolicyMatch | null;
  reason?: string;
}

const denyIngress = policy('prod/deny', {});
const P = PODS;

const cases: Case[] = [
  {
    name: 'no policy: not isolated',
    policies: [],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: true,
    isolated: false,
    reason: 'no NetworkPolicy selects pod prod/db for Ingress: not isolated',
  },
  {
    name: 'default deny ingress',
    policies: [denyIngress],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: false,
    isolated: true,
    reason: 'no rule allows it: prod/deny selects pod prod/db for Ingress',
  },
  {
    name: 'a policy in another namespace does not isolate',
    policies: [policy('dev/deny', {})],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: true,
    isolated: false,
  },
  {
    name: 'an Egress-only policy does not isolate for Ingress',
    policies: [policy('prod/deny-egress', { types: ['Egress'] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: true,
    isolated: false,
  },
  {
    name: 'an Egress-only policy isolates for Egress',
    policies: [policy('prod/deny-egress', { types: ['Egress'] })],
    direction: 'Egress',
    pod: P.prodWeb,
    peer: at(P.dns),
    protocol: 'udp',
    port: 53,
    allowed: false,
    reason: 'no rule allows it: prod/deny-egress selects pod prod/web for Egress',
  },
  {
    name: 'spec.podSelector that does not select the pod',
    policies: [policy('prod/deny-web', { podSelector: sel({ app: 'web' }) })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: true,
    isolated: false,
  },
  {
    name: 'podSelector alone: same namespace',
    policies: [policy('prod/from-web', { ingress: [rule([pods(sel({ app: 'web' }))])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: true,
    allowedBy: { policy: 'prod/from-web', rule: 0, peer: 0, port: null },
    reason: 'allowed by prod/from-web spec.ingress[0] from[0]',
  },
  {
    name: 'podSelector alone: not another namespace',
    policies: [policy('prod/from-web', { ingress: [rule([pods(sel({ app: 'web' }))])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devWeb),
    allowed: false,
  },
  {
    name: 'namespaceSelector alone: every pod of the namespace',
    policies: [policy('prod/from-dev', { ingress: [rule([pods(null, sel({ team: 'dev' }))])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devTool),
    allowed: true,
  },
  {
    name: 'namespaceSelector alone: not the own namespace unless selected',
    policies: [policy('prod/from-dev', { ingress: [rule([pods(null, sel({ team: 'dev' }))])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: false,
  },
  {
    name: 'namespaceSelector on kubernetes.io/metadata.name',
    policies: [
      policy('prod/from-dev', {
        ingress: [rule([pods(null, sel({ 'kubernetes.io/metadata.name': 'dev' }))])],
      }),
    ],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devTool),
    allowed: true,
  },
  {
    name: 'both selectors in one peer: AND (pod matches, namespace does not)',
    policies: [policy('prod/and', { ingress: [rule([pods(sel({ app: 'web' }), sel({ team: 'dev' }))])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: false,
  },
  {
    name: 'both selectors in one peer: AND (namespace matches, pod does not)',
    policies: [policy('prod/and', { ingress: [rule([pods(sel({ app: 'web' }), sel({ team: 'dev' }))])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devTool),
    allowed: false,
  },
  {
    name: 'both selectors in one peer: AND (both match)',
    policies: [policy('prod/and', { ingress: [rule([pods(sel({ app: 'web' }), sel({ team: 'dev' }))])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devWeb),
    allowed: true,
  },
  {
    name: 'two peers: OR (the second matches)',
    policies: [
      policy('prod/or', { ingress: [rule([pods(null, sel({ team: 'dev' })), pods(sel({ app: 'web' }))])] }),
    ],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: true,
    allowedBy: { policy: 'prod/or', rule: 0, peer: 1, port: null },
  },
  {
    name: 'empty namespaceSelector and podSelector: every pod of every namespace',
    policies: [policy('prod/all-pods', { ingress: [rule([pods(sel(), sel())])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devTool),
    allowed: true,
  },
  {
    name: 'pod peers do not match a non-pod source',
    policies: [policy('prod/all-pods', { ingress: [rule([pods(sel(), sel())])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: outside('192.168.1.100'),
    allowed: false,
  },
  {
    name: 'pod peers do not match a hostNetwork pod (its traffic is its node’s)',
    policies: [policy('prod/all-pods', { ingress: [rule([pods(sel(), sel())])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.agent),
    allowed: false,
  },
  {
    name: 'ipBlock matches a hostNetwork pod by its node address',
    policies: [policy('prod/nodes', { ingress: [rule([block('192.168.1.0/24')])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.agent),
    allowed: true,
  },
  {
    name: 'ipBlock matches pod IPs',
    policies: [policy('prod/block', { ingress: [rule([block('10.244.3.0/24', ['10.244.3.11/32'])])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devWeb),
    allowed: true,
  },
  {
    name: 'ipBlock except',
    policies: [policy('prod/block', { ingress: [rule([block('10.244.3.0/24', ['10.244.3.11/32'])])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devTool),
    allowed: false,
  },
  {
    name: 'ipBlock except, allowed by another policy (additive)',
    policies: [
      policy('prod/block', { ingress: [rule([block('10.244.3.0/24', ['10.244.3.11/32'])])] }),
      policy('prod/tool', { ingress: [rule([block('10.244.3.11/32')])] }),
    ],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.devTool),
    allowed: true,
    allowedBy: { policy: 'prod/tool', rule: 0, peer: 0, port: null },
  },
  {
    name: 'ipBlock 0.0.0.0/0 except the pod network: the internet, not pods',
    policies: [policy('prod/external', { ingress: [rule([block('0.0.0.0/0', ['10.244.0.0/16'])])] })],
    direction: 'Ingress',
    pod: P.prodWeb,
    peer: outside('203.0.113.10'),
    allowed: true,
  },
  {
    name: 'from the own node: always allowed',
    policies: [denyIngress],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: outside('192.168.1.12'),
    allowed: true,
    isolated: true,
    reason: "from the pod's own node (192.168.1.12): always allowed",
  },
  {
    name: 'from the own node’s cni0 address (what the node sends its own pods)',
    policies: [denyIngress],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: outside('10.244.2.1'),
    allowed: true,
  },
  {
    name: 'from another node’s flannel.1 address: denied',
    policies: [denyIngress],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: outside('10.244.1.0'),
    allowed: false,
  },
  {
    name: 'from another node: denied',
    policies: [denyIngress],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: outside('192.168.1.11'),
    allowed: false,
  },
  {
    name: 'a hostNetwork pod is not subject to ingress policy',
    policies: [denyIngress],
    direction: 'Ingress',
    pod: P.agent,
    peer: at(P.devTool),
    allowed: true,
    isolated: false,
    reason: 'pod prod/agent uses the host network: NetworkPolicy does not apply to it',
  },
  {
    name: 'a hostNetwork pod is not subject to egress policy',
    policies: [policy('prod/deny-all', { types: ['Ingress', 'Egress'] })],
    direction: 'Egress',
    pod: P.agent,
    peer: at(P.devTool),
    allowed: true,
    isolated: false,
  },
  {
    name: 'numeric port',
    policies: [policy('prod/mysql', { ingress: [rule([], [port(3306)])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    port: 3306,
    allowed: true,
    allowedBy: { policy: 'prod/mysql', rule: 0, peer: null, port: 0 },
    reason: 'allowed by prod/mysql spec.ingress[0] ports[0]',
  },
  {
    name: 'numeric port, other port',
    policies: [policy('prod/mysql', { ingress: [rule([], [port(3306)])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    port: 3307,
    allowed: false,
  },
  {
    name: 'numeric port, other protocol',
    policies: [policy('prod/mysql', { ingress: [rule([], [port(3306)])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    protocol: 'udp',
    port: 3306,
    allowed: false,
  },
  {
    name: 'an SCTP port does not allow TCP',
    policies: [policy('prod/sctp', { ingress: [rule([], [port(3306, 'SCTP')])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    port: 3306,
    allowed: false,
  },
  {
    name: 'a port entry without a port: every port of its protocol',
    policies: [policy('prod/udp', { ingress: [rule([], [port(null, 'UDP')])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    protocol: 'udp',
    port: 4242,
    allowed: true,
  },
  {
    name: 'endPort: inside the range',
    policies: [policy('prod/range', { ingress: [rule([], [port(3300, 'TCP', 3310)])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    port: 3310,
    allowed: true,
  },
  {
    name: 'endPort: past the range',
    policies: [policy('prod/range', { ingress: [rule([], [port(3300, 'TCP', 3310)])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    port: 3311,
    allowed: false,
  },
  {
    name: 'named port (ingress): resolved on the selected pod',
    policies: [policy('prod/http', { ingress: [rule([], [port('http')])] })],
    direction: 'Ingress',
    pod: P.prodWeb,
    peer: at(P.devTool),
    port: 80,
    allowed: true,
  },
  {
    name: 'named port (ingress): another port number of the pod',
    policies: [policy('prod/http', { ingress: [rule([], [port('http')])] })],
    direction: 'Ingress',
    pod: P.prodWeb,
    peer: at(P.devTool),
    port: 9100,
    allowed: false,
  },
  {
    name: 'named port (ingress): the same name is another number on another pod',
    policies: [policy('dev/http', { ingress: [rule([], [port('http')])] })],
    direction: 'Ingress',
    pod: P.devWeb,
    peer: at(P.prodWeb),
    port: 8080,
    allowed: true,
  },
  {
    name: 'named port (ingress): a pod without that name',
    policies: [policy('prod/http', { ingress: [rule([], [port('http')])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    port: 80,
    allowed: false,
  },
  {
    name: 'named port (egress): resolved on the destination pod (80 on prod/web)',
    policies: [policy('prod/to-http', { types: ['Egress'], egress: [rule([], [port('http')])] })],
    direction: 'Egress',
    pod: P.prodCache,
    peer: at(P.prodWeb),
    port: 80,
    allowed: true,
  },
  {
    name: 'named port (egress): resolved on the destination pod (8080 on dev/web)',
    policies: [policy('prod/to-http', { types: ['Egress'], egress: [rule([], [port('http')])] })],
    direction: 'Egress',
    pod: P.prodCache,
    peer: at(P.devWeb),
    port: 8080,
    allowed: true,
  },
  {
    name: 'named port (egress): not the source pod’s number',
    policies: [policy('prod/to-http', { types: ['Egress'], egress: [rule([], [port('http')])] })],
    direction: 'Egress',
    pod: P.prodWeb,
    peer: at(P.devWeb),
    port: 80,
    allowed: false,
  },
  {
    name: 'named port (egress): no pod behind the address',
    policies: [policy('prod/to-http', { types: ['Egress'], egress: [rule([], [port('http')])] })],
    direction: 'Egress',
    pod: P.prodCache,
    peer: outside('203.0.113.10'),
    port: 80,
    allowed: false,
  },
  {
    name: 'named port: the protocol must match too (dns is UDP, the entry defaults to TCP)',
    policies: [policy('prod/to-dns', { types: ['Egress'], egress: [rule([], [port('dns')])] })],
    direction: 'Egress',
    pod: P.prodWeb,
    peer: at(P.dns),
    protocol: 'udp',
    port: 53,
    allowed: false,
  },
  {
    name: 'named port: dns with protocol UDP',
    policies: [policy('prod/to-dns', { types: ['Egress'], egress: [rule([], [port('dns', 'UDP')])] })],
    direction: 'Egress',
    pod: P.prodWeb,
    peer: at(P.dns),
    protocol: 'udp',
    port: 53,
    allowed: true,
  },
  {
    name: 'ICMP: a rule with ports does not match it',
    policies: [policy('prod/mysql', { ingress: [rule([], [port(3306)])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    protocol: 'icmp',
    port: null,
    allowed: false,
  },
  {
    name: 'ICMP: a rule without ports matches it',
    policies: [policy('prod/from-web', { ingress: [rule([pods(sel({ app: 'web' }))])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    protocol: 'icmp',
    port: null,
    allowed: true,
  },
  {
    name: 'an empty rule allows everything',
    policies: [denyIngress, policy('prod/allow-all', { ingress: [rule()] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: outside('203.0.113.10'),
    allowed: true,
    allowedBy: { policy: 'prod/allow-all', rule: 0, peer: null, port: null },
  },
  {
    name: 'policies are additive: the second of two selecting policies allows it',
    policies: [
      policy('prod/from-dev', { ingress: [rule([pods(null, sel({ team: 'dev' }))])] }),
      policy('prod/from-web', { ingress: [rule([pods(sel({ app: 'web' }))])] }),
    ],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    allowed: true,
    allowedBy: { policy: 'prod/from-web', rule: 0, peer: 0, port: null },
  },
  {
    name: 'the second rule of a policy',
    policies: [
      policy('prod/rules', {
        ingress: [rule([], [port(1)]), rule([pods(sel({ app: 'web' }))], [port(3306)])],
      }),
    ],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    port: 3306,
    allowed: true,
    allowedBy: { policy: 'prod/rules', rule: 1, peer: 0, port: 0 },
    reason: 'allowed by prod/rules spec.ingress[1] from[0] ports[0]',
  },
  {
    name: 'egress: to a namespace',
    policies: [
      policy('prod/to-dev', { types: ['Egress'], egress: [rule([pods(null, sel({ team: 'dev' }))])] }),
    ],
    direction: 'Egress',
    pod: P.prodWeb,
    peer: at(P.devTool),
    allowed: true,
    reason: 'allowed by prod/to-dev spec.egress[0] to[0]',
  },
  {
    name: 'egress: the rules of an Ingress-only policy do not apply',
    policies: [policy('prod/ingress-only', { types: ['Ingress'], egress: [rule()] })],
    direction: 'Egress',
    pod: P.prodWeb,
    peer: at(P.devTool),
    allowed: true,
    isolated: false,
  },
  {
    name: 'several selecting policies are named in the reason',
    policies: [denyIngress, policy('prod/mysql', { ingress: [rule([], [port(3306)])] })],
    direction: 'Ingress',
    pod: P.prodDb,
    peer: at(P.prodWeb),
    port: 80,
    allowed: false,
    reason: 'no rule allows it: prod/deny, prod/mysql select pod prod/db for Ingress',
  },
];

describe('evaluateIngress / evaluateEgress', () => {
  it.each(cases)('$name', (c) => {
    const m = model(c.policies);
    const f = c.direction === 'Ingress' ? evaluateIngress : evaluateEgress;
    const v = f(m, c.pod, c.peer, c.protocol ?? 'tcp', c.port === undefined ? 80 : c.port);
    expect(v.allowed).toBe(c.allowed);
    if (c.isolated !== undefined) expect(v.isolated).toBe(c.isolated);
    if (c.allowedBy !== undefined) expect(v.allowedBy).toEqual(c.allowedBy);
    if (c.reason !== undefined) expect(v.reason).toBe(c.reason);
    if (!v.allowed) expect(v.allowedBy).toBeNull();
    expect(v.isolated).toBe(v.selecting.length > 0);
  });

  it('lists the selecting policies in document order, per direction', () => {
    const m = model([
      policy('prod/b-egress', { types: ['Egress'] }),
      policy('prod/a-both', { types: ['Ingress', 'Egress'] }),
      policy('prod/c-db', { podSelector: sel({ app: 'db' }) }),
    ]);
    expect(policiesSelecting(m, P.prodWeb, 'Egress')).toEqual(['prod/b-egress', 'prod/a-both']);
    expect(policiesSelecting(m, P.prodWeb, 'Ingress')).toEqual(['prod/a-both']);
    expect(policiesSelecting(m, P.prodDb, 'Ingress')).toEqual(['prod/a-both', 'prod/c-db']);
    expect(policiesSelecting(m, P.agent, 'Ingress')).toEqual([]);
  });

  it('falls back to the kubernetes.io/metadata.name label for a namespace without labels', () => {
    const m = {
      ...model([
        policy('prod/from-dev', {
          ingress: [rule([pods(null, sel({ 'kubernetes.io/metadata.name': 'dev' }))])],
        }),
      ]),
      namespaceLabels: {},
    };
    expect(evaluateIngress(m, P.prodDb, at(P.devTool), 'tcp', 3306).allowed).toBe(true);
    expect(evaluateIngress(m, P.prodDb, at(P.prodWeb), 'tcp', 3306).allowed).toBe(false);
  });

  it('finds the pod behind an address, never a hostNetwork one', () => {
    const m = model([]);
    expect(policyEndpoint(m, '10.244.2.10')).toEqual({ ip: '10.244.2.10', pod: P.prodDb });
    expect(policyEndpoint(m, '192.168.1.11')).toEqual({ ip: '192.168.1.11', pod: null });
    expect(policyEndpoint(m, '8.8.8.8')).toEqual({ ip: '8.8.8.8', pod: null });
  });

  it('is deterministic and does not depend on evaluation order (index caching)', () => {
    const policies = [
      policy('prod/from-web', { ingress: [rule([pods(sel({ app: 'web' }))])] }),
      policy('dev/deny', { types: ['Ingress', 'Egress'] }),
    ];
    const flows = Object.values(P).flatMap((a) => Object.values(P).map((b) => [a, b] as const));
    const run = (m: ClusterModel, order: readonly (readonly [PodModel, PodModel])[]) =>
      new Map(
        order.map(([a, b]) => [
          `${a.namespace}/${a.name}>${b.namespace}/${b.name}`,
          [evaluateEgress(m, a, at(b), 'tcp', 80).reason, evaluateIngress(m, b, at(a), 'tcp', 80).reason],
        ]),
      );
    fc.assert(
      fc.property(fc.shuffledSubarray(flows, { minLength: flows.length }), (shuffled) => {
        const fresh = model(policies);
        const a = run(fresh, shuffled);
        const b = run(model(policies), flows);
        expect([...a.entries()].sort()).toEqual([...b.entries()].sort());
      }),
      { numRuns: 20 },
    );
  });

  it('stays cheap for thousands of pods (the walker asks per packet)', () => {
    // 4,000 pods in 20 namespaces, 200 policies; 100,000 evaluations. Generous bound: about 0.2 s here.
    const many: PodModel[] = [];
    for (let i = 0; i < 4000; i++) {
      const ns = `ns-${i % 20}`;
      const ip = `10.244.${Math.floor(i / 250)}.${(i % 250) + 2}`;
      many.push(pod(`${ns}/p-${i}`, 'node-1', ip, { app: `app-${i % 50}` }, [tcp(8080, 'http')]));
    }
    const policies = Array.from({ length: 200 }, (_, i) =>
      policy(`ns-${i % 20}/allow-${i}`, {
        podSelector: sel({ app: `app-${i % 50}` }),
        ingress: [rule([pods(sel({ app: `app-${(i + 1) % 50}` }), sel({}))], [port('http')])],
      }),
    );
    const m = { ...model(policies, many), namespaces: [], namespaceLabels: {} };
    const start = performance.now();
    let allowed = 0;
    let seed = 1;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % many.length; // a fixed LCG
    for (let k = 0; k < 100_000; k++) {
      const src = many[next()]!;
      const dst = many[next()]!;
      if (evaluateIngress(m, dst, at(src), 'tcp', 8080).allowed) allowed++;
    }
    expect(allowed).toBeGreaterThan(0);
    expect(allowed).toBeLessThan(100_000);
    expect(performance.now() - start).toBeLessThan(5000);
  });
});

describe('reachability', () => {
  const m = model([
    policy('prod/deny', {}),
    policy('prod/db-from-web', {
      podSelector: sel({ app: 'db' }),
      ingress: [rule([pods(sel({ app: 'web' }))], [port('mysql')])],
    }),
  ]);

  it('probes each pod on its own container ports, one table per port, hostNetwork pods left out', () => {
    const r = reachability(m);
    expect(r.pods).toEqual(['prod/web', 'prod/db', 'prod/cache', 'dev/web', 'dev/tool', 'default/dns']);
    expect(r.tables.map((t) => [`${t.probe.port}/${t.probe.protocol}`, t.to])).toEqual([
      ['53/TCP', ['default/dns']],
      ['80/TCP', ['prod/web']],
      ['3306/TCP', ['prod/db']],
      ['6379/TCP', ['prod/cache']],
      ['8080/TCP', ['dev/web']],
      ['9100/TCP', ['prod/web']],
      ['53/UDP', ['default/dns']],
    ]);
  });

  it('prints the e2e suite’s truth table: rows from, columns to, "." allowed, "X" denied', () => {
    const table = reachability(m, { ports: [3306] }).tables[0]!;
    expect(formatReachabilityTable(table)).toBe(
      [
        '-            prod/web  prod/db  prod/cache  dev/web  dev/tool  default/dns',
        'prod/web     .         .        X           .        .         .',
        'prod/db      X         .        X           .        .         .',
        'prod/cache   X         X        .           .        .         .',
        'dev/web      X         X        X           .        .         .',
        'dev/tool     X         X        X           .        .         .',
        'default/dns  X         X        X           .        .         .',
        '',
      ].join('\n'),
    );
    const cell = table.cells[1]![0]!;
    expect(cell.reason).toBe('ingress: no rule allows it: prod/deny selects pod prod/web for Ingress');
    expect(table.cells[0]![1]!.ingress?.allowedBy).toEqual({
      policy: 'prod/db-from-web',
      rule: 0,
      peer: 0,
      port: 0,
    });
    expect(table.cells[2]![2]).toMatchObject({ allowed: true, egress: null, ingress: null });
  });

  it('filters container ports by protocol, and names the counts per table', () => {
    const text = formatReachability(reachability(m, { protocol: 'UDP' }));
    expect(text).toBe(
      [
        '53/UDP: 6 allowed, 0 denied',
        '-            default/dns',
        'prod/web     .',
        'prod/db      .',
        'prod/cache   .',
        'dev/web      .',
        'dev/tool     .',
        'default/dns  .',
        '',
      ].join('\n'),
    );
    expect(formatReachability(reachability(model([], [P.devTool])))).toContain(
      'no pods with container ports',
    );
  });
});
