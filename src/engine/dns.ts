// DNS messages as data: the wire-level model (RFC 1035 header, question, resource records with typed rdata),
// kept apart from who answers them (coredns.ts answers, resolver.ts asks). Nothing here resolves anything.
//
//   text forms:  miekg/dns RR.String() (types.go: RR_Header.String, each rdata's String); dig's layout is BIND's
//                bin/dig/dig.c (columns 24/32/40/48, tab width 8) with lib/dns/masterdump.c indent()
//   wire size:   RFC 1035 4.1; name compression exactly as miekg/dns msg.go (domainNameLen,
//                compressionLenSearch): owner names and the rdata names RFC 3597 allows (CNAME, NS, PTR, MX,
//                SOA) point back, SRV targets never do; pointers only to offsets below 2^14
//
// Omitted: EDNS options (an OPT record is modelled without options), DNSSEC records, classes other than IN,
// escaped characters in names (validateDnsName rejects them).
import ipaddr from 'ipaddr.js';
import type { Ip } from './addr.ts';

/** Resource record types by their RFC 1035/3596/2782 code. Query-only types (AXFR, IXFR, ANY) ask, never answer. */
export const RR_TYPE_CODES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;
/** A type a question may ask for. */
export type RRType = keyof typeof RR_TYPE_CODES;

/** The rdata of each record type this model carries, with field names as RFC 1035 and RFC 2782 give them. */
export interface RDataByType {
  readonly A: { readonly address: Ip };
  /** Kept as RFC 5952 text: the engine does not route IPv6, but CoreDNS may still name such an address. */
  readonly AAAA: { readonly address: string };
  readonly CNAME: { readonly target: string };
  readonly NS: { readonly host: string };
  readonly PTR: { readonly target: string };
  readonly MX: { readonly preference: number; readonly exchange: string };
  readonly SOA: {
    /** The primary name server. */
    readonly mname: string;
    /** The responsible mailbox, "hostmaster.cluster.local.". */
    readonly rname: string;
    readonly serial: number;
    readonly refresh: number;
    readonly retry: number;
    readonly expire: number;
    /** The negative-caching TTL (RFC 2308). */
    readonly minimum: number;
  };
  readonly SRV: {
    readonly priority: number;
    readonly weight: number;
    readonly port: number;
    readonly target: string;
  };
  /** Character strings of at most 255 bytes each. */
  readonly TXT: { readonly strings: readonly string[] };
  readonly HINFO: { readonly cpu: string; readonly os: string };
}
/** A type a record in a section may have. */
export type RecordType = keyof RDataByType;

/** One resource record; `data` is typed by `type`. Names are fully qualified (end in "."). */
export type DnsRecord<T extends RecordType = RecordType> = {
  [K in T]: {
    readonly name: string;
    readonly ttl: number;
    readonly class: 'IN';
    readonly type: K;
    readonly data: RDataByType[K];
  };
}[T];

export interface DnsQuestion {
  /** Fully qualified, in the case the asker used (servers answer in that case). */
  readonly name: string;
  readonly type: RRType;
}

/** RFC 1035 4.1.1 response codes (the ones a stub resolver or CoreDNS gives). */
export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';
export const RCODE_VALUES: Readonly<Record<Rcode, number>> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};
export type Opcode = 'QUERY' | 'IQUERY' | 'STATUS' | 'NOTIFY' | 'UPDATE';

export interface DnsFlags {
  /** A response (not a query). */
  readonly qr: boolean;
  /** Authoritative answer. */
  readonly aa: boolean;
  /** Truncated: the answer did not fit, ask again over TCP. */
  readonly tc: boolean;
  /** Recursion desired (the asker sets it; a reply copies it). */
  readonly rd: boolean;
  /** Recursion available (the server says so). */
  readonly ra: boolean;
}

/** RFC 6891 EDNS(0): the OPT pseudo-record in the additional section, modelled without options. */
export interface Edns {
  /** The requestor's UDP payload size (dig sends 1232; glibc with `options edns0` 1200). */
  readonly udpSize: number;
  /** DNSSEC OK. */
  readonly do: boolean;
}

export interface DnsMessage {
  readonly id: number;
  readonly opcode: Opcode;
  readonly rcode: Rcode;
  readonly flags: DnsFlags;
  readonly question: readonly DnsQuestion[];
  readonly answer: readonly DnsRecord[];
  readonly authority: readonly DnsRecord[];
  /** Without the OPT pseudo-record, which is `edns`. */
  readonly additional: readonly DnsRecord[];
  readonly edns?: Edns;
  /** Whether the sender compresses names (miekg's Msg.Compress). Absent means it does, as BIND, unbound and
   *  glibc do; CoreDNS compresses only a reply that would not fit otherwise (see coredns.ts scrubResponse). */
  readonly compress?: boolean;
}

/** The RFC 1035 limits: 255 octets on the wire is 253 characters of text without the final dot. */
const MAX_NAME_TEXT = 253;
const MAX_LABEL = 63;
/** Letters, digits and hyphens (RFC 1035 2.3.1, with RFC 1123's leading digit), plus the underscore of
 *  service labels (RFC 2782 `_http._tcp`) that real zones carry. */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

/** Why `name` is not a valid domain name, or null when it is. The root "." is valid; a final dot is optional. */
export function validateDnsName(name: string): string | null {
  if (name === '.') return null;
  if (name === '') return 'empty name';
  const body = name.endsWith('.') ? name.slice(0, -1) : name;
  if (body.length > MAX_NAME_TEXT) return `name is ${body.length} characters long; at most ${MAX_NAME_TEXT}`;
  for (const label of body.split('.')) {
    if (label === '') return 'empty label (two dots in a row, or a leading dot)';
    if (label.length > MAX_LABEL)
      return `label "${label}" is ${label.length} characters long; at most ${MAX_LABEL}`;
    if (!LABEL.test(label))
      return `label "${label}": only letters, digits, "-" and "_", not starting or ending with "-"`;
  }
  return null;
}

/** The name with its final dot (miekg's dns.Fqdn). */
export function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/** A recursive query, as a stub resolver sends it: RD set, one question, no EDNS unless asked for. */
export function makeQuery(
  name: string,
  type: RRType,
  id: number,
  options: { readonly rd?: boolean; readonly edns?: Edns } = {},
): DnsMessage {
  const query: DnsMessage = {
    id,
    opcode: 'QUERY',
    rcode: 'NOERROR',
    flags: { qr: false, aa: false, tc: false, rd: options.rd ?? true, ra: false },
    question: [{ name: fqdn(name), type }],
    answer: [],
    authority: [],
    additional: [],
  };
  return options.edns ? { ...query, edns: options.edns } : query;
}

/** The skeleton of a reply (miekg's SetReply / SetRcode): same id, opcode, question and RD; QR set. */
export function replyTo(query: DnsMessage, rcode: Rcode = 'NOERROR'): DnsMessage {
  return {
    id: query.id,
    opcode: query.opcode,
    rcode,
    flags: { qr: true, aa: false, tc: false, rd: query.flags.rd, ra: false },
    question: query.question.slice(0, 1),
    answer: [],
    authority: [],
    additional: [],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Text forms.

/** A TXT/HINFO character string as miekg quotes it (sprintTxt: `"` and `\` escaped). */
function quoteString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The rdata part of miekg's RR.String(): "10.0.0.1", "0 100 80 svc.ns.svc.cluster.local.". */
export function formatRdata(rr: DnsRecord): string {
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      return rr.data.address;
    case 'CNAME':
    case 'PTR':
      return rr.data.target;
    case 'NS':
      return rr.data.host;
    case 'MX':
      return `${rr.data.preference} ${rr.data.exchange}`;
    case 'SOA': {
      const d = rr.data;
      return `${d.mname} ${d.rname} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    case 'SRV':
      return `${rr.data.priority} ${rr.data.weight} ${rr.data.port} ${rr.data.target}`;
    case 'TXT':
      return rr.data.strings.map(quoteString).join(' ');
    case 'HINFO':
      return `${quoteString(rr.data.cpu)} ${quoteString(rr.data.os)}`;
  }
}

/** miekg's RR.String(): "svc.ns.svc.cluster.local.\t30\tIN\tA\t10.96.0.20". */
export function formatRecord(rr: DnsRecord): string {
  return `${rr.name}\t${rr.ttl}\t${rr.class}\t${rr.type}\t${formatRdata(rr)}`;
}

/** The canonical text of an IPv6 address (RFC 5952, as Go's net.IP.String()), or null if it is not one. */
export function formatIpv6(text: string): string | null {
  return ipaddr.IPv6.isValid(text) && !ipaddr.IPv4.isValid(text)
    ? ipaddr.IPv6.parse(text).toRFC5952String()
    : null;
}

/** dig's columns (bin/dig/dig.c, the default style): TTL, class, type and rdata start at these. */
const DIG_COLUMNS = { ttl: 24, class: 32, type: 40, rdata: 48 } as const;
const TAB_WIDTH = 8;

/** Column bookkeeping: `text` as printed so far, `col` where the cursor is (tabs expanded). */
interface Cursor {
  text: string;
  col: number;
}

function put(c: Cursor, s: string): void {
  c.text += s;
  c.col += s.length;
}

/** BIND's masterdump.c indent(): tabs to the last tab stop before `to`, then spaces; at least one blank. */
function indent(c: Cursor, to: number): void {
  const target = Math.max(to, c.col + 1);
  const tabs = Math.floor(target / TAB_WIDTH) - Math.floor(c.col / TAB_WIDTH);
  if (tabs > 0) {
    c.text += '\t'.repeat(tabs);
    c.col = Math.floor(target / TAB_WIDTH) * TAB_WIDTH;
  }
  c.text += ' '.repeat(target - c.col);
  c.col = target;
}

/** One record as dig prints it (columns, not miekg's single tabs). */
export function formatDigRecord(rr: DnsRecord): string {
  const c: Cursor = { text: '', col: 0 };
  put(c, rr.name);
  indent(c, DIG_COLUMNS.ttl);
  put(c, String(rr.ttl));
  indent(c, DIG_COLUMNS.class);
  put(c, rr.class);
  indent(c, DIG_COLUMNS.type);
  put(c, rr.type);
  indent(c, DIG_COLUMNS.rdata);
  put(c, formatRdata(rr));
  return c.text;
}

function formatDigQuestion(q: DnsQuestion): string {
  const c: Cursor = { text: '', col: 0 };
  put(c, `;${q.name}`);
  indent(c, DIG_COLUMNS.class);
  put(c, 'IN');
  indent(c, DIG_COLUMNS.type);
  put(c, q.type);
  return c.text;
}

export interface DigOptions {
  /** The server dig asked (its SERVER line). */
  readonly server: Ip;
  readonly port?: number;
  readonly transport?: 'UDP' | 'TCP';
  /** The "; <<>> DiG ... <<>> args" banner's arguments; no banner when absent. */
  readonly command?: string;
  /** ";; Query time:"; the model has no clock, so 0 unless given. */
  readonly queryTimeMs?: number;
  /** ";; WHEN:" line text; left out when absent (the engine has no wall clock). */
  readonly when?: string;
}

/** The text `dig` prints for a reply (BIND 9.18's layout). The MSG SIZE is the message's own wire length. */
export function formatDig(msg: DnsMessage, options: DigOptions): string {
  const lines: string[] = [];
  if (options.command !== undefined) {
    lines.push('', `; <<>> DiG 9.18 <<>> ${options.command}`, ';; global options: +cmd');
  }
  const f = msg.flags;
  const flagWords = (['qr', 'aa', 'tc', 'rd', 'ra'] as const).filter((k) => f[k]);
  const additionalCount = msg.additional.length + (msg.edns ? 1 : 0);
  lines.push(
    ';; Got answer:',
    `;; ->>HEADER<<- opcode: ${msg.opcode}, status: ${msg.rcode}, id: ${msg.id}`,
    `;; flags:${flagWords.map((w) => ` ${w}`).join('')}; QUERY: ${msg.question.length}, ANSWER: ${msg.answer.length}, ` +
      `AUTHORITY: ${msg.authority.length}, ADDITIONAL: ${additionalCount}`,
  );
  // dig warns when it asked for recursion and the server does not offer it (CoreDNS's own answers).
  if (f.rd && !f.ra) lines.push(';; WARNING: recursion requested but not available');
  lines.push('');
  if (msg.edns) {
    lines.push(
      ';; OPT PSEUDOSECTION:',
      `; EDNS: version: 0, flags:${msg.edns.do ? ' do' : ''}; udp: ${msg.edns.udpSize}`,
    );
  }
  lines.push(';; QUESTION SECTION:', ...msg.question.map(formatDigQuestion), '');
  const sections = [
    ['ANSWER', msg.answer],
    ['AUTHORITY', msg.authority],
    ['ADDITIONAL', msg.additional],
  ] as const;
  for (const [title, rrs] of sections) {
    if (rrs.length === 0) continue;
    lines.push(`;; ${title} SECTION:`, ...rrs.map(formatDigRecord), '');
  }
  const port = options.port ?? 53;
  lines.push(
    `;; Query time: ${options.queryTimeMs ?? 0} msec`,
    `;; SERVER: ${options.server}#${port}(${options.server}) (${options.transport ?? 'UDP'})`,
  );
  if (options.when !== undefined) lines.push(`;; WHEN: ${options.when}`);
  lines.push(`;; MSG SIZE  rcvd: ${dnsMessageLength(msg)}`, '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Wire size.

/** RFC 1035 4.1.1: the fixed header. */
const HEADER_LEN = 12;
/** A compression pointer holds a 14-bit offset (miekg's maxCompressionOffset). */
const MAX_COMPRESSION_OFFSET = 1 << 14;
/** TYPE, CLASS, TTL and RDLENGTH after an owner name. */
const RR_FIXED_LEN = 10;
/** The OPT pseudo-record without options: root owner (1) + the fixed 10. */
const OPT_LEN = 11;

/** UTF-8 byte count (TextEncoder is not in the engine's lib). */
function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/** Bytes of one name at message offset `off`; `table` holds the suffixes already written (miekg keys them
 *  case-sensitively). `compress` false still records suffixes for later names, as miekg does. */
function nameLength(name: string, off: number, table: Set<string> | null, compress: boolean): number {
  const s = fqdn(name);
  if (s === '.') return 1;
  if (table !== null && (compress || off < MAX_COMPRESSION_OFFSET)) {
    // Each suffix starting at a label, longest first: the first one seen before is where a pointer goes.
    let at = 0;
    while (at < s.length - 1) {
      const suffix = s.slice(at);
      if (table.has(suffix)) {
        if (compress) return at + 2;
        break;
      }
      if (off + at < MAX_COMPRESSION_OFFSET) table.add(suffix);
      at = s.indexOf('.', at) + 1;
    }
  }
  return s.length + 1;
}

function characterStringsLength(strings: readonly string[]): number {
  return strings.reduce((n, s) => n + utf8Length(s) + 1, 0);
}

function recordLength(rr: DnsRecord, off: number, table: Set<string> | null): number {
  let l = nameLength(rr.name, off, table, true) + RR_FIXED_LEN;
  switch (rr.type) {
    case 'A':
      return l + 4;
    case 'AAAA':
      return l + 16;
    case 'CNAME':
    case 'PTR':
      return l + nameLength(rr.data.target, off + l, table, true);
    case 'NS':
      return l + nameLength(rr.data.host, off + l, table, true);
    case 'MX':
      l += 2;
      return l + nameLength(rr.data.exchange, off + l, table, true);
    case 'SOA':
      l += nameLength(rr.data.mname, off + l, table, true);
      l += nameLength(rr.data.rname, off + l, table, true);
      return l + 20;
    case 'SRV':
      // RFC 2782 forbids compressing the target; miekg still remembers its suffixes.
      l += 6;
      return l + nameLength(rr.data.target, off + l, table, false);
    case 'TXT':
      return l + characterStringsLength(rr.data.strings);
    case 'HINFO':
      return l + characterStringsLength([rr.data.cpu, rr.data.os]);
  }
}

/**
 * The message's size on the wire in bytes (the UDP payload), as miekg/dns packs it: with name compression
 * unless `msg.compress` is false (or `options.compress` overrides it).
 */
export function dnsMessageLength(msg: DnsMessage, options: { readonly compress?: boolean } = {}): number {
  const compress = options.compress ?? msg.compress ?? true;
  const table = compress ? new Set<string>() : null;
  let l = HEADER_LEN;
  for (const q of msg.question) l += nameLength(q.name, l, table, true) + 4;
  for (const rr of [...msg.answer, ...msg.authority, ...msg.additional]) l += recordLength(rr, l, table);
  if (msg.edns) l += OPT_LEN;
  return l;
}

/**
 * What miekg's Msg.Truncate(size) does to a reply before it is sent (msg_truncate.go): a reply that fits
 * uncompressed is sent uncompressed; otherwise it is compressed and, if it still does not fit, records are
 * dropped from the end of each section (answer, then authority, then additional) and TC is set.
 *
 * Preconditions:
 *   size is the requestor's buffer: 512 over UDP without EDNS, the EDNS UDP size, or 65535 over TCP.
 */
export function truncateMessage(msg: DnsMessage, size: number): DnsMessage {
  // RFC 6891: an advertised size below 512 counts as 512.
  const budget = Math.max(size, 512);
  if (dnsMessageLength(msg, { compress: false }) <= budget) return { ...msg, compress: false };
  // The OPT record goes back at the end, so its bytes come off the budget first.
  const limit = budget - (msg.edns ? OPT_LEN : 0);
  const table = new Set<string>();
  let l = HEADER_LEN;
  for (const q of msg.question) l += nameLength(q.name, l, table, true) + 4;
  const keep = (rrs: readonly DnsRecord[]): DnsRecord[] => {
    const kept: DnsRecord[] = [];
    for (const rr of rrs) {
      if (l >= limit) break;
      const next = l + recordLength(rr, l, table);
      // Once a record does not fit, nothing after it is added either (truncateLoop returns `size`).
      if (next > limit) {
        l = limit;
        break;
      }
      l = next;
      kept.push(rr);
    }
    return kept;
  };
  const answer = keep(msg.answer);
  const authority = keep(msg.authority);
  const additional = keep(msg.additional);
  const dropped =
    answer.length < msg.answer.length ||
    authority.length < msg.authority.length ||
    additional.length < msg.additional.length;
  return {
    ...msg,
    flags: { ...msg.flags, tc: msg.flags.tc || dropped },
    answer,
    authority,
    additional,
    compress: true,
  };
}
