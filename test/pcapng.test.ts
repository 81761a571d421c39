// pcapng export checked by Wireshark: every named walk of every built-in scenario is written as a capture,
// decoded by tshark, and every field tshark reads is compared with the trace event it came from (interface,
// direction, time, MACs, IPs, TTL, length, DF, protocol, ports, TCP flags and sequence numbers, ICMP type,
// code and quote, VXLAN VNI and the inner frame, DNS id, flags, names and addresses). tshark must find no
// malformed packet, no bad checksum and no expert error — but one, which a real capture shows too: the checksum
// of a TCP segment an ICMP error quotes only in part, which Wireshark checksums over the bytes present. Skipped
// (with the reason printed) without tshark.
//
// The ICMP errors are also compared byte for byte with the kernel's own, recorded from a lab by
// test/conformance/icmp-errors.test.ts (test/fixtures/kernel-icmp-errors.json); that part needs no tshark.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWorld, walk, type Trace } from '../src/engine/index.ts';
import { captureOf, interfaceName, tracePcapng } from '../src/engine/pcapng.ts';
import type { Frame, Ipv4Header, L4Header } from '../src/engine/packet.ts';
import { internetChecksum } from '../src/engine/wire.ts';
import { parseScenario } from '../src/scenario/parse.ts';
import {
  fromHex,
  frameDifferences,
  icmpErrorWalks,
  randomFullySources,
  readFixture,
  toHex,
  withKernelDraws,
} from './conformance/icmpErrors.ts';

const presetDir = join(import.meta.dirname, '..', 'src', 'scenario', 'presets');
const presets = readdirSync(presetDir).filter((f) => f.endsWith('.yaml'));
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
if (!hasTshark) console.warn('pcapng tests skipped: tshark is not installed (apt-get install tshark)');

const dir = mkdtempSync(join(tmpdir(), 'pw-pcapng-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIELDS = [
  'frame.interface_name',
  'frame.interface_description',
  'frame.packet_flags_direction',
  'frame.comment',
  'frame.time_epoch',
  'frame.len',
  'eth.src',
  'eth.dst',
  'ip.src',
  'ip.dst',
  'ip.ttl',
  'ip.len',
  'ip.flags.df',
  'ip.proto',
  'ip.checksum.status',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'tcp.seq',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.len',
  'tcp.checksum',
  'tcp.checksum.status',
  'udp.srcport',
  'udp.dstport',
  'udp.checksum',
  'udp.checksum.status',
  'icmp.type',
  'icmp.code',
  'icmp.mtu',
  'icmp.checksum.status',
  'vxlan.vni',
  'dns.id',
  'dns.flags.response',
  'dns.flags.rcode',
  'dns.qry.name',
  'dns.count.answers',
  'dns.count.auth_rr',
  'dns.count.add_rr',
  'dns.a',
  '_ws.malformed',
  '_ws.expert.severity',
  '_ws.expert.message',
] as const;
type Field = (typeof FIELDS)[number];
type Row = Record<Field, string[]>;

const TCP_FLAGS: Record<string, string> = {
  S: '0x0002',
  'S.': '0x0012',
  'R.': '0x0014',
  R: '0x0004',
  '.': '0x0010',
  'P.': '0x0018',
  'F.': '0x0011',
};
const PROTO = { icmp: '1', tcp: '6', udp: '17' } as const;
/** Wireshark's expert severities: PI_ERROR and above are errors (bad checksums, malformed packets). */
const PI_ERROR = 0x00800000;

function decode(file: string, vxlanPorts: readonly number[]): Row[] {
  const args = ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', '-E', 'separator=/t'];
  args.push('-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE');
  args.push('-o', 'tcp.relative_sequence_numbers:FALSE');
  for (const p of vxlanPorts) args.push('-d', `udp.port==${p},vxlan`);
  for (const f of FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const cols = line.split('\t');
      const row = {} as Row;
      FIELDS.forEach((f, i) => (row[f] = cols[i] ? cols[i].split('|') : []));
      return row;
    });
}

/** The frames of an Ethernet frame in the order tshark meets them: outer, then the VXLAN inner one. */
function frames(f: Frame): Frame[] {
  return f.vxlan && f.inner ? [f, ...frames(f.inner)] : [f];
}
/** IP headers in tshark's order: each frame's, then the quoted one of an ICMP error. */
function ipHeaders(f: Frame): Ipv4Header[] {
  return frames(f).flatMap((x) =>
    x.l4.kind === 'icmp' && x.l4.original ? [x.ip, x.l4.original.ip] : [x.ip],
  );
}
function l4Headers(f: Frame): L4Header[] {
  return frames(f).flatMap((x) =>
    x.l4.kind === 'icmp' && x.l4.original ? [x.l4, x.l4.original.l4] : [x.l4],
  );
}

function pcapOf(trace: Trace, world: ReturnType<typeof buildWorld>, name: string): string {
  const file = join(dir, `${name}.pcapng`);
  writeFileSync(file, tracePcapng(trace, { mtuOf: (ns, dev) => world.netns(ns).devices.get(dev)?.mtu }));
  return file;
}

/**
 * What Wireshark computes for the TCP header an ICMP error quotes, when the quote stops before the segment
 * ends: it checksums the bytes present (packet-tcp.c: the pseudo-header with their length, since the quote's
 * tvb ends there) and, finding no match, says "Bad checksum [should be 0x....]". The quoted checksum is the
 * whole segment's, as the kernel copied it, so that value is the sum of the bytes present, not an error.
 */
function partialQuoteChecksum(frame: Uint8Array): number {
  const q = 14 + 28; // the quoted IP header, after Ethernet, the error's IP header and its ICMP header
  const tcp = Uint8Array.from(frame.subarray(q + 20));
  tcp[16] = tcp[17] = 0;
  const pseudo = Uint8Array.of(...frame.subarray(q + 12, q + 20), 0, 6, tcp.length >>> 8, tcp.length & 0xff);
  return internetChecksum(pseudo, tcp);
}

describe.skipIf(!hasTshark).each(presets)('pcapng of %s', (presetFile) => {
  const parsed = parseScenario(readFileSync(join(presetDir, presetFile), 'utf8'));
  if (!parsed.ok) throw new Error(`${presetFile} does not parse`);
  const model = parsed.model;

  it.each(model.walks.map((w) => [w.name, w] as const))(
    'walk %s: tshark reads what the trace says',
    (name, w) => {
      const world = buildWorld(model);
      const trace = walk(world, {
        from: w.from,
        to: w.to,
        protocol: w.protocol,
        ...(w.size !== null ? { size: w.size } : {}),
      });
      const file = pcapOf(trace, world, `${presetFile}-${name}`);
      const bytes = readFileSync(file);
      expect(bytes.readUInt32LE(0)).toBe(0x0a0d0d0a); // Section Header Block
      expect(bytes.readUInt32LE(8)).toBe(0x1a2b3c4d); // byte-order magic, little-endian

      const observed = trace.events.filter((e) => e.type === 'observe');
      const vxlanPorts = [
        ...new Set(
          observed.flatMap((e) => (e.packet.vxlan && e.packet.l4.kind === 'udp' ? [e.packet.l4.dport] : [])),
        ),
      ];
      const rows = decode(file, vxlanPorts);
      expect(rows.length).toBe(observed.length);
      const exported = new Map(
        captureOf(trace, { mtuOf: (ns, dev) => world.netns(ns).devices.get(dev)?.mtu }).packets.map((p) => [
          p.seq,
          p.bytes,
        ]),
      );

      const tcpSeq = new Map<string, number>(); // leg kind -> seq of its first packet
      observed.forEach((e, i) => {
        const row = rows[i]!;
        const where = `#${e.seq} ${e.direction} ${e.device} in ${e.at.netns}`;
        const f = e.packet;
        const all = frames(f);
        const ips = ipHeaders(f);
        const l4s = l4Headers(f);
        const tcps = l4s.filter((h) => h.kind === 'tcp');
        const udps = l4s.filter((h) => h.kind === 'udp');
        const icmps = l4s.filter((h) => h.kind === 'icmp');
        const expected: Partial<Row> = {
          'frame.interface_name': [interfaceName(e.at.netns, e.device)],
          'frame.packet_flags_direction': [e.direction === 'in' ? '0x00000001' : '0x00000002'],
          'frame.time_epoch': [`1704067200.${String(e.seq * 1_000_000).padStart(9, '0')}`],
          'frame.len': [String(14 + f.ip.length)],
          'eth.src': all.map((x) => x.eth.src),
          'eth.dst': all.map((x) => x.eth.dst),
          'ip.src': ips.map((h) => h.src),
          'ip.dst': ips.map((h) => h.dst),
          'ip.ttl': ips.map((h) => String(h.ttl)),
          'ip.len': ips.map((h) => String(h.length)),
          'ip.flags.df': ips.map((h) => (h.df ? '1' : '0')),
          'ip.proto': ips.map((h) => PROTO[h.protocol]),
          'tcp.srcport': tcps.map((h) => String(h.sport)),
          'tcp.dstport': tcps.map((h) => String(h.dport)),
          'tcp.flags': tcps.map((h) => TCP_FLAGS[h.flags] ?? h.flags),
          'udp.srcport': udps.map((h) => String(h.sport)),
          'udp.dstport': udps.map((h) => String(h.dport)),
          'icmp.type': icmps.map((h) => String(h.type)),
          'icmp.code': icmps.map((h) => String(h.code)),
          'icmp.mtu': icmps.flatMap((h) => (h.type === 3 && h.code === 4 ? [String(h.mtu)] : [])),
          'vxlan.vni': all.flatMap((x) => (x.vxlan ? [String(x.vxlan.vni)] : [])),
        };
        // An ICMP error quoting TCP (not inside VXLAN: the presets have none there).
        const quote = f.l4.kind === 'icmp' && f.l4.original?.l4.kind === 'tcp' ? f.l4.original : null;
        const frame = exported.get(e.seq)!;
        if (quote && f.l4.kind === 'icmp' && f.l4.type === 5) {
          // Wireshark decodes a redirect's quote only as far as RFC 792 promises it, the IP header and 64 bits
          // (packet-icmp.c: a redirect has no RFC 4884 length): the ports and the sequence number. The kernel
          // quotes the whole SYN (the recording below), which the ICMP checksum tshark verifies covers.
          delete expected['tcp.flags'];
          expect(row['tcp.flags'], `${where}: the redirect's quote, as far as tshark reads it`).toEqual([]);
          expect(row['tcp.checksum'], where).toEqual([]);
          expect(row['tcp.seq'], where).toEqual([String(Buffer.from(frame).readUInt32BE(14 + 48 + 4))]);
        }
        for (const [field, want] of Object.entries(expected))
          expect(row[field as Field], `${where}: ${field}`).toEqual(want);
        expect(row['frame.comment'][0], where).toMatch(new RegExp(`^#${e.seq} leg ${e.leg} `));

        // Checksums: every header tshark verifies is good, but the TCP checksum of a quote cut short (icmp_send
        // quotes at most 576 bytes of datagram in all): the kernel copies the whole segment's checksum, which
        // tshark cannot verify from part of it. It must be exactly the checksum tshark verified on the
        // segment as the router received it, and tshark's "should be" the sum of the bytes present. The VXLAN
        // outer UDP checksum is 0, as Linux sends it.
        const cut = quote !== null && quote.ip.length > f.ip.length - 28;
        const expectedErrors: string[] = [];
        if (cut && f.l4.kind === 'icmp' && f.l4.type !== 5) {
          expect(row['tcp.checksum.status'], `${where}: the cut quote's TCP checksum`).toEqual(['0']);
          const hex = (v: number) => `0x${v.toString(16).padStart(4, '0')}`;
          expectedErrors.push(`Bad checksum [should be ${hex(partialQuoteChecksum(frame))}]`);
          const received = [...observed]
            .reverse()
            .find(
              (o) =>
                o.seq < e.seq &&
                o.packet.ip.src === quote.ip.src &&
                o.packet.ip.dst === quote.ip.dst &&
                o.packet.ip.length === quote.ip.length &&
                o.packet.l4.kind === 'tcp',
            );
          expect(received, `${where}: the quoted segment earlier in the capture`).toBeDefined();
          const seen = rows[observed.indexOf(received!)]!;
          expect(seen['tcp.checksum.status'], `${where}: the segment itself`).toEqual(['1']);
          expect(row['tcp.checksum'], `${where}: the quoted checksum is the segment's`).toEqual(
            seen['tcp.checksum'],
          );
        }
        const ipStatus = row['ip.checksum.status'];
        expect(
          ipStatus.filter((s) => s === '0'),
          `${where}: bad IP checksum`,
        ).toEqual([]);
        expect(ipStatus[0], `${where}: IP checksum`).toBe('1');
        const verified = cut
          ? (['udp.checksum.status', 'icmp.checksum.status'] as const)
          : (['tcp.checksum.status', 'udp.checksum.status', 'icmp.checksum.status'] as const);
        for (const field of verified)
          expect(
            row[field].filter((s) => s === '0'),
            `${where}: bad ${field}`,
          ).toEqual([]);
        if (f.l4.kind === 'icmp') expect(row['icmp.checksum.status'][0], where).toBe('1');
        if (f.l4.kind === 'tcp') expect(row['tcp.checksum.status'][0], where).toBe('1');
        if (f.vxlan) {
          expect(row['udp.checksum'][0], `${where}: VXLAN outer UDP checksum`).toBe('0x0000');
          const inner = all[1]!;
          if (inner.l4.kind === 'udp') expect(row['udp.checksum.status'][1], where).toBe('1');
          if (inner.l4.kind === 'tcp') expect(row['tcp.checksum.status'][0], where).toBe('1');
        } else if (f.l4.kind === 'udp') expect(row['udp.checksum.status'][0], where).toBe('1');
        expect(row['_ws.malformed'], `${where}: malformed`).toEqual([]);
        // tshark's complaints of error severity: none, but the cut quote's checksum above, exactly.
        const errors = row['_ws.expert.message'].filter(
          (_, i) => Number(row['_ws.expert.severity'][i]) >= PI_ERROR,
        );
        expect(errors, `${where}: expert errors`).toEqual(expectedErrors);

        // TCP sequence numbers: a SYN-ACK acknowledges the SYN's; a reset answers a SYN with seq 0.
        const tcp = all.map((x) => x.l4).find((h) => h.kind === 'tcp');
        if (tcp && tcp.kind === 'tcp') {
          const seq = Number(row['tcp.seq_raw'][0]);
          const ack = Number(row['tcp.ack_raw'][0]);
          if (tcp.flags === 'S') {
            expect(ack, where).toBe(0);
            tcpSeq.set('syn', seq);
          } else if (tcp.flags === 'S.' || tcp.flags === 'R.') {
            const syn = tcpSeq.get('syn');
            if (syn !== undefined) expect(ack, `${where}: ack of the SYN`).toBe((syn + 1) >>> 0);
            if (tcp.flags === 'R.') expect(seq, where).toBe(0);
          }
        }

        // DNS: the message tshark decodes is the one the engine carries.
        const dns = all.map((x) => x.dns).find((m) => m !== undefined);
        if (dns) {
          expect(row['dns.id'], where).toEqual([`0x${dns.id.toString(16).padStart(4, '0')}`]);
          expect(row['dns.flags.response'], where).toEqual([dns.flags.qr ? '1' : '0']);
          const rcodes = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
          // Wireshark shows the reply code of responses only.
          expect(row['dns.flags.rcode'], where).toEqual(dns.flags.qr ? [String(rcodes[dns.rcode])] : []);
          expect(row['dns.qry.name'], where).toEqual(dns.question.map((q) => q.name.replace(/\.$/, '')));
          expect(row['dns.count.answers'], where).toEqual([String(dns.answer.length)]);
          expect(row['dns.count.auth_rr'], where).toEqual([String(dns.authority.length)]);
          expect(row['dns.count.add_rr'], where).toEqual([
            String(dns.additional.length + (dns.edns ? 1 : 0)),
          ]);
          const a = [...dns.answer, ...dns.authority, ...dns.additional].flatMap((rr) =>
            rr.type === 'A' ? [rr.data.address] : [],
          );
          expect(row['dns.a'], where).toEqual(a);
        }
      });
    },
  );
});

// ───────────────────────────── the kernel's ICMP errors ─────────────────────────────

describe('ICMP errors: the export equals what the kernel sent (test/fixtures/kernel-icmp-errors.json)', () => {
  const fixture = readFixture();
  const walks = icmpErrorWalks();
  const hint =
    'record it again: PWK_UPDATE_FIXTURES=1 npx vitest run test/conformance/icmp-errors.test.ts (root)';

  it('every walk with an ICMP error is recorded, or the lab says why it cannot run it', () => {
    const listed = (w: { preset: string; walk: string }) => `${w.preset}/${w.walk}`;
    expect(fixture.walks.map(listed), hint).toEqual(walks.filter((w) => w.skip === null).map(listed));
    expect(fixture.notRecorded, hint).toEqual(
      walks.flatMap((w) => (w.skip !== null ? [{ preset: w.preset, walk: w.walk, reason: w.skip }] : [])),
    );
  });

  it.each(walks.filter((w) => w.skip === null).map((w) => [`${w.preset}/${w.walk}`, w] as const))(
    '%s: the same bytes as the kernel, its own IP ID apart',
    (_, w) => {
      const rec = fixture.walks.find((x) => x.preset === w.preset && x.walk === w.walk)!;
      // The recording is of the export's own packet: the lab sent these very bytes.
      expect(rec.sent, hint).toEqual({ at: w.sent.at, frame: toHex(w.sent.bytes) });
      expect(
        rec.errors.map((e) => e.at),
        'the places the error was captured',
      ).toEqual(w.errors.map((e) => e.at));
      const random = randomFullySources(w.trace);
      w.errors.forEach((ours, i) => {
        const kernel = fromHex(rec.errors[i]!.frame);
        const drawn = withKernelDraws(ours.bytes, kernel, ours.encapsulated, random);
        expect(drawn.problems).toEqual([]);
        expect(
          frameDifferences(drawn.frame, kernel, ours.encapsulated),
          `#${ours.seq} at ${ours.at}`,
        ).toEqual([]);
      });
    },
  );

  // What the recording shows for the two TCP cases, spelled out (the byte comparison above implies it).
  const at = (preset: string, walk: string, i: number): Buffer => {
    const w = fixture.walks.find((x) => x.preset === preset && x.walk === walk);
    if (!w) throw new Error(`${preset}/${walk} is not recorded`);
    return Buffer.from(w.errors[i]!.frame, 'hex');
  };
  it('broken-mtu: fragmentation needed quotes 548 of the 1480 bytes, with the TTL the segment arrived with', () => {
    const f = at('broken-mtu', 'full-size-segment-cross-node', 0);
    const sent = Buffer.from(fixture.walks.find((x) => x.preset === 'broken-mtu')!.sent.frame, 'hex');
    expect([f[14 + 1], f.readUInt16BE(14 + 2), f[14 + 8], f[14 + 6]! & 0x40]).toEqual([0xc0, 576, 64, 0]);
    expect([f[34], f[35], f.readUInt16BE(40)]).toEqual([3, 4, 1450]);
    expect([f.length - 42, f.readUInt16BE(44), f[50]]).toEqual([548, 1480, 64]);
    // The quoted TCP checksum is the whole segment's, as it was sent.
    expect(f.readUInt16BE(62 + 16)).toBe(sent.readUInt16BE(34 + 16));
    expect(internetChecksum(f.subarray(34))).toBe(0);
  });
  it('l3-router: the redirect quotes the whole SYN, after the router decremented its TTL', () => {
    const f = at('l3-router', 'node-to-remote-pod', 0);
    expect([f[14 + 1], f.readUInt16BE(14 + 2), f[14 + 8], f[14 + 6]! & 0x40]).toEqual([0xc0, 88, 64, 0]);
    expect([f[34], f[35]]).toEqual([5, 1]);
    expect([f.length - 42, f.readUInt16BE(44), f[50]]).toEqual([60, 60, 63]);
    expect(internetChecksum(f.subarray(34))).toBe(0);
  });
});
