// The kernel lab: the world's NetOps (netops.ts) as shell commands that build the same world for real,
// one Linux network namespace per engine namespace. It is what `packet-walk lab` prints ("show the
// commands") and what the kernel conformance tests run (test/conformance/kernel.ts).
//
// Every command acts inside a lab namespace (`ip netns add NS`, `ip -n NS ...`, `bridge -n NS ...`,
// `ip netns exec NS sysctl ...`), never in the namespace of the machine that runs it; a veth is created
// inside one lab namespace with its peer placed directly into another. Names are `<prefix>-<short>`.
//
// What the engine abstracts is made concrete here:
// - a physical NIC (link-add-physical) becomes one end of a veth pair; the other end is a port of the
//   bridge `br0` in a per-segment "switch" namespace (`<prefix>-sw-<segment>`), the engine's ideal
//   learning switch;
// - a new namespace copies the host's IPv4 settings (net.core.devconf_inherit_init_net=0), so each one
//   starts from the kernel's defaults the engine assumes (no forwarding, no reverse-path filter);
// - br_netfilter's bridge-nf-call-iptables is per namespace; every namespace starts with it off and the
//   nodes turn it on (as kubeadm requires) — the module must be loaded on the machine;
// - iptables rules are loaded with `iptables-restore --noflush` from a here-document, after the ipsets they
//   match (`ipset restore`, per namespace: weave's weaver-no-masq-local).
import { fileWriteCommand, ipsetRestoreLines, routeAddArgs, type NetOp, type NetnsId } from './netops.ts';
import type { World } from './world.ts';

export interface LabScript {
  /** Commands that build the world, with `#` comment lines (one per op, from its `why`). */
  readonly up: string[];
  /** Commands that remove every namespace the script creates (deleting a namespace removes its links). */
  readonly down: string[];
  /** The lab namespace name of an engine namespace id (node/<n>, pod/<ns>/<name>, host/<h>). */
  nsName(netns: NetnsId): string;
  /** Every lab namespace the script creates, switch namespaces included, in creation order. */
  readonly namespaces: readonly string[];
  /** The switch namespace that stands in for each L2 segment. */
  readonly switches: ReadonlyMap<string, string>;
}

export interface LabOptions {
  /** Prefix of every namespace name, e.g. `pwk-3f2a`. Letters, digits, `-`, `_`, `.` only. */
  readonly prefix: string;
}

/** Ends the here-document that feeds rules to iptables-restore. */
export const HEREDOC_END = 'PW_RULES_END';

/** The bridge inside a segment's switch namespace. */
export const SWITCH_BRIDGE = 'br0';
const IFNAME_MAX = 15;

/** The readable part of a lab namespace name: the node or host name, `<namespace>.<pod>` for pods. */
function shortOf(id: NetnsId): string {
  const [kind, ...rest] = id.split('/');
  if (kind === 'pod') return rest.join('.');
  return rest.join('.') || id;
}

function sanitise(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Builds the lab script of a world (materialising every namespace of it). */
export function labScript(world: World, opts: LabOptions): LabScript {
  if (!/^[A-Za-z0-9_.-]+$/.test(opts.prefix))
    throw new Error(`lab prefix "${opts.prefix}" may only contain letters, digits, "-", "_" and "."`);
  world.allNetns();
  const plan = world.plan;
  const ops: NetOp[] = plan.units.flatMap((u) => [...plan.opsOf(u)]);

  // Names: the short form, or kind-prefixed when two ids (or a switch) would share it.
  const ids: NetnsId[] = [];
  for (const op of ops) if (op.op === 'netns-add' && !ids.includes(op.netns)) ids.push(op.netns);
  const segmentIds = [...plan.segments.keys()];
  const wanted = new Map<string, number>();
  const bump = (s: string): void => void wanted.set(s, (wanted.get(s) ?? 0) + 1);
  ids.forEach((id) => bump(shortOf(id)));
  segmentIds.forEach((s) => bump(`sw-${s}`));
  const names = new Map<NetnsId, string>();
  for (const id of ids) {
    const short = shortOf(id);
    const kind = id.split('/')[0] ?? 'ns';
    names.set(id, `${opts.prefix}-${sanitise((wanted.get(short) ?? 0) > 1 ? `${kind}-${short}` : short)}`);
  }
  const nsName = (id: NetnsId): string => {
    const n = names.get(id);
    if (!n) throw new Error(`the lab has no namespace for ${id}`);
    return n;
  };

  const up: string[] = [];
  const namespaces: string[] = [];
  const switches = new Map<string, string>();
  const switchPorts = new Map<string, Set<string>>();
  const say = (why: string): void => void up.push(`# ${why.replace(/\n/g, ' ')}`);
  const ipn = (ns: string, cmd: string): void => void up.push(`ip -n ${ns} ${cmd}`);

  const baseline = (ns: string): void => {
    say('lab: start from the kernel defaults, not the IPv4 settings a new namespace copies from the host');
    up.push(
      `ip netns exec ${ns} sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0`,
    );
    say(
      'lab: no netfilter rules are modelled; keep bridged frames out of iptables (br_netfilter, if loaded)',
    );
    up.push(
      `ip netns exec ${ns} sh -c 'sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true'`,
    );
  };

  const switchOf = (segment: string): string => {
    const got = switches.get(segment);
    if (got) return got;
    const sw = `${opts.prefix}-sw-${sanitise(segment)}`;
    switches.set(segment, sw);
    switchPorts.set(segment, new Set());
    namespaces.push(sw);
    up.push('', `# ── lab: the switch of ${segment} (the engine's ideal learning switch) ──`);
    up.push(`ip netns add ${sw}`);
    baseline(sw);
    ipn(sw, 'link set lo up');
    ipn(sw, `link add ${SWITCH_BRIDGE} type bridge`);
    ipn(sw, `link set ${SWITCH_BRIDGE} up`);
    return sw;
  };

  const switchPortName = (segment: string, netns: NetnsId, dev: string): string => {
    const taken = switchPorts.get(segment)!;
    let name = sanitise(`${shortOf(netns)}.${dev}`);
    if (name.length > IFNAME_MAX || taken.has(name)) name = `port${taken.size}`;
    taken.add(name);
    return name;
  };

  const labNames: CommandNames = { run: nsName, ref: nsName };
  let unit: string | null = null;
  for (const op of ops) {
    const u = plan.unitOf(op.netns);
    if (u !== unit) {
      unit = u;
      up.push('', `# ── ${u ?? op.netns} ──`);
    }
    const ns = nsName(op.netns);
    switch (op.op) {
      case 'netns-add':
        say(op.why);
        up.push(`ip netns add ${ns}`);
        namespaces.push(ns);
        baseline(ns);
        break;
      case 'link-add-physical': {
        const sw = switchOf(op.segment);
        const port = switchPortName(op.segment, op.netns, op.name);
        say(`${op.why} — lab: a veth whose other end, ${port}, is a port of ${op.segment}'s switch`);
        ipn(
          sw,
          `link add ${port} mtu ${op.mtu} type veth peer name ${op.name} address ${op.mac} mtu ${op.mtu} netns ${ns}`,
        );
        ipn(sw, `link set ${port} master ${SWITCH_BRIDGE}`);
        ipn(sw, `link set ${port} up`);
        break;
      }
      case 'iptables-restore': {
        say(`${op.writer}: ${op.why}`);
        // nfacct counters need nfacct objects (kube-proxy creates them over netlink); they only count
        // packets, so the lab leaves the match out rather than depend on the nfacct tool.
        if (/ -m nfacct --nfacct-name \S+/.test(op.text))
          say('lab: -m nfacct matches removed (they only count)');
        up.push(...opCommands(op, labNames));
        break;
      }
      case 'file-write':
      case 'file-remove':
        // State files of CNI plugins live on the node's disk; the lab writes nothing outside its namespaces.
        say(`${op.why} — lab: ${op.path} is not written (not kernel state)`);
        break;
      default:
        say(op.why);
        up.push(...opCommands(op, labNames));
    }
  }
  if (up[0] === '') up.shift();

  const down = [...namespaces].reverse().map((ns) => `ip netns del ${ns}`);
  return { up, down, nsName, namespaces, switches };
}

/** How commands name namespaces. */
export interface CommandNames {
  /** The namespace a command runs in: its name for `ip -n NAME`, or null for the shell's own (a person on the
   *  node types `ip link …` for the node's root namespace). */
  run(id: NetnsId): string | null;
  /** How `… netns X` names another namespace: a name, or a PID whose namespace it is (`1`: the node's). */
  ref(id: NetnsId): string;
}

/**
 * The commands of one op, acting in the namespaces `names` gives: the lab's for the kernel lab, the node's
 * own shell and `cni-…` names for the steps of a CNI walk (cniWalk.ts) — one rendering for both, so what the
 * walk shows is what the conformance test runs. A NIC on a segment (link-add-physical) is the lab's to make
 * concrete (labScript); here it is a comment.
 */
export function opCommands(op: NetOp, names: CommandNames): string[] {
  const ns = names.run(op.netns);
  const ip = (cmd: string): string => (ns === null ? `ip ${cmd}` : `ip -n ${ns} ${cmd}`);
  const bridge = (cmd: string): string => (ns === null ? `bridge ${cmd}` : `bridge -n ${ns} ${cmd}`);
  const exec = (cmd: string): string => (ns === null ? cmd : `ip netns exec ${ns} ${cmd}`);
  switch (op.op) {
    case 'netns-add':
      return [`ip netns add ${names.ref(op.netns)}`];
    case 'netns-del':
      return [`ip netns del ${names.ref(op.netns)}`];
    case 'link-add-loopback':
      return [ip('link set lo up')];
    case 'link-add-veth':
      return [
        ip(
          `link add ${op.name} address ${op.mac} mtu ${op.mtu} type veth peer name ${op.peerName} address ${op.peerMac} mtu ${op.mtu} netns ${names.ref(op.peerNetns)}`,
        ),
      ];
    case 'link-add-bridge':
      return [ip(`link add ${op.name} address ${op.mac} mtu ${op.mtu} type bridge`)];
    case 'link-add-vxlan':
      return [
        ip(
          `link add ${op.name} address ${op.mac} mtu ${op.mtu} type vxlan id ${op.vni} local ${op.local} dev ${op.underlay} dstport ${op.port}${op.learning ? '' : ' nolearning'}${op.df ? ' df set' : ''}`,
        ),
      ];
    case 'link-add-dummy':
    case 'ipvs-load':
      // The conformance kernels have neither dummy links nor IPVS; ipvs-mode scenarios are engine-only.
      throw new Error(
        `the kernel lab cannot build ${op.op === 'link-add-dummy' ? `the dummy link ${op.name}` : 'IPVS tables and ipsets'} (${op.netns}): kube-proxy's ipvs mode is not supported in the lab`,
      );
    case 'link-add-physical':
      return [`# ${op.name} (${op.mac}, mtu ${op.mtu}) is plugged into ${op.segment}`];
    case 'link-set-master':
      return [
        ip(`link set ${op.name} master ${op.master}`),
        ...(op.hairpin ? [bridge(`link set dev ${op.name} hairpin on`)] : []),
      ];
    case 'link-set-up':
      return [ip(`link set ${op.name} up`)];
    case 'link-del':
      return [ip(`link del ${op.name}`)];
    case 'addr-add':
      return [ip(`addr add ${op.ip}/${op.prefix} dev ${op.dev}`)];
    case 'route-add':
      return [ip(`route ${routeAddArgs(op)}`)];
    case 'neigh-add':
      return [ip(`neigh add ${op.ip} lladdr ${op.mac} dev ${op.dev} nud permanent`)];
    case 'fdb-add':
      return [bridge(`fdb append ${op.mac} dev ${op.dev} dst ${op.dst} self permanent`)];
    case 'sysctl':
      return [exec(`sysctl -qw ${op.key}=${op.value}`)];
    case 'iptables-restore': {
      const text = op.text.replace(/ -m nfacct --nfacct-name \S+/g, '');
      // The sets the rules match must exist before iptables-restore loads a rule naming them.
      const sets = op.ipsets?.length
        ? [exec(`ipset restore <<'${HEREDOC_END}'`), ...ipsetRestoreLines(op.ipsets), HEREDOC_END]
        : [];
      return [
        ...sets,
        exec(`iptables-restore --noflush <<'${HEREDOC_END}'`),
        ...text.trimEnd().split('\n'),
        HEREDOC_END,
      ];
    }
    case 'file-write':
      return [fileWriteCommand(op.path, op.content)];
    case 'file-remove':
      return [`rm ${op.path}`];
  }
}

/** The script as one shell text: `set -e`, the commands, and how to undo them. */
export function formatLabScript(script: LabScript): string {
  return [
    '#!/bin/sh',
    '# Built by packet-walk from the same operations as the engine world.',
    'set -e',
    '',
    ...script.up,
    '',
    '# To remove the lab:',
    ...script.down.map((c) => `#   ${c}`),
    '',
  ].join('\n');
}

/** Every executable line of a lab script acts inside a lab namespace of this prefix, or we refuse to run it. */
export function assertConfined(script: LabScript, prefix: string): void {
  const p = prefix.replace(/[.]/g, '\\.');
  const ns = `${p}-[A-Za-z0-9_.-]+`;
  const allowed = [
    new RegExp(`^ip netns add ${ns}$`),
    new RegExp(`^ip netns del ${ns}$`),
    new RegExp(`^ip -n ${ns} [^;&|\`$]*$`),
    new RegExp(`^bridge -n ${ns} [^;&|\`$]*$`),
    new RegExp(`^ip netns exec ${ns} sysctl -qw [a-z0-9_.=\\- ]+$`),
    new RegExp(
      `^ip netns exec ${ns} sh -c 'sysctl -qw net\\.bridge\\.bridge-nf-call-iptables=0 2>/dev/null \\|\\| true'$`,
    ),
  ];
  const restore = new RegExp(
    `^ip netns exec ${ns} (iptables-restore --noflush|ipset restore) <<'${HEREDOC_END}'$`,
  );
  let inRules = false;
  for (const line of [...script.up, ...script.down]) {
    // The body of an iptables-restore (ipset restore) here-document is data for iptables (ipset) inside the lab
    // namespace: ipsets are per network namespace.
    if (inRules) {
      if (line === HEREDOC_END) inRules = false;
      continue;
    }
    if (restore.test(line)) {
      inRules = true;
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    if (!allowed.some((r) => r.test(line)))
      throw new Error(`refusing to run a lab command outside the lab: ${line}`);
    const into = / netns (\S+)/.exec(line.replace(/^ip netns (add|del|exec) /, ''));
    if (into && !into[1]!.startsWith(`${prefix}-`))
      throw new Error(`refusing to move a link out of the lab: ${line}`);
  }
}
