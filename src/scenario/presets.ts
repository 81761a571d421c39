// The built-in scenarios: every src/scenario/presets/<id>.yaml, bundled as text by Vite (and Vitest).
// Outside Vite (the CLI under tsx) import.meta.glob does not exist: the CLI reads the files itself.
import { parseAllDocuments } from 'yaml';

export interface Preset {
  readonly id: string;
  readonly title: string;
  readonly text: string;
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

/** The Cluster document's metadata.name, or null. Presets are ours, but a broken one must not break loading. */
function clusterName(text: string): string | null {
  for (const doc of parseAllDocuments(text, { schema: 'core' })) {
    if (doc.errors.length > 0 || doc.get('kind') !== 'Cluster') continue;
    const name = doc.getIn(['metadata', 'name']);
    return typeof name === 'string' ? name : null;
  }
  return null;
}

function presetOf(path: string, text: string): Preset {
  const id = path.replace(/^.*\//, '').replace(/\.yaml$/, '');
  return { id, title: clusterName(text) ?? id, text };
}

/** Every preset, the default first, then by id. */
export const PRESETS: readonly Preset[] = Object.entries(files)
  .map(([path, text]) => presetOf(path, text))
  .sort((a, b) => {
    if (a.id === DEFAULT_PRESET_ID || b.id === DEFAULT_PRESET_ID) return a.id === DEFAULT_PRESET_ID ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
