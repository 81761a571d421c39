// `packet-walk reachability <scenario>`: which pod may open a connection to which, under the scenario's
// NetworkPolicies, printed as the upstream netpol e2e suite prints its truth tables (engine/netpol.ts).
import { formatReachability, reachability, type ReachabilityOptions } from '../engine/netpol.ts';
import type { ClusterModel } from '../scenario/model.ts';

/** Where the command writes (main.ts's Io). */
export interface ReachabilityIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The command-line options, as parseArgs gives them (strings, unchecked). */
export interface ReachabilityArgs {
  /** "80" or "80,81": probe these ports on every pod; absent: each pod's own container ports. */
  readonly port?: string | undefined;
  /** "tcp" or "udp" (default tcp with --port; without, only container ports of this protocol). */
  readonly protocol?: string | undefined;
  /** Print the matrix, with every verdict, as JSON. */
  readonly json?: boolean | undefined;
}

/** main.ts's exit codes used here: 0 printed, 2 bad usage. */
const OK = 0;
const USAGE = 2;

/** Prints the reachability tables of a parsed scenario; returns the exit code. */
export function reachabilityCommand(model: ClusterModel, args: ReachabilityArgs, io: ReachabilityIo): number {
  const opts: { ports?: number[]; protocol?: 'TCP' | 'UDP' } = {};
  if (args.protocol !== undefined) {
    const p = args.protocol.toLowerCase();
    if (p !== 'tcp' && p !== 'udp') {
      io.stderr(`--protocol must be tcp or udp, not "${args.protocol}"\n`);
      return USAGE;
    }
    opts.protocol = p === 'tcp' ? 'TCP' : 'UDP';
  }
  if (args.port !== undefined) {
    const ports = args.port.split(',').map((s) => s.trim());
    const bad = ports.find((s) => !/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535);
    if (bad !== undefined) {
      io.stderr(`--port takes port numbers 1-65535 (comma-separated), not "${args.port}"\n`);
      return USAGE;
    }
    opts.ports = [...new Set(ports.map(Number))];
  }
  const matrix = reachability(model, opts satisfies ReachabilityOptions);
  if (args.json) {
    io.stdout(`${JSON.stringify(matrix, null, 2)}\n`);
    return OK;
  }
  const n = model.networkPolicies.length;
  io.stdout(
    `# ${matrix.pods.length} pods (hostNetwork pods are not subject to policy and left out), ` +
      `${n} NetworkPolic${n === 1 ? 'y' : 'ies'}\n` +
      `# rows: from, columns: to; "." allowed, "X" denied (egress of the source and ingress of the destination)\n\n`,
  );
  io.stdout(formatReachability(matrix));
  return OK;
}
