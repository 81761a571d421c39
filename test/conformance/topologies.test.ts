// Kernel conformance of the scenario library's pod-networking topologies: the built-in scenarios
// weave-overlay, broken-router-no-routes, broken-overlapping-cidrs and broken-mtu are built for real in
// isolated network namespaces from the engine's own NetOps (src/engine/lab.ts), their walks sent and captured
// on every interface, and compared hop by hop with the engine's trace (as test/conformance/kernel.test.ts
// does for the hand-built models). The scenarios are read from their preset files, so what is checked is
// what the library shows.
//
// Needs root, iproute2, tcpdump, tshark, ping; skipped with the reason printed otherwise.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/engine/index.ts';
import type { WalkSpec } from '../../src/engine/walk.ts';
import type { ClusterModel } from '../../src/scenario/model.ts';
import { parseScenario } from '../../src/scenario/parse.ts';
import {
  EPHEMERAL,
  canRunKernelLab,
  cleanupStaleLabs,
  describeHop,
  engineHops,
  leftoverNamespaces,
  placeOf,
  runKernelWalk,
  type Hop,
  type KernelRun,
} from './kernel.ts';

const can = canRunKernelLab();
if (!can.ok) console.warn(can.reason);

const TIMEOUT = 60_000;
const PRESETS = join(import.meta.dirname, '..', '..', 'src', 'scenario', 'presets');

function presetModel(id: string): ClusterModel {
  const r = parseScenario(readFileSync(join(PRESETS, `${id}.yaml`), 'utf8'));
  if (!r.ok) throw new Error(`${id} does not parse: ${JSON.stringify(r.errors)}`);
  return r.model;
}

/** The preset's named walk as a WalkSpec. */
function presetWalk(model: ClusterModel, name: string): WalkSpec {
  const w = model.walks.find((x) => x.name === name);
  if (!w) throw new Error(`${model.name} has no walk ${name}`);
  return { from: w.from, to: w.to, protocol: w.protocol, ...(w.size !== null ? { size: w.size } : {}) };
}

/** Runs a walk of a preset (or a walk spec on it) in the kernel once; the tests of a case share the run. */
function presetCase(id: string, walk: string | WalkSpec): () => Promise<KernelRun> {
  let p: Promise<KernelRun> | null = null;
  return () => {
    if (p) return p;
    const model = presetModel(id);
    const spec = typeof walk === 'string' ? presetWalk(model, walk) : walk;
    return (p = runKernelWalk(buildWorld(model), spec));
  };
}

/** The kernel's hops equal the engine's: the device path first, then every hop's headers; VXLAN hops go to
 *  `vxlanPort` with `vni` and an outer source port in the ephemeral range. */
function expectHops(kernel: readonly Hop[], expected: readonly Hop[], vxlanPort: number, vni = 1): void {
  expect(kernel.map(placeOf), 'device path (netns, direction, device)').toEqual(expected.map(placeOf));
  expect(kernel.map(describeHop), 'headers hop by hop').toEqual(expected.map(describeHop));
  for (const h of kernel)
    if (h.outer) {
      expect(h.outer.sport).toBeGreaterThanOrEqual(EPHEMERAL.low);
      expect(h.outer.sport).toBeLessThanOrEqual(EPHEMERAL.high);
      expect(h.outer.dport).toBe(vxlanPort);
      expect(h.outer.vni).toBe(vni);
    }
}

describe.skipIf(!can.ok)('kernel conformance of the pod-networking scenarios', () => {
  beforeAll(() => {
    const stale = cleanupStaleLabs();
    if (stale.length) console.warn(`removed ${stale.length} stale lab namespaces: ${stale.join(' ')}`);
  });
  afterEach(() => {
    expect(leftoverNamespaces(), 'lab namespaces left behind').toEqual([]);
  });

  // ── weave-overlay: the weave bridge with a VXLAN port (6784), one L2 network over the nodes ──

  const weaveCross = presetCase('weave-overlay', 'pod-to-pod-cross-node');
  it(
    'weave: pod → pod across nodes is bridged into vxlan-6784 and out of the peer’s, TTL 64 all the way',
    async () => {
      const r = await weaveCross();
      expect(r.sender.output).toMatch(/^connected from 10\.32\.0\.2:/);
      expectHops(r.hops, engineHops(r.trace), 6784);
      // The pods' own packets are never routed: every inner hop keeps TTL 64. The tunnel sets DF (fastdp).
      expect(r.hops.filter((h) => !h.outer).every((h) => h.ip.ttl === 64)).toBe(true);
      expect(r.hops.filter((h) => h.outer).every((h) => h.outer!.ip.df)).toBe(true);
      expect(
        r.hops.filter((h) => h.outer).map((h) => `${placeOf(h)} ${h.outer!.ip.src} > ${h.outer!.ip.dst}`),
      ).toEqual([
        'node/node-1 out eth0 192.168.1.11 > 192.168.1.12',
        'node/node-2 in eth0 192.168.1.11 > 192.168.1.12',
        'node/node-2 out eth0 192.168.1.12 > 192.168.1.11',
        'node/node-1 in eth0 192.168.1.12 > 192.168.1.11',
      ]);
    },
    TIMEOUT,
  );

  const weaveNode = presetCase('weave-overlay', 'node-to-pod');
  it(
    "weave: node → pod on another node, from the weave bridge's address (weave expose), through the overlay",
    async () => {
      const r = await weaveNode();
      expect(r.sender.output).toMatch(/^connected from 10\.32\.0\.1:/);
      expectHops(r.hops, engineHops(r.trace), 6784);
    },
    TIMEOUT,
  );

  const weavePing = presetCase('weave-overlay', 'ping-pod-on-node-3');
  it(
    'weave: ping to the third peer and the echo reply',
    async () => {
      const r = await weavePing();
      expect(r.sender.output).toMatch(/1 received/);
      expectHops(r.hops, engineHops(r.trace), 6784);
    },
    TIMEOUT,
  );

  const weaveSame = presetCase('weave-overlay', 'pod-to-pod-same-node');
  it(
    'weave: pod → pod on one node never reaches the VXLAN port',
    async () => {
      const r = await weaveSame();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(r.hops, engineHops(r.trace), 6784);
      expect(r.all.some((h) => h.device === 'vxlan-6784' || h.outer)).toBe(false);
    },
    TIMEOUT,
  );

  // ── broken-router-no-routes: a gateway without routes to the pod subnets ──

  const noRoutesPod = presetCase('broken-router-no-routes', 'pod-to-pod-dropped-at-router');
  it(
    'router without pod routes: the SYN reaches the router and goes no further; no ICMP leaves it',
    async () => {
      const r = await noRoutesPod();
      expect(r.trace.legs.map((l) => `${l.kind}: ${l.verdict.kind} at ${l.verdict.at.netns}`)).toEqual([
        'request: unreachable at host/router',
      ]);
      expect(r.sender.output).toMatch(/timeout/);
      expectHops(r.hops, engineHops(r.trace), 0);
      expect(r.all.filter((h) => h.l4.kind === 'icmp').map(describeHop)).toEqual([]);
      expect(r.all.some((h) => h.netns === 'node/node-2' && h.ip.dst === '10.244.2.2')).toBe(false);
    },
    TIMEOUT,
  );

  const noRoutesNode = presetCase('broken-router-no-routes', 'node-to-remote-pod-unreachable');
  it(
    "router without pod routes: from node-1's own address the router answers ICMP net unreachable",
    async () => {
      const r = await noRoutesNode();
      expect(r.sender.output).toMatch(/EHOSTUNREACH|ENETUNREACH/);
      expectHops(r.hops, engineHops(r.trace), 0);
      const icmp = r.hops.filter((h) => h.l4.kind === 'icmp');
      expect(icmp.length).toBeGreaterThan(0);
      expect(icmp.every((h) => h.l4.kind === 'icmp' && h.l4.type === 3 && h.l4.code === 0)).toBe(true);
    },
    TIMEOUT,
  );

  // ── broken-overlapping-cidrs: node-1's 10.244.0.0/23 covers node-2's 10.244.1.0/24 ──

  const overlapArp = presetCase('broken-overlapping-cidrs', 'pod-to-remote-pod-arp-fails');
  it(
    "overlapping podCIDRs: the pod ARPs for the other node's pod on its own link, so no IP packet leaves it",
    async () => {
      const r = await overlapArp();
      expect(engineHops(r.trace)).toEqual([]);
      expect(r.hops.map(describeHop)).toEqual([]);
      expect(r.all.filter((h) => h.ip.dst === '10.244.1.2').map(describeHop)).toEqual([]);
      expect(r.sender.output).not.toMatch(/^connected/);
    },
    TIMEOUT,
  );

  const overlapBack = presetCase('broken-overlapping-cidrs', 'remote-pod-to-pod-reply-lost');
  it(
    'overlapping podCIDRs: the other way the echo request arrives, and the echo reply never leaves the pod',
    async () => {
      const r = await overlapBack();
      expect(r.trace.legs.map((l) => `${l.kind}: ${l.verdict.kind} at ${l.verdict.at.netns}`)).toEqual([
        'request: delivered at pod/default/client',
        'reply: local-error at pod/default/client',
      ]);
      expect(r.sender.output).toMatch(/0 received/);
      expectHops(r.hops, engineHops(r.trace), 0);
      expect(r.all.some((h) => h.l4.kind === 'icmp' && h.l4.type === 0)).toBe(false);
    },
    TIMEOUT,
  );

  // ── broken-mtu: pods at 1500 over a VXLAN overlay whose flannel.1 has 1450 ──

  const mtu = presetCase('broken-mtu', {
    from: 'pod/default/client',
    to: 'pod/default/db',
    protocol: 'icmp',
    // The preset's full-size TCP segment, as a ping of the same IP length (1480 bytes, DF): a TCP SYN cannot
    // carry 1420 bytes from a real socket.
    size: 1480 - 28,
  });
  it(
    'broken MTU: a 1480-byte DF packet fits the pod but not flannel.1; node-1 answers fragmentation needed (mtu 1450)',
    async () => {
      const r = await mtu();
      expect(r.trace.legs.map((l) => `${l.kind}: ${l.verdict.kind}`)).toEqual([
        'request: frag-needed',
        'icmp-error: delivered',
      ]);
      expect(r.sender.output).toMatch(/Frag needed and DF set \(mtu = 1450\)/);
      expectHops(r.hops, engineHops(r.trace), 8472);
    },
    TIMEOUT,
  );
});
