import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intToIp, ipToInt, parseCidr, type Cidr } from './addr.ts';
import { bruteForceLookup, formatRoute, RouteTable, type Route } from './route.ts';
import { applyOp, World } from './world.ts';
import { planWorld } from './cni.ts';
import type { CniMode } from '../scenario/model.ts';
import { threeNodes } from '../../test/fixtures/models.ts';

function route(dst: string, extra: Partial<Route> = {}): Route {
  return {
    table: 'main',
    type: 'unicast',
    dst: dst === 'default' ? { ip: '0.0.0.0', prefix: 0 } : parseCidr(dst, true),
    gateway: null,
    dev: 'eth0',
    src: null,
    scope: 'link',
    proto: 'boot',
    onlink: false,
    metric: 0,
    ...extra,
  };
}

function table(routes: readonly Route[]): RouteTable {
  const t = new RouteTable();
  for (const r of routes) t.add(r);
  return t;
}

function found(t: RouteTable, dst: string): Route | null {
  const a = t.lookup(dst);
  return a.kind === 'found' ? a.route : null;
}

describe('RouteTable: longest-prefix match', () => {
  const routes = [
    route('default', { gateway: '192.168.1.1', scope: 'global' }),
    route('10.0.0.0/8', { dev: 'a' }),
    route('10.244.0.0/16', { dev: 'b' }),
    route('10.244.1.0/24', { dev: 'c' }),
    route('10.244.1.128/25', { dev: 'd' }),
    route('10.244.1.200/32', { dev: 'e' }),
    route('192.168.1.0/24', { dev: 'eth0' }),
  ];
  const t = table(routes);

  it.each([
    ['10.244.1.200', 'e'],
    ['10.244.1.201', 'd'],
    ['10.244.1.128', 'd'],
    ['10.244.1.127', 'c'],
    ['10.244.1.0', 'c'],
    ['10.244.2.1', 'b'],
    ['10.245.0.1', 'a'],
    ['10.255.255.255', 'a'],
    ['11.0.0.0', 'eth0'],
    ['192.168.1.77', 'eth0'],
    ['8.8.8.8', 'eth0'],
  ])('%s → dev %s', (dst, dev) => {
    const r = found(t, dst);
    expect(r?.dev).toBe(dev);
    expect(r).toBe(bruteForceLookup(routes, dst));
  });

  it('the default route matches only as a last resort and carries the gateway', () => {
    expect(found(t, '8.8.8.8')?.gateway).toBe('192.168.1.1');
    expect(found(t, '192.168.1.77')?.gateway).toBeNull();
  });

  it('an empty table and a table without a default answer noRoute', () => {
    expect(new RouteTable().lookup('10.0.0.1')).toEqual({ kind: 'noRoute' });
    const t2 = table([route('10.244.1.0/24')]);
    expect(t2.lookup('10.244.2.1')).toEqual({ kind: 'noRoute' });
    expect(bruteForceLookup(t2.routes(), '10.244.2.1')).toBeNull();
  });

  it('insertion order does not matter for different prefixes', () => {
    const reversed = table([...routes].reverse());
    for (const dst of ['10.244.1.200', '10.244.1.5', '10.9.9.9', '1.1.1.1'])
      expect(found(reversed, dst)).toBe(found(t, dst));
  });

  it('a /32 and a /0 both work at the extremes of the address space', () => {
    const t2 = table([
      route('0.0.0.0/0', { dev: 'any' }),
      route('255.255.255.255/32', { dev: 'bcast' }),
      route('0.0.0.0/32', { dev: 'zero' }),
    ]);
    expect(found(t2, '255.255.255.255')?.dev).toBe('bcast');
    expect(found(t2, '0.0.0.0')?.dev).toBe('zero');
    expect(found(t2, '0.0.0.1')?.dev).toBe('any');
  });

  it('routes() lists every route in insertion order, duplicates included', () => {
    const a = route('10.0.0.0/8', { metric: 5 });
    const b = route('10.0.0.0/8', { metric: 1 });
    const t2 = table([a, b]);
    expect(t2.routes()).toEqual([a, b]);
  });
});

describe('RouteTable: metric tie-break', () => {
  it('among equal prefixes the lowest metric wins, whatever the insertion order', () => {
    const high = route('10.244.2.0/24', { dev: 'high', metric: 100 });
    const low = route('10.244.2.0/24', { dev: 'low', metric: 10 });
    const mid = route('10.244.2.0/24', { dev: 'mid', metric: 50 });
    for (const order of [
      [high, low, mid],
      [low, high, mid],
      [mid, high, low],
    ])
      expect(found(table(order), '10.244.2.9')?.dev).toBe('low');
  });

  it('a longer prefix beats a lower metric', () => {
    const t = table([
      route('10.244.0.0/16', { dev: 'wide', metric: 0 }),
      route('10.244.2.0/24', { dev: 'narrow', metric: 1000 }),
    ]);
    expect(found(t, '10.244.2.9')?.dev).toBe('narrow');
    expect(found(t, '10.244.3.9')?.dev).toBe('wide');
  });

  it('with equal prefix and metric the first route added wins (as the brute force does)', () => {
    const first = route('10.244.2.0/24', { dev: 'first' });
    const second = route('10.244.2.0/24', { dev: 'second' });
    expect(found(table([first, second]), '10.244.2.1')).toBe(first);
    expect(bruteForceLookup([first, second], '10.244.2.1')).toBe(first);
  });
});

describe('the local table (fib_add_ifaddr)', () => {
  function nodeNs(cni: CniMode = 'flannel-vxlan') {
    const world = new World('t', '', cni, planWorld(threeNodes(cni)));
    return world.netns('node/node-1');
  }

  it('holds a local /32 per address, the subnet broadcast and loopback', () => {
    const ns = nodeNs();
    const local = ns.local.routes().map(formatRoute);
    expect(local).toContain('local 192.168.1.11 dev eth0 proto kernel scope host src 192.168.1.11');
    expect(local).toContain('broadcast 192.168.1.255 dev eth0 proto kernel scope link src 192.168.1.11');
    expect(local).toContain('local 10.244.1.1 dev cni0 proto kernel scope host src 10.244.1.1');
    expect(local).toContain('broadcast 10.244.1.255 dev cni0 proto kernel scope link src 10.244.1.1');
    expect(local).toContain('local 10.244.1.0 dev flannel.1 proto kernel scope host src 10.244.1.0');
    expect(local).toContain('local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1');
    expect(local).toContain('local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1');
    // A /32 gets no broadcast and no connected route.
    expect(local.filter((l) => l.includes('flannel.1'))).toHaveLength(1);
    expect(ns.local.routes().every((r) => r.table === 'local')).toBe(true);
  });

  it('the connected routes go to main with the address as preferred source', () => {
    const main = nodeNs().main.routes().map(formatRoute);
    expect(main).toContain('192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.11');
    expect(main).toContain('10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1');
    expect(main.some((l) => l.startsWith('10.244.1.0/32'))).toBe(false);
  });

  it('ownsAddress answers from the local table only (weak host model)', () => {
    const ns = nodeNs();
    for (const ip of ['192.168.1.11', '10.244.1.1', '10.244.1.0', '127.0.0.1', '127.3.4.5'])
      expect(ns.ownsAddress(ip)).toBe(true);
    // Broadcast addresses are in `local` but are not "local" routes; the pod IPs behind cni0 are not ours.
    for (const ip of ['192.168.1.255', '10.244.1.255', '10.244.1.2', '192.168.1.12', '8.8.8.8'])
      expect(ns.ownsAddress(ip)).toBe(false);
  });

  it('addr-add with a /31 or /32 adds no broadcast route', () => {
    const world = new World('t', '', 'x', planWorld(threeNodes()));
    const ns = world.netns('host/laptop');
    applyOp(world, {
      op: 'addr-add',
      netns: ns.id,
      dev: 'eth0',
      ip: '198.51.100.0',
      prefix: 31,
      why: 'test',
    });
    applyOp(world, {
      op: 'addr-add',
      netns: ns.id,
      dev: 'eth0',
      ip: '198.51.100.9',
      prefix: 32,
      why: 'test',
    });
    const local = ns.local.routes().map(formatRoute);
    expect(local).toContain('local 198.51.100.0 dev eth0 proto kernel scope host src 198.51.100.0');
    expect(local).toContain('local 198.51.100.9 dev eth0 proto kernel scope host src 198.51.100.9');
    expect(local.filter((l) => l.startsWith('broadcast 198.51.100.'))).toEqual([]);
    expect(ns.main.routes().map(formatRoute)).toContain(
      '198.51.100.0/31 dev eth0 proto kernel scope link src 198.51.100.0',
    );
  });
});

describe('formatRoute', () => {
  it.each([
    [route('default', { gateway: '192.168.1.1', scope: 'global' }), 'default via 192.168.1.1 dev eth0'],
    [
      route('10.244.2.0/24', { gateway: '10.244.2.0', dev: 'flannel.1', scope: 'global', onlink: true }),
      '10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink',
    ],
    [
      route('10.244.2.0/24', { gateway: '192.168.1.12', scope: 'global' }),
      '10.244.2.0/24 via 192.168.1.12 dev eth0',
    ],
    [
      route('10.244.1.0/24', { dev: 'cni0', proto: 'kernel', src: '10.244.1.1' }),
      '10.244.1.0/24 dev cni0 proto kernel scope link src 10.244.1.1',
    ],
    [
      route('10.1.2.3/32', {
        table: 'local',
        type: 'local',
        scope: 'host',
        proto: 'kernel',
        src: '10.1.2.3',
      }),
      'local 10.1.2.3 dev eth0 proto kernel scope host src 10.1.2.3',
    ],
    [
      route('10.9.0.0/16', { type: 'blackhole', dev: null, scope: 'global', metric: 7 }),
      'blackhole 10.9.0.0/16 metric 7',
    ],
  ])('%#: %s', (r, text) => {
    expect(formatRoute(r)).toBe(text);
  });

  it('prints "default" for a non-unicast default route', () => {
    expect(formatRoute(route('default', { type: 'unreachable', dev: null, scope: 'global' }))).toBe(
      'unreachable default',
    );
  });
});

// ─────────────── property: the indexed lookup agrees with the reference scan ───────────────

/** Addresses drawn from a few small neighbourhoods so random prefixes overlap and nest often. */
const BASES = ['10.244.0.0', '10.244.1.0', '10.0.0.0', '192.168.1.0', '0.0.0.0', '255.255.255.0'].map(
  ipToInt,
);
const nearAddress = fc.oneof(
  fc
    .tuple(fc.constantFrom(...BASES), fc.integer({ min: 0, max: 511 }))
    .map(([b, off]) => intToIp((b + off) >>> 0)),
  fc.integer({ min: 0, max: 0xffffffff }).map(intToIp),
);
const anyPrefix: fc.Arbitrary<Cidr> = fc
  .tuple(nearAddress, fc.oneof(fc.integer({ min: 0, max: 32 }), fc.constantFrom(0, 8, 16, 24, 25, 31, 32)))
  .map(([ip, prefix]) => parseCidr(`${ip}/${prefix}`));
const anyRoute: fc.Arbitrary<Route> = fc
  .record({
    dst: anyPrefix,
    metric: fc.constantFrom(0, 0, 1, 2, 100, 1024),
    dev: fc.constantFrom('eth0', 'cni0', 'flannel.1'),
  })
  .map(({ dst, metric, dev }) => ({ ...route('default', { dev, metric }), dst }));

describe('RouteTable.lookup ≡ bruteForceLookup', () => {
  it('for random route sets and destinations', () => {
    fc.assert(
      fc.property(
        fc.array(anyRoute, { maxLength: 40 }),
        fc.array(nearAddress, { minLength: 1, maxLength: 20 }),
        (routes, dsts) => {
          const t = table(routes);
          expect(t.routes()).toEqual(routes);
          for (const dst of dsts) {
            const want = bruteForceLookup(routes, dst);
            const got = t.lookup(dst);
            if (!want) {
              expect(got.kind).toBe('noRoute');
              continue;
            }
            expect(got.kind).toBe('found');
            if (got.kind !== 'found') continue;
            expect(got.route.dst).toEqual(want.dst);
            expect(got.route.metric).toBe(want.metric);
            // Equal prefix and metric: both keep the first one added, so the very same route object.
            expect(got.route).toBe(want);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('for destinations inside the routes themselves (network, broadcast, neighbours)', () => {
    fc.assert(
      fc.property(fc.array(anyRoute, { minLength: 1, maxLength: 30 }), (routes) => {
        const t = table(routes);
        for (const r of routes) {
          const net = ipToInt(r.dst.ip);
          const last = (net + 2 ** (32 - r.dst.prefix) - 1) >>> 0;
          for (const n of [net, last, (net - 1) >>> 0, (last + 1) >>> 0]) {
            const dst = intToIp(n);
            const got = t.lookup(dst);
            const want = bruteForceLookup(routes, dst);
            expect(got.kind === 'found' ? got.route : null).toBe(want);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
