// The validated scenario: what the parser (scenario/parse.ts) produces from Kubernetes objects and our
// `packetwalk.dev/v1alpha1 Cluster` document, with everything Kubernetes would fill in already filled in.
// It is plain data (structured-clone safe) and the only input of the engine's world builder.
import type { Cidr, Ip } from '../engine/addr.ts';
import type { IpProtocol } from '../engine/packet.ts';

/** How pods on different nodes reach each other. */
export const CNI_MODES = {
  /** flannel with the vxlan backend: flannel.1 VTEPs, onlink routes, permanent neigh + fdb entries. */
  'flannel-vxlan': 'flannel VXLAN overlay',
  /** flannel with the host-gw backend: a route per remote node's podCIDR via that node's IP. */
  'flannel-host-gw': 'flannel host-gw routes',
  /** The bridge plugin plus static routes an administrator adds on every node (the course's first setup). */
  'bridge-host-gw': 'bridge + static routes on every node',
  /** The bridge plugin, nodes route everything to the gateway, which holds a route per node's podCIDR. */
  'bridge-router': 'bridge + L3 router with per-node routes',
  /** Weave Net (fastdp): a `weave` bridge per node, one flat pod network over all nodes, and a VXLAN port
   *  (UDP 6784) on each bridge that carries L2 frames to the other peers. */
  weave: 'Weave Net L2 overlay (fastdp VXLAN)',
} as const;
export type CniMode = keyof typeof CNI_MODES;

/** What a scenario teaches: the scenario library groups built-in scenarios by it. In display order. */
export const TOPICS = {
  /** How pods reach each other: bridges, routes, overlays. */
  'pod-networking': 'Pod networking',
  /** Misconfigurations and what the packet does then. */
  'what-breaks': 'What breaks',
  /** ClusterIP, NodePort, LoadBalancer: kube-proxy's rules. */
  services: 'Services',
  /** Names, resolv.conf, CoreDNS, NetworkPolicy. */
  'dns-policy': 'DNS and policy',
  /** What kubelet, the CNI and the control plane do to build the network. */
  'control-plane': 'Control plane',
  /** A whole cluster, several lessons at once (the default). */
  cluster: 'Clusters',
} as const;
export type Topic = keyof typeof TOPICS;

/** The languages a scenario's prose may be translated into: the UI's languages (src/ui/i18n/languages.ts,
 *  which this module may not import; a test keeps the two lists equal). */
export const SCENARIO_LANGUAGES = ['en', 'ko'] as const;
export type ScenarioLanguage = (typeof SCENARIO_LANGUAGES)[number];

/** The prose of a scenario in one language (spec.translations.<lang>). Only what a learner reads is here:
 *  names, addresses and references are the same in every language. A field left out shows the original. */
export interface ScenarioTranslation {
  /** spec.description in this language. */
  readonly description?: string;
  /** Walk descriptions in this language, by walk name. */
  readonly walks?: Readonly<Record<string, { readonly description?: string }>>;
}

/** spec.translations, by language code. */
export type ScenarioTranslations = Readonly<Partial<Record<ScenarioLanguage, ScenarioTranslation>>>;

/** What a scenario says to a learner in one language. */
export interface ScenarioText {
  /** spec.description, translated when the scenario has it in the language, else the original. */
  readonly description: string;
  /** A walk's description, translated when the scenario has it in the language, else the original ('' for a
   *  walk the scenario does not have). */
  walkDescription(name: string): string;
}

/**
 * A scenario's prose in `lang` (a BCP 47 tag such as "ko" or "ko-KR", matched by its primary language), each
 * text falling back to the original when it has no translation. Takes a ClusterModel, or anything with the
 * same prose fields (a Preset: description and translations, no walks).
 */
export function scenarioText(
  scenario: {
    readonly description: string;
    readonly walks?: readonly { readonly name: string; readonly description: string }[];
    readonly translations?: ScenarioTranslations;
  },
  lang: string,
): ScenarioText {
  const primary = lang.toLowerCase().split(/[-_]/)[0] ?? '';
  const t = (SCENARIO_LANGUAGES as readonly string[]).includes(primary)
    ? scenario.translations?.[primary as ScenarioLanguage]
    : undefined;
  return {
    description: t?.description ?? scenario.description,
    walkDescription: (name) => {
      // Object.hasOwn: a walk named like an Object.prototype member must not find it.
      const walk = t?.walks && Object.hasOwn(t.walks, name) ? t.walks[name] : undefined;
      return walk?.description ?? scenario.walks?.find((w) => w.name === name)?.description ?? '';
    },
  };
}

export interface ContainerPort {
  readonly name: string | null;
  readonly containerPort: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
}

export interface NodeModel {
  readonly name: string;
  readonly internalIP: Ip;
  readonly podCIDR: Cidr;
  /** status.addresses[ExternalIP]: the public address the cloud's 1:1 NAT maps to this node. */
  readonly externalIP?: Ip;
  readonly labels: Readonly<Record<string, string>>;
  /** Fields the parser filled in (e.g. "spec.podCIDR") so the UI can say "allocated". */
  readonly allocated: readonly string[];
}

export interface PodModel {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  readonly podIP: Ip;
  readonly hostNetwork: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly ContainerPort[];
  /** Ready condition; a pod that is not ready is not an endpoint. */
  readonly ready: boolean;
  /** spec.dnsPolicy (default ClusterFirst): how kubelet writes the pod's /etc/resolv.conf. */
  readonly dnsPolicy: DnsPolicy;
  /** spec.dnsConfig, merged by kubelet into what dnsPolicy gives (pkg/kubelet/network/dns/dns.go). */
  readonly dnsConfig: PodDnsConfig | null;
  readonly allocated: readonly string[];
}

export type DnsPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

export interface PodDnsConfig {
  readonly nameservers: readonly Ip[];
  readonly searches: readonly string[];
  readonly options: readonly { readonly name: string; readonly value: string | null }[];
}

/** A node's own /etc/resolv.conf (kubelet's --resolv-conf): what dnsPolicy Default gives a pod, and the
 *  search domains ClusterFirst appends. */
export interface ResolvConfModel {
  readonly nameservers: readonly Ip[];
  readonly searches: readonly string[];
  readonly options: readonly string[];
}

export interface ServicePortModel {
  readonly name: string | null;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  /** A number or a container port name. */
  readonly targetPort: number | string;
  readonly nodePort: number | null;
}

export interface ServiceModel {
  readonly namespace: string;
  readonly name: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** null for headless services (clusterIP: None) and ExternalName. */
  readonly clusterIP: Ip | null;
  readonly selector: Readonly<Record<string, string>> | null;
  readonly ports: readonly ServicePortModel[];
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly sessionAffinity: 'None' | 'ClientIP';
  readonly externalIPs: readonly Ip[];
  readonly loadBalancerIPs: readonly Ip[];
  readonly loadBalancerSourceRanges: readonly Cidr[];
  readonly externalName: string | null;
  readonly allocated: readonly string[];
}

export interface EndpointModel {
  readonly addresses: readonly Ip[];
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | null;
  /** "namespace/name" of the pod behind the endpoint, when known. */
  readonly targetPod: string | null;
  /** endpoints[].hostname (a StatefulSet pod's name): CoreDNS names a headless Service's endpoint by it. */
  readonly hostname?: string | null;
}

export interface EndpointSliceModel {
  readonly namespace: string;
  readonly name: string;
  readonly serviceName: string;
  readonly ports: readonly { name: string | null; port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
  readonly endpoints: readonly EndpointModel[];
  /** True when the parser derived the slice from the service's selector and ready pods. */
  readonly generated: boolean;
}

/** A machine outside the cluster: on the node network (a laptop, an L3 router) or on the internet. */
export interface HostModel {
  readonly name: string;
  readonly ip: Ip;
  readonly network: 'node' | 'internet';
  /** TCP/UDP ports a process listens on; empty means every port (stated in the trace). */
  readonly listen: readonly number[];
  /** DNS names (A records) the internet's DNS gives this host, e.g. example.com. */
  readonly names: readonly string[];
  /** True when the host runs a recursive DNS resolver on 53/udp that knows every host's `names` (the
   *  upstream CoreDNS forwards to, and the nameserver of the nodes' resolv.conf). */
  readonly dnsServer: boolean;
}

/** The node network's gateway: a router between the node network and the internet. In bridge-router mode it
 *  also holds a route to every node's podCIDR. */
export interface GatewayModel {
  readonly name: string;
  /** Its address on the node network. */
  readonly ip: Ip;
  /** Its address on the internet side, or null when the scenario has no internet. */
  readonly internetIP: Ip | null;
  /** The cloud's 1:1 NAT: each node's InternalIP is mapped to its ExternalIP, and nothing else may leave
   *  (the course notes: pod addresses die at the NAT unless masqueraded to the node's). */
  readonly cloudNat?: boolean;
  /** bridge-router mode: false leaves out the gateway's routes to the podCIDRs (a router nobody told about
   *  the pod network, which drops pod addresses it has no route for). Absent means true. */
  readonly podRoutes?: boolean;
}

export interface WalkModel {
  readonly name: string;
  readonly description: string;
  /** A reference: pod/<ns>/<name>, node/<name>, host/<name>, or an IP. */
  readonly from: string;
  /** An IP, IP:port, or a reference. */
  readonly to: string;
  readonly protocol: IpProtocol;
  /** IP payload bytes after the L4 header (default small). */
  readonly size: number | null;
}

/** A metav1.LabelSelector requirement (apimachinery pkg/apis/meta/v1 types.go). */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  /** Non-empty for In and NotIn, empty for Exists and DoesNotExist. */
  readonly values: readonly string[];
}

/** A metav1.LabelSelector: every matchLabels pair and every requirement must hold; empty selects everything. */
export interface LabelSelectorModel {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

/** One entry of a rule's `ports` (networking/v1 NetworkPolicyPort). */
export interface NetworkPolicyPortModel {
  /** Defaulted to TCP, as the API server does. */
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  /** A number, a container port name (resolved on the destination pod), or null: every port of the protocol. */
  readonly port: number | string | null;
  /** The last port of the range port..endPort (only with a numeric port). */
  readonly endPort: number | null;
}

/** One entry of a rule's `from` or `to` (networking/v1 NetworkPolicyPeer). */
export type NetworkPolicyPeerModel =
  | {
      /** Pods chosen by labels: podSelector alone means the policy's namespace; namespaceSelector alone means
       *  every pod of the selected namespaces; both means the selected pods of the selected namespaces. */
      readonly kind: 'pods';
      /** null when absent (every pod); at least one of the two selectors is set. */
      readonly podSelector: LabelSelectorModel | null;
      /** null when absent (the policy's own namespace). */
      readonly namespaceSelector: LabelSelectorModel | null;
    }
  | {
      /** Addresses: `cidr` without the `except` prefixes. */
      readonly kind: 'ipBlock';
      readonly cidr: Cidr;
      readonly except: readonly Cidr[];
    };

/** An ingress or egress rule: traffic must match one peer (none: every peer) and one port (none: every port). */
export interface NetworkPolicyRuleModel {
  /** `from` of an ingress rule, `to` of an egress rule. */
  readonly peers: readonly NetworkPolicyPeerModel[];
  readonly ports: readonly NetworkPolicyPortModel[];
}

export interface NetworkPolicyModel {
  readonly namespace: string;
  readonly name: string;
  /** spec.podSelector: the pods of the policy's namespace it applies to (empty: all of them). */
  readonly podSelector: LabelSelectorModel;
  /** spec.policyTypes; when absent, Ingress plus Egress if spec.egress has rules (the API server's default). */
  readonly policyTypes: readonly ('Ingress' | 'Egress')[];
  readonly ingress: readonly NetworkPolicyRuleModel[];
  readonly egress: readonly NetworkPolicyRuleModel[];
  /** Fields the parser filled in ("spec.policyTypes"). */
  readonly allocated: readonly string[];
}

/** One ACCEPT rule of a node firewall: new connections of `protocol` to `port`..`endPort` from `from`. */
export interface NodeFirewallAllowModel {
  readonly protocol: 'TCP' | 'UDP' | 'ICMP';
  /** null: every port (always null for ICMP). */
  readonly port: number | null;
  /** The last port of the range port..endPort, or null for one port. */
  readonly endPort: number | null;
  /** Source prefixes; empty: any source. */
  readonly from: readonly Cidr[];
  /** What the port is for (the rule's iptables comment). */
  readonly description: string;
}

/**
 * An administrator's host firewall on some nodes (the Cluster document's `nodeFirewall`): a chain in the
 * filter table jumped to from INPUT that accepts loopback, replies, and the listed ports, and drops the rest.
 * It sees only what the node itself receives; forwarded pod traffic (FORWARD) never meets it.
 */
export interface NodeFirewallModel {
  readonly name: string;
  /** The nodes it applies to (resolved from its nodeSelector or node list), in node order. */
  readonly nodes: readonly string[];
  readonly allow: readonly NodeFirewallAllowModel[];
}

/** A NodeState document: what `iptables-save`, `ip route`, `ip neigh`, `bridge fdb` and `conntrack -L`
 *  printed on a node (null: not given). The engine reads the texts when it builds the node (nodeState.ts). */
export interface NodeStateModel {
  readonly node: string;
  readonly iptablesSave: string | null;
  readonly ipRoute: string | null;
  readonly ipNeigh: string | null;
  readonly bridgeFdb: string | null;
  readonly conntrack: string | null;
}

export interface ClusterModel {
  readonly name: string;
  /** The scenario's introduction for a learner (spec.description). */
  readonly description: string;
  /** spec.topic: where the scenario library lists it. */
  readonly topic?: Topic;
  /** spec.translations: the description and walk descriptions in other languages (absent when none);
   *  read them through scenarioText. */
  readonly translations?: ScenarioTranslations;
  readonly cni: CniMode;
  /** MTU of every node's NIC and of the node network. */
  readonly mtu: number;
  /** The MTU the CNI gives cni0 and pods, when the scenario overrides what flannel computes (a classic
   *  misconfiguration: 1500 on a VXLAN overlay whose flannel.1 has 1450). */
  readonly podMtu?: number;
  /** VXLAN network identifier and UDP port, used by flannel-vxlan (flannel's defaults: VNI 1, port 8472). */
  readonly vxlan: { readonly vni: number; readonly port: number };
  readonly clusterCIDR: Cidr;
  readonly serviceCIDR: Cidr;
  readonly clusterDomain: string;
  /** kubelet's clusterDNS: the kube-system/kube-dns ClusterIP when that Service exists, else the 10th
   *  address of the service CIDR (kubeadm's choice) — pods are told to use it either way. */
  readonly clusterDNS: Ip;
  /** Every node's /etc/resolv.conf (kubelet --resolv-conf). */
  readonly nodeResolvConf: ResolvConfModel;
  readonly nodeNetwork: Cidr;
  readonly gateway: GatewayModel | null;
  /** The internet side of the gateway (documentation ranges only). */
  readonly internet: Cidr | null;
  readonly namespaces: readonly string[];
  /** Every namespace's labels, keyed by namespace name, with `kubernetes.io/metadata.name` set to the name as
   *  the API server sets it (NamespaceDefaultLabelName); NetworkPolicy namespaceSelectors match these. */
  readonly namespaceLabels: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly nodes: readonly NodeModel[];
  readonly pods: readonly PodModel[];
  readonly services: readonly ServiceModel[];
  readonly endpointSlices: readonly EndpointSliceModel[];
  readonly hosts: readonly HostModel[];
  readonly walks: readonly WalkModel[];
  /** Host firewalls on nodes' INPUT (none by default); a node may be selected by several, rules in order. */
  readonly nodeFirewall?: readonly NodeFirewallModel[];
  /** networking.k8s.io/v1 NetworkPolicies, validated and defaulted as the API server would, in document order. */
  readonly networkPolicies: readonly NetworkPolicyModel[];
  /** NodeState documents, at most one per node: tables that replace what the scenario builds on it. */
  readonly nodeStates?: readonly NodeStateModel[];
  /** Documents kept for later features (CoreDNS ConfigMap, KubeProxyConfiguration), as parsed. */
  readonly extra: {
    readonly corefile: string | null;
    readonly kubeProxy: {
      readonly mode: 'iptables' | 'ipvs';
      readonly masqueradeAll: boolean;
      /** ipvs mode: KUBE-IPVS-FILTER (kube-proxy ≥ v1.27, the default). false shows older kube-proxy; the
       *  parser never sets it (no KubeProxyConfiguration field says it). */
      readonly ipvsAccessFilter?: boolean;
    } | null;
  };
}
