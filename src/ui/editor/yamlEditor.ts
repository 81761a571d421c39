// The CodeMirror 6 side of the scenario editor: a YAML editor with history, search, a lint gutter, and the
// parser's findings as diagnostics. No React here; EditorPane.tsx owns the view's life.
//
// Keyboard: Tab and Shift-Tab indent and dedent (YAML is indented with spaces; a Tab key press inserts two).
// As CodeMirror does for every editor that takes Tab, Escape and then Tab leaves the editor (the next Tab
// within two seconds moves focus on), and Ctrl-M (Shift-Alt-M on macOS) switches Tab to moving focus until
// pressed again. Ctrl-Z / Ctrl-Shift-Z (Cmd on macOS) undo and redo, Ctrl-F searches, F8 goes to the next
// problem.
import { history, historyKeymap, defaultKeymap, indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import {
  bracketMatching,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from '@codemirror/language';
import { lintGutter, lintKeymap, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { highlightSelectionMatches, search, searchKeymap } from '@codemirror/search';
import { Annotation, EditorState, type Extension } from '@codemirror/state';
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import type { LocatedIssue } from '../../worker/protocol.ts';

/** Marks a change that did not come from the keyboard (another scenario picked, a draft discarded). */
export const replacedFromOutside = Annotation.define<boolean>();

export interface YamlEditorOptions {
  readonly doc: string;
  readonly parent: HTMLElement;
  /** The editable area's accessible name. */
  readonly label: string;
  /** The id of an element describing the editor (its keyboard help). */
  readonly describedBy: string;
  /** Called after every change of the text, with whether it came from outside. */
  readonly onChange: (text: string, fromOutside: boolean) => void;
}

export function createYamlEditor(o: YamlEditorOptions): EditorView {
  const extensions: Extension[] = [
    lineNumbers(),
    foldGutter(),
    lintGutter(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    search({ top: true }),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    indentUnit.of('  '),
    EditorState.tabSize.of(2),
    yaml(),
    keymap.of([
      ...defaultKeymap,
      ...historyKeymap,
      ...searchKeymap,
      ...foldKeymap,
      ...lintKeymap,
      indentWithTab,
    ]),
    // tabindex: the editable area is in the tab order anyway (contenteditable); saying so lets checkers
    // such as axe see that the scrolling region around it is reachable by keyboard.
    EditorView.contentAttributes.of({
      'aria-label': o.label,
      'aria-describedby': o.describedBy,
      tabindex: '0',
    }),
    EditorView.updateListener.of((u) => {
      if (!u.docChanged) return;
      const outside = u.transactions.some((t) => t.annotation(replacedFromOutside) === true);
      o.onChange(u.state.doc.toString(), outside);
    }),
  ];
  return new EditorView({ parent: o.parent, state: EditorState.create({ doc: o.doc, extensions }) });
}

/** Replaces the whole text as one undoable change (Undo brings the previous text back). */
export function replaceText(view: EditorView, text: string): void {
  const current = view.state.doc.toString();
  if (current === text) return;
  view.dispatch({
    changes: { from: 0, to: current.length, insert: text },
    annotations: replacedFromOutside.of(true),
  });
}

/** The message a diagnostic and the problem list show: the field, then what is wrong with it. */
export function issueText(i: LocatedIssue): string {
  return i.issue.path ? `${i.issue.path}: ${i.issue.message}` : i.issue.message;
}

/** Shows `issues` (found in the current text) as diagnostics: underline, gutter marker, message. */
export function showIssues(view: EditorView, issues: readonly LocatedIssue[]): void {
  const length = view.state.doc.length;
  const diagnostics: Diagnostic[] = issues.map((i) => {
    const from = Math.min(i.range.from, length);
    return {
      from,
      to: Math.max(from, Math.min(i.range.to, length)),
      severity: i.severity,
      message: issueText(i),
      ...(i.issue.kind ? { source: [i.issue.kind, i.issue.name].filter(Boolean).join(' ') } : {}),
    };
  });
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

/** Selects a range and scrolls it into view, then focuses the editor (the problem list's jump). */
export function revealRange(view: EditorView, from: number, to: number): void {
  const length = view.state.doc.length;
  const anchor = Math.min(from, length);
  view.dispatch({
    selection: { anchor, head: Math.min(Math.max(anchor, to), length) },
    effects: EditorView.scrollIntoView(anchor, { y: 'center' }),
  });
  view.focus();
}
