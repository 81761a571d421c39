// The walk as a movie for slides: rendered frame by frame off-screen at a fixed size with the same layout
// kernels and draw functions as the canvas (layout.ts, drawTopology.ts, drawPacket.ts), then encoded as an
// animated GIF (gifenc) or recorded as WebM (MediaRecorder on canvas.captureStream, where the browser has
// them). Rendering yields to the event loop between frames, so the page stays responsive; an AbortSignal
// cancels it.
//
// Frames: one per trace event, held HOLD_MS; between two consecutive hops of a leg the packet moves along
// the hop's path in TWEEN sub-frames. A caption band at the bottom says where the packet is and what happens.
import { applyPalette, GIFEncoder, quantize } from 'gifenc';
import type { TraceEvent } from '../../engine/trace.ts';
import type { WorldView } from '../../engine/view.ts';
import { drawPacket, drawProgress, flashBox } from '../canvas/drawPacket.ts';
import { drawTopology, SANS, type View } from '../canvas/drawTopology.ts';
import { natText, packetConfig, progressOf } from '../canvas/TopologyCanvas.tsx';
import {
  anchorsFor,
  collapseByDefault,
  collapsedNodes,
  hopPath,
  involvedNodes,
  layoutWorldCached,
  pointAlong,
} from '../layout.ts';
import { currentT, type T } from '../i18n/index.ts';
import { eventLine, legKinds } from '../present.ts';

/** 16:9 at a size that reads on a projector and keeps a GIF of a 100-event walk to a few MB. */
export const MOVIE_SIZE = { width: 960, height: 540 } as const;
/** How long each event's frame stays. */
export const HOLD_MS = 700;
/** Sub-frames of the packet moving along a hop, and how long each shows. */
const TWEEN = 3;
const TWEEN_MS = 80;
/** The caption band under the picture. */
const CAPTION_H = 36;

export interface MovieSource {
  readonly view: WorldView;
  readonly events: readonly TraceEvent[];
}

export interface MovieOptions {
  /** The language of the captions and labels (default: the UI's language when rendering starts). */
  readonly translate?: T;
  readonly width?: number;
  readonly height?: number;
  /** Called after each rendered frame (`done` of `total`). */
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** One frame of the movie: which event, where the packet is along the hop (1 = arrived), how long it shows. */
interface Shot {
  readonly cursor: number;
  readonly t: number;
  readonly delay: number;
}

function abortError(): Error {
  return new DOMException('The export was cancelled.', 'AbortError');
}

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function makeCanvas(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

function context(c: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = c.getContext('2d');
  if (!ctx) throw new Error('This browser cannot draw on a canvas, so the walk cannot be rendered.');
  return ctx;
}

/**
 * Renders the walk frame by frame onto one canvas and calls `frame` after each, with how long that frame
 * shows. Pure with respect to the app: reads only `source`; must not read the store.
 */
export async function renderWalk(
  source: MovieSource,
  options: MovieOptions,
  frame: (canvas: HTMLCanvasElement, ctx: CanvasRenderingContext2D, delay: number) => void | Promise<void>,
): Promise<void> {
  const tr = options.translate ?? currentT;
  const width = options.width ?? MOVIE_SIZE.width;
  const height = options.height ?? MOVIE_SIZE.height;
  const { view, events } = source;
  const involved = involvedNodes(view, events);
  const layout = layoutWorldCached(view, {
    collapsed: collapsedNodes(view, involved, collapseByDefault(view)),
  });
  const anchors = anchorsFor(events, layout);
  const legs = legKinds(events);

  const pictureH = height - CAPTION_H;
  const pad = 16;
  const k = Math.min((width - 2 * pad) / layout.width, (pictureH - 2 * pad) / layout.height);
  const v: View = {
    k,
    x0: (width - layout.width * k) / 2,
    y0: (pictureH - layout.height * k) / 2,
    width,
    height: pictureH,
  };
  const still = makeCanvas(width, pictureH);
  drawTopology(context(still), layout, v);
  const moving = makeCanvas(width, pictureH);
  const movingCtx = context(moving);
  const out = makeCanvas(width, height);
  const ctx = context(out);

  const shots: Shot[] = [];
  events.forEach((e, i) => {
    const prev = events[i - 1];
    if (prev && prev.leg === e.leg && anchors[i - 1] && anchors[i] && e.type === 'observe')
      for (let s = 1; s <= TWEEN; s++) shots.push({ cursor: i, t: s / (TWEEN + 1), delay: TWEEN_MS });
    shots.push({ cursor: i, t: 1, delay: HOLD_MS });
  });

  for (let n = 0; n < shots.length; n++) {
    if (options.signal?.aborted) throw abortError();
    const { cursor, t, delay } = shots[n]!;
    const e = events[cursor]!;
    const legKind = legs.get(e.leg) ?? 'request';
    drawProgress(movingCtx, v, progressOf(events, anchors, layout, cursor, legKind, null, tr));
    const to = anchors[cursor];
    const from = anchors[cursor - 1];
    if (to) {
      const at = t < 1 && from ? pointAlong(hopPath(layout, from, to), t) : to.point;
      const nat = natText(e);
      const packet = packetConfig(e, legKind, tr);
      if (packet)
        drawPacket(
          movingCtx,
          at,
          packet,
          nat && t === 1
            ? { text: nat, strength: 1, box: flashBox(movingCtx, layout, at, nat, packet) }
            : null,
        );
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.drawImage(still, 0, 0);
    ctx.drawImage(moving, 0, 0);
    ctx.fillStyle = '#1d2530';
    ctx.fillRect(0, pictureH, width, CAPTION_H);
    const line = eventLine(e, view, tr);
    ctx.fillStyle = '#ffffff';
    ctx.font = `15px ${SANS}`;
    ctx.textBaseline = 'middle';
    const caption = `${cursor + 1}/${events.length}  ${line.where} · ${line.what}`;
    ctx.fillText(caption.length > 120 ? `${caption.slice(0, 119)}…` : caption, 12, pictureH + CAPTION_H / 2);
    await frame(out, ctx, delay);
    options.onProgress?.(n + 1, shots.length);
    await nextTask();
  }
}

/** The walk as an animated GIF89a (one palette per frame, looping forever). */
export async function encodeGif(source: MovieSource, options: MovieOptions = {}): Promise<Uint8Array> {
  const gif = GIFEncoder();
  await renderWalk(source, options, (canvas, ctx, delay) => {
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const palette = quantize(data, 256);
    gif.writeFrame(applyPalette(data, palette), canvas.width, canvas.height, { palette, delay });
  });
  gif.finish();
  return gif.bytes();
}

/** The WebM type this browser records, or null when it cannot record a canvas (the button is hidden). */
export function webmType(): string | null {
  if (typeof MediaRecorder === 'undefined' || typeof HTMLCanvasElement === 'undefined') return null;
  if (typeof HTMLCanvasElement.prototype.captureStream !== 'function') return null;
  return (
    ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'].find((t) =>
      MediaRecorder.isTypeSupported(t),
    ) ?? null
  );
}

/** The walk recorded as WebM in real time (the movie's length: each frame is held for its delay). */
export async function recordWebm(source: MovieSource, options: MovieOptions = {}): Promise<Blob> {
  const type = webmType();
  if (!type) throw new Error('This browser cannot record a canvas as WebM.');
  let recorder: MediaRecorder | null = null;
  let track: CanvasCaptureMediaStreamTrack | null = null;
  const chunks: Blob[] = [];
  let stopped: Promise<void> | null = null;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    await renderWalk(source, options, async (canvas, _ctx, delay) => {
      if (!recorder) {
        // Frames are pushed by requestFrame, so the video has exactly the frames drawn.
        const stream = canvas.captureStream(0);
        track = stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack;
        recorder = new MediaRecorder(stream, { mimeType: type });
        recorder.ondataavailable = (e) => {
          if (e.data.size > 0) chunks.push(e.data);
        };
        const r = recorder;
        stopped = new Promise((resolve) => (r.onstop = () => resolve()));
        recorder.start();
      }
      track?.requestFrame();
      await sleep(delay);
    });
  } finally {
    const r = recorder as MediaRecorder | null;
    if (r && r.state !== 'inactive') r.stop();
    if (stopped) await stopped;
  }
  return new Blob(chunks, { type: 'video/webm' });
}
