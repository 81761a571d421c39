// The engine worker: thin on purpose (HASH's simulation.worker.ts). It turns a `run` message into
// parseScenario → applyOverrides → buildWorld → post world → walk, posting events in batches, and turns every failure into
// an `error` message: a worker that throws leaves the UI waiting forever.
//
// Runs are deferred by one task and coalesced: when the user clicks through walks faster than the engine
// answers, only the newest queued run executes, and `cancel` can stop one that has not started. A walk
// itself is synchronous and short (tens of events), so a run that has started always finishes.
import { buildWorld, startWorld, walk, worldView } from '../engine/index.ts';
import { parseScenario } from '../scenario/parse.ts';
import type { TraceEvent } from '../engine/trace.ts';
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
    post({ type: 'done', v, runId, trace: { ...summary, eventCount: sent } });
  } catch (err) {
    flush();
    post({ type: 'error', v, runId, message: err instanceof Error ? err.message : String(err) });
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
