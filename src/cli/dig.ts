// `packet-walk dig`: what the scenario's DNS answers, as dig prints it. Without --from it asks the cluster
// DNS directly for the name as given (like `dig @10.96.0.10 NAME` on a node); with --from it first expands
// the name the way that pod's (or node's) resolver would — its resolv.conf, the search list, ndots — and
// shows every attempt. No packets are walked here: `trace` does that.
import type { Ip } from '../engine/addr.ts';
import { formatDig, makeQuery, validateDnsName, type DnsMessage, type RRType } from '../engine/dns.ts';
import { answerQuery, type DnsServer } from '../engine/dnsServers.ts';
import {
  afterAnswer,
  formatResolvConf,
  nodeResolvConf,
  podResolvConf,
  searchCandidates,
  type ResolverSetup,
} from '../engine/resolver.ts';
import type { ClusterModel } from '../scenario/model.ts';

export const DIG_TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'NS', 'SOA'] as const;

export interface DigAttempt {
  readonly name: string;
  readonly server: string;
  /** The upstream CoreDNS forwarded to, if it did. */
  readonly forwardedTo: Ip | null;
  readonly response: DnsMessage;
}

export interface DigResult {
  readonly question: { readonly name: string; readonly type: RRType };
  readonly nameserver: Ip;
  readonly resolvConf: string | null;
  readonly attempts: readonly DigAttempt[];
  /** True when the last attempt is an answer the resolver takes (NOERROR with records of the type). */
  readonly answered: boolean;
}

export class DigError extends Error {}

/** The DNS server process that answers on `ip`: CoreDNS behind a kube-dns ClusterIP, or a resolver host. */
function serverAt(model: ClusterModel, ip: Ip): DnsServer | null {
  const kubeDns = model.services.some((s) => s.clusterIP === ip && s.ports.some((p) => p.port === 53));
  if (kubeDns || ip === model.clusterDNS) {
    const pod = model.pods.find(
      (p) => p.labels['k8s-app'] === 'kube-dns' && p.ports.some((x) => x.containerPort === 53),
    );
    if (pod) return { kind: 'coredns', pod, label: `CoreDNS ${pod.namespace}/${pod.name}` };
    return null;
  }
  const pod = model.pods.find((p) => p.podIP === ip && p.labels['k8s-app'] === 'kube-dns');
  if (pod) return { kind: 'coredns', pod, label: `CoreDNS ${pod.namespace}/${pod.name}` };
  const host = model.hosts.find((h) => h.ip === ip && h.dnsServer);
  return host ? { kind: 'internet-resolver', host, label: `DNS resolver host/${host.name}` } : null;
}

function sourceSetup(model: ClusterModel, from: string): { setup: ResolverSetup; ip: Ip } {
  const ref = from.trim();
  if (ref.startsWith('node/')) {
    const node = model.nodes.find((n) => n.name === ref.slice(5));
    if (!node) throw new DigError(`no node named "${ref.slice(5)}"`);
    return { setup: nodeResolvConf(model), ip: node.internalIP };
  }
  const body = ref.startsWith('pod/') ? ref.slice(4) : ref;
  const [a, b] = body.split('/');
  const pods = model.pods.filter((p) => (b === undefined ? p.name === a : p.namespace === a && p.name === b));
  if (pods.length === 0)
    throw new DigError(`--from: no pod "${body}" (write pod/<namespace>/<name> or node/<name>)`);
  if (pods.length > 1)
    throw new DigError(
      `--from: "${body}" names pods in ${pods.map((p) => p.namespace).join(', ')}: write pod/<namespace>/${body}`,
    );
  const pod = pods[0]!;
  return { setup: podResolvConf(model, pod), ip: pod.podIP };
}

/** Asks the scenario's DNS; throws DigError for bad input (unknown type, bad name, no server). */
export function dig(model: ClusterModel, name: string, type: string, from: string | null): DigResult {
  const qtype = type.toUpperCase();
  if (!(DIG_TYPES as readonly string[]).includes(qtype))
    throw new DigError(`type must be one of ${DIG_TYPES.join(', ')}, not "${type}"`);
  const problem = validateDnsName(name);
  if (problem) throw new DigError(`"${name.length > 60 ? `${name.slice(0, 60)}…` : name}": ${problem}`);
  let nameserver: Ip;
  let resolvConf: string | null = null;
  let candidates: string[];
  let client: Ip;
  if (from !== null) {
    const { setup, ip } = sourceSetup(model, from);
    const ns = setup.conf.nameservers[0];
    if (ns === undefined) throw new DigError(`${from}'s resolv.conf has no nameserver`);
    nameserver = ns;
    resolvConf = formatResolvConf(setup.conf);
    candidates = searchCandidates(name, setup.conf);
    client = ip;
  } else {
    nameserver = model.clusterDNS;
    candidates = [name.endsWith('.') ? name : `${name}.`];
    client = model.nodes[0]?.internalIP ?? '0.0.0.0';
  }
  const server = serverAt(model, nameserver);
  if (!server)
    throw new DigError(`no DNS server answers on ${nameserver} in this scenario (;; connection timed out)`);
  // A fixed sequence: dig's answers do not depend on randomness except CoreDNS's loadbalance order.
  let seed = 1;
  const rng = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const attempts: DigAttempt[] = [];
  let answered = false;
  for (let i = 0; i < candidates.length; i++) {
    const q = makeQuery(candidates[i]!, qtype as RRType, 4660 + i);
    let r = answerQuery(model, server, q, { ip: client, port: 40000 + i }, rng);
    let forwardedTo: Ip | null = null;
    if (r.kind === 'forward') {
      forwardedTo = r.upstream;
      const upstream = serverAt(model, r.upstream);
      const up = upstream
        ? answerQuery(model, upstream, r.query, { ip: client, port: 40000 + i }, rng)
        : null;
      r = {
        kind: 'answer',
        response: r.complete(up?.kind === 'answer' ? up.response : null).response,
        steps: [],
      };
    }
    if (r.kind !== 'answer') break;
    attempts.push({ name: candidates[i]!, server: server.label, forwardedTo, response: r.response });
    const next = afterAnswer(
      'glibc',
      r.response.rcode,
      r.response.answer.some((rr) => rr.type === qtype),
    );
    if (next === 'use') answered = true;
    if (next !== 'next' || from === null) break;
  }
  return { question: { name, type: qtype as RRType }, nameserver, resolvConf, attempts, answered };
}

/** dig's text: with --from, the resolv.conf and each search attempt first; then the last answer in full. */
export function formatDigResult(r: DigResult): string {
  const out: string[] = [];
  if (r.resolvConf !== null) {
    out.push(
      `; /etc/resolv.conf`,
      ...r.resolvConf
        .trimEnd()
        .split('\n')
        .map((l) => `;   ${l}`),
    );
    out.push(`; the resolver tries, in order:`);
    for (const a of r.attempts)
      out.push(
        `;   ${a.name.padEnd(48)} ${a.response.rcode}${a.response.answer.length ? ` (${a.response.answer.length} answer${a.response.answer.length === 1 ? '' : 's'})` : ''}${a.forwardedTo ? `  [forwarded to ${a.forwardedTo}]` : ''}`,
      );
    out.push('');
  }
  const last = r.attempts.at(-1);
  if (last) out.push(formatDig(last.response, { server: r.nameserver }).trimEnd());
  return `${out.join('\n')}\n`;
}
