// The header's language select ("Language / 언어": the same label in every language, read by screen readers
// and shown as the select's tooltip; on screen a globe marks it). The choice is shown at once, remembered,
// and goes into the address bar and share links (share/useShare.ts).
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { chooseLanguage } from './browser.ts';
import { currentLang, isLang, LANGUAGES } from './index.ts';

export function LanguageSelect() {
  const { t } = useTranslation();
  const id = useId();
  return (
    <div className="language">
      <label htmlFor={id}>
        <svg viewBox="0 0 16 16" width="15" height="15" aria-hidden="true" focusable="false">
          <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" />
          <path
            d="M1.5 8h13M8 1.5c-2.2 2.4-2.2 10.6 0 13M8 1.5c2.2 2.4 2.2 10.6 0 13"
            fill="none"
            stroke="currentColor"
          />
        </svg>
        <span className="visually-hidden">{t('language.label')}</span>
      </label>
      <select
        id={id}
        title={t('language.label')}
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
