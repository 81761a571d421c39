// CoreDNS's kubernetes plugin against its own unit-test cases (coredns/coredns@4b26cce plugin/kubernetes/
// handler_test.go and reverse_test.go, extracted to test/fixtures/coredns/cases.json), run on the fake clusters
// of those tests written as Packet Walk scenarios (serve.yaml, reverse.yaml) and parsed by the project's parser.
//
// Compared as upstream's test.SortAndCheck does: rcode, section lengths, then each section sorted by
// RR.String() against the expected records in their order: owner name (case-sensitive), TTL (unless 303), type
// and rdata (for SOA only the MNAME). Cases the model does not follow are in NOT_FOLLOWED with the reason (and
// in docs/coredns-conformance.md); the followed count is asserted so none disappears silently.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { completeForward, parseCorefile, serveDns, type ServeOptions } from '../src/engine/coredns.ts';
import {
  formatRecord,
  makeQuery,
  replyTo,
  type DnsMessage,
  type DnsRecord,
  type RRType,
} from '../src/engine/dns.ts';
import { formatIssue, parseScenario } from '../src/scenario/parse.ts';
import type { ClusterModel } from '../src/scenario/model.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/coredns/', import.meta.url));

interface ExpectedRecord {
  readonly name: string;
  readonly ttl: number;
  readonly type: string;
  readonly rdata: readonly string[];
}

interface CaseConfig {
  readonly zones: readonly string[];
  readonly namespaces: readonly string[];
  readonly podMode: string;
  readonly ttl: number;
  readonly multiclusterZones?: readonly string[];
  readonly ignoreEmptyService?: boolean;
  readonly localIPs?: readonly string[];
  readonly hasSynced?: boolean;
}

interface ConformanceCase {
  readonly id: string;
  readonly suite: string;
  readonly fixture: string;
  readonly config: CaseConfig;
  readonly enforced: boolean;
  readonly qname: string;
  readonly qtype: string;
  readonly rcode: string;
  readonly answer: readonly ExpectedRecord[];
  readonly ns: readonly ExpectedRecord[];
  readonly extra: readonly ExpectedRecord[];
  readonly truncated: boolean;
  readonly upstream?: { readonly truncated: boolean; readonly answer: readonly ExpectedRecord[] };
}

const file = JSON.parse(readFileSync(`${FIXTURES}cases.json`, 'utf8')) as {
  readonly client: { readonly remoteAddr: string };
  readonly count: number;
  readonly cases: readonly ConformanceCase[];
};

const IPV6 = 'IPv6: the engine and the scenario format are IPv4-only';

/** Every case the model does not follow, and why. Multicluster cases are added below by suite. */
const NOT_FOLLOWED: Readonly<Record<string, string>> = {
  'TestServeDNS/commonDnsTestCases[4]': `${IPV6} (svc6 has ClusterIP 1234:abcd::1)`,
  'TestServeDNS/commonDnsTestCases[18]': `${IPV6} (svc6 AAAA)`,
  'TestServeDNS/commonDnsTestCases[19]': `${IPV6} (svc6 SRV)`,
  'TestServeDNS/commonDnsTestCases[20]': `${IPV6} (hdls1's IPv6 endpoints)`,
  'TestServeDNS/commonDnsTestCases[29]': `${IPV6} (svc-dual-stack's 10::3)`,
  'TestServeDNS/commonDnsTestCases[30]': `${IPV6} (svc-dual-stack SRV: weight 50 and an AAAA extra)`,
  'TestServeDNS/dnsTestCases[0]': `${IPV6} (hdls1 SRV includes its IPv6 endpoints; also needs hostnames)`,
  'TestServeDNS/dnsTestCases[2]': `${IPV6} (5678-abcd--2.hdls1 AAAA)`,
  'TestServeDNS/dnsTestCases[3]': `${IPV6} (5678-abcd--1.hdls1 AAAA)`,
  'TestServeNamespaceDNS/nsTestCases[1]':
    'not enforced upstream (TestServeNamespaceDNS ignores SortAndCheck): its SOA TTL 300 is not what CoreDNS returns',
  'TestNotSyncedServeDNS/notSyncedTestCases[0]':
    'API sync state: the model is always in sync with its scenario (no SERVFAIL before the first sync)',
  'TestReverse/tests[2]': `${IPV6} (ip6.arpa for 1234:abcd::1)`,
  'TestReverse/tests[3]': `${IPV6} (ip6.arpa for fd00:77:30::a)`,
  'TestReverse/tests[4]': `${IPV6} (ip6.arpa for fd00:77:30::2:9ba6)`,
};
const MULTICLUSTER =
  'multicluster zones (ServiceImports, MultiClusterEndpoints) are not in the scenario format';

function notFollowed(c: ConformanceCase): string | null {
  if (c.suite === 'TestMultiClusterServeDNS') return MULTICLUSTER;
  return NOT_FOLLOWED[c.id] ?? null;
}

/** The cases followed; changes here are deliberate and go into docs/coredns-conformance.md. */
const FOLLOWED_COUNT = 71;

/** svc1 and svcempty share 10.0.0.1 upstream; the parser reserves it (and two Services may not share one). */
const ADDRESS_MAP: readonly { readonly owner: string; readonly from: string; readonly to: string }[] = [
  { owner: 'svc1.testns.', from: '10.0.0.1', to: '10.0.0.101' },
  { owner: 'svcempty.testns.', from: '10.0.0.1', to: '10.0.0.102' },
];

function mapAddress(r: ExpectedRecord): ExpectedRecord {
  if (r.type !== 'A') return r;
  const m = ADDRESS_MAP.find((x) => r.name.toLowerCase().startsWith(x.owner) && r.rdata[0] === x.from);
  return m ? { ...r, rdata: [m.to] } : r;
}

function loadScenario(name: string): ClusterModel {
  const r = parseScenario(readFileSync(`${FIXTURES}${name}`, 'utf8'));
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.model;
}
const SCENARIOS: Readonly<Record<string, { model: ClusterModel; soaSerial: number }>> = {
  // fixture.json soaSerial: what the fakes' Modified() return.
  serve: { model: loadScenario('serve.yaml'), soaSerial: 3 },
  reverse: { model: loadScenario('reverse.yaml'), soaSerial: 0 },
};

/** A stand-in for the Upstub fake: an upstream resolver at this address answers the forwarded target. */
const UPSTREAM = '192.0.2.53';

/** The Corefile the case's plugin configuration is (handler_test.go builds the same Kubernetes by hand). */
function corefileOf(c: ConformanceCase): string {
  const k = c.config;
  const lines = [`    pods ${k.podMode}`, `    ttl ${k.ttl}`];
  if (k.namespaces.length > 0) lines.push(`    namespaces ${k.namespaces.join(' ')}`);
  if (k.ignoreEmptyService) lines.push('    ignore empty_service');
  const forward = c.upstream ? [`  forward . ${UPSTREAM}`] : [];
  return ['.:53 {', `  kubernetes ${k.zones.join(' ')} {`, ...lines, '  }', ...forward, '}', ''].join('\n');
}

/** A deterministic generator (the engine takes randomness as an argument). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const [clientIp, clientPort] = file.client.remoteAddr.split(':') as [string, string];

function run(c: ConformanceCase): DnsMessage {
  const { config, problems } = parseCorefile(corefileOf(c));
  expect(problems).toEqual([]);
  const scenario = SCENARIOS[c.fixture]!;
  const options: ServeOptions = {
    soaSerial: scenario.soaSerial,
    ...(c.config.localIPs ? { localIPs: c.config.localIPs } : {}),
  };
  const rng = lcg(7);
  const query = makeQuery(c.qname, c.qtype as RRType, 4660);
  const client = { ip: clientIp, port: Number(clientPort) };
  const r = serveDns(config, scenario.model, query, client, rng, [], options);
  if (r.kind === 'answer') return r.response;
  // Upstub: the upstream answers with the stub's records, minus a CNAME owned by the asked name.
  expect(r.upstream).toBe(UPSTREAM);
  const stub = c.upstream!;
  const answer = stub.answer
    .filter((x) => !(x.type === 'CNAME' && x.name === fqdnOf(c.qname)))
    .map((x) => toRecord(x));
  const base = replyTo(r.query);
  const reply: DnsMessage = { ...base, flags: { ...base.flags, tc: stub.truncated, ra: true }, answer };
  return completeForward(config, r, reply, rng, options).response;
}

function fqdnOf(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

function toRecord(x: ExpectedRecord): DnsRecord {
  if (x.type === 'A')
    return { name: x.name, ttl: x.ttl, class: 'IN', type: 'A', data: { address: x.rdata[0]! } };
  if (x.type === 'CNAME')
    return { name: x.name, ttl: x.ttl, class: 'IN', type: 'CNAME', data: { target: x.rdata[0]! } };
  throw new Error(`no stub record of type ${x.type}`);
}

/** test.Section's per-type rdata comparison, as the values it compares. */
function comparable(r: DnsRecord): string[] {
  switch (r.type) {
    case 'SRV':
      return [String(r.data.priority), String(r.data.weight), String(r.data.port), r.data.target];
    case 'SOA':
      return [r.data.mname];
    case 'TXT':
      return [r.data.strings.join('')];
    case 'MX':
      return [String(r.data.preference), r.data.exchange];
    case 'A':
    case 'AAAA':
      return [r.data.address];
    case 'CNAME':
    case 'PTR':
      return [r.data.target];
    case 'NS':
      return [r.data.host];
    case 'HINFO':
      return [r.data.cpu, r.data.os];
  }
}

function expectedComparable(x: ExpectedRecord): string[] {
  switch (x.type) {
    case 'SOA':
      return [x.rdata[0]!];
    case 'TXT':
      return [x.rdata.join('')];
    default:
      return [...x.rdata];
  }
}

/** SortAndCheck on one section: the actual records sorted by RR.String(), compared in the expected order. */
function checkSection(actual: readonly DnsRecord[], expected: readonly ExpectedRecord[]): void {
  const sorted = [...actual].sort((a, b) =>
    formatRecord(a) < formatRecord(b) ? -1 : formatRecord(a) > formatRecord(b) ? 1 : 0,
  );
  expect(sorted.map(formatRecord), 'section length').toHaveLength(expected.length);
  sorted.forEach((a, i) => {
    const e = mapAddress(expected[i]!);
    expect(a.name, `RR ${i} owner`).toBe(e.name);
    if (e.ttl !== 303) expect(a.ttl, `RR ${i} TTL`).toBe(e.ttl);
    expect(a.type, `RR ${i} type`).toBe(e.type);
    expect(comparable(a), `RR ${i} rdata`).toEqual(expectedComparable(e));
  });
}

const followed = file.cases.filter((c) => notFollowed(c) === null);

describe('CoreDNS kubernetes plugin conformance (coredns/coredns@4b26cce)', () => {
  it('accounts for every case: followed or not followed with a reason', () => {
    expect(file.cases).toHaveLength(file.count);
    const ids = new Set(file.cases.map((c) => c.id));
    for (const id of Object.keys(NOT_FOLLOWED)) expect(ids, id).toContain(id);
    expect(followed).toHaveLength(FOLLOWED_COUNT);
    expect(file.cases.length - followed.length).toBe(57);
  });

  it('follows per suite what docs/coredns-conformance.md says', () => {
    const count = (cases: readonly ConformanceCase[]): Record<string, number> =>
      cases.reduce<Record<string, number>>((n, c) => ({ ...n, [c.suite]: (n[c.suite] ?? 0) + 1 }), {});
    expect(count(followed)).toEqual({
      TestServeDNS: 36,
      TestServeNamespaceDNS: 1,
      TestPreserveCase: 4,
      TestServeDNSEmptyService: 2,
      TestServeDNSModeDisabled: 2,
      TestServeDNSModeInsecure: 7,
      TestServeDNSModeVerified: 5,
      TestServeDNSApex: 6,
      TestReverse: 8,
    });
  });

  it('parses both fake clusters with the project parser', () => {
    expect(SCENARIOS.serve!.model.services.map((s) => `${s.namespace}/${s.name}`)).toContain('testns/hdls1');
    expect(SCENARIOS.reverse!.model.endpointSlices).toHaveLength(3);
  });

  it.each(followed.map((c) => [c.id, c] as const))('%s', (_id, c) => {
    const resp = run(c);
    expect(resp.rcode).toBe(c.rcode);
    checkSection(resp.answer, c.answer);
    checkSection(resp.authority, c.ns);
    checkSection(resp.additional, c.extra);
    if (c.upstream) expect(resp.flags.tc).toBe(true);
  });
});
