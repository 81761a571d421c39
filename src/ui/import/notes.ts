// The importer's evidence lines and drop reasons in the UI's language: scenario/importKubectl.ts gives each
// a code and its parameters next to the English text; the messages are importer.why.<code> and
// importer.dropped.<code>. A code without a message (a newer importer) shows its English text.
import type { DroppedGroup, Evidence, ImportNote, NoteParams } from '../../scenario/importKubectl.ts';
import type { T } from '../i18n/index.ts';

/** The parameters as the messages take them: a list names its first three and how many more. */
export function noteParams(t: T, params: NoteParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === 'string') out[k] = v;
    else if (v.length <= 3) out[k] = v.join(', ');
    else out[k] = t('importer.andMore', { items: v.slice(0, 3).join(', '), count: v.length - 3 });
  }
  return out;
}

const options = (t: T, note: ImportNote) => ({ ...noteParams(t, note.params), defaultValue: note.text });

/** An evidence line under a question. */
export function evidenceText(t: T, e: Evidence): string {
  return t(`importer.why.${e.code}`, options(t, e));
}

/** Why a group of objects was left out. */
export function droppedText(t: T, g: DroppedGroup): string {
  return t(`importer.dropped.${g.code}`, options(t, { code: g.code, params: g.params, text: g.reason }));
}
