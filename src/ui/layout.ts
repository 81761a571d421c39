// Layout kernels (tldraw's kernels/): pure functions from the world view and the trace to geometry.
// Pure: they take a WorldView, the set of collapsed nodes and events and return positions; they must not
// read the store, the machine or the DOM, so they are unit-tested in Node and memoised by input identity.
//
// The picture, as a person draws it on a whiteboard. Nodes come in bands of up to 2 × ROW_NODES: a row above
// its band's stretch of the node network (a bus) and a row mirrored below it; every band's stretch hangs off
// one trunk on the left, so the node network stays one wire however many nodes there are.
//
//    ┌pod──────┐ ┌pod──────┐                 pods in a grid of up to POD_COLS columns; a pod further out
//    └──[eth0]─┘ └──[eth0]─┘                 reaches its veth along the gap between columns
//         │           │                      veth pairs
//   ┌────[vethA]──────[vethB]───────────┐
//   │[netfilter][        cni0        ]  │   node-1   the netfilter (kube-proxy) stage and the routing table
//   │[ routes ]                 [flannel.1]         sit in the first column; the bridge across the pods
//   └───────────────────────────[eth0]──┘
//  ╥══════════════════════════════╪══════════ node network       ┌host─┐ hang below band 0's stretch
//  ║                                                             [gateway] ─ eth1 ─ internet bus ─ hosts
//  ╚══ the next band's stretch …
//
// A collapsed node (uninvolved in the walk, in a large cluster) is a small box with its NIC and a pod count.
import type { DeviceView, NetnsView, WorldView } from '../engine/view.ts';
import type { TraceEvent } from '../engine/trace.ts';

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface DeviceBox extends Rect {
  /** `<netns>|<device>`, also the data-device attribute of its element. */
  readonly key: string;
  readonly netns: string;
  readonly name: string;
  readonly kind: DeviceView['kind'];
  /** Center: where the packet sits when it is observed on this device. */
  readonly center: Point;
}

/** A part of a namespace's stack drawn as a box: the routing table, or netfilter (where kube-proxy's rules
 *  and conntrack act). Not a device: nothing is observed on it, decisions happen there. */
export interface StageBox extends Rect {
  /** `<netns>|#routes` or `<netns>|#netfilter` */
  readonly key: string;
  readonly netns: string;
  readonly kind: 'routes' | 'netfilter';
  readonly center: Point;
}

export interface NetnsBox extends Rect {
  readonly id: string;
  readonly kind: NetnsView['kind'];
  readonly title: string;
  /** A second line: addresses (and, for a collapsed node, how many pods it hides). */
  readonly subtitle: string;
  /** Centers of the title and subtitle lines (text is drawn middle-anchored). */
  readonly titleAt: Point;
  readonly subtitleAt: Point;
  /** Where the packet waits while this namespace's stack decides (no device involved). */
  readonly stack: Point;
  /** A node drawn small, without its pods. */
  readonly collapsed: boolean;
}

export interface LinkLine {
  readonly key: string;
  /** veth: a veth pair; wire: a NIC to its segment's bus; port: a bridge port to its bridge; underlay: a
   *  VXLAN device to the NIC its packets leave by. */
  readonly kind: 'veth' | 'wire' | 'port' | 'underlay';
  readonly points: readonly Point[];
}

/** One horizontal stretch of a bus. */
export interface BusBranch {
  readonly y: number;
  readonly x1: number;
  readonly x2: number;
}

export interface BusLine {
  readonly id: string;
  readonly label: string;
  /** The first stretch (band 0's for the node network). */
  readonly y: number;
  readonly x1: number;
  readonly x2: number;
  /** Every stretch, the first included; more than one only for the node network of a banded cluster. */
  readonly branches: readonly BusBranch[];
  /** The vertical trunk joining the stretches at this x, or null when there is one stretch. */
  readonly trunkX: number | null;
}

export interface WorldLayout {
  readonly width: number;
  readonly height: number;
  readonly namespaces: ReadonlyMap<string, NetnsBox>;
  readonly devices: ReadonlyMap<string, DeviceBox>;
  readonly stages: ReadonlyMap<string, StageBox>;
  readonly links: readonly LinkLine[];
  readonly buses: ReadonlyMap<string, BusLine>;
  /** Device key → the bus its wire joins. */
  readonly wiredTo: ReadonlyMap<string, string>;
  /** Device key → the y of the bus stretch its wire joins. */
  readonly wireY: ReadonlyMap<string, number>;
  /** The points of a veth pair's line, keyed by both ends (`a~b`, sorted), from the first key's end. */
  readonly vethPaths: ReadonlyMap<string, readonly Point[]>;
}

export interface LayoutOptions {
  /** Node namespace ids drawn collapsed. */
  readonly collapsed?: ReadonlySet<string>;
}

// Sizes in user units; the canvas scales the whole picture to the available space.
export const DEV_W = 88; // fits "vethXXXXXXXX" at the 11-unit monospace the canvas uses
export const DEV_H = 22;
const POD_W = 120;
const POD_H = 84;
const COL = 132; // one pod per column; the first column holds the stages, the last the VXLAN device, NIC, title
const VETH_GAP = 50; // length of a veth pair's line between a pod and its node
const POD_ROW_GAP = 44; // between two rows of pods: room for a device on the edge and the line to the gap
const VETH_ROW = 28; // a pod further out has its veth this much deeper in the node
const NODE_H = 150;
const NODE_GAP = 36;
const COLLAPSED_W = 190; // the title, "192.168.1.11 · 30 pods" and the NIC
const BUS_GAP = 40; // from a node's NIC to the bus
const BAND_GAP = 60; // between one band's lower row and the next band's upper row
const HOST_W = 168; // two addresses (a gateway's) fit on the subtitle line
const HOST_H = 90;
const HOST_GAP = 32;
const MARGIN = 32;
/** Nodes per row: five 3-column nodes are about 2,100 units wide, which still reads at the usual zoom of a
 *  laptop screen; a band is a row above its bus stretch and a row below. */
export const ROW_NODES = 5;
/** Pods per row of a node: 8 columns keep a 100-pod node about as wide as a 7-pod one was tall. */
export const POD_COLS = 8;
/** Above this many pods, uninvolved nodes start collapsed (the canvas's toggle can expand them). */
export const COLLAPSE_ABOVE_PODS = 60;

export const deviceKey = (netns: string, device: string): string => `${netns}|${device}`;
const pairKey = (a: string, b: string): string => [a, b].sort().join('~');

const isVisible = (d: DeviceView): boolean => d.kind !== 'loopback';

/** The pods whose node is in the cluster, by their node's namespace id. */
function podsByNode(view: WorldView): Map<string, NetnsView[]> {
  const nodeIdByName = new Map(
    view.namespaces.filter((n) => n.kind === 'node').map((n) => [n.node ?? n.label, n.id]),
  );
  const out = new Map<string, NetnsView[]>();
  for (const n of view.namespaces) {
    const nodeId = n.kind === 'pod' && n.node !== null ? nodeIdByName.get(n.node) : undefined;
    if (nodeId === undefined) continue;
    const list = out.get(nodeId);
    if (list) list.push(n);
    else out.set(nodeId, [n]);
  }
  return out;
}

/** The nodes a trace touches (its events' `at.node`, and the node of every pod it touches). */
export function involvedNodes(view: WorldView, events: readonly TraceEvent[]): Set<string> {
  const nodeIdByName = new Map(
    view.namespaces.filter((n) => n.kind === 'node').map((n) => [n.node ?? n.label, n.id]),
  );
  const out = new Set<string>();
  for (const e of events) {
    const at = e.type === 'verdict' ? e.verdict.at : e.at;
    const id = at.node === null ? undefined : nodeIdByName.get(at.node);
    if (id !== undefined) out.add(id);
  }
  return out;
}

/** Which nodes to collapse: none when `collapse` is off; else every node the walk does not touch. */
export function collapsedNodes(
  view: WorldView,
  involved: ReadonlySet<string>,
  collapse: boolean,
): ReadonlySet<string> {
  if (!collapse) return new Set();
  return new Set(view.namespaces.filter((n) => n.kind === 'node' && !involved.has(n.id)).map((n) => n.id));
}

/** Whether a world is large enough that uninvolved nodes start collapsed. */
export const collapseByDefault = (view: WorldView): boolean =>
  view.namespaces.filter((n) => n.kind === 'pod').length > COLLAPSE_ABOVE_PODS;

/** Lays the world out. Pure; same view and options in, equal layout out (see `layoutWorldCached`). */
export function layoutWorld(view: WorldView, opts: LayoutOptions = {}): WorldLayout {
  const collapsed = opts.collapsed ?? new Set<string>();
  const namespaces = new Map<string, NetnsBox>();
  const devices = new Map<string, DeviceBox>();
  const stages = new Map<string, StageBox>();
  const links: LinkLine[] = [];
  const buses = new Map<string, BusLine>();
  const wiredTo = new Map<string, string>();
  const wireY = new Map<string, number>();
  const vethPaths = new Map<string, readonly Point[]>();
  /** Veth pair key → the bend points between the pod's end and the node's (pods beyond the first row). */
  const vethBends = new Map<string, { from: string; points: Point[] }>();

  const nodes = view.namespaces.filter((n) => n.kind === 'node');
  const podsOf = podsByNode(view);
  const onNodes = new Set([...podsOf.values()].flat().map((p) => p.id));
  // Hosts, and pods whose node is not in the cluster (drawn as hosts).
  const hosts = view.namespaces.filter((n) => n.kind === 'host' || (n.kind === 'pod' && !onNodes.has(n.id)));

  // The main bus: the segment most nodes are wired to (the node network).
  const segmentUse = new Map<string, number>();
  for (const n of nodes)
    for (const d of n.devices) if (d.segment) segmentUse.set(d.segment, (segmentUse.get(d.segment) ?? 0) + 1);
  const mainSegment =
    [...segmentUse.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? view.segments[0]?.id ?? 'node-network';

  const addDevice = (ns: NetnsView, d: DeviceView, center: Point, width = DEV_W): DeviceBox => {
    const box: DeviceBox = {
      key: deviceKey(ns.id, d.name),
      netns: ns.id,
      name: d.name,
      kind: d.kind,
      x: center.x - width / 2,
      y: center.y - DEV_H / 2,
      width,
      height: DEV_H,
      center,
    };
    devices.set(box.key, box);
    return box;
  };
  const addStage = (netns: string, kind: StageBox['kind'], center: Point): void => {
    const key = `${netns}|#${kind}`;
    stages.set(key, {
      key,
      netns,
      kind,
      x: center.x - DEV_W / 2,
      y: center.y - DEV_H / 2,
      width: DEV_W,
      height: DEV_H,
      center,
    });
  };

  const podGrid = (n: number): { cols: number; rows: number } => {
    const cols = Math.max(1, Math.min(n, POD_COLS));
    return { cols, rows: n === 0 ? 0 : Math.ceil(n / cols) };
  };
  /** How far a node's box and its pods reach from the bus. */
  const reachOf = (node: NetnsView): number => {
    if (collapsed.has(node.id)) return BUS_GAP + NODE_H;
    const { rows } = podGrid(podsOf.get(node.id)?.length ?? 0);
    const nodeH = NODE_H + Math.max(rows - 1, 0) * VETH_ROW;
    return BUS_GAP + nodeH + (rows > 0 ? VETH_GAP + rows * POD_H + (rows - 1) * POD_ROW_GAP : 0);
  };

  function layoutNode(node: NetnsView, left: number, busY: number, row: 1 | -1): number {
    // `d` is the distance from the bus, positive toward the node's pods; y = busY - row * d.
    const y = (d: number): number => busY - row * d;
    const pods = podsOf.get(node.id) ?? [];
    const nicD = BUS_GAP;
    const visible = node.devices.filter(isVisible);
    const nics = visible.filter((d) => d.kind === 'physical');
    const addresses = addressesOf(node, (d) => d.kind === 'physical').join(' ');

    if (collapsed.has(node.id)) {
      const topD = BUS_GAP + NODE_H;
      const cx = left + COLLAPSED_W / 2;
      namespaces.set(node.id, {
        id: node.id,
        kind: 'node',
        title: node.label,
        subtitle: `${addresses} · ${pods.length} pod${pods.length === 1 ? '' : 's'}`,
        ...rectBetween(left, y(nicD), left + COLLAPSED_W, y(topD)),
        titleAt: { x: cx, y: y(topD - 50) },
        subtitleAt: { x: cx, y: y(topD - 50) + 15 },
        stack: { x: cx, y: y(BUS_GAP + 55) },
        collapsed: true,
      });
      nics.slice(0, 1).forEach((d) => addDevice(node, d, { x: cx, y: y(nicD) }));
      return left + COLLAPSED_W;
    }

    const { cols: podCols, rows: podRows } = podGrid(pods.length);
    const cols = podCols + 2; // the stage column, pod columns, then the NIC/VXLAN/title column
    const width = cols * COL;
    const nodeH = NODE_H + Math.max(podRows - 1, 0) * VETH_ROW;
    const topD = BUS_GAP + nodeH; // the edge facing the pods
    const lastColX = left + width - COL / 2;
    const stageX = left + COL / 2;
    const colX = (c: number): number => left + COL + COL / 2 + c * COL;
    namespaces.set(node.id, {
      id: node.id,
      kind: 'node',
      title: node.label,
      subtitle: addresses,
      ...rectBetween(left, y(nicD), left + width, y(topD)),
      titleAt: { x: lastColX, y: y(topD - 28) },
      subtitleAt: { x: lastColX, y: y(topD - 28) + 15 },
      stack: { x: left + width / 2, y: y(BUS_GAP + 40) },
      collapsed: false,
    });
    const bridgeD = topD - 56 - Math.max(podRows - 1, 0) * VETH_ROW;
    addStage(node.id, 'netfilter', { x: stageX, y: y(bridgeD) });
    addStage(node.id, 'routes', { x: stageX, y: y(nicD + 56) });

    const podAt = new Map(pods.map((p, i) => [p.id, { c: i % podCols, r: Math.floor(i / podCols) }]));
    const placed = new Set<string>();
    // veths whose peer is one of the pods: under their pod's column, one step deeper per pod row.
    for (const d of visible) {
      const at = d.kind === 'veth' && d.peer ? podAt.get(d.peer.netns) : undefined;
      if (!at || !d.peer) continue;
      const vethD = topD - at.r * VETH_ROW;
      const box = addDevice(node, d, { x: colX(at.c), y: y(vethD) });
      placed.add(d.name);
      if (at.r > 0) {
        // From the pod's eth0 into the gap between its row and the one nearer the node, along the gap between
        // columns to the veth's depth, and across to it.
        const near = topD + VETH_GAP + at.r * (POD_H + POD_ROW_GAP);
        const gapX = colX(at.c) + COL / 2;
        const bendD = near - POD_ROW_GAP / 2 - 8;
        vethBends.set(pairKey(box.key, deviceKey(d.peer.netns, d.peer.device)), {
          from: deviceKey(d.peer.netns, d.peer.device),
          points: [
            { x: colX(at.c), y: y(bendD) },
            { x: gapX, y: y(bendD) },
            { x: gapX, y: y(vethD) },
          ],
        });
      }
    }
    // Bridges across the pod columns; the first physical NIC on the bus edge in the last column; VXLAN
    // devices above it; anything else in the middle band.
    const bridges = visible.filter((d) => d.kind === 'bridge');
    const podSpan = podCols * COL - (COL - DEV_W);
    bridges.forEach((d, i) => {
      addDevice(node, d, { x: colX(0) - DEV_W / 2 + podSpan / 2, y: y(bridgeD - i * 34) }, podSpan);
      placed.add(d.name);
    });
    nics.forEach((d, i) => {
      addDevice(node, d, { x: lastColX - i * COL, y: y(nicD) });
      placed.add(d.name);
    });
    const rest = visible.filter((d) => !placed.has(d.name));
    rest.forEach((d, i) => {
      addDevice(node, d, { x: lastColX - Math.floor(i / 2) * COL, y: y(nicD + 56 + (i % 2) * 34) });
    });

    // Pods in their grid beyond the node's edge, each with its devices on the edge facing the node.
    pods.forEach((pod) => {
      const { c, r } = podAt.get(pod.id) ?? { c: 0, r: 0 };
      const cx = colX(c);
      const near = topD + VETH_GAP + r * (POD_H + POD_ROW_GAP); // the pod's edge facing the node
      const far = near + POD_H;
      const pbox = rectBetween(cx - POD_W / 2, y(near), cx + POD_W / 2, y(far));
      namespaces.set(pod.id, {
        id: pod.id,
        kind: 'pod',
        title: pod.label,
        subtitle: addressesOf(pod, (d) => d.kind !== 'loopback').join(' '),
        ...pbox,
        collapsed: false,
        // Title at the far edge's side, away from the device on the near edge; the packet waits between.
        ...(row === 1
          ? {
              titleAt: { x: cx, y: pbox.y + 18 },
              subtitleAt: { x: cx, y: pbox.y + 33 },
              stack: { x: cx, y: pbox.y + 56 },
            }
          : {
              titleAt: { x: cx, y: pbox.y + POD_H - 33 },
              subtitleAt: { x: cx, y: pbox.y + POD_H - 18 },
              stack: { x: cx, y: pbox.y + 28 },
            }),
      });
      pod.devices.filter(isVisible).forEach((d, j) => {
        addDevice(pod, d, { x: cx + j * (DEV_W + 8), y: y(near) });
      });
    });
    return left + width;
  }

  /** One band: a row above `busY` and a row mirrored below; returns the band's right edge. */
  const layoutBand = (upper: readonly NetnsView[], lower: readonly NetnsView[], busY: number): number => {
    let right = MARGIN;
    for (const [row, members] of [
      [1, upper],
      [-1, lower],
    ] as const) {
      let x = MARGIN;
      for (const node of members) {
        x = layoutNode(node, x, busY, row) + NODE_GAP;
        right = Math.max(right, x - NODE_GAP);
      }
    }
    return right;
  };
  const bands: { upper: NetnsView[]; lower: NetnsView[] }[] = [];
  for (let i = 0; i < nodes.length; i += 2 * ROW_NODES)
    bands.push({
      upper: nodes.slice(i, i + ROW_NODES),
      lower: nodes.slice(i + ROW_NODES, i + 2 * ROW_NODES),
    });
  if (bands.length === 0) bands.push({ upper: [], lower: [] });
  const maxReach = (ns: readonly NetnsView[]): number => Math.max(0, ...ns.map(reachOf));
  const branches: BusBranch[] = [];

  // Band 0, then the hosts below its stretch of the bus, then the other bands below everything.
  const band0 = bands[0]!;
  const busY = MARGIN + Math.max(maxReach(band0.upper), BUS_GAP + NODE_H);
  let right = layoutBand(band0.upper, band0.lower, busY);
  const band0Right = right;
  const band0Bottom = busY + maxReach(band0.lower);

  // Hosts hang below the main bus: under the nodes when no node row is down there, else to their right. A
  // host on two segments (a gateway) carries the second segment's bus below it, with that segment's other
  // hosts hanging from it.
  const segmentsOf = (ns: NetnsView): string[] => ns.devices.flatMap((d) => (d.segment ? [d.segment] : []));
  const onMain = hosts.filter((h) => segmentsOf(h).includes(mainSegment) || segmentsOf(h).length === 0);
  const routers = onMain.filter((h) => segmentsOf(h).length > 1);
  const leaves = onMain.filter((h) => segmentsOf(h).length <= 1);
  let hx = band0.lower.length > 0 ? band0Right + HOST_GAP + HOST_W / 2 + 20 : MARGIN + HOST_W / 2;
  let bottom = band0Bottom;
  const hostTop = busY + BUS_GAP;
  const laidOut = new Set<string>();

  const layoutHost = (h: NetnsView, cx: number, top: number, upSegment: string): number => {
    const visible = h.devices.filter(isVisible);
    const boxBottom = top + HOST_H;
    namespaces.set(h.id, {
      id: h.id,
      kind: h.kind,
      title: h.label,
      subtitle: addressesOf(h, (d) => d.kind !== 'loopback').join(' '),
      ...rectBetween(cx - HOST_W / 2, top, cx + HOST_W / 2, boxBottom),
      titleAt: { x: cx, y: top + 30 },
      subtitleAt: { x: cx, y: top + 45 },
      stack: { x: cx, y: top + 64 },
      collapsed: false,
    });
    laidOut.add(h.id);
    const up = visible.filter((d) => d.segment === upSegment || d.segment === null);
    const down = visible.filter((d) => d.segment !== null && d.segment !== upSegment);
    up.forEach((d, i) => addDevice(h, d, { x: cx + (i - (up.length - 1) / 2) * (DEV_W + 6), y: top }));
    down.forEach((d, i) =>
      addDevice(h, d, { x: cx + (i - (down.length - 1) / 2) * (DEV_W + 6), y: boxBottom }),
    );
    return boxBottom;
  };
  const oneBranch = (id: string, y: number, x1: number, x2: number): BusLine => ({
    id,
    label: segmentLabel(view, id),
    y,
    x1,
    x2,
    branches: [{ y, x1, x2 }],
    trunkX: null,
  });

  for (const h of leaves) {
    bottom = Math.max(bottom, layoutHost(h, hx, hostTop, mainSegment));
    hx += HOST_W + HOST_GAP;
  }
  let mainRight = hx - HOST_W / 2;
  for (const r of routers) {
    const rBottom = layoutHost(r, hx, hostTop, mainSegment);
    bottom = Math.max(bottom, rBottom);
    mainRight = hx + HOST_W / 2;
    // Its other segments: a bus each, below the router, hosts hanging from it to the right.
    for (const seg of new Set(segmentsOf(r).filter((s) => s !== mainSegment))) {
      if (buses.has(seg)) continue;
      const segY = rBottom + BUS_GAP;
      const members = hosts.filter((h) => !laidOut.has(h.id) && segmentsOf(h).includes(seg));
      let sx = hx;
      for (const m of members) {
        sx += HOST_W + HOST_GAP;
        bottom = Math.max(bottom, layoutHost(m, sx, segY + BUS_GAP, seg));
      }
      buses.set(seg, oneBranch(seg, segY, hx - HOST_W / 2 - 20, sx + HOST_W / 2 + 20));
      right = Math.max(right, sx + HOST_W / 2 + 20);
    }
    hx += HOST_W + HOST_GAP;
  }
  // Anything left (a segment no router reaches): a row of its own below.
  const stray = hosts.filter((h) => !laidOut.has(h.id));
  if (stray.length > 0) {
    const top = bottom + BUS_GAP * 2;
    let sx = MARGIN + HOST_W / 2;
    for (const h of stray) {
      const seg = segmentsOf(h)[0] ?? mainSegment;
      if (!buses.has(seg) && seg !== mainSegment)
        buses.set(seg, oneBranch(seg, top - BUS_GAP, MARGIN, MARGIN));
      bottom = Math.max(bottom, layoutHost(h, sx, top, seg));
      const bus = buses.get(seg);
      if (bus && bus.id !== mainSegment) {
        const x2 = Math.max(bus.x2, sx + HOST_W / 2 + 20);
        buses.set(seg, { ...bus, x2, branches: [{ y: bus.y, x1: bus.x1, x2 }] });
      }
      sx += HOST_W + HOST_GAP;
    }
    right = Math.max(right, sx);
  }
  right = Math.max(right, mainRight);
  branches.push({ y: busY, x1: MARGIN / 2, x2: right + 20 });

  // The other bands, each below the last.
  for (const band of bands.slice(1)) {
    const bandBus = bottom + BAND_GAP + maxReach(band.upper);
    const bandRight = layoutBand(band.upper, band.lower, bandBus);
    branches.push({ y: bandBus, x1: MARGIN / 2, x2: bandRight + 20 });
    right = Math.max(right, bandRight);
    bottom = bandBus + maxReach(band.lower);
  }
  const first = branches[0]!;
  buses.set(mainSegment, {
    id: mainSegment,
    label: segmentLabel(view, mainSegment),
    y: first.y,
    x1: first.x1,
    x2: first.x2,
    branches,
    trunkX: branches.length > 1 ? MARGIN / 2 : null,
  });

  // Links: veth pairs (once per pair), wires to buses, bridge ports, VXLAN underlays.
  const branchNear = (bus: BusLine, p: Point): number => {
    let best = bus.y;
    for (const b of bus.branches) if (Math.abs(b.y - p.y) < Math.abs(best - p.y)) best = b.y;
    return best;
  };
  for (const ns of view.namespaces) {
    for (const d of ns.devices) {
      const key = deviceKey(ns.id, d.name);
      const box = devices.get(key);
      if (!box) continue;
      if (d.kind === 'veth' && d.peer) {
        const peerKey = deviceKey(d.peer.netns, d.peer.device);
        const peer = devices.get(peerKey);
        const pk = pairKey(key, peerKey);
        if (peer && !vethPaths.has(pk)) {
          const bend = vethBends.get(pk);
          // From the pair's first key's end (sorted), through the bends in the right order.
          const [aKey] = pk.split('~') as [string];
          const a = aKey === key ? box : peer;
          const b = aKey === key ? peer : box;
          const mid = bend ? (bend.from === a.key ? bend.points : [...bend.points].reverse()) : [];
          const points = [a.center, ...mid, b.center];
          vethPaths.set(pk, points);
          links.push({ key: `veth:${pk}`, kind: 'veth', points });
        }
      }
      if (d.segment) {
        const bus = buses.get(d.segment);
        if (bus) {
          const by = branchNear(bus, box.center);
          wiredTo.set(key, bus.id);
          wireY.set(key, by);
          links.push({ key: `wire:${key}`, kind: 'wire', points: [box.center, { x: box.center.x, y: by }] });
        }
      }
      if (d.master) {
        const bridge = devices.get(deviceKey(ns.id, d.master));
        if (bridge)
          links.push({
            key: `port:${key}`,
            kind: 'port',
            points: [box.center, onBridge(bridge, box.center.x)],
          });
      }
      if (d.kind === 'vxlan') {
        const nic = ns.devices.find((o) => o.kind === 'physical');
        const nicBox = nic ? devices.get(deviceKey(ns.id, nic.name)) : undefined;
        if (nicBox)
          links.push({ key: `underlay:${key}`, kind: 'underlay', points: [box.center, nicBox.center] });
      }
    }
  }

  // Bounds: everything laid out, plus the margin.
  let minY = Infinity;
  let maxY = -Infinity;
  let maxX = 0;
  for (const r of [...namespaces.values(), ...devices.values()]) {
    minY = Math.min(minY, r.y);
    maxY = Math.max(maxY, r.y + r.height);
    maxX = Math.max(maxX, r.x + r.width);
  }
  for (const b of buses.values()) for (const s of b.branches) maxX = Math.max(maxX, s.x2);
  if (!Number.isFinite(minY)) {
    minY = 0;
    maxY = busY;
  }
  // Shift so the top is at MARGIN (the upper row may be empty of pods).
  const dy = MARGIN - minY;
  return shift(
    {
      width: maxX + MARGIN,
      height: maxY - minY + 2 * MARGIN + 16,
      namespaces,
      devices,
      stages,
      links,
      buses,
      wiredTo,
      wireY,
      vethPaths,
    },
    dy,
  );
}

/** Where a port's line meets its bridge: straight across from the port, kept off the bridge's ends. */
export function onBridge(bridge: Rect & { readonly center: Point }, x: number): Point {
  return { x: clamp(x, bridge.x + 8, bridge.x + bridge.width - 8), y: bridge.center.y };
}

const cache = new WeakMap<WorldView, Map<string, WorldLayout>>();
/** `layoutWorld`, returning the same object for the same view and collapsed set (React and the canvas can
 *  skip redrawing). */
export function layoutWorldCached(view: WorldView, opts: LayoutOptions = {}): WorldLayout {
  const key = [...(opts.collapsed ?? [])].sort().join('\n');
  let byKey = cache.get(view);
  if (!byKey) {
    byKey = new Map();
    cache.set(view, byKey);
  }
  let got = byKey.get(key);
  if (!got) {
    got = layoutWorld(view, opts);
    byKey.set(key, got);
  }
  return got;
}

function shift(l: WorldLayout, dy: number): WorldLayout {
  if (dy === 0) return l;
  const p = (q: Point): Point => ({ x: q.x, y: q.y + dy });
  return {
    ...l,
    namespaces: new Map(
      [...l.namespaces].map(([k, n]) => [
        k,
        { ...n, y: n.y + dy, titleAt: p(n.titleAt), subtitleAt: p(n.subtitleAt), stack: p(n.stack) },
      ]),
    ),
    devices: new Map([...l.devices].map(([k, d]) => [k, { ...d, y: d.y + dy, center: p(d.center) }])),
    stages: new Map([...l.stages].map(([k, s]) => [k, { ...s, y: s.y + dy, center: p(s.center) }])),
    links: l.links.map((k) => ({ ...k, points: k.points.map(p) })),
    buses: new Map(
      [...l.buses].map(([k, b]) => [
        k,
        { ...b, y: b.y + dy, branches: b.branches.map((s) => ({ ...s, y: s.y + dy })) },
      ]),
    ),
    wireY: new Map([...l.wireY].map(([k, y]) => [k, y + dy])),
    vethPaths: new Map([...l.vethPaths].map(([k, pts]) => [k, pts.map(p)])),
  };
}

function rectBetween(x1: number, y1: number, x2: number, y2: number): Rect {
  return { x: Math.min(x1, x2), y: Math.min(y1, y2), width: Math.abs(x2 - x1), height: Math.abs(y2 - y1) };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/** Each chosen device's primary address: extra /32s (a cloud NAT's public addresses on the gateway, say)
 *  would not fit a box's subtitle; the device card lists them all. */
function addressesOf(ns: NetnsView, which: (d: DeviceView) => boolean): string[] {
  return ns.devices.filter(which).flatMap((d) => d.addrs.slice(0, 1).map((a) => a.split('/')[0] ?? a));
}

function segmentLabel(view: WorldView, id: string): string {
  const s = view.segments.find((g) => g.id === id);
  if (!s) return id;
  return s.label.includes(s.cidr) ? s.label : `${s.label} ${s.cidr}`.trim();
}

// ─── Cards beside the packet ──────────────────────────────────────────────────────────────────────────

/** Average advance per character of the picture's fonts (drawTopology.ts), generous: namespace titles
 *  (600 14px sans), subtitles (11px mono), bus labels (12px sans). */
const TITLE_EM = 8.4;
const SUBTITLE_EM = 6.7;
const BUS_LABEL_EM = 7;

const labelCache = new WeakMap<WorldLayout, readonly Rect[]>();

/** Where the picture's words are: the device and stage boxes (their names fill them), the namespaces' titles
 *  and subtitles, the buses' labels. Pure; cached per layout. */
export function labelBoxes(layout: WorldLayout): readonly Rect[] {
  const cached = labelCache.get(layout);
  if (cached) return cached;
  const out: Rect[] = [...layout.devices.values(), ...layout.stages.values()];
  const centred = (at: Point, chars: number, em: number, h: number, max: number): Rect => {
    const w = Math.min(chars * em, max);
    return { x: at.x - w / 2, y: at.y - h / 2, width: w, height: h };
  };
  for (const n of layout.namespaces.values()) {
    if (n.title) out.push(centred(n.titleAt, n.title.length, TITLE_EM, 16, n.width - 8));
    if (n.subtitle) out.push(centred(n.subtitleAt, n.subtitle.length, SUBTITLE_EM, 13, n.width - 8));
  }
  for (const b of layout.buses.values()) {
    const w = b.label.length * BUS_LABEL_EM;
    out.push({ x: b.x2 - 6 - w, y: b.y - 20, width: w, height: 15 });
  }
  labelCache.set(layout, out);
  return out;
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Space kept between a card and the packet's envelope (layout units). */
const CARD_GAP = 14;

/**
 * Where a card of `width` × `height` (a NAT rewrite's flash) goes beside the packet at `at`, so that it hides
 * as few of the picture's labels as it can: the spot, of a few around the packet — above, below, then
 * further out, each running right or left from it, and left of it — whose box covers the least area of
 * `labelBoxes`, of `keepClear` (the envelope and its caption; counted four times) and of what lies outside
 * the picture (twice); among equals, the nearest. Pure: reads only its arguments.
 */
export function placeCard(
  layout: WorldLayout,
  at: Point,
  width: number,
  height: number,
  keepClear: readonly Rect[],
): Rect {
  const top = Math.min(...keepClear.map((r) => r.y), at.y) - CARD_GAP - height;
  const bottom = Math.max(...keepClear.map((r) => r.y + r.height), at.y) + CARD_GAP;
  const right = at.x - 22;
  const left = at.x + 22 - width;
  const candidates: Rect[] = [];
  for (let k = 0; k < 4; k++) {
    const step = k * (height + 8);
    for (const y of [top - step, bottom + step])
      for (const x of [right, left]) candidates.push({ x, y, width, height });
    if (k === 0) candidates.push({ x: at.x - 30 - width, y: at.y - height / 2, width, height });
  }
  // Only the labels near the candidates can count.
  const reach: Rect = rectBetween(
    Math.min(...candidates.map((c) => c.x)),
    Math.min(...candidates.map((c) => c.y)),
    Math.max(...candidates.map((c) => c.x + c.width)),
    Math.max(...candidates.map((c) => c.y + c.height)),
  );
  const near = labelBoxes(layout).filter((r) => overlap(r, reach) > 0);
  const picture: Rect = { x: 0, y: 0, width: layout.width, height: layout.height };
  let best = candidates[0]!;
  let bestCost = Infinity;
  for (const c of candidates) {
    let cost = 2 * (c.width * c.height - overlap(c, picture));
    for (const r of keepClear) cost += 4 * overlap(c, r);
    for (const r of near) {
      if (cost >= bestCost) break;
      cost += overlap(c, r);
    }
    if (cost < bestCost) {
      best = c;
      bestCost = cost;
    }
  }
  return best;
}

// ─── The packet on the picture ────────────────────────────────────────────────────────────────────────

/** Where the packet is at one event. */
export interface Anchor {
  readonly point: Point;
  readonly netns: string;
  /** The device key when the event happens on a device. */
  readonly device: string | null;
}

/** The device a decision names, when it names one in the event's namespace. */
function decisionDevice(e: Extract<TraceEvent, { type: 'decide' }>): string | null {
  const d = e.decision;
  switch (d.kind) {
    case 'fdb':
      return d.bridge;
    case 'vxlan-fdb':
    case 'neigh':
    case 'mtu':
    case 'encap':
    case 'decap':
    case 'l2-drop':
      return d.device;
    default:
      return null;
  }
}

/** The stage a decision happens at: the routing table for a route lookup, netfilter for iptables, conntrack,
 *  NAT, IPVS and NetworkPolicy (evaluated at the filter hooks). */
function decisionStage(e: Extract<TraceEvent, { type: 'decide' }>): StageBox['kind'] | null {
  switch (e.decision.kind) {
    case 'route':
      return 'routes';
    case 'netfilter':
    case 'conntrack':
    case 'nat':
    case 'ipvs':
    case 'policy':
      return 'netfilter';
    default:
      return null;
  }
}

/**
 * The anchor of every event: observes sit on their device; decisions on the device they name (a bridge where
 * the packet's port meets it), else on the stage they happen at (routing table, netfilter) when the
 * namespace draws one, else where the packet already is in that namespace, else the namespace's stack point
 * (and a delivery goes up to the stack, where the socket is); a leg starts at the sending namespace's stack;
 * a verdict stays where the packet is. Pure; O(events).
 */
export function anchorsFor(events: readonly TraceEvent[], layout: WorldLayout): Anchor[] {
  const out: Anchor[] = [];
  let prev: Anchor | null = null;
  const fallback: Point = { x: layout.width / 2, y: layout.height / 2 };
  const stackOf = (netns: string): Point => layout.namespaces.get(netns)?.stack ?? prev?.point ?? fallback;
  const onDevice = (netns: string, dev: string | null): Anchor | null => {
    if (dev === null) return null;
    const box = layout.devices.get(deviceKey(netns, dev));
    if (!box) return null;
    // A bridge is long: the packet meets it where the port it came from joins it.
    const point =
      box.kind === 'bridge' && prev && prev.netns === netns ? onBridge(box, prev.point.x) : box.center;
    return { point, netns, device: box.key };
  };
  const onStage = (netns: string, kind: StageBox['kind'] | null): Anchor | null => {
    const s = kind ? layout.stages.get(`${netns}|#${kind}`) : undefined;
    return s ? { point: s.center, netns, device: null } : null;
  };
  for (const e of events) {
    let a: Anchor;
    switch (e.type) {
      case 'observe':
        a = onDevice(e.at.netns, e.device) ?? { point: stackOf(e.at.netns), netns: e.at.netns, device: null };
        break;
      case 'decide':
        a =
          e.decision.kind === 'deliver'
            ? { point: stackOf(e.at.netns), netns: e.at.netns, device: null } // up to the socket
            : (onDevice(e.at.netns, decisionDevice(e)) ??
              onStage(e.at.netns, decisionStage(e)) ??
              (prev && prev.netns === e.at.netns
                ? prev
                : { point: stackOf(e.at.netns), netns: e.at.netns, device: null }));
        break;
      case 'leg':
        a = { point: stackOf(e.at.netns), netns: e.at.netns, device: null };
        break;
      case 'cni':
        // A CNI step sits on the device it made or changed (when the layout has it), else its namespace.
        a = onDevice(e.at.netns, cniDevice(e)) ?? {
          point: stackOf(e.at.netns),
          netns: e.at.netns,
          device: null,
        };
        break;
      case 'verdict':
        a =
          prev && prev.netns === e.verdict.at.netns
            ? prev
            : { point: stackOf(e.verdict.at.netns), netns: e.verdict.at.netns, device: null };
        break;
    }
    out.push(a);
    prev = a;
  }
  return out;
}

/** The device a CNI step acts on, or null (a namespace, a file, a plugin run). */
function cniDevice(e: Extract<TraceEvent, { type: 'cni' }>): string | null {
  const op = e.op;
  if (!op) return null;
  switch (op.op) {
    case 'link-add-veth':
    case 'link-add-bridge':
    case 'link-add-vxlan':
    case 'link-add-dummy':
    case 'link-add-physical':
    case 'link-set-master':
    case 'link-set-up':
    case 'link-del':
      return op.name;
    case 'addr-add':
    case 'neigh-add':
    case 'fdb-add':
      return op.dev;
    case 'route-add':
      return op.dev;
    default:
      return null;
  }
}

/** The route the packet takes between two anchors: along a veth pair's line between its ends; along the bus
 *  (and its trunk, between bands) between two NICs on the same segment; else a straight line (moves inside
 *  a namespace are drawn straight). */
export function hopPath(layout: WorldLayout, from: Anchor, to: Anchor): Point[] {
  if (from.device && to.device && from.netns !== to.netns) {
    const veth = layout.vethPaths.get([from.device, to.device].sort().join('~'));
    if (veth) {
      const pts = from.device < to.device ? [...veth] : [...veth].reverse();
      return [from.point, ...pts.slice(1, -1), to.point];
    }
    const busA = layout.wiredTo.get(from.device);
    const busB = layout.wiredTo.get(to.device);
    const bus = busA !== undefined && busA === busB ? layout.buses.get(busA) : undefined;
    const ya = layout.wireY.get(from.device);
    const yb = layout.wireY.get(to.device);
    if (bus && ya !== undefined && yb !== undefined) {
      const a = from.point;
      const b = to.point;
      if (ya === yb || bus.trunkX === null) return [a, { x: a.x, y: ya }, { x: b.x, y: ya }, b];
      const t = bus.trunkX;
      return [a, { x: a.x, y: ya }, { x: t, y: ya }, { x: t, y: yb }, { x: b.x, y: yb }, b];
    }
  }
  return from.point.x === to.point.x && from.point.y === to.point.y ? [from.point] : [from.point, to.point];
}

export function pathLength(points: readonly Point[]): number {
  let len = 0;
  for (let i = 1; i < points.length; i++) len += dist(points[i - 1]!, points[i]!);
  return len;
}

/** The point at fraction `t` (0..1, clamped) of the polyline's length. */
export function pointAlong(points: readonly Point[], t: number): Point {
  const first = points[0];
  if (!first) return { x: 0, y: 0 };
  const total = pathLength(points);
  if (total === 0) return first;
  let remaining = Math.min(Math.max(t, 0), 1) * total;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    const len = dist(a, b);
    if (remaining <= len) {
      const f = len === 0 ? 0 : remaining / len;
      return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f };
    }
    remaining -= len;
  }
  return points[points.length - 1]!;
}

/** The packet's position at `cursor`, `progress` of the way from the previous event's anchor (1 = there). */
export function packetAt(
  anchors: readonly Anchor[],
  layout: WorldLayout,
  cursor: number,
  progress = 1,
): Point | null {
  const to = anchors[cursor];
  if (!to) return null;
  const from = anchors[cursor - 1];
  if (!from || progress >= 1) return to.point;
  return pointAlong(hopPath(layout, from, to), progress);
}

/** The path travelled in the current event's leg, from its first event up to the cursor. */
export function legPathTo(
  events: readonly TraceEvent[],
  anchors: readonly Anchor[],
  layout: WorldLayout,
  cursor: number,
): Point[] {
  const current = events[cursor];
  if (!current) return [];
  let start = cursor;
  while (start > 0 && events[start - 1]?.leg === current.leg) start--;
  const points: Point[] = [];
  for (let i = start; i <= cursor; i++) {
    const a = anchors[i];
    if (!a) break;
    const prev = i > start ? anchors[i - 1] : undefined;
    const seg = prev ? hopPath(layout, prev, a).slice(1) : [a.point];
    for (const p of seg) {
      const last = points[points.length - 1];
      if (!last || last.x !== p.x || last.y !== p.y) points.push(p);
    }
  }
  return points;
}

function dist(a: Point, b: Point): number {
  return Math.hypot(b.x - a.x, b.y - a.y);
}
