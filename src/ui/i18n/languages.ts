// The languages the UI speaks, by BCP 47 code, each named in itself (as a language menu shows it). No
// i18next here: the share-link codec (share/urlState.ts) reads this list and stays a pure module.
export const LANGUAGES = { en: 'English', ko: '한국어' } as const;

export type Lang = keyof typeof LANGUAGES;

export const DEFAULT_LANG: Lang = 'en';

export function isLang(s: string | null | undefined): s is Lang {
  return typeof s === 'string' && Object.hasOwn(LANGUAGES, s);
}

/** The first of `codes` (BCP 47 tags, most preferred first: navigator.languages) that the UI speaks, by
 *  primary language ("ko-KR" → ko), or null. */
export function bestLang(codes: readonly string[]): Lang | null {
  for (const code of codes) {
    const primary = code.toLowerCase().split(/[-_]/)[0];
    if (isLang(primary)) return primary;
  }
  return null;
}

/** A message tree (en.ts, ko.ts). */
export type MessageTree = { readonly [key: string]: string | MessageTree };

/** key → text, nested keys joined with dots (i18next's keySeparator): for the checks that compare languages
 *  message by message (i18n.test.ts, e2e/i18n.spec.ts). */
export function flattenMessages(tree: MessageTree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flattenMessages(v, key)) out.set(kk, vv);
  }
  return out;
}
