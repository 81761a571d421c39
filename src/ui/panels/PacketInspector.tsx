// The current event's packet, layer by layer (outer, then inner when encapsulated). Fields that changed
// since the previous observe of the same leg are marked, with the old value.
import { useMemo } from 'react';
import type { TraceEvent } from '../../engine/trace.ts';
import { useAppState, useCursor } from '../context.ts';
import { changedFields, headerLayers, netnsLabel, previousObserved } from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function PacketInspector() {
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const e = events[cursor];
  const layers = useMemo(() => (e ? headerLayers(e.packet) : []), [e]);
  const changed = useMemo(
    () => (e ? changedFields(previousObserved(events, cursor), e.packet) : new Map<string, string | null>()),
    [e, events, cursor],
  );

  return (
    <section className="panel inspector" aria-labelledby="inspector-title" tabIndex={0}>
      <h2 id="inspector-title">Packet</h2>
      {!e ? (
        <p className="muted">No packet yet.</p>
      ) : (
        <>
          <p className="panel-sub">
            #{e.seq}{' '}
            {e.type === 'verdict' ? netnsLabel(view, e.verdict.at.netns) : netnsLabel(view, e.at.netns)}
            {e.type === 'observe' ? ` · ${e.device} ${e.direction}` : ''}
            {changed.size > 0 ? ` · ${changed.size} field${changed.size === 1 ? '' : 's'} changed` : ''}
          </p>
          <div className="layers">
            {layers.map((layer) => (
              <div className="layer" key={layer.level}>
                <h3>{layer.title}</h3>
                {layer.headers.map((h) => (
                  <table className="header" key={h.title}>
                    <caption>{h.title}</caption>
                    <tbody>
                      {h.fields.map((f) => {
                        const was = changed.get(f.key);
                        const isChanged = changed.has(f.key);
                        return (
                          <tr key={f.key} className={isChanged ? 'changed' : undefined}>
                            <th scope="row">{f.label}</th>
                            <td>
                              <span className="value">{f.value}</span>
                              {isChanged && was !== null && was !== undefined ? (
                                <span className="was">
                                  {' '}
                                  was <del>{was}</del>
                                </span>
                              ) : null}
                              {isChanged && was === null ? <span className="was"> new</span> : null}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                ))}
              </div>
            ))}
          </div>
        </>
      )}
    </section>
  );
}
