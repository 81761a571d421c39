// Share and export: copy the link to this frame, copy an iframe snippet for slides, download the trace as
// JSON and the frame as SVG or PNG. The picture is found through the DOM (browser.ts findTopology): the
// canvas draws the frame again as SVG when asked (browser.ts frameSvgText); when there is no picture the
// image buttons are disabled and say why.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { RunState } from '../store.ts';
import { useAppState, useServices } from '../context.ts';
import { currentLang } from '../i18n/index.ts';
import { shownNumber } from '../present.ts';
import { shareStateOf } from './appLink.ts';
import {
  copyText,
  download,
  findTopology,
  frameSource,
  frameSvgText,
  hasSvg,
  pngOf,
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
  const { t } = useTranslation();
  const { store, playback } = useServices();
  const [note, setNote] = useState('');
  const [source, setSource] = useState<FrameSource>(() => ({ kind: 'none', why: t('share.looking') }));

  // The picture belongs to the canvas module: look for it after each render of ours, cheaply.
  useEffect(() => {
    const look = () => {
      const next = frameSource(findTopology());
      setSource((prev) => (prev.kind === next.kind && hasSvg(prev) === hasSvg(next) ? prev : next));
    };
    look();
    const id = window.setInterval(look, 1000);
    return () => window.clearInterval(id);
  }, []);

  const link = (embed: boolean): string => {
    const state = shareStateOf(store.getState(), playback.getSnapshot().context.cursor, currentLang());
    return shareUrl(window.location.href, state, { embed });
  };
  const stem = (): string => {
    const s = store.getState();
    return fileStem([
      'packet-walk',
      s.walkName ?? s.walk?.to ?? '',
      `hop-${shownNumber(playback.getSnapshot().context.cursor)}`,
    ]);
  };

  const copy = async (text: string, copied: string) => {
    const ok = await copyText(text);
    setNote(ok ? copied : t('share.copyFailed', { text }));
  };

  const exportJson = () => {
    const doc = traceDocument(store.getState().run);
    if (!doc) return;
    download(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }), `${stem()}.trace.json`);
    setNote(t('share.traceDownloaded'));
  };

  const exportSvg = () => {
    const s = store.getState();
    const title = `Packet Walk: ${s.walkName ?? (s.walk ? `${s.walk.from} → ${s.walk.to}` : '')}`;
    const text = frameSvgText(frameSource(findTopology()), title);
    if (text === null) return;
    download(new Blob([text], { type: 'image/svg+xml' }), `${stem()}.svg`);
    setNote(t('share.svgDownloaded'));
  };

  const exportPng = async () => {
    try {
      download(await pngOf(frameSource(findTopology())), `${stem()}.png`);
      setNote(t('share.pngDownloaded'));
    } catch (e) {
      setNote(e instanceof Error ? e.message : String(e));
    }
  };

  const done = useAppState((s) => s.run?.done != null);
  const noImage = source.kind === 'none' ? source.why : undefined;
  const noSvg = hasSvg(source) ? undefined : source.kind === 'canvas' ? t('share.bitmap') : noImage;

  return (
    <div className="share" role="group" aria-label={t('share.group')}>
      <button type="button" onClick={() => void copy(link(false), t('share.linkCopied'))}>
        {t('share.copyLink')}
      </button>
      <button
        type="button"
        onClick={() => void copy(embedSnippet(link(true), 'Packet Walk'), t('share.embedCopied'))}
        title={t('share.embedTitle')}
      >
        {t('share.copyEmbed')}
      </button>
      <button
        type="button"
        onClick={exportJson}
        disabled={!done}
        title={done ? t('share.exportJsonTitle') : t('share.notFinished')}
      >
        {t('share.exportJson')}
      </button>
      <button
        type="button"
        onClick={exportSvg}
        disabled={!hasSvg(source)}
        title={noSvg ?? t('share.exportSvgTitle')}
      >
        {t('share.exportSvg')}
      </button>
      <button
        type="button"
        onClick={() => void exportPng()}
        disabled={source.kind === 'none'}
        title={noImage ?? t('share.exportPngTitle')}
      >
        {t('share.exportPng')}
      </button>
      <span className="share-note" role="status" aria-live="polite">
        {note}
      </span>
    </div>
  );
}
