// The UI's handle on the engine worker (use-cannon's CannonWorkerAPI, minus the physics): typed post and
// subscribe, a fresh runId per run, and a filter that drops every message not of the current run — a
// slow answer to an old walk must never overwrite the new one.
import {
  PROTOCOL_VERSION,
  isMessage,
  type LocatedIssue,
  type ExportContents,
  type ExportFormat,
  type NamedWalkRef,
  type Overrides,
  type ToMain,
  type ToWorker,
  type WalkRequest,
} from './protocol.ts';

/** The part of `Worker` the client uses; tests pass a fake. */
export interface WorkerLike {
  postMessage(message: ToWorker): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: Event) => void): void;
  terminate(): void;
}

export type EngineListener = (message: ToMain) => void;

/** The worker's answer to a validation (the `validated` message without its envelope). */
export interface Validation {
  readonly ok: boolean;
  readonly issues: readonly LocatedIssue[];
  readonly walks: readonly string[];
}

export interface EngineClient {
  /** Starts a run, superseding any earlier one, and returns its id. Messages of earlier runs are dropped.
   *  `overrides` change the scenario's cluster before the world is built (none when absent). */
  run(scenarioText: string, walk: WalkRequest | NamedWalkRef, overrides?: Overrides): number;
  /** Parses `scenarioText` in the worker (no world, no walk) and resolves with its findings; resolves with
   *  null when a newer validation superseded this one before it was sent, or the worker failed. At most one
   *  validation is in the worker at a time: typing faster than the parser only ever queues the newest. */
  validate(scenarioText: string): Promise<Validation | null>;
  /** Cancels the current run, if any; its remaining messages are dropped. */
  cancel(): void;
  /** Calls `listener` with every message of the current run. Returns the unsubscribe function. */
  subscribe(listener: EngineListener): () => void;
  /** The id of the run whose messages are delivered, or null before the first run and after cancel. */
  currentRunId(): number | null;
  /** Exports the last finished run (the trace as pcapng, the world's lab script). Rejects with the worker's
   *  reason, or when no run has finished, a newer run has started, or the client is disposed. */
  exportRun<F extends ExportFormat>(format: F): Promise<ExportContents[F]>;
  /** Terminates the worker; the client is unusable afterwards. */
  dispose(): void;
}

/**
 * Creates a client. The worker is created lazily on the first run.
 *
 * @example
 * const client = createEngineClient(
 *   () => new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' }),
 * );
 * client.subscribe((m) => store.getState().receive(m));
 * client.run(text, { from: 'pod/default/client', to: 'pod/default/db:3306', protocol: 'tcp' });
 */
export function createEngineClient(workerFactory: () => WorkerLike): EngineClient {
  const listeners = new Set<EngineListener>();
  let worker: WorkerLike | null = null;
  let lastRunId = 0;
  let current: number | null = null;
  /** The run that last finished with `done` (what exportRun exports); forgotten when another run starts. */
  let lastDone: number | null = null;
  let lastRequest = 0;
  const exports = new Map<number, { resolve: (c: unknown) => void; reject: (e: Error) => void }>();
  let disposed = false;
  // Validations: the one in the worker, and the newest one waiting for it.
  let lastValidationId = 0;
  type Waiting = { readonly text: string; readonly resolve: (v: Validation | null) => void };
  let validating: { readonly id: number; readonly resolve: (v: Validation | null) => void } | null = null;
  let nextValidation: Waiting | null = null;

  const deliver = (message: ToMain): void => {
    for (const l of [...listeners]) l(message);
  };

  const sendValidation = (w: Waiting): void => {
    const id = ++lastValidationId;
    validating = { id, resolve: w.resolve };
    post({ type: 'validate', v: PROTOCOL_VERSION, runId: id, scenarioText: w.text });
  };

  const validated = (message: Extract<ToMain, { type: 'validated' }>): void => {
    if (validating?.id !== message.runId) return;
    validating.resolve({ ok: message.ok, issues: message.issues, walks: message.walks });
    validating = null;
    const next = nextValidation;
    nextValidation = null;
    if (next) sendValidation(next);
  };

  /** A failure of the worker itself (script failed to load, uncaught exception) ends the current run. */
  const fail = (message: string): void => {
    validating?.resolve(null);
    nextValidation?.resolve(null);
    validating = nextValidation = null;
    if (current === null) return;
    const runId = current;
    current = null;
    deliver({ type: 'error', v: PROTOCOL_VERSION, runId, message });
  };

  const receive = (data: unknown): void => {
    if (isMessage(data) && data.type === 'validated' && data.v === PROTOCOL_VERSION) {
      validated(data as Extract<ToMain, { type: 'validated' }>);
      return;
    }
    if (!isMessage(data)) return;
    // Export answers go to their request, whatever run is current.
    if ((data.type === 'exported' || data.type === 'export-failed') && data.v === PROTOCOL_VERSION) {
      const m = data as Extract<ToMain, { type: 'exported' | 'export-failed' }>;
      const waiting = exports.get(m.requestId);
      exports.delete(m.requestId);
      if (m.type === 'exported') waiting?.resolve(m.contents);
      else waiting?.reject(new Error(m.message));
      return;
    }
    if (current === null || data.runId !== current) return; // stale or foreign
    if (data.v !== PROTOCOL_VERSION) {
      fail(`The engine speaks protocol version ${data.v}, the page ${PROTOCOL_VERSION}; reload the page.`);
      return;
    }
    const message = data as ToMain;
    if (message.type === 'done') lastDone = current;
    if (message.type === 'done' || message.type === 'error') current = null;
    deliver(message);
  };

  const ensureWorker = (): WorkerLike => {
    if (disposed) throw new Error('The engine client has been disposed.');
    if (worker) return worker;
    const w = workerFactory();
    w.addEventListener('message', (e) => receive((e as MessageEvent<unknown>).data));
    w.addEventListener('error', (e) => {
      const detail = 'message' in e ? String((e as { message: unknown }).message) : '';
      fail(`The engine worker failed${detail ? `: ${detail}` : ''}.`);
    });
    w.addEventListener('messageerror', () => fail('A message from the engine worker could not be read.'));
    worker = w;
    return w;
  };

  const post = (message: ToWorker): void => ensureWorker().postMessage(message);

  return {
    run(scenarioText, walk, overrides = {}) {
      const w = ensureWorker();
      if (current !== null) w.postMessage({ type: 'cancel', v: PROTOCOL_VERSION, runId: current });
      const runId = ++lastRunId;
      current = runId;
      lastDone = null;
      post({ type: 'run', v: PROTOCOL_VERSION, runId, scenarioText, walk, overrides });
      return runId;
    },
    validate(scenarioText) {
      return new Promise((resolve) => {
        if (disposed) {
          resolve(null);
          return;
        }
        if (validating === null) {
          sendValidation({ text: scenarioText, resolve });
          return;
        }
        nextValidation?.resolve(null);
        nextValidation = { text: scenarioText, resolve };
      });
    },
    cancel() {
      if (current === null) return;
      post({ type: 'cancel', v: PROTOCOL_VERSION, runId: current });
      current = null;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    currentRunId: () => current,
    exportRun<F extends ExportFormat>(format: F): Promise<ExportContents[F]> {
      if (disposed) return Promise.reject(new Error('The engine client has been disposed.'));
      if (lastDone === null)
        return Promise.reject(new Error('The walk has not finished yet; export it when it has.'));
      const requestId = ++lastRequest;
      const runId = lastDone;
      return new Promise<ExportContents[F]>((resolve, reject) => {
        exports.set(requestId, { resolve: resolve as (c: unknown) => void, reject });
        post({ type: 'export', v: PROTOCOL_VERSION, runId, requestId, format });
      });
    },
    dispose() {
      disposed = true;
      validating?.resolve(null);
      nextValidation?.resolve(null);
      validating = nextValidation = null;
      for (const waiting of exports.values())
        waiting.reject(new Error('The engine client has been disposed.'));
      exports.clear();
      current = null;
      listeners.clear();
      worker?.terminate();
      worker = null;
    },
  };
}
