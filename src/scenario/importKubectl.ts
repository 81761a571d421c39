// Import of real `kubectl get nodes,pods,services,endpointslices,networkpolicies -A -o yaml` (or -o json)
// output: the dump becomes a scenario.
//
//   readKubectlDump(text) ─▶ kept objects, trimmed to the fields the parser reads; dropped objects and why;
//                            questions (CNI, CIDRs, networks) with defaults and the evidence for each
//   writeImportedScenario(dump, answers) ─▶ scenario text: a Cluster document from the answers, with walks,
//                            then the trimmed objects; checked by parseScenario, problems named in the input
//
// Nothing is copied wholesale: each kept object is rebuilt from the fields docs/scenario.md lists, so Secrets,
// annotations (last-applied-configuration), managedFields, images, env, commands and volumes never reach
// the scenario text, and so never a share link. Copied fields keep their paths (a pod's `status.podIP` stays
// `status.podIP`), which is how the parser's errors are named again in the input (`items[3].status.podIP`).
// Pure: text in, data out; no DOM, no clock.
import {
  LineCounter,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseAllDocuments,
  stringify,
  type Document,
} from 'yaml';
import {
  cidrsOverlap,
  formatCidr,
  intToIp,
  ipToInt,
  isIp,
  maskOf,
  nthAddress,
  parseCidr,
  type Cidr,
} from '../engine/addr.ts';
import { readKubectlYaml } from './kubectlYaml.ts';
import { CNI_MODES, type CniMode } from './model.ts';
import { parseScenario, type ScenarioIssue } from './parse.ts';

type Path = readonly (string | number)[];
type Obj = Record<string, unknown>;

/** An object of the dump that goes into the scenario, trimmed. */
export interface KeptObject {
  readonly kind: string;
  /** "namespace/name" or "name". */
  readonly name: string;
  readonly object: Obj;
  /** Where it is in the input: its document (1-based) and path inside it ([] or ["items", 3]). */
  readonly document: number;
  readonly prefix: Path;
}

/** A note's parameters: plain values, or a list (the English text names the first three and "and N more"). */
export type NoteParams = Readonly<Record<string, string | readonly string[]>>;

/** One sentence of the importer's, as data: a stable code and its parameters (for a UI to word in its own
 *  language) and the English text (for everything else that prints it). */
export interface ImportNote<Code extends string = string> {
  readonly code: Code;
  readonly params: NoteParams;
  readonly text: string;
}

/** Codes of the evidence lines under the questions (ImportQuestion.evidence). */
export const EVIDENCE_CODES = [
  'clusterDoc',
  'podFlag',
  'kubeadmPodSubnet',
  'kubeadmServiceSubnet',
  'flannelNetwork',
  'flannelBackend',
  'kubeProxyConfigMap',
  'kubeProxyConfiguration',
  'podCIDRs',
  'podIPs',
  'clusterDefault',
  'clusterIPs',
  'serviceDefault',
  'internalIPs',
  'noInternalIP',
  'usualRouter',
  'noFreeRouter',
  'internetOutside',
  'backendAnnotation',
  'cniPods',
  'flannelDefaultBackend',
  'calicoNotModelled',
  'overlayNotModelled',
  'noCniEvidence',
] as const;
export type EvidenceCode = (typeof EVIDENCE_CODES)[number];
export type Evidence = ImportNote<EvidenceCode>;

/** Codes of the reasons objects are left out (DroppedGroup). */
export const DROP_CODES = [
  'finishedPods',
  'unscheduledPods',
  'podsWithoutIP',
  'ipv6Services',
  'ipv6EndpointSlices',
  'fqdnEndpointSlices',
  'slicesOfDroppedServices',
  'configMaps',
  'secrets',
  'clusterDocument',
  'endpoints',
  'workloads',
  'events',
  'unknownKind',
] as const;
export type DropCode = (typeof DROP_CODES)[number];

const note = <Code extends string>(code: Code, text: string, params: NoteParams = {}): ImportNote<Code> => ({
  code,
  params,
  text,
});

/** Objects left out for one reason. */
export interface DroppedGroup {
  /** The reason in English; `code` and `params` say it as data. */
  readonly reason: string;
  readonly code: DropCode;
  readonly params: NoteParams;
  /** "Kind namespace/name", in input order. */
  readonly objects: readonly string[];
}

export const QUESTION_IDS = [
  'name',
  'cni',
  'clusterCIDR',
  'serviceCIDR',
  'nodeNetwork',
  'gateway',
  'internet',
] as const;
export type QuestionId = (typeof QUESTION_IDS)[number];

/** Something kubectl output does not say, with the answer the evidence suggests. */
export interface ImportQuestion {
  readonly id: QuestionId;
  readonly label: string;
  /** `choice`: one of `options`; `cidr`/`ip`: an IPv4 prefix/address (`ip` may be empty: none); `boolean`:
   *  "true" or "false"; `name`: an RFC 1123 label. */
  readonly kind: 'choice' | 'cidr' | 'ip' | 'boolean' | 'name';
  readonly options?: readonly { readonly value: string; readonly label: string }[];
  readonly default: string;
  /** Why the default is what it is: what in the dump points to it (or that nothing does). */
  readonly evidence: readonly Evidence[];
}

export type ImportAnswers = Partial<Record<QuestionId, string>>;

export interface ImportCounts {
  readonly nodes: number;
  readonly pods: number;
  readonly services: number;
  readonly endpointSlices: number;
  readonly networkPolicies: number;
  readonly namespaces: number;
  /** Kept objects of other kinds (the CoreDNS ConfigMap, a KubeProxyConfiguration, NodeState). */
  readonly other: number;
}

export interface KubectlDump {
  readonly ok: true;
  readonly counts: ImportCounts;
  readonly kept: readonly KeptObject[];
  readonly dropped: readonly DroppedGroup[];
  readonly questions: readonly ImportQuestion[];
  /** clusterDomain when the dump states it (kubeadm-config); null otherwise. */
  readonly clusterDomain: string | null;
  /** The input text, for naming lines in errors found later. */
  readonly text: string;
}

export type ReadResult = KubectlDump | { readonly ok: false; readonly errors: readonly ImportIssue[] };

/** A problem, named where the user can fix it: in the input (document, path, line) or in an answer. */
export interface ImportIssue extends ScenarioIssue {
  /** Set when the problem is in an answer rather than in the input. */
  readonly question: QuestionId | null;
}

export type WriteResult =
  | { readonly ok: true; readonly text: string; readonly warnings: readonly ImportIssue[] }
  | { readonly ok: false; readonly text: string; readonly errors: readonly ImportIssue[] };

/** e.g. 'document 1 (Pod default/web), line 40: items[3].status.podIP: "10.244.1.300" is not an IPv4 address'. */
export function formatImportIssue(i: ImportIssue): string {
  if (i.question !== null) return `${questionLabel(i.question)}: ${i.message}`;
  const object = i.kind === null ? null : `(${[i.kind, i.name].filter((x) => x !== null).join(' ')})`;
  let where = [i.document === null ? null : `document ${i.document}`, object]
    .filter((x) => x !== null)
    .join(' ');
  if (i.line !== null) where += `${where ? ', ' : ''}line ${i.line}`;
  const field = i.path ? `${i.path}: ` : '';
  return where ? `${where}: ${field}${i.message}` : `${field}${i.message}`;
}

// ---------------------------------------------------------------------------------------------------------
// Reading the dump

/** Reads a kubectl dump: YAML (one or more documents) or JSON, a `List` or single objects. Never throws. */
export function readKubectlDump(text: string): ReadResult {
  const values = documentsOf(text);
  if (!values.ok) return values;
  const reader = new DumpReader();
  values.docs.forEach((value, i) => reader.read(value, i + 1, []));
  if (reader.kept.length === 0 && reader.errors.length === 0 && reader.seen === 0) {
    return { ok: false, errors: [issue(null, null, null, [], 'no Kubernetes objects found', null)] };
  }
  if (reader.errors.length > 0) return { ok: false, errors: withLines(text, reader.errors) };
  return {
    ok: true,
    counts: reader.counts(),
    kept: reader.kept,
    dropped: reader.droppedGroups(),
    questions: reader.questions(),
    clusterDomain: reader.evidence.clusterDomain,
    text,
  };
}

/** The documents' plain values. JSON goes through JSON.parse (a 3,000-pod dump is ~10x faster so); YAML
 *  through the reader for the YAML kubectl prints (~20x faster than the `yaml` library); JSON that
 *  JSON.parse rejects, and YAML that reader does not read (or finds invalid), through the `yaml` library,
 *  which reads all of YAML and whose errors name the line. */
function documentsOf(
  text: string,
): { ok: true; docs: unknown[] } | { ok: false; errors: readonly ImportIssue[] } {
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(text);
      return { ok: true, docs: [v] };
    } catch {
      // Fall through: the YAML parser names the line of the problem.
    }
  } else {
    try {
      return { ok: true, docs: readKubectlYaml(text) };
    } catch {
      // UnsupportedYaml (or anything else going wrong): the `yaml` library reads it, or names the error.
    }
  }
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, schema: 'core' });
  const errors: ImportIssue[] = [];
  const out: unknown[] = [];
  docs.forEach((doc, i) => {
    for (const e of doc.errors)
      errors.push(issue(i + 1, null, null, [], `YAML: ${e.message}`, lc.linePos(e.pos[0]).line));
    if (doc.errors.length > 0) return;
    try {
      out.push(doc.toJS({ maxAliasCount: 100 }));
    } catch (e) {
      errors.push(issue(i + 1, null, null, [], `YAML: ${e instanceof Error ? e.message : String(e)}`, null));
    }
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, docs: out };
}

function issue(
  document: number | null,
  kind: string | null,
  name: string | null,
  path: Path,
  message: string,
  line: number | null,
  question: QuestionId | null = null,
): ImportIssue {
  return { document, kind, name, path: formatPath(path), message, line, question };
}

function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function rec(v: unknown): Obj {
  return isRecord(v) ? v : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Copies the listed keys of `from` that are present (any value: the parser checks them). */
function pick(from: unknown, keys: readonly string[]): Obj {
  const out: Obj = {};
  if (!isRecord(from)) return out;
  for (const k of keys) if (Object.hasOwn(from, k) && from[k] !== undefined) out[k] = from[k];
  return out;
}

/** Sets `to[key]` to `value` unless it is empty (an empty mapping or undefined): trimmed objects stay small. */
function put(to: Obj, key: string, value: unknown): void {
  if (value === undefined) return;
  if (isRecord(value) && Object.keys(value).length === 0) return;
  to[key] = value;
}

/** Each element trimmed by `f`, indexes kept (so paths into the list still match the input). */
function each(list: unknown, f: (item: unknown) => unknown): unknown {
  return Array.isArray(list) ? list.map(f) : list;
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const WORKLOADS = new Set([
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicationController',
]);

interface Stated {
  cni: { mode: CniMode; why: Evidence }[];
  clusterCIDR: { cidr: string; why: Evidence }[];
  serviceCIDR: { cidr: string; why: Evidence }[];
  clusterDomain: string | null;
}

/** What the dump's objects say, gathered while they are read (annotations and commands included — nothing
 *  of theirs is kept but the CIDR or mode read from them). */
class DumpReader {
  readonly kept: KeptObject[] = [];
  readonly errors: ImportIssue[] = [];
  seen = 0;
  private readonly dropped = new Map<string, { why: ImportNote<DropCode>; objects: string[] }>();
  readonly evidence: Stated = { cni: [], clusterCIDR: [], serviceCIDR: [], clusterDomain: null };
  private readonly cniPods = new Map<string, string[]>();
  private readonly backendAnnotations = new Map<string, string[]>();
  private readonly droppedServices = new Set<string>();
  private clusterDoc: Obj | null = null;
  private clusterDocName: string | null = null;

  read(value: unknown, document: number, prefix: Path): void {
    if (!isRecord(value)) {
      this.seen++;
      this.errors.push(
        issue(
          document,
          null,
          null,
          prefix,
          'must be a mapping: a Kubernetes object with apiVersion and kind',
          null,
        ),
      );
      return;
    }
    const kind = str(value['kind']);
    const apiVersion = str(value['apiVersion']);
    if (kind === 'List' || (kind?.endsWith('List') && Array.isArray(value['items']))) {
      // kubectl prints `kind: List`; the API's own lists (PodList, ...) have items of the list's kind.
      const itemKind = kind === 'List' ? null : kind.slice(0, -'List'.length);
      arr(value['items']).forEach((item, i) => {
        const withKind =
          itemKind && isRecord(item) && item['kind'] === undefined
            ? { apiVersion, ...item, kind: itemKind }
            : item;
        this.read(withKind, document, [...prefix, 'items', i]);
      });
      return;
    }
    this.seen++;
    if (kind === null || apiVersion === null) {
      const field = kind === null ? 'kind' : 'apiVersion';
      this.errors.push(issue(document, kind, null, [...prefix, field], 'required', null));
      return;
    }
    const meta = rec(value['metadata']);
    const name = str(meta['name']) ?? '';
    const namespace = str(meta['namespace']);
    const label = namespace !== null ? `${namespace}/${name}` : name;
    const what = `${kind} ${label}`;
    const keep = (object: Obj): void => {
      this.kept.push({ kind, name: label, object, document, prefix });
    };
    const drop = (code: DropCode, text: string, params: NoteParams = {}) => {
      const group = this.dropped.get(text) ?? { why: note(code, text, params), objects: [] };
      group.objects.push(what);
      this.dropped.set(text, group);
    };

    switch (`${apiVersion} ${kind}`) {
      case 'v1 Node':
        this.noteNode(value, name);
        return keep(trimNode(value));
      case 'v1 Namespace':
        return keep({ apiVersion, kind, metadata: pick(meta, ['name', 'labels']) });
      case 'v1 Pod': {
        this.notePod(value, label);
        const why = podDropReason(value);
        if (why) return drop(why.code, why.text, why.params);
        return keep(trimPod(value));
      }
      case 'v1 Service': {
        const spec = rec(value['spec']);
        const ip = str(spec['clusterIP']) ?? str(arr(spec['clusterIPs'])[0]);
        if (ip !== null && ip !== 'None' && ip.includes(':')) {
          this.droppedServices.add(label);
          return drop('ipv6Services', 'IPv6 Services: Packet Walk models IPv4 only');
        }
        return keep(trimService(value));
      }
      case 'discovery.k8s.io/v1 EndpointSlice': {
        const type = str(value['addressType']);
        if (type === 'IPv6')
          return drop('ipv6EndpointSlices', 'IPv6 EndpointSlices: Packet Walk models IPv4 only');
        if (type === 'FQDN') return drop('fqdnEndpointSlices', 'FQDN EndpointSlices: not read');
        const service = str(rec(meta['labels'])[SERVICE_NAME_LABEL]);
        if (service !== null && this.droppedServices.has(`${namespace ?? 'default'}/${service}`))
          return drop('slicesOfDroppedServices', 'EndpointSlices of dropped Services');
        return keep(trimEndpointSlice(value));
      }
      case 'networking.k8s.io/v1 NetworkPolicy':
        return keep({ apiVersion, kind, metadata: pick(meta, ['name', 'namespace']), spec: value['spec'] });
      case 'v1 ConfigMap':
        this.noteConfigMap(value, label);
        if (label === 'kube-system/kube-proxy') {
          // kubeadm keeps kube-proxy's configuration here: its mode decides iptables or ipvs rules.
          const conf = rec(yamlValue(str(rec(value['data'])['config.conf']) ?? ''));
          const masqueradeAll = rec(conf['iptables'])['masqueradeAll'];
          if (conf['mode'] === 'ipvs' || masqueradeAll === true)
            this.kept.push({
              kind: 'KubeProxyConfiguration',
              name: '',
              object: {
                apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
                kind: 'KubeProxyConfiguration',
                mode: conf['mode'],
                ...(masqueradeAll === true ? { iptables: { masqueradeAll } } : {}),
              },
              document,
              prefix: [...prefix, 'data', 'config.conf'],
            });
        }
        if (label === 'kube-system/coredns')
          return keep({
            apiVersion,
            kind,
            metadata: pick(meta, ['name', 'namespace']),
            data: pick(value['data'], ['Corefile']),
          });
        return drop(
          'configMaps',
          'ConfigMaps (not read; they may hold configuration you do not mean to share)',
        );
      case 'v1 Secret':
        return drop('secrets', 'Secrets (never imported)');
      case 'kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration':
        this.noteKubeProxyConfig(value, 'kubeProxyConfiguration');
        return keep({
          apiVersion,
          kind,
          ...pick(value, ['mode', 'clusterCIDR']),
          ...(isRecord(value['iptables']) ? { iptables: pick(value['iptables'], ['masqueradeAll']) } : {}),
        });
      case 'packetwalk.dev/v1alpha1 Cluster':
        // The answers write the Cluster document; this one's values become the defaults.
        this.clusterDoc = rec(value['spec']);
        this.clusterDocName = name || null;
        return drop('clusterDocument', 'the Cluster document (its values are the answers\u2019 defaults)');
      case 'packetwalk.dev/v1alpha1 NodeState':
        return keep({ apiVersion, kind, metadata: pick(meta, ['name']), spec: value['spec'] });
    }
    if (apiVersion === 'v1' && kind === 'Endpoints')
      return drop('endpoints', 'v1 Endpoints (the EndpointSlices say the same)');
    if (WORKLOADS.has(kind)) return drop('workloads', 'workload controllers (their Pods are imported)');
    if (kind === 'Event') return drop('events', 'Events');
    drop('unknownKind', `${kind} (${apiVersion}): not a kind Packet Walk reads`, { kind, apiVersion });
  }

  counts(): ImportCounts {
    const n = (kind: string) => this.kept.filter((k) => k.kind === kind).length;
    const main = ['Node', 'Pod', 'Service', 'EndpointSlice', 'NetworkPolicy', 'Namespace'];
    return {
      nodes: n('Node'),
      pods: n('Pod'),
      services: n('Service'),
      endpointSlices: n('EndpointSlice'),
      networkPolicies: n('NetworkPolicy'),
      namespaces: n('Namespace'),
      other: this.kept.filter((k) => !main.includes(k.kind)).length,
    };
  }

  droppedGroups(): DroppedGroup[] {
    return [...this.dropped.values()].map(({ why, objects }) => ({
      reason: why.text,
      code: why.code,
      params: why.params,
      objects,
    }));
  }

  // --- evidence -------------------------------------------------------------------------------------------

  private noteNode(node: Obj, name: string): void {
    const annotations = rec(rec(node['metadata'])['annotations']);
    // flanneld records its backend on the node (flannel pkg/subnet/kube: backend-type annotation).
    const backend = str(annotations['flannel.alpha.coreos.com/backend-type']);
    if (backend !== null) {
      const list = this.backendAnnotations.get(backend) ?? [];
      list.push(name);
      this.backendAnnotations.set(backend, list);
    }
  }

  private notePod(pod: Obj, label: string): void {
    const meta = rec(pod['metadata']);
    const labels = rec(meta['labels']);
    const name = str(meta['name']) ?? '';
    const app = str(labels['app']) ?? str(labels['k8s-app']) ?? str(labels['name']) ?? '';
    const cni =
      /^(kube-)?flannel/.test(name) || app === 'flannel'
        ? 'flannel'
        : /^calico-node/.test(name) || app === 'calico-node'
          ? 'calico'
          : /^weave-net/.test(name) || app === 'weave-net'
            ? 'weave'
            : /^cilium-/.test(name) && !/operator/.test(name)
              ? 'cilium'
              : null;
    if (cni) {
      const list = this.cniPods.get(cni) ?? [];
      list.push(label);
      this.cniPods.set(cni, list);
    }
    // kubeadm's static pods carry the cluster's ranges on their command lines.
    for (const c of arr(rec(pod['spec'])['containers'])) {
      for (const arg of [...arr(rec(c)['command']), ...arr(rec(c)['args'])]) {
        if (typeof arg !== 'string') continue;
        const m = /^--(service-cluster-ip-range|cluster-cidr)=(.+)$/.exec(arg);
        if (!m) continue;
        const first = m[2]!.split(',')[0]!.trim();
        const why = note('podFlag', `pod ${label}: --${m[1]}=${first}`, {
          pod: label,
          flag: m[1]!,
          cidr: first,
        });
        if (m[1] === 'service-cluster-ip-range') this.evidence.serviceCIDR.push({ cidr: first, why });
        else this.evidence.clusterCIDR.push({ cidr: first, why });
      }
    }
  }

  private noteConfigMap(cm: Obj, label: string): void {
    const data = rec(cm['data']);
    if (label === 'kube-system/kube-proxy') {
      const conf = str(data['config.conf']);
      if (conf !== null) this.noteKubeProxyConfig(yamlValue(conf), 'kubeProxyConfigMap');
    }
    if (label === 'kube-system/kubeadm-config') {
      const cc = rec(yamlValue(str(data['ClusterConfiguration']) ?? ''));
      const net = rec(cc['networking']);
      const why = 'ConfigMap kube-system/kubeadm-config';
      const pod = str(net['podSubnet']);
      const svc = str(net['serviceSubnet']);
      if (pod)
        this.evidence.clusterCIDR.push({
          cidr: pod.split(',')[0]!,
          why: note('kubeadmPodSubnet', `${why}: podSubnet ${pod}`, { subnet: pod }),
        });
      if (svc)
        this.evidence.serviceCIDR.push({
          cidr: svc.split(',')[0]!,
          why: note('kubeadmServiceSubnet', `${why}: serviceSubnet ${svc}`, { subnet: svc }),
        });
      const domain = str(net['dnsDomain']);
      if (domain) this.evidence.clusterDomain = domain;
    }
    const netConf = str(data['net-conf.json']);
    if (netConf !== null) {
      // flannel's kube-flannel-cfg: {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}.
      const conf = jsonRecord(netConf);
      const network = str(conf['Network']);
      if (network)
        this.evidence.clusterCIDR.push({
          cidr: network,
          why: note('flannelNetwork', `ConfigMap ${label}: Network ${network}`, {
            configMap: label,
            cidr: network,
          }),
        });
      const type = str(rec(conf['Backend'])['Type']);
      if (type === 'vxlan' || type === 'host-gw')
        this.evidence.cni.push({
          mode: type === 'vxlan' ? 'flannel-vxlan' : 'flannel-host-gw',
          why: note('flannelBackend', `ConfigMap ${label}: Backend.Type ${type}`, {
            configMap: label,
            backend: type,
          }),
        });
    }
  }

  private noteKubeProxyConfig(conf: unknown, code: 'kubeProxyConfigMap' | 'kubeProxyConfiguration'): void {
    const where =
      code === 'kubeProxyConfigMap' ? 'ConfigMap kube-system/kube-proxy' : 'the KubeProxyConfiguration';
    const cidr = str(rec(conf)['clusterCIDR']);
    if (cidr)
      this.evidence.clusterCIDR.push({
        cidr: cidr.split(',')[0]!,
        why: note(code, `${where}: clusterCIDR ${cidr}`, { cidr }),
      });
  }

  // --- questions ------------------------------------------------------------------------------------------

  questions(): ImportQuestion[] {
    const nodes = this.kept.filter((k) => k.kind === 'Node');
    const pods = this.kept.filter((k) => k.kind === 'Pod');
    const services = this.kept.filter((k) => k.kind === 'Service');
    const given = this.clusterDoc;
    const fromDoc = (key: string): string | null => (given ? str(given[key]) : null);
    const docWhy = (key: string) => note('clusterDoc', `the dump's Cluster document: ${key}`, { field: key });

    // CNI
    const cni = this.cniAnswer();
    // clusterCIDR
    const podCIDRs = nodes.flatMap((n) => {
      const spec = rec(n.object['spec']);
      const c = str(spec['podCIDR']) ?? str(arr(spec['podCIDRs'])[0]);
      return c !== null && validCidr(c) ? [{ node: n.name, cidr: parseCidr(c) }] : [];
    });
    const podIPs = pods.flatMap((p) => {
      if (rec(p.object['spec'])['hostNetwork'] === true) return [];
      const ip = podIpOf(p.object);
      return ip !== null ? [ip] : [];
    });
    const cluster = this.cidrAnswer(
      fromDoc('clusterCIDR'),
      docWhy('clusterCIDR'),
      this.evidence.clusterCIDR,
      () => {
        if (podCIDRs.length > 0) {
          const net = covering(
            podCIDRs.map((p) => p.cidr.ip),
            16,
            podCIDRs[0]!.cidr.prefix,
          );
          const list = podCIDRs.map((p) => `${p.node} ${formatCidr(p.cidr)}`);
          return {
            cidr: net,
            why: note('podCIDRs', `the nodes' podCIDRs (${listFew(list)}) lie in ${formatCidr(net)}`, {
              list,
              cidr: formatCidr(net),
            }),
          };
        }
        if (podIPs.length > 0) {
          const net = covering(podIPs, 16, 32);
          return {
            cidr: net,
            why: note('podIPs', `the pods' IPs (${listFew(podIPs)}) lie in ${formatCidr(net)}`, {
              list: podIPs,
              cidr: formatCidr(net),
            }),
          };
        }
        return null;
      },
      '10.244.0.0/16',
      note('clusterDefault', "nothing in the dump says; flannel's default Network"),
    );
    // serviceCIDR
    const clusterIPs = services.flatMap((s) => {
      const ip = str(rec(s.object['spec'])['clusterIP']);
      return ip !== null && isIp(ip) ? [{ svc: s.name, ip }] : [];
    });
    const service = this.cidrAnswer(
      fromDoc('serviceCIDR'),
      docWhy('serviceCIDR'),
      this.evidence.serviceCIDR,
      () => {
        if (clusterIPs.length === 0) return null;
        // The API server gives default/kubernetes the first address of the range (.1): kubeadm's 10.96.0.1
        // means 10.96.0.0/12, the --service-cluster-ip-range default.
        let net = covering(
          clusterIPs.map((c) => c.ip),
          12,
          32,
        );
        if (cidrsOverlap(net, cluster.cidr))
          net = covering(
            clusterIPs.map((c) => c.ip),
            32,
            32,
          );
        const list = clusterIPs.map((c) => `${c.svc} ${c.ip}`);
        return {
          cidr: net,
          why: note('clusterIPs', `the Services' clusterIPs (${listFew(list)}) lie in ${formatCidr(net)}`, {
            list,
            cidr: formatCidr(net),
          }),
        };
      },
      '10.96.0.0/12',
      note('serviceDefault', "nothing in the dump says; kubeadm's default service range"),
    );
    // node network
    const internalIPs = nodes.flatMap((n) => {
      const a = arr(rec(n.object['status'])['addresses']).find((x) => rec(x)['type'] === 'InternalIP');
      const ip = str(rec(a)['address']);
      return ip !== null && isIp(ip) ? [{ node: n.name, ip }] : [];
    });
    let nodeNet: { cidr: Cidr; why: Evidence[] };
    if (fromDoc('nodeNetwork') && validCidr(fromDoc('nodeNetwork')!))
      nodeNet = { cidr: parseCidr(fromDoc('nodeNetwork')!), why: [docWhy('nodeNetwork')] };
    else if (internalIPs.length > 0) {
      const net = covering(
        internalIPs.map((n) => n.ip),
        24,
        32,
      );
      const list = internalIPs.map((n) => `${n.node} ${n.ip}`);
      nodeNet = {
        cidr: net,
        why: [
          note('internalIPs', `the nodes' InternalIPs (${listFew(list)}) lie in ${formatCidr(net)}`, {
            list,
            cidr: formatCidr(net),
          }),
        ],
      };
    } else
      nodeNet = {
        cidr: parseCidr('192.168.1.0/24'),
        why: [note('noInternalIP', 'no node has an InternalIP; a home LAN range')],
      };
    // gateway
    const used = new Set(internalIPs.map((n) => n.ip));
    const givenGateway = given ? str(rec(given['gateway'])['ip']) : null;
    let gateway: { ip: string; why: Evidence[] };
    if (givenGateway !== null) gateway = { ip: givenGateway, why: [docWhy('gateway.ip')] };
    else {
      const size = 2 ** (32 - nodeNet.cidr.prefix);
      const first = size > 2 ? nthAddress(nodeNet.cidr, 1) : '';
      const last = size > 2 ? nthAddress(nodeNet.cidr, size - 2) : '';
      const ip = first && !used.has(first) ? first : last && !used.has(last) ? last : '';
      gateway = {
        ip,
        why: [
          ip
            ? note(
                'usualRouter',
                `kubectl does not show routers: ${ip} is the usual router address of ${formatCidr(nodeNet.cidr)} and no node has it`,
                { ip, cidr: formatCidr(nodeNet.cidr) },
              )
            : note('noFreeRouter', 'no free router address on the node network'),
        ],
      };
    }

    const cniOptions = (Object.keys(CNI_MODES) as CniMode[]).map((value) => ({
      value,
      label: CNI_MODES[value],
    }));
    return [
      {
        id: 'name',
        label: 'Scenario name',
        kind: 'name',
        default: this.clusterDocName ?? 'imported',
        evidence: [],
      },
      { id: 'cni', label: 'CNI', kind: 'choice', options: cniOptions, default: cni.mode, evidence: cni.why },
      {
        id: 'clusterCIDR',
        label: 'Cluster CIDR (pod addresses)',
        kind: 'cidr',
        default: formatCidr(cluster.cidr),
        evidence: cluster.why,
      },
      {
        id: 'serviceCIDR',
        label: 'Service CIDR (clusterIPs)',
        kind: 'cidr',
        default: formatCidr(service.cidr),
        evidence: service.why,
      },
      {
        id: 'nodeNetwork',
        label: 'Node network',
        kind: 'cidr',
        default: formatCidr(nodeNet.cidr),
        evidence: nodeNet.why,
      },
      {
        id: 'gateway',
        label: 'Gateway of the node network (empty: none)',
        kind: 'ip',
        default: gateway.ip,
        evidence: gateway.why,
      },
      {
        id: 'internet',
        label: `Internet behind the gateway (${INTERNET}: example.com and a DNS resolver)`,
        kind: 'boolean',
        default: gateway.ip ? 'true' : 'false',
        evidence: [
          note(
            'internetOutside',
            'kubectl does not show what is outside the cluster; documentation addresses stand for the internet',
          ),
        ],
      },
    ];
  }

  private cniAnswer(): { mode: CniMode; why: Evidence[] } {
    const given = this.clusterDoc ? str(this.clusterDoc['cni']) : null;
    if (given !== null && given in CNI_MODES)
      return {
        mode: given as CniMode,
        why: [note('clusterDoc', "the dump's Cluster document: cni", { field: 'cni' })],
      };
    const why: Evidence[] = [];
    for (const [backend, nodes] of this.backendAnnotations)
      why.push(
        note(
          'backendAnnotation',
          `node annotation flannel.alpha.coreos.com/backend-type: ${backend} (${listFew(nodes)})`,
          { backend, list: nodes },
        ),
      );
    for (const e of this.evidence.cni) why.push(e.why);
    for (const [cni, pods] of this.cniPods)
      why.push(note('cniPods', `${cni} pods: ${listFew(pods)}`, { cni, list: pods }));
    const backends = [...this.backendAnnotations.keys()];
    const stated = this.evidence.cni[0]?.mode;
    if (backends.includes('host-gw')) return { mode: 'flannel-host-gw', why };
    if (backends.includes('vxlan') || stated) return { mode: stated ?? 'flannel-vxlan', why };
    if (this.cniPods.has('flannel')) {
      why.push(note('flannelDefaultBackend', "flannel's default backend is vxlan"));
      return { mode: 'flannel-vxlan', why };
    }
    if (this.cniPods.has('calico')) {
      why.push(
        note(
          'calicoNotModelled',
          'Calico is not modelled: its BGP mode routes each node\u2019s pod range via that node, as flannel host-gw does',
        ),
      );
      return { mode: 'flannel-host-gw', why };
    }
    for (const other of ['weave', 'cilium'])
      if (this.cniPods.has(other)) {
        why.push(
          note(
            'overlayNotModelled',
            `${other} is not modelled: its default is a VXLAN overlay, as flannel vxlan`,
            {
              cni: other,
            },
          ),
        );
        return { mode: 'flannel-vxlan', why };
      }
    return {
      mode: 'flannel-vxlan',
      why: [
        note(
          'noCniEvidence',
          'no CNI pods or flannel annotations in the dump; flannel VXLAN is the common kubeadm choice',
        ),
      ],
    };
  }

  private cidrAnswer(
    given: string | null,
    givenWhy: Evidence,
    stated: readonly { cidr: string; why: Evidence }[],
    derive: () => { cidr: Cidr; why: Evidence } | null,
    fallback: string,
    fallbackWhy: Evidence,
  ): { cidr: Cidr; why: Evidence[] } {
    if (given !== null && validCidr(given)) return { cidr: parseCidr(given), why: [givenWhy] };
    const valid = stated.filter((s) => validCidr(s.cidr));
    const derived = derive();
    if (valid[0]) {
      const why = valid.map((s) => s.why);
      if (derived) why.push(derived.why);
      return { cidr: parseCidr(valid[0].cidr), why };
    }
    if (derived) return { cidr: derived.cidr, why: [derived.why] };
    return { cidr: parseCidr(fallback), why: [fallbackWhy] };
  }
}

export const INTERNET = '203.0.113.0/24';

function validCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

/** The prefix of length at most `max` (and at most `cap` bits... at least as short as the addresses' common
 *  prefix) that covers every address: e.g. podCIDRs 10.244.{0,1,2}.0 → 10.244.0.0/16 with max 16. */
function covering(ips: readonly string[], max: number, limit: number): Cidr {
  const ints = ips.map(ipToInt);
  let prefix = Math.min(max, limit);
  const first = ints[0] ?? 0;
  for (const n of ints) while (prefix > 0 && ((n ^ first) & maskOf(prefix)) >>> 0 !== 0) prefix--;
  return { ip: intToIp((first & maskOf(prefix)) >>> 0), prefix };
}

function listFew(items: readonly string[]): string {
  return items.length <= 3
    ? items.join(', ')
    : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

function yamlValue(text: string): unknown {
  try {
    const doc = parseAllDocuments(text, { schema: 'core' })[0];
    return doc && doc.errors.length === 0 ? doc.toJS({ maxAliasCount: 100 }) : null;
  } catch {
    return null;
  }
}

function jsonRecord(text: string): Obj {
  try {
    return rec(JSON.parse(text));
  } catch {
    return {};
  }
}

function podIpOf(pod: Obj): string | null {
  const status = rec(pod['status']);
  return str(status['podIP']) ?? str(rec(arr(status['podIPs'])[0])['ip']);
}

/** Why a pod is left out, or null: pods that hold no address would otherwise be given an invented one. */
function podDropReason(pod: Obj): ImportNote<DropCode> | null {
  const spec = rec(pod['spec']);
  const status = rec(pod['status']);
  const phase = str(status['phase']);
  if (phase === 'Succeeded' || phase === 'Failed')
    return note('finishedPods', 'finished Pods (Succeeded or Failed: they hold no address)');
  if (str(spec['nodeName']) === null)
    return note('unscheduledPods', 'Pods not scheduled to a node yet (no spec.nodeName)');
  if (spec['hostNetwork'] !== true && podIpOf(pod) === null)
    return note('podsWithoutIP', 'Pods without an IP yet (no status.podIP)');
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Trimming: each kind rebuilt from the fields docs/scenario.md lists, at the same paths.

function trimNode(node: Obj): Obj {
  const meta = rec(node['metadata']);
  const out: Obj = { apiVersion: 'v1', kind: 'Node', metadata: pick(meta, ['name', 'labels']) };
  put(out, 'spec', pick(node['spec'], ['podCIDR', 'podCIDRs']));
  const status = rec(node['status']);
  if (status['addresses'] !== undefined)
    out['status'] = { addresses: each(status['addresses'], (a) => pick(a, ['type', 'address'])) };
  return out;
}

function trimPod(pod: Obj): Obj {
  const meta = rec(pod['metadata']);
  const spec = rec(pod['spec']);
  const outSpec = pick(spec, ['nodeName', 'hostNetwork', 'dnsPolicy', 'dnsConfig']);
  if (spec['containers'] !== undefined)
    outSpec['containers'] = each(spec['containers'], (c) => {
      const out = pick(c, ['name']);
      if (isRecord(c) && c['ports'] !== undefined)
        out['ports'] = each(c['ports'], (p) => pick(p, ['name', 'containerPort', 'protocol']));
      return out;
    });
  const out: Obj = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: pick(meta, ['name', 'namespace', 'labels']),
    spec: outSpec,
  };
  const status = rec(pod['status']);
  const outStatus = pick(status, ['podIP']);
  if (status['podIP'] === undefined && status['podIPs'] !== undefined)
    outStatus['podIPs'] = arr(status['podIPs'])
      .slice(0, 1)
      .map((p) => pick(p, ['ip']));
  // Only a pod that is not Ready needs its condition: ready is the parser's default.
  const ready = arr(status['conditions']).find((c) => rec(c)['type'] === 'Ready');
  const readyStatus = str(rec(ready)['status']);
  if (readyStatus === 'False' || readyStatus === 'Unknown')
    outStatus['conditions'] = [{ type: 'Ready', status: readyStatus }];
  put(out, 'status', outStatus);
  return out;
}

function trimService(svc: Obj): Obj {
  const meta = rec(svc['metadata']);
  const spec = rec(svc['spec']);
  const outSpec = pick(spec, [
    'type',
    'clusterIP',
    'selector',
    'externalTrafficPolicy',
    'internalTrafficPolicy',
    'sessionAffinity',
    'externalIPs',
    'loadBalancerSourceRanges',
    'externalName',
  ]);
  if (spec['clusterIP'] === undefined && spec['clusterIPs'] !== undefined)
    outSpec['clusterIPs'] = arr(spec['clusterIPs']).slice(0, 1);
  if (spec['ports'] !== undefined)
    outSpec['ports'] = each(spec['ports'], (p) =>
      pick(p, ['name', 'protocol', 'port', 'targetPort', 'nodePort']),
    );
  const out: Obj = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: pick(meta, ['name', 'namespace']),
    spec: outSpec,
  };
  const ingress = rec(rec(svc['status'])['loadBalancer'])['ingress'];
  if (spec['type'] === 'LoadBalancer' && ingress !== undefined)
    out['status'] = { loadBalancer: { ingress: each(ingress, (i) => pick(i, ['ip'])) } };
  return out;
}

function trimEndpointSlice(slice: Obj): Obj {
  const meta = rec(slice['metadata']);
  const labels = pick(meta['labels'], [SERVICE_NAME_LABEL]);
  const metadata = pick(meta, ['name', 'namespace']);
  put(metadata, 'labels', labels);
  const out: Obj = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata };
  Object.assign(out, pick(slice, ['addressType']));
  if (slice['ports'] !== undefined)
    out['ports'] = each(slice['ports'], (p) => pick(p, ['name', 'port', 'protocol']));
  if (slice['endpoints'] !== undefined)
    out['endpoints'] = each(slice['endpoints'], (e) => {
      const o = pick(e, ['addresses', 'nodeName', 'hostname']);
      put(o, 'conditions', pick(rec(e)['conditions'], ['ready', 'serving', 'terminating']));
      put(o, 'targetRef', pick(rec(e)['targetRef'], ['kind', 'name', 'namespace']));
      return o;
    });
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Writing the scenario

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Above this many objects the scenario's objects are written as one-line JSON documents. */
const JSON_LINES_ABOVE = 200;

function yamlOf(d: Obj): string {
  return stringify(d, { lineWidth: 0 });
}

/** The scenario text for the dump and the answers (missing answers take the questions' defaults), checked by
 *  the scenario parser; its problems are named in the input or in the answer they come from. */
export function writeImportedScenario(dump: KubectlDump, answers: ImportAnswers): WriteResult {
  const value = (id: QuestionId): string =>
    (answers[id] ?? dump.questions.find((q) => q.id === id)?.default ?? '').trim();
  const errors: ImportIssue[] = [];
  const bad = (id: QuestionId, message: string) =>
    errors.push(issue(null, null, null, [], message, null, id));
  const cidr = (id: QuestionId): string => {
    const v = value(id);
    try {
      return formatCidr(parseCidr(v));
    } catch (e) {
      bad(id, e instanceof Error ? e.message : `"${v}" is not a CIDR`);
      return v;
    }
  };
  const name = value('name');
  if (!(name.length <= 63 && NAME_RE.test(name)))
    bad(
      'name',
      'must be a lowercase RFC 1123 label: a-z, 0-9 and "-", starting and ending with a letter or digit',
    );
  const cni = value('cni');
  if (!(cni in CNI_MODES)) bad('cni', `must be one of ${Object.keys(CNI_MODES).join(', ')}`);
  const clusterCIDR = cidr('clusterCIDR');
  const serviceCIDR = cidr('serviceCIDR');
  const nodeNetwork = cidr('nodeNetwork');
  const gatewayIP = value('gateway');
  if (gatewayIP !== '' && !isIp(gatewayIP)) bad('gateway', `"${gatewayIP}" is not an IPv4 address`);
  const internet = value('internet') === 'true';
  if (internet && gatewayIP === '') bad('internet', 'needs a gateway: the internet is reached through it');

  const spec: Obj = {
    description: describe(dump),
    cni,
    clusterCIDR,
    serviceCIDR,
    ...(dump.clusterDomain ? { clusterDomain: dump.clusterDomain } : {}),
    nodeNetwork,
  };
  if (gatewayIP !== '')
    spec['gateway'] = internet ? { ip: gatewayIP, internetIP: '203.0.113.1' } : { ip: gatewayIP };
  if (internet) {
    spec['internet'] = INTERNET;
    spec['hosts'] = [
      { name: 'example', ip: '203.0.113.10', listen: [80, 443], names: ['example.com'] },
      { name: 'resolver', ip: '203.0.113.53', listen: [53], dnsServer: true },
    ];
  }
  spec['walks'] = walksFor(dump, internet);
  const cluster = { apiVersion: 'packetwalk.dev/v1alpha1', kind: 'Cluster', metadata: { name }, spec };
  // A small import reads best as YAML; a large one is written one JSON object per document (JSON is YAML
  // too), which the scenario parser reads ~20x faster and which stays a few MB for thousands of pods.
  const object = dump.kept.length > JSON_LINES_ABOVE ? (d: Obj) => `${JSON.stringify(d)}\n` : yamlOf;
  const text = [yamlOf(cluster), ...dump.kept.map((k) => object(k.object))].join('---\n');
  if (errors.length > 0) return { ok: false, text, errors };

  const parsed = parseScenario(text);
  const map = (i: ScenarioIssue): ImportIssue => toInputIssue(dump, i);
  if (!parsed.ok) return { ok: false, text, errors: withLines(dump.text, parsed.errors.map(map)) };
  return { ok: true, text, warnings: parsed.warnings.map(map) };
}

function describe(dump: KubectlDump): string {
  const c = dump.counts;
  return `Imported from kubectl output: ${c.nodes} nodes, ${c.pods} pods, ${c.services} Services, ${c.endpointSlices} EndpointSlices, ${c.networkPolicies} NetworkPolicies.`;
}

const CLUSTER_FIELDS: Readonly<Record<string, QuestionId>> = {
  'metadata.name': 'name',
  'spec.cni': 'cni',
  'spec.clusterCIDR': 'clusterCIDR',
  'spec.serviceCIDR': 'serviceCIDR',
  'spec.nodeNetwork': 'nodeNetwork',
  'spec.gateway': 'gateway',
  'spec.internet': 'internet',
  'spec.hosts': 'internet',
};

/** A parser issue about the written text, named where it comes from: a kept object's input document and
 *  path, or the answer behind a Cluster field. */
function toInputIssue(dump: KubectlDump, i: ScenarioIssue): ImportIssue {
  if (i.document === null) return { ...i, line: null, question: null };
  if (i.document === 1) {
    const field = Object.keys(CLUSTER_FIELDS).find((f) => i.path === f || i.path.startsWith(`${f}.`));
    const question = field ? CLUSTER_FIELDS[field]! : null;
    return { ...i, document: null, kind: null, name: null, line: null, question: question ?? 'name' };
  }
  const kept = dump.kept[i.document - 2];
  if (!kept) return { ...i, line: null, question: null };
  const prefix = formatPath(kept.prefix);
  const path = prefix && i.path ? `${prefix}.${i.path}` : prefix || i.path;
  // The line is found later (withLines), from the input text: the written text's lines mean nothing to the user.
  return { ...i, document: kept.document, path, line: null, question: null };
}

/** Fills in the input line of each issue that names an input path. The YAML parser is only run for this when
 *  there are issues (JSON input was read with JSON.parse). */
function withLines(text: string, issues: readonly ImportIssue[]): ImportIssue[] {
  const need = issues.filter((i) => i.document !== null && i.line === null && i.question === null);
  if (need.length === 0) return [...issues];
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, schema: 'core' });
  return issues.map((i) => {
    if (i.document === null || i.line !== null || i.question !== null) return i;
    const doc = docs[i.document - 1];
    return doc ? { ...i, line: lineOf(doc, lc, parsePath(i.path)) } : i;
  });
}

function parsePath(path: string): Path {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** The line of the key (or item) deepest along `path` that exists in the document. */
function lineOf(doc: Document, lc: LineCounter, path: Path): number | null {
  const lineAt = (n: unknown) => (isNode(n) && n.range ? lc.linePos(n.range[0]).line : null);
  let node: unknown = doc.contents;
  let line = lineAt(node);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
      if (!pair) break;
      line = lineAt(pair.key) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      if (node === undefined) break;
      line = lineAt(node) ?? line;
    } else break;
  }
  return line;
}

interface WalkDoc {
  name: string;
  description: string;
  from: string;
  to: string;
  protocol: 'tcp' | 'udp' | 'icmp';
}

/** A few walks that show the imported cluster at work: a pod to a Service, to a pod on another node, to the
 *  internet. The source is the first pod with its own network namespace, preferring application namespaces. */
function walksFor(dump: KubectlDump, internet: boolean): WalkDoc[] {
  const pods = dump.kept
    .filter((k) => k.kind === 'Pod' && rec(k.object['spec'])['hostNetwork'] !== true)
    .map((k) => ({
      ref: k.name,
      node: str(rec(k.object['spec'])['nodeName']),
      labels: rec(rec(k.object['metadata'])['labels']),
      ports: containerPorts(k.object),
    }));
  const app = (ref: string) => !ref.split('/')[0]!.startsWith('kube-');
  const services = dump.kept.filter((k) => {
    if (k.kind !== 'Service') return false;
    const spec = rec(k.object['spec']);
    return (
      str(spec['clusterIP']) !== 'None' && spec['type'] !== 'ExternalName' && arr(spec['ports']).length > 0
    );
  });
  const svc =
    services.find((s) => app(s.name) && s.name !== 'default/kubernetes') ??
    services.find((s) => s.name !== 'default/kubernetes') ??
    services[0];
  // The client: an application pod that is not itself behind the Service (a pod calling its own Service is
  // a hairpin, not the usual case).
  const selector = rec(rec(svc?.object['spec'])['selector']);
  const behind = (p: (typeof pods)[number]) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => p.labels[k] === v);
  const from = pods.find((p) => app(p.ref) && !behind(p)) ?? pods.find((p) => !behind(p)) ?? pods[0];
  if (!from) return [];
  const walks: WalkDoc[] = [];
  if (svc) {
    const port = rec(arr(rec(svc.object['spec'])['ports'])[0]);
    const proto = str(port['protocol']) ?? 'TCP';
    if (typeof port['port'] === 'number' && proto !== 'SCTP')
      walks.push({
        name: 'pod-to-service',
        description: `${from.ref} connects to the Service ${svc.name} on port ${port['port']}/${proto}.`,
        from: `pod/${from.ref}`,
        to: `svc/${svc.name}:${port['port']}`,
        protocol: proto === 'UDP' ? 'udp' : 'tcp',
      });
  }
  const other =
    pods.find((p) => p.node !== from.node && p.ports.length > 0) ?? pods.find((p) => p.node !== from.node);
  if (other) {
    const port = other.ports[0];
    walks.push({
      name: 'pod-to-pod',
      description: `${from.ref} on ${from.node} reaches ${other.ref} on ${other.node}.`,
      from: `pod/${from.ref}`,
      to: port ? `pod/${other.ref}:${port.port}` : `pod/${other.ref}`,
      protocol: port ? port.protocol : 'icmp',
    });
  }
  if (internet)
    walks.push({
      name: 'pod-to-internet',
      description: `${from.ref} opens a connection to example.com (203.0.113.10:80) outside the cluster.`,
      from: `pod/${from.ref}`,
      to: '203.0.113.10:80',
      protocol: 'tcp',
    });
  return walks;
}

function containerPorts(pod: Obj): { port: number; protocol: 'tcp' | 'udp' }[] {
  const out: { port: number; protocol: 'tcp' | 'udp' }[] = [];
  for (const c of arr(rec(pod['spec'])['containers']))
    for (const p of arr(rec(c)['ports'])) {
      const port = rec(p)['containerPort'];
      const proto = str(rec(p)['protocol']) ?? 'TCP';
      if (typeof port === 'number' && (proto === 'TCP' || proto === 'UDP'))
        out.push({ port, protocol: proto === 'UDP' ? 'udp' : 'tcp' });
    }
  return out;
}

function questionLabel(id: QuestionId): string {
  return {
    name: 'Scenario name',
    cni: 'CNI',
    clusterCIDR: 'Cluster CIDR',
    serviceCIDR: 'Service CIDR',
    nodeNetwork: 'Node network',
    gateway: 'Gateway',
    internet: 'Internet',
  }[id];
}

// ---------------------------------------------------------------------------------------------------------
// Node state: what `iptables-save`, `ip route`, `ip neigh`, `bridge fdb` and `conntrack -L` printed on a
// node, as a NodeState document of the scenario (docs/import.md).

export const NODE_STATE_FIELDS = ['iptablesSave', 'ipRoute', 'ipNeigh', 'bridgeFdb', 'conntrack'] as const;
export type NodeStateField = (typeof NODE_STATE_FIELDS)[number];
export type NodeStateTexts = Partial<Record<NodeStateField, string>>;

/** The scenario text with the node's NodeState document set to `texts` (empty ones left out); a NodeState
 *  document the scenario already has for the node is replaced, every other document is kept as written. */
export function withNodeState(scenario: string, node: string, texts: NodeStateTexts): string {
  const spec: Obj = {};
  for (const f of NODE_STATE_FIELDS) {
    // Trailing blanks would force YAML's quoted style; tools never mean anything by them.
    const t = texts[f]
      ?.replace(/\r\n?/g, '\n')
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .trim();
    if (t) spec[f] = `${t}\n`;
  }
  // Every other document is kept as written (comments, formatting, one-line JSON): only a chunk that
  // mentions NodeState is parsed, to see whether it is this node's.
  const kept = scenario
    .split(/^---[ \t]*$/m)
    .filter((chunk) => {
      if (!chunk.includes('NodeState')) return true;
      const doc = parseAllDocuments(chunk, { schema: 'core' })[0];
      const v = doc && doc.errors.length === 0 ? (doc.toJS() as unknown) : null;
      return !(
        isRecord(v) &&
        v['kind'] === 'NodeState' &&
        v['apiVersion'] === 'packetwalk.dev/v1alpha1' &&
        rec(v['metadata'])['name'] === node
      );
    })
    .map((chunk) => chunk.replace(/^\n/, '').replace(/\n*$/, '\n'))
    .filter((t) => t.trim() !== '');
  const doc = {
    apiVersion: 'packetwalk.dev/v1alpha1',
    kind: 'NodeState',
    metadata: { name: node },
    spec,
  };
  return [...kept, stringify(doc, { lineWidth: 0, blockQuote: 'literal' })].join('---\n');
}
