import { describe, expect, it } from 'vitest';
import {
  flannelDefaults,
  flannelIptablesSave,
  nodeIptablesSave,
  weaveDefaults,
  weaveIpsets,
  weaveIptablesSave,
} from './cniRules.ts';
import { parseIptablesSave } from './iptables.ts';
import { kubeProxyIptablesSave, type KubeProxyInput } from './kubeproxy.ts';

/** The `-A <name> ...` lines of an iptables-save text, in order. */
function chainRules(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`-A ${name} `));
}

describe('flannel iptables rules', () => {
  it('writes FLANNEL-POSTRTG and FLANNEL-FWD as flanneld v0.28 does', () => {
    expect(flannelIptablesSave(flannelDefaults('10.244.0.0/16', '10.244.1.0/24'))).toBe(
      [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':FLANNEL-FWD - [0:0]',
        '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
        '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
        '-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
        'COMMIT',
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':FLANNEL-POSTRTG - [0:0]',
        '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
        '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
        '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
        '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('writes no masquerade rules without --ip-masq, and plain MASQUERADE without --random-fully', () => {
    const noMasq = flannelIptablesSave({
      ...flannelDefaults('10.244.0.0/16', '10.244.1.0/24'),
      ipMasq: false,
    });
    expect(noMasq).not.toContain('FLANNEL-POSTRTG');
    const plain = flannelIptablesSave({
      ...flannelDefaults('10.244.0.0/16', '10.244.1.0/24'),
      randomFully: false,
    });
    expect(plain).not.toContain('--random-fully');
    expect(plain).toContain('-d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE\n');
  });
});

describe("a node's whole ruleset", () => {
  const kubeProxy: KubeProxyInput = {
    nodeName: 'node-1',
    nodeIP: '192.168.1.11',
    nodeIPs: ['192.168.1.11'],
    clusterCIDR: '10.244.0.0/16',
    masqueradeAll: false,
    masqueradeMark: '0x00004000',
    hasRandomFully: true,
    localhostNodePorts: true,
    nodePortAddresses: null,
    conntrackTCPLiberal: false,
    nfacctCounters: {},
    services: [],
    endpointSlices: [],
  };
  it("orders kube-proxy's inserted jumps before kubelet's and flannel's appended ones", () => {
    const text = nodeIptablesSave({
      kubeProxy: kubeProxyIptablesSave(kubeProxy),
      flannel: flannelDefaults('10.244.0.0/16', '10.244.1.0/24'),
    });
    const chain = (name: string): string[] => chainRules(text, name);
    expect(chain('FORWARD').map((l) => l.replace(/.* -j /, ''))).toEqual([
      'KUBE-PROXY-FIREWALL',
      'KUBE-FORWARD',
      'KUBE-SERVICES',
      'KUBE-EXTERNAL-SERVICES',
      'FLANNEL-FWD',
    ]);
    expect(chain('POSTROUTING').map((l) => l.replace(/.* -j /, ''))).toEqual([
      'KUBE-POSTROUTING',
      'FLANNEL-POSTRTG',
    ]);
    expect(chain('INPUT').at(-1)).toBe('-A INPUT -j KUBE-FIREWALL');
    expect(chain('KUBE-FIREWALL')).toHaveLength(1);
    expect(text.match(/^:KUBE-SERVICES - \[0:0\]$/gm)).toHaveLength(2);
  });
  it("puts weave's FORWARD rules before kube-proxy's jumps and appends the rest after kubelet's and kube-proxy's", () => {
    const text = nodeIptablesSave({
      kubeProxy: kubeProxyIptablesSave({ ...kubeProxy, clusterCIDR: '10.32.0.0/12' }),
      flannel: null,
      weave: weaveDefaults('weave', '10.32.0.1/12', '10.32.0.0/14', false),
    });
    expect(parseIptablesSave(text).errors).toEqual([]);
    const chain = (name: string): string[] => chainRules(text, name);
    expect(chain('FORWARD').map((l) => l.replace(/.* -j /, ''))).toEqual([
      'WEAVE-NPC-EGRESS',
      'WEAVE-NPC',
      'NFLOG --nflog-group 86',
      'DROP',
      'ACCEPT',
      'ACCEPT',
      'KUBE-PROXY-FIREWALL',
      'KUBE-FORWARD',
      'KUBE-SERVICES',
      'KUBE-EXTERNAL-SERVICES',
    ]);
    expect(chain('POSTROUTING').map((l) => l.replace(/.* -j /, ''))).toEqual(['KUBE-POSTROUTING', 'WEAVE']);
    expect(
      chain('INPUT')
        .slice(-3)
        .map((l) => l.replace(/.* -j /, '')),
    ).toEqual(['KUBE-FIREWALL', 'DROP', 'WEAVE-NPC-EGRESS']);
  });
});

describe('weave iptables rules', () => {
  const weave = weaveDefaults('weave', '10.32.0.1/12', '10.32.0.0/14', false);

  it("writes weave-kube's rules as weaver, `weave expose` and weave-npc v2.8.1 do", () => {
    const text = weaveIptablesSave(weave);
    expect(parseIptablesSave(text).errors).toEqual([]);
    expect(text).toBe(
      [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':WEAVE-NPC - [0:0]',
        ':WEAVE-NPC-EGRESS - [0:0]',
        ':WEAVE-NPC-INGRESS - [0:0]',
        ':WEAVE-NPC-DEFAULT - [0:0]',
        ':WEAVE-NPC-EGRESS-ACCEPT - [0:0]',
        ':WEAVE-NPC-EGRESS-CUSTOM - [0:0]',
        ':WEAVE-NPC-EGRESS-DEFAULT - [0:0]',
        '-A INPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 6784 -m addrtype ! --src-type LOCAL -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "Block non-local access to Weave Net control port" -j DROP',
        '-A INPUT -i weave -j WEAVE-NPC-EGRESS',
        `-A FORWARD -i weave -m comment --comment "NOTE: this must go before \\'-j KUBE-FORWARD\\'" -j WEAVE-NPC-EGRESS`,
        `-A FORWARD -o weave -m comment --comment "NOTE: this must go before \\'-j KUBE-FORWARD\\'" -j WEAVE-NPC`,
        '-A FORWARD -o weave -m state --state NEW -j NFLOG --nflog-group 86',
        '-A FORWARD -o weave -j DROP',
        '-A FORWARD -i weave ! -o weave -j ACCEPT',
        '-A FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A WEAVE-NPC -m state --state RELATED,ESTABLISHED -j ACCEPT',
        '-A WEAVE-NPC -d 224.0.0.0/4 -j ACCEPT',
        '-A WEAVE-NPC -m state --state NEW -j WEAVE-NPC-DEFAULT',
        '-A WEAVE-NPC -m state --state NEW -j WEAVE-NPC-INGRESS',
        '-A WEAVE-NPC-EGRESS -m state --state RELATED,ESTABLISHED -j ACCEPT',
        '-A WEAVE-NPC-EGRESS -m addrtype --dst-type LOCAL -j RETURN',
        '-A WEAVE-NPC-EGRESS -d 224.0.0.0/4 -j RETURN',
        '-A WEAVE-NPC-EGRESS -m state --state NEW -j WEAVE-NPC-EGRESS-DEFAULT',
        '-A WEAVE-NPC-EGRESS -m state --state NEW -m mark ! --mark 0x40000/0x40000 -j WEAVE-NPC-EGRESS-CUSTOM',
        '-A WEAVE-NPC-DEFAULT -m comment --comment "packet-walk: NetworkPolicy ingress is left to the engine policy check (weave-npc ipsets not modelled)" -j ACCEPT',
        '-A WEAVE-NPC-EGRESS-ACCEPT -j MARK --set-xmark 0x40000/0x40000',
        '-A WEAVE-NPC-EGRESS-DEFAULT -m comment --comment "packet-walk: NetworkPolicy egress is left to the engine policy check (weave-npc ipsets not modelled)" -j WEAVE-NPC-EGRESS-ACCEPT',
        '-A WEAVE-NPC-EGRESS-DEFAULT -m comment --comment "packet-walk: NetworkPolicy egress is left to the engine policy check (weave-npc ipsets not modelled)" -j RETURN',
        'COMMIT',
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        ':WEAVE - [0:0]',
        '-A POSTROUTING -j WEAVE',
        '-A WEAVE -m set --match-set weaver-no-masq-local dst -m comment --comment "Prevent SNAT to locally running containers" -j RETURN',
        '-A WEAVE -s 10.32.0.0/12 -d 224.0.0.0/4 -j RETURN',
        '-A WEAVE ! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE',
        '-A WEAVE -s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it("fills weaver-no-masq-local with the peer's own range (hash:net)", () => {
    expect(weaveIpsets(weave).map((s) => [s.name, s.type, s.entries])).toEqual([
      ['weaver-no-masq-local', 'hash:net', ['10.32.0.0/14']],
    ]);
    expect(weaveIpsets({ ...weave, noMasqLocal: false })).toEqual([]);
    expect(weaveIptablesSave({ ...weave, noMasqLocal: false })).not.toContain('--match-set');
  });

  it('adds NFLOG and DROP to WEAVE-NPC-EGRESS once an egress policy exists, as weave-npc does', () => {
    const text = weaveIptablesSave({ ...weave, egressPolicies: true });
    expect(text).toContain(
      '-A WEAVE-NPC-EGRESS -m state --state NEW -m mark ! --mark 0x40000/0x40000 -j NFLOG --nflog-group 86\n' +
        '-A WEAVE-NPC-EGRESS -m mark ! --mark 0x40000/0x40000 -j DROP\n',
    );
  });

  it('without weave-npc, accepts bridge-to-bridge traffic and lets WEAVE-EXPOSE accept traffic into the range', () => {
    const text = weaveIptablesSave({ ...weave, npc: false });
    expect(text).not.toContain('WEAVE-NPC');
    expect(
      text.split('\n').filter((l) => l.startsWith('-A FORWARD ') || l.startsWith('-A WEAVE-EXPOSE ')),
    ).toEqual([
      '-A FORWARD -i weave -o weave -j ACCEPT',
      '-A FORWARD -o weave -j WEAVE-EXPOSE',
      '-A FORWARD -i weave ! -o weave -j ACCEPT',
      '-A FORWARD -o weave -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A WEAVE-EXPOSE -d 10.32.0.0/12 -j ACCEPT',
    ]);
  });
});
