// The engine benchmark: `npm run bench` (= tsx bench/engine.bench.ts). Options: --quick (fewer runs),
// --nodes N and --pods P (the large cluster's size, default 5,000 × 30). Prints a table and writes the same
// numbers to bench/results.json. What is measured and why: docs/performance.md.
//
// Timing: performance.now() around each run, GC left to V8 (so collection pauses count, as they would for a
// user). Memory: separate runs, each after a forced full GC; `heap Δ` is heapUsed after the run minus before
// it, with the result still referenced, after another full GC — what the run leaves alive (for a world
// build: the indexes; for a first walk: the namespaces it materialised; for a warm walk: ~0).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as prettier from 'prettier';
import { buildWorld, resolveRef, walk, type WalkSpec } from '../src/engine/index.ts';
import { tracePcapng } from '../src/engine/pcapng.ts';
import { parseScenario } from '../src/scenario/parse.ts';
import type { CniMode } from '../src/scenario/model.ts';
import { threeNodes } from '../test/fixtures/models.ts';
import { stringify as stringifyYaml } from 'yaml';
import { readKubectlDump, writeImportedScenario } from '../src/scenario/importKubectl.ts';
import { generateCluster, nodeName, podName } from './generate.ts';
import { generateKubectlDump } from './kubectlDump.ts';

// ───────────────────────────── options ─────────────────────────────

const args = process.argv.slice(2);
const quick = args.includes('--quick');
function numArg(name: string, dflt: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} needs a positive integer`);
  return v;
}
const NODES = numArg('--nodes', 5000);
/** `--only <id prefix>`: run only those cases (e.g. `--only import`); the others keep their numbers in
 *  results.json. */
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '') : null;
const wants = (id: string): boolean => only === null || id.startsWith(only);
/** Whether a group of cases (their ids start with `prefix`) has any case --only asks for. */
const wantsGroup = (prefix: string): boolean =>
  only === null || prefix.startsWith(only) || only.startsWith(prefix);
const PODS = numArg('--pods', 30);
const scale = (n: number): number => (quick ? Math.max(3, Math.ceil(n / 5)) : n);

// A full GC on demand without --expose-gc on the command line (tsx starts node for us).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// ───────────────────────────── measuring ─────────────────────────────

interface Stats {
  readonly id: string;
  readonly name: string;
  readonly runs: number;
  /** The very first run in this process: cold JIT, as a user's first click sees it. */
  readonly firstMs: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Median retained heap growth of a run (MB), see the header comment. */
  readonly heapDeltaMB: number;
  readonly targetMs: number | null;
  readonly pass: boolean | null;
}

interface Case<T> {
  readonly id: string;
  readonly name: string;
  readonly runs: number;
  readonly warmup: number;
  readonly heapRuns: number;
  /** Untimed preparation of one run (e.g. building the fresh world a first walk needs). */
  readonly setup: () => T;
  /** The timed part; its result is kept alive until the heap is measured. */
  readonly run: (input: T) => unknown;
  readonly targetMs?: number;
}

function percentile(sorted: readonly number[], p: number): number {
  // Nearest rank.
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

let sink: unknown = null;

function measure<T>(c: Case<T>): Stats | null {
  if (!wants(c.id)) return null;
  const times: number[] = [];
  let firstMs = NaN;
  for (let i = 0; i < c.warmup + c.runs; i++) {
    const input = c.setup();
    const t0 = performance.now();
    sink = c.run(input);
    const dt = performance.now() - t0;
    if (i === 0) firstMs = dt;
    if (i >= c.warmup) times.push(dt);
  }
  const heap: number[] = [];
  for (let i = 0; i < c.heapRuns; i++) {
    const input = c.setup();
    gc();
    const before = process.memoryUsage().heapUsed;
    const result = c.run(input);
    gc();
    const after = process.memoryUsage().heapUsed;
    sink = [input, result];
    heap.push((after - before) / 2 ** 20);
  }
  sink = null;
  const sorted = [...times].sort((a, b) => a - b);
  const heapSorted = heap.sort((a, b) => a - b);
  const medianMs = percentile(sorted, 50);
  const targetMs = c.targetMs ?? null;
  const s: Stats = {
    id: c.id,
    name: c.name,
    runs: c.runs,
    firstMs,
    medianMs,
    p95Ms: percentile(sorted, 95),
    minMs: sorted[0]!,
    maxMs: sorted.at(-1)!,
    heapDeltaMB: heapSorted.length ? percentile(heapSorted, 50) : NaN,
    targetMs,
    pass: targetMs === null ? null : medianMs < targetMs,
  };
  process.stderr.write(`  ${c.id.padEnd(34)} median ${fmt(s.medianMs)} ms\n`);
  return s;
}

function fmt(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

// ───────────────────────────── the cases ─────────────────────────────

const defaultModel = threeNodes('flannel-vxlan');
/** The cross-node VXLAN walk of the default cluster: client on node-1 → db on node-2, a TCP SYN and its SYN-ACK. */
const defaultWalk: WalkSpec = { from: 'pod/default/client', to: 'pod/default/db:3306', protocol: 'tcp' };

const results: (Stats | null)[] = [];
const started = performance.now();
process.stderr.write(
  `packet-walk engine benchmark${quick ? ' (quick)' : ''}: default cluster, then ${NODES} nodes × ${PODS} pods\n`,
);

// (a) buildWorld + first walk on the default three-node model (everything fresh each run).
results.push(
  measure({
    id: 'default.build+firstWalk',
    name: 'default cluster: buildWorld + first walk',
    runs: scale(300),
    warmup: 20,
    heapRuns: 5,
    setup: () => null,
    run: () => {
      const w = buildWorld(defaultModel);
      return [w, walk(w, defaultWalk)];
    },
  }),
);
results.push(
  measure({
    id: 'default.build',
    name: 'default cluster: buildWorld only',
    runs: scale(300),
    warmup: 20,
    heapRuns: 5,
    setup: () => null,
    run: () => buildWorld(defaultModel),
  }),
);

// (b) the cross-node VXLAN walk: on a warm world (its namespaces already built) and on a fresh one.
const warmDefault = buildWorld(defaultModel);
if (wantsGroup('default.')) walk(warmDefault, defaultWalk);
results.push(
  measure({
    id: 'default.walk.warm',
    name: 'default cluster: cross-node VXLAN walk, warm world',
    runs: scale(2000),
    warmup: 100,
    heapRuns: 5,
    setup: () => null,
    run: () => walk(warmDefault, defaultWalk),
    targetMs: 1,
  }),
);
results.push(
  measure({
    id: 'default.walk.fresh',
    name: 'default cluster: cross-node VXLAN walk, fresh world',
    runs: scale(1000),
    warmup: 50,
    heapRuns: 5,
    setup: () => buildWorld(defaultModel),
    run: (w) => walk(w, defaultWalk),
    targetMs: 1,
  }),
);

// (b2) pcapng export of the biggest built-in walk (dns-external-name: 4 DNS queries and answers, one
// forwarded upstream, then the TCP handshake through two NATs; 108 captured packets).
{
  const text = readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), '../src/scenario/presets/default.yaml'),
    'utf8',
  );
  const parsed = parseScenario(text);
  if (!parsed.ok) throw new Error('default.yaml does not parse');
  const w = parsed.model.walks.find((x) => x.name === 'dns-external-name')!;
  const world = buildWorld(parsed.model);
  const trace = walk(world, { from: w.from, to: w.to, protocol: w.protocol });
  const mtuOf = (ns: string, dev: string) => world.netns(ns).devices.get(dev)?.mtu;
  const bytes = tracePcapng(trace, { mtuOf }).length;
  process.stderr.write(`  pcapng of dns-external-name: ${bytes} bytes\n`);
  results.push(
    measure({
      id: 'pcapng.dns-external-name',
      name: `pcapng of the biggest built-in walk (${bytes} bytes)`,
      runs: scale(200),
      warmup: 20,
      heapRuns: 3,
      setup: () => null,
      run: () => tracePcapng(trace, { mtuOf }),
    }),
  );
}

// (c) and (d): the large cluster, for both flannel backends.
// (Only the generation times are kept: a model left alive would make later cases collect a bigger heap.)
const large: { cni: CniMode; generateMs: number }[] = [];
for (const cni of wantsGroup('large.') ? (['flannel-vxlan', 'flannel-host-gw'] as const) : []) {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const model = generateCluster({ nodes: NODES, podsPerNode: PODS, cni });
  const generateMs = performance.now() - t0;
  gc();
  const modelMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  large.push({ cni, generateMs });
  const size = `${NODES} nodes / ${NODES * PODS} pods`;
  process.stderr.write(`  (generated ${cni} model in ${fmt(generateMs)} ms, ${modelMB.toFixed(0)} MB)\n`);

  results.push(
    measure({
      id: `large.${cni}.build`,
      name: `${size}, ${cni}: buildWorld`,
      runs: scale(10),
      warmup: 2,
      heapRuns: 2,
      setup: () => null,
      run: () => buildWorld(model),
      targetMs: 2000,
    }),
  );

  const spec: WalkSpec = {
    from: `pod/default/${podName(0, 0)}`,
    to: `pod/default/${podName(NODES - 1, 1)}:8080`,
    protocol: 'tcp',
  };
  results.push(
    measure({
      id: `large.${cni}.walk.first`,
      name: `${size}, ${cni}: first cross-node walk (builds 2 nodes)`,
      runs: scale(10),
      warmup: 2,
      heapRuns: 2,
      setup: () => buildWorld(model),
      run: (w) => walk(w, spec),
      targetMs: 20,
    }),
  );

  // Where a first walk's time goes: materialising one node's unit (the node, its 30 pods, and the overlay's
  // per-remote-node state: 3 × (N-1) neighbour/FDB/route entries with VXLAN, N-1 routes with host-gw) and
  // resolving a pod reference. Not targets; they explain the first-walk number.
  const middle = `node/${nodeName(Math.floor(NODES / 2))}`;
  results.push(
    measure({
      id: `large.${cni}.materialiseNode`,
      name: `${size}, ${cni}: materialise one node (part of a first walk)`,
      runs: scale(20),
      warmup: 2,
      heapRuns: 2,
      setup: () => buildWorld(model),
      run: (w) => w.netns(middle),
    }),
  );
  const refWorld = buildWorld(model);
  results.push(
    measure({
      id: `large.${cni}.resolveRef`,
      name: `${size}, ${cni}: resolve one pod reference (part of every walk)`,
      runs: scale(50),
      warmup: 3,
      heapRuns: 0,
      setup: () => null,
      run: () => resolveRef(refWorld, spec.to, true),
    }),
  );

  const warm = buildWorld(model);
  walk(warm, spec);
  results.push(
    measure({
      id: `large.${cni}.walk.warm`,
      name: `${size}, ${cni}: cross-node walk, warm world`,
      runs: scale(100),
      warmup: 5,
      heapRuns: 3,
      setup: () => null,
      run: () => walk(warm, spec),
      targetMs: 20,
    }),
  );
}

// (e) kube-proxy at scale: 10,000 ClusterIP services × 10 endpoints (100 nodes × 100 pods). Materialising a
// node runs kube-proxy's rule generation (~430,000 rules), loads them, and a walk to a ClusterIP traverses
// KUBE-SERVICES (indexed, but counting every rule the kernel would test).
if (wantsGroup('services.')) {
  const SERVICES = quick ? 2000 : 10000;
  const model = generateCluster({
    nodes: 100,
    podsPerNode: 100,
    cni: 'flannel-vxlan',
    services: SERVICES,
    endpointsPerService: 10,
  });
  const size = `${SERVICES} services × 10 endpoints`;
  results.push(
    measure({
      id: 'services.materialiseNode',
      name: `${size}: materialise a node (kube-proxy writes and iptables loads its rules)`,
      runs: scale(3),
      warmup: 0,
      heapRuns: 1,
      setup: () => buildWorld(model),
      run: (w) => w.netns('node/node-1'),
    }),
  );
  // Another node of the same world: kube-proxy's rules are the same on every node here (no Service has a
  // Local policy), so the world made them with node-1 and node-2 only loads them.
  results.push(
    measure({
      id: 'services.materialiseSecondNode',
      name: `${size}: materialise a second node of the world`,
      runs: scale(3),
      warmup: 0,
      heapRuns: 1,
      setup: () => {
        const w = buildWorld(model);
        w.netns('node/node-1');
        return w;
      },
      run: (w) => w.netns('node/node-2'),
    }),
  );
  const warm = buildWorld(model);
  const svcWalk: WalkSpec = {
    from: 'pod/default/pod-1-0',
    to: `172.20.${Math.floor((SERVICES - 1) / 256)}.${(SERVICES - 1) % 256}:80`,
    protocol: 'tcp',
  };
  walk(warm, svcWalk);
  results.push(
    measure({
      id: 'services.walk.warm',
      name: `${size}: pod → the last ClusterIP in KUBE-SERVICES, warm world`,
      runs: scale(20),
      warmup: 2,
      heapRuns: 2,
      setup: () => null,
      run: () => walk(warm, svcWalk),
      targetMs: 50,
    }),
  );
}

// (f) Import: a kubectl dump of 100 nodes and 3,000 application pods (plus 200 hostNetwork system pods, 1,000
// Services with their EndpointSlices, 20 NetworkPolicies), as `kubectl get ... -o json` prints it (27 MB with
// managedFields, annotations, status), then as `-o yaml` (13 MB). One run is what "Load" costs: read and trim
// the dump, write the scenario (its parse check included), parse it as the worker does, build the world,
// walk its first walk.
if (wantsGroup('import.')) {
  const dump = generateKubectlDump({ nodes: 100, pods: 3000, replicas: 3 });
  const json = JSON.stringify(dump, null, 4);
  // As kubectl (go-yaml) prints it: a sequence's "- " at its key's indentation.
  const yamlText = stringifyYaml(dump, { indentSeq: false });
  process.stderr.write(
    `  (kubectl dump: ${(json.length / 2 ** 20).toFixed(1)} MB as JSON, ${(yamlText.length / 2 ** 20).toFixed(1)} MB as YAML)\n`,
  );
  const load = (text: string) => {
    const d = readKubectlDump(text);
    if (!d.ok) throw new Error('the generated dump does not import');
    const w = writeImportedScenario(d, {});
    if (!w.ok) throw new Error('the generated dump does not import');
    const parsed = parseScenario(w.text);
    if (!parsed.ok) throw new Error('the imported scenario does not parse');
    const world = buildWorld(parsed.model);
    const first = parsed.model.walks[0]!;
    return walk(world, { from: first.from, to: first.to, protocol: first.protocol });
  };
  results.push(
    measure({
      id: 'import.json.load',
      name: 'import 100 nodes / 3,000 pods (kubectl -o json): read, write, parse, build, first walk',
      runs: scale(10),
      warmup: 1,
      heapRuns: 1,
      setup: () => json,
      run: load,
      targetMs: 2000,
    }),
  );
  results.push(
    measure({
      id: 'import.json.read',
      name: '… of which: read and trim the dump',
      runs: scale(10),
      warmup: 1,
      heapRuns: 0,
      setup: () => json,
      run: (text) => readKubectlDump(text),
    }),
  );
  const read = readKubectlDump(json);
  if (!read.ok) throw new Error('the generated dump does not import');
  const written = writeImportedScenario(read, {});
  results.push(
    measure({
      id: 'import.json.write',
      name: '… of which: write the scenario and check it (a parse)',
      runs: scale(10),
      warmup: 1,
      heapRuns: 0,
      setup: () => read,
      run: (d) => writeImportedScenario(d, {}),
    }),
  );
  results.push(
    measure({
      id: 'import.json.parse',
      name: '… of which: parse the scenario (the worker)',
      runs: scale(10),
      warmup: 1,
      heapRuns: 0,
      setup: () => written.text,
      run: (text) => parseScenario(text),
    }),
  );
  results.push(
    measure({
      id: 'import.yaml.load',
      name: 'the same dump as kubectl -o yaml: read, write, parse, build, first walk',
      runs: scale(10),
      warmup: 1,
      heapRuns: 0,
      setup: () => yamlText,
      run: load,
      targetMs: 2000,
    }),
  );
  results.push(
    measure({
      id: 'import.yaml.read',
      name: '… of which: read and trim the dump (the reader for the YAML kubectl prints)',
      runs: scale(10),
      warmup: 1,
      heapRuns: 0,
      setup: () => yamlText,
      run: (text) => readKubectlDump(text),
    }),
  );
}

// ───────────────────────────── report ─────────────────────────────

const ran = results.filter((r): r is Stats => r !== null);
const header = ['case', 'runs', 'first', 'median', 'p95', 'min', 'heap Δ MB', 'target', ''];
const rows = ran.map((r) => [
  r.name,
  String(r.runs),
  fmt(r.firstMs),
  fmt(r.medianMs),
  fmt(r.p95Ms),
  fmt(r.minMs),
  Number.isFinite(r.heapDeltaMB) ? r.heapDeltaMB.toFixed(2) : '–',
  r.targetMs === null ? '' : `< ${r.targetMs}`,
  r.pass === null ? '' : r.pass ? 'ok' : 'MISSED',
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]): string =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
const cpus = os.cpus();
const cpu = `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}`;
const load = os.loadavg().map((x) => x.toFixed(2));
console.log();
console.log(
  `node ${process.version} on ${os.platform()}/${os.arch()}, ${cpu}, load average ${load.join(' ')}; times in ms`,
);
console.log(line(header));
console.log(widths.map((w) => '─'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
for (const l of large)
  console.log(`(model generation, ${l.cni}: ${fmt(l.generateMs)} ms — not part of any case)`);
const missed = ran.filter((r) => r.pass === false);
console.log(
  missed.length
    ? `\n${missed.length} target(s) missed: ${missed.map((r) => r.id).join(', ')} — see docs/performance.md`
    : '\nall targets met',
);

const out = join(dirname(fileURLToPath(import.meta.url)), 'results.json');
// Formatted as the repository's prettier config wants, so `npm run format:check` stays clean after a run.
const thisRun = {
  generatedAt: new Date().toISOString(),
  quick,
  machine: {
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map(round),
  },
};
const cases = ran.map((r) => ({
  ...r,
  firstMs: round(r.firstMs),
  medianMs: round(r.medianMs),
  p95Ms: round(r.p95Ms),
  minMs: round(r.minMs),
  maxMs: round(r.maxMs),
  heapDeltaMB: round(r.heapDeltaMB),
}));
const previous =
  only !== null && existsSync(out)
    ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>)
    : null;
// A partial run (--only) keeps the last full run's header and other cases, and records its own machine and
// time under `partialRuns`, keyed by the prefix.
const report = previous
  ? {
      ...previous,
      cases: mergeCases(cases),
      partialRuns: {
        ...(previous['partialRuns'] as object | undefined),
        [only as string]: { ...thisRun, totalSeconds: round((performance.now() - started) / 1000) },
      },
    }
  : {
      ...thisRun,
      large: {
        nodes: NODES,
        podsPerNode: PODS,
        pods: NODES * PODS,
        generateMs: Object.fromEntries(large.map((l) => [l.cni, round(l.generateMs)])),
      },
      cases,
      totalSeconds: round((performance.now() - started) / 1000),
    };
// Formatted as the repository's prettier config wants, so `npm run format:check` stays clean after a run.
const json = JSON.stringify(report, null, 2) + '\n';
writeFileSync(out, await prettier.format(json, { ...(await prettier.resolveConfig(out)), filepath: out }));
console.log(`wrote ${out}`);
void sink;

/** With --only, the cases not run keep their last numbers (and `large` its generation times). */
function mergeCases(fresh: readonly { id: string }[]): readonly { id: string }[] {
  const old = (previous?.['cases'] ?? []) as { id: string }[];
  const byId = new Map(fresh.map((c) => [c.id, c]));
  const merged = old.map((c) => byId.get(c.id) ?? c);
  for (const c of fresh) if (!old.some((o) => o.id === c.id)) merged.push(c);
  return merged;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
