// The ICMP errors of the built-in scenarios' walks as the kernel sends them. Shared by the kernel test that
// records them (icmp-errors.test.ts: the walk's packet sent into a lab with the engine's exact bytes, the
// error captured on every interface it crosses) and by test/pcapng.test.ts, which compares the pcapng export
// with the recording byte for byte (test/fixtures/kernel-icmp-errors.json), so it stays checked on machines
// that cannot build a lab.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { portsOf, type Frame } from '../../src/engine/packet.ts';
import { captureOf } from '../../src/engine/pcapng.ts';
import type { Trace } from '../../src/engine/trace.ts';
import { internetChecksum } from '../../src/engine/wire.ts';
import type { World } from '../../src/engine/world.ts';
import { labRefusal, presetCases, whyNotChecked } from './presets.ts';

export const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'kernel-icmp-errors.json');

/** A frame of the recording: where it was captured (`netns direction device`) and its bytes in hex. */
export interface RecordedFrame {
  readonly at: string;
  readonly frame: string;
}

export interface RecordedWalk {
  readonly preset: string;
  readonly walk: string;
  /** The walk's packet as it left its sender (the engine's bytes, sent through a raw socket). */
  readonly sent: RecordedFrame;
  /** The ICMP error at every place the engine's trace shows it, in trace order, as the kernel captured it. */
  readonly errors: readonly RecordedFrame[];
}

export interface IcmpErrorFixture {
  readonly comment: string;
  /** `uname -r` of the recording machine. */
  readonly kernel: string;
  readonly walks: readonly RecordedWalk[];
  /** Walks with an ICMP error the lab cannot run, and why. */
  readonly notRecorded: readonly {
    readonly preset: string;
    readonly walk: string;
    readonly reason: string;
  }[];
}

export function readFixture(): IcmpErrorFixture {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as IcmpErrorFixture;
}

/** One place of a walk's capture: `netns direction device` and the export's bytes there. */
export interface ExportedFrame {
  readonly at: string;
  readonly netns: string;
  readonly seq: number;
  readonly bytes: Uint8Array;
  /** The ICMP error rides in VXLAN: the kernel's headers are the inner frame's, after 50 bytes. */
  readonly encapsulated: boolean;
}

export interface IcmpErrorWalk {
  readonly preset: string;
  readonly walk: string;
  readonly world: World;
  readonly trace: Trace;
  /** The leg-0 packet as it leaves its sender. */
  readonly sent: ExportedFrame;
  /** The export's ICMP error frames, in trace order. */
  readonly errors: readonly ExportedFrame[];
  /** Null when the lab can send the packet; otherwise why not. */
  readonly skip: string | null;
}

const isErrorFrame = (f: Frame): boolean => {
  const x = f.vxlan && f.inner ? f.inner : f;
  return x.l4.kind === 'icmp' && x.l4.original !== undefined;
};

/** Every walk of every built-in scenario whose trace shows an ICMP error (unreachable, redirect, ...). */
export function icmpErrorWalks(): IcmpErrorWalk[] {
  const out: IcmpErrorWalk[] = [];
  for (const c of presetCases()) {
    const refusal = labRefusal(c.world);
    const mtuOf = (ns: string, dev: string) => c.world.netns(ns).devices.get(dev)?.mtu;
    for (const w of c.walks) {
      const trace = w.trace;
      if (!trace) continue;
      const capture = captureOf(trace, { mtuOf });
      const bytesOf = new Map(capture.packets.map((p) => [p.seq, p.bytes]));
      const frames: ExportedFrame[] = [];
      let first: ExportedFrame | null = null;
      for (const e of trace.events) {
        if (e.type !== 'observe') continue;
        const f: ExportedFrame = {
          at: `${e.at.netns} ${e.direction} ${e.device}`,
          netns: e.at.netns,
          seq: e.seq,
          bytes: bytesOf.get(e.seq)!,
          encapsulated: e.packet.vxlan !== undefined,
        };
        if (!first && e.leg === 0 && e.direction === 'out') first = f;
        if (isErrorFrame(e.packet)) frames.push(f);
      }
      if (frames.length === 0 || !first) continue;
      const start = trace.events.find((e) => e.type === 'leg' && e.leg === 0);
      const firstOut = trace.events.find((e) => e.type === 'observe' && e.seq === first.seq);
      let skip = whyNotChecked(refusal, trace);
      if (skip === null && first.encapsulated) skip = 'the sender encapsulates its own packet';
      if (skip === null && start?.type === 'leg' && firstOut?.type === 'observe') {
        // The raw socket sends the packet as it leaves the sender; that must be the packet as its socket made
        // it (no NAT in the sender's own OUTPUT/POSTROUTING), or the kernel would translate it once more.
        const a = start.packet;
        const b = firstOut.packet;
        const [pa, pb] = [portsOf(a.l4), portsOf(b.l4)];
        const same =
          a.ip.src === b.ip.src &&
          a.ip.dst === b.ip.dst &&
          pa?.sport === pb?.sport &&
          pa?.dport === pb?.dport &&
          (a.l4.kind !== 'icmp' || (b.l4.kind === 'icmp' && a.l4.id === b.l4.id));
        if (!same) skip = 'the sender translates its own packet (NAT in its OUTPUT or POSTROUTING chain)';
      }
      out.push({
        preset: c.preset,
        walk: w.walk.name,
        world: c.world,
        trace,
        sent: first,
        errors: frames,
        skip,
      });
    }
  }
  return out;
}

// ───────────────────────────── comparing frames ─────────────────────────────

const IP = 14;
/** Offsets (within an IPv4 header) of what the kernel chooses itself in a packet without DF: the IP ID, a
 *  hash keyed per boot (__ip_select_ident), and so the header checksum. */
const IP_ID = [4, 5];
const IP_CHECKSUM = [10, 11];

/** Byte offsets of a frame that are the kernel's own choice: the IP ID and header checksum; for a VXLAN frame
 *  also the outer UDP source port (a hash of the inner flow, udp_flow_src_port) and the inner header's. */
export function kernelChosenOffsets(encapsulated: boolean): Set<number> {
  const at = (base: number, offs: readonly number[]) => offs.map((o) => base + o);
  const out = [...at(IP, IP_ID), ...at(IP, IP_CHECKSUM)];
  if (encapsulated) out.push(IP + 20, IP + 21, ...at(IP + 50, IP_ID), ...at(IP + 50, IP_CHECKSUM));
  return new Set(out);
}

/** The name of the field at a byte offset of an Ethernet + IPv4 + ICMP error frame (for messages). */
function fieldAt(offset: number, encapsulated: boolean): string {
  const o = encapsulated && offset >= 50 ? offset - 50 : offset;
  const pre = encapsulated ? (offset >= 50 ? 'inner ' : 'outer ') : '';
  if (o < 14) return `${pre}Ethernet`;
  const ip = [
    'version/IHL',
    'TOS',
    'total length',
    'total length',
    'ID',
    'ID',
    'flags',
    'fragment offset',
    'TTL',
    'protocol',
    'header checksum',
    'header checksum',
  ];
  if (o < 34) return `${pre}IP ${ip[o - 14] ?? (o < 30 ? 'source' : 'destination')}`;
  if (o < 42) return `${pre}ICMP ${['type', 'code', 'checksum', 'checksum'][o - 34] ?? 'rest of header'}`;
  if (o < 62) return `${pre}quoted IP ${ip[o - 42] ?? (o < 58 ? 'source' : 'destination')}`;
  return `${pre}quoted payload byte ${o - 62}`;
}

/**
 * The addresses a `--random-fully` MASQUERADE or SNAT of the trace translated a source to, and those a later
 * port-keeping SNAT carried them to (the cloud gateway's 1:1 SNAT): a packet from there has a port, or an echo
 * identifier, the kernel drew itself (nf_nat_l4proto_unique_tuple), so an ICMP error quoting it does too.
 */
export function randomFullySources(trace: Trace): Set<string> {
  const out = new Set<string>();
  const lastRule = new Map<string, string>();
  const ipOf = (s: string): string => s.replace(/:\d+$/, '');
  for (const e of trace.events) {
    if (e.type !== 'decide') continue;
    const d = e.decision;
    if (d.kind === 'netfilter') lastRule.set(e.at.netns, d.steps.at(-1)?.rule ?? '');
    if (d.kind !== 'nat' || (d.how !== 'MASQUERADE' && d.how !== 'SNAT') || d.field !== 'src') continue;
    if (/(^|\s)--random-fully(\s|$)/.test(lastRule.get(e.at.netns) ?? '') || out.has(ipOf(d.before)))
      out.add(ipOf(d.after));
  }
  return out;
}

/** One's complement 16-bit checksum `sum` updated for a field changed from `was` to `now` (RFC 1624 eqn. 3, as
 *  the kernel's NAT does it: csum_replace2). */
function checksumReplaced(sum: number, was: number, now: number): number {
  let x = (~sum & 0xffff) + (~was & 0xffff) + now;
  while (x > 0xffff) x = (x & 0xffff) + (x >>> 16);
  return ~x & 0xffff;
}

/**
 * The export's frame with the kernel's own draw put in where a `--random-fully` NAT chose the quoted packet's
 * port (TCP/UDP) or echo identifier (randomFullySources): the kernel's value there, and the quoted checksum that
 * covers it updated as NAT updates it. Returns the frame and what the kernel drew (`ip:port`), and a problem if
 * a drawn port is outside 1024-65535.
 */
export function withKernelDraws(
  ours: Uint8Array,
  kernel: Uint8Array,
  encapsulated: boolean,
  random: ReadonlySet<string>,
): { frame: Uint8Array; draws: string[]; problems: string[] } {
  const o = encapsulated ? 50 : 0;
  const q = o + 42; // the quoted IP header
  const frame = Uint8Array.from(ours);
  const draws: string[] = [];
  const problems: string[] = [];
  if (random.size === 0 || ours.length < q + 28 || kernel.length < q + 28) return { frame, draws, problems };
  const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
  const put = (at: number, v: number): void => {
    frame[at] = v >>> 8;
    frame[at + 1] = v & 0xff;
  };
  const proto = ours[q + 9];
  const l4 = q + 20;
  const checksumAt = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : l4 + 2;
  const sides = [
    { ip: [...ours.subarray(q + 12, q + 16)].join('.'), at: proto === 1 ? l4 + 4 : l4 },
    { ip: [...ours.subarray(q + 16, q + 20)].join('.'), at: proto === 1 ? l4 + 4 : l4 + 2 },
  ];
  for (const side of sides) {
    if (!random.has(side.ip) || (proto === 1 && side !== sides[0])) continue;
    const was = u16(frame, side.at);
    const now = u16(kernel, side.at);
    put(side.at, now);
    // A UDP checksum of 0 means none; otherwise it covers the port, as an ICMP echo's covers its identifier.
    if (checksumAt + 2 <= frame.length && !(proto === 17 && u16(frame, checksumAt) === 0))
      put(checksumAt, checksumReplaced(u16(frame, checksumAt), was, now));
    draws.push(`${side.ip}:${now}`);
    if (proto !== 1 && (now < 1024 || now > 65535))
      problems.push(`the kernel's port ${now} for ${side.ip} is outside 1024-65535`);
  }
  return { frame, draws, problems };
}

/** Whether the IPv4 header at `at` has a valid checksum. */
function headerChecksumOk(frame: Uint8Array, at: number): boolean {
  return internetChecksum(frame.subarray(at, at + 20)) === 0;
}

/**
 * How a kernel frame differs from the export's, the kernel's own choices (kernelChosenOffsets) apart: a list of
 * `byte N (field): export 0x.., kernel 0x..` lines, the length if it differs, and any header checksum that is
 * not valid in either. Empty when they agree.
 */
export function frameDifferences(ours: Uint8Array, kernel: Uint8Array, encapsulated: boolean): string[] {
  const out: string[] = [];
  if (ours.length !== kernel.length) out.push(`length: export ${ours.length}, kernel ${kernel.length}`);
  const skip = kernelChosenOffsets(encapsulated);
  const hex = (b: number | undefined) => (b === undefined ? '-' : `0x${b.toString(16).padStart(2, '0')}`);
  for (let i = 0; i < Math.min(ours.length, kernel.length); i++)
    if (!skip.has(i) && ours[i] !== kernel[i])
      out.push(`byte ${i} (${fieldAt(i, encapsulated)}): export ${hex(ours[i])}, kernel ${hex(kernel[i])}`);
  const headers = encapsulated ? [IP, IP + 50] : [IP];
  for (const h of headers) {
    if (!headerChecksumOk(ours, h)) out.push(`export: bad IP header checksum at byte ${h}`);
    if (!headerChecksumOk(kernel, h)) out.push(`kernel: bad IP header checksum at byte ${h}`);
  }
  return out;
}

/** Whether a captured frame is an IPv4 ICMP error (types 3, 4, 5, 11, 12), looking inside VXLAN. */
export function isIcmpErrorBytes(frame: Uint8Array, encapsulated: boolean): boolean {
  const o = encapsulated ? 50 : 0;
  return (
    frame.length >= o + 42 &&
    frame[o + 12] === 0x08 &&
    frame[o + 13] === 0x00 &&
    frame[o + 23] === 1 &&
    [3, 4, 5, 11, 12].includes(frame[o + 34]!)
  );
}

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
