// The lab script (src/engine/lab.ts) without a kernel: every command stays inside the lab's namespaces,
// every engine device gets its deterministic MAC, and every op is explained by a comment.
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/engine/index.ts';
import { formatLabScript, labScript } from '../../src/engine/lab.ts';
import { CNI_MODES, type CniMode } from '../../src/scenario/model.ts';
import { threeNodes } from '../fixtures/models.ts';
import { assertConfined } from './kernel.ts';

describe('labScript', () => {
  for (const cni of Object.keys(CNI_MODES) as CniMode[]) {
    it(`${cni}: confined to the lab's namespaces, one comment per op, every MAC set`, () => {
      const world = buildWorld(threeNodes(cni));
      const script = labScript(world, { prefix: 'pwk-test' });
      expect(() => assertConfined(script, 'pwk-test')).not.toThrow();
      const text = script.up.join('\n');
      const all = world.allNetns();
      for (const ns of all) {
        expect(script.namespaces).toContain(script.nsName(ns.id));
        for (const op of ns.ops) expect(text).toContain(`# ${op.why}`);
        for (const dev of ns.devices.values())
          if (dev.kind !== 'loopback') expect(text).toContain(`address ${dev.mac}`);
      }
      // One namespace per engine namespace plus one switch per segment, all distinct, all removed by `down`.
      expect(new Set(script.namespaces).size).toBe(all.length + world.plan.segments.size);
      expect(script.down).toEqual([...script.namespaces].reverse().map((n) => `ip netns del ${n}`));
      expect(formatLabScript(script)).toMatch(/^#!\/bin\/sh\n/);
    });
  }

  it('names namespaces readably and refuses an unsafe prefix', () => {
    const script = labScript(buildWorld(threeNodes()), { prefix: 'pwk-ab' });
    expect(script.nsName('node/node-1')).toBe('pwk-ab-node-1');
    expect(script.nsName('pod/default/client')).toBe('pwk-ab-default.client');
    expect(script.nsName('host/gateway')).toBe('pwk-ab-gateway');
    expect(script.switches.get('node-network')).toBe('pwk-ab-sw-node-network');
    expect(() => labScript(buildWorld(threeNodes()), { prefix: 'pwk; rm -rf /' })).toThrow(/prefix/);
  });

  it('the confinement check rejects commands outside the lab', () => {
    const script = labScript(buildWorld(threeNodes()), { prefix: 'pwk-x' });
    const bad = (line: string) => () => assertConfined({ ...script, up: [...script.up, line] }, 'pwk-x');
    expect(bad('ip link add foo type veth')).toThrow(/outside the lab/);
    expect(bad('ip -n pwk-x-node-1 link add a type veth peer name b netns other')).toThrow(/out of the lab/);
    expect(bad('ip netns exec pwk-x-node-1 sh -c reboot')).toThrow(/outside the lab/);
    expect(bad('ip -n pwk-x-node-1 link set eth0 up; ip link del eth0')).toThrow(/outside the lab/);
  });
});
