// Which scenario, which walk: the scenario's named walks, or from/to/protocol typed in.
import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { T } from '../i18n/index.ts';
import { scenarioText, TOPICS, type ScenarioTranslations, type Topic } from '../../scenario/model.ts';
import type { WalkRequest } from '../../worker/protocol.ts';
import { useAppState, useServices } from '../context.ts';
import { HeaderMenu } from './HeaderMenu.tsx';

export interface PresetOption {
  readonly id: string;
  readonly title: string;
  readonly text: string;
  /** The library group it is listed in (default 'cluster'). */
  readonly topic?: Topic;
  /** Its introduction (the Cluster document's spec.description). */
  readonly description?: string;
  /** spec.translations: the introduction in the UI's other languages. */
  readonly translations?: ScenarioTranslations;
}

/** The presets grouped by topic, in the order TOPICS lists them; a group only when it has presets. */
export function presetGroups(presets: readonly PresetOption[]): { topic: Topic; presets: PresetOption[] }[] {
  return (Object.keys(TOPICS) as Topic[])
    .map((topic) => ({
      topic,
      presets: presets.filter((p) => (p.topic ?? 'cluster') === topic),
    }))
    .filter((g) => g.presets.length > 0);
}

/** A description as paragraphs: blank lines separate them, single line breaks are folded (YAML `|` text). */
export function paragraphsOf(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, ' ').trim())
    .filter((p) => p.length > 0);
}

const PROTOCOLS = ['tcp', 'udp', 'icmp'] as const;
const NO_WALKS: readonly { name: string; description: string }[] = [];
const CUSTOM = '';
/** The walk's description, which the walk select points to (aria-describedby); one per page. */
const WALK_HELP_ID = 'walk-help';

/** The scenario and walk selects, and the walk typed in (from/to/protocol) behind a header button; choosing
 *  "custom…" opens it. */
export function WalkPicker({ presets }: { presets: readonly PresetOption[] }) {
  const { t } = useTranslation();
  const { store, runWalk } = useServices();
  const scenarioId = useAppState((s) => s.scenarioId);
  const walks = useAppState((s) => s.run?.view?.walks ?? NO_WALKS);
  const walk = useAppState((s) => s.walk);
  const walkName = useAppState((s) => s.walkName);
  const [typing, setTyping] = useState(false);
  const ids = { scenario: useId(), walk: useId() };

  const pickScenario = (id: string) => {
    const preset = presets.find((p) => p.id === id);
    if (!preset) return;
    store.getState().setScenario(preset.id, preset.text);
    store.getState().setWalk(null, null);
    runWalk({ name: null });
  };

  const pickWalk = (name: string) => {
    if (name === CUSTOM) {
      store.getState().setWalk(store.getState().walk, null);
      setTyping(true);
      return;
    }
    runWalk({ name });
  };

  return (
    <div className="picker">
      <div className="picker-field">
        <label htmlFor={ids.scenario}>{t('picker.scenario')}</label>
        <select id={ids.scenario} value={scenarioId} onChange={(e) => pickScenario(e.target.value)}>
          {scenarioId === '' ? <option value="">{t('picker.fromLink')}</option> : null}
          {presetGroups(presets).map((g) => (
            <optgroup key={g.topic} label={t(`topic.${g.topic}`)}>
              {g.presets.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.title}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </div>
      <div className="picker-field">
        <label htmlFor={ids.walk}>{t('picker.walk')}</label>
        <select
          id={ids.walk}
          value={walkName ?? CUSTOM}
          onChange={(e) => pickWalk(e.target.value)}
          aria-describedby={WALK_HELP_ID}
        >
          {walks.map((w) => (
            <option key={w.name} value={w.name}>
              {w.name}
            </option>
          ))}
          <option value={CUSTOM}>{t('picker.custom')}</option>
        </select>
      </div>
      <HeaderMenu label={t('header.customWalk')} open={typing} onOpenChange={setTyping}>
        <WalkForm
          key={walk ? `${walk.from} ${walk.to} ${walk.protocol}` : 'none'}
          initial={walk}
          onSubmitted={() => setTyping(false)}
        />
      </HeaderMenu>
    </div>
  );
}

/** The header's second line: the walk as from → to, what it shows, and the scenario's introduction. */
export function WalkAbout({ presets }: { presets: readonly PresetOption[] }) {
  const { t, i18n } = useTranslation();
  const scenarioId = useAppState((s) => s.scenarioId);
  const view = useAppState((s) => s.run?.view ?? null);
  const walk = useAppState((s) => s.walk);
  const walkName = useAppState((s) => s.walkName);
  // The scenario that is running (a shared link's too), else the picked preset; in the UI's language where
  // the scenario has a translation (spec.translations), else as written.
  const preset = presets.find((p) => p.id === scenarioId);
  const prose = view
    ? scenarioText(view, i18n.language)
    : preset
      ? scenarioText(
          { description: preset.description ?? '', translations: preset.translations ?? {} },
          i18n.language,
        )
      : null;
  const description = walkName !== null && prose ? prose.walkDescription(walkName) : '';
  const about = prose?.description ?? '';
  return (
    <div className="walk-about">
      {walk ? <code className="walk-route">{walkRoute(walk, t)}</code> : null}
      <p id={WALK_HELP_ID} className="picker-help">
        {description}
      </p>
      {about ? (
        <details className="scenario-about">
          <summary>{t('picker.about')}</summary>
          {paragraphsOf(about).map((p, i) => (
            <p key={i}>{p}</p>
          ))}
        </details>
      ) : null}
    </div>
  );
}

/** From/to/protocol fields; remounted (by key) when the store's walk changes, so they show it. */
function WalkForm({ initial, onSubmitted }: { initial: WalkRequest | null; onSubmitted: () => void }) {
  const { t } = useTranslation();
  const { store, runWalk } = useServices();
  const [draft, setDraft] = useState<WalkRequest>(initial ?? { from: '', to: '', protocol: 'tcp' });
  const ids = { from: useId(), to: useId(), protocol: useId() };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const walk: WalkRequest = { from: draft.from.trim(), to: draft.to.trim(), protocol: draft.protocol };
    if (!walk.from || !walk.to) return;
    store.getState().setWalk(walk, null);
    runWalk(walk);
    onSubmitted();
  };

  return (
    <form className="walk-form" aria-label={t('picker.customWalk')} onSubmit={submit}>
      <label htmlFor={ids.from}>{t('picker.from')}</label>
      <input
        id={ids.from}
        value={draft.from}
        placeholder="pod/default/client"
        spellCheck={false}
        onChange={(e) => setDraft({ ...draft, from: e.target.value })}
      />
      <label htmlFor={ids.to}>{t('picker.to')}</label>
      <input
        id={ids.to}
        value={draft.to}
        placeholder={t('picker.toPlaceholder')}
        spellCheck={false}
        onChange={(e) => setDraft({ ...draft, to: e.target.value })}
      />
      <label htmlFor={ids.protocol}>{t('picker.protocol')}</label>
      <select
        id={ids.protocol}
        value={draft.protocol}
        onChange={(e) => setDraft({ ...draft, protocol: e.target.value as WalkRequest['protocol'] })}
      >
        {PROTOCOLS.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
      <button type="submit">{t('picker.submit')}</button>
    </form>
  );
}

/** The walk as the header shows it: `from → to · protocol`; a CNI walk sends no packet, so it is the
 *  plugin command and the pod (`CNI ADD · pod/default/web`), with no protocol. */
export function walkRoute(walk: WalkRequest, t: T): string {
  const cni = /^cni\/(add|del)$/i.exec(walk.from);
  if (cni) return `${t(cni[1]!.toLowerCase() === 'add' ? 'leg.cni-add' : 'leg.cni-del')} · ${walk.to}`;
  return `${walk.from} → ${walk.to} · ${walk.protocol}`;
}
