// Why this hop: one or two plain sentences on the concept behind the event at the cursor (narration.ts).
// A polite live region while stepping, so a screen reader reads the explanation after each step; silent
// while playing, where it would talk over itself.
import { useTranslation } from 'react-i18next';
import type { TraceEvent } from '../../engine/trace.ts';
import { useAppState, useCursor, useMode } from '../context.ts';
import { narrate } from '../narration.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function NarrationPanel() {
  const { t } = useTranslation();
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const mode = useMode();
  const e = events[cursor];
  const n = e ? narrate(e, { events, index: cursor, view }, t) : null;

  return (
    <section className="narration" aria-labelledby="narration-title">
      <h2 id="narration-title">{t('narrationPanel.title')}</h2>
      <div aria-live={mode === 'playing' ? 'off' : 'polite'} aria-atomic="true">
        {n ? (
          <>
            <p className="narration-concept">{n.concept}</p>
            <p className="narration-text">{n.text}</p>
          </>
        ) : (
          <p className="muted">{t('narrationPanel.empty')}</p>
        )}
      </div>
    </section>
  );
}
