// The header's language select ("Language / 언어": the same label in every language). The choice is shown at
// once, remembered, and goes into the address bar and share links (share/useShare.ts).
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { chooseLanguage } from './browser.ts';
import { currentLang, isLang, LANGUAGES } from './index.ts';

export function LanguageSelect() {
  const { t } = useTranslation();
  const id = useId();
  return (
    <div className="language">
      <label htmlFor={id}>{t('language.label')}</label>
      <select
        id={id}
        value={currentLang()}
        onChange={(e) => {
          if (isLang(e.target.value)) chooseLanguage(e.target.value);
        }}
      >
        {Object.entries(LANGUAGES).map(([code, name]) => (
          <option key={code} value={code} lang={code}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}
