// The iptables rules the CNI writes on a node (flanneld; weave's router and weave-npc), and a node's whole
// filter + nat ruleset: kubelet's, kube-proxy's and the CNI's together, in the order they end up in each chain.
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
// weave: followed (not copied) from weaveworks/weave v2.8.1 (ba64f8e8; unchanged up to master 8c847638):
//   net/bridge.go          ConfigureIPTables: the control-port guard on INPUT, the -i/-o weave rules inserted at
//                          the top of FORWARD (ensureRulesAtTop; with weave-npc: WEAVE-NPC-EGRESS, WEAVE-NPC,
//                          NFLOG group 86 and DROP of NEW traffic into the bridge; without: WEAVE-EXPOSE), the
//                          replies' ACCEPT, `-A POSTROUTING -j WEAVE` and, with --no-masq-local, WEAVE's first
//                          rule: RETURN for destinations in the hash:net ipset weaver-no-masq-local (this peer's
//                          IPAM ranges, NoMasqLocalTracker)
//   net/expose.go          exposeNAT: what `weave expose` appends to WEAVE for the bridge's CIDR (multicast
//                          RETURN, MASQUERADE into the range from outside, MASQUERADE out of it); Expose: the
//                          WEAVE-EXPOSE ACCEPT without weave-npc
//   prog/weave-npc/main.go createBaseRules: WEAVE-NPC and WEAVE-NPC-EGRESS (--allow-mcast defaults to true)
//   npc/controller.go      AddNetworkPolicy: NFLOG + DROP at the end of WEAVE-NPC-EGRESS once an egress policy exists
//   common/chains/npc.go   the WEAVE-NPC* chain names; npc/constants.go EgressMark 0x40000/0x40000
//   prog/weave-kube/launch.sh  weave-kube's defaults: IPALLOC_RANGE, --expect-npc (EXPECT_NPC=1), --no-masq-local,
//                          the control port 6784 (--http-addr 127.0.0.1:6784), `weave --local expose` with
//                          no address (an address of the default subnet: the whole range, so its prefix)
// Simplified (the engine decides NetworkPolicy in its own check, walk.ts enforcePolicy, right after the
// filter table accepts, for every CNI): weave-npc's per-namespace default-allow ipsets and per-policy rules
// are not written. WEAVE-NPC-DEFAULT accepts, and WEAVE-NPC-EGRESS-DEFAULT marks, every NEW connection,
// handing the decision over to that check (same semantics, netpol.ts); WEAVE-NPC-INGRESS and
// WEAVE-NPC-EGRESS-CUSTOM stay empty. weave-npc's physdev rules (`--physdev-out/--physdev-in vethwe-bridge`:
// traffic to and from the datapath skips policy on this node) are left out: the engine has neither the OVS
// datapath nor its vethwe-bridge port (the VXLAN vport is a port of the bridge), nor the physdev match; the
// policy check only ever judges pods on its own node, which is their effect. NFLOG (a log copy) is not
// modelled: a walk that reached it would stop, and with the hand-over no NEW packet does.
//
// kubelet: kubernetes/kubernetes pkg/kubelet/kubelet_network_linux.go syncIPTablesRules — KUBE-FIREWALL with
// the "block incoming localnet connections" rule, jumped to first from INPUT and OUTPUT (kubelet starts
// before kube-proxy; kube-proxy's own jumps, inserted with -I, then come before it).
//
// nodeIptables gives a node's rules both as nodeIptablesSave's text and as what parseIptablesSave makes of
// it, the latter from kube-proxy's rules as data (kubeproxy.ts kubeProxyRules) without printing the text.
import { formatCidr, parseCidr } from './addr.ts';
import { parseIptablesSave, parseRuleCached, type ParsedIptables } from './iptables.ts';
import {
  kubeProxyBuiltinJumps,
  parseIPTablesDump,
  restoreLineText,
  type BuiltinJump,
  type DumpChainOf,
  type DumpTableOf,
  type KubeProxyTable,
  type RestoreLine,
} from './kubeproxy.ts';
import type { IpsetSet } from './ipvs.ts';
import type { Chain, Rule, Ruleset } from './netfilter.ts';
import type { NodeFirewallModel } from '../scenario/model.ts';

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

// ───────────────────────────── weave ─────────────────────────────

/** What weave's rules depend on (weave-kube's launch.sh options and the peer's IPAM). */
export interface WeaveIptablesInput {
  /** The weave bridge's name (weave's default, `weave`). */
  readonly bridge: string;
  /** `weave expose`'s address with its prefix: a CIDR of the whole allocation range (IPALLOC_RANGE). */
  readonly exposeCIDR: string;
  /** The ranges this peer's IPAM owns: the members of weaver-no-masq-local. */
  readonly localRanges: readonly string[];
  /** --expect-npc (EXPECT_NPC, on by default): weave-npc enforces NetworkPolicy. */
  readonly npc: boolean;
  /** --no-masq-local (NO_MASQ_LOCAL, on by default). */
  readonly noMasqLocal: boolean;
  /** The router's HTTP control port (--http-addr 127.0.0.1:6784), or null without one. */
  readonly controlPort: number | null;
  /** weave-npc has seen an egress NetworkPolicy (it then adds NFLOG and DROP to WEAVE-NPC-EGRESS). */
  readonly egressPolicies: boolean;
}

/** weave's ipset of the ranges the local peer allocates from (net/bridge.go NoMasqLocalIpset, hash:net). */
export const WEAVE_NO_MASQ_LOCAL_IPSET = 'weaver-no-masq-local';
/** weave-npc's egress mark (npc/constants.go EgressMark). */
export const WEAVE_EGRESS_MARK = '0x40000/0x40000';
/** The NFLOG group weave-npc logs dropped connections to (read by its ulogd). */
const WEAVE_NFLOG = '-j NFLOG --nflog-group 86';

/** weave-kube's defaults for a node: weave-npc on, --no-masq-local, the control port, `weave expose`. */
export function weaveDefaults(
  bridge: string,
  exposeCIDR: string,
  podCIDR: string,
  egressPolicies: boolean,
): WeaveIptablesInput {
  return {
    bridge,
    exposeCIDR,
    localRanges: [podCIDR],
    npc: true,
    noMasqLocal: true,
    controlPort: 6784,
    egressPolicies,
  };
}

/** weave's rules that weaver inserts at the top of filter FORWARD (ensureRulesAtTop), in their order. */
export function weaveForwardRules(input: WeaveIptablesInput): IptablesRule[] {
  const br = input.bridge;
  const fwd = (spec: string): IptablesRule => ({
    table: 'filter',
    chain: 'FORWARD',
    rule: `-A FORWARD ${spec}`,
  });
  // iptables-save escapes the comment's single quotes (xtables_save_string).
  const note = `-m comment --comment "NOTE: this must go before \\'-j KUBE-FORWARD\\'"`;
  const rules: IptablesRule[] = [];
  if (input.npc)
    rules.push(
      // Traffic from the bridge (the pods) meets weave-npc's egress policies (replies are accepted there)...
      fwd(`-i ${br} ${note} -j WEAVE-NPC-EGRESS`),
      // ...traffic into the bridge its ingress policies; a NEW connection WEAVE-NPC did not accept is logged
      // and dropped, and so is anything else WEAVE-NPC did not accept.
      fwd(`-o ${br} ${note} -j WEAVE-NPC`),
      fwd(`-o ${br} -m state --state NEW ${WEAVE_NFLOG}`),
      fwd(`-o ${br} -j DROP`),
    );
  else rules.push(fwd(`-i ${br} -o ${br} -j ACCEPT`), fwd(`-o ${br} -j WEAVE-EXPOSE`));
  // Pods may go anywhere else; replies may come back.
  rules.push(
    fwd(`-i ${br} ! -o ${br} -j ACCEPT`),
    fwd(`-o ${br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`),
  );
  return rules;
}

/** weave's other rules, appended (the router's, `weave expose`'s, then weave-npc's), with their chains. */
export function weaveIptablesRules(input: WeaveIptablesInput): IptablesRule[] {
  const br = input.bridge;
  const range = formatCidr(parseCidr(input.exposeCIDR));
  const rules: IptablesRule[] = [];
  const add = (table: 'filter' | 'nat', chain: string, spec: string): void => {
    rules.push({ table, chain, rule: `-A ${chain}${spec === '' ? '' : ` ${spec}`}` });
  };
  // The router (ConfigureIPTables).
  if (input.controlPort !== null)
    add(
      'filter',
      'INPUT',
      `-d 127.0.0.1/32 -p tcp -m tcp --dport ${input.controlPort} -m addrtype ! --src-type LOCAL -m conntrack ! --ctstate RELATED,ESTABLISHED -m comment --comment "Block non-local access to Weave Net control port" -j DROP`,
    );
  // Pods talking to the node itself meet the egress policies too.
  if (input.npc) add('filter', 'INPUT', `-i ${br} -j WEAVE-NPC-EGRESS`);
  add('nat', 'POSTROUTING', '-j WEAVE');
  if (input.noMasqLocal)
    add(
      'nat',
      'WEAVE',
      `-m set --match-set ${WEAVE_NO_MASQ_LOCAL_IPSET} dst -m comment --comment "Prevent SNAT to locally running containers" -j RETURN`,
    );
  // `weave expose` (exposeNAT): multicast from the range keeps its source; the host and the world going into
  // the range are masqueraded (to the bridge's address), and so are pods leaving it (to the node's).
  add('nat', 'WEAVE', `-s ${range} -d 224.0.0.0/4 -j RETURN`);
  add('nat', 'WEAVE', `! -s ${range} -d ${range} -j MASQUERADE`);
  add('nat', 'WEAVE', `-s ${range} ! -d ${range} -j MASQUERADE`);
  if (!input.npc) {
    add('filter', 'WEAVE-EXPOSE', `-d ${range} -j ACCEPT`);
    return rules;
  }
  // weave-npc (createBaseRules), with --allow-mcast.
  const hand = (what: string): string =>
    `-m comment --comment "packet-walk: NetworkPolicy ${what} is left to the engine policy check (weave-npc ipsets not modelled)"`;
  add('filter', 'WEAVE-NPC', '-m state --state RELATED,ESTABLISHED -j ACCEPT');
  add('filter', 'WEAVE-NPC', '-d 224.0.0.0/4 -j ACCEPT');
  add('filter', 'WEAVE-NPC', '-m state --state NEW -j WEAVE-NPC-DEFAULT');
  add('filter', 'WEAVE-NPC', '-m state --state NEW -j WEAVE-NPC-INGRESS');
  add('filter', 'WEAVE-NPC-DEFAULT', `${hand('ingress')} -j ACCEPT`);
  add('filter', 'WEAVE-NPC-EGRESS-ACCEPT', `-j MARK --set-xmark ${WEAVE_EGRESS_MARK}`);
  add('filter', 'WEAVE-NPC-EGRESS', '-m state --state RELATED,ESTABLISHED -j ACCEPT');
  add('filter', 'WEAVE-NPC-EGRESS', '-m addrtype --dst-type LOCAL -j RETURN');
  add('filter', 'WEAVE-NPC-EGRESS', '-d 224.0.0.0/4 -j RETURN');
  add('filter', 'WEAVE-NPC-EGRESS', '-m state --state NEW -j WEAVE-NPC-EGRESS-DEFAULT');
  add(
    'filter',
    'WEAVE-NPC-EGRESS',
    `-m state --state NEW -m mark ! --mark ${WEAVE_EGRESS_MARK} -j WEAVE-NPC-EGRESS-CUSTOM`,
  );
  if (input.egressPolicies) {
    add(
      'filter',
      'WEAVE-NPC-EGRESS',
      `-m state --state NEW -m mark ! --mark ${WEAVE_EGRESS_MARK} ${WEAVE_NFLOG}`,
    );
    add('filter', 'WEAVE-NPC-EGRESS', `-m mark ! --mark ${WEAVE_EGRESS_MARK} -j DROP`);
  }
  add('filter', 'WEAVE-NPC-EGRESS-DEFAULT', `${hand('egress')} -j WEAVE-NPC-EGRESS-ACCEPT`);
  add('filter', 'WEAVE-NPC-EGRESS-DEFAULT', `${hand('egress')} -j RETURN`);
  return rules;
}

/** weave's user chains, in the order its components create them (filter, then nat). */
const WEAVE_CHAINS: Readonly<Record<'npc' | 'plain', readonly string[]>> = {
  npc: [
    'WEAVE-NPC',
    'WEAVE-NPC-EGRESS',
    'WEAVE-NPC-INGRESS',
    'WEAVE-NPC-DEFAULT',
    'WEAVE-NPC-EGRESS-ACCEPT',
    'WEAVE-NPC-EGRESS-CUSTOM',
    'WEAVE-NPC-EGRESS-DEFAULT',
    'WEAVE',
  ],
  plain: ['WEAVE-EXPOSE', 'WEAVE'],
};

/** The ipsets weave's rules match: weaver-no-masq-local with this peer's ranges (with --no-masq-local). */
export function weaveIpsets(input: WeaveIptablesInput): IpsetSet[] {
  if (!input.noMasqLocal) return [];
  return [
    {
      name: WEAVE_NO_MASQ_LOCAL_IPSET,
      type: 'hash:net',
      entries: input.localRanges.map((r) => formatCidr(parseCidr(r))),
      comment: "the ranges this peer's IPAM allocates from: pods on this node",
    },
  ];
}

/** weave's rules as iptables-save text (its chains declared, the built-in chains it writes to included). */
export function weaveIptablesSave(input: WeaveIptablesInput): string {
  return render(
    nodeRules({ kubeProxy: null, flannel: null, weave: input, kubelet: false, builtinJumps: [] }),
  );
}

export interface NodeIptablesInput {
  /** kube-proxy's restore text (kubeProxyIptablesSave / kubeProxySync().text), or null without kube-proxy. */
  readonly kubeProxy: string | null;
  readonly flannel: FlannelIptablesInput | null;
  /** weave's rules (router, `weave expose`, weave-npc), or null/absent in other CNI modes. */
  readonly weave?: WeaveIptablesInput | null;
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
  return render(
    nodeRules({ ...input, kubeProxy: input.kubeProxy === null ? null : parseIPTablesDump(input.kubeProxy) }),
  );
}

/** nodeIptablesSave's input with kube-proxy's rules as data (kubeproxy.ts kubeProxyRules().tables). */
export interface NodeIptablesRulesInput extends Omit<NodeIptablesInput, 'kubeProxy'> {
  readonly kubeProxy: readonly KubeProxyDumpTable[] | null;
}

/** A table of kube-proxy's dump: parseIPTablesDump's, or kubeProxyRules' with what it knows of its chains. */
type KubeProxyDumpTable = DumpTableOf<RestoreLine> & Partial<Pick<KubeProxyTable, 'byName' | 'withText'>>;

/**
 * A node's rules both ways: `text()` is nodeIptablesSave's text, `parse()` what parseIptablesSave makes of
 * that text — built from the rules as data, without the text (a node of a 10,000-Service cluster has
 * ~430,000 lines). Whatever the text would not give back as is (a rule that does not parse, or that names
 * another chain; an odd chain name) sends parse() through the text itself.
 */
export function nodeIptables(input: NodeIptablesRulesInput): {
  text: () => string;
  parse: () => ParsedIptables;
} {
  const text = (): string => render(nodeRules(input));
  return { text, parse: () => parseNodeRules(nodeRules(input), text) };
}

type TableName = 'filter' | 'nat';
type KubeProxyChain = DumpChainOf<RestoreLine>;

/** kube-proxy's chains of a dump table by name; null if a name is declared twice (then each chain is merged
 *  line by line). Worked out once per table (kubeProxyRules gives it): every node shares kube-proxy's rules. */
const BY_NAME = new WeakMap<readonly KubeProxyChain[], ReadonlyMap<string, KubeProxyChain> | null>();

function chainsByName(t: KubeProxyDumpTable): ReadonlyMap<string, KubeProxyChain> | null {
  if (t.byName !== undefined) return t.byName;
  let byName = BY_NAME.get(t.chains);
  if (byName === undefined) {
    const m = new Map<string, KubeProxyChain>();
    for (const c of t.chains) m.set(c.name, c);
    byName = m.size === t.chains.length ? m : null;
    BY_NAME.set(t.chains, byName);
  }
  return byName;
}

/**
 * kube-proxy's table in a node's table: its chains in order, declared here as a block, and taken whole —
 * their own lines, not copied (a 10,000-Service dump has ~110,000 chains) — but for the few exceptions.
 */
interface KubeProxyBlock {
  readonly chains: readonly KubeProxyChain[];
  readonly byName: ReadonlyMap<string, KubeProxyChain>;
  /** The chains with a line as text (the others' lines are all rules as data); null: not known. */
  readonly withText: ReadonlySet<KubeProxyChain> | null;
  /** Chains declared before (built-in chains, kubelet's KUBE-FIREWALL): their lines are added there. */
  readonly skip: Set<KubeProxyChain>;
  /** Chains another writer adds to: declared in the block, their lines in `rules` (a copy, then added to). */
  readonly listed: Set<KubeProxyChain>;
}

/**
 * A node's rules: per table the user chains in the order they are declared (a name, or kube-proxy's
 * chains as a block), and each listed chain's lines in order — text, or (kube-proxy's per-Service rules)
 * the line already parsed.
 */
interface NodeRules {
  readonly userChains: Readonly<Record<TableName, readonly (string | KubeProxyBlock)[]>>;
  readonly rules: Readonly<Record<TableName, ReadonlyMap<string, readonly RestoreLine[]>>>;
}

/** kubeProxyBuiltinJumps(), made once (its rules are read, never changed). */
let IPTABLES_MODE_JUMPS: readonly BuiltinJump[] | null = null;

function nodeRules(input: NodeIptablesRulesInput): NodeRules {
  const userChains: Record<TableName, (string | KubeProxyBlock)[]> = { filter: [], nat: [] };
  const seen = { filter: new Set<string>(), nat: new Set<string>() };
  const rules = { filter: new Map<string, RestoreLine[]>(), nat: new Map<string, RestoreLine[]>() };
  const blocks: Record<TableName, KubeProxyBlock | null> = { filter: null, nat: null };
  /** kube-proxy's chain `chain` if it is taken whole. */
  const takenWhole = (table: TableName, chain: string): KubeProxyChain | undefined => {
    const b = blocks[table];
    const c = b?.byName.get(chain);
    return c !== undefined && !c.deleted && !b!.skip.has(c) && !b!.listed.has(c) ? c : undefined;
  };
  /** Someone else writes to a chain taken whole: from now on its lines are listed. */
  const unwhole = (table: TableName, c: KubeProxyChain, lines: RestoreLine[]): void => {
    blocks[table]!.listed.add(c);
    seen[table].add(c.name);
    rules[table].set(c.name, lines);
  };
  const addChain = (table: TableName, chain: string): void => {
    if (BUILTIN[table].includes(chain) || seen[table].has(chain) || takenWhole(table, chain) !== undefined)
      return;
    seen[table].add(chain);
    userChains[table].push(chain);
  };
  const append = (table: TableName, chain: string, lines: readonly RestoreLine[]): void => {
    const c = takenWhole(table, chain);
    if (c !== undefined) unwhole(table, c, [...c.rules]);
    const have = rules[table].get(chain);
    if (have) have.push(...lines);
    else rules[table].set(chain, [...lines]);
  };
  /** kube-proxy's restore flushes KUBE-FIREWALL and writes the same rule again. */
  const flushFirewall = (): void => {
    for (const other of ['filter', 'nat'] as const) {
      const w = takenWhole(other, 'KUBE-FIREWALL');
      if (w !== undefined) unwhole(other, w, []);
      else rules[other].delete('KUBE-FIREWALL');
    }
  };
  const kubelet = input.kubelet !== false;
  const weave = input.weave ?? null;
  // weaver inserts its FORWARD rules at the top (ensureRulesAtTop) and puts them back there whenever one is
  // missing; their comment says they must come before kube-proxy's KUBE-FORWARD jump.
  if (weave !== null) for (const r of weaveForwardRules(weave)) append(r.table, r.chain, [r.rule]);
  for (const j of input.builtinJumps ?? (IPTABLES_MODE_JUMPS ??= kubeProxyBuiltinJumps())) {
    if (j.by === 'kube-proxy' ? input.kubeProxy !== null : kubelet) append(j.table, j.chain, [j.rule]);
  }
  if (kubelet) {
    addChain('filter', 'KUBE-FIREWALL');
    append('filter', 'KUBE-FIREWALL', [
      '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    ]);
  }
  if (input.kubeProxy !== null)
    for (const t of input.kubeProxy) {
      if (t.name !== 'filter' && t.name !== 'nat') continue;
      const table = t.name;
      const byName = chainsByName(t);
      // Chain by chain, as iptables-restore merges them: a chain declared before gets kube-proxy's lines
      // appended; a new one is declared. As a block when the chains can be told apart by name (each
      // declared once), this is kube-proxy's first table of the name, and every chain kube-proxy shares with
      // what came before was declared before (then their order among the new ones does not matter).
      const shared =
        byName === null
          ? []
          : [...new Set([...BUILTIN[table], ...seen[table], ...rules[table].keys()])].filter(
              (name) => byName.get(name)?.deleted === false,
            );
      const asBlock =
        byName !== null &&
        blocks[table] === null &&
        shared.every((name) => BUILTIN[table].includes(name) || seen[table].has(name));
      if (asBlock) {
        if (byName.get('KUBE-FIREWALL')?.deleted === false) flushFirewall();
        const block: KubeProxyBlock = {
          chains: t.chains,
          byName,
          withText: t.withText ?? null,
          skip: new Set(),
          listed: new Set(),
        };
        for (const name of shared) {
          const c = byName.get(name)!;
          block.skip.add(c);
          append(table, name, c.rules);
        }
        blocks[table] = block;
        userChains[table].push(block);
        continue;
      }
      for (const c of t.chains) {
        if (c.deleted) continue;
        if (c.name === 'KUBE-FIREWALL') flushFirewall();
        addChain(table, c.name);
        append(table, c.name, c.rules);
      }
    }
  if (input.flannel !== null)
    for (const r of flannelIptablesRules(input.flannel)) {
      addChain(r.table, r.chain);
      append(r.table, r.chain, [r.rule]);
    }
  if (weave !== null) {
    for (const c of WEAVE_CHAINS[weave.npc ? 'npc' : 'plain']) addChain(c === 'WEAVE' ? 'nat' : 'filter', c);
    for (const r of weaveIptablesRules(weave)) append(r.table, r.chain, [r.rule]);
  }
  return { userChains, rules };
}

/** flannelIptablesSave's rules: its own chains declared, every rule grouped by table and chain. */
function collect(rules: readonly IptablesRule[], chains: readonly string[]): NodeRules {
  const userChains: Record<TableName, string[]> = { filter: [], nat: [] };
  const byChain = { filter: new Map<string, RestoreLine[]>(), nat: new Map<string, RestoreLine[]>() };
  for (const r of rules) {
    if (chains.includes(r.chain) && !userChains[r.table].includes(r.chain)) userChains[r.table].push(r.chain);
    const list = byChain[r.table].get(r.chain);
    if (list) list.push(r.rule);
    else byChain[r.table].set(r.chain, [r.rule]);
  }
  return { userChains, rules: byChain };
}

/**
 * Calls `each` for every user chain of a table, in order, with its name, its lines, and whether they are known
 * to be all rules as data, until `each` returns false. (A callback, not a generator: ~110,000 chains.)
 */
function forEachUserChain(
  n: NodeRules,
  table: TableName,
  each: (name: string, lines: readonly RestoreLine[], allData: boolean) => boolean,
): boolean {
  for (const c of n.userChains[table]) {
    if (typeof c === 'string') {
      if (!each(c, n.rules[table].get(c) ?? [], false)) return false;
      continue;
    }
    const plain = c.skip.size === 0 && c.listed.size === 0;
    for (const k of c.chains) {
      if (k.deleted || (!plain && c.skip.has(k))) continue;
      const go =
        !plain && c.listed.has(k)
          ? each(k.name, n.rules[table].get(k.name) ?? [], false)
          : each(k.name, k.rules, c.withText !== null && !c.withText.has(k));
      if (!go) return false;
    }
  }
  return true;
}

function render(n: NodeRules): string {
  let out = '';
  for (const table of ['filter', 'nat'] as const) {
    const builtins = BUILTIN[table];
    out += `*${table}\n`;
    for (const c of builtins) out += `:${c} ACCEPT [0:0]\n`;
    forEachUserChain(n, table, (name) => {
      out += `:${name} - [0:0]\n`;
      return true;
    });
    for (const c of builtins) for (const r of n.rules[table].get(c) ?? []) out += `${restoreLineText(r)}\n`;
    forEachUserChain(n, table, (_, lines) => {
      for (const r of lines) out += `${restoreLineText(r)}\n`;
      return true;
    });
    out += 'COMMIT\n';
  }
  return out;
}

/** Chain names iptables-restore reads back as declared (iptables.ts: no blanks, at most 28 characters). */
const PLAIN_CHAIN = /^\S{1,28}$/;

/**
 * parseIptablesSave(render(rules)) without the text: the tables, their chains as render declares them, and
 * each chain's rules in render's order — a line as parseRuleCached gives it (the same Rule the text's parse
 * gets), a rule as data as it is. `text` is the fallback for what would not come back from the text as is.
 */
function parseNodeRules(n: NodeRules, text: () => string): ParsedIptables {
  /** The chain as loaded, or null where the text would not give it back as it is. */
  const load = (
    name: string,
    policy: 'ACCEPT' | null,
    lines: readonly RestoreLine[],
    allData = false,
  ): Chain | null => {
    if (policy === null && !PLAIN_CHAIN.test(name)) return null;
    if (allData) return { name, policy, rules: lines as Rule[] };
    let parsed: Rule[] | null = null;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (typeof line !== 'string') {
        if (parsed) parsed[i] = line;
        continue;
      }
      parsed ??= lines.slice(0, i) as Rule[];
      // The text's parse sees the trimmed line, when it is one line and an -A rule of this chain.
      if (!line.startsWith('-A ') || /[\n\r]/.test(line)) return null;
      const r = parseRuleCached(line.trim());
      if (!r.ok || r.chain !== name) return null;
      parsed[i] = r.rule;
    }
    // A list of rules as data is kube-proxy's own, shared: no chain of a built world is ever changed.
    return { name, policy, rules: parsed ?? (lines as Rule[]) };
  };
  const ruleset: Ruleset = new Map();
  for (const table of ['filter', 'nat'] as const) {
    const chains = new Map<string, Chain>();
    ruleset.set(table, chains);
    for (const c of BUILTIN[table]) {
      const chain = load(c, 'ACCEPT', n.rules[table].get(c) ?? []);
      if (!chain) return parseIptablesSave(text());
      chains.set(c, chain);
    }
    const loaded = forEachUserChain(n, table, (name, lines, allData) => {
      const chain = load(name, null, lines, allData);
      if (chain) chains.set(name, chain);
      return chain !== null;
    });
    if (!loaded) return parseIptablesSave(text());
  }
  return { ruleset, errors: [] };
}

// ───────────────────────────── an administrator's node firewall ─────────────────────────────

/** The chain of the node firewall (the Cluster document's `nodeFirewall`), jumped to from INPUT. */
export const NODE_FIREWALL_CHAIN = 'PW-NODE-FIREWALL';

/**
 * The host firewall an administrator loads on a node, as iptables-restore input (filter table): INPUT jumps to
 * PW-NODE-FIREWALL, which accepts loopback and the replies of connections (conntrack RELATED,ESTABLISHED), then
 * each allowed protocol/port/source of every firewall selecting the node, in order, and drops everything else.
 * The jump is appended: the firewall is there from boot, and kube-proxy inserts its own jumps (-I) before it.
 * Only what the node itself receives meets INPUT; traffic DNATed to a pod is forwarded (FORWARD) and never
 * does. Rules are written as iptables-save prints them, one per source (iptables-restore would expand a list).
 * The ports to allow follow kubernetes/website content/en/docs/reference/networking/ports-and-protocols.md.
 * Returns null when no firewall selects the node.
 */
export function nodeFirewallRestore(node: string, firewalls: readonly NodeFirewallModel[]): string | null {
  const mine = firewalls.filter((f) => f.nodes.includes(node));
  if (mine.length === 0) return null;
  const c = NODE_FIREWALL_CHAIN;
  const comment = (text: string): string => `-m comment --comment "${text}"`;
  const lines = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    `:${c} - [0:0]`,
    `-A INPUT ${comment('node firewall')} -j ${c}`,
    `-A ${c} -i lo ${comment('node firewall: loopback')} -j ACCEPT`,
    `-A ${c} -m conntrack --ctstate RELATED,ESTABLISHED ${comment('node firewall: replies of known connections')} -j ACCEPT`,
  ];
  for (const f of mine)
    for (const a of f.allow) {
      const proto = a.protocol.toLowerCase();
      const match =
        a.protocol === 'ICMP' || a.port === null
          ? `-p ${proto}`
          : `-p ${proto} -m ${proto} --dport ${a.port}${a.endPort !== null ? `:${a.endPort}` : ''}`;
      const text = comment(
        `${f.name}: ${a.description || `${a.protocol}${a.port !== null ? ` ${a.port}` : ''}`}`,
      );
      for (const src of a.from.length > 0 ? a.from.map((x) => `-s ${formatCidr(x)} `) : [''])
        lines.push(`-A ${c} ${src}${match} ${text} -j ACCEPT`);
    }
  lines.push(`-A ${c} ${comment('node firewall: nothing else is allowed')} -j DROP`, 'COMMIT', '');
  return lines.join('\n');
}
