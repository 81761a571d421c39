import { describe, expect, it } from 'vitest';
import { createAppStore } from '../store.ts';
import { shareStateOf, startFrom } from './appLink.ts';
import { fileStem, traceDocument } from './SharePanel.tsx';
import type { ShareState } from './urlState.ts';

const PRESETS = [
  { id: 'default', title: 'default', text: 'default text' },
  { id: 'three-tier', title: 'three-tier', text: 'three-tier text' },
];

describe('startFrom and shareStateOf', () => {
  it('starts on the default scenario for no link, and for a broken one with its message', () => {
    expect(startFrom({ kind: 'empty' }, PRESETS, 'default')).toEqual({
      init: { scenarioId: 'default', scenarioText: 'default text', walk: null, walkName: null },
      walk: { name: null },
      hop: null,
    });
    const broken = startFrom({ kind: 'error', message: 'bad' }, PRESETS, 'default');
    expect(broken.init).toMatchObject({ scenarioId: 'default', linkError: 'bad' });
    expect(broken.walk).toEqual({ name: null });
  });

  it.each<[string, ShareState]>([
    [
      'a preset and a named walk',
      {
        scenario: { kind: 'preset', id: 'three-tier' },
        walk: { kind: 'named', name: 'web-to-api' },
        overrides: { cni: 'flannel-host-gw' },
        seed: 3,
        hop: 5,
      },
    ],
    [
      'own text and a custom walk',
      {
        scenario: { kind: 'text', text: 'mine' },
        walk: { kind: 'custom', walk: { from: 'a', to: 'b:1', protocol: 'udp', size: 10 } },
        overrides: {},
        seed: null,
        hop: 0,
      },
    ],
  ])('a link opened and shared again is the same link: %s', (_, state) => {
    const start = startFrom({ kind: 'state', state }, PRESETS, 'default');
    const store = createAppStore(start.init);
    expect(shareStateOf(store.getState(), state.hop)).toEqual(state);
    expect(start.hop).toBe(state.hop);
  });

  it('carries the UI language when given one', () => {
    const store = createAppStore(startFrom({ kind: 'empty' }, PRESETS, 'default').init);
    expect(shareStateOf(store.getState(), 4, 'ko')).toMatchObject({ hop: 4, lang: 'ko' });
    expect(shareStateOf(store.getState(), 4)).not.toHaveProperty('lang');
  });

  it('passes the seed to the first walk', () => {
    const start = startFrom(
      {
        kind: 'state',
        state: { scenario: null, walk: { kind: 'named', name: 'w' }, overrides: {}, seed: 9, hop: null },
      },
      PRESETS,
      'default',
    );
    expect(start.walk).toEqual({ name: 'w', seed: 9 });
    expect(start.init.scenarioText).toBe('default text');
  });
});

describe('trace export', () => {
  it('is nothing until the run is done, then the summary without eventCount plus the events', () => {
    expect(traceDocument(null)).toBeNull();
    const run = { runId: 1, view: null, settings: null, events: [], done: null, error: null };
    expect(traceDocument(run)).toBeNull();
    const done = {
      version: 2 as const,
      from: 'a',
      to: 'b',
      flow: { protocol: 'tcp' as const, src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2 },
      seed: 1,
      legs: [],
      eventCount: 0,
    };
    const doc = traceDocument({ ...run, done });
    expect(doc).toEqual({ version: 2, from: 'a', to: 'b', flow: done.flow, seed: 1, legs: [], events: [] });
  });

  it('names files with letters, digits and dashes only', () => {
    expect(fileStem(['packet-walk', 'pod/default/db:3306', 'hop-4'])).toBe(
      'packet-walk-pod-default-db-3306-hop-4',
    );
    expect(fileStem(['../../etc/passwd'])).toBe('etc-passwd');
    expect(fileStem(['***'])).toBe('packet-walk');
  });
});
