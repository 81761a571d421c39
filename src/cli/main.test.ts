import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
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
    expect(trace.version).toBe(2);
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

  it('writes a walk as pcapng with -o: a Section Header Block, one packet per observed hop', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-cli-')), 'walk.pcapng');
    const r = await run('pcap', 'default', '--walk', 'pod-to-pod-same-node', '-o', file);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/walk\.pcapng: \d+ packets, \d+ bytes \(pcapng\)/);
    const bytes = readFileSync(file);
    expect(bytes.readUInt32LE(0)).toBe(0x0a0d0d0a);
    const icmp = await run(
      'pcap',
      'default',
      '--from',
      'client',
      '--to',
      'pod/default/web',
      '--protocol',
      'icmp',
      '-o',
      file,
    );
    expect(icmp.code).toBe(EXIT.ok);
  });

  it.each([
    [['pcap', 'default', '--walk', 'pod-to-pod-same-node'], 'pcap needs -o'],
    [
      ['pcap', 'default', '--from', 'client', '--to', 'web', '--protocol', 'gre', '-o', 'x.pcapng'],
      '--protocol must be',
    ],
    [['pcap', 'default', '-o', 'x.pcapng'], 'pcap needs --from and --to'],
  ])('pcap usage error %#', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain(message);
  });

  it("refuses lab --up and --down together, and the test suite's prefix", async () => {
    expect((await run('lab', 'default', '--up', '--down')).err).toContain('choose one');
    expect((await run('lab', 'default', '--up', '--prefix', 'pwk')).err).toContain('reserved');
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

describe('packet-walk reachability', () => {
  /** The table's row for `from`, its marks only. */
  const rowOf = (out: string, from: string) =>
    out
      .split('\n')
      .find((l) => l.startsWith(`${from} `))
      ?.split(/\s+/)
      .slice(1);

  it('prints the three-tier truth table for a port: who reaches the db on 5432', async () => {
    const r = await run('reachability', 'three-tier', '--port', '5432');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain('# 7 pods');
    expect(r.out).toContain('5432/TCP: 11 allowed, 38 denied');
    // Columns: frontend-1, frontend-2, backend-1, backend-2, db-0, then the two CoreDNS pods.
    expect(rowOf(r.out, 'shop/frontend-1')).toEqual(['.', 'X', 'X', 'X', 'X', 'X', 'X']);
    expect(rowOf(r.out, 'shop/backend-1')).toEqual(['X', 'X', '.', 'X', '.', 'X', 'X']);
    expect(rowOf(r.out, 'shop/db-0')).toEqual(['X', 'X', 'X', 'X', '.', 'X', 'X']);
  });

  it('probes each pod on its own ports by default, filtered by --protocol', async () => {
    const r = await run('reachability', 'three-tier', '--protocol', 'udp');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out.match(/^\d+\/\w+: /gm)).toEqual(['53/UDP: ']);
    // The frontend's egress policy forgot DNS; the backend's allows it.
    expect(rowOf(r.out, 'shop/frontend-1')).toEqual(['X', 'X']);
    expect(rowOf(r.out, 'shop/backend-2')).toEqual(['.', '.']);
  });

  it('prints the matrix with every verdict as JSON', async () => {
    const r = await run('reachability', 'three-tier', '--port', '8080', '--json');
    expect(r.code).toBe(EXIT.ok);
    const m = JSON.parse(r.out) as {
      pods: string[];
      tables: {
        probe: { protocol: string; port: number };
        from: string[];
        to: string[];
        cells: {
          allowed: boolean;
          reason: string;
          ingress: { allowedBy: { policy: string } | null } | null;
        }[][];
      }[];
    };
    expect(m.tables.map((t) => t.probe)).toEqual([{ protocol: 'TCP', port: 8080 }]);
    const t = m.tables[0]!;
    const cell = t.cells[t.from.indexOf('shop/frontend-2')]![t.to.indexOf('shop/backend-1')]!;
    expect(cell.allowed).toBe(true);
    expect(cell.ingress?.allowedBy?.policy).toBe('shop/backend-allow-frontend');
    const denied = t.cells[t.from.indexOf('shop/db-0')]![t.to.indexOf('shop/backend-1')]!;
    expect(denied.allowed).toBe(false);
    expect(denied.reason).toContain('shop/default-deny');
  });

  it('rejects bad options and reports a bad policy with its field', async () => {
    for (const [argv, message] of [
      [['--port', '0'], '--port takes port numbers 1-65535'],
      [['--port', '80,x'], '--port takes port numbers 1-65535'],
      [['--protocol', 'icmp'], '--protocol must be tcp or udp'],
    ] as const) {
      const r = await run('reachability', 'three-tier', ...argv);
      expect(r.code).toBe(EXIT.usage);
      expect(r.err).toContain(message);
    }
    const dir = mkdtempSync(join(tmpdir(), 'pw-cli-'));
    const bad = join(dir, 'bad-policy.yaml');
    writeFileSync(
      bad,
      'apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: 192.168.1.11}]}\n' +
        '---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{ports: [{port: 90, endPort: 80}]}]}\n',
    );
    const r = await run('reachability', bad);
    expect(r.code).toBe(EXIT.invalidScenario);
    expect(r.err).toContain(
      'document 2 (NetworkPolicy default/p), line 9: spec.ingress[0].ports[0].endPort: must be greater than or equal to port (90)',
    );
  });
});

describe('packet-walk dig', () => {
  it('asks the cluster DNS for a name as given and prints what dig prints', async () => {
    const r = await run('dig', 'default', 'db-service.default.svc.cluster.local');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain(';; ->>HEADER<<- opcode: QUERY, status: NOERROR');
    expect(r.out).toMatch(
      /;; ANSWER SECTION:\ndb-service\.default\.svc\.cluster\.local\.\s+30\s+IN\s+A\s+10\.96\.\d+\.\d+/,
    );
    expect(r.out).toContain(';; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)');
  });

  it('with --from, shows the pod’s resolv.conf and every search-list attempt', async () => {
    const r = await run('dig', 'default', 'example.com', '--from', 'pod/default/client');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain(';   search default.svc.cluster.local svc.cluster.local cluster.local');
    expect(r.out).toMatch(/example\.com\.default\.svc\.cluster\.local\.\s+NXDOMAIN/);
    expect(r.out).toMatch(/example\.com\.\s+NOERROR \(1 answer\)\s+\[forwarded to 203\.0\.113\.53\]/);
  });

  it('SRV for a named port; NXDOMAIN exits 1; JSON on request', async () => {
    const srv = await run('dig', 'default', '_mysql._tcp.db-service.default.svc.cluster.local', 'SRV');
    expect(srv.out).toMatch(/SRV\s+0 100 3306 db-service\.default\.svc\.cluster\.local\./);
    const nx = await run('dig', 'default', 'nope.default.svc.cluster.local', '--json');
    expect(nx.code).toBe(EXIT.notDelivered);
    const parsed = JSON.parse(nx.out) as { attempts: { response: { rcode: string } }[] };
    expect(parsed.attempts.map((a) => a.response.rcode)).toEqual(['NXDOMAIN']);
  });

  it.each([
    [['dig', 'default'], 'dig takes a scenario, a name'],
    [['dig', 'default', 'db', 'MX'], 'type must be one of'],
    [['dig', 'default', `${'a'.repeat(64)}.example`], 'at most 63'],
    [['dig', 'default', 'db', '--from', 'pod/default/nobody'], 'no pod'],
  ])('%j → a clear error', async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).not.toBe(EXIT.ok);
    expect(r.err).toContain(message);
  });
});
