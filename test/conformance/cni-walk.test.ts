// Kernel conformance for CNI walks: the commands a CNI ADD walk shows are run for real, and the kernel's
// state after them must be what the engine's world has after the walk.
//
// The lab is the walk's start world (for an ADD the scenario without the pod) built by lab.ts in isolated
// network namespaces; then each step's NetOp runs as the command opCommands renders for it — the same
// rendering the walk shows, with the lab's namespace names instead of the node shell's (state files are not
// kernel state and are left out). Compared, per namespace the walk changed: every link (name, MAC, MTU,
// master, UP flag), every IPv4 address, the main routing table, and cni0's ports with their
// hairpin flag — against the last snapshot of that namespace in the trace. DEL runs after the whole
// scenario's lab: the pod's namespace must be gone and the node as the trace leaves it.
//
// Needs root and iproute2; skipped with the reason printed otherwise. Every command is checked to stay in
// the lab's namespaces (assertConfined) before anything runs, and the lab is deleted in a finally block.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWorld, startWorld, walk } from '../../src/engine/index.ts';
import { labScript, opCommands, type CommandNames } from '../../src/engine/lab.ts';
import type { Trace, TraceEvent } from '../../src/engine/trace.ts';
import type { NetnsView } from '../../src/engine/view.ts';
import type { WalkSpec } from '../../src/engine/walk.ts';
import type { World } from '../../src/engine/world.ts';
import { parseScenario } from '../../src/scenario/parse.ts';
import type { ClusterModel } from '../../src/scenario/model.ts';
import { RUN, assertConfined, canRunKernelLab } from './kernel.ts';

const can = canRunKernelLab();
if (!can.ok) console.warn(can.reason);

/** Owner files of running labs (kernel.ts's registry: cleanupStaleLabs leaves labs with a live owner alone). */
const REGISTRY = '/run/pwk-labs';
/** Lab names are `pwk-<RUN>c<n>`: RUN is unique among running processes (kernel.ts). */
let counter = 0;

function preset(): ClusterModel {
  const text = readFileSync(
    join(import.meta.dirname, '..', '..', 'src', 'scenario', 'presets', 'pod-is-born.yaml'),
    'utf8',
  );
  const p = parseScenario(text);
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return p.model;
}

function sh(command: string): string {
  const r = spawnSync('sh', ['-c', command], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command}\n${r.stderr}`);
  return r.stdout;
}

interface KernelLink {
  ifname: string;
  address: string;
  mtu: number;
  master?: string;
  flags: string[];
  link?: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

interface KernelState {
  /** name → "mac mtu master peer UP|DOWN addrs" */
  readonly links: Map<string, string>;
  readonly routes: string[];
  /** cni0's ports: "<port> hairpin on|off" */
  readonly ports: string[];
}

function kernelState(ns: string): KernelState {
  const links = new Map<string, string>();
  for (const l of JSON.parse(sh(`ip -n ${ns} -j -d addr show`)) as KernelLink[]) {
    const addrs = l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
    const up = l.flags.includes('UP') ? 'UP' : 'DOWN';
    links.set(l.ifname, `${l.address} mtu ${l.mtu} master ${l.master ?? '-'} ${up} ${addrs.join(',')}`);
  }
  const routes = sh(`ip -n ${ns} route show table main`)
    .split('\n')
    .map((r) => r.trim())
    .filter(Boolean)
    .sort();
  const ports = (JSON.parse(sh(`bridge -n ${ns} -j -d link show`)) as { ifname: string; hairpin?: boolean }[])
    .map((p) => `${p.ifname} hairpin ${p.hairpin ? 'on' : 'off'}`)
    .sort();
  return { links, routes, ports };
}

/** The engine's picture of a namespace in the same shape (the UP and hairpin flags from the world whose
 *  namespace has the same devices: the trace's views do not carry them). */
function engineState(view: NetnsView, world: World): KernelState {
  const ns = world.netns(view.id);
  const links = new Map<string, string>();
  for (const d of view.devices) {
    const up = ns.devices.get(d.name)?.up ? 'UP' : 'DOWN';
    const mac = d.kind === 'loopback' ? '00:00:00:00:00:00' : d.mac;
    links.set(d.name, `${mac} mtu ${d.mtu} master ${d.master ?? '-'} ${up} ${d.addrs.join(',')}`);
  }
  const ports = view.devices
    .filter((d) => d.master === 'cni0')
    .map((d) => `${d.name} hairpin ${ns.devices.get(d.name)?.hairpin ? 'on' : 'off'}`)
    .sort();
  return { links, routes: [...view.routes].sort(), ports };
}

const cniEvents = (t: Trace) =>
  t.events.filter((e): e is Extract<TraceEvent, { type: 'cni' }> => e.type === 'cni');

/** Every namespace's last snapshot in the trace. */
function finalState(t: Trace): Map<string, NetnsView | null> {
  const out = new Map<string, NetnsView | null>();
  for (const e of cniEvents(t)) for (const s of e.state) out.set(s.netns, s.view);
  return out;
}

/** Builds the walk's start world in a lab, runs the walk's commands, returns the kernel's state of every
 *  namespace the walk changed (null: the namespace is gone) and tears everything down. */
function runCniWalk(world: World, spec: WalkSpec): { trace: Trace; kernel: Map<string, KernelState | null> } {
  const trace = walk(world, spec);
  const start = startWorld(world, spec);
  const prefix = `pwk-${RUN}c${(counter++).toString(36)}`;
  const script = labScript(start, { prefix });
  // The pod's lab name when the start world has none (an ADD), as lab.ts would name it.
  const nameOf = (id: string): string => {
    try {
      return script.nsName(id);
    } catch {
      return `${prefix}-${id.split('/').slice(1).join('.')}`;
    }
  };
  const names: CommandNames = { run: nameOf, ref: nameOf };
  const steps = cniEvents(trace).flatMap((e) =>
    e.op && e.op.op !== 'file-write' && e.op.op !== 'file-remove' ? opCommands(e.op, names) : [],
  );
  assertConfined(script, prefix);
  assertConfined({ ...script, up: steps, down: [] }, prefix);
  const touched = [...finalState(trace).keys()];
  const created = touched.map(nameOf);
  mkdirSync(REGISTRY, { recursive: true });
  writeFileSync(join(REGISTRY, prefix), String(process.pid));
  try {
    sh(['set -e', ...script.up].join('\n'));
    sh(['set -e', ...steps].join('\n'));
    const present = new Set(
      sh('ip netns list')
        .split('\n')
        .map((l) => l.split(' ')[0]),
    );
    const kernel = new Map<string, KernelState | null>();
    for (const id of touched) kernel.set(id, present.has(nameOf(id)) ? kernelState(nameOf(id)) : null);
    return { trace, kernel };
  } finally {
    const present = new Set(
      spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
        .stdout.split('\n')
        .map((l) => l.split(' ')[0]),
    );
    for (const ns of [...script.namespaces, ...created])
      if (present.has(ns)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(join(REGISTRY, prefix), { force: true });
  }
}

afterAll(() => {
  if (!can.ok) return;
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => l.startsWith(`pwk-${RUN}c`));
  expect(left).toEqual([]);
});

describe.skipIf(!can.ok)('CNI walks in the kernel', () => {
  const model = preset();
  const world = buildWorld(model);

  it.each([
    ['cni/add', 'pod/default/web', 'node-1 already has a pod: cni0 is there'],
    ['cni/add', 'pod/default/cache', 'the first pod on node-2: cni0 is created'],
  ])('%s %s (%s): the kernel ends as the engine', (from, to) => {
    const { trace, kernel } = runCniWalk(world, { from, to, protocol: 'tcp' });
    const engine = finalState(trace);
    expect([...kernel.keys()].sort()).toEqual([...engine.keys()].sort());
    for (const [id, view] of engine) {
      expect(view, id).not.toBeNull();
      const k = kernel.get(id);
      expect(k, `${id} exists in the kernel`).not.toBeNull();
      const e = engineState(view!, world);
      expect(Object.fromEntries(k!.links), `${id}: links`).toEqual(Object.fromEntries(e.links));
      expect(k!.routes, `${id}: routes`).toEqual(e.routes);
      expect(k!.ports, `${id}: bridge ports`).toEqual(e.ports);
    }
  });

  it('cni/del pod/default/web: the namespace is gone, the veth with it, cni0 stays', () => {
    const { trace, kernel } = runCniWalk(world, { from: 'cni/del', to: 'pod/default/web', protocol: 'tcp' });
    const engine = finalState(trace);
    expect(engine.get('pod/default/web')).toBeNull();
    expect(kernel.get('pod/default/web')).toBeNull();
    const node = engine.get('node/node-1')!;
    // After the DEL node-1 is as the whole scenario's world has it, less web's veth: compare with that world's
    // flags for the devices that remain.
    const e = engineState(node, world);
    const k = kernel.get('node/node-1')!;
    expect(Object.fromEntries(k.links)).toEqual(Object.fromEntries(e.links));
    expect(k.routes).toEqual(e.routes);
    expect(k.ports).toEqual(e.ports);
    expect(k.links.has('cni0')).toBe(true);
  });
});
