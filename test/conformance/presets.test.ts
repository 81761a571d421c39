// Kernel conformance of the built-in scenarios: every named walk of every src/scenario/presets/*.yaml
// (discovered at run time) is run for real in the kernel lab and compared hop by hop with the engine's trace —
// the device path, then every hop's headers (with the kernel's own ports where a --random-fully NAT chose
// one), then the iptables rule counters. Walks the lab cannot express are listed with the reason
// (presets.ts whyNotChecked decides from the world and the trace), printed, and kept in docs/conformance.md's
// table, which this file checks (`PWK_UPDATE_DOCS=1 npx vitest run test/conformance/presets.test.ts` rewrites
// it). See docs/conformance.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  EPHEMERAL,
  canRunKernelLab,
  checkCounters,
  cleanupStaleLabs,
  closeKernelLab,
  describeHop,
  engineHops,
  leftoverNamespaces,
  openKernelLab,
  placeOf,
  randomEndpoints,
  runInLab,
  withKernelNatPorts,
  type Hop,
  type KernelLab,
  type KernelRun,
} from './kernel.ts';
import { walk } from '../../src/engine/walk.ts';
import {
  TABLE_BEGIN,
  TABLE_END,
  connectionLegs,
  presetCases,
  presetTable,
  type PresetCase,
} from './presets.ts';

const can = canRunKernelLab();
if (!can.ok) console.warn(can.reason);

const TIMEOUT = 60_000;
const DOC = join(import.meta.dirname, '..', '..', 'docs', 'conformance.md');

const cases = presetCases();
const checkedWalks = (c: PresetCase) => c.walks.filter((w) => w.skip === null);
const skipped = cases.flatMap((c) => c.walks.filter((w) => w.skip !== null));
console.warn(
  `preset walks the kernel lab does not check (${skipped.length}):\n  ${skipped
    .map((w) => `${w.preset}/${w.walk.name}: ${w.skip}`)
    .join('\n  ')}`,
);

/** Device path, then headers hop by hop (the kernel's random-fully NAT ports put into the engine's hops). */
function expectHops(kernel: readonly Hop[], expected: readonly Hop[]): void {
  expect(kernel.map(placeOf), 'device path (netns, direction, device)').toEqual(expected.map(placeOf));
  const nat = withKernelNatPorts(kernel, expected);
  expect(nat.problems, 'ports chosen by random-fully NAT').toEqual([]);
  expect(kernel.map(describeHop), 'headers hop by hop').toEqual(nat.hops.map(describeHop));
  for (const h of kernel)
    if (h.outer) {
      expect(h.outer.sport).toBeGreaterThanOrEqual(EPHEMERAL.low);
      expect(h.outer.sport).toBeLessThanOrEqual(EPHEMERAL.high);
    }
  // The tunnel's destination port is the world's (flannel 8472, weave 6784): the engine's hops say which.
  const outerPorts = (hops: readonly Hop[]) => hops.flatMap((h) => (h.outer ? [h.outer.dport] : []));
  expect(outerPorts(kernel), 'VXLAN destination ports').toEqual(outerPorts(expected));
}

/** Every rule the engine lists as taken moved in the kernel; rules that moved unlisted are printed (the kernel
 *  counts the whole connection, the engine its first exchange; see kernel.test.ts). */
function expectCounters(r: KernelRun, name: string): void {
  const c = checkCounters(r);
  expect(c.notMoved, 'rules the engine lists whose kernel counter did not move').toEqual([]);
  if (c.unlisted.length > 0)
    console.warn(
      `${name}: rules whose kernel counter moved that the engine does not list:\n  ${c.unlisted.join('\n  ')}`,
    );
}

describe('the table of preset walks in docs/conformance.md', () => {
  it('lists every walk of every preset, checked or why not', async () => {
    const doc = readFileSync(DOC, 'utf8');
    const from = doc.indexOf(TABLE_BEGIN);
    const to = doc.indexOf(TABLE_END);
    expect(from, `docs/conformance.md has the ${TABLE_BEGIN} marker`).toBeGreaterThanOrEqual(0);
    expect(to).toBeGreaterThan(from);
    // The doc as it should be: the table put in, formatted as Prettier formats the file (padded columns).
    const config = (await resolveConfig(DOC)) ?? {};
    const wanted = await format(doc.slice(0, from) + presetTable(cases) + doc.slice(to + TABLE_END.length), {
      ...config,
      filepath: DOC,
    });
    if (process.env.PWK_UPDATE_DOCS && doc !== wanted) writeFileSync(DOC, wanted);
    else expect(doc, 'run PWK_UPDATE_DOCS=1 npx vitest run test/conformance/presets.test.ts').toBe(wanted);
  });
});

describe.skipIf(!can.ok)('kernel conformance of the built-in scenarios', () => {
  beforeAll(() => {
    const stale = cleanupStaleLabs();
    if (stale.length) console.warn(`removed ${stale.length} stale lab namespaces: ${stale.join(' ')}`);
  });
  afterAll(() => {
    expect(leftoverNamespaces(), 'lab namespaces left behind').toEqual([]);
  });

  // One lab per preset, its captures running throughout; its walks run one after the other on it (it.sequential),
  // each from a reset state (runInLab). The presets run side by side (`concurrent`, up to Vitest's
  // maxConcurrency labs at once): a lab is mostly waiting on the kernel, tcpdump and tshark, and labs share
  // nothing (each has its own namespace prefix; names inside a namespace are its own). The presets with the
  // most walks start first, so that the longest ones do not start last.
  const byWalks = [...cases].sort(
    (a, b) => checkedWalks(b).length - checkedWalks(a).length || a.preset.localeCompare(b.preset),
  );
  for (const c of byWalks) {
    const checked = checkedWalks(c);
    describe.skipIf(checked.length === 0)(`preset ${c.preset}`, { concurrent: true }, () => {
      let lab: KernelLab | null = null;
      let failed = false;
      const walkMs: number[] = [];
      beforeAll(async () => {
        lab = await openKernelLab(c.world);
      }, TIMEOUT);
      afterEach((ctx) => {
        if (ctx.task.result?.state === 'fail') failed = true;
      });
      afterAll(async () => {
        if (!lab) return;
        await closeKernelLab(lab, failed);
        const t = lab.timings;
        console.info(
          `${c.preset}: lab build ${t.build} ms, captures ${t.captureStart} ms, ${walkMs.length} walks ${walkMs.join('/')} ms, teardown ${t.teardown} ms`,
        );
      }, TIMEOUT);

      for (const w of checked)
        it.sequential(
          `${w.walk.name} (${w.spec.from} → ${w.spec.to} ${w.spec.protocol})${w.part ? `: ${w.part}` : ''}`,
          async () => {
            if (!lab) throw new Error('the lab did not open');
            const t0 = performance.now();
            const r = await runInLab(lab, w.kernelSpec);
            walkMs.push(Math.round(performance.now() - t0));
            expectHops(r.hops, engineHops(r.trace));
            expectCounters(r, `${c.preset}/${w.walk.name}`);
            if (w.part && w.trace) {
              // The walk to the name connects along the same devices, addresses and NAT as the address walk
              // the kernel just checked (only the source port, a random draw, differs).
              const path = (hops: readonly Hop[]): string[] =>
                hops.map((h) => `${placeOf(h)} ${h.ip.src} > ${h.ip.dst} ${h.l4.kind}`);
              const legs = connectionLegs(w.trace);
              const named = [...legs].sort((a, b) => a - b).flatMap((l) => engineHops(w.trace!, l));
              // kube-proxy's endpoint is a random draw, and the walk to the name drew after its DNS legs: compare
              // with the engine's address walk pinned to each endpoint the kernel could have chosen.
              const world = lab.world;
              const address = walk(world, w.kernelSpec);
              const candidates = [
                address,
                ...randomEndpoints(world, address).map((pin) => walk(world, { ...w.kernelSpec, pin })),
              ].map((t) => path(engineHops(t)));
              expect(candidates, 'the walk to the name, once resolved').toContainEqual(path(named));
            }
          },
          TIMEOUT,
        );
    });
  }
});
