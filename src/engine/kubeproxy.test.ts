// kube-proxy's iptables rules against the conformance cases taken from kubernetes/kubernetes
// pkg/proxy/iptables/proxier_test.go (test/fixtures/kube-proxy/: cases/*.json, expected/*.iptables).
//
// Compared as upstream's assertIPTablesRulesEqual does: the result goes through sortIPTablesRules, the
// expected text is taken as written, and each table is compared line by line. Cases this model does not follow
// are listed, with the reason, in docs/kube-proxy-conformance.md (and in NOT_FOLLOWED below).
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flannelDefaults, nodeIptables, nodeIptablesSave } from './cniRules.ts';
import { parseIptablesSave, parseRule } from './iptables.ts';
import {
  base32Std,
  computeProbability,
  kubeProxyBuiltinJumps,
  kubeProxyInputFromModel,
  kubeProxyIptablesSave,
  kubeProxyRules,
  kubeProxySync,
  masqueradeMarkForBit,
  parseIPTablesDump,
  portProtoHash,
  restoreLineText,
  servicePortEndpointChainName,
  sha256,
  sortIPTablesRules,
  utf8,
  type KubeProxyEndpointSlice,
  type KubeProxyInput,
  type KubeProxyService,
  type KubeProxySyncState,
  type LocalDetector,
} from './kubeproxy.ts';
import { tracePacket } from '../../test/fixtures/kube-proxy/tracer.ts';
import { threeNodes } from '../../test/fixtures/models.ts';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/kube-proxy/', import.meta.url));

// ---------------------------------------------------------------------------------------------------------
// Fixture shapes (only what is read).

interface FixtureProxier {
  readonly ipFamily: 'IPv4' | 'IPv6';
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly nodeLocalAddresses: Readonly<Record<string, readonly string[]>>;
  readonly localDetector: { readonly mode: string; readonly cidr: string } | null;
  readonly clusterCIDR: string | null;
  readonly masqueradeAll: boolean;
  readonly masqueradeMark: string;
  readonly localhostNodePorts: boolean;
  readonly nodePortAddresses: readonly string[] | null;
  readonly nfacctCounters: Readonly<Record<string, boolean>>;
  readonly hasRandomFully: boolean;
  readonly conntrackTCPLiberal: boolean;
  readonly largeClusterMode: boolean;
}
type ProxierOverrides = Partial<FixtureProxier>;

interface PacketFlow {
  readonly name: string;
  readonly sourceIP: string;
  readonly protocol: string;
  readonly destIP: string;
  readonly destPort: number;
  readonly output: string;
  readonly masq: boolean;
}

interface ExpectedText {
  readonly fullSync: boolean;
  readonly iptablesRestore: string;
}

function readCase<T>(name: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}cases/${name}.json`, 'utf8')) as T;
}

/** The fixture's fake proxier (NewFakeProxier) as kube-proxy input. */
function inputOf(
  proxier: FixtureProxier,
  services: readonly KubeProxyService[],
  endpointSlices: readonly KubeProxyEndpointSlice[],
  overrides: ProxierOverrides = {},
): KubeProxyInput {
  const p: FixtureProxier = {
    ...proxier,
    ...overrides,
    localDetector: overrides.localDetector ?? proxier.localDetector,
  };
  if (p.ipFamily !== 'IPv4') throw new Error('IPv6 is not modelled');
  const nodeIPs = Object.values(p.nodeLocalAddresses)
    .flat()
    .map((a) => a.split('/')[0]!)
    .filter((ip) => !ip.startsWith('127.'));
  return {
    nodeName: p.nodeName,
    nodeIP: p.nodeIP,
    nodeIPs,
    clusterCIDR: p.localDetector?.cidr ?? p.clusterCIDR,
    masqueradeAll: p.masqueradeAll,
    masqueradeMark: p.masqueradeMark,
    hasRandomFully: p.hasRandomFully,
    localhostNodePorts: p.localhostNodePorts,
    nodePortAddresses: p.nodePortAddresses,
    conntrackTCPLiberal: p.conntrackTCPLiberal,
    nfacctCounters: p.nfacctCounters,
    services,
    endpointSlices,
  };
}

/** The tables of an iptables text, each as its lines from `*table` to `COMMIT`. */
function tablesOf(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const l of text.split('\n')) {
    if (l.startsWith('*')) out.set(l.slice(1), (current = [l]));
    else if (current) {
      current.push(l);
      if (l === 'COMMIT') current = null;
    }
  }
  return out;
}

/** assertIPTablesRulesEqual, per table: the result sorted as upstream sorts it, the expectation as written. */
function expectRulesEqual(result: string, expected: string): void {
  const got = tablesOf(sortIPTablesRules(result));
  const want = tablesOf(expected);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [table, lines] of want)
    expect(`${(got.get(table) ?? []).join('\n')}\n`, `table ${table}`).toBe(`${lines.join('\n')}\n`);
}

/** The rules of one chain, as assertIPTablesChainEqual reads them. */
function chainRules(text: string, table: string, chain: string): string {
  const t = parseIPTablesDump(text).find((x) => x.name === table);
  const c = t?.chains.find((x) => x.name === chain);
  return (c?.rules ?? []).map((r) => `${r}\n`).join('');
}

// ---------------------------------------------------------------------------------------------------------
// Cases the model deliberately does not follow (keep in step with docs/kube-proxy-conformance.md).

const NOT_FOLLOWED: Readonly<Record<string, string>> = {
  'node_ports / ipv6, localhost-nodeports enabled': 'IPv6 is not modelled',
  'node_ports / ipv6, localhost-nodeports disabled': 'IPv6 is not modelled',
  'node_ports / ipv6, localhost-nodeports disabled, multiple nodeport-addresses': 'IPv6 is not modelled',
};

// ---------------------------------------------------------------------------------------------------------

describe('chain names and probabilities', () => {
  it('hashes like Go (sha256 + base32.StdEncoding)', () => {
    const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    expect(hex(sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(hex(sha256(new Uint8Array(1000).fill(97))).slice(0, 16)).toBe('41edece42d63e8d9');
    expect(base32Std(new TextEncoder().encode('foobar'))).toBe('MZXW6YTBOI======');
    expect(utf8('ns/ñ€😀')).toEqual(new TextEncoder().encode('ns/ñ€😀'));
    expect(portProtoHash('ns1/svc1:p80', 'tcp')).toBe('XPGD46QRK7WJZT7O');
    expect(servicePortEndpointChainName('ns1/svc1:p80', 'tcp', '10.180.0.1:80')).toBe(
      'KUBE-SEP-SXIVWICOYRO3J4NJ',
    );
  });

  it('derives every chain name in the fixtures from its documented inputs', () => {
    const overall = readCase<{ chainNameDerivation: Record<string, string> }>('overall_iptables_rules');
    const steps = readCase<{ steps: { chainNameDerivation: Record<string, string> }[] }>(
      'sync_proxy_rules_repeated',
    ).steps;
    const all = [overall.chainNameDerivation, ...steps.map((s) => s.chainNameDerivation)];
    let checked = 0;
    for (const derivations of all)
      for (const [chain, how] of Object.entries(derivations)) {
        const m = /^(KUBE-[A-Z]+-)\((\S+) \+ (\w+)(?: \+ (\S+))?\)$/.exec(how);
        expect(m, how).not.toBeNull();
        const [, prefix, spn, proto, ep] = m!;
        expect(
          ep ? servicePortEndpointChainName(spn!, proto!, ep) : prefix! + portProtoHash(spn!, proto!),
        ).toBe(chain);
        checked++;
      }
    expect(checked).toBeGreaterThan(20);
  });

  it('TestComputeProbability', () => {
    const c = readCase<{ cases: { test: string; expected?: unknown }[] }>('chain_level_expectations');
    const tc = c.cases.find((x) => x.test === 'TestComputeProbability')!;
    for (const [n, want] of Object.entries(tc.expected as Record<string, string>))
      expect(computeProbability(Number(n)), `n=${n}`).toBe(want);
    expect(computeProbability(3)).toBe('0.3333333333');
    // 1/2048 = 0.00048828125 exactly: Go rounds the tie to even.
    expect(computeProbability(2048)).toBe('0.0004882812');
  });

  it('formats the masquerade mark as kube-proxy does (%#08x)', () => {
    expect(masqueradeMarkForBit(14)).toBe('0x00004000');
  });
});

describe('TestOverallIPTablesRules', () => {
  const c = readCase<{
    proxier: FixtureProxier;
    services: KubeProxyService[];
    endpointSlices: KubeProxyEndpointSlice[];
    expected: ExpectedText;
  }>('overall_iptables_rules');
  it('writes the expected filter and nat tables', () => {
    const out = kubeProxyIptablesSave(inputOf(c.proxier, c.services, c.endpointSlices));
    expectRulesEqual(out, c.expected.iptablesRestore);
    expectRulesEqual(out, readFileSync(`${FIXTURES}expected/TestOverallIPTablesRules__00.iptables`, 'utf8'));
    // Already in the tests' order: sorting changes nothing.
    expect(sortIPTablesRules(out)).toBe(out);
  });
});

describe('TestSyncProxyRulesRepeated', () => {
  const c = readCase<{
    proxier: FixtureProxier;
    steps: {
      step: number;
      action: string;
      services: KubeProxyService[];
      endpointSlices: KubeProxyEndpointSlice[];
      expected: ExpectedText;
    }[];
  }>('sync_proxy_rules_repeated');
  it('follows every step: full sync, partial syncs, stale chain deletion, recovery by full sync', () => {
    let state: KubeProxySyncState | null = null;
    for (const step of c.steps) {
      const input = inputOf(c.proxier, step.services, step.endpointSlices);
      // Step 8's partial restore fails upstream (a deliberately injected dangling jump) and leaves the kernel
      // as it was; the retry is a full sync, which is what the step expects.
      const r = kubeProxySync(input, state, { fullSync: step.expected.fullSync });
      expect(r.fullSync, `step ${step.step}`).toBe(step.expected.fullSync);
      const file = `${FIXTURES}expected/TestSyncProxyRulesRepeated__${String(step.step).padStart(2, '0')}.iptables`;
      expectRulesEqual(r.restoreInput, step.expected.iptablesRestore);
      expectRulesEqual(r.restoreInput, readFileSync(file, 'utf8'));
      state = r.state;
    }
  });
});

describe('chain-level expectations', () => {
  const c = readCase<{
    proxier: FixtureProxier;
    cases: {
      test: string;
      table?: string;
      chain?: string;
      proxierOverrides?: ProxierOverrides;
      expected?: unknown;
    }[];
  }>('chain_level_expectations');
  for (const tc of c.cases.filter((x) => x.chain !== undefined))
    it(tc.test, () => {
      const out = kubeProxyIptablesSave(inputOf(c.proxier, [], [], tc.proxierOverrides));
      expect(chainRules(out, tc.table!, tc.chain!)).toBe(tc.expected);
    });

  it('TestSyncProxyRulesLargeClusterMode: no comments past 1000 endpoints', () => {
    // Reproduces the upstream test's sequence (its expectations are quoted in the fixture's note).
    const svc = (ns: string, name: string, ip: string, port: number): KubeProxyService => ({
      namespace: ns,
      name,
      type: 'ClusterIP',
      clusterIP: ip,
      ports: [{ name: `p${port}`, port, protocol: 'TCP', nodePort: 0 }],
      externalIPs: [],
      loadBalancerIngress: [],
      loadBalancerSourceRanges: [],
      externalTrafficPolicy: null,
      internalTrafficPolicy: null,
      healthCheckNodePort: 0,
      sessionAffinity: 'None',
      sessionAffinityTimeoutSeconds: null,
    });
    const slice = (ns: string, name: string, port: number, ips: string[]): KubeProxyEndpointSlice => ({
      namespace: ns,
      name: `${name}-1`,
      serviceName: name,
      addressType: 'IPv4',
      ports: [{ name: `p${port}`, port, protocol: 'TCP' }],
      endpoints: ips.map((ip) => ({
        addresses: [ip],
        nodeName: null,
        conditions: { ready: null, serving: null, terminating: null },
      })),
    });
    const n = 1000 / 2 - 1;
    const many = (b: number): string[] =>
      Array.from({ length: n }, (_, i) => `10.${b}.${i % 256}.${Math.floor(i / 256)}`);
    const services = [
      svc('ns1', 'svc1', '172.30.0.41', 80),
      svc('ns2', 'svc2', '172.30.0.42', 8080),
      svc('ns3', 'svc3', '172.30.0.43', 8081),
    ];
    const slices = [slice('ns1', 'svc1', 80, many(0)), slice('ns2', 'svc2', 8080, many(1))];
    const dnat = (text: string, ip: string): string[] =>
      text
        .split('\n')
        .filter((l) => l.startsWith('-A KUBE-SEP-') && l.includes(`DNAT --to-destination ${ip}:`));

    let r = kubeProxySync(inputOf(c.proxier, services, slices));
    expect(r.largeClusterMode).toBe(false);
    expect(dnat(r.restoreInput, '10.0.0.0')).toEqual([
      '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80',
    ]);

    const slices3 = [...slices, slice('ns3', 'svc3', 8081, ['203.0.113.4', '203.0.113.8', '203.0.113.12'])];
    r = kubeProxySync(inputOf(c.proxier, services, slices3), r.state);
    expect(r.largeClusterMode).toBe(true);
    expect(dnat(r.restoreInput, '203.0.113.4')).toEqual([
      '-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081',
    ]);
    // Partial: the other services' endpoints are not rewritten.
    expect(r.restoreInput.split('\n').filter((l) => l.includes('-j DNAT'))).toHaveLength(3);

    r = kubeProxySync(inputOf(c.proxier, services, slices3), r.state, { fullSync: true });
    expect(dnat(r.restoreInput, '10.0.0.0')).toEqual([
      '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80',
    ]);
    expect(r.restoreInput).not.toContain('--comment ns');

    const services4 = [...services, svc('ns4', 'svc4', '172.30.0.44', 8082)];
    const slices4 = [...slices3, slice('ns4', 'svc4', 8082, ['10.4.0.1'])];
    r = kubeProxySync(inputOf(c.proxier, services4, slices4), r.state);
    expect(dnat(r.restoreInput, '10.4.0.1')).toEqual([
      '-A KUBE-SEP-SU5STNODRYEWJAUF -m tcp -p tcp -j DNAT --to-destination 10.4.0.1:8082',
    ]);
    // Deleting a service in large cluster mode: the stale chains stay until a cleanup is due.
    r = kubeProxySync(inputOf(c.proxier, services, slices4), r.state, { staleChainCleanupDue: false });
    expect(r.restoreInput).not.toContain('-X ');
    r = kubeProxySync(inputOf(c.proxier, services, slices4), r.state);
    expect(r.restoreInput).toContain('-X KUBE-SVC-EBDQOQU5SJFXRIL3');
    expect(r.restoreInput).toContain('-X KUBE-SEP-SU5STNODRYEWJAUF');
  });
});

describe('terminating endpoints and traffic policies (CategorizeEndpoints)', () => {
  const c = readCase<{ proxier: FixtureProxier }>('overall_iptables_rules');
  const service = (etp: 'Cluster' | 'Local'): KubeProxyService => ({
    namespace: 'ns1',
    name: 'svc1',
    type: 'NodePort',
    clusterIP: '172.30.0.41',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
    externalIPs: [],
    loadBalancerIngress: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: etp,
    internalTrafficPolicy: null,
    healthCheckNodePort: null,
    sessionAffinity: 'None',
    sessionAffinityTimeoutSeconds: null,
  });
  type Ep = [ip: string, node: string | null, ready: boolean, serving: boolean, terminating: boolean];
  const slice = (eps: Ep[]): KubeProxyEndpointSlice => ({
    namespace: 'ns1',
    name: 'svc1-1',
    serviceName: 'svc1',
    addressType: 'IPv4',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
    endpoints: eps.map(([ip, nodeName, ready, serving, terminating]) => ({
      addresses: [ip],
      nodeName,
      conditions: { ready, serving, terminating },
    })),
  });
  const chainTargets = (out: string, prefix: string): string[] =>
    out
      .split('\n')
      .filter((l) => l.startsWith(`-A ${prefix}`) && l.includes(' -> '))
      .map((l) => /-> (\S+)"/.exec(l)![1]!);
  const run = (etp: 'Cluster' | 'Local', eps: Ep[]): string =>
    kubeProxyIptablesSave(inputOf(c.proxier, [service(etp)], [slice(eps)]));

  it('uses ready endpoints, and serving terminating ones only when none is ready', () => {
    let out = run('Cluster', [
      ['10.180.0.1', 'node2', true, true, false],
      ['10.180.0.2', 'node2', false, true, true],
    ]);
    expect(chainTargets(out, 'KUBE-SVC-')).toEqual(['10.180.0.1:80']);
    expect(out.match(/^:KUBE-SEP-/gm)).toHaveLength(1);
    out = run('Cluster', [
      ['10.180.0.1', 'node2', false, true, true],
      ['10.180.0.2', 'node2', false, false, true],
    ]);
    expect(chainTargets(out, 'KUBE-SVC-')).toEqual(['10.180.0.1:80']);
    out = run('Cluster', [['10.180.0.2', 'node2', false, false, true]]);
    expect(out).toContain(
      '"ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j REJECT',
    );
  });

  it('externalTrafficPolicy Local falls back to a local serving terminating endpoint', () => {
    const out = run('Local', [
      ['10.180.0.1', 'node2', true, true, false],
      ['10.180.2.1', 'test-node', false, true, true],
    ]);
    expect(chainTargets(out, 'KUBE-SVC-')).toEqual(['10.180.0.1:80']);
    expect(chainTargets(out, 'KUBE-SVL-')).toEqual(['10.180.2.1:80']);
    // Both are reachable from this node, so both get a KUBE-SEP chain.
    expect(out.match(/^:KUBE-SEP-/gm)).toHaveLength(2);
    expect(out).not.toContain('has no local endpoints');
  });

  it('externalTrafficPolicy Local without local endpoints drops external traffic only', () => {
    const out = run('Local', [['10.180.0.1', 'node2', true, true, false]]);
    expect(out).toContain(
      '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP',
    );
    expect(out).not.toContain(':KUBE-SVL-');
    expect(out).toMatch(
      /-A KUBE-EXT-\S+ -m comment --comment "pod traffic for ns1\/svc1:p80 external destinations" -s 10\.0\.0\.0\/8 -j KUBE-SVC-/,
    );
  });

  it('masqueradeAll masquerades all clusterIP traffic', () => {
    const out = kubeProxyIptablesSave({
      ...inputOf(c.proxier, [service('Cluster')], [slice([['10.180.0.1', 'node2', true, true, false]])]),
      masqueradeAll: true,
    });
    expect(out).toMatch(
      /-A KUBE-SVC-\S+ -m comment --comment "ns1\/svc1:p80 cluster IP" -m tcp -p tcp -d 172\.30\.0\.41 --dport 80 -j KUBE-MARK-MASQ\n/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// Packet flows (tracePacket in proxier_test.go), through test/fixtures/kube-proxy/tracer.ts.

interface FlowCase {
  readonly name: string;
  readonly flows: readonly PacketFlow[];
  readonly input: () => KubeProxyInput;
  readonly nodeLocalIPs: readonly string[];
  readonly expectedChains?: Readonly<Record<string, string>>;
}

function flowCases(): FlowCase[] {
  const out: FlowCase[] = [];
  interface Flat {
    proxier: FixtureProxier;
    nodeLocalIPs: string[];
    services: KubeProxyService[];
    endpointSlices: KubeProxyEndpointSlice[];
    packetFlows: PacketFlow[];
  }
  for (const name of [
    'cluster_ip_general',
    'external_traffic_policy_local',
    'health_check_node_port',
    'load_balancer_source_ranges',
    'no_endpoints_reject',
  ]) {
    const c = readCase<Flat>(name);
    out.push({
      name,
      flows: c.packetFlows,
      input: () => inputOf(c.proxier, c.services, c.endpointSlices),
      nodeLocalIPs: c.nodeLocalIPs,
    });
    if (name === 'health_check_node_port')
      // fp.OnServiceDelete(svc): the ACCEPT rule goes away.
      out.push({
        name: `${name} / after the service is deleted`,
        flows: c.packetFlows.map((f) => ({ ...f, output: '', masq: false })),
        input: () => inputOf(c.proxier, [], c.endpointSlices),
        nodeLocalIPs: c.nodeLocalIPs,
      });
  }
  interface WithSubcases {
    proxier: FixtureProxier;
    nodeLocalIPs: string[];
    subcases: {
      name: string;
      proxierOverrides?: ProxierOverrides;
      services: KubeProxyService[];
      endpointSlices: KubeProxyEndpointSlice[];
      packetFlows: PacketFlow[];
      afterEndpointSliceDeleted?: PacketFlow[];
      expectedChains?: Record<string, string>;
    }[];
  }
  for (const name of ['node_ports', 'internal_traffic_policy']) {
    const c = readCase<WithSubcases>(name);
    for (const s of c.subcases) {
      const full = `${name} / ${s.name}`;
      out.push({
        name: full,
        flows: s.packetFlows,
        input: () => inputOf(c.proxier, s.services, s.endpointSlices, s.proxierOverrides),
        nodeLocalIPs: c.nodeLocalIPs,
        ...(s.expectedChains ? { expectedChains: s.expectedChains } : {}),
      });
      if (s.afterEndpointSliceDeleted)
        out.push({
          name: `${full} / after the EndpointSlice is deleted`,
          flows: s.afterEndpointSliceDeleted,
          input: () => inputOf(c.proxier, s.services, [], s.proxierOverrides),
          nodeLocalIPs: c.nodeLocalIPs,
        });
    }
  }
  return out;
}

describe('packet flows', () => {
  const cases = flowCases();
  it('every case is either followed or listed as not followed', () => {
    const names = new Set(cases.map((c) => c.name));
    for (const name of Object.keys(NOT_FOLLOWED)) expect(names.has(name), name).toBe(true);
    const doc = readFileSync(
      fileURLToPath(new URL('../../docs/kube-proxy-conformance.md', import.meta.url)),
      'utf8',
    );
    for (const name of Object.keys(NOT_FOLLOWED)) expect(doc, name).toContain(name);
  });

  for (const fc of cases.filter((c) => NOT_FOLLOWED[c.name] === undefined)) {
    if (fc.expectedChains)
      it(`${fc.name}: chains`, () => {
        const out = kubeProxyIptablesSave(fc.input());
        for (const [key, want] of Object.entries(fc.expectedChains!)) {
          const [table, chain] = key.split('/') as [string, string];
          expect(chainRules(out, table, chain), key).toBe(want);
        }
      });
    it(`${fc.name}: flows`, () => {
      const rules = kubeProxyIptablesSave(fc.input());
      for (const flow of fc.flows) {
        const got = tracePacket(rules, flow, fc.nodeLocalIPs);
        expect({ output: got.output, masq: got.masq }, flow.name).toEqual({
          output: flow.output,
          masq: flow.masq,
        });
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------

describe('from the scenario model', () => {
  it('maps services, slices and the node onto kube-proxy input', () => {
    const model = threeNodes('flannel-vxlan', {
      services: [
        {
          namespace: 'default',
          name: 'web',
          type: 'NodePort',
          clusterIP: '10.96.0.20',
          selector: { app: 'web' },
          ports: [{ name: null, protocol: 'TCP', port: 80, targetPort: 80, nodePort: 30080 }],
          externalTrafficPolicy: 'Cluster',
          internalTrafficPolicy: 'Cluster',
          sessionAffinity: 'None',
          externalIPs: [],
          loadBalancerIPs: [],
          loadBalancerSourceRanges: [],
          externalName: null,
          allocated: [],
        },
      ],
      endpointSlices: [
        {
          namespace: 'default',
          name: 'web-abcde',
          serviceName: 'web',
          ports: [{ name: null, port: 80, protocol: 'TCP' }],
          endpoints: [
            {
              addresses: ['10.244.1.3'],
              ready: true,
              serving: true,
              terminating: false,
              nodeName: 'node-1',
              targetPod: 'default/web',
            },
            {
              addresses: ['10.244.3.2'],
              ready: true,
              serving: true,
              terminating: false,
              nodeName: 'node-3',
              targetPod: 'default/web-2',
            },
          ],
          generated: true,
        },
      ],
    });
    const input = kubeProxyInputFromModel(model, 'node-1');
    expect(input.nodeIP).toBe('192.168.1.11');
    expect(input.clusterCIDR).toBe('10.244.0.0/16');
    expect(input.masqueradeMark).toBe('0x00004000');
    const out = kubeProxyIptablesSave(input);
    const svc = `KUBE-SVC-${portProtoHash('default/web', 'tcp')}`;
    expect(out).toContain(
      `-A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 -j ${svc}`,
    );
    expect(out).toContain(
      `-A ${svc} -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.0.20 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
    );
    expect(out).toContain(
      `-A ${svc} -m comment --comment "default/web -> 10.244.1.3:80" -m statistic --mode random --probability 0.5000000000 -j `,
    );
    expect(out).toContain(
      '-A KUBE-NODEPORTS -m comment --comment default/web -m tcp -p tcp --dport 30080 -j KUBE-EXT-',
    );
    expect(out).toContain(
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    );
    expect(out).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000');
  });

  it('lists the jumps from the built-in chains in their final order', () => {
    const j = kubeProxyBuiltinJumps();
    const of = (table: string, chain: string): string[] =>
      j.filter((x) => x.table === table && x.chain === chain).map((x) => x.rule);
    expect(of('filter', 'INPUT')).toEqual([
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
      '-A INPUT -j KUBE-FIREWALL',
    ]);
    expect(of('filter', 'FORWARD')).toEqual([
      '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
      '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
      '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    ]);
    expect(of('nat', 'PREROUTING')).toEqual([
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    ]);
    expect(of('nat', 'POSTROUTING')).toEqual([
      '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// kube-proxy's rules as data (kubeProxyRules), which a node loads instead of printing and parsing the text.

describe('rules as data', () => {
  const overall = readCase<{
    proxier: FixtureProxier;
    services: KubeProxyService[];
    endpointSlices: KubeProxyEndpointSlice[];
  }>('overall_iptables_rules');
  const svc = (name: string, o: Partial<KubeProxyService> = {}): KubeProxyService => ({
    namespace: 'ns1',
    name,
    type: 'ClusterIP',
    clusterIP: `172.30.1.${name.length}`,
    ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 0 }],
    externalIPs: [],
    loadBalancerIngress: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: null,
    internalTrafficPolicy: null,
    healthCheckNodePort: 0,
    sessionAffinity: 'None',
    sessionAffinityTimeoutSeconds: null,
    ...o,
  });
  const slice = (name: string, ips: readonly [string, string | null][]): KubeProxyEndpointSlice => ({
    namespace: 'ns1',
    name: `${name}-1`,
    serviceName: name,
    addressType: 'IPv4',
    ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
    endpoints: ips.map(([ip, nodeName]) => ({
      addresses: [ip],
      nodeName,
      conditions: { ready: null, serving: null, terminating: null },
    })),
  });
  const extra: { name: string; input: () => KubeProxyInput }[] = [
    ...[
      { mode: 'NodeCIDR', cidr: '10.0.1.0/24' },
      { mode: 'BridgeInterface', interface: 'cni0' },
      { mode: 'InterfaceNamePrefix', prefix: 'veth' },
    ].map((d) => ({
      name: `detector ${d.mode}`,
      input: () => ({
        ...inputOf(overall.proxier, overall.services, overall.endpointSlices),
        localDetector: d as LocalDetector,
      }),
    })),
    {
      name: 'masqueradeAll, no detector',
      input: () => ({
        ...inputOf(overall.proxier, overall.services, overall.endpointSlices, { masqueradeAll: true }),
        clusterCIDR: null,
      }),
    },
    {
      name: 'session affinity, a Local policy, UDP and SCTP, an endpoint listed twice',
      input: () =>
        inputOf(
          overall.proxier,
          [
            svc('aff', { sessionAffinity: 'ClientIP' }),
            svc('local', { internalTrafficPolicy: 'Local' }),
            svc('udp', { ports: [{ name: 'p80', port: 80, protocol: 'UDP', nodePort: 0 }] }),
            svc('sctp', { ports: [{ name: 'p80', port: 80, protocol: 'SCTP', nodePort: 0 }] }),
          ],
          [
            slice('aff', [
              ['10.0.1.1', null],
              ['10.0.2.1', null],
            ]),
            slice('local', [
              ['10.0.1.2', overall.proxier.nodeName],
              ['10.0.2.2', 'other'],
            ]),
            slice('udp', [['10.0.1.3', null]]),
            slice('sctp', [
              ['10.0.1.4', null],
              ['10.0.1.4', overall.proxier.nodeName],
            ]),
          ],
        ),
    },
    {
      name: 'a name the rules cannot hold as data',
      input: () =>
        inputOf(
          overall.proxier,
          [svc('we"ird'), svc('sp ace')],
          [slice('we"ird', [['10.0.1.5', null]]), slice('sp ace', [['10.0.1.6', null]])],
        ),
    },
  ];
  const inputs = [
    { name: 'overall', input: () => inputOf(overall.proxier, overall.services, overall.endpointSlices) },
    ...flowCases().filter((c) => NOT_FOLLOWED[c.name] === undefined),
    ...extra,
  ];

  it.each(inputs.map((c) => [c.name, c] as const))('%s: the same dump, rule for rule', (_, c) => {
    const input = c.input();
    const text = kubeProxyIptablesSave(input);
    const rules = kubeProxyRules(input);
    // The same tables, chains and lines as the text's dump…
    expect(
      rules.tables.map((t) => ({
        name: t.name,
        chains: t.chains.map((ch) => ({ ...ch, rules: ch.rules.map(restoreLineText) })),
      })),
    ).toEqual(parseIPTablesDump(text));
    // …and every rule held as data is what the parser makes of its line.
    for (const t of rules.tables)
      for (const ch of t.chains)
        for (const r of ch.rules) {
          if (typeof r === 'string') continue;
          const parsed = parseRule(r.text);
          expect(parsed.ok && parsed.chain === ch.name ? parsed.rule : parsed, r.text).toEqual(r);
        }
  });

  it.each(inputs.map((c) => [c.name, c] as const))('%s: a node loads what the text gives', (_, c) => {
    const input = c.input();
    const flannel = flannelDefaults('10.0.0.0/8', '10.0.1.0/24');
    const text = nodeIptablesSave({ kubeProxy: kubeProxyIptablesSave(input), flannel });
    const node = nodeIptables({ kubeProxy: kubeProxyRules(input).tables, flannel });
    expect(node.text()).toBe(text);
    expect(node.parse()).toEqual(parseIptablesSave(text));
  });

  it("says when the rules are the node's own", () => {
    const general = flowCases().find((c) => c.name === 'cluster_ip_general')!;
    const other = { ...general.input(), nodeName: 'other-node', nodeIP: '10.9.9.9', nodeIPs: ['10.9.9.9'] };
    expect(kubeProxyRules(general.input()).nodeSpecific).toBe(false);
    expect(kubeProxyIptablesSave(other)).toBe(kubeProxyIptablesSave(general.input()));
    for (const name of ['external_traffic_policy_local', 'load_balancer_source_ranges'])
      expect(
        kubeProxyRules(
          flowCases()
            .find((c) => c.name === name)!
            .input(),
        ).nodeSpecific,
        name,
      ).toBe(true);
    expect(kubeProxyRules(extra.at(-2)!.input()).nodeSpecific).toBe(true);
  });

  it('names chains as the general SHA-256 path does, for any input', () => {
    const slow = (text: string): string => base32Std(sha256(utf8(text))).slice(0, 16);
    fc.assert(
      fc.property(fc.string({ maxLength: 70, unit: 'binary' }), fc.string({ maxLength: 8 }), (a, b) => {
        expect(portProtoHash(a, b)).toBe(slow(a + b));
        expect(servicePortEndpointChainName(a, b, '10.0.0.1:80')).toBe(
          `KUBE-SEP-${slow(`${a}${b}10.0.0.1:80`)}`,
        );
      }),
      { numRuns: 2000 },
    );
  });
});
