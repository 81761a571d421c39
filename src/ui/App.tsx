// The app shell: creates the store and the playback actor, connects the engine client to them, and lays
// out the canvas and panels.
//
//   engine client ──receive──▶ store (run: world, events, done/error)
//                                 │ TRACE_GROWN / TRACE_DONE
//                                 ▼
//   toolbar, keys ──play/step──▶ playback machine (cursor, speed) ──▶ canvas + panels
import { useActorRef } from '@xstate/react';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EngineClient } from '../worker/engineClient.ts';
import type { NamedWalkRef, WalkRequest } from '../worker/protocol.ts';
import { TopologyCanvas } from './canvas/TopologyCanvas.tsx';
import { ServicesContext, useAppState, type AppServices } from './context.ts';
import { Controls } from './panels/Controls.tsx';
import { DecisionPanel } from './panels/DecisionPanel.tsx';
import { EditScenarioButton, EditorSlot, useEditorOpen } from './editor/EditorSlot.tsx';
import { DeviceCard } from './panels/DeviceCard.tsx';
import { ImportButton } from './import/ImportDialog.tsx';
import { LanguageSelect } from './i18n/LanguageSelect.tsx';
import { HopList } from './panels/HopList.tsx';
import { NarrationPanel } from './panels/NarrationPanel.tsx';
import { PacketInspector } from './panels/PacketInspector.tsx';
import { ScenarioErrors } from './panels/ScenarioErrors.tsx';
import { VerdictBanner } from './panels/VerdictBanner.tsx';
import { HeaderMenu } from './panels/HeaderMenu.tsx';
import { WalkAbout, WalkPicker, type PresetOption } from './panels/WalkPicker.tsx';
import { playbackMachine } from './playbackMachine.ts';
import { startFrom } from './share/appLink.ts';
import { EmbedHop } from './share/EmbedHop.tsx';
import { LinkNotice } from './share/LinkNotice.tsx';
import { SharePanel } from './share/SharePanel.tsx';
import { ExportPanel } from './export/ExportPanel.tsx';
import { ClusterMenu } from './share/Toggles.tsx';
import { useEmbedApi, useUrlSync } from './share/useShare.ts';
import type { DecodeResult, ViewOptions } from './share/urlState.ts';
import { createAppStore, runFinished } from './store.ts';
import { useKeyboard } from './useKeyboard.ts';

export interface AppProps {
  readonly client: EngineClient;
  readonly presets: readonly PresetOption[];
  readonly initialPresetId: string;
  /** The share link the page was opened with (share/urlState.ts); none: the default scenario. */
  readonly link?: DecodeResult;
  /** How to show it: `embed` is the chrome-less view for an iframe. */
  readonly viewOptions?: ViewOptions;
}

const NO_LINK: DecodeResult = { kind: 'empty' };
const FULL_VIEW: ViewOptions = { embed: false, autoplay: false };

export function App({ client, presets, initialPresetId, link = NO_LINK, viewOptions = FULL_VIEW }: AppProps) {
  const { t } = useTranslation();
  const [start] = useState(() => startFrom(link, presets, initialPresetId));
  const [store] = useState(() => createAppStore(start.init));
  const playback = useActorRef(playbackMachine);
  // The link's hop and autoplay wait for the first trace to be complete.
  const pendingHop = useRef<number | null>(start.hop);
  const pendingPlay = useRef(viewOptions.autoplay);
  const readPendingHop = useCallback(() => pendingHop.current, []);
  const [editing, toggleEditing] = useEditorOpen();

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
      const { scenarioText, overrides, seed } = store.getState();
      const runId = client.run(scenarioText, seed === null ? walk : { ...walk, seed }, overrides);
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
        if (runFinished(run) && !runFinished(before)) {
          playback.send({ type: 'TRACE_DONE', length: run.events.length });
          if (pendingHop.current !== null) playback.send({ type: 'seek', index: pendingHop.current });
          if (pendingPlay.current) playback.send({ type: 'play' });
          pendingHop.current = null;
          pendingPlay.current = false;
        }
      }),
    [store, playback],
  );

  // The first walk: the link's, or the starting scenario's first.
  useEffect(() => {
    runWalk(start.walk);
  }, [runWalk, start]);

  useKeyboard(playback);
  useUrlSync(store, playback, readPendingHop);
  useEmbedApi(store, playback);

  const services: AppServices = useMemo(
    () => ({ store, playback, client, runWalk }),
    [store, playback, client, runWalk],
  );

  if (viewOptions.embed)
    return (
      <ServicesContext.Provider value={services}>
        <EmbedView />
      </ServicesContext.Provider>
    );

  return (
    <ServicesContext.Provider value={services}>
      <div className={editing ? 'app app--editing' : 'app'}>
        <header className="app-header">
          {/* One row from 1280 px: what to show on the left, what to do with it on the right. */}
          <div className="header-bar">
            <h1>Packet Walk</h1>
            <WalkPicker presets={presets} />
            <ClusterMenu />
            <div className="header-actions">
              <EditScenarioButton open={editing} onToggle={toggleEditing} />
              <ImportButton />
              <HeaderMenu label={t('header.share')} align="end">
                <SharePanel />
              </HeaderMenu>
              <HeaderMenu label={t('header.export')} align="end">
                <ExportPanel />
              </HeaderMenu>
              <LanguageSelect />
            </div>
          </div>
          <WalkAbout presets={presets} />
        </header>
        <LinkNotice />
        <EditorSlot open={editing} presets={presets} onClose={toggleEditing} />
        <main className="stage" aria-label={t('app.cluster')}>
          <TopologyCanvas />
          <Legend />
          <DeviceCard />
          <ScenarioErrors />
        </main>
        <aside className="side" aria-label={t('app.side')}>
          <Controls />
          <VerdictBanner />
          <NarrationPanel />
          <HopList />
        </aside>
        <section className="details" aria-label={t('app.details')}>
          <PacketInspector />
          <DecisionPanel />
        </section>
      </div>
    </ServicesContext.Provider>
  );
}

/** The chrome-less view for an iframe: the picture, compact controls and the verdict. */
function EmbedView() {
  const { t } = useTranslation();
  return (
    <div className="app app--embed">
      <main className="stage" aria-label={t('app.cluster')}>
        <TopologyCanvas />
        <ScenarioErrors />
        <LinkNotice />
      </main>
      <footer className="embed-bar" aria-label={t('app.playback')}>
        <Controls />
        <div className="embed-status">
          <VerdictBanner />
          <EmbedHop />
        </div>
        <a className="embed-open" href={fullViewHref()} target="_blank" rel="noopener noreferrer">
          {t('app.openFull')}
        </a>
      </footer>
    </div>
  );
}

/** This page without embed=1 / autoplay=1 (the fragment — the state — stays). */
function fullViewHref(): string {
  const url = new URL(window.location.href);
  url.searchParams.delete('embed');
  url.searchParams.delete('autoplay');
  return url.toString();
}

function toProtocol(p: string): WalkRequest['protocol'] {
  return p === 'udp' || p === 'icmp' ? p : 'tcp';
}

function Legend() {
  const { t } = useTranslation();
  // A CNI walk draws no packet: its steps are one colour, and the packet's colours would explain nothing.
  const cni = useAppState((s) => s.run?.events[0]?.type === 'cni');
  if (cni)
    return (
      <ul className="legend" aria-label={t('legend.label')}>
        <li className="legend-cni">{t('legend.cni')}</li>
        <li className="legend-hint">{t('legend.hint')}</li>
      </ul>
    );
  return (
    <ul className="legend" aria-label={t('legend.label')}>
      <li className="legend-request">{t('legend.request')}</li>
      <li className="legend-reply">{t('legend.reply')}</li>
      <li className="legend-icmp-error">{t('legend.icmpError')}</li>
      <li className="legend-dns">{t('legend.dns')}</li>
      <li className="legend-encap">{t('legend.encap')}</li>
      <li className="legend-hint">{t('legend.hint')}</li>
    </ul>
  );
}
