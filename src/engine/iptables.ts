// iptables-save text ⇄ Ruleset. Parses what `iptables-save` prints and what kube-proxy, kubelet and CNIs
// feed `iptables-restore` (kube-proxy's pkg/proxy/iptables/proxier.go, flannel's FLANNEL-POSTRTG/FLANNEL-FWD,
// the bridge plugin's CNI-xxxx masquerade chains, portmap's CNI-HOSTPORT-*/CNI-DN-* chains, kubelet's
// KUBE-FIREWALL), and prints rulesets back in iptables-save's layout.
//
//   *nat                                  a table
//   :PREROUTING ACCEPT [0:0]              a built-in chain with its policy and counters
//   :KUBE-SERVICES - [0:0]                a user chain
//   -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-…
//   -X KUBE-SVC-STALE                     (iptables-restore input: delete a declared chain)
//   COMMIT
//
// A parsed rule keeps its line verbatim as `text` (kube-proxy's argument order and quoting are not
// iptables-save's, and its tests compare text), so formatting a parsed ruleset reproduces the input byte for
// byte. Rules built from data get iptables-save's canonical line (formatRule): -s -d -i -o -p first, then
// each match as `-m name options`, then the target — the order libiptc/iptables-nft print.
//
// Matches and targets the engine does not model are kept as `unknown` (their text round-trips) and stop a
// walk that reaches them. Errors (with their line) are for what iptables-restore itself would refuse or what
// cannot be IPv4: a `-6` rule, an IPv6 address, a malformed option. Addresses go through addr.ts.
//
// Sources: iptables' iptables-restore.c/xshared.c (tokenizing: double quotes with backslash escapes),
// libxtables xtables_save_string (quoting on output), the extensions' parse/save functions (libxt_tcp,
// libxt_multiport, libxt_addrtype, libxt_mark, libxt_conntrack, libxt_statistic, libxt_recent, libxt_set, libxt_MARK,
// libipt_REJECT, libxt_DNAT/SNAT/MASQUERADE).
import { AddrError, ipToInt, isIp, maskOf, parseCidr, parseIp, type Cidr } from './addr.ts';
import {
  BUILTIN_CHAINS,
  TABLES,
  type AddrType,
  type Chain,
  type CtState,
  type Match,
  type Rule,
  type Ruleset,
  type Table,
  type Target,
} from './netfilter.ts';

export interface IptablesError {
  /** 1-based line number in the text. */
  readonly line: number;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------------------
// Tokens.

export interface Token {
  readonly text: string;
  /** Any part of it was quoted (a quoted "!" is an argument, not a negation). */
  readonly quoted: boolean;
}

/**
 * Splits a line into words like iptables-restore: whitespace separates; "double quotes" group, with
 * backslash escaping the next character inside them; 'single quotes' group literally. Quoted and unquoted
 * parts next to each other form one word, as in a shell.
 */
export function tokenize(line: string): Token[] | { error: string } {
  const out: Token[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"' || c === "'") {
      const close = c;
      inWord = true;
      quoted = true;
      let j = i + 1;
      for (; j < line.length && line[j] !== close; j++) {
        if (close === '"' && line[j] === '\\' && j + 1 < line.length) j++;
        cur += line[j];
      }
      if (j >= line.length) return { error: `unterminated ${close === '"' ? 'double' : 'single'} quote` };
      i = j;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push({ text: cur, quoted });
      cur = '';
      inWord = false;
      quoted = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push({ text: cur, quoted });
  return out;
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/** One word as iptables-save prints it (libxtables xtables_save_string): bare if safe, else double-quoted. */
export function quoteArg(value: string): string {
  return NO_QUOTE.test(value) ? value : `"${value.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

/** A word kept as written: quoted only if it would not survive tokenizing again. */
function word(w: string): string {
  return w !== '' && !/[\s"'\\]/.test(w) ? w : `"${w.replace(/["\\']/g, (c) => `\\${c}`)}"`;
}

function joinWords(words: readonly string[]): string {
  return words.map(word).join(' ');
}

// ---------------------------------------------------------------------------------------------------------
// Option tables.

interface Spec {
  /** Number of arguments the option takes. */
  readonly args: number;
  /** Whether `!` may precede it. */
  readonly neg: boolean;
}
const S = (args: number, neg: boolean): Spec => ({ args, neg });

const PORT_OPTIONS: Record<string, Spec> = {
  '--sport': S(1, true),
  '--source-port': S(1, true),
  '--dport': S(1, true),
  '--destination-port': S(1, true),
};

/** The match extensions parsed option by option; any other -m module is kept whole as `unknown`. */
const MODULES: Readonly<Record<string, Readonly<Record<string, Spec>>>> = {
  tcp: { ...PORT_OPTIONS, '--tcp-flags': S(2, true), '--syn': S(0, true), '--tcp-option': S(1, true) },
  udp: { ...PORT_OPTIONS },
  sctp: { ...PORT_OPTIONS, '--chunk-types': S(2, true) },
  multiport: {
    '--dports': S(1, true),
    '--destination-ports': S(1, true),
    '--sports': S(1, true),
    '--source-ports': S(1, true),
    '--ports': S(1, true),
  },
  comment: { '--comment': S(1, false) },
  addrtype: {
    '--src-type': S(1, true),
    '--dst-type': S(1, true),
    '--limit-iface-in': S(0, false),
    '--limit-iface-out': S(0, false),
  },
  mark: { '--mark': S(1, true) },
  conntrack: {
    '--ctstate': S(1, true),
    '--ctproto': S(1, true),
    '--ctorigsrc': S(1, true),
    '--ctorigdst': S(1, true),
    '--ctreplsrc': S(1, true),
    '--ctrepldst': S(1, true),
    '--ctorigsrcport': S(1, true),
    '--ctorigdstport': S(1, true),
    '--ctreplsrcport': S(1, true),
    '--ctrepldstport': S(1, true),
    '--ctstatus': S(1, true),
    '--ctexpire': S(1, true),
    '--ctdir': S(1, false),
  },
  state: { '--state': S(1, true) },
  statistic: {
    '--mode': S(1, false),
    '--probability': S(1, true),
    '--every': S(1, true),
    '--packet': S(1, false),
  },
  recent: {
    '--name': S(1, false),
    '--set': S(0, true),
    '--rcheck': S(0, true),
    '--update': S(0, true),
    '--remove': S(0, true),
    '--seconds': S(1, false),
    '--reap': S(0, false),
    '--hitcount': S(1, false),
    '--rttl': S(0, false),
    '--mask': S(1, false),
    '--rsource': S(0, false),
    '--rdest': S(0, false),
  },
  nfacct: { '--nfacct-name': S(1, false) },
  // libxt_set (revision 4): --match-set NAME FLAGS; the counter options are kept as text (not modelled).
  set: {
    '--match-set': S(2, true),
    '--set': S(2, true),
    '--return-nomatch': S(0, false),
    '--update-counters': S(0, true),
    '--update-subcounters': S(0, true),
    '--packets-eq': S(1, true),
    '--packets-lt': S(1, false),
    '--packets-gt': S(1, false),
    '--bytes-eq': S(1, true),
    '--bytes-lt': S(1, false),
    '--bytes-gt': S(1, false),
  },
};

/** The targets parsed option by option. */
const TARGETS: Readonly<Record<string, Readonly<Record<string, Spec>>>> = {
  ACCEPT: {},
  DROP: {},
  RETURN: {},
  REJECT: { '--reject-with': S(1, false) },
  MARK: {
    '--set-xmark': S(1, false),
    '--set-mark': S(1, false),
    '--and-mark': S(1, false),
    '--or-mark': S(1, false),
    '--xor-mark': S(1, false),
  },
  DNAT: { '--to-destination': S(1, false), '--random': S(0, false), '--persistent': S(0, false) },
  SNAT: {
    '--to-source': S(1, false),
    '--random': S(0, false),
    '--random-fully': S(0, false),
    '--persistent': S(0, false),
  },
  MASQUERADE: { '--to-ports': S(1, false), '--random': S(0, false), '--random-fully': S(0, false) },
};

/** Target extensions that exist but are not modelled: parsed as `unknown` (a walk reaching one stops). */
const UNMODELLED_TARGETS = new Set([
  'AUDIT',
  'CHECKSUM',
  'CLASSIFY',
  'CLUSTERIP',
  'CONNMARK',
  'CONNSECMARK',
  'CT',
  'DSCP',
  'ECN',
  'HL',
  'HMARK',
  'IDLETIMER',
  'LED',
  'LOG',
  'NETMAP',
  'NFLOG',
  'NFQUEUE',
  'NOTRACK',
  'QUEUE',
  'RATEEST',
  'REDIRECT',
  'SECMARK',
  'SET',
  'SYNPROXY',
  'TCPMSS',
  'TCPOPTSTRIP',
  'TEE',
  'TOS',
  'TPROXY',
  'TRACE',
  'TTL',
  'ULOG',
]);

/** libipt_REJECT's reject types, aliases → canonical name. */
const REJECT_TYPES: Readonly<Record<string, string>> = {
  'icmp-net-unreachable': 'icmp-net-unreachable',
  'net-unreach': 'icmp-net-unreachable',
  'icmp-host-unreachable': 'icmp-host-unreachable',
  'host-unreach': 'icmp-host-unreachable',
  'icmp-proto-unreachable': 'icmp-proto-unreachable',
  'proto-unreach': 'icmp-proto-unreachable',
  'icmp-port-unreachable': 'icmp-port-unreachable',
  'port-unreach': 'icmp-port-unreachable',
  'icmp-net-prohibited': 'icmp-net-prohibited',
  'net-prohib': 'icmp-net-prohibited',
  'icmp-host-prohibited': 'icmp-host-prohibited',
  'host-prohib': 'icmp-host-prohibited',
  'tcp-reset': 'tcp-reset',
  'tcp-rst': 'tcp-reset',
  'icmp-admin-prohibited': 'icmp-admin-prohibited',
  'admin-prohib': 'icmp-admin-prohibited',
};

const MODELLED_ADDRTYPES: ReadonlySet<string> = new Set<AddrType>([
  'LOCAL',
  'UNICAST',
  'BROADCAST',
  'MULTICAST',
  'BLACKHOLE',
  'UNREACHABLE',
  'PROHIBIT',
]);
const ALL_ADDRTYPES: ReadonlySet<string> = new Set([
  ...MODELLED_ADDRTYPES,
  'UNSPEC',
  'ANYCAST',
  'THROW',
  'NAT',
  'XRESOLVE',
]);

/** libxt_conntrack prints states in this order. */
const CT_STATES: readonly CtState[] = [
  'INVALID',
  'NEW',
  'RELATED',
  'ESTABLISHED',
  'UNTRACKED',
  'SNAT',
  'DNAT',
];
const STATE_STATES: ReadonlySet<string> = new Set(['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED']);

const PROTOCOLS: Readonly<Record<string, 'tcp' | 'udp' | 'icmp' | 'sctp' | 'all'>> = {
  tcp: 'tcp',
  '6': 'tcp',
  udp: 'udp',
  '17': 'udp',
  icmp: 'icmp',
  '1': 'icmp',
  sctp: 'sctp',
  '132': 'sctp',
  all: 'all',
  '0': 'all',
};

/** Chain names are at most 28 characters (XT_EXTENSION_MAXNAMELEN - 1). */
const MAX_CHAIN_NAME = 28;

// ---------------------------------------------------------------------------------------------------------
// Values.

class RuleError extends Error {}

function fail(message: string): never {
  throw new RuleError(message);
}

/** -s/-d: a.b.c.d or a.b.c.d/len or a.b.c.d/mask (host bits are cleared, as iptables does). */
function parseAddress(value: string): Cidr {
  if (value.includes(':')) fail(`"${value}" is an IPv6 address: IPv6 (ip6tables) is not modelled`);
  if (value.includes(','))
    fail(`"${value}" is an address list (iptables-restore expands it into several rules)`);
  try {
    const slash = value.indexOf('/');
    if (slash < 0) return { ip: parseIp(value), prefix: 32 };
    const mask = value.slice(slash + 1);
    if (isIp(mask)) {
      const m = ipToInt(mask);
      let prefix = 0;
      while (prefix < 32 && (m & (0x80000000 >>> prefix)) !== 0) prefix++;
      if (maskOf(prefix) !== m) fail(`"${value}" has a non-contiguous mask`);
      return parseCidr(`${value.slice(0, slash)}/${prefix}`);
    }
    return parseCidr(value);
  } catch (e) {
    if (e instanceof AddrError) fail(`${e.message} (only IPv4 addresses, no host names)`);
    throw e;
  }
}

function parseNumber(text: string, what: string, max: number): number {
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text.slice(1), 8);
  else if (/^\d+$/.test(text)) n = Number(text);
  else fail(`${what} "${text}" is not a number`);
  if (n > max) fail(`${what} "${text}" is larger than ${max}`);
  return n;
}

function parsePort(text: string): number {
  if (!/^\d+$/.test(text)) fail(`port "${text}" is not a number (service names are not supported)`);
  const n = Number(text);
  if (n > 65535) fail(`port "${text}" is out of range`);
  return n;
}

/** n, n:m, :m, n: (libxt_tcp's parse_tcp_ports). */
function parsePortRange(text: string): [number, number] {
  const colon = text.indexOf(':');
  if (colon < 0) {
    const p = parsePort(text);
    return [p, p];
  }
  const from = colon === 0 ? 0 : parsePort(text.slice(0, colon));
  const to = colon === text.length - 1 ? 65535 : parsePort(text.slice(colon + 1));
  if (from > to) fail(`port range "${text}" is empty`);
  return [from, to];
}

/** value[/mask] for -m mark and MARK (mask defaults to 0xffffffff). */
function parseMarkMask(text: string): { value: number; mask: number } {
  const [v, m, extra] = text.split('/');
  if (extra !== undefined || v === undefined || v === '') fail(`mark "${text}" is not value[/mask]`);
  return {
    value: parseNumber(v, 'mark', 0xffffffff),
    mask: m === undefined ? 0xffffffff : parseNumber(m, 'mask', 0xffffffff),
  };
}

/** DNAT --to-destination / SNAT --to-source: ip[:port]; ranges are not modelled (null). */
function parseNatAddress(text: string): { ip: string; port: number | null } | null {
  if (text.startsWith('[') || (text.match(/:/g) ?? []).length > 1)
    fail(`"${text}" is an IPv6 address: IPv6 (ip6tables) is not modelled`);
  const [ipText, portText] = text.split(':') as [string, string | undefined];
  if (ipText.includes('-') || (portText?.includes('-') ?? false)) return null;
  if (ipText === '') fail(`"${text}" has no address`);
  let ip: string;
  try {
    ip = parseIp(ipText);
  } catch (e) {
    if (e instanceof AddrError) fail(e.message);
    throw e;
  }
  return { ip, port: portText === undefined ? null : parsePort(portText) };
}

// ---------------------------------------------------------------------------------------------------------
// One rule.

interface Opt {
  readonly name: string;
  readonly negate: boolean;
  readonly args: readonly string[];
}

interface ModuleUse {
  readonly name: string;
  /** Loaded by -p tcp --dport without -m tcp. */
  readonly implicit: boolean;
  readonly opts: Opt[];
}

function optWords(o: Opt): string[] {
  return [...(o.negate ? ['!'] : []), o.name, ...o.args];
}

function moduleText(m: ModuleUse, opts: readonly Opt[] = m.opts): string {
  return joinWords([...(m.implicit ? [] : ['-m', m.name]), ...opts.flatMap(optWords)]);
}

function single(m: ModuleUse, names: readonly string[]): Opt | undefined {
  const found = m.opts.filter((o) => names.includes(o.name));
  if (found.length > 1) fail(`-m ${m.name}: ${names[0]} given more than once`);
  return found[0];
}

function flag(m: ModuleUse, name: string): boolean {
  return m.opts.some((o) => o.name === name);
}

/** The matches one `-m module …` contributes, in option order. `protos` collects protocol requirements. */
function moduleMatches(m: ModuleUse, protos: { module: string; allowed: readonly string[] }[]): Match[] {
  const out: Match[] = [];
  switch (m.name) {
    case 'tcp':
    case 'udp':
    case 'sctp': {
      protos.push({ module: m.name, allowed: [m.name] });
      const other: Opt[] = [];
      const seen = new Set<string>();
      for (const o of m.opts) {
        const kind =
          o.name === '--sport' || o.name === '--source-port'
            ? 'sport'
            : o.name.includes('port')
              ? 'dport'
              : null;
        if (!kind) {
          other.push(o);
          continue;
        }
        if (seen.has(kind)) fail(`-m ${m.name}: --${kind} given more than once`);
        seen.add(kind);
        const [from, to] = parsePortRange(o.args[0]!);
        out.push({ kind, from, to, negate: o.negate });
      }
      if (other.length > 0) out.push({ kind: 'unknown', text: moduleText(m, other) });
      return out;
    }
    case 'multiport': {
      protos.push({ module: 'multiport', allowed: ['tcp', 'udp', 'sctp'] });
      for (const o of m.opts) {
        const dir =
          o.name.includes('dest') || o.name === '--dports' ? 'dst' : o.name === '--ports' ? 'any' : 'src';
        const ranges = o.args[0]!.split(',').map(parsePortRange);
        const count = ranges.reduce((n, [a, b]) => n + (a === b ? 1 : 2), 0);
        if (count > 15) fail(`-m multiport: more than 15 ports in "${o.args[0]}"`);
        out.push({ kind: 'multiport', dir, ranges, negate: o.negate });
      }
      return out;
    }
    case 'comment':
      for (const o of m.opts) out.push({ kind: 'comment', text: o.args[0]! });
      return out;
    case 'addrtype': {
      const src = single(m, ['--src-type']);
      const dst = single(m, ['--dst-type']);
      const limitIfaceIn = flag(m, '--limit-iface-in');
      const limitIfaceOut = flag(m, '--limit-iface-out');
      if (limitIfaceIn && limitIfaceOut)
        fail('-m addrtype: --limit-iface-in and --limit-iface-out are exclusive');
      for (const o of [src, dst]) {
        for (const t of o?.args[0]!.split(',') ?? []) {
          if (!ALL_ADDRTYPES.has(t)) fail(`-m addrtype: unknown address type "${t}"`);
        }
      }
      // A list of types, or a type the engine does not classify, is kept as text.
      if ([src, dst].some((o) => o && !MODELLED_ADDRTYPES.has(o.args[0]!)))
        return [{ kind: 'unknown', text: moduleText(m) }];
      return [
        {
          kind: 'addrtype',
          src: (src?.args[0] as AddrType | undefined) ?? null,
          srcNegate: src?.negate ?? false,
          dst: (dst?.args[0] as AddrType | undefined) ?? null,
          dstNegate: dst?.negate ?? false,
          limitIfaceIn,
          limitIfaceOut,
        },
      ];
    }
    case 'mark': {
      const o = single(m, ['--mark']);
      if (!o) fail('-m mark needs --mark');
      const { value, mask } = parseMarkMask(o.args[0]!);
      return [{ kind: 'mark', value, mask, negate: o.negate }];
    }
    case 'conntrack':
    case 'state': {
      const key = m.name === 'state' ? '--state' : '--ctstate';
      const other = m.opts.filter((o) => o.name !== key);
      const o = single(m, [key]);
      if (o) {
        const states = o.args[0]!.split(',').map((s) => s.toUpperCase());
        for (const s of states) {
          if (!(m.name === 'state' ? STATE_STATES.has(s) : (CT_STATES as string[]).includes(s)))
            fail(`-m ${m.name}: unknown state "${s}"`);
        }
        out.push({ kind: 'conntrack', ctstate: states as CtState[], negate: o.negate });
      }
      if (other.length > 0) out.push({ kind: 'unknown', text: moduleText(m, other) });
      return out;
    }
    case 'statistic': {
      const mode = single(m, ['--mode'])?.args[0];
      if (mode === undefined) fail('-m statistic needs --mode');
      if (mode === 'nth') return [{ kind: 'unknown', text: moduleText(m) }];
      if (mode !== 'random') fail(`-m statistic: unknown mode "${mode}"`);
      if (flag(m, '--every') || flag(m, '--packet')) fail('-m statistic: --every/--packet need --mode nth');
      const p = single(m, ['--probability']);
      if (!p) fail('-m statistic --mode random needs --probability');
      const probability = Number(p.args[0]);
      if (!/^\d*\.?\d+(e-?\d+)?$/i.test(p.args[0]!) || !(probability >= 0 && probability <= 1))
        fail(`-m statistic: probability "${p.args[0]}" is not between 0 and 1`);
      return [{ kind: 'statistic', probability, negate: p.negate }];
    }
    case 'recent': {
      const ops = m.opts.filter((o) => ['--set', '--rcheck', '--update', '--remove'].includes(o.name));
      if (ops.length !== 1) fail('-m recent needs exactly one of --set, --rcheck, --update, --remove');
      const op = ops[0]!;
      const secondsOpt = single(m, ['--seconds']);
      const seconds = secondsOpt ? parseNumber(secondsOpt.args[0]!, 'seconds', 0xffffffff) : null;
      if (seconds !== null && op.name !== '--rcheck' && op.name !== '--update')
        fail('-m recent: --seconds needs --rcheck or --update');
      if (flag(m, '--reap') && seconds === null) fail('-m recent: --reap needs --seconds');
      if (flag(m, '--rsource') && flag(m, '--rdest')) fail('-m recent: --rsource and --rdest are exclusive');
      const mask = single(m, ['--mask'])?.args[0];
      if (mask !== undefined && !isIp(mask)) fail(`-m recent: mask "${mask}" is not an IPv4 netmask`);
      // Not modelled: a hit count, the TTL check, or a mask that groups addresses.
      if (flag(m, '--hitcount') || flag(m, '--rttl') || (mask !== undefined && mask !== '255.255.255.255'))
        return [{ kind: 'unknown', text: moduleText(m) }];
      return [
        {
          kind: 'recent',
          op: op.name.slice(2) as 'set' | 'rcheck' | 'update' | 'remove',
          name: single(m, ['--name'])?.args[0] ?? 'DEFAULT',
          seconds,
          rsource: !flag(m, '--rdest'),
          negate: op.negate,
        },
      ];
    }
    case 'nfacct': {
      const o = single(m, ['--nfacct-name']);
      if (!o) fail('-m nfacct needs --nfacct-name');
      return [{ kind: 'nfacct', name: o.args[0]! }];
    }
    case 'set': {
      // libxt_set set_parse_v4: one --match-set (or the old --set) NAME and 1..IPSET_DIM_MAX (6) src/dst flags.
      const o = single(m, ['--match-set', '--set']);
      if (!o) fail('-m set needs --match-set NAME src|dst[,src|dst…]');
      const [name, flagText] = o.args as [string, string];
      if (name.length > 31) fail(`-m set: set name "${name}" is longer than 31 characters`);
      const flags = flagText.split(',');
      if (flags.length > 6 || flags.some((f) => f !== 'src' && f !== 'dst'))
        fail(`-m set: "${flagText}" is not a list of at most 6 "src" and "dst" flags`);
      // Counters and --return-nomatch are not modelled: the whole match is kept as text.
      if (m.opts.length > 1) return [{ kind: 'unknown', text: moduleText(m) }];
      return [{ kind: 'set', name, flags: flags as ('src' | 'dst')[], negate: o.negate }];
    }
    default:
      return [{ kind: 'unknown', text: moduleText(m) }];
  }
}

function targetOf(name: string, goto: boolean, opts: readonly Opt[]): Target {
  const text = (): string => joinWords([goto ? '-g' : '-j', name, ...opts.flatMap(optWords)]);
  if (goto) {
    if (opts.length > 0) fail(`-g ${name} takes no options`);
    return { kind: 'goto', chain: name };
  }
  const opt = (n: string): Opt | undefined => opts.find((o) => o.name === n);
  for (const [i, o] of opts.entries())
    if (opts.findIndex((p) => p.name === o.name) !== i) fail(`-j ${name}: ${o.name} given more than once`);
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return { kind: name };
    case 'REJECT': {
      const w = opt('--reject-with')?.args[0];
      if (w === undefined) return { kind: 'REJECT', with: null };
      const canonical = REJECT_TYPES[w];
      if (!canonical) fail(`-j REJECT: unknown --reject-with "${w}"`);
      return { kind: 'REJECT', with: canonical };
    }
    case 'MARK': {
      if (opts.length !== 1)
        fail('-j MARK needs exactly one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark');
      const o = opts[0]!;
      const arg = o.args[0]!;
      if (o.name === '--set-xmark' || o.name === '--set-mark') {
        const { value, mask } = parseMarkMask(arg);
        // libxt_MARK: --set-mark v/m zeroes the mask bits and ORs the value: xmark v/(m|v).
        return {
          kind: 'MARK',
          op: 'set-xmark',
          value,
          mask: o.name === '--set-mark' ? (mask | value) >>> 0 : mask,
        };
      }
      const value = parseNumber(arg, 'mark', 0xffffffff);
      return {
        kind: 'MARK',
        op: o.name === '--or-mark' ? 'or' : o.name === '--xor-mark' ? 'xor' : 'and',
        value,
        mask: 0xffffffff,
      };
    }
    case 'DNAT': {
      const to = opt('--to-destination');
      if (!to) fail('-j DNAT needs --to-destination');
      const a = parseNatAddress(to.args[0]!);
      if (!a || opts.length > 1) return { kind: 'unknown', text: text() };
      return { kind: 'DNAT', ip: a.ip, port: a.port };
    }
    case 'SNAT': {
      const to = opt('--to-source');
      if (!to) fail('-j SNAT needs --to-source');
      const a = parseNatAddress(to.args[0]!);
      if (!a) return { kind: 'unknown', text: text() };
      // --random and --persistent only choose among ports and addresses of a range: the engine keeps the port.
      return { kind: 'SNAT', ip: a.ip, port: a.port, randomFully: opt('--random-fully') !== undefined };
    }
    case 'MASQUERADE': {
      const ports = opt('--to-ports')?.args[0];
      const randomFully = opt('--random-fully') !== undefined;
      if (ports === undefined) return { kind: 'MASQUERADE', randomFully };
      const [from, to] = ports.split('-') as [string, string | undefined];
      const f = parsePort(from);
      const t = to === undefined ? f : parsePort(to);
      if (f > t) fail(`-j MASQUERADE: port range "${ports}" is empty`);
      return { kind: 'MASQUERADE', randomFully, toPorts: { from: f, to: t } };
    }
    default:
      if (UNMODELLED_TARGETS.has(name)) return { kind: 'unknown', text: text() };
      if (opts.length > 0) fail(`-j ${name}: a jump to a chain takes no options (${opts[0]!.name})`);
      if (name.startsWith('-') || name === '!') fail(`"${name}" is not a chain name`);
      return { kind: 'jump', chain: name };
  }
}

const BASE_OPTIONS: Readonly<Record<string, 'src' | 'dst' | 'proto' | 'in' | 'out'>> = {
  '-s': 'src',
  '--source': 'src',
  '--src': 'src',
  '-d': 'dst',
  '--destination': 'dst',
  '--dst': 'dst',
  '-p': 'proto',
  '--protocol': 'proto',
  '-i': 'in',
  '--in-interface': 'in',
  '-o': 'out',
  '--out-interface': 'out',
};

/** The matches and target of a rule's arguments (everything after `-A CHAIN`). Throws RuleError. */
function parseArgs(tokens: readonly Token[]): { matches: Match[]; target: Target } {
  const base: Partial<Record<'src' | 'dst' | 'proto' | 'in' | 'out', { value: string; negate: boolean }>> =
    {};
  const modules: ModuleUse[] = [];
  const headerUnknown: string[] = [];
  let target: { name: string; goto: boolean; opts: Opt[]; unknown: boolean } | null = null;
  let negate = false;
  let k = 0;

  const isBang = (t: Token | undefined): boolean => t !== undefined && t.text === '!' && !t.quoted;
  /** Takes `count` arguments after the option at k (an intrapositioned `!` before the first negates). */
  const takeArgs = (count: number, option: string, negatable = true): { args: string[]; negate: boolean } => {
    let neg = false;
    let p = k + 1;
    if (count > 0 && negatable && isBang(tokens[p])) {
      neg = true;
      p++;
    }
    const args: string[] = [];
    for (let n = 0; n < count; n++, p++) {
      const t = tokens[p];
      if (!t) fail(`${option} needs ${count === 1 ? 'an argument' : `${count} arguments`}`);
      args.push(t.text);
    }
    k = p;
    return { args, negate: neg };
  };
  /** Arguments of an option the tables do not describe: the words up to the next option. */
  const takeLoose = (): string[] => {
    const args: string[] = [];
    let p = k + 1;
    while (
      p < tokens.length &&
      (tokens[p]!.quoted || (!tokens[p]!.text.startsWith('-') && !isBang(tokens[p])))
    ) {
      args.push(tokens[p]!.text);
      p++;
    }
    k = p;
    return args;
  };

  while (k < tokens.length) {
    const tok = tokens[k]!;
    const name = tok.text;
    if (isBang(tok)) {
      if (negate) fail('"! !" is not valid');
      negate = true;
      k++;
      continue;
    }
    if (tok.quoted) fail(`unexpected argument "${name}"`);
    if (name === '-m' || name === '--match') {
      if (negate) fail('"!" cannot negate -m');
      const mod = tokens[k + 1]?.text;
      if (mod === undefined) fail('-m needs a module name');
      modules.push({ name: mod, implicit: false, opts: [] });
      k += 2;
      continue;
    }
    const baseKind = BASE_OPTIONS[name];
    if (baseKind) {
      if (base[baseKind]) fail(`${name} given more than once`);
      const { args, negate: inner } = takeArgs(1, name);
      base[baseKind] = { value: args[0]!, negate: negate || inner };
      negate = false;
      continue;
    }
    if (name === '-j' || name === '--jump' || name === '-g' || name === '--goto') {
      if (negate) fail(`"!" cannot negate ${name}`);
      if (target) fail('more than one target (-j/-g)');
      const t = tokens[k + 1]?.text;
      if (t === undefined) fail(`${name} needs a target`);
      target = { name: t, goto: name === '-g' || name === '--goto', opts: [], unknown: false };
      k += 2;
      continue;
    }
    if (name === '-4' || name === '--ipv4') {
      k++;
      continue;
    }
    if (name === '-6' || name === '--ipv6') fail('an IPv6 rule (-6): IPv6 (ip6tables) is not modelled');
    if (name === '-f' || name === '--fragment') {
      headerUnknown.push(joinWords([...(negate ? ['!'] : []), '-f']));
      negate = false;
      k++;
      continue;
    }
    if (name === '-c' || name === '--set-counters') {
      takeArgs(2, name, false);
      continue;
    }
    if (!name.startsWith('-')) fail(`unexpected argument "${name}"`);

    // A long option: the target's, a loaded match's (latest first), then (after -j) the target's as text, an
    // unknown module's, or the protocol's implicit match (`-p tcp --dport 80` loads tcp).
    const targetSpecs = target && !target.goto ? TARGETS[target.name] : undefined;
    const tSpec = targetSpecs?.[name];
    const known = [...modules].reverse().find((m) => MODULES[m.name]?.[name]);
    const unknownModule = [...modules].reverse().find((m) => !MODULES[m.name]);
    const proto = base.proto ? PROTOCOLS[base.proto.value.toLowerCase()] : undefined;
    const spec = tSpec ?? (known ? MODULES[known.name]![name] : undefined);
    const addOpt = (list: Opt[], s: Spec | undefined) => {
      if (s && negate && !s.neg) fail(`${name} cannot be negated`);
      if (!s) return list.push({ name, negate, args: takeLoose() });
      const { args, negate: inner } = takeArgs(s.args, name, s.neg);
      return list.push({ name, negate: negate || inner, args });
    };
    if (tSpec) addOpt(target!.opts, tSpec);
    else if (known) addOpt(known.opts, spec);
    else if (target && !target.goto && (targetSpecs || UNMODELLED_TARGETS.has(target.name))) {
      // An option the engine does not know for a target it models: the whole target is kept as text.
      if (targetSpecs) target.unknown = true;
      addOpt(target.opts, undefined);
    } else if (unknownModule) addOpt(unknownModule.opts, undefined);
    else if (proto !== undefined && proto !== 'all') {
      let m = modules.find((x) => x.implicit && x.name === proto);
      if (!m) modules.push((m = { name: proto, implicit: true, opts: [] }));
      addOpt(m.opts, MODULES[proto]?.[name]);
    } else fail(`unknown option "${name}" (no -m module that takes it is loaded)`);
    negate = false;
  }
  if (negate) fail('"!" at the end of the rule');

  // The IP header part, in ip_packet_match's order.
  const matches: Match[] = [];
  for (const kind of ['src', 'dst'] as const) {
    const b = base[kind];
    if (b) matches.push({ kind, cidr: parseAddress(b.value), negate: b.negate });
  }
  for (const kind of ['in', 'out'] as const) {
    const b = base[kind];
    if (!b) continue;
    if (b.value === '' || b.value.length > 15 || /[/\s]/.test(b.value))
      fail(`"${b.value}" is not an interface name`);
    matches.push({ kind, iface: b.value, negate: b.negate });
  }
  const proto = base.proto ? PROTOCOLS[base.proto.value.toLowerCase()] : undefined;
  if (base.proto) {
    if (proto === undefined || (proto === 'all' && base.proto.negate))
      matches.push({
        kind: 'unknown',
        text: joinWords([...(base.proto.negate ? ['!'] : []), '-p', base.proto.value]),
      });
    else if (proto !== 'all') matches.push({ kind: 'proto', proto, negate: base.proto.negate });
  }
  for (const text of headerUnknown) matches.push({ kind: 'unknown', text });

  const protos: { module: string; allowed: readonly string[] }[] = [];
  for (const m of modules) matches.push(...moduleMatches(m, protos));
  for (const need of protos) {
    if (!proto || base.proto?.negate || !need.allowed.includes(proto))
      fail(`-m ${need.module} needs -p ${need.allowed.join('|')} (the kernel refuses it otherwise)`);
  }

  let t: Target;
  if (!target) t = { kind: 'none' };
  else if (target.unknown)
    t = { kind: 'unknown', text: joinWords(['-j', target.name, ...target.opts.flatMap(optWords)]) };
  else t = targetOf(target.name, target.goto, target.opts);
  return { matches, target: t };
}

/**
 * Parses one `-A CHAIN args…` line (a leading `[packets:bytes]` from `iptables-save -c` is dropped).
 * The rule's text is the line as written.
 */
export function parseRule(
  line: string,
): { ok: true; chain: string; rule: Rule } | { ok: false; error: string } {
  const text = line.trim().replace(/^\[\d+:\d+\]\s+/, '');
  const tokens = tokenize(text);
  if ('error' in tokens) return { ok: false, error: tokens.error };
  const head = tokens[0]?.text;
  if (head === '-I' || head === '--insert')
    return {
      ok: false,
      error: '-I (insert) does not appear in iptables-save output: list the rules in order with -A',
    };
  if (head !== '-A' && head !== '--append')
    return { ok: false, error: `a rule starts with -A CHAIN, not "${head ?? ''}"` };
  const chain = tokens[1]?.text;
  if (chain === undefined || chain === '') return { ok: false, error: '-A needs a chain name' };
  try {
    const { matches, target } = parseArgs(tokens.slice(2));
    return { ok: true, chain, rule: { matches, target, text } };
  } catch (e) {
    if (e instanceof RuleError) return { ok: false, error: e.message };
    throw e;
  }
}

/**
 * parseRule, remembered: the same line always parses to the same (immutable) Rule, and a cluster's nodes
 * load many identical lines — kubelet's, flannel's and kube-proxy's fixed rules on every node, in every world
 * built from a scenario. Bounded: the memory is dropped when it is full.
 */
export function parseRuleCached(line: string): ReturnType<typeof parseRule> {
  let parsed = PARSED_LINES.get(line);
  if (parsed === undefined) {
    parsed = parseRule(line);
    if (PARSED_LINES.size >= PARSED_LINES_MAX) PARSED_LINES.clear();
    PARSED_LINES.set(line, parsed);
  }
  return parsed;
}

/** Enough for the distinct lines of several small clusters' nodes (~60 each), not for a big dump's lines. */
const PARSED_LINES_MAX = 20000;
const PARSED_LINES = new Map<string, ReturnType<typeof parseRule>>();

// ---------------------------------------------------------------------------------------------------------
// The whole file.

/** What parseIptablesSave gives. */
export interface ParsedIptables {
  readonly ruleset: Ruleset;
  readonly errors: IptablesError[];
}

/** Restore inputs whose parse is known without reading their text (see withParse). */
const KNOWN_PARSES = new WeakMap<object, () => ParsedIptables>();

/**
 * Marks `input` (an iptables-restore op, say) as one whose text parses to what `parse` returns — for writers
 * that hold their rules as data (cni.ts: kube-proxy's, kubelet's and flannel's rules), so loading them need
 * not print the text and read it back. `parse` must give exactly parseIptablesSave(input.text), with fresh
 * table maps on every call.
 */
export function withParse<T extends { readonly text: string }>(input: T, parse: () => ParsedIptables): T {
  KNOWN_PARSES.set(input, parse);
  return input;
}

/** parseIptablesSave(input.text), by the known parse where withParse gave one. Either way its tables are
 *  fresh maps the caller may keep; chains and rules may be shared, and are never changed once loaded. */
export function parseRestoreInput(input: { readonly text: string }): ParsedIptables {
  const known = KNOWN_PARSES.get(input);
  return known ? known() : parseIptablesSave(input.text);
}

/**
 * Parses iptables-save output (or iptables-restore input: `-X` lines, kube-proxy's restore text). Every
 * problem is reported with its line and the rest is still parsed; a rule with an error is left out.
 */
export function parseIptablesSave(text: string): ParsedIptables {
  const ruleset: Ruleset = new Map();
  const errors: IptablesError[] = [];
  let table: { name: Table; chains: Map<string, Chain>; line: number } | null = null;
  let skipping: { name: string; line: number } | null = null;
  const lines = text.split(/\r?\n/);

  lines.forEach((raw, idx) => {
    const lineNo = idx + 1;
    const line = raw.trim();
    const error = (message: string) => errors.push({ line: lineNo, message });
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('*')) {
      if (table || skipping)
        error(`*${(table?.name ?? skipping?.name) as string} has no COMMIT before this table`);
      const name = line.slice(1);
      table = null;
      skipping = null;
      if (!(TABLES as readonly string[]).includes(name)) {
        error(`table "${name}" is not modelled (only ${TABLES.join(', ')}); its rules are skipped`);
        skipping = { name, line: lineNo };
        return;
      }
      const t = name as Table;
      let chains = ruleset.get(t);
      if (chains) error(`*${t} appears twice; its chains and rules are merged`);
      else ruleset.set(t, (chains = new Map()));
      table = { name: t, chains, line: lineNo };
      return;
    }
    if (skipping) {
      if (line === 'COMMIT') skipping = null;
      return;
    }
    if (!table)
      return error(`"${line.slice(0, 40)}" is outside a table (expected *filter, *nat, *mangle or *raw)`);
    const t: { name: Table; chains: Map<string, Chain>; line: number } = table;
    if (line === 'COMMIT') {
      table = null;
      return;
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?$/.exec(line);
      if (!m) return error(`chain declaration "${line}" is not ":NAME POLICY [packets:bytes]"`);
      const [, name, policy, packets, bytes] = m as unknown as [string, string, string, string?, string?];
      const builtin = (BUILTIN_CHAINS[t.name] as readonly string[]).includes(name);
      if (t.chains.has(name)) return error(`chain ${name} is declared twice in *${t.name}`);
      if (name.length > MAX_CHAIN_NAME)
        return error(`chain name ${name} is longer than ${MAX_CHAIN_NAME} characters`);
      if (builtin && policy !== 'ACCEPT' && policy !== 'DROP')
        return error(`built-in chain ${name} needs the policy ACCEPT or DROP, not "${policy}"`);
      if (!builtin && policy !== '-')
        return error(
          `user chain ${name} cannot have a policy ("${policy}"): write "-" (or ${name} is not a built-in chain of *${t.name})`,
        );
      const counters =
        packets !== undefined && bytes !== undefined && (packets !== '0' || bytes !== '0')
          ? { counters: { packets: Number(packets), bytes: Number(bytes) } }
          : {};
      t.chains.set(name, {
        name,
        policy: builtin ? (policy as 'ACCEPT' | 'DROP') : null,
        rules: [],
        ...counters,
      });
      return;
    }
    if (/^-X(\s|$)/.test(line)) {
      const name = line.slice(2).trim();
      const chain = t.chains.get(name);
      if (!chain) return error(`-X ${name}: chain ${name} is not declared in *${t.name}`);
      if (chain.policy !== null) return error(`-X ${name}: a built-in chain cannot be deleted`);
      if (chain.rules.length > 0) return error(`-X ${name}: the chain has rules`);
      t.chains.set(name, { ...chain, deleted: true });
      return;
    }
    if (/^(\[\d+:\d+\]\s+)?(-A|--append|-I|--insert)(\s|$)/.test(line)) {
      const parsed = parseRuleCached(line);
      if (!parsed.ok) return error(parsed.error);
      const chain = t.chains.get(parsed.chain);
      if (!chain)
        return error(
          `chain ${parsed.chain} is not declared in *${t.name} (declare it with ":${parsed.chain} …")`,
        );
      if (chain.deleted) return error(`chain ${parsed.chain} was deleted (-X) before this rule`);
      chain.rules.push(parsed.rule);
      return;
    }
    const cmd = /^(-[A-Za-z]|--[a-z-]+)/.exec(line)?.[1];
    if (cmd) return error(`"${cmd}" is not in iptables-save output (only *table, :CHAIN, -A, -X and COMMIT)`);
    return error(`cannot parse "${line.slice(0, 60)}"`);
  });
  const open = table as { name: Table; line: number } | null;
  if (open)
    errors.push({
      line: open.line,
      message: `*${open.name} has no COMMIT (iptables-restore would apply none of it)`,
    });
  const skipped = skipping as { name: string; line: number } | null;
  if (skipped) errors.push({ line: skipped.line, message: `*${skipped.name} has no COMMIT` });
  return { ruleset, errors };
}

function ruleLine(chain: string, rule: Rule): string {
  if (rule.text === '') return formatRule(chain, rule.matches, rule.target);
  if (rule.text === `-A ${chain}` || rule.text.startsWith(`-A ${chain} `)) return rule.text;
  return `-A ${chain} ${rule.text.replace(/^-A\s+\S+\s*/, '')}`.trimEnd();
}

/**
 * Prints a ruleset as iptables-save does: per table `*name`, the chain declarations in order, the rules
 * chain by chain, `-X` lines for deleted chains (restore input), `COMMIT`. `tables` picks tables and their
 * order (default: the ruleset's order). Parsed rules print their text unchanged.
 */
export function formatIptablesSave(ruleset: Ruleset, tables?: readonly Table[]): string {
  const out: string[] = [];
  for (const t of tables ?? [...ruleset.keys()]) {
    const chains = ruleset.get(t);
    if (!chains) continue;
    out.push(`*${t}`);
    for (const c of chains.values())
      out.push(`:${c.name} ${c.policy ?? '-'} [${c.counters?.packets ?? 0}:${c.counters?.bytes ?? 0}]`);
    for (const c of chains.values()) for (const r of c.rules) out.push(ruleLine(c.name, r));
    for (const c of chains.values()) if (c.deleted) out.push(`-X ${c.name}`);
    out.push('COMMIT');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// Canonical text for rules built from data.

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
const bang = (negate: boolean): string[] => (negate ? ['!'] : []);
const portText = (from: number, to: number): string => (from === to ? `${from}` : `${from}:${to}`);

/** The probability as libxt_statistic prints it: the kernel keeps lround(p * 2^31), printed with %.11f. */
export function formatProbability(p: number): string {
  return (Math.round(p * 0x80000000) / 0x80000000).toFixed(11);
}

function matchWords(m: Match, proto: string): string[] {
  switch (m.kind) {
    case 'src':
      return [...bang(m.negate), '-s', `${m.cidr.ip}/${m.cidr.prefix}`];
    case 'dst':
      return [...bang(m.negate), '-d', `${m.cidr.ip}/${m.cidr.prefix}`];
    case 'in':
      return [...bang(m.negate), '-i', word(m.iface)];
    case 'out':
      return [...bang(m.negate), '-o', word(m.iface)];
    case 'proto':
      return [...bang(m.negate), '-p', m.proto];
    case 'sport':
    case 'dport':
      return ['-m', proto, ...bang(m.negate), `--${m.kind}`, portText(m.from, m.to)];
    case 'multiport':
      return [
        '-m',
        'multiport',
        ...bang(m.negate),
        m.dir === 'dst' ? '--dports' : m.dir === 'src' ? '--sports' : '--ports',
        m.ranges.map(([a, b]) => portText(a, b)).join(','),
      ];
    case 'comment':
      // libxt_comment prints with xtables_save_string.
      return ['-m', 'comment', '--comment', quoteArg(m.text)];
    case 'addrtype':
      return [
        '-m',
        'addrtype',
        ...(m.src !== null ? [...bang(m.srcNegate), '--src-type', m.src] : []),
        ...(m.dst !== null ? [...bang(m.dstNegate), '--dst-type', m.dst] : []),
        ...(m.limitIfaceIn ? ['--limit-iface-in'] : []),
        ...(m.limitIfaceOut ? ['--limit-iface-out'] : []),
      ];
    case 'mark':
      return [
        '-m',
        'mark',
        ...bang(m.negate),
        '--mark',
        m.mask === 0xffffffff ? hex(m.value) : `${hex(m.value)}/${hex(m.mask)}`,
      ];
    case 'conntrack':
      return [
        '-m',
        'conntrack',
        ...bang(m.negate),
        '--ctstate',
        CT_STATES.filter((s) => m.ctstate.includes(s)).join(','),
      ];
    case 'statistic':
      return [
        '-m',
        'statistic',
        '--mode',
        'random',
        ...bang(m.negate),
        '--probability',
        formatProbability(m.probability),
      ];
    case 'recent':
      return [
        '-m',
        'recent',
        ...bang(m.negate),
        `--${m.op}`,
        ...(m.seconds !== null ? ['--seconds', `${m.seconds}`] : []),
        ...(m.seconds !== null && m.op !== 'set' ? ['--reap'] : []),
        '--name',
        word(m.name),
        '--mask',
        '255.255.255.255',
        m.rsource ? '--rsource' : '--rdest',
      ];
    case 'nfacct':
      return ['-m', 'nfacct', '--nfacct-name', word(m.name)];
    case 'set':
      // libxt_set set_print_v4_matchinfo: `! --match-set NAME dst,dst`.
      return ['-m', 'set', ...bang(m.negate), '--match-set', word(m.name), m.flags.join(',')];
    case 'unknown':
      return [];
  }
}

function targetText(t: Target): string {
  switch (t.kind) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return `-j ${t.kind}`;
    case 'REJECT':
      return `-j REJECT --reject-with ${t.with ?? 'icmp-port-unreachable'}`;
    case 'jump':
      return `-j ${t.chain}`;
    case 'goto':
      return `-g ${t.chain}`;
    case 'MARK': {
      // libxt_MARK saves every form as --set-xmark value/mask.
      const [value, mask] =
        t.op === 'set-xmark'
          ? [t.value, t.mask]
          : t.op === 'or'
            ? [t.value, t.value]
            : t.op === 'xor'
              ? [t.value, 0]
              : [0, ~t.value >>> 0];
      return `-j MARK --set-xmark ${hex(value)}/${hex(mask)}`;
    }
    case 'DNAT':
      return `-j DNAT --to-destination ${t.ip}${t.port === null ? '' : `:${t.port}`}`;
    case 'SNAT':
      return `-j SNAT --to-source ${t.ip}${t.port === null ? '' : `:${t.port}`}${t.randomFully ? ' --random-fully' : ''}`;
    case 'MASQUERADE':
      return `-j MASQUERADE${t.toPorts ? ` --to-ports ${t.toPorts.from === t.toPorts.to ? t.toPorts.from : `${t.toPorts.from}-${t.toPorts.to}`}` : ''}${t.randomFully ? ' --random-fully' : ''}`;
    case 'none':
      return '';
    case 'unknown':
      return t.text;
  }
}

/**
 * The canonical iptables-save line of a rule built from data: -s, -d, -i, -o, -p first (ip_packet_match's
 * fields), then the matches in order (consecutive --sport/--dport share one `-m tcp`), then the target.
 */
export function formatRule(chain: string, matches: readonly Match[], target: Target): string {
  const header: Match['kind'][] = ['src', 'dst', 'in', 'out', 'proto'];
  const proto =
    matches.find((m): m is Extract<Match, { kind: 'proto' }> => m.kind === 'proto')?.proto ?? 'tcp';
  const words: string[] = ['-A', word(chain)];
  for (const kind of header)
    for (const m of matches) if (m.kind === kind) words.push(...matchWords(m, proto));
  const parts: string[] = [words.join(' ')];
  let prevPort = false;
  for (const m of matches) {
    if (header.includes(m.kind)) continue;
    if (m.kind === 'unknown') {
      parts.push(m.text);
      prevPort = false;
      continue;
    }
    const w = matchWords(m, proto);
    const isPort = m.kind === 'sport' || m.kind === 'dport';
    // iptables-save prints one `-m tcp --sport a --dport b`.
    parts.push((isPort && prevPort ? w.slice(2) : w).join(' '));
    prevPort = isPort;
  }
  const t = targetText(target);
  if (t !== '') parts.push(t);
  return parts.join(' ');
}

/** A rule built from data, with its canonical text. */
export function makeRule(chain: string, matches: readonly Match[], target: Target): Rule {
  return { matches, target, text: formatRule(chain, matches, target) };
}

// ---------------------------------------------------------------------------------------------------------
// Assembling a node's rules from several writers (kube-proxy, kubelet, the CNI).

export function emptyRuleset(): Ruleset {
  return new Map();
}

/** The table, created with its built-in chains (policy ACCEPT) as the kernel does on first use. */
export function ensureTable(ruleset: Ruleset, table: Table): Map<string, Chain> {
  let chains = ruleset.get(table);
  if (!chains) {
    chains = new Map();
    for (const h of BUILTIN_CHAINS[table]) chains.set(h, { name: h, policy: 'ACCEPT', rules: [] });
    ruleset.set(table, chains);
  }
  return chains;
}

/** The chain, created (as a user chain, `iptables -N`) if missing. */
export function ensureChain(ruleset: Ruleset, table: Table, name: string): Chain {
  const chains = ensureTable(ruleset, table);
  let chain = chains.get(name);
  if (!chain || chain.deleted) {
    if (name.length > MAX_CHAIN_NAME)
      throw new Error(`chain name ${name} is longer than ${MAX_CHAIN_NAME} characters`);
    chain = {
      name,
      policy: (BUILTIN_CHAINS[table] as readonly string[]).includes(name) ? 'ACCEPT' : null,
      rules: [],
    };
    chains.set(name, chain);
  }
  return chain;
}

function toRule(chain: string, r: Rule | string): Rule {
  if (typeof r !== 'string') {
    if (r.text === '' || r.text === `-A ${chain}` || r.text.startsWith(`-A ${chain} `)) return r;
    return { ...r, text: ruleLine(chain, r) };
  }
  const line = /^\s*(-A|--append)\s/.test(r) ? r : `-A ${chain} ${r}`;
  const parsed = parseRule(line);
  if (!parsed.ok) throw new Error(`${line}: ${parsed.error}`);
  if (parsed.chain !== chain) throw new Error(`${line}: the rule is for ${parsed.chain}, not ${chain}`);
  return parsed.rule;
}

/**
 * Appends rules to a chain (`iptables -A`), creating table and chain as needed. A string is a rule's
 * arguments (`-m comment --comment x -j ACCEPT`) or a whole `-A CHAIN …` line; a Rule from another chain
 * gets its text re-prefixed. Throws on a rule that does not parse.
 */
export function appendRules(
  ruleset: Ruleset,
  table: Table,
  chain: string,
  rules: readonly (Rule | string)[],
): void {
  const c = ensureChain(ruleset, table, chain);
  c.rules.push(...rules.map((r) => toRule(chain, r)));
}

/** Inserts rules before position `at` (0 = first, as `iptables -I CHAIN 1`). */
export function insertRules(
  ruleset: Ruleset,
  table: Table,
  chain: string,
  rules: readonly (Rule | string)[],
  at = 0,
): void {
  const c = ensureChain(ruleset, table, chain);
  c.rules.splice(at, 0, ...rules.map((r) => toRule(chain, r)));
}

/**
 * Applies `from` (a parsed iptables-restore input) to `into` as `iptables-restore --noflush` does: a declared
 * user chain is created or flushed, a declared built-in chain takes the declared policy and keeps its rules,
 * rules are appended, `-X` deletes. Returns `into`.
 */
export function mergeRulesets(into: Ruleset, from: Ruleset): Ruleset {
  for (const [table, chains] of from) {
    let t = into.get(table);
    if (!t) into.set(table, (t = new Map()));
    for (const [name, chain] of chains) {
      const have = t.get(name);
      if (chain.deleted) {
        t.delete(name);
        continue;
      }
      const rules = chain.policy === null || !have ? [...chain.rules] : [...have.rules, ...chain.rules];
      t.set(name, {
        name,
        policy: chain.policy,
        rules,
        ...(have?.counters ? { counters: have.counters } : {}),
      });
    }
  }
  return into;
}

/** Jumps and gotos to chains that do not exist (kube-proxy's tests check the same: checkIPTablesRuleJumps). */
export function danglingJumps(
  ruleset: Ruleset,
): { table: Table; chain: string; index: number; target: string }[] {
  const out: { table: Table; chain: string; index: number; target: string }[] = [];
  for (const [table, chains] of ruleset) {
    for (const c of chains.values()) {
      if (c.deleted) continue;
      c.rules.forEach((r, index) => {
        const t = r.target;
        if (
          (t.kind === 'jump' || t.kind === 'goto') &&
          (!chains.get(t.chain) || chains.get(t.chain)!.deleted)
        )
          out.push({ table, chain: c.name, index, target: t.chain });
      });
    }
  }
  return out;
}
