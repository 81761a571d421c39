// The picture: an SVG whose static topology is redrawn only when the world changes, a progress layer that
// follows the cursor, and the packet, which the canvas moves between events. The canvas owns only the
// transient animation (excalidraw's AnimationController); cursor and speed come from the playback machine.
import { easeCubicInOut, select, zoom, zoomIdentity, type Selection } from 'd3';
import { useEffect, useLayoutEffect, useMemo, useRef } from 'react';
import type { LegKind, TraceEvent } from '../../engine/trace.ts';
import type { Frame, IpPacket } from '../../engine/packet.ts';
import { useAppState, useCursor, useMode, useServices, useSpeed } from '../context.ts';
import { anchorsFor, hopPath, layoutWorldCached, legPathTo, pointAlong, type Anchor } from '../layout.ts';
import { BASE_TICK_MS } from '../playbackMachine.ts';
import { legKinds, verdictText } from '../present.ts';
import { drawPacket, drawProgress, placePacket, type Marker, type PacketConfig } from './drawPacket.ts';
import { drawTopology } from './drawTopology.ts';

const NO_EVENTS: readonly TraceEvent[] = [];
/** A stepped hop animates this long; a played one takes most of a tick, capped so slow speeds stay brisk. */
const STEP_MS = 320;
const MAX_HOP_MS = 700;

type G = Selection<SVGGElement, unknown, null, undefined>;

export function TopologyCanvas() {
  const { store } = useServices();
  const view = useAppState((s) => s.run?.view ?? null);
  const runId = useAppState((s) => s.run?.runId ?? 0);
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const selected = useAppState((s) => s.selectedDevice);
  const cursor = useCursor();
  const mode = useMode();
  const speed = useSpeed();

  const layout = useMemo(() => (view ? layoutWorldCached(view) : null), [view]);
  const anchors = useMemo(() => (layout ? anchorsFor(events, layout) : []), [events, layout]);
  const legs = useMemo(() => legKinds(events), [events]);

  const svgRef = useRef<SVGSVGElement>(null);
  const viewportRef = useRef<SVGGElement>(null);
  const topologyRef = useRef<SVGGElement>(null);
  const progressRef = useRef<SVGGElement>(null);
  const packetRef = useRef<SVGGElement>(null);

  // Static topology: only when the world changes.
  useEffect(() => {
    if (!layout || !view || !topologyRef.current) return;
    drawTopology(select(topologyRef.current), layout, view);
  }, [layout, view]);

  // Pan and zoom (wheel, drag); a double click fits the picture again.
  useEffect(() => {
    const svg = svgRef.current;
    const viewport = viewportRef.current;
    if (!svg || !viewport) return;
    const behaviour = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.5, 6])
      .on('zoom', (e: { transform: { toString(): string } }) => {
        viewport.setAttribute('transform', e.transform.toString());
      });
    const s = select(svg);
    s.call(behaviour).on('dblclick.zoom', () => s.call(behaviour.transform, zoomIdentity));
    return () => {
      s.on('.zoom', null);
    };
  }, []);

  // Progress: trail, visited devices, verdict markers.
  useEffect(() => {
    if (!layout || !progressRef.current || !topologyRef.current) return;
    const current = events[cursor];
    const visited = new Set<string>();
    const markers: Marker[] = [];
    if (current) {
      for (let i = 0; i <= cursor; i++) {
        const e = events[i];
        const a = anchors[i];
        if (!e || !a) continue;
        if (e.leg === current.leg && e.type === 'observe' && a.device) visited.add(a.device);
        if (e.type === 'verdict') {
          // Delivered: a badge on the receiving namespace's corner. Anything else: a mark just above where
          // the packet stopped, with the reason beside it.
          const box = layout.namespaces.get(e.verdict.at.netns);
          const delivered = e.verdict.kind === 'delivered';
          markers.push({
            key: `v${e.seq}`,
            point:
              delivered && box
                ? { x: box.x + box.width - 4, y: box.y + 4 }
                : { x: a.point.x, y: a.point.y - 30 },
            kind: e.verdict.kind,
            text: delivered ? '' : verdictText(e.verdict),
          });
        }
      }
    }
    const legKind = current ? (legs.get(current.leg) ?? 'request') : 'request';
    svgRef.current?.setAttribute('data-leg', legKind);
    const devicesLayer = select(topologyRef.current).select<SVGGElement>('g.layer-devices');
    drawProgress(select(progressRef.current), devicesLayer as G, {
      trail: current ? legPathTo(events, anchors, layout, cursor) : [],
      legKind,
      visited,
      current: anchors[cursor]?.device ?? null,
      selected,
      markers,
    });
  }, [layout, events, anchors, legs, cursor, selected]);

  // The packet: moves along the hop when the cursor advances by one, jumps otherwise (and always when the
  // user prefers reduced motion).
  const prevCursor = useRef<{ runId: number; cursor: number } | null>(null);
  // The packet effect runs only when the cursor (or run, or world) changes; the rest it reads from here,
  // refreshed after every commit (layout effects run before effects).
  const latest = useRef({ anchors, events, legs, layout, mode, speed });
  useLayoutEffect(() => {
    latest.current = { anchors, events, legs, layout, mode, speed };
  });
  const hasEventAtCursor = cursor < events.length;
  useEffect(() => {
    const g = packetRef.current;
    if (!g) return;
    const { anchors, events, legs, layout, mode, speed } = latest.current;
    const e = events[cursor];
    const to = anchors[cursor];
    const packet = select(g);
    if (!e || !to || !layout) {
      drawPacket(packet as G, null);
      prevCursor.current = null;
      return;
    }
    drawPacket(packet as G, packetConfig(e, legs.get(e.leg) ?? 'request'));
    const prev = prevCursor.current;
    prevCursor.current = { runId, cursor };
    const from: Anchor | undefined =
      prev && prev.runId === runId && prev.cursor === cursor - 1 ? anchors[cursor - 1] : undefined;
    packet.interrupt();
    if (!from || prefersReducedMotion()) {
      placePacket(packet as G, to.point);
      return;
    }
    const path = hopPath(layout, from, to);
    const duration = mode === 'playing' ? Math.min((BASE_TICK_MS / speed) * 0.8, MAX_HOP_MS) : STEP_MS;
    packet
      .transition()
      .duration(duration)
      .ease(easeCubicInOut)
      .attrTween('transform', () => (t: number) => {
        const p = pointAlong(path, t);
        return `translate(${p.x},${p.y})`;
      });
  }, [cursor, runId, layout, hasEventAtCursor]);

  const onClick = (ev: React.MouseEvent<SVGSVGElement>) => {
    const el = (ev.target as Element).closest('[data-device]');
    const key = el?.getAttribute('data-device') ?? null;
    const { selectedDevice, selectDevice } = store.getState();
    selectDevice(key === selectedDevice ? null : key);
  };

  const width = layout?.width ?? 800;
  const height = layout?.height ?? 400;
  return (
    <svg
      ref={svgRef}
      className="topology"
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio="xMidYMid meet"
      role="img"
      aria-label={
        view ? `Topology of ${view.name}: ${view.namespaces.length} network namespaces` : 'Topology'
      }
      onClick={onClick}
    >
      <g ref={viewportRef}>
        <g ref={topologyRef} className="topology-static" />
        <g ref={progressRef} className="topology-progress" />
        <g ref={packetRef} className="packet" display="none" />
      </g>
    </svg>
  );
}

function prefersReducedMotion(): boolean {
  return (
    typeof window.matchMedia === 'function' && window.matchMedia('(prefers-reduced-motion: reduce)').matches
  );
}

function packetConfig(e: TraceEvent, legKind: LegKind): PacketConfig {
  const p: Frame | IpPacket = e.packet;
  const innermost = innermostOf(p);
  const l4 = innermost.l4;
  const what =
    l4.kind === 'tcp'
      ? `TCP [${l4.flags}]`
      : l4.kind === 'udp'
        ? `UDP ${l4.dport}`
        : l4.type === 8
          ? 'ICMP echo'
          : l4.type === 0
            ? 'ICMP echo reply'
            : `ICMP ${l4.type}/${l4.code}`;
  const encapsulated = p.inner !== undefined;
  return { legKind, encapsulated, caption: encapsulated ? `VXLAN ▸ ${what}` : what };
}

function innermostOf(p: Frame | IpPacket): Frame | IpPacket {
  let q: Frame | IpPacket = p;
  while (q.inner) q = q.inner;
  return q;
}
