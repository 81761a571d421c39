import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { embedSnippet, parseEmbedCommand, playbackEventOf } from './embedApi.ts';

describe('embed API', () => {
  it.each([
    [{ type: 'packetwalk:step', dir: 'forward' }, { type: 'step' }],
    [{ type: 'packetwalk:step', dir: 'back' }, { type: 'stepBack' }],
    [
      { type: 'packetwalk:goto', hop: 7 },
      { type: 'seek', index: 7 },
    ],
    [{ type: 'packetwalk:play' }, { type: 'play' }],
    [{ type: 'packetwalk:pause' }, { type: 'pause' }],
    [{ type: 'packetwalk:getState' }, null],
  ])('%j → %j', (data, event) => {
    const c = parseEmbedCommand(data);
    expect(c).not.toBeNull();
    expect(playbackEventOf(c!)).toEqual(event);
  });

  it('drops extra fields: the command is rebuilt, not passed on', () => {
    expect(parseEmbedCommand({ type: 'packetwalk:play', evil: 1 })).toEqual({ type: 'packetwalk:play' });
  });

  it.each([
    null,
    'packetwalk:play',
    [],
    ['packetwalk:play'],
    {},
    { type: 'packetwalk:step' },
    { type: 'packetwalk:step', dir: 'sideways' },
    { type: 'packetwalk:goto' },
    { type: 'packetwalk:goto', hop: -1 },
    { type: 'packetwalk:goto', hop: 1.5 },
    { type: 'packetwalk:goto', hop: '3' },
    { type: 'packetwalk:goto', hop: Number.NaN },
    { type: 'packetwalk:state', hop: 1 },
    { type: 'PACKETWALK:PLAY' },
    { type: 'webpackOk' },
  ])('ignores junk: %j', (data) => {
    expect(parseEmbedCommand(data)).toBeNull();
  });

  it('never throws, and accepts only the five types (fast-check)', () => {
    fc.assert(
      fc.property(fc.anything(), (data) => {
        const c = parseEmbedCommand(data);
        if (c) expect(c.type).toMatch(/^packetwalk:(step|goto|play|pause|getState)$/);
      }),
    );
  });

  it('escapes the URL and title in the iframe snippet', () => {
    const html = embedSnippet('https://x.test/?embed=1#v=1&from="a"<b>', 'A "walk"');
    expect(html).toContain('src="https://x.test/?embed=1#v=1&amp;from=&quot;a&quot;&lt;b&gt;"');
    expect(html).toContain('title="A &quot;walk&quot;"');
    expect(html.startsWith('<iframe ')).toBe(true);
  });
});
