// Which walks of the built-in scenarios the kernel lab can check, and why not the others. Decided by looking
// at the world and at the engine's trace of the walk (never by a list of names), so a new preset or walk is
// classified without edits. Used by presets.test.ts (which runs the checkable walks in the kernel) and by
// the table in docs/conformance.md (kept true by the same test).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildWorld } from '../../src/engine/index.ts';
import { labScript } from '../../src/engine/lab.ts';
import { walk, type WalkSpec } from '../../src/engine/walk.ts';
import type { Trace } from '../../src/engine/trace.ts';
import type { World } from '../../src/engine/world.ts';
import type { ClusterModel, WalkModel } from '../../src/scenario/model.ts';
import { parseScenario } from '../../src/scenario/parse.ts';

export const PRESET_DIR = join(import.meta.dirname, '..', '..', 'src', 'scenario', 'presets');

export interface PresetWalk {
  readonly preset: string;
  readonly walk: WalkModel;
  readonly spec: WalkSpec;
  /** The engine's trace of the walk (null when the walk is not a packet walk). */
  readonly trace: Trace | null;
  /** Null: the kernel lab checks it; otherwise why not. */
  readonly skip: string | null;
  /** What the lab runs: the walk itself, or for a walk to a name its connection to the resolved address. */
  readonly kernelSpec: WalkSpec;
  /** Set when only part of the walk is checked: which part. */
  readonly part: string | null;
}

export interface PresetCase {
  readonly preset: string;
  readonly model: ClusterModel;
  /** One world per preset, shared by its walks (a World is read-only once built). */
  readonly world: World;
  readonly walks: readonly PresetWalk[];
}

/** Every src/scenario/presets/*.yaml, by file name (the preset id). */
export function presetFiles(): string[] {
  return readdirSync(PRESET_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

/** The walk kinds that send a packet (a walk with no `kind` is one). Anything else (CNI ADD/DEL...) is not. */
const PACKET_WALK_KINDS: ReadonlySet<unknown> = new Set([undefined, 'packet']);

export function specOf(w: WalkModel): WalkSpec {
  return { from: w.from, to: w.to, protocol: w.protocol, ...(w.size !== null ? { size: w.size } : {}) };
}

/** Whether the lab can build the world at all (it refuses, say, kube-proxy's ipvs mode: no IPVS, no dummy
 *  links on the conformance kernels). Null when it can. */
export function labRefusal(world: World): string | null {
  try {
    labScript(world, { prefix: 'pwk-classify' });
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Why the kernel lab cannot check a walk, from the world and the engine's trace, or null when it can.
 * The order matters only for the reason shown; each test below is about what the lab or the harness can do.
 */
export function whyNotChecked(refusal: string | null, trace: Trace): string | null {
  if (refusal)
    return `the lab cannot build the world (${refusal.replace(/^the kernel lab cannot build /, '')})`;
  const events = trace.events;
  if (events.some((e) => e.type === 'decide' && e.decision.kind === 'ipvs'))
    return 'goes through IPVS: the conformance kernels have no IPVS';
  if (
    events.some(
      (e) => e.type === 'decide' && e.decision.kind === 'route' && /\bnexthop\b/.test(e.decision.route ?? ''),
    )
  )
    return 'takes a multipath route (an IP announced by several nodes): the kernel hashes it with a per-boot seed';
  if (
    events.some((e) => e.type === 'decide' && e.decision.kind === 'policy' && e.decision.result === 'denied')
  )
    return 'denied by a NetworkPolicy: the lab runs no policy agent, the kernel would let it through';
  if (isDnsWalk(trace) && !events.some((e) => e.type === 'leg' && e.kind === 'request'))
    return 'resolves a name and connects nowhere (the name does not resolve); the query path to kube-dns is checked in kernel.test.ts';
  return null;
}

/** Whether the walk resolves a name first (its trace has DNS legs). */
export function isDnsWalk(trace: Trace): boolean {
  return trace.events.some((e) => e.type === 'leg' && (e.kind === 'dns-query' || e.kind === 'dns-response'));
}

/** The legs of a trace that are not DNS (the connection a walk to a name makes once resolved). */
export function connectionLegs(trace: Trace): Set<number> {
  const out = new Set<number>();
  for (const e of trace.events) if (e.type === 'leg' && !e.kind.startsWith('dns-')) out.add(e.leg);
  return out;
}

/** Parses every preset and classifies every walk. Throws if a preset does not parse. */
export function presetCases(): PresetCase[] {
  return presetFiles().map((file) => {
    const preset = file.replace(/\.yaml$/, '');
    const parsed = parseScenario(readFileSync(join(PRESET_DIR, file), 'utf8'));
    if (!parsed.ok) throw new Error(`${file} does not parse: ${JSON.stringify(parsed.errors)}`);
    const model = parsed.model;
    const world = buildWorld(model);
    const refusal = labRefusal(world);
    const walks = model.walks.map((w): PresetWalk => {
      const spec = specOf(w);
      const kind = (w as { readonly kind?: unknown }).kind;
      if (!PACKET_WALK_KINDS.has(kind)) {
        const skip = `not a packet walk (kind ${String(kind)})`;
        return { preset, walk: w, spec, trace: null, skip, kernelSpec: spec, part: null };
      }
      const trace = walk(world, spec);
      if (trace.flow === null) {
        // A CNI ADD/DEL walk sends no packet; cni-walk.test.ts runs its commands in the kernel.
        const skip = 'not a packet walk (a CNI ADD/DEL: its commands are checked in cni-walk.test.ts)';
        return { preset, walk: w, spec, trace, skip, kernelSpec: spec, part: null };
      }
      // The lab's TCP sender is a real socket: it cannot put payload bytes into a SYN (a preset's TCP walk
      // with a size shows what a full-size segment would meet; topologies.test.ts sends the same IP length
      // as a ping instead, and icmp-errors.test.ts sends the SYN itself through a raw socket when the walk
      // ends in an ICMP error).
      const quoted = trace.events.some(
        (e) => e.type === 'observe' && e.packet.l4.kind === 'icmp' && e.packet.l4.original !== undefined,
      );
      const skip =
        spec.protocol === 'tcp' && (spec.size ?? 0) > 0
          ? `a TCP SYN carrying ${spec.size} payload bytes: a real socket cannot send data in a SYN${quoted ? ' (its ICMP error is compared byte for byte in icmp-errors.test.ts, the SYN sent through a raw socket)' : ''}`
          : whyNotChecked(refusal, trace);
      if (skip !== null || !isDnsWalk(trace))
        return { preset, walk: w, spec, trace, skip, kernelSpec: spec, part: null };
      // A walk to a name: the harness runs no resolver, so the lab checks the connection the walk makes once
      // resolved, sent to the address the engine's resolver answered (the query's own path to the kube-dns
      // ClusterIP is checked in kernel.test.ts). The address walk is classified again like any other.
      const flow = trace.flow;
      const to = `${flow.dst}${flow.dport !== null ? `:${flow.dport}` : ''}`;
      const kernelSpec: WalkSpec = { ...spec, to };
      const again = whyNotChecked(refusal, walk(world, kernelSpec));
      const part = `the connection to ${to} after resolution`;
      return { preset, walk: w, spec, trace, skip: again, kernelSpec, part };
    });
    return { preset, model, world, walks };
  });
}

export const TABLE_BEGIN = '<!-- preset-walks:begin (generated by test/conformance/presets.test.ts) -->';
export const TABLE_END = '<!-- preset-walks:end -->';

/** The docs table: preset, walk, and "checked" or why not. */
export function presetTable(cases: readonly PresetCase[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = cases.flatMap((c) =>
    c.walks.map(
      (w) =>
        `| ${c.preset} | ${cell(w.walk.name)} | ${w.skip !== null ? cell(`not checked: ${w.skip}`) : w.part ? cell(`checked: ${w.part} (no resolver in the lab)`) : 'checked'} |`,
    ),
  );
  const checked = cases.reduce((n, c) => n + c.walks.filter((w) => w.skip === null).length, 0);
  const total = cases.reduce((n, c) => n + c.walks.length, 0);
  return [
    TABLE_BEGIN,
    '',
    `${checked} of ${total} walks of ${cases.length} built-in scenarios are checked against the kernel.`,
    '',
    '| Preset | Walk | Kernel |',
    '| --- | --- | --- |',
    ...rows,
    '',
    TABLE_END,
  ].join('\n');
}
