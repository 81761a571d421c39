import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildWorld, startWorld, walk, worldView } from '../engine/index.ts';
import type { WorldView } from '../engine/view.ts';
import { parseScenario } from '../scenario/parse.ts';
import {
  ipAddrLines,
  lastStateIndex,
  viewAt,
  changedFields,
  decisionAt,
  consultedTables,
  decisionBrief,
  hopGroups,
  parseSaveText,
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
    const routes = ['default via 10.244.1.1 dev eth0', '10.244.2.0/24 via 10.244.2.0 dev eth0 onlink'];
    const view = {
      ...base,
      namespaces: base.namespaces.map((n) => (n.id === 'pod/default/p1-1' ? { ...n, routes } : n)),
    };
    const t = consultedTables(events, 1, view);
    expect(t.tables).toHaveLength(1);
    expect(t.tables[0]!.title).toBe('ip route show table main');
    expect(t.tables[0]!.rows.map((r) => [r.text, r.mark])).toEqual([
      [routes[0], null],
      [routes[1], 'match'],
    ]);
    expect(consultedTables(events, 2, view)).toEqual({ intro: null, tables: [] }); // an observe
  });

  it('groups events by leg and briefs long decisions', () => {
    expect(hopGroups(events).map((g) => [g.kind, g.first, g.last, g.verdict?.kind])).toEqual([
      ['request', 0, 4, 'delivered'],
      ['reply', 5, 7, 'dropped'],
    ]);
    const route = events[1] as Extract<(typeof events)[number], { type: 'decide' }>;
    expect(
      decisionBrief({ ...route, summary: '10.244.2.2 via 10.244.2.0 dev eth0  [main: 10.244.2.0/24 via x]' }),
    ).toBe('10.244.2.2 via 10.244.2.0 dev eth0');
  });
});

describe('eventLine', () => {
  it('does not repeat a leg label the summary already starts with, and briefs the resolver', () => {
    const [leg, dec] = trace([
      { leg: 'dns-query', at: 'pod/default/p1-1' },
      {
        decide: {
          kind: 'resolver',
          name: 'db',
          resolvConf: 'options ndots:5\n',
          candidates: ['db.default.svc.cluster.local.', 'db.'],
          candidate: 'db.',
          outcome: 'use',
          address: '10.96.0.5',
        },
        at: 'pod/default/p1-1',
        summary: 'a long sentence the tables panel shows in full',
      },
    ]);
    expect(eventLine({ ...leg!, summary: 'DNS query A? db.' } as typeof leg & object, null).what).toBe(
      'DNS query A? db.',
    );
    expect(eventLine(leg!, null).what).toBe('DNS query: dns-query leg');
    expect(eventLine(dec!, null).what).toBe('resolver: db. is 10.96.0.5: connect');
  });
});

describe('consultedTables: iptables, conntrack, neighbours', () => {
  const SAVE = [
    '*filter',
    ':FORWARD ACCEPT [0:0]',
    '-A FORWARD -j KUBE-FORWARD',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-AAA - [0:0]',
    ':KUBE-SEP-BBB - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-OTHER',
    '-A KUBE-SERVICES -d 10.96.106.22/32 -p tcp -m tcp --dport 3306 -j KUBE-SVC-AAA',
    ...Array.from({ length: 6 }, (_, i) => `-A KUBE-SERVICES -d 10.96.1.${i}/32 -j KUBE-SVC-X${i}`),
    '-A KUBE-SVC-AAA ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
    '-A KUBE-SVC-AAA -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-BBB',
    '-A KUBE-SEP-BBB -p tcp -m tcp -j DNAT --to-destination 10.244.2.2:3306',
    'COMMIT',
    '',
  ].join('\n');
  const base = fixtureWorld([1, 1]);
  const view = {
    ...base,
    namespaces: base.namespaces.map((n) =>
      n.id === 'node/node-1'
        ? {
            ...n,
            iptablesSave: SAVE,
            neighbours: ['10.244.2.0 dev flannel.1 lladdr 0e:00:00:00:00:02 PERMANENT'],
          }
        : n,
    ),
  };
  const ct = (action: 'new' | 'found', entry: string) =>
    ({
      kind: 'conntrack',
      action,
      direction: action === 'new' ? 'original' : 'reply',
      state: action === 'new' ? 'NEW' : 'ESTABLISHED',
      entry,
    }) as const;
  const ENTRY =
    'tcp 6 SYN_SENT src=10.244.1.2 dst=10.96.106.22 sport=50471 dport=3306 [UNREPLIED] src=10.96.106.22 dst=10.244.1.2 sport=3306 dport=50471 mark=0 use=1';
  const OTHER =
    'udp 17 src=192.168.1.11 dst=192.168.1.12 sport=5000 dport=8472 [UNREPLIED] src=192.168.1.12 dst=192.168.1.11 sport=8472 dport=5000 mark=0 use=1';
  const events = trace([
    { leg: 'request', at: 'pod/default/p1-1' },
    { decide: ct('new', OTHER), at: 'node/node-1' },
    { decide: ct('new', ENTRY), at: 'node/node-1' },
    {
      decide: {
        kind: 'netfilter',
        hook: 'PREROUTING',
        table: 'nat',
        verdict: 'ACCEPT',
        steps: [
          {
            chain: 'PREROUTING',
            index: 0,
            rule: '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
            action: 'JUMP KUBE-SERVICES',
            random: null,
          },
          {
            chain: 'KUBE-SERVICES',
            index: 1,
            rule: '-A KUBE-SERVICES -d 10.96.106.22/32 -p tcp -m tcp --dport 3306 -j KUBE-SVC-AAA',
            action: 'JUMP KUBE-SVC-AAA',
            random: null,
          },
          {
            chain: 'KUBE-SVC-AAA',
            index: 1,
            rule: '-A KUBE-SVC-AAA -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-BBB',
            action: 'JUMP KUBE-SEP-BBB',
            random: { probability: 0.5, roll: 0.25, taken: true },
          },
          {
            chain: 'KUBE-SEP-BBB',
            index: 0,
            rule: '-A KUBE-SEP-BBB -p tcp -m tcp -j DNAT --to-destination 10.244.2.2:3306',
            action: 'DNAT --to-destination 10.244.2.2:3306',
            random: null,
          },
        ],
        evaluated: 6,
        mark: 0,
        bridged: true,
      },
      at: 'node/node-1',
    },
    {
      decide: {
        kind: 'neigh',
        device: 'eth0',
        ip: '192.168.1.12',
        mac: '0a:00:00:00:00:09',
        stateBefore: 'NONE',
        stateAfter: 'REACHABLE',
        arp: { answeredBy: 'node/node-2', device: 'eth0' },
        entry: '192.168.1.12 dev eth0 lladdr 0a:00:00:00:00:09 REACHABLE',
      },
      at: 'node/node-1',
    },
    {
      decide: ct('found', ENTRY.replace('SYN_SENT', 'ESTABLISHED').replace(' [UNREPLIED]', '')),
      at: 'node/node-1',
    },
    {
      decide: {
        kind: 'neigh',
        device: 'flannel.1',
        ip: '10.244.2.0',
        mac: '0e:00:00:00:00:02',
        stateBefore: 'PERMANENT',
        stateAfter: 'PERMANENT',
        arp: null,
        entry: '10.244.2.0 dev flannel.1 lladdr 0e:00:00:00:00:02 PERMANENT',
      },
      at: 'node/node-1',
    },
  ]);

  it('parses iptables-save text into tables and chains', () => {
    const t = parseSaveText(SAVE);
    expect([...t.keys()]).toEqual(['filter', 'nat']);
    expect(t.get('nat')!.get('KUBE-SERVICES')!.rules).toHaveLength(8);
    expect(t.get('nat')!.get('PREROUTING')!.policy).toBe('ACCEPT');
  });

  it('shows every chain jumped through, the matched rules marked, the tested ones dimmed, the rest elided', () => {
    const c = consultedTables(events, 3, view);
    expect(c.intro).toMatch(/iptables -t nat, PREROUTING hook .*br_netfilter.*: 6 rules evaluated → ACCEPT/);
    expect(c.tables.map((t) => t.title)).toEqual([
      '-t nat PREROUTING',
      '-t nat KUBE-SERVICES',
      '-t nat KUBE-SVC-AAA',
      '-t nat KUBE-SEP-BBB',
      'conntrack -L (node-1, the entries this walk made)',
    ]);
    const services = c.tables[1]!.rows;
    expect(services[0]).toEqual({ text: ':KUBE-SERVICES -', mark: null, note: null });
    expect(services[1]!.mark).toBe('tested');
    expect(services[2]).toMatchObject({ mark: 'match', note: 'JUMP KUBE-SVC-AAA' });
    expect(services.slice(3, 6).every((r) => r.mark === null)).toBe(true);
    expect(services[6]!.text).toBe('… 3 more rules, not reached');
    const svc = c.tables[2]!.rows;
    expect(svc.map((r) => r.mark)).toEqual([null, 'tested', 'match']);
    expect(svc[2]!.note).toBe('JUMP KUBE-SEP-BBB (probability 0.50, rolled 0.25)');
    expect(c.tables[3]!.rows[1]).toMatchObject({
      mark: 'match',
      note: 'DNAT --to-destination 10.244.2.2:3306',
    });
    // The conntrack entry this packet created is the marked one.
    const conntrack = c.tables[4]!.rows;
    expect(conntrack.map((r) => r.mark)).toEqual([null, 'match']);
    expect(conntrack[1]!.text).toBe(ENTRY);
  });

  it('conntrack: a later packet of the flow updates its entry in place and is marked', () => {
    const rows = consultedTables(events, 5, view).tables[0]!.rows;
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ mark: 'match', note: 'matched in the reply direction (ESTABLISHED)' });
    expect(rows[1]!.text).toContain('ESTABLISHED');
  });

  it('neighbours: static entries plus those the walk learned, the one used marked', () => {
    const rows = consultedTables(events, 6, view).tables[0]!.rows;
    expect(rows.map((r) => [r.mark, r.note])).toEqual([
      ['match', 'PERMANENT → PERMANENT'],
      [null, 'learned during this walk'],
    ]);
  });

  it('falls back to the rules the trace names when the view has no ruleset', () => {
    const c = consultedTables(events, 3, base);
    expect(c.tables[1]!.rows.map((r) => r.mark)).toEqual([null, 'match']);
    expect(c.tables[1]!.rows[1]!.text).toContain('KUBE-SVC-AAA');
  });
});

describe('viewAt: a CNI walk grows (or shrinks) the world with the cursor', () => {
  const model = (() => {
    const p = parseScenario(
      readFileSync(new URL('../scenario/presets/pod-is-born.yaml', import.meta.url), 'utf8'),
    );
    if (!p.ok) throw new Error('pod-is-born does not parse');
    return p.model;
  })();
  const spec = { from: 'cni/add', to: 'pod/default/web', protocol: 'tcp' } as const;
  const world = buildWorld(model);
  const t = walk(world, spec);
  const start = worldView(startWorld(world, spec));
  const full = worldView(world);
  const ids = (v: WorldView | null) => v!.namespaces.map((n) => n.id);
  const vethAt = t.events.findIndex((e) => e.type === 'cni' && e.op?.op === 'link-add-veth');

  it('returns the view itself for a packet walk', () => {
    const events = trace([{ leg: 'request', at: 'pod/default/p1-1' }]);
    const v = fixtureWorld([1]);
    expect(viewAt(v, events, 0)).toBe(v);
    expect(lastStateIndex(events, 0)).toBe(-1);
  });

  it('adds the pod at the netns step, its eth0 and the veth link at the veth step', () => {
    expect(ids(start)).not.toContain('pod/default/web');
    const at0 = viewAt(start, t.events, 0)!;
    expect(ids(at0)).toContain('pod/default/web');
    expect(at0.namespaces.find((n) => n.id === 'pod/default/web')!.devices).toEqual([]);
    // After its node's other namespaces, before node-2.
    expect(ids(at0).indexOf('pod/default/web')).toBe(ids(at0).indexOf('pod/default/client') + 1);
    const before = viewAt(start, t.events, vethAt - 1)!;
    const after = viewAt(start, t.events, vethAt)!;
    const webLinks = (v: WorldView) =>
      v.links.filter((l) => l.kind === 'veth' && [l.a.netns, l.b.netns].includes('pod/default/web'));
    expect(webLinks(before)).toEqual([]);
    expect(webLinks(after)).toHaveLength(1);
    // client's veth link is still there once, and node-1 keeps its iptables rules.
    expect(
      after.links.filter((l) => l.kind === 'veth' && [l.a.netns, l.b.netns].includes('pod/default/client')),
    ).toHaveLength(1);
    const node = (v: WorldView) => v.namespaces.find((n) => n.id === 'node/node-1')!;
    expect(node(after).iptablesSave).toBe(node(start).iptablesSave);
    expect(lastStateIndex(t.events, vethAt)).toBe(vethAt);
  });

  it('at the end is the whole scenario’s world (same namespaces, devices, routes, links)', () => {
    const end = viewAt(start, t.events, t.events.length - 1)!;
    const pick = (v: WorldView) =>
      v.namespaces.map((n) => ({ id: n.id, devices: n.devices, routes: n.routes, ip: n.iptablesSave }));
    expect(pick(end).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      pick(full).sort((a, b) => a.id.localeCompare(b.id)),
    );
    const key = (l: WorldView['links'][number]) =>
      [`${l.a.netns}|${l.a.device}`, `${l.b.netns}|${l.b.device}`].sort().join('~');
    expect(end.links.map(key).sort()).toEqual(full.links.map(key).sort());
  });

  it('a DEL removes the pod when its namespace goes', () => {
    const d = walk(world, { from: 'cni/del', to: 'pod/default/web', protocol: 'tcp' });
    const end = viewAt(full, d.events, d.events.length - 1)!;
    expect(ids(end)).not.toContain('pod/default/web');
    expect(end.links.some((l) => [l.a.netns, l.b.netns].includes('pod/default/web'))).toBe(false);
  });

  it('ipAddrLines: name@peer, kind, mtu, master, addresses', () => {
    const pod = viewAt(start, t.events, t.events.length - 1)!.namespaces.find(
      (n) => n.id === 'pod/default/web',
    )!;
    expect(ipAddrLines(pod)).toEqual([
      'lo  loopback mtu 65536  127.0.0.1/8',
      expect.stringMatching(/^eth0@veth[0-9a-f]{8} {2}veth mtu 1450 {2}10\.244\.1\.3\/24$/),
    ]);
  });
});
