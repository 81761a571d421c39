// Named cases for the scenario library's topologies: weave's L2 overlay (a VXLAN port on the pods' bridge,
// flooding through the all-zeros FDB entries), a router without pod routes, overlapping podCIDRs, and the
// reply that a failed neighbour entry discards.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCidr } from './addr.ts';
import { macOf, planWorld } from './cni.ts';
import { buildWorld, walk, type Trace } from './index.ts';
import { broadcastDomain } from './neigh.ts';
import type { NetOp } from './netops.ts';
import type { Decision } from './trace.ts';
import { World } from './world.ts';
import type { ClusterModel } from '../scenario/model.ts';
import { parseScenario } from '../scenario/parse.ts';
import { node, pod, threeNodes } from '../../test/fixtures/models.ts';

function decisions<K extends Decision['kind']>(t: Trace, kind: K): Extract<Decision, { kind: K }>[] {
  return t.events.flatMap((e) =>
    e.type === 'decide' && e.decision.kind === kind ? [e.decision as Extract<Decision, { kind: K }>] : [],
  );
}

function verdicts(t: Trace): string[] {
  return t.legs.map((l) => `${l.kind}:${l.verdict.kind}@${l.verdict.at.netns}`);
}

/** threeNodes in weave mode with weave's range split in /14s, as the weave-overlay preset has it. */
function weaveModel(): ClusterModel {
  return threeNodes('weave', {
    clusterCIDR: parseCidr('10.32.0.0/12'),
    nodes: [
      node('node-1', '192.168.1.11', '10.32.0.0/14'),
      node('node-2', '192.168.1.12', '10.36.0.0/14'),
      node('node-3', '192.168.1.13', '10.40.0.0/14'),
    ],
    pods: [
      pod('default', 'client', 'node-1', '10.32.0.2'),
      pod('default', 'db', 'node-2', '10.36.0.2', [3306]),
      pod('default', 'cache', 'node-3', '10.40.0.2', [6379]),
    ],
  });
}

describe('weave: one L2 pod network over the nodes', () => {
  const world = buildWorld(weaveModel());

  it("floods an ARP request from a pod to every peer's bridge through the vxlan port's default destinations", () => {
    const client = world.netns('pod/default/client');
    const reached = broadcastDomain(world, client, client.device('eth0')).map(
      (e) => `${e.netns} ${e.device}`,
    );
    expect(reached).toEqual(
      expect.arrayContaining([
        'node/node-1 weave',
        'node/node-2 weave',
        'node/node-3 weave',
        'pod/default/db eth0',
        'pod/default/cache eth0',
      ]),
    );
  });

  it('bridges a pod-to-pod connection across nodes: no route on the way but the pods own, TTL kept', () => {
    const t = walk(world, { from: 'client', to: 'pod/default/db:3306', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@pod/default/client']);
    // Only the pods and the nodes' own outer packets are routed; the inner frame is bridged.
    const forwards = decisions(t, 'forward');
    expect(forwards).toEqual([]);
    expect(decisions(t, 'encap').map((d) => [d.device, d.port, d.remote])).toEqual([
      ['vxlan-6784', 6784, '192.168.1.12'],
      ['vxlan-6784', 6784, '192.168.1.11'],
    ]);
    const delivered = t.events.find((e) => e.type === 'decide' && e.decision.kind === 'deliver');
    expect(delivered?.type === 'decide' && 'ip' in delivered.packet && delivered.packet.ip.ttl).toBe(64);
  });

  it('sends a frame for a MAC without an FDB entry to every peer (the all-zeros entry), where only its owner takes it', () => {
    // A pod whose MAC the vxlan port was not told about: node-1's entries are made before it exists.
    const model = weaveModel();
    const plan = planWorld(model);
    const lateMac = macOf('pod/default/db', 'eth0');
    const w = new World(model.name, model.description, model.cni, {
      ...plan,
      // node-1 forgets the db's FDB entry: the kernel then uses the default destinations.
      opsOf: (u) =>
        plan
          .opsOf(u)
          .filter((op: NetOp) => !(u === 'node/node-1' && op.op === 'fdb-add' && op.mac === lateMac)),
    });
    const t = walk(w, { from: 'client', to: 'pod/default/db:3306', protocol: 'tcp' });
    const fdb = decisions(t, 'vxlan-fdb').filter((d) => d.mac === lateMac);
    expect(fdb.map((d) => d.remote)).toEqual(['192.168.1.12', '192.168.1.13']);
    expect(fdb[0]!.entry).toBe('00:00:00:00:00:00 dev vxlan-6784 dst 192.168.1.12 self permanent');
    expect(t.legs[0]!.verdict.kind).toBe('delivered');
    expect(t.legs[0]!.verdict.at.netns).toBe('pod/default/db');
  });
});

/** The weave-overlay preset, with extra documents (a NetworkPolicy) appended. */
function weavePreset(extra = ''): ClusterModel {
  const file = join(import.meta.dirname, '..', 'scenario', 'presets', 'weave-overlay.yaml');
  const r = parseScenario(readFileSync(file, 'utf8') + extra);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.model;
}

/** The netfilter decisions of a trace as `netns table HOOK: chain#n action` of their steps. */
function ruleSteps(t: Trace, netns: string, hook: string): string[][] {
  return t.events.flatMap((e) =>
    e.type === 'decide' && e.decision.kind === 'netfilter' && e.at.netns === netns && e.decision.hook === hook
      ? [e.decision.steps.map((s) => `${s.chain}#${s.index + 1} ${s.action}`)]
      : [],
  );
}

describe("weave's iptables rules (weave-overlay preset)", () => {
  const world = buildWorld(weavePreset());

  it("masquerades a pod leaving the weave range to the node's address in WEAVE, and un-SNATs the reply", () => {
    const t = walk(world, { from: 'pod/default/client', to: 'host/laptop:8080', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:delivered@host/laptop', 'reply:delivered@pod/default/client']);
    expect(decisions(t, 'nat').map((d) => `${d.how} ${d.field} ${d.before} → ${d.after}`)).toEqual([
      'MASQUERADE src 10.32.0.2:50471 → 192.168.1.11:50471',
      'conntrack dst 192.168.1.11:50471 → 10.32.0.2:50471',
    ]);
    const post = ruleSteps(t, 'node/node-1', 'POSTROUTING')[0]!;
    expect(post.at(-1)).toBe('WEAVE#4 MASQUERADE');
    const masq = decisions(t, 'netfilter')
      .flatMap((d) => d.steps)
      .find((s) => s.action === 'MASQUERADE');
    expect(masq?.rule).toBe('-A WEAVE -s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE');
    // What the laptop receives comes from node-1.
    const atLaptop = t.events.find(
      (e) => e.type === 'observe' && e.at.netns === 'host/laptop' && e.direction === 'in',
    );
    expect(atLaptop?.type === 'observe' && 'ip' in atLaptop.packet && atLaptop.packet.ip.src).toBe(
      '192.168.1.11',
    );
    // Routed out of eth0: weave-npc's egress chain marks it, then `-i weave ! -o weave` accepts it.
    expect(ruleSteps(t, 'node/node-1', 'FORWARD')[0]!.at(-1)).toBe('FORWARD#5 ACCEPT');
  });

  it('keeps pod addresses across nodes: WEAVE returns nothing to masquerade inside the range', () => {
    const t = walk(world, { from: 'pod/default/client', to: 'pod/default/db:3306', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@pod/default/client']);
    expect(decisions(t, 'nat')).toEqual([]);
    // On node-2 the db is local: weaver-no-masq-local's RETURN is the first rule of WEAVE to match.
    expect(ruleSteps(t, 'node/node-2', 'POSTROUTING')[0]).toContain('WEAVE#1 RETURN');
    // The bridged reply is accepted as ESTABLISHED by weave-npc's egress chain, before kube-proxy's rules.
    expect(ruleSteps(t, 'node/node-2', 'FORWARD').at(-1)).toEqual([
      'FORWARD#1 JUMP WEAVE-NPC-EGRESS',
      'WEAVE-NPC-EGRESS#1 ACCEPT',
    ]);
  });

  it("sends node → pod from the bridge's `weave expose` address, unmasqueraded, its reply through INPUT's WEAVE-NPC-EGRESS", () => {
    const t = walk(world, { from: 'node/node-1', to: 'pod/default/db:3306', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@node/node-1']);
    expect(t.flow?.src).toBe('10.32.0.1');
    expect(decisions(t, 'nat')).toEqual([]);
    expect(ruleSteps(t, 'node/node-1', 'INPUT').at(-1)!.slice(-2)).toEqual([
      'INPUT#6 JUMP WEAVE-NPC-EGRESS',
      'WEAVE-NPC-EGRESS#1 ACCEPT',
    ]);
  });

  it('loads weaver-no-masq-local (hash:net) with each peer its own range', () => {
    expect(world.netns('node/node-2').ipsets?.map((s) => [s.name, s.type, s.entries])).toEqual([
      ['weaver-no-masq-local', 'hash:net', ['10.36.0.0/14']],
    ]);
  });

  it("lets WEAVE-NPC accept a NEW connection and the engine's NetworkPolicy check deny it", () => {
    const denyIngress = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: deny-ingress, namespace: default }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;
    const t = walk(buildWorld(weavePreset(denyIngress)), {
      from: 'pod/default/client',
      to: 'pod/default/db:3306',
      protocol: 'tcp',
    });
    expect(t.legs[0]!.verdict.kind).toBe('dropped');
    expect(t.legs[0]!.verdict.at.netns).toBe('node/node-2');
    expect(t.legs[0]!.verdict.reason).toMatch(/^NetworkPolicy: default\/db does not accept TCP 3306/);
    // The filter table accepted it (WEAVE-NPC-DEFAULT hands over), never reaching NFLOG or the DROP.
    const fwd = ruleSteps(t, 'node/node-2', 'FORWARD')[0]!;
    expect(fwd).toContain('WEAVE-NPC-DEFAULT#1 ACCEPT');
    expect(decisions(t, 'policy').map((d) => `${d.direction} ${d.pod} ${d.result}`)).toContain(
      'ingress default/db denied',
    );
  });
});

describe('a router without routes to the pod subnets', () => {
  const model = threeNodes('bridge-router', {
    gateway: { name: 'gateway', ip: '192.168.1.1', internetIP: '203.0.113.1', podRoutes: false },
  });
  const world = buildWorld(model);

  it('has no pod routes on the gateway', () => {
    expect(
      world
        .netns('host/gateway')
        .main.routes()
        .some((r) => r.dst.ip.startsWith('10.244.')),
    ).toBe(false);
  });

  it('drops a pod packet at the router, which cannot even send an ICMP error back to the pod', () => {
    const t = walk(world, { from: 'client', to: 'pod/default/db:3306', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:unreachable@host/gateway']);
    expect(t.legs[0]!.verdict.reason).toContain('no route back to 10.244.1.2');
  });

  it("answers a node's packet with ICMP net unreachable (it knows the node network)", () => {
    const t = walk(world, { from: 'node/node-1', to: 'pod/default/db:3306', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:unreachable@host/gateway', 'icmp-error:delivered@node/node-1']);
  });
});

describe('overlapping podCIDRs', () => {
  // node-1's /23 covers node-2's /24.
  const model = threeNodes('bridge-host-gw', {
    nodes: [node('node-1', '192.168.1.11', '10.244.0.0/23'), node('node-2', '192.168.1.12', '10.244.1.0/24')],
    pods: [
      pod('default', 'client', 'node-1', '10.244.0.2'),
      pod('default', 'db', 'node-2', '10.244.1.2', [3306]),
    ],
  });
  const world = buildWorld(model);

  it("a pod ARPs on its own bridge for the other node's pod, and nobody answers", () => {
    const t = walk(world, { from: 'client', to: 'pod/default/db:3306', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:local-error@pod/default/client']);
    expect(decisions(t, 'neigh')).toMatchObject([{ device: 'eth0', ip: '10.244.1.2', stateAfter: 'FAILED' }]);
  });

  it('the other way the request arrives and the kernel-sent reply is discarded with its failed neighbour entry', () => {
    const t = walk(world, { from: 'db', to: 'pod/default/client', protocol: 'icmp' });
    expect(verdicts(t)).toEqual([
      'request:delivered@pod/default/client',
      'reply:local-error@pod/default/client',
    ]);
    expect(t.legs[1]!.verdict.reason).toBe(
      'nobody answered ARP for 10.244.1.2 on eth0: the reply is discarded with the failed neighbour entry',
    );
  });

  it("the node's longest-prefix route still reaches the other node's pod", () => {
    const t = walk(world, { from: 'node/node-1', to: 'pod/default/db:3306', protocol: 'tcp' });
    expect(verdicts(t)).toEqual(['request:delivered@pod/default/db', 'reply:delivered@node/node-1']);
  });
});
