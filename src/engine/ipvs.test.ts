import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intToIp } from './addr.ts';
import { parseIptablesSave } from './iptables.ts';
import {
  IPVS_SVC_FLAGS,
  applyIpvsRewrite,
  emptyIpvsState,
  formatIpsetList,
  formatIpvsConnections,
  formatIpvsadmList,
  formatIpvsadmSave,
  hash32,
  ipsetMatchPacket,
  ipsetMatcher,
  ipsetReferences,
  ipsetTest,
  ipvsConntrackReply,
  ipvsLocalIn,
  ipvsOut,
  ipvsPacketOf,
  ipvsSchedule,
  parseIpsetEntry,
  type IpsetSet,
  type IpvsPacket,
  type IpvsRealServer,
  type IpvsState,
  type IpvsTable,
  type IpvsTuple,
  type IpvsVirtualServer,
} from './ipvs.ts';
import type { IpPacket } from './packet.ts';

const rs = (ip: string, port = 8080, weight = 1, over: Partial<IpvsRealServer> = {}): IpvsRealServer => ({
  ip,
  port,
  weight,
  forward: 'Masq',
  activeConn: 0,
  inactConn: 0,
  ...over,
});

const vs = (
  address: string,
  port: number,
  realServers: IpvsRealServer[],
  over: Partial<IpvsVirtualServer> = {},
): IpvsVirtualServer => ({
  protocol: 'TCP',
  address,
  port,
  scheduler: 'rr',
  flags: 0,
  timeout: 0,
  netmask: '255.255.255.255',
  realServers,
  ...over,
});

const table = (...services: IpvsVirtualServer[]): IpvsTable => ({ connTabSize: 4096, services });

const THREE = [rs('10.244.1.2'), rs('10.244.2.3'), rs('10.244.3.4')];
const CLUSTER = table(vs('10.96.0.10', 80, THREE));

const tuple = (src = '10.244.1.5', sport = 40000, dst = '10.96.0.10', dport = 80): IpvsTuple => ({
  protocol: 'TCP',
  src,
  sport,
  dst,
  dport,
});

/** Schedules `n` new connections from successive source ports; returns the chosen "ip:port"s. */
function schedule(
  t: IpvsTable,
  n: number,
  src = '10.244.1.5',
  state: IpvsState = emptyIpvsState(),
): string[] {
  const out: string[] = [];
  let s = state;
  for (let i = 0; i < n; i++) {
    const r = ipvsSchedule(t, tuple(src, 40000 + i), s);
    if (r.kind !== 'scheduled') throw new Error(r.kind);
    out.push(`${r.realServer.ip}:${r.realServer.port}`);
    s = r.state;
  }
  return out;
}

const syn = (over: Partial<IpvsPacket> = {}): IpvsPacket => ({
  proto: 'tcp',
  src: '10.244.1.5',
  sport: 40000,
  dst: '10.96.0.10',
  dport: 80,
  tcpFlags: 'S',
  ttl: 64,
  ...over,
});

describe('ipvsSchedule', () => {
  it.each<[string, IpvsVirtualServer[], string[]]>([
    [
      'rr cycles through the servers in list order',
      [vs('10.96.0.10', 80, THREE)],
      ['10.244.1.2:8080', '10.244.2.3:8080', '10.244.3.4:8080', '10.244.1.2:8080'],
    ],
    [
      'rr skips a server with weight 0 (graceful termination)',
      [vs('10.96.0.10', 80, [rs('10.244.1.2'), rs('10.244.2.3', 8080, 0), rs('10.244.3.4')])],
      ['10.244.1.2:8080', '10.244.3.4:8080', '10.244.1.2:8080', '10.244.3.4:8080'],
    ],
    [
      'wrr gives a weight-3 server three turns in four',
      [vs('10.96.0.10', 80, [rs('10.244.1.2', 8080, 3), rs('10.244.2.3', 8080, 1)], { scheduler: 'wrr' })],
      ['10.244.1.2:8080', '10.244.1.2:8080', '10.244.1.2:8080', '10.244.2.3:8080', '10.244.1.2:8080'],
    ],
    [
      'wrr with equal weights is round robin',
      [vs('10.96.0.10', 80, [rs('10.244.1.2'), rs('10.244.2.3')], { scheduler: 'wrr' })],
      ['10.244.1.2:8080', '10.244.2.3:8080', '10.244.1.2:8080'],
    ],
    [
      'lc takes the least loaded (an active connection weighs 256 inactive ones), then counts its own',
      [
        vs(
          '10.96.0.10',
          80,
          [rs('10.244.1.2', 8080, 1, { activeConn: 1 }), rs('10.244.2.3', 8080, 1, { inactConn: 2 })],
          { scheduler: 'lc' },
        ),
      ],
      // 2 inactive < 256; the walk's new connections are inactive (SYN_RECV) and add up.
      ['10.244.2.3:8080', '10.244.2.3:8080', '10.244.2.3:8080'],
    ],
    [
      'wlc weighs the load by the weight',
      [
        vs(
          '10.96.0.10',
          80,
          [rs('10.244.1.2', 8080, 1, { inactConn: 3 }), rs('10.244.2.3', 8080, 4, { inactConn: 8 })],
          { scheduler: 'wlc' },
        ),
      ],
      ['10.244.2.3:8080', '10.244.2.3:8080', '10.244.2.3:8080', '10.244.2.3:8080', '10.244.1.2:8080'],
    ],
    [
      'nq takes an idle server (no active connection) first',
      [
        vs(
          '10.96.0.10',
          80,
          [rs('10.244.1.2', 8080, 1, { activeConn: 2 }), rs('10.244.2.3', 8080, 1, { activeConn: 0 })],
          { scheduler: 'nq' },
        ),
      ],
      ['10.244.2.3:8080', '10.244.2.3:8080'],
    ],
  ])('%s', (_name, services, expected) => {
    const t = table(...services);
    const seen: string[] = [];
    let state = emptyIpvsState();
    for (let i = 0; i < expected.length; i++) {
      // A connection per schedule, as ipvsLocalIn records it (lc/wlc/nq count them).
      const r = ipvsLocalIn(t, syn({ sport: 40000 + i }), state);
      if (r.kind !== 'forward') throw new Error(r.kind);
      seen.push(`${r.realServer.ip}:${r.realServer.port}`);
      state = r.state;
    }
    expect(seen).toEqual(expected);
  });

  it('sh: the same client always gets the same server, from the 256-bucket table (hash_32)', () => {
    const t = table(vs('10.96.0.10', 80, THREE, { scheduler: 'sh' }));
    const a = schedule(t, 5, '10.244.1.5');
    expect(new Set(a).size).toBe(1);
    // The bucket: hash_32(0 + 10.244.1.5, 8); the table repeats the three servers (weight 1 each).
    const bucket = hash32(0x0af40105, 8);
    expect(a[0]).toBe(`${THREE[bucket % 3]!.ip}:8080`);
    // Different clients spread over the servers.
    const clients = Array.from({ length: 30 }, (_, i) => schedule(t, 1, `10.244.9.${i + 1}`)[0]);
    expect(new Set(clients).size).toBe(3);
  });

  it('sh without fallback finds no server when the hashed one has weight 0; sh-fallback walks on', () => {
    const bucket = hash32(0x0af40105, 8);
    const servers = THREE.map((r, i) => (i === bucket % 3 ? { ...r, weight: 0 } : r));
    const plain = table(vs('10.96.0.10', 80, servers, { scheduler: 'sh' }));
    expect(ipvsSchedule(plain, tuple(), emptyIpvsState()).kind).toBe('no-destination');
    const fallback = table(vs('10.96.0.10', 80, servers, { scheduler: 'sh', flags: IPVS_SVC_FLAGS.sched1 }));
    const r = ipvsSchedule(fallback, tuple(), emptyIpvsState());
    expect(r.kind).toBe('scheduled');
    if (r.kind === 'scheduled') expect(r.realServer.weight).toBe(1);
  });

  it('hash_32 is the top bits of val × GOLDEN_RATIO_32 (include/linux/hash.h)', () => {
    expect(hash32(0, 8)).toBe(0);
    expect(hash32(1, 8)).toBe(0x61);
    expect(hash32(1, 32)).toBe(0x61c88647);
    expect(hash32(0xffffffff, 8)).toBe(0x9e);
  });

  it('a pin decides when its server is available, and round robin continues after it', () => {
    const r = ipvsSchedule(CLUSTER, tuple(), emptyIpvsState(), { pin: '10.244.2.3:8080' });
    expect(r).toMatchObject({ kind: 'scheduled', by: 'pin', realServer: { ip: '10.244.2.3' } });
    if (r.kind !== 'scheduled') return;
    expect(schedule(CLUSTER, 1, undefined, r.state)).toEqual(['10.244.3.4:8080']);
    const gone = table(vs('10.96.0.10', 80, [rs('10.244.1.2'), rs('10.244.2.3', 8080, 0)]));
    expect(ipvsSchedule(gone, tuple(), emptyIpvsState(), { pin: '10.244.2.3:8080' })).toMatchObject({
      by: 'scheduler',
      realServer: { ip: '10.244.1.2' },
    });
  });

  it.each<[string, IpvsTable, IpvsTuple, string]>([
    ['no service on that port', CLUSTER, tuple(undefined, undefined, '10.96.0.10', 81), 'no-service'],
    ['UDP is another service', CLUSTER, { ...tuple(), protocol: 'UDP' }, 'no-service'],
    ['no real server', table(vs('10.96.0.10', 80, [])), tuple(), 'no-destination'],
    [
      'only quiescent servers',
      table(vs('10.96.0.10', 80, [rs('10.244.1.2', 8080, 0)])),
      tuple(),
      'no-destination',
    ],
    [
      'a scheduler not modelled',
      table(vs('10.96.0.10', 80, THREE, { scheduler: 'mh' })),
      tuple(),
      'not-modelled',
    ],
  ])('%s', (_name, t, tup, kind) => {
    expect(ipvsSchedule(t, tup, emptyIpvsState()).kind).toBe(kind);
  });

  it('persistence (ClientIP affinity): a template sends the client back to its server until it is quiescent', () => {
    const sticky = (servers: IpvsRealServer[]) =>
      table(vs('10.96.0.10', 80, servers, { flags: IPVS_SVC_FLAGS.persistent, timeout: 10800 }));
    const first = ipvsSchedule(sticky(THREE), tuple(), emptyIpvsState());
    expect(first).toMatchObject({ kind: 'scheduled', by: 'scheduler', template: 'new' });
    if (first.kind !== 'scheduled') return;
    expect(first.state.connections).toEqual([
      expect.objectContaining({
        template: true,
        caddr: '10.244.1.5',
        cport: 0,
        daddr: '10.244.1.2',
        timeout: 10800,
      }),
    ]);
    // The same client again, even pinned elsewhere: the template decides.
    const again = ipvsSchedule(sticky(THREE), tuple(undefined, 50000), first.state, {
      pin: '10.244.3.4:8080',
    });
    expect(again).toMatchObject({ by: 'template', template: 'reused', realServer: { ip: '10.244.1.2' } });
    // Another client is scheduled (round robin moves on).
    expect(ipvsSchedule(sticky(THREE), tuple('10.244.1.6'), first.state)).toMatchObject({
      realServer: { ip: '10.244.2.3' },
      template: 'new',
    });
    // Its server goes quiescent (weight 0): expire_quiescent_template=1 drops the template, a new one is made.
    const quiet = sticky([rs('10.244.1.2', 8080, 0), THREE[1]!, THREE[2]!]);
    const moved = ipvsSchedule(quiet, tuple(), first.state);
    expect(moved).toMatchObject({ by: 'scheduler', template: 'new', realServer: { ip: '10.244.2.3' } });
    if (moved.kind === 'scheduled') expect(moved.state.connections.filter((c) => c.template)).toHaveLength(1);
  });

  it('rr is fair and deterministic (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), (n, rounds) => {
        const servers = Array.from({ length: n }, (_, i) => rs(`10.244.${i}.2`));
        const t = table(vs('10.96.0.10', 80, servers));
        const picks = schedule(t, n * rounds);
        expect(picks).toEqual(schedule(t, n * rounds));
        for (const s of servers) expect(picks.filter((p) => p === `${s.ip}:8080`)).toHaveLength(rounds);
      }),
    );
  });
});

describe('ipvsLocalIn (ip_vs_in_hook)', () => {
  it('forwards a SYN to the scheduled server: DNAT, TTL−1, the conntrack reply tuple, a SYN_RECV connection', () => {
    const r = ipvsLocalIn(CLUSTER, syn(), emptyIpvsState());
    expect(r).toMatchObject({
      kind: 'forward',
      newConnection: true,
      by: 'scheduler',
      local: false,
      rewrite: { dst: '10.244.1.2', dport: 8080, ttl: 63 },
      conntrack: { replySrc: '10.244.1.2', replySport: 8080 },
      connection: { state: 'SYN_RECV', timeout: 60, caddr: '10.244.1.5', cport: 40000, vaddr: '10.96.0.10' },
      summary: 'IPVS TCP 10.96.0.10:80 → 10.244.1.2:8080 (scheduler rr, Masq, ttl 64 → 63)',
    });
  });

  it.each<[string, IpvsPacket, string]>([
    [
      'ICMP echo to a VIP (the host answers it)',
      syn({ proto: 'icmp', sport: null, dport: null }),
      'ICMP goes on',
    ],
    ['a TCP ACK without a connection', syn({ tcpFlags: '.' }), 'without SYN [.]'],
    ['a RST without a connection', syn({ tcpFlags: 'R' }), 'without SYN [R]'],
    ['a port no virtual service has', syn({ dport: 22 }), 'no virtual service TCP 10.96.0.10:22'],
  ])('passes %s', (_name, pkt, reason) => {
    const r = ipvsLocalIn(CLUSTER, pkt, emptyIpvsState());
    expect(r.kind).toBe('pass');
    if (r.kind === 'pass') expect(r.reason).toContain(reason);
  });

  it('a real server on this host: accepted locally, no TTL decrement', () => {
    const r = ipvsLocalIn(
      table(vs('10.96.0.1', 443, [rs('192.168.1.10', 6443)])),
      syn({ dst: '10.96.0.1', dport: 443 }),
      emptyIpvsState(),
      {
        isLocal: (ip) => ip === '192.168.1.10',
      },
    );
    expect(r).toMatchObject({
      kind: 'forward',
      local: true,
      rewrite: { dst: '192.168.1.10', dport: 6443, ttl: 64 },
    });
  });

  it('no real server: ICMP port unreachable (ip_vs_leave)', () => {
    const r = ipvsLocalIn(table(vs('10.96.0.10', 80, [])), syn(), emptyIpvsState());
    expect(r).toMatchObject({ kind: 'reject', icmp: { type: 3, code: 3 } });
  });

  it('TTL 1 towards a remote server: ICMP time exceeded (decrement_ttl)', () => {
    expect(ipvsLocalIn(CLUSTER, syn({ ttl: 1 }), emptyIpvsState())).toMatchObject({
      kind: 'ttl-exceeded',
      icmp: { type: 11, code: 0 },
    });
  });

  it('a later packet of the connection follows it (no new scheduling) and moves its TCP state', () => {
    const first = ipvsLocalIn(CLUSTER, syn(), emptyIpvsState());
    if (first.kind !== 'forward') throw new Error(first.kind);
    const ack = ipvsLocalIn(CLUSTER, syn({ tcpFlags: '.' }), first.state);
    expect(ack).toMatchObject({
      kind: 'forward',
      newConnection: false,
      by: null,
      realServer: { ip: '10.244.1.2' },
      connection: { state: 'ESTABLISHED', timeout: 900 },
    });
    if (ack.kind === 'forward') expect(ack.state.connections).toHaveLength(1);
  });

  it('UDP: a connection in state UDP for 300 s', () => {
    const t = table(vs('10.96.0.10', 53, [rs('10.244.1.2', 53)], { protocol: 'UDP' }));
    const udp: IpvsPacket = {
      proto: 'udp',
      src: '10.244.1.5',
      sport: 40000,
      dst: '10.96.0.10',
      dport: 53,
      ttl: 64,
    };
    const r = ipvsLocalIn(t, udp, emptyIpvsState());
    expect(r).toMatchObject({ kind: 'forward', connection: { protocol: 'UDP', state: 'UDP', timeout: 300 } });
  });

  it('a scheduler not modelled says so', () => {
    const r = ipvsLocalIn(table(vs('10.96.0.10', 80, THREE, { scheduler: 'lblc' })), syn(), emptyIpvsState());
    expect(r).toMatchObject({ kind: 'not-modelled', reason: expect.stringContaining('lblc') });
  });
});

describe('ipvsOut (ip_vs_out_hook)', () => {
  const opened = (): IpvsState => {
    const r = ipvsLocalIn(CLUSTER, syn(), emptyIpvsState());
    if (r.kind !== 'forward') throw new Error(r.kind);
    return r.state;
  };
  const synAck: IpvsPacket = {
    proto: 'tcp',
    src: '10.244.1.2',
    sport: 8080,
    dst: '10.244.1.5',
    dport: 40000,
    tcpFlags: 'S.',
    ttl: 64,
  };

  it('un-NATs the reply: the source becomes the virtual service again', () => {
    const r = ipvsOut(synAck, opened());
    expect(r).toMatchObject({
      kind: 'un-nat',
      icmpError: false,
      rewrite: { src: '10.96.0.10', sport: 80 },
      connection: { state: 'SYN_RECV' },
      summary: 'IPVS un-NAT: source 10.244.1.2:8080 → 10.96.0.10:80',
    });
  });

  it.each<[string, Partial<IpvsPacket>]>([
    ['another client port', { dport: 40001 }],
    ['another server', { src: '10.244.2.3' }],
    ['UDP', { proto: 'udp' }],
  ])('leaves alone what is no reply of a connection: %s', (_name, over) => {
    expect(ipvsOut({ ...synAck, ...over }, opened()).kind).toBe('pass');
  });

  it('an ICMP error about the connection comes from the VIP, quoting VIP:vport', () => {
    const err: IpvsPacket = {
      proto: 'icmp',
      src: '10.244.1.2',
      dst: '10.244.1.5',
      sport: null,
      dport: null,
      ttl: 64,
      quoted: { proto: 'tcp', src: '10.244.1.5', sport: 40000, dst: '10.244.1.2', dport: 8080 },
    };
    expect(ipvsOut(err, opened())).toMatchObject({
      kind: 'un-nat',
      icmpError: true,
      rewrite: { src: '10.96.0.10', sport: 80 },
    });
  });

  it('the TCP states follow ip_vs_proto_tcp.c (SYN in, SYN-ACK out, ACK in, RST out)', () => {
    let s = opened();
    const states: string[] = [s.connections[0]!.state];
    const o1 = ipvsOut(synAck, s);
    if (o1.kind !== 'un-nat') throw new Error(o1.kind);
    states.push(o1.connection.state);
    const i1 = ipvsLocalIn(CLUSTER, syn({ tcpFlags: '.' }), o1.state);
    if (i1.kind !== 'forward') throw new Error(i1.kind);
    states.push(i1.connection.state);
    const o2 = ipvsOut({ ...synAck, tcpFlags: 'R.' }, i1.state);
    if (o2.kind !== 'un-nat') throw new Error(o2.kind);
    states.push(o2.connection.state);
    s = o2.state;
    expect(states).toEqual(['SYN_RECV', 'SYN_RECV', 'ESTABLISHED', 'CLOSE']);
    expect(s.connections[0]!.timeout).toBe(10);
  });

  it('un-NAT ∘ NAT is the identity for any client and server (property)', () => {
    const ip = fc.integer({ min: 0x0a000001, max: 0x0affffff }).map(intToIp);
    const port = fc.integer({ min: 1, max: 65535 });
    fc.assert(
      fc.property(ip, port, ip, port, (client, cport, server, sport) => {
        const t = table(vs('10.96.0.10', 80, [rs(server, sport)]));
        const fwd = ipvsLocalIn(t, syn({ src: client, sport: cport }), emptyIpvsState());
        if (fwd.kind !== 'forward') throw new Error(fwd.kind);
        const reply: IpvsPacket = {
          proto: 'tcp',
          src: fwd.rewrite.dst,
          sport: fwd.rewrite.dport,
          dst: client,
          dport: cport,
          tcpFlags: 'S.',
          ttl: 64,
        };
        const back = ipvsOut(reply, fwd.state);
        expect(back).toMatchObject({ kind: 'un-nat', rewrite: { src: '10.96.0.10', sport: 80 } });
      }),
    );
  });
});

describe('the engine packet', () => {
  const p: IpPacket = {
    ip: { src: '10.244.1.5', dst: '10.96.0.10', ttl: 64, protocol: 'tcp', df: true, length: 60 },
    l4: { kind: 'tcp', sport: 40000, dport: 80, flags: 'S' },
  };

  it('ipvsPacketOf and applyIpvsRewrite', () => {
    expect(ipvsPacketOf(p)).toEqual(syn());
    const r = ipvsLocalIn(CLUSTER, ipvsPacketOf(p), emptyIpvsState());
    if (r.kind !== 'forward') throw new Error(r.kind);
    expect(applyIpvsRewrite(p, r.rewrite)).toEqual({
      ip: { ...p.ip, dst: '10.244.1.2', ttl: 63 },
      l4: { ...p.l4, dport: 8080 },
    });
  });

  it('an ICMP error: the quoted packet is the tuple, the rewrite mirrors into it', () => {
    const err: IpPacket = {
      ip: { src: '10.244.1.2', dst: '10.244.1.5', ttl: 64, protocol: 'icmp', df: false, length: 56 },
      l4: {
        kind: 'icmp',
        type: 3,
        code: 3,
        original: {
          ip: { src: '10.244.1.5', dst: '10.244.1.2', ttl: 63, protocol: 'udp', df: true, length: 40 },
          l4: { kind: 'udp', sport: 40000, dport: 8080 },
        },
      },
    };
    expect(ipvsPacketOf(err).quoted).toEqual({
      proto: 'udp',
      src: '10.244.1.5',
      sport: 40000,
      dst: '10.244.1.2',
      dport: 8080,
    });
    const out = applyIpvsRewrite(err, { src: '10.96.0.10', sport: 53 });
    expect(out.ip.src).toBe('10.96.0.10');
    expect(out.l4.kind === 'icmp' && out.l4.original).toMatchObject({
      ip: { dst: '10.96.0.10' },
      l4: { dport: 53 },
    });
  });

  it('ipvsConntrackReply: the reply tuple conntrack keeps (nf_conntrack_alter_reply)', () => {
    expect(
      ipvsConntrackReply(
        { proto: 'tcp', src: '10.244.1.5', sport: 40000, dst: '10.96.0.10', dport: 80 },
        '10.244.1.2',
        8080,
      ),
    ).toEqual({ proto: 'tcp', src: '10.244.1.2', sport: 8080, dst: '10.244.1.5', dport: 40000 });
  });
});

describe('ipvsadm text', () => {
  const T = table(
    vs('10.96.0.10', 53, [rs('10.244.2.3', 53), rs('10.244.1.2', 53)], { protocol: 'UDP' }),
    vs('10.96.0.1', 443, [rs('192.168.1.10', 6443)]),
    vs('10.96.0.10', 9153, [rs('10.244.1.2', 9153, 1, { activeConn: 2, inactConn: 7 })], {
      flags: IPVS_SVC_FLAGS.persistent,
      timeout: 10800,
    }),
    vs('10.96.0.20', 80, [], { scheduler: 'sh', flags: IPVS_SVC_FLAGS.sched1 | IPVS_SVC_FLAGS.sched2 }),
    vs('10.96.0.30', 80, [], {
      protocol: 'SCTP',
      scheduler: 'wlc',
      flags: IPVS_SVC_FLAGS.persistent,
      timeout: 60,
      netmask: '255.255.255.0',
    }),
  );

  it('ipvsadm -Ln: services by protocol, address, port; servers by address; %-10u keeps its blanks', () => {
    expect(formatIpvsadmList(T)).toBe(
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        'TCP  10.96.0.1:443 rr',
        '  -> 192.168.1.10:6443            Masq    1      0          0         ',
        'TCP  10.96.0.10:9153 rr persistent 10800',
        '  -> 10.244.1.2:9153              Masq    1      2          7         ',
        'TCP  10.96.0.20:80 sh (sh-fallback,sh-port)',
        'UDP  10.96.0.10:53 rr',
        '  -> 10.244.1.2:53                Masq    1      0          0         ',
        '  -> 10.244.2.3:53                Masq    1      0          0         ',
        'SCTP 10.96.0.30:80 wlc persistent 60 mask 255.255.255.0',
        '',
      ].join('\n'),
    );
  });

  it('counts the walk’s connections: new ones inactive, established ones active', () => {
    const t = table(vs('10.96.0.10', 80, [rs('10.244.1.2')]));
    const a = ipvsLocalIn(t, syn(), emptyIpvsState());
    if (a.kind !== 'forward') throw new Error(a.kind);
    const b = ipvsLocalIn(t, syn({ sport: 40001 }), a.state);
    if (b.kind !== 'forward') throw new Error(b.kind);
    const c = ipvsLocalIn(t, syn({ tcpFlags: '.' }), b.state);
    if (c.kind !== 'forward') throw new Error(c.kind);
    expect(formatIpvsadmList(t, c.state).split('\n')[4]).toBe(
      '  -> 10.244.1.2:8080              Masq    1      1          1         ',
    );
  });

  it('sorts as libipvs does: the 32-bit subtraction wraps for addresses 2^31 apart', () => {
    const t = table(vs('192.168.1.10', 30080, []), vs('10.96.0.1', 443, []), vs('172.16.0.1', 80, []));
    // 10.x − 192.168.x and 10.x − 172.16.x wrap to positive values: 10.96.0.1 sorts last.
    expect(
      formatIpvsadmList(t)
        .split('\n')
        .filter((l) => l.startsWith('TCP')),
    ).toEqual(['TCP  172.16.0.1:80 rr', 'TCP  192.168.1.10:30080 rr', 'TCP  10.96.0.1:443 rr']);
  });

  it('ipvsadm -Sn', () => {
    expect(formatIpvsadmSave(T)).toBe(
      [
        '-A -t 10.96.0.1:443 -s rr',
        '-a -t 10.96.0.1:443 -r 192.168.1.10:6443 -m -w 1',
        '-A -t 10.96.0.10:9153 -s rr -p 10800',
        '-a -t 10.96.0.10:9153 -r 10.244.1.2:9153 -m -w 1',
        '-A -t 10.96.0.20:80 -s sh -b sh-fallback,sh-port',
        '-A -u 10.96.0.10:53 -s rr',
        '-a -u 10.96.0.10:53 -r 10.244.1.2:53 -m -w 1',
        '-a -u 10.96.0.10:53 -r 10.244.2.3:53 -m -w 1',
        '-A --sctp-service 10.96.0.30:80 -s wlc -p 60 -M 255.255.255.0',
        '',
      ].join('\n'),
    );
    expect(formatIpvsadmSave(table())).toBe('');
  });

  it('ipvsadm -Lnc: connections and templates', () => {
    const t = table(
      vs('10.96.0.10', 80, [rs('10.244.1.2')], { flags: IPVS_SVC_FLAGS.persistent, timeout: 10800 }),
    );
    const r = ipvsLocalIn(t, syn(), emptyIpvsState());
    if (r.kind !== 'forward') throw new Error(r.kind);
    expect(formatIpvsConnections(r.state)).toBe(
      [
        'IPVS connection entries',
        'pro expire state       source             virtual            destination',
        'TCP 180:00 NONE        10.244.1.5:0       10.96.0.10:80      10.244.1.2:8080',
        'TCP 01:00  SYN_RECV    10.244.1.5:40000   10.96.0.10:80      10.244.1.2:8080',
        '',
      ].join('\n'),
    );
  });
});

describe('ipsets', () => {
  const set = (type: IpsetSet['type'], entries: string[], name = 'S'): IpsetSet => ({ name, type, entries });

  it.each<[string, IpsetSet, string[], boolean]>([
    ['hash:ip', set('hash:ip', ['10.96.0.10']), ['10.96.0.10,tcp:80'], true],
    ['hash:ip, another address', set('hash:ip', ['10.96.0.10']), ['10.96.0.11,tcp:80'], false],
    ['hash:ip on ICMP (no port needed)', set('hash:ip', ['10.96.0.10']), ['10.96.0.10,icmp'], true],
    [
      'hash:ip,port dst,dst',
      set('hash:ip,port', ['10.96.0.10,tcp:80']),
      ['10.96.0.10,tcp:80', '10.96.0.10,tcp:80'],
      true,
    ],
    [
      'hash:ip,port, another port',
      set('hash:ip,port', ['10.96.0.10,tcp:80']),
      ['10.96.0.10,tcp:81', '10.96.0.10,tcp:81'],
      false,
    ],
    [
      'hash:ip,port, another protocol',
      set('hash:ip,port', ['10.96.0.10,tcp:53']),
      ['10.96.0.10,udp:53', '10.96.0.10,udp:53'],
      false,
    ],
    [
      'hash:ip,port, ICMP has no port',
      set('hash:ip,port', ['10.96.0.10,tcp:80']),
      ['10.96.0.10,icmp', '10.96.0.10,icmp'],
      false,
    ],
    ['hash:ip,port, too few flags', set('hash:ip,port', ['10.96.0.10,tcp:80']), ['10.96.0.10,tcp:80'], false],
    [
      'hash:ip,port,ip (KUBE-LOOP-BACK hairpin)',
      set('hash:ip,port,ip', ['10.244.1.2,tcp:8080,10.244.1.2']),
      ['10.244.1.2,tcp:8080', '10.244.1.2,tcp:8080', '10.244.1.2,tcp:40000'],
      true,
    ],
    [
      'hash:ip,port,ip, another source',
      set('hash:ip,port,ip', ['10.244.1.2,tcp:8080,10.244.1.2']),
      ['10.244.1.2,tcp:8080', '10.244.1.2,tcp:8080', '10.244.1.3,tcp:40000'],
      false,
    ],
    [
      'hash:ip,port,net, a source inside',
      set('hash:ip,port,net', ['1.2.3.4,tcp:80,10.0.0.0/8']),
      ['1.2.3.4,tcp:80', '1.2.3.4,tcp:80', '10.9.8.7,tcp:5000'],
      true,
    ],
    [
      'hash:ip,port,net, a source outside',
      set('hash:ip,port,net', ['1.2.3.4,tcp:80,10.0.0.0/8']),
      ['1.2.3.4,tcp:80', '1.2.3.4,tcp:80', '11.9.8.7,tcp:5000'],
      false,
    ],
    ['bitmap:port, TCP', set('bitmap:port', ['30080']), ['192.168.1.10,tcp:30080'], true],
    ['bitmap:port, UDP', set('bitmap:port', ['30080']), ['192.168.1.10,udp:30080'], true],
    ['bitmap:port, another port', set('bitmap:port', ['30080']), ['192.168.1.10,tcp:30081'], false],
    ['bitmap:port, ICMP', set('bitmap:port', ['30080']), ['192.168.1.10,icmp'], false],
    [
      'extra values are ignored',
      set('hash:ip', ['10.96.0.10']),
      ['10.96.0.10,tcp:80', '1.1.1.1,tcp:1'],
      true,
    ],
  ])('%s', (_name, s, values, expected) => {
    expect(ipsetMatchPacket(s, values)).toBe(expected);
  });

  it.each<[string, IpsetSet, string, boolean]>([
    ['hash:ip,port entry', set('hash:ip,port', ['10.96.0.10,tcp:80']), '10.96.0.10,tcp:80', true],
    ['tcp is the default protocol', set('hash:ip,port', ['10.96.0.10,tcp:80']), '10.96.0.10,80', true],
    ['udp is not tcp', set('hash:ip,port', ['10.96.0.10,tcp:80']), '10.96.0.10,udp:80', false],
    [
      'a host in the net',
      set('hash:ip,port,net', ['1.2.3.4,tcp:80,10.0.0.0/8']),
      '1.2.3.4,tcp:80,10.1.1.1',
      true,
    ],
    [
      'a wider net is not in it',
      set('hash:ip,port,net', ['1.2.3.4,tcp:80,10.0.0.0/8']),
      '1.2.3.4,tcp:80,10.0.0.0/7',
      false,
    ],
    ['bitmap:port', set('bitmap:port', ['30080']), '30080', true],
  ])('ipset test: %s', (_name, s, entry, expected) => {
    expect(ipsetTest(s, entry)).toBe(expected);
  });

  it.each([
    ['hash:ip,port', '10.96.0.10'],
    ['hash:ip,port', '10.96.0.10,tcp:70000'],
    ['hash:ip', '10.96.0.300'],
    ['bitmap:port', 'http'],
  ] as const)('rejects a malformed %s entry %j', (type, entry) => {
    expect(() => parseIpsetEntry(type, entry)).toThrow();
  });

  it('ipsetMatcher: by set name; an unknown set never matches', () => {
    const m = ipsetMatcher([set('hash:ip,port', ['10.96.0.10,tcp:80'], 'KUBE-CLUSTER-IP')]);
    expect(m('KUBE-CLUSTER-IP', ['10.96.0.10,tcp:80', '10.96.0.10,tcp:80'])).toBe(true);
    expect(m('KUBE-NOPE', ['10.96.0.10,tcp:80', '10.96.0.10,tcp:80'])).toBe(false);
  });

  it('ipset list: the layout of lib/session.c, members sorted, a /32 net printed bare', () => {
    const sets: IpsetSet[] = [
      {
        name: 'KUBE-CLUSTER-IP',
        type: 'hash:ip,port',
        hashsize: 1024,
        maxelem: 65536,
        entries: ['10.96.0.10,udp:53', '10.96.0.1,tcp:443', '10.96.0.10,tcp:53'],
      },
      {
        name: 'KUBE-NODE-PORT-TCP',
        type: 'bitmap:port',
        range: { from: 0, to: 65535 },
        entries: ['31000', '30080'],
      },
      {
        name: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
        type: 'hash:ip,port,net',
        entries: ['1.2.3.4,tcp:80,10.0.0.1/32'],
        memsize: 1234,
      },
    ];
    expect(formatIpsetList(sets, { 'KUBE-CLUSTER-IP': 3, 'KUBE-NODE-PORT-TCP': 1 })).toBe(
      [
        'Name: KUBE-CLUSTER-IP',
        'Type: hash:ip,port',
        'Revision: 6',
        'Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0xbd6fca37',
        'Size in memory: 344',
        'References: 3',
        'Number of entries: 3',
        'Members:',
        '10.96.0.1,tcp:443',
        '10.96.0.10,tcp:53',
        '10.96.0.10,udp:53',
        '',
        'Name: KUBE-NODE-PORT-TCP',
        'Type: bitmap:port',
        'Revision: 3',
        'Header: range 0-65535',
        'Size in memory: 8264',
        'References: 1',
        'Number of entries: 2',
        'Members:',
        '30080',
        '31000',
        '',
        'Name: KUBE-LOAD-BALANCER-SOURCE-CIDR',
        'Type: hash:ip,port,net',
        'Revision: 8',
        'Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x640dddaf',
        'Size in memory: 1234',
        'References: 0',
        'Number of entries: 1',
        'Members:',
        '1.2.3.4,tcp:80,10.0.0.1',
        '',
      ].join('\n'),
    );
    expect(formatIpsetList([])).toBe('');
  });

  it('ipsetReferences counts the rules that name each set', () => {
    const { ruleset } = parseIptablesSave(
      [
        '*nat',
        ':KUBE-SERVICES - [0:0]',
        '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j ACCEPT',
        '-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT',
        'COMMIT',
        '*filter',
        ':KUBE-IPVS-FILTER - [0:0]',
        '-A KUBE-IPVS-FILTER -m set --match-set KUBE-CLUSTER-IP dst,dst -j RETURN',
        '-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(ipsetReferences(ruleset)).toEqual({ 'KUBE-CLUSTER-IP': 3, 'KUBE-IPVS-IPS': 1 });
  });
});
