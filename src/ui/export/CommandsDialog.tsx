// "Show the commands": the shell script that builds the current scenario (with the toggles' overrides) in
// Linux network namespaces, as `packet-walk lab` prints it. The worker computes it from the run's world
// (protocol `export` with format `lab-script`); it is shown as text only, with Copy and Download .sh.
import { useEffect, useRef, useState } from 'react';
import { useServices } from '../context.ts';
import { copyText, download } from '../share/browser.ts';

export function CommandsDialog({ onClose, stem }: { onClose: () => void; stem: string }) {
  const { client } = useServices();
  const [script, setScript] = useState<{ text: string } | { error: string } | null>(null);
  const [note, setNote] = useState('');
  const closeRef = useRef<HTMLButtonElement>(null);

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
        <h2 id="commands-title">The commands that build this cluster</h2>
        <p>
          Run as root on a Linux machine with iproute2 (or{' '}
          <code>sudo npx packet-walk lab &lt;scenario&gt; --up</code>
          ): every command acts inside network namespaces named <code>pwlab-…</code>; the last lines say how
          to remove them.
        </p>
        {script === null ? <p role="status">Asking the engine…</p> : null}
        {script && 'error' in script ? <p role="alert">{script.error}</p> : null}
        {text !== null ? (
          <pre className="commands-script" tabIndex={0} aria-label="Shell script">
            {text}
          </pre>
        ) : null}
        <div className="commands-actions">
          <button
            type="button"
            disabled={text === null}
            onClick={() =>
              void copyText(text ?? '').then((ok) => setNote(ok ? 'Commands copied.' : 'Copy failed.'))
            }
          >
            Copy
          </button>
          <button
            type="button"
            disabled={text === null}
            onClick={() => {
              download(new Blob([text ?? ''], { type: 'text/x-shellscript' }), `${stem}.lab.sh`);
              setNote('Script downloaded.');
            }}
          >
            Download .sh
          </button>
          <button type="button" ref={closeRef} onClick={onClose}>
            Close
          </button>
          <span role="status" aria-live="polite">
            {note}
          </span>
        </div>
      </div>
    </div>
  );
}
