// The iptables rules the CNI writes on a node (flanneld), and a node's whole filter + nat ruleset: kubelet's,
// kube-proxy's and flannel's together, in the order they end up in each chain.
//
// flannel: followed (not copied) from flannel-io/flannel v0.28.9 (cdf76059):
//   pkg/trafficmngr/iptables/iptables.go  masqRules (FLANNEL-POSTRTG, with --ip-masq), forwardRules
//                                         (FLANNEL-FWD, --iptables-forward-rules, on by default)
//   pkg/trafficmngr/trafficmngr.go        KubeProxyMark = "0x4000/0x4000"
//   pkg/trafficmngr/iptables/iptables_restore.go  the payload: rules appended (-A) with iptables-restore
//                                         --noflush, a --comment value in double quotes
//   main.go                               masq rules only with --ip-masq (kube-flannel.yml passes it);
//                                         forward rules unless --iptables-forward-rules=false
// The rules' cluster CIDR is flannel's Network (net-conf.json), the pod CIDR the node's lease (its
// spec.podCIDR with the kube subnet manager).
//
// kubelet: kubernetes/kubernetes pkg/kubelet/kubelet_network_linux.go syncIPTablesRules — KUBE-FIREWALL with
// the "block incoming localnet connections" rule, jumped to first from INPUT and OUTPUT (kubelet starts
// before kube-proxy; kube-proxy's own jumps, inserted with -I, then come before it).
import { formatCidr, parseCidr } from './addr.ts';
import { kubeProxyBuiltinJumps, parseIPTablesDump, type BuiltinJump } from './kubeproxy.ts';

export interface FlannelIptablesInput {
  /** flannel's Network: the cluster CIDR. */
  readonly clusterCIDR: string;
  /** This node's lease: its podCIDR. */
  readonly podCIDR: string;
  /** --ip-masq (the kube-flannel.yml manifest sets it). */
  readonly ipMasq: boolean;
  /** iptables supports --random-fully and --ip-masq-fully-random-disable is not set. */
  readonly randomFully: boolean;
  /** --iptables-forward-rules (default true). */
  readonly forwardRules: boolean;
}

export interface IptablesRule {
  readonly table: 'filter' | 'nat';
  readonly chain: string;
  /** The rule as iptables-save prints it, `-A CHAIN ...`. */
  readonly rule: string;
}

/** flannel's KubeProxyMark: traffic kube-proxy marked for masquerading is left to kube-proxy. */
export const FLANNEL_KUBE_PROXY_MARK = '0x4000/0x4000';

/** The flannel defaults of the kube-flannel.yml DaemonSet. */
export function flannelDefaults(clusterCIDR: string, podCIDR: string): FlannelIptablesInput {
  return { clusterCIDR, podCIDR, ipMasq: true, randomFully: true, forwardRules: true };
}

/** The rules flanneld appends (its chains FLANNEL-POSTRTG and FLANNEL-FWD, and the jumps to them). */
export function flannelIptablesRules(input: FlannelIptablesInput): IptablesRule[] {
  // flannel prints ip.IP4Net.String(): the network address and prefix.
  const cluster = formatCidr(parseCidr(input.clusterCIDR));
  const pod = formatCidr(parseCidr(input.podCIDR));
  const rules: IptablesRule[] = [];
  const nat = (chain: string, spec: string): void => {
    rules.push({ table: 'nat', chain, rule: `-A ${chain} ${spec}` });
  };
  if (input.ipMasq) {
    const masq = `-j MASQUERADE${input.randomFully ? ' --random-fully' : ''}`;
    const c = '-m comment --comment "flanneld masq"';
    // Run flannel's rules from POSTROUTING.
    nat('POSTROUTING', `${c} -j FLANNEL-POSTRTG`);
    // Leave traffic kube-proxy marked to kube-proxy's MASQUERADE (double NAT on some kernels otherwise).
    nat('FLANNEL-POSTRTG', `-m mark --mark ${FLANNEL_KUBE_PROXY_MARK} ${c} -j RETURN`);
    // No NAT inside the overlay network.
    nat('FLANNEL-POSTRTG', `-s ${pod} -d ${cluster} ${c} -j RETURN`);
    nat('FLANNEL-POSTRTG', `-s ${cluster} -d ${pod} ${c} -j RETURN`);
    // External traffic arriving for this node's pods keeps its source.
    nat('FLANNEL-POSTRTG', `! -s ${cluster} -d ${pod} ${c} -j RETURN`);
    // Pods going anywhere else (except multicast) are masqueraded.
    nat('FLANNEL-POSTRTG', `-s ${cluster} ! -d 224.0.0.0/4 ${c} ${masq}`);
    // And so is the host going to the overlay.
    nat('FLANNEL-POSTRTG', `! -s ${cluster} -d ${cluster} ${c} ${masq}`);
  }
  if (input.forwardRules) {
    const c = '-m comment --comment "flanneld forward"';
    rules.push({ table: 'filter', chain: 'FORWARD', rule: `-A FORWARD ${c} -j FLANNEL-FWD` });
    // Forward anything to or from the flannel network.
    rules.push({
      table: 'filter',
      chain: 'FLANNEL-FWD',
      rule: `-A FLANNEL-FWD -s ${cluster} ${c} -j ACCEPT`,
    });
    rules.push({
      table: 'filter',
      chain: 'FLANNEL-FWD',
      rule: `-A FLANNEL-FWD -d ${cluster} ${c} -j ACCEPT`,
    });
  }
  return rules;
}

const BUILTIN: Readonly<Record<'filter' | 'nat', readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** flannel's rules as iptables-save text (filter, then nat; the built-in chains it appends to included). */
export function flannelIptablesSave(input: FlannelIptablesInput): string {
  return render(collect(flannelIptablesRules(input), ['FLANNEL-FWD', 'FLANNEL-POSTRTG']));
}

export interface NodeIptablesInput {
  /** kube-proxy's restore text (kubeProxyIptablesSave / kubeProxySync().text), or null without kube-proxy. */
  readonly kubeProxy: string | null;
  readonly flannel: FlannelIptablesInput | null;
  /** kubelet's KUBE-FIREWALL chain and jumps (IPv4). Default true. */
  readonly kubelet?: boolean;
  /** The jumps from the built-in chains: iptables mode's (kubeProxyBuiltinJumps, the default) or ipvs mode's
   *  (kubeProxyIpvsBuiltinJumps, with `kubeProxy` then being the ipvs proxier's restore input). */
  readonly builtinJumps?: readonly BuiltinJump[];
}

/**
 * A node's filter and nat tables as iptables-save prints them: built-in chains (policy ACCEPT) first, then
 * the user chains; each chain's rules in the order they end up in the kernel — kube-proxy's -I jumps before
 * kubelet's and flannel's appended ones. Rule text is kept as each component wrote it.
 */
export function nodeIptablesSave(input: NodeIptablesInput): string {
  const rules: IptablesRule[] = [];
  const userChains: Record<'filter' | 'nat', string[]> = { filter: [], nat: [] };
  const seen = { filter: new Set<string>(), nat: new Set<string>() };
  const addChain = (table: 'filter' | 'nat', chain: string): void => {
    if (BUILTIN[table].includes(chain) || seen[table].has(chain)) return;
    seen[table].add(chain);
    userChains[table].push(chain);
  };
  const kubelet = input.kubelet !== false;
  for (const j of input.builtinJumps ?? kubeProxyBuiltinJumps()) {
    if (j.by === 'kube-proxy' ? input.kubeProxy !== null : kubelet) rules.push(j);
  }
  if (kubelet) {
    addChain('filter', 'KUBE-FIREWALL');
    rules.push({
      table: 'filter',
      chain: 'KUBE-FIREWALL',
      rule: '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    });
  }
  if (input.kubeProxy !== null)
    for (const t of parseIPTablesDump(input.kubeProxy)) {
      if (t.name !== 'filter' && t.name !== 'nat') continue;
      const table = t.name;
      for (const c of t.chains) {
        if (c.deleted) continue;
        addChain(table, c.name);
        // kube-proxy's restore flushes KUBE-FIREWALL and writes the same rule again.
        if (c.name === 'KUBE-FIREWALL') {
          for (let i = rules.length - 1; i >= 0; i--)
            if (rules[i]!.chain === 'KUBE-FIREWALL') rules.splice(i, 1);
        }
        for (const r of c.rules) rules.push({ table, chain: c.name, rule: r });
      }
    }
  if (input.flannel !== null)
    for (const r of flannelIptablesRules(input.flannel)) {
      addChain(r.table, r.chain);
      rules.push(r);
    }
  return render({ rules, userChains });
}

function collect(
  rules: IptablesRule[],
  chains: readonly string[],
): { rules: IptablesRule[]; userChains: Record<'filter' | 'nat', string[]> } {
  const userChains: Record<'filter' | 'nat', string[]> = { filter: [], nat: [] };
  for (const r of rules)
    if (chains.includes(r.chain) && !userChains[r.table].includes(r.chain)) userChains[r.table].push(r.chain);
  return { rules, userChains };
}

function render({
  rules,
  userChains,
}: {
  rules: IptablesRule[];
  userChains: Record<'filter' | 'nat', string[]>;
}): string {
  let out = '';
  for (const table of ['filter', 'nat'] as const) {
    const own = rules.filter((r) => r.table === table);
    const builtins = BUILTIN[table];
    out += `*${table}\n`;
    for (const c of builtins) out += `:${c} ACCEPT [0:0]\n`;
    for (const c of userChains[table]) out += `:${c} - [0:0]\n`;
    // Rules grouped by chain in one pass: kube-proxy's dump at 10,000 services has ~100,000 chains.
    const byChain = new Map<string, string[]>();
    for (const r of own) {
      const list = byChain.get(r.chain);
      if (list) list.push(r.rule);
      else byChain.set(r.chain, [r.rule]);
    }
    for (const c of [...builtins, ...userChains[table]])
      for (const r of byChain.get(c) ?? []) out += `${r}\n`;
    out += 'COMMIT\n';
  }
  return out;
}
