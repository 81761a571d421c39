// "Show the commands": the shell script that builds the current scenario (with the toggles' overrides) in
// Linux network namespaces, as `packet-walk lab` prints it. The worker computes it from the run's world
// (protocol `export` with format `lab-script`); it is shown as text only, with Copy and Download .sh.
import { useEffect, useRef, useState } from 'react';
import { useServices } from '../context.ts';
import { copyText, download } from '../share/browser.ts';
import { Trans, useTranslation } from 'react-i18next';

export function CommandsDialog({ onClose, stem }: { onClose: () => void; stem: string }) {
  const { client } = useServices();
  const [script, setScript] = useState<{ text: string } | { error: string } | null>(null);
  const [note, setNote] = useState('');
  const closeRef = useRef<HTMLButtonElement>(null);
  const { t } = useTranslation();

  useEffect(() => {
    let live = true;
    client.exportRun('lab-script').then(
      (text) => live && setScript({ text }),
      (e: unknown) => live && setScript({ error: e instanceof Error ? e.message : String(e) }),
    );
    closeRef.current?.focus();
    return () => {
      live = false;
    };
  }, [client]);

  const text = script && 'text' in script ? script.text : null;
  return (
    <div
      className="commands-dialog"
      role="dialog"
      aria-modal="true"
      aria-labelledby="commands-title"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="commands-box">
        <h2 id="commands-title">{t('commands.title')}</h2>
        <p>
          <Trans
            i18nKey="commands.intro"
            components={{
              lab: <code>sudo npx packet-walk lab &lt;scenario&gt; --up</code>,
              prefix: <code>pwlab-…</code>,
            }}
          />
        </p>
        {script === null ? <p role="status">{t('commands.asking')}</p> : null}
        {script && 'error' in script ? <p role="alert">{script.error}</p> : null}
        {text !== null ? (
          <pre className="commands-script" tabIndex={0} aria-label={t('commands.script')}>
            {text}
          </pre>
        ) : null}
        <div className="commands-actions">
          <button
            type="button"
            disabled={text === null}
            onClick={() =>
              void copyText(text ?? '').then((ok) =>
                setNote(ok ? t('commands.copied') : t('commands.copyFailed')),
              )
            }
          >
            {t('commands.copy')}
          </button>
          <button
            type="button"
            disabled={text === null}
            onClick={() => {
              download(new Blob([text ?? ''], { type: 'text/x-shellscript' }), `${stem}.lab.sh`);
              setNote(t('commands.downloaded'));
            }}
          >
            {t('commands.download')}
          </button>
          <button type="button" ref={closeRef} onClick={onClose}>
            {t('commands.close')}
          </button>
          <span role="status" aria-live="polite">
            {note}
          </span>
        </div>
      </div>
    </div>
  );
}
