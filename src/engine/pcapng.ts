// A walk as a capture file: every `observe` event of a trace becomes one packet captured on that interface,
// in pcapng (draft-ietf-opsawg-pcapng: Section Header Block, one Interface Description Block per namespace
// and device, Enhanced Packet Blocks), so Wireshark or tshark shows the walk as if tcpdump had run on every
// device at once. The bytes come from wire.ts.
//
// The trace carries every header field the engine reasons about (addresses, TTL, DF, length, ports, flags,
// ICMP type/code/quote, VXLAN VNI, DNS messages). The rest of each header is what Linux would choose, made
// deterministic from the walk's seed (docs/export.md lists them):
//   - IP ID: the connected socket's counter (inet_id, random start) for the DF packets of a request or a
//     DNS query; 0 for other DF packets (ip_build_and_send_pkt sets 0 for SYN-ACKs, ip_select_ident_segs
//     for DF packets of unconnected sockets); a hash for packets without DF (__ip_select_ident). One value
//     per leg, so a packet keeps its ID hop after hop, as forwarding and NAT keep it; a redirect, sent by a
//     router in the middle of a leg, has its own.
//   - IP TOS: 0, except ICMP errors: 0xc0 (IPTOS_PREC_INTERNETCONTROL, net/ipv4/icmp.c __icmp_send).
//   - TCP: initial sequence numbers from the seed (secure_tcp_seq is keyed per boot); the SYN's options as
//     tcp_syn_options orders them (MSS, SACK permitted, timestamps, NOP, window scale 7), the MSS from the
//     sending device's MTU minus 40 (tcp_mss / dst_metric_advmss); the window tcp_select_initial_window
//     gives (65535 rounded down to a multiple of the MSS, the MSS less 12 for the timestamps on a SYN-ACK);
//     a reset answers a SYN with seq 0 and ack = seq + 1 + data (tcp_v4_send_reset), window 0, no options.
//   - payloads: bytes i & 0xff (ping's own fill pattern), as long as the engine's lengths say.
//   - time: the trace order, one millisecond per event from 2024-01-01T00:00:00Z; not a measurement.
import type { Frame, IpPacket, L4Header } from './packet.ts';
import type { Trace, TraceEvent } from './trace.ts';
import {
  ByteWriter,
  encodeDns,
  encodeEthernet,
  encodeIcmp,
  encodeIpv4,
  encodeTcp,
  encodeUdp,
  encodeVxlan,
  ETHERTYPE_IPV4,
  IP_PROTOCOL,
  ipv4Bytes,
  utf8Bytes,
  type TcpOption,
  type TcpRepr,
} from './wire.ts';

/** 2024-01-01T00:00:00Z in nanoseconds: where the capture's clock starts. */
export const CAPTURE_EPOCH_NS = 1_704_067_200n * 1_000_000_000n;
/** Time between two consecutive events of the trace. */
export const NS_PER_EVENT = 1_000_000n;
/** tcpdump's default snapshot length. */
export const SNAPLEN = 262_144;
export const LINKTYPE_ETHERNET = 1;
/** The window scale Linux advertises with the default 6 MB tcp_rmem maximum (tcp_select_initial_window). */
const WSCALE = 7;
/** The precedence bits of an ICMP error's TOS (include/uapi/linux/ip.h). */
const IPTOS_PREC_INTERNETCONTROL = 0xc0;
/** The MTU assumed when the caller cannot say (Ethernet's). */
const DEFAULT_MTU = 1500;

export interface CaptureOptions {
  /** The MTU of a device (for the MSS a SYN advertises); undefined falls back to 1500. */
  readonly mtuOf?: (netns: string, device: string) => number | undefined;
}

/** One interface of the capture: a device in a namespace. */
export interface CaptureInterface {
  readonly netns: string;
  readonly device: string;
  /** if_name: `node-1:cni0`, `pod/default/client:eth0`, `host/web:eth0`. */
  readonly name: string;
  readonly description: string;
}

/** One captured packet: an `observe` event as bytes. */
export interface CapturedPacket {
  /** The event's seq. */
  readonly seq: number;
  /** Index into the capture's interfaces. */
  readonly iface: number;
  readonly direction: 'in' | 'out';
  /** Nanoseconds since the Unix epoch. */
  readonly timestampNs: bigint;
  readonly bytes: Uint8Array;
  readonly comment: string;
}

export interface Capture {
  readonly interfaces: readonly CaptureInterface[];
  readonly packets: readonly CapturedPacket[];
  /** One line about the walk, the SHB's comment. */
  readonly comment: string;
}

/** The interface name of a device in a namespace: nodes by name, pods and hosts by their full id. */
export function interfaceName(netns: string, device: string): string {
  const short = netns.startsWith('node/') ? netns.slice('node/'.length) : netns;
  return `${short}:${device}`;
}

/** FNV-1a: the deterministic stand-in for the kernel's per-boot keyed hashes. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** What the stack chose for one leg's packet. */
interface LegWire {
  readonly index: number;
  readonly kind: string;
  /** The IP ID of the leg's packet (inner packet when encapsulated). */
  readonly ipId: number;
  /** The IP ID of an ICMP redirect a router sends about the leg's packet on its way (no DF: hashed). */
  readonly redirectIpId: number;
  /** The TCP fields the trace does not carry, when the leg is TCP. */
  readonly tcp: Omit<TcpRepr, 'sport' | 'dport' | 'flags'> | null;
  /** The packet the leg starts with (an ICMP error quotes it, DNS message included). */
  readonly first: IpPacket;
}

/** Builds the capture of a trace: its interfaces in order of first use and one packet per `observe`. */
export function captureOf(trace: Trace, options: CaptureOptions = {}): Capture {
  const legs = legWires(trace, options);
  const interfaces: CaptureInterface[] = [];
  const ifaceIndex = new Map<string, number>();
  const packets: CapturedPacket[] = [];
  for (const e of trace.events) {
    if (e.type !== 'observe') continue;
    const key = `${e.at.netns}\u0000${e.device}`;
    let iface = ifaceIndex.get(key);
    if (iface === undefined) {
      iface = interfaces.length;
      ifaceIndex.set(key, iface);
      interfaces.push({
        netns: e.at.netns,
        device: e.device,
        name: interfaceName(e.at.netns, e.device),
        description: `${e.device} in ${e.at.netns}${e.at.node && !e.at.netns.startsWith('node/') ? ` on node ${e.at.node}` : ''}`,
      });
    }
    const leg = legs[e.leg];
    if (!leg) throw new Error(`event #${e.seq} belongs to leg ${e.leg}, which the trace does not start`);
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(e.packet, leg, legs);
    } catch (err) {
      throw new Error(`event #${e.seq}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    packets.push({
      seq: e.seq,
      iface,
      direction: e.direction,
      timestampNs: CAPTURE_EPOCH_NS + BigInt(e.seq) * NS_PER_EVENT,
      bytes,
      comment: `#${e.seq} leg ${e.leg} ${leg.kind}: ${e.direction} ${e.device} in ${e.at.netns}`,
    });
  }
  const proto = trace.flow?.protocol ?? 'no packet';
  return {
    interfaces,
    packets,
    comment: `packet-walk: ${trace.from} -> ${trace.to} (${proto}, seed ${trace.seed}); times are the trace order, 1 ms per event`,
  };
}

function legWires(trace: Trace, options: CaptureOptions): LegWire[] {
  const starts = trace.events.filter((e): e is Extract<TraceEvent, { type: 'leg' }> => e.type === 'leg');
  const mtuOf = options.mtuOf ?? (() => undefined);
  const seed = trace.seed >>> 0;
  const isnClient = hash32(`isn client ${seed}`);
  const isnServer = hash32(`isn server ${seed}`);
  const tsClient = hash32(`tsval client ${seed}`);
  const tsServer = hash32(`tsval server ${seed}`);
  let clientSyn: { seq: number; dataLength: number } | null = null;
  const out: LegWire[] = [];
  for (const start of starts) {
    const p = start.packet;
    // The device the leg's packet leaves its first namespace by: its MTU gives the MSS.
    const firstOut = trace.events.find(
      (e) => e.type === 'observe' && e.leg === start.leg && e.direction === 'out',
    );
    const mtu =
      (firstOut && firstOut.type === 'observe' ? mtuOf(firstOut.at.netns, firstOut.device) : undefined) ??
      DEFAULT_MTU;
    const mss = mtu - 40;
    const connected = start.kind === 'request' || start.kind === 'dns-query';
    const ipId = !p.ip.df
      ? hash32(`ipid ${seed} ${start.leg} ${p.ip.src} ${p.ip.dst} ${p.ip.protocol}`) & 0xffff
      : connected
        ? hash32(`inet_id ${seed} ${start.leg}`) & 0xffff
        : 0;
    let tcp: LegWire['tcp'] = null;
    if (p.l4.kind === 'tcp') {
      const flags = p.l4.flags;
      const dataLength = p.ip.length - 20 - tcpHeaderLengthOf(flags);
      if (flags.includes('S') && !flags.includes('.')) {
        clientSyn = { seq: isnClient, dataLength };
        tcp = {
          seq: isnClient,
          ack: 0,
          window: Math.floor(65535 / mss) * mss,
          options: synOptions(mss, tsClient, 0),
        };
      } else if (flags.includes('S')) {
        const m = mss - 12;
        tcp = {
          seq: isnServer,
          ack: (isnClient + 1) >>> 0,
          window: Math.floor(65535 / m) * m,
          options: synOptions(mss, tsServer, tsClient),
        };
      } else if (flags.includes('R')) {
        // tcp_v4_send_reset: an answer to a segment without ACK has seq 0 and acks all it carried.
        const syn = clientSyn ?? { seq: isnClient, dataLength: 0 };
        tcp = { seq: 0, ack: (syn.seq + 1 + syn.dataLength) >>> 0, window: 0, options: [] };
      } else {
        tcp = {
          seq: (isnClient + 1) >>> 0,
          ack: (isnServer + 1) >>> 0,
          window: 502,
          options: [
            { kind: 'nop' },
            { kind: 'nop' },
            { kind: 'timestamps', value: tsClient + 1, echo: tsServer },
          ],
        };
      }
    }
    const redirectIpId = hash32(`ipid redirect ${seed} ${start.leg}`) & 0xffff;
    out[start.leg] = { index: start.leg, kind: start.kind, ipId, redirectIpId, tcp, first: p };
  }
  return out;
}

function synOptions(mss: number, tsval: number, tsecr: number): TcpOption[] {
  return [
    { kind: 'mss', value: mss },
    { kind: 'sack-permitted' },
    { kind: 'timestamps', value: tsval, echo: tsecr },
    { kind: 'nop' },
    { kind: 'window-scale', shift: WSCALE },
  ];
}

/** The TCP header length the engine counts for these flags (packet.ts l4HeaderLength). */
function tcpHeaderLengthOf(flags: string): number {
  if (flags.includes('S')) return 40;
  return flags.includes('R') ? 20 : 32;
}

/** Payload bytes: ping's fill pattern, byte i is i & 0xff. */
function fill(length: number): Uint8Array {
  if (length < 0) throw new Error(`negative payload length ${length}`);
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = i & 0xff;
  return b;
}

/** The IP packet (header and payload) of `p` as the leg's stack would have sent it. */
function encodeIpPacket(
  p: IpPacket | Frame,
  leg: LegWire,
  legs: readonly LegWire[],
  outer: boolean,
): Uint8Array {
  const { ip, l4 } = p;
  const payloadLength = ip.length - 20;
  let transport: Uint8Array;
  if (p.vxlan && p.inner && l4.kind === 'udp') {
    const inner = encodeFrame(p.inner, leg, legs);
    // Linux's VXLAN sends the outer UDP checksum as 0 over IPv4 (udp_tunnel_xmit_skb with nocheck).
    transport = encodeUdp(
      { sport: l4.sport, dport: l4.dport, checksum: false },
      ip.src,
      ip.dst,
      encodeVxlan(p.vxlan.vni, inner),
    );
  } else transport = encodeTransport(p, l4, leg, legs, payloadLength);
  if (transport.length !== payloadLength)
    throw new Error(
      `${ip.protocol} ${ip.src} > ${ip.dst}: the headers and payload take ${transport.length} bytes, the IP length says ${payloadLength}`,
    );
  // The outer header of an encapsulated packet is the tunnel's own: its ID comes from the tunnel's hash.
  // A redirect travels inside the leg of the packet it is about, but is the router's own packet.
  const error = isIcmpError(l4);
  const id = outer
    ? ip.df
      ? 0
      : hash32(`ipid outer ${leg.index} ${ip.src} ${ip.dst}`) & 0xffff
    : error && !isIcmpError(leg.first.l4)
      ? leg.redirectIpId
      : leg.ipId;
  // __icmp_send: an error's TOS is the quoted packet's TOS bits with precedence "internetwork control"
  // (every packet the engine sends has TOS 0, so 0xc0). VXLAN's outer header has the device's TOS, 0
  // (only the ECN bits are inherited: ip_tunnel_ecn_encap).
  const tos = error && !outer ? IPTOS_PREC_INTERNETCONTROL : 0;
  return encodeIpv4(
    { src: ip.src, dst: ip.dst, ttl: ip.ttl, protocol: IP_PROTOCOL[ip.protocol], df: ip.df, id, tos },
    transport,
  );
}

function encodeTransport(
  p: IpPacket | Frame,
  l4: L4Header,
  leg: LegWire,
  legs: readonly LegWire[],
  payloadLength: number,
): Uint8Array {
  const { ip } = p;
  switch (l4.kind) {
    case 'udp': {
      const data = p.dns ? encodeDns(p.dns) : fill(payloadLength - 8);
      return encodeUdp({ sport: l4.sport, dport: l4.dport, checksum: true }, ip.src, ip.dst, data);
    }
    case 'tcp': {
      if (!leg.tcp) throw new Error(`a TCP packet in a leg that did not start as TCP`);
      const dataLength = payloadLength - tcpHeaderLengthOf(l4.flags);
      return encodeTcp(
        { ...leg.tcp, sport: l4.sport, dport: l4.dport, flags: l4.flags },
        ip.src,
        ip.dst,
        fill(dataLength),
      );
    }
    case 'icmp': {
      let rest = 0;
      if (l4.type === 0 || l4.type === 8) rest = (((l4.id ?? 0) & 0xffff) << 16) | ((l4.seq ?? 0) & 0xffff);
      else if (l4.type === 3 && l4.code === 4) rest = (l4.mtu ?? 0) & 0xffff;
      else if (l4.type === 5 && l4.gateway) {
        const g = ipv4Bytes(l4.gateway);
        rest = ((g[0]! << 24) | (g[1]! << 16) | (g[2]! << 8) | g[3]!) >>> 0;
      }
      let body: Uint8Array;
      if (l4.original) {
        // The quoted datagram, byte for byte as the router received it (its leg's ID, sequence numbers,
        // payload or DNS message; the TTL the trace quotes), cut to the error's length (icmp_send quotes up
        // to 576 bytes in all). Its checksums are the original's: a cut TCP or UDP quote keeps the checksum
        // of the whole segment, which Wireshark then reports as bad (it checksums the bytes present).
        const origin = originLeg(leg, legs);
        const dns = origin.first.dns;
        const original: IpPacket = dns
          ? { ip: l4.original.ip, l4: l4.original.l4, dns }
          : { ip: l4.original.ip, l4: l4.original.l4 };
        body = encodeIpPacket(original, origin, legs, false).slice(0, payloadLength - 8);
      } else body = fill(payloadLength - 8);
      return encodeIcmp({ type: l4.type, code: l4.code, rest }, body);
    }
  }
}

/** ICMP messages that quote a packet: destination unreachable, redirect, time exceeded... (`icmp_pointers`
 *  marks them `.error` in net/ipv4/icmp.c). */
function isIcmpError(l4: L4Header): boolean {
  return l4.kind === 'icmp' && l4.original !== undefined;
}

/** The leg an ICMP error is about: the last leg before it that is not itself an error. */
function originLeg(leg: LegWire, legs: readonly LegWire[]): LegWire {
  for (let i = leg.index - 1; i >= 0; i--) {
    const l = legs[i];
    if (l && l.kind !== 'icmp-error') return l;
  }
  return leg;
}

/** One Ethernet frame of the leg, VXLAN inner frames included. */
function encodeFrame(f: Frame, leg: LegWire, legs: readonly LegWire[]): Uint8Array {
  const outer = f.vxlan !== undefined && f.inner !== undefined;
  return encodeEthernet(
    { dst: f.eth.dst, src: f.eth.src, ethertype: ETHERTYPE_IPV4 },
    encodeIpPacket(f, leg, legs, outer),
  );
}

// ───────────────────────────── pcapng blocks ─────────────────────────────
// Little-endian throughout (the byte-order magic says so); each option padded to 32 bits.

const BLOCK = { shb: 0x0a0d0d0a, idb: 0x00000001, epb: 0x00000006 } as const;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT = {
  endofopt: 0,
  comment: 1,
  shbUserappl: 4,
  ifName: 2,
  ifDescription: 3,
  ifTsresol: 9,
  epbFlags: 2,
} as const;
/** epb_flags bits 0-1: 01 inbound, 10 outbound. */
const EPB_DIRECTION = { in: 1, out: 2 } as const;

/** Little-endian writer over a growable buffer (pcapng's own fields; packet bytes are copied as they are). */
class LeWriter {
  private buf = new Uint8Array(64);
  private len = 0;
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
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  bytes(b: Uint8Array | readonly number[]): this {
    const a = b instanceof Uint8Array ? b : Uint8Array.from(b);
    this.room(a.length);
    this.buf.set(a, this.len);
    this.len += a.length;
    return this;
  }
  pad(): this {
    while (this.len % 4 !== 0) this.u8(0);
    return this;
  }
  option(code: number, value: Uint8Array | readonly number[]): this {
    return this.u16(code).u16(value.length).bytes(value).pad();
  }
  get length(): number {
    return this.len;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + body.length;
  return new LeWriter().u32(type).u32(total).bytes(body).u32(total).done();
}

/** The capture as a pcapng file. */
export function encodePcapng(capture: Capture): Uint8Array {
  const blocks: Uint8Array[] = [];
  blocks.push(
    block(
      BLOCK.shb,
      new LeWriter()
        .u32(BYTE_ORDER_MAGIC)
        .u16(1)
        .u16(0)
        .u32(0xffffffff) // section length unknown (-1)
        .u32(0xffffffff)
        .option(OPT.comment, utf8Bytes(capture.comment))
        .option(OPT.shbUserappl, utf8Bytes('packet-walk'))
        .u32(OPT.endofopt)
        .done(),
    ),
  );
  for (const i of capture.interfaces)
    blocks.push(
      block(
        BLOCK.idb,
        new LeWriter()
          .u16(LINKTYPE_ETHERNET)
          .u16(0)
          .u32(SNAPLEN)
          .option(OPT.ifName, utf8Bytes(i.name))
          .option(OPT.ifDescription, utf8Bytes(i.description))
          .option(OPT.ifTsresol, [9]) // 10^-9: nanoseconds
          .u32(OPT.endofopt)
          .done(),
      ),
    );
  for (const p of capture.packets) {
    const ts = p.timestampNs;
    blocks.push(
      block(
        BLOCK.epb,
        new LeWriter()
          .u32(p.iface)
          .u32(Number(ts >> 32n))
          .u32(Number(ts & 0xffffffffn))
          .u32(p.bytes.length)
          .u32(p.bytes.length)
          .bytes(p.bytes)
          .pad()
          .option(OPT.comment, utf8Bytes(p.comment))
          .option(OPT.epbFlags, new LeWriter().u32(EPB_DIRECTION[p.direction]).done())
          .u32(OPT.endofopt)
          .done(),
      ),
    );
  }
  const out = new ByteWriter();
  for (const b of blocks) out.bytes(b);
  return out.done();
}

/** A trace as a pcapng file (captureOf, then encodePcapng). */
export function tracePcapng(trace: Trace, options: CaptureOptions = {}): Uint8Array {
  return encodePcapng(captureOf(trace, options));
}
