// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { findTopology, frameSource } from './browser.ts';

afterEach(() => {
  document.body.innerHTML = '';
});

describe('finding the picture to export', () => {
  it('says why when there is none', () => {
    expect(frameSource(findTopology())).toMatchObject({
      kind: 'none',
      why: expect.stringMatching(/No topology/),
    });
    document.body.innerHTML = '<div data-testid="topology"><p>text</p></div>';
    expect(frameSource(findTopology())).toMatchObject({
      kind: 'none',
      why: expect.stringMatching(/neither SVG nor/),
    });
  });

  it('prefers data-testid="topology" and takes every canvas layer inside it, in order', () => {
    document.body.innerHTML =
      '<svg class="topology"></svg><div data-testid="topology"><canvas id="a"></canvas><canvas id="b"></canvas></div>';
    const s = frameSource(findTopology());
    expect(s.kind).toBe('canvas');
    if (s.kind === 'canvas') expect(s.canvases.map((c) => c.id)).toEqual(['a', 'b']);
  });

  it('finds an svg.topology, and a canvas.topology', () => {
    document.body.innerHTML = '<svg class="topology"></svg>';
    expect(frameSource(findTopology()).kind).toBe('svg');
    document.body.innerHTML = '<canvas class="topology"></canvas>';
    expect(frameSource(findTopology()).kind).toBe('canvas');
  });
});
