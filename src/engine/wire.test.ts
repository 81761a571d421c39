import { describe, expect, it } from 'vitest';
import { dnsMessageLength, makeQuery, replyTo, type DnsMessage, type DnsRecord } from './dns.ts';
import {
  encodeDns,
  encodeEthernet,
  encodeIcmp,
  encodeIpv4Header,
  encodeTcp,
  encodeUdp,
  encodeVxlan,
  internetChecksum,
  tcpFlagBits,
} from './wire.ts';

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

describe('internetChecksum', () => {
  it('is RFC 1071 section 3 example: 0001 f203 f4f5 f6f7 sums to ddf2, checksum 220d', () => {
    expect(internetChecksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]))).toBe(0x220d);
  });
  it('pads an odd length with a zero byte, also across parts', () => {
    const whole = internetChecksum(Uint8Array.from([1, 2, 3]));
    expect(whole).toBe(internetChecksum(Uint8Array.from([1, 2, 3, 0])));
    expect(internetChecksum(Uint8Array.from([1]), Uint8Array.from([2, 3]))).toBe(whole);
  });
  it('is zero over data that includes its own checksum', () => {
    const h = encodeIpv4Header(
      { src: '10.244.1.2', dst: '10.244.2.2', ttl: 64, protocol: 6, df: true, id: 0x1234, tos: 0 },
      40,
    );
    expect(internetChecksum(h)).toBe(0);
  });
});

describe('encodeIpv4Header', () => {
  it('matches a known header (Wikipedia IPv4 header checksum example: b861)', () => {
    const h = encodeIpv4Header(
      { src: '192.168.0.1', dst: '192.168.0.199', ttl: 64, protocol: 17, df: true, id: 0, tos: 0 },
      0x73 - 20,
    );
    expect(hex(h)).toBe('450000730000400040 11b861c0a80001c0a800c7'.replace(/ /g, ''));
  });
  it('sets no DF bit when df is false', () => {
    const h = encodeIpv4Header(
      { src: '1.2.3.4', dst: '5.6.7.8', ttl: 1, protocol: 1, df: false, id: 7, tos: 0 },
      8,
    );
    expect(h[6]).toBe(0);
    expect((h[4]! << 8) | h[5]!).toBe(7);
  });
});

describe('TCP, UDP, ICMP, VXLAN, Ethernet', () => {
  it('maps tcpdump flag notation to bits', () => {
    expect(tcpFlagBits('S')).toBe(0x02);
    expect(tcpFlagBits('S.')).toBe(0x12);
    expect(tcpFlagBits('R.')).toBe(0x14);
    expect(() => tcpFlagBits('X')).toThrow(/unknown TCP flag/);
  });
  it('writes a TCP segment whose checksum verifies over the pseudo-header', () => {
    const seg = encodeTcp(
      {
        sport: 50471,
        dport: 3306,
        seq: 1,
        ack: 0,
        flags: 'S',
        window: 64240,
        options: [{ kind: 'mss', value: 1460 }, { kind: 'sack-permitted' }],
      },
      '10.0.0.1',
      '10.0.0.2',
      new Uint8Array(0),
    );
    expect(seg.length).toBe(28); // 20 + 6 bytes of options padded to 8
    expect(seg[12]! >> 4).toBe(7);
    const pseudo = Uint8Array.from([10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, seg.length]);
    expect(internetChecksum(pseudo, seg)).toBe(0);
  });
  it('writes UDP with a checksum, or 0 for none (VXLAN outer)', () => {
    const payload = Uint8Array.from([1, 2, 3, 4]);
    const on = encodeUdp({ sport: 1000, dport: 53, checksum: true }, '10.0.0.1', '10.0.0.2', payload);
    const pseudo = Uint8Array.from([10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0, 12]);
    expect(internetChecksum(pseudo, on)).toBe(0);
    const off = encodeUdp({ sport: 1000, dport: 8472, checksum: false }, '10.0.0.1', '10.0.0.2', payload);
    expect([off[6], off[7]]).toEqual([0, 0]);
  });
  it('writes ICMP with its checksum over the whole message', () => {
    const m = encodeIcmp({ type: 8, code: 0, rest: (0x1234 << 16) | 1 }, Uint8Array.from([0, 1, 2, 3]));
    expect(internetChecksum(m)).toBe(0);
    expect(hex(m.subarray(4, 8))).toBe('12340001');
  });
  it('writes the VXLAN header with the I flag and a 24-bit VNI', () => {
    expect(hex(encodeVxlan(1, new Uint8Array(0)))).toBe('0800000000000100');
  });
  it('writes Ethernet II: dst, src, EtherType', () => {
    expect(
      hex(
        encodeEthernet(
          { dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', ethertype: 0x0800 },
          new Uint8Array(0),
        ),
      ),
    ).toBe('ffffffffffff0200000000010800');
  });
});

describe('encodeDns', () => {
  const a = (name: string, address: string): DnsRecord => ({
    name,
    ttl: 5,
    class: 'IN',
    type: 'A',
    data: { address },
  });
  const query = makeQuery('db-service.default.svc.cluster.local', 'A', 0x1234);
  const answer: DnsMessage = {
    ...replyTo(query),
    flags: { qr: true, aa: true, tc: false, rd: true, ra: false },
    answer: [a('db-service.default.svc.cluster.local.', '10.96.106.22')],
  };
  const nx: DnsMessage = {
    ...replyTo(makeQuery('x.default.svc.cluster.local', 'A', 7), 'NXDOMAIN'),
    authority: [
      {
        name: 'cluster.local.',
        ttl: 30,
        class: 'IN',
        type: 'SOA',
        data: {
          mname: 'ns.dns.cluster.local.',
          rname: 'hostmaster.cluster.local.',
          serial: 1700000000,
          refresh: 7200,
          retry: 1800,
          expire: 86400,
          minimum: 30,
        },
      },
    ],
  };
  const srv: DnsMessage = {
    ...replyTo(makeQuery('_mysql._tcp.db.default.svc.cluster.local', 'SRV', 9)),
    answer: [
      {
        name: '_mysql._tcp.db.default.svc.cluster.local.',
        ttl: 5,
        class: 'IN',
        type: 'SRV',
        data: { priority: 0, weight: 100, port: 3306, target: 'db.default.svc.cluster.local.' },
      },
    ],
    additional: [a('db.default.svc.cluster.local.', '10.96.0.20')],
    edns: { udpSize: 1232, do: false },
  };
  const txt: DnsMessage = {
    ...replyTo(makeQuery('t.example', 'TXT', 3)),
    answer: [
      { name: 't.example.', ttl: 1, class: 'IN', type: 'TXT', data: { strings: ['héllo', 'x'] } },
      { name: 't.example.', ttl: 1, class: 'IN', type: 'AAAA', data: { address: '2001:db8::1' } },
    ],
  };

  it.each([
    ['a query', query],
    ['an answer (compressed)', answer],
    ['an answer sent uncompressed', { ...answer, compress: false }],
    ['NXDOMAIN with an SOA', nx],
    ['SRV with EDNS', srv],
    ['TXT and AAAA', txt],
  ] as const)('%s is exactly as long as dnsMessageLength says', (_name, msg) => {
    expect(encodeDns(msg).length).toBe(dnsMessageLength(msg));
  });

  it('writes the header and points the answer name back at the question (offset 12)', () => {
    const b = encodeDns(answer);
    expect(hex(b.subarray(0, 12))).toBe('1234' + '8500' + '0001' + '0001' + '0000' + '0000');
    const qEnd = 12 + 'db-service.default.svc.cluster.local.'.length + 1 + 4;
    expect(hex(b.subarray(qEnd, qEnd + 2))).toBe('c00c');
  });

  it('writes the OPT record last with the UDP size as its class', () => {
    const b = encodeDns(srv);
    expect(hex(b.subarray(b.length - 11))).toBe('00' + '0029' + '04d0' + '00000000' + '0000');
  });
});
