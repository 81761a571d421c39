// Why this hop: one or two plain sentences on the concept behind the event at the cursor (narration.ts).
// A polite live region while stepping, so a screen reader reads the explanation after each step; silent
// while playing, where it would talk over itself.
import type { TraceEvent } from '../../engine/trace.ts';
import { useAppState, useCursor, useMode } from '../context.ts';
import { narrate } from '../narration.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function NarrationPanel() {
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const mode = useMode();
  const e = events[cursor];
  const n = e ? narrate(e, { events, index: cursor, view }) : null;

  return (
    <section className="narration" aria-labelledby="narration-title">
      <h2 id="narration-title">Why this hop</h2>
      <div aria-live={mode === 'playing' ? 'off' : 'polite'} aria-atomic="true">
        {n ? (
          <>
            <p className="narration-concept">{n.concept}</p>
            <p className="narration-text">{n.text}</p>
          </>
        ) : (
          <p className="muted">Step through the walk to see why each hop happens.</p>
        )}
      </div>
    </section>
  );
}
