import fc from 'fast-check';
import { compressToEncodedURIComponent } from 'lz-string';
import { describe, expect, it } from 'vitest';
import {
  MAX_COMPRESSED_LENGTH,
  decodeShareState,
  encodeShareState,
  paramsOf,
  readViewOptions,
  shareUrl,
  type ShareState,
} from './urlState.ts';

const PRESETS = ['default', 'three-tier', 'kube-proxy-ipvs'];
const decode = (text: string) => decodeShareState(paramsOf('', text), PRESETS);
const roundTrip = (s: ShareState) => decode(encodeShareState(s));

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
const refText = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && s !== '');

const stateArb: fc.Arbitrary<ShareState> = fc
  .record({
    scenario: fc.oneof(
      fc.constant(null),
      fc.constantFrom(...PRESETS).map((id) => ({ kind: 'preset' as const, id })),
      fc
        .string({ minLength: 1, maxLength: 400, unit: 'grapheme' })
        .map((text) => ({ kind: 'text' as const, text })),
    ),
    walk: fc.oneof(
      fc.constant(null),
      label.map((name) => ({ kind: 'named' as const, name })),
      fc
        .record({
          from: refText,
          to: refText,
          protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'icmp' as const),
          size: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
        })
        .map(({ size, ...w }) => ({
          kind: 'custom' as const,
          walk: size === undefined ? w : { ...w, size },
        })),
    ),
    overrides: fc
      .record({
        cni: fc.option(
          fc.constantFrom(
            'flannel-vxlan',
            'flannel-host-gw',
            'bridge-host-gw',
            'bridge-router',
          ) as fc.Arbitrary<'flannel-vxlan'>,
          { nil: undefined },
        ),
        kubeProxyMode: fc.option(fc.constantFrom('iptables' as const, 'ipvs' as const), { nil: undefined }),
        externalTrafficPolicy: fc.option(
          fc.dictionary(
            fc.tuple(label, label).map(([ns, n]) => `${ns}/${n}`),
            fc.constantFrom('Cluster' as const, 'Local' as const),
            { minKeys: 1, maxKeys: 4 },
          ),
          { nil: undefined },
        ),
      })
      .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))),
    seed: fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: null }),
    hop: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
    lang: fc.option(fc.constantFrom('en' as const, 'ko' as const), { nil: undefined }),
  })
  .map(({ lang, ...s }) => (lang === undefined ? s : { ...s, lang }));

describe('share URL state', () => {
  it('round-trips every state (fast-check)', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        expect(roundTrip(s)).toEqual({ kind: 'state', state: s });
      }),
    );
  });

  it('round-trips through a whole URL, query and fragment', () => {
    fc.assert(
      fc.property(stateArb, fc.boolean(), fc.boolean(), (s, embed, autoplay) => {
        const url = new URL(shareUrl('https://example.org/walk/?x=1#old', s, { embed, autoplay }));
        const params = paramsOf(url.search, url.hash);
        expect(decodeShareState(params, PRESETS)).toEqual({ kind: 'state', state: s });
        expect(readViewOptions(params)).toEqual({ embed, autoplay });
        expect(url.pathname).toBe('/walk/');
      }),
    );
  });

  it('is canonical: equal states give equal text', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        const r = roundTrip(s);
        if (r.kind !== 'state') throw new Error('did not decode');
        expect(encodeShareState(r.state)).toBe(encodeShareState(s));
      }),
    );
  });

  it('writes readable links', () => {
    expect(
      encodeShareState({
        scenario: { kind: 'preset', id: 'default' },
        walk: { kind: 'named', name: 'pod-to-pod-cross-node' },
        overrides: { cni: 'flannel-host-gw', externalTrafficPolicy: { 'default/web': 'Local' } },
        seed: 7,
        hop: 12,
      }),
    ).toBe('v=1&s=default&w=pod-to-pod-cross-node&cni=flannel-host-gw&etp=default/web:Local&seed=7&hop=12');
  });

  it('reads a URL without state as empty, and view options alone as empty state', () => {
    expect(decode('')).toEqual({ kind: 'empty' });
    expect(decodeShareState(paramsOf('?embed=1&autoplay=1', ''), PRESETS)).toEqual({ kind: 'empty' });
    expect(readViewOptions(paramsOf('?embed=1&autoplay=1', ''))).toEqual({ embed: true, autoplay: true });
    expect(readViewOptions(paramsOf('?embed=0', ''))).toEqual({ embed: false, autoplay: false });
  });

  it('reads hop from the query (an embed typed by hand), and lets the fragment win', () => {
    expect(decodeShareState(paramsOf('?embed=1&hop=4', ''), PRESETS)).toMatchObject({
      kind: 'state',
      state: { hop: 4, scenario: null, walk: null },
    });
    expect(decodeShareState(paramsOf('?hop=4', '#v=1&hop=9'), PRESETS)).toMatchObject({ state: { hop: 9 } });
  });

  describe('old versions keep working (fixtures: links as v1 wrote them — never edit, add new ones)', () => {
    it.each<[string, string, ShareState]>([
      [
        'a built-in scenario, a named walk, every toggle, seed and hop',
        'v=1&s=default&w=pod-to-pod-cross-node&cni=flannel-host-gw&kp=ipvs&etp=default/web:Local,default/web-local:Cluster&seed=7&hop=12',
        {
          scenario: { kind: 'preset', id: 'default' },
          walk: { kind: 'named', name: 'pod-to-pod-cross-node' },
          overrides: {
            cni: 'flannel-host-gw',
            kubeProxyMode: 'ipvs',
            externalTrafficPolicy: { 'default/web': 'Local', 'default/web-local': 'Cluster' },
          },
          seed: 7,
          hop: 12,
        },
      ],
      [
        "the user's own scenario and a walk typed in, escaped as URLSearchParams writes it",
        'v=1&sc=NYSwdgJgXABACgewgKALYFMAuBDC2dTIwxjYawDOCANgsgABA&from=pod%2Fdefault%2Fsolo&to=10.96.0.10%3A53&p=udp&size=100',
        {
          scenario: { kind: 'text', text: 'kind: Pod\nmetadata:\n  name: solo\n' },
          walk: {
            kind: 'custom',
            walk: { from: 'pod/default/solo', to: '10.96.0.10:53', protocol: 'udp', size: 100 },
          },
          overrides: {},
          seed: null,
          hop: null,
        },
      ],
      [
        'the UI language (lang=, added within v=1)',
        'v=1&s=default&w=pod-to-service&hop=5&lang=ko',
        {
          scenario: { kind: 'preset', id: 'default' },
          walk: { kind: 'named', name: 'pod-to-service' },
          overrides: {},
          seed: null,
          hop: 5,
          lang: 'ko',
        },
      ],
      [
        'no v at all reads as v=1',
        's=three-tier&hop=3',
        { scenario: { kind: 'preset', id: 'three-tier' }, walk: null, overrides: {}, seed: null, hop: 3 },
      ],
    ])('%s', (_, text, state) => {
      expect(decode(text)).toEqual({ kind: 'state', state });
    });
  });

  describe('lang', () => {
    it('is written last, only when set, and read back', () => {
      const base: ShareState = { scenario: null, walk: null, overrides: {}, seed: null, hop: 3 };
      expect(encodeShareState(base)).toBe('v=1&hop=3');
      expect(encodeShareState({ ...base, lang: 'ko' })).toBe('v=1&hop=3&lang=ko');
      expect(roundTrip({ ...base, lang: 'ko' })).toEqual({ kind: 'state', state: { ...base, lang: 'ko' } });
      expect(roundTrip({ ...base, lang: 'en' })).toEqual({ kind: 'state', state: { ...base, lang: 'en' } });
    });

    it('a language this version does not speak is ignored, not an error: the link still opens', () => {
      for (const lang of ['fr', 'ko-KR', '', '<b>']) {
        const r = decode(`v=1&s=default&hop=2&lang=${encodeURIComponent(lang)}`);
        expect(r).toEqual({
          kind: 'state',
          state: {
            scenario: { kind: 'preset', id: 'default' },
            walk: null,
            overrides: {},
            seed: null,
            hop: 2,
          },
        });
      }
    });

    it('travels in embed links too', () => {
      const url = shareUrl(
        'https://example.org/',
        { scenario: null, walk: null, overrides: {}, seed: null, hop: 0, lang: 'ko' },
        { embed: true },
      );
      expect(url).toBe('https://example.org/?embed=1#v=1&hop=0&lang=ko');
    });
  });

  describe('corrupt links are errors with a readable message, never a partial state', () => {
    it.each([
      ['a newer version', 'v=2&s=default', /newer Packet Walk.*v=2/],
      ['version zero', 'v=0&s=default', /v=0 is unknown/],
      ['a version that is not a number', 'v=one', /not a number/],
      ['an unknown built-in', 's=nope', /built-in scenario "nope"/],
      ['both s and sc', `s=default&sc=${compressToEncodedURIComponent('x')}`, /only do one/],
      ['a truncated scenario', 'sc=NYSwdgJgXABACgewgKALYFMAuBDC2dTIwx', /damaged/],
      ['scenario noise', 'sc=%%%%', /damaged/],
      ['an empty scenario', 'sc=', /damaged/],
      ['a scenario without the end mark', `sc=${compressToEncodedURIComponent('kind: Pod')}`, /damaged/],
      ['a scenario too long', `sc=${'A'.repeat(MAX_COMPRESSED_LENGTH + 1)}`, /too long/],
      ['a named and a custom walk', 'w=a&from=x&to=y', /only do one/],
      ['a walk without to', 'from=pod/default/a', /both from= and to=/],
      ['a bad protocol', 'from=a&to=b&p=sctp', /not tcp, udp or icmp/],
      ['a bad walk name', 'w=%3Cscript%3E', /not a walk name/],
      ['a bad CNI mode', 'cni=calico', /CNI mode "calico"/],
      ['a bad kube-proxy mode', 'kp=nftables', /kube-proxy mode "nftables"/],
      ['a bad traffic policy', 'etp=default/web:Sometimes', /not <namespace>\/<service>:Cluster or :Local/],
      ['a traffic policy without a namespace', 'etp=web:Local', /not <namespace>/],
      ['a policy set twice', 'etp=a/b:Local,a/b:Cluster', /twice/],
      ['a negative hop', 'hop=-1', /not a whole number/],
      ['a fractional seed', 'seed=1.5', /not a whole number/],
      ['a seed out of range', 'seed=4294967296', /out of range/],
      ['a hop out of range', 'hop=100001', /out of range/],
      ['a size out of range', 'from=a&to=b&size=70000', /out of range/],
    ])('%s', (_, text, message) => {
      const r = decode(text);
      expect(r.kind).toBe('error');
      if (r.kind === 'error') expect(r.message).toMatch(message);
    });

    it('quotes and shortens what it repeats from the link', () => {
      const r = decode(`cni=${encodeURIComponent('<img src=x onerror=alert(1)>'.repeat(5))}`);
      expect(r.kind).toBe('error');
      if (r.kind === 'error') {
        expect(r.message.length).toBeLessThan(200);
        expect(r.message).toContain('"<img src=x onerror=alert(1)><img src=x o…"');
      }
    });

    it('never throws on any input (fast-check)', () => {
      const key = fc.constantFrom(
        'v',
        's',
        'sc',
        'w',
        'from',
        'to',
        'p',
        'size',
        'cni',
        'kp',
        'etp',
        'seed',
        'hop',
        'x',
      );
      fc.assert(
        fc.property(fc.array(fc.tuple(key, fc.string({ maxLength: 30 })), { maxLength: 6 }), (pairs) => {
          const p = new URLSearchParams(pairs);
          const r = decodeShareState(p, PRESETS);
          expect(['empty', 'state', 'error']).toContain(r.kind);
        }),
      );
    });
  });
});
