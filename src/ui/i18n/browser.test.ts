// @vitest-environment jsdom
// The language at start: a link's lang= first, then the user's remembered choice, then the browser's
// languages; only the user's own choice is remembered; <html lang> follows.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chooseLanguage, detectLanguage, LANGUAGE_STORAGE_KEY, startLanguage } from './browser.ts';
import { i18n } from './index.ts';

const browserLanguages = (langs: string[]) => vi.spyOn(navigator, 'languages', 'get').mockReturnValue(langs);
const at = (url: string) => window.history.replaceState(null, '', url);

beforeEach(() => {
  localStorage.clear();
  at('/');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await i18n.changeLanguage('en');
});

describe('detectLanguage', () => {
  it('takes the browser’s first language the UI speaks, else English', () => {
    browserLanguages(['ko-KR', 'en-US']);
    expect(detectLanguage()).toBe('ko');
    browserLanguages(['fr-FR', 'ko']);
    expect(detectLanguage()).toBe('ko');
    browserLanguages(['de-DE', 'fr']);
    expect(detectLanguage()).toBe('en');
  });

  it('a remembered choice beats the browser; a link’s lang= beats both (fragment, then query)', () => {
    browserLanguages(['ko-KR']);
    localStorage.setItem(LANGUAGE_STORAGE_KEY, 'en');
    expect(detectLanguage()).toBe('en');
    at('/?lang=ko#v=1&s=default');
    expect(detectLanguage()).toBe('ko');
    at('/?lang=ko#v=1&s=default&lang=en');
    expect(detectLanguage()).toBe('en');
    at('/#v=1&lang=fr');
    expect(detectLanguage()).toBe('en'); // unsupported: the next source (the remembered en)
  });
});

describe('startLanguage and chooseLanguage', () => {
  it('starts in the detected language without remembering it; <html lang> follows every change', () => {
    browserLanguages(['en-US']);
    at('/#v=1&lang=ko');
    const root = document.createElement('html');
    startLanguage(root);
    expect(i18n.language).toBe('ko');
    expect(i18n.t('controls.play')).toBe('재생');
    expect(root.lang).toBe('ko');
    expect(localStorage.getItem(LANGUAGE_STORAGE_KEY)).toBeNull();

    chooseLanguage('en');
    expect(i18n.language).toBe('en');
    expect(root.lang).toBe('en');
    expect(localStorage.getItem(LANGUAGE_STORAGE_KEY)).toBe('en');
  });
});
