import { describe, expect, it } from 'vitest';
import {
  CorednsCache,
  completeForward,
  defaultCorefile,
  parseCorefile,
  scrubResponse,
  serveDns,
  type CacheConfig,
  type CorefileConfig,
  type EndpointWithHostname,
  type ServeOptions,
  type ServeResult,
} from './coredns.ts';
import { formatRecord, makeQuery, replyTo, type DnsMessage, type DnsRecord, type RRType } from './dns.ts';
import { formatIssue, parseScenario } from '../scenario/parse.ts';
import type { ClusterModel } from '../scenario/model.ts';

// A small cluster: a ClusterIP service with a ready and a not-ready pod, a headless service, an ExternalName,
// kube-dns with its CoreDNS pod, and a namespace with nothing in it.
const SCENARIO = `
apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata: { name: dns-unit }
spec: { nodeNetwork: 192.168.1.0/24 }
---
apiVersion: v1
kind: Node
metadata: { name: node-1 }
---
apiVersion: v1
kind: Namespace
metadata: { name: empty }
---
apiVersion: v1
kind: Pod
metadata: { name: web-1, labels: { app: web } }
spec: { nodeName: node-1, containers: [{ name: c, ports: [{ name: http, containerPort: 8080 }] }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-2, labels: { app: web } }
spec: { nodeName: node-1, containers: [{ name: c, ports: [{ name: http, containerPort: 8080 }] }] }
status: { conditions: [{ type: Ready, status: "False" }] }
---
apiVersion: v1
kind: Pod
metadata: { name: db-0, labels: { app: db } }
spec: { nodeName: node-1, containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: db-1, labels: { app: db } }
spec: { nodeName: node-1, containers: [{ name: c }] }
---
apiVersion: v1
kind: Pod
metadata: { name: coredns-1, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec: { nodeName: node-1, containers: [{ name: coredns, ports: [{ name: dns, containerPort: 53, protocol: UDP }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  clusterIP: 10.96.0.20
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }, { name: metrics, port: 9090, targetPort: 9090 }]
---
apiVersion: v1
kind: Service
metadata: { name: db }
spec: { clusterIP: None, selector: { app: db }, ports: [{ name: mysql, port: 3306 }] }
---
apiVersion: v1
kind: Service
metadata: { name: ext }
spec: { type: ExternalName, externalName: example.com }
---
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system }
spec:
  clusterIP: 10.96.0.10
  selector: { k8s-app: kube-dns }
  ports: [{ name: dns, port: 53, protocol: UDP }, { name: dns-tcp, port: 53, protocol: TCP }]
`;

function model(): ClusterModel {
  const r = parseScenario(SCENARIO);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.model;
}
const cluster = model();
const podIP = (name: string): string => cluster.pods.find((p) => p.name === name)!.podIP;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function corefile(text: string): CorefileConfig {
  const { config, problems } = parseCorefile(text);
  expect(problems).toEqual([]);
  return config;
}

const DEFAULT = corefile(defaultCorefile('cluster.local'));
const CLIENT = { ip: '10.244.0.9', port: 41234 };
const UPSTREAMS = ['192.168.1.53', '192.168.1.54'];

function ask(
  name: string,
  type: RRType,
  options: ServeOptions = {},
  config: CorefileConfig = DEFAULT,
  m: ClusterModel = cluster,
): ServeResult {
  return serveDns(config, m, makeQuery(name, type, 4660), CLIENT, lcg(1), UPSTREAMS, options);
}

function answered(r: ServeResult): DnsMessage {
  if (r.kind !== 'answer') throw new Error(`forwarded to ${r.upstream}`);
  return r.response;
}

const texts = (rrs: readonly DnsRecord[]): string[] => rrs.map(formatRecord).sort();

describe('parseCorefile', () => {
  it("reads kubeadm's default Corefile into the plugins' settings", () => {
    const { servers } = DEFAULT;
    expect(servers).toHaveLength(1);
    const b = servers[0]!;
    expect(b).toMatchObject({ keys: ['.:53'], zones: ['.'], port: 53, line: 1 });
    expect(b.plugins.kubernetes).toEqual({
      zones: ['cluster.local.', 'in-addr.arpa.', 'ip6.arpa.'],
      podMode: 'insecure',
      fallthrough: ['in-addr.arpa.', 'ip6.arpa.'],
      ttl: 30,
      namespaces: [],
      endpointPodNames: false,
      ignoreEmptyService: false,
      noEndpoints: false,
    });
    expect(b.plugins.forward).toEqual({
      from: '.',
      to: ['/etc/resolv.conf'],
      except: [],
      policy: 'random',
      maxConcurrent: 1000,
    });
    expect(b.plugins.cache).toMatchObject({
      zones: ['.'],
      successTtl: 30,
      denialTtl: 30,
      disableSuccess: ['cluster.local.'],
      disableDenial: ['cluster.local.'],
    });
    expect(b.plugins.health).toEqual({ address: null, lameduckSeconds: 5 });
    expect(b.plugins.prometheus).toEqual({ address: ':9153' });
    expect(Object.keys(b.plugins).sort()).toEqual(
      [
        'cache',
        'errors',
        'forward',
        'health',
        'kubernetes',
        'loadbalance',
        'loop',
        'prometheus',
        'ready',
        'reload',
      ].sort(),
    );
  });

  it("gives kubeadm's CoreDNSConfigMap text for the cluster domain", () => {
    expect(defaultCorefile('k8s.example')).toBe(
      `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes k8s.example in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success k8s.example
       disable denial k8s.example
    }
    loop
    reload
    loadbalance
}
`,
    );
  });

  it('names line and column of each problem and keeps the rest', () => {
    const { config, problems } = parseCorefile(
      [
        'cluster.local:53 {',
        '    kubernetes cluster.local {',
        '        pods maybe',
        '        ttl 4000',
        '        colour blue',
        '    }',
        '    frobnicate',
        '    rewrite name a b',
        '    forward .',
        '}',
        '.:53 {',
        '    forward . 8.8.8.8 1.1.1.1 {',
        '        policy sequential',
        '    }',
        '    cache 30',
        '    cache 60',
        '}',
      ].join('\n'),
    );
    expect(problems).toEqual([
      { line: 3, column: 14, message: 'wrong value for pods: must be one of: disabled, verified, insecure' },
      { line: 4, column: 13, message: 'ttl: "4000" is not a number in [0, 3600]' },
      { line: 5, column: 9, message: 'kubernetes: unknown property "colour"' },
      { line: 7, column: 5, message: 'unknown directive "frobnicate"' },
      { line: 8, column: 5, message: 'plugin "rewrite" is not modelled: the answers ignore it' },
      { line: 9, column: 13, message: 'forward: needs a zone and at least one upstream' },
      { line: 16, column: 5, message: 'plugin/cache: this plugin can only be used once per Server Block' },
    ]);
    const [k8s, root] = config.servers;
    expect(k8s!.plugins.kubernetes).toMatchObject({ zones: ['cluster.local.'], podMode: 'disabled', ttl: 5 });
    expect(k8s!.plugins.forward).toBeUndefined();
    expect(root!.plugins.forward).toMatchObject({ to: ['8.8.8.8', '1.1.1.1'], policy: 'sequential' });
    expect(root!.plugins.cache).toMatchObject({ successTtl: 30 });
  });

  it.each([
    ['10.0.0.0/24:53', ['0.0.10.in-addr.arpa.']],
    ['10.0.0.0/23', ['0.0.10.in-addr.arpa.', '1.0.10.in-addr.arpa.']],
    ['dns://Example.ORG:53', ['example.org.']],
    ['a.example b.example', ['a.example.', 'b.example.']],
  ])('server block key %s serves %j', (keys, zones) => {
    expect(corefile(`${keys} {\n    errors\n}\n`).servers[0]!.zones).toEqual(zones);
  });

  it('reports a zone defined twice and an unclosed block', () => {
    expect(parseCorefile('.:53 {\n}\n.:53 {\n}\n').problems).toEqual([
      { line: 3, column: 1, message: 'cannot serve dns://.:53 - it is already defined (line 1)' },
    ]);
    expect(parseCorefile('.:53 {\n  errors\n').problems).toEqual([
      { line: 1, column: 6, message: 'unclosed "{"' },
    ]);
  });
});

describe('serveDns: the kubernetes plugin (Kubernetes DNS specification)', () => {
  const web1 = podIP('web-1');
  const [db0, db1] = [podIP('db-0'), podIP('db-1')];
  const dash = (ip: string): string => ip.replaceAll('.', '-');

  it.each<[string, RRType, string, string[]]>([
    [
      'web.default.svc.cluster.local',
      'A',
      'NOERROR',
      ['web.default.svc.cluster.local.\t30\tIN\tA\t10.96.0.20'],
    ],
    [
      'db.default.svc.cluster.local',
      'A',
      'NOERROR',
      [
        `db.default.svc.cluster.local.\t30\tIN\tA\t${db0}`,
        `db.default.svc.cluster.local.\t30\tIN\tA\t${db1}`,
      ],
    ],
    [
      `${dash(db0)}.db.default.svc.cluster.local`,
      'A',
      'NOERROR',
      [`${dash(db0)}.db.default.svc.cluster.local.\t30\tIN\tA\t${db0}`],
    ],
    [
      '_http._tcp.web.default.svc.cluster.local',
      'SRV',
      'NOERROR',
      ['_http._tcp.web.default.svc.cluster.local.\t30\tIN\tSRV\t0 100 80 web.default.svc.cluster.local.'],
    ],
    [
      'web.default.svc.cluster.local',
      'SRV',
      'NOERROR',
      [
        'web.default.svc.cluster.local.\t30\tIN\tSRV\t0 50 80 web.default.svc.cluster.local.',
        'web.default.svc.cluster.local.\t30\tIN\tSRV\t0 50 9090 web.default.svc.cluster.local.',
      ],
    ],
    [
      'ext.default.svc.cluster.local',
      'CNAME',
      'NOERROR',
      ['ext.default.svc.cluster.local.\t30\tIN\tCNAME\texample.com.'],
    ],
    [
      `${dash(web1)}.default.pod.cluster.local`,
      'A',
      'NOERROR',
      [`${dash(web1)}.default.pod.cluster.local.\t30\tIN\tA\t${web1}`],
    ],
    // 28800 from the plugin, but the cache plugin's writer sets every TTL to its cap (30) even where it
    // does not store (disable success cluster.local).
    ['dns-version.cluster.local', 'TXT', 'NOERROR', ['dns-version.cluster.local.\t30\tIN\tTXT\t"1.1.0"']],
    ['ns.dns.cluster.local', 'A', 'NOERROR', ['ns.dns.cluster.local.\t30\tIN\tA\t10.96.0.10']],
    [
      'cluster.local',
      'NS',
      'NOERROR',
      ['cluster.local.\t30\tIN\tNS\tkube-dns.kube-system.svc.cluster.local.'],
    ],
    [
      '20.0.96.10.in-addr.arpa',
      'PTR',
      'NOERROR',
      ['20.0.96.10.in-addr.arpa.\t30\tIN\tPTR\tweb.default.svc.cluster.local.'],
    ],
    [
      `${db0.split('.').reverse().join('.')}.in-addr.arpa`,
      'PTR',
      'NOERROR',
      [
        `${db0.split('.').reverse().join('.')}.in-addr.arpa.\t30\tIN\tPTR\t${dash(db0)}.db.default.svc.cluster.local.`,
      ],
    ],
    // NXDOMAIN: no such service, an unknown namespace, a name the schema does not have.
    ['nope.default.svc.cluster.local', 'A', 'NXDOMAIN', []],
    ['web.nowhere.svc.cluster.local', 'A', 'NXDOMAIN', []],
    ['a.b.c.d.web.default.svc.cluster.local', 'A', 'NXDOMAIN', []],
    ['_grpc._tcp.web.default.svc.cluster.local', 'SRV', 'NXDOMAIN', []],
    // NODATA: the name exists, not with that type.
    ['web.default.svc.cluster.local', 'AAAA', 'NOERROR', []],
    ['web.default.svc.cluster.local', 'TXT', 'NOERROR', []],
    ['empty.svc.cluster.local', 'A', 'NOERROR', []],
    ['svc.cluster.local', 'A', 'NOERROR', []],
    ['web.default.svc.cluster.local', 'MX', 'NOERROR', []],
  ])('%s %s → %s', (name, type, rcode, answer) => {
    const r = answered(ask(name, type));
    expect(r.rcode).toBe(rcode);
    expect(texts(r.answer)).toEqual([...answer].sort());
    expect(r.flags).toMatchObject({ qr: true, aa: true, rd: true, ra: false });
    // A negative answer carries the zone's SOA (RFC 2308); a positive one does not.
    expect(r.authority.map((x) => x.type)).toEqual(answer.length === 0 ? ['SOA'] : []);
  });

  it('leaves out not-ready endpoints (the SRV of a ClusterIP names the service; its A the ClusterIP)', () => {
    const m = answered(ask(`${dash(podIP('web-2'))}.web.default.svc.cluster.local`, 'A'));
    expect(m.rcode).toBe('NXDOMAIN');
    expect(answered(ask(`${dash(web1)}.web.default.svc.cluster.local`, 'A')).answer).toHaveLength(1);
  });

  it("puts the targets' addresses in the additional section of an SRV answer", () => {
    const r = answered(ask('_mysql._tcp.db.default.svc.cluster.local', 'SRV'));
    expect(texts(r.answer)).toEqual([
      `_mysql._tcp.db.default.svc.cluster.local.\t30\tIN\tSRV\t0 50 3306 ${dash(db0)}.db.default.svc.cluster.local.`,
      `_mysql._tcp.db.default.svc.cluster.local.\t30\tIN\tSRV\t0 50 3306 ${dash(db1)}.db.default.svc.cluster.local.`,
    ]);
    expect(texts(r.additional)).toEqual([
      `${dash(db0)}.db.default.svc.cluster.local.\t30\tIN\tA\t${db0}`,
      `${dash(db1)}.db.default.svc.cluster.local.\t30\tIN\tA\t${db1}`,
    ]);
  });

  it('builds the SOA as CoreDNS does: ns.dns and hostmaster of the zone, TTL min(ttl, 300), MINIMUM ttl', () => {
    const r = answered(ask('nope.default.svc.cluster.local', 'A', { soaSerial: 1700000123 }));
    expect(r.authority[0]).toEqual({
      name: 'cluster.local.',
      ttl: 30,
      class: 'IN',
      type: 'SOA',
      data: {
        mname: 'ns.dns.cluster.local.',
        rname: 'hostmaster.cluster.local.',
        serial: 1700000123,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: 30,
      },
    });
  });

  it('gives dns-version its own TTL (28800) when no cache plugin rewrites it', () => {
    const config = corefile('.:53 {\n  kubernetes cluster.local\n}\n');
    expect(texts(answered(ask('dns-version.cluster.local', 'TXT', {}, config)).answer)).toEqual([
      'dns-version.cluster.local.\t28800\tIN\tTXT\t"1.1.0"',
    ]);
  });

  it('answers in the case the query used', () => {
    const r = answered(ask('Web.Default.SVC.Cluster.Local', 'A'));
    expect(texts(r.answer)).toEqual(['Web.Default.SVC.Cluster.Local.\t30\tIN\tA\t10.96.0.20']);
    expect(answered(ask('Nope.default.svc.Cluster.Local', 'A')).authority[0]!.name).toBe('Cluster.Local.');
  });

  it.each<[string, string, string]>([
    ['disabled', `${dash(web1)}`, 'NXDOMAIN'],
    ['insecure', '10-1-2-3', 'NOERROR'],
    ['verified', `${dash(web1)}`, 'NOERROR'],
    ['verified', '10-1-2-3', 'NXDOMAIN'],
    ['insecure', 'not-an-ip', 'NXDOMAIN'],
  ])('pods %s: %s.default.pod → %s', (mode, label, rcode) => {
    const config = corefile(`.:53 {\n  kubernetes cluster.local {\n    pods ${mode}\n  }\n}\n`);
    expect(answered(ask(`${label}.default.pod.cluster.local`, 'A', {}, config)).rcode).toBe(rcode);
  });

  it('names endpoints by hostname first, then (endpoint_pod_names) by pod', () => {
    const config = corefile('.:53 {\n  kubernetes cluster.local {\n    endpoint_pod_names\n  }\n}\n');
    expect(texts(answered(ask('db-1.db.default.svc.cluster.local', 'A', {}, config)).answer)).toEqual([
      `db-1.db.default.svc.cluster.local.\t5\tIN\tA\t${db1}`,
    ]);
    // The scenario model does not carry EndpointSlice hostnames yet; CoreDNS prefers one when present.
    const withHostname: ClusterModel = {
      ...cluster,
      endpointSlices: cluster.endpointSlices.map((s) =>
        s.serviceName !== 'db'
          ? s
          : {
              ...s,
              endpoints: s.endpoints.map((e): EndpointWithHostname =>
                e.addresses[0] === db0 ? { ...e, hostname: 'primary' } : e,
              ),
            },
      ),
    };
    expect(
      texts(answered(ask('primary.db.default.svc.cluster.local', 'A', {}, config, withHostname)).answer),
    ).toEqual([`primary.db.default.svc.cluster.local.\t5\tIN\tA\t${db0}`]);
  });

  it('exposes only the listed namespaces, and ignore empty_service makes an endpoint-less ClusterIP NXDOMAIN', () => {
    const onlyKube = corefile('.:53 {\n  kubernetes cluster.local {\n    namespaces kube-system\n  }\n}\n');
    expect(answered(ask('web.default.svc.cluster.local', 'A', {}, onlyKube)).rcode).toBe('NXDOMAIN');
    expect(answered(ask('kube-dns.kube-system.svc.cluster.local', 'A', {}, onlyKube)).rcode).toBe('NOERROR');
    const noPods: ClusterModel = { ...cluster, endpointSlices: [] };
    const ignore = corefile('.:53 {\n  kubernetes cluster.local {\n    ignore empty_service\n  }\n}\n');
    expect(answered(ask('web.default.svc.cluster.local', 'A', {}, ignore, noPods)).rcode).toBe('NXDOMAIN');
    expect(answered(ask('web.default.svc.cluster.local', 'A', {}, DEFAULT, noPods)).rcode).toBe('NOERROR');
  });

  it('says what it did', () => {
    expect(ask('web.default.svc.cluster.local', 'A').steps).toEqual([
      'cache: empty (no store kept)',
      'kubernetes: svc web.default has ClusterIP 10.96.0.20: 1 A answer(s)',
      'cache: TTL 30s; not stored: disable success cluster.local.',
    ]);
    expect(ask('nope.default.svc.cluster.local', 'A').steps).toContain(
      'kubernetes: no service nope in namespace default: NXDOMAIN',
    );
  });
});

describe('serveDns: server blocks and forward', () => {
  it('forwards what the cluster zone does not hold to the resolv.conf nameservers, with a fresh id', () => {
    const r = ask('example.com', 'A');
    expect(r.kind).toBe('forward');
    if (r.kind !== 'forward') return;
    expect(UPSTREAMS).toContain(r.upstream);
    expect(r.upstreamPort).toBe(53);
    expect(r.query.question).toEqual([{ name: 'example.com.', type: 'A' }]);
    expect(r.query.id).not.toBe(4660);
    expect(r.server).toBe('.:53');
  });

  it('falls through to forward for a reverse name the cluster does not have', () => {
    expect(ask('1.113.0.203.in-addr.arpa', 'PTR').kind).toBe('forward');
  });

  it.each<[string, number, string]>([
    ['sequential', 0, '192.168.1.53'],
    ['round_robin', 0, '192.168.1.54'], // policy.go increments before use: the first query takes the second
    ['round_robin', 1, '192.168.1.53'],
  ])('policy %s after %d queries picks %s', (policy, before, upstream) => {
    const config = corefile(
      `.:53 {\n  forward . 192.168.1.53 192.168.1.54 {\n    policy ${policy}\n  }\n}\n`,
    );
    const r = ask('example.com', 'A', { forwardedBefore: before }, config);
    expect(r.kind === 'forward' && r.upstream).toBe(upstream);
  });

  it('policy random draws from rng: both upstreams get picked', () => {
    const config = corefile('.:53 {\n  forward . 192.168.1.53 192.168.1.54\n}\n');
    const picked = new Set<string>();
    const rng = lcg(3);
    for (let i = 0; i < 20; i++) {
      const r = serveDns(config, cluster, makeQuery('example.com', 'A', i), CLIENT, rng, []);
      if (r.kind === 'forward') picked.add(r.upstream);
    }
    expect([...picked].sort()).toEqual(['192.168.1.53', '192.168.1.54']);
  });

  it('routes by the longest zone, and REFUSES what no block serves', () => {
    const config = corefile(
      'cluster.local:53 {\n  kubernetes cluster.local\n}\nexample.org:53 {\n  forward . 10.0.0.53\n}\n',
    );
    expect(ask('web.default.svc.cluster.local', 'A', {}, config)).toMatchObject({
      kind: 'answer',
      server: 'cluster.local:53',
    });
    expect(ask('www.example.org', 'A', {}, config)).toMatchObject({ kind: 'forward', upstream: '10.0.0.53' });
    const refused = answered(ask('example.com', 'A', {}, config));
    expect(refused.rcode).toBe('REFUSED');
    expect(refused.flags.aa).toBe(false);
  });

  it('SERVFAILs with an empty resolv.conf, and with a loopback upstream (the loop plugin stops CoreDNS)', () => {
    const empty = serveDns(DEFAULT, cluster, makeQuery('example.com', 'A', 1), CLIENT, lcg(1), []);
    expect(answered(empty).rcode).toBe('SERVFAIL');
    const loop = serveDns(DEFAULT, cluster, makeQuery('example.com', 'A', 1), CLIENT, lcg(1), ['127.0.0.53']);
    expect(answered(loop).rcode).toBe('SERVFAIL');
    expect(loop.steps).toContainEqual(expect.stringMatching(/the loop plugin stops CoreDNS/));
  });

  it('answers inline hosts entries before the kubernetes plugin', () => {
    const config = corefile(
      '.:53 {\n  hosts {\n    10.0.0.5 legacy.example\n    fallthrough\n  }\n  forward . 10.0.0.53\n}\n',
    );
    expect(texts(answered(ask('legacy.example', 'A', {}, config)).answer)).toEqual([
      'legacy.example.\t3600\tIN\tA\t10.0.0.5',
    ]);
    expect(ask('other.example', 'A', {}, config).kind).toBe('forward');
  });
});

describe('completeForward: the upstream reply on its way back to the client', () => {
  const upstreamReply = (q: DnsMessage, ttl: number): DnsMessage => {
    const base = replyTo(q);
    return {
      ...base,
      flags: { ...base.flags, ra: true },
      answer: [
        { name: q.question[0]!.name, ttl, class: 'IN', type: 'A', data: { address: '93.184.216.34' } },
      ],
    };
  };

  it("restores the client's id and caps the TTL at the cache's maximum", () => {
    const r = ask('example.com', 'A');
    if (r.kind !== 'forward') throw new Error('expected a forward');
    const done = completeForward(DEFAULT, r, upstreamReply(r.query, 7200), lcg(1));
    expect(done.response.id).toBe(4660);
    expect(done.response.answer[0]!.ttl).toBe(30);
    expect(done.response.flags).toMatchObject({ qr: true, aa: false, ra: true });
    expect(done.response.compress).toBe(false);
  });

  it('answers FORMERR when the upstream reply is for another question', () => {
    const r = ask('example.com', 'A');
    if (r.kind !== 'forward') throw new Error('expected a forward');
    const wrong = upstreamReply(makeQuery('example.net', 'A', r.query.id), 300);
    expect(completeForward(DEFAULT, r, wrong, lcg(1)).response.rcode).toBe('FORMERR');
  });

  it('chases an ExternalName outside the zone through the server: CNAME plus the upstream answer', () => {
    const r = ask('ext.default.svc.cluster.local', 'A');
    if (r.kind !== 'forward') throw new Error('expected a forward');
    expect(r.query.question).toEqual([{ name: 'example.com.', type: 'A' }]);
    const done = completeForward(DEFAULT, r, upstreamReply(r.query, 300), lcg(1));
    expect(done.response.id).toBe(4660);
    expect(done.response.question).toEqual([{ name: 'ext.default.svc.cluster.local.', type: 'A' }]);
    expect(done.response.answer.map(formatRecord)).toEqual([
      'ext.default.svc.cluster.local.\t30\tIN\tCNAME\texample.com.',
      'example.com.\t30\tIN\tA\t93.184.216.34',
    ]);
    expect(done.response.flags.aa).toBe(true);
  });
});

describe('CorednsCache (plugin/cache)', () => {
  const config: CacheConfig = DEFAULT.servers[0]!.plugins.cache!;
  const reply = (name: string, ttl: number): DnsMessage => {
    const base = replyTo(makeQuery(name, 'A', 1));
    return {
      ...base,
      flags: { ...base.flags, ra: true },
      answer: [{ name, ttl, class: 'IN', type: 'A', data: { address: '93.184.216.34' } }],
    };
  };

  it('stores a positive answer with its TTL capped, and counts the TTL down with the clock', () => {
    const cache = new CorednsCache(config);
    const w = cache.write(makeQuery('example.com.', 'A', 1), reply('example.com.', 300), 1000);
    expect(w).toMatchObject({ ttl: 30, stored: 'success' });
    expect(cache.lookup(makeQuery('EXAMPLE.com', 'A', 9), 1012.9)).toMatchObject({
      ttl: 18,
      kind: 'success',
    });
    const hit = cache.lookup(makeQuery('example.com', 'A', 9), 1012.9)!.reply;
    expect(hit.id).toBe(9);
    expect(hit.flags).toMatchObject({ aa: true, ra: true });
    expect(hit.answer[0]!.ttl).toBe(18);
    expect(cache.lookup(makeQuery('example.com', 'A', 9), 1030)).toBeNull();
    expect(cache.lookup(makeQuery('example.com', 'AAAA', 9), 1001)).toBeNull();
  });

  it('raises a TTL below the floor to it (5 s)', () => {
    const cache = new CorednsCache(config);
    expect(cache.write(makeQuery('example.com.', 'A', 1), reply('example.com.', 1), 0).ttl).toBe(5);
  });

  it('keeps NXDOMAIN with SOA as denial for the SOA TTL, capped; not without SOA; never truncated replies', () => {
    const cache = new CorednsCache({ ...config, denialTtl: 20 });
    const q = makeQuery('nope.example.', 'A', 1);
    const soa: DnsRecord = {
      name: 'example.',
      ttl: 900,
      class: 'IN',
      type: 'SOA',
      data: { mname: 'a.', rname: 'b.', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 900 },
    };
    const nx = { ...replyTo(q, 'NXDOMAIN'), authority: [soa] };
    expect(cache.write(q, nx, 0)).toMatchObject({ ttl: 20, stored: 'denial' });
    expect(cache.lookup(q, 5)).toMatchObject({ kind: 'denial', ttl: 15 });
    expect(cache.write(q, replyTo(q, 'NXDOMAIN'), 0).stored).toBeNull();
    const tc = { ...reply('big.example.', 300), flags: { ...reply('big.example.', 300).flags, tc: true } };
    expect(cache.write(makeQuery('big.example.', 'A', 1), tc, 0)).toMatchObject({
      stored: null,
      why: 'truncated replies are not cached',
    });
  });

  it('does not store answers of a `disable success` zone', () => {
    const cache = new CorednsCache(config);
    const w = cache.write(
      makeQuery('web.default.svc.cluster.local', 'A', 1),
      reply('web.default.svc.cluster.local.', 30),
      0,
    );
    expect(w).toMatchObject({ stored: null, why: 'disable success cluster.local.' });
    expect(cache.entries(0)).toEqual([]);
  });

  it('serves a forwarded answer from the cache on the next query', () => {
    const cache = new CorednsCache(config);
    const first = ask('example.com', 'A', { cache, now: 100 });
    if (first.kind !== 'forward') throw new Error('expected a forward');
    const base = replyTo(first.query);
    completeForward(
      DEFAULT,
      first,
      { ...base, flags: { ...base.flags, ra: true }, answer: reply('example.com.', 600).answer },
      lcg(1),
      { cache, now: 100 },
    );
    const second = ask('example.com', 'A', { cache, now: 110 });
    expect(second.kind).toBe('answer');
    expect(second.steps[0]).toBe('cache: hit (success), 20s left');
    expect(answered(second).answer[0]!.ttl).toBe(20);
  });
});

describe('loadbalance and the reply to the client', () => {
  const many = (n: number): ClusterModel => ({
    ...cluster,
    endpointSlices: [
      ...cluster.endpointSlices.filter((s) => s.serviceName !== 'db'),
      {
        namespace: 'default',
        name: 'db-many',
        serviceName: 'db',
        ports: [],
        generated: false,
        endpoints: Array.from({ length: n }, (_, i) => ({
          addresses: [`10.244.9.${i + 1}`],
          ready: true,
          serving: true,
          terminating: false,
          nodeName: null,
          targetPod: null,
        })),
      },
    ],
  });

  it('shuffles the address records with rng, keeping the set', () => {
    const m = many(6);
    const orders = new Set<string>();
    for (let seed = 1; seed <= 5; seed++) {
      const r = serveDns(
        DEFAULT,
        m,
        makeQuery('db.default.svc.cluster.local', 'A', 1),
        CLIENT,
        lcg(seed),
        [],
      );
      const addrs = answered(r).answer.map((x) => (x.type === 'A' ? x.data.address : ''));
      expect([...addrs].sort()).toEqual(Array.from({ length: 6 }, (_, i) => `10.244.9.${i + 1}`).sort());
      orders.add(addrs.join(','));
    }
    expect(orders.size).toBeGreaterThan(1);
    // Same seed, same order: the engine is deterministic.
    const again = (seed: number): string =>
      formatRecord(
        answered(
          serveDns(DEFAULT, m, makeQuery('db.default.svc.cluster.local', 'A', 1), CLIENT, lcg(seed), []),
        ).answer[0]!,
      );
    expect(again(4)).toBe(again(4));
  });

  it('truncates a UDP reply to 512 bytes (compressed first), but not with a large EDNS buffer', () => {
    const m = many(40);
    const udp = answered(
      serveDns(DEFAULT, m, makeQuery('db.default.svc.cluster.local', 'A', 1), CLIENT, lcg(1), []),
    );
    expect(udp.flags.tc).toBe(true);
    expect(udp.compress).toBe(true);
    expect(udp.answer.length).toBeLessThan(40);
    const edns = makeQuery('db.default.svc.cluster.local', 'A', 1, { edns: { udpSize: 1232, do: false } });
    const big = answered(serveDns(DEFAULT, m, edns, CLIENT, lcg(1), []));
    expect(big.flags.tc).toBe(false);
    expect(big.answer).toHaveLength(40);
    expect(big.edns).toEqual({ udpSize: 1232, do: false });
  });

  it('scrubResponse drops an OPT record the query did not ask for', () => {
    const q = makeQuery('a.example', 'A', 1);
    const r = scrubResponse({ ...replyTo(q), edns: { udpSize: 4096, do: false } }, q, 'udp');
    expect(r.edns).toBeUndefined();
    expect(r.compress).toBe(false);
  });

  it('logs each query as the log plugin does', () => {
    const config = corefile('.:53 {\n  log\n  kubernetes cluster.local\n}\n');
    expect(ask('web.default.svc.cluster.local', 'A', {}, config).steps.at(-1)).toBe(
      'log: 10.244.0.9:41234 - 4660 "A IN web.default.svc.cluster.local. udp 47 false 512" NOERROR qr,aa,rd 92',
    );
  });
});
