// The language at start, in the browser: a share link's `lang=` (fragment, then query), else the language the
// user chose before (localStorage), else the browser's (navigator.languages), else English — detected by
// i18next-browser-languagedetector. A link's language is used, not remembered: only the user's own choice in
// the header is (rememberLanguage). `<html lang>` follows the language.
import LanguageDetector from 'i18next-browser-languagedetector';
import { bestLang, DEFAULT_LANG, i18n, type Lang } from './index.ts';

/** Where the user's choice is kept. */
export const LANGUAGE_STORAGE_KEY = 'packetwalk.lang';

// With i18next's services the detector returns every candidate, most wanted first (without, only the first).
const detector = new LanguageDetector(i18n.services, {
  order: ['hash', 'querystring', 'localStorage', 'navigator'],
  lookupHash: 'lang',
  lookupQuerystring: 'lang',
  lookupLocalStorage: LANGUAGE_STORAGE_KEY,
  // Nothing detected is written back: a link's lang= must not become the reader's preference.
  caches: [],
});

/** The language to start in (see the module comment). */
export function detectLanguage(): Lang {
  const found: unknown = detector.detect();
  const codes = Array.isArray(found) ? found : typeof found === 'string' ? [found] : [];
  return bestLang(codes.filter((c): c is string => typeof c === 'string')) ?? DEFAULT_LANG;
}

/** Switches to the detected language and keeps `<html lang>` on the language from now on. */
export function startLanguage(root: HTMLElement = document.documentElement): void {
  i18n.on('languageChanged', (lng) => {
    root.lang = lng;
  });
  void i18n.changeLanguage(detectLanguage());
  root.lang = i18n.language;
}

/** The user picked `lang` in the header: show it and remember it for next time. */
export function chooseLanguage(lang: Lang): void {
  void i18n.changeLanguage(lang);
  detector.cacheUserLanguage(lang, ['localStorage']);
}
