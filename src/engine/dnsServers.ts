// Who answers a DNS query that reached a namespace, and what they answer: CoreDNS in a kube-dns pod
// (configured by the kube-system/coredns Corefile, or kubeadm's default), or the internet's resolver (a
// scenario host with `dnsServer: true`). Pure functions over the scenario; the walker moves the packets.
import type { Ip } from './addr.ts';
import { completeForward, defaultCorefile, parseCorefile, serveDns, type CorefileConfig } from './coredns.ts';
import { replyTo, type DnsMessage, type DnsRecord } from './dns.ts';
import { podResolvConf } from './resolver.ts';
import type { ClusterModel, HostModel, PodModel } from '../scenario/model.ts';
import type { Netns, World } from './world.ts';

/** The label kubeadm's CoreDNS Deployment and the kube-dns Service select on. */
const KUBE_DNS_LABEL = 'k8s-app';

export type DnsServer =
  | { readonly kind: 'coredns'; readonly pod: PodModel; readonly label: string }
  | { readonly kind: 'internet-resolver'; readonly host: HostModel; readonly label: string };

/** The DNS server process in `ns`, if any: a CoreDNS pod (labelled k8s-app=kube-dns, listening on 53) or a
 *  host that runs the internet's resolver. */
export function dnsServerIn(world: World, ns: Netns): DnsServer | null {
  const model = world.model;
  if (!model) return null;
  if (ns.kind === 'pod') {
    const pod = model.pods.find((p) => !p.hostNetwork && `pod/${p.namespace}/${p.name}` === ns.id);
    if (pod && pod.labels[KUBE_DNS_LABEL] === 'kube-dns' && pod.ports.some((x) => x.containerPort === 53))
      return { kind: 'coredns', pod, label: `CoreDNS ${pod.namespace}/${pod.name}` };
  }
  if (ns.kind === 'host') {
    const host = model.hosts.find((h) => `host/${h.name}` === ns.id);
    if (host?.dnsServer) return { kind: 'internet-resolver', host, label: `DNS resolver host/${host.name}` };
  }
  return null;
}

const corefiles = new WeakMap<ClusterModel, CorefileConfig>();

/** The CoreDNS configuration of the scenario: its Corefile, or kubeadm's default when it has none. */
export function corednsConfig(model: ClusterModel): CorefileConfig {
  let c = corefiles.get(model);
  if (!c) {
    c = parseCorefile(model.extra.corefile ?? defaultCorefile(model.clusterDomain)).config;
    corefiles.set(model, c);
  }
  return c;
}

export type ServerAnswer =
  | { readonly kind: 'answer'; readonly response: DnsMessage; readonly steps: readonly string[] }
  | {
      readonly kind: 'forward';
      readonly upstream: Ip;
      readonly query: DnsMessage;
      readonly steps: readonly string[];
      /** The client's answer once the upstream's reply (or none: SERVFAIL) is back. */
      readonly complete: (upstreamReply: DnsMessage | null) => {
        response: DnsMessage;
        steps: readonly string[];
      };
    };

/** What `server` does with `query` from `client`. */
export function answerQuery(
  model: ClusterModel,
  server: DnsServer,
  query: DnsMessage,
  client: { ip: Ip; port: number },
  rng: () => number,
): ServerAnswer {
  if (server.kind === 'internet-resolver') return internetAnswer(model, query);
  // CoreDNS's own resolv.conf is the one kubelet wrote for its pod (dnsPolicy Default: the node's), which
  // is where `forward . /etc/resolv.conf` sends what the cluster zone does not hold.
  const resolvConf = podResolvConf(model, server.pod).conf;
  const config = corednsConfig(model);
  const options = { localIPs: [server.pod.podIP] };
  const r = serveDns(config, model, query, client, rng, resolvConf.nameservers, options);
  if (r.kind === 'answer') return { kind: 'answer', response: r.response, steps: r.steps };
  return {
    kind: 'forward',
    upstream: r.upstream,
    query: r.query,
    steps: r.steps,
    complete: (reply) => {
      if (reply) return completeForward(config, r, reply, rng, options);
      // forward's error path: no upstream answered in time, CoreDNS answers SERVFAIL (plugin/forward).
      return {
        response: { ...replyTo(query, 'SERVFAIL'), flags: { ...replyTo(query).flags, ra: true } },
        steps: [`forward: no answer from ${r.upstream}: SERVFAIL`],
      };
    },
  };
}

/** The internet's recursive resolver, as seen from the scenario: it knows every host's `names` (A records,
 *  TTL 300) and nothing else (NXDOMAIN with the root's SOA, as a recursive resolver returns it). */
function internetAnswer(model: ClusterModel, query: DnsMessage): ServerAnswer {
  const q = query.question[0];
  const base = {
    id: query.id,
    opcode: query.opcode,
    question: query.question,
    additional: [],
  } as const;
  const flags = { qr: true, aa: false, tc: false, rd: query.flags.rd, ra: true };
  if (!q)
    return {
      kind: 'answer',
      response: { ...base, flags, rcode: 'FORMERR', answer: [], authority: [] },
      steps: [],
    };
  const name = q.name.toLowerCase().replace(/\.?$/, '.');
  const hosts = model.hosts.filter((h) => h.names.some((n) => n.toLowerCase().replace(/\.?$/, '.') === name));
  const soa: DnsRecord = {
    name: '.',
    ttl: 86400,
    class: 'IN',
    type: 'SOA',
    data: {
      mname: 'a.root-servers.net.',
      rname: 'nstld.verisign-grs.com.',
      serial: 2026112200,
      refresh: 1800,
      retry: 900,
      expire: 604800,
      minimum: 86400,
    },
  };
  if (hosts.length === 0)
    return {
      kind: 'answer',
      response: { ...base, flags, rcode: 'NXDOMAIN', answer: [], authority: [soa] },
      steps: [`${name} is not a name of any host on this scenario's internet: NXDOMAIN`],
    };
  const answer: DnsRecord[] =
    q.type === 'A'
      ? hosts.map((h) => ({ name: q.name, ttl: 300, class: 'IN', type: 'A', data: { address: h.ip } }))
      : [];
  return {
    kind: 'answer',
    response: { ...base, flags, rcode: 'NOERROR', answer, authority: answer.length ? [] : [soa] },
    steps: [
      answer.length
        ? `${name} is host ${hosts.map((h) => h.name).join(', ')}: ${answer.length} A record(s)`
        : `${name} exists but has no ${q.type} record: NODATA`,
    ],
  };
}
