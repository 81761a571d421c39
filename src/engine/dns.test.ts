import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dnsMessageLength,
  formatDig,
  formatDigRecord,
  formatRecord,
  makeQuery,
  replyTo,
  truncateMessage,
  validateDnsName,
  type DnsMessage,
  type DnsRecord,
} from './dns.ts';

const a = (name: string, address: string, ttl = 30): DnsRecord => ({
  name,
  ttl,
  class: 'IN',
  type: 'A',
  data: { address },
});

const soa: DnsRecord = {
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
};

describe('validateDnsName (RFC 1035 lengths and characters)', () => {
  it.each([
    ['cluster.local', null],
    ['cluster.local.', null],
    ['.', null],
    ['_http._tcp.db.default.svc.cluster.local.', null],
    ['10-244-1-5.default.pod.cluster.local', null],
    ['5678-abcd--1.hdls1.testns.svc.cluster.local', null],
    ['', 'empty name'],
    ['a..b', 'empty label (two dots in a row, or a leading dot)'],
    ['.a', 'empty label (two dots in a row, or a leading dot)'],
    ['-a.b', 'label "-a": only letters, digits, "-" and "_", not starting or ending with "-"'],
    ['a-.b', 'label "a-": only letters, digits, "-" and "_", not starting or ending with "-"'],
    ['web!.default', 'label "web!": only letters, digits, "-" and "_", not starting or ending with "-"'],
    [`${'x'.repeat(64)}.local`, `label "${'x'.repeat(64)}" is 64 characters long; at most 63`],
  ])('%j → %j', (name, error) => {
    expect(validateDnsName(name)).toBe(error);
  });

  it('allows 253 characters of name and no more (255 octets on the wire)', () => {
    const label = 'x'.repeat(63);
    const name253 = `${label}.${label}.${label}.${'y'.repeat(61)}`;
    expect(name253).toHaveLength(253);
    expect(validateDnsName(name253)).toBeNull();
    expect(validateDnsName(`${name253}.`)).toBeNull();
    expect(validateDnsName(`z${name253}`)).toBe('name is 254 characters long; at most 253');
  });
});

describe('formatRecord: miekg/dns RR.String()', () => {
  it.each<[string, DnsRecord, string]>([
    [
      'A',
      a('db.default.svc.cluster.local.', '10.96.0.20'),
      'db.default.svc.cluster.local.\t30\tIN\tA\t10.96.0.20',
    ],
    [
      'AAAA',
      { name: 'x.', ttl: 5, class: 'IN', type: 'AAAA', data: { address: '1234:abcd::1' } },
      'x.\t5\tIN\tAAAA\t1234:abcd::1',
    ],
    [
      'SRV',
      {
        name: '_http._tcp.web.default.svc.cluster.local.',
        ttl: 5,
        class: 'IN',
        type: 'SRV',
        data: { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local.' },
      },
      '_http._tcp.web.default.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 web.default.svc.cluster.local.',
    ],
    [
      'SOA',
      soa,
      'cluster.local.\t30\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 30',
    ],
    [
      'TXT (quoted, quotes escaped)',
      {
        name: 'dns-version.cluster.local.',
        ttl: 28800,
        class: 'IN',
        type: 'TXT',
        data: { strings: ['1.1.0', 'a"b'] },
      },
      'dns-version.cluster.local.\t28800\tIN\tTXT\t"1.1.0" "a\\"b"',
    ],
    [
      'PTR',
      {
        name: '20.0.96.10.in-addr.arpa.',
        ttl: 30,
        class: 'IN',
        type: 'PTR',
        data: { target: 'db.default.svc.cluster.local.' },
      },
      '20.0.96.10.in-addr.arpa.\t30\tIN\tPTR\tdb.default.svc.cluster.local.',
    ],
    [
      'CNAME',
      {
        name: 'ext.default.svc.cluster.local.',
        ttl: 30,
        class: 'IN',
        type: 'CNAME',
        data: { target: 'example.com.' },
      },
      'ext.default.svc.cluster.local.\t30\tIN\tCNAME\texample.com.',
    ],
    [
      'MX',
      {
        name: 'example.com.',
        ttl: 300,
        class: 'IN',
        type: 'MX',
        data: { preference: 10, exchange: 'mx.example.com.' },
      },
      'example.com.\t300\tIN\tMX\t10 mx.example.com.',
    ],
    [
      'NS',
      {
        name: 'cluster.local.',
        ttl: 30,
        class: 'IN',
        type: 'NS',
        data: { host: 'kube-dns.kube-system.svc.cluster.local.' },
      },
      'cluster.local.\t30\tIN\tNS\tkube-dns.kube-system.svc.cluster.local.',
    ],
  ])('%s', (_type, rr, text) => {
    expect(formatRecord(rr)).toBe(text);
  });
});

describe('formatDig: what dig prints', () => {
  it('lines records up on columns 24/32/40/48, with one blank when a field overruns (masterdump.c indent)', () => {
    // "example.com." ends at 12: two tabs reach 24; "86400" ends at 29, a tab reaches 32; and so on.
    expect(formatDigRecord(a('example.com.', '93.184.216.34', 86400))).toBe(
      'example.com.\t\t86400\tIN\tA\t93.184.216.34',
    );
    // 37 characters: past the TTL, class and type columns, so single spaces, then a tab to 48.
    expect(formatDigRecord(a('db-service.default.svc.cluster.local.', '10.96.0.20'))).toBe(
      'db-service.default.svc.cluster.local. 30 IN A\t10.96.0.20',
    );
  });

  it('prints an NXDOMAIN from CoreDNS with the recursion warning and the authority SOA', () => {
    const query = makeQuery('nope.default.svc.cluster.local', 'A', 4660);
    const reply: DnsMessage = {
      ...replyTo(query, 'NXDOMAIN'),
      flags: { qr: true, aa: true, tc: false, rd: true, ra: false },
      authority: [soa],
      compress: false,
    };
    expect(formatDig(reply, { server: '10.96.0.10' })).toBe(
      [
        ';; Got answer:',
        ';; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 4660',
        ';; flags: qr aa rd; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 0',
        ';; WARNING: recursion requested but not available',
        '',
        ';; QUESTION SECTION:',
        ';nope.default.svc.cluster.local. IN\tA',
        '',
        ';; AUTHORITY SECTION:',
        'cluster.local.\t\t30\tIN\tSOA\tns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 30',
        '',
        ';; Query time: 0 msec',
        ';; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)',
        ';; MSG SIZE  rcvd: 141',
        '',
      ].join('\n'),
    );
  });

  it('shows the OPT pseudosection and counts the OPT record as additional', () => {
    const reply: DnsMessage = {
      ...replyTo(makeQuery('example.com', 'A', 1, { edns: { udpSize: 1232, do: false } })),
      flags: { qr: true, aa: false, tc: false, rd: true, ra: true },
      answer: [a('example.com.', '93.184.216.34', 300)],
      edns: { udpSize: 1232, do: false },
    };
    const text = formatDig(reply, { server: '8.8.8.8', command: '@8.8.8.8 example.com' });
    expect(text).toContain(';; flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1\n\n');
    expect(text).toContain(
      ';; OPT PSEUDOSECTION:\n; EDNS: version: 0, flags:; udp: 1232\n;; QUESTION SECTION:',
    );
    expect(text).not.toContain('WARNING');
    expect(text.startsWith('\n; <<>> DiG 9.18 <<>> @8.8.8.8 example.com\n;; global options: +cmd\n')).toBe(
      true,
    );
    // 12 + 13 + 4 (question) + 2 + 10 + 4 (A, owner compressed) + 11 (OPT).
    expect(text).toContain(';; MSG SIZE  rcvd: 56\n');
  });
});

describe('dnsMessageLength: RFC 1035 wire size with miekg/dns compression', () => {
  const name = 'db.default.svc.cluster.local.'; // 29 characters: 30 bytes on the wire

  it('a stub query: header, name, type and class', () => {
    expect(dnsMessageLength(makeQuery(name, 'A', 1))).toBe(12 + 30 + 4);
    expect(dnsMessageLength(makeQuery(name, 'A', 1, { edns: { udpSize: 1200, do: false } }))).toBe(
      12 + 30 + 4 + 11,
    );
  });

  it('an answer owner that repeats the question is a 2-byte pointer; uncompressed it is the whole name', () => {
    const reply: DnsMessage = { ...replyTo(makeQuery(name, 'A', 1)), answer: [a(name, '10.96.0.20')] };
    expect(dnsMessageLength(reply)).toBe(12 + 30 + 4 + (2 + 10 + 4));
    expect(dnsMessageLength({ ...reply, compress: false })).toBe(12 + 30 + 4 + (30 + 10 + 4));
    expect(dnsMessageLength(reply, { compress: false })).toBe(90);
  });

  it('SOA names point at the suffix they share with the question', () => {
    const reply: DnsMessage = {
      ...replyTo(makeQuery('nope.default.svc.cluster.local', 'A', 1), 'NXDOMAIN'),
      authority: [soa],
    };
    // owner cluster.local. → pointer (2); mname "ns" "dns" + pointer (3+4+2); rname "hostmaster" + pointer (11+2).
    expect(dnsMessageLength(reply)).toBe(12 + 32 + 4 + (2 + 10 + 9 + 13 + 20));
    expect(dnsMessageLength(reply, { compress: false })).toBe(12 + 32 + 4 + (15 + 10 + 22 + 26 + 20));
  });

  it('an SRV target is never compressed, but a later name may point into it', () => {
    const target = 'web.default.svc.cluster.local.'; // 30 characters: 31 bytes
    const qname = `_http._tcp.${target}`;
    const reply: DnsMessage = {
      ...replyTo(makeQuery(qname, 'SRV', 1)),
      answer: [
        {
          name: qname,
          ttl: 5,
          class: 'IN',
          type: 'SRV',
          data: { priority: 0, weight: 100, port: 80, target },
        },
      ],
      additional: [a(target, '10.96.0.30', 5)],
    };
    // question 42 bytes; SRV: owner pointer 2 + 10 + 6 + full target 31; A: owner pointer 2 + 10 + 4.
    expect(dnsMessageLength(reply)).toBe(12 + 42 + 4 + (2 + 10 + 6 + 31) + (2 + 10 + 4));
  });

  it('compression never makes a message longer (property)', () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/);
    const nameArb = fc.array(label, { minLength: 1, maxLength: 5 }).map((ls) => `${ls.join('.')}.`);
    fc.assert(
      fc.property(nameArb, fc.array(nameArb, { maxLength: 8 }), (q, owners) => {
        const m: DnsMessage = {
          ...replyTo(makeQuery(q, 'A', 1)),
          answer: owners.map((o) => a(o, '10.0.0.1')),
        };
        expect(dnsMessageLength(m)).toBeLessThanOrEqual(dnsMessageLength(m, { compress: false }));
      }),
    );
  });
});

describe('truncateMessage: miekg Msg.Truncate', () => {
  const name = 'many.default.svc.cluster.local.';
  const big: DnsMessage = {
    ...replyTo(makeQuery(name, 'A', 1)),
    answer: Array.from({ length: 40 }, (_, i) => a(name, `10.244.0.${i + 2}`)),
  };

  it('sends a reply that fits uncompressed as it is, uncompressed', () => {
    const small = { ...big, answer: big.answer.slice(0, 3) };
    const t = truncateMessage(small, 512);
    expect(t.compress).toBe(false);
    expect(t.answer).toHaveLength(3);
    expect(t.flags.tc).toBe(false);
  });

  it('compresses a reply that would not fit, and keeps all of it when compression is enough', () => {
    // Uncompressed: 12 + 36 + 40 * (32 + 14) = 1888 > 512; compressed: 48 + 40 * 16 = 688 ≤ 1232.
    const t = truncateMessage(big, 1232);
    expect(t.compress).toBe(true);
    expect(t.answer).toHaveLength(40);
    expect(t.flags.tc).toBe(false);
    expect(dnsMessageLength(t)).toBe(688);
  });

  it('drops the records that do not fit 512 bytes and sets TC', () => {
    const t = truncateMessage(big, 512);
    // (512 - 48) / 16 = 29 records fit exactly.
    expect(t.answer).toHaveLength(29);
    expect(t.flags.tc).toBe(true);
    expect(dnsMessageLength(t)).toBeLessThanOrEqual(512);
  });
});

describe('makeQuery', () => {
  it('asks recursively for the fully qualified name', () => {
    const q = makeQuery('db.default', 'AAAA', 4660);
    expect(q).toEqual({
      id: 4660,
      opcode: 'QUERY',
      rcode: 'NOERROR',
      flags: { qr: false, aa: false, tc: false, rd: true, ra: false },
      question: [{ name: 'db.default.', type: 'AAAA' }],
      answer: [],
      authority: [],
      additional: [],
    });
  });
});
