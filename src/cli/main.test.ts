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

  it("prints what a node's iptables holds: kubelet, kube-proxy and flannel chains", async () => {
    const r = await run('iptables-save', 'default', '--node', 'node-1');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/^\*filter$/m);
    expect(r.out).toContain('-A KUBE-SERVICES -m comment --comment "default/db-service:mysql cluster IP"');
    expect(r.out).toContain(':FLANNEL-POSTRTG - [0:0]');
    expect((await run('iptables-save', 'default', '--node', 'nope')).code).toBe(EXIT.badWalk);
    expect((await run('iptables-save', 'default')).code).toBe(EXIT.usage);
  });

  it("traces a packet through a node's rules, every random branch with --all-branches", async () => {
    const r = await run(
      'iptables-trace',
      'default',
      '--node',
      'node-1',
      '--src',
      '10.244.1.2',
      '--dst',
      'svc-ip-placeholder',
    );
    expect(r.code).toBe(EXIT.usage);
    const save = await run('iptables-save', 'default', '--node', 'node-1');
    const vip = /-d (\S+) --dport 80 -j KUBE-SVC/.exec(save.out)?.[1];
    expect(vip).toBeDefined();
    const all = await run(
      'iptables-trace',
      'default',
      '--node',
      'node-1',
      '--src',
      '10.244.1.2',
      '--dst',
      `${vip}:80`,
      '--all-branches',
    );
    expect(all.code).toBe(EXIT.ok);
    expect(all.out).toContain('branch 1 (probability 0.5000)');
    expect(all.out).toContain('DNAT to 10.244.1.3:80');
    expect(all.out).toContain('DNAT to 10.244.3.2:80');
    const one = await run(
      'iptables-trace',
      'default',
      '--node',
      'node-1',
      '--src',
      '10.244.1.2',
      '--dst',
      `${vip}:80`,
    );
    expect(one.out).not.toContain('branch');
    expect(one.out).toMatch(/=> ACCEPT via FORWARD, DNAT to 10\.244\.(1\.3|3\.2):80/);
  });

  it('traces a packet through a pasted iptables-save file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-cli-'));
    const file = join(dir, 'node.rules');
    writeFileSync(
      file,
      '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.2.5:53\nCOMMIT\n',
    );
    const r = await run(
      'iptables-trace',
      file,
      '--src',
      '10.244.1.2',
      '--dst',
      '10.96.0.10:53',
      '--proto',
      'udp',
    );
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain('DNAT to 10.244.2.5:53');
  });

  it('prints what kube-proxy in ipvs mode would program on a node', async () => {
    const r = await run('ipvsadm', 'default', '--node', 'node-2');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain('# ip addr show kube-ipvs0');
    expect(r.out).toContain('IP Virtual Server version 1.2.1');
    expect(r.out).toMatch(/TCP {2}10\.\d+\.\d+\.\d+:3306 rr\n {2}-> 10\.244\.2\.2:3306 +Masq/);
    expect((await run('ipvsadm', 'default')).code).toBe(EXIT.usage);
  });

  it("pins kube-proxy's random endpoint choice with --pin", async () => {
    for (const pin of ['10.244.1.3:80', '10.244.3.2:80']) {
      const r = await run('trace', 'default', '--from', 'client', '--to', 'svc/default/web:80', '--pin', pin);
      expect(r.out).toContain(`DNAT dst `);
      expect(r.out).toContain(`→ ${pin}`);
    }
    expect(
      (await run('trace', 'default', '--from', 'client', '--to', 'svc/default/web:80', '--pin', 'web')).code,
    ).toBe(EXIT.usage);
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
