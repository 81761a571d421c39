// Presentation kernels: the words and tables the panels show, computed from trace events and the world
// view. Pure; must not read the store or the machine. Labels use Linux's own words (fdb, neigh, veth).
import type { Frame, IpPacket, L4Header } from '../engine/packet.ts';
import { formatRdata } from '../engine/dns.ts';
import type { Decision, LegKind, TraceEvent, Verdict, VerdictKind } from '../engine/trace.ts';
import type { WorldView } from '../engine/view.ts';

export const VERDICT_LABELS: Record<VerdictKind, string> = {
  delivered: 'Delivered',
  dropped: 'Dropped',
  unreachable: 'Unreachable',
  'ttl-exceeded': 'TTL exceeded',
  'frag-needed': 'Fragmentation needed',
  'local-error': 'Refused by the sender',
  loop: 'Forwarding loop',
  unresolved: 'Name not resolved',
};

export const LEG_LABELS: Record<LegKind, string> = {
  request: 'Request',
  reply: 'Reply',
  'icmp-error': 'ICMP error',
  'dns-query': 'DNS query',
  'dns-response': 'DNS answer',
};

/** "Delivered", or "<Label>: <reason>" for every other verdict. */
export function verdictText(v: Verdict): string {
  return v.kind === 'delivered' ? VERDICT_LABELS.delivered : `${VERDICT_LABELS[v.kind]}: ${v.reason}`;
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
export function eventLine(e: TraceEvent, view: WorldView | null): { where: string; what: string } {
  switch (e.type) {
    case 'leg':
      return { where: netnsLabel(view, e.at.netns), what: `${LEG_LABELS[e.kind]}: ${e.summary}` };
    case 'observe':
      return {
        where: netnsLabel(view, e.at.netns),
        what: `${e.device} ${e.direction === 'in' ? '← in' : '→ out'}`,
      };
    case 'decide':
      return {
        where: netnsLabel(view, e.at.netns),
        what: `${DECISION_LABELS[e.decision.kind]}: ${e.summary}`,
      };
    case 'verdict':
      return { where: netnsLabel(view, e.verdict.at.netns), what: verdictText(e.verdict) };
  }
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
export function headerLayers(p: AnyPacket): HeaderLayer[] {
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
    const title = depth === 1 ? 'Packet' : i === 0 ? 'Outer' : i === depth - 1 ? 'Inner' : `Inner ${i}`;
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

/** The table a decision consulted, as the namespace's lines, and which line matched (index or -1). */
export function decisionTable(
  d: Extract<TraceEvent, { type: 'decide' }>,
  view: WorldView | null,
): { title: string; lines: readonly string[]; match: number } | null {
  const ns = view?.namespaces.find((n) => n.id === d.at.netns);
  if (!ns) return null;
  const pick = (title: string, lines: readonly string[], entry: string | null) => ({
    title,
    lines,
    match: entry === null ? -1 : lines.findIndex((l) => l === entry || l.startsWith(`${entry} `)),
  });
  switch (d.decision.kind) {
    case 'route':
      return pick(`ip route (${d.decision.table ?? 'main'})`, ns.routes, d.decision.route);
    case 'fdb':
    case 'vxlan-fdb':
      return pick('bridge fdb', ns.fdb, d.decision.entry);
    case 'neigh':
      return pick('ip neigh', ns.neighbours, d.decision.entry);
    case 'resolver': {
      const r = d.decision;
      const conf = r.resolvConf.trimEnd().split('\n');
      const tries = r.candidates.map((c, i) => `try ${i + 1}: ${c}`);
      return {
        title: '/etc/resolv.conf and the names it makes',
        lines: [...conf, ...tries],
        match: conf.length + r.candidates.indexOf(r.candidate),
      };
    }
    case 'dns': {
      const r = d.decision;
      const lines = [
        `;; QUESTION: ${r.question}`,
        `;; status: ${r.rcode ?? `forwarded to ${r.forwardTo ?? '?'}`}`,
        ...r.answer,
        ...r.authority.map((a) => `; authority: ${a}`),
        ...r.steps.map((x) => `; ${x}`),
      ];
      return { title: `DNS (${r.server})`, lines, match: r.answer.length ? 2 : 1 };
    }
    case 'policy': {
      const r = d.decision;
      const lines = [
        ...r.policies.map((p) => `policy ${p} selects ${r.pod} for ${r.direction}`),
        `${r.result}: ${r.reason}`,
      ];
      return { title: `NetworkPolicy (${r.direction} of ${r.pod})`, lines, match: lines.length - 1 };
    }
    default:
      return null;
  }
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
