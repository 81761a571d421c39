// The app's data and UI state (xyflow's per-app store): which scenario, which walk, what the current run
// has produced so far, and what the user selected. Playback position is not here — the playback machine
// owns the cursor — and animation progress belongs to the canvas.
import { createStore, useStore } from 'zustand';
import type { WorldView } from '../engine/view.ts';
import type { TraceEvent } from '../engine/trace.ts';
import type { ScenarioIssue } from '../scenario/parse.ts';
import type { Overrides, RunSettings, ToMain, TraceSummary, WalkRequest } from '../worker/protocol.ts';

export interface RunState {
  readonly runId: number;
  /** The world of this run's scenario; until it arrives, the previous run's (so the picture stays put). */
  readonly view: WorldView | null;
  /** The cluster settings of this run's world (the scenario's and the overridden ones); until they arrive,
   *  the previous run's, so the toggles stay put. */
  readonly settings: RunSettings | null;
  /** Received so far, in seq order; append-only within a run. */
  readonly events: readonly TraceEvent[];
  readonly done: TraceSummary | null;
  readonly error: { readonly message: string; readonly issues: readonly ScenarioIssue[] } | null;
}

export interface AppState {
  /** A built-in scenario's id, or '' for a scenario of the user's own (from a link). */
  readonly scenarioId: string;
  readonly scenarioText: string;
  /** The toggles: changes to the scenario's cluster the next runs are built with. */
  readonly overrides: Overrides;
  /** The walks' seed, or null for the engine's default. */
  readonly seed: number | null;
  /** Why the link the page was opened with could not be used (plain text), or null. */
  readonly linkError: string | null;
  /** The walk the picker's fields show; null until the first world names the scenario's walks. */
  readonly walk: WalkRequest | null;
  /** The scenario walk being shown, or null for a walk typed in by hand (or, before the first world
   *  arrives, the scenario's first walk). */
  readonly walkName: string | null;
  readonly run: RunState | null;
  /** The device the user pointed at on the canvas (`<netns>|<device>`). */
  readonly selectedDevice: string | null;

  /** Another scenario: its own settings again (the toggles are cleared). */
  setScenario(id: string, text: string): void;
  setOverrides(overrides: Overrides): void;
  setSeed(seed: number | null): void;
  dismissLinkError(): void;
  setWalk(walk: WalkRequest | null, name: string | null): void;
  /** A run was posted to the worker: forget the previous run's events, keep its world until a new one. */
  startRun(runId: number): void;
  /** A message of the current run arrived (the engine client has dropped stale ones already). */
  receive(message: ToMain): void;
  selectDevice(key: string | null): void;
}

export type AppStore = ReturnType<typeof createAppStore>;

export type AppStoreInit = Pick<AppState, 'scenarioId' | 'scenarioText' | 'walk' | 'walkName'> &
  Partial<Pick<AppState, 'overrides' | 'seed' | 'linkError'>>;

export function createAppStore(init: AppStoreInit) {
  return createStore<AppState>()((set, get) => ({
    overrides: {},
    seed: null,
    linkError: null,
    ...init,
    run: null,
    selectedDevice: null,

    setScenario: (scenarioId, scenarioText) => set({ scenarioId, scenarioText, overrides: {} }),
    setOverrides: (overrides) => set({ overrides }),
    setSeed: (seed) => set({ seed }),
    dismissLinkError: () => set({ linkError: null }),
    setWalk: (walk, walkName) => set({ walk, walkName }),
    startRun: (runId) =>
      set({
        run: {
          runId,
          view: get().run?.view ?? null,
          settings: get().run?.settings ?? null,
          events: [],
          done: null,
          error: null,
        },
      }),
    receive: (m) => {
      const run = get().run;
      if (!run || m.runId !== run.runId) return;
      switch (m.type) {
        case 'world': {
          set({ run: { ...run, view: m.view, settings: m.settings } });
          // A run of a named walk: show its fields (the view lists the scenario's walks).
          const { walk, walkName } = get();
          if (walk === null) {
            const named = m.view.walks.find((w) => w.name === walkName) ?? m.view.walks[0];
            if (named) set({ walk: toRequest(named), walkName: named.name });
          }
          return;
        }
        case 'events':
          set({ run: { ...run, events: [...run.events, ...m.events] } });
          return;
        case 'done':
          set({ run: { ...run, done: m.trace } });
          return;
        case 'error':
          set({ run: { ...run, error: { message: m.message, issues: m.issues ?? [] } } });
          return;
      }
    },
    selectDevice: (selectedDevice) => set({ selectedDevice }),
  }));
}

/** A scenario's walk as the fields of a request. */
export function toRequest(w: WorldView['walks'][number]): WalkRequest {
  const protocol = w.protocol === 'udp' || w.protocol === 'icmp' ? w.protocol : 'tcp';
  return { from: w.from, to: w.to, protocol };
}

/** Selects from a store with React (zustand's useStore bound to our state type). */
export function useApp<T>(store: AppStore, selector: (s: AppState) => T): T {
  return useStore(store, selector);
}

/** True once the run can grow no more: done, or failed. */
export const runFinished = (run: RunState | null): boolean =>
  run !== null && (run.done !== null || run.error !== null);
