// The lab script (src/engine/lab.ts) without a kernel: every command stays inside the lab's namespaces,
// every engine device gets its deterministic MAC, and every op is explained by a comment.
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/engine/index.ts';
import { HEREDOC_END, formatLabScript, labScript } from '../../src/engine/lab.ts';
import { CNI_MODES, type CniMode } from '../../src/scenario/model.ts';
import { threeNodes } from '../fixtures/models.ts';
import { assertConfined } from './kernel.ts';

describe('labScript', () => {
  for (const cni of Object.keys(CNI_MODES) as CniMode[]) {
    it(`${cni}: confined to the lab's namespaces, one comment per op, every MAC set`, () => {
      const world = buildWorld(threeNodes(cni));
      const script = labScript(world, { prefix: 'pwk-test' });
      expect(() => assertConfined(script, 'pwk-test')).not.toThrow();
      const text = script.up.join('\n');
      const all = world.allNetns();
      for (const ns of all) {
        expect(script.namespaces).toContain(script.nsName(ns.id));
        for (const op of ns.ops) {
          if (op.op !== 'iptables-restore') {
            expect(text).toContain(`# ${op.why}`);
            continue;
          }
          // `# <writers>: <why>`, then the rules as a quoted here-document for iptables-restore --noflush in
          // the node's own lab namespace (nfacct matches left out: they only count).
          expect(text).toContain(`# ${op.writer}: ${op.why}\n`);
          const rules = op.text.replace(/ -m nfacct --nfacct-name \S+/g, '').trimEnd();
          expect(text).toContain(
            `ip netns exec ${script.nsName(ns.id)} iptables-restore --noflush <<'${HEREDOC_END}'\n${rules}\n${HEREDOC_END}\n`,
          );
        }
        for (const dev of ns.devices.values())
          if (dev.kind !== 'loopback') expect(text).toContain(`address ${dev.mac}`);
      }
      // Nodes turn br_netfilter's bridge-nf-call-iptables on (kubeadm's requirement) and get kubelet's,
      // kube-proxy's and (flannel) flanneld's, (weave) weaver's and weave-npc's rules; every other namespace keeps it off and has no rules.
      for (const ns of all) {
        const name = script.nsName(ns.id);
        const on = `ip netns exec ${name} sysctl -qw net.bridge.bridge-nf-call-iptables=1`;
        const restore = `ip netns exec ${name} iptables-restore --noflush <<'${HEREDOC_END}'`;
        expect(script.up.includes(on), `${ns.id}: bridge-nf-call-iptables=1`).toBe(ns.kind === 'node');
        expect(script.up.includes(restore), `${ns.id}: iptables-restore`).toBe(ns.kind === 'node');
        expect(ns.bridgeNfCallIptables).toBe(ns.kind === 'node');
      }
      const writers = world.allNetns().flatMap((ns) => ns.ops.filter((o) => o.op === 'iptables-restore'));
      for (const op of writers)
        expect(op.op === 'iptables-restore' && op.writer).toBe(
          cni.startsWith('flannel')
            ? 'kubelet + kube-proxy + flanneld'
            : cni === 'weave'
              ? 'kubelet + kube-proxy + weaver + weave-npc'
              : 'kubelet + kube-proxy',
        );
      // One namespace per engine namespace plus one switch per segment, all distinct, all removed by `down`.
      expect(new Set(script.namespaces).size).toBe(all.length + world.plan.segments.size);
      expect(script.down).toEqual([...script.namespaces].reverse().map((n) => `ip netns del ${n}`));
      expect(formatLabScript(script)).toMatch(/^#!\/bin\/sh\n/);
    });
  }

  it("weave: creates weaver-no-masq-local in the node's namespace before the rules that match it", () => {
    const world = buildWorld(threeNodes('weave'));
    const script = labScript(world, { prefix: 'pwk-w' });
    expect(() => assertConfined(script, 'pwk-w')).not.toThrow();
    const text = script.up.join('\n');
    const podCIDR = world.model!.nodes.find((n) => n.name === 'node-1')!.podCIDR;
    expect(text).toContain(
      [
        `ip netns exec pwk-w-node-1 ipset restore <<'${HEREDOC_END}'`,
        'create weaver-no-masq-local hash:net family inet hashsize 1024 maxelem 65536 -exist',
        `add weaver-no-masq-local ${podCIDR.ip}/${podCIDR.prefix} -exist`,
        HEREDOC_END,
        `ip netns exec pwk-w-node-1 iptables-restore --noflush <<'${HEREDOC_END}'`,
      ].join('\n'),
    );
  });

  it('names namespaces readably and refuses an unsafe prefix', () => {
    const script = labScript(buildWorld(threeNodes()), { prefix: 'pwk-ab' });
    expect(script.nsName('node/node-1')).toBe('pwk-ab-node-1');
    expect(script.nsName('pod/default/client')).toBe('pwk-ab-default.client');
    expect(script.nsName('host/gateway')).toBe('pwk-ab-gateway');
    expect(script.switches.get('node-network')).toBe('pwk-ab-sw-node-network');
    expect(() => labScript(buildWorld(threeNodes()), { prefix: 'pwk; rm -rf /' })).toThrow(/prefix/);
  });

  it('the confinement check rejects commands outside the lab', () => {
    const script = labScript(buildWorld(threeNodes()), { prefix: 'pwk-x' });
    const bad = (line: string) => () => assertConfined({ ...script, up: [...script.up, line] }, 'pwk-x');
    expect(bad('ip link add foo type veth')).toThrow(/outside the lab/);
    expect(bad('ip -n pwk-x-node-1 link add a type veth peer name b netns other')).toThrow(/out of the lab/);
    expect(bad('ip netns exec pwk-x-node-1 sh -c reboot')).toThrow(/outside the lab/);
    expect(bad('ip -n pwk-x-node-1 link set eth0 up; ip link del eth0')).toThrow(/outside the lab/);
    // iptables only as a here-document into a lab namespace; nothing in the machine's own namespace.
    expect(bad('iptables -t nat -F')).toThrow(/outside the lab/);
    expect(bad('ip netns exec pwk-x-node-1 iptables -t nat -F')).toThrow(/outside the lab/);
    expect(bad("ip netns exec other iptables-restore --noflush <<'PW_RULES_END'")).toThrow(/outside the lab/);
    expect(bad('iptables-restore --noflush < rules')).toThrow(/outside the lab/);
  });
});
