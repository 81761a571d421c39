// The layers that change with the cursor: the current leg's trail, which devices the packet has visited,
// verdict markers, and the packet itself (an envelope; an encapsulated packet is an envelope inside an
// envelope). Cheap to redraw on every cursor move; the topology underneath is not touched.
import { line, select, type Selection } from 'd3';
import type { LegKind, VerdictKind } from '../../engine/trace.ts';
import type { Point } from '../layout.ts';

type G = Selection<SVGGElement, unknown, null, undefined>;

const polyline = line<Point>()
  .x((p) => p.x)
  .y((p) => p.y);

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
  readonly legKind: LegKind;
  /** Device keys the packet has been observed on in this leg, and the one it is on now. */
  readonly visited: ReadonlySet<string>;
  readonly current: string | null;
  readonly selected: string | null;
  readonly markers: readonly Marker[];
}

/** Draws the trail and markers into `root` and marks devices under `devices` (from drawTopology). */
export function drawProgress(root: G, devices: G, cfg: ProgressConfig): void {
  root
    .selectAll<SVGPathElement, readonly Point[]>('path.trail')
    .data(cfg.trail.length > 1 ? [cfg.trail] : [])
    .join('path')
    .attr('class', `trail trail--${cfg.legKind}`)
    .attr('d', (pts) => polyline(pts as Point[]));

  devices
    .selectAll<SVGGElement, unknown>('g.dev')
    .classed('is-visited', function () {
      return cfg.visited.has(this.getAttribute('data-device') ?? '');
    })
    .classed('is-current', function () {
      return this.getAttribute('data-device') === cfg.current;
    })
    .classed('is-selected', function () {
      return this.getAttribute('data-device') === cfg.selected;
    });

  root
    .selectAll<SVGGElement, Marker>('g.marker')
    .data(cfg.markers, (m) => m.key)
    .join((enter) => {
      const g = enter.append('g');
      g.append('rect').attr('class', 'marker-callout').attr('rx', 4);
      g.append('circle').attr('r', 11);
      g.append('path').attr('class', 'marker-glyph');
      g.append('text').attr('class', 'marker-text');
      return g;
    })
    .attr('class', (m) => `marker marker--${m.kind === 'delivered' ? 'delivered' : 'dropped'}`)
    .attr('transform', (m) => `translate(${m.point.x},${m.point.y})`)
    .call((g) =>
      g
        .select('path')
        .attr('d', (m) => (m.kind === 'delivered' ? 'M-5,0 L-1,4 L6,-4' : 'M-4,-4 L4,4 M4,-4 L-4,4')),
    )
    .call((g) =>
      g
        .select<SVGTextElement>('text')
        .attr('x', 16)
        .attr('y', 4)
        .selectAll('tspan')
        .data((m) => wrap(m.text, 34))
        .join('tspan')
        .attr('x', 16)
        .attr('dy', (_, i) => (i === 0 ? 0 : 14))
        .text((t) => t),
    )
    // A drop's reason sits on a card so it reads over whatever it covers.
    .each(function (m) {
      const g = select(this);
      const rect = g.select<SVGRectElement>('rect.marker-callout');
      const text = g.select<SVGTextElement>('text').node();
      if (!m.text || !text || typeof text.getBBox !== 'function') {
        rect.attr('display', 'none');
        return;
      }
      const b = text.getBBox();
      rect
        .attr('display', null)
        .attr('x', -16)
        .attr('y', Math.min(-16, b.y - 6))
        .attr('width', b.x + b.width + 8 + 16)
        .attr('height', Math.max(32, b.height + 12));
    });
}

export interface PacketConfig {
  readonly legKind: LegKind;
  readonly encapsulated: boolean;
  /** A few words under the envelope: "TCP [S]", "ICMP echo request", "VXLAN". */
  readonly caption: string;
}

/** Shapes the envelope (not its position). */
export function drawPacket(g: G, cfg: PacketConfig | null): void {
  g.attr('display', cfg ? null : 'none');
  if (!cfg) return;
  g.attr('class', `packet packet--${cfg.legKind}${cfg.encapsulated ? ' packet--encap' : ''}`);
  const shapes = cfg.encapsulated
    ? [
        { cls: 'env env-outer', x: -23, y: -15, w: 46, h: 30 },
        { cls: 'env env-inner', x: -11, y: -5, w: 26, h: 17 },
      ]
    : [{ cls: 'env env-inner', x: -17, y: -11, w: 34, h: 22 }];
  g.selectAll<SVGGElement, (typeof shapes)[number]>('g.env')
    .data(shapes)
    .join((enter) => {
      const e = enter.append('g');
      e.append('rect').attr('rx', 2);
      e.append('path');
      return e;
    })
    .attr('class', (s) => s.cls)
    .call((e) =>
      e
        .select('rect')
        .attr('x', (s) => s.x)
        .attr('y', (s) => s.y)
        .attr('width', (s) => s.w)
        .attr('height', (s) => s.h),
    )
    .call((e) =>
      e
        .select('path')
        .attr('d', (s) => `M${s.x},${s.y} L${s.x + s.w / 2},${s.y + s.h * 0.55} L${s.x + s.w},${s.y}`),
    );
  // The caption sits to the right: above and below are the titles and devices of the namespace.
  g.selectAll<SVGTextElement, string>('text.packet-caption')
    .data([cfg.caption])
    .join('text')
    .attr('class', 'packet-caption')
    .attr('x', cfg.encapsulated ? 28 : 22)
    .attr('y', 0)
    .text((t) => t);
}

export function placePacket(g: G, p: Point): void {
  g.attr('transform', `translate(${p.x},${p.y})`);
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
