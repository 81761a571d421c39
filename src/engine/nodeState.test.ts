import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatTrace } from './format.ts';
import { buildWorld, walk } from './index.ts';
import { parseConntrackList, formatConntrack } from './conntrack.ts';
import { parseBridgeFdb, parseIpNeigh } from './neigh.ts';
import { formatRoute, parseIpRoute } from './route.ts';
import { readKubectlDump, withNodeState, writeImportedScenario } from '../scenario/importKubectl.ts';
import { formatIssue, parseScenario } from '../scenario/parse.ts';
import type { ClusterModel } from '../scenario/model.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');
const W1 = {
  iptablesSave: fixture('node-state/worker-1.iptables'),
  ipRoute: fixture('node-state/worker-1.route'),
  ipNeigh: fixture('node-state/worker-1.neigh'),
  bridgeFdb: fixture('node-state/worker-1.fdb'),
  conntrack: fixture('node-state/worker-1.conntrack'),
};

/** The kubeadm + flannel dump imported (no internet), as scenario text. */
function importedText(): string {
  const d = readKubectlDump(fixture('kubectl/kubeadm-flannel.yaml'));
  if (!d.ok) throw new Error('dump');
  const w = writeImportedScenario(d, { internet: 'false', gateway: '' });
  if (!w.ok) throw new Error('write');
  return w.text;
}

function model(text: string): ClusterModel {
  const p = parseScenario(text);
  if (!p.ok) throw new Error(p.errors.map(formatIssue).join('\n'));
  return p.model;
}

describe('ip route', () => {
  it('reads what `ip route` prints on a kubeadm + flannel node', () => {
    const { routes, problems } = parseIpRoute(W1.ipRoute);
    expect(problems).toEqual([]);
    expect(routes.map(formatRoute)).toEqual([
      'default via 192.168.56.1 dev enp0s8 proto dhcp src 192.168.56.11 metric 100',
      '10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink',
      '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1',
      'blackhole 10.244.9.0/24 proto static',
      '192.168.56.0/24 dev enp0s8 proto kernel scope link src 192.168.56.11 metric 100',
      '192.168.56.1 dev enp0s8 proto dhcp scope link src 192.168.56.11 metric 100',
    ]);
  });

  it.each([
    [
      'local and broadcast routes of `ip route show table all`',
      'local 10.244.1.1 dev cni0 table local proto kernel scope host src 10.244.1.1',
      { table: 'local', type: 'local', scope: 'host' },
    ],
    [
      'mtu lock and pref are ignored',
      '10.0.0.0/8 dev eth0 mtu lock 1400 pref medium',
      { dst: { ip: '10.0.0.0', prefix: 8 }, dev: 'eth0' },
    ],
    [
      'a host route',
      '192.168.1.7 via 192.168.1.1 dev eth0',
      { dst: { ip: '192.168.1.7', prefix: 32 }, gateway: '192.168.1.1' },
    ],
  ])('%s', (_name, line, expected) => {
    const { routes, problems } = parseIpRoute(line);
    expect(problems).toEqual([]);
    expect(routes[0]).toMatchObject(expected);
  });

  it('reads a multipath route with its nexthop lines', () => {
    const { routes, problems } = parseIpRoute(
      'default proto static metric 100\n\tnexthop via 10.0.0.1 dev eth0 weight 1\n\tnexthop via 10.0.0.2 dev eth0 weight 1\n',
    );
    expect(problems).toEqual([]);
    expect(routes).toHaveLength(1);
    expect(routes[0]!.nexthops).toEqual([
      { gateway: '10.0.0.1', dev: 'eth0' },
      { gateway: '10.0.0.2', dev: 'eth0' },
    ]);
  });

  it('names the line of what it cannot read, and warns about what it leaves out', () => {
    const { problems } = parseIpRoute(
      [
        'default via 10.0.0.1 dev eth0',
        '10.1.0.0/16 dev eth0',
        'blackhole2 10.244.0.0/24',
        '10.2.0.0/16 via 10.0.0.300 dev eth0',
        '10.3.0.0/16 dev eth0 frobnicate 3',
        '10.4.0.1/16 dev eth0',
        'fe80::/64 dev eth0 proto kernel metric 256 pref medium',
        '10.5.0.0/16 via 10.0.0.1 dev eth0 table 100',
        'multicast 224.0.0.0/4 dev eth0',
        'default proto static',
      ].join('\n'),
    );
    expect(problems).toEqual([
      { line: 3, message: 'unknown route type "blackhole2"', severity: 'error' },
      { line: 4, message: 'via "10.0.0.300": not an IPv4 address', severity: 'error' },
      { line: 5, message: 'unknown keyword "frobnicate"', severity: 'error' },
      { line: 6, message: '"10.4.0.1/16" has host bits set (network is 10.4.0.0/16)', severity: 'error' },
      { line: 7, message: 'IPv6 routes are not modelled; left out', severity: 'warning' },
      { line: 8, message: 'table 100 is not modelled (only main and local); left out', severity: 'warning' },
      { line: 9, message: 'multicast routes are not modelled; left out', severity: 'warning' },
      { line: 10, message: 'a route needs a dev, a via or nexthop lines', severity: 'error' },
    ]);
  });
});

describe('ip neigh', () => {
  it('reads states and addresses; entries without an address and IPv6 are left out', () => {
    const { entries, problems } = parseIpNeigh(W1.ipNeigh);
    expect(entries.map((e) => `${e.ip} ${e.dev} ${e.mac} ${e.state} @${e.line}`)).toEqual([
      '10.244.0.0 flannel.1 22:fe:4b:7e:9d:66 PERMANENT @1',
      '192.168.56.1 enp0s8 52:54:00:12:35:02 REACHABLE @2',
      '192.168.56.10 enp0s8 1a:b5:fd:cc:97:ae STALE @3',
      '10.244.1.5 cni0 1e:1e:21:34:5e:4e REACHABLE @4',
    ]);
    expect(problems).toEqual([
      { line: 6, message: 'IPv6 neighbours are not modelled; left out', severity: 'warning' },
    ]);
  });

  it('names bad lines', () => {
    const { problems } = parseIpNeigh(
      '10.0.0.1 dev eth0 lladdr zz:00:00:00:00:01 REACHABLE\n10.0.0.2 lladdr 00:00:00:00:00:01 STALE\n10.0.0.3 dev eth0 lladdr 00:00:00:00:00:01 SLEEPY\n',
    );
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '1: lladdr "zz:00:00:00:00:01": not a MAC address',
      '2: missing "dev DEVICE"',
      '3: unknown word "SLEEPY" (expected dev, lladdr or a state such as REACHABLE)',
    ]);
  });
});

describe('bridge fdb', () => {
  it('keeps VXLAN remotes and bridge ports, skips the NICs multicast filter', () => {
    const { entries, problems } = parseBridgeFdb(W1.bridgeFdb);
    expect(problems).toEqual([]);
    expect(
      entries.map((e) =>
        e.kind === 'vxlan'
          ? `${e.mac} ${e.dev} dst ${e.dst}`
          : `${e.mac} ${e.dev} master ${e.master}${e.permanent ? ' permanent' : ''}`,
      ),
    ).toEqual([
      '22:fe:4b:7e:9d:66 flannel.1 dst 192.168.56.10',
      '76:e9:7d:ee:a7:22 cni0 master cni0 permanent',
      '76:e9:7d:ee:a7:22 cni0 master cni0 permanent',
      '1e:1e:21:34:5e:4e vetha863275f master cni0',
      'a6:24:af:89:aa:3f vetha863275f master cni0 permanent',
      'a6:24:af:89:aa:3f vetha863275f master cni0 permanent',
      '5a:3c:99:10:2e:71 veth9f8e7d6c master cni0',
    ]);
  });

  it('names bad lines', () => {
    const { problems } = parseBridgeFdb(
      '00:11:22:33:44 dev eth0\n00:11:22:33:44:55 dev flannel.1 dst 1.2.3\n00:11:22:33:44:55 dev x bogus\n',
    );
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '1: "00:11:22:33:44" is not a MAC address',
      '2: dst "1.2.3": not an IPv4 address',
      '3: unknown word "bogus"',
    ]);
  });
});

describe('conntrack -L', () => {
  it('reads tuples, flags, marks and the NAT the reply tuple implies', () => {
    const { entries, problems } = parseConntrackList(W1.conntrack);
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.original.proto, e.tcpState, e.seenReply, e.dnat, e.snat])).toEqual([
      ['tcp', 'ESTABLISHED', true, null, null],
      ['udp', null, true, { ip: '10.244.0.2', port: 53 }, null],
      ['tcp', 'SYN_SENT', false, { ip: '192.168.56.10', port: 6443 }, null],
      ['icmp', null, true, null, null],
      ['tcp', 'TIME_WAIT', true, null, { ip: '10.244.1.1', port: 51234 }],
    ]);
    // Printed back as conntrack prints it (less the timeout and use count details).
    expect(formatConntrack(entries[1]!)).toBe(
      'udp 17 src=10.244.1.5 dst=10.96.0.10 sport=51820 dport=53 src=10.244.0.2 dst=10.244.1.5 sport=53 dport=51820 mark=0 use=1',
    );
  });

  it('reads -o extended lines, warns about other protocols, names bad lines', () => {
    const { entries, problems } = parseConntrackList(
      [
        'ipv4     2 udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 mark=0 zone=0 use=1',
        'sctp     132 3 CLOSED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 mark=0 use=1',
        'tcp      6 10 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 mark=0 use=1',
        'tcp      6 10 WAITING src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1',
        'udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=99999 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1',
      ].join('\n'),
    );
    expect(entries).toHaveLength(1);
    expect(problems.map((p) => `${p.line} ${p.severity}: ${p.message}`)).toEqual([
      '2 warning: sctp entries are not modelled; left out',
      '3 error: expected two tuples (original and reply), found 1',
      '4 error: TCP state "WAITING" is not one conntrack prints',
      '5 error: original tuple: dport= missing or not 0-65535',
    ]);
  });
});

describe('NodeState in a scenario', () => {
  it('errors name the document, the field and the line in the pasted text', () => {
    const text = withNodeState(importedText(), 'worker-1', {
      ipRoute: 'default via 192.168.56.1 dev enp0s8\nblackhole2 10.0.0.0/8\n',
    });
    const p = parseScenario(text);
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.errors.map(formatIssue)).toEqual([
      expect.stringMatching(
        /^document \d+ \(NodeState worker-1\), line \d+: spec\.ipRoute: line 2: unknown route type "blackhole2"$/,
      ),
    ]);
    const noNode = parseScenario(
      withNodeState(importedText(), 'worker-9', { ipRoute: 'default via 192.168.56.1 dev eth0' }),
    );
    expect(noNode.ok).toBe(false);
    if (!noNode.ok) expect(noNode.errors.map((e) => e.message)).toEqual(['no Node named "worker-9"']);
  });

  it("replaces the node's tables: the NIC read as eth0, devices it lacks left out with a warning", () => {
    const m = model(withNodeState(importedText(), 'worker-1', W1));
    const world = buildWorld(m);
    const ns = world.netns('node/worker-1');
    expect(ns.stateWarnings).toEqual([
      "enp0s8 is read as eth0: it holds the node's InternalIP 192.168.56.11",
      'bridge fdb line 13: device veth9f8e7d6c does not exist on worker-1 (it has lo, eth0, flannel.1, cni0, vetha863275f); left out',
    ]);
    expect(ns.main.routes().map(formatRoute)).toEqual([
      'default via 192.168.56.1 dev eth0 proto dhcp src 192.168.56.11 metric 100',
      '10.244.0.0/24 via 10.244.0.0 dev flannel.1 onlink',
      '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1',
      'blackhole 10.244.9.0/24 proto static',
      '192.168.56.0/24 dev eth0 proto kernel scope link src 192.168.56.11 metric 100',
      '192.168.56.1 dev eth0 proto dhcp scope link src 192.168.56.11 metric 100',
    ]);
    // The other node is as the scenario built it.
    expect(world.netns('node/cp-1').stateWarnings).toEqual([]);
    expect(world.netns('node/cp-1').pasted).toBeNull();
  });

  it("a walk goes through the node's own iptables rules: the administrator's DROP in FORWARD", () => {
    const m = model(withNodeState(importedText(), 'worker-1', W1));
    const t = walk(buildWorld(m), {
      from: 'pod/shop/client',
      to: 'pod/shop/web-5d8f7b9c6-abcde:8080',
      protocol: 'tcp',
    });
    expect(t.legs.map((l) => `${l.verdict.kind}@${l.verdict.at.netns}`)).toEqual(['dropped@node/worker-1']);
    expect(formatTrace(t)).toContain('incident 42: block client');
  });

  it('without the DROP, the walk is delivered through the pasted routes, neighbours and FDB', () => {
    const m = model(withNodeState(importedText(), 'worker-1', { ...W1, iptablesSave: '' }));
    const t = walk(buildWorld(m), {
      from: 'pod/shop/client',
      to: 'pod/shop/web-5d8f7b9c6-abcde:8080',
      protocol: 'tcp',
    });
    expect(t.legs.map((l) => l.verdict.kind)).toEqual(['delivered', 'delivered']);
    const text = formatTrace(t);
    // The pasted REACHABLE entry answers for the pod: no ARP on worker-1's cni0.
    expect(text).toContain('10.244.1.5 dev cni0 lladdr 1e:1e:21:34:5e:4e REACHABLE');
    expect(text).not.toMatch(/cni0: no entry → ARP who-has 10\.244\.1\.5/);
    // The pasted bridge FDB knows the pod's port before the walk teaches it.
    expect(text).toContain("fdb 1e:1e:21:34:5e:4e dev vetha863275f master cni0 (from the node's bridge fdb)");
  });

  it('a pasted blackhole route drops what it covers', () => {
    const m = model(withNodeState(importedText(), 'worker-1', { ipRoute: W1.ipRoute }));
    const t = walk(buildWorld(m), { from: 'node/worker-1', to: '10.244.9.7', protocol: 'icmp' });
    expect(t.legs[0]!.verdict.kind).not.toBe('delivered');
    expect(formatTrace(t)).toContain('blackhole 10.244.9.0/24');
  });

  it("a pasted conntrack entry decides the connection's NAT instead of kube-proxy's rules", () => {
    const base = model(importedText());
    const spec = { from: 'pod/shop/client', to: 'svc/shop/web:80', protocol: 'tcp' as const, seed: 7 };
    const first = walk(buildWorld(base), spec);
    expect(first.legs.map((l) => l.verdict.kind)).toEqual(['delivered', 'delivered']);
    const sport = first.flow!.sport;
    // cp-1 already tracks this very connection, DNATed to the pod's address on another port.
    const ct = `tcp      6 431999 ESTABLISHED src=10.244.0.7 dst=10.103.77.12 sport=${sport} dport=80 src=10.244.1.5 dst=10.244.0.7 sport=9090 dport=${sport} [ASSURED] mark=0 use=1\n`;
    const m = model(withNodeState(importedText(), 'cp-1', { conntrack: ct }));
    const t = walk(buildWorld(m), spec);
    const text = formatTrace(t);
    expect(text).toMatch(/conntrack original direction \(ESTABLISHED\)/);
    expect(text).toContain('10.244.1.5:9090');
    // The pod listens on 8080 only: 9090 is refused, as the real stale entry would make it.
    expect(t.legs[0]!.verdict.kind).not.toBe('delivered');
  });
});
