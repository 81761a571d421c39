import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../scenario/parse.ts';
import { applyOverrides, settingsOf } from './overrides.ts';

const SCENARIO = readFileSync(new URL('../scenario/presets/default.yaml', import.meta.url), 'utf8');

function model() {
  const parsed = parseScenario(SCENARIO);
  if (!parsed.ok) throw new Error('default scenario does not parse');
  return parsed.model;
}

describe('applyOverrides', () => {
  it('with no overrides is the model itself, and reports its settings', () => {
    const m = model();
    const r = applyOverrides(m, {});
    expect(r.kind).toBe('applied');
    if (r.kind !== 'applied') return;
    expect(r.model).toBe(m);
    expect(r.settings.scenario).toEqual(r.settings.effective);
    expect(settingsOf(m)).toEqual({
      cni: 'flannel-vxlan',
      kubeProxyMode: 'iptables',
      externalTrafficPolicy: { 'default/web': 'Cluster', 'default/web-local': 'Local' },
    });
  });

  it('changes only what it is asked to, and never the input', () => {
    const m = model();
    const before = structuredClone(m);
    const r = applyOverrides(m, {
      cni: 'bridge-router',
      kubeProxyMode: 'ipvs',
      externalTrafficPolicy: { 'default/web': 'Local' },
    });
    expect(m).toEqual(before);
    if (r.kind !== 'applied') throw new Error(r.message);
    expect(r.model.cni).toBe('bridge-router');
    expect(r.model.extra.kubeProxy?.mode).toBe('ipvs');
    expect(r.model.services.find((s) => s.name === 'web')?.externalTrafficPolicy).toBe('Local');
    expect(r.model.services.find((s) => s.name === 'web-local')?.externalTrafficPolicy).toBe('Local');
    expect(r.model.nodes).toBe(m.nodes);
    expect(r.settings.scenario.cni).toBe('flannel-vxlan');
    expect(r.settings.effective).toMatchObject({ cni: 'bridge-router', kubeProxyMode: 'ipvs' });
  });

  it('refuses bridge-router without a gateway', () => {
    const r = applyOverrides({ ...model(), gateway: null }, { cni: 'bridge-router' });
    expect(r).toMatchObject({ kind: 'refused', message: expect.stringMatching(/needs a gateway/) });
  });
});
