// Network operations as data: the `ip`, `bridge` and `sysctl` commands that CNI plugins, flanneld and an
// administrator run to build a node's network. The engine's world is built by applying exactly these
// operations (world.ts), a kernel lab is built by running them as commands (formatNetOp), and the UI can
// show them as the steps of "a pod is born". One list, three uses, so they cannot drift apart.
import type { Ip, Mac } from './addr.ts';
import { formatIpvsadmSave, type IpsetSet, type IpvsTable } from './ipvs.ts';

/** Network namespace ids: node/<node>, pod/<ns>/<name>, host/<name>. */
export type NetnsId = string;

export type NetOp =
  | { readonly op: 'netns-add'; readonly netns: NetnsId; readonly why: string }
  | { readonly op: 'link-add-loopback'; readonly netns: NetnsId; readonly why: string }
  | {
      readonly op: 'link-add-veth';
      readonly netns: NetnsId;
      readonly name: string;
      readonly mac: Mac;
      readonly peerName: string;
      readonly peerNetns: NetnsId;
      readonly peerMac: Mac;
      readonly mtu: number;
      readonly why: string;
    }
  | {
      readonly op: 'link-add-bridge';
      readonly netns: NetnsId;
      readonly name: string;
      readonly mac: Mac;
      readonly mtu: number;
      readonly why: string;
    }
  | {
      readonly op: 'link-add-vxlan';
      readonly netns: NetnsId;
      readonly name: string;
      readonly mac: Mac;
      readonly vni: number;
      readonly local: Ip;
      readonly port: number;
      readonly underlay: string;
      readonly learning: boolean;
      readonly mtu: number;
      /** `df set`: the outer packets carry Don't Fragment (weave's fastdp tunnels); absent = unset (the kernel's
       *  default, flannel's). */
      readonly df?: boolean;
      readonly why: string;
    }
  | {
      /** A dummy link (`ip link add NAME type dummy`): kube-proxy's kube-ipvs0, left DOWN, NOARP. */
      readonly op: 'link-add-dummy';
      readonly netns: NetnsId;
      readonly name: string;
      readonly mac: Mac;
      readonly why: string;
    }
  | {
      /** A NIC plugged into an L2 segment (the node network, the internet side of the gateway). */
      readonly op: 'link-add-physical';
      readonly netns: NetnsId;
      readonly name: string;
      readonly mac: Mac;
      readonly mtu: number;
      readonly segment: string;
      readonly why: string;
    }
  | {
      readonly op: 'link-set-master';
      readonly netns: NetnsId;
      readonly name: string;
      readonly master: string;
      readonly hairpin: boolean;
      readonly why: string;
    }
  | { readonly op: 'link-set-up'; readonly netns: NetnsId; readonly name: string; readonly why: string }
  | {
      readonly op: 'addr-add';
      readonly netns: NetnsId;
      readonly dev: string;
      readonly ip: Ip;
      readonly prefix: number;
      readonly why: string;
    }
  | {
      readonly op: 'route-add';
      readonly netns: NetnsId;
      readonly dst: string;
      readonly gateway: Ip | null;
      readonly dev: string | null;
      readonly onlink: boolean;
      readonly type: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
      /** A multipath route (`nexthop via A dev D nexthop via B dev D`); gateway and dev are then null. */
      readonly nexthops?: readonly { readonly gateway: Ip; readonly dev: string }[];
      readonly why: string;
    }
  | {
      readonly op: 'neigh-add';
      readonly netns: NetnsId;
      readonly dev: string;
      readonly ip: Ip;
      readonly mac: Mac;
      readonly why: string;
    }
  | {
      readonly op: 'fdb-add';
      readonly netns: NetnsId;
      readonly dev: string;
      readonly mac: Mac;
      readonly dst: Ip;
      readonly why: string;
    }
  | {
      readonly op: 'sysctl';
      readonly netns: NetnsId;
      readonly key: 'net.ipv4.ip_forward' | 'net.bridge.bridge-nf-call-iptables';
      readonly value: 0 | 1;
      readonly why: string;
    }
  | {
      /** `ip link del NAME`: for a veth, the kernel deletes the peer too (a pair lives and dies together), and a
       *  bridge port leaves its bridge. */
      readonly op: 'link-del';
      readonly netns: NetnsId;
      readonly name: string;
      readonly why: string;
    }
  | {
      /** `ip netns del`: the namespace goes, with every device in it (a veth's peer elsewhere with it). */
      readonly op: 'netns-del';
      readonly netns: NetnsId;
      readonly why: string;
    }
  | {
      /** A file a component keeps its state in (host-local's reservations, flannel's subnet.env): not kernel
       *  state, but what the next ADD or DEL reads. `netns` is the node's (the file is on the node's disk). */
      readonly op: 'file-write';
      readonly netns: NetnsId;
      readonly path: string;
      readonly content: string;
      /** Who writes it, e.g. "host-local", "flanneld". */
      readonly writer: string;
      readonly why: string;
    }
  | { readonly op: 'file-remove'; readonly netns: NetnsId; readonly path: string; readonly why: string }
  | {
      /** `iptables-restore --noflush`: rules in iptables-save format, added to what the namespace has. */
      readonly op: 'iptables-restore';
      readonly netns: NetnsId;
      /** Who writes them, e.g. "kube-proxy", "flannel". */
      readonly writer: string;
      readonly text: string;
      /** ipsets the rules match, created first (`ipset restore`; e.g. weave's weaver-no-masq-local). */
      readonly ipsets?: readonly IpsetSet[];
      readonly why: string;
    }
  | {
      /** `ipset restore` + `ipvsadm-restore`: the node's ipsets and IPVS virtual/real servers (kube-proxy ipvs). */
      readonly op: 'ipvs-load';
      readonly netns: NetnsId;
      readonly writer: string;
      readonly ipsets: readonly IpsetSet[];
      readonly table: IpvsTable;
      readonly why: string;
    };

/** The op as the command a person would type inside that namespace (`ip netns exec <ns>` omitted). */
export function formatNetOp(op: NetOp): string {
  switch (op.op) {
    case 'netns-add':
      return `ip netns add ${op.netns}`;
    case 'link-add-loopback':
      return 'ip link set lo up';
    case 'link-add-veth':
      return `ip link add ${op.name} address ${op.mac} mtu ${op.mtu} type veth peer name ${op.peerName} address ${op.peerMac} netns ${op.peerNetns}`;
    case 'link-add-bridge':
      return `ip link add ${op.name} address ${op.mac} mtu ${op.mtu} type bridge`;
    case 'link-add-vxlan':
      return `ip link add ${op.name} address ${op.mac} mtu ${op.mtu} type vxlan id ${op.vni} local ${op.local} dev ${op.underlay} dstport ${op.port}${op.learning ? '' : ' nolearning'}${op.df ? ' df set' : ''}`;
    case 'link-add-dummy':
      return `ip link add ${op.name} type dummy`;
    case 'link-add-physical':
      return `# ${op.name} (${op.mac}, mtu ${op.mtu}) is plugged into ${op.segment}`;
    case 'link-set-master':
      return `ip link set ${op.name} master ${op.master}${op.hairpin ? ` && bridge link set dev ${op.name} hairpin on` : ''}`;
    case 'link-set-up':
      return `ip link set ${op.name} up`;
    case 'addr-add':
      return `ip addr add ${op.ip}/${op.prefix} dev ${op.dev}`;
    case 'route-add':
      return `ip route ${routeAddArgs(op)}`;
    case 'neigh-add':
      return `ip neigh add ${op.ip} lladdr ${op.mac} dev ${op.dev} nud permanent`;
    case 'fdb-add':
      return `bridge fdb append ${op.mac} dev ${op.dev} dst ${op.dst} self permanent`;
    case 'sysctl':
      return `sysctl -w ${op.key}=${op.value}`;
    case 'iptables-restore':
      return `${op.ipsets?.length ? `${ipsetRestoreText(op.ipsets)}\n` : ''}iptables-restore --noflush <<'EOF'\n${op.text.trimEnd()}\nEOF`;
    case 'ipvs-load':
      return `${ipsetRestoreText(op.ipsets)}\n${ipvsadmRestoreText(op.table)}`;
    case 'link-del':
      return `ip link del ${op.name}`;
    case 'netns-del':
      return `ip netns del ${op.netns}`;
    case 'file-write':
      return fileWriteCommand(op.path, op.content);
    case 'file-remove':
      return `rm ${op.path}`;
  }
}

/** A shell command that writes `content` to `path` byte for byte: a here-document for a text file of lines,
 *  else printf with escapes (host-local's reservation is "<id>\r\n<ifname>", no final newline). */
export function fileWriteCommand(path: string, content: string): string {
  if (content.endsWith('\n') && !content.includes('\r') && !content.includes('EOF'))
    return `cat > ${path} <<'EOF'\n${content}EOF`;
  const printable = content.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  return `printf '%b' '${printable.replace(/'/g, `'\\''`)}' > ${path}`;
}
/** `add …` arguments of `ip route` for a route-add op (shared by the command text and the kernel lab). */
export function routeAddArgs(op: Extract<NetOp, { op: 'route-add' }>): string {
  const head = op.type === 'unicast' ? op.dst : `${op.type} ${op.dst}`;
  const hops = (op.nexthops ?? []).map((h) => ` nexthop via ${h.gateway} dev ${h.dev}`).join('');
  return `add ${head}${op.gateway ? ` via ${op.gateway}` : ''}${op.dev ? ` dev ${op.dev}` : ''}${hops}${op.onlink ? ' onlink' : ''}`;
}

/** `ipset restore` input for the sets (create lines, then add lines). */
export function ipsetRestoreText(sets: readonly IpsetSet[]): string {
  return `ipset restore <<'EOF'\n${ipsetRestoreLines(sets).join('\n')}\nEOF`;
}

/** The lines `ipset restore` reads for the sets: every `create`, then every `add` (-exist: idempotent). */
export function ipsetRestoreLines(sets: readonly IpsetSet[]): string[] {
  const lines: string[] = [];
  for (const s of sets) {
    const opts = s.range
      ? ` range ${s.range.from}-${s.range.to}`
      : ` family inet hashsize ${s.hashsize ?? 1024} maxelem ${s.maxelem ?? 65536}`;
    lines.push(`create ${s.name} ${s.type}${opts} -exist`);
  }
  for (const s of sets) for (const e of s.entries) lines.push(`add ${s.name} ${e} -exist`);
  return lines;
}

/** `ipvsadm-restore` input for the table (the `ipvsadm -Sn` text). */
export function ipvsadmRestoreText(table: IpvsTable): string {
  return `ipvsadm-restore <<'EOF'\n${formatIpvsadmSave(table).trimEnd()}\nEOF`;
}
