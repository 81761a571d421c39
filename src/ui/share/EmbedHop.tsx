// The current hop in one line, for the embed view (which has no hop list): "#12 node-1 · cni0 → out".
import { useTranslation } from 'react-i18next';
import type { TraceEvent } from '../../engine/trace.ts';
import { useAppState, useCursor } from '../context.ts';
import { eventLine, shownNumber } from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function EmbedHop() {
  const { t } = useTranslation();
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const e = events[cursor];
  if (!e) return <p className="embed-hop" aria-label={t('embed.currentHop')} />;
  const { where, what } = eventLine(e, view, t);
  return (
    <p className="embed-hop" aria-label={t('embed.currentHop')} title={`${where} · ${what}`}>
      <span className="embed-hop-seq">#{shownNumber(e.seq)}</span>{' '}
      <span className="embed-hop-where">{where}</span> · {what}
    </p>
  );
}
