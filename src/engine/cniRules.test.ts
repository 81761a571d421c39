import { describe, expect, it } from 'vitest';
import { flannelDefaults, flannelIptablesSave, nodeIptablesSave } from './cniRules.ts';
import { kubeProxyIptablesSave, type KubeProxyInput } from './kubeproxy.ts';

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
    const chain = (name: string): string[] => text.split('\n').filter((l) => l.startsWith(`-A ${name} `));
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
});
