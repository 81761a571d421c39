// spec.translations: the parser's checks, scenarioText's fallback, and the Korean of every built-in scenario.
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../engine/index.ts';
import { worldView } from '../engine/viewOf.ts';
import { LANGUAGES } from '../ui/i18n/languages.ts';
import { decodeShareState, paramsOf, shareUrl } from '../ui/share/urlState.ts';
import { SCENARIO_LANGUAGES, scenarioText, type ClusterModel } from './model.ts';
import { formatIssue, parseScenario, type ScenarioIssue } from './parse.ts';
import { PRESETS } from './presets.ts';

/** A Cluster document with two walks and `translations` (indented under spec), then the two nodes. */
function scenario(translations: string): string {
  return `apiVersion: packetwalk.dev/v1alpha1
kind: Cluster
metadata: { name: test }
spec:
  description: Two nodes.
  walks:
    - { name: ping, description: A ping., from: node/node-1, to: node/node-2, protocol: icmp }
    - { name: plain, from: node/node-1, to: "node/node-2:10250" }
${translations}---
apiVersion: v1
kind: Node
metadata: { name: node-1 }
spec: { podCIDR: 10.244.1.0/24 }
status: { addresses: [{ type: InternalIP, address: 192.168.1.11 }] }
---
apiVersion: v1
kind: Node
metadata: { name: node-2 }
spec: { podCIDR: 10.244.2.0/24 }
status: { addresses: [{ type: InternalIP, address: 192.168.1.12 }] }
`;
}

function parsed(text: string): { model: ClusterModel; warnings: ScenarioIssue[] } {
  const r = parseScenario(text);
  if (!r.ok) throw new Error(`expected a model, got:\n${r.errors.map(formatIssue).join('\n')}`);
  return r;
}

function errorsOf(text: string): ScenarioIssue[] {
  const r = parseScenario(text);
  if (r.ok) throw new Error('expected errors, got a model');
  return r.errors;
}

/** The 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`no line contains ${needle}`);
  return i + 1;
}

describe('spec.translations in the parser', () => {
  it('is read into the model, texts trimmed', () => {
    const { model, warnings } = parsed(
      scenario(`  translations:
    ko:
      description: |
        노드 두 개입니다.
      walks:
        ping: { description: "ping 하나입니다. " }
`),
    );
    expect(warnings).toEqual([]);
    expect(model.translations).toEqual({
      ko: { description: '노드 두 개입니다.', walks: { ping: { description: 'ping 하나입니다.' } } },
    });
  });

  it('is left out of the model when absent', () => {
    expect(Object.hasOwn(parsed(scenario('')).model, 'translations')).toBe(false);
  });

  it.each([
    {
      name: 'a walk the scenario does not have',
      yaml: '  translations:\n    ko:\n      walks:\n        pong: { description: 퐁 }\n',
      path: 'spec.translations.ko.walks.pong',
      message: 'no walk named "pong" in spec.walks',
      at: 'pong:',
    },
    {
      name: 'a description that is not a string',
      yaml: '  translations:\n    ko:\n      description: [설명]\n',
      path: 'spec.translations.ko.description',
      message: 'must be a string',
      at: 'description: [',
    },
    {
      name: "a walk's description that is not a string",
      yaml: '  translations:\n    ko:\n      walks:\n        ping: { description: 42 }\n',
      path: 'spec.translations.ko.walks.ping.description',
      message: 'must be a string',
      at: 'ping: {',
    },
    {
      name: 'a walk entry without a description',
      yaml: '  translations:\n    ko:\n      walks:\n        ping: {}\n',
      path: 'spec.translations.ko.walks.ping.description',
      message: 'required',
      at: 'ping: {}',
    },
    {
      name: 'a walk entry that is a plain string',
      yaml: '  translations:\n    ko:\n      walks:\n        ping: 핑\n',
      path: 'spec.translations.ko.walks.ping',
      message: 'must be a mapping',
      at: 'ping: 핑',
    },
    {
      name: 'an empty description',
      yaml: '  translations:\n    ko:\n      description: "  "\n',
      path: 'spec.translations.ko.description',
      message: 'must not be empty (leave it out to show the original text)',
      at: 'description: "  "',
    },
    {
      name: 'translations that are not a mapping',
      yaml: '  translations: [ko]\n',
      path: 'spec.translations',
      message: 'must be a mapping',
      at: 'translations:',
    },
    {
      name: 'a language that is not a mapping',
      yaml: '  translations:\n    ko: 한국어\n',
      path: 'spec.translations.ko',
      message: 'must be a mapping',
      at: 'ko: 한국어',
    },
  ])('rejects $name, on its line', ({ yaml, path, message, at }) => {
    const text = scenario(yaml);
    expect(errorsOf(text)).toEqual([
      { document: 1, kind: 'Cluster', name: 'test', path, message, line: lineOf(text, at) },
    ]);
  });

  it('warns about a language the UI does not speak, naming the ones it does, and ignores it', () => {
    const text = scenario(
      '  translations:\n    ja:\n      description: 二つのノード\n    ko:\n      description: 노드 두 개\n',
    );
    const { model, warnings } = parsed(text);
    expect(warnings).toEqual([
      {
        document: 1,
        kind: 'Cluster',
        name: 'test',
        path: 'spec.translations.ja',
        message: 'unknown language "ja" (ignored): the languages are en, ko',
        line: lineOf(text, 'ja:'),
      },
    ]);
    expect(model.translations).toEqual({ ko: { description: '노드 두 개' } });
  });

  it('warns about unknown fields in a language', () => {
    const text = scenario('  translations:\n    ko:\n      title: 제목\n');
    expect(parsed(text).warnings.map((w) => [w.path, w.message, w.line])).toEqual([
      ['spec.translations.ko.title', 'unknown field (ignored)', lineOf(text, 'title:')],
    ]);
  });

  it('speaks the languages of the UI', () => {
    expect([...SCENARIO_LANGUAGES].sort()).toEqual(Object.keys(LANGUAGES).sort());
  });
});

describe('scenarioText', () => {
  const model = parsed(
    scenario(`  translations:
    ko:
      walks:
        ping: { description: ping 하나입니다. }
        plain: { description: 설명만 번역에 있습니다. }
`),
  ).model;

  it('gives the translation where there is one and the original elsewhere', () => {
    const ko = scenarioText(model, 'ko');
    expect(ko.description).toBe('Two nodes.');
    expect(ko.walkDescription('ping')).toBe('ping 하나입니다.');
    expect(ko.walkDescription('plain')).toBe('설명만 번역에 있습니다.');
  });

  it('matches a language by its primary subtag', () => {
    expect(scenarioText(model, 'ko-KR').walkDescription('ping')).toBe('ping 하나입니다.');
    expect(scenarioText(model, 'KO').walkDescription('ping')).toBe('ping 하나입니다.');
  });

  it('falls back to the original for a language without a translation', () => {
    for (const lang of ['en', 'fr', '', 'korean']) {
      const t = scenarioText(model, lang);
      expect(t.description).toBe('Two nodes.');
      expect(t.walkDescription('ping')).toBe('A ping.');
      expect(t.walkDescription('plain')).toBe('');
    }
  });

  it('gives "" for a walk the scenario does not have, even one named like an Object member', () => {
    expect(scenarioText(model, 'ko').walkDescription('nope')).toBe('');
    expect(scenarioText(model, 'ko').walkDescription('constructor')).toBe('');
  });

  it('works on a scenario without translations and on a preset entry (no walks)', () => {
    const plain = parsed(scenario('')).model;
    expect(scenarioText(plain, 'ko').walkDescription('ping')).toBe('A ping.');
    expect(
      scenarioText({ description: 'D', translations: { ko: { description: '설명' } } }, 'ko'),
    ).toMatchObject({ description: '설명' });
  });
});

// ---------------------------------------------------------------------------------------------------------
// The built-in scenarios' Korean

const HANGUL = /[\uAC00-\uD7A3]/;

/**
 * The tokens of an English text that a translation must keep as written: `backticked` text, IPv4 addresses
 * and CIDRs (with a port), numbers of two or more digits ("1480-byte" gives 1480), and technical names —
 * words with a digit (eth0, node-1, flannel.1), all capitals (DNAT, KUBE-SERVICES) or an inner capital
 * (ClusterIP, externalTrafficPolicy).
 */
function technicalTokens(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/`([^`]+)`/g)) out.add(m[1]!);
  for (const m of text.matchAll(/[A-Za-z0-9][A-Za-z0-9._:/+-]*[A-Za-z0-9+]/g)) {
    const t = m[0];
    const bytes = /^(\d+)-bytes?$/.exec(t);
    if (bytes) out.add(bytes[1]!);
    else if (/^[\d.:/]+$/.test(t)) {
      if (/\d\d|\./.test(t)) out.add(t);
    } else if ((/\d/.test(t) && /[A-Za-z]/.test(t)) || /^[A-Z][A-Z0-9-]+$/.test(t) || /[a-z][A-Z]/.test(t))
      out.add(t);
  }
  return [...out];
}

describe('technicalTokens', () => {
  it('finds addresses, numbers and names, and nothing of the prose', () => {
    expect(
      technicalTokens(
        'A 1480-byte SYN to 10.96.0.1:443 leaves eth0 via flannel.1; `ip route` shows 10.244.0.0/16 and ClusterIP, ' +
          'with externalTrafficPolicy: Local on node-1, then KUBE-SEP-... DNATs it (ndots:5, port 8472).',
      ).sort(),
    ).toEqual(
      [
        '1480',
        'SYN',
        '10.96.0.1:443',
        'eth0',
        'flannel.1',
        'ip route',
        '10.244.0.0/16',
        'ClusterIP',
        'externalTrafficPolicy',
        'node-1',
        'KUBE-SEP',
        'ndots:5',
        '8472',
      ].sort(),
    );
  });
});

describe.each(PRESETS.map((p) => [p.id, p] as const))('built-in scenario %s in Korean', (_id, preset) => {
  const r = parseScenario(preset.text);
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  const model = r.model;
  const ko = model.translations?.ko;
  const texts = [
    { what: 'spec.description', en: model.description, ko: ko?.description },
    ...model.walks.map((w) => ({
      what: `walk ${w.name}`,
      en: w.description,
      ko: ko?.walks && Object.hasOwn(ko.walks, w.name) ? ko.walks[w.name]?.description : undefined,
    })),
  ];

  it('parses without warnings about its translations', () => {
    expect(r.warnings.filter((w) => w.path.startsWith('spec.translations'))).toEqual([]);
  });

  it.each(texts.map((t) => [t.what, t] as const))(
    'has %s in Korean, keeping its technical tokens',
    (_w, t) => {
      expect(t.en.trim()).not.toBe('');
      expect(t.ko, 'no ko translation').toBeTypeOf('string');
      expect(t.ko).toMatch(HANGUL);
      const lost = technicalTokens(t.en).filter((token) => !t.ko!.includes(token));
      expect(lost, `tokens of the English text missing in the Korean:\n${t.ko}`).toEqual([]);
    },
  );

  it('gives the Korean through scenarioText, from the model and from the preset entry', () => {
    const text = scenarioText(model, 'ko');
    expect(text.description).toBe(ko?.description);
    for (const w of model.walks) expect(text.walkDescription(w.name)).toBe(ko?.walks?.[w.name]?.description);
    expect(scenarioText(preset, 'ko').description).toBe(ko?.description);
    expect(scenarioText(preset, 'en').description).toBe(model.description);
  });
});

describe('a share link', () => {
  it('carries a scenario text with its translations as it is (ui/share/urlState.ts)', () => {
    // A user's own scenario (the `sc` parameter): a preset edited, its Korean included.
    const preset = PRESETS.find((p) => p.id === 'default')!;
    const text = preset.text.replace('Three nodes on', 'Three edited nodes on');
    const state = {
      scenario: { kind: 'text', text } as const,
      walk: null,
      overrides: {},
      seed: null,
      hop: null,
    };
    const url = new URL(shareUrl('https://example.org/', state));
    const decoded = decodeShareState(
      paramsOf(url.search, url.hash),
      PRESETS.map((p) => p.id),
    );
    expect(decoded).toEqual({ kind: 'state', state });
    const model = parsed(text).model;
    expect(model.translations).toEqual(parsed(preset.text).model.translations);
    expect(scenarioText(model, 'ko').walkDescription('pod-to-node')).toMatch(HANGUL);
  });
});

describe("the engine's world view (what the worker sends the UI)", () => {
  it('carries the translations, so that scenarioText reads the view as it reads the model', () => {
    const model = parsed(PRESETS.find((p) => p.id === 'nodeport')!.text).model;
    const view = worldView(
      buildWorld(model),
      model.walks.map(({ name, description, from, to, protocol }) => ({
        name,
        description,
        from,
        to,
        protocol,
      })),
    );
    expect(view.translations).toEqual(model.translations);
    const ko = scenarioText(view, 'ko');
    expect(ko.description).toBe(model.translations?.ko?.description);
    expect(ko.walkDescription('nodeport-extra-hop')).toBe(
      model.translations?.ko?.walks?.['nodeport-extra-hop']?.description,
    );
    expect(scenarioText(view, 'en').walkDescription('nodeport-extra-hop')).toBe(
      model.walks.find((w) => w.name === 'nodeport-extra-hop')?.description,
    );
  });

  it('has no translations field for a scenario without them', () => {
    expect(Object.hasOwn(worldView(buildWorld(parsed(scenario('')).model)), 'translations')).toBe(false);
  });
});
