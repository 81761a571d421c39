// Layout kernels (tldraw's kernels/): pure functions from the world view and the trace to geometry.
// Pure: they take a WorldView and events and return positions; they must not read the store, the machine
// or the DOM, so they are unit-tested in Node and memoised by input identity.
//
// The picture, for nodes in the upper row (rows mirror around the bus when there are more than
// UPPER_ROW_MAX nodes, so a 10-node cluster is two rows of five instead of one very wide row):
//
//    ┌pod──────┐ ┌pod──────┐
//    └──[eth0]─┘ └──[eth0]─┘        pod devices sit on the pod's edge facing its node
//         │           │             veth pairs
//   ┌─[vethA]─────[vethB]──────┐
//   │  [        cni0        ]  node-1      bridge inside; the VXLAN device to the right
//   │                 [flannel.1]
//   └────────────────[eth0]────┘
//   ══════════════════╪═════════════════╪══════ node network (a bus)   ┌host─┐ hang below
//                                                                      [gateway] ─ eth1 ─ internet bus ─ hosts
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

export interface NetnsBox extends Rect {
  readonly id: string;
  readonly kind: NetnsView['kind'];
  readonly title: string;
  /** A second line: addresses. */
  readonly subtitle: string;
  /** Centers of the title and subtitle lines (text is drawn middle-anchored). */
  readonly titleAt: Point;
  readonly subtitleAt: Point;
  /** Where the packet waits while this namespace's stack decides (no device involved). */
  readonly stack: Point;
}

export interface LinkLine {
  readonly key: string;
  /** veth: a veth pair; wire: a NIC to its segment's bus; port: a bridge port to its bridge; underlay: a
   *  VXLAN device to the NIC its packets leave by. */
  readonly kind: 'veth' | 'wire' | 'port' | 'underlay';
  readonly points: readonly Point[];
}

export interface BusLine {
  readonly id: string;
  readonly label: string;
  readonly y: number;
  readonly x1: number;
  readonly x2: number;
}

export interface WorldLayout {
  readonly width: number;
  readonly height: number;
  readonly namespaces: ReadonlyMap<string, NetnsBox>;
  readonly devices: ReadonlyMap<string, DeviceBox>;
  readonly links: readonly LinkLine[];
  readonly buses: ReadonlyMap<string, BusLine>;
  /** Device key → the bus its wire joins. */
  readonly wiredTo: ReadonlyMap<string, string>;
}

// Sizes in SVG user units; the SVG's viewBox scales the whole picture to the available space.
export const DEV_W = 88; // fits "vethXXXXXXXX" at the 11-unit monospace the canvas uses
export const DEV_H = 22;
const POD_W = 120;
const POD_H = 84;
const COL = 132; // one pod per column; the last column of a node holds the VXLAN device, NIC and title
const VETH_GAP = 50; // length of a veth pair's line between a pod and its node
const NODE_H = 150;
const NODE_GAP = 36;
const BUS_GAP = 40; // from a node's NIC to the bus
const HOST_W = 168; // two addresses (a gateway's) fit on the subtitle line
const HOST_H = 90;
const HOST_GAP = 32;
const MARGIN = 32;
/** More nodes than this and the rest go into a mirrored row below the bus: five 3-column nodes are about
 *  2,100 units wide, which still reads at the usual zoom of a laptop screen. */
export const UPPER_ROW_MAX = 5;

export const deviceKey = (netns: string, device: string): string => `${netns}|${device}`;

const isVisible = (d: DeviceView): boolean => d.kind !== 'loopback';

/** Lays the world out. Pure; same view in, equal layout out (see `layoutWorldCached` for identity). */
export function layoutWorld(view: WorldView): WorldLayout {
  const namespaces = new Map<string, NetnsBox>();
  const devices = new Map<string, DeviceBox>();
  const links: LinkLine[] = [];
  const buses = new Map<string, BusLine>();
  const wiredTo = new Map<string, string>();

  const nodes = view.namespaces.filter((n) => n.kind === 'node');
  // Pods by their node's namespace id (a pod's `node` is the node's name; the node netns is node/<name>).
  const nodeIdByName = new Map(nodes.map((n) => [n.node ?? n.label, n.id]));
  const podsOf = new Map<string, NetnsView[]>();
  for (const n of view.namespaces) {
    const nodeId = n.kind === 'pod' && n.node !== null ? nodeIdByName.get(n.node) : undefined;
    if (nodeId !== undefined) podsOf.set(nodeId, [...(podsOf.get(nodeId) ?? []), n]);
  }
  const hosts = view.namespaces.filter(
    (n) => n.kind === 'host' || (n.kind === 'pod' && (n.node === null || !nodeIdByName.has(n.node))),
  );

  // The main bus: the segment most nodes are wired to (the node network).
  const segmentUse = new Map<string, number>();
  for (const n of nodes)
    for (const d of n.devices) if (d.segment) segmentUse.set(d.segment, (segmentUse.get(d.segment) ?? 0) + 1);
  const mainSegment =
    [...segmentUse.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? view.segments[0]?.id ?? 'node-network';

  const podRowHeight = POD_H + VETH_GAP;
  const nodeReach =
    BUS_GAP + NODE_H + (nodes.some((n) => (podsOf.get(n.id)?.length ?? 0) > 0) ? podRowHeight : 0);
  const busY = MARGIN + nodeReach;

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

  // Nodes: columns left to right, the upper row above the bus, the rest mirrored below it.
  const upper = nodes.slice(0, UPPER_ROW_MAX);
  const lower = nodes.slice(UPPER_ROW_MAX);
  let right = MARGIN;
  for (const [row, members] of [
    [1, upper],
    [-1, lower],
  ] as const) {
    let x = MARGIN;
    for (const node of members) {
      x = layoutNode(node, podsOf.get(node.id) ?? [], x, row) + NODE_GAP;
      right = Math.max(right, x - NODE_GAP);
    }
  }

  function layoutNode(node: NetnsView, pods: readonly NetnsView[], left: number, row: 1 | -1): number {
    // `d` is the distance from the bus, positive toward the node's pods; y = busY - row * d.
    const y = (d: number): number => busY - row * d;
    const cols = Math.max(pods.length, 1) + 1; // pod columns, then the NIC/VXLAN/title column
    const width = cols * COL;
    const nicD = BUS_GAP;
    const topD = BUS_GAP + NODE_H; // the edge facing the pods
    const lastColX = left + width - COL / 2;
    const box = rectBetween(left, y(nicD), left + width, y(topD));
    namespaces.set(node.id, {
      id: node.id,
      kind: 'node',
      title: node.label,
      subtitle: addressesOf(node, (d) => d.kind === 'physical').join(' '),
      ...box,
      titleAt: { x: lastColX, y: y(topD - 28) },
      subtitleAt: { x: lastColX, y: y(topD - 28) + 15 },
      stack: { x: left + (width - COL) / 2, y: y(BUS_GAP + 40) },
    });

    const visible = node.devices.filter(isVisible);
    const podCol = new Map(pods.map((p, i) => [p.id, left + COL / 2 + i * COL]));
    const placed = new Set<string>();
    // veths whose peer is one of the pods: on the node's edge under their pod.
    for (const d of visible) {
      const peerX = d.kind === 'veth' && d.peer ? podCol.get(d.peer.netns) : undefined;
      if (peerX === undefined) continue;
      addDevice(node, d, { x: peerX, y: y(topD) });
      placed.add(d.name);
    }
    // Bridges across the pod columns; the first physical NIC on the bus edge in the last column; VXLAN
    // devices above it; anything else in the middle band.
    const bridges = visible.filter((d) => d.kind === 'bridge');
    const podSpan = Math.max(pods.length, 1) * COL - (COL - DEV_W) / 2;
    bridges.forEach((d, i) => {
      addDevice(
        node,
        d,
        { x: left + COL / 2 + (podSpan - DEV_W) / 2, y: y(topD - 56 - i * 34) },
        Math.max(DEV_W, podSpan - 20),
      );
      placed.add(d.name);
    });
    const nics = visible.filter((d) => d.kind === 'physical');
    nics.forEach((d, i) => {
      addDevice(node, d, { x: lastColX - i * COL, y: y(nicD) });
      placed.add(d.name);
    });
    const rest = visible.filter((d) => !placed.has(d.name));
    rest.forEach((d, i) => {
      addDevice(node, d, { x: lastColX - Math.floor(i / 2) * COL, y: y(nicD + 56 + (i % 2) * 34) });
    });

    // Pods in their columns beyond the node's edge, each with its devices on the edge facing the node.
    pods.forEach((pod, i) => {
      const cx = left + COL / 2 + i * COL;
      const near = topD + VETH_GAP; // the pod's edge facing the node
      const far = near + POD_H;
      const pbox = rectBetween(cx - POD_W / 2, y(near), cx + POD_W / 2, y(far));
      namespaces.set(pod.id, {
        id: pod.id,
        kind: 'pod',
        title: pod.label,
        subtitle: addressesOf(pod, (d) => d.kind !== 'loopback').join(' '),
        ...pbox,
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

  // Hosts hang below the main bus: under the nodes when no node row is down there, else to their right. A
  // host on two segments (a gateway) carries the second segment's bus below it, with that segment's other
  // hosts hanging from it.
  const segmentsOf = (ns: NetnsView): string[] => ns.devices.flatMap((d) => (d.segment ? [d.segment] : []));
  const onMain = hosts.filter((h) => segmentsOf(h).includes(mainSegment) || segmentsOf(h).length === 0);
  const routers = onMain.filter((h) => segmentsOf(h).length > 1);
  const leaves = onMain.filter((h) => segmentsOf(h).length <= 1);
  let hx = lower.length > 0 ? right + HOST_GAP + HOST_W / 2 + 20 : MARGIN + HOST_W / 2;
  let bottom = busY + (lower.length > 0 ? nodeReach : 0);
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
      buses.set(seg, {
        id: seg,
        label: segmentLabel(view, seg),
        y: segY,
        x1: hx - HOST_W / 2 - 20,
        x2: sx + HOST_W / 2 + 20,
      });
      right = Math.max(right, sx + HOST_W / 2 + 20);
    }
    hx += HOST_W + HOST_GAP;
  }
  // Anything left (a segment no router reaches): a row of its own at the bottom.
  const stray = hosts.filter((h) => !laidOut.has(h.id));
  if (stray.length > 0) {
    const top = bottom + BUS_GAP * 2;
    let sx = MARGIN + HOST_W / 2;
    for (const h of stray) {
      const seg = segmentsOf(h)[0] ?? mainSegment;
      if (!buses.has(seg) && seg !== mainSegment)
        buses.set(seg, { id: seg, label: segmentLabel(view, seg), y: top - BUS_GAP, x1: MARGIN, x2: MARGIN });
      bottom = Math.max(bottom, layoutHost(h, sx, top, seg));
      const bus = buses.get(seg);
      if (bus && bus.id !== mainSegment)
        buses.set(seg, { ...bus, x2: Math.max(bus.x2, sx + HOST_W / 2 + 20) });
      sx += HOST_W + HOST_GAP;
    }
    right = Math.max(right, sx);
  }
  right = Math.max(right, mainRight);
  buses.set(mainSegment, {
    id: mainSegment,
    label: segmentLabel(view, mainSegment),
    y: busY,
    x1: MARGIN / 2,
    x2: right + 20,
  });

  // Links: veth pairs (once per pair), wires to buses, bridge ports, VXLAN underlays.
  const seenPairs = new Set<string>();
  for (const ns of view.namespaces) {
    for (const d of ns.devices) {
      const key = deviceKey(ns.id, d.name);
      const box = devices.get(key);
      if (!box) continue;
      if (d.kind === 'veth' && d.peer) {
        const peerKey = deviceKey(d.peer.netns, d.peer.device);
        const peer = devices.get(peerKey);
        const pairKey = [key, peerKey].sort().join('~');
        if (peer && !seenPairs.has(pairKey)) {
          seenPairs.add(pairKey);
          links.push({ key: `veth:${pairKey}`, kind: 'veth', points: [box.center, peer.center] });
        }
      }
      if (d.segment) {
        const bus = buses.get(d.segment);
        if (bus) {
          wiredTo.set(key, bus.id);
          links.push({
            key: `wire:${key}`,
            kind: 'wire',
            points: [box.center, { x: box.center.x, y: bus.y }],
          });
        }
      }
      if (d.master) {
        const bridge = devices.get(deviceKey(ns.id, d.master));
        if (bridge)
          links.push({
            key: `port:${key}`,
            kind: 'port',
            points: [
              box.center,
              { x: clamp(box.center.x, bridge.x + 8, bridge.x + bridge.width - 8), y: bridge.center.y },
            ],
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
  for (const b of buses.values()) maxX = Math.max(maxX, b.x2);
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
      links,
      buses,
      wiredTo,
    },
    dy,
  );
}

const cache = new WeakMap<WorldView, WorldLayout>();
/** `layoutWorld`, returning the same object for the same view (React and D3 can skip redrawing). */
export function layoutWorldCached(view: WorldView): WorldLayout {
  let got = cache.get(view);
  if (!got) {
    got = layoutWorld(view);
    cache.set(view, got);
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
    links: l.links.map((k) => ({ ...k, points: k.points.map(p) })),
    buses: new Map([...l.buses].map(([k, b]) => [k, { ...b, y: b.y + dy }])),
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

/**
 * The anchor of every event: observes sit on their device; decisions on the device they name, else where
 * the packet already is in that namespace, else the namespace's stack point (and a delivery goes up to the
 * stack, where the socket is); a leg starts at the sending namespace's stack; a verdict stays where the
 * packet is. Pure; O(events).
 */
export function anchorsFor(events: readonly TraceEvent[], layout: WorldLayout): Anchor[] {
  const out: Anchor[] = [];
  let prev: Anchor | null = null;
  const fallback: Point = { x: layout.width / 2, y: layout.height / 2 };
  const stackOf = (netns: string): Point => layout.namespaces.get(netns)?.stack ?? prev?.point ?? fallback;
  const onDevice = (netns: string, dev: string | null): Anchor | null => {
    if (dev === null) return null;
    const box = layout.devices.get(deviceKey(netns, dev));
    return box ? { point: box.center, netns, device: box.key } : null;
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
              (prev && prev.netns === e.at.netns
                ? prev
                : { point: stackOf(e.at.netns), netns: e.at.netns, device: null }));
        break;
      case 'leg':
        a = { point: stackOf(e.at.netns), netns: e.at.netns, device: null };
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

/** The route the packet takes between two anchors: along the bus between two NICs on the same segment,
 *  else a straight line (veth pairs and moves inside a namespace are drawn straight). */
export function hopPath(layout: WorldLayout, from: Anchor, to: Anchor): Point[] {
  if (from.device && to.device && from.netns !== to.netns) {
    const busA = layout.wiredTo.get(from.device);
    const busB = layout.wiredTo.get(to.device);
    const bus = busA !== undefined && busA === busB ? layout.buses.get(busA) : undefined;
    if (bus) return [from.point, { x: from.point.x, y: bus.y }, { x: to.point.x, y: bus.y }, to.point];
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
