// Connection tracking: the original and reply tuples of a connection, its state, and the NAT bound to it on
// the first packet (net/netfilter/nf_conntrack_core.c, nf_nat_core.c). A later packet of the connection in
// either direction is translated by the entry, never by rules: DNAT rewrites the destination of original
// packets and the source of replies (the "un-DNAT"); SNAT/MASQUERADE the source of originals and the
// destination of replies. ICMP errors about a tracked packet are RELATED and translated the same way,
// inner quoted header included (nf_nat_icmp_reply_translation).
//
// Entries live in the walk's state, per namespace: a walk starts with empty tables, as after boot.
import type { Ip } from './addr.ts';
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
  tcpState: 'SYN_SENT' | 'SYN_RECV' | 'ESTABLISHED' | 'CLOSE' | null;
  mark: number;
}

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
