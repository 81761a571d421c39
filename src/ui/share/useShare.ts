// The app's share behaviour as hooks: keep the address bar on the current state (so reload and "copy the
// address" both work), and answer a slide deck's postMessage commands (embedApi.ts). Both follow the UI
// language: the address carries it (lang=), and the state a deck receives is worded in it.
import { useEffect } from 'react';
import type { TraceEvent, Verdict } from '../../engine/trace.ts';
import type { PlaybackActor } from '../context.ts';
import { currentLang, currentT, enT, i18n, type T } from '../i18n/index.ts';
import { SUCCESS_VERDICTS, verdictLabel, verdictText } from '../present.ts';
import type { AppStore } from '../store.ts';
import { shareStateOf } from './appLink.ts';
import { parseEmbedCommand, playbackEventOf, type EmbedState } from './embedApi.ts';
import { encodeShareState } from './urlState.ts';

/** While playing, the address is rewritten at most this often (ms). Every hop would be several a second: a
 *  scenario of 1,000 pods makes an address of ~100 kB, and replaceState with it costs the playback tick. */
export const PLAYING_WRITE_MS = 1000;

/** Writes the state into the URL's fragment (replaceState: no history entry per step): at once after a step,
 *  a seek or any change, and while playing at most every PLAYING_WRITE_MS, then at once when it stops.
 *  `pendingHop` is the link's hop while the trace it belongs to is still loading, so a reload then does not
 *  lose it. Once the fragment is changed by someone else (a link pasted into the address bar: main.tsx
 *  reloads the page for it), it is left alone. */
export function useUrlSync(store: AppStore, playback: PlaybackActor, pendingHop: () => number | null): void {
  useEffect(() => {
    let last = '';
    let written: string | null = null;
    let timer: number | undefined;
    const write = () => {
      timer = undefined;
      if (written !== null && window.location.hash !== written) return;
      const hop = pendingHop() ?? playback.getSnapshot().context.cursor;
      const hash = encodeShareState(shareStateOf(store.getState(), hop, currentLang()));
      if (hash === last) return;
      last = hash;
      const url = new URL(window.location.href);
      url.hash = hash;
      window.history.replaceState(window.history.state, '', url);
      written = window.location.hash;
    };
    const schedule = () => {
      if (playback.getSnapshot().value !== 'playing') {
        window.clearTimeout(timer);
        write();
      } else if (timer === undefined) timer = window.setTimeout(write, PLAYING_WRITE_MS);
    };
    write();
    const offStore = store.subscribe(schedule);
    const sub = playback.subscribe(schedule);
    i18n.on('languageChanged', schedule);
    return () => {
      window.clearTimeout(timer);
      offStore();
      sub.unsubscribe();
      i18n.off('languageChanged', schedule);
    };
  }, [store, playback, pendingHop]);
}

/** The verdict headline at `cursor`, as the verdict banner words it. */
export function verdictAt(events: readonly TraceEvent[], cursor: number, t: T = enT): string {
  const current = events[cursor];
  if (!current) return t('verdict.walking');
  const reached = new Map<number, Verdict>();
  for (let i = 0; i <= cursor; i++) {
    const e = events[i];
    if (e?.type === 'verdict') reached.set(e.leg, e.verdict);
  }
  const failed = [...reached.values()].find((v) => !SUCCESS_VERDICTS.has(v.kind));
  if (failed) return verdictText(failed, t);
  const done = reached.get(current.leg);
  if (!done) return current.type === 'cni' ? t('verdict.inProgress') : t('verdict.inFlight');
  return done.kind === 'delivered' ? verdictLabel('delivered', t) : verdictText(done, t);
}

export function embedStateOf(store: AppStore, playback: PlaybackActor, t: T = enT): EmbedState {
  const snap = playback.getSnapshot();
  const events = store.getState().run?.events ?? [];
  return {
    type: 'packetwalk:state',
    hop: snap.context.cursor,
    hops: events.length,
    playing: snap.value === 'playing',
    complete: snap.context.complete,
    verdict: verdictAt(events, snap.context.cursor, t),
  };
}

/** Listens for a deck's commands; reports the state to the parent frame whenever it changes (embedded
 *  only), and to whoever sent a command. */
export function useEmbedApi(store: AppStore, playback: PlaybackActor): void {
  useEffect(() => {
    const parent = window.parent !== window ? window.parent : null;
    let last = '';
    const report = () => {
      if (!parent) return;
      const state = embedStateOf(store, playback, currentT);
      const text = JSON.stringify(state);
      if (text === last) return;
      last = text;
      // The state is what the page shows anyone; the deck may be on any origin.
      parent.postMessage(state, '*');
    };
    const onMessage = (e: MessageEvent<unknown>) => {
      const command = parseEmbedCommand(e.data);
      if (!command) return;
      const event = playbackEventOf(command);
      if (event) playback.send(event);
      const reply = embedStateOf(store, playback, currentT);
      // Answer the sender when it is a window (a deck, or this page itself); the reply is not a command, so
      // a page talking to itself does not loop.
      const source = e.source as Window | null;
      if (source && 'window' in source)
        source.postMessage(reply, e.origin && e.origin !== 'null' ? e.origin : '*');
    };
    window.addEventListener('message', onMessage);
    const sub = playback.subscribe(report);
    const offStore = store.subscribe(report);
    i18n.on('languageChanged', report);
    report();
    return () => {
      window.removeEventListener('message', onMessage);
      sub.unsubscribe();
      offStore();
      i18n.off('languageChanged', report);
    };
  }, [store, playback]);
}
