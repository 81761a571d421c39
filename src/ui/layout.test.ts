import { describe, expect, it } from 'vitest';
import {
  anchorsFor,
  collapseByDefault,
  collapsedNodes,
  deviceKey,
  involvedNodes,
  hopPath,
  labelBoxes,
  layoutWorld,
  layoutWorldCached,
  legPathTo,
  packetAt,
  pathLength,
  placeCard,
  pointAlong,
  type Rect,
} from './layout.ts';
import { fixtureWorld, routeDecision, trace } from './testWorld.ts';

const overlap = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Every overlapping pair (plain loops: a 1,000-pod world has millions of pairs, too many for expect). */
function overlaps(rs: readonly (Rect & { key: string })[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < rs.length; i++)
    for (let j = i + 1; j < rs.length; j++)
      if (overlap(rs[i]!, rs[j]!)) out.push(`${rs[i]!.key} / ${rs[j]!.key}`);
  return out;
}

const SHAPES: readonly (readonly number[])[] = [
  [1],
  [2, 1, 1],
  [0, 3],
  [3, 3, 3, 3],
  [1, 1, 1, 1, 1, 1, 1],
  Array(10).fill(2),
  [20, 3], // pods in a grid of rows
  Array(23).fill(1), // three bands
  Array(20).fill(50), // 1,000 pods
];

describe('layoutWorld', () => {
  it.each(SHAPES.map((pods) => ({ pods, n: pods.length })))(
    '$n nodes: every namespace and device placed, none overlapping',
    ({ pods }) => {
      const view = fixtureWorld(pods);
      const l = layoutWorld(view);
      for (const ns of view.namespaces) {
        expect(l.namespaces.has(ns.id), ns.id).toBe(true);
        for (const d of ns.devices)
          if (d.kind !== 'loopback')
            expect(l.devices.has(deviceKey(ns.id, d.name)), `${ns.id} ${d.name}`).toBe(true);
      }
      const boxes = [...l.namespaces.values()];
      const devs = [...l.devices.values(), ...l.stages.values()];
      expect(overlaps(boxes.map((b) => ({ ...b, key: b.id })))).toEqual([]);
      expect(overlaps(devs)).toEqual([]);
      // Everything inside the drawing.
      for (const r of [...boxes, ...devs]) {
        expect(r.x).toBeGreaterThanOrEqual(0);
        expect(r.y).toBeGreaterThanOrEqual(0);
        expect(r.x + r.width).toBeLessThanOrEqual(l.width);
        expect(r.y + r.height).toBeLessThanOrEqual(l.height);
      }
    },
  );

  it('keeps devices on or inside their namespace box', () => {
    const l = layoutWorld(fixtureWorld([2, 1, 3, 1, 1, 2, 2]));
    for (const d of l.devices.values()) {
      const ns = l.namespaces.get(d.netns)!;
      expect(d.center.x, d.key).toBeGreaterThanOrEqual(ns.x);
      expect(d.center.x, d.key).toBeLessThanOrEqual(ns.x + ns.width);
      expect(d.center.y, d.key).toBeGreaterThanOrEqual(ns.y);
      expect(d.center.y, d.key).toBeLessThanOrEqual(ns.y + ns.height);
    }
  });

  it('puts pods beyond their node, away from the bus, and a pod right across from its veth peer', () => {
    const l = layoutWorld(fixtureWorld([2, 1, 1, 1, 1, 2]));
    const bus = l.buses.get('node-network')!;
    for (const pod of [...l.namespaces.values()].filter((n) => n.kind === 'pod')) {
      const nodeName = pod.id.match(/p(\d+)-/)![1];
      const node = l.namespaces.get(`node/node-${nodeName}`)!;
      if (node.y < bus.y) expect(pod.y + pod.height).toBeLessThan(node.y);
      else expect(pod.y).toBeGreaterThan(node.y + node.height);
    }
    const podEth = l.devices.get('pod/default/p1-2|eth0')!;
    const veth = l.devices.get('node/node-1|veth01')!;
    expect(podEth.center.x).toBe(veth.center.x);
  });

  it('mirrors nodes beyond the first row below the bus, and keeps hosts clear to the right', () => {
    const l = layoutWorld(fixtureWorld(Array(10).fill(1)));
    const bus = l.buses.get('node-network')!;
    expect(l.namespaces.get('node/node-5')!.y).toBeLessThan(bus.y);
    expect(l.namespaces.get('node/node-6')!.y).toBeGreaterThan(bus.y);
    const nodesRight = Math.max(
      ...[...l.namespaces.values()].filter((n) => n.kind !== 'host').map((n) => n.x + n.width),
    );
    expect(l.namespaces.get('host/laptop')!.x).toBeGreaterThan(nodesRight);
    // Two rows of five stay far narrower than one row of ten.
    expect(l.width).toBeLessThan(layoutWorld(fixtureWorld(Array(5).fill(1))).width * 1.6);
  });

  it('draws the gateway with a second bus for the internet and its hosts', () => {
    const l = layoutWorld(fixtureWorld([1, 1]));
    const internet = l.buses.get('internet')!;
    const gw = l.namespaces.get('host/gateway')!;
    const example = l.namespaces.get('host/example')!;
    expect(internet.y).toBeGreaterThan(gw.y + gw.height);
    expect(example.y).toBeGreaterThan(internet.y);
    expect(l.devices.get('host/gateway|eth1')!.center.y).toBe(gw.y + gw.height);
    expect(l.wiredTo.get('host/example|eth0')).toBe('internet');
    expect(l.wiredTo.get('node/node-1|eth0')).toBe('node-network');
  });

  it('links veth pairs once, bridge ports, wires and the VXLAN underlay', () => {
    const l = layoutWorld(fixtureWorld([2]));
    const kinds = l.links.map((k) => k.kind).sort();
    expect(kinds.filter((k) => k === 'veth')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'port')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'underlay')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'wire')).toHaveLength(5); // node eth0, laptop, gateway eth0 + eth1, example
    expect(kinds).toHaveLength(2 + 2 + 1 + 5);
  });

  it('is deterministic, and the cached form reuses the layout for the same view', () => {
    const view = fixtureWorld([2, 1]);
    expect(layoutWorld(view)).toEqual(layoutWorld(structuredClone(view)));
    const a = layoutWorldCached(view);
    expect(layoutWorldCached(view)).toBe(a);
    expect(layoutWorldCached(structuredClone(view))).not.toBe(a);
  });

  it('handles a world with no pods and no hosts', () => {
    const view = {
      ...fixtureWorld([0], { internet: false }),
      namespaces: fixtureWorld([0]).namespaces.slice(0, 1),
    };
    const l = layoutWorld(view);
    expect(l.devices.has('node/node-1|eth0')).toBe(true);
    expect(l.width).toBeGreaterThan(0);
    expect(l.height).toBeGreaterThan(0);
  });
});

describe('packet kernels', () => {
  const view = fixtureWorld([1, 1]);
  const l = layoutWorld(view);
  const events = trace([
    { leg: 'request', at: 'pod/default/p1-1' },
    { decide: routeDecision('eth0'), at: 'pod/default/p1-1' },
    { observe: 'pod/default/p1-1|eth0', dir: 'out' },
    { observe: 'node/node-1|veth00', dir: 'in' },
    {
      decide: {
        kind: 'fdb',
        bridge: 'cni0',
        mac: 'x',
        result: 'local',
        port: null,
        entry: null,
        learned: false,
      },
      at: 'node/node-1',
    },
    { decide: routeDecision('flannel.1'), at: 'node/node-1' },
    { observe: 'node/node-1|eth0', dir: 'out' },
    { observe: 'node/node-2|eth0', dir: 'in' },
    { verdict: 'delivered', at: 'node/node-2' },
  ]);
  const anchors = anchorsFor(events, l);

  it('anchors observes on their device, decisions on the device they name or where the packet is', () => {
    expect(anchors[0]!.point).toEqual(l.namespaces.get('pod/default/p1-1')!.stack);
    expect(anchors[1]!.point).toEqual(anchors[0]!.point); // a route decision stays where the packet is
    expect(anchors[2]!.device).toBe('pod/default/p1-1|eth0');
    expect(anchors[4]!.device).toBe('node/node-1|cni0'); // fdb names the bridge
    // A bridge is met where the port the packet came from joins it.
    expect(anchors[4]!.point.x).toBe(l.devices.get('node/node-1|veth00')!.center.x);
    // A route lookup happens at the node's routing table.
    expect(anchors[5]!.device).toBeNull();
    expect(anchors[5]!.point).toEqual(l.stages.get('node/node-1|#routes')!.center);
    expect(anchors[8]!.device).toBe('node/node-2|eth0'); // verdict: stays
  });

  it('routes NIC-to-NIC hops along the bus, veth hops along their line, everything else straight', () => {
    const bus = l.buses.get('node-network')!;
    const wire = hopPath(l, anchors[6]!, anchors[7]!);
    expect(wire).toHaveLength(4);
    expect(wire[1]!.y).toBe(bus.y);
    expect(wire[2]!.y).toBe(bus.y);
    expect(hopPath(l, anchors[2]!, anchors[3]!)).toHaveLength(2);
    expect(hopPath(l, anchors[0]!, anchors[1]!)).toHaveLength(1);
    expect(hopPath(l, anchors[4]!, anchors[5]!)).toHaveLength(2);
  });

  it('interpolates along a polyline by length', () => {
    const pts = [
      { x: 0, y: 0 },
      { x: 10, y: 0 },
      { x: 10, y: 30 },
    ];
    expect(pathLength(pts)).toBe(40);
    expect(pointAlong(pts, 0)).toEqual({ x: 0, y: 0 });
    expect(pointAlong(pts, 0.25)).toEqual({ x: 10, y: 0 });
    expect(pointAlong(pts, 0.5)).toEqual({ x: 10, y: 10 });
    expect(pointAlong(pts, 2)).toEqual({ x: 10, y: 30 });
    expect(pointAlong([], 0.5)).toEqual({ x: 0, y: 0 });
  });

  it('places the packet between events by progress', () => {
    expect(packetAt(anchors, l, 3)).toEqual(anchors[3]!.point);
    expect(packetAt(anchors, l, 3, 0)).toEqual(anchors[2]!.point);
    const mid = packetAt(anchors, l, 3, 0.5)!;
    expect(mid.y).toBeCloseTo((anchors[2]!.point.y + anchors[3]!.point.y) / 2);
    expect(packetAt(anchors, l, 99)).toBeNull();
  });

  it('collects the leg path up to the cursor', () => {
    const path = legPathTo(events, anchors, l, 7);
    expect(path[0]).toEqual(anchors[0]!.point);
    expect(path.at(-1)).toEqual(anchors[7]!.point);
    expect(path.length).toBeGreaterThanOrEqual(6);
    expect(legPathTo(events, anchors, l, 42)).toEqual([]);
  });
});

describe('large clusters', () => {
  const inside = (p: { x: number; y: number }, r: Rect): boolean =>
    p.x > r.x + 0.5 && p.x < r.x + r.width - 0.5 && p.y > r.y + 0.5 && p.y < r.y + r.height - 0.5;

  it('joins the bands of a many-node cluster with one trunk, and a hop between bands follows it', () => {
    const l = layoutWorld(fixtureWorld(Array(23).fill(1)));
    const bus = l.buses.get('node-network')!;
    expect(bus.branches).toHaveLength(3);
    expect(bus.trunkX).not.toBeNull();
    // Ten nodes per band: node-1 hangs off the first stretch, node-21 off the third.
    expect(l.wireY.get('node/node-1|eth0')).toBe(bus.branches[0]!.y);
    expect(l.wireY.get('node/node-21|eth0')).toBe(bus.branches[2]!.y);
    const a = {
      point: l.devices.get('node/node-1|eth0')!.center,
      netns: 'node/node-1',
      device: 'node/node-1|eth0',
    };
    const b = {
      point: l.devices.get('node/node-21|eth0')!.center,
      netns: 'node/node-21',
      device: 'node/node-21|eth0',
    };
    const path = hopPath(l, a, b);
    expect(path.some((p) => p.x === bus.trunkX)).toBe(true);
    // Readable width: a 23-node cluster is not 23 nodes wide.
    expect(l.width).toBeLessThan(layoutWorld(fixtureWorld(Array(6).fill(1))).width * 1.5);
  });

  it('puts a many-pod node in a grid whose veth lines run between the columns, through no other pod', () => {
    const l = layoutWorld(fixtureWorld([20]));
    const pods = [...l.namespaces.values()].filter((n) => n.kind === 'pod');
    expect(new Set(pods.map((p) => p.y)).size).toBe(3); // 8 + 8 + 4
    for (const link of l.links.filter((k) => k.kind === 'veth')) {
      const own = link.key.match(/pod\/default\/[^|]+/)![0];
      for (let i = 1; i < link.points.length; i++) {
        const a = link.points[i - 1]!;
        const b = link.points[i]!;
        for (let t = 0; t <= 1; t += 0.02) {
          const p = { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
          for (const pod of pods)
            if (pod.id !== own) expect(inside(p, pod), `${link.key} in ${pod.id}`).toBe(false);
        }
      }
    }
  });

  it('collapses uninvolved nodes when asked (by default above a size), keeping every device of the walk', () => {
    const view = fixtureWorld(Array(20).fill(50));
    expect(collapseByDefault(view)).toBe(true);
    expect(collapseByDefault(fixtureWorld([2, 1, 1]))).toBe(false);
    const events = trace([
      { leg: 'request', at: 'pod/default/p1-1' },
      { observe: 'pod/default/p1-1|eth0' },
      { observe: 'node/node-1|veth00', dir: 'in' },
      { observe: 'node/node-1|eth0' },
      { observe: 'node/node-17|eth0', dir: 'in' },
      { observe: 'node/node-17|veth1649' },
      { observe: 'pod/default/p17-50|eth0', dir: 'in' },
      { verdict: 'delivered', at: 'pod/default/p17-50' },
    ]);
    const involved = involvedNodes(view, events);
    expect([...involved].sort()).toEqual(['node/node-1', 'node/node-17']);
    const collapsed = collapsedNodes(view, involved, true);
    expect(collapsed.size).toBe(18);
    const small = layoutWorld(view, { collapsed });
    const full = layoutWorld(view);
    expect(small.devices.size).toBeLessThan(full.devices.size / 5);
    expect(small.namespaces.get('node/node-5')!.collapsed).toBe(true);
    expect(small.namespaces.has('pod/default/p5-1')).toBe(false);
    // Every device the walk is observed on is drawn, and its hops have a path.
    const anchors = anchorsFor(events, small);
    for (const e of events)
      if (e.type === 'observe')
        expect(small.devices.has(deviceKey(e.at.netns, e.device)), e.device).toBe(true);
    for (let i = 1; i < anchors.length; i++)
      for (const p of hopPath(small, anchors[i - 1]!, anchors[i]!))
        expect(Number.isFinite(p.x + p.y)).toBe(true);
    expect(overlaps([...small.namespaces.values()].map((b) => ({ ...b, key: b.id })))).toEqual([]);
    expect(overlaps([...small.devices.values(), ...small.stages.values()])).toEqual([]);
  });

  it('keeps positions when the walk changes: the layout depends on the world and the collapsed set only', () => {
    const view = fixtureWorld(Array(20).fill(50));
    const walkA = trace([
      { leg: 'request', at: 'pod/default/p1-1' },
      { observe: 'node/node-3|eth0' },
      { verdict: 'delivered', at: 'node/node-3' },
    ]);
    const walkB = trace([
      { leg: 'request', at: 'pod/default/p1-7' },
      { observe: 'node/node-3|eth0' },
      { verdict: 'dropped', at: 'node/node-3' },
    ]);
    // Collapse off: one layout for every walk.
    const off = (events: typeof walkA) =>
      layoutWorldCached(view, { collapsed: collapsedNodes(view, involvedNodes(view, events), false) });
    expect(off(walkA)).toBe(off(walkB));
    // Collapse on: two walks through the same nodes share the layout, so nothing moves between them.
    const on = (events: typeof walkA) =>
      layoutWorldCached(view, { collapsed: collapsedNodes(view, involvedNodes(view, events), true) });
    expect(on(walkA)).toBe(on(walkB));
    // And the involved nodes keep their place relative to each other and to the bus.
    expect(on(walkA).namespaces.get('node/node-1')!.x).toBeLessThan(
      on(walkA).namespaces.get('node/node-3')!.x,
    );
  });
});

describe('placeCard: a NAT card beside the packet, clear of the labels', () => {
  const layout = layoutWorld(fixtureWorld([2, 2, 2]));
  const labels = labelBoxes(layout);
  const covers = (card: Rect) => labels.filter((r) => overlap(card, r));

  it("knows where the words are: every device and stage box, and the namespaces' titles", () => {
    expect(labels.length).toBeGreaterThanOrEqual(
      layout.devices.size + layout.stages.size + layout.namespaces.size,
    );
    expect(labelBoxes(layout)).toBe(labels);
  });

  it.each([...layout.stages.values()].filter((s) => s.kind === 'netfilter'))(
    'at $key: the card hides no label, nor the packet and its caption',
    (stage) => {
      const at = stage.center;
      const envelope: Rect = { x: at.x - 17, y: at.y - 11, width: 34, height: 22 };
      const caption: Rect = { x: at.x + 20, y: at.y - 8, width: 100, height: 16 };
      // As wide as "DNAT dst 10.96.106.22:3306 → 10.244.2.2:3306" in 12px mono.
      const card = placeCard(layout, at, 330, 22, [envelope, caption]);
      expect(covers(card).map((r) => ('key' in r ? r.key : `${r.x},${r.y}`))).toEqual([]);
      expect(overlap(card, envelope) || overlap(card, caption)).toBe(false);
      // Where it used to go (just above, running right) it hid a device's name.
      expect(covers({ x: at.x - 22, y: at.y - 50, width: 330, height: 22 }).length).toBeGreaterThan(0);
      // Beside the packet: within a few card heights of it.
      expect(Math.abs(card.y + card.height / 2 - at.y)).toBeLessThan(150);
    },
  );

  it('in an empty spot it goes just above the packet, running right', () => {
    const at = { x: layout.width / 2, y: layout.height + 200 };
    const card = placeCard({ ...layout, height: layout.height + 400 }, at, 200, 22, []);
    expect(card).toEqual({ x: at.x - 22, y: at.y - 14 - 22, width: 200, height: 22 });
  });
});
