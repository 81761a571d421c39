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
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEREDOC_END, labScript, formatLabScript, type LabScript } from '../../src/engine/lab.ts';
import { isIp } from '../../src/engine/addr.ts';
import { resolveRef, walk, type WalkSpec } from '../../src/engine/walk.ts';
import type { Frame } from '../../src/engine/packet.ts';
import type { Trace } from '../../src/engine/trace.ts';
import type { World } from '../../src/engine/world.ts';

/** Linux's default ip_local_port_range: where VXLAN's outer UDP source port comes from. */
export const EPHEMERAL = { low: 32768, high: 60999 } as const;
const VXLAN_PORT = 8472;
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

/** The engine's `observe` events of a trace (optionally one leg) as hops. */
export function engineHops(trace: Trace, leg?: number): Hop[] {
  const out: Hop[] = [];
  for (const e of trace.events)
    if (e.type === 'observe' && e.device !== 'lo' && (leg === undefined || e.leg === leg))
      out.push(hopOfFrame(e.at.netns, e.device, e.direction, e.packet));
  return out;
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
  ] as const) {
    const r = spawnSync(tool, args, { stdio: 'ignore' });
    if (r.error || r.status !== 0)
      return no(`${tool} is not installed (apt-get install iproute2 tcpdump tshark iputils-ping procps)`);
  }
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
  const owners = new Map<string, number>();
  try {
    for (const f of readdirSync(REGISTRY)) owners.set(f, Number(readFileSync(join(REGISTRY, f), 'utf8')));
  } catch {
    /* no registry yet */
  }
  const removed: string[] = [];
  for (const ns of listNetns()) {
    if (!ns.startsWith('pwk-')) continue;
    const owner = [...owners.entries()].find(([prefix]) => ns.startsWith(`${prefix}-`));
    if (owner && alive(owner[1])) continue;
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    removed.push(ns);
  }
  for (const [prefix, pid] of owners) if (!alive(pid)) rmSync(join(REGISTRY, prefix), { force: true });
  return removed;
}

/** Every executable line of a lab script acts inside a lab namespace of this prefix, or we refuse to run it. */
export function assertConfined(script: LabScript, prefix: string): void {
  const p = prefix.replace(/[.]/g, '\\.');
  const ns = `${p}-[A-Za-z0-9_.-]+`;
  const allowed = [
    new RegExp(`^ip netns add ${ns}$`),
    new RegExp(`^ip netns del ${ns}$`),
    new RegExp(`^ip -n ${ns} [^;&|\`$]*$`),
    new RegExp(`^bridge -n ${ns} [^;&|\`$]*$`),
    new RegExp(`^ip netns exec ${ns} sysctl -qw [a-z0-9_.=\\- ]+$`),
    new RegExp(
      `^ip netns exec ${ns} sh -c 'sysctl -qw net\\.bridge\\.bridge-nf-call-iptables=0 2>/dev/null \\|\\| true'$`,
    ),
  ];
  const restore = new RegExp(`^ip netns exec ${ns} iptables-restore --noflush <<'${HEREDOC_END}'$`);
  let inRules = false;
  for (const line of [...script.up, ...script.down]) {
    // The body of an iptables-restore here-document is data for iptables inside the lab namespace.
    if (inRules) {
      if (line === HEREDOC_END) inRules = false;
      continue;
    }
    if (restore.test(line)) {
      inRules = true;
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    if (!allowed.some((r) => r.test(line)))
      throw new Error(`refusing to run a lab command outside the lab: ${line}`);
    const into = / netns (\S+)/.exec(line.replace(/^ip netns (add|del|exec) /, ''));
    if (into && !into[1]!.startsWith(`${prefix}-`))
      throw new Error(`refusing to move a link out of the lab: ${line}`);
  }
}

// ───────────────────────────── pcap + tshark ─────────────────────────────

/** Timestamps (ns) of the records of a nanosecond pcap file written by tcpdump. */
function pcapTimes(file: string): bigint[] {
  const b = readFileSync(file);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b23c4d || magic === 0xa1b2c3d4;
  const nano = magic === 0xa1b23c4d || b.readUInt32BE(0) === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const out: bigint[] = [];
  for (let o = 24; o + 16 <= b.length;) {
    const sec = BigInt(u32(o));
    const frac = BigInt(u32(o + 4));
    out.push(sec * 1_000_000_000n + (nano ? frac : frac * 1000n));
    o += 16 + u32(o + 8);
  }
  return out;
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
    '-d',
    `udp.port==${VXLAN_PORT},vxlan`,
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
  readonly timings: Readonly<Record<string, number>>;
}

export interface RunOptions {
  /** Extra wait after the sender finished before the captures stop (ms). */
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
const RUN = randomBytes(2).toString('hex');

/** Builds the lab, runs the walk's first exchange for real, and returns the captured hops. */
export async function runKernelWalk(world: World, spec: WalkSpec, opts: RunOptions = {}): Promise<KernelRun> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const mark = (name: string, since: number): number => {
    const now = performance.now();
    timings[name] = Math.round(now - since);
    return now;
  };
  const trace = walk(world, spec);
  const flow = trace.flow;
  const prefix = `pwk-${RUN}${(counter++).toString(36)}`;
  const script = labScript(world, { prefix });
  assertConfined(script, prefix);

  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const children: ChildProcess[] = [];
  const captures: Capture[] = [];
  let failed = false;
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
    let t = mark('build', t0);

    // The receiving process, when the walk needs one (the kernel itself answers pings).
    const to = resolveRef(world, spec.to, true);
    if (spec.protocol !== 'icmp' && to.netns && flow.dport !== null) {
      const listen = world.netns(to.netns).listen;
      if (listen === 'any' || listen.includes(flow.dport)) {
        const code =
          spec.protocol === 'tcp'
            ? `const s=require('net').createServer(c=>{c.on('error',()=>{});c.end()});s.listen(${flow.dport},'0.0.0.0',()=>console.log('ready'))`
            : `const d=require('dgram').createSocket('udp4');d.on('message',(m,r)=>d.send(m,r.port,r.address));d.bind(${flow.dport},'0.0.0.0',()=>console.log('ready'))`;
        const l = spawn('ip', bounded(script.nsName(to.netns), [process.execPath, '-e', code]), {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(l);
        await waitFor(l, 'stdout', /ready/, 10_000);
      }
    }

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
      children.push(c.child);
    }
    await Promise.all(captures.map((c) => waitFor(c.child!, 'stderr', /listening on/, 15_000)));
    await sleep(300);
    t = mark('captureStart', t);

    // The sender, with the engine's source port (and source address when the walk names one).
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
      argv = [
        process.execPath,
        '-e',
        `const s=require('net').connect({host:'${flow.dst}',port:${flow.dport},localPort:${flow.sport}${local}});` +
          `s.on('connect',()=>{console.log('connected from '+s.localAddress+':'+s.localPort);s.end();setTimeout(()=>process.exit(0),200)});` +
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
    await sleep(opts.drainMs ?? 400);
    t = mark('send', t);

    const inspections: string[] = [];
    for (const i of opts.inspect ?? []) {
      const r = await run('ip', ['netns', 'exec', script.nsName(i.netns), ...i.argv]);
      inspections.push((r.stdout + r.stderr).trim());
    }
    await Promise.all(captures.map((c) => stop(c.child!)));
    for (const c of children) await stop(c);
    const all = orderHops(await decode(captures, dir), world);
    const key: FlowKey = { protocol: flow.protocol, dst: flow.dst, sport: flow.sport, dport: flow.dport };
    const hops = all.filter((h) => inFlow(h, key));
    mark('decode', t);
    return { trace, hops, all, sender, script, inspections, timings };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    const td = performance.now();
    for (const c of children) await stop(c, 500).catch(() => undefined);
    const present = new Set(listNetns());
    for (const cmd of script.down) {
      const [, , , name] = cmd.split(' ');
      if (name && present.has(name)) spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    }
    rmSync(join(REGISTRY, prefix), { force: true });
    if (opts.keep || process.env.PWK_KEEP || failed) console.warn(`kernel lab files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
    timings.teardown = Math.round(performance.now() - td);
    timings.total = Math.round(performance.now() - t0);
  }
}

/** Lab namespaces of this process still present (should be none after each run). */
export function leftoverNamespaces(): string[] {
  return listNetns().filter((n) => n.startsWith(`pwk-${RUN}`));
}
