import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from './main.ts';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe('packet-walk CLI', () => {
  it('traces a named walk of the built-in default cluster', async () => {
    const r = await run('trace', 'default', '--walk', 'pod-to-pod-cross-node');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain('out flannel.1');
    expect(r.out).toContain('result request: delivered, reply: delivered');
  });

  it('traces --from/--to and prints JSON with --json', async () => {
    const r = await run('trace', 'default', '--from', 'client', '--to', '10.244.1.3:80', '--json');
    expect(r.code).toBe(EXIT.ok);
    const trace = JSON.parse(r.out) as { version: number; legs: { verdict: { kind: string } }[] };
    expect(trace.version).toBe(1);
    expect(trace.legs.map((l) => l.verdict.kind)).toEqual(['delivered', 'delivered']);
  });

  it('exits 1 when the packet is not delivered', async () => {
    const r = await run('trace', 'default', '--from', 'node/node-1', '--to', '10.250.0.1:80');
    expect(r.code).toBe(EXIT.notDelivered);
    expect(r.out).toContain('VERDICT unreachable');
  });

  it.each([
    [['trace', 'default', '--from', 'client'], 'needs --from and --to'],
    [
      ['trace', 'default', '--from', 'client', '--to', '10.0.0.1:1', '--proto', 'sctp'],
      '--proto must be tcp, udp or icmp',
    ],
    [
      ['trace', 'default', '--from', 'client', '--to', '10.0.0.1:1', '--seed', 'x3'],
      '--seed must be a whole number',
    ],
    [['frobnicate', 'default'], 'unknown command'],
    [[], 'Usage:'],
  ])('usage error %#', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain(message);
  });

  it('prints the lab script: the same ops as the engine, inside prefixed namespaces', async () => {
    const r = await run('lab', 'default', '--prefix', 'demo');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/^#!\/bin\/sh/);
    expect(r.out).toContain('ip netns add demo-');
    expect(r.out).toContain('type vxlan id 1');
    expect(r.out).toContain('nud permanent');
    expect((await run('lab', 'default', '--prefix', 'Bad Prefix')).code).toBe(EXIT.usage);
  });

  it('names an unknown pod', async () => {
    const r = await run('trace', 'default', '--from', 'pod/default/nope', '--to', '10.244.1.3:80');
    expect(r.code).toBe(EXIT.badWalk);
    expect(r.err).toContain('"pod/default/nope" is not a pod, service, node, host or IPv4 address');
  });

  it('validates a scenario and reports every error with its place', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.244.1.0/24}\nstatus: {addresses: [{type: InternalIP, address: 192.168.1.300}]}\n',
    );
    const r = await run('validate', bad);
    expect(r.code).toBe(EXIT.invalidScenario);
    expect(r.err).toContain('192.168.1.300');
    expect((await run('validate', 'default')).code).toBe(EXIT.ok);
    expect((await run('validate', join(dir, 'missing.yaml'))).code).toBe(EXIT.invalidScenario);
  });
});
