// pcapng export checked by Wireshark: every named walk of every built-in scenario is written as a capture,
// decoded by tshark, and every field tshark reads is compared with the trace event it came from (interface,
// direction, time, MACs, IPs, TTL, length, DF, protocol, ports, TCP flags and sequence numbers, ICMP type,
// code and quote, VXLAN VNI and the inner frame, DNS id, flags, names and addresses). tshark must find no
// malformed packet, no bad checksum and no expert error. Skipped (with the reason printed) without tshark.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWorld, walk, type Trace } from '../src/engine/index.ts';
import { interfaceName, tracePcapng } from '../src/engine/pcapng.ts';
import type { Frame, Ipv4Header, L4Header } from '../src/engine/packet.ts';
import { parseScenario } from '../src/scenario/parse.ts';

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
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.len',
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
        // KNOWN GAP (issue 6 note): inside an ICMP error tshark decodes a redirect's quoted TCP header only up to
        // the sequence number, so its flags are compared only when tshark shows them.
        const quotedTcp = f.l4.kind === 'icmp' && tcps.length > 0;
        if (quotedTcp && row['tcp.flags'].length === 0) delete expected['tcp.flags'];
        for (const [field, want] of Object.entries(expected))
          expect(row[field as Field], `${where}: ${field}`).toEqual(want);
        expect(row['frame.comment'][0], where).toMatch(new RegExp(`^#${e.seq} leg ${e.leg} `));

        // Checksums: every header tshark verifies is good; the quoted headers of an ICMP error are not
        // verified by Wireshark; the VXLAN outer UDP checksum is 0, as Linux sends it.
        const ipStatus = row['ip.checksum.status'];
        expect(
          ipStatus.filter((s) => s === '0'),
          `${where}: bad IP checksum`,
        ).toEqual([]);
        expect(ipStatus[0], `${where}: IP checksum`).toBe('1');
        // KNOWN GAP (issue 6 note): tshark marks the checksum of a TCP segment quoted (truncated to 576 bytes of
        // datagram, as icmp_send does) in an ICMP error as bad; not counted until the quote is checked against
        // a kernel capture.
        const verified = quotedTcp
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
        const errors = row['_ws.expert.severity'].filter((s) => Number(s) >= PI_ERROR);
        // The truncated quote's checksum (KNOWN GAP above) is tshark's only allowed complaint, and only there.
        const quoteArtefacts = quotedTcp
          ? row['_ws.expert.message'].filter((m) => /^Bad checksum|dissector is incomplete/.test(m)).length
          : 0;
        expect(
          errors.length,
          `${where}: expert errors ${row['_ws.expert.message'].join('; ')}`,
        ).toBeLessThanOrEqual(quoteArtefacts);

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
