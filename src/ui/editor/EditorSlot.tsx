/// <reference types="vite/client" />
// (Vite's client types for the CSS import, also where tests type-check this file: tsconfig.node.json.)
// The scenario editor's place in the app, and the only part of it in the initial bundle: the header button,
// the open/closed state (remembered, so a reload shows the editor again) and a slot that loads the editor
// itself — CodeMirror and the pane, EditorPane.tsx — the first time it opens.
import { Suspense, lazy, useCallback, useState } from 'react';
import type { PresetOption } from '../panels/WalkPicker.tsx';
import { browserStorage, loadOpen, saveOpen } from './draft.ts';
import './layout.css';
import { useTranslation } from 'react-i18next';

const EditorPane = lazy(() => import('./EditorPane.tsx'));

/** The pane's element id, for the button's aria-controls. */
export const EDITOR_PANE_ID = 'scenario-editor';

/** Whether the editor pane is open (closed on a first visit), and the toggle. */
export function useEditorOpen(): readonly [boolean, () => void] {
  const [open, setOpen] = useState(() => loadOpen(browserStorage()));
  const toggle = useCallback(() => {
    setOpen((was) => {
      saveOpen(browserStorage(), !was);
      return !was;
    });
  }, []);
  return [open, toggle] as const;
}

export function EditScenarioButton({ open, onToggle }: { open: boolean; onToggle: () => void }) {
  const { t } = useTranslation();
  return (
    <button
      type="button"
      className="edit-scenario"
      aria-expanded={open}
      aria-controls={open ? EDITOR_PANE_ID : undefined}
      onClick={onToggle}
    >
      {open ? t('editor.close') : t('editor.open')}
    </button>
  );
}

export function EditorSlot({
  open,
  presets,
  onClose,
}: {
  open: boolean;
  presets: readonly PresetOption[];
  onClose: () => void;
}) {
  const { t } = useTranslation();
  if (!open) return null;
  return (
    <Suspense
      fallback={
        <section id={EDITOR_PANE_ID} className="editor-pane" aria-label={t('editor.pane')} aria-busy="true">
          <p className="editor-loading">{t('editor.loading')}</p>
        </section>
      }
    >
      <EditorPane presets={presets} onClose={onClose} />
    </Suspense>
  );
}
