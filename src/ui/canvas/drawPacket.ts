// The layer that changes with the cursor and the animation, on a second canvas above the topology: the
// current leg's trail and the rest of its path, the devices the packet visited, verdict markers (a drop's
// reason on a card where it happened), a NAT rewrite's flash, and the packet itself — an envelope in its
// leg's colour; an encapsulated packet is that envelope inside a VXLAN one. Cheap to redraw every frame:
// a few dozen shapes, whatever the cluster's size.
import type { LegKind, VerdictKind } from '../../engine/trace.ts';
import { placeCard, type Point, type Rect, type WorldLayout } from '../layout.ts';
import { applyView, MONO, roundRect, SANS, type View } from './drawTopology.ts';
import type { Draw2D } from './svgContext.ts';

/** A leg's stroke and fill: request blue, reply green, ICMP error orange, DNS amber (styles.css). */
export const LEG_INK: Readonly<Record<LegKind, { readonly stroke: string; readonly soft: string }>> = {
  request: { stroke: '#2563eb', soft: '#dbe7ff' },
  reply: { stroke: '#0f8a5f', soft: '#d3f2e5' },
  'icmp-error': { stroke: '#c2410c', soft: '#ffe3d1' },
  'dns-query': { stroke: '#b45309', soft: '#fdf0d5' },
  'dns-response': { stroke: '#b45309', soft: '#fdf0d5' },
  // A CNI walk has no packet; its steps highlight the device they touch in the teal of the walk's hop rows.
  'cni-add': { stroke: '#0e7490', soft: '#d5f1f6' },
  'cni-del': { stroke: '#0e7490', soft: '#d5f1f6' },
};
const ENCAP = { stroke: '#7c3aed', soft: '#ede4ff' };
const DROP = '#c81e1e';
const OK = '#0f8a5f';

export interface Marker {
  readonly key: string;
  readonly kind: VerdictKind;
  /** Where the marker's circle goes (the canvas picks a spot clear of the packet). */
  readonly point: Point;
  /** Shown next to a drop; delivered markers have none. */
  readonly text: string;
}

export interface ProgressConfig {
  /** The current leg's path up to the cursor. */
  readonly trail: readonly Point[];
  /** The current leg's whole path (faint), so the walk stands out before the packet gets there. */
  readonly ahead: readonly Point[];
  readonly legKind: LegKind;
  /** Boxes of the devices the packet has been observed on in this leg, the one it is on now, the selected. */
  readonly visited: readonly Rect[];
  readonly current: Rect | null;
  readonly selected: Rect | null;
  readonly markers: readonly Marker[];
}

export interface PacketConfig {
  readonly legKind: LegKind;
  /** How much of the VXLAN envelope is there: 0 none, 1 wrapped (in between while it wraps or unwraps). */
  readonly wrap: number;
  /** A few words beside the envelope: "request · TCP [S]", "reply · VXLAN ▸ TCP [S.]". */
  readonly caption: string;
}

/** A NAT rewrite shown beside the packet: "DNAT dst 10.96.0.10:3306 → 10.244.2.2:3306". */
export interface Flash {
  readonly text: string;
  /** 1 when it appears (a bright, thick-edged label), settling to a steady 0.3 while the hop is shown. */
  readonly strength: number;
  /** Where the card goes (layout units): beside the packet, clear of the labels (flashBox). */
  readonly box: Rect;
}

const FLASH_FONT = `700 12px ${MONO}`;
const CAPTION_FONT = `600 11px ${SANS}`;
/** The card's height, and the space between its edge and the text. */
const FLASH_H = 22;
const FLASH_PAD = 8;

function polyline(ctx: Draw2D, pts: readonly Point[]): void {
  ctx.beginPath();
  const [first, ...rest] = pts;
  if (!first) return;
  ctx.moveTo(first.x, first.y);
  for (const p of rest) ctx.lineTo(p.x, p.y);
}

export function drawProgress(ctx: Draw2D, v: View, cfg: ProgressConfig): void {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, v.width, v.height);
  applyView(ctx, v);
  const ink = LEG_INK[cfg.legKind];
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  if (cfg.ahead.length > 1) {
    polyline(ctx, cfg.ahead);
    ctx.strokeStyle = ink.stroke;
    ctx.globalAlpha = 0.16;
    ctx.lineWidth = 9;
    ctx.stroke();
  }
  if (cfg.trail.length > 1) {
    polyline(ctx, cfg.trail);
    ctx.globalAlpha = 0.5;
    ctx.lineWidth = 5;
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  for (const r of cfg.visited) {
    roundRect(ctx, r.x, r.y, r.width, r.height, 4);
    ctx.strokeStyle = ink.stroke;
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  if (cfg.current) {
    const r = cfg.current;
    roundRect(ctx, r.x, r.y, r.width, r.height, 4);
    ctx.fillStyle = ink.soft;
    ctx.globalAlpha = 0.55;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.strokeStyle = ink.stroke;
    ctx.lineWidth = 3;
    ctx.stroke();
  }
  if (cfg.selected) {
    const r = cfg.selected;
    roundRect(ctx, r.x - 3, r.y - 3, r.width + 6, r.height + 6, 6);
    ctx.strokeStyle = '#1d2530';
    ctx.lineWidth = 2;
    ctx.setLineDash([4, 2]);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const m of cfg.markers) drawMarker(ctx, m);
}

function drawMarker(ctx: Draw2D, m: Marker): void {
  const { x, y } = m.point;
  // A CNI walk's end (configured, removed) is a success like a delivery.
  const delivered = m.kind === 'delivered' || m.kind === 'configured' || m.kind === 'removed';
  const colour = delivered ? OK : DROP;
  if (!delivered && m.text) {
    // The reason on a card, so it reads over whatever it covers; the card grows upward from the mark, away
    // from the packet (which is below it) and its caption.
    const lines = wrap(m.text, 34);
    ctx.font = `600 12px ${SANS}`;
    const w = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 16 + 24;
    const h = Math.max(32, lines.length * 14 + 14);
    const top = y + 16 - h;
    ctx.shadowColor = 'rgb(0 0 0 / 15%)';
    ctx.shadowBlur = 3;
    roundRect(ctx, x - 16, top, w, h, 4);
    ctx.fillStyle = '#fff';
    ctx.fill();
    ctx.shadowBlur = 0;
    ctx.shadowColor = 'transparent';
    ctx.strokeStyle = DROP;
    ctx.lineWidth = 1.2;
    ctx.stroke();
    ctx.fillStyle = DROP;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    lines.forEach((l, i) => ctx.fillText(l, x + 16, top + 19 + i * 14));
  }
  ctx.beginPath();
  ctx.arc(x, y, 11, 0, Math.PI * 2);
  ctx.fillStyle = delivered ? '#e3f6ee' : '#fde2e2';
  ctx.fill();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.beginPath();
  if (delivered) {
    ctx.moveTo(x - 5, y);
    ctx.lineTo(x - 1, y + 4);
    ctx.lineTo(x + 6, y - 4);
  } else {
    ctx.moveTo(x - 4, y - 4);
    ctx.lineTo(x + 4, y + 4);
    ctx.moveTo(x + 4, y - 4);
    ctx.lineTo(x - 4, y + 4);
  }
  ctx.lineWidth = 2.5;
  ctx.stroke();
}

function envelope(ctx: Draw2D, x: number, y: number, w: number, h: number, stroke: string, fill: string) {
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.strokeStyle = stroke;
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x + w / 2, y + h * 0.55);
  ctx.lineTo(x + w, y);
  ctx.lineWidth = 1.5;
  ctx.stroke();
}

/** The envelope at `p` (drawn over whatever the progress layer holds), and a NAT flash beside it. */
export function drawPacket(ctx: Draw2D, p: Point, cfg: PacketConfig, flash: Flash | null): void {
  const ink = LEG_INK[cfg.legKind];
  ctx.save();
  ctx.translate(p.x, p.y);
  const w = cfg.wrap;
  if (w > 0) {
    // The outer (VXLAN) envelope grows around the inner one as it wraps, and shrinks away as it unwraps.
    const s = 0.55 + 0.45 * w;
    ctx.globalAlpha = Math.min(1, 0.25 + w);
    envelope(ctx, -23 * s, -15 * s, 46 * s, 30 * s, ENCAP.stroke, ENCAP.soft);
    ctx.globalAlpha = 1;
  }
  const inner = w > 0 ? 1 - 0.25 * w : 1;
  envelope(ctx, -17 * inner + 3 * w, -11 * inner + 4 * w, 34 * inner, 22 * inner, ink.stroke, ink.soft);
  // The caption sits to the right: above and below are the titles and devices of the namespace.
  ctx.font = CAPTION_FONT;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.lineWidth = 4;
  ctx.strokeStyle = '#fff';
  const cx = captionX(w > 0);
  ctx.strokeText(cfg.caption, cx, 0);
  ctx.fillStyle = '#1d2530';
  ctx.fillText(cfg.caption, cx, 0);
  ctx.restore();
  if (flash && flash.strength > 0) drawFlash(ctx, p, flash);
}

/** Where the caption starts, right of the envelope (a wrapped one is wider). */
const captionX = (wrapped: boolean): number => (wrapped ? 28 : 22);

/**
 * The NAT card's box for a packet at `p`: the text measured with `ctx`, the card placed by layout.ts's
 * placeCard where it hides the fewest labels — device names, namespace titles — and neither the envelope
 * nor its caption.
 */
export function flashBox(
  ctx: Draw2D,
  layout: WorldLayout,
  p: Point,
  text: string,
  packet: PacketConfig,
): Rect {
  ctx.save();
  ctx.font = FLASH_FONT;
  const textWidth = ctx.measureText(text).width;
  ctx.font = CAPTION_FONT;
  const captionWidth = ctx.measureText(packet.caption).width;
  ctx.restore();
  const wrapped = packet.wrap > 0;
  const half = wrapped ? { w: 23, h: 15 } : { w: 17, h: 11 };
  const envelopeBox: Rect = { x: p.x - half.w, y: p.y - half.h, width: 2 * half.w, height: 2 * half.h };
  const captionBox: Rect = {
    x: p.x + captionX(wrapped) - 2,
    y: p.y - 8,
    width: captionWidth + 4,
    height: 16,
  };
  return placeCard(layout, p, textWidth + 2 * FLASH_PAD, FLASH_H, [envelopeBox, captionBox]);
}

function drawFlash(ctx: Draw2D, p: Point, flash: Flash): void {
  const b = flash.box;
  // A thin line to the packet when the card had to move away from it.
  const nearest = {
    x: Math.max(b.x, Math.min(p.x, b.x + b.width)),
    y: Math.max(b.y, Math.min(p.y, b.y + b.height)),
  };
  if (Math.hypot(nearest.x - p.x, nearest.y - p.y) > 34) {
    ctx.beginPath();
    ctx.moveTo(nearest.x, nearest.y);
    ctx.lineTo(p.x, p.y);
    ctx.strokeStyle = '#b45309';
    ctx.lineWidth = 1.2;
    ctx.setLineDash([3, 2]);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  roundRect(ctx, b.x, b.y, b.width, b.height, 4);
  ctx.fillStyle = flash.strength > 0.5 ? '#ffe066' : '#fff6c4';
  ctx.fill();
  ctx.strokeStyle = '#b45309';
  ctx.lineWidth = 1 + 2.5 * flash.strength;
  ctx.stroke();
  ctx.font = FLASH_FONT;
  ctx.fillStyle = '#4a3000';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  ctx.fillText(flash.text, b.x + FLASH_PAD, b.y + b.height / 2 + 0.5);
}

/** A drop's card stays small; the hop list and the verdict banner have the full reason. */
const MAX_LINES = 4;

/** Splits text into lines of at most `width` characters at spaces (long words stay whole). */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let cur = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + word.length > width) {
      out.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) out.push(cur);
  if (out.length <= MAX_LINES) return out;
  const kept = out.slice(0, MAX_LINES);
  kept[MAX_LINES - 1] = `${kept[MAX_LINES - 1]}…`;
  return kept;
}
