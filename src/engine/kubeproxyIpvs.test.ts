import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { danglingJumps, parseIptablesSave } from './iptables.ts';
import {
  emptyIpvsState,
  formatIpsetList,
  formatIpvsadmList,
  ipsetMatcher,
  ipsetReferences,
  ipvsLocalIn,
  ipvsServiceKey,
  type IpvsState,
} from './ipvs.ts';
import {
  KUBE_IPVS_SETS,
  kubeProxyIpvsBuiltinJumps,
  kubeProxyIpvsIptablesSave,
  kubeProxyIpvsRuleset,
  kubeProxyIpvsSync,
  type KubeProxyIpvsResult,
} from './kubeproxyIpvs.ts';
import {
  kubeProxyInputFromModel,
  type KubeProxyEndpointSlice,
  type KubeProxyInput,
  type KubeProxyService,
  type ServiceProtocol,
} from './kubeproxy.ts';
import { parseScenario } from '../scenario/parse.ts';
import {
  evaluateTable,
  type AddrType,
  type Hook,
  type PacketView,
  type Ruleset,
  type Table,
} from './netfilter.ts';

// ---------------------------------------------------------------------------------------------------------
// The fixtures: kube-proxy's own ipvs proxier tests (test/fixtures/kube-proxy-ipvs/*.json), turned into data.

interface FixtureService extends Partial<Omit<KubeProxyService, 'ports'>> {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly {
    name: string;
    port: number;
    protocol: ServiceProtocol;
    nodePort: number | null;
  }[];
}
interface FixtureSlice {
  readonly namespace: string;
  readonly name: string;
  readonly serviceName: string;
  readonly addressType: 'IPv4' | 'IPv6';
  readonly endpoints: readonly {
    addresses: string[];
    nodeName?: string;
    ready?: boolean;
    serving?: boolean;
    terminating?: boolean;
  }[];
  readonly ports: readonly { name: string; port: number; protocol: ServiceProtocol }[];
}
interface ChainRule {
  readonly jump: string;
  readonly matchSet?: string;
  readonly source?: string;
}
interface FixtureCase {
  readonly name: string;
  readonly nodeIPs?: string[];
  readonly nodePortAddresses?: string[];
  readonly hasRandomFully?: boolean;
  readonly services: FixtureService[];
  readonly endpointSlices: FixtureSlice[];
  readonly expect: {
    readonly virtualServers?: Record<string, string[]>;
    readonly virtualServerCount?: number;
    readonly ipsets?: Record<string, string[]>;
    readonly chains?: Record<string, ChainRule[]>;
    readonly dummyAddresses?: string[];
    readonly persistenceTimeout?: number;
    readonly natChains?: string;
    readonly filterChains?: string;
    readonly masquerade?: string;
  };
}
interface Fixture {
  readonly source: string;
  readonly tests: string[];
  readonly node: { nodeName: string; nodeIP: string; clusterCIDR: string | null; masqueradeMark: string };
  readonly cases: FixtureCase[];
}

const DIR = new URL('../../test/fixtures/kube-proxy-ipvs/', import.meta.url);
const FIXTURES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, fixture: JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as Fixture }));
const CASES = FIXTURES.flatMap(({ file, fixture }) => fixture.cases.map((c) => ({ file, fixture, c })));

function inputOf(node: Fixture['node'], c: FixtureCase): KubeProxyInput {
  return {
    nodeName: node.nodeName,
    nodeIP: node.nodeIP,
    nodeIPs: c.nodeIPs ?? [],
    clusterCIDR: node.clusterCIDR,
    masqueradeAll: false,
    masqueradeMark: node.masqueradeMark,
    hasRandomFully: c.hasRandomFully ?? false,
    localhostNodePorts: true,
    nodePortAddresses: c.nodePortAddresses ?? null,
    conntrackTCPLiberal: false,
    nfacctCounters: {},
    services: c.services.map((s) => ({
      type: 'ClusterIP',
      clusterIP: null,
      externalIPs: [],
      loadBalancerIngress: [],
      loadBalancerSourceRanges: [],
      externalTrafficPolicy: null,
      internalTrafficPolicy: null,
      healthCheckNodePort: null,
      sessionAffinity: 'None',
      sessionAffinityTimeoutSeconds: null,
      ...s,
    })),
    endpointSlices: c.endpointSlices.map((es): KubeProxyEndpointSlice => ({
      ...es,
      endpoints: es.endpoints.map((e) => ({
        addresses: e.addresses,
        nodeName: e.nodeName ?? null,
        conditions: {
          ready: e.ready ?? null,
          serving: e.serving ?? null,
          terminating: e.terminating ?? null,
        },
      })),
    })),
  };
}

/** checkIptables' view of a chain: its rules in the nat table, then in the filter table (getRules). */
function chainRules(result: KubeProxyIpvsResult, chain: string): ChainRule[] {
  const { ruleset } = parseIptablesSave(result.restoreInput);
  return (['nat', 'filter'] as const).flatMap((t) =>
    (ruleset.get(t)?.get(chain)?.rules ?? []).map((r) => {
      const set = r.matches.find((m) => m.kind === 'set');
      const src = r.matches.find((m) => m.kind === 'src');
      const t2 = r.target;
      return {
        jump: t2.kind === 'jump' || t2.kind === 'goto' ? t2.chain : t2.kind,
        matchSet: set?.kind === 'set' ? set.name : '',
        ...(src?.kind === 'src' ? { source: `${src.cidr.ip}/${src.cidr.prefix}` } : {}),
      };
    }),
  );
}

describe("kube-proxy's ipvs proxier tests (test/fixtures/kube-proxy-ipvs)", () => {
  it('has the fixtures', () => {
    expect(FIXTURES.map((f) => f.file)).toEqual([
      'chains.json',
      'cluster_ip.json',
      'external_ips.json',
      'load_balancer.json',
      'node_port.json',
      'traffic_policy.json',
    ]);
  });

  it.each(CASES.map(({ file, fixture, c }) => [`${file}: ${c.name}`, fixture, c] as const))(
    '%s',
    (_name, fixture, c) => {
      const r = kubeProxyIpvsSync(inputOf(fixture.node, c));
      const e = c.expect;
      if (e.virtualServers) {
        const got = Object.fromEntries(
          r.table.services.map((v) => [
            ipvsServiceKey(v),
            v.realServers.map((s) => `${s.ip}:${s.port}`).sort(),
          ]),
        );
        expect(got).toEqual(
          Object.fromEntries(Object.entries(e.virtualServers).map(([k, v]) => [k, [...v].sort()])),
        );
        // Upstream's expected virtual servers: rr, weight 1, no flags (no session affinity in these cases).
        for (const v of r.table.services) {
          expect(v.scheduler).toBe('rr');
          for (const s of v.realServers) expect([s.weight, s.forward]).toEqual([1, 'Masq']);
        }
      }
      if (e.virtualServerCount !== undefined) expect(r.table.services).toHaveLength(e.virtualServerCount);
      for (const [name, entries] of Object.entries(e.ipsets ?? {}))
        expect(r.ipsets.find((s) => s.name === name)?.entries, name).toEqual([...entries].sort());
      for (const [chain, rules] of Object.entries(e.chains ?? {})) {
        const got = chainRules(r, chain);
        expect(
          got.map((g, i) => ({ ...g, ...(rules[i]?.source === undefined ? { source: undefined } : {}) })),
          chain,
        ).toEqual(
          rules.map((x) => ({
            matchSet: '',
            ...x,
            ...(x.source === undefined ? { source: undefined } : {}),
          })),
        );
      }
      if (e.dummyAddresses) expect(r.dummyDevice.addresses).toEqual(e.dummyAddresses);
      if (e.persistenceTimeout !== undefined)
        for (const v of r.table.services) expect([v.flags & 1, v.timeout]).toEqual([1, e.persistenceTimeout]);
      const decl = (table: string): string =>
        r.restoreInput
          .split(`*${table}\n`)[1]!
          .split('COMMIT')[0]!
          .split('\n')
          .filter((l) => l.startsWith(':'))
          .map((l) => `${l}\n`)
          .join('');
      if (e.natChains !== undefined) expect(decl('nat')).toBe(e.natChains);
      if (e.filterChains !== undefined) expect(decl('filter')).toBe(e.filterChains);
      if (e.masquerade !== undefined)
        expect(r.restoreInput.split('\n').filter((l) => l.includes('-j MASQUERADE'))).toEqual([e.masquerade]);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------
// A small cluster node, for the rest.

const SVC = (over: Partial<KubeProxyService> & Pick<KubeProxyService, 'name'>): KubeProxyService => ({
  namespace: 'default',
  type: 'ClusterIP',
  clusterIP: '10.96.0.10',
  ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: null }],
  externalIPs: [],
  loadBalancerIngress: [],
  loadBalancerSourceRanges: [],
  externalTrafficPolicy: null,
  internalTrafficPolicy: null,
  healthCheckNodePort: null,
  sessionAffinity: 'None',
  sessionAffinityTimeoutSeconds: null,
  ...over,
});
const SLICE = (service: string, eps: [string, string][], port = 8080): KubeProxyEndpointSlice => ({
  namespace: 'default',
  name: `${service}-abc`,
  serviceName: service,
  addressType: 'IPv4',
  ports: [{ name: 'http', port, protocol: 'TCP' }],
  endpoints: eps.map(([ip, node]) => ({
    addresses: [ip],
    nodeName: node,
    conditions: { ready: true, serving: true, terminating: false },
  })),
});
const NODE: KubeProxyInput = {
  nodeName: 'node-1',
  nodeIP: '192.168.1.11',
  nodeIPs: ['192.168.1.11', '10.244.1.0', '10.244.1.1'],
  clusterCIDR: '10.244.0.0/16',
  masqueradeAll: false,
  masqueradeMark: '0x00004000',
  hasRandomFully: true,
  localhostNodePorts: true,
  nodePortAddresses: null,
  conntrackTCPLiberal: false,
  nfacctCounters: {},
  services: [
    SVC({ name: 'web' }),
    SVC({
      name: 'shop',
      type: 'NodePort',
      clusterIP: '10.96.0.20',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }],
    }),
    SVC({ name: 'empty', clusterIP: '10.96.0.30' }),
  ],
  endpointSlices: [
    SLICE('web', [
      ['10.244.1.2', 'node-1'],
      ['10.244.2.3', 'node-2'],
    ]),
    SLICE('shop', [['10.244.2.4', 'node-2']]),
  ],
};

describe('kubeProxyIpvsSync on a node', () => {
  const r = kubeProxyIpvsSync(NODE);

  it('binds every ClusterIP to kube-ipvs0 and makes a virtual server per address and port', () => {
    expect(r.dummyDevice).toEqual({
      name: 'kube-ipvs0',
      addresses: ['10.96.0.10', '10.96.0.20', '10.96.0.30'],
    });
    expect(formatIpvsadmList(r.table)).toBe(
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        // libipvs' 32-bit subtraction wraps between 10.x and 192.168.x: the node address sorts first, as on
        // real nodes.
        'TCP  192.168.1.11:30080 rr',
        '  -> 10.244.2.4:8080              Masq    1      0          0         ',
        'TCP  10.96.0.10:80 rr',
        '  -> 10.244.1.2:8080              Masq    1      0          0         ',
        '  -> 10.244.2.3:8080              Masq    1      0          0         ',
        'TCP  10.96.0.20:80 rr',
        '  -> 10.244.2.4:8080              Masq    1      0          0         ',
        'TCP  10.96.0.30:80 rr',
        'TCP  10.244.1.0:30080 rr',
        '  -> 10.244.2.4:8080              Masq    1      0          0         ',
        'TCP  10.244.1.1:30080 rr',
        '  -> 10.244.2.4:8080              Masq    1      0          0         ',
        '',
      ].join('\n'),
    );
  });

  it('fills the sets kube-proxy creates, and lists them as ipset does', () => {
    expect(r.ipsets.map((s) => s.name)).toEqual(KUBE_IPVS_SETS.map((s) => s.name));
    const nonEmpty = r.ipsets.filter((s) => s.entries.length > 0);
    expect(Object.fromEntries(nonEmpty.map((s) => [s.name, s.entries]))).toEqual({
      'KUBE-LOOP-BACK': ['10.244.1.2,tcp:8080,10.244.1.2'],
      'KUBE-CLUSTER-IP': ['10.96.0.10,tcp:80', '10.96.0.20,tcp:80', '10.96.0.30,tcp:80'],
      'KUBE-NODE-PORT-TCP': ['30080'],
      'KUBE-IPVS-IPS': ['10.96.0.10', '10.96.0.20', '10.96.0.30'],
    });
    const refs = ipsetReferences(kubeProxyIpvsRuleset(r));
    expect(refs).toEqual({
      'KUBE-LOOP-BACK': 1,
      'KUBE-CLUSTER-IP': 3,
      'KUBE-NODE-PORT-TCP': 1,
      'KUBE-HEALTH-CHECK-NODE-PORT': 2,
      'KUBE-LOAD-BALANCER': 1,
      'KUBE-EXTERNAL-IP': 1,
      'KUBE-EXTERNAL-IP-LOCAL': 1,
      'KUBE-IPVS-IPS': 1,
    });
    expect(
      formatIpsetList(
        nonEmpty.filter((s) => s.name === 'KUBE-NODE-PORT-TCP'),
        refs,
      ),
    ).toBe(
      [
        'Name: KUBE-NODE-PORT-TCP',
        'Type: bitmap:port',
        'Revision: 3',
        'Header: range 0-65535',
        'Size in memory: 8264',
        'References: 1',
        'Number of entries: 1',
        'Members:',
        '30080',
        '',
      ].join('\n'),
    );
  });

  it('writes the restore input in syncProxyRules order, which the parser loads with only -m physdev and -m ipvs unknown', () => {
    expect(r.restoreInput).toBe(
      [
        '*nat',
        ':KUBE-SERVICES - [0:0]',
        ':KUBE-POSTROUTING - [0:0]',
        ':KUBE-NODE-PORT - [0:0]',
        ':KUBE-LOAD-BALANCER - [0:0]',
        ':KUBE-MARK-MASQ - [0:0]',
        '-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN',
        '-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE',
        '-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ',
        '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
        '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
        '-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ',
        '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
        '-A KUBE-POSTROUTING -m mark ! --mark 0x00004000/0x00004000 -j RETURN',
        '-A KUBE-POSTROUTING -j MARK --xor-mark 0x00004000',
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
        '-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000',
        'COMMIT',
        '*filter',
        ':KUBE-FORWARD - [0:0]',
        ':KUBE-NODE-PORT - [0:0]',
        ':KUBE-PROXY-FIREWALL - [0:0]',
        ':KUBE-SOURCE-RANGES-FIREWALL - [0:0]',
        ':KUBE-IPVS-FILTER - [0:0]',
        ':KUBE-IPVS-OUT-FILTER - [0:0]',
        '-A KUBE-SOURCE-RANGES-FIREWALL -j DROP',
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x00004000/0x00004000 -j ACCEPT',
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A KUBE-NODE-PORT -m comment --comment "Kubernetes health check node port" -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT',
        '-A KUBE-IPVS-FILTER -m set --match-set KUBE-LOAD-BALANCER dst,dst -j RETURN',
        '-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN',
        '-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP dst,dst -j RETURN',
        '-A KUBE-IPVS-FILTER -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst -j RETURN',
        '-A KUBE-IPVS-FILTER -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN',
        '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT',
        'COMMIT',
        '',
      ].join('\n'),
    );
    const rs = kubeProxyIpvsRuleset(r);
    const unknown = [...rs.values()].flatMap((chains) =>
      [...chains.values()].flatMap((c) =>
        c.rules.flatMap((x) => x.matches.filter((m) => m.kind === 'unknown')),
      ),
    );
    expect(unknown).toEqual([]);
    expect(danglingJumps(rs)).toEqual([]);
  });

  it('the iptables-save view: built-in chains first, with the jumps kube-proxy prepended', () => {
    const text = kubeProxyIpvsIptablesSave(r);
    expect(
      text.split('\n').filter((l) => /^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /.test(l)),
    ).toEqual([
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
      '-A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER',
      '-A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
      '-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT',
      '-A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
      '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      '-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER',
    ]);
    expect(text.split('\n').slice(0, 5)).toEqual([
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
    ]);
    expect(parseIptablesSave(text).errors).toEqual([]);
  });

  it('kubeProxyIpvsBuiltinJumps: per chain in reverse order of iptablesJumpChain, kubelet’s KUBE-FIREWALL after', () => {
    expect(kubeProxyIpvsBuiltinJumps().map((j) => `${j.table} ${j.by} ${j.rule}`)).toEqual([
      'nat kube-proxy -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'nat kube-proxy -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      'nat kube-proxy -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
      'filter kube-proxy -A FORWARD -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
      'filter kube-proxy -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      'filter kube-proxy -A INPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER',
      'filter kube-proxy -A INPUT -m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL',
      'filter kube-proxy -A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT',
      'filter kubelet -A INPUT -j KUBE-FIREWALL',
      'filter kube-proxy -A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER',
      'filter kubelet -A OUTPUT -j KUBE-FIREWALL',
    ]);
  });

  it.each<[string, Partial<KubeProxyInput>, string]>([
    [
      'masqueradeAll',
      { masqueradeAll: true },
      '-m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
    ],
    [
      'a bridge-interface detector',
      { localDetector: { mode: 'BridgeInterface', interface: 'cni0' } },
      '-m set --match-set KUBE-CLUSTER-IP dst,dst ! -i cni0 -j KUBE-MARK-MASQ',
    ],
    [
      'no detector: masquerade what the node sends from a VIP',
      { clusterCIDR: null },
      '-m set --match-set KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ',
    ],
  ])('the ClusterIP masquerade rule with %s', (_name, over, tail) => {
    const line = kubeProxyIpvsSync({ ...NODE, ...over })
      .restoreInput.split('\n')
      .find((l) => l.includes('cluster ip + port for masquerade purpose'));
    expect(line).toBe(
      `-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" ${tail}`,
    );
  });

  it('options: the scheduler (mh sets FlagSourceHash), strict ARP, no access filter', () => {
    const mh = kubeProxyIpvsSync(NODE, { scheduler: 'mh', strictARP: true, accessFilter: false });
    expect(mh.table.services.every((v) => v.scheduler === 'mh' && v.flags === 0x10)).toBe(true);
    expect(mh.sysctls.map((s) => `${s.key}=${s.value}`)).toEqual([
      'net.ipv4.vs.conntrack=1',
      'net.ipv4.vs.expire_nodest_conn=1',
      'net.ipv4.vs.expire_quiescent_template=1',
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.arp_ignore=1',
      'net.ipv4.conf.all.arp_announce=2',
    ]);
    expect(mh.restoreInput).not.toContain('KUBE-IPVS-FILTER');
    expect(mh.restoreInput).not.toContain('KUBE-IPVS-OUT-FILTER');
    expect(mh.ipsets.map((s) => s.name)).not.toContain('KUBE-IPVS-IPS');
    expect(
      kubeProxyIpvsBuiltinJumps({ accessFilter: false }).some((j) => j.rule.includes('ipvs access filter')),
    ).toBe(false);
  });

  it('sessionAffinity ClientIP makes persistent virtual servers with the affinity timeout', () => {
    const sticky = kubeProxyIpvsSync({
      ...NODE,
      services: [SVC({ name: 'web', sessionAffinity: 'ClientIP', sessionAffinityTimeoutSeconds: 600 })],
    });
    expect(sticky.table.services.map((v) => [v.flags, v.timeout])).toEqual([[1, 600]]);
    expect(formatIpvsadmList(sticky.table).split('\n')[3]).toBe('TCP  10.96.0.10:80 rr persistent 600');
  });

  it('an externalIP or LB IP that is a node address is not bound to kube-ipvs0', () => {
    const ext = kubeProxyIpvsSync({
      ...NODE,
      services: [SVC({ name: 'web', externalIPs: ['192.168.1.11', '203.0.113.7'] })],
    });
    expect(ext.dummyDevice.addresses).toEqual(['10.96.0.10', '203.0.113.7']);
    expect(ext.table.services.map(ipvsServiceKey)).toEqual([
      'TCP 10.96.0.10:80',
      'TCP 192.168.1.11:80',
      'TCP 203.0.113.7:80',
    ]);
  });

  it('a LoadBalancer whose source ranges admit the node: KUBE-LOAD-BALANCER-SOURCE-IP, no KUBE-IPVS-OUT-FILTER rule', () => {
    const lb = kubeProxyIpvsSync({
      ...NODE,
      services: [
        SVC({
          name: 'web',
          type: 'LoadBalancer',
          loadBalancerIngress: [{ ip: '1.2.3.4' }],
          loadBalancerSourceRanges: [' 192.168.1.0/24 '],
        }),
      ],
    });
    expect(lb.ipsets.find((s) => s.name === 'KUBE-LOAD-BALANCER-SOURCE-IP')?.entries).toEqual([
      '1.2.3.4,tcp:80,1.2.3.4',
    ]);
    expect(lb.restoreInput).not.toContain('-A KUBE-IPVS-OUT-FILTER');
  });
});

// ---------------------------------------------------------------------------------------------------------
// One packet through the node's rules and IPVS: what docs/ipvs.md describes.

describe('a packet through the node in ipvs mode (netfilter + ipset + IPVS)', () => {
  const result = kubeProxyIpvsSync(NODE);
  const rs = kubeProxyIpvsRuleset(result);
  const local = new Set([...NODE.nodeIPs, ...result.dummyDevice.addresses, '127.0.0.1']);
  const view = (over: Partial<PacketView>, sets = result.ipsets): PacketView => ({
    src: '10.244.1.5',
    dst: '10.96.0.10',
    proto: 'tcp',
    sport: 40000,
    dport: 80,
    inIface: 'cni0',
    outIface: '',
    mark: 0,
    ctstate: ['NEW'],
    addrType: (ip): AddrType => (local.has(ip) ? 'LOCAL' : 'UNICAST'),
    recentSeen: () => false,
    ipsetMatch: ipsetMatcher(sets),
    ...over,
  });
  const run = (ruleset: Ruleset, table: Table, hook: Hook, p: PacketView) =>
    evaluateTable(ruleset, table, hook, p, () => {
      throw new Error('no statistic match in ipvs mode');
    });

  it("a pod's SYN to a ClusterIP: no mark in PREROUTING, accepted in INPUT, DNATed by IPVS", () => {
    const pre = run(rs, 'nat', 'PREROUTING', view({}));
    expect(pre).toMatchObject({ verdict: 'ACCEPT', mark: 0, nat: null });
    expect(pre.steps.at(-1)?.rule).toBe(
      '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
    );
    const input = run(rs, 'filter', 'INPUT', view({}));
    expect(input).toMatchObject({ verdict: 'ACCEPT' });
    expect(input.steps.map((s) => s.action)).toContain('RETURN');
    const ipvs = ipvsLocalIn(
      result.table,
      { proto: 'tcp', src: '10.244.1.5', sport: 40000, dst: '10.96.0.10', dport: 80, tcpFlags: 'S', ttl: 64 },
      emptyIpvsState(),
      {
        isLocal: (ip) => local.has(ip),
      },
    );
    expect(ipvs).toMatchObject({ kind: 'forward', rewrite: { dst: '10.244.1.2', dport: 8080, ttl: 63 } });
    // Re-sent through LOCAL_OUT and POSTROUTING: no mark, no masquerade (a pod source keeps its address).
    const post = run(rs, 'nat', 'POSTROUTING', view({ dst: '10.244.1.2', dport: 8080, outIface: 'cni0' }));
    expect(post).toMatchObject({ verdict: 'ACCEPT', nat: null });
  });

  it('hairpin: a pod reaching its own Service is masqueraded through KUBE-LOOP-BACK', () => {
    const post = run(rs, 'nat', 'POSTROUTING', view({ src: '10.244.1.2', dst: '10.244.1.2', dport: 8080 }));
    expect(post).toMatchObject({ verdict: 'ACCEPT', nat: { kind: 'MASQUERADE', randomFully: false } });
  });

  it('the node itself (source = the VIP, picked by the local route) is marked in OUTPUT and masqueraded', () => {
    const out = run(rs, 'nat', 'OUTPUT', view({ src: '10.96.0.10', inIface: '' }));
    expect(out).toMatchObject({ verdict: 'ACCEPT', mark: 0x4000 });
    const post = run(
      rs,
      'nat',
      'POSTROUTING',
      view({ src: '10.96.0.10', dst: '10.244.2.3', dport: 8080, mark: 0x4000, inIface: '' }),
    );
    expect(post).toMatchObject({ nat: { kind: 'MASQUERADE', randomFully: true } });
  });

  it('ping to a ClusterIP: KUBE-IPVS-FILTER rejects it (kube-proxy ≥ 1.27); without the filter the host answers', () => {
    const echo = view({ proto: 'icmp', sport: null, dport: null });
    const rejected = run(rs, 'filter', 'INPUT', echo);
    expect(rejected).toMatchObject({ verdict: 'REJECT', rejectWith: 'icmp-port-unreachable' });
    expect(rejected.steps.at(-1)?.rule).toBe(
      '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT',
    );
    const old = kubeProxyIpvsSync(NODE, { accessFilter: false });
    const accepted = run(
      kubeProxyIpvsRuleset(old),
      'filter',
      'INPUT',
      view({ proto: 'icmp', sport: null, dport: null }, old.ipsets),
    );
    expect(accepted.verdict).toBe('ACCEPT');
    const ipvs = ipvsLocalIn(
      old.table,
      { proto: 'icmp', src: '10.244.1.5', dst: '10.96.0.10', sport: null, dport: null, ttl: 64 },
      emptyIpvsState(),
    );
    expect(ipvs.kind).toBe('pass');
  });

  it('a port of the VIP no Service has (e.g. the host’s ssh): rejected, kubernetes/kubernetes#72236', () => {
    expect(run(rs, 'filter', 'INPUT', view({ dport: 22 }))).toMatchObject({ verdict: 'REJECT' });
  });

  it('a Service without endpoints: IPVS answers ICMP port unreachable', () => {
    const r = ipvsLocalIn(
      result.table,
      { proto: 'tcp', src: '10.244.1.5', sport: 40000, dst: '10.96.0.30', dport: 80, tcpFlags: 'S', ttl: 64 },
      emptyIpvsState(),
    );
    expect(r).toMatchObject({ kind: 'reject', icmp: { type: 3, code: 3 } });
  });

  it('a NodePort from outside: KUBE-NODE-PORT marks it for masquerade; IPVS forwards to the endpoint', () => {
    const p = view({ src: '192.168.1.50', dst: '192.168.1.11', dport: 30080, inIface: 'eth0' });
    expect(run(rs, 'nat', 'PREROUTING', p)).toMatchObject({ verdict: 'ACCEPT', mark: 0x4000 });
    expect(run(rs, 'filter', 'INPUT', p)).toMatchObject({ verdict: 'ACCEPT' });
    let state: IpvsState = emptyIpvsState();
    const r = ipvsLocalIn(
      result.table,
      {
        proto: 'tcp',
        src: '192.168.1.50',
        sport: 50000,
        dst: '192.168.1.11',
        dport: 30080,
        tcpFlags: 'S',
        ttl: 64,
      },
      state,
    );
    expect(r).toMatchObject({ kind: 'forward', rewrite: { dst: '10.244.2.4', dport: 8080 } });
    if (r.kind === 'forward') state = r.state;
    expect(state.connections).toHaveLength(1);
  });
});

describe('the built-in default cluster in ipvs mode', () => {
  const text = readFileSync(new URL('../scenario/presets/default.yaml', import.meta.url), 'utf8');
  const parsed = parseScenario(text);
  if (!parsed.ok) throw new Error('the default preset does not parse');
  const model = parsed.model;

  it.each(model.nodes.map((n) => n.name))(
    '%s: every ClusterIP on kube-ipvs0, a virtual server per port, rules that load',
    (name) => {
      const input = kubeProxyInputFromModel(model, name);
      const r = kubeProxyIpvsSync(input);
      const clusterIPs = model.services.flatMap((s) =>
        s.clusterIP && s.type !== 'ExternalName' ? [s.clusterIP] : [],
      );
      for (const ip of clusterIPs) expect(r.dummyDevice.addresses).toContain(ip);
      const ports = model.services
        .filter((s) => s.clusterIP && s.type !== 'ExternalName')
        .flatMap((s) => s.ports);
      const nodePorts = ports.filter((p) => p.nodePort !== null && p.nodePort !== 0).length;
      const extra = model.services.flatMap((s) =>
        s.clusterIP ? s.ports.map(() => s.externalIPs.length + s.loadBalancerIPs.length) : [],
      );
      expect(r.table.services).toHaveLength(
        ports.length + nodePorts * input.nodeIPs.length + extra.reduce((a, b) => a + b, 0),
      );
      expect(parseIptablesSave(kubeProxyIpvsIptablesSave(r)).errors).toEqual([]);
      expect(danglingJumps(kubeProxyIpvsRuleset(r))).toEqual([]);
    },
  );
});
