import { describe, expect, it } from 'vitest';
import {
  changedFields,
  decisionAt,
  decisionTable,
  eventLine,
  headerLayers,
  previousObserved,
  verdictAt,
  verdictText,
} from './present.ts';
import { fixtureWorld, frame, routeDecision, trace } from './testWorld.ts';

describe('verdictText', () => {
  it.each([
    { kind: 'delivered', reason: 'socket', expected: 'Delivered' },
    { kind: 'dropped', reason: 'no route', expected: 'Dropped: no route' },
    { kind: 'frag-needed', reason: 'mtu 1450', expected: 'Fragmentation needed: mtu 1450' },
    { kind: 'ttl-exceeded', reason: 'ttl 0', expected: 'TTL exceeded: ttl 0' },
  ] as const)('$kind', ({ kind, reason, expected }) => {
    expect(verdictText({ kind, reason, at: { node: null, netns: 'x' } })).toBe(expected);
  });
});

describe('headerLayers and changedFields', () => {
  const plain = frame();
  const encapsulated = frame({ src: '192.168.1.11', dst: '192.168.1.12', inner: frame() });

  it('lists a plain frame as one layer: Ethernet, IPv4, TCP', () => {
    const layers = headerLayers(plain);
    expect(layers.map((l) => l.title)).toEqual(['Packet']);
    expect(layers[0]!.headers.map((h) => h.title)).toEqual(['Ethernet', 'IPv4', 'TCP']);
    expect(layers[0]!.headers[2]!.fields.map((f) => f.value)).toEqual(['40000', '3306', '[S]']);
  });

  it('lists an encapsulated frame outer first, inner keeping the original keys', () => {
    const layers = headerLayers(encapsulated);
    expect(layers.map((l) => [l.title, l.level])).toEqual([
      ['Outer', 1],
      ['Inner', 0],
    ]);
    expect(layers[0]!.headers.map((h) => h.title)).toEqual(['Ethernet', 'IPv4', 'UDP', 'VXLAN']);
    expect(layers[1]!.headers[1]!.fields[0]).toEqual({ key: '0.ip.src', label: 'src', value: '10.244.1.2' });
  });

  it('reports changed fields with their old values, and new outer fields as new', () => {
    expect(changedFields(null, plain).size).toBe(0);
    const routed = frame({ ttl: 63 });
    expect([...changedFields(plain, routed)]).toEqual([['0.ip.ttl', '64']]);
    const changed = changedFields(plain, encapsulated);
    expect(changed.get('1.vxlan.vni')).toBeNull();
    expect(changed.get('1.ip.src')).toBeNull();
    expect(changed.has('0.ip.src')).toBe(false);
  });
});

describe('cursor lookups', () => {
  const events = trace([
    { leg: 'request', at: 'pod/default/p1-1' },
    { decide: routeDecision('eth0'), at: 'pod/default/p1-1', summary: 'r1' },
    { observe: 'pod/default/p1-1|eth0', packet: frame({ ttl: 64 }) },
    { observe: 'node/node-1|veth00', dir: 'in', packet: frame({ ttl: 64 }) },
    { verdict: 'delivered', at: 'node/node-1' },
    { leg: 'reply', at: 'node/node-1' },
    { observe: 'node/node-1|veth00', packet: frame({ ttl: 63 }) },
    { verdict: 'dropped', at: 'node/node-1', reason: 'nope' },
  ]);

  it('finds the verdict reached and the decision in force', () => {
    expect(verdictAt(events, 3)).toBeNull();
    expect(verdictAt(events, 4)!.verdict.kind).toBe('delivered');
    expect(verdictAt(events, 7)!.verdict.kind).toBe('dropped');
    expect(decisionAt(events, 3)!.summary).toBe('r1');
    expect(decisionAt(events, 6)).toBeNull(); // another leg
  });

  it('compares with the previous observe of the same leg only', () => {
    expect(previousObserved(events, 3)).toBe((events[2] as { packet: unknown }).packet);
    expect(previousObserved(events, 6)).toBeNull();
  });

  it('describes events in one line with namespace labels', () => {
    const view = fixtureWorld([1]);
    expect(eventLine(events[3]!, view)).toEqual({ where: 'node-1', what: 'veth00 ← in' });
    expect(eventLine(events[7]!, view).what).toBe('Dropped: nope');
    expect(eventLine(events[0]!, view).what).toBe('Request: request leg');
  });

  it('finds the matched line of the table a decision consulted', () => {
    const base = fixtureWorld([1]);
    const view = {
      ...base,
      namespaces: base.namespaces.map((n) =>
        n.id === 'pod/default/p1-1'
          ? {
              ...n,
              routes: ['default via 10.244.1.1 dev eth0', '10.244.2.0/24 via 10.244.2.0 dev eth0 onlink'],
            }
          : n,
      ),
    };
    const t = decisionTable(events[1] as Extract<(typeof events)[number], { type: 'decide' }>, view);
    expect(t).toEqual({
      title: 'ip route (main)',
      lines: view.namespaces.find((n) => n.id === 'pod/default/p1-1')!.routes,
      match: 1,
    });
  });
});
