// A plain-data picture of a built world for viewers (the canvas, the CLI): every namespace with its
// devices, addresses and tables as iproute2 prints them, and the links between devices.
// Structured-clone safe; the UI receives it from the worker.
import type { ScenarioTranslations } from '../scenario/model.ts';

export interface DeviceView {
  readonly name: string;
  readonly kind: 'loopback' | 'veth' | 'bridge' | 'vxlan' | 'physical' | 'dummy';
  readonly mac: string;
  readonly mtu: number;
  /** "10.244.1.1/24" */
  readonly addrs: readonly string[];
  /** The bridge this device is a port of. */
  readonly master: string | null;
  /** The other end of a veth pair. */
  readonly peer: { readonly netns: string; readonly device: string } | null;
  /** The L2 segment a physical NIC is plugged into. */
  readonly segment: string | null;
}

export interface NetnsView {
  /** node/<node>, pod/<ns>/<name> or host/<name> */
  readonly id: string;
  readonly kind: 'node' | 'pod' | 'host';
  readonly node: string | null;
  /** What a person calls it: the node name, "default/client", "laptop". */
  readonly label: string;
  readonly devices: readonly DeviceView[];
  /** `ip route show table main` lines. */
  readonly routes: readonly string[];
  /** `ip neigh` lines (permanent entries; learned ones appear in traces). */
  readonly neighbours: readonly string[];
  /** `bridge fdb` lines for bridges and VXLAN devices (static entries). */
  readonly fdb: readonly string[];
  readonly ipForward: boolean;
  /** The namespace's iptables rules as `iptables-save` prints them; absent when nothing wrote any (pods).
   *  The tables panel shows the chains a netfilter decision traversed from it. */
  readonly iptablesSave?: string;
  /** State files on a node's disk that the CNI plugins read and write (flannel's subnet.env, host-local's
   *  reservations), by path; absent when there are none. */
  readonly files?: readonly { readonly path: string; readonly content: string }[];
}

export interface LinkView {
  /** veth: a and b are the two ends. wire: a is the NIC, b is {netns: 'segment', device: <segment id>}. */
  readonly kind: 'veth' | 'wire';
  readonly a: { readonly netns: string; readonly device: string };
  readonly b: { readonly netns: string; readonly device: string };
  /** For wires: the segment id. */
  readonly segment: string | null;
}

export interface SegmentView {
  readonly id: string;
  readonly cidr: string;
  readonly label: string;
}

export interface WorldView {
  readonly name: string;
  readonly description: string;
  readonly cni: string;
  readonly namespaces: readonly NetnsView[];
  readonly segments: readonly SegmentView[];
  readonly links: readonly LinkView[];
  /** Named walks of the scenario. */
  readonly walks: readonly {
    name: string;
    description: string;
    from: string;
    to: string;
    protocol: string;
  }[];
  /** The scenario's spec.translations (absent when none): with `description` and `walks`, what
   *  scenarioText(view, lang) in scenario/model.ts reads to give the prose in the UI's language. */
  readonly translations?: ScenarioTranslations;
}
