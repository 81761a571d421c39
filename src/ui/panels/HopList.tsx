// Every event of the trace, in order, grouped by leg: each leg starts with its own header row (what the
// leg is, how many hops, how it ended), and its hops carry the leg's colour. The list stays flat — one
// listitem per event, in order — so "the n-th hop" means the n-th event; the current one is
// aria-current="step", and any row seeks there.
import { memo, useEffect, useMemo, useRef } from 'react';
import type { LegKind, TraceEvent } from '../../engine/trace.ts';
import type { WorldView } from '../../engine/view.ts';
import { useAppState, useCursor, useServices } from '../context.ts';
import {
  eventLine,
  hopGroups,
  LEG_LABELS,
  SUCCESS_VERDICTS,
  VERDICT_LABELS,
  type HopGroup,
} from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function HopList() {
  const { playback } = useServices();
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const groups = useMemo(() => hopGroups(events), [events]);
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    const li = listRef.current?.querySelector<HTMLElement>('[aria-current="step"]');
    li?.scrollIntoView?.({ block: 'nearest' });
  }, [cursor, events.length]);

  return (
    <ol className="hops" aria-label="Hops" ref={listRef}>
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
              seek={(index) => playback.send({ type: 'seek', index })}
            />
          )),
      )}
    </ol>
  );
}

/** "leg 2 · 48 hops · delivered" for a leg's header row. */
function groupInfo(g: HopGroup): string {
  const hops = g.last - g.first + 1;
  const end = g.verdict ? VERDICT_LABELS[g.verdict.kind].toLowerCase() : 'in flight';
  return `leg ${g.leg} · ${hops} event${hops === 1 ? '' : 's'} · ${end}`;
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
}) {
  const { event: e, index, view, group, legKind, current, seek } = props;
  const { where, what } = eventLine(e, view);
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
        <span className="hop-seq">{e.seq}</span> <span className="hop-where">{where}</span>{' '}
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
              {LEG_LABELS[group.kind]} · {groupInfo(group)}
            </span>
          </>
        ) : null}
      </button>
    </li>
  );
});
