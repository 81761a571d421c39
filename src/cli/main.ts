// The command line: the same engine as the browser, for terminals, scripts and golden tests.
// `main` takes argv and writers and returns the exit code, so tests run it in-process.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  buildWorld,
  EngineError,
  formatLabScript,
  formatTrace,
  labScript,
  walk,
  type Trace,
} from '../engine/index.ts';
import { formatIssue, parseScenario } from '../scenario/parse.ts';
import type { ClusterModel } from '../scenario/model.ts';

export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Exit codes, documented in the README and `--help`. */
export const EXIT = {
  /** The walk's packet was delivered (and so was its reply, if it has one); or the scenario is valid. */
  ok: 0,
  /** The walk ran, but the packet (or its reply) did not arrive: dropped, unreachable, refused… */
  notDelivered: 1,
  /** Bad command-line usage. */
  usage: 2,
  /** The scenario file is missing or invalid. */
  invalidScenario: 3,
  /** The walk cannot start: an unknown pod, node, host or address. */
  badWalk: 4,
} as const;

const PRESET_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'scenario', 'presets');

const HELP = `packet-walk — see how a packet moves through a Kubernetes cluster

Usage:
  packet-walk trace <scenario> --from <ref> --to <target> [--proto tcp|udp|icmp] [--size N] [--seed N] [--json]
  packet-walk trace <scenario> --walk <name> [--json]
  packet-walk validate <scenario>
  packet-walk walks <scenario>
  packet-walk lab <scenario> [--prefix NAME]   print the shell script that builds the scenario in network namespaces

<scenario>  a YAML/JSON file of Kubernetes objects, or the name of a built-in scenario (e.g. "default")
<ref>       pod/<namespace>/<name>, a unique pod name, node/<name>, host/<name>, or an IP address
<target>    an IP, IP:port, svc/<namespace>/<name>:port (the ClusterIP), or a <ref> with an optional :port

Exit codes: 0 delivered (or valid), 1 not delivered, 2 usage, 3 invalid scenario, 4 unknown ref.
`;

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        proto: { type: 'string', default: 'tcp' },
        size: { type: 'string' },
        seed: { type: 'string' },
        walk: { type: 'string' },
        prefix: { type: 'string', default: 'pw' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    io.stderr(`${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command, scenarioArg, ...rest] = positionals;
  if (values.help || !command) {
    (values.help ? io.stdout : io.stderr)(HELP);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (!['trace', 'validate', 'walks', 'lab'].includes(command)) {
    io.stderr(`unknown command "${command}"\n\n${HELP}`);
    return EXIT.usage;
  }
  if (!scenarioArg || rest.length) {
    io.stderr(`${command} takes exactly one scenario\n\n${HELP}`);
    return EXIT.usage;
  }
  const loaded = loadScenario(scenarioArg, io);
  if (!loaded) return EXIT.invalidScenario;

  if (command === 'validate') {
    io.stdout(
      `${scenarioArg}: valid — ${loaded.nodes.length} nodes, ${loaded.pods.length} pods, ${loaded.services.length} services, ${loaded.walks.length} walks\n`,
    );
    return EXIT.ok;
  }
  if (command === 'walks') {
    for (const w of loaded.walks)
      io.stdout(
        `${w.name.padEnd(28)} ${w.protocol.padEnd(5)} ${w.from} -> ${w.to}\n${''.padEnd(28)} ${w.description}\n`,
      );
    return EXIT.ok;
  }

  if (command === 'lab') {
    if (!/^[a-z][a-z0-9-]{0,7}$/.test(values.prefix)) {
      io.stderr(`--prefix must be 1-8 lowercase letters, digits or '-', starting with a letter\n`);
      return EXIT.usage;
    }
    io.stdout(formatLabScript(labScript(buildWorld(loaded), { prefix: values.prefix })));
    return EXIT.ok;
  }

  let spec: { from: string; to: string; protocol: 'tcp' | 'udp' | 'icmp'; size?: number; seed?: number };
  if (values.walk !== undefined) {
    const named = loaded.walks.find((w) => w.name === values.walk);
    if (!named) {
      io.stderr(
        `no walk named "${values.walk}"; this scenario has: ${loaded.walks.map((w) => w.name).join(', ') || 'none'}\n`,
      );
      return EXIT.badWalk;
    }
    spec = {
      from: named.from,
      to: named.to,
      protocol: named.protocol,
      ...(named.size !== null ? { size: named.size } : {}),
    };
  } else {
    if (!values.from || !values.to) {
      io.stderr(`trace needs --from and --to (or --walk <name>)\n\n${HELP}`);
      return EXIT.usage;
    }
    const proto = values.proto;
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'icmp') {
      io.stderr(`--proto must be tcp, udp or icmp, not "${proto}"\n`);
      return EXIT.usage;
    }
    spec = { from: values.from, to: values.to, protocol: proto };
  }
  for (const key of ['size', 'seed'] as const) {
    const raw = values[key];
    if (raw === undefined) continue;
    const n = Number(raw);
    const max = key === 'size' ? 65507 : 2 ** 32 - 1;
    if (!Number.isInteger(n) || n < 0 || n > max) {
      io.stderr(`--${key} must be a whole number from 0 to ${max}, not "${raw}"\n`);
      return EXIT.usage;
    }
    spec[key] = n;
  }

  let trace: Trace;
  try {
    trace = walk(buildWorld(loaded), spec);
  } catch (e) {
    if (e instanceof EngineError) {
      io.stderr(`cannot walk: ${e.message}\n`);
      return EXIT.badWalk;
    }
    throw e;
  }
  io.stdout(values.json ? `${JSON.stringify(trace, null, 2)}\n` : formatTrace(trace));
  return trace.legs.every((l) => l.verdict.kind === 'delivered') ? EXIT.ok : EXIT.notDelivered;
}

/** Reads a scenario file (or a built-in by name) and parses it; prints every issue on failure. */
function loadScenario(arg: string, io: Io): ClusterModel | null {
  const builtin = join(PRESET_DIR, `${arg}.yaml`);
  const path = existsSync(arg) ? arg : /^[a-z0-9-]+$/.test(arg) && existsSync(builtin) ? builtin : null;
  if (!path) {
    io.stderr(`${arg}: no such file or built-in scenario\n`);
    return null;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    io.stderr(`${arg}: ${(e as Error).message}\n`);
    return null;
  }
  const result = parseScenario(text);
  if (!result.ok) {
    io.stderr(`${arg}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}\n`);
    for (const issue of result.errors) io.stderr(`  ${formatIssue(issue)}\n`);
    return null;
  }
  for (const w of result.warnings) io.stderr(`warning: ${formatIssue(w)}\n`);
  return result.model;
}
