// Kernel conformance: each walk is run for real in isolated network namespaces built from the engine's own
// NetOps (src/engine/lab.ts), captured on every interface in each direction, and compared hop by hop
// with the engine's `observe` events: the device path (netns, device, direction), then for every hop the
// MACs, IP src/dst, TTL, length, DF, ports, TCP flags, ICMP type/code (mtu, redirect gateway, quoted
// header) and, for VXLAN, the outer MACs, IP src/dst/TTL, UDP port 8472, VNI and a source port in the
// ephemeral range (the kernel hashes it with a per-boot seed, so only the range is comparable).
//
// Where the kernel disagrees with the engine, the test asserts what the kernel does, with a comment that
// starts "KERNEL ≠ ENGINE", and a "known discrepancy" twin asserts that the engine's trace still differs
// from the capture: it fails once the engine is fixed, telling you to delete the twin and the patch.
//
// Needs root, iproute2, tcpdump, tshark, ping; skipped with the reason printed otherwise. See
// docs/conformance.md.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/engine/index.ts';
import type { WalkSpec } from '../../src/engine/walk.ts';
import type { ClusterModel, CniMode } from '../../src/scenario/model.ts';
import { threeNodes } from '../fixtures/models.ts';
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
  type RunOptions,
} from './kernel.ts';

const can = canRunKernelLab();
if (!can.ok) console.warn(can.reason);

const TIMEOUT = 60_000;

/** Runs a walk in the kernel once; the tests of a case share the run. */
function kernelCase(
  cni: CniMode,
  spec: WalkSpec,
  extra: Partial<ClusterModel> = {},
  opts: RunOptions = {},
): () => Promise<KernelRun> {
  let p: Promise<KernelRun> | null = null;
  return () => (p ??= runKernelWalk(buildWorld(threeNodes(cni, extra)), spec, opts));
}

const lines = (hops: readonly Hop[]): string[] => hops.map(describeHop);

/** The kernel's hops equal `expected`: first the device path, then every hop's headers. */
function expectHops(kernel: readonly Hop[], expected: readonly Hop[]): void {
  expect(kernel.map(placeOf), 'device path (netns, direction, device)').toEqual(expected.map(placeOf));
  expect(lines(kernel), 'headers hop by hop').toEqual(lines(expected));
  for (const h of kernel)
    if (h.outer) {
      expect(h.outer.sport).toBeGreaterThanOrEqual(EPHEMERAL.low);
      expect(h.outer.sport).toBeLessThanOrEqual(EPHEMERAL.high);
      expect(h.outer.dport).toBe(8472);
      expect(h.outer.vni).toBe(1);
    }
}

const tcpHop = (h: Hop, flags: string): boolean => h.l4.kind === 'tcp' && h.l4.flags === flags;

describe.skipIf(!can.ok)('kernel conformance (real namespaces, veth, bridge, VXLAN)', () => {
  beforeAll(() => {
    const stale = cleanupStaleLabs();
    if (stale.length) console.warn(`removed ${stale.length} stale lab namespaces: ${stale.join(' ')}`);
  });
  afterEach(() => {
    expect(leftoverNamespaces(), 'lab namespaces left behind').toEqual([]);
  });

  const sameNode = kernelCase('flannel-vxlan', {
    from: 'pod/default/client',
    to: 'pod/default/web:80',
    protocol: 'tcp',
  });
  it(
    'same node: pod → pod through cni0 (TCP SYN, SYN-ACK)',
    async () => {
      const r = await sameNode();
      expect(r.sender.output).toMatch(/^connected from 10\.244\.1\.2:/);
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const hostGw = kernelCase('flannel-host-gw', {
    from: 'pod/default/client',
    to: 'pod/default/db:3306',
    protocol: 'tcp',
  });
  it(
    'flannel host-gw: pod → pod across nodes via the node IP route',
    async () => {
      const r = await hostGw();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const vxlan = kernelCase('flannel-vxlan', {
    from: 'pod/default/client',
    to: 'pod/default/db:3306',
    protocol: 'tcp',
  });
  it(
    'flannel VXLAN: pod → pod across nodes, request leg and reply leg',
    async () => {
      const r = await vxlan();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(
        r.hops.filter((h) => tcpHop(h, 'S')),
        engineHops(r.trace, 0),
      );
      expectHops(
        r.hops.filter((h) => tcpHop(h, 'S.')),
        engineHops(r.trace, 1),
      );
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const podToNode = kernelCase('flannel-vxlan', {
    from: 'pod/default/client',
    to: 'node/node-2:10250',
    protocol: 'tcp',
  });
  it(
    'pod → node: out the underlay, the SYN-ACK back over VXLAN (asymmetric)',
    async () => {
      const r = await podToNode();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const nodeToPod = kernelCase('flannel-vxlan', {
    from: 'node/node-1',
    to: 'pod/default/db:3306',
    protocol: 'tcp',
  });
  it(
    "node → pod over VXLAN: the source is flannel.1's 10.244.1.0",
    async () => {
      const r = await nodeToPod();
      expect(r.sender.output).toMatch(/^connected from 10\.244\.1\.0:/);
      expect(r.hops[0]?.ip.src).toBe('10.244.1.0');
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const routerPods = kernelCase('bridge-router', {
    from: 'pod/default/client',
    to: 'pod/default/db:3306',
    protocol: 'tcp',
  });
  it(
    'bridge-router: pod → pod via the gateway, in and out of its eth0, and no ICMP redirect',
    async () => {
      const r = await routerPods();
      expect(r.sender.output).toMatch(/^connected/);
      expectHops(r.hops, engineHops(r.trace));
      // The gateway forwards out the interface the SYN came in on, yet sends no redirect: Linux only
      // redirects when the sender is on-link (net/ipv4/route.c __mkroute_input sets IPSKB_DOREDIRECT only
      // when fib_validate_source() returns 1, i.e. the reverse route to the source has no gateway). The
      // source 10.244.1.2 is reached via 192.168.1.11, so nothing is sent — as the engine says (no decision).
      expect(r.all.filter((h) => h.l4.kind === 'icmp' && h.l4.type === 5).map(describeHop)).toEqual([]);
      expect(r.trace.events.some((e) => e.type === 'decide' && e.decision.kind === 'icmp-redirect')).toBe(
        false,
      );
    },
    TIMEOUT,
  );

  const routerNode = kernelCase(
    'bridge-router',
    { from: 'node/node-1', to: 'pod/default/db:3306', protocol: 'tcp' },
    {},
    { inspect: [{ netns: 'node/node-1', argv: ['ip', 'route', 'get', '10.244.2.2'] }] },
  );
  it(
    'bridge-router: node → pod via the gateway — the gateway sends node-1 an ICMP redirect',
    async () => {
      const r = await routerNode();
      expect(r.sender.output).toMatch(/^connected from 192\.168\.1\.11:/);
      // The engine knows the redirect is due (a decision at the gateway)...
      expect(
        r.trace.events.some(
          (e) =>
            e.type === 'decide' &&
            e.decision.kind === 'icmp-redirect' &&
            e.decision.gateway === '192.168.1.12',
        ),
      ).toBe(true);
      // ...and the redirect is a real packet: `host/gateway out eth0` and `node/node-1 in eth0` carry ICMP 5/1
      // (redirect for host) 192.168.1.1 > 192.168.1.11, gateway 192.168.1.12, len 88, captured between the
      // SYN arriving at the gateway and the gateway forwarding it; the engine walks it there too.
      expectHops(r.hops, engineHops(r.trace));
      // node-1 forwards (ip_forward=1 turns accept_redirects off), so it ignores the redirect, as the engine
      // says: its route to the pod still goes via the gateway, with no redirected cache entry.
      expect(r.inspections[0]).toMatch(/^10\.244\.2\.2 via 192\.168\.1\.1 dev eth0 src 192\.168\.1\.11/);
      expect(r.inspections[0]).not.toMatch(/redirect/);
    },
    TIMEOUT,
  );

  const unroutable = kernelCase('flannel-vxlan', {
    from: 'node/node-1',
    to: '10.250.0.1:80',
    protocol: 'tcp',
  });
  it(
    'unroutable destination: ICMP net unreachable from the gateway back to node-1',
    async () => {
      const r = await unroutable();
      expect(r.trace.legs.map((l) => `${l.kind}: ${l.verdict.kind}`)).toEqual([
        'request: unreachable',
        'icmp-error: delivered',
      ]);
      expect(r.sender.output).toMatch(/ENETUNREACH/);
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const mtuLocal = kernelCase('flannel-vxlan', {
    from: 'pod/default/client',
    to: 'pod/default/db',
    protocol: 'icmp',
    size: 1472,
  });
  it(
    'MTU: ping -s 1472 -M do from a pod with MTU 1450 fails in the sender, nothing on the wire',
    async () => {
      const r = await mtuLocal();
      expect(r.trace.legs.map((l) => l.verdict.kind)).toEqual(['local-error']);
      expect(r.trace.legs[0]!.verdict.reason).toMatch(/Message too long/);
      expect(engineHops(r.trace)).toEqual([]);
      expect(r.sender.output).toMatch(/message too long, mtu=1450/);
      expect(r.sender.code).not.toBe(0);
      expect(lines(r.hops)).toEqual([]);
      expect(lines(r.all.filter((h) => h.ip.dst === '10.244.2.2' || h.ip.src === '10.244.2.2'))).toEqual([]);
    },
    TIMEOUT,
  );

  const mtuFrag = kernelCase(
    'flannel-vxlan',
    { from: 'pod/default/client', to: 'pod/default/db', protocol: 'icmp', size: 1472 },
    { podMtu: 1500 },
    { inspect: [{ netns: 'pod/default/client', argv: ['ip', 'route', 'get', '10.244.2.2'] }] },
  );
  it(
    'MTU: pods at 1500 over VXLAN — node-1 answers ICMP fragmentation needed (mtu 1450) from 10.244.1.1',
    async () => {
      const r = await mtuFrag();
      expect(r.trace.legs.map((l) => `${l.kind}: ${l.verdict.kind}`)).toEqual([
        'request: frag-needed',
        'icmp-error: delivered',
      ]);
      expect(r.sender.output).toMatch(/From 10\.244\.1\.1 icmp_seq=1 Frag needed and DF set \(mtu = 1450\)/);
      expectHops(r.hops, engineHops(r.trace));
      // The kernel also remembers the path MTU for the destination (not modelled by the engine).
      expect(r.inspections[0]).toMatch(/mtu 1450/);
    },
    TIMEOUT,
  );

  const closed = kernelCase('flannel-vxlan', {
    from: 'pod/default/client',
    to: 'pod/default/web:8080',
    protocol: 'tcp',
  });
  it(
    'TCP to a port nobody listens on: RST from the pod',
    async () => {
      const r = await closed();
      expect(r.sender.output).toMatch(/ECONNREFUSED/);
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const udpEcho = kernelCase('flannel-vxlan', {
    from: 'pod/default/client',
    to: 'pod/default/web-2:80',
    protocol: 'udp',
  });
  it(
    'UDP across VXLAN: the datagram and its echo',
    async () => {
      const r = await udpEcho();
      expect(r.sender.output).toMatch(/^reply from 10\.244\.3\.2:80 32 bytes/);
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const udpClosed = kernelCase('flannel-vxlan', {
    from: 'pod/default/client',
    to: 'pod/default/db:5353',
    protocol: 'udp',
  });
  it(
    'UDP to a closed port: ICMP port unreachable from the pod, back over VXLAN',
    async () => {
      const r = await udpClosed();
      expect(r.sender.output).toMatch(/ECONNREFUSED/);
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );

  const ping = kernelCase('bridge-host-gw', {
    from: 'pod/default/client',
    to: 'pod/default/db',
    protocol: 'icmp',
  });
  it(
    'ping across bridge + static routes: echo request and reply',
    async () => {
      const r = await ping();
      expect(r.sender.output).toMatch(/1 received/);
      expectHops(r.hops, engineHops(r.trace));
    },
    TIMEOUT,
  );
});
