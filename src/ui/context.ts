// How components reach the app's services: the store, the playback actor and the engine client, provided
// once by App. Hooks per concern (xyflow's use* hooks); `useServices` is the escape hatch.
import { createContext, useContext } from 'react';
import { useSelector } from '@xstate/react';
import { useStore } from 'zustand';
import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import type { EngineClient } from '../worker/engineClient.ts';
import type { NamedWalkRef, WalkRequest } from '../worker/protocol.ts';
import type { playbackMachine, PlaybackMode } from './playbackMachine.ts';
import type { AppState, AppStore } from './store.ts';

export type PlaybackActor = ActorRefFrom<typeof playbackMachine>;
export type PlaybackSnapshot = SnapshotFrom<typeof playbackMachine>;

export interface AppServices {
  readonly store: AppStore;
  readonly playback: PlaybackActor;
  readonly client: EngineClient;
  /** Starts a walk in the current scenario: a named one or one typed in. */
  readonly runWalk: (walk: WalkRequest | NamedWalkRef) => void;
}

export const ServicesContext = createContext<AppServices | null>(null);

export function useServices(): AppServices {
  const s = useContext(ServicesContext);
  if (!s) throw new Error('Packet Walk components must be rendered inside <App>.');
  return s;
}

export function useAppState<T>(selector: (s: AppState) => T): T {
  return useStore(useServices().store, selector);
}

export function usePlayback<T>(selector: (s: PlaybackSnapshot) => T): T {
  return useSelector(useServices().playback, selector);
}

export const useCursor = (): number => usePlayback((s) => s.context.cursor);
export const useSpeed = (): number => usePlayback((s) => s.context.speed);
export const useMode = (): PlaybackMode => usePlayback((s) => s.value);
