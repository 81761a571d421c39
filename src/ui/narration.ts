// Narration: one or two plain sentences per hop saying WHY the packet did what it did — the concept behind
// the step, for someone learning Kubernetes networking (a CKA candidate). Driven only by the event's type,
// its decision's kind and fields and the world view; never by the walk's name.
// Pure: takes the event and its context, returns text; must not read the store or the machine.
import type { Decision, LegKind, TraceEvent, VerdictKind } from '../engine/trace.ts';
import type { WorldView } from '../engine/view.ts';
import { originalTuple } from './present.ts';

export interface NarrationContext {
  /** The whole trace so far (the narration of a hop may look back, e.g. at the request a reply answers). */
  readonly events: readonly TraceEvent[];
  /** The position of the narrated event in `events`. */
  readonly index: number;
  readonly view: WorldView | null;
}

export interface Narration {
  /** The concept in a few words: "VXLAN encapsulation", "Reply un-DNAT". */
  readonly concept: string;
  /** One or two sentences. */
  readonly text: string;
}

export function narrate(event: TraceEvent, context: NarrationContext): Narration {
  switch (event.type) {
    case 'leg':
      return narrateLeg(event.kind, event, context);
    case 'observe':
      return narrateObserve(event, context.view);
    case 'decide':
      return narrateDecision(event.decision, event, context);
    case 'cni':
      return narrateCni(event);
    case 'verdict':
      return narrateVerdict(event.verdict.kind, event.verdict.reason);
  }
}

/** The namespace that has `ip` on one of its devices, or null (a ClusterIP, an outside address). */
export function ownerOf(view: WorldView | null, ip: string): string | null {
  if (!view) return null;
  for (const ns of view.namespaces)
    for (const d of ns.devices) if (d.addrs.some((a) => a.split('/')[0] === ip)) return ns.id;
  return null;
}

/** True iff no namespace owns `ip` and the trace DNATs it somewhere: a Service's virtual address. */
function isVirtual(ctx: NarrationContext, ip: string): boolean {
  if (!ctx.view || ownerOf(ctx.view, ip) !== null) return false;
  return ctx.events.some(
    (x) =>
      x.type === 'decide' &&
      ((x.decision.kind === 'nat' && x.decision.how === 'DNAT' && hostOf(x.decision.before) === ip) ||
        (x.decision.kind === 'ipvs' &&
          x.decision.action === 'forward' &&
          (x.decision.service ?? '').includes(` ${ip}:`))),
  );
}

function deviceKind(ctx: NarrationContext, dev: string | null): string | null {
  const e = ctx.events[ctx.index];
  const netns = e && e.type !== 'verdict' ? e.at.netns : null;
  const ns = ctx.view?.namespaces.find((n) => n.id === netns);
  return ns?.devices.find((d) => d.name === dev)?.kind ?? null;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const hostOf = (ipPort: string) => ipPort.replace(/:\d+$/, '');

function narrateLeg(
  kind: LegKind,
  e: Extract<TraceEvent, { type: 'leg' }>,
  ctx: NarrationContext,
): Narration {
  const { src, dst } = e.packet.ip;
  switch (kind) {
    case 'request': {
      if (isVirtual(ctx, dst))
        return {
          concept: 'A Service address',
          text: `No interface anywhere has ${dst}: a Service's ClusterIP is a virtual address that exists only in kube-proxy's rules. The packet leaves ${src} by its default route, and a node's DNAT will swap ${dst} for a real pod address.`,
        };
      return {
        concept: 'The request',
        text: `${src} sends the first packet to ${dst}. Each hop below is one kernel decision, made from that namespace's own tables — nothing knows the whole path in advance.`,
      };
    }
    case 'reply':
      return {
        concept: 'The reply',
        text: `The receiver answers, so source and destination swap: ${src} → ${dst}. The reply is routed on its own; only conntrack on the nodes remembers the request (and any NAT it got).`,
      };
    case 'icmp-error':
      return {
        concept: 'An ICMP error',
        text: `A router or host could not deliver the request, so ${src} sends an ICMP error back to ${dst}, quoting the headers of the packet it refused.`,
      };
    case 'dns-query':
      return {
        concept: 'Name resolution first',
        text: `Before it can connect, the program needs an address: the C library's stub resolver sends a DNS query over UDP to ${dst}:53, the nameserver in its /etc/resolv.conf.`,
      };
    case 'cni-add':
    case 'cni-del':
      // A CNI walk has no leg events (it sends no packet); the steps narrate themselves (narrateCni).
      return { concept: LEG_CONCEPT[kind], text: e.summary };
    case 'dns-response':
      return {
        concept: 'The DNS answer',
        text: `The DNS server answers from port 53 back to the resolver's ephemeral port at ${dst}; on the way back it is just another UDP packet of a known conntrack flow.`,
      };
  }
}

function narrateObserve(e: Extract<TraceEvent, { type: 'observe' }>, view: WorldView | null): Narration {
  const ns = view?.namespaces.find((n) => n.id === e.at.netns);
  const dev = ns?.devices.find((d) => d.name === e.device);
  const p = e.packet;
  if (p.inner && p.vxlan)
    return {
      concept: 'On the node network',
      text: `On ${e.device} the packet is a UDP datagram between node addresses ${p.ip.src} → ${p.ip.dst} (VXLAN VNI ${p.vxlan.vni}); the pod packet ${p.inner.ip.src} → ${p.inner.ip.dst} rides inside, untouched. The underlay only has to know how to reach the nodes.`,
    };
  switch (dev?.kind) {
    case 'veth':
      return e.direction === 'out'
        ? {
            concept: 'A veth pair',
            text: `A veth pair is a virtual cable between two namespaces: what leaves ${e.device} here comes out of its peer${dev.peer ? ` ${dev.peer.device} in ${dev.peer.netns}` : ''} at once.`,
          }
        : {
            concept: 'A veth pair',
            text: `The frame arrives through the veth pair's ${e.device} end${dev.master ? `, which is a port of the bridge ${dev.master}: the bridge looks at it next` : ', inside the receiving namespace'}.`,
          };
    case 'bridge':
      return e.direction === 'in'
        ? {
            concept: 'Up to the IP stack',
            text: `The frame was addressed to the bridge ${e.device} itself, so it enters the node's own IP stack through ${e.device} — from here the node acts as a router.`,
          }
        : {
            concept: 'Into the bridge',
            text: `The node sends the packet out of the bridge ${e.device}; the bridge now switches the frame to the port behind which the destination MAC lives.`,
          };
    case 'vxlan':
      return e.direction === 'out'
        ? {
            concept: 'Into the overlay',
            text: `${e.device} is a VXLAN device: a frame sent out of it is not put on a wire but wrapped in UDP and sent to another node's real address.`,
          }
        : {
            concept: 'Out of the overlay',
            text: `The original frame appears on ${e.device}, unwrapped, as if a cable from the other node ended here; the pod addresses in it are unchanged.`,
          };
    default:
      return {
        concept: 'On the wire',
        text: `tcpdump -i ${e.device} in ${ns?.label ?? e.at.netns} would show the packet here (${e.direction === 'in' ? 'arriving' : 'leaving'}): ${p.ip.src} → ${p.ip.dst}.`,
      };
  }
}

function narrateDecision(
  d: Decision,
  e: Extract<TraceEvent, { type: 'decide' }>,
  ctx: NarrationContext,
): Narration {
  switch (d.kind) {
    case 'route':
      return narrateRoute(d, ctx);
    case 'neigh':
      if (d.arp)
        return {
          concept: 'ARP',
          text: `To build the Ethernet frame the kernel needs the MAC address of the next hop ${d.ip}. There was no neighbour entry, so it broadcast "who has ${d.ip}?" and ${d.arp.answeredBy} answered ${d.mac ?? ''} from ${d.arp.device}.`,
        };
      if (d.stateBefore === 'PERMANENT')
        return {
          concept: 'A permanent neighbour',
          text: `The next hop ${d.ip} has a PERMANENT neighbour entry on ${d.device}, written by whoever set up the device (flanneld does this for each node's VTEP), so no ARP is sent.`,
        };
      if (d.stateBefore === 'NONE')
        return {
          concept: 'No neighbour',
          text: `There is no MAC address for ${d.ip} on ${d.device} and nobody answered ARP (${d.stateAfter}), so the frame cannot be built.`,
        };
      return {
        concept: 'The neighbour cache',
        text: `The kernel already knows ${d.ip}'s MAC ${d.mac ?? ''} on ${d.device} (${d.stateBefore}, learned earlier), so no new ARP is needed${d.stateAfter === 'DELAY' ? '; it will just confirm the entry is still good' : ''}.`,
      };
    case 'fdb':
      if (d.result === 'local')
        return {
          concept: 'A bridge does not route',
          text: `The destination MAC ${d.mac} is the bridge ${d.bridge}'s own, so the bridge does not switch the frame: it hands it up to the node's IP stack. A bridge works at layer 2 only — getting to another subnet is the router's (the node's) job.`,
        };
      if (d.result === 'flood')
        return {
          concept: 'Flooding',
          text: `The bridge ${d.bridge} has no entry for ${d.mac}, so it floods the frame out of every port except the one it came in on; the owner of the MAC will answer and be learned.`,
        };
      return {
        concept: 'Bridge switching',
        text: `The bridge ${d.bridge} finds ${d.mac} behind port ${d.port ?? '?'} in its forwarding database and switches the frame there, without looking at the IP header${d.learned ? ' — it learned that port from the source MAC of an earlier frame' : ''}.`,
      };
    case 'vxlan-fdb':
      return {
        concept: 'The VXLAN FDB',
        text: `${d.device}'s forwarding database says the inner destination MAC ${d.mac} lives behind the node ${d.remote ?? '(unknown)'}: that is where the encapsulated frame will be sent.`,
      };
    case 'encap':
      return {
        concept: 'VXLAN encapsulation',
        text: `${d.device} wraps the whole Ethernet frame in VXLAN (VNI ${d.vni}) inside UDP port ${d.port}, from ${d.local} to ${d.remote}. The node network only knows node addresses, so the pod addresses travel inside where it never looks.`,
      };
    case 'decap':
      return {
        concept: 'VXLAN decapsulation',
        text: `The UDP datagram reached port ${d.port}, where the VXLAN device ${d.device} listens; the kernel strips the outer Ethernet, IP, UDP and VXLAN headers and the inner frame enters ${d.device}.`,
      };
    case 'forward':
      return d.ipForward
        ? {
            concept: 'IP forwarding',
            text: `The packet is not for this namespace, and ip_forward=1 makes it a router: it forwards the packet and lowers the TTL from ${d.ttlBefore} to ${d.ttlAfter}, which is what ends a routing loop.`,
          }
        : {
            concept: 'Not a router',
            text: `The packet is not for this namespace and ip_forward=0 here, so it is not forwarded.`,
          };
    case 'mtu':
      return {
        concept: 'MTU',
        text: `The packet is ${d.length} bytes but ${d.device}'s MTU is ${d.mtu}${d.df ? ', and DF (do not fragment) is set, so it cannot be split: the sender must send smaller packets' : ''}. Overlay MTUs are smaller because VXLAN adds 50 bytes of headers.`,
      };
    case 'deliver':
      return d.listening
        ? {
            concept: 'Delivered to a socket',
            text: `The destination address is this namespace's own, so the kernel hands the packet up to ${d.socket}.`,
          }
        : {
            concept: 'Nothing listens',
            text: `The address is local, but nothing listens (${d.socket}), so the kernel answers with a TCP reset or an ICMP port unreachable.`,
          };
    case 'l2-drop':
      return {
        concept: 'Not my MAC',
        text: `The frame's destination MAC is not ${d.device}'s, so the interface discards it: ${d.reason}.`,
      };
    case 'icmp-redirect':
      return {
        concept: 'ICMP redirect',
        text: `The router is sending the packet back out of the interface it came in on, so it tells the sender that ${d.gateway} is a better first hop for ${d.to}.`,
      };
    case 'netfilter':
      return narrateNetfilter(d);
    case 'conntrack':
      return narrateConntrack(d, e, ctx);
    case 'nat':
      return narrateNat(d);
    case 'ipvs':
      return {
        concept: 'IPVS',
        text:
          d.action === 'forward'
            ? `kube-proxy's IPVS virtual service ${d.service ?? ''} schedules the connection to the real server ${d.realServer ?? '?'} and rewrites the destination; conntrack remembers it for the reply.`
            : d.action === 'un-nat'
              ? `IPVS recognises the reply from ${d.realServer ?? 'the real server'} and rewrites its source back to the virtual service ${d.service ?? ''}.`
              : `IPVS looks at the packet at ${d.hook} and lets it pass (${d.action}).`,
      };
    case 'resolver':
      return narrateResolver(d);
    case 'dns':
      return narrateDns(d);
    case 'policy':
      return narratePolicy(d);
  }
}

function narrateRoute(d: Extract<Decision, { kind: 'route' }>, ctx: NarrationContext): Narration {
  switch (d.result) {
    case 'local':
      return {
        concept: 'A local address',
        text: `${d.dst} is one of this namespace's own addresses — the local table is consulted before main — so the packet is for this host and goes up the stack instead of being forwarded.`,
      };
    case 'unicast': {
      const unowned = isVirtual(ctx, d.dst);
      const via = d.gateway
        ? `to the gateway ${d.gateway} via ${d.dev ?? '?'}`
        : `directly out of ${d.dev ?? '?'} (on-link)`;
      const isDefault = d.route?.startsWith('default') ?? false;
      if (unowned && isDefault)
        return {
          concept: 'A ClusterIP has no route',
          text: `No route names ${d.dst} — no interface owns a ClusterIP — so the default route sends it ${via}; the node's iptables will translate it there.`,
        };
      return {
        concept: 'Longest-prefix match',
        text: `The most specific route containing ${d.dst} is "${d.route ?? '?'}", so the packet goes ${via}.${deviceKind(ctx, d.dev) === 'vxlan' ? ` ${d.dev ?? ''} is a VXLAN device: the pod subnets of other nodes are reached through the overlay.` : ''}`,
      };
    }
    case 'broadcast':
      return {
        concept: 'Broadcast',
        text: `${d.dst} is a broadcast address of this subnet, so every host on the link receives it.`,
      };
    default:
      return {
        concept: 'No route',
        text: `No route matches ${d.dst} (${d.result}): the sender gets an error, and a router sends back ICMP unreachable.`,
      };
  }
}

function narrateNetfilter(d: Extract<Decision, { kind: 'netfilter' }>): Narration {
  const matched = d.steps.filter((s) => s.index >= 0);
  const last = matched[matched.length - 1];
  const chains = [...new Set(d.steps.map((s) => s.chain))];
  // kube-proxy's per-Service chains end in a 16-character hash; "KUBE-SVC-…" says enough in a sentence.
  const short = (c: string) => c.replace(/^(KUBE-(?:SVC|SEP|EXT|FW|XLB)-)[A-Z0-9]{16}$/, '$1…');
  const random = d.steps.find((s) => s.random);
  const evaluated = `${plural(d.evaluated, 'rule')} evaluated`;
  const dnat = last && /^DNAT/.test(last.action);
  if (dnat && last) {
    const to = /--to-destination (\S+)/.exec(last.action)?.[1] ?? last.action;
    return {
      concept: "kube-proxy's DNAT",
      text: `In the nat table at ${d.hook}, kube-proxy's chains (${chains.slice(1).map(short).join(' → ')}) match the Service address and port and DNAT the packet to one endpoint, ${to}${random ? ', chosen at random by -m statistic' : ''}. This rule is all a ClusterIP is (${evaluated}).`,
    };
  }
  if (last && /^(MASQUERADE|SNAT)/.test(last.action))
    return {
      concept: 'Source NAT',
      text: `At ${d.hook} a ${last.action.split(' ')[0]} rule in ${last.chain} rewrites the source to this node's address, so the answer comes back to this node, which undoes it (${evaluated}).`,
    };
  if (d.verdict !== 'ACCEPT')
    return {
      concept: `iptables ${d.verdict}`,
      text: `A rule in the ${d.table} table at ${d.hook}${last ? ` (chain ${last.chain})` : ''} ${d.verdict === 'DROP' ? 'drops the packet silently' : 'rejects the packet'} (${evaluated}).`,
    };
  if (last && /RELATED,ESTABLISHED/.test(last.rule))
    return {
      concept: 'Established connections pass',
      text: `The packet belongs to a connection conntrack already knows, so the rule for RELATED,ESTABLISHED traffic in ${last.chain} accepts it at once — only a connection's first packet walks the full rule set (${evaluated}).`,
    };
  if (last && last.action === 'ACCEPT')
    return {
      concept: `iptables ${d.table} ${d.hook}`,
      text: `The kernel runs the ${d.table} table's ${d.hook} chain${d.bridged ? ' (for a bridged frame too, because br_netfilter is on)' : ''}; a rule in ${last.chain} accepts the packet, so the rest of the chain is not consulted (${evaluated}).`,
    };
  return {
    concept: `iptables ${d.table} ${d.hook}`,
    text: `The kernel runs the ${d.table} table's ${d.hook} chain${d.bridged ? ' (for a bridged frame too, because br_netfilter is on)' : ''}; ${chains.length > 1 ? `it jumps through ${chains.slice(1).join(', ')}, ` : ''}no rule changes the packet, so it is accepted (${evaluated}).`,
  };
}

function narrateConntrack(
  d: Extract<Decision, { kind: 'conntrack' }>,
  e: Extract<TraceEvent, { type: 'decide' }>,
  ctx: NarrationContext,
): Narration {
  const tuple = originalTuple(d.entry) ?? d.entry;
  if (d.action === 'new')
    return {
      concept: 'conntrack: a new connection',
      text: `conntrack has never seen ${tuple}, so it creates an entry (state NEW) holding both directions. Any NAT decided for this first packet is stored in it, so later packets and the reply are translated without walking the rules again.`,
    };
  if (d.action === 'confirmed')
    return {
      concept: 'conntrack: confirmed',
      text: `The first packet of ${tuple} passed every hook on ${ctx.view?.namespaces.find((n) => n.id === e.at.netns)?.label ?? e.at.netns}, so its entry is confirmed into the table: from now on packets of this flow match it.`,
    };
  return d.direction === 'reply'
    ? {
        concept: 'conntrack: the reply',
        text: `This packet matches the entry for ${tuple} in the reply direction, so conntrack knows it answers that connection (${d.state}). Any NAT done to the request is undone from the entry, and rules for established traffic let it through.`,
      }
    : {
        concept: 'conntrack: a known flow',
        text: `The packet matches the existing entry for ${tuple} (${d.state}): NAT and policy decided for the first packet apply again without new rule lookups.`,
      };
}

function narrateNat(d: Extract<Decision, { kind: 'nat' }>): Narration {
  if (d.how === 'conntrack')
    return d.field === 'src'
      ? {
          concept: 'Reply un-DNAT',
          text: `The request was DNATed, so its reply comes from ${d.before}; conntrack rewrites the source back to ${d.after}, the address the client connected to. Without this the client would drop an answer from an address it never called.`,
        }
      : {
          concept: 'Reply un-SNAT',
          text: `The request's source was rewritten on the way out, so the reply is addressed to ${d.before}; conntrack restores the original destination ${d.after}.`,
        };
  if (d.how === 'DNAT')
    return {
      concept: 'DNAT',
      text: `The destination changes from ${d.before} to ${d.after}: the pod that will really answer. conntrack stores the translation, so every later packet of the connection gets the same endpoint.`,
    };
  return {
    concept: d.how === 'MASQUERADE' ? 'MASQUERADE' : 'SNAT',
    text: `The source changes from ${d.before} to ${d.after}${d.how === 'MASQUERADE' ? ', the outgoing interface\u2019s address' : ''}, so replies come back to this host; conntrack undoes it for them (${hostOf(d.after)} → ${hostOf(d.before)}).`,
  };
}

function narrateResolver(d: Extract<Decision, { kind: 'resolver' }>): Narration {
  const ndots = Number(/ndots:(\d+)/.exec(d.resolvConf)?.[1] ?? 1);
  const dots = (d.name.replace(/\.$/, '').match(/\./g) ?? []).length;
  const position = `${d.candidates.indexOf(d.candidate) + 1} of ${d.candidates.length}`;
  switch (d.outcome) {
    case 'try': {
      let why: string;
      if (d.name.endsWith('.'))
        why = `"${d.name}" ends with a dot, so it is absolute: one query, no search list.`;
      else if (dots < ndots)
        why = `"${d.name}" has ${plural(dots, 'dot')}, fewer than ndots:${ndots}, so the search domains come first and the name as given last.`;
      else
        why = `"${d.name}" has ${plural(dots, 'dot')}, at least ndots:${ndots}, so it is tried as given first, then with the search domains.`;
      return {
        concept: 'The search list and ndots',
        text: `${why} Now trying ${d.candidate} (${position}).`,
      };
    }
    case 'use':
      return {
        concept: 'An address',
        text: `${d.candidate} answered ${d.address ?? '?'}; getaddrinfo returns it and the program connects to that address — it never sees the name again.`,
      };
    case 'next':
      return {
        concept: 'Next candidate',
        text: `${d.candidate} gave no address (NXDOMAIN, or no record), so the resolver moves on to the next name the search list makes.`,
      };
    case 'fail':
      return {
        concept: 'getaddrinfo fails',
        text: `No candidate of "${d.name}" resolved, so getaddrinfo fails and the program never opens a connection.`,
      };
  }
}

function narrateDns(d: Extract<Decision, { kind: 'dns' }>): Narration {
  if (d.rcode === null)
    return {
      concept: 'CoreDNS forwards',
      text: `${d.question} is outside the cluster's zones, so ${d.server} forwards the query to ${d.forwardTo ?? 'its upstream'} (the forward plugin) and waits for that answer.`,
    };
  if (d.answer.length > 0)
    return {
      concept: 'The DNS answer',
      text: `${d.server} answers ${d.question} with "${d.answer.map((a) => a.replace(/\s+/g, ' ')).join('; ')}". For a Service name the kubernetes plugin answers from the API: the ClusterIP, not a pod.`,
    };
  return {
    concept: d.rcode === 'NXDOMAIN' ? 'NXDOMAIN' : `No answer (${d.rcode})`,
    text: `${d.server} has no record for ${d.question} (${d.rcode}); the resolver will try its next candidate, if any.`,
  };
}

function narratePolicy(d: Extract<Decision, { kind: 'policy' }>): Narration {
  switch (d.result) {
    case 'established':
      return {
        concept: 'Replies pass NetworkPolicy',
        text: `This packet belongs to a connection that was allowed when it started (conntrack ESTABLISHED), so no policy rule is consulted: that is why the reply of an allowed connection is never blocked.`,
      };
    case 'allowed':
      return {
        concept: 'NetworkPolicy allows',
        text: `${d.pod} is selected for ${d.direction} by ${d.policies.join(', ')}, so only what a rule allows may pass — and ${d.rule ?? 'a rule'} allows this packet.`,
      };
    case 'denied':
      return {
        concept: 'NetworkPolicy denies',
        text: `${d.pod} is selected for ${d.direction} by ${d.policies.join(', ') || 'a policy'}, which makes it default-deny in that direction; no rule allows this packet, so it is dropped: ${d.reason}.`,
      };
    case 'not-isolated':
      return {
        concept: 'Not isolated',
        text: `No NetworkPolicy selects ${d.pod} for ${d.direction}, so the pod is non-isolated in that direction and everything is allowed.`,
      };
  }
}

const LEG_CONCEPT = { 'cni-add': 'CNI ADD', 'cni-del': 'CNI DEL' } as const;

/**
 * A step of a pod's CNI ADD or DEL, for a learner: what the step is in the course's terms (the
 * `net-script.sh add <container> <namespace>` every node would otherwise run), and why the plugin does it.
 * Driven by the step's op (or, for a step that changes nothing, by who acts and what it runs).
 */
export function narrateCni(e: Extract<TraceEvent, { type: 'cni' }>): Narration {
  const op = e.op;
  if (!op) {
    if (e.shell.includes('CNI_COMMAND='))
      return e.actor === 'containerd'
        ? {
            concept: e.command === 'ADD' ? 'The runtime calls CNI' : 'CNI DEL',
            text:
              e.command === 'ADD'
                ? 'CNI is a contract, not a daemon: the runtime runs a plugin binary from /opt/cni/bin with CNI_COMMAND=ADD, the container id, the path of the pod\u2019s network namespace and the interface to create in its environment, and the network config on stdin. It is the course\u2019s `net-script.sh add <container> <namespace>`, done by a real plugin.'
                : 'The pod is going away: the runtime runs the same plugin with CNI_COMMAND=DEL for the same container and namespace, so it can undo what ADD did — the `net-script.sh del` of the course.',
          }
        : {
            concept: 'One plugin hands over to another',
            text: `${e.why}. flannel knows the node's subnet; the bridge plugin knows how to wire a pod to a bridge. Plugins chain this way by running each other with the same CNI_* environment.`,
          };
    if (e.shell.startsWith('cat '))
      return {
        concept: "flannel's lease",
        text: `${e.why}. flanneld, not the CNI plugin, got this node its subnet of the cluster network: every pod on the node will get an address from FLANNEL_SUBNET.`,
      };
    return {
      concept: 'Already there',
      text: `${e.why}. The bridge plugin checks before it creates, so every ADD after the first leaves the node's side as it is.`,
    };
  }
  switch (op.op) {
    case 'netns-add':
      return {
        concept: "The pod's network namespace",
        text: "Every pod gets a network namespace of its own — its own interfaces, routes and ports. containerd creates it for the pod's sandbox and runs the pause container in it; the app containers join it later, which is why they share one IP and localhost. It is empty: not even lo is up yet.",
      };
    case 'link-add-loopback':
      return {
        concept: 'Loopback',
        text: 'Before the pod network, the runtime runs the loopback plugin: lo comes up with 127.0.0.1, so the pod\u2019s containers can talk to each other over localhost.',
      };
    case 'link-add-bridge':
      return {
        concept: 'A bridge per node',
        text: `${op.name} is a virtual switch in the node's own namespace. Every pod's veth will plug into it, so pods on this node reach each other at layer 2. This is the node's first pod, so its ADD creates it.`,
      };
    case 'link-add-veth':
      return {
        concept: "A veth pair: the pod's cable",
        text: `A veth pair is a virtual cable with two ends. The plugin makes it inside the pod's namespace: one end is the pod's ${op.name}, the other, ${op.peerName}, is placed in the node's namespace (\u201cnetns 1\u201d). Whatever enters one end leaves the other.`,
      };
    case 'link-set-master':
      return {
        concept: 'Plugged into the bridge',
        text: `${op.name} becomes a port of ${op.master}: frames from the pod now reach the bridge, and the bridge learns the pod's MAC behind this port.${op.hairpin ? ' Hairpin mode lets a frame go back out of the port it came in on — needed when a pod reaches itself through a Service.' : ''}`,
      };
    case 'link-set-up':
      return {
        concept: 'Bringing a link up',
        text: `A new link is down until someone sets it up: ${op.name} can carry frames from now on.`,
      };
    case 'file-write':
      return op.writer === 'host-local'
        ? {
            concept: 'IPAM: an address for the pod',
            text: `${op.why}. host-local is the IP address manager: it remembers every address it gave as a file, so two pods never get the same one, and a DEL frees it by deleting the file.`,
          }
        : {
            concept: 'Saved for the DEL',
            text: `${op.why}. At DEL time flannel reads it back, so it tears down exactly what it set up even if subnet.env has changed since.`,
          };
    case 'file-remove':
      return {
        concept: op.path.includes('/networks/') ? 'The address is released' : 'Cleaning up',
        text: `${op.why}.`,
      };
    case 'addr-add':
      return op.netns.startsWith('pod/')
        ? {
            concept: "The pod's IP",
            text: `${op.ip}/${op.prefix} goes on the pod's ${op.dev}. With it the kernel adds the connected route: the whole pod subnet is reachable directly on ${op.dev}, through the bridge.`,
          }
        : {
            concept: 'The gateway address',
            text: `${op.ip} on ${op.dev} makes the bridge the pods' gateway: the node's own IP stack answers there, and routes whatever leaves the pod subnet.`,
          };
    case 'route-add':
      return {
        concept: 'Routes in the pod',
        text: `${op.dst === 'default' ? 'The default route' : `A route to ${op.dst}`} via ${op.gateway ?? '?'}, the bridge's address: traffic the pod subnet does not cover goes to the node, which routes it on.`,
      };
    case 'sysctl':
      return {
        concept: 'Forwarding on',
        text: 'As the gateway, the node must forward packets between cni0 and its other links; the plugin makes sure ip_forward is 1 (it is already, on a Kubernetes node).',
      };
    case 'link-del':
      return {
        concept: 'One end deleted, both gone',
        text: `Deleting ${op.name} inside the pod deletes the whole veth pair: the node's end leaves the bridge too, and the routes through ${op.name} go with it. No second command is needed.`,
      };
    case 'netns-del':
      return {
        concept: 'The namespace goes',
        text: "With the pod's network torn down and its containers stopped, the runtime deletes the namespace. The bridge stays: it serves the node's other pods.",
      };
    default:
      return { concept: 'A CNI step', text: `${e.why}.` };
  }
}

function narrateVerdict(kind: VerdictKind, reason: string): Narration {
  switch (kind) {
    case 'configured':
      return {
        concept: 'The pod has a network',
        text: `The plugin returns its result — the interface, address and gateway — to the runtime, which starts the pod's containers in the namespace; kubelet reports the address as the pod's IP: ${reason}.`,
      };
    case 'removed':
      return {
        concept: 'The pod network is gone',
        text: `Everything the ADD made is undone except what other pods share (the bridge): ${reason}.`,
      };
    case 'delivered':
      return { concept: 'Delivered', text: `The packet reached its destination: ${reason}.` };
    case 'ttl-exceeded':
      return {
        concept: 'TTL exceeded',
        text: `The TTL reached zero in a router, which drops the packet and sends ICMP time exceeded back: ${reason}.`,
      };
    case 'frag-needed':
      return {
        concept: 'Fragmentation needed',
        text: `The packet is too big for the next link and may not be fragmented; ICMP "fragmentation needed" tells the sender the MTU: ${reason}.`,
      };
    case 'unresolved':
      return {
        concept: 'Name not resolved',
        text: `The lookup failed, so there is nothing to connect to: ${reason}.`,
      };
    default:
      return { concept: 'Not delivered', text: `The walk ends here: ${reason}.` };
  }
}
