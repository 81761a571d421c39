import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddrError,
  BROADCAST_MAC,
  broadcastOf,
  cidrContains,
  cidrOf,
  cidrSize,
  cidrsOverlap,
  formatCidr,
  hashHex,
  intToIp,
  ipToInt,
  isIp,
  isMac,
  macFromName,
  maskOf,
  nthAddress,
  nthSubnet,
  parseCidr,
  parseIfAddr,
  parseIp,
  parseMac,
  type Cidr,
} from './addr.ts';

/** The first `prefix` bits of an address as a string of 0s and 1s: an oracle that shares no code with addr.ts. */
function bits(ip: string, prefix: number): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('')
    .slice(0, prefix);
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const anyIp = u32.map(intToIp);
/** A network address with its prefix, host bits cleared without using maskOf. */
const anyCidr: fc.Arbitrary<Cidr> = fc.tuple(u32, fc.integer({ min: 0, max: 32 })).map(([n, prefix]) => ({
  ip: intToIp(Number((BigInt(n) >> BigInt(32 - prefix)) << BigInt(32 - prefix))),
  prefix,
}));

describe('parseIp / isIp', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0'],
    ['1.2.3.4', '1.2.3.4'],
    ['10.244.1.2', '10.244.1.2'],
    ['192.168.1.11', '192.168.1.11'],
    ['255.255.255.255', '255.255.255.255'],
  ])('accepts %s', (text, canonical) => {
    expect(isIp(text)).toBe(true);
    expect(parseIp(text)).toBe(canonical);
  });

  it.each([
    ['octal-looking leading zero', '010.0.0.1'],
    ['leading zero in the last octet', '1.2.3.04'],
    ['double zero', '00.0.0.0'],
    ['octet 256', '256.1.1.1'],
    ['octet 999', '1.2.3.999'],
    ['three-part shorthand', '1.2.3'],
    ['two-part shorthand', '10.1'],
    ['single 32-bit number', '4294967295'],
    ['five parts', '1.2.3.4.5'],
    ['hex octet', '0x1.2.3.4'],
    ['IPv6 loopback', '::1'],
    ['IPv6 address', 'fe80::1'],
    ['IPv4-mapped IPv6', '::ffff:10.0.0.1'],
    ['a CIDR', '10.0.0.0/8'],
    ['negative octet', '-1.2.3.4'],
    ['plus sign', '1.2.3.+4'],
    ['empty octet', '1..2.3'],
    ['leading space', ' 1.2.3.4'],
    ['trailing space', '1.2.3.4 '],
    ['trailing newline', '1.2.3.4\n'],
    ['empty string', ''],
    ['a name', 'localhost'],
  ])('rejects %s (%j)', (_why, text) => {
    expect(isIp(text)).toBe(false);
    expect(() => parseIp(text)).toThrow(AddrError);
  });

  it('names the offending text in the error', () => {
    expect(() => parseIp('1.2.3')).toThrow('"1.2.3" is not an IPv4 address');
  });

  it('round-trips every 32-bit value through intToIp / parseIp / ipToInt', () => {
    fc.assert(
      fc.property(u32, (n) => {
        const ip = intToIp(n);
        expect(parseIp(ip)).toBe(ip);
        expect(ipToInt(ip)).toBe(n);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['0.0.0.0', 0],
    ['0.0.0.1', 1],
    ['0.0.1.0', 256],
    ['1.0.0.0', 16777216],
    ['10.244.1.2', 183763202],
    ['128.0.0.0', 2147483648],
    ['255.255.255.255', 4294967295],
  ])('ipToInt(%s) = %d (unsigned)', (ip, n) => {
    expect(ipToInt(ip)).toBe(n);
    expect(intToIp(n)).toBe(ip);
  });
});

describe('maskOf', () => {
  it.each([
    [0, 0],
    [1, 0x80000000],
    [8, 0xff000000],
    [16, 0xffff0000],
    [24, 0xffffff00],
    [31, 0xfffffffe],
    [32, 0xffffffff],
  ])('/%d = %d', (prefix, mask) => {
    expect(maskOf(prefix)).toBe(mask);
  });
});

describe('parseCidr / formatCidr', () => {
  it.each([
    ['10.244.0.0/16', '10.244.0.0', 16],
    ['10.244.1.0/24', '10.244.1.0', 24],
    ['0.0.0.0/0', '0.0.0.0', 0],
    ['192.168.1.11/32', '192.168.1.11', 32],
    ['10.96.0.0/12', '10.96.0.0', 12],
    ['203.0.113.0/24', '203.0.113.0', 24],
  ])('%s', (text, ip, prefix) => {
    const c = parseCidr(text, true);
    expect(c).toEqual({ ip, prefix });
    expect(formatCidr(c)).toBe(text);
  });

  it('clears host bits unless strict', () => {
    expect(parseCidr('10.244.1.7/24')).toEqual({ ip: '10.244.1.0', prefix: 24 });
    expect(parseCidr('10.255.255.255/8')).toEqual({ ip: '10.0.0.0', prefix: 8 });
    expect(parseCidr('1.2.3.4/0')).toEqual({ ip: '0.0.0.0', prefix: 0 });
    expect(() => parseCidr('10.244.1.7/24', true)).toThrow('has host bits set (network is 10.244.1.0/24)');
  });

  it.each([
    ['no slash', '10.0.0.0'],
    ['empty length', '10.0.0.0/'],
    ['length 33', '10.0.0.0/33'],
    ['negative length', '10.0.0.0/-1'],
    ['space in length', '10.0.0.0/ 8'],
    ['two slashes', '10.0.0.0/8/9'],
    ['three digits', '10.0.0.0/024'],
    ['shorthand address', '10.0/8'],
    ['octal address', '010.0.0.0/8'],
    ['IPv6 prefix', 'fd00::/8'],
  ])('rejects %s (%j)', (_why, text) => {
    expect(() => parseCidr(text)).toThrow(AddrError);
  });

  it('parseIfAddr keeps the host part', () => {
    expect(parseIfAddr('10.244.1.1/24')).toEqual({ ip: '10.244.1.1', prefix: 24 });
    expect(cidrOf(parseIfAddr('10.244.1.1/24'))).toEqual({ ip: '10.244.1.0', prefix: 24 });
    expect(formatCidr(parseIfAddr('192.168.1.11/24'))).toBe('192.168.1.11/24');
    expect(() => parseIfAddr('10.244.1.1')).toThrow(AddrError);
  });

  it('parseCidr(formatCidr(c)) == c for every prefix (strict, too)', () => {
    fc.assert(
      fc.property(anyCidr, (c) => {
        expect(parseCidr(formatCidr(c))).toEqual(c);
        expect(parseCidr(formatCidr(c), true)).toEqual(c);
      }),
      { numRuns: 500 },
    );
  });

  it('parsing any address with any length yields the network of that address', () => {
    fc.assert(
      fc.property(anyIp, fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        const c = parseCidr(`${ip}/${prefix}`);
        expect(c.prefix).toBe(prefix);
        expect(bits(c.ip, 32)).toBe(bits(ip, prefix).padEnd(32, '0'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('containment and overlap', () => {
  const C = (t: string): Cidr => parseCidr(t, true);

  it.each([
    ['10.244.0.0/16', '10.244.0.0', true],
    ['10.244.0.0/16', '10.244.255.255', true],
    ['10.244.0.0/16', '10.245.0.0', false],
    ['10.244.0.0/16', '10.243.255.255', false],
    ['10.244.1.0/24', '10.244.1.0', true],
    ['10.244.1.0/24', '10.244.1.255', true],
    ['10.244.1.0/24', '10.244.2.0', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['0.0.0.0/0', '0.0.0.0', true],
    ['192.168.1.11/32', '192.168.1.11', true],
    ['192.168.1.11/32', '192.168.1.12', false],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['128.0.0.0/1', '128.0.0.0', true],
    ['10.96.0.0/12', '10.111.255.255', true],
    ['10.96.0.0/12', '10.112.0.0', false],
    ['192.168.1.0/31', '192.168.1.1', true],
    ['192.168.1.0/31', '192.168.1.2', false],
  ])('%s contains %s: %s', (cidr, ip, want) => {
    expect(cidrContains(C(cidr), ip)).toBe(want);
  });

  it('cidrContains(c, ip) ⇔ the first c.prefix bits agree', () => {
    fc.assert(
      fc.property(anyCidr, anyIp, (c, ip) => {
        expect(cidrContains(c, ip)).toBe(bits(ip, c.prefix) === bits(c.ip, c.prefix));
      }),
      { numRuns: 1000 },
    );
  });

  it('a prefix contains its own network, broadcast and every nthAddress', () => {
    fc.assert(
      fc.property(anyCidr, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (c, f) => {
        expect(cidrContains(c, c.ip)).toBe(true);
        expect(cidrContains(c, broadcastOf(c))).toBe(true);
        expect(cidrContains(c, nthAddress(c, Math.floor(f * cidrSize(c))))).toBe(true);
      }),
    );
  });

  it.each([
    ['10.244.0.0/16', '10.244.1.0/24', true],
    ['10.244.1.0/24', '10.244.0.0/16', true],
    ['10.244.1.0/24', '10.244.2.0/24', false],
    ['10.96.0.0/12', '10.244.0.0/16', false],
    ['0.0.0.0/0', '203.0.113.0/24', true],
    ['10.0.0.0/8', '10.244.0.0/16', true],
    ['192.168.1.0/24', '192.168.1.11/32', true],
  ])('%s overlaps %s: %s', (a, b, want) => {
    expect(cidrsOverlap(C(a), C(b))).toBe(want);
  });

  it('overlap is symmetric and means one contains the other', () => {
    fc.assert(
      fc.property(anyCidr, anyCidr, (a, b) => {
        const want = cidrContains(a, b.ip) || cidrContains(b, a.ip);
        expect(cidrsOverlap(a, b)).toBe(want);
        expect(cidrsOverlap(b, a)).toBe(want);
      }),
      { numRuns: 500 },
    );
  });
});

describe('sizes, addresses and subnets', () => {
  it.each([
    ['10.244.1.0/24', 256, '10.244.1.255'],
    ['10.244.0.0/16', 65536, '10.244.255.255'],
    ['192.168.1.11/32', 1, '192.168.1.11'],
    ['0.0.0.0/0', 4294967296, '255.255.255.255'],
    ['10.96.0.0/12', 1048576, '10.111.255.255'],
  ])('%s: size %d, broadcast %s', (text, size, bcast) => {
    const c = parseCidr(text, true);
    expect(cidrSize(c)).toBe(size);
    expect(broadcastOf(c)).toBe(bcast);
  });

  it.each([
    ['10.244.1.0/24', 0, '10.244.1.0'],
    ['10.244.1.0/24', 1, '10.244.1.1'],
    ['10.244.1.0/24', 2, '10.244.1.2'],
    ['10.244.1.0/24', 255, '10.244.1.255'],
    ['10.244.0.0/16', 256, '10.244.1.0'],
    ['172.16.0.0/12', 5009, '172.16.19.145'],
    ['0.0.0.0/0', 4294967295, '255.255.255.255'],
  ])('nthAddress(%s, %d) = %s', (text, n, ip) => {
    expect(nthAddress(parseCidr(text, true), n)).toBe(ip);
  });

  it.each([
    ['10.244.1.0/24', 256],
    ['10.244.1.0/24', -1],
    ['192.168.1.11/32', 1],
  ])('nthAddress(%s, %d) throws', (text, n) => {
    expect(() => nthAddress(parseCidr(text, true), n)).toThrow(AddrError);
  });

  it.each([
    ['10.244.0.0/16', 24, 0, '10.244.0.0/24'],
    ['10.244.0.0/16', 24, 1, '10.244.1.0/24'],
    ['10.244.0.0/16', 24, 255, '10.244.255.0/24'],
    ['10.244.0.0/16', 16, 0, '10.244.0.0/16'],
    ['10.0.0.0/8', 24, 5000, '10.19.136.0/24'],
    ['10.0.0.0/8', 24, 65535, '10.255.255.0/24'],
    ['10.244.0.0/16', 26, 5, '10.244.1.64/26'],
    ['0.0.0.0/0', 1, 1, '128.0.0.0/1'],
    ['192.168.1.0/24', 32, 17, '192.168.1.17/32'],
  ])('nthSubnet(%s, /%d, %d) = %s', (parent, prefix, index, want) => {
    expect(formatCidr(nthSubnet(parseCidr(parent, true), prefix, index))).toBe(want);
  });

  it('nthSubnet rejects a larger prefix and an index past the end', () => {
    expect(() => nthSubnet(parseCidr('10.244.0.0/16'), 8, 0)).toThrow('/8 is larger than 10.244.0.0/16');
    expect(() => nthSubnet(parseCidr('10.244.0.0/16'), 24, 256)).toThrow('has only 256 /24 subnets');
    expect(() => nthSubnet(parseCidr('10.244.1.0/24'), 24, 1)).toThrow(AddrError);
  });

  it('nthSubnet rejects a negative index', () => {
    expect(() => nthSubnet(parseCidr('10.244.0.0/16'), 24, -1)).toThrow(AddrError);
  });

  it('consecutive subnets tile the parent without overlap', () => {
    fc.assert(
      fc.property(anyCidr, fc.integer({ min: 0, max: 8 }), fc.nat(), (parent, extra, seed) => {
        const prefix = Math.min(32, parent.prefix + extra);
        const count = 2 ** (prefix - parent.prefix);
        const i = seed % count;
        const s = nthSubnet(parent, prefix, i);
        expect(s.prefix).toBe(prefix);
        expect(parseCidr(formatCidr(s), true)).toEqual(s); // a network address
        expect(cidrContains(parent, s.ip)).toBe(true);
        expect(cidrContains(parent, broadcastOf(s))).toBe(true);
        if (i + 1 < count) {
          const next = nthSubnet(parent, prefix, i + 1);
          expect(cidrsOverlap(s, next)).toBe(false);
          expect(ipToInt(next.ip)).toBe(ipToInt(broadcastOf(s)) + 1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('MAC addresses', () => {
  it('parseMac lowercases and validates', () => {
    expect(parseMac('0A:58:0A:F4:01:02')).toBe('0a:58:0a:f4:01:02');
    expect(isMac(BROADCAST_MAC)).toBe(true);
    for (const bad of [
      '0a:58:0a:f4:01',
      '0a-58-0a-f4-01-02',
      '0a:58:0a:f4:01:02:03',
      'zz:58:0a:f4:01:02',
      '',
      '0a580af40102',
    ])
      expect(() => parseMac(bad)).toThrow(AddrError);
  });

  it.each([
    ['node/node-1|eth0', '0a:33:c8:d9:23:e9'],
    ['a', 'e6:0c:29:2c:e9:3a'],
    ['', '82:1c:9d:c5:01:93'],
  ])('macFromName(%j) is stable: %s', (name, mac) => {
    // Pinned: a kernel lab built from the same ops sets these MACs, and golden traces print them.
    expect(macFromName(name)).toBe(mac);
  });

  it('is deterministic, well-formed, locally administered and unicast for any name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (name) => {
        const mac = macFromName(name);
        expect(macFromName(name)).toBe(mac);
        expect(isMac(mac)).toBe(true);
        expect(mac).toBe(mac.toLowerCase());
        const first = parseInt(mac.slice(0, 2), 16);
        expect(first & 0x02).toBe(0x02); // locally administered
        expect(first & 0x01).toBe(0); // unicast
        expect(mac).not.toBe(BROADCAST_MAC);
      }),
      { numRuns: 500 },
    );
  });

  it('gives the devices of a large cluster distinct MACs', () => {
    const names: string[] = [];
    for (let n = 1; n <= 2000; n++)
      for (const dev of ['eth0', 'cni0', 'flannel.1']) names.push(`node/node-${n}|${dev}`);
    expect(new Set(names.map(macFromName)).size).toBe(names.length);
  });

  it('hashHex is stable, hex and of the requested length', () => {
    expect(hashHex('default/client')).toMatch(/^[0-9a-f]{8}$/);
    expect(hashHex('default/client')).toBe(hashHex('default/client'));
    expect(hashHex('default/client', 4)).toBe(hashHex('default/client').slice(0, 4));
    expect(hashHex('default/client')).not.toBe(hashHex('default/web'));
  });
});
