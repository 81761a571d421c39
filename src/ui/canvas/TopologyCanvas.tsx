// The picture. Two stacked <canvas> layers draw it — the static topology (redrawn only when the layout, the
// zoom or the size changes) and the moving layer (trail, highlights, markers, the packet; a few dozen shapes
// per frame) — and an SVG overlay on top holds what must be in the DOM: a focusable button per device
// (`[data-device="<netns>|<device>"]`, for the keyboard, screen readers and tests), the verdict markers
// with their reasons, and an invisible mirror of the packet's position and state.
//
// Why canvas and not SVG: a 1,000-pod cluster is about 5,000 shapes and 4,000 labels; as SVG every pan or
// zoom restyles them all and frames drop, while a canvas repaints them in a few milliseconds and the
// packet's frames never touch them. Why the overlay lists every device only up to HIT_TARGETS_MAX: above
// that, thousands of buttons would make the tab order useless, so it keeps the devices the walk visits
// (and the selected one); a click anywhere else is hit-tested against the layout.
//
// The canvas owns only the transient animation (excalidraw's AnimationController); cursor and speed come
// from the playback machine, the world and trace from the store.
import { select, zoom, zoomIdentity, type ZoomTransform } from 'd3';
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { LegKind, TraceEvent } from '../../engine/trace.ts';
import type { Frame, IpPacket } from '../../engine/packet.ts';
import { useAppState, useCursor, useMode, useServices, useSpeed } from '../context.ts';
import type { T } from '../i18n/index.ts';
import {
  anchorsFor,
  collapseByDefault,
  collapsedNodes,
  hopPath,
  involvedNodes,
  layoutWorldCached,
  legPathTo,
  pointAlong,
  type Anchor,
  type DeviceBox,
  type Point,
  type Rect,
  type WorldLayout,
} from '../layout.ts';
import { BASE_TICK_MS } from '../playbackMachine.ts';
import {
  SUCCESS_VERDICTS,
  isSuccessVerdict,
  lastStateIndex,
  legKinds,
  verdictText,
  viewAt,
} from '../present.ts';
import {
  drawPacket,
  drawProgress,
  flashBox,
  type Flash,
  type Marker,
  type PacketConfig,
  type ProgressConfig,
} from './drawPacket.ts';
import { drawTopology, type View } from './drawTopology.ts';
import { canvasMeasure, SvgContext, svgDocument, type Draw2D } from './svgContext.ts';
import { FRAME_SVG_EVENT, type FrameSvgRequest } from '../share/browser.ts';

const NO_EVENTS: readonly TraceEvent[] = [];
/** A stepped hop animates this long; a played one takes most of a tick, capped so slow speeds stay brisk. */
const STEP_MS = 320;
const MAX_HOP_MS = 700;
/** A NAT rewrite's flash pulses this long, then settles (with reduced motion it is steady from the start). */
const FLASH_MS = 1200;
/** What stays of the flash while the cursor is on the rewrite. */
const FLASH_REST = 0.3;
/** Up to this many devices, each is a button in the overlay (the default cluster has about 30; a 1,000-pod
 *  one about 3,000, too many to tab through). */
export const HIT_TARGETS_MAX = 400;

/** What the moving layer shows at the cursor (computed when the cursor changes, drawn every frame). */
interface Scene {
  readonly progress: ProgressConfig;
  readonly packet: PacketConfig | null;
  /** The hop being animated: its path, when it started and how long it takes; the wrap before and after. */
  readonly hop: { path: readonly Point[]; start: number; duration: number; wrapFrom: number } | null;
  readonly at: Point | null;
  readonly flash: { text: string; start: number; box: Rect } | null;
  readonly reduced: boolean;
}

export function TopologyCanvas() {
  const { t } = useTranslation();
  const { store } = useServices();
  const runView = useAppState((s) => s.run?.view ?? null);
  const runId = useAppState((s) => s.run?.runId ?? 0);
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const selected = useAppState((s) => s.selectedDevice);
  const cursor = useCursor();
  // The world at the cursor: a CNI walk's steps add (or remove) the pod's namespace and devices.
  const stateIndex = lastStateIndex(events, cursor);
  const view = useMemo(() => viewAt(runView, events, stateIndex), [runView, events, stateIndex]);
  const mode = useMode();
  const speed = useSpeed();

  // Collapsing uninvolved nodes: the user's choice, else on for large clusters.
  const [collapseChoice, setCollapseChoice] = useState<boolean | null>(null);
  const collapse = collapseChoice ?? (view ? collapseByDefault(view) : false);
  const involvedKey = useMemo(
    () => (view ? [...involvedNodes(view, events)].sort().join('\n') : ''),
    [view, events],
  );
  const layout = useMemo(() => {
    if (!view) return null;
    const involved = new Set(involvedKey ? involvedKey.split('\n') : []);
    return layoutWorldCached(view, { collapsed: collapsedNodes(view, involved, collapse) });
  }, [view, involvedKey, collapse]);
  const anchors = useMemo(() => (layout ? anchorsFor(events, layout) : []), [events, layout]);
  const legs = useMemo(() => legKinds(events), [events]);

  const surfaceRef = useRef<HTMLDivElement>(null);
  const staticRef = useRef<HTMLCanvasElement>(null);
  const movingRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<SVGGElement>(null);
  const packetRef = useRef<SVGGElement>(null);

  const [size, setSize] = useState({ width: 0, height: 0 });
  const zoomRef = useRef<ZoomTransform>(zoomIdentity);
  const staticDirty = useRef(true);
  const scene = useRef<Scene | null>(null);
  const frame = useRef(0);
  const layoutRef = useRef(layout);
  layoutRef.current = layout;

  /** Layout units → CSS pixels: the fit (the whole picture in view), then the user's pan and zoom. */
  const cssView = useCallback((): { k: number; x: number; y: number } | null => {
    const l = layoutRef.current;
    if (!l || size.width === 0 || size.height === 0) return null;
    const fit = Math.min(size.width / l.width, size.height / l.height);
    const ox = (size.width - l.width * fit) / 2;
    const oy = (size.height - l.height * fit) / 2;
    const z = zoomRef.current;
    return { k: z.k * fit, x: z.x + z.k * ox, y: z.y + z.k * oy };
  }, [size]);

  // One frame: the static layer when it is dirty, the moving layer always; another frame while anything moves.
  const draw = useCallback(() => {
    frame.current = 0;
    const l = layoutRef.current;
    const css = cssView();
    const overlay = overlayRef.current;
    if (css && overlay) overlay.setAttribute('transform', `translate(${css.x},${css.y}) scale(${css.k})`);
    const sc = staticRef.current;
    const mc = movingRef.current;
    const ctxS = sc && canvasContext(sc);
    const ctxM = mc && canvasContext(mc);
    if (!l || !css || !sc || !mc) return;
    const v = deviceView(css, size);
    for (const c of [sc, mc])
      if (c.width !== v.width || c.height !== v.height) {
        c.width = v.width;
        c.height = v.height;
        staticDirty.current = true;
      }
    if (ctxS && staticDirty.current) drawTopology(ctxS, l, v);
    staticDirty.current = false;
    const s = scene.current;
    const { at, moving } = drawMoving(ctxM, v, s, performance.now());
    if (ctxM && !s) {
      ctxM.setTransform(1, 0, 0, 1, 0, 0);
      ctxM.clearRect(0, 0, v.width, v.height);
    }
    const mirror = packetRef.current;
    if (mirror) {
      if (s?.packet && at) {
        mirror.setAttribute('transform', `translate(${round(at.x)},${round(at.y)})`);
        mirror.removeAttribute('display');
      } else mirror.setAttribute('display', 'none');
    }
    if (moving) frame.current = requestAnimationFrame(draw);
  }, [cssView, size]);

  // The SVG export (the Share menu, share/browser.ts frameSvgText) asks the picture's element for the frame:
  // drawn again, as it is now, by the same drawing code into SVG contexts.
  const topologyRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = topologyRef.current;
    if (!el) return;
    const answer = (ev: Event) => {
      const request = (ev as CustomEvent<FrameSvgRequest>).detail;
      const l = layoutRef.current;
      const css = cssView();
      if (!l || !css || !request) return;
      const v = deviceView(css, size);
      const measure = canvasMeasure();
      const still = new SvgContext(v.width, v.height, measure, 'still');
      drawTopology(still, l, v);
      const moving = new SvgContext(v.width, v.height, measure, 'moving');
      drawMoving(moving, v, scene.current, performance.now());
      request.svg = svgDocument({
        width: size.width,
        height: size.height,
        viewWidth: v.width,
        viewHeight: v.height,
        background: request.background,
        title: request.title,
        layers: [still.body(), moving.body()],
      });
    };
    el.addEventListener(FRAME_SVG_EVENT, answer);
    return () => el.removeEventListener(FRAME_SVG_EVENT, answer);
  }, [cssView, size]);

  const schedule = useCallback(() => {
    if (frame.current === 0 && typeof requestAnimationFrame === 'function')
      frame.current = requestAnimationFrame(draw);
  }, [draw]);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // Size: follow the surface's box.
  useEffect(() => {
    const el = surfaceRef.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setSize({ width: el.clientWidth, height: el.clientHeight }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // A new layout or size: repaint the topology.
  useEffect(() => {
    staticDirty.current = true;
    schedule();
  }, [layout, size, schedule]);

  // Pan and zoom (wheel, drag); a double click fits the picture again.
  useEffect(() => {
    const el = surfaceRef.current;
    if (!el) return;
    const behaviour = zoom<HTMLDivElement, unknown>()
      .scaleExtent([0.5, 60])
      .on('zoom', (e: { transform: ZoomTransform }) => {
        zoomRef.current = e.transform;
        staticDirty.current = true;
        schedule();
      });
    const s = select(el);
    s.call(behaviour).on('dblclick.zoom', () => s.call(behaviour.transform, zoomIdentity));
    return () => {
      s.on('.zoom', null);
    };
  }, [schedule]);

  // What the moving layer shows: recomputed when the cursor (or the trace, or the layout) changes. The packet
  // glides along the hop when the cursor advances by one, jumps otherwise (and always with reduced motion).
  const prevCursor = useRef<{ runId: number; cursor: number; layout: WorldLayout | null } | null>(null);
  const latest = useRef({ mode, speed, selected });
  useLayoutEffect(() => {
    latest.current = { mode, speed, selected };
  });
  const currentLeg = events[cursor]?.leg ?? -1;
  useEffect(() => {
    const { mode, speed, selected } = latest.current;
    const reduced = prefersReducedMotion();
    const current = events[cursor];
    const to = anchors[cursor];
    const legKind = current ? (legs.get(current.leg) ?? 'request') : 'request';
    const progress = layout
      ? progressOf(events, anchors, layout, cursor, legKind, selected, t)
      : EMPTY_PROGRESS;
    if (!layout || !current || !to) {
      scene.current = { progress, packet: null, hop: null, at: null, flash: null, reduced };
      prevCursor.current = null;
      schedule();
      return;
    }
    const prev = prevCursor.current;
    prevCursor.current = { runId, cursor, layout };
    const stepped =
      prev !== null && prev.runId === runId && prev.cursor === cursor - 1 && prev.layout === layout;
    const from: Anchor | undefined = stepped ? anchors[cursor - 1] : undefined;
    const before = events[cursor - 1];
    const duration = mode === 'playing' ? Math.min((BASE_TICK_MS / speed) * 0.8, MAX_HOP_MS) : STEP_MS;
    const now = performance.now();
    const nat = natText(current);
    const packet = packetConfig(current, legKind, t);
    // The card's place is chosen once per hop (it measures text and looks at the labels), not per frame.
    const measure = movingRef.current ? canvasContext(movingRef.current) : null;
    scene.current = {
      progress,
      packet,
      hop:
        from && !reduced
          ? {
              path: hopPath(layout, from, to),
              start: now,
              duration,
              wrapFrom:
                before &&
                before.leg === current.leg &&
                'packet' in before &&
                before.packet &&
                isEncapsulated(before.packet)
                  ? 1
                  : 0,
            }
          : null,
      at: to.point,
      flash:
        nat && packet && measure
          ? { text: nat, start: now, box: flashBox(measure, layout, to.point, nat, packet) }
          : null,
      reduced,
    };
    schedule();
    // Selection changes redraw through the effect below; the rest is read from `latest`.
  }, [cursor, runId, layout, events, anchors, legs, schedule, t]);

  // The selection only changes the highlight.
  useEffect(() => {
    const s = scene.current;
    if (!s || !layout) return;
    const box = selected ? (layout.devices.get(selected) ?? null) : null;
    scene.current = { ...s, progress: { ...s.progress, selected: box } };
    schedule();
  }, [selected, layout, schedule]);

  // The overlay's buttons: every device of a small world; else those the walk visits, and the selected one.
  const targets = useMemo(() => {
    if (!layout) return [];
    if (layout.devices.size <= HIT_TARGETS_MAX) return [...layout.devices.values()];
    const keys = new Set<string>();
    for (const a of anchors) if (a.device) keys.add(a.device);
    if (selected) keys.add(selected);
    return [...keys].flatMap((k) => {
      const d = layout.devices.get(k);
      return d ? [d] : [];
    });
  }, [layout, anchors, selected]);
  const visitedNow = useMemo(() => {
    const out = new Set<string>();
    for (let i = 0; i <= cursor; i++) {
      const e = events[i];
      const a = anchors[i];
      if (e && a?.device && e.leg === currentLeg && e.type === 'observe') out.add(a.device);
    }
    return out;
  }, [events, anchors, cursor, currentLeg]);
  const markers = useMemo(
    () => (layout ? markersOf(events, anchors, layout, cursor, t) : []),
    [events, anchors, layout, cursor, t],
  );

  // Each button's accessible name, once per device list and language (not per step: a collapsed 1,000-pod
  // world has a few hundred buttons).
  const labels = useMemo(
    () => new Map(targets.map((d) => [d.key, t('canvas.deviceIn', { device: d.name, netns: d.netns })])),
    [targets, t],
  );
  const select_ = useCallback(
    (key: string | null) => {
      const { selectedDevice, selectDevice } = store.getState();
      selectDevice(key === selectedDevice ? null : key);
    },
    [store],
  );
  const onClick = (ev: React.MouseEvent<HTMLDivElement>) => {
    const el = (ev.target as Element).closest('[data-device]');
    if (el) return select_(el.getAttribute('data-device'));
    // Not a button: hit-test the layout (large worlds draw most devices only on the canvas).
    const css = cssView();
    const box = surfaceRef.current?.getBoundingClientRect();
    if (!css || !box || !layout) return select_(null);
    const x = (ev.clientX - box.left - css.x) / css.k;
    const y = (ev.clientY - box.top - css.y) / css.k;
    let hit: string | null = null;
    for (const d of layout.devices.values())
      if (x >= d.x && x <= d.x + d.width && y >= d.y && y <= d.y + d.height) hit = d.key;
    select_(hit);
  };

  const current = anchors[cursor]?.device ?? null;
  const legKind = events[cursor] ? (legs.get(events[cursor].leg) ?? 'request') : 'request';
  const packet = events[cursor] ? packetConfig(events[cursor], legKind, t) : null;
  return (
    <div className="topology-stage">
      <div
        ref={surfaceRef}
        className="topology-surface"
        data-leg={legKind}
        onClick={onClick}
        data-layout-width={layout ? Math.round(layout.width) : undefined}
      >
        <div className="topology" data-testid="topology" data-svg-frame="" ref={topologyRef}>
          <canvas ref={staticRef} className="topology-layer" aria-hidden="true" />
          <canvas ref={movingRef} className="topology-layer" aria-hidden="true" />
        </div>
        <svg
          className="topology-overlay"
          role="group"
          aria-label={
            view
              ? t('canvas.topologyOf', { name: view.name, count: view.namespaces.length })
              : t('canvas.topology')
          }
        >
          <g ref={overlayRef}>
            {targets.map((d) => (
              <DeviceTarget
                key={d.key}
                device={d}
                label={labels.get(d.key) ?? d.name}
                visited={visitedNow.has(d.key)}
                current={d.key === current}
                selected={d.key === selected}
                onSelect={select_}
              />
            ))}
            {markers.map((m) => (
              <g
                key={m.key}
                className={`marker marker--${SUCCESS_VERDICTS.has(m.kind) ? 'delivered' : 'dropped'}`}
                transform={`translate(${m.point.x},${m.point.y})`}
                role="img"
                aria-label={isSuccessVerdict(m.kind) ? t(`canvas.mark.${m.kind}`) : m.text}
              />
            ))}
            <g
              ref={packetRef}
              className={
                packet ? `packet packet--${packet.legKind}${packet.wrap ? ' packet--encap' : ''}` : 'packet'
              }
              data-caption={packet?.caption}
              data-flash={events[cursor] ? (natText(events[cursor]) ?? undefined) : undefined}
              aria-hidden="true"
              display="none"
            />
          </g>
        </svg>
      </div>
      {view ? (
        <label className="topology-collapse">
          <input type="checkbox" checked={collapse} onChange={(e) => setCollapseChoice(e.target.checked)} />
          {t('canvas.collapse')}
        </label>
      ) : null}
    </div>
  );
}

/** A device's button in the overlay; memoised, so a step re-renders only the few whose state changed. */
const DeviceTarget = memo(function DeviceTarget(props: {
  device: DeviceBox;
  label: string;
  visited: boolean;
  current: boolean;
  selected: boolean;
  onSelect: (key: string) => void;
}) {
  const { device: d, label, visited, current, selected, onSelect } = props;
  return (
    <g
      className={
        `dev dev--${d.kind}` +
        (visited ? ' is-visited' : '') +
        (current ? ' is-current' : '') +
        (selected ? ' is-selected' : '')
      }
      data-device={d.key}
      role="button"
      tabIndex={0}
      aria-label={label}
      aria-pressed={selected}
      onKeyDown={(e) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        e.nativeEvent.stopPropagation();
        onSelect(d.key);
      }}
    >
      <rect x={d.x} y={d.y} width={d.width} height={d.height} rx={4} />
    </g>
  );
});

const EMPTY_PROGRESS: ProgressConfig = {
  trail: [],
  ahead: [],
  legKind: 'request',
  visited: [],
  current: null,
  selected: null,
  markers: [],
};

export function progressOf(
  events: readonly TraceEvent[],
  anchors: readonly Anchor[],
  layout: WorldLayout,
  cursor: number,
  legKind: LegKind,
  selected: string | null,
  t: T,
): ProgressConfig {
  const current = events[cursor];
  if (!current) return EMPTY_PROGRESS;
  const device = anchors[cursor]?.device;
  // A CNI walk moves no packet: no trail, only the device the step acts on (and the verdict's marker).
  if (current.type === 'cni' || (current.type === 'verdict' && current.packet === null))
    return {
      ...EMPTY_PROGRESS,
      legKind,
      current: device ? (layout.devices.get(device) ?? null) : null,
      selected: selected ? (layout.devices.get(selected) ?? null) : null,
      markers: markersOf(events, anchors, layout, cursor, t),
    };
  const visited: Rect[] = [];
  const seen = new Set<string>();
  for (let i = 0; i <= cursor; i++) {
    const e = events[i];
    const a = anchors[i];
    if (!e || !a?.device || e.leg !== current.leg || e.type !== 'observe' || seen.has(a.device)) continue;
    seen.add(a.device);
    const box = layout.devices.get(a.device);
    if (box) visited.push(box);
  }
  let last = cursor;
  while (events[last + 1]?.leg === current.leg) last++;
  return {
    trail: legPathTo(events, anchors, layout, cursor),
    ahead: legPathTo(events, anchors, layout, last),
    legKind,
    visited,
    current: device ? (layout.devices.get(device) ?? null) : null,
    selected: selected ? (layout.devices.get(selected) ?? null) : null,
    markers: markersOf(events, anchors, layout, cursor, t),
  };
}

/** Delivered: a badge on the receiving namespace's corner. Anything else: a mark just above where the
 *  packet stopped, with the reason beside it. */
function markersOf(
  events: readonly TraceEvent[],
  anchors: readonly Anchor[],
  layout: WorldLayout,
  cursor: number,
  t: T,
): Marker[] {
  const markers: Marker[] = [];
  for (let i = 0; i <= cursor && i < events.length; i++) {
    const e = events[i];
    const a = anchors[i];
    if (!e || !a || e.type !== 'verdict') continue;
    const box = layout.namespaces.get(e.verdict.at.netns);
    const delivered = SUCCESS_VERDICTS.has(e.verdict.kind);
    markers.push({
      key: `v${e.seq}`,
      point:
        delivered && box ? { x: box.x + box.width - 4, y: box.y + 4 } : { x: a.point.x, y: a.point.y - 30 },
      kind: e.verdict.kind,
      text: delivered ? '' : verdictText(e.verdict, t),
    });
  }
  return markers;
}

/** Layout units → the canvas's device pixels (CSS pixels times devicePixelRatio). */
function deviceView(css: { k: number; x: number; y: number }, size: { width: number; height: number }): View {
  const dpr = window.devicePixelRatio || 1;
  return {
    k: css.k * dpr,
    x0: css.x * dpr,
    y0: css.y * dpr,
    width: Math.round(size.width * dpr),
    height: Math.round(size.height * dpr),
  };
}

/**
 * Draws the moving layer as it is at `now` — the packet along its hop, its VXLAN envelope wrapping, the NAT
 * flash pulsing — into `ctx` (the canvas's, or an SVG context for the export); returns where the packet is
 * and whether anything still moves (another frame is wanted).
 */
function drawMoving(
  ctx: Draw2D | null,
  v: View,
  s: Scene | null,
  now: number,
): { at: Point | null; moving: boolean } {
  let moving = false;
  let at = s?.at ?? null;
  let wrap = s?.packet?.wrap ?? 0;
  if (s?.hop && !s.reduced) {
    const t = Math.min(1, (now - s.hop.start) / s.hop.duration);
    const e = easeInOut(t);
    at = pointAlong(s.hop.path, e);
    wrap = s.hop.wrapFrom + (wrap - s.hop.wrapFrom) * e;
    moving = t < 1;
  }
  let flash: Flash | null = null;
  if (s?.flash) {
    const t = (now - s.flash.start) / FLASH_MS;
    // Two pulses, then rest.
    const strength = s.reduced
      ? 1
      : t >= 1
        ? FLASH_REST
        : FLASH_REST + (1 - FLASH_REST) * Math.abs(Math.cos(t * Math.PI * 2)) * (1 - t);
    flash = { text: s.flash.text, strength, box: s.flash.box };
    moving ||= !s.reduced && t < 1;
  }
  if (ctx && s) {
    drawProgress(ctx, v, s.progress);
    if (s.packet && at) drawPacket(ctx, at, { ...s.packet, wrap }, flash);
  }
  return { at, moving };
}

function canvasContext(c: HTMLCanvasElement): CanvasRenderingContext2D | null {
  // jsdom (the unit tests) has no 2D context and says so on the console; skip it there.
  if (navigator.userAgent.includes('jsdom')) return null;
  return c.getContext('2d');
}

function prefersReducedMotion(): boolean {
  return (
    typeof window.matchMedia === 'function' && window.matchMedia('(prefers-reduced-motion: reduce)').matches
  );
}

const easeInOut = (t: number): number => (t < 0.5 ? 4 * t * t * t : 1 - (-2 * t + 2) ** 3 / 2);
const round = (n: number): number => Math.round(n * 10) / 10;

function isEncapsulated(p: Frame | IpPacket): boolean {
  return p.inner !== undefined;
}

/** The packet's envelope at an event; null where there is no packet (a CNI walk). */
export function packetConfig(e: TraceEvent, legKind: LegKind, t: T): PacketConfig | null {
  if (e.type === 'cni' || e.packet === null) return null;
  const p: Frame | IpPacket = e.packet;
  const l4 = innermostOf(p).l4;
  const what =
    l4.kind === 'tcp'
      ? `TCP [${l4.flags}]`
      : l4.kind === 'udp'
        ? `UDP ${l4.dport}`
        : l4.type === 8
          ? t('canvas.icmpEcho')
          : l4.type === 0
            ? t('canvas.icmpEchoReply')
            : `ICMP ${l4.type}/${l4.code}`;
  const encapsulated = isEncapsulated(p);
  return {
    legKind,
    wrap: encapsulated ? 1 : 0,
    caption: `${t(`canvas.leg.${legKind}`)} · ${encapsulated ? `VXLAN ▸ ${what}` : what}`,
  };
}

/** A rewrite the event makes: NAT by rule or by conntrack, or IPVS forwarding to a real server. */
export function natText(e: TraceEvent): string | null {
  if (e.type !== 'decide') return null;
  const d = e.decision;
  if (d.kind === 'nat') return `${d.how} ${d.field} ${d.before} → ${d.after}`;
  if (d.kind === 'ipvs' && d.action === 'forward' && d.service && d.realServer)
    return `IPVS ${d.service} → ${d.realServer}`;
  return null;
}

function innermostOf(p: Frame | IpPacket): Frame | IpPacket {
  let q: Frame | IpPacket = p;
  while (q.inner) q = q.inner;
  return q;
}
