// The UI's toggles, applied to a validated ClusterModel before the world is built: the CNI mode, kube-proxy's
// mode and Services' externalTrafficPolicy. The result is an ordinary model — the engine is not told that
// anything was overridden — so a toggled walk is the walk of the scenario as if it had said so itself.
// A change the scenario cannot take (bridge-router without a gateway, a policy for a Service that is not
// LoadBalancer or NodePort) is refused with one readable sentence instead of a world that makes no sense.
import { CNI_MODES, type ClusterModel, type CniMode, type ServiceModel } from '../scenario/model.ts';
import type { ClusterSettings, KubeProxyMode, Overrides, RunSettings, TrafficPolicy } from './protocol.ts';

export type OverrideResult =
  | { readonly kind: 'applied'; readonly model: ClusterModel; readonly settings: RunSettings }
  | { readonly kind: 'refused'; readonly message: string };

const KUBE_PROXY_MODES: readonly KubeProxyMode[] = ['iptables', 'ipvs'];
const POLICIES: readonly TrafficPolicy[] = ['Cluster', 'Local'];

const serviceKey = (s: ServiceModel): string => `${s.namespace}/${s.name}`;

/** True iff the Service has an external side whose traffic policy means something. */
const hasExternalPolicy = (s: ServiceModel): boolean => s.type === 'LoadBalancer' || s.type === 'NodePort';

/** The knobs as the model has them. */
export function settingsOf(model: ClusterModel): ClusterSettings {
  const externalTrafficPolicy: Record<string, TrafficPolicy> = {};
  for (const s of model.services)
    if (hasExternalPolicy(s)) externalTrafficPolicy[serviceKey(s)] = s.externalTrafficPolicy;
  return {
    cni: model.cni,
    kubeProxyMode: model.extra.kubeProxy?.mode ?? 'iptables',
    externalTrafficPolicy,
  };
}

/** The model with `overrides` applied, or why it cannot be. The input model is not changed. */
export function applyOverrides(model: ClusterModel, overrides: Overrides): OverrideResult {
  const scenario = settingsOf(model);
  let next: ClusterModel = model;

  const cni: unknown = overrides.cni;
  if (cni !== undefined) {
    if (typeof cni !== 'string' || !Object.hasOwn(CNI_MODES, cni))
      return refused(`Unknown CNI mode "${String(cni)}" (one of ${Object.keys(CNI_MODES).join(', ')}).`);
    const mode = cni as CniMode;
    if (mode === 'bridge-router' && model.gateway === null)
      return refused(
        `The CNI mode bridge-router needs a gateway (the L3 router that holds a route to every node's pod subnet), ` +
          `and the scenario "${model.name}" has none: add spec.gateway to its Cluster document, or pick another mode.`,
      );
    next = { ...next, cni: mode };
  }

  const kp: unknown = overrides.kubeProxyMode;
  if (kp !== undefined) {
    if (!KUBE_PROXY_MODES.includes(kp as KubeProxyMode))
      return refused(`Unknown kube-proxy mode "${String(kp)}" (iptables or ipvs).`);
    const current = next.extra.kubeProxy ?? { mode: 'iptables' as const, masqueradeAll: false };
    next = { ...next, extra: { ...next.extra, kubeProxy: { ...current, mode: kp as KubeProxyMode } } };
  }

  const etp = overrides.externalTrafficPolicy;
  if (etp !== undefined) {
    const wanted = new Map<string, TrafficPolicy>();
    for (const [key, policy] of Object.entries(etp)) {
      if (!POLICIES.includes(policy))
        return refused(`externalTrafficPolicy of ${key} must be Cluster or Local, not "${String(policy)}".`);
      const service = next.services.find((s) => serviceKey(s) === key);
      if (!service) return refused(`The scenario has no Service ${key} to set externalTrafficPolicy on.`);
      if (!hasExternalPolicy(service))
        return refused(
          `Service ${key} is ${service.type}: externalTrafficPolicy applies to LoadBalancer and NodePort Services only.`,
        );
      wanted.set(key, policy);
    }
    if (wanted.size > 0)
      next = {
        ...next,
        services: next.services.map((s) => {
          const policy = wanted.get(serviceKey(s));
          return policy === undefined ? s : { ...s, externalTrafficPolicy: policy };
        }),
      };
  }

  return {
    kind: 'applied',
    model: next,
    settings: { scenario, effective: settingsOf(next), hasGateway: model.gateway !== null },
  };
}

function refused(message: string): OverrideResult {
  return { kind: 'refused', message };
}
