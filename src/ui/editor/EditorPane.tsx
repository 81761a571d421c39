/// <reference types="vite/client" />
// (Vite's client types for the CSS import, also where tests type-check this file: tsconfig.node.json.)
// The scenario editor pane (loaded on first open): a YAML editor on the store's scenario text, checked as
// the user types, feeding the picture whenever the text is a valid scenario.
//
//   keystroke ──300 ms──▶ worker `validate` ──▶ diagnostics + problem list
//                                              └─ valid and new ──▶ store.setScenario('', text) ──▶ walk again
//   keystroke ──500 ms──▶ localStorage draft (restored after a reload, discardable)
//   store's text changed elsewhere (picker, import) ──▶ the editor shows it, as one undoable change; edits
//                                                       the picture did not show yet are kept (undo, storage)
//
// Untrusted text (the scenario, the parser's messages quoting it) is rendered as React text only.
import type { EditorView } from '@codemirror/view';
import { useEffect, useId, useRef, useState } from 'react';
import type { LocatedIssue } from '../../worker/protocol.ts';
import { useAppState, useServices } from '../context.ts';
import type { PresetOption } from '../panels/WalkPicker.tsx';
import { shareStateOf } from '../share/appLink.ts';
import { download } from '../share/browser.ts';
import { MAX_COMPRESSED_LENGTH, MAX_SCENARIO_LENGTH, encodeShareState } from '../share/urlState.ts';
import {
  REPLACED_KEY,
  browserStorage,
  clearDraft,
  createDraftSaver,
  loadDraft,
  saveDraft,
  scenarioFileName,
  type SaveResult,
} from './draft.ts';
import { EDITOR_PANE_ID } from './EditorSlot.tsx';
import { createYamlEditor, issueText, replaceText, revealRange, showIssues } from './yamlEditor.ts';
import './editor.css';
import { useTranslation } from 'react-i18next';

/** Quiet time after a keystroke before the text is checked: long enough not to parse every key of a word,
 *  short enough to feel live. The default preset parses in tens of milliseconds in the worker. */
const VALIDATE_DELAY_MS = 300;
/** Quiet time before the draft is written to localStorage. */
const SAVE_DELAY_MS = 500;
/** Links longer than this are cut short by some mail clients, chat apps and link shorteners (2,083 is the
 *  old Internet Explorer limit that many tools still keep). */
const LONG_LINK = 2000;

type Status = 'checking' | 'valid' | 'invalid';

type Notice =
  /** The draft from storage differs from the scenario the page opened with; it is shown instead. */
  | { readonly kind: 'restored'; readonly savedAt: number; readonly baseline: Baseline }
  /** Another scenario replaced text whose edits the picture did not show. */
  | { readonly kind: 'replaced'; readonly previous: string };

interface Baseline {
  readonly id: string;
  readonly text: string;
}

export default function EditorPane({
  presets,
  onClose,
}: {
  presets: readonly PresetOption[];
  onClose: () => void;
}) {
  const { store, client, runWalk } = useServices();
  const scenarioId = useAppState((s) => s.scenarioId);
  const scenarioText = useAppState((s) => s.scenarioText);
  const ids = { help: useId(), status: useId(), start: useId(), problems: useId() };
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const [issues, setIssues] = useState<readonly LocatedIssue[]>([]);
  const [lines, setLines] = useState<readonly number[]>([]);
  const [status, setStatus] = useState<Status>('checking');
  const [notice, setNotice] = useState<Notice | null>(null);
  const [saved, setSaved] = useState<SaveResult>('saved');
  const { t, i18n } = useTranslation();

  useEffect(() => {
    const parent = host.current;
    if (!parent) return;
    const storage = browserStorage();
    const start = store.getState();
    /** The text the store holds as far as this editor knows: what it applied, or what came from outside. */
    let applied = start.scenarioText;
    let base = start.scenarioId;
    const draft = loadDraft(storage);
    const restored = draft !== null && draft.text !== start.scenarioText;
    if (restored) {
      base = draft.base;
      setNotice({
        kind: 'restored',
        savedAt: draft.savedAt,
        baseline: { id: start.scenarioId, text: start.scenarioText },
      });
    }
    const saver = createDraftSaver(storage, SAVE_DELAY_MS, Date.now, setSaved);
    let timer: ReturnType<typeof setTimeout> | null = null;
    let disposed = false;

    const apply = (text: string, walks: readonly string[]) => {
      applied = text;
      const { walkName, walk, setScenario, setWalk } = store.getState();
      setScenario('', text);
      // The walk being shown, again: by name while the scenario still has it, a typed-in one as it was,
      // else the scenario's first.
      if (walkName !== null && walks.includes(walkName)) runWalk({ name: walkName });
      else if (walkName === null && walk !== null) runWalk(walk);
      else {
        setWalk(null, null);
        runWalk({ name: null });
      }
    };

    const check = async (text: string) => {
      setStatus('checking');
      const result = await client.validate(text);
      const v = view.current;
      // Superseded, or the text changed meanwhile: a newer check is on its way.
      if (disposed || result === null || !v || v.state.doc.toString() !== text) return;
      showIssues(v, result.issues);
      setIssues(result.issues);
      setLines(
        result.issues.map((i) => v.state.doc.lineAt(Math.min(i.range.from, v.state.doc.length)).number),
      );
      setStatus(result.ok ? 'valid' : 'invalid');
      if (result.ok && text !== store.getState().scenarioText) apply(text, result.walks);
    };

    const scheduleCheck = (text: string, delay: number) => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        void check(text);
      }, delay);
    };

    const editor = createYamlEditor({
      doc: restored ? draft.text : start.scenarioText,
      parent,
      label: t('editor.code'),
      describedBy: ids.help,
      onChange: (text, fromOutside) => {
        // Until the check answers, the status must not vouch for the text.
        setStatus('checking');
        saver.save(text, base);
        scheduleCheck(text, fromOutside ? 0 : VALIDATE_DELAY_MS);
      },
    });
    view.current = editor;
    scheduleCheck(editor.state.doc.toString(), 0);

    // The store's text changed elsewhere: the picker, an imported file, a discarded draft.
    const offStore = store.subscribe((s, prev) => {
      if (s.scenarioText === prev.scenarioText || s.scenarioText === applied) return;
      const current = editor.state.doc.toString();
      const unapplied = current !== applied;
      applied = s.scenarioText;
      base = s.scenarioId;
      if (current === s.scenarioText) return;
      if (unapplied) {
        // Kept in storage as well as in the undo history: nothing typed is lost silently.
        saveDraft(storage, { text: current, base: '', savedAt: Date.now() }, REPLACED_KEY);
        setNotice({ kind: 'replaced', previous: current });
      } else {
        setNotice((n) => (n?.kind === 'restored' ? null : n));
      }
      replaceText(editor, s.scenarioText);
    });

    // Leaving the page: write the draft now rather than after the delay.
    const flush = () => saver.flush();
    window.addEventListener('pagehide', flush);
    document.addEventListener('visibilitychange', flush);

    return () => {
      disposed = true;
      if (timer !== null) clearTimeout(timer);
      offStore();
      window.removeEventListener('pagehide', flush);
      document.removeEventListener('visibilitychange', flush);
      saver.flush();
      editor.destroy();
      view.current = null;
    };
    // The editor is created once per mount; ids are stable for the component's life.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store, client, runWalk]);

  const startFrom = (id: string) => {
    const preset = presets.find((p) => p.id === id);
    if (!preset) return;
    const s = store.getState();
    s.setScenario(preset.id, preset.text);
    s.setWalk(null, null);
    runWalk({ name: null });
  };

  const discardDraft = (baseline: Baseline) => {
    clearDraft(browserStorage());
    setNotice(null);
    const s = store.getState();
    if (s.scenarioText !== baseline.text) {
      s.setScenario(baseline.id, baseline.text);
      s.setWalk(null, null);
      runWalk({ name: null });
    } else if (view.current) {
      replaceText(view.current, baseline.text);
    }
  };

  const bringBack = (previous: string) => {
    setNotice(null);
    clearDraft(browserStorage(), REPLACED_KEY);
    if (view.current) replaceText(view.current, previous);
  };

  const downloadText = () => {
    const text = view.current?.state.doc.toString() ?? scenarioText;
    download(new Blob([text], { type: 'application/yaml' }), scenarioFileName(text));
  };

  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;

  return (
    <section id={EDITOR_PANE_ID} className="editor-pane" aria-label={t('editor.pane')}>
      <div className="editor-bar">
        <label htmlFor={ids.start}>{t('editor.startFrom')}</label>
        <select id={ids.start} value={scenarioId} onChange={(e) => startFrom(e.target.value)}>
          {scenarioId === '' ? <option value="">{t('editor.ownScenario')}</option> : null}
          {presets.map((p) => (
            <option key={p.id} value={p.id}>
              {p.title}
            </option>
          ))}
        </select>
        <button type="button" onClick={downloadText}>
          {t('editor.download')}
        </button>
        <button type="button" className="editor-close" onClick={onClose} aria-label={t('editor.closeLabel')}>
          {t('editor.closeButton')}
        </button>
      </div>
      {notice?.kind === 'restored' ? (
        <div className="editor-notice" role="status">
          <p>{t('editor.restored', { time: formatTime(notice.savedAt, i18n.language) })}</p>
          <button type="button" onClick={() => discardDraft(notice.baseline)}>
            {t('editor.discard')}
          </button>
        </div>
      ) : null}
      {notice?.kind === 'replaced' ? (
        <div className="editor-notice" role="status">
          <p>{t('editor.replaced')}</p>
          <button type="button" onClick={() => bringBack(notice.previous)}>
            {t('editor.bringBack')}
          </button>
          <button type="button" onClick={() => setNotice(null)}>
            {t('editor.dismiss')}
          </button>
        </div>
      ) : null}
      <p id={ids.help} className="visually-hidden">
        {t('editor.keys')}
      </p>
      <div className="editor-host" ref={host} />
      <p id={ids.status} className={`editor-status editor-status--${status}`} role="status">
        <StatusText status={status} errors={errors} warnings={warnings} />
      </p>
      {saved !== 'saved' ? (
        <p className="editor-warning" role="alert">
          {saved === 'full' ? t('editor.storageFull') : t('editor.storageDenied')}
        </p>
      ) : null}
      <LinkLength />
      {issues.length > 0 ? (
        <ul className="editor-problems" aria-label={t('editor.problems')}>
          {issues.map((i, n) => (
            <li key={n} className={`editor-problem editor-problem--${i.severity}`}>
              <button
                type="button"
                onClick={() => view.current && revealRange(view.current, i.range.from, i.range.to)}
              >
                <span className="editor-problem-where">
                  {t(i.severity === 'error' ? 'editor.errorAt' : 'editor.warningAt', {
                    line: lines[n] ?? '?',
                  })}
                </span>{' '}
                {issueText(i)}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function StatusText({ status, errors, warnings }: { status: Status; errors: number; warnings: number }) {
  const { t } = useTranslation();
  const w = warnings > 0 ? ` ${t('editor.warnings', { count: warnings })}` : '';
  if (status === 'checking') return <>{t('editor.checking')}</>;
  if (status === 'valid') return <>{t('editor.valid') + w}</>;
  return <>{t('editor.invalid', { count: errors }) + w}</>;
}

/** How long the share link of an edited scenario is, when that matters. */
function LinkLength() {
  const { t, i18n } = useTranslation();
  const encoded = useAppState((s) => (s.scenarioId === '' ? encodeShareState(shareStateOf(s, null)) : ''));
  const textLength = useAppState((s) => s.scenarioText.length);
  if (encoded === '') return null;
  const sc = /(?:^|&)sc=([^&]*)/.exec(encoded)?.[1] ?? '';
  const total = window.location.origin.length + window.location.pathname.length + 1 + encoded.length;
  if (sc.length > MAX_COMPRESSED_LENGTH || textLength > MAX_SCENARIO_LENGTH)
    return (
      <p className="editor-warning" role="status">
        {t('editor.linkTooLong', { length: total.toLocaleString(i18n.language) })}
      </p>
    );
  if (total > LONG_LINK)
    return (
      <p className="editor-link" role="status">
        {t('editor.linkLong', { length: total.toLocaleString(i18n.language) })}
      </p>
    );
  return null;
}

function formatTime(ms: number, locale: string): string {
  const d = new Date(ms);
  const sameDay = new Date().toDateString() === d.toDateString();
  return sameDay
    ? d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}
