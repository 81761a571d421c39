// A failed run, readably: the scenario's problems as a list naming the document and field, or the engine's
// message. Everything is rendered as text (React escapes it); nothing is interpreted as HTML.
import { useTranslation } from 'react-i18next';
import type { ScenarioIssue } from '../../scenario/parse.ts';
import { useAppState } from '../context.ts';
import { enT, type T } from '../i18n/index.ts';

export function documentLabel(i: ScenarioIssue, t: T = enT): string {
  if (i.document === null) return t('errors.scenario');
  const what = [i.kind, i.name].filter((x): x is string => x !== null && x !== '').join(' ');
  return what ? t('errors.documentWhat', { n: i.document, what }) : t('errors.document', { n: i.document });
}

export function ScenarioErrors() {
  const { t } = useTranslation();
  const error = useAppState((s) => s.run?.error ?? null);
  if (!error) return null;
  return (
    <section className="errors" role="alert" aria-labelledby="errors-title">
      <h2 id="errors-title">{error.issues.length > 0 ? t('errors.problems') : t('errors.failed')}</h2>
      <p>{error.message}</p>
      {error.issues.length > 0 ? (
        <ul>
          {error.issues.map((i, n) => (
            <li key={n}>
              <span className="issue-doc">{documentLabel(i, t)}</span>
              {i.path ? (
                <>
                  {' '}
                  <code className="issue-path">{i.path}</code>
                </>
              ) : null}
              : {i.message}
              {i.line !== null ? (
                <span className="issue-line">{t('errors.line', { line: i.line })}</span>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
