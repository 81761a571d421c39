// The UI's i18next instance: English and Korean bundled (both together are a few kB gzipped, less than a
// lazy-loading round trip would save), initialised synchronously in English at import so that pure modules
// and tests can take a fixed `t` at once; the browser start (browser.ts) then switches to the detected
// language before the first render.
import { createInstance, type i18n as I18n, type TFunction } from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './en.ts';
import { ko } from './ko.ts';
import { DEFAULT_LANG, LANGUAGES, isLang, type Lang } from './languages.ts';

export { LANGUAGES, DEFAULT_LANG, bestLang, isLang, type Lang } from './languages.ts';

/** The `t` every translated function takes (the component's from useTranslation, or fixedT's). */
export type T = TFunction;

export const resources = { en: { translation: en }, ko: { translation: ko } } as const;

export const i18n: I18n = createInstance();
void i18n.use(initReactI18next).init({
  resources,
  lng: DEFAULT_LANG,
  fallbackLng: DEFAULT_LANG,
  supportedLngs: Object.keys(LANGUAGES),
  // React escapes what it renders; the canvas draws text, never HTML.
  interpolation: { escapeValue: false },
  // The resources are here: no backend to wait for, so init and changeLanguage finish synchronously.
  initAsync: false,
  returnNull: false,
  react: { useSuspense: false },
});

/** A `t` bound to one language, for pure functions' defaults and for tests. */
export function fixedT(lang: Lang): T {
  return i18n.getFixedT(lang);
}

/** English: the default of every pure function that takes a `t` (narration.ts, present.ts). */
export const enT: T = fixedT('en');

/** The language the UI shows now. */
export function currentLang(): Lang {
  const l = i18n.resolvedLanguage ?? i18n.language;
  return isLang(l) ? l : DEFAULT_LANG;
}

/** A `t` in whatever language the UI shows when it is called (for code outside React: the embed API). */
export const currentT: T = i18n.t.bind(i18n);
