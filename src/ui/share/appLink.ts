// Between the share-link codec (urlState.ts) and the app: which store to start with for a decoded link, and
// which link the app's current state is. Pure: takes the presets, the store's state and the cursor as
// arguments; must not read window or the store itself.
import type { NamedWalkRef, WalkRequest } from '../../worker/protocol.ts';
import type { Lang } from '../i18n/languages.ts';
import type { PresetOption } from '../panels/WalkPicker.tsx';
import type { AppState, AppStoreInit } from '../store.ts';
import type { DecodeResult, ShareState } from './urlState.ts';

export interface AppStart {
  readonly init: AppStoreInit;
  /** The first walk to run. */
  readonly walk: WalkRequest | NamedWalkRef;
  /** The hop to show once the trace is in, or null for the first. */
  readonly hop: number | null;
}

/** Where the app starts: the link's state, or — for no link or a broken one — the default scenario's first
 *  walk (with the link's problem as `linkError`). */
export function startFrom(link: DecodeResult, presets: readonly PresetOption[], defaultId: string): AppStart {
  const fallback = presets.find((p) => p.id === defaultId) ?? presets[0];
  const plain: AppStart = {
    init: { scenarioId: fallback?.id ?? '', scenarioText: fallback?.text ?? '', walk: null, walkName: null },
    walk: { name: null },
    hop: null,
  };
  if (link.kind === 'empty') return plain;
  if (link.kind === 'error') return { ...plain, init: { ...plain.init, linkError: link.message } };

  const s = link.state;
  const sc = s.scenario;
  const preset = sc?.kind === 'preset' ? presets.find((p) => p.id === sc.id) : undefined;
  const scenario =
    sc?.kind === 'text'
      ? { scenarioId: '', scenarioText: sc.text }
      : {
          scenarioId: preset?.id ?? plain.init.scenarioId,
          scenarioText: preset?.text ?? plain.init.scenarioText,
        };
  const seed = s.seed === null ? {} : { seed: s.seed };
  const common = { ...scenario, overrides: s.overrides, seed: s.seed };
  if (s.walk?.kind === 'custom') {
    const walk: WalkRequest = { ...s.walk.walk, ...seed };
    return { init: { ...common, walk: s.walk.walk, walkName: null }, walk, hop: s.hop };
  }
  const name = s.walk?.kind === 'named' ? s.walk.name : null;
  return { init: { ...common, walk: null, walkName: name }, walk: { name, ...seed }, hop: s.hop };
}

/** The link of what the app shows: scenario, walk, toggles, seed, the hop at `cursor` and the language. */
export function shareStateOf(s: AppState, cursor: number | null, lang?: Lang): ShareState {
  const walk: ShareState['walk'] =
    s.walkName !== null
      ? { kind: 'named', name: s.walkName }
      : s.walk !== null
        ? {
            kind: 'custom',
            walk: {
              from: s.walk.from,
              to: s.walk.to,
              protocol: s.walk.protocol,
              ...(s.walk.size === undefined ? {} : { size: s.walk.size }),
            },
          }
        : null;
  return {
    scenario:
      s.scenarioId === '' ? { kind: 'text', text: s.scenarioText } : { kind: 'preset', id: s.scenarioId },
    walk,
    overrides: s.overrides,
    seed: s.seed,
    hop: cursor,
    ...(lang === undefined ? {} : { lang }),
  };
}
