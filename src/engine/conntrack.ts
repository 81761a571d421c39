// Connection tracking: the original and reply tuples of a connection, its state, and the NAT bound to it on
// the first packet (net/netfilter/nf_conntrack_core.c, nf_nat_core.c). A later packet of the connection in
// either direction is translated by the entry, never by rules: DNAT rewrites the destination of original
// packets and the source of replies (the "un-DNAT"); SNAT/MASQUERADE the source of originals and the
// destination of replies. ICMP errors about a tracked packet are RELATED and translated the same way,
// inner quoted header included (nf_nat_icmp_reply_translation).
//
// Entries live in the walk's state, per namespace: a walk starts with empty tables, as after boot.
import { isIp, type Ip } from './addr.ts';
import type { TextProblem } from './nodeState.ts';
import type { IcmpHeader, IpPacket, L4Header } from './packet.ts';

export interface Tuple {
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly src: Ip;
  readonly dst: Ip;
  /** TCP/UDP ports; for ICMP echo both are the echo id (as conntrack keys it). */
  readonly sport: number;
  readonly dport: number;
}

export type CtDirection = 'original' | 'reply';

export interface ConntrackEntry {
  readonly id: number;
  readonly netns: string;
  readonly original: Tuple;
  /** What a reply looks like on the wire: the inverse of the original after NAT. */
  reply: Tuple;
  dnat: { readonly ip: Ip; readonly port: number } | null;
  snat: { readonly ip: Ip; readonly port: number } | null;
  /** SEEN_REPLY once a reply passed; before that the entry prints [UNREPLIED]. */
  seenReply: boolean;
  /** Until the first packet leaves the last hook (POSTROUTING or INPUT) the entry is unconfirmed. */
  confirmed: boolean;
  tcpState: TcpCtState | null;
  mark: number;
}

/** nf_conntrack_proto_tcp.c's states as `conntrack -L` prints them. */
export type TcpCtState =
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'SYN_SENT2';

const TCP_CT_STATES: readonly string[] = [
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
];

export interface CtLookup {
  readonly entry: ConntrackEntry;
  readonly direction: CtDirection;
  /** True when the packet is an ICMP error about the connection (ctstate RELATED). */
  readonly related: boolean;
}

function invert(t: Tuple): Tuple {
  return { proto: t.proto, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

function sameTuple(a: Tuple, b: Tuple): boolean {
  return (
    a.proto === b.proto && a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport
  );
}

/** The tuple of a packet's own headers, or null for what conntrack does not track as a flow here (an ICMP
 *  error has no tuple of its own: it is looked up through the packet it quotes). */
export function tupleOf(ip: { src: Ip; dst: Ip }, l4: L4Header): Tuple | null {
  if (l4.kind === 'icmp') {
    if (l4.type !== 8 && l4.type !== 0) return null;
    const id = l4.id ?? 0;
    return { proto: 'icmp', src: ip.src, dst: ip.dst, sport: id, dport: id };
  }
  return { proto: l4.kind, src: ip.src, dst: ip.dst, sport: l4.sport, dport: l4.dport };
}

export function isIcmpErrorHeader(
  l4: L4Header,
): l4 is IcmpHeader & { original: NonNullable<IcmpHeader['original']> } {
  return l4.kind === 'icmp' && (l4.type === 3 || l4.type === 11) && l4.original !== undefined;
}

export class ConntrackTable {
  private readonly entries: ConntrackEntry[] = [];

  constructor(
    readonly netns: string,
    private readonly nextId: () => number,
  ) {}

  all(): readonly ConntrackEntry[] {
    return this.entries;
  }

  /** Finds the entry a packet belongs to and in which direction; ICMP errors through their quoted packet. */
  lookup(p: IpPacket): CtLookup | null {
    if (isIcmpErrorHeader(p.l4)) {
      // The error travels back towards the quoted packet's sender: it belongs to the direction whose tuple
      // is the inverse of the quoted one (nf_conntrack_inet_error / icmp_error_message).
      const q = tupleOf(p.l4.original.ip, p.l4.original.l4);
      if (!q) return null;
      const back = invert(q);
      for (const e of this.entries) {
        if (sameTuple(e.reply, back)) return { entry: e, direction: 'reply', related: true };
        if (sameTuple(e.original, back)) return { entry: e, direction: 'original', related: true };
      }
      return null;
    }
    const t = tupleOf(p.ip, p.l4);
    if (!t) return null;
    for (const e of this.entries) {
      if (sameTuple(e.original, t)) return { entry: e, direction: 'original', related: false };
      if (sameTuple(e.reply, t)) return { entry: e, direction: 'reply', related: false };
    }
    return null;
  }

  /** Entries the node already had (pasted `conntrack -L`), copied so a walk never changes the world's. */
  preload(entries: readonly ConntrackEntry[]): void {
    for (const e of entries) this.entries.push({ ...e, id: this.nextId(), netns: this.netns });
  }

  /** A new, unconfirmed entry for the first packet of a connection. */
  create(p: IpPacket): ConntrackEntry | null {
    const t = tupleOf(p.ip, p.l4);
    if (!t) return null;
    const entry: ConntrackEntry = {
      id: this.nextId(),
      netns: this.netns,
      original: t,
      reply: invert(t),
      dnat: null,
      snat: null,
      seenReply: false,
      confirmed: false,
      tcpState: t.proto === 'tcp' ? 'SYN_SENT' : null,
      mark: 0,
    };
    this.entries.push(entry);
    return entry;
  }

  /** Binds a destination NAT to the entry: replies will come from `ip:port`. */
  bindDnat(e: ConntrackEntry, ip: Ip, port: number): void {
    e.dnat = { ip, port };
    e.reply = { ...e.reply, src: ip, sport: port };
  }

  /** Binds a source NAT to the entry: replies will be addressed to `ip:port`. */
  bindSnat(e: ConntrackEntry, ip: Ip, port: number): void {
    e.snat = { ip, port };
    e.reply = { ...e.reply, dst: ip, dport: port };
  }
}

/** `conntrack -L` line for an entry. */
export function formatConntrack(e: ConntrackEntry): string {
  const num = e.original.proto === 'tcp' ? 6 : e.original.proto === 'udp' ? 17 : 1;
  const tuple = (t: Tuple): string =>
    t.proto === 'icmp'
      ? `src=${t.src} dst=${t.dst} type=${t === e.original ? 8 : 0} code=0 id=${t.sport}`
      : `src=${t.src} dst=${t.dst} sport=${t.sport} dport=${t.dport}`;
  const state = e.tcpState ? ` ${e.tcpState}` : '';
  const unreplied = e.seenReply ? '' : ' [UNREPLIED]';
  const assured =
    e.seenReply && e.original.proto === 'tcp' && e.tcpState === 'ESTABLISHED' ? ' [ASSURED]' : '';
  return `${e.original.proto} ${num}${state} ${tuple(e.original)}${unreplied} ${tuple(e.reply)}${assured} mark=${e.mark} use=1`;
}

/** Rewrites a packet's addresses and ports (and for ICMP errors the quoted packet's, mirrored). */
export function rewrite(
  p: IpPacket,
  change: { src?: Ip; sport?: number; dst?: Ip; dport?: number },
): IpPacket {
  const ip = {
    ...p.ip,
    ...(change.src ? { src: change.src } : {}),
    ...(change.dst ? { dst: change.dst } : {}),
  };
  let l4: L4Header = p.l4;
  if (l4.kind === 'tcp' || l4.kind === 'udp') {
    l4 = {
      ...l4,
      ...(change.sport !== undefined ? { sport: change.sport } : {}),
      ...(change.dport !== undefined ? { dport: change.dport } : {}),
    };
  } else if (isIcmpErrorHeader(l4)) {
    // The quoted packet went the other way: its destination is our source and vice versa.
    const q = l4.original;
    const qip = {
      ...q.ip,
      ...(change.dst ? { src: change.dst } : {}),
      ...(change.src ? { dst: change.src } : {}),
    };
    let ql4 = q.l4;
    if (ql4.kind === 'tcp' || ql4.kind === 'udp')
      ql4 = {
        ...ql4,
        ...(change.dport !== undefined ? { sport: change.dport } : {}),
        ...(change.sport !== undefined ? { dport: change.sport } : {}),
      };
    l4 = { ...l4, original: { ip: qip, l4: ql4 } };
  }
  if (p.vxlan && p.inner) return { ip, l4, vxlan: p.vxlan, inner: p.inner };
  return p.dns ? { ip, l4, dns: p.dns } : { ip, l4 };
}

// ───────────────────────────── `conntrack -L` text ─────────────────────────────

/**
 * Reads what `conntrack -L` prints (also with `-o extended`, which starts lines with "ipv4 2"): the original
 * tuple, the reply tuple, flags and the mark. The NAT of an entry is what the reply tuple says: a reply source
 * other than the original destination is a DNAT, a reply destination other than the original source a SNAT
 * (as conntrack itself records it). tcp, udp and icmp entries are kept; other protocols and IPv6 are left out
 * with a warning. The summary line conntrack prints on stderr is skipped if pasted along.
 */
export function parseConntrackList(text: string): { entries: ConntrackEntry[]; problems: TextProblem[] } {
  const entries: ConntrackEntry[] = [];
  const problems: TextProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    let words = raw
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    if (words.length === 0 || words[0]!.startsWith('#')) return;
    if (/^conntrack v[\d.]+/.test(raw.trim())) return;
    const error = (message: string) => problems.push({ line, message, severity: 'error' });
    const warn = (message: string) => problems.push({ line, message, severity: 'warning' });
    if (words[0] === 'ipv6') return warn('IPv6 entries are not modelled; left out');
    if (words[0] === 'ipv4') words = words.slice(2);
    const proto = words[0];
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'icmp') {
      if (proto && /^[a-z0-9]+$/.test(proto) && /^\d+$/.test(words[1] ?? ''))
        return warn(`${proto} entries are not modelled; left out`);
      return error(`"${proto ?? ''}" is not a conntrack entry (expected tcp, udp or icmp first)`);
    }
    let k = 2; // protocol name and number
    if (/^\d+$/.test(words[k] ?? '')) k++; // the timeout
    let tcpState: TcpCtState | null = null;
    if (proto === 'tcp') {
      const st = words[k];
      if (!st || !TCP_CT_STATES.includes(st))
        return error(`TCP state "${st ?? ''}" is not one conntrack prints`);
      tcpState = st as TcpCtState;
      k++;
    }
    const tuples: Record<string, string>[] = [];
    let unreplied = false;
    let mark = 0;
    for (; k < words.length; k++) {
      const w = words[k]!;
      if (w === '[UNREPLIED]') unreplied = true;
      else if (w.startsWith('['))
        continue; // [ASSURED], [OFFLOAD], [HW_OFFLOAD]
      else {
        const eq = w.indexOf('=');
        if (eq <= 0) return error(`"${w}" is neither key=value nor a [FLAG]`);
        const key = w.slice(0, eq);
        const value = w.slice(eq + 1);
        if (key === 'src') tuples.push({});
        if (key === 'mark') {
          if (!/^\d+$/.test(value)) return error(`mark "${value}": not a number`);
          mark = Number(value);
        } else if (['src', 'dst', 'sport', 'dport', 'type', 'code', 'id'].includes(key)) {
          const t = tuples[tuples.length - 1];
          if (!t) return error(`${key}= before the first src=`);
          t[key] = value;
        }
        // use=, zone=, secctx=, delta-time=, timestamps: nothing a walk reads.
      }
    }
    if (tuples.length !== 2) return error(`expected two tuples (original and reply), found ${tuples.length}`);
    const read = (t: Record<string, string>, which: string): Tuple | string => {
      const src = t['src'];
      const dst = t['dst'];
      if (!src || !dst) return `${which} tuple: missing src= or dst=`;
      if (src.includes(':') || dst.includes(':')) return 'IPv6';
      if (!isIp(src) || !isIp(dst))
        return `${which} tuple: "${isIp(src) ? dst : src}" is not an IPv4 address`;
      const num = (key: string): number | string => {
        const v = t[key];
        return v !== undefined && /^\d+$/.test(v) && Number(v) <= 65535
          ? Number(v)
          : `${which} tuple: ${key}= missing or not 0-65535`;
      };
      const a = num(proto === 'icmp' ? 'id' : 'sport');
      const b = num(proto === 'icmp' ? 'id' : 'dport');
      if (typeof a === 'string') return a;
      if (typeof b === 'string') return b;
      return { proto, src, dst, sport: a, dport: b };
    };
    const original = read(tuples[0]!, 'original');
    const reply = read(tuples[1]!, 'reply');
    if (original === 'IPv6' || reply === 'IPv6') return warn('IPv6 entries are not modelled; left out');
    if (typeof original === 'string') return error(original);
    if (typeof reply === 'string') return error(reply);
    const dnat =
      reply.src !== original.dst || reply.sport !== original.dport
        ? { ip: reply.src, port: reply.sport }
        : null;
    const snat =
      reply.dst !== original.src || reply.dport !== original.sport
        ? { ip: reply.dst, port: reply.dport }
        : null;
    entries.push({
      id: entries.length + 1,
      netns: '',
      original,
      reply,
      dnat,
      snat,
      seenReply: !unreplied,
      confirmed: true,
      tcpState,
      mark,
    });
  });
  return { entries, problems };
}
