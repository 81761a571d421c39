// The messages between the UI thread and the engine worker: one discriminated union each way, every
// message stamped with the protocol version `v` and the `runId` it belongs to (as HASH's messages.ts).
//
//   main ──run──────────▶ worker   parse → apply overrides → build → walk
//   main ◀──world──────── worker   the built world, once per run, before any event
//   main ◀──events─────── worker   trace events in seq order, batched (0..n messages)
//   main ◀──done───────── worker   the trace's summary; events are not repeated
//   main ◀──error──────── worker   instead of world/events/done, or after world when the walk fails
//   main ──export───────▶ worker   after `done`: the run's trace as pcapng, or its world's lab script
//   main ◀──exported───── worker   the file's contents (or export-failed with why)
//
//   main ──validate─────▶ worker   parse only: the scenario editor's live check (its own id sequence)
//   main ◀──validated──── worker   the parser's findings, each placed in the text
//
// Types only plus two constants: both threads import this file, and it must not pull the engine into
// the UI bundle.
import type { WorldView } from '../engine/view.ts';
import type {
  Flow,
  LegSummary,
  Resolution,
  TRACE_FORMAT_VERSION,
  Trace,
  TraceEvent,
} from '../engine/trace.ts';
import type { CniMode } from '../scenario/model.ts';
import type { ScenarioIssue } from '../scenario/parse.ts';
import type { TextRange } from '../scenario/positions.ts';

/** Bump when a message changes shape; a peer with another version gets an `error` reply.
 *  2: `run` carries `overrides`, `world` carries `settings`, `done`'s trace has `version` and `resolution`,
 *  a named walk may carry a `seed`.
 *  3: `validate` / `validated` (the scenario editor's check).
 *  4: `export` / `exported` / `export-failed` (pcapng of the trace, the lab script of the world).
 *  5: trace format 2 — `events` may hold `cni` events, `done`'s trace has `flow` null and `cni` for a CNI walk,
 *  and `world` is the world the walk starts in (for a CNI ADD: without the pod). */
export const PROTOCOL_VERSION = 5;

/** What the worker can export from a finished run. */
export type ExportFormat =
  /** The trace as a capture file (src/engine/pcapng.ts): every observed hop a packet on its interface. */
  | 'pcapng'
  /** The shell script that builds the run's world in network namespaces (`packet-walk lab`). */
  | 'lab-script';

/** The contents of each export format. */
export interface ExportContents {
  readonly pcapng: Uint8Array;
  readonly 'lab-script': string;
}

/** Events per `events` message. A walk has tens of events; batching keeps a pathological loop (the step
 *  budget runs to a few thousand) from costing a message and a React render per event. */
export const EVENT_BATCH_SIZE = 64;

/** What to walk: the engine's WalkSpec, restated here so the protocol is self-contained. */
export interface WalkRequest {
  /** pod/<ns>/<name>, a unique pod name, node/<name>, host/<name> or an IP. */
  readonly from: string;
  /** An IP, IP:port, or a reference as for `from` (optionally ":port"). */
  readonly to: string;
  readonly protocol: 'tcp' | 'udp' | 'icmp';
  /** IP payload bytes after the L4 header. */
  readonly size?: number;
  /** Seed for the walk's choices (ephemeral port, endpoint); same seed, same trace. */
  readonly seed?: number;
}

/** One of the walks the scenario itself names (its `walks:` list), by name; null means the first one. The
 *  worker looks it up in the parsed scenario, so the page needs no YAML parser to start on the scenario's
 *  first walk, and the walk keeps the `size` the scenario gives it. */
export interface NamedWalkRef {
  readonly name: string | null;
  /** Seed for the walk's choices, as in WalkRequest. */
  readonly seed?: number;
}

export type KubeProxyMode = 'iptables' | 'ipvs';
export type TrafficPolicy = 'Cluster' | 'Local';

/** Changes to the scenario's cluster, applied by the worker to the validated model before it builds the
 *  world (the engine sees an ordinary model). Absent fields keep the scenario's own value. */
export interface Overrides {
  /** The CNI mode instead of the Cluster document's `spec.cni`. */
  readonly cni?: CniMode;
  /** kube-proxy's mode instead of the KubeProxyConfiguration's (iptables when there is none). */
  readonly kubeProxyMode?: KubeProxyMode;
  /** externalTrafficPolicy per LoadBalancer or NodePort Service, keyed "namespace/name". */
  readonly externalTrafficPolicy?: Readonly<Record<string, TrafficPolicy>>;
}

/** The knobs overrides can turn, as one cluster has them. */
export interface ClusterSettings {
  readonly cni: CniMode;
  readonly kubeProxyMode: KubeProxyMode;
  /** Every LoadBalancer and NodePort Service, keyed "namespace/name", in scenario order. */
  readonly externalTrafficPolicy: Readonly<Record<string, TrafficPolicy>>;
}

/** What the toggles show: the scenario's own settings and the ones this run used. */
export interface RunSettings {
  /** Before overrides. */
  readonly scenario: ClusterSettings;
  /** After overrides: what the world was built from. */
  readonly effective: ClusterSettings;
  /** The scenario has a gateway (bridge-router needs one). */
  readonly hasGateway: boolean;
}

/** The trace without its events (the UI has them from `events` messages already). */
export interface TraceSummary {
  /** The trace format's version (docs/trace-format.md). */
  readonly version: typeof TRACE_FORMAT_VERSION;
  readonly from: string;
  readonly to: string;
  /** The DNS lookup that came first, when `to` was a name. */
  readonly resolution?: Resolution;
  /** The packet's flow; null for a CNI walk. */
  readonly flow: Flow | null;
  /** A CNI walk's command, pod, node and address. */
  readonly cni?: Trace['cni'];
  readonly seed: number;
  /** One entry per leg, in order; the last one is the walk's final verdict. */
  readonly legs: readonly LegSummary[];
  /** Number of events the worker sent for this run, so the UI can tell it has them all. */
  readonly eventCount: number;
}

/** One finding of the parser, placed in the scenario text (scenario/positions.ts). */
export interface LocatedIssue {
  readonly severity: 'error' | 'warning';
  readonly issue: ScenarioIssue;
  /** The field's range in the text that was validated. */
  readonly range: TextRange;
}

export type ToWorker =
  /** Parse the scenario, build its world and walk one packet through it. */
  | {
      readonly type: 'run';
      readonly v: number;
      readonly runId: number;
      /** The scenario as YAML text (one or more documents). */
      readonly scenarioText: string;
      /** The walk: spelled out, or one the scenario names. */
      readonly walk: WalkRequest | NamedWalkRef;
      /** Changes to the scenario's cluster ({} for none). */
      readonly overrides: Overrides;
    }
  /** Stop posting messages for this run (a no-op when it has finished). */
  | { readonly type: 'cancel'; readonly v: number; readonly runId: number }
  /** Parse the scenario only, and answer `validated`: no world, no walk. `runId` is the validation's own
   *  number (a sequence apart from runs'), so a validation never disturbs the current run. */
  | { readonly type: 'validate'; readonly v: number; readonly runId: number; readonly scenarioText: string }
  /** Export the finished run `runId` (the worker's latest); answered by `exported` or `export-failed`. */
  | {
      readonly type: 'export';
      readonly v: number;
      readonly runId: number;
      /** Matches the answer to the request (several may be in flight). */
      readonly requestId: number;
      readonly format: ExportFormat;
    };

export type ToMain =
  /** The built world, posted before the first event of the run. */
  | {
      readonly type: 'world';
      readonly v: number;
      readonly runId: number;
      readonly view: WorldView;
      /** The scenario's settings and the overridden ones this world was built from. */
      readonly settings: RunSettings;
    }
  /** The next batch of trace events, in seq order. */
  | {
      readonly type: 'events';
      readonly v: number;
      readonly runId: number;
      readonly events: readonly TraceEvent[];
    }
  /** The walk finished; no more messages for this run. */
  | { readonly type: 'done'; readonly v: number; readonly runId: number; readonly trace: TraceSummary }
  /** The run failed: scenario problems (with `issues`), an engine error or a protocol mismatch. Final. */
  | {
      readonly type: 'error';
      readonly v: number;
      readonly runId: number;
      /** One readable sentence. */
      readonly message: string;
      /** The scenario parser's findings, when the scenario was the problem. */
      readonly issues?: readonly ScenarioIssue[];
    }
  /** The answer to `validate`: the parser's errors (none: the scenario is valid) and warnings. */
  | {
      readonly type: 'validated';
      readonly v: number;
      /** The `validate` message's number. */
      readonly runId: number;
      /** True iff the scenario parsed without errors. */
      readonly ok: boolean;
      /** Errors first, then warnings, each in the parser's order. */
      readonly issues: readonly LocatedIssue[];
      /** The names of the scenario's walks, in order (only when ok). */
      readonly walks: readonly string[];
    }
  /** The answer to `export`. */
  | {
      [F in ExportFormat]: {
        readonly type: 'exported';
        readonly v: number;
        readonly runId: number;
        readonly requestId: number;
        readonly format: F;
        readonly contents: ExportContents[F];
      };
    }[ExportFormat]
  /** `export` could not be done: the run is no longer the worker's latest, or the engine refused. */
  | {
      readonly type: 'export-failed';
      readonly v: number;
      readonly runId: number;
      readonly requestId: number;
      /** One readable sentence. */
      readonly message: string;
    };

export type ToWorkerType = ToWorker['type'];
export type ToMainType = ToMain['type'];
export type ToMainOf<T extends ToMainType> = Extract<ToMain, { type: T }>;

/** True iff `data` looks like a message of this protocol (any version): an object with a string `type`
 *  and numeric `v` and `runId`. Messages from elsewhere (extensions, devtools) fail it. */
export function isMessage(data: unknown): data is { type: string; v: number; runId: number } {
  if (typeof data !== 'object' || data === null) return false;
  const m = data as Record<string, unknown>;
  return typeof m['type'] === 'string' && typeof m['v'] === 'number' && typeof m['runId'] === 'number';
}
