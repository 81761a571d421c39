// The kernel lab harness (Node only, root only): builds an engine world for real in isolated Linux network
// namespaces (src/engine/lab.ts), sends the walk's packet, captures on every interface in each direction,
// and returns what the kernel did in the shape of the engine's `observe` events, so a test can compare
// the two hop by hop.
//
// Safety: every command runs inside a lab namespace named `pwk-<run>-...`; nothing is added to the
// namespace of the machine. The lab is deleted in a finally block; namespaces of crashed runs (no live
// owner process) are deleted by cleanupStaleLabs().
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertConfined, labScript, formatLabScript, type LabScript } from '../../src/engine/lab.ts';
import { isIp } from '../../src/engine/addr.ts';
import { resolveRef, walk, type WalkSpec } from '../../src/engine/walk.ts';
import type { Frame } from '../../src/engine/packet.ts';
import type { Trace } from '../../src/engine/trace.ts';
import type { World } from '../../src/engine/world.ts';

/** Linux's default ip_local_port_range: where VXLAN's outer UDP source port comes from. */
export const EPHEMERAL = { low: 32768, high: 60999 } as const;
/** The UDP ports tshark decodes as VXLAN: flannel's 8472 (the kernel's default) and weave fastdp's 6784. */
const VXLAN_PORTS = [8472, 6784] as const;
/** Captures and listeners end by themselves after this long, should the harness die without cleaning up. */
const ORPHAN_LIMIT_S = 90;
/** Owner files of running labs: `<prefix>` containing the owner's pid. */
const REGISTRY = '/run/pwk-labs';

// ───────────────────────────── hops ─────────────────────────────

export interface HopEth {
  readonly src: string;
  readonly dst: string;
}
export interface HopIp {
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly df: boolean;
  readonly length: number;
}
export interface HopQuote {
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly protocol: string;
  readonly sport: number | null;
  readonly dport: number | null;
}
export type HopL4 =
  | { readonly kind: 'tcp'; readonly sport: number; readonly dport: number; readonly flags: string }
  | { readonly kind: 'udp'; readonly sport: number; readonly dport: number }
  | {
      readonly kind: 'icmp';
      readonly type: number;
      readonly code: number;
      readonly mtu: number | null;
      readonly gateway: string | null;
      readonly quote: HopQuote | null;
    };
export interface HopOuter {
  readonly eth: HopEth;
  readonly ip: HopIp;
  readonly sport: number;
  readonly dport: number;
  readonly vni: number;
}

/**
 * Ports of an engine hop that a `--random-fully` MASQUERADE or SNAT chose: the kernel draws its own at
 * random (nf_nat_l4proto_unique_tuple with NF_NAT_RANGE_PROTO_RANDOM_FULLY, 1024-65535), so only the range is
 * comparable. Each names the NAT binding it comes from (see natBindings), so that every hop of one binding
 * can be checked to carry the same kernel port.
 */
export interface HopNat {
  readonly sport?: string;
  readonly dport?: string;
  readonly quoteSport?: string;
  readonly quoteDport?: string;
}

/** One packet seen on one interface in one direction; for VXLAN, `eth/ip/l4` are the inner frame's. */
export interface Hop {
  readonly netns: string;
  readonly device: string;
  readonly direction: 'in' | 'out';
  readonly eth: HopEth;
  readonly ip: HopIp;
  readonly l4: HopL4;
  readonly outer?: HopOuter;
  /** Capture time in ns (kernel timestamps), only for captured hops. */
  readonly time?: bigint;
  /** Engine hops only: ports a random-fully NAT chose (wildcards in 1024-65535). */
  readonly nat?: HopNat;
}

function hopOfFrame(netns: string, device: string, direction: 'in' | 'out', f: Frame): Hop {
  const inner = f.vxlan && f.inner ? f.inner : f;
  const ipOf = (x: Frame): HopIp => ({
    src: x.ip.src,
    dst: x.ip.dst,
    ttl: x.ip.ttl,
    df: x.ip.df,
    length: x.ip.length,
  });
  let l4: HopL4;
  const h = inner.l4;
  if (h.kind === 'tcp') l4 = { kind: 'tcp', sport: h.sport, dport: h.dport, flags: h.flags };
  else if (h.kind === 'udp') l4 = { kind: 'udp', sport: h.sport, dport: h.dport };
  else {
    const o = h.original;
    const quote: HopQuote | null = o
      ? {
          src: o.ip.src,
          dst: o.ip.dst,
          ttl: o.ip.ttl,
          protocol: o.ip.protocol,
          sport: o.l4.kind === 'icmp' ? null : o.l4.sport,
          dport: o.l4.kind === 'icmp' ? null : o.l4.dport,
        }
      : null;
    l4 = { kind: 'icmp', type: h.type, code: h.code, mtu: h.mtu ?? null, gateway: h.gateway ?? null, quote };
  }
  const hop: Hop = { netns, device, direction, eth: { ...inner.eth }, ip: ipOf(inner), l4 };
  if (f.vxlan && f.inner && f.l4.kind === 'udp')
    return {
      ...hop,
      outer: { eth: { ...f.eth }, ip: ipOf(f), sport: f.l4.sport, dport: f.l4.dport, vni: f.vxlan.vni },
    };
  return hop;
}

// ───────────────────────────── NAT ─────────────────────────────

/** The port range a `--random-fully` NAT draws from (nf_nat_l4proto_unique_tuple: 1024-65535 when the rule
 *  gives no port range). */
export const RANDOM_NAT = { low: 1024, high: 65535 } as const;

/** A source NAT of the engine's trace whose port the kernel chooses at random (MASQUERADE or SNAT with
 *  --random-fully): `ip:port` is the engine's own draw. */
export interface NatBinding {
  readonly id: string;
  readonly netns: string;
  readonly ip: string;
  readonly port: number;
  readonly rule: string;
}

/**
 * The random-fully source NATs of a trace: a `decide` event with `decision.kind === 'nat'` and `how`
 * MASQUERADE or SNAT, whose rule — the last step of the netfilter decision just before it in the same
 * namespace — carries `--random-fully`.
 */
export function natBindings(trace: Trace): NatBinding[] {
  const out: NatBinding[] = [];
  const lastRule = new Map<string, string>();
  for (const e of trace.events) {
    if (e.type !== 'decide') continue;
    const d = e.decision;
    if (d.kind === 'netfilter') lastRule.set(e.at.netns, d.steps.at(-1)?.rule ?? '');
    if (d.kind !== 'nat' || (d.how !== 'MASQUERADE' && d.how !== 'SNAT') || d.field !== 'src') continue;
    const rule = lastRule.get(e.at.netns) ?? '';
    const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(d.after);
    if (!m || !/(^|\s)--random-fully(\s|$)/.test(rule)) continue;
    out.push({
      id: `${e.at.netns} ${d.how} ${d.after}`,
      netns: e.at.netns,
      ip: m[1]!,
      port: Number(m[2]),
      rule,
    });
  }
  return out;
}

/**
 * The random-fully bindings of a trace plus the addresses their port is carried to: a later source NAT
 * without --random-fully that keeps the port (the cloud gateway's 1:1 SNAT of node-1's 192.168.1.11:<port> to
 * 203.0.113.101:<port>; nf_nat keeps a port that is free) carries the same kernel-drawn port, so its hops
 * belong to the same binding (same id: the kernel's port must be the same on all of them).
 */
export function carriedNatBindings(trace: Trace): NatBinding[] {
  const out = natBindings(trace);
  for (const e of trace.events) {
    if (e.type !== 'decide') continue;
    const d = e.decision;
    if (d.kind !== 'nat' || (d.how !== 'SNAT' && d.how !== 'MASQUERADE') || d.field !== 'src') continue;
    const before = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(d.before);
    const after = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(d.after);
    if (!before || !after || before[2] !== after[2] || before[1] === after[1]) continue;
    const from = out.find((b) => b.ip === before[1] && b.port === Number(before[2]));
    if (from && !out.some((b) => b.ip === after[1] && b.port === from.port))
      out.push({ ...from, netns: e.at.netns, ip: after[1]! });
  }
  return out;
}

/** Marks the ports of a hop that one of the bindings chose (its source as NATed, or a reply's destination). */
function markNat(h: Hop, bindings: readonly NatBinding[]): Hop {
  if (bindings.length === 0) return h;
  const find = (ip: string, port: number | null): string | undefined =>
    bindings.find((b) => b.ip === ip && b.port === port)?.id;
  const nat: { -readonly [K in keyof HopNat]: HopNat[K] } = {};
  const l4 = h.l4;
  if (l4.kind !== 'icmp') {
    const s = find(h.ip.src, l4.sport);
    const d = find(h.ip.dst, l4.dport);
    if (s) nat.sport = s;
    if (d) nat.dport = d;
  } else if (l4.quote) {
    const s = find(l4.quote.src, l4.quote.sport);
    const d = find(l4.quote.dst, l4.quote.dport);
    if (s) nat.quoteSport = s;
    if (d) nat.quoteDport = d;
  }
  return Object.keys(nat).length ? { ...h, nat } : h;
}

/** The engine's `observe` events of a trace (optionally one leg) as hops; ports a random-fully NAT chose are
 *  marked (`nat`), also where a later port-keeping SNAT carries them (carriedNatBindings). */
export function engineHops(trace: Trace, leg?: number): Hop[] {
  const bindings = carriedNatBindings(trace);
  const out: Hop[] = [];
  for (const e of trace.events)
    if (e.type === 'observe' && e.device !== 'lo' && (leg === undefined || e.leg === leg))
      out.push(markNat(hopOfFrame(e.at.netns, e.device, e.direction, e.packet), bindings));
  return out;
}

/**
 * The engine's hops with the kernel's port put where the engine's trace says a random-fully NAT chose one,
 * hop for hop (the two lists must already have the same device path). Returns the substituted hops and
 * the problems found: a kernel port outside 1024-65535, or one binding showing different kernel ports.
 */
export function withKernelNatPorts(
  kernel: readonly Hop[],
  engine: readonly Hop[],
): { hops: Hop[]; problems: string[] } {
  const problems: string[] = [];
  const chosen = new Map<string, number>();
  const take = (id: string | undefined, got: number | null | undefined, where: string): number | null => {
    if (id === undefined || got === null || got === undefined) return null;
    if (got < RANDOM_NAT.low || got > RANDOM_NAT.high)
      problems.push(`${where}: port ${got} is outside ${RANDOM_NAT.low}-${RANDOM_NAT.high} (${id})`);
    const before = chosen.get(id);
    if (before !== undefined && before !== got)
      problems.push(`${where}: port ${got}, but the same NAT showed ${before} before (${id})`);
    chosen.set(id, got);
    return got;
  };
  const hops = engine.map((e, i) => {
    const k = kernel[i];
    if (!e.nat || !k) return e;
    const where = `hop ${i} (${placeOf(e)})`;
    let l4 = e.l4;
    if (l4.kind !== 'icmp' && k.l4.kind === l4.kind) {
      const sport = take(e.nat.sport, k.l4.sport, where) ?? l4.sport;
      const dport = take(e.nat.dport, k.l4.dport, where) ?? l4.dport;
      l4 = { ...l4, sport, dport };
    } else if (l4.kind === 'icmp' && l4.quote && k.l4.kind === 'icmp' && k.l4.quote) {
      const q = l4.quote;
      const sport = take(e.nat.quoteSport, k.l4.quote.sport, where) ?? q.sport;
      const dport = take(e.nat.quoteDport, k.l4.quote.dport, where) ?? q.dport;
      l4 = { ...l4, quote: { ...q, sport, dport } };
    }
    return { ...e, l4 };
  });
  return { hops, problems };
}

/** A hop as one comparable line; the VXLAN outer source port becomes `<ephemeral>` when in range. */
export function describeHop(h: Hop): string {
  const ip = (x: HopIp): string => `${x.src} > ${x.dst} ttl ${x.ttl} len ${x.length}${x.df ? ' DF' : ''}`;
  let l4: string;
  const q = h.l4;
  if (q.kind === 'tcp') l4 = `tcp ${q.sport} > ${q.dport} [${q.flags}]`;
  else if (q.kind === 'udp') l4 = `udp ${q.sport} > ${q.dport}`;
  else {
    l4 = `icmp ${q.type}/${q.code}`;
    if (q.mtu !== null) l4 += ` mtu ${q.mtu}`;
    if (q.gateway !== null) l4 += ` gw ${q.gateway}`;
    if (q.quote) {
      const ports = q.quote.sport !== null ? ` ${q.quote.sport} > ${q.quote.dport}` : '';
      l4 += ` {quote ${q.quote.protocol} ${q.quote.src} > ${q.quote.dst} ttl ${q.quote.ttl}${ports}}`;
    }
  }
  let line = `${h.netns} ${h.direction} ${h.device}: ${h.eth.src} > ${h.eth.dst} ${ip(h.ip)} ${l4}`;
  if (h.outer) {
    const o = h.outer;
    const sport = o.sport >= EPHEMERAL.low && o.sport <= EPHEMERAL.high ? '<ephemeral>' : String(o.sport);
    line += ` | outer ${o.eth.src} > ${o.eth.dst} ${ip(o.ip)} udp ${sport} > ${o.dport} vni ${o.vni}`;
  }
  return line;
}

/** Just the place: `netns direction device`. */
export function placeOf(h: Hop): string {
  return `${h.netns} ${h.direction} ${h.device}`;
}

// ───────────────────────────── processes ─────────────────────────────

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `pattern` appears on the child's stream (or it exits, or the time runs out). */
function waitFor(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = child[stream]!;
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      s.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (d: Buffer): void => {
      text += d.toString();
      if (pattern.test(text)) done(null);
    };
    const onExit = (code: number | null): void =>
      done(new Error(`exited (${code}) before ${pattern}: ${text.trim()}`));
    const timer = setTimeout(
      () => done(new Error(`timed out waiting for ${pattern}: ${text.trim()}`)),
      timeoutMs,
    );
    s.on('data', onData);
    child.on('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

/** Stops a child this harness started, by its pid: SIGTERM, then SIGKILL after a grace period. */
async function stop(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(t);
}

// ───────────────────────────── can we? ─────────────────────────────

let canRunCache: { ok: true } | { ok: false; reason: string } | null = null;

/** Whether this machine can run kernel labs: Linux, root, `ip netns add` works, the tools are present. */
export function canRunKernelLab(): { ok: true } | { ok: false; reason: string } {
  if (canRunCache) return canRunCache;
  const no = (reason: string) =>
    (canRunCache = { ok: false, reason: `kernel conformance skipped: ${reason}` });
  if (process.platform !== 'linux') return no(`needs Linux (this is ${process.platform})`);
  if (process.env.PWK_NO_KERNEL_LAB) return no('PWK_NO_KERNEL_LAB is set');
  if (process.getuid?.() !== 0) return no('needs root (network namespaces, captures)');
  for (const [tool, args] of [
    ['ip', ['-V']],
    ['bridge', ['-V']],
    ['tcpdump', ['--version']],
    ['tshark', ['--version']],
    ['mergecap', ['-v']],
    ['ping', ['-V']],
    ['sysctl', ['-V']],
    ['timeout', ['--version']],
    ['iptables-restore', ['-V']],
    ['iptables-save', ['-V']],
    // weave's weaver-no-masq-local set (ipset restore inside the lab namespace).
    ['ipset', ['version']],
  ] as const) {
    const r = spawnSync(tool, args, { stdio: 'ignore' });
    if (r.error || r.status !== 0)
      return no(
        `${tool} is not installed (apt-get install iproute2 tcpdump tshark iputils-ping procps iptables ipset)`,
      );
  }
  // br_netfilter: nodes set net.bridge.bridge-nf-call-iptables=1. The suite never loads kernel modules.
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables'))
    return no(
      'br_netfilter is not loaded (net.bridge.bridge-nf-call-iptables is missing; `modprobe br_netfilter`)',
    );
  const probe = `pwk-probe${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return no(`\`ip netns add\` fails: ${(add.stderr || '').trim()}`);
  spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  return (canRunCache = { ok: true });
}

// ───────────────────────────── lab lifecycle ─────────────────────────────

function listNetns(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout || '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch {
    return false;
  }
}

/** Deletes `pwk-*` namespaces whose lab has no live owner (left by crashed runs). Returns their names. */
export function cleanupStaleLabs(): string[] {
  // Namespaces first, owners second: a lab registers its owner before it creates its first namespace, so
  // every lab namespace listed here has its owner in the registry read below (another test file's run in
  // progress is never mistaken for a crashed one).
  const present = listNetns();
  const owners = new Map<string, number>();
  try {
    for (const f of readdirSync(REGISTRY)) owners.set(f, Number(readFileSync(join(REGISTRY, f), 'utf8')));
  } catch {
    /* no registry yet */
  }
  const removed: string[] = [];
  for (const ns of present) {
    if (!ns.startsWith('pwk-')) continue;
    const owner = [...owners.entries()].find(([prefix]) => ns.startsWith(`${prefix}-`));
    if (owner && alive(owner[1])) continue;
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    removed.push(ns);
  }
  for (const [prefix, pid] of owners) if (!alive(pid)) rmSync(join(REGISTRY, prefix), { force: true });
  return removed;
}

export { assertConfined };

// ───────────────────────────── pcap + tshark ─────────────────────────────

/** The complete records of a pcap file written by tcpdump (the last may be mid-write): each one's timestamp in
 *  ns and captured bytes, and the byte offset where the complete records end. */
function pcapRecords(b: Buffer): { times: bigint[]; frames: Buffer[]; end: number } {
  if (b.length < 24) return { times: [], frames: [], end: 0 };
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b23c4d || magic === 0xa1b2c3d4;
  const nano = magic === 0xa1b23c4d || b.readUInt32BE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const times: bigint[] = [];
  const frames: Buffer[] = [];
  let end = 24;
  for (let o = 24; o + 16 <= b.length;) {
    const next = o + 16 + u32(o + 8);
    if (next > b.length) break;
    const frac = BigInt(u32(o + 4));
    times.push(BigInt(u32(o)) * 1_000_000_000n + (nano ? frac : frac * 1000n));
    frames.push(b.subarray(o + 16, next));
    o = end = next;
  }
  return { times, frames, end };
}

function readOrEmpty(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch {
    return Buffer.alloc(0);
  }
}

/** Timestamps (ns) of the complete records of a pcap file written by tcpdump. */
function pcapTimes(file: string): bigint[] {
  return pcapRecords(readOrEmpty(file)).times;
}

function epochNs(text: string): bigint {
  const [s, f = ''] = text.split('.');
  return BigInt(s!) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
}

const TSHARK_FIELDS = [
  'frame.interface_id',
  'frame.time_epoch',
  'eth.src',
  'eth.dst',
  'ip.src',
  'ip.dst',
  'ip.ttl',
  'ip.flags.df',
  'ip.len',
  'ip.proto',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags',
  'udp.srcport',
  'udp.dstport',
  'icmp.type',
  'icmp.code',
  'icmp.mtu',
  'icmp.redir_gw',
  'vxlan.vni',
] as const;

type Layers = Partial<Record<(typeof TSHARK_FIELDS)[number], string[]>>;

/** tcpdump's flag notation from the TCP flags field (0x012 → "S."). */
export function tcpFlags(hex: string): string {
  const v = parseInt(hex, 16);
  let s = '';
  if (v & 0x01) s += 'F';
  if (v & 0x02) s += 'S';
  if (v & 0x04) s += 'R';
  if (v & 0x08) s += 'P';
  if (v & 0x20) s += 'U';
  if (v & 0x40) s += 'E';
  if (v & 0x80) s += 'W';
  if (v & 0x10) s += '.';
  return s || 'none';
}

const PROTO: Record<string, string> = { '1': 'icmp', '6': 'tcp', '17': 'udp' };

/** One decoded packet (tshark's layers, several values per field when headers repeat) as a hop. */
function hopOfLayers(
  netns: string,
  device: string,
  direction: 'in' | 'out',
  time: bigint,
  l: Layers,
): Hop | null {
  const at = (f: keyof Layers, i: number): string | undefined => l[f]?.[i];
  const num = (f: keyof Layers, i: number): number => Number(at(f, i));
  const bool = (v: string | undefined): boolean => v === '1' || v === 'True' || v === 'true';
  const ipAt = (i: number): HopIp => ({
    src: at('ip.src', i)!,
    dst: at('ip.dst', i)!,
    ttl: num('ip.ttl', i),
    df: bool(at('ip.flags.df', i)),
    length: num('ip.len', i),
  });
  if (!l['ip.src']?.length) return null;
  const encapsulated = (l['vxlan.vni']?.length ?? 0) > 0;
  // Occurrence indexes: the outer headers come first, then the inner frame's, then an ICMP error's quote
  // (so the quote's TCP header is the only TCP occurrence, and its UDP header follows VXLAN's outer one).
  const ipi = encapsulated ? 1 : 0;
  const udpi = encapsulated ? 1 : 0;
  const proto = PROTO[at('ip.proto', ipi) ?? ''];
  let l4: HopL4;
  if (proto === 'tcp') {
    l4 = {
      kind: 'tcp',
      sport: num('tcp.srcport', 0),
      dport: num('tcp.dstport', 0),
      flags: tcpFlags(at('tcp.flags', 0) ?? '0'),
    };
  } else if (proto === 'udp') {
    l4 = { kind: 'udp', sport: num('udp.srcport', udpi), dport: num('udp.dstport', udpi) };
  } else if (proto === 'icmp') {
    const type = num('icmp.type', 0);
    const code = num('icmp.code', 0);
    let quote: HopQuote | null = null;
    if ([3, 4, 5, 11, 12].includes(type) && at('ip.src', ipi + 1) !== undefined) {
      const qp = PROTO[at('ip.proto', ipi + 1) ?? ''] ?? `proto ${at('ip.proto', ipi + 1)}`;
      const q = ipAt(ipi + 1);
      let sport: number | null = null;
      let dport: number | null = null;
      if (qp === 'tcp' && at('tcp.srcport', 0) !== undefined)
        [sport, dport] = [num('tcp.srcport', 0), num('tcp.dstport', 0)];
      if (qp === 'udp' && at('udp.srcport', udpi) !== undefined)
        [sport, dport] = [num('udp.srcport', udpi), num('udp.dstport', udpi)];
      quote = { src: q.src, dst: q.dst, ttl: q.ttl, protocol: qp, sport, dport };
    }
    const mtu = type === 3 && code === 4 && at('icmp.mtu', 0) !== undefined ? num('icmp.mtu', 0) : null;
    const gateway = type === 5 ? (at('icmp.redir_gw', 0) ?? null) : null;
    l4 = { kind: 'icmp', type, code, mtu, gateway, quote };
  } else return null;
  const hop: Hop = {
    netns,
    device,
    direction,
    time,
    eth: { src: at('eth.src', ipi)!, dst: at('eth.dst', ipi)! },
    ip: ipAt(ipi),
    l4,
  };
  if (!encapsulated) return hop;
  return {
    ...hop,
    outer: {
      eth: { src: at('eth.src', 0)!, dst: at('eth.dst', 0)! },
      ip: ipAt(0),
      sport: num('udp.srcport', 0),
      dport: num('udp.dstport', 0),
      vni: num('vxlan.vni', 0),
    },
  };
}

interface Capture {
  readonly netns: string;
  readonly device: string;
  readonly direction: 'in' | 'out';
  readonly labNs: string;
  readonly file: string;
  child?: ChildProcess;
}

/** Decodes every non-empty capture with one tshark run over a merged file (one interface per capture). */
async function decode(captures: readonly Capture[], dir: string): Promise<Hop[]> {
  const used = captures.map((c) => ({ c, times: pcapTimes(c.file) })).filter((x) => x.times.length > 0);
  if (used.length === 0) return [];
  const merged = join(dir, 'merged.pcapng');
  const m = await run('mergecap', ['-I', 'none', '-F', 'pcapng', '-w', merged, ...used.map((x) => x.c.file)]);
  if (m.code !== 0) throw new Error(`mergecap failed: ${m.stderr}`);
  const args = [
    '-n',
    '-r',
    merged,
    ...VXLAN_PORTS.flatMap((port) => ['-d', `udp.port==${port},vxlan`]),
    '-T',
    'json',
    ...TSHARK_FIELDS.flatMap((f) => ['-e', f]),
  ];
  const t = await run('tshark', args, 60_000);
  if (t.code !== 0) throw new Error(`tshark failed: ${t.stderr}`);
  const packets = JSON.parse(t.stdout || '[]') as { _source: { layers: Layers } }[];
  const hops: Hop[] = [];
  const seen = used.map(() => [] as bigint[]);
  for (const p of packets) {
    const l = p._source.layers;
    const idx = Number(l['frame.interface_id']?.[0]);
    const src = used[idx];
    if (!src)
      throw new Error(`tshark reported interface ${idx}, but only ${used.length} captures were merged`);
    const time = epochNs(l['frame.time_epoch']?.[0] ?? '0');
    seen[idx]!.push(time);
    const hop = hopOfLayers(src.c.netns, src.c.device, src.c.direction, time, l);
    if (hop) hops.push(hop);
  }
  // The merged file must hold exactly each capture's packets under that capture's interface id.
  used.forEach((u, i) => {
    const a = [...u.times].sort().join(',');
    const b = [...seen[i]!].sort().join(',');
    if (a !== b) throw new Error(`merged capture ${i} (${u.c.file}) does not match its source file`);
  });
  return hops;
}

// ───────────────────────────── ordering and filtering ─────────────────────────────

/**
 * Sorts captured hops into the order the packet took. Kernel timestamps order them, but a packet keeps
 * its receive timestamp while it stays in one namespace (forwarded, bridged, encapsulated or
 * decapsulated: the skb is the same), so several hops can share one. Ties are broken causally: a higher
 * (innermost) TTL first (forwarding decrements it), `in` before `out`, and within a direction the order
 * the stack passes devices — for `in`: the encapsulated frame, a bridge port or plain NIC, the VXLAN
 * device, the bridge device; for `out`: the bridge device, a port or plain NIC or the VXLAN device, the
 * encapsulated frame.
 */
export function orderHops(hops: readonly Hop[], world: World): Hop[] {
  const kindRank = (h: Hop): number => {
    const dev = world.netns(h.netns).devices.get(h.device);
    if (h.direction === 'in') {
      if (h.outer) return 0;
      if (dev?.kind === 'vxlan') return 2;
      if (dev?.kind === 'bridge') return 3;
      return 1;
    }
    if (dev?.kind === 'bridge') return 0;
    if (h.outer) return 2;
    return 1;
  };
  return [...hops].sort((a, b) => {
    const ta = a.time ?? 0n;
    const tb = b.time ?? 0n;
    if (ta !== tb) return ta < tb ? -1 : 1;
    if (a.ip.ttl !== b.ip.ttl) return b.ip.ttl - a.ip.ttl;
    if (a.direction !== b.direction) return a.direction === 'in' ? -1 : 1;
    return kindRank(a) - kindRank(b);
  });
}

export interface FlowKey {
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly dst: string;
  readonly sport: number | null;
  readonly dport: number | null;
}

/**
 * Whether a captured hop belongs to the first exchange of the walk's flow: the request and its answer
 * (TCP: SYN, SYN-ACK, or the RST of a closed port; UDP: the datagram and its echo; ICMP: echo request and
 * reply), or an ICMP error (unreachable, redirect, time exceeded...) that quotes either. The client's ACK
 * and the FIN/RST that close the connection are not part of it. Matching uses the destination and the
 * ports, not the source: which source address the kernel picks is one of the things compared.
 */
export function inFlow(h: Hop, f: FlowKey): boolean {
  const l4 = h.l4;
  const forward = (src: string | null, dst: string, sport: number | null, dport: number | null): boolean =>
    dst === f.dst && sport === f.sport && dport === f.dport && src !== f.dst;
  const backward = (src: string, sport: number | null, dport: number | null): boolean =>
    src === f.dst && sport === f.dport && dport === f.sport;
  if (l4.kind === 'icmp' && [3, 4, 5, 11, 12].includes(l4.type)) {
    const q = l4.quote;
    if (!q || q.protocol !== f.protocol) return false;
    return forward(q.src, q.dst, q.sport, q.dport) || backward(q.src, q.sport, q.dport);
  }
  if (l4.kind !== f.protocol) return false;
  if (l4.kind === 'icmp')
    return (l4.type === 8 && h.ip.dst === f.dst) || (l4.type === 0 && h.ip.src === f.dst);
  const fw = forward(h.ip.src, h.ip.dst, l4.sport, l4.dport);
  const bw = backward(h.ip.src, l4.sport, l4.dport);
  if (l4.kind === 'udp') return fw || bw;
  if (l4.kind === 'tcp')
    return (fw && l4.flags === 'S') || (bw && (l4.flags === 'S.' || l4.flags.startsWith('R')));
  return false;
}

/** A tuple the engine's trace shows on the wire; `'*'` is a port a random-fully NAT chose. */
export interface WireTuple {
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  readonly src: string;
  readonly dst: string;
  readonly sport: number | '*' | null;
  readonly dport: number | '*' | null;
  /** TCP: the SYN's side ('S') or the answer's ('S.', 'R', 'R.'); ICMP echo: the type (8 or 0). */
  readonly kind: string;
}

/** The tuples of the engine's hops (inner packets for VXLAN), with random-fully NAT ports as `'*'`. ICMP
 *  errors are left out: they are matched through the packet they quote. */
export function wireTuples(trace: Trace): WireTuple[] {
  const out = new Map<string, WireTuple>();
  for (const h of engineHops(trace)) {
    const l4 = h.l4;
    let t: WireTuple;
    if (l4.kind === 'icmp') {
      if (l4.type !== 0 && l4.type !== 8) continue;
      t = { protocol: 'icmp', src: h.ip.src, dst: h.ip.dst, sport: null, dport: null, kind: String(l4.type) };
    } else {
      const sport = h.nat?.sport ? '*' : l4.sport;
      const dport = h.nat?.dport ? '*' : l4.dport;
      const kind = l4.kind === 'tcp' ? (l4.flags === 'S' ? 'S' : 'S.') : 'udp';
      t = { protocol: l4.kind, src: h.ip.src, dst: h.ip.dst, sport, dport, kind };
    }
    out.set(JSON.stringify(t), t);
  }
  return [...out.values()];
}

const portIs = (want: number | '*' | null, got: number | null): boolean =>
  want === '*' ? got !== null && got >= RANDOM_NAT.low && got <= RANDOM_NAT.high : want === got;

/** A packet (addresses, ports) is one of the wire tuples: the same ports (a `'*'` port anywhere in
 *  1024-65535) and the same destination or the same source — the other address is compared, not matched. */
function isTuple(
  t: WireTuple,
  protocol: string,
  src: string,
  dst: string,
  sport: number | null,
  dport: number | null,
): boolean {
  return (
    t.protocol === protocol &&
    portIs(t.sport, sport) &&
    portIs(t.dport, dport) &&
    (t.dst === dst || t.src === src) &&
    src !== t.dst
  );
}

/**
 * Whether a captured hop belongs to the walk's first exchange, NAT included: the walk's own flow (inFlow),
 * or a packet carrying one of the tuples the engine's trace shows on the wire (after DNAT, SNAT,
 * MASQUERADE, and their un-NAT on the way back) — with the TCP flags of the first exchange — or an ICMP
 * error quoting one.
 */
export function flowMatcher(trace: Trace): (h: Hop) => boolean {
  const f = trace.flow!;
  const key: FlowKey = { protocol: f.protocol, dst: f.dst, sport: f.sport, dport: f.dport };
  const tuples = wireTuples(trace);
  return (h) => {
    if (inFlow(h, key)) return true;
    const l4 = h.l4;
    if (l4.kind === 'icmp' && [3, 4, 5, 11, 12].includes(l4.type)) {
      const q = l4.quote;
      return q !== null && tuples.some((t) => isTuple(t, q.protocol, q.src, q.dst, q.sport, q.dport));
    }
    if (l4.kind === 'icmp')
      return tuples.some(
        (t) =>
          t.protocol === 'icmp' && t.kind === String(l4.type) && (t.dst === h.ip.dst || t.src === h.ip.src),
      );
    const flags = l4.kind === 'tcp' ? l4.flags : 'udp';
    const kind =
      flags === 'S' || flags === 'udp' ? flags : flags === 'S.' || flags.startsWith('R') ? 'S.' : '';
    return tuples.some((t) => t.kind === kind && isTuple(t, l4.kind, h.ip.src, h.ip.dst, l4.sport, l4.dport));
  };
}

// ───────────────────────────── iptables counters ─────────────────────────────

/** One rule (or a built-in chain's policy, index -1) of `iptables-save -c` and its packet counter. */
export interface CountedRule {
  readonly table: string;
  readonly chain: string;
  /** 0-based position in the chain, as the engine's RuleStep.index; -1 for the policy. */
  readonly index: number;
  /** The rule as iptables-save prints it (`-A CHAIN ...`), or `-P CHAIN POLICY`. */
  readonly rule: string;
  readonly packets: number;
}

const ruleKey = (table: string, chain: string, index: number): string => `${table} ${chain} #${index}`;

/** Parses `iptables-save -c`: every rule and policy with its packet counter, keyed by table, chain, index. */
export function parseCounters(text: string): Map<string, CountedRule> {
  const out = new Map<string, CountedRule>();
  let table = '';
  const next = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      table = line.slice(1);
      continue;
    }
    const policy = /^:(\S+) (\S+) \[(\d+):\d+\]$/.exec(line);
    if (policy) {
      if (policy[2] !== '-')
        out.set(ruleKey(table, policy[1]!, -1), {
          table,
          chain: policy[1]!,
          index: -1,
          rule: `-P ${policy[1]} ${policy[2]}`,
          packets: Number(policy[3]),
        });
      continue;
    }
    const rule = /^\[(\d+):\d+\] (-A (\S+)\b.*)$/.exec(line);
    if (rule) {
      const chain = rule[3]!;
      const k = `${table} ${chain}`;
      const index = next.get(k) ?? 0;
      next.set(k, index + 1);
      out.set(ruleKey(table, chain, index), {
        table,
        chain,
        index,
        rule: rule[2]!,
        packets: Number(rule[1]),
      });
    }
  }
  return out;
}

/** Splits a rule into words as iptables does (double or single quotes group, backslash escapes). */
export function ruleTokens(rule: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (let i = 0; i < rule.length; i++) {
    const c = rule[i]!;
    if (quote) {
      if (c === '\\' && quote === '"' && i + 1 < rule.length) cur += rule[++i];
      else if (c === quote) quote = null;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}

/**
 * What identifies a rule across the restore text and iptables-save's canonical form: its `--comment` (or
 * '') and its target's name (after -j or -g). iptables-save reorders matches, adds `-m tcp`, `/32` and
 * defaults (`--reject-with icmp-port-unreachable`) and rewrites MARK's `--or-mark X` as `--set-xmark X/X`,
 * so the rest of the text is not compared; the rule's position in its chain is (see ruleIdentity's users).
 */
export function ruleIdentity(rule: string): string {
  const w = ruleTokens(rule);
  const comments: string[] = [];
  let target = '';
  for (let i = 0; i < w.length; i++) {
    if (w[i] === '--comment' && i + 1 < w.length) comments.push(w[i + 1]!);
    if ((w[i] === '-j' || w[i] === '-g') && i + 1 < w.length) target = `${w[i]} ${w[i + 1]}`;
    if (w[i] === '-P' && i + 2 < w.length) target = `-P ${w[i + 2]}`;
  }
  return `${comments.map((c) => `/* ${c} */`).join(' ')} ${target}`.trim();
}

/** A rule the engine's trace says a packet matched (a jump, a goto, a MARK, a NAT target, a terminal
 *  target), or a built-in chain's policy it fell through to (index -1). */
export interface EngineRuleHit {
  readonly netns: string;
  readonly table: string;
  readonly chain: string;
  readonly index: number;
  readonly rule: string;
  readonly action: string;
}

/** Every rule the engine's netfilter decisions list as matched (not the statistic branches it did not take,
 *  not the implicit end of a user chain), per namespace, once each. */
export function engineRuleHits(trace: Trace): EngineRuleHit[] {
  const out = new Map<string, EngineRuleHit>();
  for (const e of trace.events) {
    if (e.type !== 'decide' || e.decision.kind !== 'netfilter') continue;
    const d = e.decision;
    for (const s of d.steps) {
      if (s.action.startsWith('no match')) continue;
      if (s.index < 0 && !s.rule.startsWith('-P ')) continue;
      const hit: EngineRuleHit = {
        netns: e.at.netns,
        table: d.table,
        chain: s.chain,
        index: s.index,
        rule: s.rule,
        action: s.action,
      };
      out.set(`${e.at.netns} ${ruleKey(d.table, s.chain, s.index)}`, hit);
    }
  }
  return [...out.values()];
}

export interface CounterCheck {
  /** Rules the engine lists as matched whose kernel counter did not move (or whose position holds another
   *  rule in the kernel): `netns table chain #index rule — why`. Should be empty. */
  readonly notMoved: string[];
  /** Rules whose kernel counter moved that the engine's trace does not list: `netns table chain #index rule
   *  (+packets)`. The kernel runs the whole connection (ACK, FIN), the engine its first two packets; the
   *  policy of a built-in chain without rules is left out (the engine records no decision there). */
  readonly unlisted: string[];
}

/** Compares the engine's matched rules with the kernel's counters (per namespace, by table, chain and
 *  position; the rule at that position must have the same comment and target). */
export function checkCounters(run: KernelRun): CounterCheck {
  const notMoved: string[] = [];
  const listed = new Set<string>();
  for (const h of engineRuleHits(run.trace)) {
    const key = ruleKey(h.table, h.chain, h.index);
    listed.add(`${h.netns} ${key}`);
    const k = run.counters.get(h.netns)?.get(key);
    const name = `${h.netns} ${key} ${h.rule}`;
    if (!k) notMoved.push(`${name} — the kernel has no such rule`);
    else if (ruleIdentity(k.rule) !== ruleIdentity(h.rule))
      notMoved.push(`${name} — the kernel's rule there is ${k.rule}`);
    else if (k.packets === 0) notMoved.push(`${name} — its counter did not move`);
  }
  const unlisted: string[] = [];
  // Only namespaces the walk passes through: a node off the path can send packets of its own meanwhile (an
  // IGMP report after its interfaces came up, say) that move its OUTPUT counters.
  const onPath = new Set(run.trace.events.filter((e) => e.type !== 'verdict').map((e) => e.at.netns));
  for (const [netns, rules] of run.counters) {
    if (!onPath.has(netns)) continue;
    // The engine records no decision for a built-in chain without rules (nothing but its policy to show).
    const ruled = new Set(
      [...rules.values()].filter((r) => r.index >= 0).map((r) => `${r.table} ${r.chain}`),
    );
    for (const [key, r] of rules) {
      if (r.packets <= 0 || listed.has(`${netns} ${key}`)) continue;
      if (r.index < 0 && !ruled.has(`${r.table} ${r.chain}`)) continue;
      unlisted.push(`${netns} ${key} ${r.rule} (+${r.packets})`);
    }
  }
  return { notMoved, unlisted };
}

// ───────────────────────────── the run ─────────────────────────────

export interface KernelRun {
  /** The engine's trace of the same walk (its source port is the one the kernel run used). */
  readonly trace: Trace;
  /** The captured hops of the walk's first exchange, in path order. */
  readonly hops: Hop[];
  /** Every IPv4 packet captured, in order (for diagnostics). */
  readonly all: Hop[];
  /** The sending process: its command and output (ping's "message too long", connect()'s error...). */
  readonly sender: { readonly command: string; readonly code: number | null; readonly output: string };
  readonly script: LabScript;
  /** Output of RunOptions.inspect's commands. */
  readonly inspections: string[];
  /** Per engine namespace with iptables rules: every rule and policy (keyed `table chain #index`) with the
   *  packets its counter gained while the walk ran (`iptables-save -c` before sending and after draining). */
  readonly counters: ReadonlyMap<string, ReadonlyMap<string, CountedRule>>;
  readonly timings: Readonly<Record<string, number>>;
}

export interface RunOptions {
  /** The longest wait, after the sender finished, for the captures to hold every packet the engine's trace
   *  shows (ms; see drain). */
  readonly drainMs?: number;
  /** Keep the capture directory (its path is printed) for debugging. */
  readonly keep?: boolean;
  /** Commands to run in lab namespaces after the exchange, before teardown (e.g. `ip route get`): their
   *  output is returned in `inspections`, in order. `netns` is an engine namespace id. */
  readonly inspect?: readonly { readonly netns: string; readonly argv: readonly string[] }[];
}

/** `ip netns exec NS timeout ... ARGV`: `timeout` ends a capture or listener by itself should this process
 *  die without running its finally block; until then it passes our SIGTERM on to its child. */
function bounded(labNs: string, argv: readonly string[]): string[] {
  return ['netns', 'exec', labNs, 'timeout', String(ORPHAN_LIMIT_S), ...argv];
}

let counter = 0;
/** This process's part of every lab name: its pid (fixed width, so no run's id is a prefix of another's) and a
 *  random byte (a pid reused after a crash gets a new id). Unique among live processes, so test files running
 *  side by side never share a namespace name; labs of one process differ by `counter`. */
export const RUN = `${process.pid.toString(36).padStart(5, '0')}${randomBytes(1).toString('hex')}`;

/**
 * Where the walk needs a receiving process: where the engine's request leg is delivered to a listening
 * TCP/UDP socket (behind a Service: the endpoint the engine chose, on the translated port), or else the
 * walk's destination namespace when it listens on the port.
 */
export function listenersOf(
  world: World,
  spec: WalkSpec,
  trace: Trace,
): { readonly netns: string; readonly port: number }[] {
  if (spec.protocol === 'icmp') return [];
  const out = new Map<string, { netns: string; port: number }>();
  for (const e of trace.events) {
    if (e.type !== 'decide' || e.leg !== 0 || e.decision.kind !== 'deliver' || !e.decision.listening)
      continue;
    const l4 = e.packet.l4;
    if (l4.kind === spec.protocol)
      out.set(`${e.at.netns}:${l4.dport}`, { netns: e.at.netns, port: l4.dport });
  }
  if (out.size > 0) return [...out.values()];
  const to = resolveRef(world, spec.to, true);
  const port = trace.flow!.dport;
  if (!to.netns || port === null) return [];
  const listen = world.netns(to.netns).listen;
  return listen === 'any' || listen.includes(port) ? [{ netns: to.netns, port }] : [];
}

/** `iptables-save -c` in each namespace (engine ids), run inside its lab namespace. */
async function readCounters(
  ids: readonly string[],
  script: LabScript,
): Promise<Map<string, Map<string, CountedRule>>> {
  const out = new Map<string, Map<string, CountedRule>>();
  await Promise.all(
    ids.map(async (id) => {
      const r = await run('ip', ['netns', 'exec', script.nsName(id), 'iptables-save', '-c']);
      if (r.code !== 0)
        throw new Error(`iptables-save -c failed in ${script.nsName(id)}: ${r.stderr.trim()}`);
      out.set(id, parseCounters(r.stdout));
    }),
  );
  return out;
}

/**
 * A lab built from a world, its captures running on every interface: walks can be run on it one after the
 * other (runInLab), each seeing a clean state (conntrack, neighbour caches and route exceptions flushed), so
 * the walks of one scenario share the cost of building it and of starting ~50 captures.
 */
export interface KernelLab {
  readonly world: World;
  readonly script: LabScript;
  readonly prefix: string;
  readonly dir: string;
  readonly captures: readonly Capture[];
  /** Engine namespaces with iptables rules (their counters are read around each walk). */
  readonly ruled: readonly string[];
  readonly timings: Readonly<Record<string, number>>;
  /** Walks run so far (numbers each walk's snapshot directory). */
  walks: number;
  closed: boolean;
}

/** Builds the world's lab and starts the captures. Close it with closeKernelLab, in a finally block. */
export async function openKernelLab(world: World): Promise<KernelLab> {
  const t0 = performance.now();
  const prefix = `pwk-${RUN}${(counter++).toString(36)}`;
  const script = labScript(world, { prefix });
  assertConfined(script, prefix);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const captures: Capture[] = [];
  const timings: Record<string, number> = {};
  const lab: KernelLab = {
    world,
    script,
    prefix,
    dir,
    captures,
    ruled: world
      .allNetns()
      .filter((ns) => ns.ruleset !== null)
      .map((ns) => ns.id),
    timings,
    walks: 0,
    closed: false,
  };
  try {
    mkdirSync(REGISTRY, { recursive: true });
    writeFileSync(join(REGISTRY, prefix), String(process.pid));
    const scriptFile = join(dir, 'lab.sh');
    writeFileSync(scriptFile, formatLabScript(script));
    const built = await run('sh', ['-ex', scriptFile], 60_000);
    if (built.code !== 0)
      throw new Error(
        `the lab script failed (kept in ${scriptFile}):\n${built.stderr.split('\n').slice(-6).join('\n')}`,
      );
    timings.build = Math.round(performance.now() - t0);
    const t1 = performance.now();
    // Captures: every non-loopback interface of every engine namespace, each direction separately.
    for (const ns of world.allNetns())
      for (const dev of ns.devices.values()) {
        if (dev.kind === 'loopback') continue;
        for (const direction of ['in', 'out'] as const) {
          const labNs = script.nsName(ns.id);
          const file = join(dir, `${labNs}~${dev.name}~${direction}.pcap`);
          captures.push({ netns: ns.id, device: dev.name, direction, labNs, file });
        }
      }
    for (const c of captures) {
      const tcpdump = ['tcpdump', '-p', '-n', '-i', c.device, '-Q', c.direction, '-s', '2048', '-B', '1024'];
      tcpdump.push('--immediate-mode', '-U', '--time-stamp-precision=nano', '-Z', 'root', '-w', c.file, 'ip');
      c.child = spawn('ip', bounded(c.labNs, tcpdump), { stdio: ['ignore', 'ignore', 'pipe'] });
    }
    // tcpdump says "listening on" once the capture is active (socket bound, filter set, file open).
    await Promise.all(captures.map((c) => waitFor(c.child!, 'stderr', /listening on/, 15_000)));
    timings.captureStart = Math.round(performance.now() - t1);
    return lab;
  } catch (e) {
    await closeKernelLab(lab, true);
    throw e;
  }
}

/** Stops the captures and deletes every namespace of the lab (and its files, unless kept or failed). */
export async function closeKernelLab(lab: KernelLab, failed = false): Promise<void> {
  if (lab.closed) return;
  lab.closed = true;
  const t = performance.now();
  await Promise.all(lab.captures.map((c) => (c.child ? stop(c.child, 500).catch(() => undefined) : null)));
  const present = new Set(listNetns());
  for (const cmd of lab.script.down) {
    const [, , , name] = cmd.split(' ');
    if (name && present.has(name)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
  rmSync(join(REGISTRY, lab.prefix), { force: true });
  if (process.env.PWK_KEEP || failed) console.warn(`kernel lab files kept in ${lab.dir}`);
  else rmSync(lab.dir, { recursive: true, force: true });
  (lab.timings as Record<string, number>).teardown = Math.round(performance.now() - t);
}

/** One frame a lab capture holds: where (engine namespace, device, direction), when, and its bytes. */
export interface CapturedFrame {
  readonly netns: string;
  readonly device: string;
  readonly direction: 'in' | 'out';
  readonly time: bigint;
  readonly bytes: Buffer;
}

/** Every frame the lab's captures hold from `since` (ns) on, capture by capture, each in capture order. */
export function capturedFrames(lab: KernelLab, since: bigint): CapturedFrame[] {
  return lab.captures.flatMap((c) => {
    const r = pcapRecords(readOrEmpty(c.file));
    return r.frames.flatMap((bytes, i) =>
      r.times[i]! >= since
        ? [{ netns: c.netns, device: c.device, direction: c.direction, time: r.times[i]!, bytes }]
        : [],
    );
  });
}

/** Whether perl and its Socket module are there (sendRawInLab's sender; Debian's essential perl-base). */
export function canSendRaw(): boolean {
  return spawnSync('perl', ['-MSocket', '-e', '1'], { stdio: 'ignore' }).status === 0;
}

/** Sends one IPv4 packet through a raw IPPROTO_RAW socket; the packet as hex in argv. */
const RAW_SENDER =
  'use Socket; my ($dst, $hex) = @ARGV; socket(my $s, PF_INET, SOCK_RAW, 255) or die "socket: $!\n"; ' +
  'defined(send($s, pack("H*", $hex), 0, pack_sockaddr_in(0, inet_aton($dst)))) or die "send: $!\n";';

/**
 * Sends an IPv4 packet (header included) from an engine namespace of the lab as that namespace's stack would:
 * a raw IPPROTO_RAW socket (IP_HDRINCL) routes it, passes it through OUTPUT and POSTROUTING and the neighbour
 * layer, and keeps the header as written except the total length and header checksum, which it fills in
 * (net/ipv4/raw.c raw_send_hdrinc). So the lab sends exactly the bytes the engine's capture shows, even what no
 * socket would (a SYN carrying data, an echo with the engine's id).
 */
export async function sendRawInLab(lab: KernelLab, netns: string, packet: Uint8Array): Promise<void> {
  if (packet.length < 20 || packet[0] !== 0x45) throw new Error('not an IPv4 packet without options');
  const dst = [...packet.subarray(16, 20)].join('.');
  const hex = Buffer.from(packet).toString('hex');
  const r = await run('ip', [...bounded(lab.script.nsName(netns), ['perl', '-e', RAW_SENDER, dst, hex])]);
  if (r.code !== 0) throw new Error(`the raw send from ${netns} failed: ${(r.stdout + r.stderr).trim()}`);
}

/**
 * Waits until the lab's captures hold, from `since` on, a frame for which `done` is true (at most `limitMs`),
 * then SETTLE_MS more so that what follows it is captured too. Returns whether it came.
 */
export async function waitForFrame(
  lab: KernelLab,
  since: bigint,
  done: (f: CapturedFrame) => boolean,
  limitMs = DRAIN_MS,
): Promise<boolean> {
  const until = performance.now() + limitMs;
  let found = false;
  while (!found && performance.now() < until) {
    found = capturedFrames(lab, since).some(done);
    if (!found) await sleep(POLL_MS);
  }
  await sleep(SETTLE_MS);
  return found;
}

/**
 * Forgets what earlier walks left in the lab's kernel state, as a new lab would have it: conntrack entries
 * (a later walk with a tuple already seen would be NATed differently), learned neighbours (br_netfilter's
 * bridged DNAT depends on whether the new destination's neighbour is confirmed) and cached route exceptions
 * (ICMP redirects, PMTU). Permanent neighbours (flannel's VTEPs) stay.
 */
export async function resetLabState(lab: KernelLab): Promise<void> {
  await Promise.all(
    lab.world.allNetns().map(async (ns) => {
      const labNs = lab.script.nsName(ns.id);
      const r = await run('ip', [
        'netns',
        'exec',
        labNs,
        'sh',
        '-c',
        'conntrack -F >/dev/null 2>&1; ip neigh flush all && ip route flush cache',
      ]);
      if (r.code !== 0) throw new Error(`resetting ${labNs} failed: ${r.stderr.trim()}`);
    }),
  );
}

/** Copies each capture's complete records so far (tcpdump -U writes whole records, but the last may be
 *  mid-write) into `dir`, so a walk decodes a stable file while the captures go on. */
function snapshot(captures: readonly Capture[], dir: string): Capture[] {
  mkdirSync(dir, { recursive: true });
  return captures.map((c) => {
    const file = join(dir, c.file.slice(c.file.lastIndexOf('/') + 1));
    const b = readOrEmpty(c.file);
    writeFileSync(file, b.subarray(0, pcapRecords(b).end));
    return { netns: c.netns, device: c.device, direction: c.direction, labNs: c.labNs, file };
  });
}

export const realtimeNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** How long drain() waits at most for the packets the engine's trace shows. */
const DRAIN_MS = 2000;
/** How long drain() still waits once they are all there: a packet the engine does not show, sent with or
 *  right after them, is captured too (the lab's packets all follow within microseconds of the sender's). */
const SETTLE_MS = 150;
const POLL_MS = 20;

/**
 * Waits, after the sender finished, until the captures hold what the walk put on the wire: for one of the
 * engine's traces (the walk, or one pinned to an endpoint the kernel may have chosen), as many packets since
 * `from` on every interface and direction as the trace shows there — tcpdump writes each capture's packets
 * in the order the kernel handed them over — then SETTLE_MS more. Gives up after `limitMs` (the comparison
 * then shows what is missing). It was a fixed 400 ms: a capture short of the engine's packets can only fail
 * the walk, so waiting for them until they are there weakens no check, and is quicker (and surer under load).
 */
async function drain(
  captures: readonly Capture[],
  from: bigint,
  traces: readonly Trace[],
  limitMs: number,
): Promise<void> {
  const key = (netns: string, device: string, direction: string): string => `${netns} ${direction} ${device}`;
  const wanted = traces.map((t) => {
    const n = new Map<string, number>();
    for (const h of engineHops(t))
      n.set(key(h.netns, h.device, h.direction), (n.get(key(h.netns, h.device, h.direction)) ?? 0) + 1);
    return n;
  });
  const since = from - 1_000_000n;
  const until = performance.now() + limitMs;
  for (;;) {
    const got = new Map<string, number>();
    for (const c of captures) {
      const n = pcapRecords(readOrEmpty(c.file)).times.filter((t) => t >= since).length;
      if (n > 0) got.set(key(c.netns, c.device, c.direction), n);
    }
    const complete = wanted.some((w) => [...w].every(([k, n]) => (got.get(k) ?? 0) >= n));
    if (complete || performance.now() >= until) break;
    await sleep(POLL_MS);
  }
  await sleep(SETTLE_MS);
}

/** Builds the lab, runs the walk's first exchange for real, and returns the captured hops. */
export async function runKernelWalk(world: World, spec: WalkSpec, opts: RunOptions = {}): Promise<KernelRun> {
  const lab = await openKernelLab(world);
  let failed = false;
  try {
    return await runInLab(lab, spec, opts);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await closeKernelLab(lab, failed || opts.keep === true);
  }
}

/**
 * The endpoints ("ip:port") kube-proxy's `-m statistic --mode random` branches choose among on the walk's
 * path: for the first netfilter step of the trace that took a statistic branch, every DNAT target of the chains
 * its chain jumps to. The kernel draws its own branch, so the harness lets it choose, reads its choice from
 * the capture, and compares with the engine's walk pinned to it (WalkSpec.pin). Empty when the walk makes
 * no random choice.
 */
export function randomEndpoints(world: World, trace: Trace): string[] {
  for (const e of trace.events) {
    if (e.type !== 'decide' || e.decision.kind !== 'netfilter') continue;
    const d = e.decision;
    const step = d.steps.find(
      (x) => /-m statistic --mode random/.test(x.rule) && !x.action.startsWith('no match'),
    );
    if (!step) continue;
    const chains = world.netns(e.at.netns).ruleset?.get(d.table);
    const out: string[] = [];
    for (const r of chains?.get(step.chain)?.rules ?? []) {
      if (r.target.kind !== 'jump' && r.target.kind !== 'goto') continue;
      for (const x of chains?.get(r.target.chain)?.rules ?? [])
        if (x.target.kind === 'DNAT' && x.target.port !== null) out.push(`${x.target.ip}:${x.target.port}`);
    }
    return [...new Set(out)];
  }
  return [];
}

/**
 * Runs a walk's first exchange on an open lab and returns the captured hops: the walk's packets are those
 * captured between the sender's start and the end of the drain that belong to its flow. Walks after the
 * first start from a reset state (resetLabState); their TCP sender closes with a RST (no TIME_WAIT socket
 * left to meet a later walk's tuple).
 */
export async function runInLab(lab: KernelLab, spec: WalkSpec, opts: RunOptions = {}): Promise<KernelRun> {
  if (lab.closed) throw new Error('the lab is closed');
  const { world, script } = lab;
  const t0 = performance.now();
  const timings: Record<string, number> = { ...lab.timings };
  const mark = (name: string, since: number): number => {
    const now = performance.now();
    timings[name] = Math.round(now - since);
    return now;
  };
  let trace = walk(world, spec);
  // A random endpoint choice: one engine walk per endpoint, the kernel's choice picks one after the capture.
  const pinned = randomEndpoints(world, trace).map((pin) => ({ pin, trace: walk(world, { ...spec, pin }) }));
  for (const p of pinned)
    if (p.trace.flow?.sport !== trace.flow?.sport)
      throw new Error(
        `pinning ${p.pin} changed the walk's source port: the engine's draws are not independent`,
      );
  const flow = trace.flow;
  if (flow === null)
    throw new Error(`${spec.from} → ${spec.to} is not a packet walk: nothing to run in the lab`);
  const shared = lab.walks > 0;
  const walkDir = join(lab.dir, `walk-${lab.walks++}`);
  const children: ChildProcess[] = [];
  try {
    let t = t0;
    // The receiving process, when the walk needs one (the kernel itself answers pings).
    const listeners = new Map<string, { netns: string; port: number }>();
    for (const t of [trace, ...pinned.map((p) => p.trace)])
      for (const l of listenersOf(world, spec, t)) listeners.set(`${l.netns}:${l.port}`, l);
    const listening = [...listeners.values()].map(({ netns, port }) => {
      const code =
        spec.protocol === 'tcp'
          ? `const s=require('net').createServer(c=>{c.on('error',()=>{});c.end()});s.listen(${port},'0.0.0.0',()=>console.log('ready'))`
          : `const d=require('dgram').createSocket('udp4');d.on('message',(m,r)=>d.send(m,r.port,r.address));d.bind(${port},'0.0.0.0',()=>console.log('ready'))`;
      const l = spawn('ip', bounded(script.nsName(netns), [process.execPath, '-e', code]), {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(l);
      return waitFor(l, 'stdout', /ready/, 10_000);
    });
    // Nothing is sent until all of these are done, and none of them sends a packet or moves a counter: the
    // reset (conntrack, neighbours, route cache), the listeners starting, the counters read before the walk.
    const [countersBefore] = await Promise.all([
      readCounters(lab.ruled, script),
      shared ? resetLabState(lab) : null,
      ...listening,
    ]);
    t = mark('prepare', t);

    // The sender, with the engine's source port (and source address when the walk names one).
    const from = realtimeNs();
    const srcNs = script.nsName(resolveRef(world, spec.from, false).netns);
    const bindIp = isIp(spec.from.trim()) ? spec.from.trim() : null;
    let argv: string[];
    if (spec.protocol === 'icmp') {
      const req = trace.events.find((e) => e.type === 'leg')!;
      const size = req.type === 'leg' ? req.packet.ip.length - 28 : 56;
      argv = [
        'ping',
        '-n',
        '-c',
        '1',
        '-W',
        '2',
        '-s',
        String(size),
        '-M',
        'do',
        ...(bindIp ? ['-I', bindIp] : []),
        flow.dst,
      ];
    } else if (spec.protocol === 'tcp') {
      const local = bindIp ? `,localAddress:'${bindIp}'` : '';
      // In a shared lab, close with a RST: no TIME_WAIT socket is left to meet a later walk's tuple. The
      // process ends once the socket is closed (the RST sent, or the FIN exchange done).
      const close = shared ? 's.resetAndDestroy()' : 's.end()';
      argv = [
        process.execPath,
        '-e',
        `const s=require('net').connect({host:'${flow.dst}',port:${flow.dport},localPort:${flow.sport}${local}});` +
          `s.on('connect',()=>{console.log('connected from '+s.localAddress+':'+s.localPort);s.on('close',()=>process.exit(0));${close};setTimeout(()=>process.exit(0),200)});` +
          `s.on('error',e=>{console.log('error '+e.code+': '+e.message);process.exit(0)});setTimeout(()=>{console.log('timeout');process.exit(0)},2500)`,
      ];
    } else {
      const req = trace.events.find((e) => e.type === 'leg')!;
      const size = req.type === 'leg' ? req.packet.ip.length - 28 : 32;
      argv = [
        process.execPath,
        '-e',
        `const d=require('dgram').createSocket('udp4');d.on('message',(m,r)=>{console.log('reply from '+r.address+':'+r.port+' '+m.length+' bytes');process.exit(0)});` +
          `d.on('error',e=>{console.log('error '+e.code+': '+e.message);process.exit(0)});` +
          // A connected socket, so an ICMP port unreachable ends the wait (ECONNREFUSED) instead of a timeout.
          `d.bind(${flow.sport},${bindIp ? `'${bindIp}'` : 'undefined'},()=>d.connect(${flow.dport},'${flow.dst}',()=>d.send(Buffer.alloc(${size}))));setTimeout(()=>{console.log('timeout');process.exit(0)},2500)`,
      ];
    }
    const sent = await run('ip', ['netns', 'exec', srcNs, ...argv], 15_000);
    const sender = {
      command: `ip netns exec ${srcNs} ${argv[0] === process.execPath ? 'node -e …' : argv.join(' ')}`,
      code: sent.code,
      output: (sent.stdout + sent.stderr).trim(),
    };
    await drain(lab.captures, from, [trace, ...pinned.map((p) => p.trace)], opts.drainMs ?? DRAIN_MS);
    const to = realtimeNs();
    t = mark('send', t);

    const countersAfter = await readCounters(lab.ruled, script);
    const counters = new Map<string, Map<string, CountedRule>>();
    for (const [netns, rules] of countersAfter) {
      const was = countersBefore.get(netns);
      const diff = new Map<string, CountedRule>();
      for (const [k, r] of rules) diff.set(k, { ...r, packets: r.packets - (was?.get(k)?.packets ?? 0) });
      counters.set(netns, diff);
    }
    const inspections: string[] = [];
    for (const i of opts.inspect ?? []) {
      const r = await run('ip', ['netns', 'exec', script.nsName(i.netns), ...i.argv]);
      inspections.push((r.stdout + r.stderr).trim());
    }
    for (const c of children) await stop(c);
    // The walk's window: from just before the sender started to the end of the drain (1 ms of slack for
    // Date.now()'s resolution).
    const decoded = await decode(snapshot(lab.captures, walkDir), walkDir);
    const inWindow = decoded.filter(
      (h) => h.time === undefined || (h.time >= from - 1_000_000n && h.time <= to),
    );
    const all = orderHops(inWindow, world);
    // The endpoint the kernel's statistic match chose: the one the walk's protocol reached.
    const chosen = pinned.find((p) => {
      const [ip, port] = p.pin.split(':');
      return all.some(
        (h) =>
          h.ip.dst === ip &&
          h.l4.kind !== 'icmp' &&
          h.l4.kind === spec.protocol &&
          h.l4.dport === Number(port),
      );
    });
    if (chosen) trace = chosen.trace;
    // A retransmission (a SYN nobody answered, resent after 1 s) repeats hops already seen: keep the first.
    const seen = new Set<string>();
    const hops = all.filter(flowMatcher(trace)).filter((h) => {
      const line = `${placeOf(h)} ${describeHop(h)}`;
      if (seen.has(line)) return false;
      seen.add(line);
      return true;
    });
    mark('decode', t);
    if (!process.env.PWK_KEEP) rmSync(walkDir, { recursive: true, force: true });
    timings.total =
      Math.round(performance.now() - t0) +
      (shared ? 0 : (lab.timings.build ?? 0) + (lab.timings.captureStart ?? 0));
    return { trace, hops, all, sender, script, inspections, counters, timings };
  } finally {
    for (const c of children) await stop(c, 500).catch(() => undefined);
  }
}

/** Lab namespaces of this process still present (should be none after each run). */
export function leftoverNamespaces(): string[] {
  return listNetns().filter((n) => n.startsWith(`pwk-${RUN}`));
}
