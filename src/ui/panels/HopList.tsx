// Every event of the trace, in order, grouped by leg (each leg starts with its own header row); the
// current one is aria-current="step", and any row seeks there.
import { memo, useEffect, useMemo, useRef } from 'react';
import type { LegKind, TraceEvent } from '../../engine/trace.ts';
import type { WorldView } from '../../engine/view.ts';
import { useAppState, useCursor, useServices } from '../context.ts';
import { eventLine, legKinds } from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function HopList() {
  const { playback } = useServices();
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const legs = useMemo(() => legKinds(events), [events]);
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    const li = listRef.current?.querySelector<HTMLElement>('[aria-current="step"]');
    li?.scrollIntoView?.({ block: 'nearest' });
  }, [cursor, events.length]);

  return (
    <ol className="hops" aria-label="Hops" ref={listRef}>
      {events.map((e, i) => (
        <Hop
          key={e.seq}
          event={e}
          index={i}
          view={view}
          legKind={legs.get(e.leg) ?? 'request'}
          current={i === cursor}
          seek={(index) => playback.send({ type: 'seek', index })}
        />
      ))}
    </ol>
  );
}

const Hop = memo(function Hop(props: {
  event: TraceEvent;
  index: number;
  view: WorldView | null;
  legKind: LegKind;
  current: boolean;
  seek: (index: number) => void;
}) {
  const { event: e, index, view, legKind, current, seek } = props;
  const { where, what } = eventLine(e, view);
  const verdict = e.type === 'verdict' ? (e.verdict.kind === 'delivered' ? ' hop--ok' : ' hop--bad') : '';
  return (
    <li
      className={`hop hop--${e.type} leg--${legKind}${verdict}`}
      aria-current={current ? 'step' : undefined}
    >
      <button type="button" onClick={() => seek(index)}>
        {/* Spaces between the grid cells keep the accessible name readable ("12 node-1 eth0 → out"). */}
        <span className="hop-seq">{e.seq}</span> <span className="hop-where">{where}</span>{' '}
        <span className="hop-what">{what}</span>
      </button>
    </li>
  );
});
