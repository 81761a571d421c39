// CoreDNS as pure functions: the Corefile (server blocks and the plugins Kubernetes clusters use), and what a
// server does with one query — the kubernetes plugin answering from the scenario's Services, EndpointSlices,
// Pods and Namespaces as the Kubernetes DNS specification says (kubernetes/dns docs/specification.md), the
// forward plugin handing the rest to an upstream, and cache / loadbalance / log on the way back.
//
// Followed (coredns/coredns@4b26cce):
//   core/dnsserver/server.go       server block by longest zone, "." last, REFUSED when none; SERVFAIL when no
//                                  plugin writes; plugin order is plugin.cfg's, not the Corefile's
//   plugin/kubernetes/*.go         handler.go (per-type dispatch, NXDOMAIN vs NODATA), kubernetes.go
//                                  (Services, Records, findServices, findPods, endpointHostname), parse.go
//                                  (parseRequest), reverse.go, ns.go, namespace.go, setup.go (options)
//   plugin/backend_lookup.go       A/AAAA/SRV/TXT/PTR/NS/SOA building, CNAME chasing, SRV weights
//   plugin/etcd/msg                a found name as an rdata (Service.HostType, NewSRV, Domain)
//   plugin/forward                 from/except matching, policies (policy.go), a fresh query id (proxy)
//   plugin/cache                   TTL capping and storage (cache.go WriteMsg/key/set, item.go, handler.go)
//   plugin/loadbalance             round_robin shuffling of address records
//   request/request.go             Scrub: truncation to the client's buffer, compression only when needed
//
// Not modelled: the API's sync state (TestNotSyncedServeDNS's SERVFAIL), multicluster zones, the `zonal`
// option, label selectors, autopath, DNSSEC, serve_stale/prefetch, /etc/hosts file contents (inline hosts
// entries are), plugins other than those parseCorefile knows. IPv6 cluster addresses do not exist in the model.
import { isIp, parseCidr, type Ip } from './addr.ts';
import {
  dnsMessageLength,
  formatIpv6,
  fqdn,
  makeQuery,
  replyTo,
  truncateMessage,
  validateDnsName,
  type DnsMessage,
  type DnsRecord,
  type Rcode,
  type RRType,
} from './dns.ts';
import type { ClusterModel, EndpointModel, EndpointSliceModel, ServiceModel } from '../scenario/model.ts';

// ---------------------------------------------------------------------------------------------------------
// Configuration.

export interface CorefileProblem {
  readonly line: number;
  readonly column?: number;
  readonly message: string;
}

/** `pods` of the kubernetes plugin: whether `a-b-c-d.<ns>.pod.<zone>` is answered, and how. */
export type PodMode = 'disabled' | 'insecure' | 'verified';

export interface KubernetesConfig {
  /** Normalized (lowercase, final dot); reverse zones allowed but at least one forward zone. */
  readonly zones: readonly string[];
  readonly podMode: PodMode;
  /** Zones whose NXDOMAIN goes to the next plugin instead; null without `fallthrough`. */
  readonly fallthrough: readonly string[] | null;
  readonly ttl: number;
  /** Namespaces exposed; empty means all. */
  readonly namespaces: readonly string[];
  /** `endpoint_pod_names`: a headless endpoint without hostname is named after its pod. */
  readonly endpointPodNames: boolean;
  /** `ignore empty_service`: NXDOMAIN for a ClusterIP service without ready endpoints. */
  readonly ignoreEmptyService: boolean;
  /** `noendpoints`: no endpoint cache, so no headless or endpoint records. */
  readonly noEndpoints: boolean;
}

export type ForwardPolicy = 'random' | 'round_robin' | 'sequential';

export interface ForwardConfig {
  /** The zone forwarded ("." for everything). */
  readonly from: string;
  /** As written: an address (port optional), dns://address, or a resolv.conf path. */
  readonly to: readonly string[];
  readonly except: readonly string[];
  readonly policy: ForwardPolicy;
  readonly maxConcurrent: number | null;
}

export interface CacheConfig {
  readonly zones: readonly string[];
  /** Positive answers: capacity, the TTL cap and the TTL floor (seconds). */
  readonly successCapacity: number;
  readonly successTtl: number;
  readonly successMinTtl: number;
  /** NXDOMAIN and NODATA. */
  readonly denialCapacity: number;
  readonly denialTtl: number;
  readonly denialMinTtl: number;
  /** How long a SERVFAIL is kept. */
  readonly servfailTtl: number;
  /** `disable success|denial [ZONES]`: zones whose answers of that kind are not stored. */
  readonly disableSuccess: readonly string[];
  readonly disableDenial: readonly string[];
  readonly keepTtl: boolean;
}

export interface HostsEntry {
  readonly ip: string;
  readonly names: readonly string[];
}

export interface HostsConfig {
  readonly file: string;
  readonly zones: readonly string[];
  /** Inline entries. The file's contents are not known to the model. */
  readonly entries: readonly HostsEntry[];
  readonly ttl: number;
  readonly noReverse: boolean;
  readonly fallthrough: readonly string[] | null;
}

/** The plugins of one server block the model knows. Each may appear once per block. */
export interface ServerPlugins {
  readonly errors?: true;
  readonly log?: true;
  readonly health?: { readonly address: string | null; readonly lameduckSeconds: number | null };
  readonly ready?: { readonly address: string | null };
  readonly prometheus?: { readonly address: string };
  readonly reload?: { readonly intervalSeconds: number; readonly jitterSeconds: number };
  readonly loop?: true;
  readonly loadbalance?: { readonly policy: 'round_robin' };
  readonly cache?: CacheConfig;
  readonly hosts?: HostsConfig;
  readonly kubernetes?: KubernetesConfig;
  readonly forward?: ForwardConfig;
}

export interface ServerBlock {
  /** The keys as written: ".:53", "cluster.local:53". */
  readonly keys: readonly string[];
  /** Normalized zones the block serves (CIDR keys become their reverse zones). */
  readonly zones: readonly string[];
  readonly port: number;
  readonly line: number;
  readonly plugins: ServerPlugins;
}

export interface CorefileConfig {
  readonly servers: readonly ServerBlock[];
}

// ---------------------------------------------------------------------------------------------------------
// Corefile text (a Caddyfile): tokens, server blocks, directives.

interface Token {
  readonly text: string;
  readonly line: number;
  readonly column: number;
  readonly quoted: boolean;
}

/** Caddy's lexer: whitespace separates tokens, `#` starts a comment at a token's start, quotes group. */
function lexCorefile(text: string, problems: CorefileProblem[]): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let column = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      column = 1;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      column++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = { line, column };
    if (c === '"' || c === '`') {
      let value = '';
      i++;
      column++;
      let closed = false;
      while (i < text.length) {
        const d = text[i]!;
        if (d === c) {
          closed = true;
          i++;
          column++;
          break;
        }
        if (c === '"' && d === '\\' && text[i + 1] === '"') {
          value += '"';
          i += 2;
          column += 2;
          continue;
        }
        if (d === '\n') {
          line++;
          column = 1;
        } else column++;
        value += d;
        i++;
      }
      if (!closed) problems.push({ ...start, message: 'unterminated quoted string' });
      tokens.push({ text: value, ...start, quoted: true });
      continue;
    }
    let value = '';
    while (i < text.length && !/\s/.test(text[i]!)) {
      value += text[i]!;
      i++;
      column++;
    }
    tokens.push({ text: value, ...start, quoted: false });
  }
  return tokens;
}

/** A directive line: its name, the arguments on the same line, and the lines of its `{ }` block. */
interface Directive {
  readonly name: Token;
  readonly args: readonly Token[];
  readonly block: readonly Directive[] | null;
}

const isOpen = (t: Token | undefined): boolean => t !== undefined && !t.quoted && t.text === '{';
const isClose = (t: Token | undefined): boolean => t !== undefined && !t.quoted && t.text === '}';

class TokenReader {
  private i = 0;
  constructor(
    private readonly tokens: readonly Token[],
    private readonly problems: CorefileProblem[],
  ) {}
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  /** The lines inside a block whose `{` was just read, up to its `}`. */
  block(open: Token): Directive[] {
    const lines: Directive[] = [];
    for (;;) {
      const t = this.next();
      if (t === undefined) {
        this.problems.push({ line: open.line, column: open.column, message: 'unclosed "{"' });
        return lines;
      }
      if (isClose(t)) return lines;
      if (isOpen(t)) {
        this.problems.push({ line: t.line, column: t.column, message: 'unexpected "{"' });
        this.block(t);
        continue;
      }
      const args: Token[] = [];
      while (this.peek() && this.peek()!.line === t.line && !isOpen(this.peek()) && !isClose(this.peek()))
        args.push(this.next()!);
      let block: Directive[] | null = null;
      const after = this.peek();
      if (isOpen(after) && after!.line === t.line) {
        this.next();
        block = this.block(after!);
      }
      lines.push({ name: t, args, block });
    }
  }
}

/** The plugins parseCorefile does not model but CoreDNS has: named as "not modelled", not "unknown". */
const OTHER_COREDNS_PLUGINS = new Set([
  'acl', 'any', 'auto', 'autopath', 'azure', 'bind', 'bufsize', 'cancel', 'chaos', 'clouddns', 'debug',
  'dns64', 'dnssec', 'dnstap', 'erratic', 'etcd', 'file', 'geoip', 'grpc', 'header', 'k8s_external', 'local',
  'metadata', 'minimal', 'nsid', 'pprof', 'rewrite', 'root', 'route53', 'secondary', 'sign', 'template',
  'timeouts', 'tls', 'trace', 'transfer', 'tsig', 'view', 'whoami',
]); // prettier-ignore

/** Go's time.ParseDuration for the forms Corefiles use ("5s", "1m30s", "300ms"); seconds, or null. */
function parseDuration(text: string): number | null {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  const re = /(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/gy;
  let total = 0;
  let at = 0;
  if (text === '0') return 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  return at === text.length && at > 0 ? total : null;
}

const DEFAULT_PORT = 53;

/** Zone(s) of a server block key or zone argument: lowercase with a final dot; a CIDR becomes the reverse
 *  zones covering it (plugin/normalize.go: classless prefixes expand to the next octet boundary). */
function normalizeZones(text: string): string[] | string {
  const host = text.toLowerCase();
  if (host.includes('/')) {
    let cidr;
    try {
      cidr = parseCidr(host);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    const octets = Math.ceil(cidr.prefix / 8);
    const parts = cidr.ip.split('.').map(Number);
    const spread = 1 << (octets * 8 - cidr.prefix);
    const zones: string[] = [];
    for (let k = 0; k < spread; k++) {
      const labels = parts.slice(0, octets);
      if (octets > 0) labels[octets - 1] = labels[octets - 1]! + k;
      zones.push(`${[...labels].reverse().join('.')}${octets > 0 ? '.' : ''}in-addr.arpa.`);
    }
    return zones;
  }
  if (host === '.' || host === '') return ['.'];
  return validateDnsName(host) ?? [fqdn(host)];
}

function isSubDomain(parent: string, child: string): boolean {
  const p = fqdn(parent).toLowerCase();
  const c = fqdn(child).toLowerCase();
  return p === '.' || c === p || c.endsWith(`.${p}`);
}

/** plugin.Zones.Matches: the longest of `zones` that `name` is in, or null. */
function matchZone(zones: readonly string[], name: string): string | null {
  let best: string | null = null;
  for (const z of zones) if (isSubDomain(z, name) && (best === null || z.length > best.length)) best = z;
  return best;
}

interface SetupContext {
  readonly problems: CorefileProblem[];
  readonly blockZones: readonly string[];
}

function problemAt(ctx: SetupContext, t: Token, message: string): void {
  ctx.problems.push({ line: t.line, column: t.column, message });
}

/** `n` as a non-negative integer in [min, max], or a problem. */
function intArg(
  ctx: SetupContext,
  t: Token | undefined,
  min: number,
  max: number,
  what: string,
): number | null {
  if (t === undefined) return null;
  if (!/^-?\d+$/.test(t.text) || Number(t.text) < min || Number(t.text) > max) {
    problemAt(ctx, t, `${what}: "${t.text}" is not a number in [${min}, ${max}]`);
    return null;
  }
  return Number(t.text);
}

function zonesArg(ctx: SetupContext, args: readonly Token[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const z = normalizeZones(a.text);
    if (typeof z === 'string') problemAt(ctx, a, `invalid zone "${a.text}": ${z}`);
    else out.push(...z);
  }
  return out;
}

function noArgs(ctx: SetupContext, d: Directive): void {
  const extra = d.args[0];
  if (extra) problemAt(ctx, extra, `${d.name.text}: unexpected argument "${extra.text}"`);
}

function noBlock(ctx: SetupContext, d: Directive): void {
  const first = d.block?.[0];
  if (first) problemAt(ctx, first.name, `${d.name.text}: unknown property "${first.name.text}"`);
}

function setupKubernetes(ctx: SetupContext, d: Directive): KubernetesConfig | null {
  const zones = d.args.length > 0 ? zonesArg(ctx, d.args) : [...ctx.blockZones];
  let podMode: PodMode = 'disabled';
  let fallthrough: string[] | null = null;
  let ttl = 5; // kubernetes.go defaultTTL
  const namespaces: string[] = [];
  let endpointPodNames = false;
  let ignoreEmptyService = false;
  let noEndpoints = false;
  for (const o of d.block ?? []) {
    const [a0] = o.args;
    switch (o.name.text) {
      case 'pods':
        if (
          o.args.length === 1 &&
          (a0!.text === 'disabled' || a0!.text === 'insecure' || a0!.text === 'verified')
        )
          podMode = a0!.text;
        else
          problemAt(ctx, a0 ?? o.name, `wrong value for pods: must be one of: disabled, verified, insecure`);
        break;
      case 'fallthrough':
        fallthrough = o.args.length === 0 ? ['.'] : zonesArg(ctx, o.args);
        break;
      case 'ttl': {
        // setup.go: ttl must be in range [0, 3600]
        const n = a0 ? intArg(ctx, a0, 0, 3600, 'ttl') : null;
        if (!a0) problemAt(ctx, o.name, 'ttl: missing value');
        if (n !== null) ttl = n;
        break;
      }
      case 'namespaces':
        if (o.args.length === 0) problemAt(ctx, o.name, 'namespaces: at least one namespace');
        namespaces.push(...o.args.map((a) => a.text));
        break;
      case 'endpoint_pod_names':
        noArgs(ctx, o);
        endpointPodNames = true;
        break;
      case 'ignore':
        if (a0?.text === 'empty_service') ignoreEmptyService = true;
        else problemAt(ctx, a0 ?? o.name, `unable to parse ignore value: "${a0?.text ?? ''}"`);
        break;
      case 'noendpoints':
        noArgs(ctx, o);
        noEndpoints = true;
        break;
      // How CoreDNS reaches the API server: no effect on answers.
      case 'endpoint':
      case 'tls':
      case 'kubeconfig':
      case 'startup_timeout':
      case 'apiserver_qps':
      case 'apiserver_burst':
      case 'apiserver_max_inflight':
        break;
      case 'labels':
      case 'namespace_labels':
      case 'multicluster':
      case 'zonal':
        problemAt(ctx, o.name, `kubernetes: "${o.name.text}" is not modelled (answers ignore it)`);
        break;
      default:
        problemAt(ctx, o.name, `kubernetes: unknown property "${o.name.text}"`);
    }
  }
  // setup.go: at least one zone must be a forward zone (the primary zone names PTR targets).
  if (!zones.some((z) => reverseKind(z) === 0)) {
    problemAt(ctx, d.name, 'kubernetes: non-reverse zone name must be used');
    return null;
  }
  return { zones, podMode, fallthrough, ttl, namespaces, endpointPodNames, ignoreEmptyService, noEndpoints };
}

function setupForward(ctx: SetupContext, d: Directive): ForwardConfig | null {
  const [from, ...to] = d.args;
  if (!from || to.length === 0) {
    problemAt(ctx, from ?? d.name, 'forward: needs a zone and at least one upstream');
    return null;
  }
  const fromZones = normalizeZones(from.text);
  if (typeof fromZones === 'string' || fromZones.length !== 1) {
    problemAt(ctx, from, `forward: invalid zone "${from.text}"`);
    return null;
  }
  // forward/setup.go: more than 15 upstreams is an error.
  if (to.length > 15) problemAt(ctx, to[15]!, 'forward: more than 15 upstreams');
  for (const t of to) {
    if (t.text.startsWith('/')) continue;
    const hostPort = t.text.replace(/^dns:\/\//, '');
    if (/^[a-z0-9]+:\/\//.test(hostPort)) {
      problemAt(ctx, t, `forward: "${t.text}": only plain DNS upstreams are modelled`);
      continue;
    }
    const m = /^([^:]+)(?::(\d+))?$/.exec(hostPort);
    if (!m || !isIp(m[1]!)) problemAt(ctx, t, `forward: "${t.text}" is not an IPv4 address[:port] or a file`);
  }
  let policy: ForwardPolicy = 'random';
  let maxConcurrent: number | null = null;
  const except: string[] = [];
  for (const o of d.block ?? []) {
    const [a0] = o.args;
    switch (o.name.text) {
      case 'policy':
        if (a0?.text === 'random' || a0?.text === 'round_robin' || a0?.text === 'sequential')
          policy = a0.text;
        else problemAt(ctx, a0 ?? o.name, `forward: unknown policy "${a0?.text ?? ''}"`);
        break;
      case 'except':
        except.push(...zonesArg(ctx, o.args));
        break;
      case 'max_concurrent':
        maxConcurrent = intArg(ctx, a0, 0, 2 ** 31 - 1, 'max_concurrent');
        break;
      // Transport and health tuning: no effect on which upstream the model picks or what it answers.
      case 'force_tcp':
      case 'prefer_udp':
      case 'expire':
      case 'max_fails':
      case 'tls':
      case 'tls_servername':
      case 'health_check':
      case 'max_connect_attempts':
      case 'next':
      case 'failover':
      case 'failfast_all_unhealthy_upstreams':
        break;
      default:
        problemAt(ctx, o.name, `forward: unknown property "${o.name.text}"`);
    }
  }
  return { from: fromZones[0]!, to: to.map((t) => t.text), except, policy, maxConcurrent };
}

/** cache/setup.go's defaults: 3600 s success cap, 1800 s denial cap, 5 s floors, 10000 entries each. */
const CACHE_DEFAULTS = {
  capacity: 10000,
  successTtl: 3600,
  denialTtl: 1800,
  minTtl: 5,
  servfailTtl: 5,
} as const;

function setupCache(ctx: SetupContext, d: Directive): CacheConfig {
  let args = d.args;
  let successTtl: number = CACHE_DEFAULTS.successTtl;
  let denialTtl: number = CACHE_DEFAULTS.denialTtl;
  // The first argument is the TTL cap when it is a number, else a zone.
  if (args[0] && /^-?\d+$/.test(args[0].text)) {
    const n = intArg(ctx, args[0], 1, 2 ** 31 - 1, 'cache TTL');
    if (n !== null) successTtl = denialTtl = n;
    args = args.slice(1);
  }
  const zones = args.length > 0 ? zonesArg(ctx, args) : [...ctx.blockZones];
  let successCapacity: number = CACHE_DEFAULTS.capacity;
  let denialCapacity: number = CACHE_DEFAULTS.capacity;
  let successMinTtl: number = CACHE_DEFAULTS.minTtl;
  let denialMinTtl: number = CACHE_DEFAULTS.minTtl;
  let servfailTtl: number = CACHE_DEFAULTS.servfailTtl;
  let disableSuccess: string[] = [];
  let disableDenial: string[] = [];
  let keepTtl = false;
  for (const o of d.block ?? []) {
    const [a0, a1, a2] = o.args;
    switch (o.name.text) {
      case 'success':
      case 'denial': {
        if (!a0) {
          problemAt(ctx, o.name, `${o.name.text}: needs a capacity`);
          break;
        }
        const cap = intArg(ctx, a0, 0, 2 ** 31 - 1, 'capacity');
        const ttl = a1 ? intArg(ctx, a1, 1, 2 ** 31 - 1, 'TTL') : null;
        const min = a2 ? intArg(ctx, a2, 0, 2 ** 31 - 1, 'minimum TTL') : null;
        if (o.name.text === 'success') {
          if (cap !== null) successCapacity = cap;
          if (ttl !== null) successTtl = ttl;
          if (min !== null) successMinTtl = min;
        } else {
          if (cap !== null) denialCapacity = cap;
          if (ttl !== null) denialTtl = ttl;
          if (min !== null) denialMinTtl = min;
        }
        break;
      }
      case 'disable': {
        const zonesOf = o.args.length > 1 ? zonesArg(ctx, o.args.slice(1)) : ['.'];
        if (a0?.text === 'success') disableSuccess = zonesOf;
        else if (a0?.text === 'denial') disableDenial = zonesOf;
        else problemAt(ctx, a0 ?? o.name, 'cache type for disable must be "success" or "denial"');
        break;
      }
      case 'servfail': {
        const s = a0 ? parseDuration(a0.text) : null;
        // RFC 2308 prohibits caching SERVFAIL longer than 5 minutes (setup.go).
        if (s === null || s > 300) problemAt(ctx, a0 ?? o.name, 'servfail: a duration of at most 5m');
        else servfailTtl = s;
        break;
      }
      case 'keepttl':
        noArgs(ctx, o);
        keepTtl = true;
        break;
      case 'prefetch':
      case 'serve_stale':
      case 'serve_stale_policy':
        problemAt(ctx, o.name, `cache: "${o.name.text}" is not modelled`);
        break;
      default:
        problemAt(ctx, o.name, `cache: unknown property "${o.name.text}"`);
    }
  }
  return {
    zones,
    successCapacity,
    successTtl,
    successMinTtl,
    denialCapacity,
    denialTtl,
    denialMinTtl,
    servfailTtl,
    disableSuccess,
    disableDenial,
    keepTtl,
  };
}

function setupHosts(ctx: SetupContext, d: Directive): HostsConfig {
  const [file, ...zoneArgs] = d.args;
  const zones = zoneArgs.length > 0 ? zonesArg(ctx, zoneArgs) : [...ctx.blockZones];
  const entries: HostsEntry[] = [];
  let ttl = 3600; // hosts/setup.go default
  let noReverse = false;
  let fallthrough: string[] | null = null;
  for (const o of d.block ?? []) {
    const [a0] = o.args;
    if (isIp(o.name.text) || formatIpv6(o.name.text) !== null) {
      entries.push({ ip: o.name.text, names: o.args.map((a) => fqdn(a.text.toLowerCase())) });
      continue;
    }
    switch (o.name.text) {
      case 'ttl': {
        const n = intArg(ctx, a0, 1, 65535, 'ttl');
        if (!a0) problemAt(ctx, o.name, 'ttl needs a time in second');
        if (n !== null) ttl = n;
        break;
      }
      case 'no_reverse':
        noReverse = true;
        break;
      case 'reload':
        break;
      case 'fallthrough':
        fallthrough = o.args.length === 0 ? ['.'] : zonesArg(ctx, o.args);
        break;
      default:
        problemAt(ctx, o.name, `hosts: unknown property "${o.name.text}"`);
    }
  }
  return { file: file?.text ?? '/etc/hosts', zones, entries, ttl, noReverse, fallthrough };
}

function setupAddressOnly(ctx: SetupContext, d: Directive): string | null {
  const extra = d.args[1];
  if (extra) problemAt(ctx, extra, `${d.name.text}: unexpected argument "${extra.text}"`);
  return d.args[0]?.text ?? null;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** Sets up one directive of a server block into `plugins`. */
function setupPlugin(ctx: SetupContext, d: Directive, plugins: Writable<ServerPlugins>): void {
  const name = d.name.text;
  switch (name) {
    case 'errors':
    case 'log':
    case 'loop':
      if (name === 'loop') noArgs(ctx, d);
      plugins[name] = true;
      return;
    case 'health': {
      const address = setupAddressOnly(ctx, d);
      let lameduckSeconds: number | null = null;
      for (const o of d.block ?? []) {
        const s = o.name.text === 'lameduck' && o.args[0] ? parseDuration(o.args[0].text) : null;
        if (s === null) problemAt(ctx, o.name, `health: expected "lameduck DURATION"`);
        else lameduckSeconds = s;
      }
      plugins.health = { address, lameduckSeconds };
      return;
    }
    case 'ready':
      noBlock(ctx, d);
      plugins.ready = { address: setupAddressOnly(ctx, d) };
      return;
    case 'prometheus':
      // metrics/setup.go: the default listen address.
      plugins.prometheus = { address: setupAddressOnly(ctx, d) ?? 'localhost:9153' };
      return;
    case 'reload': {
      // reload/setup.go: 30s interval, 15s jitter by default.
      const [i, j] = d.args.map((a) => parseDuration(a.text));
      if (d.args.some((a) => parseDuration(a.text) === null))
        problemAt(ctx, d.args[0]!, 'reload: arguments are durations');
      plugins.reload = { intervalSeconds: i ?? 30, jitterSeconds: j ?? 15 };
      return;
    }
    case 'loadbalance': {
      const policy = d.args[0]?.text ?? 'round_robin';
      if (policy !== 'round_robin')
        problemAt(ctx, d.args[0]!, `loadbalance: policy "${policy}" is not modelled (only round_robin)`);
      plugins.loadbalance = { policy: 'round_robin' };
      return;
    }
    case 'cache':
      plugins.cache = setupCache(ctx, d);
      return;
    case 'hosts':
      plugins.hosts = setupHosts(ctx, d);
      return;
    case 'kubernetes': {
      const k = setupKubernetes(ctx, d);
      if (k) plugins.kubernetes = k;
      return;
    }
    case 'forward': {
      const f = setupForward(ctx, d);
      if (f) plugins.forward = f;
      return;
    }
    case 'import':
      problemAt(ctx, d.name, 'import is not modelled');
      return;
    default:
      if (OTHER_COREDNS_PLUGINS.has(name))
        problemAt(ctx, d.name, `plugin "${name}" is not modelled: the answers ignore it`);
      else problemAt(ctx, d.name, `unknown directive "${name}"`);
  }
}

/** One server block key: `[dns://]zone[:port]`. */
function parseServerKey(
  key: Token,
  problems: CorefileProblem[],
): { readonly zones: string[]; readonly port: number } | null {
  let text = key.text;
  const scheme = /^([a-z0-9]+):\/\//.exec(text);
  if (scheme) {
    if (scheme[1] !== 'dns') {
      problems.push({
        line: key.line,
        column: key.column,
        message: `${scheme[1]}:// servers are not modelled`,
      });
      return null;
    }
    text = text.slice(scheme[0].length);
  }
  let port = DEFAULT_PORT;
  const colon = text.lastIndexOf(':');
  if (colon >= 0) {
    const p = text.slice(colon + 1);
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) {
      problems.push({ line: key.line, column: key.column, message: `invalid port in "${key.text}"` });
      return null;
    }
    port = Number(p);
    text = text.slice(0, colon);
  }
  const zones = normalizeZones(text);
  if (typeof zones === 'string') {
    problems.push({ line: key.line, column: key.column, message: `invalid zone in "${key.text}": ${zones}` });
    return null;
  }
  return { zones, port };
}

/**
 * Parses a Corefile. Every problem is collected with its line and column, and the rest is kept: an unknown
 * plugin or a bad argument leaves the other plugins and blocks as they are.
 */
export function parseCorefile(text: string): { config: CorefileConfig; problems: CorefileProblem[] } {
  const problems: CorefileProblem[] = [];
  const reader = new TokenReader(lexCorefile(text, problems), problems);
  const servers: ServerBlock[] = [];
  const defined = new Map<string, string>();
  for (let t = reader.next(); t !== undefined; t = reader.next()) {
    if (isClose(t) || isOpen(t)) {
      problems.push({ line: t.line, column: t.column, message: `unexpected "${t.text}"` });
      continue;
    }
    if (t.text === 'import') {
      problems.push({ line: t.line, column: t.column, message: 'import is not modelled' });
      while (reader.peek() && reader.peek()!.line === t.line) reader.next();
      continue;
    }
    // Keys up to the "{" (commas or blanks between them).
    const keys: Token[] = [t];
    while (reader.peek() && !isOpen(reader.peek()) && !isClose(reader.peek())) keys.push(reader.next()!);
    const open = reader.next();
    if (!isOpen(open)) {
      problems.push({ line: t.line, column: t.column, message: 'expected "{" after the server block keys' });
      continue;
    }
    if (t.text.startsWith('(')) {
      // A snippet, `(name) { ... }`, is text for `import`: skipped with the import.
      problems.push({ line: t.line, column: t.column, message: 'snippets are not modelled' });
      reader.block(open!);
      continue;
    }
    const split = keys.flatMap((k) =>
      k.text
        .split(',')
        .filter((s) => s !== '')
        .map((s) => ({ ...k, text: s })),
    );
    const zones: string[] = [];
    let port: number | null = null;
    for (const key of split) {
      const parsed = parseServerKey(key, problems);
      if (!parsed) continue;
      if (port !== null && parsed.port !== port)
        problems.push({ line: key.line, column: key.column, message: 'keys of one block must share a port' });
      port ??= parsed.port;
      for (const z of parsed.zones) {
        const id = `${z}:${parsed.port}`;
        const before = defined.get(id);
        // dnsserver/register.go: a zone and port may be defined once.
        if (before !== undefined)
          problems.push({
            line: key.line,
            column: key.column,
            message: `cannot serve dns://${id} - it is already defined (${before})`,
          });
        else {
          defined.set(id, `line ${key.line}`);
          zones.push(z);
        }
      }
    }
    const directives = reader.block(open!);
    const plugins: Writable<ServerPlugins> = {};
    const ctx: SetupContext = { problems, blockZones: zones };
    const seen = new Set<string>();
    for (const d of directives) {
      if (seen.has(d.name.text)) {
        problemAt(ctx, d.name, `plugin/${d.name.text}: this plugin can only be used once per Server Block`);
        continue;
      }
      seen.add(d.name.text);
      setupPlugin(ctx, d, plugins);
    }
    servers.push({
      keys: split.map((k) => k.text),
      zones,
      port: port ?? DEFAULT_PORT,
      line: t.line,
      plugins,
    });
  }
  return { config: { servers }, problems };
}

/**
 * kubeadm's default Corefile (kubernetes/kubernetes cmd/kubeadm/app/phases/addons/dns/manifests.go,
 * CoreDNSConfigMap) with the cluster domain filled in.
 */
export function defaultCorefile(clusterDomain: string): string {
  const d = clusterDomain.replace(/\.$/, '');
  return [
    '.:53 {',
    '    errors',
    '    health {',
    '       lameduck 5s',
    '    }',
    '    ready',
    `    kubernetes ${d} in-addr.arpa ip6.arpa {`,
    '       pods insecure',
    '       fallthrough in-addr.arpa ip6.arpa',
    '       ttl 30',
    '    }',
    '    prometheus :9153',
    '    forward . /etc/resolv.conf {',
    '       max_concurrent 1000',
    '    }',
    '    cache 30 {',
    `       disable success ${d}`,
    `       disable denial ${d}`,
    '    }',
    '    loop',
    '    reload',
    '    loadbalance',
    '}',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Serving: types.

export interface DnsClient {
  readonly ip: Ip;
  readonly port: number;
  /** UDP unless said otherwise: the reply must then fit 512 bytes (or the EDNS size). */
  readonly transport?: 'udp' | 'tcp';
}

export interface ServeOptions {
  /** The addresses this CoreDNS is bound to (its pod IP): ns.dns.<zone> and the NS records name the Services
   *  whose endpoints they are (ns.go nsAddrs). Default: the first ready endpoint of kube-system/kube-dns. */
  readonly localIPs?: readonly Ip[];
  /** The SOA serial. CoreDNS uses the Unix time of the last change it saw; the model has no clock, so 0. */
  readonly soaSerial?: number;
  /** The cache plugin's store, if the caller keeps one between queries (built from the block's cache config). */
  readonly cache?: CorednsCache;
  /** Seconds on the caller's clock, for the cache. */
  readonly now?: number;
  /** The port the query arrived on (server blocks are per port). */
  readonly port?: number;
  /** Queries this CoreDNS forwarded before (forward's round_robin counter). */
  readonly forwardedBefore?: number;
}

/** A response-path step to apply to a reply, in order: what the plugins' response writers do on the way
 *  back (plain data, so a forward can be completed later). */
type ReplyLayer =
  | { readonly kind: 'forward'; readonly request: DnsMessage }
  | { readonly kind: 'cache'; readonly block: number; readonly request: DnsMessage }
  | { readonly kind: 'loadbalance'; readonly block: number }
  | { readonly kind: 'log'; readonly block: number; readonly request: DnsMessage; readonly client: DnsClient }
  | {
      /** The kubernetes plugin chasing an ExternalName's target outside its zone (backend_lookup.go A):
       *  its reply to `request` is `before`, the CNAME, the target's answers, `after`. */
      readonly kind: 'cname';
      readonly request: DnsMessage;
      readonly before: readonly DnsRecord[];
      readonly cname: DnsRecord;
      readonly after: readonly DnsRecord[];
      readonly extra: readonly DnsRecord[];
    }
  | { readonly kind: 'scrub'; readonly request: DnsMessage; readonly client: DnsClient };

export interface PendingReply {
  /** The response writers the upstream's reply still goes through, innermost first. */
  readonly layers: readonly ReplyLayer[];
}

export type ServeResult =
  | {
      readonly kind: 'answer';
      readonly response: DnsMessage;
      /** What each plugin did, in order. */
      readonly steps: readonly string[];
      /** The server block that took the query: ".:53". */
      readonly server: string;
    }
  | {
      readonly kind: 'forward';
      readonly upstream: Ip;
      readonly upstreamPort: number;
      /** The query as forward sends it (a fresh id; the question may be a CNAME target's). */
      readonly query: DnsMessage;
      readonly steps: readonly string[];
      readonly server: string;
      /** Hand back to completeForward with the upstream's reply. */
      readonly pending: PendingReply;
    };

/** What a plugin chain did with a query. */
type ChainOutcome =
  | { readonly kind: 'write'; readonly msg: DnsMessage }
  /** Nothing written: the server answers with this rcode (server.go errorFunc). */
  | { readonly kind: 'rcode'; readonly rcode: Rcode }
  | {
      readonly kind: 'forward';
      readonly upstream: Ip;
      readonly upstreamPort: number;
      readonly query: DnsMessage;
      readonly layers: readonly ReplyLayer[];
    };

interface ServeContext {
  readonly config: CorefileConfig;
  readonly cluster: ClusterModel;
  readonly client: DnsClient;
  readonly rng: () => number;
  readonly resolvConf: readonly Ip[];
  readonly options: ServeOptions;
  readonly steps: string[];
  /** Nested server lookups (an ExternalName chased through the server): a guard, not a CoreDNS limit. */
  depth: number;
}

/** One query id as miekg's dns.Id() draws it: a random 16-bit number. */
function randomId(rng: () => number): number {
  return Math.floor(rng() * 65536) & 0xffff;
}

// ---------------------------------------------------------------------------------------------------------
// The server: block selection and the plugin chain.

function blockLabel(b: ServerBlock): string {
  return b.keys.join(' ');
}

/** server.go ServeDNS: the block of the longest zone that holds the name, then the root zone's; or none. */
function selectBlock(config: CorefileConfig, name: string, port: number): number | null {
  let best: number | null = null;
  let bestLen = -1;
  config.servers.forEach((b, i) => {
    if (b.port !== port) return;
    for (const z of b.zones) {
      if (z !== '.' && isSubDomain(z, name) && z.length > bestLen) {
        best = i;
        bestLen = z.length;
      }
    }
  });
  if (best !== null) return best;
  const root = config.servers.findIndex((b) => b.port === port && b.zones.includes('.'));
  return root >= 0 ? root : null;
}

/** The order plugins run in: plugin.cfg's (core/dnsserver/zdirectives.go), whatever the Corefile's order. */
const CHAIN_ORDER = ['log', 'loadbalance', 'cache', 'hosts', 'kubernetes', 'loop', 'forward'] as const;

/** Runs a query through the server (all blocks), as server.ServeDNS does. */
function runServer(ctx: ServeContext, query: DnsMessage): { outcome: ChainOutcome; block: number | null } {
  const q = query.question[0];
  if (!q) return { outcome: { kind: 'rcode', rcode: 'SERVFAIL' }, block: null };
  const block = selectBlock(ctx.config, q.name, ctx.options.port ?? DEFAULT_PORT);
  if (block === null) {
    ctx.steps.push(`server: no server block serves ${q.name}: REFUSED`);
    return { outcome: { kind: 'rcode', rcode: 'REFUSED' }, block: null };
  }
  const b = ctx.config.servers[block]!;
  const chain = CHAIN_ORDER.filter((p) => b.plugins[p] !== undefined);
  const outcome = runChain(ctx, block, chain, 0, query);
  if (outcome.kind === 'rcode') ctx.steps.push(`server: no plugin wrote a reply: ${outcome.rcode}`);
  return { outcome, block };
}

/** plugin.NextOrFailure: the next plugin, or SERVFAIL at the end of the chain. */
function runChain(
  ctx: ServeContext,
  block: number,
  chain: readonly (typeof CHAIN_ORDER)[number][],
  at: number,
  query: DnsMessage,
): ChainOutcome {
  const name = chain[at];
  const next = (): ChainOutcome => runChain(ctx, block, chain, at + 1, query);
  if (name === undefined) return { kind: 'rcode', rcode: 'SERVFAIL' };
  const plugins = ctx.config.servers[block]!.plugins;
  switch (name) {
    case 'log':
      return wrap(ctx, next(), { kind: 'log', block, request: query, client: ctx.client });
    case 'loadbalance':
      return wrap(ctx, next(), { kind: 'loadbalance', block });
    case 'cache':
      return serveCache(ctx, block, plugins.cache!, query, next);
    case 'hosts':
      return serveHosts(ctx, plugins.hosts!, query, next);
    case 'kubernetes':
      return serveKubernetes(ctx, plugins.kubernetes!, query, next);
    case 'loop':
      return next();
    case 'forward':
      return serveForward(ctx, plugins.forward!, query, next);
  }
}

/** A response writer around the rest of the chain: applied now to a written reply, later to a forwarded one. */
function wrap(ctx: ServeContext, inner: ChainOutcome, layer: ReplyLayer): ChainOutcome {
  if (inner.kind === 'write') return { kind: 'write', msg: applyLayer(ctx, layer, inner.msg) };
  if (inner.kind === 'forward') return { ...inner, layers: [...inner.layers, layer] };
  return inner;
}

function applyLayer(ctx: LayerContext, layer: ReplyLayer, msg: DnsMessage): DnsMessage {
  switch (layer.kind) {
    case 'forward': {
      // forward.go: a reply that does not answer the question is a FORMERR; else it goes on with the
      // client's id restored (proxy/connect.go).
      const q = layer.request.question[0];
      const r = msg.question[0];
      if (!msg.flags.qr || !q || !r || r.type !== q.type || r.name.toLowerCase() !== q.name.toLowerCase()) {
        ctx.steps.push('forward: the upstream reply does not match the question: FORMERR');
        return replyTo(layer.request, 'FORMERR');
      }
      ctx.steps.push(`forward: the upstream answered ${msg.rcode} (${msg.answer.length} answer record(s))`);
      return { ...msg, id: layer.request.id };
    }
    case 'cache':
      return cacheWrite(ctx, layer.block, layer.request, msg);
    case 'loadbalance':
      return loadbalanceShuffle(ctx, msg);
    case 'log':
      ctx.steps.push(`log: ${logLine(layer.request, msg, layer.client)}`);
      return msg;
    case 'cname': {
      const records = [...layer.before, layer.cname, ...msg.answer, ...layer.after];
      ctx.steps.push(
        `kubernetes: ${layer.cname.name} CNAME ${(layer.cname.data as { target: string }).target}, ` +
          `whose ${msg.answer.length} record(s) came back through the server`,
      );
      return {
        ...replyTo(layer.request),
        flags: { qr: true, aa: true, tc: msg.flags.tc, rd: layer.request.flags.rd, ra: false },
        answer: records,
        additional: layer.extra,
      };
    }
    case 'scrub':
      return scrubResponse(msg, layer.request, layer.client.transport ?? 'udp');
  }
}

interface LayerContext {
  readonly config: CorefileConfig;
  readonly rng: () => number;
  readonly options: ServeOptions;
  readonly steps: string[];
}

/**
 * request.Request.Scrub with SizeAndDo: the reply carries an OPT record when the query did, and is cut to the
 * client's buffer (512 bytes over UDP without EDNS); miekg sends it uncompressed when it fits that way.
 */
export function scrubResponse(reply: DnsMessage, query: DnsMessage, transport: 'udp' | 'tcp'): DnsMessage {
  const { edns: _ignored, ...rest } = reply;
  const withOpt: DnsMessage = query.edns ? { ...rest, edns: { ...query.edns } } : rest;
  const size = transport === 'tcp' ? 65535 : Math.max(query.edns?.udpSize ?? 0, 512);
  return truncateMessage(withOpt, size);
}

/** CoreDNS's log plugin line (plugin/log, CommonLogFormat) without the duration the model cannot know. */
function logLine(request: DnsMessage, reply: DnsMessage, client: DnsClient): string {
  const q = request.question[0];
  const flags = (['qr', 'aa', 'tc', 'rd', 'ra'] as const).filter((f) => reply.flags[f]).join(',');
  const proto = client.transport ?? 'udp';
  return (
    `${client.ip}:${client.port} - ${request.id} "${q?.type ?? ''} IN ${q?.name ?? ''} ${proto} ` +
    `${dnsMessageLength(request, { compress: false })} ${request.edns?.do ?? false} ` +
    `${request.edns ? Math.max(request.edns.udpSize, 512) : 512}" ${reply.rcode} ${flags} ` +
    `${dnsMessageLength(reply, { compress: false })}`
  );
}

// ---------------------------------------------------------------------------------------------------------
// loadbalance (plugin/loadbalance/loadbalance.go).

/** roundRobinShuffle: two records swap on an even random id; longer lists swap each position with a random
 *  later one. */
function shuffleInPlace(records: DnsRecord[], rng: () => number): void {
  const l = records.length;
  if (l < 2) return;
  if (l === 2) {
    if (randomId(rng) % 2 === 0) [records[0], records[1]] = [records[1]!, records[0]!];
    return;
  }
  for (let j = 0; j < l; j++) {
    const p = j + (randomId(rng) % (l - j));
    if (p !== j) [records[j], records[p]] = [records[p]!, records[j]!];
  }
}

/** roundRobin on one section: addresses shuffled; mixed sections put CNAMEs first, then the rest, then
 *  the shuffled addresses. */
function roundRobin(section: readonly DnsRecord[], rng: () => number): DnsRecord[] {
  if (section.length <= 1) return [...section];
  const first = section[0]!.type;
  if ((first === 'A' || first === 'AAAA') && section.every((r) => r.type === first)) {
    const out = [...section];
    shuffleInPlace(out, rng);
    return out;
  }
  const cname = section.filter((r) => r.type === 'CNAME');
  const address = section.filter((r) => r.type === 'A' || r.type === 'AAAA');
  const mx = section.filter((r) => r.type === 'MX');
  const rest = section.filter((r) => !['CNAME', 'A', 'AAAA', 'MX'].includes(r.type));
  shuffleInPlace(address, rng);
  shuffleInPlace(mx, rng);
  return [...cname, ...rest, ...address, ...mx];
}

function loadbalanceShuffle(ctx: LayerContext, msg: DnsMessage): DnsMessage {
  const qtype = msg.question[0]?.type;
  if (msg.rcode !== 'NOERROR' || qtype === 'AXFR' || qtype === 'IXFR') return msg;
  const shuffled = {
    ...msg,
    answer: roundRobin(msg.answer, ctx.rng),
    authority: roundRobin(msg.authority, ctx.rng),
    additional: roundRobin(msg.additional, ctx.rng),
  };
  const addresses = msg.answer.filter((r) => r.type === 'A' || r.type === 'AAAA').length;
  if (addresses > 1) ctx.steps.push(`loadbalance: shuffled the ${addresses} address records (round_robin)`);
  return shuffled;
}

// ---------------------------------------------------------------------------------------------------------
// cache (plugin/cache).

/** How the cache classifies a reply (response.Typify, with cache.go's NODATA-with-CNAME rule). */
type ReplyType = 'NoError' | 'NameError' | 'NoData' | 'ServerError' | 'Delegation' | 'OtherError' | 'Meta';

/** The name a CNAME chain from `name` ends at, or null when the chain is ambiguous or loops. */
function chainEnd(answer: readonly DnsRecord[], name: string): string | null {
  const seen = new Set<string>();
  let at = name.toLowerCase();
  for (;;) {
    if (seen.has(at)) return null;
    seen.add(at);
    const targets = new Set(
      answer
        .filter((r) => r.type === 'CNAME' && r.name.toLowerCase() === at)
        .map((r) => (r.data as { target: string }).target.toLowerCase()),
    );
    if (targets.size > 1) return null;
    const [t] = targets;
    if (t === undefined) return at;
    at = t;
  }
}

/** answersQuestion: the queried type exists at the end of the CNAME chain (or a CNAME, for CNAME). */
function answersQuestion(m: DnsMessage): boolean {
  const q = m.question[0];
  if (!q || m.rcode !== 'NOERROR' || m.answer.length === 0) return false;
  if (q.type === 'ANY') return m.answer.some((r) => r.name.toLowerCase() === q.name.toLowerCase());
  if (q.type === 'CNAME')
    return m.answer.some((r) => r.type === 'CNAME' && r.name.toLowerCase() === q.name.toLowerCase());
  const end = chainEnd(m.answer, q.name);
  return end !== null && m.answer.some((r) => r.type === q.type && r.name.toLowerCase() === end);
}

function typify(m: DnsMessage): ReplyType {
  const qtype = m.question[0]?.type;
  if (m.opcode === 'UPDATE' || m.opcode === 'NOTIFY' || qtype === 'AXFR' || qtype === 'IXFR') return 'Meta';
  const soa = m.authority.some((r) => r.type === 'SOA');
  if (m.answer.length > 0 && m.rcode === 'NOERROR') {
    // cache.go cacheResponseType: a CNAME chain that does not reach the type, with an SOA, is NODATA.
    return soa && !answersQuestion(m) ? 'NoData' : 'NoError';
  }
  if (m.answer.length > 0 && m.rcode === 'NXDOMAIN') return 'OtherError';
  if (soa && m.rcode === 'NOERROR') return 'NoData';
  if (m.rcode === 'NXDOMAIN') return 'NameError';
  if (m.rcode === 'SERVFAIL' || m.rcode === 'NOTIMP') return 'ServerError';
  if (m.authority.some((r) => r.type === 'NS') && m.rcode === 'NOERROR') return 'Delegation';
  if (m.rcode === 'NOERROR') return 'NoError';
  return 'OtherError';
}

/** dnsutil.MinimalTTLWithMaximum: the smallest TTL in the reply, at most `max`; 5 s for an empty reply. */
function minimalTtl(m: DnsMessage, type: ReplyType, max: number): number {
  if (type !== 'NoError' && type !== 'NameError' && type !== 'NoData') return CACHE_DEFAULTS.minTtl;
  if (m.answer.length + m.authority.length === 0 && m.additional.length === 0) return CACHE_DEFAULTS.minTtl;
  return [...m.answer, ...m.authority, ...m.additional].reduce((t, r) => Math.min(t, r.ttl), max);
}

function withTtl(rrs: readonly DnsRecord[], ttl: number): DnsRecord[] {
  return rrs.map((r) => ({ ...r, ttl }));
}

interface CacheItem {
  readonly kind: 'success' | 'denial';
  readonly name: string;
  readonly type: RRType;
  readonly rcode: Rcode;
  readonly ra: boolean;
  readonly answer: readonly DnsRecord[];
  readonly authority: readonly DnsRecord[];
  readonly additional: readonly DnsRecord[];
  /** Seconds it was stored for. */
  readonly ttl: number;
  readonly stored: number;
}

export interface CacheWriteResult {
  /** The reply with every TTL set to what the cache decided (WriteMsg does so whether it stores or not). */
  readonly reply: DnsMessage;
  readonly ttl: number;
  /** Where it was stored, or null with the reason in `why`. */
  readonly stored: 'success' | 'denial' | null;
  readonly why: string;
}

/**
 * The cache plugin's store: positive and negative entries with their TTL, which runs down with the clock
 * the caller passes (seconds). CoreDNS evicts a random entry of a full shard; this model evicts the oldest.
 */
export class CorednsCache {
  private readonly success = new Map<string, CacheItem>();
  private readonly denial = new Map<string, CacheItem>();

  constructor(readonly config: CacheConfig) {}

  /** cache.go key(): the lowercase name, type and DO bit. */
  private static key(name: string, type: RRType, dnssecOk: boolean): string {
    return `${name.toLowerCase()} ${type} ${dnssecOk ? 1 : 0}`;
  }

  /** What ResponseWriter.WriteMsg does with a reply to `request` at `now`: caps every TTL, and stores the
   *  reply when it may be cached. */
  write(request: DnsMessage, reply: DnsMessage, now: number): CacheWriteResult {
    const d = cacheDecision(this.config, request, reply);
    const q = request.question[0];
    if (d.why !== null || !q)
      return { reply: d.reply, ttl: d.ttl, stored: null, why: d.why ?? 'no question' };
    const store = d.kind === 'success' ? this.success : this.denial;
    const capacity = d.kind === 'success' ? this.config.successCapacity : this.config.denialCapacity;
    const key = CorednsCache.key(q.name, q.type, request.edns?.do ?? false);
    store.delete(key);
    if (capacity > 0) {
      while (store.size >= capacity) store.delete(store.keys().next().value!);
      store.set(key, {
        kind: d.kind,
        name: q.name,
        type: q.type,
        rcode: reply.rcode,
        ra: reply.flags.ra,
        answer: d.reply.answer,
        authority: d.reply.authority,
        additional: d.reply.additional,
        ttl: d.ttl,
        stored: now,
      });
    }
    return { reply: d.reply, ttl: d.ttl, stored: d.kind, why: `stored (${d.kind}) for ${d.ttl}s` };
  }

  /** getIfNotStale + toMsg: the cached reply to `request` with the TTL left, or null on a miss or expiry.
   *  The denial store is asked first, as CoreDNS does. */
  lookup(
    request: DnsMessage,
    now: number,
  ): { reply: DnsMessage; ttl: number; kind: 'success' | 'denial' } | null {
    const q = request.question[0];
    if (!q) return null;
    const key = CorednsCache.key(q.name, q.type, request.edns?.do ?? false);
    for (const item of [this.denial.get(key), this.success.get(key)]) {
      if (!item) continue;
      // item.go ttl(): whole seconds elapsed, truncated as Go's int(Duration.Seconds()) does.
      const left = this.config.keepTtl ? item.ttl : item.ttl - Math.trunc(now - item.stored);
      if (left <= 0) continue;
      const base = replyTo(request, item.rcode);
      return {
        reply: {
          ...base,
          // item.go toMsg: always authoritative, for old stub resolvers that drop other replies.
          flags: { ...base.flags, aa: true, ra: item.ra },
          answer: withTtl(item.answer, left),
          authority: withTtl(item.authority, left),
          additional: withTtl(item.additional, left),
        },
        ttl: left,
        kind: item.kind,
      };
    }
    return null;
  }

  /** Entries and their TTL left at `now`, for viewers. */
  entries(now: number): { name: string; type: RRType; kind: 'success' | 'denial'; ttlLeft: number }[] {
    return [...this.success.values(), ...this.denial.values()].map((i) => ({
      name: i.name,
      type: i.type,
      kind: i.kind,
      ttlLeft: i.ttl - Math.trunc(now - i.stored),
    }));
  }
}

/** cache.go WriteMsg/key/set: the TTL every record of the reply gets, which store it would go to, and why
 *  not (null when it may be stored). */
function cacheDecision(
  config: CacheConfig,
  request: DnsMessage,
  reply: DnsMessage,
): { reply: DnsMessage; ttl: number; kind: 'success' | 'denial'; why: string | null } {
  const type = typify(reply);
  let ttl: number;
  if (type === 'NameError' || type === 'NoData')
    ttl = Math.min(
      Math.max(minimalTtl(reply, type, config.denialTtl), config.denialMinTtl),
      config.denialTtl,
    );
  else if (type === 'ServerError') ttl = config.servfailTtl;
  else
    ttl = Math.min(
      Math.max(minimalTtl(reply, type, config.successTtl), config.successMinTtl),
      config.successTtl,
    );
  // WriteMsg: every record gets the capped TTL, "to avoid jarring TTL experience 1799 -> 8".
  const capped: DnsMessage = {
    ...reply,
    answer: withTtl(reply.answer, ttl),
    authority: withTtl(reply.authority, ttl),
    additional: withTtl(reply.additional, ttl),
  };
  const q = request.question[0];
  const r = reply.question[0];
  const soa = reply.authority.some((x) => x.type === 'SOA');
  const kind: 'success' | 'denial' = type === 'NoError' || type === 'Delegation' ? 'success' : 'denial';
  let why: string | null = null;
  if (reply.flags.tc) why = 'truncated replies are not cached';
  else if (type === 'OtherError' || type === 'Meta')
    why = `a ${reply.rcode} reply of this kind is not cached`;
  else if (type === 'NameError' && !soa) why = 'an NXDOMAIN without SOA is not cached';
  else if (type === 'NoError' && !soa && reply.answer.length > 0 && !answersQuestion(reply))
    why = 'a CNAME chain that does not reach the type is not cached';
  else if (ttl <= 0) why = 'TTL 0';
  else if (!q || !r || r.name.toLowerCase() !== q.name.toLowerCase() || r.type !== q.type)
    why = 'the reply does not match the question';
  else {
    const zone = matchZone(kind === 'success' ? config.disableSuccess : config.disableDenial, q.name);
    if (zone !== null) why = `disable ${kind} ${zone}`;
  }
  return { reply: capped, ttl, kind, why };
}

function cacheWrite(ctx: LayerContext, block: number, request: DnsMessage, msg: DnsMessage): DnsMessage {
  const store = ctx.options.cache;
  const r = store
    ? store.write(request, msg, ctx.options.now ?? 0)
    : (() => {
        const d = cacheDecision(ctx.config.servers[block]!.plugins.cache!, request, msg);
        return {
          reply: d.reply,
          ttl: d.ttl,
          stored: null,
          why: d.why ?? 'no cache store kept between queries',
        };
      })();
  ctx.steps.push(`cache: TTL ${r.ttl}s; ${r.stored ? `stored as ${r.stored}` : `not stored: ${r.why}`}`);
  return r.reply;
}

function serveCache(
  ctx: ServeContext,
  block: number,
  config: CacheConfig,
  query: DnsMessage,
  next: () => ChainOutcome,
): ChainOutcome {
  const q = query.question[0]!;
  if (matchZone(config.zones, q.name) === null) return next();
  const hit = ctx.options.cache?.lookup(query, ctx.options.now ?? 0) ?? null;
  if (hit) {
    ctx.steps.push(`cache: hit (${hit.kind}), ${hit.ttl}s left`);
    return { kind: 'write', msg: hit.reply };
  }
  ctx.steps.push(ctx.options.cache ? `cache: miss for ${q.name} ${q.type}` : 'cache: empty (no store kept)');
  return wrap(ctx, next(), { kind: 'cache', block, request: query });
}

// ---------------------------------------------------------------------------------------------------------
// hosts (plugin/hosts/hosts.go), inline entries only.

function serveHosts(
  ctx: ServeContext,
  h: HostsConfig,
  query: DnsMessage,
  next: () => ChainOutcome,
): ChainOutcome {
  const q = query.question[0]!;
  const name = q.name.toLowerCase();
  const inZone = matchZone(h.zones, name) !== null;
  if (!inZone && q.type !== 'PTR') return next();
  const v4 = h.entries.filter((e) => isIp(e.ip) && e.names.includes(name));
  const v6 = h.entries.filter((e) => !isIp(e.ip) && e.names.includes(name));
  let answer: DnsRecord[] = [];
  if (q.type === 'PTR') {
    const ip = addressFromReverse(name);
    const names =
      h.noReverse || ip === null ? [] : h.entries.filter((e) => e.ip === ip).flatMap((e) => e.names);
    if (names.length === 0) return next();
    answer = names.map((n) => ({ name: q.name, ttl: h.ttl, class: 'IN', type: 'PTR', data: { target: n } }));
  } else if (q.type === 'A') {
    answer = v4.map((e) => ({ name: q.name, ttl: h.ttl, class: 'IN', type: 'A', data: { address: e.ip } }));
  } else if (q.type === 'AAAA') {
    answer = v6.map((e) => ({
      name: q.name,
      ttl: h.ttl,
      class: 'IN',
      type: 'AAAA',
      data: { address: formatIpv6(e.ip) ?? e.ip },
    }));
  }
  if (answer.length === 0 && v4.length + v6.length === 0) {
    if (h.fallthrough !== null && matchZone(h.fallthrough, name) !== null) {
      ctx.steps.push(`hosts: no entry for ${q.name}, fallthrough`);
      return next();
    }
    // hosts.go: no SOA to send an NXDOMAIN with, so SERVFAIL.
    ctx.steps.push(`hosts: no entry for ${q.name} and no fallthrough: SERVFAIL`);
    return { kind: 'rcode', rcode: 'SERVFAIL' };
  }
  ctx.steps.push(`hosts: ${answer.length} ${q.type} record(s) for ${q.name}`);
  const base = replyTo(query);
  return { kind: 'write', msg: { ...base, flags: { ...base.flags, aa: true }, answer } };
}

// ---------------------------------------------------------------------------------------------------------
// forward (plugin/forward).

/** policy.go's orderings of the upstream list. round_robin's counter is incremented before use, so the
 *  first query goes to the second upstream. */
function orderUpstreams<T>(
  list: readonly T[],
  policy: ForwardPolicy,
  rng: () => number,
  before: number,
): T[] {
  if (policy === 'sequential' || list.length <= 1) return [...list];
  if (policy === 'round_robin') {
    const i = (before + 1) % list.length;
    return [list[i]!, ...list.slice(0, i), ...list.slice(i + 1)];
  }
  if (list.length === 2) return randomId(rng) % 2 === 0 ? [list[1]!, list[0]!] : [...list];
  // rand.Perm: a uniform permutation.
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function serveForward(
  ctx: ServeContext,
  f: ForwardConfig,
  query: DnsMessage,
  next: () => ChainOutcome,
): ChainOutcome {
  const q = query.question[0]!;
  const name = q.name.toLowerCase();
  // forward.go match(): in `from`, and not under an `except` zone (unless it is `from` itself).
  const excepted = name !== f.from && f.except.some((z) => isSubDomain(z, name));
  if (!isSubDomain(f.from, name) || excepted) return next();
  const upstreams: { ip: Ip; port: number }[] = [];
  for (const t of f.to) {
    if (t.startsWith('/')) {
      // parse.HostPortOrFile: a resolv.conf's nameservers, port 53 (what kubelet gave the CoreDNS pod).
      upstreams.push(...ctx.resolvConf.map((ip) => ({ ip, port: DEFAULT_PORT })));
      continue;
    }
    const m = /^(?:dns:\/\/)?([^:/]+)(?::(\d+))?$/.exec(t);
    if (m && isIp(m[1]!)) upstreams.push({ ip: m[1]!, port: m[2] ? Number(m[2]) : DEFAULT_PORT });
  }
  if (upstreams.length === 0) {
    ctx.steps.push(`forward: no upstream in ${f.to.join(' ')} (an empty resolv.conf): SERVFAIL`);
    return { kind: 'rcode', rcode: 'SERVFAIL' };
  }
  const [upstream] = orderUpstreams(upstreams, f.policy, ctx.rng, ctx.options.forwardedBefore ?? 0);
  if (upstream!.ip.startsWith('127.')) {
    // The loop plugin's probe finds such a loop at start and CoreDNS exits; without it queries time out.
    ctx.steps.push(
      `forward: ${upstream!.ip} is this pod's own loopback (a node resolv.conf pointing at a local stub): ` +
        'the loop plugin stops CoreDNS at start, so nothing answers: SERVFAIL',
    );
    return { kind: 'rcode', rcode: 'SERVFAIL' };
  }
  const forwarded: DnsMessage = { ...query, id: randomId(ctx.rng) };
  ctx.steps.push(
    `forward: ${q.name} is in "${f.from}": to ${upstream!.ip}:${upstream!.port} (policy ${f.policy}, ` +
      `${upstreams.length} upstream(s)), query id ${forwarded.id}`,
  );
  return {
    kind: 'forward',
    upstream: upstream!.ip,
    upstreamPort: upstream!.port,
    query: forwarded,
    layers: [{ kind: 'forward', request: query }],
  };
}

// ---------------------------------------------------------------------------------------------------------
// kubernetes: names (parse.go) and lookups (kubernetes.go).

const SVC = 'svc';
const POD = 'pod';
/** The schema version dns-version.<zone> gives (kubernetes.go DNSSchemaVersion). */
const DNS_SCHEMA_VERSION = '1.1.0';
const DNS_VERSION_TTL = 28800;
/** backend_lookup.go maxCnameChainLength. */
const MAX_CNAME_CHAIN = 10;

/** What a query name asks the kubernetes plugin (parse.go recordRequest). */
interface RecordRequest {
  readonly port: string;
  readonly protocol: string;
  readonly endpoint: string;
  readonly service: string;
  readonly namespace: string;
  /** "pod", "svc", or "" for the zone apex, `svc.<zone>` and `pod.<zone>` (NODATA). */
  readonly podOrSvc: string;
}

/** parseRequest: `[_port._proto.|endpoint.]service.namespace.(svc|pod).zone`; null for a name it cannot be. */
function parseRequest(name: string, zone: string): RecordRequest | null {
  const empty = { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' };
  const zoneLabels = zone === '.' ? 0 : fqdn(zone).split('.').length - 1;
  const labels = fqdn(name).split('.').slice(0, -1);
  const segs = labels.slice(0, labels.length - zoneLabels);
  if (segs.length === 0) return empty;
  const [kind, namespace, service, ...left] = [...segs].reverse();
  if (kind !== POD && kind !== SVC) return null;
  if (namespace === undefined) return empty; // svc.<zone>, pod.<zone>
  if (service === undefined) return { ...empty, podOrSvc: kind, namespace };
  const strip = (s: string): string => (s.startsWith('_') ? s.slice(1) : s);
  if (left.length === 0) return { ...empty, podOrSvc: kind, namespace, service };
  if (left.length === 1) return { ...empty, podOrSvc: kind, namespace, service, endpoint: left[0]! };
  // Two labels left are _port._protocol; more is "too long" (the zonal names are not modelled).
  if (left.length === 2)
    return { ...empty, podOrSvc: kind, namespace, service, protocol: strip(left[0]!), port: strip(left[1]!) };
  return null;
}

/** What a found name stands for (msg.Service): an address, a CNAME target, or a TXT text. */
interface Found {
  readonly host: string;
  /** -1 for a slice without ports (endpoint.go's sentinel): A records but no SRV. */
  readonly port: number;
  /** The name it lives at (msg.Domain of its key): SRV and NS targets. */
  readonly domain: string;
  readonly ttl: number;
  readonly text?: string;
}

type Lookup =
  | { readonly kind: 'found'; readonly found: readonly Found[]; readonly why: string }
  | { readonly kind: 'nameError'; readonly why: string };

/** Service.HostType: what `host` is. */
function hostType(f: Found): 'A' | 'AAAA' | 'CNAME' | 'TXT' {
  if (isIp(f.host)) return 'A';
  if (formatIpv6(f.host) !== null) return 'AAAA';
  return f.text !== undefined && f.text !== '' ? 'TXT' : 'CNAME';
}

/** EndpointSlice endpoints[].hostname (EndpointModel.hostname): when an endpoint has one, CoreDNS names the
 *  endpoint by it first. */
export type EndpointWithHostname = EndpointModel & { readonly hostname?: string | null };

/** endpointHostname: the endpoint's hostname, else (endpoint_pod_names) its pod's name, else the address
 *  with "-" for "." (IPv6: ":" → "-", a trailing "-" gets a "0"). */
function endpointHostname(ep: EndpointWithHostname, address: string, podNames: boolean): string {
  if (ep.hostname) return ep.hostname;
  const pod = ep.targetPod?.split('/')[1];
  // endpoint.go keeps only pod names that fit a label.
  if (podNames && pod && pod.length < 64) return pod;
  if (address.includes('.')) return address.replaceAll('.', '-');
  const v6 = address.replaceAll(':', '-');
  return v6.endsWith('-') ? `${v6}0` : v6;
}

/** An Endpoints object as CoreDNS keeps one per slice: ready addresses only, and the port -1 sentinel. */
interface SliceEndpoints {
  readonly slice: EndpointSliceModel;
  readonly addresses: readonly { readonly ip: string; readonly endpoint: EndpointWithHostname }[];
  readonly ports: readonly { readonly name: string; readonly protocol: string; readonly port: number }[];
}

function endpointsOf(cluster: ClusterModel, namespace: string, service: string): SliceEndpoints[] {
  return cluster.endpointSlices
    .filter((s) => s.namespace === namespace && s.serviceName === service)
    .map((slice) => ({
      slice,
      // endpointsliceReady: an unset ready condition counts as ready; not-ready endpoints are dropped.
      addresses: slice.endpoints
        .filter((e) => e.ready)
        .flatMap((endpoint) => endpoint.addresses.map((ip) => ({ ip, endpoint }))),
      ports:
        slice.ports.length === 0
          ? [{ name: '', protocol: '', port: -1 }]
          : slice.ports.map((p) => ({ name: p.name ?? '', protocol: p.protocol, port: p.port })),
    }));
}

function isHeadless(svc: ServiceModel): boolean {
  return svc.type !== 'ExternalName' && svc.clusterIP === null;
}

/** match(): names compare case-insensitively. */
function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** matchPortAndProtocol: an empty request part matches anything. */
function portMatches(r: RecordRequest, name: string, protocol: string): boolean {
  return (r.port === '' || same(r.port, name)) && (r.protocol === '' || same(r.protocol, protocol));
}

/** `ip` for IPv4 "a.b.c.d.in-addr.arpa." or a full ip6.arpa name, else null (dnsutil.ExtractAddressFromReverse). */
function addressFromReverse(name: string): string | null {
  const n = name.toLowerCase();
  if (n.endsWith('.in-addr.arpa.')) {
    const ip = n.slice(0, -'.in-addr.arpa.'.length).split('.').reverse().join('.');
    return isIp(ip) ? ip : null;
  }
  if (n.endsWith('.ip6.arpa.')) {
    const nibbles = n.slice(0, -'.ip6.arpa.'.length).split('.').reverse();
    if (nibbles.length !== 32 || nibbles.some((x) => !/^[0-9a-f]$/.test(x))) return null;
    const groups = Array.from({ length: 8 }, (_, i) => nibbles.slice(i * 4, i * 4 + 4).join(''));
    return formatIpv6(groups.join(':'));
  }
  return null;
}

/** dnsutil.IsReverse: 1 for in-addr.arpa, 2 for ip6.arpa, 0 otherwise. */
function reverseKind(name: string): number {
  const n = fqdn(name).toLowerCase();
  if (n.endsWith('in-addr.arpa.')) return 1;
  if (n.endsWith('ip6.arpa.')) return 2;
  return 0;
}

interface K8sContext {
  readonly serve: ServeContext;
  readonly k: KubernetesConfig;
  /** The zone as the query spelled it (handler.go keeps the query's case). */
  readonly zone: string;
}

function namespaceExposed(c: K8sContext, ns: string): boolean {
  const configured = c.k.namespaces.length === 0 || c.k.namespaces.includes(ns);
  return configured && c.serve.cluster.namespaces.includes(ns);
}

/** Records: what a name under the zone stands for. */
function records(c: K8sContext, name: string): Lookup {
  const r = parseRequest(name, c.zone);
  if (r === null) return { kind: 'nameError', why: `${name} is not a service or pod name of ${c.zone}` };
  if (r.podOrSvc === '') return { kind: 'found', found: [], why: `${name} exists (no records of its own)` };
  if (reverseKind(name) > 0) return { kind: 'nameError', why: `${name} is in a reverse zone` };
  if (!namespaceExposed(c, r.namespace))
    return { kind: 'nameError', why: `namespace ${r.namespace} is not exposed` };
  return r.podOrSvc === POD ? findPods(c, r, name) : findServices(c, r);
}

/** findPods: `a-b-c-d.<ns>.pod.<zone>` under `pods insecure` (any address) or `verified` (a pod has it). */
function findPods(c: K8sContext, r: RecordRequest, name: string): Lookup {
  if (c.k.podMode === 'disabled') return { kind: 'nameError', why: 'pods disabled: no pod records' };
  if (r.service === '') return { kind: 'found', found: [], why: `namespace ${r.namespace} exists` };
  const label = r.service;
  const ip =
    label.split('-').length - 1 === 3 && !label.includes('--')
      ? label.replaceAll('-', '.')
      : label.replaceAll('-', ':');
  const valid = isIp(ip) || formatIpv6(ip) !== null;
  if (c.k.podMode === 'insecure') {
    if (!valid) return { kind: 'nameError', why: `${label} is not an address` };
    return {
      kind: 'found',
      found: [{ host: ip, port: 0, domain: name, ttl: c.k.ttl }],
      why: `pods insecure: ${label} is ${ip}, whether or not a pod has it`,
    };
  }
  const pods = c.serve.cluster.pods.filter((p) => p.podIP === ip && same(p.namespace, r.namespace));
  if (pods.length === 0) return { kind: 'nameError', why: `pods verified: no pod ${ip} in ${r.namespace}` };
  return {
    kind: 'found',
    found: pods.map(() => ({ host: ip, port: 0, domain: name, ttl: c.k.ttl })),
    why: `pods verified: pod ${r.namespace}/${pods[0]!.name} has ${ip}`,
  };
}

/** findServices: ClusterIP, headless (every ready endpoint), ExternalName (a CNAME), endpoint names. */
function findServices(c: K8sContext, r: RecordRequest): Lookup {
  if (r.service === '') return { kind: 'found', found: [], why: `namespace ${r.namespace} exists` };
  const zonePart = `${SVC}.${c.zone}`;
  const ttl = c.k.ttl;
  const found: Found[] = [];
  const whys: string[] = [];
  let ok = false;
  const services = c.serve.cluster.services.filter(
    (s) => same(s.namespace, r.namespace) && same(s.name, r.service),
  );
  for (const svc of services) {
    const id = `${svc.name}.${svc.namespace}`;
    const slices = (): SliceEndpoints[] =>
      c.k.noEndpoints ? [] : endpointsOf(c.serve.cluster, svc.namespace, svc.name);
    if (c.k.ignoreEmptyService && svc.type !== 'ExternalName' && !isHeadless(svc)) {
      const ready = slices().reduce((n, e) => n + e.addresses.length, 0);
      if (ready === 0) {
        whys.push(`svc ${id} has no ready endpoints (ignore empty_service)`);
        continue;
      }
    }
    if (svc.type === 'ExternalName') {
      if (r.endpoint !== '' || r.port !== '' || r.protocol !== '' || svc.externalName === null) continue;
      const f: Found = {
        host: svc.externalName,
        port: 0,
        domain: `${svc.name}.${svc.namespace}.${zonePart}`,
        ttl,
      };
      if (hostType(f) !== 'CNAME') continue;
      found.push(f);
      ok = true;
      whys.push(`svc ${id} is ExternalName ${svc.externalName}`);
      continue;
    }
    if (isHeadless(svc) || r.endpoint !== '') {
      let n = 0;
      for (const e of slices()) {
        for (const a of e.addresses) {
          const host = endpointHostname(a.endpoint, a.ip, c.k.endpointPodNames);
          if (r.endpoint !== '' && !same(r.endpoint, host)) continue;
          for (const p of e.ports) {
            if (!portMatches(r, p.name, p.protocol)) continue;
            found.push({
              host: a.ip,
              port: p.port,
              domain: `${host}.${svc.name}.${svc.namespace}.${zonePart}`,
              ttl,
            });
            ok = true;
            n++;
          }
        }
      }
      whys.push(
        r.endpoint !== ''
          ? `svc ${id}: ${n} endpoint record(s) named ${r.endpoint}`
          : `headless svc ${id}: ${n} ready endpoint record(s)`,
      );
      continue;
    }
    const ports = svc.ports.filter((p) => portMatches(r, p.name ?? '', p.protocol));
    if (ports.length === 0 || svc.clusterIP === null) continue;
    ok = true;
    for (const p of ports)
      found.push({
        host: svc.clusterIP,
        port: p.port,
        domain: `${svc.name}.${svc.namespace}.${zonePart}`,
        ttl,
      });
    whys.push(`svc ${id} has ClusterIP ${svc.clusterIP}`);
  }
  if (!ok) {
    const why =
      services.length === 0
        ? `no service ${r.service} in namespace ${r.namespace}`
        : whys.join('; ') ||
          `svc ${r.service}.${r.namespace} has no port ${r.port || '*'}/${r.protocol || '*'}`;
    return { kind: 'nameError', why };
  }
  return { kind: 'found', found, why: whys.join('; ') };
}

/** ns.go nsAddrs: the Services whose endpoints CoreDNS's own addresses are (their ClusterIPs, or for a
 *  headless one its endpoints); the bare local address as ns.dns.<zone> when none. */
function nsAddrs(c: K8sContext): { name: string; ip: string }[] {
  const cluster = c.serve.cluster;
  const local = c.serve.options.localIPs ?? defaultLocalIPs(cluster);
  const out: { name: string; ip: string }[] = [];
  let foundEndpoint = false;
  for (const ip of local) {
    for (const slice of cluster.endpointSlices) {
      const eps = endpointsOf(cluster, slice.namespace, slice.serviceName).find((e) => e.slice === slice);
      if (!eps || !eps.addresses.some((a) => a.ip === ip)) continue;
      foundEndpoint = true;
      for (const svc of cluster.services) {
        if (svc.namespace !== slice.namespace || svc.name !== slice.serviceName) continue;
        const svcName = `${svc.name}.${svc.namespace}.${SVC}.${c.zone}`;
        if (isHeadless(svc)) {
          for (const a of eps.addresses)
            out.push({
              name: `${endpointHostname(a.endpoint, a.ip, c.k.endpointPodNames)}.${svcName}`,
              ip: a.ip,
            });
        } else if (svc.clusterIP !== null) out.push({ name: svcName, ip: svc.clusterIP });
      }
    }
  }
  if (!foundEndpoint) return local.map((ip) => ({ name: `ns.dns.${c.zone}`, ip }));
  return out;
}

/** Without localIPs: the first ready endpoint of kube-system/kube-dns, the CoreDNS pod kubeadm deploys. */
function defaultLocalIPs(cluster: ClusterModel): Ip[] {
  const first = endpointsOf(cluster, 'kube-system', 'kube-dns').flatMap((e) => e.addresses)[0];
  return first ? [first.ip] : [];
}

/** Kubernetes.Services: what a query of `type` for `qname` finds (dns-version TXT, the NS names,
 *  ns.dns.<zone>, then Records; SRV leaves out ExternalName CNAMEs). */
function services(c: K8sContext, qname: string, type: RRType): Lookup {
  const name = qname.toLowerCase();
  const zone = c.zone.toLowerCase();
  if (type === 'TXT') {
    if (name === `dns-version.${zone}`)
      return {
        kind: 'found',
        found: [{ host: '', port: 0, domain: qname, ttl: DNS_VERSION_TTL, text: DNS_SCHEMA_VERSION }],
        why: `dns-version is the schema version ${DNS_SCHEMA_VERSION}`,
      };
    const r = records(c, name);
    // A name with records of another type is NODATA for TXT; anything else NXDOMAIN (even an empty name).
    if (r.kind === 'found' && r.found.length > 0) return { kind: 'found', found: [], why: r.why };
    return { kind: 'nameError', why: r.why };
  }
  if (type === 'NS') {
    const ns = nsAddrs(c);
    return {
      kind: 'found',
      found: ns.map((a) => ({ host: a.ip, port: 0, domain: a.name, ttl: c.k.ttl })),
      why: `the name servers: ${ns.map((a) => `${a.name} ${a.ip}`).join(', ') || 'none'}`,
    };
  }
  if (name === `ns.dns.${zone}`) {
    const want = type === 'A' ? 'A' : type === 'AAAA' ? 'AAAA' : null;
    const ns = nsAddrs(c).filter((a) => (isIp(a.ip) ? 'A' : 'AAAA') === want);
    return {
      kind: 'found',
      found: ns.map((a) => ({ host: a.ip, port: 0, domain: qname, ttl: c.k.ttl })),
      why: `ns.dns.${c.zone} is this CoreDNS: ${ns.map((a) => a.ip).join(', ') || 'no address of that type'}`,
    };
  }
  const r = records(c, name);
  if (type !== 'SRV' || r.kind !== 'found') return r;
  return { ...r, found: r.found.filter((f) => hostType(f) !== 'CNAME') };
}

function soaRecord(c: K8sContext): DnsRecord<'SOA'> {
  return {
    name: c.zone,
    // backend_lookup.go SOA: the record's TTL is the plugin's, at most 300; MINIMUM is the plugin's TTL.
    ttl: Math.min(c.k.ttl, 300),
    class: 'IN',
    type: 'SOA',
    data: {
      mname: `ns.dns.${c.zone}`,
      rname: `hostmaster.${c.zone}`,
      serial: c.serve.options.soaSerial ?? 0,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: c.k.ttl,
    },
  };
}

function addressRecord(name: string, ttl: number, ip: string): DnsRecord {
  return isIp(ip)
    ? { name, ttl, class: 'IN', type: 'A', data: { address: ip } }
    : { name, ttl, class: 'IN', type: 'AAAA', data: { address: formatIpv6(ip) ?? ip } };
}

/** An A/AAAA lookup: records, or a name error, or a suspension on a CNAME target sent through the server. */
type AddressResult =
  | {
      readonly kind: 'records';
      readonly records: DnsRecord[];
      readonly truncated: boolean;
      readonly why: string;
    }
  | { readonly kind: 'nameError'; readonly why: string }
  | {
      readonly kind: 'suspended';
      readonly before: DnsRecord[];
      readonly cname: DnsRecord;
      readonly after: DnsRecord[];
      readonly forward: Extract<ChainOutcome, { kind: 'forward' }>;
    };

/** backend_lookup.go A/AAAA: addresses, deduplicated; CNAMEs chased inside the zone by the plugin itself and
 *  outside it through the whole server (Upstream.Lookup), which may forward. */
function addressLookup(
  c: K8sContext,
  qname: string,
  type: 'A' | 'AAAA',
  previous: readonly DnsRecord[],
): AddressResult {
  // checkForApex: the apex's special apex.dns name never exists in kubernetes, so the apex itself is looked up.
  const l = services(c, qname, type);
  if (l.kind === 'nameError') return l;
  const out: DnsRecord[] = [];
  const seen = new Set<string>();
  let truncated = false;
  let suspended: Extract<AddressResult, { kind: 'suspended' }> | null = null;
  for (const f of l.found) {
    const what = hostType(f);
    if (what === type) {
      if (!seen.has(f.host)) {
        seen.add(f.host);
        out.push(addressRecord(qname, f.ttl, f.host));
      }
      continue;
    }
    if (what !== 'CNAME') continue;
    const target = fqdn(f.host);
    // x CNAME x (or a name below x) would loop.
    if (isSubDomain(qname, target)) continue;
    const cname: DnsRecord = { name: qname, ttl: f.ttl, class: 'IN', type: 'CNAME', data: { target } };
    if (previous.length > MAX_CNAME_CHAIN) continue;
    if (previous.some((p) => p.type === 'CNAME' && p.name === cname.name && p.data.target === target))
      continue;
    if (isSubDomain(c.zone, target)) {
      const inner = addressLookup(c, target, type, [...previous, cname]);
      if (inner.kind === 'records' && inner.records.length > 0) {
        out.push(cname, ...inner.records);
        truncated ||= inner.truncated;
      }
      continue;
    }
    // Outside the zone: Upstream.Lookup sends the target through the whole server (all blocks).
    if (suspended) continue; // one pending upstream at a time: an ExternalName has one target
    c.serve.steps.push(
      `kubernetes: ${qname} CNAME ${target}, outside ${c.zone}: looking it up through the server`,
    );
    const inner = lookupThroughServer(c.serve, makeQuery(target, type, randomId(c.serve.rng)));
    if (inner.kind === 'forward') {
      suspended = { kind: 'suspended', before: [...out], cname, after: [], forward: inner };
      continue;
    }
    const m = inner.kind === 'write' ? inner.msg : null;
    if (suspended === null) {
      out.push(cname, ...(m?.answer ?? []));
      truncated ||= m?.flags.tc ?? false;
    }
  }
  if (suspended) return { ...suspended, after: out.slice(suspended.before.length) };
  return { kind: 'records', records: out, truncated, why: l.why };
}

/** Upstream.Lookup: a new query through the whole server, its reply not sent to anyone. */
function lookupThroughServer(ctx: ServeContext, query: DnsMessage): ChainOutcome {
  if (ctx.depth >= 4) return { kind: 'rcode', rcode: 'SERVFAIL' };
  ctx.depth++;
  const { outcome } = runServer(ctx, query);
  ctx.depth--;
  const scrub: ReplyLayer = { kind: 'scrub', request: query, client: ctx.client };
  if (outcome.kind === 'rcode') return { kind: 'write', msg: replyTo(query, outcome.rcode) };
  return wrap(ctx, outcome, scrub);
}

/** SRV: one record per endpoint and port (not for the port -1 sentinel), weights splitting 100 per priority,
 *  and the target's address in the additional section. */
function srvRecords(qname: string, found: readonly Found[]): { answer: DnsRecord[]; extra: DnsRecord[] } {
  // Every entry counts 100 towards its priority's total (all priorities are 0 here).
  const total = found.length * 100;
  const weight = Math.max(1, Math.floor((100 / total) * 100));
  const answer: DnsRecord[] = [];
  const extra: DnsRecord[] = [];
  const seenSrv = new Set<string>();
  const seenAddr = new Set<string>();
  for (const f of found) {
    if (f.port === -1) continue;
    const what = hostType(f);
    if (what !== 'A' && what !== 'AAAA') continue;
    const target = fqdn(f.domain);
    if (!seenSrv.has(`${target} ${f.port}`)) {
      seenSrv.add(`${target} ${f.port}`);
      answer.push({
        name: qname,
        ttl: f.ttl,
        class: 'IN',
        type: 'SRV',
        data: { priority: 0, weight, port: f.port, target },
      });
    }
    if (!seenAddr.has(`${target} ${f.host}`)) {
      seenAddr.add(`${target} ${f.host}`);
      extra.push(addressRecord(target, f.ttl, f.host));
    }
  }
  return { answer, extra };
}

/** serviceRecordForIP: a ClusterIP's service name, else the names of the endpoints with that address. */
function reverseLookup(c: K8sContext, qname: string): Lookup {
  const ip = addressFromReverse(qname);
  if (ip === null) {
    const r = records(c, qname.toLowerCase());
    return r.kind === 'nameError' ? r : { kind: 'found', found: [], why: r.why };
  }
  const primary = c.k.zones.find((z) => reverseKind(z) === 0)!;
  const filtered = c.k.namespaces.length > 0;
  const cluster = c.serve.cluster;
  for (const svc of cluster.services) {
    if (svc.clusterIP !== ip || (filtered && !namespaceExposed(c, svc.namespace))) continue;
    const domain = `${svc.name}.${svc.namespace}.${SVC}.${primary}`;
    return {
      kind: 'found',
      found: [{ host: domain, port: 0, domain, ttl: c.k.ttl }],
      why: `${ip} is svc ${svc.name}.${svc.namespace}'s ClusterIP`,
    };
  }
  const found: Found[] = [];
  for (const slice of cluster.endpointSlices) {
    if (filtered && !namespaceExposed(c, slice.namespace)) continue;
    const eps = endpointsOf(cluster, slice.namespace, slice.serviceName).find((e) => e.slice === slice);
    for (const a of eps?.addresses ?? []) {
      if (a.ip !== ip) continue;
      const host = endpointHostname(a.endpoint, a.ip, c.k.endpointPodNames);
      const domain = `${host}.${slice.serviceName}.${slice.namespace}.${SVC}.${primary}`;
      found.push({ host: domain, port: 0, domain, ttl: c.k.ttl });
    }
  }
  if (found.length === 0) return { kind: 'nameError', why: `no ClusterIP or ready endpoint has ${ip}` };
  return { kind: 'found', found, why: `${ip} is an endpoint of ${found.map((f) => f.domain).join(', ')}` };
}

/** handler.go ServeDNS. */
function serveKubernetes(
  ctx: ServeContext,
  k: KubernetesConfig,
  query: DnsMessage,
  next: () => ChainOutcome,
): ChainOutcome {
  const q = query.question[0]!;
  const matched = matchZone(k.zones, q.name);
  if (matched === null) return next();
  const qname = fqdn(q.name);
  // The zone in the query's own case: answers and the SOA keep it.
  const zone = qname.slice(qname.length - matched.length);
  const c: K8sContext = { serve: ctx, k, zone };
  const name = qname.toLowerCase();
  let answer: DnsRecord[] = [];
  let extra: DnsRecord[] = [];
  let truncated = false;
  let error: { kind: 'name' | 'server'; why: string } | null = null;
  let why = '';
  const take = (l: Lookup): readonly Found[] => {
    if (l.kind === 'nameError') {
      error = { kind: 'name', why: l.why };
      return [];
    }
    why = l.why;
    return l.found;
  };
  switch (q.type) {
    case 'A':
    case 'AAAA': {
      const r = addressLookup(c, qname, q.type, []);
      if (r.kind === 'nameError') error = { kind: 'name', why: r.why };
      else if (r.kind === 'suspended') {
        ctx.steps.push(
          `kubernetes: ${qname} is an ExternalName; waiting for ${r.cname.type} target's answer`,
        );
        return {
          ...r.forward,
          layers: [
            ...r.forward.layers,
            { kind: 'cname', request: query, before: r.before, cname: r.cname, after: r.after, extra: [] },
          ],
        };
      } else {
        answer = r.records;
        truncated = r.truncated;
        why = r.why;
      }
      break;
    }
    case 'TXT':
      answer = take(services(c, qname, 'TXT'))
        .filter((f) => f.text !== undefined)
        .map((f) => ({ name: qname, ttl: f.ttl, class: 'IN', type: 'TXT', data: { strings: [f.text!] } }));
      break;
    case 'CNAME': {
      const first = take(services(c, qname, 'CNAME'))[0];
      if (first && hostType(first) === 'CNAME')
        answer = [
          { name: qname, ttl: first.ttl, class: 'IN', type: 'CNAME', data: { target: fqdn(first.host) } },
        ];
      break;
    }
    case 'PTR': {
      const seen = new Set<string>();
      for (const f of take(reverseLookup(c, qname))) {
        if (isIp(f.host) || seen.has(f.host)) continue;
        seen.add(f.host);
        answer.push({ name: qname, ttl: f.ttl, class: 'IN', type: 'PTR', data: { target: fqdn(f.host) } });
      }
      break;
    }
    case 'MX':
      // No kubernetes name is a mail exchanger: NODATA for existing names.
      take(services(c, qname, 'MX'));
      break;
    case 'SRV': {
      const r = srvRecords(qname, take(services(c, qname, 'SRV')));
      answer = r.answer;
      extra = r.extra;
      break;
    }
    case 'SOA':
      if (qname === zone) answer = [soaRecord(c)];
      why = qname === zone ? 'the zone apex has the SOA' : `${qname} is not the zone apex`;
      break;
    case 'AXFR':
    case 'IXFR':
      ctx.steps.push('kubernetes: zone transfers are refused');
      return { kind: 'rcode', rcode: 'REFUSED' };
    case 'NS':
      if (name === zone) {
        const seen = new Set<string>();
        for (const f of take(services(c, `ns.dns.${zone}`, 'NS'))) {
          extra.push(addressRecord(fqdn(f.domain), f.ttl, f.host));
          if (seen.has(f.domain)) continue;
          seen.add(f.domain);
          answer.push({ name: qname, ttl: f.ttl, class: 'IN', type: 'NS', data: { host: fqdn(f.domain) } });
        }
        break;
      }
      take(services(c, qname, 'A'));
      break;
    default:
      // A stand-in A lookup tells NODATA from NXDOMAIN for types the plugin has no records of.
      take(services(c, qname, 'A'));
  }
  const err = error as { kind: 'name' | 'server'; why: string } | null;
  if (err?.kind === 'name') {
    if (k.fallthrough !== null && matchZone(k.fallthrough, name) !== null) {
      ctx.steps.push(`kubernetes: ${err.why}; fallthrough to the next plugin`);
      return next();
    }
    ctx.steps.push(`kubernetes: ${err.why}: NXDOMAIN`);
    return { kind: 'write', msg: backendError(query, 'NXDOMAIN', c) };
  }
  if (answer.length === 0) {
    ctx.steps.push(`kubernetes: ${why ? `${why}; ` : ''}no ${q.type} record for ${qname}: NODATA`);
    return { kind: 'write', msg: backendError(query, 'NOERROR', c) };
  }
  ctx.steps.push(`kubernetes: ${why ? `${why}: ` : ''}${answer.length} ${q.type} answer(s)`);
  const base = replyTo(query);
  return {
    kind: 'write',
    msg: { ...base, flags: { ...base.flags, aa: true, tc: truncated }, answer, additional: extra },
  };
}

/** plugin.BackendError: the rcode, AA, and the zone's SOA in the authority section. */
function backendError(query: DnsMessage, rcode: Rcode, c: K8sContext): DnsMessage {
  const base = replyTo(query, rcode);
  return { ...base, flags: { ...base.flags, aa: true }, authority: [soaRecord(c)] };
}

// ---------------------------------------------------------------------------------------------------------
// Entry points.

/**
 * What a CoreDNS configured by `config` does with `query` from `client`: an answer, or a forward to an
 * upstream (completeForward turns the upstream's reply into the client's). `resolvConf` is the CoreDNS pod's
 * own nameservers (what `forward . /etc/resolv.conf` reads; by default the nodes'). `rng` draws forward's
 * random policy, the forwarded query id and loadbalance's shuffle.
 */
export function serveDns(
  config: CorefileConfig,
  cluster: ClusterModel,
  query: DnsMessage,
  client: DnsClient,
  rng: () => number,
  resolvConf: readonly Ip[] = cluster.nodeResolvConf.nameservers,
  options: ServeOptions = {},
): ServeResult {
  const ctx: ServeContext = { config, cluster, client, rng, resolvConf, options, steps: [], depth: 0 };
  const { outcome, block } = runServer(ctx, query);
  const server = block === null ? '' : blockLabel(config.servers[block]!);
  const scrub: ReplyLayer = { kind: 'scrub', request: query, client };
  if (outcome.kind === 'forward') {
    return {
      kind: 'forward',
      upstream: outcome.upstream,
      upstreamPort: outcome.upstreamPort,
      query: outcome.query,
      steps: ctx.steps,
      server,
      pending: { layers: [...outcome.layers, scrub] },
    };
  }
  const written = outcome.kind === 'write' ? outcome.msg : replyTo(query, outcome.rcode);
  return { kind: 'answer', response: applyLayer(ctx, scrub, written), steps: ctx.steps, server };
}

/**
 * The reply the client gets once the upstream answered a forwarded query: the forward plugin restores the
 * client's id, then the response writers the query passed on its way in act on it (a chased ExternalName's
 * CNAME, cache, loadbalance, log), and the server fits it to the client's buffer.
 */
export function completeForward(
  config: CorefileConfig,
  forward: Extract<ServeResult, { kind: 'forward' }>,
  upstreamReply: DnsMessage,
  rng: () => number,
  options: ServeOptions = {},
): { response: DnsMessage; steps: string[] } {
  const ctx: LayerContext = { config, rng, options, steps: [] };
  let msg = upstreamReply;
  for (const layer of forward.pending.layers) msg = applyLayer(ctx, layer, msg);
  return { response: msg, steps: ctx.steps };
}
