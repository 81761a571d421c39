// Why the link the page was opened with was not used. Plain text (React escapes it): the message repeats
// parts of an untrusted URL.
import { useTranslation } from 'react-i18next';
import { useAppState, useServices } from '../context.ts';

export function LinkNotice() {
  const { t } = useTranslation();
  const { store } = useServices();
  const message = useAppState((s) => s.linkError);
  if (message === null) return null;
  return (
    <div className="link-notice" role="alert">
      <p>
        <strong>{t('linkNotice.title')}</strong> {message} {t('linkNotice.fallback')}
      </p>
      <button type="button" onClick={() => store.getState().dismissLinkError()}>
        {t('linkNotice.dismiss')}
      </button>
    </div>
  );
}
