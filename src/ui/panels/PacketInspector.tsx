// The current event's packet, layer by layer (outer, then inner when encapsulated). Fields that changed
// since the previous observe of the same leg are marked, with the old value. A CNI walk has no packet: for
// its steps the panel shows the command, what the step read or wrote, and each namespace it changed as
// `ip addr` and `ip route` would print it after the step.
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { TraceEvent } from '../../engine/trace.ts';
import { useAppState, useCursor } from '../context.ts';
import type { WorldView } from '../../engine/view.ts';
import {
  changedFields,
  headerLayers,
  ipAddrLines,
  netnsLabel,
  previousObserved,
  shownNumber,
} from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function PacketInspector() {
  const { t } = useTranslation();
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const e = events[cursor];
  const packet = e && e.type !== 'cni' ? e.packet : null;
  const layers = useMemo(() => (packet ? headerLayers(packet, t) : []), [packet, t]);
  const changed = useMemo(
    () =>
      packet ? changedFields(previousObserved(events, cursor), packet) : new Map<string, string | null>(),
    [packet, events, cursor],
  );
  if (e?.type === 'cni') return <CniStepPanel event={e} view={view} />;
  if (e && !packet)
    return (
      <section className="panel inspector" aria-labelledby="inspector-title" tabIndex={0}>
        <h2 id="inspector-title">{t('cniPanel.noPacketTitle')}</h2>
        <p className="muted">
          {t('cniPanel.noPacket', { command: events[0]?.type === 'cni' ? events[0].command : '' })}
        </p>
      </section>
    );

  return (
    <section className="panel inspector" aria-labelledby="inspector-title" tabIndex={0}>
      <h2 id="inspector-title">{t('inspector.title')}</h2>
      {!e ? (
        <p className="muted">{t('inspector.none')}</p>
      ) : (
        <>
          <p className="panel-sub">
            #{shownNumber(e.seq)}{' '}
            {e.type === 'verdict' ? netnsLabel(view, e.verdict.at.netns) : netnsLabel(view, e.at.netns)}
            {e.type === 'observe' ? ` · ${e.device} ${e.direction}` : ''}
            {changed.size > 0 ? t('inspector.changed', { count: changed.size }) : ''}
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
                                  {t('inspector.was')} <del>{was}</del>
                                </span>
                              ) : null}
                              {isChanged && was === null ? (
                                <span className="was"> {t('inspector.new')}</span>
                              ) : null}
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

/** A CNI step: the command(s), what it read or wrote, and the namespaces it changed as they are after it. */
function CniStepPanel({
  event: e,
  view,
}: {
  event: Extract<TraceEvent, { type: 'cni' }>;
  view: WorldView | null;
}) {
  const { t } = useTranslation();
  return (
    <section className="panel inspector cni-step" aria-labelledby="inspector-title" tabIndex={0}>
      <h2 id="inspector-title">{t('cniPanel.after')}</h2>
      <p className="panel-sub">
        #{shownNumber(e.seq)} {e.actor} · {netnsLabel(view, e.at.netns)}
      </p>
      <pre className="cni-shell" aria-label={t('cniPanel.command')}>
        <code>{e.shell}</code>
      </pre>
      {e.text !== null ? (
        <>
          <h3>
            {e.op?.op === 'file-write'
              ? t('cniPanel.writtenTo', { path: e.op.path })
              : e.shell.startsWith('cat ')
                ? t('cniPanel.theFile')
                : t('cniPanel.stdin')}
          </h3>
          <pre className="cni-text">
            <code>{e.text.replace(/\r\n/g, '\\r\\n')}</code>
          </pre>
        </>
      ) : null}
      {e.state.length === 0 ? (
        <p className="muted">{t('cniPanel.noChange')}</p>
      ) : (
        e.state.map((s) => (
          <div className="layer" key={s.netns}>
            <h3>{netnsLabel(view, s.netns)}</h3>
            {s.view === null ? (
              <p className="muted">{t('cniPanel.deleted')}</p>
            ) : (
              <>
                <p className="cni-cmd">
                  <code>ip -br addr</code>
                </p>
                <pre className="cni-table">
                  <code>{ipAddrLines(s.view).join('\n') || t('cniPanel.noDevices')}</code>
                </pre>
                <p className="cni-cmd">
                  <code>ip route</code>
                </p>
                <pre className="cni-table">
                  <code>{s.view.routes.join('\n') || t('cniPanel.noRoutes')}</code>
                </pre>
              </>
            )}
          </div>
        ))
      )}
      <p className="cni-source">{t('cniPanel.source', { source: e.source })}</p>
    </section>
  );
}
