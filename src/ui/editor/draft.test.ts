import { describe, expect, it, vi } from 'vitest';
import {
  DRAFT_KEY,
  clearDraft,
  createDraftSaver,
  loadDraft,
  loadOpen,
  saveDraft,
  saveOpen,
  scenarioFileName,
  type DraftStorage,
} from './draft.ts';

/** localStorage's behaviour over a Map; `quota` makes writes longer than it throw as a full storage does. */
function memoryStorage(quota = Infinity) {
  const items = new Map<string, string>();
  const storage: DraftStorage = {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => {
      if (v.length > quota) throw new DOMException('full', 'QuotaExceededError');
      items.set(k, v);
    },
    removeItem: (k) => void items.delete(k),
  };
  return { storage, items };
}

const throwing: DraftStorage = {
  getItem: () => {
    throw new DOMException('denied', 'SecurityError');
  },
  setItem: () => {
    throw new DOMException('denied', 'SecurityError');
  },
  removeItem: () => {
    throw new DOMException('denied', 'SecurityError');
  },
};

describe('draft storage', () => {
  it('saves and loads a draft, and clears it', () => {
    const { storage } = memoryStorage();
    expect(loadDraft(storage)).toBeNull();
    expect(saveDraft(storage, { text: 'kind: Node\n', base: 'default', savedAt: 5 })).toBe('saved');
    expect(loadDraft(storage)).toEqual({ text: 'kind: Node\n', base: 'default', savedAt: 5 });
    clearDraft(storage);
    expect(loadDraft(storage)).toBeNull();
  });

  it('ignores what is not a draft of this format', () => {
    const { storage, items } = memoryStorage();
    for (const junk of ['{', 'null', '"text"', '{"text":1,"base":"","savedAt":1}', '{"text":"a"}']) {
      items.set(DRAFT_KEY, junk);
      expect(loadDraft(storage)).toBeNull();
    }
  });

  it('reports a full storage and one that refuses, and never throws', () => {
    const { storage } = memoryStorage(100);
    expect(saveDraft(storage, { text: 'x'.repeat(200), base: '', savedAt: 1 })).toBe('full');
    expect(saveDraft(throwing, { text: 'x', base: '', savedAt: 1 })).toBe('unavailable');
    expect(saveDraft(null, { text: 'x', base: '', savedAt: 1 })).toBe('unavailable');
    expect(loadDraft(throwing)).toBeNull();
    expect(() => clearDraft(throwing)).not.toThrow();
    expect(loadOpen(throwing)).toBe(false);
    expect(() => saveOpen(throwing, true)).not.toThrow();
  });

  it('keeps the open flag', () => {
    const { storage } = memoryStorage();
    expect(loadOpen(storage)).toBe(false);
    saveOpen(storage, true);
    expect(loadOpen(storage)).toBe(true);
    saveOpen(storage, false);
    expect(loadOpen(storage)).toBe(false);
  });
});

describe('createDraftSaver', () => {
  it('writes the newest text once per delay, and at once on flush', () => {
    vi.useFakeTimers();
    try {
      const { storage } = memoryStorage();
      const results: string[] = [];
      let clock = 100;
      const saver = createDraftSaver(
        storage,
        500,
        () => clock,
        (r) => results.push(r),
      );
      saver.save('a', 'default');
      saver.save('ab', 'default');
      expect(loadDraft(storage)).toBeNull();
      vi.advanceTimersByTime(499);
      expect(loadDraft(storage)).toBeNull();
      vi.advanceTimersByTime(1);
      expect(loadDraft(storage)).toEqual({ text: 'ab', base: 'default', savedAt: 100 });
      clock = 200;
      saver.save('abc', '');
      saver.flush();
      expect(loadDraft(storage)).toEqual({ text: 'abc', base: '', savedAt: 200 });
      saver.save('abcd', '');
      saver.cancel();
      vi.advanceTimersByTime(1000);
      expect(loadDraft(storage)?.text).toBe('abc');
      expect(results).toEqual(['saved', 'saved']);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('scenarioFileName', () => {
  it.each([
    ['apiVersion: packetwalk.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: default\n', 'default.yaml'],
    [
      'apiVersion: v1\nkind: Node\nmetadata: { name: n1 }\n---\nkind: Cluster\nmetadata: { name: Lab 2 }\n',
      'lab-2.yaml',
    ],
    ['kind: Cluster\nmetadata:\n  name: "../../etc/passwd"\n', 'etc-passwd.yaml'],
    ['apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n', 'web.yaml'],
    ['kind: Cluster\nmetadata: { name: [unclosed\n', 'scenario.yaml'],
    ['', 'scenario.yaml'],
    [`kind: Cluster\nmetadata:\n  name: ${'x'.repeat(100)}\n`, `${'x'.repeat(60)}.yaml`],
  ])('%j → %s', (text, name) => {
    expect(scenarioFileName(text)).toBe(name);
  });
});
