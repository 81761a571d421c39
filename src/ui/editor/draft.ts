// The editor's draft in the browser: what the user typed, kept in localStorage so that a reload, a crash or
// a closed tab loses nothing. One draft per browser profile and origin (the editor edits one scenario at a
// time); a second slot keeps a draft the editor had to replace (another scenario picked or imported while
// the text had unapplied edits). Pure over a Storage-like object, so tests pass a Map-backed fake; every
// storage failure (private mode, quota, a disabled storage) is caught and reported, never thrown.
import { parseAllDocuments } from 'yaml';

/** The draft's key. The version is in the key: a later format gets a new key and ignores this one. */
export const DRAFT_KEY = 'packetwalk:editor:draft:v1';
/** The text the editor replaced while it had edits the picture did not show. */
export const REPLACED_KEY = 'packetwalk:editor:replaced:v1';
/** Whether the editor pane was open, so a reload shows it again ("1"), absent otherwise. */
export const OPEN_KEY = 'packetwalk:editor:open';

/** localStorage's part the draft uses. */
export type DraftStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export interface Draft {
  /** The editor's text. */
  readonly text: string;
  /** The built-in scenario the text started from, or '' for the user's own. */
  readonly base: string;
  /** When it was saved (ms since the epoch). */
  readonly savedAt: number;
}

export type SaveResult = 'saved' | 'unavailable' | 'full';

/** The browser's localStorage, or null where it cannot be used (some privacy modes throw on access). */
export function browserStorage(): DraftStorage | null {
  try {
    const s = window.localStorage;
    return s ?? null;
  } catch {
    return null;
  }
}

/** The draft at `key`, or null when there is none or it is not one of ours (damaged, another format). */
export function loadDraft(storage: DraftStorage | null, key = DRAFT_KEY): Draft | null {
  let raw: string | null;
  try {
    raw = storage?.getItem(key) ?? null;
  } catch {
    return null;
  }
  if (raw === null) return null;
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v !== 'object' || v === null) return null;
    const { text, base, savedAt } = v as Record<string, unknown>;
    if (typeof text !== 'string' || typeof base !== 'string' || typeof savedAt !== 'number') return null;
    return { text, base, savedAt };
  } catch {
    return null;
  }
}

export function saveDraft(storage: DraftStorage | null, draft: Draft, key = DRAFT_KEY): SaveResult {
  if (!storage) return 'unavailable';
  try {
    storage.setItem(key, JSON.stringify(draft));
    return 'saved';
  } catch (e) {
    // QuotaExceededError (or Firefox's NS_ERROR_DOM_QUOTA_REACHED): the text is larger than the origin's
    // storage allows. Anything else: storage refused.
    const name = e instanceof Error ? e.name : '';
    return /quota/i.test(name) ? 'full' : 'unavailable';
  }
}

export function clearDraft(storage: DraftStorage | null, key = DRAFT_KEY): void {
  try {
    storage?.removeItem(key);
  } catch {
    // Nothing to do: a storage that cannot be written holds no draft of ours either.
  }
}

/** Saves at most once per `delayMs` while the user types, and at once on `flush` (page hidden, pane
 *  closed). `onResult` hears how each save went. */
export function createDraftSaver(
  storage: DraftStorage | null,
  delayMs: number,
  now: () => number,
  onResult: (result: SaveResult) => void,
) {
  let waiting: { text: string; base: string } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (!waiting) return;
    const { text, base } = waiting;
    waiting = null;
    onResult(saveDraft(storage, { text, base, savedAt: now() }));
  };
  return {
    save(text: string, base: string): void {
      waiting = { text, base };
      if (timer === null) timer = setTimeout(flush, delayMs);
    },
    flush,
    /** Drops a save that has not happened yet (the draft was discarded). */
    cancel(): void {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      waiting = null;
    },
  };
}

/** The open flag; false when storage cannot be read. */
export function loadOpen(storage: DraftStorage | null): boolean {
  try {
    return storage?.getItem(OPEN_KEY) === '1';
  } catch {
    return false;
  }
}

export function saveOpen(storage: DraftStorage | null, open: boolean): void {
  try {
    if (open) storage?.setItem(OPEN_KEY, '1');
    else storage?.removeItem(OPEN_KEY);
  } catch {
    // The pane then opens closed after a reload, as for a first visit.
  }
}

/** The scenario's file name: the Cluster document's metadata.name (else the first object's), reduced to
 *  a-z, 0-9 and "-", then ".yaml". The text may be invalid: whatever parts of it parse are read. */
export function scenarioFileName(text: string): string {
  let name: unknown;
  try {
    const docs = parseAllDocuments(text, { schema: 'core' });
    const all = Array.isArray(docs) ? docs : [];
    const cluster = all.find((d) => d.get('kind') === 'Cluster');
    name = cluster?.getIn(['metadata', 'name']) ?? all[0]?.getIn(['metadata', 'name']) ?? null;
  } catch {
    name = null;
  }
  const stem = (typeof name === 'string' ? name : '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `${stem || 'scenario'}.yaml`;
}
