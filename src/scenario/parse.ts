// The scenario parser: multi-document YAML or JSON (kubectl's `kind: List` included) → a validated ClusterModel.
// This module turns text into documents and each document into a raw object, checking every field on its
// own; allocate.ts then checks the objects against each other and fills in what Kubernetes would.
// The text is untrusted: it is read as plain data with the YAML core schema (no custom tags, aliases capped)
// and never evaluated. Every problem is collected; nothing throws.
import ipaddr from 'ipaddr.js';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseAllDocuments, type Document } from 'yaml';
import {
  AddrError,
  cidrContains,
  formatCidr,
  isIp,
  parseCidr,
  parseIp,
  type Cidr,
  type Ip,
} from '../engine/addr.ts';
import {
  DEFAULTS,
  SERVICE_NAME_LABEL,
  buildModel,
  formatPath,
  type IssueSink,
  type Origin,
  type Path,
  type RawCluster,
  type RawEndpointSlice,
  type RawNetworkPolicy,
  type RawNode,
  type RawNodeFirewall,
  type RawPod,
  type RawScenario,
  type RawService,
  type RawServicePort,
} from './allocate.ts';
import {
  CNI_MODES,
  SCENARIO_LANGUAGES,
  TOPICS,
  type ClusterModel,
  type CniMode,
  type Topic,
  type ContainerPort,
  type EndpointModel,
  type LabelSelectorModel,
  type LabelSelectorRequirement,
  type NetworkPolicyPeerModel,
  type NetworkPolicyPortModel,
  type NetworkPolicyRuleModel,
  type NodeFirewallAllowModel,
  type NodeStateModel,
  type PodDnsConfig,
  type ScenarioLanguage,
  type ScenarioTranslation,
  type ScenarioTranslations,
} from './model.ts';

import { parseCorefile } from '../engine/coredns.ts';
import { checkNodeState, type NodeStateField } from '../engine/nodeState.ts';

export { parseWalkRef, type WalkRef, type WalkTarget } from './allocate.ts';

/** One problem found in a scenario. `document` and `line` are 1-based; `path` is e.g. "spec.ports[0].port". */
export interface ScenarioIssue {
  readonly document: number | null;
  readonly kind: string | null;
  /** "namespace/name" for namespaced objects. */
  readonly name: string | null;
  readonly path: string;
  readonly message: string;
  readonly line: number | null;
}

export type ParseResult =
  | { readonly ok: true; readonly model: ClusterModel; readonly warnings: ScenarioIssue[] }
  | { readonly ok: false; readonly errors: ScenarioIssue[] };

/** e.g. 'document 3 (Service prod/db-service), line 12: spec.ports[0].port: must be 1-65535'. */
export function formatIssue(issue: ScenarioIssue): string {
  const object =
    issue.kind === null ? null : `(${[issue.kind, issue.name].filter((x) => x !== null).join(' ')})`;
  let where = [issue.document === null ? null : `document ${issue.document}`, object]
    .filter((x) => x !== null)
    .join(' ');
  if (issue.line !== null) where += `${where ? ', ' : ''}line ${issue.line}`;
  const field = issue.path ? `${issue.path}: ` : '';
  return where ? `${where}: ${field}${issue.message}` : `${field}${issue.message}`;
}

/** Parses and validates a scenario, filling in what Kubernetes would. Never throws. */
export function parseScenario(text: string): ParseResult {
  const log = new IssueLog();
  const raw: RawScenario = {
    cluster: null,
    namespaces: [],
    nodes: [],
    pods: [],
    services: [],
    endpointSlices: [],
    networkPolicies: [],
    corefile: null,
    kubeProxy: null,
    otherNamespaces: [],
  };
  const reader = new DocumentReader(raw, log);
  const syntaxErrors = readDocuments(text, log, reader);
  if (syntaxErrors) return { ok: false, errors: log.errors };
  if (reader.objects === 0 && log.errors.length === 0) {
    log.add('error', { ...yamlIssue(null, ''), message: 'no Kubernetes objects found' });
    return { ok: false, errors: log.errors };
  }
  const built = buildModel(raw, log);
  const nodeStates = reader.nodeStates.flatMap(({ origin, state }) => {
    if (built?.nodes.some((n) => n.name === state.node)) return [state];
    log.error(origin, ['metadata', 'name'], `no Node named "${state.node}"`);
    return [];
  });
  if (log.errors.length > 0 || !built) return { ok: false, errors: log.errors };
  const model = nodeStates.length > 0 ? { ...built, nodeStates } : built;
  return { ok: true, model, warnings: log.warnings };
}

/** Reads every document of the text into `reader`; true when the YAML itself is broken somewhere. */
function readDocuments(text: string, log: IssueLog, reader: DocumentReader): boolean {
  const chunks = splitDocuments(text);
  if (chunks) {
    let syntaxErrors = false;
    chunks.forEach((chunk, i) => {
      if (readChunk(chunk, i + 1, log, reader)) syntaxErrors = true;
    });
    return syntaxErrors;
  }
  return readYaml(text, 0, 1, log, reader);
}

/** YAML text (a whole stream, or one document's chunk starting at line `offset` + 1). */
function readYaml(
  text: string,
  offset: number,
  first: number,
  log: IssueLog,
  reader: DocumentReader,
): boolean {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter,
    prettyErrors: false,
    schema: 'core',
    uniqueKeys: true,
  });
  let syntaxErrors = false;
  docs.forEach((doc, i) => {
    const document = first + i;
    const at = (pos: number) => offset + lineCounter.linePos(pos).line;
    for (const e of doc.errors) log.add('error', { ...yamlIssue(document, e.message), line: at(e.pos[0]) });
    for (const w of doc.warnings)
      log.add('warning', { ...yamlIssue(document, w.message), line: at(w.pos[0]) });
    if (doc.errors.length > 0) {
      syntaxErrors = true;
      return;
    }
    if (doc.contents === null) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      log.add('error', { ...yamlIssue(document, e instanceof Error ? e.message : String(e)), line: null });
      return;
    }
    if (value === null || value === undefined) return;
    reader.read(value, document, [], (path) => {
      const line = lineOf(doc, lineCounter, path);
      return line === null ? null : offset + line;
    });
  });
  return syntaxErrors;
}

/** One document of a split stream: JSON through JSON.parse (a large import is thousands of one-line JSON
 *  documents, ~20x faster so), with its lines found by the YAML parser only when an issue needs one; anything
 *  else through the YAML parser. */
function readChunk(chunk: Chunk, document: number, log: IssueLog, reader: DocumentReader): boolean {
  if (chunk.json) {
    let value: unknown;
    try {
      value = JSON.parse(chunk.text);
    } catch {
      return readYaml(chunk.text, chunk.offset, document, log, reader);
    }
    let located: { doc: Document; lc: LineCounter } | null = null;
    reader.read(value, document, [], (path) => {
      if (!located) {
        const lc = new LineCounter();
        const doc = parseAllDocuments(chunk.text, { lineCounter: lc, schema: 'core' })[0];
        if (!doc) return null;
        located = { doc, lc };
      }
      const line = lineOf(located.doc, located.lc, path);
      return line === null ? null : chunk.offset + line;
    });
    return false;
  }
  return readYaml(chunk.text, chunk.offset, document, log, reader);
}

interface Chunk {
  readonly text: string;
  /** Lines before the chunk in the whole text. */
  readonly offset: number;
  /** The chunk's content starts with "{": likely a JSON document. */
  readonly json: boolean;
}

/**
 * The documents of a stream, split at `---` lines the way the YAML parser numbers them: the part before the
 * first `---` is a document only when it has content, every part after one is a document (an empty one reads
 * as nothing). null when the text uses what a line split cannot follow (directives, `...`, content after
 * `---` on its line): then the YAML parser reads the whole stream.
 */
function splitDocuments(text: string): Chunk[] | null {
  const lines = text.split('\n');
  const chunks: Chunk[] = [];
  let start = 0;
  const content = (from: number, to: number): string | null => {
    for (let i = from; i < to; i++) {
      const t = lines[i]!.trim();
      if (t !== '' && !t.startsWith('#')) return t;
    }
    return null;
  };
  const push = (from: number, to: number, first: boolean) => {
    const head = content(from, to);
    if (first && head === null) return;
    chunks.push({
      text: lines.slice(from, to).join('\n'),
      offset: from,
      json: head?.startsWith('{') ?? false,
    });
  };
  let first = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('%') || line.startsWith('...')) return null;
    if (!line.startsWith('---')) continue;
    if (line.slice(3).trim() !== '') return null;
    push(start, i, first);
    first = false;
    start = i + 1;
  }
  push(start, lines.length, first);
  return chunks;
}

// ---------------------------------------------------------------------------------------------------------
// Issues and source lines

class IssueLog implements IssueSink {
  readonly errors: ScenarioIssue[] = [];
  readonly warnings: ScenarioIssue[] = [];
  add(severity: 'error' | 'warning', issue: ScenarioIssue): void {
    (severity === 'error' ? this.errors : this.warnings).push(issue);
  }
  error(origin: Origin, path: Path, message: string): void {
    this.add('error', issueAt(origin, path, message));
  }
  warn(origin: Origin, path: Path, message: string): void {
    this.add('warning', issueAt(origin, path, message));
  }
}

function issueAt(origin: Origin, path: Path, message: string): ScenarioIssue {
  const full = [...origin.prefix, ...path];
  const { document, kind, name } = origin;
  return { document, kind, name, path: formatPath(full), message, line: origin.lineOf(full) };
}

function yamlIssue(document: number | null, message: string): ScenarioIssue {
  return { document, kind: null, name: null, path: '', message: `YAML: ${message}`, line: null };
}

/** The line of the key (or sequence item) deepest along `path` that exists in the document. */
function lineOf(doc: Document, lc: LineCounter, path: Path): number | null {
  const lineAt = (n: unknown) => (isNode(n) && n.range ? lc.linePos(n.range[0]).line : null);
  let node: unknown = doc.contents;
  let line = lineAt(node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
      if (!pair) break;
      line = lineAt(pair.key) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) break;
      line = lineAt(node) ?? line;
    } else {
      break;
    }
  }
  return line;
}

// ---------------------------------------------------------------------------------------------------------
// Field checks

type Key = string | number;
/** Returns why a text is not acceptable, or null. */
type Check = (text: string) => string | null;

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const dnsLabel: Check = (s) =>
  s.length <= 63 && LABEL_RE.test(s)
    ? null
    : 'must be a lowercase RFC 1123 label: at most 63 characters a-z, 0-9 and "-", starting and ending with a letter or digit';

const dnsSubdomain: Check = (s) =>
  s.length <= 253 && s.split('.').every((part) => part.length <= 63 && LABEL_RE.test(part))
    ? null
    : 'must be a lowercase RFC 1123 subdomain: a-z, 0-9, "-" and ".", starting and ending with a letter or digit';

/** A DNS name as a resolver accepts it (RFC 1035 lengths; letters, digits, "-" and "_"; a trailing dot). */
const dnsName: Check = (s) => {
  const body = s.replace(/\.$/, '');
  if (body.length === 0 || body.length > 253) return 'must be a DNS name of 1-253 characters';
  return body
    .split('.')
    .every((l) => l.length >= 1 && l.length <= 63 && /^[A-Za-z0-9_]([-A-Za-z0-9_]*[A-Za-z0-9])?$/.test(l))
    ? null
    : 'must be a DNS name: labels of 1-63 letters, digits, "-" or "_", separated by dots';
};

const dns1035Label: Check = (s) =>
  s.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(s)
    ? null
    : 'must be a lowercase RFC 1035 label: at most 63 characters a-z, 0-9 and "-", starting with a letter';

/** Container port names (IANA_SVC_NAME). */
const portName: Check = (s) =>
  s.length <= 15 && LABEL_RE.test(s) && /[a-z]/.test(s) && !s.includes('--')
    ? null
    : 'must be an IANA service name: at most 15 characters a-z, 0-9 and "-", with at least one letter';

const LABEL_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function labelKeyProblem(key: string): string | null {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : null;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const ok =
    (prefix === null || dnsSubdomain(prefix) === null) && name.length <= 63 && LABEL_NAME_RE.test(name);
  return ok
    ? null
    : 'is not a valid label key: an optional DNS subdomain and "/", then at most 63 characters ' +
        'A-Z, a-z, 0-9, "-", "_" and "." starting and ending with a letter or digit';
}

function labelValueProblem(value: string): string | null {
  return value === '' || (value.length <= 63 && LABEL_NAME_RE.test(value))
    ? null
    : 'must be at most 63 characters A-Z, a-z, 0-9, "-", "_" and ".", starting and ending with a letter or digit';
}

const IPV6 = 'IPv6 is not modelled yet';

function ipProblem(text: string): string | null {
  if (isIp(text)) return null;
  if (ipaddr.IPv6.isValid(text)) return `"${text}": ${IPV6}`;
  return `"${text}" is not an IPv4 address`;
}

function cidrProblem(text: string, strict: boolean): string | null {
  try {
    parseCidr(text, strict);
    return null;
  } catch (e) {
    if (ipaddr.IPv6.isValid(text.split('/')[0] ?? '')) return `"${text}": ${IPV6}`;
    return e instanceof AddrError ? e.message : `"${text}" is not a CIDR`;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isOneOf<T extends string>(values: readonly T[], s: string): s is T {
  return (values as readonly string[]).includes(s);
}

/**
 * Reads typed fields from one node of a document's plain value, reporting problems at their paths.
 * A missing or null field reads as absent; a field of the wrong type is reported and reads as absent too.
 */
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] as const;
/** The API server's limits on spec.dnsConfig (pkg/apis/core/validation: MaxDNSNameservers, the expanded
 *  search limits). */
const MAX_DNS_NAMESERVERS = 3;
const MAX_DNS_SEARCHES = 32;

/** spec.dnsConfig of a pod, validated as the API server does; null when absent. */
function podDnsConfig(spec: Reader): PodDnsConfig | null {
  if (!spec.has('dnsConfig')) return null;
  const c = spec.map('dnsConfig');
  c.onlyKeys(['nameservers', 'searches', 'options']);
  const nameservers = c.list('nameservers').flatMap((n) => n.ip(null) ?? []);
  if (nameservers.length > MAX_DNS_NAMESERVERS)
    c.error('nameservers', `at most ${MAX_DNS_NAMESERVERS} nameservers (glibc reads no more)`);
  const searches = c
    .list('searches')
    .flatMap((n) => n.string(null, { check: (x) => dnsSubdomain(x.replace(/\.$/, '')) }) ?? []);
  if (searches.length > MAX_DNS_SEARCHES) c.error('searches', `at most ${MAX_DNS_SEARCHES} search domains`);
  const options = c.list('options').flatMap((o) => {
    const m = o.map(null);
    m.onlyKeys(['name', 'value']);
    const name = m.string('name', { required: true });
    return name === null ? [] : [{ name, value: m.string('value') }];
  });
  return { nameservers, searches, options };
}

class Reader {
  constructor(
    private readonly origin: Origin,
    private readonly log: IssueSink,
    readonly value: unknown,
    readonly path: Path,
    /** Set when this node had the wrong type, so that its fields are not also reported missing. */
    private readonly quiet = false,
  ) {}

  error(key: Key | null, message: string): void {
    this.log.error(this.origin, key === null ? this.path : [...this.path, key], message);
  }

  warn(key: Key | null, message: string): void {
    this.log.warn(this.origin, key === null ? this.path : [...this.path, key], message);
  }

  get(key: Key | null): unknown {
    const v = this.value;
    if (key === null) return v;
    if (typeof key === 'number') return Array.isArray(v) ? (v as unknown[])[key] : undefined;
    return isRecord(v) && Object.hasOwn(v, key) ? v[key] : undefined;
  }

  has(key: Key): boolean {
    const v = this.get(key);
    return v !== undefined && v !== null;
  }

  keys(): string[] {
    return isRecord(this.value) ? Object.keys(this.value) : [];
  }

  /** Warns about keys this reader does not know (typos in our own Cluster document). */
  onlyKeys(known: readonly string[]): void {
    for (const k of this.keys()) if (!known.includes(k)) this.warn(k, 'unknown field (ignored)');
  }

  private absent(key: Key | null, required: boolean): null {
    if (required && !this.quiet) this.error(key, 'required');
    return null;
  }

  private child(key: Key | null, value: unknown, quiet: boolean): Reader {
    return new Reader(this.origin, this.log, value, key === null ? this.path : [...this.path, key], quiet);
  }

  map(key: Key | null, required = false): Reader {
    const v = this.get(key);
    if (v === undefined || v === null) {
      this.absent(key, required);
      return this.child(key, undefined, this.quiet);
    }
    if (!isRecord(v)) {
      this.error(key, 'must be a mapping');
      return this.child(key, undefined, true);
    }
    return this.child(key, v, false);
  }

  list(key: Key, required = false): Reader[] {
    const v = this.get(key);
    if (v === undefined || v === null) return this.absent(key, required) ?? [];
    if (!Array.isArray(v)) {
      this.error(key, 'must be a list');
      return [];
    }
    return (v as unknown[]).map((item, i) => new Reader(this.origin, this.log, item, [...this.path, key, i]));
  }

  string(key: Key | null, opts: { required?: boolean; check?: Check } = {}): string | null {
    const v = this.get(key);
    if (v === undefined || v === null) return this.absent(key, opts.required ?? false);
    if (typeof v !== 'string') {
      this.error(key, 'must be a string');
      return null;
    }
    const problem = opts.check?.(v) ?? null;
    if (problem !== null) {
      this.error(key, problem);
      return null;
    }
    return v;
  }

  int(key: Key | null, min: number, max: number, required = false): number | null {
    const v = this.get(key);
    if (v === undefined || v === null) return this.absent(key, required);
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.error(key, 'must be an integer');
      return null;
    }
    if (v < min || v > max) {
      this.error(key, `must be ${min}-${max}`);
      return null;
    }
    return v;
  }

  bool(key: Key, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      this.error(key, 'must be true or false');
      return fallback;
    }
    return v;
  }

  oneOf<T extends string>(key: Key, values: readonly T[], fallback: T): T {
    const s = this.string(key);
    if (s === null) return fallback;
    if (isOneOf(values, s)) return s;
    this.error(key, `must be one of ${values.join(', ')}`);
    return fallback;
  }

  ip(key: Key | null, required = false): Ip | null {
    const s = this.string(key, { required, check: ipProblem });
    return s === null ? null : parseIp(s);
  }

  cidr(key: Key | null, strict: boolean, required = false): Cidr | null {
    const s = this.string(key, { required, check: (t) => cidrProblem(t, strict) });
    return s === null ? null : parseCidr(s, strict);
  }

  /** A string → string map with Kubernetes label syntax (labels, selectors). */
  labels(key: Key): Record<string, string> {
    const m = this.map(key);
    const entries: [string, string][] = [];
    for (const k of m.keys()) {
      const keyProblem = labelKeyProblem(k);
      if (keyProblem !== null) {
        m.error(k, keyProblem);
        continue;
      }
      const v = m.get(k);
      if (typeof v !== 'string') {
        m.error(k, 'must be a string (quote values such as 1, true or null)');
        continue;
      }
      const valueProblem = labelValueProblem(v);
      if (valueProblem !== null) m.error(k, valueProblem);
      else entries.push([k, v]);
    }
    return Object.fromEntries(entries);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Documents → raw objects

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
const CNI_NAMES = Object.keys(CNI_MODES) as CniMode[];
const TOPIC_NAMES = Object.keys(TOPICS) as Topic[];

type KindMethod =
  | 'node'
  | 'namespace'
  | 'pod'
  | 'service'
  | 'configMap'
  | 'endpointSlice'
  | 'networkPolicy'
  | 'kubeProxy'
  | 'cluster'
  | 'nodeState';

/** How each understood kind is read. Keyed by "apiVersion kind". */
interface KindSpec {
  readonly namespaced: boolean;
  /** The check on metadata.name; null when the kind has no metadata (KubeProxyConfiguration). */
  readonly name: Check | null;
  readonly method: KindMethod;
}

const KINDS: Readonly<Record<string, KindSpec>> = {
  'v1 Node': { namespaced: false, name: dnsSubdomain, method: 'node' },
  'v1 Namespace': { namespaced: false, name: dnsLabel, method: 'namespace' },
  'v1 Pod': { namespaced: true, name: dnsSubdomain, method: 'pod' },
  'v1 Service': { namespaced: true, name: dns1035Label, method: 'service' },
  'v1 ConfigMap': { namespaced: true, name: dnsSubdomain, method: 'configMap' },
  'discovery.k8s.io/v1 EndpointSlice': { namespaced: true, name: dnsSubdomain, method: 'endpointSlice' },
  'networking.k8s.io/v1 NetworkPolicy': { namespaced: true, name: dnsSubdomain, method: 'networkPolicy' },
  'kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration': {
    namespaced: false,
    name: null,
    method: 'kubeProxy',
  },
  'packetwalk.dev/v1alpha1 Cluster': { namespaced: false, name: dnsLabel, method: 'cluster' },
  'packetwalk.dev/v1alpha1 NodeState': { namespaced: false, name: dnsSubdomain, method: 'nodeState' },
};

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

class DocumentReader {
  /** Objects seen (understood or not); an input with none is reported as empty. */
  objects = 0;
  /** NodeState documents, checked against the nodes once the model is built. */
  readonly nodeStates: { origin: Origin; state: NodeStateModel }[] = [];
  private readonly singletons = new Map<string, Origin>();

  constructor(
    private readonly raw: RawScenario,
    private readonly log: IssueSink,
  ) {}

  /** Reads one document's value, or one item of a List, into raw objects. */
  read(value: unknown, document: number, prefix: Path, lineOf: (path: Path) => number | null): void {
    const origin: { -readonly [K in keyof Origin]: Origin[K] } = {
      document,
      kind: null,
      name: null,
      prefix,
      lineOf,
    };
    if (!isRecord(value)) {
      this.objects++;
      this.log.error(origin, [], 'must be a mapping: a Kubernetes object with apiVersion and kind');
      return;
    }
    const r = new Reader(origin, this.log, value, []);
    const apiVersion = r.string('apiVersion', { required: true });
    const kind = r.string('kind', { required: true });
    if (kind === 'List') {
      r.list('items', true).forEach((item, i) =>
        this.read(item.value, document, [...prefix, 'items', i], lineOf),
      );
      return;
    }
    this.objects++;
    if (apiVersion === null || kind === null) return;
    origin.kind = kind;

    const spec = KINDS[`${apiVersion} ${kind}`];
    const metadata = r.get('metadata');
    const silent = this.ignoredSilently(apiVersion, kind, metadata);
    if (!spec || silent) {
      const name = isRecord(metadata) ? metadata['name'] : undefined;
      const namespace = isRecord(metadata) ? metadata['namespace'] : undefined;
      if (typeof name === 'string')
        origin.name = typeof namespace === 'string' ? `${namespace}/${name}` : name;
      if (!silent) this.warnIgnored(r, apiVersion, kind);
      return;
    }
    let name: string | null = null;
    let namespace = '';
    if (spec.name !== null) {
      const meta = r.map('metadata', true);
      name = meta.string('name', { required: true, check: spec.name });
      if (spec.namespaced) namespace = meta.string('namespace', { check: dnsLabel }) ?? 'default';
      if (name !== null) origin.name = spec.namespaced ? `${namespace}/${name}` : name;
    }
    // Fields are read (and reported) even without a usable name; the object is only kept with one.
    this[spec.method](r, origin, namespace, name);
  }

  /** Secrets and ConfigMaps other than kube-system/coredns are skipped without a word. */
  private ignoredSilently(apiVersion: string, kind: string, metadata: unknown): boolean {
    if (apiVersion !== 'v1') return false;
    if (kind === 'Secret') return true;
    const coredns =
      isRecord(metadata) && metadata['namespace'] === 'kube-system' && metadata['name'] === 'coredns';
    return kind === 'ConfigMap' && !coredns;
  }

  private warnIgnored(r: Reader, apiVersion: string, kind: string): void {
    const expected = Object.keys(KINDS).find((k) => k.endsWith(` ${kind}`));
    let why = `${apiVersion} ${kind} is not a kind Packet Walk reads`;
    if (expected) why = `${kind} is read from apiVersion ${expected.split(' ')[0]}, not ${apiVersion}`;
    else if (apiVersion === 'v1' && kind === 'Endpoints')
      why = 'Packet Walk reads EndpointSlices, not v1 Endpoints';
    else if (WORKLOADS.has(kind))
      why = `Packet Walk runs no controllers: list the Pods this ${kind} would create`;
    r.warn(null, `ignored: ${why}`);
  }

  /** Some kinds may appear once; the second one is an error. */
  private once(what: string, origin: Origin): boolean {
    const first = this.singletons.get(what);
    if (first) {
      this.log.error(origin, [], `only one ${what} is allowed (the first is in document ${first.document})`);
      return false;
    }
    this.singletons.set(what, origin);
    return true;
  }

  node(r: Reader, origin: Origin, _ns: string, name: string | null): void {
    const labels = r.map('metadata').labels('labels');
    const spec = r.map('spec');
    let podCIDR = spec.cidr('podCIDR', true);
    spec.list('podCIDRs').forEach((item, i) => {
      const cidr = item.cidr(null, true);
      if (i !== 0 || !cidr) return;
      if (!spec.has('podCIDR')) podCIDR = cidr;
      else if (podCIDR && (podCIDR.ip !== cidr.ip || podCIDR.prefix !== cidr.prefix)) {
        item.error(null, 'must equal spec.podCIDR');
      }
    });
    let internalIP: Ip | null = null;
    let externalIP: Ip | null = null;
    let internalIPPath: Path = ['status', 'addresses'];
    r.map('status')
      .list('addresses')
      .forEach((item, i) => {
        const address = item.map(null);
        const type = address.string('type', { required: true });
        if (type === 'ExternalIP') {
          const ip = address.ip('address', true);
          if (ip && externalIP === null) externalIP = ip;
          return;
        }
        if (type !== 'InternalIP') {
          address.string('address', { required: true });
          return;
        }
        const ip = address.ip('address', true);
        if (ip && internalIP === null) {
          internalIP = ip;
          internalIPPath = ['status', 'addresses', i, 'address'];
        }
      });
    if (name === null) return;
    const node: RawNode = { origin, name, labels, podCIDR, internalIP, internalIPPath, externalIP };
    this.raw.nodes.push(node);
  }

  namespace(r: Reader, origin: Origin, _ns: string, name: string | null): void {
    const labels = r.map('metadata').labels('labels');
    if (name !== null) this.raw.namespaces.push({ origin, namespace: null, name, labels });
  }

  pod(r: Reader, origin: Origin, namespace: string, name: string | null): void {
    const labels = r.map('metadata').labels('labels');
    const spec = r.map('spec', true);
    const nodeName = spec.string('nodeName', { check: dnsSubdomain });
    if (!spec.has('nodeName'))
      spec.error('nodeName', 'required: Packet Walk does not schedule pods, name the node');
    const hostNetwork = spec.bool('hostNetwork', false);
    const ports: ContainerPort[] = [];
    const portNames = new Map<string, string>();
    spec.list('containers').forEach((container) => {
      container
        .map(null)
        .list('ports')
        .forEach((item) => {
          const p = item.map(null);
          const portNameText = p.string('name', { check: portName });
          const containerPort = p.int('containerPort', 1, 65535, true);
          const protocol = p.oneOf('protocol', PROTOCOLS, 'TCP');
          if (portNameText !== null) {
            const first = portNames.get(portNameText);
            if (first) p.error('name', `duplicate port name "${portNameText}" (also ${first})`);
            portNames.set(portNameText, formatPath([...p.path, 'name']));
          }
          if (containerPort !== null) ports.push({ name: portNameText, containerPort, protocol });
        });
    });
    const status = r.map('status');
    let podIP = status.ip('podIP');
    if (!status.has('podIP')) {
      const first = status.list('podIPs')[0];
      if (first) podIP = first.map(null).ip('ip');
    }
    let ready = true;
    for (const item of status.list('conditions')) {
      const condition = item.map(null);
      if (condition.get('type') !== 'Ready') continue;
      ready = condition.oneOf('status', ['True', 'False', 'Unknown'], 'True') === 'True';
    }
    if (name === null) return;
    const dnsPolicy = spec.oneOf('dnsPolicy', DNS_POLICIES, 'ClusterFirst');
    const dnsConfig = podDnsConfig(spec);
    if (dnsPolicy === 'None' && (dnsConfig === null || dnsConfig.nameservers.length === 0))
      spec.map('dnsConfig').error('nameservers', 'dnsPolicy None needs at least one nameserver in dnsConfig');
    const pod: RawPod = {
      origin,
      namespace,
      name,
      labels,
      nodeName,
      hostNetwork,
      ports,
      podIP,
      ready,
      dnsPolicy,
      dnsConfig,
    };
    this.raw.pods.push(pod);
  }

  service(r: Reader, origin: Origin, namespace: string, name: string | null): void {
    const spec = r.map('spec', true);
    const type = spec.oneOf(
      'type',
      ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const,
      'ClusterIP',
    );
    let clusterIP: RawService['clusterIP'] = null;
    const clusterIPText = spec.string('clusterIP');
    if (clusterIPText === 'None') {
      if (type === 'ClusterIP') clusterIP = 'None';
      else spec.error('clusterIP', 'may be None (headless) only for type ClusterIP');
    } else if (clusterIPText) {
      clusterIP = spec.ip('clusterIP');
    } else if (spec.has('clusterIPs')) {
      const first = spec.list('clusterIPs')[0];
      if (first?.get(null) === 'None') clusterIP = type === 'ClusterIP' ? 'None' : null;
      else if (first) clusterIP = first.ip(null);
    }
    if (type === 'ExternalName' && clusterIP !== null) {
      spec.error('clusterIP', 'must be empty for type ExternalName');
      clusterIP = null;
    }
    const selector = spec.labels('selector');

    const ports: RawServicePort[] = [];
    const items = spec.list('ports');
    if (items.length === 0 && type !== 'ExternalName' && clusterIP !== 'None') {
      spec.error(
        'ports',
        'required: at least one port (only headless and ExternalName Services may have none)',
      );
    }
    const names = new Map<string, number>();
    const numbers = new Map<string, number>();
    items.forEach((item, i) => {
      const p = item.map(null);
      const portNameText = p.string('name', { check: dnsLabel });
      if (!p.has('name') && items.length > 1)
        p.error('name', 'required when the Service has more than one port');
      const protocol = p.oneOf('protocol', PROTOCOLS, 'TCP');
      const port = p.int('port', 1, 65535, true);
      const targetPort = this.targetPort(p) ?? port;
      let nodePort = p.int('nodePort', 30000, 32767);
      if (nodePort !== null && type !== 'NodePort' && type !== 'LoadBalancer') {
        p.error('nodePort', 'may only be set when type is NodePort or LoadBalancer');
        nodePort = null;
      }
      if (portNameText !== null) {
        const first = names.get(portNameText);
        if (first !== undefined)
          p.error('name', `duplicate port name "${portNameText}" (also spec.ports[${first}])`);
        names.set(portNameText, i);
      }
      if (port !== null) {
        const first = numbers.get(`${port}/${protocol}`);
        if (first !== undefined)
          p.error('port', `duplicate port ${port}/${protocol} (also spec.ports[${first}])`);
        numbers.set(`${port}/${protocol}`, i);
      }
      if (port === null || targetPort === null) return;
      ports.push({ name: portNameText || null, protocol, port, targetPort, nodePort });
    });

    const status = r.map('status');
    if (name === null) return;
    const service: RawService = {
      origin,
      namespace,
      name,
      type,
      clusterIP,
      selector: Object.keys(selector).length > 0 && type !== 'ExternalName' ? selector : null,
      ports,
      externalTrafficPolicy: spec.oneOf('externalTrafficPolicy', ['Cluster', 'Local'] as const, 'Cluster'),
      internalTrafficPolicy: spec.oneOf('internalTrafficPolicy', ['Cluster', 'Local'] as const, 'Cluster'),
      sessionAffinity: spec.oneOf('sessionAffinity', ['None', 'ClientIP'] as const, 'None'),
      externalIPs: spec.list('externalIPs').flatMap((item) => item.ip(null) ?? []),
      loadBalancerIPs:
        type !== 'LoadBalancer'
          ? []
          : status
              .map('loadBalancer')
              .list('ingress')
              .flatMap((item) => item.map(null).ip('ip') ?? []),
      loadBalancerSourceRanges: spec
        .list('loadBalancerSourceRanges')
        .flatMap((item) => item.cidr(null, false) ?? []),
      externalName:
        type === 'ExternalName'
          ? spec.string('externalName', { required: true, check: (s) => dnsSubdomain(s.replace(/\.$/, '')) })
          : null,
    };
    this.raw.services.push(service);
  }

  /** A service port's targetPort: a number, or a container port name. */
  private targetPort(p: Reader): number | string | null {
    const v = p.get('targetPort');
    if (v === undefined || v === null) return null;
    if (typeof v === 'number') return p.int('targetPort', 1, 65535);
    if (typeof v === 'string' && /^\d+$/.test(v)) {
      p.error('targetPort', `"${v}" is a string: write ${v} without quotes for a port number`);
      return null;
    }
    return p.string('targetPort', { check: portName });
  }

  endpointSlice(r: Reader, origin: Origin, namespace: string, name: string | null): void {
    const labels = r.map('metadata').labels('labels');
    const serviceName = labels[SERVICE_NAME_LABEL] ?? null;
    if (serviceName === null) {
      this.log.error(
        origin,
        ['metadata', 'labels', SERVICE_NAME_LABEL],
        'required: the slice names its Service',
      );
    }
    const addressType = r.string('addressType');
    if (addressType === 'IPv6') r.error('addressType', IPV6);
    else if (addressType !== null && addressType !== 'IPv4') r.error('addressType', 'must be IPv4');
    const ports = r.list('ports').flatMap((item) => {
      const p = item.map(null);
      const portNameText = p.string('name');
      const port = p.int('port', 1, 65535, true);
      const protocol = p.oneOf('protocol', PROTOCOLS, 'TCP');
      return port === null ? [] : [{ name: portNameText || null, port, protocol }];
    });
    const endpoints = r.list('endpoints').flatMap((item): EndpointModel[] => {
      const e = item.map(null);
      const addressItems = e.list('addresses', true);
      if (e.has('addresses') && addressItems.length === 0)
        e.error('addresses', 'must have at least one address');
      const addresses = addressItems.flatMap((a) => a.ip(null) ?? []);
      const conditions = e.map('conditions');
      const ready = conditions.bool('ready', true);
      const targetRef = e.map('targetRef');
      const refKind = targetRef.string('kind');
      const refName = targetRef.string('name');
      const refNamespace = targetRef.string('namespace') ?? namespace;
      const hostname = e.string('hostname', { check: dnsLabel });
      if (addresses.length === 0) return [];
      return [
        {
          addresses,
          ready,
          serving: conditions.bool('serving', ready),
          terminating: conditions.bool('terminating', false),
          nodeName: e.string('nodeName', { check: dnsSubdomain }),
          // endpoints[].hostname: the DNS label CoreDNS gives the endpoint of a headless Service.
          ...(hostname !== null ? { hostname } : {}),
          targetPod:
            (refKind === null || refKind === 'Pod') && refName !== null ? `${refNamespace}/${refName}` : null,
        },
      ];
    });
    if (name === null) return;
    const slice: RawEndpointSlice = { origin, namespace, name, serviceName, ports, endpoints };
    this.raw.endpointSlices.push(slice);
  }

  /** networking.k8s.io/v1 NetworkPolicy, validated as pkg/apis/networking/validation ValidateNetworkPolicySpec
   *  does and defaulted as pkg/apis/networking/v1/defaults.go does. */
  networkPolicy(r: Reader, origin: Origin, namespace: string, name: string | null): void {
    const spec = r.map('spec');
    spec.onlyKeys(['podSelector', 'policyTypes', 'ingress', 'egress']);
    const podSelector = readLabelSelector(spec.map('podSelector'));
    const ingress = spec.list('ingress').map((item) => readPolicyRule(item, 'from'));
    const egress = spec.list('egress').map((item) => readPolicyRule(item, 'to'));
    const typeItems = spec.list('policyTypes');
    if (typeItems.length > 2) spec.error('policyTypes', 'may not specify more than two policyTypes');
    const stated = typeItems.flatMap(
      (item) =>
        item.string(null, {
          check: (s) => (isOneOf(POLICY_TYPES, s) ? null : 'must be Ingress or Egress'),
        }) ?? [],
    );
    const allocated: string[] = [];
    let policyTypes: ('Ingress' | 'Egress')[];
    if (typeItems.length === 0) {
      // Any policy without policyTypes affects Ingress, and Egress too when it has egress rules.
      policyTypes = egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
      allocated.push('spec.policyTypes');
    } else {
      policyTypes = POLICY_TYPES.filter((t) => stated.includes(t));
      if (ingress.length > 0 && !policyTypes.includes('Ingress'))
        spec.warn('ingress', 'ignored: policyTypes does not include Ingress');
      if (egress.length > 0 && !policyTypes.includes('Egress'))
        spec.warn('egress', 'ignored: policyTypes does not include Egress');
    }
    if (name === null) return;
    const policy = { namespace, name, podSelector, policyTypes, ingress, egress, allocated };
    const raw: RawNetworkPolicy = { origin, namespace, name, policy };
    this.raw.networkPolicies.push(raw);
  }

  configMap(r: Reader, origin: Origin): void {
    if (!this.once('kube-system/coredns ConfigMap', origin)) return;
    this.raw.otherNamespaces.push('kube-system');
    const corefile = r.map('data').string('Corefile');
    if (corefile === null) r.warn('data', 'no Corefile key: the CoreDNS configuration is not read');
    // What the model does not understand is reported where it is; the rest of the Corefile still applies.
    for (const p of corefile === null ? [] : parseCorefile(corefile).problems)
      r.map('data').warn(
        'Corefile',
        `Corefile line ${p.line}${p.column ? `, column ${p.column}` : ''}: ${p.message}`,
      );
    this.raw.corefile = corefile;
  }

  kubeProxy(r: Reader, origin: Origin): void {
    if (!this.once('KubeProxyConfiguration', origin)) return;
    const modeText = r.string('mode') ?? '';
    let mode: 'iptables' | 'ipvs' = 'iptables';
    if (modeText === 'ipvs') mode = 'ipvs';
    else if (modeText === 'nftables') r.error('mode', 'nftables is not modelled yet (use iptables or ipvs)');
    else if (modeText !== '' && modeText !== 'iptables') r.error('mode', 'must be "", iptables or ipvs');
    let clusterCIDR: Cidr | null = null;
    const cidrText = r.string('clusterCIDR');
    if (cidrText) {
      // kube-proxy takes a comma-separated list for dual-stack clusters.
      const parts = cidrText.split(',').map((s) => s.trim());
      for (const part of parts) {
        const problem = cidrProblem(part, false);
        if (problem) r.error('clusterCIDR', problem);
      }
      if (parts.every((part) => cidrProblem(part, false) === null))
        clusterCIDR = parseCidr(parts[0] ?? '', false);
    }
    const masqueradeAll = r.map('iptables').bool('masqueradeAll', false);
    this.raw.kubeProxy = { origin, mode, clusterCIDR, masqueradeAll };
  }

  cluster(r: Reader, origin: Origin, _ns: string, name: string | null): void {
    if (!this.once('Cluster document', origin)) return;
    const spec = r.map('spec');
    spec.onlyKeys([
      'description',
      'topic',
      'cni',
      'mtu',
      'podMtu',
      'vxlan',
      'clusterCIDR',
      'serviceCIDR',
      'clusterDomain',
      'nodeNetwork',
      'gateway',
      'internet',
      'hosts',
      'walks',
      'nodeResolvConf',
      'nodeFirewall',
      'translations',
    ]);
    const rc = spec.map('nodeResolvConf');
    rc.onlyKeys(['nameservers', 'searches', 'options']);
    const nodeResolvConf = spec.has('nodeResolvConf')
      ? {
          nameservers: rc.list('nameservers').flatMap((n) => n.ip(null) ?? []),
          searches: rc
            .list('searches')
            .flatMap((n) => n.string(null, { check: (x) => dnsSubdomain(x.replace(/\.$/, '')) }) ?? []),
          options: rc.list('options').flatMap((n) => n.string(null) ?? []),
        }
      : null;
    const vxlan = spec.map('vxlan');
    vxlan.onlyKeys(['vni', 'port']);
    const g = spec.map('gateway');
    g.onlyKeys(['name', 'ip', 'internetIP', 'cloudNAT', 'podRoutes']);
    const gateway = spec.has('gateway')
      ? {
          name: g.string('name', { check: dnsLabel }) ?? DEFAULTS.gatewayName,
          ip: g.ip('ip', true),
          internetIP: g.ip('internetIP'),
          cloudNat: g.bool('cloudNAT', false),
          podRoutes: g.bool('podRoutes', true),
        }
      : null;
    const hosts = spec.list('hosts').map((item, index) => {
      const h = item.map(null);
      h.onlyKeys(['name', 'ip', 'listen', 'names', 'dnsServer']);
      return {
        index,
        name: h.string('name', { required: true, check: dnsLabel }),
        ip: h.ip('ip', true),
        listen: h.list('listen').flatMap((p) => p.int(null, 1, 65535) ?? []),
        names: h.list('names').flatMap((n) => n.string(null, { check: dnsName }) ?? []),
        dnsServer: h.bool('dnsServer', false),
      };
    });
    const walks = spec.list('walks').map((item, index) => {
      const w = item.map(null);
      w.onlyKeys(['name', 'description', 'from', 'to', 'protocol', 'size', 'cni', 'pod']);
      const name = w.string('name', { required: true, check: dnsLabel });
      const description = w.string('description') ?? '';
      // A CNI walk (`cni: ADD|DEL`, `pod: ...`): the pod's CNI steps instead of a packet. It is written
      // `from: cni/add|del`, `to: <pod>` in the model, which is how the engine and the CLI take it.
      if (w.has('cni')) {
        const cni = w.oneOf('cni', ['ADD', 'DEL'] as const, 'ADD');
        for (const key of ['from', 'to', 'protocol', 'size'])
          if (w.has(key)) w.error(key, `a CNI walk (cni: ${cni}) names its pod in "pod" and sends no packet`);
        return {
          index,
          name,
          description,
          from: `cni/${cni.toLowerCase()}`,
          to: w.string('pod', { required: true }),
          protocol: 'tcp' as const,
          size: null,
          cni,
        };
      }
      if (w.has('pod')) w.error('pod', 'only a CNI walk has a pod: add cni: ADD or cni: DEL');
      const protocol = w.oneOf('protocol', ['tcp', 'udp', 'icmp'] as const, 'tcp');
      // The largest payload that fits a 65535-byte IP packet after the IP and L4 headers.
      const maxSize = 65535 - 20 - (protocol === 'tcp' ? 20 : 8);
      return {
        index,
        name,
        description,
        from: w.string('from', { required: true }),
        to: w.string('to', { required: true }),
        protocol,
        size: w.int('size', 0, maxSize),
        cni: null,
      };
    });
    const description = (spec.string('description') ?? '').trim();
    const translations = readTranslations(
      spec.map('translations'),
      walks.flatMap((w) => w.name ?? []),
    );
    const topic = spec.oneOf('topic', TOPIC_NAMES, DEFAULTS.topic);
    const firewallNames = new Set<string>();
    const nodeFirewall = spec.list('nodeFirewall').flatMap((item, index) => {
      const f = readNodeFirewall(item, index);
      if (f && firewallNames.has(f.name)) {
        item.error('name', `duplicate: another nodeFirewall entry is named "${f.name}"`);
        return [];
      }
      if (f) firewallNames.add(f.name);
      return f ? [f] : [];
    });
    const cni = spec.oneOf('cni', CNI_NAMES, DEFAULTS.cni);
    const mtu = spec.int('mtu', 576, 9000) ?? DEFAULTS.mtu;
    const podMtu = spec.int('podMtu', 576, 9000);
    const vni = vxlan.int('vni', 1, 16777215) ?? DEFAULTS.vxlan.vni;
    const vxlanPort = vxlan.int('port', 1, 65535) ?? DEFAULTS.vxlan.port;
    const clusterCIDR = spec.cidr('clusterCIDR', true);
    const serviceCIDR = spec.cidr('serviceCIDR', true);
    const clusterDomain = spec.string('clusterDomain', { check: dnsSubdomain }) ?? DEFAULTS.clusterDomain;
    const nodeNetwork = spec.cidr('nodeNetwork', true);
    const internet = spec.cidr('internet', true);
    if (name === null) return;
    const cluster: RawCluster = {
      origin,
      name,
      description,
      topic,
      cni,
      mtu,
      podMtu,
      vxlan: { vni, port: vxlanPort },
      clusterCIDR,
      serviceCIDR,
      clusterDomain,
      nodeNetwork,
      gateway,
      internet,
      hosts,
      walks,
      nodeResolvConf,
      nodeFirewall,
      translations,
    };
    this.raw.cluster = cluster;
  }

  /** A node's pasted tables (docs/import.md). Each text is read now so that its problems name the line. */
  nodeState(r: Reader, origin: Origin, _ns: string, name: string | null): void {
    const spec = r.map('spec', true);
    spec.onlyKeys([...NODE_STATE_FIELDS]);
    const texts = Object.fromEntries(NODE_STATE_FIELDS.map((f) => [f, spec.string(f)])) as Record<
      NodeStateField,
      string | null
    >;
    if (NODE_STATE_FIELDS.every((f) => texts[f] === null))
      spec.error(null, `required: at least one of ${NODE_STATE_FIELDS.join(', ')}`);
    for (const { field, problem } of checkNodeState(texts)) {
      const message = `line ${problem.line}: ${problem.message}`;
      if (problem.severity === 'error') spec.error(field, message);
      else spec.warn(field, message);
    }
    if (name === null) return;
    const first = this.nodeStates.find((s) => s.state.node === name);
    if (first) {
      this.log.error(
        origin,
        ['metadata', 'name'],
        `node ${name} already has a NodeState (document ${first.origin.document})`,
      );
      return;
    }
    this.nodeStates.push({ origin, state: { node: name, ...texts } });
  }
}

const NODE_STATE_FIELDS = ['iptablesSave', 'ipRoute', 'ipNeigh', 'bridgeFdb', 'conntrack'] as const;

// ---------------------------------------------------------------------------------------------------------
// Translations (our own field: the scenario's prose in the UI's other languages)

/** A translated text: like the original, a string with something in it (an empty one would hide the
 *  original, which is what leaving it out is for). */
const translatedText: Check = (s) =>
  s.trim() === '' ? 'must not be empty (leave it out to show the original text)' : null;

/**
 * spec.translations: `<lang>: { description, walks: { <walk name>: { description } } }`. A language the UI
 * does not speak is a warning, not an error: the scenario still runs in every language, and a scenario
 * written for a Packet Walk that speaks more languages still opens here. Null when there are none.
 */
function readTranslations(r: Reader, walkNames: readonly string[]): ScenarioTranslations | null {
  const entries: [ScenarioLanguage, ScenarioTranslation][] = [];
  for (const lang of r.keys()) {
    if (!isOneOf(SCENARIO_LANGUAGES, lang)) {
      r.warn(
        lang,
        `unknown language "${lang}" (ignored): the languages are ${SCENARIO_LANGUAGES.join(', ')}`,
      );
      continue;
    }
    const t = r.map(lang);
    if (!isRecord(t.value)) continue;
    t.onlyKeys(['description', 'walks']);
    const description = t.string('description', { check: translatedText })?.trim() ?? null;
    const w = t.map('walks');
    const walks: [string, { description: string }][] = [];
    for (const name of w.keys()) {
      if (!walkNames.includes(name)) {
        w.error(name, `no walk named "${name}" in spec.walks`);
        continue;
      }
      const m = w.map(name);
      m.onlyKeys(['description']);
      const text = m.string('description', { required: true, check: translatedText });
      if (text !== null) walks.push([name, { description: text.trim() }]);
    }
    entries.push([
      lang,
      {
        ...(description !== null ? { description } : {}),
        ...(walks.length > 0 ? { walks: Object.fromEntries(walks) } : {}),
      },
    ]);
  }
  return entries.length > 0 ? Object.fromEntries(entries) : null;
}

// ---------------------------------------------------------------------------------------------------------
// The node firewall (our own field: an administrator's INPUT rules, engine/cniRules.ts nodeFirewallRestore)

const FIREWALL_PROTOCOLS = ['TCP', 'UDP', 'ICMP'] as const;

/** An iptables comment we write in double quotes: no quote, backslash or line break, and short (the kernel's
 *  xt_comment keeps 256 bytes). */
const firewallComment: Check = (s) =>
  /["\\\n\r]/.test(s)
    ? 'must not contain double quotes, backslashes or line breaks (it becomes an iptables comment)'
    : s.length > 200
      ? 'must be at most 200 characters (it becomes an iptables comment)'
      : null;

/** One `spec.nodeFirewall[]` entry, checked on its own; the nodes it names are checked in allocate.ts. */
function readNodeFirewall(item: Reader, index: number): RawNodeFirewall | null {
  const r = item.map(null);
  r.onlyKeys(['name', 'nodeSelector', 'nodes', 'allow']);
  const name = r.string('name', { required: true, check: dnsLabel });
  const hasSelector = r.has('nodeSelector');
  const hasNodes = r.has('nodes');
  if (hasSelector && hasNodes) r.error(null, 'give nodeSelector or nodes, not both');
  else if (!hasSelector && !hasNodes && isRecord(item.value))
    r.error(null, 'required: nodeSelector (node labels; {} selects every node) or nodes (node names)');
  const nodeSelector = hasSelector ? r.labels('nodeSelector') : null;
  const nodes = hasNodes
    ? r.list('nodes').flatMap((n) => n.string(null, { check: dnsSubdomain }) ?? [])
    : null;
  const allow = r.list('allow').flatMap((a): NodeFirewallAllowModel[] => {
    const m = a.map(null);
    m.onlyKeys(['protocol', 'port', 'endPort', 'from', 'description']);
    const protocol = m.oneOf('protocol', FIREWALL_PROTOCOLS, 'TCP');
    const port = m.int('port', 1, 65535);
    const endPort = m.int('endPort', 1, 65535);
    let ok = (!m.has('port') || port !== null) && (!m.has('endPort') || endPort !== null);
    if (protocol === 'ICMP' && (m.has('port') || m.has('endPort'))) {
      m.error(m.has('port') ? 'port' : 'endPort', 'ICMP has no ports');
      ok = false;
    }
    if (endPort !== null && !m.has('port')) {
      m.error('endPort', 'may not be specified when port is not specified');
      ok = false;
    } else if (endPort !== null && port !== null && endPort < port) {
      m.error('endPort', `must be greater than or equal to port (${port})`);
      ok = false;
    }
    const from = m.list('from').map((c) => c.cidr(null, true));
    const description = m.string('description', { check: firewallComment });
    if (!ok || from.some((c) => c === null) || (m.has('description') && description === null)) return [];
    return [
      {
        protocol,
        port,
        endPort: endPort !== null && endPort !== port ? endPort : null,
        from: from.filter((c) => c !== null),
        description: description ?? '',
      },
    ];
  });
  if (name === null) return null;
  return { index, name, nodeSelector, nodes, allow };
}

// ---------------------------------------------------------------------------------------------------------
// NetworkPolicy parts (networking/v1 types.go; checks from pkg/apis/networking/validation/validation.go and
// apimachinery's ValidateLabelSelector)

const POLICY_TYPES = ['Ingress', 'Egress'] as const;
const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** A metav1.LabelSelector; absent reads as the empty selector (everything). */
function readLabelSelector(r: Reader): LabelSelectorModel {
  r.onlyKeys(['matchLabels', 'matchExpressions']);
  const matchLabels = r.labels('matchLabels');
  const matchExpressions = r.list('matchExpressions').flatMap((item): LabelSelectorRequirement[] => {
    const e = item.map(null);
    e.onlyKeys(['key', 'operator', 'values']);
    const key = e.string('key', { required: true, check: labelKeyProblem });
    const operator = e.string('operator', {
      required: true,
      check: (s) =>
        isOneOf(SELECTOR_OPERATORS, s) ? null : `must be one of ${SELECTOR_OPERATORS.join(', ')}`,
    });
    const values = e.list('values').map((v) => v.string(null, { check: labelValueProblem }));
    if (operator === null || !isOneOf(SELECTOR_OPERATORS, operator)) return [];
    const listed = operator === 'In' || operator === 'NotIn';
    if (listed && values.length === 0)
      e.error('values', `required: at least one value when operator is ${operator}`);
    if (!listed && values.length > 0) e.error('values', `must be empty when operator is ${operator}`);
    if (key === null || values.some((v) => v === null)) return [];
    return [{ key, operator, values: values.filter((v) => v !== null) }];
  });
  return { matchLabels, matchExpressions };
}

/** One ingress or egress rule: `from` or `to` peers and ports. */
function readPolicyRule(item: Reader, peersKey: 'from' | 'to'): NetworkPolicyRuleModel {
  const r = item.map(null);
  r.onlyKeys([peersKey, 'ports']);
  return {
    peers: r.list(peersKey).flatMap((p) => readPolicyPeer(p) ?? []),
    ports: r.list('ports').flatMap((p) => readPolicyPort(p) ?? []),
  };
}

function readPolicyPeer(item: Reader): NetworkPolicyPeerModel | null {
  const r = item.map(null);
  r.onlyKeys(['podSelector', 'namespaceSelector', 'ipBlock']);
  const podSelector = r.has('podSelector') ? readLabelSelector(r.map('podSelector')) : null;
  const namespaceSelector = r.has('namespaceSelector') ? readLabelSelector(r.map('namespaceSelector')) : null;
  if (r.has('ipBlock')) {
    const block = readIpBlock(r.map('ipBlock'));
    if (podSelector || namespaceSelector) {
      r.error(null, 'may not specify both ipBlock and another peer');
      return null;
    }
    return block;
  }
  if (!podSelector && !namespaceSelector) {
    // (A peer of the wrong type was reported by map() already.)
    if (item.value === null || item.value === undefined || isRecord(item.value))
      r.error(null, 'must specify a peer: podSelector, namespaceSelector or ipBlock');
    return null;
  }
  return { kind: 'pods', podSelector, namespaceSelector };
}

function readIpBlock(r: Reader): NetworkPolicyPeerModel | null {
  r.onlyKeys(['cidr', 'except']);
  const text = r.string('cidr', { required: true, check: (t) => cidrProblem(t, false) });
  const cidr = text === null ? null : parseCidr(text, false);
  if (text !== null && cidr !== null && text.split('/')[0] !== cidr.ip) {
    // ParseCIDRSloppy masks the host bits; the API server only warns about such a value.
    r.warn('cidr', `"${text}" has host bits set: read as ${formatCidr(cidr)}`);
  }
  const except = r.list('except').flatMap((item) => {
    const c = item.cidr(null, false);
    if (c === null || cidr === null) return [];
    if (!cidrContains(cidr, c.ip) || c.prefix <= cidr.prefix) {
      item.error(null, `must be a strict subset of cidr ${formatCidr(cidr)}`);
      return [];
    }
    return [c];
  });
  return cidr === null ? null : { kind: 'ipBlock', cidr, except };
}

function readPolicyPort(item: Reader): NetworkPolicyPortModel | null {
  const r = item.map(null);
  r.onlyKeys(['protocol', 'port', 'endPort']);
  const protocol = r.oneOf('protocol', PROTOCOLS, 'TCP');
  const v = r.get('port');
  let port: number | string | null = null;
  let ok = true;
  if (typeof v === 'number') {
    port = r.int('port', 1, 65535);
    ok = port !== null;
  } else if (typeof v === 'string' && /^\d+$/.test(v)) {
    r.error('port', `"${v}" is a string: write ${v} without quotes for a port number`);
    ok = false;
  } else if (v !== undefined && v !== null) {
    port = r.string('port', { check: portName });
    ok = port !== null;
  }
  const endPort = r.int('endPort', 1, 65535);
  if (r.has('endPort') && endPort === null) ok = false;
  if (endPort !== null) {
    if (v === undefined || v === null) r.error('endPort', 'may not be specified when port is not specified');
    else if (typeof port === 'string') r.error('endPort', 'may not be specified when port is a name');
    else if (typeof port === 'number' && endPort < port)
      r.error('endPort', `must be greater than or equal to port (${port})`);
  }
  return ok ? { protocol, port, endPort } : null;
}
