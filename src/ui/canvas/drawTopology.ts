// Draws the static picture of the world into an SVG group with D3 keyed joins (excalidraw's
// renderStaticScene(config), on SVG: the cluster is small). Redrawn only when the layout object changes.
// Every device element carries data-device="<netns>|<device>" so tests and the progress layer find it.
import { line, type Selection } from 'd3';
import type { WorldView } from '../../engine/view.ts';
import type { BusLine, DeviceBox, LinkLine, NetnsBox, Point, WorldLayout } from '../layout.ts';

type G = Selection<SVGGElement, unknown, null, undefined>;

const polyline = line<Point>()
  .x((p) => p.x)
  .y((p) => p.y);

export function drawTopology(root: G, layout: WorldLayout, view: WorldView): void {
  const layer = (name: string): G => {
    const got = root.select<SVGGElement>(`g.layer-${name}`);
    return got.empty() ? root.append('g').attr('class', `layer-${name}`) : got;
  };

  layer('buses')
    .selectAll<SVGGElement, BusLine>('g.bus')
    .data([...layout.buses.values()], (b) => b.id)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'bus');
      g.append('line');
      g.append('text').attr('class', 'bus-label');
      return g;
    })
    .call((g) =>
      g
        .select('line')
        .attr('x1', (b) => b.x1)
        .attr('x2', (b) => b.x2)
        .attr('y1', (b) => b.y)
        .attr('y2', (b) => b.y),
    )
    .call((g) =>
      g
        .select('text')
        .attr('x', (b) => b.x2 - 6)
        .attr('y', (b) => b.y - 7)
        .attr('text-anchor', 'end')
        .text((b) => b.label),
    );

  layer('namespaces')
    .selectAll<SVGGElement, NetnsBox>('g.ns')
    .data([...layout.namespaces.values()], (n) => n.id)
    .join((enter) => {
      const g = enter.append('g');
      g.append('rect').attr('rx', 8);
      g.append('text').attr('class', 'ns-title');
      g.append('text').attr('class', 'ns-sub');
      return g;
    })
    .attr('class', (n) => `ns ns--${n.kind}`)
    .attr('data-netns', (n) => n.id)
    .call((g) =>
      g
        .select('rect')
        .attr('x', (n) => n.x)
        .attr('y', (n) => n.y)
        .attr('width', (n) => n.width)
        .attr('height', (n) => n.height),
    )
    .call((g) =>
      g
        .select('text.ns-title')
        .attr('x', (n) => n.titleAt.x)
        .attr('y', (n) => n.titleAt.y)
        .text((n) => n.title),
    )
    .call((g) =>
      g
        .select('text.ns-sub')
        .attr('x', (n) => n.subtitleAt.x)
        .attr('y', (n) => n.subtitleAt.y)
        .text((n) => n.subtitle),
    );

  layer('links')
    .selectAll<SVGPathElement, LinkLine>('path.link')
    .data(layout.links, (k) => k.key)
    .join('path')
    .attr('class', (k) => `link link--${k.kind}`)
    .attr('d', (k) => polyline(k.points as Point[]));

  const details = new Map<string, (typeof view.namespaces)[number]['devices'][number]>(
    view.namespaces.flatMap((ns) => ns.devices.map((d) => [`${ns.id}|${d.name}`, d] as const)),
  );
  layer('devices')
    .selectAll<SVGGElement, DeviceBox>('g.dev')
    .data([...layout.devices.values()], (d) => d.key)
    .join((enter) => {
      const g = enter.append('g');
      g.append('rect').attr('rx', 4);
      g.append('text');
      g.append('title');
      return g;
    })
    .attr('class', (d) => `dev dev--${d.kind}`)
    .attr('data-device', (d) => d.key)
    .call((g) =>
      g
        .select('rect')
        .attr('x', (d) => d.x)
        .attr('y', (d) => d.y)
        .attr('width', (d) => d.width)
        .attr('height', (d) => d.height),
    )
    .call((g) =>
      g
        .select('text')
        .attr('x', (d) => d.center.x)
        .attr('y', (d) => d.center.y)
        .text((d) => d.name),
    )
    .call((g) =>
      g.select('title').text((d) => {
        const v = details.get(d.key);
        if (!v) return d.name;
        const lines = [`${d.name} (${v.kind}) in ${d.netns}`, `mac ${v.mac}  mtu ${v.mtu}`];
        if (v.addrs.length) lines.push(`inet ${v.addrs.join(', ')}`);
        if (v.master) lines.push(`master ${v.master}`);
        if (v.peer) lines.push(`peer ${v.peer.device} in ${v.peer.netns}`);
        return lines.join('\n');
      }),
    );
}
