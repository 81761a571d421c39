// Share and export: copy the link to this frame, copy an iframe snippet for slides, download the trace as
// JSON and the frame as SVG or PNG. The picture is found through the DOM (browser.ts findTopology); when
// there is none the image buttons are disabled and say why.
import { useEffect, useState } from 'react';
import type { RunState } from '../store.ts';
import { useAppState, useServices } from '../context.ts';
import { shareStateOf } from './appLink.ts';
import {
  copyText,
  download,
  findTopology,
  frameSource,
  pngOf,
  svgText,
  type FrameSource,
} from './browser.ts';
import { embedSnippet } from './embedApi.ts';
import { shareUrl } from './urlState.ts';

/** The trace as docs/trace-format.md describes it (the summary and the events), or null before it is done. */
export function traceDocument(run: RunState | null): object | null {
  if (!run?.done) return null;
  const { eventCount: _count, ...summary } = run.done;
  return { ...summary, events: run.events };
}

/** A file name from the walk: letters, digits and dashes only. */
export function fileStem(parts: readonly string[]): string {
  const stem = parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return stem || 'packet-walk';
}

export function SharePanel() {
  const { store, playback } = useServices();
  const [note, setNote] = useState('');
  const [source, setSource] = useState<FrameSource>({ kind: 'none', why: 'Looking for the picture…' });

  // The picture belongs to the canvas module: look for it after each render of ours, cheaply.
  useEffect(() => {
    const look = () => {
      const next = frameSource(findTopology());
      setSource((prev) => (prev.kind === next.kind ? prev : next));
    };
    look();
    const id = window.setInterval(look, 1000);
    return () => window.clearInterval(id);
  }, []);

  const link = (embed: boolean): string => {
    const state = shareStateOf(store.getState(), playback.getSnapshot().context.cursor);
    return shareUrl(window.location.href, state, { embed });
  };
  const stem = (): string => {
    const s = store.getState();
    return fileStem([
      'packet-walk',
      s.walkName ?? s.walk?.to ?? '',
      `hop-${playback.getSnapshot().context.cursor}`,
    ]);
  };

  const copy = async (text: string, what: string) => {
    const ok = await copyText(text);
    setNote(ok ? `${what} copied.` : `Copy failed; select and copy it by hand: ${text}`);
  };

  const exportJson = () => {
    const doc = traceDocument(store.getState().run);
    if (!doc) return;
    download(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }), `${stem()}.trace.json`);
    setNote('Trace downloaded.');
  };

  const exportSvg = () => {
    const s = frameSource(findTopology());
    if (s.kind !== 'svg') return;
    download(new Blob([svgText(s.svg)], { type: 'image/svg+xml' }), `${stem()}.svg`);
    setNote('Picture downloaded (SVG).');
  };

  const exportPng = async () => {
    try {
      download(await pngOf(frameSource(findTopology())), `${stem()}.png`);
      setNote('Picture downloaded (PNG).');
    } catch (e) {
      setNote(e instanceof Error ? e.message : String(e));
    }
  };

  const done = useAppState((s) => s.run?.done != null);
  const noImage = source.kind === 'none' ? source.why : undefined;
  const noSvg = source.kind === 'canvas' ? 'The picture is a bitmap canvas: export it as PNG.' : noImage;

  return (
    <div className="share" role="group" aria-label="Share and export">
      <button type="button" onClick={() => void copy(link(false), 'Link')}>
        Copy link
      </button>
      <button
        type="button"
        onClick={() => void copy(embedSnippet(link(true), 'Packet Walk'), 'Embed code')}
        title="An <iframe> for slides: the picture, compact controls and the verdict"
      >
        Copy embed code
      </button>
      <button
        type="button"
        onClick={exportJson}
        disabled={!done}
        title={done ? 'The trace as JSON (docs/trace-format.md)' : 'The walk has not finished yet'}
      >
        Export JSON
      </button>
      <button
        type="button"
        onClick={exportSvg}
        disabled={source.kind !== 'svg'}
        title={noSvg ?? 'This frame as SVG'}
      >
        Export SVG
      </button>
      <button
        type="button"
        onClick={() => void exportPng()}
        disabled={source.kind === 'none'}
        title={noImage ?? 'This frame as PNG'}
      >
        Export PNG
      </button>
      <span className="share-note" role="status" aria-live="polite">
        {note}
      </span>
    </div>
  );
}
