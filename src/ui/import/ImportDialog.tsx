// The Import dialog: kubectl output becomes the scenario (scenario/importKubectl.ts reads it, asks what it
// lacks, writes the text), and a node's pasted iptables-save / ip route / ip neigh / bridge fdb / conntrack
// output becomes a NodeState document of the current scenario. Everything pasted is shown as text only.
//
// A modal <dialog>: the browser traps focus inside and Escape closes it; focus returns to the button that
// opened it.
import { useEffect, useId, useRef, useState, type DragEvent, type FormEvent, type ReactNode } from 'react';
import {
  INTERNET,
  NODE_STATE_FIELDS,
  formatImportIssue,
  readKubectlDump,
  withNodeState,
  writeImportedScenario,
  type ImportAnswers,
  type ImportIssue,
  type ImportQuestion,
  type KubectlDump,
  type NodeStateField,
  type NodeStateTexts,
} from '../../scenario/importKubectl.ts';
import type { NetnsView } from '../../engine/view.ts';
import { useAppState, useServices } from '../context.ts';
import { Trans, useTranslation } from 'react-i18next';
import { CNI_MODES, type CniMode } from '../../scenario/model.ts';
import { parseScenario } from '../../scenario/parse.ts';
import { droppedText, evidenceText } from './notes.ts';

const NO_NAMESPACES: readonly NetnsView[] = [];

const isCniMode = (v: string): v is CniMode => Object.hasOwn(CNI_MODES, v);

/** The header's Import button and its dialog. */
export function ImportButton() {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const { t } = useTranslation();
  return (
    <>
      <button ref={button} type="button" className="import-button" onClick={() => setOpen(true)}>
        {t('importer.button')}
      </button>
      {open ? (
        <ImportDialog
          onClose={() => {
            setOpen(false);
            button.current?.focus();
          }}
        />
      ) : null}
    </>
  );
}

type Tab = 'kubectl' | 'node';

export function ImportDialog({ onClose }: { onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [tab, setTab] = useState<Tab>('kubectl');
  const titleId = useId();
  const { t } = useTranslation();
  // The modal dialog is closed first: until then everything outside it is inert and cannot take focus.
  const close = () => {
    const d = ref.current;
    if (d?.open && typeof d.close === 'function') d.close();
    onClose();
  };

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    // jsdom has no showModal; there the dialog is simply open.
    if (typeof d.showModal === 'function') d.showModal();
    else d.setAttribute('open', '');
    return () => {
      if (d.open && typeof d.close === 'function') d.close();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      className="import-dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        // Escape: close through React so the button gets focus back.
        e.preventDefault();
        close();
      }}
    >
      <header className="import-head">
        <h2 id={titleId}>{t('importer.title')}</h2>
        <div role="tablist" aria-label={t('importer.what')}>
          <TabButton tab="kubectl" current={tab} onSelect={setTab}>
            {t('importer.kubectlTab')}
          </TabButton>
          <TabButton tab="node" current={tab} onSelect={setTab}>
            {t('importer.nodeTab')}
          </TabButton>
        </div>
        <button type="button" onClick={close} aria-label={t('importer.close')}>
          ×
        </button>
      </header>
      <div role="tabpanel" aria-label={tab === 'kubectl' ? t('importer.kubectlTab') : t('importer.nodeTab')}>
        {tab === 'kubectl' ? <KubectlImport onDone={close} /> : <NodeStateImport onDone={close} />}
      </div>
    </dialog>
  );
}

function TabButton(props: { tab: Tab; current: Tab; onSelect: (t: Tab) => void; children: ReactNode }) {
  return (
    <button
      type="button"
      role="tab"
      aria-selected={props.tab === props.current}
      className={props.tab === props.current ? 'tab tab--current' : 'tab'}
      onClick={() => props.onSelect(props.tab)}
    >
      {props.children}
    </button>
  );
}

const COMMAND = 'kubectl get nodes,pods,services,endpointslices,networkpolicies -A -o json';

function KubectlImport({ onDone }: { onDone: () => void }) {
  const { store, runWalk } = useServices();
  const [text, setText] = useState('');
  const [dump, setDump] = useState<KubectlDump | null>(null);
  const [errors, setErrors] = useState<readonly ImportIssue[]>([]);
  const [answers, setAnswers] = useState<ImportAnswers>({});
  const ids = { text: useId(), file: useId(), help: useId() };
  const { t } = useTranslation();

  const read = (input: string) => {
    const result = readKubectlDump(input);
    setAnswers({});
    if (result.ok) {
      setDump(result);
      setErrors([]);
    } else {
      setDump(null);
      setErrors(result.errors);
    }
  };

  const load = (e: FormEvent) => {
    e.preventDefault();
    if (!dump) return;
    const written = writeImportedScenario(dump, answers);
    if (!written.ok) {
      setErrors(written.errors);
      return;
    }
    setErrors([]);
    store.getState().setScenario('', written.text);
    store.getState().setWalk(null, null);
    runWalk({ name: null });
    onDone();
  };

  const pasted = (value: string) => {
    setText(value);
    setDump(null);
    setErrors([]);
  };

  return (
    <div className="import-body">
      <p id={ids.help} className="import-help">
        <Trans
          i18nKey="importer.kubectlHelp"
          components={{ command: <code>{COMMAND}</code>, yaml: <code>-o yaml</code> }}
        />
      </p>
      <FileText
        id={ids.text}
        label={t('importer.kubectlText')}
        value={text}
        onChange={pasted}
        describedBy={ids.help}
        rows={10}
      />
      <div className="import-actions">
        <FileChooser id={ids.file} label={t('importer.chooseFile')} onText={pasted} />
        <button type="button" className="primary" onClick={() => read(text)} disabled={!text.trim()}>
          {t('importer.read')}
        </button>
      </div>
      <Issues issues={errors} />
      {dump ? (
        <form onSubmit={load} aria-label={t('importer.answers')}>
          <Findings dump={dump} />
          <fieldset className="import-questions">
            <legend>{t('importer.questions')}</legend>
            {dump.questions.map((q) => (
              <QuestionField
                key={q.id}
                question={q}
                value={answers[q.id] ?? q.default}
                onChange={(v) => setAnswers({ ...answers, [q.id]: v })}
              />
            ))}
          </fieldset>
          <div className="import-actions">
            <button type="submit" className="primary">
              {t('importer.load')}
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}

function Findings({ dump }: { dump: KubectlDump }) {
  const { t } = useTranslation();
  const c = dump.counts;
  const parts = [
    [c.nodes, 'nodes'],
    [c.pods, 'pods'],
    [c.services, 'services'],
    [c.endpointSlices, 'endpointSlices'],
    [c.networkPolicies, 'networkPolicies'],
    [c.namespaces, 'namespaces'],
    [c.other, 'other'],
  ] as const;
  const list = parts
    .filter(([n], i) => n > 0 || i < 5)
    .map(([n, what]) => t(`importer.count.${what}`, { count: n }))
    .join(', ');
  return (
    <section className="import-found" aria-label={t('importer.foundLabel')}>
      <p>{t('importer.found', { list })}</p>
      {dump.dropped.length > 0 ? (
        <ul className="import-dropped" aria-label={t('importer.leftOut')}>
          {dump.dropped.map((g) => (
            <li key={g.reason}>
              <details>
                <summary>
                  {t('importer.leftOutGroup', { count: g.objects.length, reason: droppedText(t, g) })}
                </summary>
                <p className="import-list">{g.objects.join(', ')}</p>
              </details>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function QuestionField(props: { question: ImportQuestion; value: string; onChange: (v: string) => void }) {
  const { question: q, value, onChange } = props;
  const id = useId();
  const why = useId();
  const describedBy = q.evidence.length > 0 ? why : undefined;
  const { t } = useTranslation();
  let input;
  if (q.kind === 'choice')
    input = (
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} aria-describedby={describedBy}>
        {(q.options ?? []).map((o) => (
          <option key={o.value} value={o.value}>
            {o.value} — {isCniMode(o.value) ? t(`cniMode.${o.value}`) : o.label}
          </option>
        ))}
      </select>
    );
  else if (q.kind === 'boolean')
    input = (
      <input
        id={id}
        type="checkbox"
        checked={value === 'true'}
        onChange={(e) => onChange(e.target.checked ? 'true' : 'false')}
        aria-describedby={describedBy}
      />
    );
  else
    input = (
      <input
        id={id}
        value={value}
        spellCheck={false}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={describedBy}
      />
    );
  return (
    <div className="import-question">
      <label htmlFor={id}>{t(`importer.question.${q.id}`, { range: INTERNET })}</label>
      {input}
      {q.evidence.length > 0 ? (
        <ul id={why} className="import-evidence">
          {q.evidence.map((e) => (
            <li key={e.text}>{evidenceText(t, e)}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

const NODE_STATE_LABELS: Readonly<Record<NodeStateField, string>> = {
  iptablesSave: 'iptables-save',
  ipRoute: 'ip route',
  ipNeigh: 'ip neigh',
  bridgeFdb: 'bridge fdb',
  conntrack: 'conntrack -L',
};

function NodeStateImport({ onDone }: { onDone: () => void }) {
  const { store, runWalk } = useServices();
  const nodes = useAppState((s) => s.run?.view?.namespaces ?? NO_NAMESPACES).filter((n) => n.kind === 'node');
  const [node, setNode] = useState(nodes[0]?.label ?? '');
  const [texts, setTexts] = useState<NodeStateTexts>({});
  const [problem, setProblem] = useState('');
  // What the scenario parser says of each pasted output (its own lines): the dialog stays open until they
  // read, so nothing pasted is lost to a scenario that no longer parses.
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const ids = { node: useId(), help: useId() };
  const { t } = useTranslation();

  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (!node) return;
    if (NODE_STATE_FIELDS.every((f) => !texts[f]?.trim())) {
      setProblem(t('importer.needPaste'));
      return;
    }
    const state = store.getState();
    const next = withNodeState(state.scenarioText, node, texts);
    const errors = nodeStateErrors(next, node);
    setFieldErrors(errors);
    if (Object.keys(errors).length > 0) {
      setProblem(t('importer.nodeStateProblems'));
      return;
    }
    state.setScenario('', next);
    const { walk, walkName } = store.getState();
    runWalk(walkName !== null ? { name: walkName } : (walk ?? { name: null }));
    onDone();
  };

  if (nodes.length === 0) return <p className="import-help">{t('importer.needNodes')}</p>;
  return (
    <form className="import-body" onSubmit={apply} aria-label={t('importer.nodeTab')}>
      <p id={ids.help} className="import-help">
        {t('importer.nodeHelp')}
      </p>
      <div className="import-question">
        <label htmlFor={ids.node}>{t('importer.node')}</label>
        <select id={ids.node} value={node} onChange={(e) => setNode(e.target.value)}>
          {nodes.map((n) => (
            <option key={n.id} value={n.label}>
              {n.label}
            </option>
          ))}
        </select>
      </div>
      {NODE_STATE_FIELDS.map((f) => (
        <NodeStateText
          key={f}
          label={NODE_STATE_LABELS[f]}
          value={texts[f] ?? ''}
          errors={fieldErrors[f] ?? []}
          onChange={(v) => {
            setTexts({ ...texts, [f]: v });
            setFieldErrors((e) => {
              const { [f]: _gone, ...rest } = e;
              return rest;
            });
          }}
        />
      ))}
      {problem ? (
        <p role="alert" className="import-errors">
          {problem}
        </p>
      ) : null}
      <div className="import-actions">
        <button type="submit" className="primary">
          {t('importer.addToScenario')}
        </button>
      </div>
    </form>
  );
}

type FieldErrors = Partial<Record<NodeStateField, readonly string[]>>;

/** The parser's errors about `node`'s NodeState document, by pasted output; their line numbers are the
 *  output's own ("line 2: unknown route type"). */
function nodeStateErrors(scenario: string, node: string): FieldErrors {
  const parsed = parseScenario(scenario);
  if (parsed.ok) return {};
  const out: Partial<Record<NodeStateField, string[]>> = {};
  for (const e of parsed.errors) {
    if (e.kind !== 'NodeState' || e.name !== node) continue;
    const field = NODE_STATE_FIELDS.find((f) => e.path === `spec.${f}` || e.path.startsWith(`spec.${f}.`));
    if (field) (out[field] ??= []).push(e.message);
  }
  return out;
}

function NodeStateText(props: {
  label: string;
  value: string;
  errors: readonly string[];
  onChange: (v: string) => void;
}) {
  const id = useId();
  const errorsId = useId();
  const invalid = props.errors.length > 0;
  return (
    <>
      <FileText
        id={id}
        label={props.label}
        value={props.value}
        onChange={props.onChange}
        rows={4}
        {...(invalid ? { describedBy: errorsId, invalid } : {})}
      />
      {invalid ? (
        <ul id={errorsId} className="import-errors import-field-errors">
          {props.errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

/** A textarea that also takes a dropped file. */
function FileText(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  describedBy?: string;
  invalid?: boolean;
  rows: number;
}) {
  const drop = (e: DragEvent<HTMLTextAreaElement>) => {
    const file = e.dataTransfer.files[0];
    if (!file) return;
    e.preventDefault();
    void file.text().then(props.onChange);
  };
  return (
    <div className="import-text">
      <label htmlFor={props.id}>{props.label}</label>
      <textarea
        id={props.id}
        value={props.value}
        rows={props.rows}
        spellCheck={false}
        aria-describedby={props.describedBy}
        aria-invalid={props.invalid ? true : undefined}
        onChange={(e) => props.onChange(e.target.value)}
        onDragOver={(e) => e.preventDefault()}
        onDrop={drop}
      />
    </div>
  );
}

function FileChooser(props: { id: string; label: string; onText: (t: string) => void }) {
  return (
    <label className="import-file" htmlFor={props.id}>
      {props.label}
      <input
        id={props.id}
        type="file"
        accept=".yaml,.yml,.json,.txt,text/plain,application/json"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) void file.text().then(props.onText);
        }}
      />
    </label>
  );
}

function Issues({ issues }: { issues: readonly ImportIssue[] }) {
  const { t } = useTranslation();
  if (issues.length === 0) return null;
  return (
    <div role="alert" className="import-errors">
      <p>{t('importer.problems')}</p>
      <ul>
        {issues.slice(0, 50).map((i, n) => (
          <li key={n}>{formatImportIssue(i)}</li>
        ))}
      </ul>
      {issues.length > 50 ? <p>{t('importer.more', { count: issues.length - 50 })}</p> : null}
    </div>
  );
}
