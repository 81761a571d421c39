// `packet-walk lab --up / --down` for real (root, Linux; skipped with the reason otherwise): the lab's
// namespaces exist after --up, a pod in it reaches a pod on another node over the real VXLAN, and after
// --down every one of them is gone. A unique prefix per run; whatever happens, the finally block deletes
// every namespace of that prefix and the owner file.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, main } from '../../src/cli/main.ts';
import { listNetns, OWNER_DIR } from '../../src/cli/lab.ts';
import { canRunKernelLab } from './kernel.ts';

const can = canRunKernelLab();
if (!can.ok) console.warn(can.reason.replace('kernel conformance', 'lab --up/--down'));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe.skipIf(!can.ok)('packet-walk lab --up / --down (root)', () => {
  it('builds the default cluster in namespaces of its prefix, then removes exactly those', async () => {
    // 8 characters at most: "pwu" and 5 base-36 digits from the pid and the clock.
    const prefix = `pwu${((process.pid * 7919 + Date.now()) % 36 ** 5).toString(36).padStart(5, '0')}`;
    const mine = (): string[] => listNetns().filter((n) => n.startsWith(`${prefix}-`));
    try {
      expect(mine()).toEqual([]);
      const up = await run('lab', 'default', '--up', '--prefix', prefix);
      expect(up.err).toBe('');
      expect(up.code).toBe(EXIT.ok);
      expect(up.out).toContain(`ip netns exec ${prefix}-default.client bash`);
      expect(existsSync(join(OWNER_DIR, `${prefix}.json`))).toBe(true);
      const built = mine();
      expect(built).toContain(`${prefix}-default.client`);
      expect(built).toContain(`${prefix}-node-2`);
      expect(built.length).toBeGreaterThan(10);

      // The lab is a working cluster network: client on node-1 pings db on node-2 through flannel.1.
      const ping = spawnSync(
        'ip',
        ['netns', 'exec', `${prefix}-default.client`, 'ping', '-n', '-c', '1', '-W', '2', '10.244.2.2'],
        { encoding: 'utf8' },
      );
      expect(ping.stdout).toContain('1 received');

      // A second --up with the same prefix is refused; the lab is untouched.
      const again = await run('lab', 'default', '--up', '--prefix', prefix);
      expect(again.code).not.toBe(EXIT.ok);
      expect(again.err).toContain('is up already');
      expect(mine()).toEqual(built);

      const down = await run('lab', 'default', '--down', '--prefix', prefix);
      expect(down.code).toBe(EXIT.ok);
      expect(down.out).toContain(`${built.length} network namespaces deleted`);
      expect(mine()).toEqual([]);
      expect(existsSync(join(OWNER_DIR, `${prefix}.json`))).toBe(false);
    } finally {
      for (const ns of mine()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      rmSync(join(OWNER_DIR, `${prefix}.json`), { force: true });
    }
    expect(mine()).toEqual([]);
  }, 120_000);

  it('refuses --down for a prefix it did not build, and deletes nothing', async () => {
    const r = await run('lab', 'default', '--down', '--prefix', 'pwnone');
    expect(r.code).not.toBe(EXIT.ok);
    expect(r.err).toContain('no lab with prefix "pwnone" is up');
  });
});
