// The device the user clicked on the canvas: its addresses and link, and its namespace's tables as
// iproute2 prints them (routes, neighbours, the device's FDB) and, folded, the namespace's iptables-save.
// Closed with its button or Escape.
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppState, useServices } from '../context.ts';

export function DeviceCard() {
  const { t } = useTranslation();
  const { store } = useServices();
  const key = useAppState((s) => s.selectedDevice);
  const view = useAppState((s) => s.run?.view ?? null);

  useEffect(() => {
    if (key === null) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') store.getState().selectDevice(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [key, store]);

  if (key === null || !view) return null;
  const sep = key.lastIndexOf('|');
  const netnsId = key.slice(0, sep);
  const ns = view.namespaces.find((n) => n.id === netnsId);
  const dev = ns?.devices.find((d) => d.name === key.slice(sep + 1));
  if (!ns || !dev) return null;

  return (
    <section className="device-card" aria-labelledby="device-card-title">
      <header>
        <h2 id="device-card-title">
          {dev.name} <span className="muted">{t('device.in', { netns: ns.label })}</span>
        </h2>
        <button
          type="button"
          aria-label={t('device.close')}
          onClick={() => store.getState().selectDevice(null)}
        >
          ×
        </button>
      </header>
      <dl className="fields">
        <div>
          <dt>kind</dt>
          <dd>{dev.kind}</dd>
        </div>
        <div>
          <dt>link/ether</dt>
          <dd>{dev.mac}</dd>
        </div>
        <div>
          <dt>mtu</dt>
          <dd>{dev.mtu}</dd>
        </div>
        {dev.addrs.length > 0 ? (
          <div>
            <dt>inet</dt>
            <dd>{dev.addrs.join(', ')}</dd>
          </div>
        ) : null}
        {dev.master ? (
          <div>
            <dt>master</dt>
            <dd>{dev.master}</dd>
          </div>
        ) : null}
        {dev.peer ? (
          <div>
            <dt>peer</dt>
            <dd>{t('device.peer', { device: dev.peer.device, netns: dev.peer.netns })}</dd>
          </div>
        ) : null}
        {dev.segment ? (
          <div>
            <dt>segment</dt>
            <dd>{dev.segment}</dd>
          </div>
        ) : null}
      </dl>
      <h3>ip route ({ns.id})</h3>
      <ol className="table-lines">
        {ns.routes.map((r, i) => (
          <li key={`${i}:${r}`}>
            <code>{r}</code>
          </li>
        ))}
      </ol>
      <Lines title="ip neigh" lines={ns.neighbours} />
      <Lines
        title={`bridge fdb (${dev.name})`}
        lines={ns.fdb.filter((l) => l.includes(` dev ${dev.name} `))}
      />
      {ns.iptablesSave ? (
        <details className="device-iptables">
          <summary>
            {t('device.rules', {
              count: ns.iptablesSave.split('\n').filter((l) => l.startsWith('-A ')).length,
            })}
          </summary>
          <pre>
            <code>{ns.iptablesSave}</code>
          </pre>
        </details>
      ) : null}
    </section>
  );
}

/** A namespace table as iproute2 prints it; nothing when empty. */
function Lines({ title, lines }: { title: string; lines: readonly string[] }) {
  if (lines.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <ol className="table-lines">
        {lines.map((l, i) => (
          <li key={`${i}:${l}`}>
            <code>{l}</code>
          </li>
        ))}
      </ol>
    </>
  );
}
