import { describe, expect, it } from 'vitest';
import { formatTrace } from './format.ts';
import { buildWorld, walk, type Trace } from './index.ts';
import { formatNetOp } from './netops.ts';
import type { Decision } from './trace.ts';
import type { ClusterModel } from '../scenario/model.ts';
import { service, threeNodesWithServices } from '../../test/fixtures/models.ts';

function model(kubeProxy: ClusterModel['extra']['kubeProxy']): ClusterModel {
  const web = service('default', 'web', { clusterIP: '10.96.0.20', port: 80 });
  const m = threeNodesWithServices('flannel-vxlan', [{ service: web, endpoints: ['web', 'web-2'] }]);
  return { ...m, extra: { ...m.extra, kubeProxy } };
}

const IPVS = { mode: 'ipvs', masqueradeAll: false } as const;

function ipvsDecisions(t: Trace): Extract<Decision, { kind: 'ipvs' }>[] {
  return t.events.flatMap((e) => (e.type === 'decide' && e.decision.kind === 'ipvs' ? [e.decision] : []));
}

describe('kube-proxy ipvs mode in walks', () => {
  it('gives each node kube-ipvs0 (dummy, down) with the ClusterIPs as /32 local addresses', () => {
    const world = buildWorld(model(IPVS));
    const node = world.netns('node/node-1');
    const dev = node.device('kube-ipvs0');
    expect(dev.kind).toBe('dummy');
    expect(dev.up).toBe(false);
    expect(dev.addrs).toContainEqual({ ip: '10.96.0.20', prefix: 32 });
    expect(node.ownsAddress('10.96.0.20')).toBe(true);
    expect(node.main.routes().some((r) => r.dev === 'kube-ipvs0')).toBe(false);
    expect(node.ipvs?.services.some((s) => s.address === '10.96.0.20' && s.port === 80)).toBe(true);
    expect(node.ipsets?.find((s) => s.name === 'KUBE-CLUSTER-IP')?.entries).toContain('10.96.0.20,tcp:80');
    const text = node.ops.map(formatNetOp).join('\n');
    expect(text).toContain('ip link add kube-ipvs0 type dummy');
    expect(text).toContain('ip addr add 10.96.0.20/32 dev kube-ipvs0');
    expect(text).toContain('ipvsadm-restore');
    expect(text).toContain('ipset restore');
    // iptables mode: no kube-ipvs0, the ClusterIP is nobody's address.
    const ipt = buildWorld(model(null)).netns('node/node-1');
    expect(ipt.devices.has('kube-ipvs0')).toBe(false);
    expect(ipt.ownsAddress('10.96.0.20')).toBe(false);
  });

  for (const pin of ['10.244.3.2:80', '10.244.1.3:80']) {
    it(`delivers pod → ClusterIP to the real server IPVS picks (${pin}), and the reply comes from the ClusterIP`, () => {
      const t = walk(buildWorld(model(IPVS)), {
        from: 'client',
        to: '10.96.0.20:80',
        protocol: 'tcp',
        pin,
      });
      expect(t.legs.map((l) => [l.kind, l.verdict.kind])).toEqual([
        ['request', 'delivered'],
        ['reply', 'delivered'],
      ]);
      const [ip] = pin.split(':');
      const reqEnd = t.legs[0]!.verdict.at.netns;
      expect(reqEnd).toBe(ip === '10.244.3.2' ? 'pod/default/web-2' : 'pod/default/web');
      const d = ipvsDecisions(t);
      const fwd = d.find((x) => x.action === 'forward');
      expect(fwd).toMatchObject({ hook: 'LOCAL_IN', service: 'TCP 10.96.0.20:80', realServer: pin });
      expect(fwd?.conntrackReply).toContain(`src=${ip}`);
      const unnat = d.find((x) => x.action === 'un-nat');
      expect(unnat).toMatchObject({ hook: 'FORWARD', realServer: pin });
      // The client's socket sees the answer from the ClusterIP.
      const last = t.events.at(-1)!;
      expect(last.type === 'verdict' && last.packet && 'ip' in last.packet ? last.packet.ip.src : null).toBe(
        '10.96.0.20',
      );
      // nat PREROUTING accepts it by the KUBE-CLUSTER-IP set; nothing DNATs it (IPVS does).
      const rules = t.events.flatMap((e) =>
        e.type === 'decide' && e.decision.kind === 'netfilter' ? e.decision.steps.map((s) => s.rule) : [],
      );
      expect(rules.some((r) => r.includes('--match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT'))).toBe(true);
      expect(formatTrace(t)).not.toContain('DNAT');
    });
  }

  it('a ping to a ClusterIP: KUBE-IPVS-FILTER rejects it (port unreachable from the ClusterIP)', () => {
    const t = walk(buildWorld(model(IPVS)), { from: 'client', to: '10.96.0.20', protocol: 'icmp' });
    expect(t.legs.map((l) => [l.kind, l.verdict.kind])).toEqual([
      ['request', 'unreachable'],
      ['icmp-error', 'delivered'],
    ]);
    expect(t.legs[0]!.verdict.reason).toContain('KUBE-IPVS-FILTER');
    const err = t.events.find((e) => e.type === 'leg' && e.kind === 'icmp-error');
    expect(err?.type === 'leg' ? err.packet.ip.src : null).toBe('10.96.0.20');
  });

  it('a ping to a ClusterIP without the access filter (kube-proxy < 1.27): the node answers', () => {
    const t = walk(buildWorld(model({ ...IPVS, ipvsAccessFilter: false })), {
      from: 'client',
      to: '10.96.0.20',
      protocol: 'icmp',
    });
    expect(t.legs.map((l) => [l.kind, l.verdict.kind])).toEqual([
      ['request', 'delivered'],
      ['reply', 'delivered'],
    ]);
    expect(t.legs[0]!.verdict.at.netns).toBe('node/node-1');
    expect(ipvsDecisions(t).map((d) => d.action)).toEqual(['pass']);
  });

  it('in iptables mode nobody answers a ping to a ClusterIP', () => {
    const t = walk(buildWorld(model(null)), { from: 'client', to: '10.96.0.20', protocol: 'icmp' });
    expect(t.legs[0]!.verdict.kind).not.toBe('delivered');
    expect(t.legs.some((l) => l.kind === 'reply')).toBe(false);
    expect(ipvsDecisions(t)).toEqual([]);
  });

  it('a node itself reaching a ClusterIP is masqueraded and un-NATed on the way back', () => {
    const t = walk(buildWorld(model(IPVS)), {
      from: 'node/node-2',
      to: '10.96.0.20:80',
      protocol: 'tcp',
      pin: '10.244.3.2:80',
    });
    expect(t.legs.map((l) => [l.kind, l.verdict.kind])).toEqual([
      ['request', 'delivered'],
      ['reply', 'delivered'],
    ]);
    const d = ipvsDecisions(t);
    expect(d.map((x) => [x.hook, x.action])).toEqual([
      ['LOCAL_OUT', 'forward'],
      ['LOCAL_IN', 'un-nat'],
    ]);
  });

  it('a Service without endpoints: IPVS answers ICMP port unreachable', () => {
    const web = service('default', 'web', { clusterIP: '10.96.0.20', port: 80 });
    const empty = service('default', 'nothing', { clusterIP: '10.96.0.30', port: 80 });
    const m = threeNodesWithServices('flannel-vxlan', [
      { service: web, endpoints: ['web'] },
      { service: empty, endpoints: [] },
    ]);
    const t = walk(buildWorld({ ...m, extra: { ...m.extra, kubeProxy: IPVS } }), {
      from: 'client',
      to: '10.96.0.30:80',
      protocol: 'tcp',
    });
    expect(t.legs[0]!.verdict.kind).toBe('unreachable');
    expect(t.legs[1]?.kind).toBe('icmp-error');
  });
});
