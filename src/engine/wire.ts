// Wire encoders: headers as bytes, in network byte order, with their checksums — the emit half of smoltcp's
// `wire` modules. Each encoder takes a complete header representation (every field the wire carries, not only
// the ones the engine reasons about) and writes it; choosing values (sequence numbers, IP IDs, options) is the
// caller's business (pcapng.ts), nothing here decides anything.
//
//   Ethernet II  IEEE 802.3 (dst, src, EtherType)
//   IPv4         RFC 791; header checksum RFC 1071
//   TCP          RFC 9293; checksum over the RFC 9293 3.1 pseudo-header; options RFC 7323, RFC 2018
//   UDP          RFC 768; checksum with the pseudo-header, 0 sent as 0xffff; 0 means "none"
//   ICMP         RFC 792; checksum over the whole message
//   VXLAN        RFC 7348 5 (flags 0x08, 24-bit VNI)
//   DNS          RFC 1035 4.1 with name compression as miekg/dns packs it (the same rules as dns.ts's
//                dnsMessageLength, so the bytes are exactly as long as the engine says), EDNS(0) OPT RFC 6891
//
// Omitted: IPv4 options, IP fragmentation, TCP options other than MSS/SACK-permitted/timestamps/window scale.
import ipaddr from 'ipaddr.js';
import type { DnsMessage, DnsRecord } from './dns.ts';
import { fqdn, RCODE_VALUES, RR_TYPE_CODES } from './dns.ts';

/** IANA protocol numbers. */
export const IP_PROTOCOL = { icmp: 1, tcp: 6, udp: 17 } as const;
export const ETHERTYPE_IPV4 = 0x0800;

/** A growable byte buffer with big-endian writers (network byte order). */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  get length(): number {
    return this.len;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }

  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Overwrites two bytes at `at` (a checksum filled in after the fact). */
  setU16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** RFC 1071 Internet checksum of `parts` taken as one byte string (odd lengths padded with a zero byte). */
export function internetChecksum(...parts: readonly Uint8Array[]): number {
  let sum = 0;
  let odd: number | null = null;
  for (const p of parts)
    for (let i = 0; i < p.length; i++) {
      const b = p[i]!;
      if (odd === null) odd = b;
      else {
        sum += (odd << 8) | b;
        odd = null;
      }
    }
  if (odd !== null) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ipv4Bytes(ip: string): Uint8Array {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${ip}`);
  return Uint8Array.from(parts);
}

export function macBytes(mac: string): Uint8Array {
  const parts = mac.split(':').map((h) => parseInt(h, 16));
  if (parts.length !== 6 || parts.some((p) => Number.isNaN(p) || p < 0 || p > 255))
    throw new Error(`not a MAC address: ${mac}`);
  return Uint8Array.from(parts);
}

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ───────────────────────────── Ethernet ─────────────────────────────

export interface EthernetRepr {
  readonly dst: string;
  readonly src: string;
  readonly ethertype: number;
}

export function encodeEthernet(eth: EthernetRepr, payload: Uint8Array): Uint8Array {
  const w = new ByteWriter().bytes(macBytes(eth.dst)).bytes(macBytes(eth.src)).u16(eth.ethertype);
  return concat(w.done(), payload);
}

// ───────────────────────────── IPv4 ─────────────────────────────

export interface Ipv4Repr {
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly protocol: number;
  readonly df: boolean;
  readonly id: number;
  /** DSCP and ECN byte; Linux sends 0 unless a socket sets IP_TOS. */
  readonly tos: number;
}

export const IPV4_HEADER_BYTES = 20;

/** The 20-byte header for a payload of `payloadLength` bytes, checksum filled in. */
export function encodeIpv4Header(ip: Ipv4Repr, payloadLength: number): Uint8Array {
  const w = new ByteWriter()
    .u8(0x45) // version 4, IHL 5 words: no options
    .u8(ip.tos)
    .u16(IPV4_HEADER_BYTES + payloadLength)
    .u16(ip.id)
    .u16(ip.df ? 0x4000 : 0) // flags (DF) and fragment offset 0
    .u8(ip.ttl)
    .u8(ip.protocol)
    .u16(0)
    .bytes(ipv4Bytes(ip.src))
    .bytes(ipv4Bytes(ip.dst));
  const header = w.done();
  const sum = internetChecksum(header);
  header[10] = sum >>> 8;
  header[11] = sum & 0xff;
  return header;
}

export function encodeIpv4(ip: Ipv4Repr, payload: Uint8Array): Uint8Array {
  return concat(encodeIpv4Header(ip, payload.length), payload);
}

/** The RFC 9293 / RFC 768 pseudo-header: source, destination, zero, protocol, L4 length. */
function pseudoHeader(src: string, dst: string, protocol: number, length: number): Uint8Array {
  return new ByteWriter().bytes(ipv4Bytes(src)).bytes(ipv4Bytes(dst)).u8(0).u8(protocol).u16(length).done();
}

// ───────────────────────────── TCP ─────────────────────────────

export type TcpOption =
  | { readonly kind: 'mss'; readonly value: number }
  | { readonly kind: 'sack-permitted' }
  | { readonly kind: 'timestamps'; readonly value: number; readonly echo: number }
  | { readonly kind: 'window-scale'; readonly shift: number }
  | { readonly kind: 'nop' };

export interface TcpRepr {
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  /** tcpdump's notation: S, S., ., P., F., R, R. (E, W, U for ECE, CWR, URG). */
  readonly flags: string;
  readonly window: number;
  /** In the order they go on the wire; padded with end-of-list to a multiple of 4 bytes. */
  readonly options: readonly TcpOption[];
}

const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  F: 0x01,
  S: 0x02,
  R: 0x04,
  P: 0x08,
  '.': 0x10,
  U: 0x20,
  E: 0x40,
  W: 0x80,
};

/** The flags byte of tcpdump's notation ("S." is SYN|ACK). */
export function tcpFlagBits(flags: string): number {
  let bits = 0;
  for (const ch of flags) {
    const b = TCP_FLAG_BITS[ch];
    if (b === undefined) throw new Error(`unknown TCP flag "${ch}" in "${flags}"`);
    bits |= b;
  }
  return bits;
}

function encodeTcpOptions(options: readonly TcpOption[]): Uint8Array {
  const w = new ByteWriter();
  for (const o of options)
    switch (o.kind) {
      case 'nop':
        w.u8(1);
        break;
      case 'mss':
        w.u8(2).u8(4).u16(o.value);
        break;
      case 'window-scale':
        w.u8(3).u8(3).u8(o.shift);
        break;
      case 'sack-permitted':
        w.u8(4).u8(2);
        break;
      case 'timestamps':
        w.u8(8).u8(10).u32(o.value).u32(o.echo);
        break;
    }
  while (w.length % 4 !== 0) w.u8(0);
  return w.done();
}

/** Bytes the options take on the wire (padded). */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  return encodeTcpOptions(options).length;
}

/** A TCP segment; `src`/`dst` are the IP addresses of the pseudo-header. */
export function encodeTcp(tcp: TcpRepr, src: string, dst: string, payload: Uint8Array): Uint8Array {
  const opts = encodeTcpOptions(tcp.options);
  const headerLength = 20 + opts.length;
  const w = new ByteWriter()
    .u16(tcp.sport)
    .u16(tcp.dport)
    .u32(tcp.seq >>> 0)
    .u32(tcp.ack >>> 0)
    .u8((headerLength / 4) << 4)
    .u8(tcpFlagBits(tcp.flags))
    .u16(tcp.window)
    .u16(0) // checksum, below
    .u16(0) // urgent pointer
    .bytes(opts)
    .bytes(payload);
  const segment = w.done();
  const sum = internetChecksum(pseudoHeader(src, dst, IP_PROTOCOL.tcp, segment.length), segment);
  segment[16] = sum >>> 8;
  segment[17] = sum & 0xff;
  return segment;
}

// ───────────────────────────── UDP ─────────────────────────────

export interface UdpRepr {
  readonly sport: number;
  readonly dport: number;
  /** False: send checksum 0 ("no checksum", RFC 768), as Linux's VXLAN driver does for the outer UDP over
   *  IPv4 unless udpcsum is set (drivers/net/vxlan: VXLAN_F_UDP_ZERO_CSUM_TX is the IPv4 default). */
  readonly checksum: boolean;
}

export function encodeUdp(udp: UdpRepr, src: string, dst: string, payload: Uint8Array): Uint8Array {
  const datagram = new ByteWriter()
    .u16(udp.sport)
    .u16(udp.dport)
    .u16(8 + payload.length)
    .u16(0)
    .bytes(payload)
    .done();
  if (udp.checksum) {
    const sum = internetChecksum(pseudoHeader(src, dst, IP_PROTOCOL.udp, datagram.length), datagram);
    // RFC 768: a computed checksum of zero is sent as all ones.
    const v = sum === 0 ? 0xffff : sum;
    datagram[6] = v >>> 8;
    datagram[7] = v & 0xff;
  }
  return datagram;
}

// ───────────────────────────── ICMP ─────────────────────────────

export interface IcmpRepr {
  readonly type: number;
  readonly code: number;
  /** The second 32-bit word: id and sequence for echo, the gateway for a redirect, the next-hop MTU in the
   *  low 16 bits for "fragmentation needed" (RFC 1191), zero otherwise. */
  readonly rest: number;
}

/** An ICMP message; `body` is the echo data or the quoted original datagram of an error. */
export function encodeIcmp(icmp: IcmpRepr, body: Uint8Array): Uint8Array {
  const msg = new ByteWriter()
    .u8(icmp.type)
    .u8(icmp.code)
    .u16(0)
    .u32(icmp.rest >>> 0)
    .bytes(body)
    .done();
  const sum = internetChecksum(msg);
  msg[2] = sum >>> 8;
  msg[3] = sum & 0xff;
  return msg;
}

// ───────────────────────────── VXLAN ─────────────────────────────

export const VXLAN_HEADER_BYTES = 8;

/** RFC 7348: flags (I bit), 24 reserved bits, the VNI, 8 reserved bits; then the inner Ethernet frame. */
export function encodeVxlan(vni: number, innerFrame: Uint8Array): Uint8Array {
  const header = new ByteWriter()
    .u8(0x08)
    .u8(0)
    .u16(0)
    .u32((vni & 0xffffff) << 8)
    .done();
  return concat(header, innerFrame);
}

// ───────────────────────────── DNS ─────────────────────────────

const OPCODE_VALUES: Readonly<Record<DnsMessage['opcode'], number>> = {
  QUERY: 0,
  IQUERY: 1,
  STATUS: 2,
  NOTIFY: 4,
  UPDATE: 5,
};
const CLASS_IN = 1;
const TYPE_OPT = 41;
const MAX_COMPRESSION_OFFSET = 1 << 14;

/** UTF-8 bytes (TextEncoder is not in the engine's lib). */
function utf8(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return out;
}

/** Writes DNS names with miekg/dns's compression (msg.go packDomainName): every suffix starting at a label
 *  is remembered at its offset (below 2^14); a suffix seen before becomes a pointer when compression is on
 *  and the name may be compressed. Mirrors dns.ts nameLength, which computes the same lengths. */
class DnsNameWriter {
  private readonly table: Map<string, number> | null;

  constructor(
    private readonly w: ByteWriter,
    compress: boolean,
  ) {
    this.table = compress ? new Map() : null;
  }

  name(name: string, compressible: boolean): void {
    const s = fqdn(name);
    if (s === '.') {
      this.w.u8(0);
      return;
    }
    const off = this.w.length;
    let pointer: number | null = null;
    let end = s.length; // the text written as labels; a pointer follows when it stops short
    if (this.table !== null && (compressible || off < MAX_COMPRESSION_OFFSET)) {
      let at = 0;
      while (at < s.length - 1) {
        const suffix = s.slice(at);
        const seen = this.table.get(suffix);
        if (seen !== undefined) {
          if (compressible) {
            pointer = seen;
            end = at;
          }
          break;
        }
        if (off + at < MAX_COMPRESSION_OFFSET) this.table.set(suffix, off + at);
        at = s.indexOf('.', at) + 1;
      }
    }
    for (const label of s.slice(0, end).split('.')) {
      if (label === '') continue;
      const b = utf8(label);
      this.w.u8(b.length);
      for (const x of b) this.w.u8(x);
    }
    if (pointer !== null) this.w.u16(0xc000 | pointer);
    else this.w.u8(0);
  }
}

/** UTF-8 bytes of a string, for text on the wire or in capture files. */
export function utf8Bytes(s: string): Uint8Array {
  return Uint8Array.from(utf8(s));
}

function ipv6Bytes(text: string): number[] {
  return ipaddr.IPv6.parse(text).toByteArray();
}

function characterStrings(w: ByteWriter, strings: readonly string[]): void {
  for (const s of strings) {
    const b = utf8(s);
    w.u8(b.length);
    for (const x of b) w.u8(x);
  }
}

function encodeRecord(w: ByteWriter, names: DnsNameWriter, rr: DnsRecord): void {
  names.name(rr.name, true);
  w.u16(RR_TYPE_CODES[rr.type])
    .u16(CLASS_IN)
    .u32(rr.ttl >>> 0);
  const lengthAt = w.length;
  w.u16(0);
  const start = w.length;
  switch (rr.type) {
    case 'A':
      w.bytes(ipv4Bytes(rr.data.address));
      break;
    case 'AAAA':
      for (const b of ipv6Bytes(rr.data.address)) w.u8(b);
      break;
    case 'CNAME':
    case 'PTR':
      names.name(rr.data.target, true);
      break;
    case 'NS':
      names.name(rr.data.host, true);
      break;
    case 'MX':
      w.u16(rr.data.preference);
      names.name(rr.data.exchange, true);
      break;
    case 'SOA':
      names.name(rr.data.mname, true);
      names.name(rr.data.rname, true);
      w.u32(rr.data.serial >>> 0)
        .u32(rr.data.refresh >>> 0)
        .u32(rr.data.retry >>> 0)
        .u32(rr.data.expire >>> 0)
        .u32(rr.data.minimum >>> 0);
      break;
    case 'SRV':
      // RFC 2782: the target is never compressed.
      w.u16(rr.data.priority).u16(rr.data.weight).u16(rr.data.port);
      names.name(rr.data.target, false);
      break;
    case 'TXT':
      characterStrings(w, rr.data.strings);
      break;
    case 'HINFO':
      characterStrings(w, [rr.data.cpu, rr.data.os]);
      break;
  }
  w.setU16(lengthAt, w.length - start);
}

/** The message in RFC 1035 wire format, compressed unless `msg.compress` is false (as dnsMessageLength). */
export function encodeDns(msg: DnsMessage): Uint8Array {
  const w = new ByteWriter();
  const f = msg.flags;
  const flags =
    (f.qr ? 0x8000 : 0) |
    (OPCODE_VALUES[msg.opcode] << 11) |
    (f.aa ? 0x0400 : 0) |
    (f.tc ? 0x0200 : 0) |
    (f.rd ? 0x0100 : 0) |
    (f.ra ? 0x0080 : 0) |
    RCODE_VALUES[msg.rcode];
  w.u16(msg.id)
    .u16(flags)
    .u16(msg.question.length)
    .u16(msg.answer.length)
    .u16(msg.authority.length)
    .u16(msg.additional.length + (msg.edns ? 1 : 0));
  const names = new DnsNameWriter(w, msg.compress ?? true);
  for (const q of msg.question) {
    names.name(q.name, true);
    w.u16(RR_TYPE_CODES[q.type]).u16(CLASS_IN);
  }
  for (const rr of [...msg.answer, ...msg.authority, ...msg.additional]) encodeRecord(w, names, rr);
  if (msg.edns) {
    // RFC 6891 6.1.2: root owner, TYPE 41, CLASS = UDP payload size, TTL = extended RCODE, version, DO bit.
    w.u8(0)
      .u16(TYPE_OPT)
      .u16(msg.edns.udpSize)
      .u8(0)
      .u8(0)
      .u16(msg.edns.do ? 0x8000 : 0)
      .u16(0);
  }
  return w.done();
}
