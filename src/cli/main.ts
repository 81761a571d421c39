// The command line: the same engine as the browser, for terminals, scripts and golden tests.
// `main` takes argv and writers and returns the exit code, so tests run it in-process.
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isIp } from '../engine/addr.ts';
import { formatIptablesSave, parseIptablesSave } from '../engine/iptables.ts';
import { formatRuleStep, traceIptables, type IptablesTraceOptions } from '../engine/iptablesTrace.ts';
import type { Ruleset } from '../engine/netfilter.ts';
import { formatIpvsadmList } from '../engine/ipvs.ts';
import { kubeProxyInputFromModel } from '../engine/kubeproxy.ts';
import { kubeProxyIpvsSync } from '../engine/kubeproxyIpvs.ts';
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
import { tracePcapng } from '../engine/pcapng.ts';
import type { World } from '../engine/world.ts';
import { labCommand } from './lab.ts';
import { reachabilityCommand } from './reachability.ts';
import { dig, DigError, formatDigResult } from './dig.ts';
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
  packet-walk trace <scenario> --from <ref> --to <target> [--proto tcp|udp|icmp] [--size N] [--seed N]
              [--pin <endpoint ip:port>] [--json]
  packet-walk trace <scenario> --walk <name> [--json]
  packet-walk pcap <scenario> (--from <ref> --to <target> [--proto|--protocol tcp|udp|icmp] [--size N]
              [--seed N] [--pin <ip:port>] | --walk <name>) -o <file.pcapng>
              the walk as a capture: every hop a packet on its interface (Wireshark, tshark)
  packet-walk validate <scenario>
  packet-walk walks <scenario>
  packet-walk iptables-save <scenario> --node <name>
  packet-walk iptables-trace <scenario|iptables-save file> [--node <name>] --src <ip> --dst <ip:port>
              [--proto tcp|udp|icmp] [--in IFACE] [--out IFACE] [--local-ips a,b] [--all-branches] [--seed N]
  packet-walk ipvsadm <scenario> --node <name>    what kube-proxy in ipvs mode programs (kube-ipvs0, IPVS)
  packet-walk lab <scenario> [--prefix NAME]   print the shell script that builds the scenario in network namespaces
  packet-walk lab <scenario> --up [--prefix NAME]    build it for real (root, Linux): namespaces NAME-*
  packet-walk lab <scenario> --down [--prefix NAME]  remove the namespaces --up built with that prefix
  packet-walk dig <scenario> <name> [A|AAAA|SRV|PTR|CNAME|TXT|NS|SOA] [--from <pod|node/name>] [--json]
              what the cluster DNS answers; with --from, the pod's resolv.conf search list tried in order
  packet-walk reachability <scenario> [--port N[,N...]] [--protocol tcp|udp] [--json]
              which pod may connect to which under the NetworkPolicies, one truth table per port
              (default: each pod's own container ports)

<scenario>  a YAML/JSON file of Kubernetes objects, or the name of a built-in scenario (e.g. "default")
<ref>       pod/<namespace>/<name>, a unique pod name, node/<name>, host/<name>, or an IP address
<target>    an IP, IP:port, svc/<namespace>/<name>:port (the ClusterIP), or a <ref> with an optional :port

Exit codes: 0 delivered (a CNI walk: done; or valid), 1 not delivered, 2 usage, 3 invalid scenario, 4 unknown ref.
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
        pin: { type: 'string' },
        walk: { type: 'string' },
        prefix: { type: 'string', default: 'pwlab' },
        node: { type: 'string' },
        src: { type: 'string' },
        dst: { type: 'string' },
        in: { type: 'string' },
        out: { type: 'string' },
        'local-ips': { type: 'string' },
        'all-branches': { type: 'boolean', default: false },
        port: { type: 'string' },
        protocol: { type: 'string' },
        output: { type: 'string', short: 'o' },
        up: { type: 'boolean', default: false },
        down: { type: 'boolean', default: false },
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
  if (
    ![
      'trace',
      'pcap',
      'validate',
      'walks',
      'lab',
      'iptables-save',
      'iptables-trace',
      'ipvsadm',
      'reachability',
      'dig',
    ].includes(command)
  ) {
    io.stderr(`unknown command "${command}"\n\n${HELP}`);
    return EXIT.usage;
  }
  if (command === 'dig' && (!scenarioArg || rest.length < 1 || rest.length > 2)) {
    io.stderr(`dig takes a scenario, a name and optionally a type\n\n${HELP}`);
    return EXIT.usage;
  }
  if (command !== 'dig' && (!scenarioArg || rest.length)) {
    io.stderr(`${command} takes exactly one scenario\n\n${HELP}`);
    return EXIT.usage;
  }
  if (!scenarioArg) return EXIT.usage;
  if (command === 'iptables-trace' && looksLikeIptablesSave(scenarioArg))
    return iptablesTraceFile(scenarioArg, values, io);
  const loaded = loadScenario(scenarioArg, io);
  if (!loaded) return EXIT.invalidScenario;

  if (command === 'reachability') return reachabilityCommand(loaded, values, io);
  if (command === 'dig')
    return digCommand(loaded, rest[0]!, rest[1] ?? 'A', values.from ?? null, values.json, io);

  if (command === 'ipvsadm') {
    // What kube-proxy in ipvs mode would program on the node (walks do not go through IPVS yet).
    const node = loaded.nodes.find((n) => n.name === values.node);
    if (!values.node || !node) {
      io.stderr(
        values.node
          ? `no node named "${values.node}"; this scenario has: ${loaded.nodes.map((n) => n.name).join(', ')}\n`
          : 'ipvsadm needs --node <name>\n',
      );
      return values.node ? EXIT.badWalk : EXIT.usage;
    }
    const ipvs = kubeProxyIpvsSync(kubeProxyInputFromModel(loaded, node.name));
    io.stdout(`# ip addr show ${ipvs.dummyDevice.name}\n`);
    for (const a of ipvs.dummyDevice.addresses)
      io.stdout(`    inet ${a.includes('/') ? a : `${a}/32`} scope global ${ipvs.dummyDevice.name}\n`);
    io.stdout(`\n# ipvsadm -Ln\n${formatIpvsadmList(ipvs.table)}`);
    return EXIT.ok;
  }

  if (command === 'iptables-save' || command === 'iptables-trace') {
    if (!values.node) {
      io.stderr(`${command} needs --node <name>\n`);
      return EXIT.usage;
    }
    const world = buildWorld(loaded);
    const id = `node/${values.node}`;
    if (!world.hasNetns(id)) {
      io.stderr(
        `no node named "${values.node}"; this scenario has: ${loaded.nodes.map((n) => n.name).join(', ')}\n`,
      );
      return EXIT.badWalk;
    }
    const ns = world.netns(id);
    for (const e of [...ns.stateWarnings, ...ns.ruleErrors]) io.stderr(`warning: ${e}\n`);
    if (command === 'iptables-save') {
      io.stdout(ns.ruleset ? formatIptablesSave(ns.ruleset) : `# ${id} has no iptables rules\n`);
      return EXIT.ok;
    }
    return iptablesTraceRun(ns.ruleset ?? new Map(), values, io, {
      isLocal: (ip) => ns.ownsAddress(ip),
      routeOut: (dst) => {
        const r = ns.main.lookup(dst);
        return r.kind === 'found' ? (r.route.dev ?? '') : '';
      },
      masqueradeSource: (out) => ns.selectSource(out, '0.0.0.0'),
      defaultIn: (src) => {
        const r = ns.main.lookup(src);
        return r.kind === 'found' ? (r.route.dev ?? 'eth0') : 'eth0';
      },
    });
  }

  if (command === 'validate') {
    // A NodeState's devices are only known once its node is built: build those nodes to check them.
    if (loaded.nodeStates?.length) {
      const world = buildWorld(loaded);
      for (const s of loaded.nodeStates)
        for (const w of world.netns(`node/${s.node}`).stateWarnings)
          io.stderr(`warning: NodeState ${s.node}: ${w}\n`);
    }
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
    if (values.up || values.down) return labCommand(loaded, scenarioArg, values, io);
    io.stdout(formatLabScript(labScript(buildWorld(loaded), { prefix: values.prefix })));
    return EXIT.ok;
  }
  if (command === 'pcap' && !values.output) {
    io.stderr(`pcap needs -o <file.pcapng> (the capture file to write)\n`);
    return EXIT.usage;
  }

  let spec: {
    from: string;
    to: string;
    protocol: 'tcp' | 'udp' | 'icmp';
    size?: number;
    seed?: number;
    pin?: string;
  };
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
      io.stderr(`${command} needs --from and --to (or --walk <name>)\n\n${HELP}`);
      return EXIT.usage;
    }
    // `pcap` also takes --protocol, the spelling `reachability` uses.
    const option = command === 'pcap' && values.protocol !== undefined ? 'protocol' : 'proto';
    const proto = option === 'protocol' ? values.protocol : values.proto;
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'icmp') {
      io.stderr(`--${option} must be tcp, udp or icmp, not "${proto}"\n`);
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
  if (values.pin !== undefined) {
    if (!/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(values.pin)) {
      io.stderr(`--pin takes an endpoint ip:port, not "${values.pin}"\n`);
      return EXIT.usage;
    }
    spec.pin = values.pin;
  }

  let trace: Trace;
  let world: World;
  try {
    world = buildWorld(loaded);
    trace = walk(world, spec);
  } catch (e) {
    if (e instanceof EngineError) {
      io.stderr(`cannot walk: ${e.message}\n`);
      return EXIT.badWalk;
    }
    throw e;
  }
  if (command === 'pcap') {
    const bytes = tracePcapng(trace, {
      mtuOf: (netns, device) => world.netns(netns).devices.get(device)?.mtu,
    });
    try {
      writeFileSync(values.output!, bytes);
    } catch (e) {
      io.stderr(`-o ${values.output!}: ${(e as Error).message}\n`);
      return EXIT.usage;
    }
    const frames = trace.events.filter((e) => e.type === 'observe').length;
    io.stdout(`${values.output!}: ${frames} packets, ${bytes.length} bytes (pcapng)\n`);
  } else io.stdout(values.json ? `${JSON.stringify(trace, null, 2)}\n` : formatTrace(trace));
  // A CNI walk ends `configured` (ADD) or `removed` (DEL) when every step went through.
  const ok = new Set(['delivered', 'configured', 'removed']);
  return trace.legs.every((l) => ok.has(l.verdict.kind)) ? EXIT.ok : EXIT.notDelivered;
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

function looksLikeIptablesSave(path: string): boolean {
  if (!existsSync(path)) return false;
  const first = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.trim() !== '' && !l.startsWith('#'));
  return first?.startsWith('*') ?? false;
}

type TraceValues = {
  src?: string | undefined;
  dst?: string | undefined;
  proto?: string | undefined;
  in?: string | undefined;
  out?: string | undefined;
  seed?: string | undefined;
  'local-ips'?: string | undefined;
  'all-branches'?: boolean | undefined;
  json?: boolean | undefined;
};

/** iptables-trace on a pasted `iptables-save` of a real node: its addresses come from --local-ips. */
function iptablesTraceFile(path: string, values: TraceValues, io: Io): number {
  const parsed = parseIptablesSave(readFileSync(path, 'utf8'));
  for (const e of parsed.errors) io.stderr(`${path}:${e.line}: ${e.message}\n`);
  const locals = (values['local-ips'] ?? '').split(',').filter((x) => x !== '');
  for (const ip of locals)
    if (!isIp(ip)) {
      io.stderr(`--local-ips: "${ip}" is not an IPv4 address\n`);
      return EXIT.usage;
    }
  return iptablesTraceRun(parsed.ruleset, values, io, {
    isLocal: (ip) => ip.startsWith('127.') || locals.includes(ip),
    routeOut: () => values.out ?? '',
    masqueradeSource: () => null,
    defaultIn: () => 'eth0',
  });
}

function iptablesTraceRun(
  ruleset: Ruleset,
  values: TraceValues,
  io: Io,
  node: IptablesTraceOptions & { defaultIn: (src: string) => string },
): number {
  const proto = values.proto ?? 'tcp';
  if (proto !== 'tcp' && proto !== 'udp' && proto !== 'icmp') {
    io.stderr(`--proto must be tcp, udp or icmp, not "${proto}"\n`);
    return EXIT.usage;
  }
  const m = /^([\d.]+)(?::(\d{1,5}))?$/.exec(values.dst ?? '');
  if (!values.src || !isIp(values.src) || !m || !isIp(m[1]!)) {
    io.stderr('iptables-trace needs --src <ip> and --dst <ip[:port]>\n');
    return EXIT.usage;
  }
  const dport = m[2] !== undefined ? Number(m[2]) : null;
  if (proto !== 'icmp' && dport === null) {
    io.stderr(`a ${proto} packet needs a destination port (--dst ip:port)\n`);
    return EXIT.usage;
  }
  const seed = Number(values.seed ?? 1);
  let state = seed >>> 0 || 1;
  const random = (): number => {
    // xorshift32: deterministic per seed, like the walk's own choices.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const pkt = {
    src: values.src,
    dst: m[1]!,
    proto,
    sport: proto === 'icmp' ? null : 40000,
    dport,
    inIface: values.in ?? node.defaultIn(values.src),
  } as const;
  const branches = traceIptables(
    ruleset,
    pkt,
    node,
    values['all-branches'] ? { allBranches: true } : { allBranches: false, random },
  );
  if (values.json) {
    io.stdout(`${JSON.stringify({ packet: pkt, branches }, null, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout(
    `packet ${proto} ${pkt.src}${pkt.sport !== null ? `:${pkt.sport}` : ''} -> ${pkt.dst}${dport !== null ? `:${dport}` : ''} in ${pkt.inIface}\n`,
  );
  branches.forEach((b, i) => {
    if (branches.length > 1) io.stdout(`\nbranch ${i + 1} (probability ${b.probability.toFixed(4)})\n`);
    let evaluated = 0;
    for (const v of b.visits) {
      evaluated += v.result.evaluated;
      for (const s of v.result.steps) io.stdout(`  ${formatRuleStep(v.hook, v.table, s)}\n`);
    }
    const nat = [b.dnat ? `DNAT to ${b.dnat}` : null, b.snat ? `SNAT ${b.snat}` : null]
      .filter(Boolean)
      .join(', ');
    io.stdout(`  => ${b.verdict} via ${b.path}${nat ? `, ${nat}` : ''}; ${evaluated} rules evaluated\n`);
  });
  return EXIT.ok;
}

/** `dig`: exit 0 when the name resolves to records of the type, 1 when not (NXDOMAIN, NODATA, SERVFAIL). */
function digCommand(
  model: ClusterModel,
  name: string,
  type: string,
  from: string | null,
  json: boolean,
  io: Io,
): number {
  let r;
  try {
    r = dig(model, name, type, from);
  } catch (e) {
    if (e instanceof DigError) {
      io.stderr(`dig: ${e.message}\n`);
      return EXIT.badWalk;
    }
    throw e;
  }
  io.stdout(json ? `${JSON.stringify(r, null, 2)}\n` : formatDigResult(r));
  return r.answered ? EXIT.ok : EXIT.notDelivered;
}
