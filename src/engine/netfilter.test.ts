import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intToIp } from './addr.ts';
import { appendRules, makeRule, parseIptablesSave } from './iptables.ts';
import {
  MAX_JUMP_DEPTH,
  applyMark,
  describeRule,
  evaluateTable,
  ifaceMatches,
  type AddrType,
  type Chain,
  type Choose,
  type CtState,
  type Hook,
  type Match,
  type PacketView,
  type Rule,
  type Ruleset,
  type Table,
  type TableResult,
  type Target,
} from './netfilter.ts';

const NODE = readFileSync(new URL('../../test/fixtures/iptables/node.iptables', import.meta.url), 'utf8');
const OVERALL = readFileSync(
  new URL('../../test/fixtures/kube-proxy/expected/TestOverallIPTablesRules__00.iptables', import.meta.url),
  'utf8',
);

function rules(text: string): Ruleset {
  const { ruleset, errors } = parseIptablesSave(text);
  if (errors.length > 0) throw new Error(errors.map((e) => `${e.line}: ${e.message}`).join('\n'));
  return ruleset;
}

const LOCAL = new Set(['192.168.1.10', '127.0.0.1', '10.244.1.1']);

function pkt(over: Partial<PacketView> & { recent?: Record<string, string[]> } = {}): PacketView {
  const { recent = {}, ...rest } = over;
  return {
    src: '10.244.1.2',
    dst: '10.96.0.10',
    proto: 'tcp',
    sport: 40000,
    dport: 80,
    inIface: 'cni0',
    outIface: '',
    mark: 0,
    ctstate: ['NEW'],
    addrType: (ip): AddrType =>
      LOCAL.has(ip)
        ? 'LOCAL'
        : ip === '255.255.255.255'
          ? 'BROADCAST'
          : ip.startsWith('224.')
            ? 'MULTICAST'
            : 'UNICAST',
    recentSeen: (name, ip) => recent[name]?.includes(ip) ?? false,
    ...rest,
  };
}

/** A choose that must not be called. */
const noRandom: Choose = () => {
  throw new Error('no statistic match expected');
};

/** A choose that takes the branches listed (by call order) and records the calls. */
function pinned(taken: readonly boolean[]): Choose & { calls: { text: string; probability: number }[] } {
  const calls: { text: string; probability: number }[] = [];
  const f = ((rule: Rule, probability: number) => {
    calls.push({ text: rule.text, probability });
    const t = taken[calls.length - 1] ?? false;
    return { roll: t ? 0.01 : 0.99, taken: t };
  }) as Choose & { calls: typeof calls };
  f.calls = calls;
  return f;
}

/** filter INPUT with one rule `<args> -j DROP` (policy ACCEPT): DROP iff the matches match. */
function matchesIn(args: string, p: PacketView, choose: Choose = noRandom): boolean {
  const rs = rules(`*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${args} -j DROP\nCOMMIT\n`);
  const r = evaluateTable(rs, 'filter', 'INPUT', p, choose);
  expect(r.evaluated).toBe(1);
  return r.verdict === 'DROP';
}

describe('matches, with and without !', () => {
  it.each<[string, string, Partial<PacketView> & { recent?: Record<string, string[]> }, boolean]>([
    ['-s in the prefix', '-s 10.244.0.0/16', {}, true],
    ['-s outside the prefix', '-s 10.245.0.0/16', {}, false],
    ['! -s in the prefix', '! -s 10.244.0.0/16', {}, false],
    ['! -s outside the prefix', '! -s 10.0.0.0/16', {}, true],
    ['-s 0.0.0.0/0 matches anything', '-s 0.0.0.0/0', {}, true],
    ['-d exact', '-d 10.96.0.10', {}, true],
    ['-d other', '-d 10.96.0.11', {}, false],
    ['! -d other', '! -d 10.96.0.11/32', {}, true],
    ['-p tcp on tcp', '-p tcp', {}, true],
    ['-p udp on tcp', '-p udp', {}, false],
    ['! -p udp on tcp', '! -p udp', {}, true],
    ['! -p tcp on tcp', '! -p tcp', {}, false],
    ['-p icmp on icmp', '-p icmp', { proto: 'icmp', sport: null, dport: null }, true],
    ['-p sctp never (the engine has no sctp packets)', '-p sctp', {}, false],
    ['-i exact', '-i cni0', {}, true],
    ['-i other', '-i eth0', {}, false],
    ['-i wildcard', '-i cni+', {}, true],
    ['-i wildcard other', '-i veth+', {}, false],
    ['! -i', '! -i eth0', {}, true],
    ['-i "+" matches any', '-i +', {}, true],
    ['-o without an output interface', '-o eth0', {}, false],
    ['! -o without an output interface', '! -o eth0', {}, true],
    ['-o with it', '-o eth0', { outIface: 'eth0' }, true],
    ['--dport', '-p tcp -m tcp --dport 80', {}, true],
    ['--dport other', '-p tcp -m tcp --dport 81', {}, false],
    ['! --dport', '-p tcp -m tcp ! --dport 81', {}, true],
    ['! --dport same', '-p tcp -m tcp ! --dport 80', {}, false],
    ['--dport range', '-p tcp -m tcp --dport 1:1024', {}, true],
    ['--sport range', '-p tcp -m tcp --sport 32768:60999', {}, true],
    ['! --sport range', '-p tcp -m tcp ! --sport 32768:60999', {}, false],
    [
      '--dport on an icmp packet',
      '-p tcp -m tcp --dport 80',
      { proto: 'icmp', sport: null, dport: null },
      false,
    ],
    ['multiport --dports', '-p tcp -m multiport --dports 22,80,443', {}, true],
    ['multiport --dports other', '-p tcp -m multiport --dports 22,443', {}, false],
    ['multiport ! --dports', '-p tcp -m multiport ! --dports 22,443', {}, true],
    ['multiport --sports range', '-p tcp -m multiport --sports 30000:50000', {}, true],
    ['multiport --ports (either)', '-p tcp -m multiport --ports 40000', {}, true],
    ['multiport --ports neither', '-p tcp -m multiport --ports 1,2', {}, false],
    ['comment', '-m comment --comment "anything at all"', {}, true],
    ['nfacct', '-m nfacct --nfacct-name ct_state_invalid_dropped_pkts', {}, true],
    ['addrtype --dst-type LOCAL (not local)', '-m addrtype --dst-type LOCAL', {}, false],
    ['addrtype --dst-type LOCAL (local)', '-m addrtype --dst-type LOCAL', { dst: '192.168.1.10' }, true],
    ['addrtype ! --dst-type LOCAL', '-m addrtype ! --dst-type LOCAL', {}, true],
    ['addrtype --src-type LOCAL', '-m addrtype --src-type LOCAL', { src: '127.0.0.1' }, true],
    ['addrtype ! --src-type LOCAL (local)', '-m addrtype ! --src-type LOCAL', { src: '127.0.0.1' }, false],
    ['addrtype --dst-type BROADCAST', '-m addrtype --dst-type BROADCAST', { dst: '255.255.255.255' }, true],
    [
      'addrtype both must hold',
      '-m addrtype --src-type LOCAL --dst-type UNICAST',
      { src: '127.0.0.1', dst: '127.0.0.1' },
      false,
    ],
    ['mark v/m', '-m mark --mark 0x4000/0x4000', { mark: 0x4001 }, true],
    ['mark v/m unset', '-m mark --mark 0x4000/0x4000', { mark: 0x1 }, false],
    ['! mark v/m unset', '-m mark ! --mark 0x4000/0x4000', { mark: 0 }, true],
    ['! mark v/m set', '-m mark ! --mark 0x4000/0x4000', { mark: 0xc000 }, false],
    ['mark exact', '-m mark --mark 0x4000', { mark: 0x4000 }, true],
    ['mark exact, other bits', '-m mark --mark 0x4000', { mark: 0x4001 }, false],
    ['mark with the top bit', '-m mark --mark 0x80000000/0x80000000', { mark: 0x80000000 }, true],
    ['ctstate NEW', '-m conntrack --ctstate NEW', {}, true],
    ['ctstate RELATED,ESTABLISHED on NEW', '-m conntrack --ctstate RELATED,ESTABLISHED', {}, false],
    ['ctstate DNAT', '-m conntrack --ctstate DNAT', { ctstate: ['ESTABLISHED', 'DNAT'] }, true],
    [
      '! ctstate RELATED,ESTABLISHED,DNAT on NEW',
      '-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT',
      {},
      true,
    ],
    [
      '! ctstate on ESTABLISHED',
      '-m conntrack ! --ctstate RELATED,ESTABLISHED',
      { ctstate: ['ESTABLISHED'] as CtState[] },
      false,
    ],
    ['-m state --state INVALID', '-m state --state INVALID', { ctstate: ['INVALID'] }, true],
    [
      'recent --rcheck seen',
      '-m recent --rcheck --seconds 10800 --reap --name S',
      { recent: { S: ['10.244.1.2'] } },
      true,
    ],
    ['recent --rcheck not seen', '-m recent --rcheck --name S', { recent: { S: ['10.244.1.3'] } }, false],
    ['recent ! --rcheck not seen', '-m recent ! --rcheck --name S', {}, true],
    [
      'recent --rcheck --rdest',
      '-m recent --rcheck --name S --rdest',
      { recent: { S: ['10.96.0.10'] } },
      true,
    ],
    ['recent --set always matches', '-m recent --set --name S', {}, true],
    ['recent ! --set never matches', '-m recent ! --set --name S', {}, false],
    ['recent --update seen', '-m recent --update --name S', { recent: { S: ['10.244.1.2'] } }, true],
  ])('%s', (_name, args, over, expected) => {
    expect(matchesIn(args, pkt(over))).toBe(expected);
  });

  it.each([
    ['statistic taken', '-m statistic --mode random --probability 0.5', true, true],
    ['statistic not taken', '-m statistic --mode random --probability 0.5', false, false],
    ['! statistic taken', '-m statistic --mode random ! --probability 0.5', true, false],
    ['! statistic not taken', '-m statistic --mode random ! --probability 0.5', false, true],
  ])('%s', (_name, args, taken, expected) => {
    const choose = pinned([taken]);
    expect(matchesIn(args, pkt(), choose)).toBe(expected);
    expect(choose.calls).toEqual([{ text: `-A INPUT ${args} -j DROP`, probability: 0.5 }]);
  });

  it('tests the IP header first: a failing -p never rolls the statistic of the same rule', () => {
    const choose = pinned([true]);
    expect(matchesIn('-m statistic --mode random --probability 0.5 -p udp', pkt(), choose)).toBe(false);
    expect(choose.calls).toEqual([]);
  });

  it('addrtype --limit-iface-in asks addrTypeOn when the view has it, else approximates with addrType', () => {
    const on = (ip: string, iface: string): AddrType =>
      ip === '192.168.1.10' && iface === 'eth0' ? 'LOCAL' : 'UNICAST';
    const args = '-m addrtype --dst-type LOCAL --limit-iface-in';
    expect(matchesIn(args, pkt({ dst: '192.168.1.10', inIface: 'cni0' }))).toBe(true);
    expect(matchesIn(args, pkt({ dst: '192.168.1.10', inIface: 'cni0', addrTypeOn: on }))).toBe(false);
    expect(matchesIn(args, pkt({ dst: '192.168.1.10', inIface: 'eth0', addrTypeOn: on }))).toBe(true);
  });

  it.each([
    ['eth0', 'eth0', true],
    ['eth0', 'eth01', false],
    ['eth+', 'eth01', true],
    ['eth+', 'eth', true],
    ['eth+', 'et', false],
    ['+', '', true],
    ['eth0', '', false],
  ])('ifaceMatches(%j, %j) is %s', (pattern, name, expected) => {
    expect(ifaceMatches(pattern, name)).toBe(expected);
  });
});

describe('-m set (ipsets through PacketView.ipsetMatch)', () => {
  /** A view whose sets are plain lists of the value strings evaluateTable passes, recording each call. */
  function withSets(
    sets: Record<string, readonly string[][]>,
    over: Partial<PacketView> = {},
  ): PacketView & { calls: [string, readonly string[]][] } {
    const calls: [string, readonly string[]][] = [];
    return {
      ...pkt(over),
      calls,
      ipsetMatch: (name, values) => {
        calls.push([name, values]);
        return (sets[name] ?? []).some(
          (e) => e.length === values.length && e.every((v, i) => v === values[i]),
        );
      },
    };
  }
  const CLUSTER_IP = { 'KUBE-CLUSTER-IP': [['10.96.0.10,tcp:80', '10.96.0.10,tcp:80']] };

  it.each<[string, string, Partial<PacketView>, boolean]>([
    ['dst,dst in the set', '-m set --match-set KUBE-CLUSTER-IP dst,dst', {}, true],
    ['dst,dst, other port', '-m set --match-set KUBE-CLUSTER-IP dst,dst', { dport: 81 }, false],
    ['src,dst is another question', '-m set --match-set KUBE-CLUSTER-IP src,dst', {}, false],
    ['! in the set', '-m set ! --match-set KUBE-CLUSTER-IP dst,dst', {}, false],
    ['! not in the set', '-m set ! --match-set KUBE-CLUSTER-IP dst,dst', { dst: '10.96.0.11' }, true],
    ['an unknown set never matches', '-m set --match-set NOPE dst', {}, false],
    ['! an unknown set', '-m set ! --match-set NOPE dst', {}, true],
  ])('%s', (_name, args, over, expected) => {
    expect(matchesIn(args, withSets(CLUSTER_IP, over))).toBe(expected);
  });

  it.each<[string, string, Partial<PacketView>, readonly string[]]>([
    ['dst,dst', 'dst,dst', {}, ['10.96.0.10,tcp:80', '10.96.0.10,tcp:80']],
    ['dst,dst,src', 'dst,dst,src', {}, ['10.96.0.10,tcp:80', '10.96.0.10,tcp:80', '10.244.1.2,tcp:40000']],
    ['src', 'src', { proto: 'udp', sport: 53 }, ['10.244.1.2,udp:53']],
    [
      'ICMP has no port',
      'dst,dst',
      { proto: 'icmp', sport: null, dport: null },
      ['10.96.0.10,icmp', '10.96.0.10,icmp'],
    ],
  ])('passes each flag its side of the packet: %s', (_name, flags, over, values) => {
    const view = withSets({}, over);
    matchesIn(`-m set --match-set S ${flags}`, view);
    expect(view.calls).toEqual([['S', values]]);
  });

  it('tests the IP header first and the matches in order: a failing -p asks no set', () => {
    const view = withSets(CLUSTER_IP);
    expect(matchesIn('-p udp -m set --match-set KUBE-CLUSTER-IP dst,dst', view)).toBe(false);
    expect(view.calls).toEqual([]);
    expect(matchesIn('-m mark --mark 0x1 -m set --match-set KUBE-CLUSTER-IP dst,dst', view)).toBe(false);
    expect(view.calls).toEqual([]);
  });

  it('without ipsetMatch a set match stops the traversal, as the unknown match did before', () => {
    const rs = rules(
      '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m set ! --match-set KUBE-LOOP-BACK dst,dst,src -j ACCEPT\nCOMMIT\n',
    );
    const r = evaluateTable(rs, 'nat', 'PREROUTING', pkt(), noRandom);
    expect(r).toMatchObject({
      verdict: 'DROP',
      error: 'not modelled: -m set ! --match-set KUBE-LOOP-BACK dst,dst,src',
    });
  });

  it("kube-proxy's ipvs KUBE-SERVICES: a pod's packet to a ClusterIP is accepted, not marked; a node's is marked", () => {
    const rs = rules(
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':KUBE-SERVICES - [0:0]',
        ':KUBE-MARK-MASQ - [0:0]',
        ':KUBE-NODE-PORT - [0:0]',
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN',
        '-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
        '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT',
        '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
        '-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000',
        'COMMIT',
        '',
      ].join('\n'),
    );
    const fromPod = evaluateTable(rs, 'nat', 'PREROUTING', withSets(CLUSTER_IP), noRandom);
    expect(fromPod).toMatchObject({ verdict: 'ACCEPT', mark: 0, nat: null });
    expect(fromPod.steps.map((s) => `${s.chain}#${s.index + 1} ${s.action}`)).toEqual([
      'PREROUTING#1 JUMP KUBE-SERVICES',
      'KUBE-SERVICES#4 ACCEPT',
    ]);
    const fromNode = evaluateTable(
      rs,
      'nat',
      'PREROUTING',
      withSets(CLUSTER_IP, { src: '192.168.1.20' }),
      noRandom,
    );
    expect(fromNode).toMatchObject({ verdict: 'ACCEPT', mark: 0x4000 });
  });
});

describe('targets', () => {
  const one = (args: string, table: Table = 'filter', hook: Hook = 'INPUT'): TableResult =>
    evaluateTable(
      rules(`*${table}\n:${hook} ACCEPT [0:0]\n-A ${hook} ${args}\nCOMMIT\n`),
      table,
      hook,
      pkt(),
      noRandom,
    );

  it.each<[string, string, Partial<TableResult>]>([
    ['ACCEPT', '-j ACCEPT', { verdict: 'ACCEPT', nat: null }],
    ['DROP', '-j DROP', { verdict: 'DROP' }],
    ['REJECT (default type)', '-j REJECT', { verdict: 'REJECT', rejectWith: 'icmp-port-unreachable' }],
    [
      'REJECT --reject-with tcp-reset',
      '-p tcp -j REJECT --reject-with tcp-reset',
      { verdict: 'REJECT', rejectWith: 'tcp-reset' },
    ],
    ['no target continues to the policy', '-m comment --comment x', { verdict: 'ACCEPT' }],
    ['MARK continues', '-j MARK --or-mark 0x4000', { verdict: 'ACCEPT', mark: 0x4000 }],
  ])('%s', (_name, args, expected) => {
    expect(one(args)).toMatchObject(expected);
  });

  it.each<[string, string, Hook, TableResult['nat']]>([
    [
      'DNAT ip:port',
      '-p tcp -j DNAT --to-destination 10.244.2.3:8080',
      'PREROUTING',
      { kind: 'DNAT', ip: '10.244.2.3', port: 8080 },
    ],
    [
      'DNAT ip',
      '-j DNAT --to-destination 10.244.2.3',
      'OUTPUT',
      { kind: 'DNAT', ip: '10.244.2.3', port: null },
    ],
    [
      'SNAT',
      '-j SNAT --to-source 192.168.1.10 --random-fully',
      'POSTROUTING',
      { kind: 'SNAT', ip: '192.168.1.10', port: null, randomFully: true },
    ],
    ['MASQUERADE', '-j MASQUERADE', 'POSTROUTING', { kind: 'MASQUERADE', randomFully: false }],
    [
      'MASQUERADE --to-ports',
      '-p tcp -j MASQUERADE --to-ports 1000-2000 --random-fully',
      'POSTROUTING',
      { kind: 'MASQUERADE', randomFully: true, toPorts: { from: 1000, to: 2000 } },
    ],
  ])('%s terminates the nat table with ACCEPT and the NAT', (_name, args, hook, nat) => {
    const r = one(`${args}\n-A ${hook} -j DROP`, 'nat', hook);
    expect(r).toMatchObject({ verdict: 'ACCEPT', nat, evaluated: 1 });
  });

  it('unknown target: stops with DROP and says what is not modelled', () => {
    const r = one('-j LOG --log-prefix "in: "');
    expect(r.verdict).toBe('DROP');
    expect(r.error).toBe('not modelled: -j LOG --log-prefix "in: "');
    expect(r.steps).toEqual([
      {
        table: 'filter',
        chain: 'INPUT',
        index: 0,
        rule: '-A INPUT -j LOG --log-prefix "in: "',
        action: 'not modelled: -j LOG --log-prefix "in: " ⇒ DROP',
        random: null,
      },
    ]);
  });

  it('unknown match: stops with DROP when reached, not when an earlier match fails', () => {
    const stopped = one('-m physdev --physdev-is-bridged -j ACCEPT');
    expect(stopped).toMatchObject({
      verdict: 'DROP',
      error: 'not modelled: -m physdev --physdev-is-bridged',
    });
    const skipped = one('-p udp -m physdev --physdev-is-bridged -j ACCEPT\n-A INPUT -j REJECT');
    expect(skipped).toMatchObject({ verdict: 'REJECT', evaluated: 2 });
    expect(skipped.error).toBeUndefined();
  });

  it('-m recent --remove and --set --rdest are not modelled', () => {
    expect(one('-m recent --remove --name S -j ACCEPT').error).toBe(
      'not modelled: -m recent --remove --name S',
    );
    expect(one('-m recent --set --name S --rdest -j ACCEPT').error).toBe(
      'not modelled: -m recent --set --rdest --name S',
    );
  });

  it('a jump to a chain that does not exist: DROP, with the reason', () => {
    const r = one('-j KUBE-MISSING');
    expect(r.verdict).toBe('DROP');
    expect(r.error).toMatch(/no chain KUBE-MISSING in the filter table/);
  });
});

describe('jump, goto, RETURN and the policy', () => {
  const RS = rules(`*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
:C - [0:0]
:G - [0:0]
-A INPUT -p udp -j A
-A INPUT -p tcp -m tcp --dport 80 -j A
-A INPUT -p tcp -m tcp --dport 81 -g G
-A INPUT -p tcp -m tcp --dport 82 -j RETURN
-A INPUT -p tcp -m tcp --dport 83 -j ACCEPT
-A A -p tcp -j B
-A A -j ACCEPT
-A B -m mark --mark 0x1 -j RETURN
-A B -j C
-A B -j DROP
-A C -m comment --comment "counted only"
-A G -p tcp -m tcp --dport 81 -j B
-A FORWARD -g G
COMMIT
`);
  const run = (p: Partial<PacketView>, hook: Hook = 'INPUT') =>
    evaluateTable(RS, 'filter', hook, pkt(p), noRandom);
  const path = (r: TableResult) => r.steps.map((s) => `${s.chain}#${s.index} ${s.action}`);

  it('jump, jump, end of chain returns to the caller, then DROP', () => {
    const r = run({});
    expect(path(r)).toEqual([
      'INPUT#1 JUMP A',
      'A#0 JUMP B',
      'B#1 JUMP C',
      'C#0 no target (counted), continue',
      'C#-1 end of chain, RETURN to B',
      'B#2 DROP',
    ]);
    expect(r.verdict).toBe('DROP');
    // INPUT 0,1; A 0; B 0,1; C 0; B 2
    expect(r.evaluated).toBe(7);
  });

  it('RETURN from a user chain continues after the jump', () => {
    const r = run({ mark: 1 });
    expect(path(r)).toEqual(['INPUT#1 JUMP A', 'A#0 JUMP B', 'B#0 RETURN', 'A#1 ACCEPT']);
    expect(r.verdict).toBe('ACCEPT');
  });

  it('goto: the chain gone to returns to the caller of the chain that went (here: the policy)', () => {
    const r = run({ dport: 81, mark: 1 });
    expect(path(r)).toEqual([
      'INPUT#2 GOTO G',
      'G#0 JUMP B',
      'B#0 RETURN',
      'G#-1 end of chain, RETURN',
      'INPUT#-1 policy DROP',
    ]);
    expect(r.verdict).toBe('DROP');
    expect(r.steps.at(-1)).toMatchObject({ rule: '-P INPUT DROP', index: -1 });
  });

  it('goto from FORWARD (policy ACCEPT)', () => {
    const r = run({ dport: 9 }, 'FORWARD');
    expect(path(r)).toEqual(['FORWARD#0 GOTO G', 'G#-1 end of chain, RETURN', 'FORWARD#-1 policy ACCEPT']);
    expect(r.verdict).toBe('ACCEPT');
  });

  it('RETURN in a built-in chain applies the policy', () => {
    expect(path(run({ dport: 82 }))).toEqual(['INPUT#3 RETURN', 'INPUT#-1 policy DROP']);
  });

  it('the end of the built-in chain applies the policy', () => {
    const r = run({ dport: 99 });
    expect(path(r)).toEqual(['INPUT#-1 policy DROP']);
    expect(r.evaluated).toBe(5);
  });

  it('an absent table, chain or deleted chain accepts with no steps', () => {
    expect(evaluateTable(RS, 'nat', 'PREROUTING', pkt({ mark: 7 }), noRandom)).toEqual({
      verdict: 'ACCEPT',
      rejectWith: null,
      nat: null,
      mark: 7,
      recentSet: [],
      steps: [],
      evaluated: 0,
    });
    const deleted = rules('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n');
    deleted.get('nat')!.set('PREROUTING', { name: 'PREROUTING', policy: 'DROP', rules: [], deleted: true });
    expect(evaluateTable(deleted, 'nat', 'PREROUTING', pkt(), noRandom).verdict).toBe('ACCEPT');
  });

  it('a jump to a deleted chain is an error', () => {
    const rs = rules(
      '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SVC-OLD - [0:0]\n-A PREROUTING -j KUBE-SVC-OLD\n-X KUBE-SVC-OLD\nCOMMIT\n',
    );
    expect(evaluateTable(rs, 'nat', 'PREROUTING', pkt(), noRandom)).toMatchObject({
      verdict: 'DROP',
      error: expect.stringMatching(/no chain KUBE-SVC-OLD/),
    });
  });

  it('a jump to a built-in chain is refused', () => {
    const rs = rules('*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -j OUTPUT\nCOMMIT\n');
    expect(evaluateTable(rs, 'filter', 'INPUT', pkt(), noRandom).error).toMatch(/built-in chain OUTPUT/);
  });
});

describe('jump depth and loops', () => {
  function ladder(depth: number): Ruleset {
    const lines = ['*filter', ':INPUT ACCEPT [0:0]'];
    for (let i = 1; i <= depth; i++) lines.push(`:C${i} - [0:0]`);
    lines.push('-A INPUT -j C1');
    for (let i = 1; i < depth; i++) lines.push(`-A C${i} -j C${i + 1}`);
    lines.push(`-A C${depth} -j DROP`, 'COMMIT', '');
    return rules(lines.join('\n'));
  }

  it(`${MAX_JUMP_DEPTH} nested jumps are fine`, () => {
    const r = evaluateTable(ladder(MAX_JUMP_DEPTH), 'filter', 'INPUT', pkt(), noRandom);
    expect(r).toMatchObject({ verdict: 'DROP', evaluated: MAX_JUMP_DEPTH + 1 });
    expect(r.error).toBeUndefined();
  });

  it(`the ${MAX_JUMP_DEPTH + 1}th nested jump is an error (DROP, with a clear step)`, () => {
    const r = evaluateTable(ladder(MAX_JUMP_DEPTH + 1), 'filter', 'INPUT', pkt(), noRandom);
    expect(r.verdict).toBe('DROP');
    expect(r.error).toMatch(/jump stack overflow: JUMP C17 would nest 17 chains deep \(limit 16/);
    expect(r.steps.at(-1)).toMatchObject({
      chain: 'C16',
      index: 0,
      action: expect.stringMatching(/overflow.*⇒ DROP$/),
    });
  });

  it.each([
    ['a chain jumping to itself', '-A A -j A'],
    ['a jump cycle', '-A A -j B\n-A B -j A'],
    ['a goto cycle', '-A A -g B\n-A B -g A'],
    ['a goto back to a chain on the stack', '-A A -j B\n-A B -g A'],
  ])('%s is a loop (the kernel refuses it)', (_name, body) => {
    const rs = rules(
      `*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n${body}\nCOMMIT\n`,
    );
    const r = evaluateTable(rs, 'filter', 'INPUT', pkt(), noRandom);
    expect(r.verdict).toBe('DROP');
    expect(r.error).toMatch(/^loop: /);
  });

  it('the same chain jumped to twice in a row is not a loop', () => {
    const rs = rules(
      '*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -j A\n-A INPUT -j A\n-A A -j RETURN\nCOMMIT\n',
    );
    expect(evaluateTable(rs, 'filter', 'INPUT', pkt(), noRandom)).toMatchObject({
      verdict: 'ACCEPT',
      evaluated: 4,
    });
  });
});

describe('MARK arithmetic', () => {
  it.each<[string, number, Extract<Target, { kind: 'MARK' }>, number]>([
    ['--or-mark 0x4000', 0x1, { kind: 'MARK', op: 'or', value: 0x4000, mask: 0xffffffff }, 0x4001],
    [
      '--xor-mark 0x4000 clears it',
      0x4001,
      { kind: 'MARK', op: 'xor', value: 0x4000, mask: 0xffffffff },
      0x1,
    ],
    ['--xor-mark 0x4000 sets it', 0x1, { kind: 'MARK', op: 'xor', value: 0x4000, mask: 0xffffffff }, 0x4001],
    ['--and-mark', 0xffff, { kind: 'MARK', op: 'and', value: 0xff00, mask: 0xffffffff }, 0xff00],
    [
      '--set-xmark v/m',
      0xf0f0,
      { kind: 'MARK', op: 'set-xmark', value: 0x2000, mask: 0x2000 },
      0xf0f0 | 0x2000,
    ],
    [
      '--set-xmark v (whole mark)',
      0xf0f0,
      { kind: 'MARK', op: 'set-xmark', value: 0x7, mask: 0xffffffff },
      0x7,
    ],
    ['--set-xmark 0x4000/0x0 (xor)', 0x4000, { kind: 'MARK', op: 'set-xmark', value: 0x4000, mask: 0 }, 0],
    [
      '--set-xmark 0x0/0x4000 (clear)',
      0xc000,
      { kind: 'MARK', op: 'set-xmark', value: 0, mask: 0x4000 },
      0x8000,
    ],
    [
      'top bit stays unsigned',
      0,
      { kind: 'MARK', op: 'or', value: 0x80000000, mask: 0xffffffff },
      0x80000000,
    ],
  ])('%s', (_name, before, t, after) => {
    expect(applyMark(before, t)).toBe(after);
  });

  it('--set-mark v/m as parsed (set-xmark v/(m|v)) zeroes the mask and ORs the value', () => {
    const r = rules(
      '*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-mark 0x10/0xf0\nCOMMIT\n',
    );
    expect(evaluateTable(r, 'mangle', 'PREROUTING', pkt({ mark: 0xff }), noRandom).mark).toBe(0x1f);
  });

  it("kube-proxy's masquerade mark: KUBE-MARK-MASQ sets 0x4000, KUBE-POSTROUTING clears it and masquerades", () => {
    const rs = rules(
      OVERALL.replace('*nat\n', '*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n').replace(
        '-A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp -d 127',
        '-A PREROUTING -j KUBE-SERVICES\n-A POSTROUTING -j KUBE-POSTROUTING\n$&',
      ),
    );
    // From outside the cluster CIDR to a cluster IP: KUBE-SVC's first rule marks for masquerade.
    const pre = evaluateTable(
      rs,
      'nat',
      'PREROUTING',
      pkt({ src: '203.0.113.2', dst: '172.30.0.41' }),
      noRandom,
    );
    expect(pre).toMatchObject({
      verdict: 'ACCEPT',
      mark: 0x4000,
      nat: { kind: 'DNAT', ip: '10.180.0.1', port: 80 },
    });
    expect(pre.steps.map((s) => s.action)).toContain('MARK --or-mark 0x4000 (mark 0x0 → 0x4000)');
    const post = evaluateTable(
      rs,
      'nat',
      'POSTROUTING',
      pkt({ src: '203.0.113.2', dst: '10.180.0.1', mark: pre.mark }),
      noRandom,
    );
    expect(post).toMatchObject({
      verdict: 'ACCEPT',
      mark: 0,
      nat: { kind: 'MASQUERADE', randomFully: false },
    });
    expect(post.steps.map((s) => s.action)).toEqual([
      'JUMP KUBE-POSTROUTING',
      'MARK --xor-mark 0x4000 (mark 0x4000 → 0x0)',
      'MASQUERADE',
    ]);
    // Unmarked: -m mark ! --mark 0x4000/0x4000 -j RETURN, then the policy.
    const plain = evaluateTable(rs, 'nat', 'POSTROUTING', pkt({ dst: '10.180.0.1' }), noRandom);
    expect(plain).toMatchObject({ verdict: 'ACCEPT', nat: null, mark: 0 });
    expect(plain.steps.map((s) => s.action)).toEqual(['JUMP KUBE-POSTROUTING', 'RETURN', 'policy ACCEPT']);
  });
});

describe('the nat table: kube-proxy services', () => {
  const RS = rules(NODE);
  const pre = (p: Partial<PacketView> & { recent?: Record<string, string[]> }, choose: Choose = noRandom) =>
    evaluateTable(RS, 'nat', 'PREROUTING', pkt(p), choose);

  it('DNATs a pod to a cluster IP, with the statistic branch pinned', () => {
    const first = pinned([true]);
    const a = pre({ proto: 'udp', dst: '10.96.0.10', dport: 53 }, first);
    expect(a.nat).toEqual({ kind: 'DNAT', ip: '10.244.0.2', port: 53 });
    expect(first.calls).toEqual([
      { text: expect.stringContaining('--probability 0.50000000000'), probability: 0.5 },
    ]);
    const jump = a.steps.find((s) => s.random);
    expect(jump).toMatchObject({
      chain: 'KUBE-SVC-TCOU7JCQXEZGVUNU',
      index: 1,
      action: 'JUMP KUBE-SEP-YIL6JZP7A3QYXJU2',
      random: { probability: 0.5, roll: 0.01, taken: true },
    });

    const second = pinned([false]);
    const b = pre({ proto: 'udp', dst: '10.96.0.10', dport: 53 }, second);
    expect(b.nat).toEqual({ kind: 'DNAT', ip: '10.244.2.2', port: 53 });
    expect(b.steps.map((s) => `${s.chain}#${s.index} ${s.action}`)).toEqual([
      'PREROUTING#0 JUMP KUBE-SERVICES',
      'KUBE-SERVICES#1 JUMP KUBE-SVC-TCOU7JCQXEZGVUNU',
      'KUBE-SVC-TCOU7JCQXEZGVUNU#1 no match (random branch not taken)',
      'KUBE-SVC-TCOU7JCQXEZGVUNU#2 JUMP KUBE-SEP-N4G2XR5TDX7PQE7P',
      'KUBE-SEP-N4G2XR5TDX7PQE7P#1 DNAT --to-destination 10.244.2.2:53',
    ]);
    // PREROUTING 1, KUBE-SERVICES 2, KUBE-SVC 3, KUBE-SEP 2.
    expect(b.evaluated).toBe(8);
  });

  it('a node port: KUBE-SERVICES → KUBE-NODEPORTS (dst LOCAL) → mark for masquerade → DNAT', () => {
    const r = pre({ src: '203.0.113.9', dst: '192.168.1.10', dport: 30080, inIface: 'eth0' });
    expect(r).toMatchObject({
      mark: 0x4000,
      nat: { kind: 'DNAT', ip: '10.244.1.3', port: 8080 },
      recentSet: ['KUBE-SEP-6E7XQMQ4RAYOWTTM'],
    });
  });

  it('session affinity: a source in the recent list goes straight to its endpoint', () => {
    const r = pre({ dst: '10.96.0.30', recent: { 'KUBE-SEP-6E7XQMQ4RAYOWTTM': ['10.244.1.2'] } });
    expect(r.steps.map((s) => `${s.chain}#${s.index}`)).toEqual([
      'PREROUTING#0',
      'KUBE-SERVICES#3',
      'KUBE-SVC-JD5MR3NA4I4DYORP#2',
      'KUBE-SEP-6E7XQMQ4RAYOWTTM#1',
    ]);
    expect(r.recentSet).toEqual(['KUBE-SEP-6E7XQMQ4RAYOWTTM']);
  });

  it('-m recent --set is recorded when reached, even if a later match fails (xt_recent)', () => {
    const rs = rules(
      '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -m recent --set --name S -m tcp --dport 9 -j DNAT --to-destination 1.2.3.4\nCOMMIT\n',
    );
    const r = evaluateTable(rs, 'nat', 'PREROUTING', pkt(), noRandom);
    expect(r).toMatchObject({ nat: null, recentSet: ['S'], steps: [{ action: 'policy ACCEPT' }] });
  });

  it('a hostPort (portmap): PREROUTING → CNI-HOSTPORT-DNAT → CNI-DN-… DNAT, with the portmap mark for local sources', () => {
    const r = pre({ src: '10.244.1.5', dst: '192.168.1.10', dport: 8080 });
    expect(r).toMatchObject({ mark: 0x2000, nat: { kind: 'DNAT', ip: '10.244.1.2', port: 80 } });
    expect(r.steps.map((s) => s.chain)).toEqual([
      'PREROUTING',
      'KUBE-SERVICES',
      'KUBE-NODEPORTS',
      'KUBE-SERVICES',
      'PREROUTING',
      'CNI-HOSTPORT-DNAT',
      'CNI-DN-1a2b3c4d5e6f7a8b9c0d1',
      'CNI-HOSTPORT-SETMARK',
      'CNI-HOSTPORT-SETMARK',
      'CNI-DN-1a2b3c4d5e6f7a8b9c0d1',
    ]);
  });

  it('flannel masquerades pod traffic leaving the cluster, and not pod-to-pod traffic', () => {
    const post = (p: Partial<PacketView>) =>
      evaluateTable(RS, 'nat', 'POSTROUTING', pkt({ inIface: '', outIface: 'eth0', ...p }), noRandom);
    expect(post({ dst: '1.1.1.1' }).nat).toEqual({ kind: 'MASQUERADE', randomFully: true });
    // (10.244.1.7 has no bridge-plugin CNI-… masquerade chain; 10.244.1.2 has one, after flannel's.)
    const toPod = post({ src: '10.244.1.7', dst: '10.244.2.2' });
    expect(toPod.nat).toBeNull();
    expect(toPod.steps.map((s) => `${s.chain}#${s.index} ${s.action}`)).toContain('FLANNEL-POSTRTG#1 RETURN');
  });

  it('filter: a service without endpoints is rejected in FORWARD', () => {
    const r = evaluateTable(RS, 'filter', 'FORWARD', pkt({ dst: '10.96.0.20', outIface: 'eth0' }), noRandom);
    expect(r).toMatchObject({ verdict: 'REJECT', rejectWith: 'icmp-port-unreachable' });
  });

  it('filter: forwarded pod traffic is accepted by FLANNEL-FWD despite the DROP policy', () => {
    const r = evaluateTable(RS, 'filter', 'FORWARD', pkt({ dst: '1.1.1.1', outIface: 'eth0' }), noRandom);
    expect(r.verdict).toBe('ACCEPT');
    expect(r.steps.at(-1)).toMatchObject({ chain: 'FLANNEL-FWD', index: 0, action: 'ACCEPT' });
    const stranger = evaluateTable(
      RS,
      'filter',
      'FORWARD',
      pkt({ src: '1.1.1.1', dst: '2.2.2.2', outIface: 'eth0' }),
      noRandom,
    );
    expect(stranger.verdict).toBe('DROP');
    expect(stranger.steps.filter((s) => s.action.startsWith('JUMP')).map((s) => s.action)).toEqual([
      'JUMP KUBE-PROXY-FIREWALL',
      'JUMP KUBE-FORWARD',
      'JUMP KUBE-SERVICES',
      'JUMP KUBE-EXTERNAL-SERVICES',
      'JUMP FLANNEL-FWD',
    ]);
    expect(stranger.steps.at(-1)).toMatchObject({
      chain: 'FORWARD',
      index: -1,
      rule: '-P FORWARD DROP',
      action: 'policy DROP',
    });
  });
});

describe('describeRule', () => {
  it.each([
    [
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
      '-m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O /* ns1/svc1:p80 cluster IP */',
    ],
    ['-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000', '-j MARK --or-mark 0x4000'],
    [
      '-A X -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ',
      '-s 10.180.0.2 -j KUBE-MARK-MASQ /* ns2/svc2:p80 */',
    ],
    [String.raw`-A P -m comment --comment "name: \"cbr0\"" -j ACCEPT`, '-j ACCEPT /* name: "cbr0" */'],
    ['-A FW -m comment --comment "other traffic will be dropped"', '/* other traffic will be dropped */'],
  ])('%s', (text, short) => {
    const r = parseIptablesSave(`*filter\n:${text.split(' ')[1]} - [0:0]\n${text}\nCOMMIT\n`).ruleset;
    const rule = [...r.get('filter')!.values()][0]!.rules[0]!;
    expect(describeRule(rule)).toBe(short);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The index gives exactly what a linear scan gives.

const DSTS = ['10.96.0.1', '10.96.0.2', '10.96.0.3', '192.168.1.10'];
const PORTS = [53, 80, 443];
const CHAINS = ['U0', 'U1', 'U2'];

const sometimes = (p: number) => fc.integer({ min: 0, max: 99 }).map((n) => n < p * 100);
const arbExtra: fc.Arbitrary<Match> = fc.oneof(
  fc.constant<Match>({ kind: 'comment', text: 'c' }),
  fc.record({
    kind: fc.constant('mark' as const),
    value: fc.constantFrom(0, 1),
    mask: fc.constant(1),
    negate: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('statistic' as const),
    probability: fc.constantFrom(0.25, 0.5),
    negate: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('recent' as const),
    op: fc.constantFrom('set', 'rcheck', 'update' as const),
    name: fc.constantFrom('R1', 'R2'),
    seconds: fc.constant(null),
    rsource: fc.constant(true),
    negate: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('in' as const),
    iface: fc.constantFrom('eth0', 'cni+'),
    negate: fc.boolean(),
  }),
  fc.constant<Match>({
    kind: 'addrtype',
    src: null,
    srcNegate: false,
    dst: 'LOCAL',
    dstNegate: false,
    limitIfaceIn: false,
    limitIfaceOut: false,
  }),
  fc.record({
    kind: fc.constant('sport' as const),
    from: fc.constant(40000),
    to: fc.constant(40000),
    negate: fc.boolean(),
  }),
  fc.constant<Match>({ kind: 'unknown', text: '-m physdev --physdev-is-bridged' }),
);

/** Rules near kube-proxy's shape, with negations, ranges and side-effect matches in any order. */
const arbMatchSet: fc.Arbitrary<Match[]> = fc
  .record({
    dst: fc.option(
      fc.record({ ip: fc.constantFrom(...DSTS), exact: sometimes(0.8), negate: sometimes(0.3) }),
      { nil: undefined, freq: 4 },
    ),
    src: fc.option(
      fc.record({
        ip: fc.constantFrom('10.244.0.0', '10.0.0.0'),
        prefix: fc.constantFrom(16, 8),
        negate: fc.boolean(),
      }),
      { nil: undefined },
    ),
    proto: fc.record({
      proto: fc.constantFrom('tcp', 'tcp', 'udp', 'icmp' as const),
      negate: sometimes(0.2),
    }),
    dport: fc.option(
      fc.record({ from: fc.constantFrom(...PORTS), range: sometimes(0.2), negate: sometimes(0.25) }),
      { nil: undefined, freq: 5 },
    ),
    extra: fc.array(arbExtra, { maxLength: 3 }),
  })
  .chain((g) => {
    const head: Match[] = [];
    if (g.dst)
      head.push({
        kind: 'dst',
        cidr: g.dst.exact
          ? { ip: g.dst.ip, prefix: 32 }
          : { ip: g.dst.ip.replace(/\.\d+$/, '.0'), prefix: 24 },
        negate: g.dst.negate,
      });
    if (g.src) head.push({ kind: 'src', cidr: { ip: g.src.ip, prefix: g.src.prefix }, negate: g.src.negate });
    head.push({ kind: 'proto', ...g.proto });
    const rest: Match[] = [...g.extra];
    if (g.dport)
      rest.push({
        kind: 'dport',
        from: g.dport.from,
        to: g.dport.from + (g.dport.range ? 400 : 0),
        negate: g.dport.negate,
      });
    return fc
      .shuffledSubarray(rest, { minLength: rest.length, maxLength: rest.length })
      .map((order) => [...head, ...order]);
  });

const arbTarget: fc.Arbitrary<Target> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<Target>(
      { kind: 'ACCEPT' },
      { kind: 'DROP' },
      { kind: 'RETURN' },
      { kind: 'none' },
      { kind: 'REJECT', with: null },
    ),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constantFrom('jump', 'goto' as const),
      chain: fc.constantFrom(...CHAINS, 'MISSING'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('MARK' as const),
      op: fc.constantFrom('or', 'xor' as const),
      value: fc.constant(1),
      mask: fc.constant(0xffffffff),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('DNAT' as const),
      ip: fc.constantFrom('10.244.1.2', '10.244.2.2'),
      port: fc.constantFrom(null, 8080),
    }),
  },
  { weight: 1, arbitrary: fc.constant<Target>({ kind: 'unknown', text: '-j LOG' }) },
);

/** A chain of rules, most of them "exact -d + -p + --dport", like kube-proxy's. */
const arbChainRules = (name: string, max: number): fc.Arbitrary<Rule[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .record({
            dst: fc.constantFrom(...DSTS),
            proto: fc.constantFrom('tcp', 'udp' as const),
            port: fc.constantFrom(...PORTS),
            exact: fc.boolean(),
            target: arbTarget,
          })
          .map(({ dst, proto, port, exact, target }) =>
            makeRule(
              name,
              [
                ...(exact ? [{ kind: 'dst', cidr: { ip: dst, prefix: 32 }, negate: false } as Match] : []),
                { kind: 'proto', proto, negate: false },
                { kind: 'comment', text: 'svc' },
                { kind: 'dport', from: port, to: port, negate: false },
              ],
              target,
            ),
          ),
      },
      { weight: 4, arbitrary: fc.tuple(arbMatchSet, arbTarget).map(([m, t]) => makeRule(name, m, t)) },
    ),
    { maxLength: max },
  );

const arbRuleset: fc.Arbitrary<Ruleset> = fc
  .record({
    base: arbChainRules('PREROUTING', 40),
    user: fc.tuple(...CHAINS.map((c) => arbChainRules(c, 24))),
    policy: fc.constantFrom('ACCEPT', 'DROP' as const),
  })
  .map(({ base, user, policy }) => {
    // Fresh arrays: evaluation caches an index per chain, and fast-check may reuse generated values.
    const chains = new Map<string, Chain>([['PREROUTING', { name: 'PREROUTING', policy, rules: [...base] }]]);
    CHAINS.forEach((c, i) => chains.set(c, { name: c, policy: null, rules: [...user[i]!] }));
    return new Map([['nat', chains]]) as Ruleset;
  });

interface GenPacket {
  dst: string;
  src: string;
  proto: 'tcp' | 'udp' | 'icmp';
  dport: number;
  mark: number;
  inIface: string;
  seen: string[];
}
const arbPacket: fc.Arbitrary<GenPacket> = fc.record({
  dst: fc.constantFrom(...DSTS, '10.96.0.99'),
  src: fc.constantFrom('10.244.1.2', '10.1.1.1', '8.8.8.8'),
  proto: fc.constantFrom('tcp', 'tcp', 'udp', 'icmp' as const),
  dport: fc.constantFrom(...PORTS, 100, 9999),
  mark: fc.constantFrom(0, 1),
  inIface: fc.constantFrom('eth0', 'cni0'),
  seen: fc.subarray(['R1', 'R2']),
});

describe('the chain index', () => {
  function runWith(rs: Ruleset, p: GenPacket, rolls: readonly number[], index: 'always' | 'never' | 'auto') {
    const calls: string[] = [];
    let n = 0;
    const choose: Choose = (rule, probability) => {
      const roll = rolls[n++ % rolls.length] ?? 0.5;
      calls.push(`${rule.text} @${probability}`);
      return { roll, taken: roll < probability };
    };
    const view = pkt({
      src: p.src,
      dst: p.dst,
      proto: p.proto,
      sport: p.proto === 'icmp' ? null : 40000,
      dport: p.proto === 'icmp' ? null : p.dport,
      mark: p.mark,
      inIface: p.inIface,
      recent: Object.fromEntries(p.seen.map((name) => [name, [p.src]])),
    });
    return { result: evaluateTable(rs, 'nat', 'PREROUTING', view, choose, { index }), calls };
  }

  it('gives the same result, steps, rolls and evaluated count as a linear scan (property)', () => {
    fc.assert(
      fc.property(
        arbRuleset,
        arbPacket,
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 8,
        }),
        (rs, p, rolls) => {
          const linear = runWith(rs, p, rolls, 'never');
          expect(runWith(rs, p, rolls, 'always')).toEqual(linear);
          expect(runWith(rs, p, rolls, 'auto')).toEqual(linear);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('is rebuilt when a chain grows', () => {
    const rs = rules(
      `*nat\n:PREROUTING ACCEPT [0:0]\n${Array.from({ length: 20 }, (_, i) => `-A PREROUTING -d 10.96.0.${i + 1}/32 -p tcp -m tcp --dport 80 -j ACCEPT`).join('\n')}\nCOMMIT\n`,
    );
    const p = pkt({ dst: '10.96.1.1' });
    expect(evaluateTable(rs, 'nat', 'PREROUTING', p, noRandom)).toMatchObject({
      verdict: 'ACCEPT',
      evaluated: 20,
      steps: [{ action: 'policy ACCEPT' }],
    });
    appendRules(rs, 'nat', 'PREROUTING', ['-d 10.96.1.1/32 -p tcp -m tcp --dport 80 -j DROP']);
    expect(evaluateTable(rs, 'nat', 'PREROUTING', p, noRandom)).toMatchObject({
      verdict: 'DROP',
      evaluated: 21,
    });
  });

  it('walks 10,000 services × 10 endpoints through the index, counting every rule a linear scan tests', () => {
    const SERVICES = 10_000;
    const ENDPOINTS = 10;
    const nat = new Map<string, Chain>();
    const services: Rule[] = [];
    const r = (text: string, matches: Match[], target: Target): Rule => ({ matches, target, text });
    for (let s = 0; s < SERVICES; s++) {
      const ip = intToIp(0x0a600000 + s + 1);
      const svc = `KUBE-SVC-${String(s).padStart(16, '0')}`;
      services.push(
        r(
          `-A KUBE-SERVICES -m comment --comment "ns/svc${s}:http cluster IP" -m tcp -p tcp -d ${ip} --dport 80 -j ${svc}`,
          [
            { kind: 'dst', cidr: { ip, prefix: 32 }, negate: false },
            { kind: 'proto', proto: 'tcp', negate: false },
            { kind: 'comment', text: `ns/svc${s}:http cluster IP` },
            { kind: 'dport', from: 80, to: 80, negate: false },
          ],
          { kind: 'jump', chain: svc },
        ),
      );
      const svcRules: Rule[] = [];
      for (let e = 0; e < ENDPOINTS; e++) {
        const sep = `KUBE-SEP-${String(s).padStart(12, '0')}${String(e).padStart(4, '0')}`;
        const epIp = intToIp(0x0af40000 + s * ENDPOINTS + e);
        const p = 1 / (ENDPOINTS - e);
        svcRules.push(
          r(
            `-A ${svc} -m statistic --mode random --probability ${p} -j ${sep}`,
            e < ENDPOINTS - 1 ? [{ kind: 'statistic', probability: p, negate: false }] : [],
            { kind: 'jump', chain: sep },
          ),
        );
        nat.set(sep, {
          name: sep,
          policy: null,
          rules: [
            r(
              `-A ${sep} -s ${epIp} -j KUBE-MARK-MASQ`,
              [{ kind: 'src', cidr: { ip: epIp, prefix: 32 }, negate: false }],
              { kind: 'jump', chain: 'KUBE-MARK-MASQ' },
            ),
            r(
              `-A ${sep} -m tcp -p tcp -j DNAT --to-destination ${epIp}:8080`,
              [{ kind: 'proto', proto: 'tcp', negate: false }],
              { kind: 'DNAT', ip: epIp, port: 8080 },
            ),
          ],
        });
      }
      nat.set(svc, { name: svc, policy: null, rules: svcRules });
    }
    services.push(
      r(
        '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
        [
          {
            kind: 'addrtype',
            src: null,
            srcNegate: false,
            dst: 'LOCAL',
            dstNegate: false,
            limitIfaceIn: false,
            limitIfaceOut: false,
          },
        ],
        { kind: 'jump', chain: 'KUBE-NODEPORTS' },
      ),
    );
    nat.set('KUBE-SERVICES', { name: 'KUBE-SERVICES', policy: null, rules: services });
    nat.set('KUBE-NODEPORTS', { name: 'KUBE-NODEPORTS', policy: null, rules: [] });
    nat.set('KUBE-MARK-MASQ', {
      name: 'KUBE-MARK-MASQ',
      policy: null,
      rules: [
        r('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000', [], {
          kind: 'MARK',
          op: 'or',
          value: 0x4000,
          mask: 0xffffffff,
        }),
      ],
    });
    nat.set('PREROUTING', {
      name: 'PREROUTING',
      policy: 'ACCEPT',
      rules: [r('-A PREROUTING -j KUBE-SERVICES', [], { kind: 'jump', chain: 'KUBE-SERVICES' })],
    });
    const rs: Ruleset = new Map([['nat', nat]]);
    const last = pkt({ dst: intToIp(0x0a600000 + SERVICES) });
    const choose: Choose = () => ({ roll: 0.99, taken: false });

    // Speed is measured by `npm run bench`, not asserted here (timed assertions flake on a shared machine).
    const cold = evaluateTable(rs, 'nat', 'PREROUTING', last, choose); // builds the KUBE-SERVICES index
    const warm = evaluateTable(rs, 'nat', 'PREROUTING', last, choose);
    expect(cold).toEqual(warm);
    expect(warm.nat).toEqual({
      kind: 'DNAT',
      ip: intToIp(0x0af40000 + SERVICES * ENDPOINTS - 1),
      port: 8080,
    });
    // PREROUTING 1 + every KUBE-SERVICES rule up to the last service + 10 in KUBE-SVC + 2 in KUBE-SEP.
    expect(warm.evaluated).toBe(1 + SERVICES + ENDPOINTS + 2);
    expect(evaluateTable(rs, 'nat', 'PREROUTING', last, choose, { index: 'never' })).toEqual(warm);
  });
});
