// Presentation kernels: the words and tables the panels show, computed from trace events and the world
// view. Pure; must not read the store or the machine. Labels use Linux's own words (fdb, neigh, veth). The
// words around them come from the UI's messages through the `t` each function takes (English by default).
import type { Frame, IpPacket, L4Header } from '../engine/packet.ts';
import { formatRdata } from '../engine/dns.ts';
import type { Decision, LegKind, TraceEvent, Verdict, VerdictKind } from '../engine/trace.ts';
import type { NetnsView, WorldView } from '../engine/view.ts';
import { en } from './i18n/en.ts';
import { enT, type T } from './i18n/index.ts';

/** The English labels, for code that has no `t` (the UI itself uses verdictLabel and legLabel). */
export const VERDICT_LABELS: Readonly<Record<VerdictKind, string>> = en.verdict.kind;
export const LEG_LABELS: Readonly<Record<LegKind, string>> = en.leg;

/** Verdicts that mean the walk did what it set out to do: a packet delivered, a CNI ADD or DEL done. */
export type SuccessVerdict = 'delivered' | 'configured' | 'removed';
export const SUCCESS_VERDICTS: ReadonlySet<VerdictKind> = new Set<SuccessVerdict>([
  'delivered',
  'configured',
  'removed',
]);
export function isSuccessVerdict(kind: VerdictKind): kind is SuccessVerdict {
  return SUCCESS_VERDICTS.has(kind);
}

/** "Delivered", "Dropped", … */
export function verdictLabel(kind: VerdictKind, t: T = enT): string {
  return t(`verdict.kind.${kind}`);
}

/** The number people see for an event or a leg: the hop list, the inspector, the decision panel, the embed
 *  bar and the position counter ("8 / 94") all count from 1. The trace's `seq` and `leg`, the command
 *  line's `#n`, a share link's `hop=` and the embed API's `hop` count from 0, as the data does. */
export function shownNumber(index: number): number {
  return index + 1;
}

/** "Request", "Reply", "DNS query", … */
export function legLabel(kind: LegKind, t: T = enT): string {
  return t(`leg.${kind}`);
}

/** "Delivered", or "<Label>: <reason>" for every other verdict (the reason is the engine's, in English). */
export function verdictText(v: Verdict, t: T = enT): string {
  return v.kind === 'delivered'
    ? verdictLabel(v.kind, t)
    : t('verdict.withReason', { label: verdictLabel(v.kind, t), reason: v.reason });
}

/** The kind of every leg, by leg number (from the leg events). */
export function legKinds(events: readonly TraceEvent[]): Map<number, LegKind> {
  const out = new Map<number, LegKind>();
  for (const e of events) if (e.type === 'leg') out.set(e.leg, e.kind);
  return out;
}

/** The verdict the packet has reached at `cursor`: the last verdict event at or before it. */
export function verdictAt(
  events: readonly TraceEvent[],
  cursor: number,
): Extract<TraceEvent, { type: 'verdict' }> | null {
  for (let i = Math.min(cursor, events.length - 1); i >= 0; i--) {
    const e = events[i];
    if (e?.type === 'verdict') return e;
  }
  return null;
}

/** The last decision at or before `cursor` within the cursor's leg. */
export function decisionAt(
  events: readonly TraceEvent[],
  cursor: number,
): Extract<TraceEvent, { type: 'decide' }> | null {
  const leg = events[cursor]?.leg;
  for (let i = Math.min(cursor, events.length - 1); i >= 0; i--) {
    const e = events[i];
    if (!e || e.leg !== leg) return null;
    if (e.type === 'decide') return e;
  }
  return null;
}

export function netnsLabel(view: WorldView | null, id: string): string {
  return view?.namespaces.find((n) => n.id === id)?.label ?? id;
}

export const DECISION_LABELS: Record<Decision['kind'], string> = {
  route: 'route',
  fdb: 'bridge fdb',
  'vxlan-fdb': 'vxlan fdb',
  neigh: 'neigh',
  forward: 'forward',
  mtu: 'mtu',
  encap: 'vxlan encap',
  decap: 'vxlan decap',
  deliver: 'deliver',
  'l2-drop': 'l2 drop',
  'icmp-redirect': 'icmp redirect',
  netfilter: 'iptables',
  conntrack: 'conntrack',
  nat: 'nat',
  ipvs: 'ipvs',
  resolver: 'resolver',
  dns: 'dns',
  policy: 'network policy',
};

/** One line for the hop list. */
export function eventLine(
  e: TraceEvent,
  view: WorldView | null,
  t: T = enT,
): { where: string; what: string } {
  switch (e.type) {
    case 'leg': {
      // "DNS query A? …" already says what it is (the engine's summary, in English: its label is swapped for
      // the language's); "Request: tcp …" needs the label.
      const english = legLabel(e.kind);
      const label = legLabel(e.kind, t);
      return {
        where: netnsLabel(view, e.at.netns),
        what: e.summary.startsWith(english)
          ? label + e.summary.slice(english.length)
          : t('hops.legLine', { label, summary: e.summary }),
      };
    }
    case 'observe':
      return {
        where: netnsLabel(view, e.at.netns),
        what: t(e.direction === 'in' ? 'hops.in' : 'hops.out', { device: e.device }),
      };
    case 'decide':
      return {
        where: netnsLabel(view, e.at.netns),
        what: t('hops.decision', { label: DECISION_LABELS[e.decision.kind], brief: decisionBrief(e, t) }),
      };
    case 'cni':
      return { where: netnsLabel(view, e.at.netns), what: `${e.actor}: ${e.shell.split('\n')[0] ?? ''}` };
    case 'verdict':
      return { where: netnsLabel(view, e.verdict.at.netns), what: verdictText(e.verdict, t) };
  }
}

/** A decision in a few words for the hop list: the summary, with the long parts (the route's table line,
 *  a netfilter walk's every jump, a conntrack entry's reply tuple) left to the tables panel. */
export function decisionBrief(e: Extract<TraceEvent, { type: 'decide' }>, t: T = enT): string {
  const d = e.decision;
  switch (d.kind) {
    case 'route':
      return e.summary.replace(/\s+\[(local|main): .*\]$/, '');
    case 'netfilter': {
      const last = d.steps[d.steps.length - 1];
      const end = last && !last.action.startsWith('end of chain') ? last.action : d.verdict;
      return t('brief.netfilter', {
        table: d.table,
        hook: d.hook,
        bridged: d.bridged ? t('brief.bridged') : '',
        end,
        rules: t('brief.rules', { count: d.evaluated }),
      });
    }
    case 'conntrack': {
      const tuple = originalTuple(d.entry) ?? d.entry;
      const state = d.state;
      return d.action === 'new'
        ? t('brief.conntrackNew', { tuple, state })
        : d.action === 'found'
          ? t('brief.conntrackFound', { direction: d.direction, tuple, state })
          : t('brief.conntrackConfirmed', { tuple, state });
    }
    case 'resolver':
      return resolverBrief(d, t);
    case 'neigh':
      return t(d.arp ? 'brief.neighArp' : 'brief.neigh', {
        ip: d.ip,
        device: d.device,
        mac: d.mac ?? t('brief.noMac'),
        state: d.stateAfter,
      });
    default:
      return e.summary;
  }
}

function resolverBrief(d: Extract<Decision, { kind: 'resolver' }>, t: T): string {
  const position = t('brief.position', {
    n: d.candidates.indexOf(d.candidate) + 1,
    total: d.candidates.length,
  });
  switch (d.outcome) {
    case 'try':
      return t('brief.resolverTry', { candidate: d.candidate, position });
    case 'use':
      return t('brief.resolverUse', { candidate: d.candidate, address: d.address ?? '?' });
    case 'next':
      return t('brief.resolverNext', { candidate: d.candidate });
    case 'fail':
      return t('brief.resolverFail', { name: d.name });
  }
}

/** "tcp 10.244.1.2:50471 → 10.96.106.22:3306" from a `conntrack -L` line's original direction. */
export function originalTuple(entry: string): string | null {
  const m = /^(\w+)\s.*?src=(\S+) dst=(\S+)(?: sport=(\d+) dport=(\d+))?/.exec(entry);
  if (!m) return null;
  const [, proto, src, dst, sport, dport] = m;
  return sport && dport ? `${proto} ${src}:${sport} → ${dst}:${dport}` : `${proto} ${src} → ${dst}`;
}

export interface HopGroup {
  readonly leg: number;
  readonly kind: LegKind;
  /** Index of the group's first and last event in the trace. */
  readonly first: number;
  readonly last: number;
  readonly verdict: Verdict | null;
}

/** The trace's events grouped by leg, in order (a leg's events are contiguous). */
export function hopGroups(events: readonly TraceEvent[]): HopGroup[] {
  const out: HopGroup[] = [];
  events.forEach((e, i) => {
    const g = out[out.length - 1];
    if (g && g.leg === e.leg) {
      out[out.length - 1] = { ...g, last: i, verdict: e.type === 'verdict' ? e.verdict : g.verdict };
    } else {
      out.push({
        leg: e.leg,
        kind:
          e.type === 'leg'
            ? e.kind
            : e.type === 'cni'
              ? e.command === 'ADD'
                ? 'cni-add'
                : 'cni-del'
              : 'request',
        first: i,
        last: i,
        verdict: e.type === 'verdict' ? e.verdict : null,
      });
    }
  });
  return out;
}

// ─── Headers, layer by layer ──────────────────────────────────────────────────────────────────────────

export interface HeaderField {
  /** Stable across events: `<level>.<header>.<field>`, level 0 being the innermost packet. */
  readonly key: string;
  readonly label: string;
  readonly value: string;
}

export interface HeaderBlock {
  readonly title: string;
  readonly fields: readonly HeaderField[];
}

export interface HeaderLayer {
  /** "Outer" and "Inner" for an encapsulated packet, else "Packet". */
  readonly title: string;
  readonly level: number;
  readonly headers: readonly HeaderBlock[];
}

type AnyPacket = Frame | IpPacket;

/** The packet's headers, outermost layer first. Levels count from the innermost packet (0), so the original
 *  packet keeps its keys when it is encapsulated and the outer headers are new. */
export function headerLayers(p: AnyPacket, t: T = enT): HeaderLayer[] {
  const chain: AnyPacket[] = [];
  for (let q: AnyPacket | undefined = p; q; q = q.inner) chain.push(q);
  const depth = chain.length;
  return chain.map((q, i) => {
    const level = depth - 1 - i;
    const k = (h: string, f: string) => `${level}.${h}.${f}`;
    const headers: HeaderBlock[] = [];
    if ('eth' in q)
      headers.push({
        title: 'Ethernet',
        fields: [
          { key: k('eth', 'src'), label: 'src', value: q.eth.src },
          { key: k('eth', 'dst'), label: 'dst', value: q.eth.dst },
        ],
      });
    headers.push({
      title: 'IPv4',
      fields: [
        { key: k('ip', 'src'), label: 'src', value: q.ip.src },
        { key: k('ip', 'dst'), label: 'dst', value: q.ip.dst },
        { key: k('ip', 'ttl'), label: 'ttl', value: String(q.ip.ttl) },
        { key: k('ip', 'proto'), label: 'proto', value: q.ip.protocol },
        { key: k('ip', 'len'), label: 'len', value: String(q.ip.length) },
        { key: k('ip', 'df'), label: 'df', value: q.ip.df ? 'set' : 'clear' },
      ],
    });
    headers.push(l4Block(q.l4, k));
    if (q.dns) {
      const m = q.dns;
      const question = m.question[0];
      const fields: HeaderField[] = [
        { key: k('dns', 'id'), label: 'id', value: String(m.id) },
        { key: k('dns', 'qr'), label: 'qr', value: m.flags.qr ? 'response' : 'query' },
        {
          key: k('dns', 'question'),
          label: 'question',
          value: question ? `${question.name} ${question.type}` : '-',
        },
      ];
      if (m.flags.qr) {
        fields.push({ key: k('dns', 'rcode'), label: 'rcode', value: m.rcode });
        fields.push({
          key: k('dns', 'answer'),
          label: 'answer',
          value: m.answer.length
            ? m.answer.map((rr) => `${rr.type} ${formatRdata(rr)}`).join(', ')
            : '(none)',
        });
      }
      headers.push({ title: 'DNS', fields });
    }
    if (q.vxlan)
      headers.push({
        title: 'VXLAN',
        fields: [{ key: k('vxlan', 'vni'), label: 'vni', value: String(q.vxlan.vni) }],
      });
    const title =
      depth === 1
        ? t('layers.packet')
        : i === 0
          ? t('layers.outer')
          : i === depth - 1
            ? t('layers.inner')
            : t('layers.innerN', { n: i });
    return { title, level, headers };
  });
}

function l4Block(l4: L4Header, k: (h: string, f: string) => string): HeaderBlock {
  switch (l4.kind) {
    case 'tcp':
      return {
        title: 'TCP',
        fields: [
          { key: k('tcp', 'sport'), label: 'sport', value: String(l4.sport) },
          { key: k('tcp', 'dport'), label: 'dport', value: String(l4.dport) },
          { key: k('tcp', 'flags'), label: 'flags', value: `[${l4.flags}]` },
        ],
      };
    case 'udp':
      return {
        title: 'UDP',
        fields: [
          { key: k('udp', 'sport'), label: 'sport', value: String(l4.sport) },
          { key: k('udp', 'dport'), label: 'dport', value: String(l4.dport) },
        ],
      };
    case 'icmp': {
      const fields: HeaderField[] = [
        { key: k('icmp', 'type'), label: 'type', value: `${l4.type} (${icmpTypeName(l4.type)})` },
        { key: k('icmp', 'code'), label: 'code', value: String(l4.code) },
      ];
      if (l4.id !== undefined) fields.push({ key: k('icmp', 'id'), label: 'id', value: String(l4.id) });
      if (l4.seq !== undefined) fields.push({ key: k('icmp', 'seq'), label: 'seq', value: String(l4.seq) });
      if (l4.mtu !== undefined) fields.push({ key: k('icmp', 'mtu'), label: 'mtu', value: String(l4.mtu) });
      if (l4.original) {
        const o = l4.original;
        const ports = o.l4.kind === 'icmp' ? '' : ` ${o.l4.sport} → ${o.l4.dport}`;
        fields.push({
          key: k('icmp', 'original'),
          label: 'quotes',
          value: `${o.ip.protocol} ${o.ip.src} → ${o.ip.dst}${ports}`,
        });
      }
      return { title: 'ICMP', fields };
    }
  }
}

function icmpTypeName(type: number): string {
  const names: Record<number, string> = {
    0: 'echo reply',
    3: 'destination unreachable',
    5: 'redirect',
    8: 'echo request',
    11: 'time exceeded',
  };
  return names[type] ?? 'other';
}

/** Fields whose value differs from the previous packet's: key → the old value (null: the field is new). */
export function changedFields(prev: AnyPacket | null, cur: AnyPacket): Map<string, string | null> {
  const out = new Map<string, string | null>();
  if (!prev) return out;
  const old = new Map<string, string>();
  for (const l of headerLayers(prev))
    for (const h of l.headers) for (const f of h.fields) old.set(f.key, f.value);
  for (const l of headerLayers(cur))
    for (const h of l.headers)
      for (const f of h.fields) {
        const was = old.get(f.key);
        if (was === undefined) out.set(f.key, null);
        else if (was !== f.value) out.set(f.key, was);
      }
  return out;
}

/** The packet of the last observe before `cursor` in the same leg (what "changed since" compares with). */
export function previousObserved(events: readonly TraceEvent[], cursor: number): AnyPacket | null {
  const leg = events[cursor]?.leg;
  for (let i = cursor - 1; i >= 0; i--) {
    const e = events[i];
    if (!e || e.leg !== leg) return null;
    if (e.type === 'observe') return e.packet;
  }
  return null;
}

// ─── A CNI walk's world, step by step ─────────────────────────────────────────────────────────────────

/** Index of the last `cni` event at or before `cursor` that changed a namespace, or -1: the world view at
 *  the cursor depends only on it (for memoising viewAt). */
export function lastStateIndex(events: readonly TraceEvent[], cursor: number): number {
  for (let i = Math.min(cursor, events.length - 1); i >= 0; i--) {
    const e = events[i];
    if (e?.type === 'cni' && e.state.length > 0) return i;
  }
  return -1;
}

/**
 * The world as it is at `cursor`: the run's view (for a CNI ADD the world before the pod) with every
 * namespace the `cni` events up to the cursor changed as they left it — a new pod appears, a deleted one
 * goes — and the veth links recomputed for those namespaces. For walks without such events, `view` itself.
 * Pure: reads only its arguments.
 */
export function viewAt(
  view: WorldView | null,
  events: readonly TraceEvent[],
  cursor: number,
): WorldView | null {
  if (!view) return null;
  const changed = new Map<string, NetnsView | null>();
  for (let i = 0; i <= cursor && i < events.length; i++) {
    const e = events[i];
    if (e?.type === 'cni') for (const s of e.state) changed.set(s.netns, s.view);
  }
  if (changed.size === 0) return view;
  const namespaces: NetnsView[] = [];
  const seen = new Set<string>();
  // Snapshots leave the iptables rules out (no CNI step changes them): keep the view's.
  const merged = (old: NetnsView | undefined, v: NetnsView): NetnsView =>
    old?.iptablesSave !== undefined ? { ...v, iptablesSave: old.iptablesSave } : v;
  for (const ns of view.namespaces) {
    if (!changed.has(ns.id)) namespaces.push(ns);
    else {
      seen.add(ns.id);
      const v = changed.get(ns.id);
      if (v) namespaces.push(merged(ns, v));
    }
  }
  // A namespace the view did not have (a pod being born): after the last namespace of its node.
  for (const [id, v] of changed) {
    if (seen.has(id) || !v) continue;
    let at = namespaces.length;
    for (let i = namespaces.length - 1; i >= 0; i--)
      if (namespaces[i]!.node === v.node) {
        at = i + 1;
        break;
      }
    namespaces.splice(at, 0, v);
  }
  const links = view.links.filter(
    (l) => l.kind !== 'veth' || (!changed.has(l.a.netns) && !changed.has(l.b.netns)),
  );
  const present = new Set(namespaces.map((n) => n.id));
  const keys = new Set<string>();
  for (const id of changed.keys()) {
    const ns = namespaces.find((n) => n.id === id);
    for (const d of ns?.devices ?? []) {
      if (!d.peer || !present.has(d.peer.netns)) continue;
      const key = [`${id}|${d.name}`, `${d.peer.netns}|${d.peer.device}`].sort().join('~');
      if (keys.has(key)) continue;
      keys.add(key);
      links.push({ kind: 'veth', a: { netns: id, device: d.name }, b: d.peer, segment: null });
    }
  }
  return { ...view, namespaces, links };
}

/** A namespace's devices as `ip -br addr`-like lines: name(@peer), kind, mtu, master, addresses. */
export function ipAddrLines(ns: NetnsView): string[] {
  return ns.devices.map((d) => {
    const name = d.peer ? `${d.name}@${d.peer.device}` : d.name;
    const master = d.master ? ` master ${d.master}` : '';
    const addrs = d.addrs.length ? `  ${d.addrs.join(' ')}` : '';
    return `${name}  ${d.kind} mtu ${d.mtu}${master}${addrs}`;
  });
}

/** A decision's fields as label/value pairs, for the decision panel. */
export function decisionFields(d: Decision): { label: string; value: string }[] {
  const out: { label: string; value: string }[] = [];
  for (const [label, value] of Object.entries(d)) {
    if (label === 'kind' || value === null || value === undefined) continue;
    out.push({ label, value: typeof value === 'object' ? JSON.stringify(value) : String(value) });
  }
  return out;
}

// ─── The tables a decision consulted ──────────────────────────────────────────────────────────────────

/** match: the row that decided (or one of the rules that matched); tested: evaluated without matching. */
export type RowMark = 'match' | 'tested' | null;

export interface TableRow {
  readonly text: string;
  readonly mark: RowMark;
  /** What the row did here ("JUMP KUBE-SVC-…", "created", "learned during this walk"), or null. */
  readonly note: string | null;
}

export interface TableView {
  readonly title: string;
  readonly rows: readonly TableRow[];
}

export interface Consulted {
  /** One line above the tables ("iptables -t nat, PREROUTING: 6 rules evaluated → ACCEPT"), or null. */
  readonly intro: string | null;
  readonly tables: readonly TableView[];
}

const row = (text: string, mark: RowMark = null, note: string | null = null): TableRow => ({
  text,
  mark,
  note,
});

/** Untested rules kept after the last marked one before the rest are summed up in one row: long
 *  kube-proxy chains (KUBE-SERVICES has a rule per Service port) would bury the rules that matter. */
const UNREACHED_SHOWN = 3;

/**
 * The tables the decision at `index` consulted, as the namespace holds them, with the deciding rows marked:
 * the routing table, the bridge or VXLAN FDB and the neighbour table (with what the walk learned before this
 * point), every iptables chain a netfilter decision went through (from the node's `iptables-save`), the
 * conntrack table as the walk has filled it on this node, the resolver's resolv.conf and candidates, the DNS
 * answer and the NetworkPolicy verdict. Empty tables for decisions that consult none (forward, encap…).
 * Pure: reads only its arguments.
 */
export function consultedTables(
  events: readonly TraceEvent[],
  index: number,
  view: WorldView | null,
  t: T = enT,
): Consulted {
  const e = events[index];
  if (e?.type !== 'decide') return { intro: null, tables: [] };
  const ns = view?.namespaces.find((n) => n.id === e.at.netns) ?? null;
  const d = e.decision;
  const earlier = events.slice(0, index);
  const marked = (
    lines: readonly string[],
    entry: string | null,
    note: string | null = null,
    learned: readonly string[] = [],
  ) =>
    lines.map((l) =>
      entry !== null && (l === entry || l.startsWith(`${entry} `))
        ? row(l, 'match', note)
        : row(l, null, learned.includes(l) ? t('tables.learned') : null),
    );
  switch (d.kind) {
    case 'route': {
      if (d.table === 'local' || !ns)
        return {
          intro: null,
          tables: [
            {
              title: `ip route show table ${d.table ?? 'main'}`,
              rows: d.route
                ? [row(d.route, 'match', d.table === 'local' ? t('tables.localNote') : null)]
                : [],
            },
          ],
        };
      return {
        intro: null,
        tables: [{ title: 'ip route show table main', rows: marked(ns.routes, d.route) }],
      };
    }
    case 'fdb':
    case 'vxlan-fdb': {
      const dev = d.kind === 'fdb' ? d.bridge : d.device;
      const own = (ns?.fdb ?? []).filter((l) => l.includes(` master ${dev} `) || l.includes(` dev ${dev} `));
      const learned = learnedLines(earlier, e.at.netns, (x) =>
        x.kind === 'fdb' && x.bridge === dev && x.learned && x.entry ? x.entry : null,
      );
      const lines = [...own, ...learned.filter((l) => !own.includes(l))];
      if (d.entry !== null && !lines.includes(d.entry)) lines.push(d.entry);
      const note =
        d.kind === 'fdb'
          ? d.learned
            ? t('tables.learnedFrame')
            : t(`tables.fdbResult.${d.result}`)
          : t('tables.remote', { remote: d.remote ?? '?' });
      const rows = marked(lines, d.entry, note, learned);
      return {
        intro: d.kind === 'fdb' && d.result === 'flood' ? t('tables.flood', { mac: d.mac }) : null,
        tables: [{ title: `bridge fdb show ${d.kind === 'fdb' ? 'br' : 'dev'} ${dev}`, rows }],
      };
    }
    case 'neigh': {
      const learned = learnedLines(earlier, e.at.netns, (x) => (x.kind === 'neigh' ? x.entry : null));
      const base = ns?.neighbours ?? [];
      const lines = [...base, ...learned.filter((l) => !base.includes(l))];
      const entry = d.entry;
      if (entry !== null && !lines.some((l) => l === entry)) {
        // The same neighbour in an older state is replaced by the entry as it is now.
        const key = `${d.ip} dev ${d.device} `;
        const at = lines.findIndex((l) => l.startsWith(key));
        if (at >= 0) lines[at] = entry;
        else lines.push(entry);
      }
      const note = d.arp
        ? t('tables.arpBy', { by: d.arp.answeredBy, device: d.arp.device })
        : `${d.stateBefore} → ${d.stateAfter}`;
      return { intro: null, tables: [{ title: 'ip neigh show', rows: marked(lines, entry, note, learned) }] };
    }
    case 'netfilter':
      return {
        intro: t(d.bridged ? 'tables.netfilterIntroBridged' : 'tables.netfilterIntro', {
          table: d.table,
          hook: d.hook,
          rules: t('brief.rules', { count: d.evaluated }),
          verdict: d.verdict,
        }),
        tables: [
          ...chainTables(d, ns?.iptablesSave ?? null, t),
          ...(d.table === 'nat' ? [conntrackTable(earlier.concat(e), e.at.netns, ns, t)] : []),
        ],
      };
    case 'conntrack':
      return { intro: null, tables: [conntrackTable(events.slice(0, index + 1), e.at.netns, ns, t)] };
    case 'nat':
      return {
        intro: null,
        tables: [
          {
            title:
              d.how === 'conntrack'
                ? t('tables.natByConntrack', { hook: d.hook })
                : t('tables.natTitle', { how: d.how, hook: d.hook }),
            rows: [
              row(
                `${d.field} ${d.before} → ${d.after}`,
                'match',
                d.how === 'conntrack' ? t('tables.natFromEntry') : t('tables.natBoundToEntry'),
              ),
            ],
          },
          conntrackTable(events.slice(0, index + 1), e.at.netns, ns, t),
        ],
      };
    case 'resolver': {
      const conf = d.resolvConf.trimEnd().split('\n');
      return {
        intro: null,
        tables: [
          { title: '/etc/resolv.conf', rows: conf.map((l) => row(l)) },
          {
            title: t('tables.candidatesTitle', { name: d.name }),
            rows: d.candidates.map((c, i) =>
              c === d.candidate
                ? row(`${i + 1}. ${c}`, 'match', resolverNote(d, t))
                : row(`${i + 1}. ${c}`, d.candidates.indexOf(d.candidate) > i ? 'tested' : null),
            ),
          },
        ],
      };
    }
    case 'dns':
      return {
        intro: null,
        tables: [
          {
            title: t('tables.dnsTitle', { server: d.server }),
            rows: [
              row(`;; QUESTION: ${d.question}`),
              row(
                `;; status: ${d.rcode ?? t('tables.dnsForwarded', { to: d.forwardTo ?? '?' })}`,
                d.answer.length ? null : 'match',
              ),
              ...d.answer.map((a) => row(a, 'match', 'ANSWER')),
              ...d.authority.map((a) => row(a, null, 'AUTHORITY')),
            ],
          },
          { title: t('tables.plugins'), rows: d.steps.map((x) => row(x)) },
        ],
      };
    case 'policy':
      return {
        intro: null,
        tables: [
          {
            title: t('tables.policyTitle', { direction: d.direction, pod: d.pod }),
            rows: [
              ...(d.policies.length
                ? d.policies.map((p) =>
                    row(t('tables.policySelects', { policy: p, pod: d.pod, direction: d.direction })),
                  )
                : [row(t('tables.policyNone', { pod: d.pod, direction: d.direction }))]),
              row(d.rule ? `${d.result}: ${d.rule}` : `${d.result}`, 'match', d.reason),
            ],
          },
        ],
      };
    default:
      return { intro: null, tables: [] };
  }
}

function resolverNote(d: Extract<Decision, { kind: 'resolver' }>, t: T): string {
  switch (d.outcome) {
    case 'try':
      return t('tables.resolverSent');
    case 'use':
      return t('tables.resolverAnswered', { address: d.address ?? '' }).trimEnd();
    case 'next':
      return t('tables.resolverNext');
    case 'fail':
      return t('tables.resolverFail');
  }
}

/** Entries earlier decisions of one namespace left behind (the latest line per key first seen). */
function learnedLines(
  earlier: readonly TraceEvent[],
  netns: string,
  pick: (d: Decision) => string | null,
): string[] {
  const byKey = new Map<string, string>();
  for (const x of earlier) {
    if (x.type !== 'decide' || x.at.netns !== netns) continue;
    const line = pick(x.decision);
    if (line === null) continue;
    // "10.244.1.1 dev eth0 lladdr …" and "aa:bb:… dev veth master cni0": the first three words name it.
    byKey.set(line.split(' ').slice(0, 3).join(' '), line);
  }
  return [...byKey.values()];
}

/** `conntrack -L` on a node as far as this walk has written it, the latest decision's entry marked. */
function conntrackTable(upTo: readonly TraceEvent[], netns: string, ns: NetnsView | null, t: T): TableView {
  const entries = new Map<string, string>();
  let current: { key: string; note: string } | null = null;
  for (const x of upTo) {
    if (x.type !== 'decide' || x.at.netns !== netns || x.decision.kind !== 'conntrack') continue;
    const c = x.decision;
    const key = originalTuple(c.entry) ?? c.entry;
    entries.set(key, c.entry);
    const note =
      c.action === 'new'
        ? t('tables.conntrackCreated')
        : c.action === 'confirmed'
          ? t('tables.conntrackConfirmed')
          : t('tables.conntrackMatched', { direction: c.direction, state: c.state });
    current = { key, note };
  }
  return {
    title: t('tables.conntrackTitle', { netns: ns?.label ?? netns }),
    rows: [...entries].map(([key, entry]) =>
      key === current?.key ? row(entry, 'match', current.note) : row(entry),
    ),
  };
}

interface ChainText {
  readonly policy: string;
  readonly rules: string[];
}

/** `iptables-save` text → table → chain → its policy and rule lines. */
export function parseSaveText(text: string): Map<string, Map<string, ChainText>> {
  const out = new Map<string, Map<string, ChainText>>();
  let table: Map<string, ChainText> | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = new Map();
      out.set(line.slice(1).trim(), table);
    } else if (table && line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(' ');
      table.set(name, { policy, rules: [] });
    } else if (table && line.startsWith('-A ')) {
      const name = line.split(' ')[1] ?? '';
      const chain = table.get(name) ?? { policy: '-', rules: [] };
      table.set(name, chain);
      chain.rules.push(line);
    }
  }
  return out;
}

function stepNote(s: Extract<Decision, { kind: 'netfilter' }>['steps'][number], t: T): string {
  if (!s.random) return s.action;
  return t('tables.random', {
    action: s.random.taken ? s.action : t('tables.notTaken'),
    p: s.random.probability.toFixed(2),
    roll: s.random.roll.toFixed(2),
  });
}

/** One table per chain the decision went through, in the order first entered, with every rule of the chain:
 *  those that matched (a jump, a return, the target) marked, those tested before them too. */
function chainTables(d: Extract<Decision, { kind: 'netfilter' }>, save: string | null, t: T): TableView[] {
  const chains = save ? parseSaveText(save).get(d.table) : undefined;
  const order: string[] = [];
  for (const s of d.steps) if (!order.includes(s.chain)) order.push(s.chain);
  return order.map((name) => {
    const steps = d.steps.filter((s) => s.chain === name);
    const chain = chains?.get(name);
    const rules = chain ? [...chain.rules] : [];
    const hit = new Map<number, string>();
    let reached = -1;
    let ended: string | null = null;
    for (const s of steps) {
      let i = s.index;
      if (i >= 0 && rules[i] !== s.rule) {
        // Not where the trace says (a ruleset the view does not have): find it by text, else add it.
        i = rules.indexOf(s.rule);
        if (i < 0) i = rules.push(s.rule) - 1;
      }
      if (i < 0) {
        ended = s.action;
        reached = rules.length - 1;
      } else {
        hit.set(i, stepNote(s, t));
        reached = Math.max(reached, i);
      }
    }
    const rows: TableRow[] = [row(`:${name} ${chain?.policy ?? '-'}`)];
    let unreached = 0;
    rules.forEach((r, i) => {
      const note = hit.get(i);
      if (note !== undefined) rows.push(row(r, 'match', note));
      else if (i <= reached) rows.push(row(r, 'tested'));
      else if (i - reached <= UNREACHED_SHOWN) rows.push(row(r));
      else unreached++;
    });
    if (unreached > 0) rows.push(row(t('tables.moreRules', { count: unreached })));
    if (ended !== null)
      rows.push(
        row(ended.startsWith('policy') ? t('tables.chainPolicy', { action: ended }) : `(${ended})`, 'match'),
      );
    return { title: `-t ${d.table} ${name}`, rows };
  });
}
