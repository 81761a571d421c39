// Walks to DNS names (resolver → kube-dns → CoreDNS → answer → connection) and NetworkPolicy enforcement in
// walks. The resolver's search order and CoreDNS's answers have their own tests (resolver.test.ts,
// coredns.test.ts); these check that the walk carries them as packets, through kube-proxy and conntrack.
import { describe, expect, it } from 'vitest';
import { buildWorld } from './index.ts';
import { walk, type WalkSpec } from './walk.ts';
import type { Decision, Trace, TraceEvent } from './trace.ts';
import { COREDNS_IP, threeNodes, withCoreDns } from '../../test/fixtures/models.ts';
import type { ClusterModel, NetworkPolicyModel } from '../scenario/model.ts';
import { service, endpointSlice } from '../../test/fixtures/models.ts';

function dnsCluster(extra: Partial<ClusterModel> = {}): ClusterModel {
  const base = withCoreDns(threeNodes('flannel-vxlan'));
  const db = service('default', 'db-service', { clusterIP: '10.96.100.10', port: 3306 });
  const dbPod = base.pods.find((p) => p.name === 'db')!;
  return {
    ...base,
    services: [...base.services, db],
    endpointSlices: [...base.endpointSlices, endpointSlice(db, [dbPod])],
    ...extra,
  };
}

const isObserve = (e: TraceEvent): e is Extract<TraceEvent, { type: 'observe' }> => e.type === 'observe';
const legs = (t: Trace) => t.legs.map((l) => `${l.kind}:${l.verdict.kind}`);
const decisions = <K extends Decision['kind']>(t: Trace, kind: K) =>
  t.events.flatMap((e) =>
    e.type === 'decide' && e.decision.kind === kind
      ? [e as TraceEvent & { type: 'decide'; decision: Extract<Decision, { kind: K }> }]
      : [],
  );
const spec = (to: string, extra: Partial<WalkSpec> = {}): WalkSpec => ({
  from: 'pod/default/client',
  to,
  protocol: 'tcp',
  ...extra,
});

describe('a walk to a DNS name', () => {
  it('short name: one query to the kube-dns ClusterIP, DNATed to CoreDNS, the answer un-DNATed, then the connection', () => {
    const t = walk(buildWorld(dnsCluster()), spec('db-service:3306'));
    expect(legs(t)).toEqual([
      'dns-query:delivered',
      'dns-response:delivered',
      'request:delivered',
      'reply:delivered',
    ]);
    expect(t.resolution).toMatchObject({ name: 'db-service', address: '10.96.100.10', error: null });
    expect(t.resolution!.candidates[0]).toBe('db-service.default.svc.cluster.local.');
    expect(t.resolution!.resolvConf).toContain('options ndots:5');
    expect(t.flow!.dst).toBe('10.96.100.10');
    // The query leaves the client for the ClusterIP and arrives at the CoreDNS pod, DNATed on node-1.
    const q = t.events.filter(isObserve).filter((e) => e.leg === 0);
    expect(q[0]!.packet.ip.dst).toBe('10.96.0.10');
    const atCoreDns = q.find((e) => e.at.netns === 'pod/kube-system/coredns');
    expect(atCoreDns?.packet.ip.dst).toBe(COREDNS_IP);
    expect(atCoreDns?.packet.dns?.question[0]).toEqual({
      name: 'db-service.default.svc.cluster.local.',
      type: 'A',
    });
    // The answer arrives at the client from the ClusterIP (conntrack's un-DNAT), carrying the A record.
    const back = t.events
      .filter(isObserve)
      .filter((e) => e.leg === 1)
      .at(-1)!;
    expect(back.at.netns).toBe('pod/default/client');
    expect(back.packet.ip.src).toBe('10.96.0.10');
    expect(back.packet.dns?.answer.map((rr) => rr.type)).toEqual(['A']);
    // The packet's length is the DNS message's wire length: 20 + 8 + 12 + 38 + 4.
    expect(t.events.find((e) => e.type === 'leg')!.packet.ip.length).toBe(82);
    const dns = decisions(t, 'dns');
    expect(dns.map((d) => [d.at.netns, d.decision.rcode])).toEqual([['pod/kube-system/coredns', 'NOERROR']]);
    expect(decisions(t, 'resolver').map((d) => d.decision.outcome)).toEqual(['try', 'use']);
  });

  it('a name with a final dot is one query; a name with fewer dots than ndots walks the search list', () => {
    const w = buildWorld(dnsCluster());
    const abs = walk(w, spec('db-service.default.svc.cluster.local.:3306'));
    expect(abs.resolution!.candidates).toEqual(['db-service.default.svc.cluster.local.']);
    expect(legs(abs).slice(0, 2)).toEqual(['dns-query:delivered', 'dns-response:delivered']);
    const rel = walk(w, spec('db-service.default:3306'));
    expect(decisions(rel, 'resolver').map((d) => `${d.decision.outcome} ${d.decision.candidate}`)).toEqual([
      'try db-service.default.default.svc.cluster.local.',
      'next db-service.default.default.svc.cluster.local.',
      'try db-service.default.svc.cluster.local.',
      'use db-service.default.svc.cluster.local.',
    ]);
  });

  it('NXDOMAIN for every candidate: the last answer leg ends unresolved and no connection is attempted', () => {
    const t = walk(buildWorld(dnsCluster()), spec('nope:80'));
    expect(t.legs.at(-1)!.verdict.kind).toBe('unresolved');
    expect(t.legs.some((l) => l.kind === 'request')).toBe(false);
    expect(t.resolution).toMatchObject({ address: null, error: 'Name or service not known (EAI_NONAME)' });
    expect(t.flow!.dst).toBe('0.0.0.0');
    // The last candidate, "nope.", is outside cluster.local: CoreDNS forwards it to the resolver host.
    const forwarded = t.events.filter((e) => e.type === 'leg' && e.summary.includes('forwards'));
    expect(forwarded).toHaveLength(1);
  });

  it('an external name: CoreDNS forwards to its upstream (the node resolv.conf), the answer comes back through it', () => {
    const t = walk(buildWorld(dnsCluster()), spec('example.com:80'));
    expect(t.resolution!.address).toBe('203.0.113.10');
    const fwd = t.events.find((e) => e.type === 'leg' && e.summary.includes('forwards'));
    expect(fwd?.type === 'leg' && fwd.at.netns).toBe('pod/kube-system/coredns');
    const atResolver = t.events
      .filter(isObserve)
      .find((e) => e.at.netns === 'host/resolver' && e.direction === 'in')!;
    // flannel masqueraded the CoreDNS pod to node-2's address on the way out.
    expect(atResolver.packet.ip.src).toBe('192.168.1.12');
    expect(atResolver.packet.ip.dst).toBe('203.0.113.53');
    // The client gets the forwarded answer with its own query id back.
    const clientQueryId = (
      t.events.find((e) => e.type === 'leg' && e.leg === 6) as Extract<TraceEvent, { type: 'leg' }>
    ).packet.dns!.id;
    const clientAnswer = t.events
      .filter(isObserve)
      .filter((e) => e.at.netns === 'pod/default/client' && e.leg === 9)
      .at(-1)!;
    expect(clientAnswer.packet.dns?.id).toBe(clientQueryId);
    expect(legs(t).slice(-2)).toEqual(['request:delivered', 'reply:delivered']);
  });

  it('is deterministic: the same seed gives the same trace', () => {
    const a = walk(buildWorld(dnsCluster()), spec('example.com:80', { seed: 7 }));
    const b = walk(buildWorld(dnsCluster()), spec('example.com:80', { seed: 7 }));
    expect(a).toEqual(b);
  });

  it('rejects a name that DNS cannot carry, naming the problem', () => {
    const w = buildWorld(dnsCluster());
    expect(() => walk(w, spec(`${'a'.repeat(64)}.example:80`))).toThrow(/at most 63/);
    expect(() => walk(w, spec('bad..name:80'))).toThrow(/empty label/);
  });
});

const selector = (labels: Record<string, string>) => ({ matchLabels: labels, matchExpressions: [] });

function policy(p: Partial<NetworkPolicyModel> & { name: string }): NetworkPolicyModel {
  return {
    namespace: 'default',
    podSelector: selector({}),
    policyTypes: ['Ingress'],
    ingress: [],
    egress: [],
    allocated: [],
    ...p,
  };
}

describe('NetworkPolicy in walks', () => {
  const denyEgress = policy({
    name: 'deny-egress',
    policyTypes: ['Egress'],
    podSelector: selector({ app: 'client' }),
  });

  it('egress isolated without DNS: the query is dropped on the client’s node and the resolver says why', () => {
    const t = walk(buildWorld(dnsCluster({ networkPolicies: [denyEgress] })), spec('db-service:3306'));
    expect(legs(t)).toEqual(['dns-query:dropped']);
    const p = decisions(t, 'policy');
    expect(p.map((d) => [d.at.netns, d.decision.direction, d.decision.result])).toEqual([
      ['node/node-1', 'egress', 'denied'],
    ]);
    expect(p[0]!.decision.policies).toEqual(['default/deny-egress']);
    const fail = decisions(t, 'resolver').at(-1)!;
    expect(fail.decision.outcome).toBe('fail');
    expect(fail.summary).toMatch(/DNS .* must be allowed explicitly/);
    expect(t.resolution!.error).toMatch(/EAI_AGAIN/);
  });

  it('default-deny on db: the SYN is dropped on db’s node; allowing the client lets it in, and the SYN-ACK passes as ESTABLISHED', () => {
    const deny = policy({
      name: 'db-deny',
      podSelector: selector({ app: 'db' }),
      policyTypes: ['Ingress', 'Egress'],
    });
    const denied = walk(buildWorld(dnsCluster({ networkPolicies: [deny] })), spec('pod/default/db:3306'));
    expect(legs(denied)).toEqual(['request:dropped']);
    expect(denied.legs[0]!.verdict.at.netns).toBe('node/node-2');
    expect(decisions(denied, 'policy')[0]!.decision.result).toBe('denied');

    const allow = policy({
      name: 'db-allow-client',
      podSelector: selector({ app: 'db' }),
      ingress: [
        {
          peers: [{ kind: 'pods', podSelector: selector({ app: 'client' }), namespaceSelector: null }],
          ports: [],
        },
      ],
    });
    const ok = walk(buildWorld(dnsCluster({ networkPolicies: [deny, allow] })), spec('pod/default/db:3306'));
    expect(legs(ok)).toEqual(['request:delivered', 'reply:delivered']);
    const p = decisions(ok, 'policy');
    expect(p.map((d) => [d.at.netns, d.leg, d.decision.result, d.decision.rule])).toEqual([
      ['node/node-2', 0, 'allowed', 'default/db-allow-client ingress[0]'],
      ['node/node-2', 1, 'established', null],
    ]);
  });

  it('through a Service, ingress policy sees the endpoint pod and target port after kube-proxy’s DNAT', () => {
    const deny = policy({ name: 'db-deny', podSelector: selector({ app: 'db' }) });
    const t = walk(buildWorld(dnsCluster({ networkPolicies: [deny] })), spec('svc/default/db-service:3306'));
    const p = decisions(t, 'policy')[0]!;
    expect(p.packet.ip.dst).toBe('10.244.2.2');
    expect(p.decision.pod).toBe('default/db');
  });
});
