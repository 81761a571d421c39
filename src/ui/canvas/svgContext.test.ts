// @vitest-environment jsdom
// The SVG stand-in for the canvas: what the drawing calls become (transformed paths, escaped text, fonts,
// alignment, dashes, shadows), and the whole picture drawn by drawTopology/drawPacket into it — a
// well-formed SVG document with every device's name as text.
import { describe, expect, it } from 'vitest';
import { layoutWorld } from '../layout.ts';
import { fixtureWorld } from '../testWorld.ts';
import { drawPacket, drawProgress } from './drawPacket.ts';
import { drawTopology, MONO, type View } from './drawTopology.ts';
import { estimateText, parseFont, SvgContext, svgDocument } from './svgContext.ts';

const parse = (svg: string): Document => {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  expect(doc.querySelector('parsererror')).toBeNull();
  return doc;
};

describe('SvgContext', () => {
  it('transforms points as they are added, and scales widths, radii and dashes', () => {
    const c = new SvgContext(200, 100);
    c.setTransform(2, 0, 0, 2, 10, 20);
    c.beginPath();
    c.moveTo(0, 0);
    c.lineTo(5, 5);
    c.lineWidth = 1.5;
    c.setLineDash([2, 3]);
    c.lineCap = 'round';
    c.strokeStyle = '#2563eb';
    c.stroke();
    c.beginPath();
    c.roundRect(0, 0, 10, 4, 1);
    c.fillStyle = '#fff';
    c.globalAlpha = 0.5;
    c.fill();
    expect(c.body().split('\n')).toEqual([
      '<path d="M10 20L20 30" fill="none" stroke="#2563eb" stroke-width="3" stroke-linecap="round" stroke-dasharray="4 6"/>',
      '<path d="M12 20h16a2 2 0 0 1 2 2v4a2 2 0 0 1 -2 2h-16a2 2 0 0 1 -2 -2v-4a2 2 0 0 1 2 -2Z" fill="#fff" opacity="0.5"/>',
    ]);
  });

  it('writes text as <text>, escaped, with the font, alignment and baseline; narrows it to maxWidth', () => {
    const c = new SvgContext(200, 100, estimateText);
    c.translate(5, 5);
    c.font = `italic 600 11px ${MONO}`;
    c.textAlign = 'center';
    c.textBaseline = 'middle';
    c.fillStyle = '#1d2530';
    c.fillText('<eth0> & "x"', 10, 10);
    c.fillText('a-very-long-device-name', 10, 30, 40);
    const [plain, narrowed] = c.body().split('\n');
    expect(plain).toBe(
      `<text x="15" y="15" font-size="11" font-family="&#39;DejaVu Sans Mono&#39;, ui-monospace, Menlo, Consolas, monospace" ` +
        `font-weight="600" font-style="italic" text-anchor="middle" dominant-baseline="central" fill="#1d2530">` +
        '&#60;eth0&#62; &#38; &#34;x&#34;</text>',
    );
    expect(narrowed).toContain('textLength="40" lengthAdjust="spacingAndGlyphs"');
    const doc = parse(
      svgDocument({ width: 200, height: 100, background: '#fff', title: 'a <b>', layers: [c.body()] }),
    );
    expect([...doc.querySelectorAll('text')].map((t) => t.textContent)).toEqual([
      '<eth0> & "x"',
      'a-very-long-device-name',
    ]);
    expect(doc.querySelector('title')!.textContent).toBe('a <b>');
  });

  it("places text on the measurer's alphabetic baseline, scaled with the transform, when it knows it", () => {
    // A measurer that says "middle" lies 4 font pixels above the alphabetic baseline (a canvas's TextMetrics).
    const c = new SvgContext(200, 100, {
      width: estimateText.width,
      alphabeticBelow: (_font, baseline) =>
        baseline === 'middle' ? 4 : baseline === 'alphabetic' ? 0 : null,
    });
    c.setTransform(2, 0, 0, 2, 0, 0);
    c.font = `10px ${MONO}`;
    c.textBaseline = 'middle';
    c.fillText('eth0', 10, 10);
    c.textBaseline = 'top';
    c.fillText('cni0', 10, 10);
    const [middle, top] = c.body().split('\n');
    expect(middle).toContain('x="20" y="28"');
    expect(middle).not.toContain('dominant-baseline');
    // Unknown to the measurer: left to the SVG renderer.
    expect(top).toContain('y="20"');
    expect(top).toContain('dominant-baseline="text-before-edge"');
  });

  it('save/restore, a full clear forgets the layer, a shadow becomes a filter', () => {
    const c = new SvgContext(100, 100);
    c.save();
    c.fillStyle = '#f00';
    c.restore();
    expect(c.fillStyle).toBe('#000');
    c.rect(0, 0, 1, 1);
    c.fill();
    c.clearRect(0, 0, 100, 100);
    expect(c.body()).toBe('');
    c.shadowColor = 'rgb(0 0 0 / 15%)';
    c.shadowBlur = 3;
    c.beginPath();
    c.arc(50, 50, 10, 0, Math.PI * 2);
    c.fill();
    expect(c.body()).toContain(
      '<feDropShadow dx="0" dy="0" stdDeviation="1.5" flood-color="rgb(0 0 0 / 15%)"/>',
    );
    expect(c.body()).toMatch(
      /<path d="M60 50A10 10 0 0 1 40 50A10 10 0 0 1 60 50" fill="#000" filter="url\(#pw-shadow-0\)"\/>/,
    );
  });

  it('reads the canvas font shorthand the picture uses', () => {
    expect(parseFont('600 14px system-ui, sans-serif')).toEqual({
      style: 'normal',
      weight: '600',
      size: 14,
      family: 'system-ui, sans-serif',
    });
    expect(parseFont('italic 11px monospace')).toMatchObject({ style: 'italic', size: 11 });
    expect(parseFont('large')).toBeNull();
  });
});

describe('the picture drawn into it', () => {
  const layout = layoutWorld(fixtureWorld([2, 1], { internet: true }));
  const k = 1;
  const v: View = { k, x0: 0, y0: 0, width: layout.width, height: layout.height };

  it('is a well-formed SVG with every device, namespace and the packet as it is on the canvas', () => {
    const still = new SvgContext(v.width, v.height);
    drawTopology(still, layout, v);
    const moving = new SvgContext(v.width, v.height, estimateText, 'moving');
    const client = layout.devices.get('pod/default/p1-1|eth0')!;
    drawProgress(moving, v, {
      trail: [],
      ahead: [],
      legKind: 'request',
      visited: [client],
      current: client,
      selected: null,
      markers: [{ key: 'v1', kind: 'dropped', point: { x: 100, y: 100 }, text: 'no route to <10.0.0.9>' }],
    });
    drawPacket(
      moving,
      client.center,
      { legKind: 'request', wrap: 0, caption: 'request · TCP [S]' },
      {
        text: 'DNAT dst 10.96.0.10:53 → 10.244.2.2:53',
        strength: 1,
        box: { x: 10, y: 10, width: 200, height: 22 },
      },
    );
    const doc = parse(
      svgDocument({
        width: v.width,
        height: v.height,
        background: '#fbfcfd',
        title: 'Packet Walk',
        layers: [still.body(), moving.body()],
      }),
    );
    const texts = new Set([...doc.querySelectorAll('text')].map((t) => t.textContent));
    for (const d of layout.devices.values()) expect(texts, d.key).toContain(d.name);
    for (const n of layout.namespaces.values()) expect(texts, n.id).toContain(n.title);
    expect(texts).toContain('request · TCP [S]');
    expect(texts).toContain('DNAT dst 10.96.0.10:53 → 10.244.2.2:53');
    expect([...texts].join(' ')).toContain('<10.0.0.9>');
    // One path per style of box, not one per box: the document stays small for 1,000 pods.
    expect(doc.querySelectorAll('path').length).toBeLessThan(60);
  });
});
