// The trace as text: stable and diff-friendly, for golden tests, the CLI and "copy as text".
import { describePacket, type Frame, type IpPacket } from './packet.ts';
import type { Trace, TraceEvent } from './trace.ts';

function ethText(p: Frame | IpPacket): string {
  return 'eth' in p ? `${p.eth.src} > ${p.eth.dst}` : '';
}

function place(e: { at: { netns: string } }): string {
  return e.at.netns.padEnd(22);
}

export function formatEvent(e: TraceEvent): string {
  const n = `#${e.seq}`.padEnd(5);
  switch (e.type) {
    case 'leg':
      return `${n}leg ${e.leg} ${e.kind}: ${e.summary}`;
    case 'observe': {
      const p = e.packet;
      const outer = p.inner ? ` | inner ${p.inner.eth.src} > ${p.inner.eth.dst}` : '';
      return `${n}${place(e)} ${(e.direction === 'in' ? 'in  ' : 'out ') + e.device.padEnd(14)} ${ethText(p)}  ${describePacket(p)}${outer}`;
    }
    case 'decide':
      return `${n}${place(e)} ${e.decision.kind.padEnd(18)} ${e.summary}`;
    case 'cni': {
      // One line: the command, with a multi-line one (a here-document, a hairpin after the master) shortened.
      const lines = e.shell.split('\n');
      const more = lines.length > 1 ? `  (+${lines.length - 1} line${lines.length === 2 ? '' : 's'})` : '';
      return `${n}${place(e)} ${`cni ${e.actor}`.padEnd(18)} ${lines[0]}${more}`;
    }
    case 'verdict':
      return `${n}${e.verdict.at.netns.padEnd(22)} VERDICT ${e.verdict.kind}: ${e.verdict.reason}`;
  }
}

export function formatTrace(t: Trace): string {
  const f = t.flow;
  if (f === null) {
    const c = t.cni;
    const lines = [`walk   ${t.from} -> ${t.to}`];
    if (c) lines.push(`cni    ${c.command} pod/${c.pod} on ${c.node} (${c.ip})`);
    for (const e of t.events) lines.push(formatEvent(e));
    lines.push(`result ${t.legs.map((l) => `${l.kind}: ${l.verdict.kind}`).join(', ')}`);
    return lines.join('\n') + '\n';
  }
  const ports = f.sport !== null ? `${f.src}:${f.sport} -> ${f.dst}:${f.dport}` : `${f.src} -> ${f.dst}`;
  const lines = [`walk   ${t.from} -> ${t.to}  (${f.protocol}, seed ${t.seed})`];
  if (t.resolution) {
    const r = t.resolution;
    lines.push(
      `name   ${r.name} -> ${r.address ?? `unresolved: ${r.error ?? ''}`}  (tries ${r.candidates.join(' ')})`,
    );
  }
  lines.push(`flow   ${f.protocol} ${ports}`);
  for (const e of t.events) lines.push(formatEvent(e));
  lines.push(`result ${t.legs.map((l) => `${l.kind}: ${l.verdict.kind}`).join(', ')}`);
  return lines.join('\n') + '\n';
}
