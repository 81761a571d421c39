// The built-in scenarios: every src/scenario/presets/<id>.yaml, bundled as text by Vite (and Vitest).
// Outside Vite (the CLI under tsx) import.meta.glob does not exist: the CLI reads the files itself.
import { parseAllDocuments } from 'yaml';
import {
  SCENARIO_LANGUAGES,
  TOPICS,
  type ScenarioTranslation,
  type ScenarioTranslations,
  type Topic,
} from './model.ts';

export interface Preset {
  readonly id: string;
  readonly title: string;
  readonly text: string;
  /** spec.topic: where the scenario library lists it ('cluster' when absent or not a topic). */
  readonly topic: Topic;
  /** spec.description: the scenario's introduction. */
  readonly description: string;
  /** spec.translations: the description (and walk descriptions) in other languages; read them with
   *  scenarioText(preset, lang) from model.ts. */
  readonly translations: ScenarioTranslations;
}

export const DEFAULT_PRESET_ID = 'default';

/** The part of Vite's import.meta we use, typed here because this module compiles without vite/client. */
interface GlobImportMeta {
  glob(pattern: string, options: { query: '?raw'; import: 'default'; eager: true }): Record<string, string>;
}

// Vite rewrites this call at build time; the cast disappears when TypeScript is stripped, leaving the literal
// `import.meta.glob(...)` that Vite looks for.
const files = (import.meta as unknown as GlobImportMeta).glob('./presets/*.yaml', {
  query: '?raw',
  import: 'default',
  eager: true,
});

/** The Cluster document's metadata.name, spec.topic and spec.description. Presets are ours, but a broken one
 *  must not break loading (the parser reports its errors when it is run). */
function clusterInfo(text: string): {
  name: string | null;
  topic: Topic;
  description: string;
  translations: ScenarioTranslations;
} {
  for (const doc of parseAllDocuments(text, { schema: 'core' })) {
    if (doc.errors.length > 0 || doc.get('kind') !== 'Cluster') continue;
    const name = doc.getIn(['metadata', 'name']);
    const topic = doc.getIn(['spec', 'topic']);
    const description = doc.getIn(['spec', 'description']);
    const translations: unknown = doc.toJS({ maxAliasCount: 0 })?.spec?.translations;
    return {
      name: typeof name === 'string' ? name : null,
      topic: typeof topic === 'string' && Object.hasOwn(TOPICS, topic) ? (topic as Topic) : 'cluster',
      description: typeof description === 'string' ? description.trim() : '',
      translations: translationsOf(translations),
    };
  }
  return { name: null, topic: 'cluster', description: '', translations: {} };
}

/** The well-formed part of spec.translations (the parser reports the rest when the scenario is run). */
function translationsOf(value: unknown): ScenarioTranslations {
  const record = (v: unknown): Record<string, unknown> | null =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);
  const all = record(value);
  const out: Partial<Record<(typeof SCENARIO_LANGUAGES)[number], ScenarioTranslation>> = {};
  for (const lang of SCENARIO_LANGUAGES) {
    const t = record(all?.[lang]);
    if (!t) continue;
    const description = text(t['description']);
    const walks = Object.entries(record(t['walks']) ?? {}).flatMap(([name, w]) => {
      const d = text(record(w)?.['description']);
      return d === null ? [] : [[name, { description: d }] as const];
    });
    out[lang] = {
      ...(description !== null ? { description } : {}),
      ...(walks.length > 0 ? { walks: Object.fromEntries(walks) } : {}),
    };
  }
  return out;
}

function presetOf(path: string, text: string): Preset {
  const id = path.replace(/^.*\//, '').replace(/\.yaml$/, '');
  const info = clusterInfo(text);
  return {
    id,
    title: info.name ?? id,
    text,
    topic: info.topic,
    description: info.description,
    translations: info.translations,
  };
}

/** Every preset, the default first, then by id. */
export const PRESETS: readonly Preset[] = Object.entries(files)
  .map(([path, text]) => presetOf(path, text))
  .sort((a, b) => {
    if (a.id === DEFAULT_PRESET_ID || b.id === DEFAULT_PRESET_ID) return a.id === DEFAULT_PRESET_ID ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
