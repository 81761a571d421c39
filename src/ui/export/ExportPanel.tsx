/// <reference types="vite/client" />
// Export beside Share: the walk as a pcapng capture (built by the worker from the trace), the commands that
// build the cluster in network namespaces, and the walk as an animated GIF or WebM for slides (rendered
// off-screen here, frame by frame, with progress and Cancel). WebM is offered only where the browser can
// record a canvas.
import { useRef, useState } from 'react';
import { useAppState, useServices } from '../context.ts';
import { download } from '../share/browser.ts';
import { fileStem } from '../share/SharePanel.tsx';
import { CommandsDialog } from './CommandsDialog.tsx';
import { encodeGif, recordWebm, webmType } from './walkMovie.ts';
import './export.css';
import { useTranslation } from 'react-i18next';

type Job = { kind: 'gif' | 'webm'; done: number; total: number } | null;

export function ExportPanel() {
  const { store, client } = useServices();
  const done = useAppState((s) => s.run?.done != null);
  const [note, setNote] = useState('');
  const [showCommands, setShowCommands] = useState(false);
  const [job, setJob] = useState<Job>(null);
  const abort = useRef<AbortController | null>(null);
  const [webm] = useState(() => webmType());
  const { t } = useTranslation();

  const stem = (): string => {
    const s = store.getState();
    return fileStem(['packet-walk', s.walkName ?? s.walk?.to ?? '']);
  };

  const exportPcapng = async () => {
    try {
      const bytes = await client.exportRun('pcapng');
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      download(new Blob([buffer], { type: 'application/x-pcapng' }), `${stem()}.pcapng`);
      setNote(t('exporter.pcapngDone'));
    } catch (e) {
      setNote(e instanceof Error ? e.message : String(e));
    }
  };

  const exportMovie = async (kind: 'gif' | 'webm') => {
    const run = store.getState().run;
    if (!run?.view || !run.done) return;
    const controller = new AbortController();
    abort.current = controller;
    setJob({ kind, done: 0, total: 0 });
    const source = { view: run.view, events: run.events };
    const options = {
      signal: controller.signal,
      onProgress: (n: number, total: number) => setJob({ kind, done: n, total }),
    };
    try {
      const started = performance.now();
      if (kind === 'gif') {
        const bytes = await encodeGif(source, options);
        const buffer = bytes.buffer.slice(
          bytes.byteOffset,
          bytes.byteOffset + bytes.byteLength,
        ) as ArrayBuffer;
        download(new Blob([buffer], { type: 'image/gif' }), `${stem()}.gif`);
      } else download(await recordWebm(source, options), `${stem()}.webm`);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      setNote(t('exporter.movieDone', { format: kind === 'gif' ? 'GIF' : 'WebM', seconds }));
    } catch (e) {
      setNote(
        e instanceof DOMException && e.name === 'AbortError'
          ? t('exporter.cancelled')
          : e instanceof Error
            ? e.message
            : String(e),
      );
    } finally {
      abort.current = null;
      setJob(null);
    }
  };

  const notDone = done ? undefined : t('exporter.notFinished');
  return (
    <div className="export" role="group" aria-label={t('exporter.group')}>
      <button
        type="button"
        onClick={() => void exportPcapng()}
        disabled={!done}
        title={notDone ?? t('exporter.pcapngTitle')}
      >
        {t('exporter.pcapng')}
      </button>
      <button
        type="button"
        onClick={() => setShowCommands(true)}
        disabled={!done}
        title={notDone ?? t('exporter.commandsTitle')}
      >
        {t('exporter.commands')}
      </button>
      <button
        type="button"
        onClick={() => void exportMovie('gif')}
        disabled={!done || job !== null}
        title={notDone ?? t('exporter.gifTitle')}
      >
        {t('exporter.gif')}
      </button>
      {webm ? (
        <button
          type="button"
          onClick={() => void exportMovie('webm')}
          disabled={!done || job !== null}
          title={notDone ?? t('exporter.webmTitle')}
        >
          {t('exporter.webm')}
        </button>
      ) : null}
      {job ? (
        <span className="export-progress">
          <progress
            max={job.total || 1}
            value={job.done}
            aria-label={t('exporter.rendering', { format: job.kind === 'gif' ? 'GIF' : 'WebM' })}
          />
          <span>
            {job.done}/{job.total || '…'}
          </span>
          <button type="button" onClick={() => abort.current?.abort()}>
            {t('exporter.cancel')}
          </button>
        </span>
      ) : null}
      <span className="export-note" role="status" aria-live="polite">
        {note}
      </span>
      {showCommands ? <CommandsDialog stem={stem()} onClose={() => setShowCommands(false)} /> : null}
    </div>
  );
}
