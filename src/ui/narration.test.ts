import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildWorld, walk } from '../engine/index.ts';
import { parseScenario } from '../scenario/parse.ts';
import type { Decision, LegKind, TraceEvent, VerdictKind } from '../engine/trace.ts';
import { fixedT, type T } from './i18n/index.ts';
import { narrate, ownerOf } from './narration.ts';
import { fixtureWorld, frame, trace } from './testWorld.ts';

const view = fixtureWorld([1, 1]);
const at = 'node/node-1';

/** One decision of every kind (a Record, so a new kind fails to compile until it is narrated here). */
const SAMPLES: Record<Decision['kind'], Decision> = {
  route: {
    kind: 'route',
    table: 'main',
    dst: '10.244.2.2',
    route: '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
    result: 'unicast',
    dev: 'flannel.1',
    gateway: '10.244.2.0',
    src: null,
  },
  neigh: {
    kind: 'neigh',
    device: 'eth0',
    ip: '10.244.1.1',
    mac: '3a:52:a4:e4:ad:24',
    stateBefore: 'NONE',
    stateAfter: 'REACHABLE',
    arp: { answeredBy: 'node/node-1', device: 'cni0' },
    entry: '10.244.1.1 dev eth0 lladdr 3a:52:a4:e4:ad:24 REACHABLE',
  },
  fdb: {
    kind: 'fdb',
    bridge: 'cni0',
    mac: '3a:52:a4:e4:ad:24',
    result: 'local',
    port: null,
    entry: '3a:52:a4:e4:ad:24 dev cni0 master cni0 permanent',
    learned: false,
  },
  'vxlan-fdb': {
    kind: 'vxlan-fdb',
    device: 'flannel.1',
    mac: '0e:8c:9e:18:ab:92',
    remote: '192.168.1.12',
    entry: null,
  },
  forward: { kind: 'forward', ipForward: true, ttlBefore: 64, ttlAfter: 63 },
  mtu: { kind: 'mtu', device: 'eth0', mtu: 1450, length: 1500, df: true },
  encap: {
    kind: 'encap',
    device: 'flannel.1',
    vni: 1,
    local: '192.168.1.11',
    remote: '192.168.1.12',
    port: 8472,
  },
  decap: { kind: 'decap', device: 'flannel.1', vni: 1, port: 8472 },
  deliver: { kind: 'deliver', socket: 'the process listening on TCP 3306', listening: true },
  'l2-drop': { kind: 'l2-drop', device: 'eth0', reason: 'another host’s MAC' },
  'icmp-redirect': { kind: 'icmp-redirect', to: '10.0.0.5', gateway: '192.168.1.1' },
  netfilter: {
    kind: 'netfilter',
    hook: 'PREROUTING',
    table: 'nat',
    verdict: 'ACCEPT',
    steps: [
      {
        chain: 'PREROUTING',
        index: 0,
        rule: '-A PREROUTING -j KUBE-SERVICES',
        action: 'JUMP KUBE-SERVICES',
        random: null,
      },
      {
        chain: 'KUBE-SERVICES',
        index: 0,
        rule: '-A KUBE-SERVICES -d 10.96.106.22/32 -p tcp --dport 3306 -j KUBE-SVC-J5FHDC7QFLM3E3EH',
        action: 'JUMP KUBE-SVC-J5FHDC7QFLM3E3EH',
        random: null,
      },
      {
        chain: 'KUBE-SVC-J5FHDC7QFLM3E3EH',
        index: 0,
        rule: '-A KUBE-SVC-J5FHDC7QFLM3E3EH -m statistic --mode random --probability 0.5 -j KUBE-SEP-AAA',
        action: 'JUMP KUBE-SEP-AAA',
        random: { probability: 0.5, roll: 0.2, taken: true },
      },
      {
        chain: 'KUBE-SEP-AAA',
        index: 1,
        rule: '-A KUBE-SEP-AAA -p tcp -j DNAT --to-destination 10.244.2.2:3306',
        action: 'DNAT --to-destination 10.244.2.2:3306',
        random: null,
      },
    ],
    evaluated: 6,
    mark: 0,
    bridged: true,
  },
  conntrack: {
    kind: 'conntrack',
    action: 'new',
    direction: 'original',
    state: 'NEW',
    entry:
      'tcp 6 SYN_SENT src=10.244.1.2 dst=10.96.106.22 sport=50471 dport=3306 [UNREPLIED] src=10.96.106.22 dst=10.244.1.2 sport=3306 dport=50471 mark=0 use=1',
  },
  nat: {
    kind: 'nat',
    how: 'DNAT',
    hook: 'PREROUTING',
    field: 'dst',
    before: '10.96.106.22:3306',
    after: '10.244.2.2:3306',
  },
  ipvs: {
    kind: 'ipvs',
    hook: 'LOCAL_IN',
    action: 'forward',
    service: 'TCP 10.96.0.20:80',
    realServer: '10.244.2.5:8080',
    conntrackReply: null,
  },
  resolver: {
    kind: 'resolver',
    name: 'db-service',
    resolvConf:
      'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
    candidates: [
      'db-service.default.svc.cluster.local.',
      'db-service.svc.cluster.local.',
      'db-service.cluster.local.',
      'db-service.',
    ],
    candidate: 'db-service.default.svc.cluster.local.',
    outcome: 'try',
    address: null,
  },
  dns: {
    kind: 'dns',
    server: 'CoreDNS kube-system/coredns-2',
    question: 'db-service.default.svc.cluster.local. IN A',
    rcode: 'NOERROR',
    answer: ['db-service.default.svc.cluster.local. 5 IN A 10.96.106.22'],
    authority: [],
    steps: ['kubernetes: Service db-service in default'],
    forwardTo: null,
  },
  policy: {
    kind: 'policy',
    direction: 'ingress',
    pod: 'prod/db',
    result: 'established',
    policies: ['prod/db-allow-backend'],
    rule: null,
    reason: 'a reply of an allowed connection',
  },
};

const koT = fixedT('ko');
const HANGUL = /[\uAC00-\uD7A3]/;

/** The narration of one decision at node-1, in a trace of [leg, decide]. */
function narrateDecision(d: Decision, extra: readonly TraceEvent[] = [], t?: T) {
  const events = [
    ...trace([
      { leg: 'request', at: 'pod/default/p1-1' },
      { decide: d, at },
    ]),
    ...extra,
  ];
  return narrate(events[1]!, { events, index: 1, view }, t);
}

describe('narrate: every decision kind', () => {
  // The facts each sentence must state, taken from the decision's own fields.
  const FACTS: Record<Decision['kind'], readonly (string | RegExp)[]> = {
    route: ['10.244.2.2', '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink', 'gateway 10.244.2.0', 'VXLAN'],
    neigh: ['10.244.1.1', 'node/node-1', '3a:52:a4:e4:ad:24', /ARP|who has/],
    fdb: ['cni0', /does not (route|switch)/, 'IP stack'],
    'vxlan-fdb': ['0e:8c:9e:18:ab:92', '192.168.1.12'],
    forward: ['ip_forward=1', '64', '63'],
    mtu: ['1500', '1450', /DF/],
    encap: ['VNI 1', '8472', '192.168.1.11', '192.168.1.12', /node addresses/],
    decap: ['8472', 'flannel.1', /strips/],
    deliver: ['the process listening on TCP 3306'],
    'l2-drop': ['eth0', 'another host’s MAC'],
    'icmp-redirect': ['192.168.1.1', '10.0.0.5'],
    netfilter: [
      '10.244.2.2:3306',
      'KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-AAA',
      '6 rules evaluated',
      /random/,
    ],
    conntrack: ['tcp 10.244.1.2:50471 → 10.96.106.22:3306', 'NEW'],
    nat: ['10.96.106.22:3306', '10.244.2.2:3306'],
    ipvs: ['TCP 10.96.0.20:80', '10.244.2.5:8080'],
    resolver: ['"db-service" has 0 dots', 'ndots:5', 'search domains come first', '(1 of 4)'],
    dns: ['CoreDNS kube-system/coredns-2', '10.96.106.22', 'ClusterIP'],
    policy: [/reply of an allowed connection is never blocked/, 'ESTABLISHED'],
  };

  it.each(Object.keys(SAMPLES) as Decision['kind'][])('%s', (kind) => {
    const n = narrateDecision(SAMPLES[kind]);
    expect(n.concept.length).toBeGreaterThan(0);
    for (const fact of FACTS[kind]) expect(n.text).toMatch(fact);
    // One or two sentences (three at most): a learner reads it in one glance. A sentence starts with a
    // capitalised word, so the dots of addresses and DNS names do not count.
    expect(n.text.split(/[.!?]\s+(?=[A-Z][a-z])/).length).toBeLessThanOrEqual(3);
  });

  // The same facts in Korean: the values from the decision's fields, and the concept in the course's words.
  const KO_FACTS: Record<Decision['kind'], readonly (string | RegExp)[]> = {
    route: [
      '10.244.2.2',
      '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
      '게이트웨이 10.244.2.0',
      'VXLAN',
    ],
    neigh: ['10.244.1.1', 'node/node-1', '3a:52:a4:e4:ad:24', 'who has 10.244.1.1?', 'cni0'],
    fdb: ['cni0', '3a:52:a4:e4:ad:24', '브릿지', /스위칭하지 않고/, 'IP 스택'],
    'vxlan-fdb': ['flannel.1', '0e:8c:9e:18:ab:92', '192.168.1.12'],
    forward: ['ip_forward=1', '64', '63', 'TTL'],
    mtu: ['1500', '1450', 'eth0', /DF/, '오버레이'],
    encap: ['VNI 1', '8472', '192.168.1.11', '192.168.1.12', '노드 주소', '파드 주소', /감싸/],
    decap: ['8472', 'flannel.1', /벗겨/],
    deliver: ['the process listening on TCP 3306', '소켓'],
    'l2-drop': ['eth0', 'another host’s MAC'],
    'icmp-redirect': ['192.168.1.1', '10.0.0.5'],
    netfilter: [
      '10.244.2.2:3306',
      'KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-AAA',
      '규칙 6개 검사',
      '무작위',
      'PREROUTING',
    ],
    conntrack: ['tcp 10.244.1.2:50471 → 10.96.106.22:3306', 'NEW'],
    nat: ['10.96.106.22:3306', '10.244.2.2:3306', '파드'],
    ipvs: ['TCP 10.96.0.20:80', '10.244.2.5:8080', 'kube-proxy'],
    resolver: [
      '"db-service"',
      '점 0개',
      'ndots:5',
      'search 도메인',
      '(4개 중 1번째)',
      'db-service.default.svc.cluster.local.',
    ],
    dns: ['CoreDNS kube-system/coredns-2', '10.96.106.22', 'ClusterIP'],
    policy: ['ESTABLISHED', /허용된 연결의 응답이 막히지 않는/],
  };

  it.each(Object.keys(SAMPLES) as Decision['kind'][])('%s, in Korean', (kind) => {
    const n = narrateDecision(SAMPLES[kind], [], koT);
    const english = narrateDecision(SAMPLES[kind]);
    expect(n.concept.length).toBeGreaterThan(0);
    expect(n.text).toMatch(HANGUL);
    expect(n.text).not.toBe(english.text);
    for (const fact of KO_FACTS[kind]) expect(n.text).toMatch(fact);
  });
});

describe('narrate: the concepts that depend on the fields', () => {
  it('the reply un-DNAT names the pod address and the Service address it is rewritten back to', () => {
    const n = narrateDecision({
      kind: 'nat',
      how: 'conntrack',
      hook: 'POSTROUTING',
      field: 'src',
      before: '10.244.2.2:3306',
      after: '10.96.106.22:3306',
    });
    expect(n.concept).toBe('Reply un-DNAT');
    expect(n.text).toMatch(/from 10\.244\.2\.2:3306.*back to 10\.96\.106\.22:3306/);
  });

  it('DNAT says the destination changes from the Service to the endpoint, in that order', () => {
    expect(narrateDecision(SAMPLES.nat).text).toMatch(/from 10\.96\.106\.22:3306 to 10\.244\.2\.2:3306/);
  });

  it('a ClusterIP: the request and the route explain that no interface owns it, only when the trace DNATs it', () => {
    const d: Decision = {
      ...(SAMPLES.route as Extract<Decision, { kind: 'route' }>),
      dst: '10.96.106.22',
      route: 'default via 10.244.1.1 dev eth0',
      dev: 'eth0',
      gateway: '10.244.1.1',
    };
    const dnat = trace([
      { leg: 'request', at: at },
      { decide: SAMPLES.nat, at },
    ]);
    const withDnat = narrateDecision(d, dnat);
    expect(withDnat.text).toMatch(/no interface owns a ClusterIP/);
    const without = narrateDecision(d);
    expect(without.concept).toBe('Longest-prefix match');
    expect(ownerOf(view, '10.244.1.2')).toBe('pod/default/p1-1');
    expect(ownerOf(view, '10.96.106.22')).toBeNull();
  });

  it('ndots: a name with enough dots is tried as given first; an absolute name has no search list', () => {
    const r = SAMPLES.resolver as Extract<Decision, { kind: 'resolver' }>;
    expect(
      narrateDecision({ ...r, name: 'a.b.c.d.e.f', candidate: 'a.b.c.d.e.f.', candidates: ['a.b.c.d.e.f.'] })
        .text,
    ).toMatch(/5 dots, at least ndots:5, so it is tried as given first/);
    expect(narrateDecision({ ...r, name: 'web.default.svc.cluster.local.' }).text).toMatch(/absolute/);
    expect(narrateDecision({ ...r, outcome: 'use', address: '10.96.106.22' }).text).toMatch(
      /answered 10\.96\.106\.22/,
    );
    expect(narrateDecision({ ...r, outcome: 'fail' }).concept).toBe('getaddrinfo fails');
  });

  it('NetworkPolicy: allowed names the rule, denied says default-deny, not-isolated says so', () => {
    const p = SAMPLES.policy as Extract<Decision, { kind: 'policy' }>;
    expect(
      narrateDecision({ ...p, result: 'allowed', rule: 'prod/db-allow-backend ingress[0]' }).text,
    ).toMatch(/prod\/db-allow-backend ingress\[0\] allows/);
    expect(narrateDecision({ ...p, result: 'denied', reason: 'no rule allows it' }).text).toMatch(
      /default-deny.*dropped/,
    );
    expect(narrateDecision({ ...p, result: 'not-isolated', policies: [] }).text).toMatch(/non-isolated/);
  });

  it('netfilter: an established accept and a plain policy accept are told apart', () => {
    const nf = SAMPLES.netfilter as Extract<Decision, { kind: 'netfilter' }>;
    const est = narrateDecision({
      ...nf,
      table: 'filter',
      hook: 'FORWARD',
      steps: [
        {
          chain: 'KUBE-FORWARD',
          index: 2,
          rule: '-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
          action: 'ACCEPT',
          random: null,
        },
      ],
      evaluated: 3,
    });
    expect(est.concept).toBe('Established connections pass');
    const policy = narrateDecision({
      ...nf,
      steps: [{ chain: 'OUTPUT', index: -1, rule: '', action: 'policy ACCEPT', random: null }],
      evaluated: 1,
    });
    expect(policy.text).toMatch(/accepted \(1 rule evaluated\)/);
    expect(narrateDecision({ ...nf, verdict: 'DROP', steps: [] }).text).toMatch(/drops the packet/);
  });

  it('DNS: records as dig prints them (tabs) read as one line; NXDOMAIN and forwarding are told apart', () => {
    const d = SAMPLES.dns as Extract<Decision, { kind: 'dns' }>;
    const n = narrateDecision({ ...d, answer: ['db.shop.svc.cluster.local.\t30\tIN\tA\t10.108.179.218'] });
    expect(n.text).toContain('"db.shop.svc.cluster.local. 30 IN A 10.108.179.218"');
    expect(narrateDecision({ ...d, rcode: 'NXDOMAIN', answer: [] }).concept).toBe('NXDOMAIN');
    expect(narrateDecision({ ...d, rcode: null, answer: [], forwardTo: '203.0.113.53' }).text).toMatch(
      /forwards the query to 203\.0\.113\.53/,
    );
  });

  it('the bridge: learned port, flood', () => {
    const f = SAMPLES.fdb as Extract<Decision, { kind: 'fdb' }>;
    expect(narrateDecision({ ...f, result: 'port', port: 'veth00', learned: true }).text).toMatch(
      /veth00.*learned/,
    );
    expect(narrateDecision({ ...f, result: 'flood' }).concept).toBe('Flooding');
  });
});

describe('narrate in Korean: every leg, device and verdict kind', () => {
  const LEGS: readonly LegKind[] = ['request', 'reply', 'icmp-error', 'dns-query', 'dns-response'];
  it.each(LEGS)('leg %s names its addresses', (leg) => {
    const events = trace([{ leg, at: 'pod/default/p1-1' }]);
    const n = narrate(events[0]!, { events, index: 0, view }, koT);
    expect(n.concept).toMatch(HANGUL);
    expect(n.text).toMatch(HANGUL);
    expect(n.text).toContain(leg === 'dns-response' ? '10.244.2.2' : '10.244.');
    expect(n.text).not.toBe(narrate(events[0]!, { events, index: 0, view }).text);
  });

  const VERDICTS: readonly VerdictKind[] = [
    'delivered',
    'dropped',
    'unreachable',
    'ttl-exceeded',
    'frag-needed',
    'local-error',
    'loop',
    'unresolved',
  ];
  it.each(VERDICTS)('verdict %s keeps the engine’s reason', (verdict) => {
    const events = trace([{ verdict, at: 'node/node-2', reason: 'ttl 0 at node-2' }]);
    const n = narrate(events[0]!, { events, index: 0, view }, koT);
    expect(n.concept).toMatch(HANGUL);
    expect(n.text).toMatch(HANGUL);
    expect(n.text).toContain('ttl 0 at node-2');
  });

  it('observations: veth, VXLAN device, the underlay, with the devices named as Linux names them', () => {
    const events = trace([
      { leg: 'request', at: 'pod/default/p1-1' },
      { observe: 'pod/default/p1-1|eth0' },
      { observe: 'node/node-1|flannel.1' },
      {
        observe: 'node/node-1|eth0',
        packet: frame({ src: '192.168.1.11', dst: '192.168.1.12', inner: frame() }),
      },
    ]);
    const n = (i: number) => narrate(events[i]!, { events, index: i, view }, koT);
    expect(n(1).concept).toBe('veth 쌍');
    expect(n(1).text).toMatch(/eth0.*node\/node-1.*veth00/);
    expect(n(2).text).toMatch(/flannel\.1은\(는\) VXLAN 장치/);
    expect(n(3).text).toMatch(/192\.168\.1\.11 → 192\.168\.1\.12.*10\.244\.1\.2 → 10\.244\.2\.2/);
  });
});

describe('narrate: legs, observations, verdicts', () => {
  const events = trace([
    { leg: 'dns-query', at: 'pod/default/p1-1' },
    { observe: 'pod/default/p1-1|eth0' },
    { observe: 'node/node-1|flannel.1' },
    {
      observe: 'node/node-1|eth0',
      packet: frame({ src: '192.168.1.11', dst: '192.168.1.12', inner: frame() }),
    },
    { verdict: 'ttl-exceeded', at: 'node/node-2', reason: 'ttl 0 at node-2' },
  ]);
  const n = (i: number) => narrate(events[i]!, { events, index: i, view });

  it('differs hop by hop and names the device concept', () => {
    expect(n(0).text).toMatch(/resolv\.conf/);
    expect(n(1).concept).toBe('A veth pair');
    expect(n(1).text).toMatch(/veth00 in node\/node-1/);
    expect(n(2).text).toMatch(/VXLAN device/);
    expect(n(3).text).toMatch(/192\.168\.1\.11 → 192\.168\.1\.12.*10\.244\.1\.2 → 10\.244\.2\.2/);
    expect(n(4).text).toMatch(/TTL.*ttl 0 at node-2/);
    expect(new Set([0, 1, 2, 3, 4].map((i) => n(i).text)).size).toBe(5);
  });
});

describe('narrate: a CNI walk, step by step', () => {
  const model = (() => {
    const p = parseScenario(
      readFileSync(new URL('../scenario/presets/pod-is-born.yaml', import.meta.url), 'utf8'),
    );
    if (!p.ok) throw new Error('pod-is-born does not parse');
    return p.model;
  })();
  const add = walk(buildWorld(model), { from: 'cni/add', to: 'pod/default/cache', protocol: 'tcp' });
  const del = walk(buildWorld(model), { from: 'cni/del', to: 'pod/default/web', protocol: 'tcp' });
  const say = (t: typeof add, i: number) => narrate(t.events[i]!, { events: t.events, index: i, view: null });

  it('every step has a concept and one to three sentences, and consecutive steps differ', () => {
    for (const t of [add, del]) {
      const texts = t.events.map((_, i) => say(t, i));
      for (const n of texts) {
        expect(n.concept.length).toBeGreaterThan(3);
        expect(n.text.split(/[.!?]\s+(?=[A-Z][a-z])/).length).toBeLessThanOrEqual(3);
      }
      for (let i = 1; i < texts.length; i++)
        if (t.events[i]!.type === 'cni' && t.events[i - 1]!.type === 'cni')
          expect(texts[i]!.text).not.toBe(texts[i - 1]!.text);
    }
  });

  it.each([
    ['netns-add', "The pod's network namespace", /pause container/],
    ['link-add-bridge', 'A bridge per node', /first pod/],
    ['link-add-veth', "A veth pair: the pod's cable", /eth0, the other, veth[0-9a-f]{8}/],
    ['link-set-master', 'Plugged into the bridge', /Hairpin mode/],
    ['addr-add', "The pod's IP", /10\.244\.2\.2\/24/],
  ])('ADD %s: %s', (op, concept, text) => {
    const i = add.events.findIndex((e) => e.type === 'cni' && e.op?.op === op);
    expect(say(add, i)).toMatchObject({ concept, text: expect.stringMatching(text) });
  });

  it('explains the plugin run (the course notes’ net-script.sh), subnet.env, IPAM and the gateway', () => {
    const by = (f: (e: (typeof add.events)[number]) => boolean) => say(add, add.events.findIndex(f));
    expect(by((e) => e.type === 'cni' && e.actor === 'containerd' && e.op === null).text).toMatch(
      /net-script\.sh add <container> <namespace>/,
    );
    expect(by((e) => e.type === 'cni' && e.shell.startsWith('cat ')).concept).toBe("flannel's lease");
    expect(by((e) => e.type === 'cni' && e.op?.op === 'file-write' && e.actor === 'host-local').concept).toBe(
      'IPAM: an address for the pod',
    );
    expect(
      by((e) => e.type === 'cni' && e.op?.op === 'addr-add' && e.op.netns.startsWith('node/')).concept,
    ).toBe('The gateway address');
    expect(say(add, add.events.length - 1)).toMatchObject({
      concept: 'The pod has a network',
      text: expect.stringContaining('eth0 10.244.2.2/24'),
    });
  });

  it('DEL: one end deletes both, the address is released, the namespace goes', () => {
    const concepts = del.events.map((_, i) => say(del, i).concept);
    expect(concepts).toEqual(
      expect.arrayContaining([
        'CNI DEL',
        'One end deleted, both gone',
        'The address is released',
        'The namespace goes',
        'The pod network is gone',
      ]),
    );
  });

  it('in Korean: every step is Korean, keeps the device names and addresses, and differs from English', () => {
    const ko = fixedT('ko');
    for (const t of [add, del])
      t.events.forEach((e, i) => {
        const en = say(t, i);
        const n = narrate(e, { events: t.events, index: i, view: null }, ko);
        expect(n.concept + n.text, `${i}`).toMatch(/[\uAC00-\uD7A3]/);
        expect(n.text).not.toBe(en.text);
        // The names and addresses the English sentence shows are in the Korean one — except those of the
        // engine's own sentence (the step's why, which the hop list shows), which Korean leaves out.
        const why = e.type === 'cni' ? [e.why, e.op && 'why' in e.op ? e.op.why : ''] : [];
        const own = why.reduce((text, w) => (w ? text.replace(w, '') : text), en.text);
        for (const name of own.match(/\b(eth0|cni0|veth[0-9a-f]{8}|\d+\.\d+\.\d+\.\d+(\/\d+)?)\b/g) ?? [])
          expect(n.text, `${i}: ${name}`).toContain(name);
        if (why.some((w) => w && w.length > 20)) expect(n.text).not.toContain(why.find((w) => w)!);
      });
  });
});

describe('narrate: every event of every built-in walk, in Korean', () => {
  it('has a Korean text and a Korean (or technical) concept: no sentence built in English outside the messages', () => {
    const ko = fixedT('ko');
    const dir = new URL('../scenario/presets/', import.meta.url);
    let events = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const parsed = parseScenario(readFileSync(new URL(file, dir), 'utf8'));
      if (!parsed.ok) throw new Error(`${file} does not parse`);
      const world = buildWorld(parsed.model);
      for (const w of parsed.model.walks) {
        const t = walk(world, { from: w.from, to: w.to, protocol: w.protocol });
        t.events.forEach((e, index) => {
          const n = narrate(e, { events: t.events, index, view: null }, ko);
          // A concept may be just technical names, as Linux spells them ("ARP", "iptables nat PREROUTING"),
          // but not an English phrase.
          if (!/[\uAC00-\uD7A3]/.test(n.concept))
            expect(n.concept, `${file} ${w.name} #${index}`).not.toMatch(
              /\b(the|a|an|of|to|is|and|not|from|with|by|on|in|at|goes|back|reply|request)\b/i,
            );
          expect(n.text, `${file} ${w.name} #${index}`).toMatch(/[\uAC00-\uD7A3]/);
          events++;
        });
      }
    }
    expect(events).toBeGreaterThan(5000);
  });
});
