// The device the user clicked on the canvas: its addresses and link, and its namespace's tables as
// iproute2 prints them. Closed with its button or Escape.
import { useEffect } from 'react';
import { useAppState, useServices } from '../context.ts';

export function DeviceCard() {
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
          {dev.name} <span className="muted">in {ns.label}</span>
        </h2>
        <button
          type="button"
          aria-label="Close device details"
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
            <dd>
              {dev.peer.device} in {dev.peer.netns}
            </dd>
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
    </section>
  );
}
