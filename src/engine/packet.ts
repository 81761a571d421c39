// Wire formats: the headers of a packet as data, kept apart from any processing (as smoltcp's `wire`).
//
//   Frame
//   ├─ eth   { src, dst, type }               14 bytes
//   ├─ ip    { src, dst, ttl, protocol, df }  20 bytes
//   ├─ l4    tcp | udp | icmp                 20 (+options) | 8 | 8
//   ├─ vxlan { vni }                          8 bytes, only when l4 is the outer UDP of an overlay
//   └─ inner Frame                            the encapsulated frame (eth + ip + l4 ...)
//
// An ICMP error carries the leading headers of the packet that caused it (`icmp.original`), as RFC 792 says;
// how many bytes of that packet it quotes is the error's own IP length (Linux: up to 576 bytes in all).
import type { Ip, Mac } from './addr.ts';
import { formatRdata, type DnsMessage } from './dns.ts';

export interface EthHeader {
  readonly src: Mac;
  readonly dst: Mac;
}

export type IpProtocol = 'tcp' | 'udp' | 'icmp';

export interface Ipv4Header {
  readonly src: Ip;
  readonly dst: Ip;
  readonly ttl: number;
  readonly protocol: IpProtocol;
  /** Don't Fragment; Linux sets it on TCP and UDP sockets by default (path MTU discovery). */
  readonly df: boolean;
  /** IP total length in bytes (header + L4 header + payload). */
  readonly length: number;
}

export interface TcpHeader {
  readonly kind: 'tcp';
  readonly sport: number;
  readonly dport: number;
  /** tcpdump's notation: S, S., ., P., F., R, R. */
  readonly flags: string;
}

export interface UdpHeader {
  readonly kind: 'udp';
  readonly sport: number;
  readonly dport: number;
}

/** The headers of the packet an ICMP error quotes (its IP header and L4 header, as the sender of the error
 *  received it); the bytes quoted beyond them are the original's payload, cut to the error's length. */
export interface IcmpQuote {
  readonly ip: Ipv4Header;
  readonly l4: TcpHeader | UdpHeader | IcmpHeader;
}

export interface IcmpHeader {
  readonly kind: 'icmp';
  /** 0 echo reply, 3 destination unreachable, 5 redirect, 8 echo request, 11 time exceeded. */
  readonly type: number;
  readonly code: number;
  /** Echo identifier and sequence (types 0 and 8). */
  readonly id?: number;
  readonly seq?: number;
  /** The better gateway of a redirect (type 5). */
  readonly gateway?: string;
  /** Next-hop MTU of a "fragmentation needed" error (type 3 code 4). */
  readonly mtu?: number;
  /** The quoted packet of an error message. */
  readonly original?: IcmpQuote;
}

export type L4Header = TcpHeader | UdpHeader | IcmpHeader;

export interface VxlanHeader {
  readonly vni: number;
}

export interface Frame {
  readonly eth: EthHeader;
  readonly ip: Ipv4Header;
  readonly l4: L4Header;
  readonly vxlan?: VxlanHeader;
  readonly inner?: Frame;
  /** The DNS message a UDP payload carries (queries and answers of name resolution). */
  readonly dns?: DnsMessage;
}

/** An IP packet before it has an Ethernet header (what a socket sends or the IP layer routes). */
export interface IpPacket {
  readonly ip: Ipv4Header;
  readonly l4: L4Header;
  readonly vxlan?: VxlanHeader;
  readonly inner?: Frame;
  readonly dns?: DnsMessage;
}

export const ETH_HEADER_LEN = 14;
export const IPV4_HEADER_LEN = 20;
export const UDP_HEADER_LEN = 8;
export const ICMP_HEADER_LEN = 8;
export const VXLAN_HEADER_LEN = 8;
/** Linux's SYN and SYN-ACK carry 20 bytes of options (MSS, SACK permitted, timestamps, window scale). */
export const TCP_SYN_HEADER_LEN = 40;
export const TCP_BARE_HEADER_LEN = 20;
export const TCP_HEADER_LEN = 32; // 20 + timestamps option, as Linux sends on established flows
/** Bytes VXLAN adds around the inner frame: outer IP + UDP + VXLAN header + inner Ethernet. flannel sets
 *  flannel.1's MTU to the uplink's minus this (flannel pkg/backend/vxlan/vxlan.go: mtu = dev MTU - 50). */
export const VXLAN_OVERHEAD = IPV4_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN + ETH_HEADER_LEN;

export function l4HeaderLength(l4: L4Header): number {
  if (l4.kind === 'udp') return UDP_HEADER_LEN;
  if (l4.kind === 'icmp') return ICMP_HEADER_LEN;
  if (l4.flags.includes('S')) return TCP_SYN_HEADER_LEN;
  // tcp_v4_send_reset sends a bare header: no options.
  return l4.flags.includes('R') ? TCP_BARE_HEADER_LEN : TCP_HEADER_LEN;
}

export function frameLength(f: Frame | IpPacket): number {
  return ('eth' in f ? ETH_HEADER_LEN : 0) + f.ip.length;
}

export function withEth(p: IpPacket, eth: EthHeader): Frame {
  if (p.vxlan && p.inner) return { eth, ip: p.ip, l4: p.l4, vxlan: p.vxlan, inner: p.inner };
  return p.dns ? { eth, ip: p.ip, l4: p.l4, dns: p.dns } : { eth, ip: p.ip, l4: p.l4 };
}

export function stripEth(f: Frame): IpPacket {
  if (f.vxlan && f.inner) return { ip: f.ip, l4: f.l4, vxlan: f.vxlan, inner: f.inner };
  return f.dns ? { ip: f.ip, l4: f.l4, dns: f.dns } : { ip: f.ip, l4: f.l4 };
}

/** Ports of a TCP/UDP header, or null for ICMP. */
export function portsOf(l4: L4Header): { sport: number; dport: number } | null {
  return l4.kind === 'icmp' ? null : { sport: l4.sport, dport: l4.dport };
}

/** A tcpdump-like one-line description of the packet (inner packet after "|" for encapsulated frames). */
export function describePacket(p: Frame | IpPacket): string {
  const head = describeIp(p.ip, p.l4, p.dns);
  if (p.vxlan && p.inner) return `${head} vxlan vni ${p.vxlan.vni} | ${describePacket(p.inner)}`;
  return head;
}

function describeIp(ip: Ipv4Header, l4: L4Header, dns?: DnsMessage): string {
  const base = `ttl ${ip.ttl} len ${ip.length}`;
  switch (l4.kind) {
    case 'tcp':
      return `IP ${ip.src}.${l4.sport} > ${ip.dst}.${l4.dport}: Flags [${l4.flags}], ${base}`;
    case 'udp':
      if (dns) return `IP ${ip.src}.${l4.sport} > ${ip.dst}.${l4.dport}: ${describeDns(dns)}, ${base}`;
      return `IP ${ip.src}.${l4.sport} > ${ip.dst}.${l4.dport}: UDP, ${base}`;
    case 'icmp':
      return `IP ${ip.src} > ${ip.dst}: ICMP ${describeIcmp(l4)}, ${base}`;
  }
}

export function describeIcmp(h: IcmpHeader): string {
  if (h.type === 8) return `echo request, id ${h.id ?? 0}, seq ${h.seq ?? 0}`;
  if (h.type === 0) return `echo reply, id ${h.id ?? 0}, seq ${h.seq ?? 0}`;
  if (h.type === 11) return 'time exceeded in-transit';
  if (h.type === 5) return `redirect ${h.original?.ip.dst ?? ''} to host ${h.gateway ?? ''}`;
  if (h.type === 3) {
    const what: Record<number, string> = {
      0: 'net unreachable',
      1: 'host unreachable',
      3: 'port unreachable',
      4: `unreachable - need to frag (mtu ${h.mtu ?? 0})`,
      13: 'communication prohibited by filter',
    };
    return what[h.code] ?? `unreachable code ${h.code}`;
  }
  return `type ${h.type} code ${h.code}`;
}

/** A DNS message as tcpdump prints it: "4660+ A? db.default.svc.cluster.local." for a query,
 *  "4660* 1/0/0 A 10.96.0.20" or "4660 NXDomain* 0/1/0" for an answer (print-domain.c). */
export function describeDns(m: DnsMessage): string {
  const q = m.question[0];
  if (!m.flags.qr) return `${m.id}${m.flags.rd ? '+' : ''} ${q ? `${q.type}? ${q.name}` : ''}`.trimEnd();
  const rcode = m.rcode === 'NOERROR' ? '' : ` ${TCPDUMP_RCODES[m.rcode] ?? m.rcode}`;
  const counts = `${m.answer.length}/${m.authority.length}/${m.additional.length}`;
  const first = m.answer.map((rr) => ` ${rr.type} ${formatRdata(rr)}`).join(',');
  return `${m.id}${rcode}${m.flags.aa ? '*' : ''} ${counts}${first}`;
}

const TCPDUMP_RCODES: Readonly<Record<string, string>> = {
  NXDOMAIN: 'NXDomain',
  SERVFAIL: 'ServFail',
  REFUSED: 'Refused',
  FORMERR: 'FormErr',
  NOTIMP: 'NotImp',
};
