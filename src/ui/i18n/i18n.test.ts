// The messages: Korean has exactly the English keys and, key by key, the same {{variables}} — so a Korean
// sentence can never drop an address or a device the English one shows — and technical names stay as Linux
// prints them.
import { describe, expect, it } from 'vitest';
import { en } from './en.ts';
import { bestLang, fixedT, isLang, LANGUAGES } from './index.ts';
import { flattenMessages } from './languages.ts';
import { ko } from './ko.ts';

const variables = (text: string): string[] =>
  [...new Set([...text.matchAll(/\{\{\s*([^}\s,]+)[^}]*\}\}/g)].map((m) => m[1] ?? ''))].sort();

const slots = (text: string): string[] => [...text.matchAll(/<([a-z]+)\/>/g)].map((m) => m[1] ?? '').sort();

const EN = flattenMessages(en);
const KO = flattenMessages(ko);

describe('messages', () => {
  it('en and ko have exactly the same keys', () => {
    expect([...KO.keys()].sort()).toEqual([...EN.keys()].sort());
    expect(EN.size).toBeGreaterThan(250);
  });

  it.each([...EN.keys()])('%s: the same interpolation variables in ko as in en', (key) => {
    // A CNI step's {{why}} is the engine's own English sentence (the hop list shows it): the Korean
    // narration leaves it out rather than open a Korean paragraph with an English one.
    const optional = key.startsWith('narration.cni.') ? ['why'] : [];
    expect(variables(KO.get(key) ?? '')).toEqual(
      variables(EN.get(key) ?? '').filter((v) => !optional.includes(v) || KO.get(key)?.includes(`{{${v}}}`)),
    );
    // And the same <Trans> component slots (<command/>): each is a piece of code the component fills in.
    expect(slots(KO.get(key) ?? '')).toEqual(slots(EN.get(key) ?? ''));
  });

  it('no message is empty, and ko is Korean wherever en has words to translate', () => {
    for (const [key, text] of [...EN, ...KO]) expect(text.trim(), key).not.toBe('');
    // Keys whose text is the same in every language: technical names, the bilingual language label, and
    // pure interpolation patterns.
    const same = [...EN.keys()].filter((k) => EN.get(k) === KO.get(k));
    for (const k of same)
      expect(EN.get(k), k).toMatch(
        /^(Language \/ 언어|[A-Z]{2,}\b.*|\{\{.*|[a-z]+|ICMP echo( reply)?|[{}\w ·:().→-]*)$/,
      );
    expect(same.length / EN.size).toBeLessThan(0.08);
    const hangul = [...KO.values()].filter((t) => /[\uAC00-\uD7A3]/.test(t)).length;
    expect(hangul / KO.size).toBeGreaterThan(0.85);
  });

  it('keeps the course notes’ words and the Linux names', () => {
    const all = [...KO.values()].join('\n');
    for (const word of ['파드', '노드', '브릿지', '네임스페이스', '서비스', '오버레이', '캡슐화', 'veth 쌍'])
      expect(all).toContain(word);
    // Every Linux/Kubernetes name an English narration names is in its Korean one too.
    const NAMES =
      /\b(eth0|cni0|flannel\.1|PREROUTING|POSTROUTING|conntrack|DNAT|SNAT|MASQUERADE|iptables|ClusterIP|kube-proxy|ip_forward=[01]|RELATED,ESTABLISHED|br_netfilter|getaddrinfo|ndots|NXDOMAIN|VXLAN|VNI|TTL|MTU|ARP|FDB|PERMANENT|NetworkPolicy|tcpdump|\/etc\/resolv\.conf)\b/g;
    for (const [key, text] of EN) {
      if (!key.startsWith('narration.')) continue;
      for (const name of new Set(text.match(NAMES) ?? []))
        expect(KO.get(key), `${key}: ${name}`).toContain(name);
    }
  });
});

describe('t', () => {
  it('interpolates in each language and picks plural forms', () => {
    const enT = fixedT('en');
    const koT = fixedT('ko');
    expect(enT('narration.dnat.text', { before: '10.96.0.10:53', after: '10.244.2.2:53' })).toMatch(
      /^The destination changes from 10\.96\.0\.10:53 to 10\.244\.2\.2:53/,
    );
    expect(koT('narration.dnat.text', { before: '10.96.0.10:53', after: '10.244.2.2:53' })).toMatch(
      /^목적지가 10\.96\.0\.10:53에서 10\.244\.2\.2:53\(으\)로 바뀝니다/,
    );
    expect(enT('narration.evaluated', { count: 1 })).toBe('1 rule evaluated');
    expect(enT('narration.evaluated', { count: 6 })).toBe('6 rules evaluated');
    expect(koT('narration.evaluated', { count: 6 })).toBe('규칙 6개 검사');
    // The accessible names the e2e tests use, in English, unchanged.
    expect(
      ['play', 'pause', 'stepForward', 'stepBack', 'restart'].map((k) =>
        enT(`controls.${k}` as 'controls.play'),
      ),
    ).toEqual(['Play', 'Pause', 'Step forward', 'Step back', 'Restart']);
    expect(enT('hops.label')).toBe('Hops');
    // Values are not HTML-escaped (React escapes what it renders; the canvas draws text).
    expect(enT('share.copyFailed', { text: '<a>&' })).toContain('<a>&');
  });
});

describe('languages', () => {
  it('bestLang takes the first code the UI speaks, by primary language', () => {
    expect(bestLang(['ko-KR', 'en-US'])).toBe('ko');
    expect(bestLang(['fr-FR', 'KO', 'en'])).toBe('ko');
    expect(bestLang(['en-GB', 'ko'])).toBe('en');
    expect(bestLang(['fr', 'de'])).toBeNull();
    expect(bestLang([])).toBeNull();
    expect(Object.keys(LANGUAGES).every(isLang)).toBe(true);
    expect(isLang('toString')).toBe(false);
  });
});
