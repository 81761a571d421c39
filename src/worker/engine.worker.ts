// The engine worker: thin on purpose (HASH's simulation.worker.ts). It turns a `run` message into
// parseScenario → applyOverrides → buildWorld → post world → walk, posting events in batches, and turns every failure into
// an `error` message: a worker that throws leaves the UI waiting forever.
//
// Runs are deferred by one task and coalesced: when the user clicks through walks faster than the engine
// answers, only the newest queued run executes, and `cancel` can stop one that has not started. A walk
// itself is synchronous and short (tens of events), so a run that has started always finishes.
import {
  buildWorld,
  formatLabScript,
  labScript,
  startWorld,
  walk,
  worldView,
  type World,
} from '../engine/index.ts';
import { tracePcapng } from '../engine/pcapng.ts';
import { parseScenario } from '../scenario/parse.ts';
import { locateIssues } from '../scenario/positions.ts';
import type { Trace, TraceEvent } from '../engine/trace.ts';
import type { WalkModel } from '../scenario/model.ts';
import { applyOverrides } from './overrides.ts';
import {
  EVENT_BATCH_SIZE,
  PROTOCOL_VERSION,
  isMessage,
  type NamedWalkRef,
  type WalkRequest,
  type ToMain,
  type ToWorker,
} from './protocol.ts';

// The slice of DedicatedWorkerGlobalScope the worker uses. Named here rather than taken from the
// WebWorker lib so this file also type-checks in the DOM-lib test project, where tests stub `self`.
interface WorkerScope {
  postMessage(message: ToMain): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<unknown>) => void): void;
}

const scope = self as unknown as WorkerScope;

/** The run waiting for its turn (at most one: a newer run replaces it). */
let pending: Extract<ToWorker, { type: 'run' }> | null = null;
/** The latest finished run, kept for `export` (one world and trace: a few hundred kB at most). */
let finished: { runId: number; world: World; trace: Trace } | null = null;
/** The lab's namespace prefix in the script the UI shows (as `packet-walk lab`'s default). */
const LAB_PREFIX = 'pwlab';

scope.addEventListener('message', (event) => receive(event.data));

function receive(data: unknown): void {
  if (!isMessage(data)) {
    post({ type: 'error', v: PROTOCOL_VERSION, runId: -1, message: 'Not a Packet Walk message.' });
    return;
  }
  if (data.v !== PROTOCOL_VERSION) {
    const message = `Protocol version ${String(data.v)} is not supported (this worker speaks version ${PROTOCOL_VERSION}); reload the page.`;
    post({ type: 'error', v: PROTOCOL_VERSION, runId: data.runId, message });
    return;
  }
  const msg = data as ToWorker;
  switch (msg.type) {
    case 'run':
      if (pending === null) setTimeout(startPending, 0);
      pending = msg;
      return;
    case 'cancel':
      if (pending?.runId === msg.runId) pending = null;
      return;
    case 'validate':
      validate(msg);
      return;
    case 'export':
      exportRun(msg);
      return;
    default: {
      const type = String((msg as { type: unknown }).type);
      post({
        type: 'error',
        v: PROTOCOL_VERSION,
        runId: data.runId,
        message: `Unknown message type "${type}".`,
      });
    }
  }
}

function startPending(): void {
  const msg = pending;
  pending = null;
  if (msg) run(msg);
}

function run({ runId, scenarioText, walk: asked, overrides }: Extract<ToWorker, { type: 'run' }>): void {
  const v = PROTOCOL_VERSION;
  const parsed = parseScenario(scenarioText);
  if (!parsed.ok) {
    const n = parsed.errors.length;
    post({
      type: 'error',
      v,
      runId,
      message: `The scenario has ${n} problem${n === 1 ? '' : 's'}.`,
      issues: parsed.errors,
    });
    return;
  }

  const overridden = applyOverrides(parsed.model, overrides ?? {});
  if (overridden.kind === 'refused') {
    post({ type: 'error', v, runId, message: overridden.message });
    return;
  }
  const { model, settings } = overridden;

  const spec = resolveWalk(asked, model.walks);
  if (typeof spec === 'string') {
    post({ type: 'error', v, runId, message: spec });
    return;
  }

  let batch: TraceEvent[] = [];
  let sent = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    post({ type: 'events', v, runId, events: batch });
    sent += batch.length;
    batch = [];
  };

  try {
    const world = buildWorld(model);
    const walks = model.walks.map(({ name, description, from, to, protocol }) => ({
      name,
      description,
      from,
      to,
      protocol,
    }));
    // The world as the walk starts: for a CNI ADD without the pod, which the walk's events then add.
    post({ type: 'world', v, runId, view: worldView(startWorld(world, spec), walks), settings });
    const trace = walk(world, spec, (e) => {
      batch.push(e);
      if (batch.length >= EVENT_BATCH_SIZE) flush();
    });
    flush();
    // An engine that records without calling back still gets its events to the UI.
    if (sent === 0 && trace.events.length > 0) {
      for (let i = 0; i < trace.events.length; i += EVENT_BATCH_SIZE) {
        batch = trace.events.slice(i, i + EVENT_BATCH_SIZE);
        flush();
      }
    }
    const { version, from, to, resolution, flow, cni, seed, legs } = trace;
    const summary = {
      version,
      from,
      to,
      ...(resolution ? { resolution } : {}),
      flow,
      ...(cni ? { cni } : {}),
      seed,
      legs,
    };
    finished = { runId, world, trace };
    post({ type: 'done', v, runId, trace: { ...summary, eventCount: sent } });
  } catch (err) {
    flush();
    post({ type: 'error', v, runId, message: err instanceof Error ? err.message : String(err) });
  }
}

/** The editor's check: parse, place each finding in the text. Synchronous: the client sends one at a time. */
function validate({ runId, scenarioText }: Extract<ToWorker, { type: 'validate' }>): void {
  const parsed = parseScenario(scenarioText);
  const errors = parsed.ok ? [] : parsed.errors;
  const warnings = parsed.ok ? parsed.warnings : [];
  const all = [...errors, ...warnings];
  const ranges = locateIssues(scenarioText, all);
  const issues = all.map((issue, i) => ({
    severity: i < errors.length ? ('error' as const) : ('warning' as const),
    issue,
    range: ranges[i] ?? { from: 0, to: 0 },
  }));
  const walks = parsed.ok ? parsed.model.walks.map((w) => w.name) : [];
  post({ type: 'validated', v: PROTOCOL_VERSION, runId, ok: parsed.ok, issues, walks });
}

function exportRun({ runId, requestId, format }: Extract<ToWorker, { type: 'export' }>): void {
  const v = PROTOCOL_VERSION;
  if (finished?.runId !== runId) {
    const message = "That walk is no longer the engine's latest; let the current walk finish and try again.";
    post({ type: 'export-failed', v, runId, requestId, message });
    return;
  }
  const { world, trace } = finished;
  try {
    if (format === 'pcapng') {
      const mtuOf = (netns: string, device: string) => world.netns(netns).devices.get(device)?.mtu;
      post({ type: 'exported', v, runId, requestId, format, contents: tracePcapng(trace, { mtuOf }) });
    } else {
      const text = formatLabScript(labScript(world, { prefix: LAB_PREFIX }));
      post({ type: 'exported', v, runId, requestId, format, contents: text });
    }
  } catch (err) {
    post({
      type: 'export-failed',
      v,
      runId,
      requestId,
      message: err instanceof Error ? err.message : String(err),
    });
  }
}

/** The walk to run, or why there is none. */
function resolveWalk(asked: WalkRequest | NamedWalkRef, named: readonly WalkModel[]): WalkRequest | string {
  if (!('name' in asked)) return asked;
  const seed = asked.seed === undefined ? {} : { seed: asked.seed };
  const w = asked.name === null ? named[0] : named.find((n) => n.name === asked.name);
  if (!w)
    return asked.name === null
      ? 'The scenario names no walks; enter one (from, to, protocol).'
      : `The scenario has no walk named "${asked.name}".`;
  return {
    from: w.from,
    to: w.to,
    protocol: w.protocol,
    ...(w.size === null ? {} : { size: w.size }),
    ...seed,
  };
}

function post(message: ToMain): void {
  scope.postMessage(message);
}
