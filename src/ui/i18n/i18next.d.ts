// react-i18next's key checking: t('…') takes only keys of the English messages (en.ts), so a missing or
// misspelt key is a type error, and its return type is the English text's.
import 'i18next';
import type { en } from './en.ts';

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    resources: { translation: typeof en };
  }
}
