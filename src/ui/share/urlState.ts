// The share link: the whole state of the app — scenario, walk, toggles, seed, current hop — as URL
// parameters, and back. Pure functions (no window, no store): App reads `location`, passes the text in, and
// writes what `encodeShareState` returns.
//
//   https://…/#v=1&s=default&w=pod-to-pod-cross-node&cni=flannel-host-gw&kp=ipvs&etp=default/web:Local&seed=7&hop=12&lang=ko
//   https://…/?embed=1&autoplay=1#v=1&sc=<lz-string>&from=pod/default/a&to=10.96.0.10:53&p=udp
//
// The state goes in the fragment (it never reaches a server, and a user's scenario can be long); the
// decoder also reads the query, so `?embed=1&hop=4` works as typed. Version 1 of the format:
//
//   v      format version; absent means 1
//   s      a built-in scenario's id            ┐ at most one; neither: the default scenario
//   sc     the scenario's text + NUL, lz-string ┘ (compressToEncodedURIComponent; the NUL, which YAML
//                                                  text cannot hold, shows a link cut short)
//   w      a walk the scenario names           ┐ at most one; neither: the scenario's first walk
//   from, to, p (tcp|udp|icmp), size             ┘ a walk typed in
//   cni    flannel-vxlan | flannel-host-gw | bridge-host-gw | bridge-router
//   kp     iptables | ipvs
//   etp    <namespace>/<name>:<Cluster|Local>, comma-separated
//   seed   the walk's seed (0 … 2^32-1)
//   hop    the current hop: the event's seq, from 0 (the page shows seq + 1: present.ts shownNumber)
//   lang   the UI language (en | ko); added within v=1 — older links have none (the reader's language is
//          used), and a language this version does not speak is ignored, not an error (i18n/browser.ts reads
//          the same parameter at start)
//   embed=1, autoplay=1   how to show it (view options, not state)
//
// A newer format gets a new `v` and a decoder of its own here; old links keep their decoder (see the
// fixtures in urlState.test.ts). Unknown parameters are ignored, so a link from a newer minor change still
// opens. Anything that does not decode is an error with one readable sentence — never a half-applied state.
import { compressToEncodedURIComponent, decompressFromEncodedURIComponent } from 'lz-string';
import { CNI_MODES, type CniMode } from '../../scenario/model.ts';
import type { KubeProxyMode, Overrides, TrafficPolicy, WalkRequest } from '../../worker/protocol.ts';
import { isLang, type Lang } from '../i18n/languages.ts';

/** The format `encodeShareState` writes. */
export const SHARE_FORMAT_VERSION = 1;

/** Longest `sc` accepted: about 400 kB of YAML compresses below this; a longer one is not a scenario. */
export const MAX_COMPRESSED_LENGTH = 200_000;
/** Longest scenario text accepted after decompression (lz-string can expand a short input enormously). */
export const MAX_SCENARIO_LENGTH = 1_000_000;
/** Highest hop accepted: a walk's step budget is a few thousand events. */
export const MAX_HOP = 100_000;

export type SharedScenario =
  /** A built-in scenario, by id. */
  | { readonly kind: 'preset'; readonly id: string }
  /** The user's own scenario text. */
  | { readonly kind: 'text'; readonly text: string };

export type SharedWalk =
  /** A walk the scenario names. */
  | { readonly kind: 'named'; readonly name: string }
  /** A walk typed in (its seed is the state's `seed`). */
  | { readonly kind: 'custom'; readonly walk: Omit<WalkRequest, 'seed'> };

export interface ShareState {
  /** null: the default scenario. */
  readonly scenario: SharedScenario | null;
  /** null: the scenario's first walk. */
  readonly walk: SharedWalk | null;
  readonly overrides: Overrides;
  readonly seed: number | null;
  readonly hop: number | null;
  /** The UI language; absent: the reader's own. */
  readonly lang?: Lang;
}

export interface ViewOptions {
  /** Chrome-less view for an iframe. */
  readonly embed: boolean;
  /** Start playing once the trace is in. */
  readonly autoplay: boolean;
}

export type DecodeResult =
  /** The URL carries no state: start as usual. */
  | { readonly kind: 'empty' }
  | { readonly kind: 'state'; readonly state: ShareState }
  /** The URL carries state that cannot be decoded; `message` is plain text for the user. */
  | { readonly kind: 'error'; readonly message: string };

/** Parameters that make up the state (the view options are not among them). */
const STATE_KEYS = ['v', 's', 'sc', 'w', 'from', 'to', 'p', 'size', 'cni', 'kp', 'etp', 'seed', 'hop'];
const PROTOCOLS: readonly WalkRequest['protocol'][] = ['tcp', 'udp', 'icmp'];
const KUBE_PROXY_MODES: readonly KubeProxyMode[] = ['iptables', 'ipvs'];
const POLICIES: readonly TrafficPolicy[] = ['Cluster', 'Local'];
/** A Service's "namespace/name": both DNS-1123 labels (a namespace) and subdomain-ish names. */
const SERVICE_KEY = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
/** A walk name is a DNS-1123 label in the scenario format. */
const WALK_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PRESET_ID = /^[a-z0-9][-a-z0-9]*$/;
/** Appended to the scenario text before compression: lz-string has no checksum, and a cut-short payload
 *  decompresses to a prefix of the text — which lacks this. */
const END = '\u0000';

/** The query and the fragment as one parameter list; the fragment wins where both have a key. */
export function paramsOf(search: string, hash: string): URLSearchParams {
  const merged = new URLSearchParams(search.replace(/^\?/, ''));
  for (const [k, v] of new URLSearchParams(hash.replace(/^#/, ''))) merged.set(k, v);
  return merged;
}

export function readViewOptions(params: URLSearchParams): ViewOptions {
  const on = (k: string) => params.get(k) === '1' || params.get(k) === 'true';
  return { embed: on('embed'), autoplay: on('autoplay') };
}

/** The last scenario text compressed: the URL follows every hop, and compressing a large scenario each time
 *  was most of playback's main-thread time with 1,000 pods (measured in e2e/canvas.spec.ts). */
let lastCompressed: { text: string; sc: string } | null = null;
function compressedScenario(text: string): string {
  if (lastCompressed?.text !== text) lastCompressed = { text, sc: compressToEncodedURIComponent(text + END) };
  return lastCompressed.sc;
}

/** The state as URL parameters (without `?` or `#`), in a fixed order so equal states give equal text. */
export function encodeShareState(state: ShareState): string {
  const p = new URLSearchParams();
  p.set('v', String(SHARE_FORMAT_VERSION));
  const sc = state.scenario;
  if (sc?.kind === 'preset') p.set('s', sc.id);
  else if (sc?.kind === 'text') p.set('sc', compressedScenario(sc.text));
  const w = state.walk;
  if (w?.kind === 'named') p.set('w', w.name);
  else if (w?.kind === 'custom') {
    p.set('from', w.walk.from);
    p.set('to', w.walk.to);
    p.set('p', w.walk.protocol);
    if (w.walk.size !== undefined) p.set('size', String(w.walk.size));
  }
  const o = state.overrides;
  if (o.cni !== undefined) p.set('cni', o.cni);
  if (o.kubeProxyMode !== undefined) p.set('kp', o.kubeProxyMode);
  const etp = Object.entries(o.externalTrafficPolicy ?? {});
  if (etp.length > 0) p.set('etp', etp.map(([k, v]) => `${k}:${v}`).join(','));
  if (state.seed !== null) p.set('seed', String(state.seed));
  if (state.hop !== null) p.set('hop', String(state.hop));
  if (state.lang !== undefined) p.set('lang', state.lang);
  // URLSearchParams escapes "/" and ":"; both are safe in a query or fragment, and links read better without.
  return p.toString().replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%2C/gi, ',');
}

/** Reads the state from URL parameters (see paramsOf). `presetIds` are the built-in scenarios' ids. */
export function decodeShareState(params: URLSearchParams, presetIds: readonly string[]): DecodeResult {
  if (!STATE_KEYS.some((k) => params.has(k))) return { kind: 'empty' };
  const v = params.get('v') ?? '1';
  if (!/^\d{1,6}$/.test(v)) return error(`The link's format version ${quote(v)} is not a number.`);
  const decoder = DECODERS[Number(v)];
  if (!decoder)
    return error(
      Number(v) > SHARE_FORMAT_VERSION
        ? `The link was made by a newer Packet Walk (format v=${v}; this one reads up to v=${SHARE_FORMAT_VERSION}).`
        : `The link's format version v=${v} is unknown.`,
    );
  try {
    return { kind: 'state', state: decoder(params, presetIds) };
  } catch (e) {
    if (e instanceof LinkError) return error(e.message);
    throw e;
  }
}

/** A full link: `base` (any URL; its query and fragment are dropped) with the state in the fragment and
 *  the view options in the query. */
export function shareUrl(base: string, state: ShareState, view: Partial<ViewOptions> = {}): string {
  const url = new URL(base);
  const q = new URLSearchParams();
  if (view.embed) q.set('embed', '1');
  if (view.autoplay) q.set('autoplay', '1');
  url.search = q.toString();
  url.hash = encodeShareState(state);
  return url.toString();
}

// ---------------------------------------------------------------------------------------------------------

class LinkError extends Error {}

type Decoder = (params: URLSearchParams, presetIds: readonly string[]) => ShareState;

/** One decoder per format version, each producing the current ShareState. */
const DECODERS: Readonly<Record<number, Decoder>> = { 1: decodeV1 };

function decodeV1(p: URLSearchParams, presetIds: readonly string[]): ShareState {
  const lang = p.get('lang');
  return {
    scenario: scenarioV1(p, presetIds),
    walk: walkV1(p),
    overrides: overridesV1(p),
    seed: intParam(p, 'seed', 0, 2 ** 32 - 1, 'the seed'),
    hop: intParam(p, 'hop', 0, MAX_HOP, 'the hop'),
    ...(isLang(lang) ? { lang } : {}),
  };
}

function scenarioV1(p: URLSearchParams, presetIds: readonly string[]): SharedScenario | null {
  const id = p.get('s');
  const sc = p.get('sc');
  if (id !== null && sc !== null)
    fail('The link names a built-in scenario (s=) and carries one (sc=); it can only do one.');
  if (id !== null) {
    if (!PRESET_ID.test(id) || !presetIds.includes(id))
      fail(`The link names a built-in scenario ${quote(id)} that this Packet Walk does not have.`);
    return { kind: 'preset', id };
  }
  if (sc === null) return null;
  if (sc.length > MAX_COMPRESSED_LENGTH) fail('The scenario in the link is too long.');
  let text: string | null;
  try {
    text = decompressFromEncodedURIComponent(sc);
  } catch {
    text = null;
  }
  if (!text?.endsWith(END))
    fail('The scenario in the link is damaged (it could not be decompressed); was the link cut short?');
  if (text.length > MAX_SCENARIO_LENGTH) fail('The scenario in the link is too long.');
  text = text.slice(0, -END.length);
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text))
    fail('The scenario in the link is damaged (it is not text); was the link cut short?');
  return { kind: 'text', text };
}

function walkV1(p: URLSearchParams): SharedWalk | null {
  const name = p.get('w');
  const from = p.get('from');
  const to = p.get('to');
  const custom = from !== null || to !== null || p.has('p') || p.has('size');
  if (name !== null && custom)
    fail('The link names a walk (w=) and spells one out (from=, to=); it can only do one.');
  if (name !== null) {
    if (!WALK_NAME.test(name) || name.length > 63)
      fail(`The walk name ${quote(name)} in the link is not a walk name.`);
    return { kind: 'named', name };
  }
  if (!custom) return null;
  if (!from?.trim() || !to?.trim()) fail('The walk in the link needs both from= and to=.');
  if (from.length > 300 || to.length > 300) fail('The walk in the link is too long.');
  const protocol = p.get('p') ?? 'tcp';
  if (!PROTOCOLS.includes(protocol as WalkRequest['protocol']))
    fail(`The walk's protocol ${quote(protocol)} in the link is not tcp, udp or icmp.`);
  const size = intParam(p, 'size', 0, 65535, 'the walk size');
  return {
    kind: 'custom',
    walk: {
      from: from.trim(),
      to: to.trim(),
      protocol: protocol as WalkRequest['protocol'],
      ...(size === null ? {} : { size }),
    },
  };
}

function overridesV1(p: URLSearchParams): Overrides {
  const cni = p.get('cni');
  if (cni !== null && !Object.hasOwn(CNI_MODES, cni))
    fail(`The CNI mode ${quote(cni)} in the link is not one of ${Object.keys(CNI_MODES).join(', ')}.`);
  const kp = p.get('kp');
  if (kp !== null && !KUBE_PROXY_MODES.includes(kp as KubeProxyMode))
    fail(`The kube-proxy mode ${quote(kp)} in the link is not iptables or ipvs.`);
  const etpText = p.get('etp');
  const etp: Record<string, TrafficPolicy> = {};
  if (etpText !== null && etpText !== '') {
    for (const item of etpText.split(',')) {
      const at = item.lastIndexOf(':');
      const key = item.slice(0, Math.max(0, at));
      const policy = item.slice(at + 1);
      if (at < 0 || !SERVICE_KEY.test(key) || key.length > 253 || !POLICIES.includes(policy as TrafficPolicy))
        fail(`The traffic policy ${quote(item)} in the link is not <namespace>/<service>:Cluster or :Local.`);
      if (Object.hasOwn(etp, key)) fail(`The link sets the traffic policy of ${key} twice.`);
      etp[key] = policy as TrafficPolicy;
    }
  }
  return {
    ...(cni === null ? {} : { cni: cni as CniMode }),
    ...(kp === null ? {} : { kubeProxyMode: kp as KubeProxyMode }),
    ...(Object.keys(etp).length > 0 ? { externalTrafficPolicy: etp } : {}),
  };
}

function intParam(p: URLSearchParams, key: string, min: number, max: number, what: string): number | null {
  const text = p.get(key);
  if (text === null) return null;
  if (!/^\d{1,10}$/.test(text))
    fail(`${capitalize(what)} in the link, ${quote(text)}, is not a whole number.`);
  const n = Number(text);
  if (n < min || n > max) fail(`${capitalize(what)} in the link, ${text}, is out of range (${min}…${max}).`);
  return n;
}

function fail(message: string): never {
  throw new LinkError(message);
}

function error(message: string): DecodeResult {
  return { kind: 'error', message };
}

/** A value from the link for a message: quoted, shortened, control characters shown as escapes. */
function quote(s: string): string {
  const short = s.length > 40 ? `${s.slice(0, 40)}…` : s;
  return JSON.stringify(short);
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
