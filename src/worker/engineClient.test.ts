import { describe, expect, it } from 'vitest';
import { createEngineClient, type WorkerLike } from './engineClient.ts';
import { PROTOCOL_VERSION, type ToMain, type ToWorker, type WalkRequest } from './protocol.ts';

/** A Worker stand-in: records what the client posts and lets the test play the worker's part. */
class FakeWorker implements WorkerLike {
  readonly posted: ToWorker[] = [];
  terminated = false;
  private readonly handlers = new Map<string, ((e: Event) => void)[]>();

  postMessage(message: ToWorker): void {
    this.posted.push(structuredClone(message));
  }
  addEventListener(type: string, listener: (event: Event) => void): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), listener]);
  }
  terminate(): void {
    this.terminated = true;
  }
  /** The worker posts `data` to the page. */
  emit(data: unknown): void {
    for (const h of this.handlers.get('message') ?? []) h({ data } as MessageEvent);
  }
  fail(message: string): void {
    for (const h of this.handlers.get('error') ?? []) h({ message } as unknown as Event);
  }
}

const WALK: WalkRequest = { from: 'pod/default/client', to: 'pod/default/db:3306', protocol: 'tcp' };
const v = PROTOCOL_VERSION;

function setup() {
  const fake = new FakeWorker();
  let created = 0;
  const client = createEngineClient(() => {
    created++;
    return fake;
  });
  const got: ToMain[] = [];
  client.subscribe((m) => got.push(m));
  return { fake, client, got, created: () => created };
}

describe('createEngineClient', () => {
  it('creates the worker lazily, once', () => {
    const { client, created } = setup();
    expect(created()).toBe(0);
    client.run('a', WALK);
    client.run('b', WALK);
    expect(created()).toBe(1);
  });

  it('posts a versioned run with a fresh runId each time, cancelling the previous run', () => {
    const { fake, client } = setup();
    const r1 = client.run('text-1', WALK);
    const r2 = client.run('text-2', WALK);
    expect(r2).toBeGreaterThan(r1);
    expect(fake.posted).toEqual([
      { type: 'run', v, runId: r1, scenarioText: 'text-1', walk: WALK, overrides: {} },
      { type: 'cancel', v, runId: r1 },
      { type: 'run', v, runId: r2, scenarioText: 'text-2', walk: WALK, overrides: {} },
    ]);
  });

  it('carries the overrides in the run message', () => {
    const { fake, client } = setup();
    const overrides = { cni: 'flannel-host-gw', externalTrafficPolicy: { 'default/web': 'Local' } } as const;
    client.run('t', { name: 'w', seed: 9 }, overrides);
    expect(fake.posted[0]).toEqual({
      type: 'run',
      v,
      runId: 1,
      scenarioText: 't',
      walk: { name: 'w', seed: 9 },
      overrides,
    });
  });

  it('delivers messages of the current run and drops those of stale runs', () => {
    const { fake, client, got } = setup();
    const r1 = client.run('one', WALK);
    const r2 = client.run('two', WALK);
    fake.emit({ type: 'events', v, runId: r1, events: [] });
    fake.emit({ type: 'events', v, runId: r2, events: [] });
    fake.emit({ type: 'done', v, runId: r1, trace: {} });
    expect(got.map((m) => [m.type, m.runId])).toEqual([['events', r2]]);
  });

  it('drops everything after done, and after cancel', () => {
    const { fake, client, got } = setup();
    const r1 = client.run('one', WALK);
    fake.emit({ type: 'done', v, runId: r1, trace: {} });
    fake.emit({ type: 'events', v, runId: r1, events: [] });
    expect(got.map((m) => m.type)).toEqual(['done']);
    expect(client.currentRunId()).toBeNull();

    const r2 = client.run('two', WALK);
    client.cancel();
    expect(fake.posted.at(-1)).toEqual({ type: 'cancel', v, runId: r2 });
    fake.emit({ type: 'world', v, runId: r2, view: {} });
    expect(got).toHaveLength(1);
  });

  it('ignores foreign messages', () => {
    const { fake, client, got } = setup();
    client.run('one', WALK);
    fake.emit('hello');
    fake.emit({ type: 'events' });
    fake.emit(null);
    expect(got).toEqual([]);
  });

  it('turns a version mismatch of the current run into an error', () => {
    const { fake, client, got } = setup();
    const r1 = client.run('one', WALK);
    fake.emit({ type: 'events', v: v + 1, runId: r1, events: [] });
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: 'error', runId: r1 });
    expect(client.currentRunId()).toBeNull();
  });

  it('turns a worker crash into an error for the current run', () => {
    const { fake, client, got } = setup();
    const r1 = client.run('one', WALK);
    fake.fail('SyntaxError: bad module');
    expect(got).toEqual([
      { type: 'error', v, runId: r1, message: 'The engine worker failed: SyntaxError: bad module.' },
    ]);
  });

  it('unsubscribes and disposes', () => {
    const { fake, client, got } = setup();
    const other: ToMain[] = [];
    const off = client.subscribe((m) => other.push(m));
    const r1 = client.run('one', WALK);
    off();
    fake.emit({ type: 'world', v, runId: r1, view: {} });
    expect(other).toEqual([]);
    expect(got).toHaveLength(1);
    client.dispose();
    expect(fake.terminated).toBe(true);
    expect(() => client.run('two', WALK)).toThrow(/disposed/);
  });

  it('validates one text at a time: a newer request replaces the waiting one, which resolves null', async () => {
    const { fake, client, got } = setup();
    const r1 = client.run('one', WALK);
    const first = client.validate('a');
    const second = client.validate('b');
    const third = client.validate('c');
    expect(fake.posted.filter((m) => m.type === 'validate')).toEqual([
      { type: 'validate', v, runId: 1, scenarioText: 'a' },
    ]);
    expect(await second).toBeNull();
    fake.emit({ type: 'validated', v, runId: 1, ok: true, issues: [], walks: ['w'] });
    expect(await first).toEqual({ ok: true, issues: [], walks: ['w'] });
    // The newest waiting one went out when the first was answered; the run was not disturbed.
    expect(fake.posted.at(-1)).toEqual({ type: 'validate', v, runId: 2, scenarioText: 'c' });
    fake.emit({ type: 'validated', v, runId: 2, ok: false, issues: [], walks: [] });
    expect(await third).toMatchObject({ ok: false });
    expect(got).toEqual([]);
    expect(client.currentRunId()).toBe(r1);
  });

  it('resolves validations with null when the worker fails', async () => {
    const { fake, client } = setup();
    const pending = client.validate('a');
    fake.fail('boom');
    expect(await pending).toBeNull();
  });

  it('exports the last finished run and hands each answer to its request, whatever run is current', async () => {
    const { fake, client } = setup();
    await expect(client.exportRun('pcapng')).rejects.toThrow('has not finished');
    const r1 = client.run('a', WALK);
    const summary = {
      version: 1,
      from: 'a',
      to: 'b',
      flow: { protocol: 'tcp', src: '', dst: '', sport: 1, dport: 2 },
    };
    fake.emit({ type: 'done', v, runId: r1, trace: { ...summary, seed: 1, legs: [], eventCount: 0 } });
    const pcap = client.exportRun('pcapng');
    const lab = client.exportRun('lab-script');
    const [p1, p2] = fake.posted.filter((m) => m.type === 'export');
    expect(p1).toMatchObject({ type: 'export', v, runId: r1, format: 'pcapng' });
    expect(p2).toMatchObject({ type: 'export', v, runId: r1, format: 'lab-script' });
    if (p1?.type !== 'export' || p2?.type !== 'export') throw new Error('no export posted');
    // Answers in the other order; the run is long done (current is null), still delivered.
    fake.emit({
      type: 'export-failed',
      v,
      runId: r1,
      requestId: p2.requestId,
      message: 'no IPVS in the lab',
    });
    fake.emit({
      type: 'exported',
      v,
      runId: r1,
      requestId: p1.requestId,
      format: 'pcapng',
      contents: Uint8Array.of(1),
    });
    await expect(pcap).resolves.toEqual(Uint8Array.of(1));
    await expect(lab).rejects.toThrow('no IPVS in the lab');
    // A new run forgets the finished one.
    client.run('b', WALK);
    await expect(client.exportRun('pcapng')).rejects.toThrow('has not finished');
  });
});
