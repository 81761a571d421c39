// The app shell: creates the store and the playback actor, connects the engine client to them, and lays
// out the canvas and panels.
//
//   engine client ──receive──▶ store (run: world, events, done/error)
//                                 │ TRACE_GROWN / TRACE_DONE
//                                 ▼
//   toolbar, keys ──play/step──▶ playback machine (cursor, speed) ──▶ canvas + panels
import { useActorRef } from '@xstate/react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { EngineClient } from '../worker/engineClient.ts';
import type { NamedWalkRef, WalkRequest } from '../worker/protocol.ts';
import { TopologyCanvas } from './canvas/TopologyCanvas.tsx';
import { ServicesContext, type AppServices } from './context.ts';
import { Controls } from './panels/Controls.tsx';
import { DecisionPanel } from './panels/DecisionPanel.tsx';
import { DeviceCard } from './panels/DeviceCard.tsx';
import { HopList } from './panels/HopList.tsx';
import { PacketInspector } from './panels/PacketInspector.tsx';
import { ScenarioErrors } from './panels/ScenarioErrors.tsx';
import { VerdictBanner } from './panels/VerdictBanner.tsx';
import { WalkPicker, type PresetOption } from './panels/WalkPicker.tsx';
import { playbackMachine } from './playbackMachine.ts';
import { createAppStore, runFinished } from './store.ts';
import { useKeyboard } from './useKeyboard.ts';

export interface AppProps {
  readonly client: EngineClient;
  readonly presets: readonly PresetOption[];
  readonly initialPresetId: string;
}

export function App({ client, presets, initialPresetId }: AppProps) {
  const [store] = useState(() => {
    const preset = presets.find((p) => p.id === initialPresetId) ?? presets[0];
    return createAppStore({
      scenarioId: preset?.id ?? '',
      scenarioText: preset?.text ?? '',
      walk: null,
      walkName: null,
    });
  });
  const playback = useActorRef(playbackMachine);

  const runWalk = useCallback(
    (walk: WalkRequest | NamedWalkRef) => {
      const state = store.getState();
      if ('name' in walk) {
        const named = state.run?.view?.walks.find((w) => w.name === walk.name);
        // Keep the fields empty until the world names the walk (the store fills them in then).
        state.setWalk(
          named ? { from: named.from, to: named.to, protocol: toProtocol(named.protocol) } : null,
          walk.name,
        );
      }
      const runId = client.run(store.getState().scenarioText, walk);
      store.getState().startRun(runId);
      playback.send({ type: 'TRACE_RESET' });
    },
    [client, store, playback],
  );

  // Engine → store.
  useEffect(() => client.subscribe((m) => store.getState().receive(m)), [client, store]);

  // Store → playback: the machine learns how many events there are and when the trace is complete.
  useEffect(
    () =>
      store.subscribe((s, prev) => {
        const run = s.run;
        if (!run) return;
        const before = prev.run?.runId === run.runId ? prev.run : null;
        if (run.events.length !== (before?.events.length ?? 0))
          playback.send({ type: 'TRACE_GROWN', length: run.events.length });
        if (runFinished(run) && !runFinished(before))
          playback.send({ type: 'TRACE_DONE', length: run.events.length });
      }),
    [store, playback],
  );

  // The first walk of the starting scenario.
  useEffect(() => {
    runWalk({ name: store.getState().walkName });
  }, [runWalk, store]);

  useKeyboard(playback);

  const services: AppServices = useMemo(
    () => ({ store, playback, client, runWalk }),
    [store, playback, client, runWalk],
  );

  return (
    <ServicesContext.Provider value={services}>
      <div className="app">
        <header className="app-header">
          <h1>Packet Walk</h1>
          <WalkPicker presets={presets} />
        </header>
        <main className="stage" aria-label="Cluster">
          <TopologyCanvas />
          <Legend />
          <DeviceCard />
          <ScenarioErrors />
        </main>
        <aside className="side" aria-label="Playback and hops">
          <Controls />
          <VerdictBanner />
          <HopList />
        </aside>
        <section className="details" aria-label="Details">
          <PacketInspector />
          <DecisionPanel />
        </section>
      </div>
    </ServicesContext.Provider>
  );
}

function toProtocol(p: string): WalkRequest['protocol'] {
  return p === 'udp' || p === 'icmp' ? p : 'tcp';
}

function Legend() {
  return (
    <ul className="legend" aria-label="Legend">
      <li className="legend-request">request</li>
      <li className="legend-reply">reply</li>
      <li className="legend-icmp-error">ICMP error</li>
      <li className="legend-dns">DNS</li>
      <li className="legend-encap">encapsulated (VXLAN)</li>
      <li className="legend-hint">drag to pan · wheel to zoom · double-click to fit</li>
    </ul>
  );
}
