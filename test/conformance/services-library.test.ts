// Kernel conformance for the scenario library's Services and control-plane presets: walks of the built-in
// scenarios (src/scenario/presets) run for real in isolated network namespaces (kernel.ts), compared hop by
// hop with the engine's trace, and every iptables rule the engine says it took checked against the kernel's
// counters — including the node firewall (PW-NODE-FIREWALL), loaded with iptables-restore as the lab does.
//
// Walks whose path depends on a multipath route (the gateway's ECMP route to a LoadBalancer address with
// externalTrafficPolicy Cluster) are left out: the kernel's nexthop hash is seeded per boot.
//
// Needs root, iproute2, tcpdump, tshark, ping; skipped with the reason printed otherwise (docs/conformance.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/engine/index.ts';
import { parseScenario, formatIssue } from '../../src/scenario/parse.ts';
import {
  EPHEMERAL,
  canRunKernelLab,
  checkCounters,
  cleanupStaleLabs,
  describeHop,
  engineHops,
  engineRuleHits,
  leftoverNamespaces,
  natBindings,
  placeOf,
  RANDOM_NAT,
  runKernelWalk,
  withKernelNatPorts,
  type Hop,
  type KernelRun,
} from './kernel.ts';

const can = canRunKernelLab();
if (!can.ok) console.warn(can.reason);

const TIMEOUT = 90_000;
const PRESETS = join(import.meta.dirname, '..', '..', 'src', 'scenario', 'presets');

/** Runs a preset's named walk in the kernel once; the tests of a case share the run. */
function presetCase(preset: string, walkName: string): () => Promise<KernelRun> {
  let p: Promise<KernelRun> | null = null;
  return () =>
    (p ??= (async () => {
      const parsed = parseScenario(readFileSync(join(PRESETS, `${preset}.yaml`), 'utf8'));
      if (!parsed.ok) throw new Error(parsed.errors.map(formatIssue).join('\n'));
      const w = parsed.model.walks.find((x) => x.name === walkName);
      if (!w) throw new Error(`${preset} has no walk ${walkName}`);
      return runKernelWalk(buildWorld(parsed.model), { from: w.from, to: w.to, protocol: w.protocol });
    })());
}

/** The kernel's hops equal the engine's: device path first, then headers (random-fully NAT ports taken from
 *  the kernel, checked to be in range and consistent along the path). */
function expectHops(kernel: readonly Hop[], expected: readonly Hop[]): void {
  expect(kernel.map(placeOf), 'device path (netns, direction, device)').toEqual(expected.map(placeOf));
  const nat = withKernelNatPorts(kernel, expected);
  expect(nat.problems, 'ports chosen by random-fully NAT').toEqual([]);
  expect(kernel.map(describeHop), 'headers hop by hop').toEqual(nat.hops.map(describeHop));
  for (const h of kernel)
    if (h.outer) {
      expect(h.outer.sport).toBeGreaterThanOrEqual(EPHEMERAL.low);
      expect(h.outer.sport).toBeLessThanOrEqual(EPHEMERAL.high);
      expect(h.outer.dport).toBe(8472);
    }
}

/** `hops` with `port` replaced by `kernelPort` where it belongs to `ip` (as source, or as a reply's destination):
 *  a port-keeping SNAT after a --random-fully one carries the kernel's random port on. */
function carryPort(hops: readonly Hop[], ip: string, port: number, kernelPort: number): Hop[] {
  return hops.map((h) => {
    if (h.l4.kind !== 'tcp') return h;
    const sport = h.ip.src === ip && h.l4.sport === port ? kernelPort : h.l4.sport;
    const dport = h.ip.dst === ip && h.l4.dport === port ? kernelPort : h.l4.dport;
    return { ...h, l4: { ...h.l4, sport, dport } };
  });
}

/** Every rule the engine lists as taken moved its kernel counter (see kernel.ts checkCounters). */
function expectCounters(r: KernelRun): void {
  const c = checkCounters(r);
  expect(c.notMoved, 'rules the engine lists whose kernel counter did not move').toEqual([]);
  if (c.unlisted.length > 0)
    console.warn(
      `rules whose kernel counter moved that the engine does not list:\n  ${c.unlisted.join('\n  ')}`,
    );
}

/** The engine's rule hits in `chain` as `netns #index target`. */
function hitsIn(r: KernelRun, chain: string): string[] {
  return engineRuleHits(r.trace)
    .filter((h) => h.chain === chain)
    .map((h) => `${h.netns} #${h.index} ${h.rule.replace(/.* -j /, '-j ')}`);
}

describe.skipIf(!can.ok)('kernel conformance: the Services and control-plane presets', () => {
  beforeAll(() => {
    const stale = cleanupStaleLabs();
    if (stale.length) console.warn(`removed ${stale.length} stale lab namespaces: ${stale.join(' ')}`);
  });
  afterEach(() => {
    expect(leftoverNamespaces(), 'lab namespaces left behind').toEqual([]);
  });

  const apiserver = presetCase('control-plane-ports', 'kubelet-to-apiserver');
  it(
    'control-plane-ports kubelet-to-apiserver: PW-NODE-FIREWALL accepts 6443 on cp-1, then the reply as ESTABLISHED on worker-1',
    async () => {
      const r = await apiserver();
      expect(r.sender.output).toMatch(/^connected from 192\.168\.1\.21:/);
      expectHops(r.hops, engineHops(r.trace));
      expectCounters(r);
      expect(hitsIn(r, 'PW-NODE-FIREWALL')).toEqual(['node/cp-1 #2 -j ACCEPT', 'node/worker-1 #1 -j ACCEPT']);
    },
    TIMEOUT,
  );

  const etcdBlocked = presetCase('control-plane-ports', 'worker-to-etcd-blocked');
  it(
    "control-plane-ports worker-to-etcd-blocked: cp-1's firewall drops the SYN with its last rule; nothing answers",
    async () => {
      const r = await etcdBlocked();
      expect(r.sender.output).toBe('timeout');
      expect(r.trace.legs.map((l) => l.verdict.kind)).toEqual(['dropped']);
      expectHops(r.hops, engineHops(r.trace));
      expectCounters(r);
      expect(hitsIn(r, 'PW-NODE-FIREWALL')).toEqual(['node/cp-1 #10 -j DROP']);
    },
    TIMEOUT,
  );

  const viaLo = presetCase('control-plane-ports', 'controller-manager-to-apiserver');
  it(
    "control-plane-ports controller-manager-to-apiserver: to the node's own address through lo, accepted by the loopback rule",
    async () => {
      const r = await viaLo();
      expect(r.sender.output).toMatch(/^connected from 192\.168\.1\.11:/);
      // Neither the harness's captures nor engineHops list the loopback device: nothing crosses another one.
      expect(r.hops).toEqual([]);
      expect(engineHops(r.trace)).toEqual([]);
      expectCounters(r);
      expect(hitsIn(r, 'PW-NODE-FIREWALL')).toEqual(['node/cp-1 #0 -j ACCEPT']);
    },
    TIMEOUT,
  );

  const etcdLocal = presetCase('control-plane-ports', 'apiserver-to-etcd');
  it(
    'control-plane-ports apiserver-to-etcd: 127.0.0.1:2379 over lo, accepted by the loopback rule',
    async () => {
      const r = await etcdLocal();
      expect(r.sender.output).toMatch(/^connected from 127\.0\.0\.1:/);
      expect(r.hops).toEqual([]);
      expectCounters(r);
      expect(hitsIn(r, 'PW-NODE-FIREWALL')).toEqual(['node/cp-1 #0 -j ACCEPT']);
    },
    TIMEOUT,
  );

  const etcdPeers = presetCase('control-plane-ports', 'etcd-peers');
  it(
    'control-plane-ports etcd-peers: 2380 from a control-plane address is accepted (one rule per source)',
    async () => {
      const r = await etcdPeers();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(r.hops, engineHops(r.trace));
      expectCounters(r);
    },
    TIMEOUT,
  );

  const overlay = presetCase('control-plane-ports', 'overlay-between-workers');
  it(
    'control-plane-ports overlay-between-workers: the VXLAN UDP 8472 meets INPUT and the overlay rule, the inner packet is forwarded',
    async () => {
      const r = await overlay();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(r.hops, engineHops(r.trace));
      expectCounters(r);
    },
    TIMEOUT,
  );

  const extraHop = presetCase('nodeport', 'nodeport-extra-hop');
  it(
    'nodeport nodeport-extra-hop: node-3 DNATs to the pod on node-1 and masquerades to its flannel.1 address',
    async () => {
      const r = await extraHop();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(r.hops, engineHops(r.trace));
      expectCounters(r);
      const atPod = r.hops.find((h) => h.netns === 'pod/default/web' && h.direction === 'in')!;
      expect(atPod.ip.src).toBe('10.244.3.0');
    },
    TIMEOUT,
  );

  const localNoEndpoint = presetCase('nodeport', 'nodeport-local-no-endpoint');
  it(
    'nodeport nodeport-local-no-endpoint: KUBE-EXTERNAL-SERVICES drops it on the node without a local pod',
    async () => {
      const r = await localNoEndpoint();
      expect(r.sender.output).toBe('timeout');
      expectHops(r.hops, engineHops(r.trace));
      expectCounters(r);
    },
    TIMEOUT,
  );

  const egress = presetCase('egress-nat', 'pod-to-internet');
  it(
    "egress-nat pod-to-internet: flannel's masquerade on node-1, the cloud NAT's SNAT at the gateway, and back",
    async () => {
      const r = await egress();
      expect(r.sender.output).toMatch(/^connected from 10\.244\.1\.2:/);
      // withKernelNatPorts follows the --random-fully MASQUERADE on node-1; the gateway's SNAT keeps that port,
      // so the internet-side hops (203.0.113.101:<port>) carry the kernel's port too.
      const kernelPort = r.hops.find((h) => placeOf(h) === 'node/node-1 out eth0')?.l4;
      const port = kernelPort?.kind === 'tcp' ? kernelPort.sport : -1;
      expect(port).toBeGreaterThanOrEqual(RANDOM_NAT.low);
      expect(port).toBeLessThanOrEqual(RANDOM_NAT.high);
      expectHops(
        r.hops,
        carryPort(engineHops(r.trace), '203.0.113.101', natBindings(r.trace)[0]!.port, port),
      );
      expectCounters(r);
      const atServer = r.hops.find((h) => h.netns === 'host/example' && h.direction === 'in')!;
      expect(atServer.ip.src).toBe('203.0.113.101');
    },
    TIMEOUT,
  );

  const lbLocal = presetCase('loadbalancer-etp', 'lb-local-keeps-source');
  it(
    'loadbalancer-etp lb-local-keeps-source: one announcing node, DNAT without masquerade, the pod sees the client',
    async () => {
      const r = await lbLocal();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(r.hops, engineHops(r.trace));
      expectCounters(r);
      const atPod = r.hops.find((h) => h.netns === 'pod/default/web' && h.direction === 'in')!;
      expect(atPod.ip.src).toBe('203.0.113.10');
    },
    TIMEOUT,
  );

  const pingClusterIp = presetCase('clusterip-no-ping', 'ping-cluster-ip');
  it(
    'clusterip-no-ping ping-cluster-ip: no rule matches ICMP, the gateway answers net unreachable',
    async () => {
      const r = await pingClusterIp();
      expect(r.sender.output).toMatch(/Unreachable/i);
      expectHops(r.hops, engineHops(r.trace));
      expectCounters(r);
    },
    TIMEOUT,
  );
});
