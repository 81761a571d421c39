// The tables panel: the decision in force at the cursor (the last decide event of the leg so far), its
// one-line summary, and every table it consulted as the namespace holds it — the route table, FDB or
// neighbour table, the iptables chains a hook went through (rules as iptables-save prints them, the
// matched ones marked, the tested ones dimmed), the conntrack table, the resolver's candidates, the DNS
// answer, the NetworkPolicy verdict. Untrusted text (rules, names, records) is rendered as text only.
import { useTranslation } from 'react-i18next';
import type { TraceEvent } from '../../engine/trace.ts';
import type { WorldView } from '../../engine/view.ts';
import { useAppState, useCursor } from '../context.ts';
import {
  DECISION_LABELS,
  consultedTables,
  decisionAt,
  decisionFields,
  netnsLabel,
  shownNumber,
  type TableRow,
  type TableView,
  viewAt,
} from '../present.ts';

const NO_EVENTS: readonly TraceEvent[] = [];

export function DecisionPanel() {
  const { t } = useTranslation();
  const events = useAppState((s) => s.run?.events ?? NO_EVENTS);
  const view = useAppState((s) => s.run?.view ?? null);
  const cursor = useCursor();
  const d = decisionAt(events, cursor);
  const consulted = d ? consultedTables(events, d.seq, view, t) : null;
  if (events[0]?.type === 'cni') return <CniFilesPanel events={events} cursor={cursor} view={view} />;

  return (
    <section className="panel decision" aria-labelledby="decision-title">
      <h2 id="decision-title">{t('decision.title')}</h2>
      {!d || !consulted ? (
        <p className="muted">{t('decision.none')}</p>
      ) : (
        <>
          <p className="panel-sub">
            #{shownNumber(d.seq)} {netnsLabel(view, d.at.netns)} · {DECISION_LABELS[d.decision.kind]}
            {d.seq !== events[cursor]?.seq ? t('decision.earlier') : ''}
          </p>
          {/* A netfilter summary spells out every jump; its tables below show them rule by rule. */}
          {d.decision.kind === 'netfilter' && consulted.tables.length > 0 ? null : (
            <p className="decision-line">
              <code>{d.summary}</code>
            </p>
          )}
          {consulted.intro ? <p className="tables-intro">{consulted.intro}</p> : null}
          {consulted.tables.length > 0 ? (
            consulted.tables.map((t, i) => <ConsultedTable key={`${i}:${t.title}`} table={t} />)
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

const MARK_KEYS = { match: 'decision.matched', tested: 'decision.tested' } as const satisfies Record<
  NonNullable<TableRow['mark']>,
  string
>;

function ConsultedTable({ table }: { table: TableView }) {
  const { t } = useTranslation();
  return (
    <div className="table">
      <h3>{table.title}</h3>
      {table.rows.length === 0 ? (
        <p className="muted">{t('decision.noEntries')}</p>
      ) : (
        <ol className="table-lines" aria-label={table.title}>
          {table.rows.map((r, i) => (
            <li key={`${i}:${r.text}`} className={r.mark ?? undefined}>
              {r.mark ? <span className="visually-hidden">{t(MARK_KEYS[r.mark])}</span> : null}
              <code>{r.text}</code>
              {r.note ? <span className="row-note">{r.note}</span> : null}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** A CNI walk consults no table; what it keeps is files: the node's CNI state (flannel's subnet.env and saved
 *  configs, host-local's reservations) as it is at the cursor. */
function CniFilesPanel({
  events,
  cursor,
  view,
}: {
  events: readonly TraceEvent[];
  cursor: number;
  view: WorldView | null;
}) {
  const at = viewAt(view, events, cursor);
  const first = events[0];
  const node = first && first.type === 'cni' ? first.at.node : null;
  const ns = at?.namespaces.find((n) => n.kind === 'node' && n.node === node) ?? null;
  const current = events[cursor];
  const touched = current?.type === 'cni' && current.op && 'path' in current.op ? current.op.path : null;
  const files = ns?.files ?? [];
  const { t } = useTranslation();
  return (
    <section className="panel decision" aria-labelledby="decision-title">
      <h2 id="decision-title">{t('cniPanel.filesTitle')}</h2>
      <p className="panel-sub">
        {t('cniPanel.filesOn', { node: ns?.label ?? node ?? t('cniPanel.theNode') })}
      </p>
      {files.length === 0 ? (
        <p className="muted">{t('cniPanel.noFiles')}</p>
      ) : (
        <ol className="table-lines" aria-label={t('cniPanel.filesTitle')}>
          {files.map((f) => (
            <li key={f.path} className={f.path === touched ? 'match' : undefined}>
              <code>{f.path}</code>
              <span className="row-note">{f.content.replace(/\r\n/g, ' ').replace(/\n/g, ' ').trim()}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
