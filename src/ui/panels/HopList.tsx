// Every event of the trace, in order, grouped by leg: each leg starts with its own header row (what the
// leg is, how many hops, how it ended), and its hops carry the leg's colour. The list stays flat — one
// listitem per event, in order — so "the n-th hop" means the n-th event; the current one is
// aria-current="step", and any row seeks there.
import { memo, useCallback, useEffect, useMemo, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { LegKind, TraceEvent } from '../../engine/trace.ts';
import type { WorldView } from '../../engine/view.ts';
import { useAppState, useCursor, useServices } from '../context.ts';
import type { T } from '../i18n/index.ts';
import {
  eventLine,
  hopGroups,
  legLabel,
  shownNumber,
  SUCCESS_VERDICTS,
  verdictLabel,
  type HopGroup,
} from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function HopList() {
  const { t } = useTranslation();
  const { playback } = useServices();
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const groups = useMemo(() => hopGroups(events), [events]);
  const listRef = useRef<HTMLOListElement>(null);
  // One function for every row, so a row re-renders only when its own props change (two per step, not all).
  const seek = useCallback((index: number) => playback.send({ type: 'seek', index }), [playback]);

  // Keep the current hop in view by scrolling the list itself: scrollIntoView would also scroll the page
  // (on a narrow screen the page scrolls) and pull the picture out of view at every step.
  useEffect(() => {
    const list = listRef.current;
    const li = list?.querySelector<HTMLElement>('[aria-current="step"]');
    if (list && li) return keepInView(list, li);
  }, [cursor, events.length]);

  return (
    <ol className="hops" aria-label={t('hops.label')} ref={listRef}>
      {groups.map((g) =>
        events
          .slice(g.first, g.last + 1)
          .map((e, j) => (
            <Hop
              key={e.seq}
              event={e}
              index={g.first + j}
              view={view}
              group={j === 0 ? g : null}
              legKind={g.kind}
              current={g.first + j === cursor}
              seek={seek}
              t={t}
            />
          )),
      )}
    </ol>
  );
}

/**
 * Scrolls `list` just enough to show `row`. Where the browser has IntersectionObserver, it reports where the
 * row is after the frame's own layout: reading offsetTop here, right after React's commit, would force a
 * layout of the whole page in the playback tick's task, once per hop. Returns a cleanup.
 */
function keepInView(list: HTMLElement, row: HTMLElement): (() => void) | undefined {
  const scrollBy = (rowTop: number, rowBottom: number, top: number, bottom: number) => {
    if (rowTop < top) list.scrollTop -= top - rowTop;
    else if (rowBottom > bottom) list.scrollTop += Math.min(rowBottom - bottom, rowTop - top);
  };
  if (typeof IntersectionObserver === 'undefined') {
    // (jsdom) The list is the rows' offsetParent (position: relative).
    scrollBy(
      row.offsetTop,
      row.offsetTop + row.offsetHeight,
      list.scrollTop,
      list.scrollTop + list.clientHeight,
    );
    return undefined;
  }
  const io = new IntersectionObserver(
    ([entry]) => {
      io.disconnect();
      if (!entry || entry.intersectionRatio >= 1 || !entry.rootBounds) return;
      const r = entry.boundingClientRect;
      scrollBy(r.top, r.bottom, entry.rootBounds.top, entry.rootBounds.bottom);
    },
    { root: list, threshold: 1 },
  );
  io.observe(row);
  return () => io.disconnect();
}

/** "leg 2 · 48 hops · delivered" for a leg's header row. */
function groupInfo(g: HopGroup, t: T): string {
  const end = g.verdict ? verdictLabel(g.verdict.kind, t).toLowerCase() : t('verdict.inFlightLower');
  return t('hops.group', { leg: shownNumber(g.leg), count: g.last - g.first + 1, end });
}

const Hop = memo(function Hop(props: {
  event: TraceEvent;
  index: number;
  view: WorldView | null;
  /** Set on a leg's first row: the leg it heads. */
  group: HopGroup | null;
  legKind: LegKind;
  current: boolean;
  seek: (index: number) => void;
  /** The language's messages (a prop, so the memoised row re-renders when the language changes). */
  t: T;
}) {
  const { event: e, index, view, group, legKind, current, seek, t } = props;
  const { where, what } = eventLine(e, view, t);
  const verdict =
    e.type === 'verdict' ? (SUCCESS_VERDICTS.has(e.verdict.kind) ? ' hop--ok' : ' hop--bad') : '';
  return (
    <li
      className={`hop hop--${e.type} leg--${legKind}${verdict}`}
      aria-current={current ? 'step' : undefined}
      data-leg={e.leg}
    >
      <button type="button" onClick={() => seek(index)}>
        {/* Spaces between the grid cells keep the accessible name readable ("12 node-1 eth0 → out"). */}
        <span className="hop-seq">{shownNumber(e.seq)}</span> <span className="hop-where">{where}</span>{' '}
        {e.type === 'cni' ? (
          // A CNI step: who acts, the command a person would type, and why.
          <span className="hop-what hop-cni">
            <span className="hop-actor">{e.actor}</span> <code className="hop-shell">{e.shell}</code>{' '}
            <span className="hop-why">{e.why}</span>
          </span>
        ) : (
          <span className="hop-what">{what}</span>
        )}
        {group ? (
          <>
            {' '}
            <span className="hop-group">
              {legLabel(group.kind, t)} · {groupInfo(group, t)}
            </span>
          </>
        ) : null}
      </button>
    </li>
  );
});
