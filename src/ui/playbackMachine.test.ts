import { describe, expect, it } from 'vitest';
import { SimulatedClock, createActor } from 'xstate';
import { BASE_TICK_MS, playbackMachine } from './playbackMachine.ts';

function start(opts: { length?: number; complete?: boolean } = {}) {
  const clock = new SimulatedClock();
  const actor = createActor(playbackMachine, { clock }).start();
  const { length = 5, complete = true } = opts;
  if (length > 0) actor.send({ type: complete ? 'TRACE_DONE' : 'TRACE_GROWN', length });
  const state = () => {
    const s = actor.getSnapshot();
    return { mode: s.value, cursor: s.context.cursor };
  };
  return { clock, actor, state };
}

describe('playbackMachine', () => {
  it('starts idle at the first event', () => {
    const { state } = start();
    expect(state()).toEqual({ mode: 'idle', cursor: 0 });
  });

  it('plays one event per tick and finishes at the last event', () => {
    const { clock, actor, state } = start({ length: 3 });
    actor.send({ type: 'play' });
    expect(state()).toEqual({ mode: 'playing', cursor: 0 });
    clock.increment(BASE_TICK_MS - 1);
    expect(state().cursor).toBe(0);
    clock.increment(1);
    expect(state()).toEqual({ mode: 'playing', cursor: 1 });
    clock.increment(BASE_TICK_MS);
    expect(state()).toEqual({ mode: 'finished', cursor: 2 });
    clock.increment(BASE_TICK_MS * 10);
    expect(state()).toEqual({ mode: 'finished', cursor: 2 });
  });

  it('pauses and resumes without moving the cursor', () => {
    const { clock, actor, state } = start();
    actor.send({ type: 'play' });
    clock.increment(BASE_TICK_MS);
    actor.send({ type: 'pause' });
    clock.increment(BASE_TICK_MS * 5);
    expect(state()).toEqual({ mode: 'paused', cursor: 1 });
    actor.send({ type: 'toggle' });
    clock.increment(BASE_TICK_MS);
    expect(state()).toEqual({ mode: 'playing', cursor: 2 });
    actor.send({ type: 'toggle' });
    expect(state().mode).toBe('paused');
  });

  it.each([
    { name: 'step from idle', events: [{ type: 'step' }], expected: { mode: 'paused', cursor: 1 } },
    {
      name: 'step back at the start stays',
      events: [{ type: 'stepBack' }],
      expected: { mode: 'idle', cursor: 0 },
    },
    {
      name: 'step then step back',
      events: [{ type: 'step' }, { type: 'step' }, { type: 'stepBack' }],
      expected: { mode: 'paused', cursor: 1 },
    },
    {
      name: 'step to the last event finishes',
      events: Array(4).fill({ type: 'step' }),
      expected: { mode: 'finished', cursor: 4 },
    },
    {
      name: 'step past the end is clamped',
      events: Array(9).fill({ type: 'step' }),
      expected: { mode: 'finished', cursor: 4 },
    },
    { name: 'seek', events: [{ type: 'seek', index: 2 }], expected: { mode: 'paused', cursor: 2 } },
    {
      name: 'seek is clamped',
      events: [{ type: 'seek', index: -3 }],
      expected: { mode: 'paused', cursor: 0 },
    },
    {
      name: 'seek to the end finishes',
      events: [{ type: 'seek', index: 99 }],
      expected: { mode: 'finished', cursor: 4 },
    },
    { name: 'end', events: [{ type: 'end' }], expected: { mode: 'finished', cursor: 4 } },
    {
      name: 'step back from finished',
      events: [{ type: 'end' }, { type: 'stepBack' }],
      expected: { mode: 'paused', cursor: 3 },
    },
    {
      name: 'restart from finished',
      events: [{ type: 'end' }, { type: 'restart' }],
      expected: { mode: 'idle', cursor: 0 },
    },
    {
      name: 'play from finished starts over',
      events: [{ type: 'end' }, { type: 'play' }],
      expected: { mode: 'playing', cursor: 0 },
    },
  ] as const)('$name', ({ events, expected }) => {
    const { actor, state } = start();
    for (const e of events) actor.send(e);
    expect(state()).toEqual(expected);
  });

  it('seeking while playing keeps playing and restarts the beat', () => {
    const { clock, actor, state } = start({ length: 10 });
    actor.send({ type: 'play' });
    clock.increment(BASE_TICK_MS / 2);
    actor.send({ type: 'seek', index: 5 });
    clock.increment(BASE_TICK_MS / 2);
    expect(state()).toEqual({ mode: 'playing', cursor: 5 });
    clock.increment(BASE_TICK_MS / 2);
    expect(state()).toEqual({ mode: 'playing', cursor: 6 });
  });

  it('step while playing stops playback', () => {
    const { clock, actor, state } = start();
    actor.send({ type: 'play' });
    actor.send({ type: 'step' });
    clock.increment(BASE_TICK_MS * 3);
    expect(state()).toEqual({ mode: 'paused', cursor: 1 });
  });

  it('changes the tick interval with the speed, also while playing', () => {
    const { clock, actor, state } = start({ length: 20 });
    actor.send({ type: 'setSpeed', speed: 2 });
    actor.send({ type: 'play' });
    // SimulatedClock jumps: one increment fires each pending timeout at most once, so step per beat.
    clock.increment(BASE_TICK_MS / 2);
    clock.increment(BASE_TICK_MS / 2);
    expect(state().cursor).toBe(2);
    actor.send({ type: 'setSpeed', speed: 0.5 });
    clock.increment(BASE_TICK_MS);
    expect(state().cursor).toBe(2);
    clock.increment(BASE_TICK_MS);
    expect(state().cursor).toBe(3);
    expect(actor.getSnapshot().context.speed).toBe(0.5);
  });

  it('ignores nonsense speeds', () => {
    const { actor } = start();
    actor.send({ type: 'setSpeed', speed: 0 });
    actor.send({ type: 'setSpeed', speed: Number.NaN });
    actor.send({ type: 'setSpeed', speed: -1 });
    expect(actor.getSnapshot().context.speed).toBe(1);
  });

  it('waits at the last known event while the trace streams in', () => {
    const { clock, actor, state } = start({ length: 2, complete: false });
    actor.send({ type: 'play' });
    clock.increment(BASE_TICK_MS * 5);
    expect(state()).toEqual({ mode: 'playing', cursor: 1 });
    actor.send({ type: 'TRACE_GROWN', length: 3 });
    clock.increment(BASE_TICK_MS);
    expect(state()).toEqual({ mode: 'playing', cursor: 2 });
    actor.send({ type: 'TRACE_DONE', length: 3 });
    expect(state()).toEqual({ mode: 'finished', cursor: 2 });
  });

  it('can play before any event has arrived', () => {
    const { clock, actor, state } = start({ length: 0 });
    actor.send({ type: 'play' });
    clock.increment(BASE_TICK_MS * 3);
    expect(state()).toEqual({ mode: 'playing', cursor: 0 });
    actor.send({ type: 'TRACE_GROWN', length: 4 });
    clock.increment(BASE_TICK_MS);
    expect(state().cursor).toBe(1);
  });

  it('forgets the trace on TRACE_RESET, stopping the ticker', () => {
    const { clock, actor, state } = start();
    actor.send({ type: 'play' });
    clock.increment(BASE_TICK_MS * 2);
    actor.send({ type: 'TRACE_RESET' });
    expect(state()).toEqual({ mode: 'idle', cursor: 0 });
    expect(actor.getSnapshot().context).toMatchObject({ length: 0, complete: false });
    actor.send({ type: 'TRACE_DONE', length: 4 });
    clock.increment(BASE_TICK_MS * 3);
    expect(state()).toEqual({ mode: 'idle', cursor: 0 });
  });

  it('TRACE_DONE with fewer events than the cursor clamps it', () => {
    const { actor, state } = start({ length: 6, complete: false });
    actor.send({ type: 'seek', index: 5 });
    actor.send({ type: 'TRACE_DONE', length: 3 });
    expect(state()).toEqual({ mode: 'finished', cursor: 2 });
  });
});
