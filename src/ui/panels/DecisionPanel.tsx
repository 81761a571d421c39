// The decision in force at the cursor (the last decide event of the leg so far): what it looked up, the
// line it printed, and the table it consulted with the matching line marked.
import type { TraceEvent } from '../../engine/trace.ts';
import { useAppState, useCursor } from '../context.ts';
import { DECISION_LABELS, decisionAt, decisionFields, decisionTable, netnsLabel } from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function DecisionPanel() {
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const d = decisionAt(events, cursor);
  const table = d ? decisionTable(d, view) : null;

  return (
    <section className="panel decision" aria-labelledby="decision-title">
      <h2 id="decision-title">Decision</h2>
      {!d ? (
        <p className="muted">No decision yet in this leg.</p>
      ) : (
        <>
          <p className="panel-sub">
            #{d.seq} {netnsLabel(view, d.at.netns)} · {DECISION_LABELS[d.decision.kind]}
            {d.seq !== events[cursor]?.seq ? ' (earlier)' : ''}
          </p>
          <p className="decision-line">
            <code>{d.summary}</code>
          </p>
          {table ? (
            <div className="table">
              <h3>{table.title}</h3>
              <ol className="table-lines">
                {table.lines.map((l, i) => (
                  <li key={`${i}:${l}`} className={i === table.match ? 'match' : undefined}>
                    <code>{l}</code>
                  </li>
                ))}
              </ol>
              {table.lines.length === 0 ? <p className="muted">No static entries.</p> : null}
              {table.match < 0 && table.lines.length > 0 ? (
                <p className="muted">
                  The entry used is not among the static lines (it was learned during the walk).
                </p>
              ) : null}
            </div>
          ) : (
            <dl className="fields">
              {decisionFields(d.decision).map((f) => (
                <div key={f.label}>
                  <dt>{f.label}</dt>
                  <dd>{f.value}</dd>
                </div>
              ))}
            </dl>
          )}
        </>
      )}
    </section>
  );
}
