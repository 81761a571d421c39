// The stub resolver side of DNS: the /etc/resolv.conf kubelet writes into a pod, and the order in which the
// C library's resolver tries names from it. Pure functions; the walker sends the queries these produce.
//
//   kubelet: pkg/kubelet/network/dns/dns.go (GetPodDNS, generateSearchesForDNSClusterFirst, appendDNSConfig)
//   glibc:   resolv/res_query.c (__res_context_search)     musl: src/network/lookup_name.c (name_from_dns_search)
import type { Ip } from './addr.ts';
import type { ClusterModel, DnsPolicy, PodModel } from '../scenario/model.ts';

export interface ResolvConf {
  readonly nameservers: readonly Ip[];
  readonly searches: readonly string[];
  /** Option words as resolv.conf holds them ("ndots:5", "edns0"). */
  readonly options: readonly string[];
}

/** Which resolv.conf a process in a namespace reads, and why (for the trace). */
export interface ResolverSetup {
  readonly conf: ResolvConf;
  /** e.g. "dnsPolicy ClusterFirst: kubelet points the pod at the cluster DNS 10.96.0.10". */
  readonly why: string;
}

/** kubelet's defaultDNSOptions for ClusterFirst pods. */
const CLUSTER_FIRST_OPTIONS = ['ndots:5'];
/** The API server's (and kubelet's) limits: MaxDNSNameservers, MaxDNSSearchPathsExpanded and
 *  MaxDNSSearchListCharsExpanded (pkg/apis/core/validation). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_CHARS = 2048;

function omitDuplicates<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** kubelet's getPodDNSType: ClusterFirst falls back to Default for a hostNetwork pod; only
 *  ClusterFirstWithHostNet gives such a pod the cluster DNS. */
export function effectiveDnsPolicy(pod: PodModel): 'cluster' | 'host' | 'none' {
  const policy: DnsPolicy = pod.dnsPolicy;
  if (policy === 'None') return 'none';
  if (policy === 'ClusterFirstWithHostNet') return 'cluster';
  if (policy === 'ClusterFirst' && !pod.hostNetwork) return 'cluster';
  return 'host';
}

/** The resolv.conf kubelet writes for a pod (GetPodDNS). kubelet builds the options through a Go map, so
 *  their order in a real file varies; here they keep the order they were given in. */
export function podResolvConf(model: ClusterModel, pod: PodModel): ResolverSetup {
  const host = model.nodeResolvConf;
  const type = effectiveDnsPolicy(pod);
  let nameservers: Ip[];
  let searches: string[];
  let options: string[];
  let why: string;
  if (type === 'none') {
    nameservers = [];
    searches = [];
    options = [];
    why = 'dnsPolicy None: only the pod’s dnsConfig';
  } else if (type === 'cluster') {
    const d = model.clusterDomain;
    nameservers = [model.clusterDNS];
    // generateSearchesForDNSClusterFirst: <ns>.svc.<domain>, svc.<domain>, <domain>, then the node's.
    searches = omitDuplicates([`${pod.namespace}.svc.${d}`, `svc.${d}`, d, ...host.searches]);
    options = [...CLUSTER_FIRST_OPTIONS];
    why =
      `dnsPolicy ${pod.dnsPolicy}${pod.hostNetwork ? ' (hostNetwork)' : ''}: kubelet points the pod at the ` +
      `cluster DNS ${model.clusterDNS} with the cluster's search domains and ndots:5`;
  } else {
    nameservers = [...host.nameservers];
    searches = [...host.searches];
    options = [...host.options];
    why =
      pod.dnsPolicy === 'ClusterFirst'
        ? 'dnsPolicy ClusterFirst on a hostNetwork pod falls back to Default: the node’s own resolv.conf'
        : 'dnsPolicy Default: the node’s own resolv.conf (kubelet --resolv-conf)';
  }
  if (pod.dnsConfig) {
    // appendDNSConfig: nameservers and searches appended without duplicates; options merged by name, the
    // pod's value winning.
    nameservers = omitDuplicates([...nameservers, ...pod.dnsConfig.nameservers]);
    searches = omitDuplicates([...searches, ...pod.dnsConfig.searches.map((s) => s.replace(/\.$/, ''))]);
    const merged = new Map<string, string>();
    for (const o of options) {
      const i = o.indexOf(':');
      merged.set(i < 0 ? o : o.slice(0, i), i < 0 ? '' : o.slice(i + 1));
    }
    for (const o of pod.dnsConfig.options) merged.set(o.name, o.value ?? '');
    options = [...merged].map(([k, v]) => (v === '' ? k : `${k}:${v}`));
    why += '; spec.dnsConfig merged in';
  }
  return { conf: fitLimits({ nameservers, searches, options }), why };
}

/** formDNSConfigFitsLimits: kubelet drops nameservers past three and search paths past the limits. */
function fitLimits(c: ResolvConf): ResolvConf {
  let searches = c.searches.slice(0, MAX_SEARCH_PATHS);
  while (searches.join(' ').length > MAX_SEARCH_CHARS) searches = searches.slice(0, -1);
  return { ...c, nameservers: c.nameservers.slice(0, MAX_NAMESERVERS), searches };
}

/** What a node (and anything on it outside a pod's own resolv.conf) reads. */
export function nodeResolvConf(model: ClusterModel): ResolverSetup {
  return { conf: model.nodeResolvConf, why: 'the node’s /etc/resolv.conf (kubelet --resolv-conf)' };
}

export function formatResolvConf(c: ResolvConf): string {
  const lines: string[] = [];
  if (c.searches.length) lines.push(`search ${c.searches.join(' ')}`);
  for (const n of c.nameservers) lines.push(`nameserver ${n}`);
  if (c.options.length) lines.push(`options ${c.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** The resolver's options with glibc's defaults (resolv/res_init.c: ndots 1, timeout 5 s, attempts 2). */
export function resolverOptions(c: ResolvConf): { ndots: number; timeout: number; attempts: number } {
  const get = (name: string, fallback: number, max: number): number => {
    let v = fallback;
    for (const o of c.options) {
      const m = new RegExp(`^${name}:(\\d+)$`).exec(o);
      if (m) v = Math.min(Number(m[1]), max);
    }
    return v;
  };
  // RES_MAXNDOTS 15, RES_MAXRETRANS 30, RES_MAXRETRY 5.
  return { ndots: get('ndots', 1, 15), timeout: get('timeout', 5, 30), attempts: get('attempts', 2, 5) };
}

export type StubResolverKind = 'glibc' | 'musl';

/**
 * The fully qualified names a stub resolver tries for `name`, in order (the search list and ndots).
 *
 * glibc (__res_context_search): a name ending in "." is tried alone. A name with at least ndots dots is
 * tried as-is first, then with each search domain; one with fewer dots tries the search domains first and
 * the bare name last. musl (name_from_dns_search): with at least ndots dots (or a trailing dot) only the
 * name itself; otherwise each search domain, then the name.
 */
export function searchCandidates(name: string, conf: ResolvConf, kind: StubResolverKind = 'glibc'): string[] {
  const abs = (n: string): string => (n.endsWith('.') ? n : `${n}.`);
  if (name.endsWith('.')) return [name];
  const { ndots } = resolverOptions(conf);
  const dots = [...name].filter((c) => c === '.').length;
  const searched = conf.searches.filter((d) => d !== '' && d !== '.').map((d) => abs(`${name}.${d}`));
  if (kind === 'musl') return dots >= ndots ? [abs(name)] : [...searched, abs(name)];
  return dots >= ndots ? [abs(name), ...searched] : [...searched, abs(name)];
}

/** What the resolver does after an answer to one candidate: use it, try the next candidate, or give up.
 *  glibc continues on NXDOMAIN, NODATA and SERVFAIL and stops on anything else; musl stops at NODATA and
 *  SERVFAIL too (only NXDOMAIN moves it on). */
export function afterAnswer(
  kind: StubResolverKind,
  rcode: string,
  hasAddress: boolean,
): 'use' | 'next' | 'fail' {
  if (rcode === 'NOERROR' && hasAddress) return 'use';
  if (rcode === 'NXDOMAIN') return 'next';
  if (kind === 'glibc' && (rcode === 'NOERROR' || rcode === 'SERVFAIL')) return 'next';
  return 'fail';
}
