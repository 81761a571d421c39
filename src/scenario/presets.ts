// The built-in scenarios: every src/scenario/presets/<id>.yaml, bundled as text by Vite (and Vitest).
// Outside Vite (the CLI under tsx) import.meta.glob does not exist: the CLI reads the files itself.
import { parseAllDocuments } from 'yaml';
import { TOPICS, type Topic } from './model.ts';

export interface Preset {
  readonly id: string;
  readonly title: string;
  readonly text: string;
  /** spec.topic: where the scenario library lists it ('cluster' when absent or not a topic). */
  readonly topic: Topic;
  /** spec.description: the scenario's introduction. */
  readonly description: string;
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
function clusterInfo(text: string): { name: string | null; topic: Topic; description: string } {
  for (const doc of parseAllDocuments(text, { schema: 'core' })) {
    if (doc.errors.length > 0 || doc.get('kind') !== 'Cluster') continue;
    const name = doc.getIn(['metadata', 'name']);
    const topic = doc.getIn(['spec', 'topic']);
    const description = doc.getIn(['spec', 'description']);
    return {
      name: typeof name === 'string' ? name : null,
      topic: typeof topic === 'string' && Object.hasOwn(TOPICS, topic) ? (topic as Topic) : 'cluster',
      description: typeof description === 'string' ? description.trim() : '',
    };
  }
  return { name: null, topic: 'cluster', description: '' };
}

function presetOf(path: string, text: string): Preset {
  const id = path.replace(/^.*\//, '').replace(/\.yaml$/, '');
  const info = clusterInfo(text);
  return { id, title: info.name ?? id, text, topic: info.topic, description: info.description };
}

/** Every preset, the default first, then by id. */
export const PRESETS: readonly Preset[] = Object.entries(files)
  .map(([path, text]) => presetOf(path, text))
  .sort((a, b) => {
    if (a.id === DEFAULT_PRESET_ID || b.id === DEFAULT_PRESET_ID) return a.id === DEFAULT_PRESET_ID ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
