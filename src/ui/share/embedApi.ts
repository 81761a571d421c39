// The postMessage API a slide deck uses to drive an embedded walk (docs/embedding.md):
//
//   deck ──{type:'packetwalk:step', dir:'forward'|'back'}──▶ frame
//   deck ──{type:'packetwalk:goto', hop:N}─────────────────▶ frame
//   deck ──{type:'packetwalk:play'} / {type:'packetwalk:pause'} / {type:'packetwalk:getState'}──▶ frame
//   deck ◀──{type:'packetwalk:state', hop, hops, playing, complete, verdict}── frame (on every change, and
//                                                                              in answer to each command)
//
// Messages are data from anyone who can reach the window; each is checked for its exact shape and anything
// else is ignored (no reply, no error: other scripts post their own messages to the same window).
import type { PlaybackEvent } from '../playbackMachine.ts';

export type EmbedCommand =
  | { readonly type: 'packetwalk:step'; readonly dir: 'forward' | 'back' }
  | { readonly type: 'packetwalk:goto'; readonly hop: number }
  | { readonly type: 'packetwalk:play' }
  | { readonly type: 'packetwalk:pause' }
  | { readonly type: 'packetwalk:getState' };

/** What the frame reports. */
export interface EmbedState {
  readonly type: 'packetwalk:state';
  /** The current hop: its number in the hop list (0-based). */
  readonly hop: number;
  /** How many hops there are so far. */
  readonly hops: number;
  readonly playing: boolean;
  /** The whole trace is in. */
  readonly complete: boolean;
  /** The verdict headline at this hop ("Delivered", "In flight", …), as the page shows it. */
  readonly verdict: string;
}

/** The command `data` is, or null when it is not exactly one. */
export function parseEmbedCommand(data: unknown): EmbedCommand | null {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const m = data as Record<string, unknown>;
  switch (m['type']) {
    case 'packetwalk:step':
      return m['dir'] === 'forward' || m['dir'] === 'back'
        ? { type: 'packetwalk:step', dir: m['dir'] }
        : null;
    case 'packetwalk:goto': {
      const hop = m['hop'];
      return typeof hop === 'number' && Number.isSafeInteger(hop) && hop >= 0
        ? { type: 'packetwalk:goto', hop }
        : null;
    }
    case 'packetwalk:play':
    case 'packetwalk:pause':
    case 'packetwalk:getState':
      return { type: m['type'] };
    default:
      return null;
  }
}

/** The playback event a command asks for; null for getState (it only asks for a reply). */
export function playbackEventOf(c: EmbedCommand): PlaybackEvent | null {
  switch (c.type) {
    case 'packetwalk:step':
      return c.dir === 'forward' ? { type: 'step' } : { type: 'stepBack' };
    case 'packetwalk:goto':
      return { type: 'seek', index: c.hop };
    case 'packetwalk:play':
      return { type: 'play' };
    case 'packetwalk:pause':
      return { type: 'pause' };
    case 'packetwalk:getState':
      return null;
  }
}

/** The iframe snippet for `url` (an embed link). The URL is attribute-escaped: it holds user text. */
export function embedSnippet(url: string, title: string): string {
  const attr = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return (
    `<iframe src="${attr(url)}" title="${attr(title)}" width="960" height="540" ` +
    `style="border:0" loading="lazy" allow="clipboard-write"></iframe>`
  );
}
