import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intToIp } from './addr.ts';
import {
  appendRules,
  danglingJumps,
  emptyRuleset,
  ensureChain,
  ensureTable,
  formatIptablesSave,
  formatProbability,
  formatRule,
  insertRules,
  makeRule,
  mergeRulesets,
  parseIptablesSave,
  parseRule,
  quoteArg,
  tokenize,
} from './iptables.ts';
import {
  BUILTIN_CHAINS,
  HOOK_TABLES,
  TABLES,
  type Hook,
  type Match,
  type Rule,
  type Target,
} from './netfilter.ts';

const EXPECTED_DIR = new URL('../../test/fixtures/kube-proxy/expected/', import.meta.url);
const EXPECTED = readdirSync(EXPECTED_DIR).filter((f) => f.endsWith('.iptables'));
const NODE = readFileSync(new URL('../../test/fixtures/iptables/node.iptables', import.meta.url), 'utf8');

/** The matches and target of `-A X <args>`; fails the test on a parse error. */
function rule(args: string): Rule {
  const r = parseRule(`-A X ${args}`);
  if (!r.ok) throw new Error(r.error);
  return r.rule;
}

function parseError(args: string): string {
  const r = parseRule(`-A X ${args}`);
  return r.ok ? '(parsed)' : r.error;
}

const cidr = (ip: string, prefix: number) => ({ ip, prefix });

describe('tokenize', () => {
  it.each([
    ['plain words', 'a b  c', ['a', 'b', 'c']],
    ['tabs', 'a\tb', ['a', 'b']],
    [
      'a double-quoted comment',
      '--comment "ns1/svc1:p80 cluster IP"',
      ['--comment', 'ns1/svc1:p80 cluster IP'],
    ],
    [
      "the bridge plugin's escaped quotes",
      String.raw`--comment "name: \"cbr0\" id: \"abc\""`,
      ['--comment', 'name: "cbr0" id: "abc"'],
    ],
    ['an escaped backslash', String.raw`"a\\b"`, ['a\\b']],
    ['single quotes are literal', String.raw`'a \" b'`, ['a \\" b']],
    ['quoted parts glue to their neighbours', 'x"a b"y', ['xa by']],
    ['an empty quoted word', '-m comment --comment ""', ['-m', 'comment', '--comment', '']],
    ['leading and trailing blanks', '  a  ', ['a']],
  ])('%s', (_name, line, words) => {
    const t = tokenize(line);
    expect('error' in t ? t : t.map((x) => x.text)).toEqual(words);
  });

  it.each([
    ['double', 'a "b c'],
    ['single', "a 'b"],
  ])('reports an unterminated %s quote', (_kind, line) => {
    expect(tokenize(line)).toHaveProperty('error');
  });

  it('marks quoted words (a quoted "!" is not a negation)', () => {
    const t = tokenize('! "!"');
    expect(t).toEqual([
      { text: '!', quoted: false },
      { text: '!', quoted: true },
    ]);
  });
});

describe('quoteArg (xtables_save_string)', () => {
  it.each([
    ['KUBE-SVC-XPGD46QRK7WJZT7O', 'KUBE-SVC-XPGD46QRK7WJZT7O'],
    ['flanneld_masq', 'flanneld_masq'],
    ['ns2/svc2:p80', '"ns2/svc2:p80"'],
    ['kubernetes service portals', '"kubernetes service portals"'],
    ['', '""'],
    ['say "hi"', String.raw`"say \"hi\""`],
    ["it's", String.raw`"it\'s"`],
    ['a\\b', String.raw`"a\\b"`],
  ])('%j → %s', (value, quoted) => {
    expect(quoteArg(value)).toBe(quoted);
  });

  it('tokenize(quoteArg(s)) gives s back, for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const t = tokenize(`--comment ${quoteArg(s)}`);
        expect(t).toEqual([
          { text: '--comment', quoted: false },
          { text: s, quoted: quoteArg(s) !== s },
        ]);
      }),
    );
  });
});

describe('parseRule: matches', () => {
  const tcp: Match = { kind: 'proto', proto: 'tcp', negate: false };
  it.each<[string, string, Match[]]>([
    ['-s address', '-s 10.0.0.1', [{ kind: 'src', cidr: cidr('10.0.0.1', 32), negate: false }]],
    ['! -s CIDR', '! -s 10.0.0.0/8', [{ kind: 'src', cidr: cidr('10.0.0.0', 8), negate: true }]],
    [
      '-s with host bits (cleared)',
      '-s 10.1.2.3/16',
      [{ kind: 'src', cidr: cidr('10.1.0.0', 16), negate: false }],
    ],
    [
      '-s with a dotted mask',
      '--source 10.1.2.3/255.255.255.0',
      [{ kind: 'src', cidr: cidr('10.1.2.0', 24), negate: false }],
    ],
    [
      '-s ! (intrapositioned, old syntax)',
      '-s ! 10.0.0.0/8',
      [{ kind: 'src', cidr: cidr('10.0.0.0', 8), negate: true }],
    ],
    ['-d /32', '-d 172.30.0.41/32', [{ kind: 'dst', cidr: cidr('172.30.0.41', 32), negate: false }]],
    ['! -d', '! -d 224.0.0.0/4', [{ kind: 'dst', cidr: cidr('224.0.0.0', 4), negate: true }]],
    ['--dst 0.0.0.0/0', '--dst 0.0.0.0/0', [{ kind: 'dst', cidr: cidr('0.0.0.0', 0), negate: false }]],
    ['-p tcp', '-p tcp', [tcp]],
    ['-p udp', '-p udp', [{ kind: 'proto', proto: 'udp', negate: false }]],
    ['-p icmp', '-p icmp', [{ kind: 'proto', proto: 'icmp', negate: false }]],
    ['-p sctp', '-p sctp', [{ kind: 'proto', proto: 'sctp', negate: false }]],
    ['! -p udp', '! -p udp', [{ kind: 'proto', proto: 'udp', negate: true }]],
    ['-p 6 (a number)', '-p 6', [tcp]],
    ['-p TCP (upper case)', '--protocol TCP', [tcp]],
    ['-p all (no protocol test)', '-p all', []],
    ['-i', '-i eth0', [{ kind: 'in', iface: 'eth0', negate: false }]],
    ['! -i with wildcard', '! -i cni+', [{ kind: 'in', iface: 'cni+', negate: true }]],
    ['-o', '-o flannel.1', [{ kind: 'out', iface: 'flannel.1', negate: false }]],
    ['! -o', '! --out-interface cni0', [{ kind: 'out', iface: 'cni0', negate: true }]],
    ['-m tcp --dport', '-p tcp -m tcp --dport 80', [tcp, { kind: 'dport', from: 80, to: 80, negate: false }]],
    [
      "kube-proxy's order: -m tcp -p tcp -d … --dport",
      '-m tcp -p tcp -d 172.30.0.41 --dport 80',
      [
        { kind: 'dst', cidr: cidr('172.30.0.41', 32), negate: false },
        tcp,
        { kind: 'dport', from: 80, to: 80, negate: false },
      ],
    ],
    ['! --dport', '-p tcp -m tcp ! --dport 22', [tcp, { kind: 'dport', from: 22, to: 22, negate: true }]],
    [
      '--dport range',
      '-p tcp -m tcp --dport 1000:2000',
      [tcp, { kind: 'dport', from: 1000, to: 2000, negate: false }],
    ],
    ['--dport :n', '-p tcp -m tcp --dport :1023', [tcp, { kind: 'dport', from: 0, to: 1023, negate: false }]],
    [
      '--dport n:',
      '-p tcp -m tcp --dport 1024:',
      [tcp, { kind: 'dport', from: 1024, to: 65535, negate: false }],
    ],
    [
      '--sport and --dport',
      '-p udp -m udp --sport 53 --destination-port 5353',
      [
        { kind: 'proto', proto: 'udp', negate: false },
        { kind: 'sport', from: 53, to: 53, negate: false },
        { kind: 'dport', from: 5353, to: 5353, negate: false },
      ],
    ],
    [
      'implicit -m udp (-p udp --dport)',
      '-p udp --dport 53',
      [
        { kind: 'proto', proto: 'udp', negate: false },
        { kind: 'dport', from: 53, to: 53, negate: false },
      ],
    ],
    [
      '! --sport',
      '-p tcp -m tcp ! --sport 1:1023',
      [tcp, { kind: 'sport', from: 1, to: 1023, negate: true }],
    ],
    [
      'sctp ports',
      '-p sctp -m sctp --dport 9',
      [
        { kind: 'proto', proto: 'sctp', negate: false },
        { kind: 'dport', from: 9, to: 9, negate: false },
      ],
    ],
    [
      'multiport --dports',
      '-p tcp -m multiport --dports 80,443,8000:8080',
      [
        tcp,
        {
          kind: 'multiport',
          dir: 'dst',
          ranges: [
            [80, 80],
            [443, 443],
            [8000, 8080],
          ],
          negate: false,
        },
      ],
    ],
    [
      'multiport ! --dports',
      '-p tcp -m multiport ! --dports 22',
      [tcp, { kind: 'multiport', dir: 'dst', ranges: [[22, 22]], negate: true }],
    ],
    [
      'multiport --sports',
      '-p udp -m multiport --source-ports 53',
      [
        { kind: 'proto', proto: 'udp', negate: false },
        { kind: 'multiport', dir: 'src', ranges: [[53, 53]], negate: false },
      ],
    ],
    [
      'multiport --ports',
      '-p tcp -m multiport --ports 1:2',
      [tcp, { kind: 'multiport', dir: 'any', ranges: [[1, 2]], negate: false }],
    ],
    [
      'comment (quoted)',
      '-m comment --comment "ns1/svc1:p80 cluster IP"',
      [{ kind: 'comment', text: 'ns1/svc1:p80 cluster IP' }],
    ],
    ['comment (bare)', '-m comment --comment ns2/svc2:p80', [{ kind: 'comment', text: 'ns2/svc2:p80' }]],
    ['a comment that is "!"', '-m comment --comment ! -j ACCEPT', [{ kind: 'comment', text: '!' }]],
    [
      'addrtype --dst-type LOCAL',
      '-m addrtype --dst-type LOCAL',
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
    ],
    [
      'addrtype ! --src-type LOCAL',
      '-m addrtype ! --src-type LOCAL',
      [
        {
          kind: 'addrtype',
          src: 'LOCAL',
          srcNegate: true,
          dst: null,
          dstNegate: false,
          limitIfaceIn: false,
          limitIfaceOut: false,
        },
      ],
    ],
    [
      'addrtype with both and --limit-iface-in',
      '-m addrtype --src-type LOCAL ! --dst-type BROADCAST --limit-iface-in',
      [
        {
          kind: 'addrtype',
          src: 'LOCAL',
          srcNegate: false,
          dst: 'BROADCAST',
          dstNegate: true,
          limitIfaceIn: true,
          limitIfaceOut: false,
        },
      ],
    ],
    [
      'mark v/m',
      '-m mark --mark 0x4000/0x4000',
      [{ kind: 'mark', value: 0x4000, mask: 0x4000, negate: false }],
    ],
    [
      '! mark',
      '-m mark ! --mark 0x4000/0x4000',
      [{ kind: 'mark', value: 0x4000, mask: 0x4000, negate: true }],
    ],
    [
      'mark without a mask',
      '-m mark --mark 16384',
      [{ kind: 'mark', value: 0x4000, mask: 0xffffffff, negate: false }],
    ],
    [
      'conntrack --ctstate',
      '-m conntrack --ctstate RELATED,ESTABLISHED',
      [{ kind: 'conntrack', ctstate: ['RELATED', 'ESTABLISHED'], negate: false }],
    ],
    [
      'conntrack ! --ctstate',
      '-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT',
      [{ kind: 'conntrack', ctstate: ['RELATED', 'ESTABLISHED', 'DNAT'], negate: true }],
    ],
    ['state --state', '-m state --state NEW', [{ kind: 'conntrack', ctstate: ['NEW'], negate: false }]],
    [
      'statistic',
      '-m statistic --mode random --probability 0.33333333349',
      [{ kind: 'statistic', probability: 0.33333333349, negate: false }],
    ],
    [
      '! statistic',
      '-m statistic --mode random ! --probability 0.5',
      [{ kind: 'statistic', probability: 0.5, negate: true }],
    ],
    [
      'recent --set (kube-proxy)',
      '-m recent --name KUBE-SEP-X --set',
      [{ kind: 'recent', op: 'set', name: 'KUBE-SEP-X', seconds: null, rsource: true, negate: false }],
    ],
    [
      'recent --rcheck --seconds --reap (kube-proxy)',
      '-m recent --name KUBE-SEP-X --rcheck --seconds 10800 --reap',
      [{ kind: 'recent', op: 'rcheck', name: 'KUBE-SEP-X', seconds: 10800, rsource: true, negate: false }],
    ],
    [
      'recent as iptables-save prints it',
      '-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-X --mask 255.255.255.255 --rsource',
      [{ kind: 'recent', op: 'rcheck', name: 'KUBE-SEP-X', seconds: 10800, rsource: true, negate: false }],
    ],
    [
      'recent ! --rcheck --rdest',
      '-m recent ! --rcheck --name N --rdest',
      [{ kind: 'recent', op: 'rcheck', name: 'N', seconds: null, rsource: false, negate: true }],
    ],
    [
      'recent --update',
      '-m recent --update --seconds 60 --name N',
      [{ kind: 'recent', op: 'update', name: 'N', seconds: 60, rsource: true, negate: false }],
    ],
    [
      'recent --remove (default name)',
      '-m recent --remove',
      [{ kind: 'recent', op: 'remove', name: 'DEFAULT', seconds: null, rsource: true, negate: false }],
    ],
    [
      'nfacct',
      '-m nfacct --nfacct-name localhost_nps_accepted_pkts',
      [{ kind: 'nfacct', name: 'localhost_nps_accepted_pkts' }],
    ],
    ['-4 is ignored', '-4 -s 1.2.3.4', [{ kind: 'src', cidr: cidr('1.2.3.4', 32), negate: false }]],
    [
      'set dst,dst (kube-proxy ipvs KUBE-CLUSTER-IP)',
      '-m set --match-set KUBE-CLUSTER-IP dst,dst',
      [{ kind: 'set', name: 'KUBE-CLUSTER-IP', flags: ['dst', 'dst'], negate: false }],
    ],
    [
      'set dst,dst,src (KUBE-LOOP-BACK)',
      '-m set --match-set KUBE-LOOP-BACK dst,dst,src',
      [{ kind: 'set', name: 'KUBE-LOOP-BACK', flags: ['dst', 'dst', 'src'], negate: false }],
    ],
    [
      '! --match-set',
      '-m set ! --match-set allow src',
      [{ kind: 'set', name: 'allow', flags: ['src'], negate: true }],
    ],
    [
      '--match-set ! (intrapositioned)',
      '-m set --match-set ! allow src',
      [{ kind: 'set', name: 'allow', flags: ['src'], negate: true }],
    ],
    [
      'the old --set spelling',
      '-m set --set allow dst',
      [{ kind: 'set', name: 'allow', flags: ['dst'], negate: false }],
    ],
    [
      'two -m set in one rule',
      '-m set --match-set A dst -m set ! --match-set B src,dst',
      [
        { kind: 'set', name: 'A', flags: ['dst'], negate: false },
        { kind: 'set', name: 'B', flags: ['src', 'dst'], negate: true },
      ],
    ],
    [
      'set with -p tcp (KUBE-NODE-PORT-TCP)',
      '-p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst',
      [
        tcp,
        { kind: 'comment', text: 'Kubernetes nodeport TCP port for masquerade purpose' },
        { kind: 'set', name: 'KUBE-NODE-PORT-TCP', flags: ['dst'], negate: false },
      ],
    ],
  ])('%s', (_name, args, matches) => {
    expect(rule(args).matches).toEqual(matches);
  });

  it('puts the IP header part first, then the matches in their order', () => {
    const r = rule(
      '-m comment --comment c -m mark --mark 1 -d 1.1.1.1 -o eth0 -i eth1 -p udp -s 2.2.2.2 -m udp --dport 53',
    );
    expect(r.matches.map((m) => m.kind)).toEqual([
      'src',
      'dst',
      'in',
      'out',
      'proto',
      'comment',
      'mark',
      'dport',
    ]);
  });

  it('keeps the line verbatim as the text', () => {
    const line =
      '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O';
    const r = parseRule(line);
    expect(r.ok && r.rule.text).toBe(line);
    expect(r.ok && r.chain).toBe('KUBE-SERVICES');
  });

  it('drops the [packets:bytes] prefix of iptables-save -c', () => {
    const r = parseRule('[12:3456] -A INPUT -j ACCEPT');
    expect(r.ok && [r.chain, r.rule.text]).toEqual(['INPUT', '-A INPUT -j ACCEPT']);
  });
});

describe('parseRule: what the engine does not model is kept as text', () => {
  it.each([
    ['-m physdev', '-m physdev --physdev-is-bridged', '-m physdev --physdev-is-bridged'],
    [
      '-m set with a counter option',
      '-m set --match-set KUBE-LOOP-BACK dst,dst,src --packets-gt 5',
      '-m set --match-set KUBE-LOOP-BACK dst,dst,src --packets-gt 5',
    ],
    [
      '! -m set with --return-nomatch',
      '-m set ! --match-set allow src --return-nomatch',
      '-m set ! --match-set allow src --return-nomatch',
    ],
    ['-m limit', '-m limit --limit 5/min --limit-burst 10', '-m limit --limit 5/min --limit-burst 10'],
    ['-m icmp', '-p icmp -m icmp --icmp-type 8', '-m icmp --icmp-type 8'],
    ['implicit icmp type', '-p icmp --icmp-type 8', '--icmp-type 8'],
    [
      '--tcp-flags',
      '-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN',
      '-m tcp --tcp-flags FIN,SYN,RST,ACK SYN',
    ],
    ['! --syn', '-p tcp -m tcp ! --syn', '-m tcp ! --syn'],
    ['-p gre', '-p gre', '-p gre'],
    ['! -p all', '! -p all', '! -p all'],
    ['-f', '-f', '-f'],
    ['an addrtype list', '-m addrtype --dst-type LOCAL,BROADCAST', '-m addrtype --dst-type LOCAL,BROADCAST'],
    [
      'an addrtype the engine does not classify',
      '-m addrtype --dst-type ANYCAST',
      '-m addrtype --dst-type ANYCAST',
    ],
    [
      'statistic --mode nth',
      '-m statistic --mode nth --every 2 --packet 0',
      '-m statistic --mode nth --every 2 --packet 0',
    ],
    [
      'recent --hitcount',
      '-m recent --rcheck --hitcount 3 --name N',
      '-m recent --rcheck --hitcount 3 --name N',
    ],
    [
      'recent with a /24 mask',
      '-m recent --set --name N --mask 255.255.255.0',
      '-m recent --set --name N --mask 255.255.255.0',
    ],
    ['conntrack --ctorigdst', '-m conntrack --ctorigdst 10.0.0.1', '-m conntrack --ctorigdst 10.0.0.1'],
  ])('%s', (_name, args, text) => {
    const unknown = rule(args).matches.filter((m) => m.kind === 'unknown');
    expect(unknown).toEqual([{ kind: 'unknown', text }]);
  });

  it('keeps the modelled part of a partly modelled match', () => {
    expect(rule('-p tcp -m tcp --dport 80 --tcp-flags SYN SYN').matches).toEqual([
      { kind: 'proto', proto: 'tcp', negate: false },
      { kind: 'dport', from: 80, to: 80, negate: false },
      { kind: 'unknown', text: '-m tcp --tcp-flags SYN SYN' },
    ]);
  });

  it('-m conntrack --ctstate with another option: the state, and the rest as text', () => {
    expect(rule('-m conntrack --ctstate NEW --ctdir ORIGINAL').matches).toEqual([
      { kind: 'conntrack', ctstate: ['NEW'], negate: false },
      { kind: 'unknown', text: '-m conntrack --ctdir ORIGINAL' },
    ]);
  });
});

describe('parseRule: targets', () => {
  it.each<[string, string, Target]>([
    ['no target', '-m comment --comment x', { kind: 'none' }],
    ['ACCEPT', '-j ACCEPT', { kind: 'ACCEPT' }],
    ['DROP', '--jump DROP', { kind: 'DROP' }],
    ['RETURN', '-j RETURN', { kind: 'RETURN' }],
    ['REJECT', '-j REJECT', { kind: 'REJECT', with: null }],
    [
      'REJECT --reject-with',
      '-j REJECT --reject-with icmp-port-unreachable',
      { kind: 'REJECT', with: 'icmp-port-unreachable' },
    ],
    [
      'REJECT tcp-rst (alias)',
      '-p tcp -j REJECT --reject-with tcp-rst',
      { kind: 'REJECT', with: 'tcp-reset' },
    ],
    ['a jump', '-j KUBE-SVC-XPGD46QRK7WJZT7O', { kind: 'jump', chain: 'KUBE-SVC-XPGD46QRK7WJZT7O' }],
    ['a goto', '-g KUBE-SVC-XPGD46QRK7WJZT7O', { kind: 'goto', chain: 'KUBE-SVC-XPGD46QRK7WJZT7O' }],
    ['--goto', '--goto X', { kind: 'goto', chain: 'X' }],
    [
      'MARK --or-mark',
      '-j MARK --or-mark 0x4000',
      { kind: 'MARK', op: 'or', value: 0x4000, mask: 0xffffffff },
    ],
    [
      'MARK --xor-mark',
      '-j MARK --xor-mark 0x4000',
      { kind: 'MARK', op: 'xor', value: 0x4000, mask: 0xffffffff },
    ],
    [
      'MARK --and-mark',
      '-j MARK --and-mark 0xffffbfff',
      { kind: 'MARK', op: 'and', value: 0xffffbfff, mask: 0xffffffff },
    ],
    [
      'MARK --set-xmark v/m',
      '-j MARK --set-xmark 0x4000/0x4000',
      { kind: 'MARK', op: 'set-xmark', value: 0x4000, mask: 0x4000 },
    ],
    [
      'MARK --set-xmark v',
      '-j MARK --set-xmark 0x1',
      { kind: 'MARK', op: 'set-xmark', value: 1, mask: 0xffffffff },
    ],
    [
      'MARK --set-mark v/m (mask|value)',
      '-j MARK --set-mark 0x2000/0x1000',
      { kind: 'MARK', op: 'set-xmark', value: 0x2000, mask: 0x3000 },
    ],
    [
      'DNAT ip:port',
      '-p tcp -j DNAT --to-destination 10.180.0.1:80',
      { kind: 'DNAT', ip: '10.180.0.1', port: 80 },
    ],
    ['DNAT ip', '-j DNAT --to-destination 10.180.0.1', { kind: 'DNAT', ip: '10.180.0.1', port: null }],
    [
      'SNAT',
      '-j SNAT --to-source 192.168.1.10',
      { kind: 'SNAT', ip: '192.168.1.10', port: null, randomFully: false },
    ],
    [
      'SNAT --random-fully',
      '-p udp -j SNAT --to-source 192.168.1.10:5000 --random-fully',
      { kind: 'SNAT', ip: '192.168.1.10', port: 5000, randomFully: true },
    ],
    [
      'SNAT --random (port choice only)',
      '-j SNAT --to-source 1.2.3.4 --random',
      { kind: 'SNAT', ip: '1.2.3.4', port: null, randomFully: false },
    ],
    ['MASQUERADE', '-j MASQUERADE', { kind: 'MASQUERADE', randomFully: false }],
    ['MASQUERADE --random-fully', '-j MASQUERADE --random-fully', { kind: 'MASQUERADE', randomFully: true }],
    [
      'MASQUERADE --to-ports',
      '-p tcp -j MASQUERADE --to-ports 1024-2048',
      { kind: 'MASQUERADE', randomFully: false, toPorts: { from: 1024, to: 2048 } },
    ],
    [
      'LOG (not modelled)',
      '-j LOG --log-prefix "dropped: "',
      { kind: 'unknown', text: '-j LOG --log-prefix "dropped: "' },
    ],
    ['CT --notrack (not modelled)', '-j CT --notrack', { kind: 'unknown', text: '-j CT --notrack' }],
    ['NOTRACK', '-j NOTRACK', { kind: 'unknown', text: '-j NOTRACK' }],
    [
      'DNAT to a range',
      '-j DNAT --to-destination 10.0.0.1-10.0.0.9',
      { kind: 'unknown', text: '-j DNAT --to-destination 10.0.0.1-10.0.0.9' },
    ],
    [
      'DNAT --persistent',
      '-j DNAT --to-destination 10.0.0.1 --persistent',
      { kind: 'unknown', text: '-j DNAT --to-destination 10.0.0.1 --persistent' },
    ],
    [
      'MASQUERADE with an option the engine does not know',
      '-j MASQUERADE --foo',
      { kind: 'unknown', text: '-j MASQUERADE --foo' },
    ],
  ])('%s', (_name, args, target) => {
    expect(rule(args).target).toEqual(target);
  });
});

describe('parseRule: errors', () => {
  it.each([
    ['-I is not iptables-save output', '-I INPUT -j ACCEPT', /-I \(insert\)/],
    ['-D', '-D INPUT -j ACCEPT', /starts with -A/],
    ['no chain', '-A', /needs a chain/],
    ['an unterminated quote', '-A X -m comment --comment "x', /unterminated/],
  ])('%s', (_name, line, message) => {
    const r = parseRule(line);
    expect(r.ok ? '(parsed)' : r.error).toMatch(message);
  });

  it.each([
    ['a -6 rule', '-6 -j ACCEPT', /IPv6/],
    ['an IPv6 source', '-s fd00::/8 -j ACCEPT', /IPv6/],
    ['an IPv6 DNAT', '-j DNAT --to-destination [fd00::1]:80', /IPv6/],
    ['a host name', '-d example.com -j ACCEPT', /not an IPv4 address/],
    ['an address list', '-s 1.1.1.1,2.2.2.2 -j ACCEPT', /address list/],
    ['a non-contiguous mask', '-s 10.0.0.0/255.0.255.0', /non-contiguous/],
    ['--dport without -p', '-m tcp --dport 80 -j ACCEPT', /needs -p tcp/],
    ['-m udp with -p tcp', '-p tcp -m udp --dport 53', /needs -p udp/],
    ['-m tcp with ! -p tcp', '! -p tcp -m tcp --dport 1', /needs -p tcp/],
    ['multiport without -p', '-m multiport --dports 80', /needs -p tcp\|udp\|sctp/],
    [
      'more than 15 multiport ports',
      `-p tcp -m multiport --dports ${Array.from({ length: 16 }, (_, i) => i + 1).join(',')}`,
      /15 ports/,
    ],
    ['a port name', '-p tcp -m tcp --dport http', /service names/],
    ['a port above 65535', '-p tcp --dport 65536', /out of range/],
    ['an empty port range', '-p tcp --dport 90:80', /empty/],
    ['--dport twice', '-p tcp -m tcp --dport 1 --dport 2', /more than once/],
    ['-s twice', '-s 1.1.1.1 -s 2.2.2.2', /more than once/],
    ['! -m', '! -m tcp', /cannot negate -m/],
    ['! --comment', '-m comment ! --comment x', /cannot be negated/],
    ['two targets', '-j ACCEPT -j DROP', /more than one target/],
    ['an option no module takes', '--dport 80', /unknown option/],
    ['a bare word', '-j ACCEPT junk', /unexpected argument/],
    ['a trailing !', '-j ACCEPT !', /at the end/],
    ['-m without a module', '-m', /module name/],
    ['an option without its argument', '-s', /needs an argument/],
    ['a mark above 32 bits', '-m mark --mark 0x100000000', /larger than/],
    ['a mark that is not a number', '-m mark --mark abc', /not a number/],
    ['an unknown state', '-m conntrack --ctstate BOGUS', /unknown state/],
    ['SNAT as a -m state', '-m state --state SNAT', /unknown state/],
    ['an unknown address type', '-m addrtype --dst-type NOPE', /unknown address type/],
    [
      'both limit-iface flags',
      '-m addrtype --dst-type LOCAL --limit-iface-in --limit-iface-out',
      /exclusive/,
    ],
    ['statistic without --mode', '-m statistic --probability 0.5', /needs --mode/],
    ['statistic without --probability', '-m statistic --mode random', /needs --probability/],
    ['a probability above 1', '-m statistic --mode random --probability 1.5', /between 0 and 1/],
    ['recent without an operation', '-m recent --name N', /exactly one of/],
    ['recent with two operations', '-m recent --set --rcheck', /exactly one of/],
    ['recent --set --seconds', '-m recent --set --seconds 5', /--seconds needs/],
    ['recent --reap without --seconds', '-m recent --rcheck --reap', /--reap needs/],
    ['REJECT with an unknown type', '-j REJECT --reject-with icmp-bogus', /unknown --reject-with/],
    ['MARK without an operation', '-j MARK', /exactly one of/],
    ['DNAT without a destination', '-j DNAT', /needs --to-destination/],
    ['a jump with options', '-j KUBE-X --foo', /unknown option "--foo"/],
    ['an interface name too long', '-i abcdefghijklmnop', /not an interface name/],
    ['-m mark without --mark', '-m mark', /needs --mark/],
    ['-m set without --match-set', '-m set', /needs --match-set/],
    ['-m set with a bad flag', '-m set --match-set A dst,both', /"dst,both" is not a list/],
    ['-m set with 7 flags', '-m set --match-set A src,src,src,src,src,src,src', /at most 6/],
    ['-m set with a 32-character name', `-m set --match-set ${'A'.repeat(32)} src`, /longer than 31/],
    ['-m set --match-set without flags', '-m set --match-set A', /needs 2 arguments/],
    ['-m set with two --match-set', '-m set --match-set A src --match-set B dst', /more than once/],
  ])('%s', (_name, args, message) => {
    expect(parseError(args)).toMatch(message);
  });
});

describe('parseIptablesSave', () => {
  it('parses a real node (kube-proxy, kubelet, flannel, bridge, portmap) with nothing unknown', () => {
    const { ruleset, errors } = parseIptablesSave(NODE);
    expect(errors).toEqual([]);
    expect([...ruleset.keys()]).toEqual(['mangle', 'filter', 'nat']);
    const nat = ruleset.get('nat')!;
    expect(nat.get('PREROUTING')).toMatchObject({ policy: 'ACCEPT', counters: { packets: 10, bytes: 600 } });
    expect(ruleset.get('filter')!.get('FORWARD')).toMatchObject({ policy: 'DROP' });
    expect(nat.get('KUBE-SERVICES')!.policy).toBeNull();
    const all = [...ruleset.values()].flatMap((t) => [...t.values()].flatMap((c) => c.rules));
    expect(all).toHaveLength(72);
    expect(
      all.filter((r) => r.target.kind === 'unknown' || r.matches.some((m) => m.kind === 'unknown')),
    ).toEqual([]);
    expect(nat.get('CNI-0123456789abcdef01234567')!.rules[0]!.matches[1]).toEqual({
      kind: 'comment',
      text: 'name: "cbr0" id: "0a1b2c3d4e5f"',
    });
    expect(danglingJumps(ruleset)).toEqual([]);
  });

  it.each(EXPECTED)('parses kube-proxy expected/%s without errors or unknowns', (file) => {
    const { ruleset, errors } = parseIptablesSave(readFileSync(new URL(file, EXPECTED_DIR), 'utf8'));
    expect(errors).toEqual([]);
    const all = [...ruleset.values()].flatMap((t) => [...t.values()].flatMap((c) => c.rules));
    expect(
      all.filter((r) => r.target.kind === 'unknown' || r.matches.some((m) => m.kind === 'unknown')),
    ).toEqual([]);
  });

  it('reads -X as a deleted chain (kube-proxy partial syncs)', () => {
    const { ruleset, errors } = parseIptablesSave(
      '*nat\n:KUBE-SVC-OLD - [0:0]\n:KUBE-SERVICES - [0:0]\n-X KUBE-SVC-OLD\nCOMMIT\n',
    );
    expect(errors).toEqual([]);
    expect(ruleset.get('nat')!.get('KUBE-SVC-OLD')).toEqual({
      name: 'KUBE-SVC-OLD',
      policy: null,
      rules: [],
      deleted: true,
    });
  });

  it.each([
    ['a rule outside a table', '-A INPUT -j ACCEPT\n', [[1, /outside a table/]]],
    ['a missing COMMIT', '*filter\n:INPUT ACCEPT [0:0]\n', [[1, /no COMMIT/]]],
    ['a second table before COMMIT', '*filter\n*nat\nCOMMIT\n', [[2, /no COMMIT before/]]],
    [
      'an unmodelled table (skipped)',
      '*security\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n',
      [[1, /not modelled/]],
    ],
    ['a built-in chain with "-"', '*filter\n:INPUT - [0:0]\nCOMMIT\n', [[2, /policy ACCEPT or DROP/]]],
    ['a user chain with a policy', '*filter\n:MINE ACCEPT [0:0]\nCOMMIT\n', [[2, /cannot have a policy/]]],
    [
      'a built-in chain of another table',
      '*filter\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n',
      [[2, /not a built-in chain of \*filter/]],
    ],
    ['a chain declared twice', '*nat\n:A - [0:0]\n:A - [0:0]\nCOMMIT\n', [[3, /declared twice/]]],
    ['a bad declaration', '*nat\n:A\nCOMMIT\n', [[2, /is not ":NAME POLICY/]]],
    ['a chain name too long', `*nat\n:${'A'.repeat(29)} - [0:0]\nCOMMIT\n`, [[2, /longer than 28/]]],
    ['a rule for an undeclared chain', '*nat\n-A KUBE-SERVICES -j ACCEPT\nCOMMIT\n', [[2, /not declared/]]],
    ['-I', '*filter\n:INPUT ACCEPT [0:0]\n-I INPUT -j ACCEPT\nCOMMIT\n', [[3, /-I \(insert\)/]]],
    [
      '-D',
      '*filter\n:INPUT ACCEPT [0:0]\n-D INPUT 1\nCOMMIT\n',
      [[3, /"-D" is not in iptables-save output/]],
    ],
    ['-X of an undeclared chain', '*nat\n-X KUBE-X\nCOMMIT\n', [[2, /not declared/]]],
    ['-X of a built-in chain', '*nat\n:INPUT ACCEPT [0:0]\n-X INPUT\nCOMMIT\n', [[3, /built-in/]]],
    ['-X of a chain with rules', '*nat\n:A - [0:0]\n-A A -j RETURN\n-X A\nCOMMIT\n', [[4, /has rules/]]],
    ['a rule after -X', '*nat\n:A - [0:0]\n-X A\n-A A -j RETURN\nCOMMIT\n', [[4, /was deleted/]]],
    ['a table twice', '*nat\nCOMMIT\n*nat\nCOMMIT\n', [[3, /appears twice/]]],
    [
      'a bad rule keeps the others',
      '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s ::1 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n',
      [[3, /IPv6/]],
    ],
    ['junk', '*filter\nhello\nCOMMIT\n', [[2, /cannot parse/]]],
  ])('reports %s', (_name, text, expected) => {
    const { errors } = parseIptablesSave(text);
    expect(errors.map((e) => [e.line, e.message])).toEqual(
      (expected as [number, RegExp][]).map(([line, re]) => [line, expect.stringMatching(re)]),
    );
  });

  it('keeps the good rules of a table with a bad one', () => {
    const { ruleset } = parseIptablesSave(
      '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s ::1 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n',
    );
    expect(
      ruleset
        .get('filter')!
        .get('INPUT')!
        .rules.map((r) => r.text),
    ).toEqual(['-A INPUT -j DROP']);
  });

  it('accepts CRLF line ends, comments and blank lines', () => {
    const { ruleset, errors } = parseIptablesSave(
      '# hi\r\n\r\n*raw\r\n:PREROUTING ACCEPT [0:0]\r\n-A PREROUTING -j ACCEPT\r\nCOMMIT\r\n',
    );
    expect(errors).toEqual([]);
    expect(ruleset.get('raw')!.get('PREROUTING')!.rules).toHaveLength(1);
  });
});

describe('formatIptablesSave', () => {
  it.each(EXPECTED)('reproduces kube-proxy expected/%s byte for byte', (file) => {
    const text = readFileSync(new URL(file, EXPECTED_DIR), 'utf8');
    expect(formatIptablesSave(parseIptablesSave(text).ruleset)).toBe(text);
  });

  it('reproduces a real node (without the comment lines)', () => {
    const withoutComments = NODE.split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
    expect(formatIptablesSave(parseIptablesSave(NODE).ruleset)).toBe(withoutComments);
  });

  it('parse(format(x)) is x', () => {
    const once = parseIptablesSave(NODE).ruleset;
    const twice = parseIptablesSave(formatIptablesSave(once));
    expect(twice.errors).toEqual([]);
    expect(twice.ruleset).toEqual(once);
  });

  it('prints the tables asked for, in that order, and nothing for an empty ruleset', () => {
    const rs = parseIptablesSave(NODE).ruleset;
    expect(
      formatIptablesSave(rs, ['nat', 'raw', 'mangle'])
        .split('\n')
        .filter((l) => l.startsWith('*')),
    ).toEqual(['*nat', '*mangle']);
    expect(formatIptablesSave(emptyRuleset())).toBe('');
  });

  it('prints data-built rules with their canonical text, and re-prefixes a rule moved to another chain', () => {
    const rs = emptyRuleset();
    const chain = ensureChain(rs, 'filter', 'MINE');
    chain.rules.push({ matches: [], target: { kind: 'DROP' }, text: '' });
    chain.rules.push({ ...rule('-j ACCEPT'), text: '-A OTHER -j ACCEPT' });
    expect(formatIptablesSave(rs)).toBe(
      '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:MINE - [0:0]\n-A MINE -j DROP\n-A MINE -j ACCEPT\nCOMMIT\n',
    );
  });
});

describe('formatRule (canonical iptables-save text)', () => {
  it.each<[string, Match[], Target, string]>([
    [
      'a kube-proxy service rule',
      [
        { kind: 'comment', text: 'ns1/svc1:p80 cluster IP' },
        { kind: 'proto', proto: 'tcp', negate: false },
        { kind: 'dst', cidr: cidr('172.30.0.41', 32), negate: false },
        { kind: 'dport', from: 80, to: 80, negate: false },
      ],
      { kind: 'jump', chain: 'KUBE-SVC-XPGD46QRK7WJZT7O' },
      '-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
    ],
    [
      'sport and dport share one -m udp',
      [
        { kind: 'proto', proto: 'udp', negate: false },
        { kind: 'sport', from: 1, to: 2, negate: true },
        { kind: 'dport', from: 53, to: 53, negate: false },
      ],
      { kind: 'ACCEPT' },
      '-A KUBE-SERVICES -p udp -m udp ! --sport 1:2 --dport 53 -j ACCEPT',
    ],
    [
      'MARK --or-mark prints as --set-xmark',
      [],
      { kind: 'MARK', op: 'or', value: 0x4000, mask: 0xffffffff },
      '-A KUBE-SERVICES -j MARK --set-xmark 0x4000/0x4000',
    ],
    [
      'MARK --xor-mark',
      [],
      { kind: 'MARK', op: 'xor', value: 0x4000, mask: 0xffffffff },
      '-A KUBE-SERVICES -j MARK --set-xmark 0x4000/0x0',
    ],
    [
      'MARK --and-mark',
      [],
      { kind: 'MARK', op: 'and', value: 0xffffbfff, mask: 0xffffffff },
      '-A KUBE-SERVICES -j MARK --set-xmark 0x0/0x4000',
    ],
    [
      'statistic with the kernel-quantized probability',
      [{ kind: 'statistic', probability: 1 / 3, negate: false }],
      { kind: 'jump', chain: 'KUBE-SEP-A' },
      '-A KUBE-SERVICES -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A',
    ],
    [
      'recent --rcheck',
      [{ kind: 'recent', op: 'rcheck', name: 'KUBE-SEP-A', seconds: 10800, rsource: true, negate: false }],
      { kind: 'jump', chain: 'KUBE-SEP-A' },
      '-A KUBE-SERVICES -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource -j KUBE-SEP-A',
    ],
    [
      'REJECT default',
      [],
      { kind: 'REJECT', with: null },
      '-A KUBE-SERVICES -j REJECT --reject-with icmp-port-unreachable',
    ],
    [
      'no target',
      [{ kind: 'comment', text: 'x' }],
      { kind: 'none' },
      '-A KUBE-SERVICES -m comment --comment x',
    ],
    [
      'set matches (libxt_set prints ! before --match-set)',
      [
        { kind: 'proto', proto: 'tcp', negate: false },
        { kind: 'set', name: 'KUBE-CLUSTER-IP', flags: ['dst', 'dst'], negate: false },
        { kind: 'set', name: 'KUBE-LOOP-BACK', flags: ['dst', 'dst', 'src'], negate: true },
      ],
      { kind: 'ACCEPT' },
      '-A KUBE-SERVICES -p tcp -m set --match-set KUBE-CLUSTER-IP dst,dst -m set ! --match-set KUBE-LOOP-BACK dst,dst,src -j ACCEPT',
    ],
    [
      'an unknown match and target',
      [{ kind: 'unknown', text: '-m physdev --physdev-is-bridged' }],
      { kind: 'unknown', text: '-j LOG' },
      '-A KUBE-SERVICES -m physdev --physdev-is-bridged -j LOG',
    ],
  ])('%s', (_name, matches, target, text) => {
    expect(formatRule('KUBE-SERVICES', matches, target)).toBe(text);
  });

  it('formats probabilities as libxt_statistic prints them', () => {
    expect([0.5, 1 / 3, 0.25, 1, 0].map(formatProbability)).toEqual([
      '0.50000000000',
      '0.33333333349',
      '0.25000000000',
      '1.00000000000',
      '0.00000000000',
    ]);
  });

  // Random rules in canonical form: formatRule then parseRule gives them back.
  const u8 = fc.integer({ min: 0, max: 255 });
  const anyCidr = fc
    .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
    .map(([n, p]) => cidr(intToIp(p === 0 ? 0 : (n & (0xffffffff << (32 - p))) >>> 0), p));
  const port = fc.integer({ min: 0, max: 65535 });
  const range = fc.tuple(port, port).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
  const iface = fc.constantFrom('eth0', 'cni0', 'veth+', 'flannel.1', 'lo');
  const name = fc
    .stringMatching(/^[A-Z][A-Z0-9-]{0,20}$/)
    .filter(
      (s) =>
        ![
          'ACCEPT',
          'DROP',
          'RETURN',
          'REJECT',
          'MARK',
          'DNAT',
          'SNAT',
          'MASQUERADE',
          'LOG',
          'CT',
          'SET',
          'TEE',
          'TOS',
          'TTL',
          'HL',
          'LED',
          'ECN',
          'NOTRACK',
          'QUEUE',
          'AUDIT',
          'TRACE',
          'ULOG',
          'NFLOG',
          'NFQUEUE',
          'NETMAP',
          'TPROXY',
          'REDIRECT',
          'CONNMARK',
          'CONNSECMARK',
          'SECMARK',
          'TCPMSS',
          'CHECKSUM',
          'CLASSIFY',
          'DSCP',
          'IDLETIMER',
          'RATEEST',
          'SYNPROXY',
          'HMARK',
          'CLUSTERIP',
          'TCPOPTSTRIP',
        ].includes(s),
    );
  const addrType = fc.constantFrom(
    'LOCAL',
    'UNICAST',
    'BROADCAST',
    'MULTICAST',
    'BLACKHOLE',
    'UNREACHABLE',
    'PROHIBIT' as const,
  );
  const ctStates = fc.subarray(
    ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'] as const,
    { minLength: 1 },
  );
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const other: fc.Arbitrary<Match> = fc.oneof(
    fc.record({
      kind: fc.constant('comment' as const),
      text: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
    }),
    fc
      .record({
        kind: fc.constant('addrtype' as const),
        src: fc.option(addrType, { nil: null }),
        srcNegate: fc.boolean(),
        dst: fc.option(addrType, { nil: null }),
        dstNegate: fc.boolean(),
        limitIfaceIn: fc.boolean(),
        limitIfaceOut: fc.constant(false),
      })
      .map((m) => ({
        ...m,
        srcNegate: m.src !== null && m.srcNegate,
        dstNegate: m.dst !== null && m.dstNegate,
      })),
    fc.record({ kind: fc.constant('mark' as const), value: u32, mask: u32, negate: fc.boolean() }),
    fc.record({ kind: fc.constant('conntrack' as const), ctstate: ctStates, negate: fc.boolean() }),
    fc.record({
      kind: fc.constant('statistic' as const),
      probability: fc.integer({ min: 0, max: 0x80000000 }).map((n) => n / 0x80000000),
      negate: fc.boolean(),
    }),
    fc
      .record({
        kind: fc.constant('recent' as const),
        op: fc.constantFrom('set', 'rcheck', 'update', 'remove' as const),
        name,
        seconds: fc.option(fc.integer({ min: 1, max: 100000 }), { nil: null }),
        rsource: fc.boolean(),
        negate: fc.boolean(),
      })
      .map((m) => ({ ...m, seconds: m.op === 'rcheck' || m.op === 'update' ? m.seconds : null })),
    fc.record({ kind: fc.constant('nfacct' as const), name: fc.stringMatching(/^[a-z_]{1,20}$/) }),
  );
  const portMatch = fc.record({
    kind: fc.constantFrom('sport', 'dport' as const),
    r: range,
    negate: fc.boolean(),
  });
  const target: fc.Arbitrary<Target> = fc.oneof(
    fc.constantFrom<Target>(
      { kind: 'ACCEPT' },
      { kind: 'DROP' },
      { kind: 'RETURN' },
      { kind: 'none' },
      { kind: 'MASQUERADE', randomFully: true },
    ),
    fc
      .constantFrom('icmp-port-unreachable', 'tcp-reset', 'icmp-host-prohibited')
      .map((w): Target => ({ kind: 'REJECT', with: w })),
    fc.record({ kind: fc.constantFrom('jump', 'goto' as const), chain: name }),
    fc.record({
      kind: fc.constant('MARK' as const),
      op: fc.constant('set-xmark' as const),
      value: u32,
      mask: u32,
    }),
    fc.record({
      kind: fc.constant('DNAT' as const),
      ip: anyCidr.map((c) => c.ip),
      port: fc.option(port, { nil: null }),
    }),
    fc.record({
      kind: fc.constant('SNAT' as const),
      ip: u8.map((b) => `192.168.0.${b}`),
      port: fc.option(port, { nil: null }),
      randomFully: fc.boolean(),
    }),
  );
  const anyRule = fc
    .record({
      src: fc.option(fc.record({ cidr: anyCidr, negate: fc.boolean() }), { nil: undefined }),
      dst: fc.option(fc.record({ cidr: anyCidr, negate: fc.boolean() }), { nil: undefined }),
      inIf: fc.option(fc.record({ iface, negate: fc.boolean() }), { nil: undefined }),
      outIf: fc.option(fc.record({ iface, negate: fc.boolean() }), { nil: undefined }),
      proto: fc.option(
        fc.record({ proto: fc.constantFrom('tcp', 'udp', 'icmp', 'sctp' as const), negate: fc.boolean() }),
        { nil: undefined },
      ),
      ports: fc.uniqueArray(portMatch, { maxLength: 2, selector: (p) => p.kind }),
      multiport: fc.option(
        fc.record({
          dir: fc.constantFrom('src', 'dst', 'any' as const),
          ranges: fc.array(range, { minLength: 1, maxLength: 5 }),
          negate: fc.boolean(),
        }),
        { nil: undefined },
      ),
      others: fc.array(other, { maxLength: 4 }),
      target,
    })
    .map((g) => {
      const matches: Match[] = [];
      if (g.src) matches.push({ kind: 'src', ...g.src });
      if (g.dst) matches.push({ kind: 'dst', ...g.dst });
      if (g.inIf) matches.push({ kind: 'in', ...g.inIf });
      if (g.outIf) matches.push({ kind: 'out', ...g.outIf });
      const portsAllowed = g.proto && !g.proto.negate && g.proto.proto !== 'icmp';
      if (g.proto) matches.push({ kind: 'proto', ...g.proto });
      if (portsAllowed) {
        for (const p of [...g.ports].sort((a, b) => (a.kind < b.kind ? 1 : -1)))
          matches.push({ kind: p.kind, from: p.r[0], to: p.r[1], negate: p.negate });
        if (g.multiport && g.proto!.proto !== 'icmp') matches.push({ kind: 'multiport', ...g.multiport });
      }
      matches.push(...g.others);
      return { matches, target: g.target };
    });

  it('parseRule(formatRule(x)) is x', () => {
    fc.assert(
      fc.property(anyRule, ({ matches, target }) => {
        const text = formatRule('CHAIN-1', matches, target);
        const back = parseRule(text);
        if (!back.ok) throw new Error(`${text}: ${back.error}`);
        // -m state/--ctstate print states in libxt_conntrack's order.
        const canonical = matches.map((m) =>
          m.kind === 'conntrack'
            ? {
                ...m,
                ctstate: ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED', 'SNAT', 'DNAT'].filter(
                  (s) => m.ctstate.includes(s as never),
                ),
              }
            : m,
        );
        // The text has the probability to 11 decimals, as the kernel keeps it (to 2^-31).
        const close = (back.rule.matches as Match[]).map((m, i) => {
          const want = canonical[i];
          return m.kind === 'statistic' &&
            want?.kind === 'statistic' &&
            Math.abs(m.probability - want.probability) < 2 ** -31
            ? want
            : m;
        });
        expect(close).toEqual(canonical);
        expect(back.rule.target).toEqual(target);
        expect(back.rule.text).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('parseRule(formatRule(x)) is x for -m set matches', () => {
    const setMatch: fc.Arbitrary<Match> = fc.record({
      kind: fc.constant('set' as const),
      name: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,30}$/),
      flags: fc.array(fc.constantFrom('src' as const, 'dst' as const), { minLength: 1, maxLength: 6 }),
      negate: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(setMatch, { minLength: 1, maxLength: 3 }), (matches) => {
        const text = formatRule('CHAIN-1', matches, { kind: 'ACCEPT' });
        const back = parseRule(text);
        if (!back.ok) throw new Error(`${text}: ${back.error}`);
        expect(back.rule.matches).toEqual(matches);
      }),
      { numRuns: 300 },
    );
  });

  it('makeRule gives a rule with its canonical text', () => {
    const r = makeRule('KUBE-MARK-MASQ', [], { kind: 'MARK', op: 'or', value: 0x4000, mask: 0xffffffff });
    expect(r.text).toBe('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000');
  });
});

describe('assembling a node from several writers', () => {
  it('BUILTIN_CHAINS agree with HOOK_TABLES', () => {
    for (const t of TABLES)
      expect(BUILTIN_CHAINS[t]).toEqual(
        (Object.keys(HOOK_TABLES) as Hook[]).filter((h) => HOOK_TABLES[h].includes(t)),
      );
  });

  it('ensureTable creates the built-in chains with policy ACCEPT, once', () => {
    const rs = emptyRuleset();
    const nat = ensureTable(rs, 'nat');
    expect([...nat.values()]).toEqual(
      ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'].map((name) => ({ name, policy: 'ACCEPT', rules: [] })),
    );
    expect(ensureTable(rs, 'nat')).toBe(nat);
  });

  it('appendRules and insertRules take argument strings, whole lines and Rules', () => {
    const rs = emptyRuleset();
    appendRules(rs, 'nat', 'PREROUTING', [
      '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    ]);
    appendRules(rs, 'nat', 'KUBE-SERVICES', [
      '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    ]);
    insertRules(rs, 'nat', 'PREROUTING', ['-m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'], 0);
    appendRules(rs, 'nat', 'POSTROUTING', [rule('-j MASQUERADE')]);
    expect(formatIptablesSave(rs)).toBe(
      [
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':KUBE-SERVICES - [0:0]',
        '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -j MASQUERADE',
        '-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(danglingJumps(rs)).toEqual([
      { table: 'nat', chain: 'PREROUTING', index: 0, target: 'CNI-HOSTPORT-DNAT' },
      { table: 'nat', chain: 'KUBE-SERVICES', index: 0, target: 'KUBE-NODEPORTS' },
    ]);
  });

  it('appendRules throws on a bad rule or a line for another chain', () => {
    const rs = emptyRuleset();
    expect(() => appendRules(rs, 'filter', 'INPUT', ['-s ::1 -j DROP'])).toThrow(/IPv6/);
    expect(() => appendRules(rs, 'filter', 'INPUT', ['-A OUTPUT -j DROP'])).toThrow(/for OUTPUT, not INPUT/);
  });

  it('mergeRulesets applies restore input as iptables-restore --noflush does', () => {
    const node = parseIptablesSave(
      '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-OLD - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -j KUBE-SVC-OLD\n-A KUBE-SVC-OLD -j RETURN\nCOMMIT\n',
    ).ruleset;
    const update = parseIptablesSave(
      '*nat\n:PREROUTING DROP [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-OLD - [0:0]\n-A PREROUTING -j ACCEPT\n-A KUBE-SERVICES -j RETURN\n-X KUBE-SVC-OLD\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n',
    ).ruleset;
    mergeRulesets(node, update);
    expect(formatIptablesSave(node)).toBe(
      [
        '*nat',
        ':PREROUTING DROP [0:0]',
        ':KUBE-SERVICES - [0:0]',
        '-A PREROUTING -j KUBE-SERVICES',
        '-A PREROUTING -j ACCEPT',
        '-A KUBE-SERVICES -j RETURN',
        'COMMIT',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });
});
