// The cluster toggles: CNI mode, kube-proxy mode, each LoadBalancer/NodePort Service's
// externalTrafficPolicy, and the seed. A change re-runs the walk with the change as an override (the worker
// applies it to the scenario's model), and the line below says how the path compares with before.
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CNI_MODES, type CniMode } from '../../scenario/model.ts';
import type { KubeProxyMode, Overrides, TrafficPolicy } from '../../worker/protocol.ts';
import { useAppState, useServices } from '../context.ts';
import { HeaderMenu } from '../panels/HeaderMenu.tsx';

const CNI_NAMES = Object.keys(CNI_MODES) as CniMode[];
const NO_POLICIES: Readonly<Record<string, TrafficPolicy>> = {};

interface Before {
  readonly what: string;
  readonly hops: number;
  readonly runId: number;
}

/** The toggles behind a header button that names the CNI in use (and kube-proxy's mode when it is not
 *  iptables, its default), and marks a change. */
export function ClusterMenu() {
  const { t } = useTranslation();
  const overrides = useAppState((s) => s.overrides);
  const seed = useAppState((s) => s.seed);
  const scenario = useAppState((s) => s.run?.settings?.scenario ?? null);
  const cni = overrides.cni ?? scenario?.cni;
  const kp = overrides.kubeProxyMode ?? scenario?.kubeProxyMode ?? 'iptables';
  return (
    <HeaderMenu
      label={t('header.cluster')}
      detail={cni ? (kp === 'iptables' ? cni : `${cni} · ${kp}`) : undefined}
      changed={Object.keys(overrides).length > 0 || seed !== null}
    >
      <Toggles />
    </HeaderMenu>
  );
}

export function Toggles() {
  const { t } = useTranslation();
  const { store, runWalk } = useServices();
  const overrides = useAppState((s) => s.overrides);
  const seed = useAppState((s) => s.seed);
  const settings = useAppState((s) => s.run?.settings ?? null);
  const runId = useAppState((s) => s.run?.runId ?? 0);
  const hops = useAppState((s) => s.run?.events.length ?? 0);
  const finished = useAppState((s) => s.run?.done != null);
  const [before, setBefore] = useState<Before | null>(null);
  const ids = { cni: useId(), kp: useId(), seed: useId() };

  const scenario = settings?.scenario;
  const cni = overrides.cni ?? scenario?.cni ?? '';
  const kp = overrides.kubeProxyMode ?? scenario?.kubeProxyMode ?? 'iptables';
  const policies = scenario?.externalTrafficPolicy ?? NO_POLICIES;

  const rerun = (what: string) => {
    const s = store.getState();
    setBefore({ what, hops: s.run?.events.length ?? 0, runId: s.run?.runId ?? 0 });
    if (s.walkName !== null) runWalk({ name: s.walkName });
    else if (s.walk !== null) runWalk(s.walk);
    else runWalk({ name: null });
  };

  const change = (next: Overrides, what: string) => {
    store.getState().setOverrides(next);
    rerun(what);
  };

  const setCni = (value: string) => {
    const { cni: _old, ...rest } = overrides;
    const mode = value as CniMode;
    change(
      mode === scenario?.cni ? rest : { ...rest, cni: mode },
      t('toggles.cniWas', { cni: cni || t('toggles.asScenario') }),
    );
  };
  const setKp = (value: string) => {
    const { kubeProxyMode: _old, ...rest } = overrides;
    const mode = value as KubeProxyMode;
    change(mode === scenario?.kubeProxyMode ? rest : { ...rest, kubeProxyMode: mode }, `kube-proxy ${kp}`);
  };
  const setPolicy = (key: string, value: TrafficPolicy) => {
    const { externalTrafficPolicy: old = {}, ...rest } = overrides;
    const { [key]: previous, ...others } = old;
    const etp = value === policies[key] ? others : { ...others, [key]: value };
    const was = previous ?? policies[key] ?? 'Cluster';
    change(Object.keys(etp).length > 0 ? { ...rest, externalTrafficPolicy: etp } : rest, `${key} ${was}`);
  };
  const setSeed = (text: string) => {
    const n = text.trim() === '' ? null : Number(text);
    if (n !== null && (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 32 - 1)) return;
    const was = store.getState().seed;
    store.getState().setSeed(n);
    rerun(t('toggles.seedWas', { seed: was ?? t('toggles.defaultSeed') }));
  };

  const changed = Object.keys(overrides).length > 0;
  const compare = before && runId !== before.runId && finished ? before : null;

  return (
    <div className="toggles" role="group" aria-label={t('toggles.group')}>
      <label htmlFor={ids.cni}>CNI</label>
      <select id={ids.cni} value={cni} onChange={(e) => setCni(e.target.value)}>
        {cni === '' ? <option value="">…</option> : null}
        {CNI_NAMES.map((name) => {
          const blocked = name === 'bridge-router' && settings !== null && !settings.hasGateway;
          return (
            <option key={name} value={name} disabled={blocked} title={t(`cniMode.${name}`)}>
              {name}
              {blocked ? t('toggles.needsGateway') : ''}
            </option>
          );
        })}
      </select>
      <label htmlFor={ids.kp}>kube-proxy</label>
      <select id={ids.kp} value={kp} onChange={(e) => setKp(e.target.value)}>
        <option value="iptables">iptables</option>
        <option value="ipvs">ipvs</option>
      </select>
      {Object.keys(policies).length > 0 ? <span className="toggles-group">externalTrafficPolicy</span> : null}
      {Object.keys(policies).map((key) => (
        <PolicyToggle
          key={key}
          service={key}
          value={overrides.externalTrafficPolicy?.[key] ?? policies[key] ?? 'Cluster'}
          onChange={(v) => setPolicy(key, v)}
        />
      ))}
      <label htmlFor={ids.seed}>{t('toggles.seed')}</label>
      <input
        id={ids.seed}
        className="toggles-seed"
        type="number"
        min={0}
        step={1}
        inputMode="numeric"
        placeholder="1"
        value={seed ?? ''}
        onChange={(e) => setSeed(e.target.value)}
      />
      <button type="button" disabled={!changed} onClick={() => change({}, t('toggles.toggles'))}>
        {t('toggles.reset')}
      </button>
      {compare ? (
        <p className="toggles-compare" role="status">
          {t('toggles.compare', { what: compare.what, before: compare.hops, now: hops })}
        </p>
      ) : null}
    </div>
  );
}

function PolicyToggle(props: {
  service: string;
  value: TrafficPolicy;
  onChange: (value: TrafficPolicy) => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <>
      <label htmlFor={id} title={t('toggles.policyTitle', { service: props.service })}>
        {props.service}
      </label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value as TrafficPolicy)}>
        <option value="Cluster">Cluster</option>
        <option value="Local">Local</option>
      </select>
    </>
  );
}
