// `packet-walk lab <scenario> --up | --down`: build the scenario's lab (src/engine/lab.ts) for real in
// network namespaces, and remove it again.
//
// Safety, in order: Linux and root only; every line of the script is checked to act inside a namespace of
// the lab's own prefix (assertConfined: no command runs in the namespace of the machine, no link is moved
// out); the prefix may not be the test suite's (`pwk`, whose stale namespaces the suite deletes); an owner
// file (OWNER_DIR/<prefix>.json) lists exactly the namespaces built, and `--down` deletes those and nothing
// else. A failed `--up` deletes what it built before it reports.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorld, formatLabScript, labScript, type LabScript } from '../engine/index.ts';
import { assertConfined } from '../engine/lab.ts';
import type { ClusterModel } from '../scenario/model.ts';

interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Where `--up` records what it built; /run is a tmpfs, so owner files go with the namespaces at reboot. */
export const OWNER_DIR = process.env.PW_LAB_OWNER_DIR ?? '/run/packet-walk/labs';
/** The kernel conformance suite's prefix: its cleanup deletes `pwk-*` namespaces it does not own. */
const RESERVED_PREFIXES = ['pwk'];

export interface LabOwner {
  readonly prefix: string;
  readonly scenario: string;
  /** Every namespace `--up` created, in creation order. */
  readonly namespaces: readonly string[];
  /** ISO time of `--up`. */
  readonly created: string;
}

/** Why this machine cannot build a lab, or null when it can. `script` says which tools it needs. */
export function labPreflight(script: LabScript): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return 'needs root (network namespaces): run it with sudo, or print the script with `packet-walk lab <scenario>` and read it first';
  const text = [...script.up].join('\n');
  const tools: [string, string[], string][] = [
    ['ip', ['-V'], 'iproute2'],
    ['bridge', ['-V'], 'iproute2'],
    ['sysctl', ['-V'], 'procps'],
  ];
  if (text.includes('iptables-restore')) tools.push(['iptables-restore', ['-V'], 'iptables']);
  for (const [tool, args, pkg] of tools) {
    const r = spawnSync(tool, args, { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  if (
    text.includes('bridge-nf-call-iptables=1') &&
    !existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')
  )
    return 'the nodes need br_netfilter (net.bridge.bridge-nf-call-iptables), which is not loaded: `modprobe br_netfilter`';
  return null;
}

export function listNetns(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return (r.stdout || '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

const ownerFile = (prefix: string): string => join(OWNER_DIR, `${prefix}.json`);

/** Deletes the namespaces of `names` that exist and carry the prefix; returns those deleted. */
function deleteNamespaces(prefix: string, names: readonly string[]): string[] {
  const present = new Set(listNetns());
  const deleted: string[] = [];
  for (const ns of [...names].reverse()) {
    if (!ns.startsWith(`${prefix}-`) || !present.has(ns)) continue;
    const r = spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    if (r.status === 0) deleted.push(ns);
  }
  return deleted;
}

function readOwner(prefix: string): LabOwner | null {
  try {
    const o = JSON.parse(readFileSync(ownerFile(prefix), 'utf8')) as LabOwner;
    return o.prefix === prefix && Array.isArray(o.namespaces) ? o : null;
  } catch {
    return null;
  }
}

export function labCommand(
  model: ClusterModel,
  scenario: string,
  values: { readonly prefix: string; readonly up?: boolean; readonly down?: boolean },
  io: Io,
): number {
  const { prefix } = values;
  if (values.up && values.down) {
    io.stderr('--up and --down: choose one\n');
    return 2;
  }
  if (RESERVED_PREFIXES.includes(prefix)) {
    io.stderr(`--prefix ${prefix} is reserved for the test suite's own labs; choose another\n`);
    return 2;
  }
  return values.up ? up(model, scenario, prefix, io) : down(prefix, io);
}

function up(model: ClusterModel, scenario: string, prefix: string, io: Io): number {
  let script: LabScript;
  try {
    script = labScript(buildWorld(model), { prefix });
    assertConfined(script, prefix);
  } catch (e) {
    io.stderr(`lab --up: ${(e as Error).message}\n`);
    return 1;
  }
  const why = labPreflight(script);
  if (why) {
    io.stderr(`lab --up ${why}\n`);
    return 1;
  }
  if (existsSync(ownerFile(prefix))) {
    io.stderr(
      `lab --up: a lab with prefix "${prefix}" is up already (${ownerFile(prefix)}); remove it with \`packet-walk lab ${scenario} --down --prefix ${prefix}\` or choose another --prefix\n`,
    );
    return 1;
  }
  const taken = listNetns().filter((ns) => script.namespaces.includes(ns));
  if (taken.length > 0) {
    io.stderr(
      `lab --up: namespaces of this lab exist already and were not built by it: ${taken.join(', ')}; choose another --prefix\n`,
    );
    return 1;
  }
  // The owner file comes first, so that a lab interrupted half way can still be taken down with --down.
  const owner: LabOwner = {
    prefix,
    scenario,
    namespaces: script.namespaces,
    created: new Date().toISOString(),
  };
  mkdirSync(OWNER_DIR, { recursive: true });
  writeFileSync(ownerFile(prefix), `${JSON.stringify(owner, null, 2)}\n`);
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-lab-`));
  const file = join(dir, 'lab.sh');
  try {
    writeFileSync(file, formatLabScript(script));
    const r = spawnSync('sh', ['-e', file], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) {
      const deleted = deleteNamespaces(prefix, script.namespaces);
      rmSync(ownerFile(prefix), { force: true });
      const tail = `${r.stderr ?? ''}${r.error ? r.error.message : ''}`
        .trim()
        .split('\n')
        .slice(-6)
        .join('\n');
      io.stderr(
        `lab --up: the script failed; the ${deleted.length} namespaces it had built are deleted again.\n${tail}\n`,
      );
      return 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const pods = script.namespaces.filter((n) => !n.startsWith(`${prefix}-sw-`));
  const example = pods.find((n) => n.includes('.')) ?? pods[0] ?? script.namespaces[0] ?? '';
  io.stdout(
    [
      `lab "${prefix}" is up: ${script.namespaces.length} network namespaces (owner file ${ownerFile(prefix)})`,
      ...script.namespaces.map((n) => `  ${n}`),
      '',
      'Enter one:',
      `  sudo ip netns exec ${example} bash`,
      'Tear it down:',
      `  sudo npx packet-walk lab ${scenario} --down --prefix ${prefix}`,
      '',
    ].join('\n'),
  );
  return 0;
}

function down(prefix: string, io: Io): number {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    io.stderr('lab --down needs root on Linux (it deletes network namespaces)\n');
    return 1;
  }
  const owner = readOwner(prefix);
  if (!owner) {
    const strays = listNetns().filter((n) => n.startsWith(`${prefix}-`));
    io.stderr(
      `lab --down: no lab with prefix "${prefix}" is up (no owner file ${ownerFile(prefix)})${strays.length ? `; namespaces with that prefix that packet-walk did not record: ${strays.join(', ')} (delete them yourself with \`ip netns del\` if they are yours)` : ''}\n`,
    );
    return 1;
  }
  const deleted = deleteNamespaces(prefix, owner.namespaces);
  const left = listNetns().filter((n) => owner.namespaces.includes(n));
  if (left.length > 0) {
    io.stderr(`lab --down: could not delete ${left.join(', ')}\n`);
    return 1;
  }
  rmSync(ownerFile(prefix), { force: true });
  io.stdout(`lab "${prefix}" is down: ${deleted.length} network namespaces deleted\n`);
  return 0;
}
