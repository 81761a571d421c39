// Playback of a recorded trace: a cursor over the events, and whether it moves on its own. The machine owns
// only the cursor, the speed and the mode (style: "one owner per piece of state"); the events live in the
// store, and the canvas interpolates between ticks, so nothing here runs at 60 fps.
//
//            play                       TICK at the end of a complete trace
//   idle ────────────▶ playing ──────────────────────────────────────────▶ finished
//    ▲  ╲  step/seek      │ ▲ play                                            │ play (from the start)
//    │   ╲──────────▶  paused ◀───────── stepBack / seek ─────────────────────┤
//    └────── restart (from anywhere; TRACE_RESET too) ────────────────────────┘
//
// The trace streams in while playing: TRACE_GROWN raises `length`, TRACE_DONE marks it complete. A playing
// cursor that reaches the last known event waits there for more.
import { assign, fromCallback, setup, type EventObject } from 'xstate';

/** Milliseconds per event at speed 1: slow enough to read the hop, quick enough that a 40-event walk
 *  plays in about half a minute. */
export const BASE_TICK_MS = 700;

/** The speeds the UI offers. */
export const SPEEDS = [0.25, 0.5, 1, 2, 4, 8] as const;

export interface PlaybackContext {
  /** Index of the current event (0 when there are none yet). */
  cursor: number;
  /** Number of events received so far. */
  length: number;
  /** True once the whole trace is in (TRACE_DONE). */
  complete: boolean;
  /** Events per BASE_TICK_MS. */
  speed: number;
}

export type PlaybackEvent =
  /** Start moving (from the start again when the cursor is at the end of a complete trace). */
  | { type: 'play' }
  | { type: 'pause' }
  /** play when not playing, pause when playing (the Space key). */
  | { type: 'toggle' }
  /** One event forward; stops playback. */
  | { type: 'step' }
  /** One event back; stops playback. */
  | { type: 'stepBack' }
  /** Back to the first event, not playing. */
  | { type: 'restart' }
  /** Jump to an event; playback continues if it was playing. Clamped to the known events. */
  | { type: 'seek'; index: number }
  /** Jump to the last known event and stop. */
  | { type: 'end' }
  | { type: 'setSpeed'; speed: number }
  /** Internal: the ticker's beat. */
  | { type: 'TICK' }
  /** Internal: a new run started; forget the old trace. */
  | { type: 'TRACE_RESET' }
  /** Internal: more events arrived. */
  | { type: 'TRACE_GROWN'; length: number }
  /** Internal: the trace is complete with `length` events. */
  | { type: 'TRACE_DONE'; length: number };

/** Sends TICK every `intervalMs` on the actor system's clock (a SimulatedClock in tests). A recursive
 *  timeout rather than setInterval because xstate's Clock interface only has setTimeout. */
const ticker = fromCallback<EventObject, { intervalMs: number }>(({ sendBack, input, system }) => {
  const clock = system._clock;
  let id: unknown;
  const beat = (): void => {
    id = clock.setTimeout(() => {
      sendBack({ type: 'TICK' });
      beat();
    }, input.intervalMs);
  };
  beat();
  return () => clock.clearTimeout(id);
});

const lastIndex = (c: PlaybackContext): number => Math.max(0, c.length - 1);
const clampIndex = (c: PlaybackContext, i: number): number =>
  Math.min(Math.max(0, Math.trunc(i)), lastIndex(c));

export const playbackMachine = setup({
  types: {
    context: {} as PlaybackContext,
    events: {} as PlaybackEvent,
    input: {} as { speed?: number } | undefined,
  },
  actors: { ticker },
  guards: {
    'has next event': ({ context }) => context.cursor < context.length - 1,
    'at the end of a complete trace': ({ context }) =>
      context.complete && context.cursor >= lastIndex(context),
  },
  actions: {
    'advance cursor': assign({ cursor: ({ context }) => clampIndex(context, context.cursor + 1) }),
    'move cursor back': assign({ cursor: ({ context }) => clampIndex(context, context.cursor - 1) }),
    'rewind cursor': assign({ cursor: 0 }),
    'seek cursor': assign({
      cursor: ({ context, event }) =>
        event.type === 'seek' ? clampIndex(context, event.index) : context.cursor,
    }),
    'cursor to last event': assign({ cursor: ({ context }) => lastIndex(context) }),
    'set speed': assign({
      speed: ({ context, event }) =>
        event.type === 'setSpeed' && Number.isFinite(event.speed) && event.speed > 0
          ? event.speed
          : context.speed,
    }),
    'forget trace': assign({ cursor: 0, length: 0, complete: false }),
    'record growth': assign({
      length: ({ context, event }) =>
        event.type === 'TRACE_GROWN' ? Math.max(context.length, event.length) : context.length,
    }),
    'record completion': assign({
      length: ({ context, event }) => (event.type === 'TRACE_DONE' ? event.length : context.length),
      complete: true,
      cursor: ({ context, event }) =>
        event.type === 'TRACE_DONE'
          ? Math.min(context.cursor, Math.max(0, event.length - 1))
          : context.cursor,
    }),
  },
}).createMachine({
  id: 'playback',
  context: ({ input }) => ({ cursor: 0, length: 0, complete: false, speed: input?.speed ?? 1 }),
  initial: 'idle',
  on: {
    TRACE_RESET: { target: '.idle', actions: 'forget trace' },
    TRACE_GROWN: { actions: 'record growth' },
    TRACE_DONE: { actions: 'record completion' },
    restart: { target: '.idle', actions: 'rewind cursor' },
    setSpeed: { actions: 'set speed' },
  },
  states: {
    idle: {
      on: {
        play: 'playing',
        toggle: 'playing',
        step: { target: 'paused', actions: 'advance cursor' },
        seek: { target: 'paused', actions: 'seek cursor' },
        end: { target: 'paused', actions: 'cursor to last event' },
      },
    },
    playing: {
      invoke: { src: 'ticker', input: ({ context }) => ({ intervalMs: BASE_TICK_MS / context.speed }) },
      always: { guard: 'at the end of a complete trace', target: 'finished' },
      on: {
        TICK: { guard: 'has next event', actions: 'advance cursor' },
        pause: 'paused',
        toggle: 'paused',
        step: { target: 'paused', actions: 'advance cursor' },
        stepBack: { target: 'paused', actions: 'move cursor back' },
        // Re-entering restarts the ticker, so the next beat is a full interval after the jump.
        seek: { target: 'playing', reenter: true, actions: 'seek cursor' },
        end: { target: 'paused', actions: 'cursor to last event' },
        setSpeed: { target: 'playing', reenter: true, actions: 'set speed' },
      },
    },
    paused: {
      always: { guard: 'at the end of a complete trace', target: 'finished' },
      on: {
        play: 'playing',
        toggle: 'playing',
        step: { actions: 'advance cursor' },
        stepBack: { actions: 'move cursor back' },
        seek: { actions: 'seek cursor' },
        end: { actions: 'cursor to last event' },
      },
    },
    finished: {
      on: {
        play: { target: 'playing', actions: 'rewind cursor' },
        toggle: { target: 'playing', actions: 'rewind cursor' },
        stepBack: { target: 'paused', actions: 'move cursor back' },
        seek: { target: 'paused', actions: 'seek cursor' },
      },
    },
  },
});

export type PlaybackMode = 'idle' | 'playing' | 'paused' | 'finished';
