// Draws the static picture of the world on a 2D canvas (excalidraw's renderStaticScene(config)) — or on
// svgContext.ts's stand-in, for the SVG export: buses, namespace boxes, links, devices and the stages
// (routing table, netfilter). Redrawn only when the layout, the zoom or the size changes — never per
// animation frame — and only what is on screen, with text left out when it would be too small to read, so a
// 1,000-pod cluster stays cheap to pan.
import type { DeviceBox, NetnsBox, WorldLayout } from '../layout.ts';
import type { Draw2D } from './svgContext.ts';

/** The picture's colours (the same as styles.css's custom properties; a canvas cannot read `var()`). */
export const INK = {
  ink: '#1d2530',
  muted: '#5f6b7a',
  bus: '#8794a6',
  link: '#98a4b5',
  nsStroke: '#b7c1ce',
  node: '#eef2f7',
  nodeCollapsed: '#e6ebf2',
  pod: '#ffffff',
  host: '#f7f3ea',
  dev: '#ffffff',
  devStroke: '#7d8a9c',
  bridge: '#f1f5fb',
  encap: '#7c3aed',
  encapSoft: '#ede4ff',
  stage: '#fff8e6',
  stageStroke: '#c9a44a',
} as const;

export const MONO = "'DejaVu Sans Mono', ui-monospace, Menlo, Consolas, monospace";
export const SANS = 'system-ui, -apple-system, "Segoe UI", sans-serif';

/** Screen pixels per user unit below which labels are not drawn (11-unit text would be under 4 px). */
const MIN_TEXT_SCALE = 0.36;

/** Layout units → canvas pixels: x' = k·x + x0, y' = k·y + y0 (fit, zoom and devicePixelRatio together). */
export interface View {
  readonly k: number;
  readonly x0: number;
  readonly y0: number;
  /** The canvas's size in pixels. */
  readonly width: number;
  readonly height: number;
}

export function applyView(ctx: Draw2D, v: View): void {
  ctx.setTransform(v.k, 0, 0, v.k, v.x0, v.y0);
}

/** The part of the layout on screen, in layout units (with a margin for strokes). */
function visibleRect(v: View): { x1: number; y1: number; x2: number; y2: number } {
  const pad = 20;
  return {
    x1: -v.x0 / v.k - pad,
    y1: -v.y0 / v.k - pad,
    x2: (v.width - v.x0) / v.k + pad,
    y2: (v.height - v.y0) / v.k + pad,
  };
}

export function roundRect(ctx: Draw2D, x: number, y: number, w: number, h: number, r: number) {
  ctx.beginPath();
  ctx.roundRect(x, y, w, h, r);
}

export function drawTopology(ctx: Draw2D, layout: WorldLayout, v: View): void {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, v.width, v.height);
  applyView(ctx, v);
  const vis = visibleRect(v);
  const onScreen = (r: { x: number; y: number; width: number; height: number }) =>
    r.x + r.width >= vis.x1 && r.x <= vis.x2 && r.y + r.height >= vis.y1 && r.y <= vis.y2;
  const text = v.k >= MIN_TEXT_SCALE;
  ctx.lineJoin = 'round';

  // Buses: every stretch, and the trunk that joins them.
  ctx.strokeStyle = INK.bus;
  ctx.lineWidth = 4;
  ctx.lineCap = 'round';
  for (const b of layout.buses.values()) {
    ctx.beginPath();
    for (const s of b.branches) {
      ctx.moveTo(s.x1, s.y);
      ctx.lineTo(s.x2, s.y);
    }
    if (b.trunkX !== null && b.branches.length > 1) {
      ctx.moveTo(b.trunkX, b.branches[0]!.y);
      ctx.lineTo(b.trunkX, b.branches[b.branches.length - 1]!.y);
    }
    ctx.stroke();
  }
  if (text) {
    ctx.fillStyle = INK.muted;
    ctx.font = `12px ${SANS}`;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'alphabetic';
    for (const b of layout.buses.values()) ctx.fillText(b.label, b.x2 - 6, b.y - 7);
  }

  // Namespaces: one path per style (a fill and a stroke per style, not per box, keeps 1,000 pods cheap).
  const nsStyles: [fill: string, dashed: boolean, pick: (n: NetnsBox) => boolean][] = [
    [INK.node, false, (n) => n.kind === 'node' && !n.collapsed],
    [INK.nodeCollapsed, true, (n) => n.kind === 'node' && n.collapsed],
    [INK.pod, false, (n) => n.kind === 'pod'],
    [INK.host, false, (n) => n.kind === 'host'],
  ];
  ctx.lineWidth = 1.2;
  ctx.strokeStyle = INK.nsStroke;
  for (const [fill, dashed, pick] of nsStyles) {
    ctx.beginPath();
    for (const n of layout.namespaces.values())
      if (pick(n) && onScreen(n)) ctx.roundRect(n.x, n.y, n.width, n.height, 8);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.setLineDash(dashed ? [6, 4] : []);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  if (text) {
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (const n of layout.namespaces.values()) {
      if (!onScreen(n)) continue;
      ctx.fillStyle = INK.ink;
      ctx.font = `600 14px ${SANS}`;
      ctx.fillText(n.title, n.titleAt.x, n.titleAt.y, n.width - 8);
      ctx.fillStyle = INK.muted;
      ctx.font = `11px ${MONO}`;
      ctx.fillText(n.subtitle, n.subtitleAt.x, n.subtitleAt.y, n.width - 8);
    }
  }

  // Links: solid veth pairs and wires, dotted bridge ports, dashed VXLAN underlays.
  for (const kind of ['wire', 'veth', 'port', 'underlay'] as const) {
    ctx.beginPath();
    for (const l of layout.links) {
      if (l.kind !== kind) continue;
      const [first, ...rest] = l.points;
      if (!first) continue;
      ctx.moveTo(first.x, first.y);
      for (const p of rest) ctx.lineTo(p.x, p.y);
    }
    ctx.strokeStyle = kind === 'underlay' ? INK.encap : INK.link;
    ctx.globalAlpha = kind === 'underlay' ? 0.7 : 1;
    ctx.lineWidth = kind === 'port' || kind === 'underlay' ? 1.5 : 2;
    ctx.setLineDash(kind === 'port' ? [2, 3] : kind === 'underlay' ? [5, 4] : []);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);

  // Stages: the routing table and netfilter, drawn as the tables they are.
  ctx.beginPath();
  for (const st of layout.stages.values())
    if (onScreen(st)) ctx.roundRect(st.x, st.y, st.width, st.height, 3);
  ctx.fillStyle = INK.stage;
  ctx.fill();
  ctx.strokeStyle = INK.stageStroke;
  ctx.lineWidth = 1;
  ctx.stroke();

  // Devices, one path per style.
  const devStyles: [fill: string, stroke: string, pick: (d: DeviceBox) => boolean][] = [
    [INK.dev, INK.devStroke, (d) => d.kind !== 'bridge' && d.kind !== 'vxlan'],
    [INK.bridge, INK.devStroke, (d) => d.kind === 'bridge'],
    [INK.encapSoft, INK.encap, (d) => d.kind === 'vxlan'],
  ];
  ctx.lineWidth = 1.2;
  for (const [fill, stroke, pick] of devStyles) {
    ctx.beginPath();
    for (const d of layout.devices.values())
      if (pick(d) && onScreen(d)) ctx.roundRect(d.x, d.y, d.width, d.height, 4);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.strokeStyle = stroke;
    ctx.stroke();
  }
  if (text) {
    ctx.font = `11px ${MONO}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillStyle = INK.ink;
    for (const d of layout.devices.values())
      if (onScreen(d)) ctx.fillText(d.name, d.center.x, d.center.y + 0.5, d.width - 6);
    ctx.fillStyle = '#7a5b12';
    ctx.font = `italic 11px ${MONO}`;
    for (const s of layout.stages.values())
      if (onScreen(s))
        ctx.fillText(s.kind === 'routes' ? 'ip route' : 'netfilter', s.center.x, s.center.y + 0.5);
  }
}
