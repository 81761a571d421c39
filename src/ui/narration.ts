// Narration: one or two plain sentences per hop saying WHY the packet did what it did — the concept behind
// the step, for someone learning Kubernetes networking (a CKA candidate). Driven only by the event's type,
// its decision's kind and fields and the world view; never by the walk's name.
// Pure: takes the event, its context and a `t` (the language's messages, narration.* in i18n/en.ts; English
// by default), returns text; must not read the store or the machine.
import type { Decision, LegKind, TraceEvent, VerdictKind } from '../engine/trace.ts';
import type { WorldView } from '../engine/view.ts';
import { enT, type T } from './i18n/index.ts';
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

export function narrate(event: TraceEvent, context: NarrationContext, t: T = enT): Narration {
  switch (event.type) {
    case 'leg':
      return narrateLeg(event.kind, event, context, t);
    case 'observe':
      return narrateObserve(event, context.view, t);
    case 'decide':
      return narrateDecision(event.decision, event, context, t);
    case 'cni':
      return narrateCni(event, t);
    case 'verdict':
      return narrateVerdict(event.verdict.kind, event.verdict.reason, t);
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

const hostOf = (ipPort: string) => ipPort.replace(/:\d+$/, '');

function narrateLeg(
  kind: LegKind,
  e: Extract<TraceEvent, { type: 'leg' }>,
  ctx: NarrationContext,
  t: T,
): Narration {
  const ip = { src: e.packet.ip.src, dst: e.packet.ip.dst };
  switch (kind) {
    case 'request': {
      if (isVirtual(ctx, ip.dst))
        return {
          concept: t('narration.request.virtual.concept'),
          text: t('narration.request.virtual.text', ip),
        };
      return { concept: t('narration.request.plain.concept'), text: t('narration.request.plain.text', ip) };
    }
    case 'reply':
      return { concept: t('narration.reply.concept'), text: t('narration.reply.text', ip) };
    case 'icmp-error':
      return { concept: t('narration.icmpError.concept'), text: t('narration.icmpError.text', ip) };
    case 'dns-query':
      return { concept: t('narration.dnsQuery.concept'), text: t('narration.dnsQuery.text', ip) };
    case 'cni-add':
    case 'cni-del':
      // A CNI walk has no leg events (it sends no packet); the steps narrate themselves (narrateCni).
      return { concept: t(`leg.${kind}`), text: e.summary };
    case 'dns-response':
      return { concept: t('narration.dnsResponse.concept'), text: t('narration.dnsResponse.text', ip) };
  }
}

function narrateObserve(
  e: Extract<TraceEvent, { type: 'observe' }>,
  view: WorldView | null,
  t: T,
): Narration {
  const ns = view?.namespaces.find((n) => n.id === e.at.netns);
  const dev = ns?.devices.find((d) => d.name === e.device);
  const p = e.packet;
  const device = e.device;
  if (p.inner && p.vxlan)
    return {
      concept: t('narration.underlay.concept'),
      text: t('narration.underlay.text', {
        device,
        src: p.ip.src,
        dst: p.ip.dst,
        vni: p.vxlan.vni,
        innerSrc: p.inner.ip.src,
        innerDst: p.inner.ip.dst,
      }),
    };
  switch (dev?.kind) {
    case 'veth': {
      const concept = t('narration.veth.concept');
      if (e.direction === 'out')
        return {
          concept,
          text: dev.peer
            ? t('narration.veth.outPeer', { device, peer: dev.peer.device, peerNetns: dev.peer.netns })
            : t('narration.veth.out', { device }),
        };
      return {
        concept,
        text: dev.master
          ? t('narration.veth.inBridge', { device, bridge: dev.master })
          : t('narration.veth.in', { device }),
      };
    }
    case 'bridge':
      return e.direction === 'in'
        ? { concept: t('narration.bridgeIn.concept'), text: t('narration.bridgeIn.text', { device }) }
        : { concept: t('narration.bridgeOut.concept'), text: t('narration.bridgeOut.text', { device }) };
    case 'vxlan':
      return e.direction === 'out'
        ? { concept: t('narration.vxlanOut.concept'), text: t('narration.vxlanOut.text', { device }) }
        : { concept: t('narration.vxlanIn.concept'), text: t('narration.vxlanIn.text', { device }) };
    default:
      return {
        concept: t('narration.wire.concept'),
        text: t(e.direction === 'in' ? 'narration.wire.in' : 'narration.wire.out', {
          device,
          netns: ns?.label ?? e.at.netns,
          src: p.ip.src,
          dst: p.ip.dst,
        }),
      };
  }
}

function narrateDecision(
  d: Decision,
  e: Extract<TraceEvent, { type: 'decide' }>,
  ctx: NarrationContext,
  t: T,
): Narration {
  switch (d.kind) {
    case 'route':
      return narrateRoute(d, ctx, t);
    case 'neigh': {
      const at = { ip: d.ip, device: d.device };
      if (d.arp)
        return {
          concept: t('narration.arp.concept'),
          text: t('narration.arp.text', {
            ...at,
            answeredBy: d.arp.answeredBy,
            mac: d.mac ?? '',
            device: d.arp.device,
          }),
        };
      if (d.stateBefore === 'PERMANENT')
        return {
          concept: t('narration.neighPermanent.concept'),
          text: t('narration.neighPermanent.text', at),
        };
      if (d.stateBefore === 'NONE')
        return {
          concept: t('narration.neighNone.concept'),
          text: t('narration.neighNone.text', { ...at, state: d.stateAfter }),
        };
      return {
        concept: t('narration.neighCached.concept'),
        text: t(d.stateAfter === 'DELAY' ? 'narration.neighCached.delay' : 'narration.neighCached.text', {
          ...at,
          mac: d.mac ?? '',
          state: d.stateBefore,
        }),
      };
    }
    case 'fdb': {
      const at = { bridge: d.bridge, mac: d.mac };
      if (d.result === 'local')
        return { concept: t('narration.fdbLocal.concept'), text: t('narration.fdbLocal.text', at) };
      if (d.result === 'flood')
        return { concept: t('narration.fdbFlood.concept'), text: t('narration.fdbFlood.text', at) };
      return {
        concept: t('narration.fdbPort.concept'),
        text: t(d.learned ? 'narration.fdbPort.learned' : 'narration.fdbPort.text', {
          ...at,
          port: d.port ?? '?',
        }),
      };
    }
    case 'vxlan-fdb':
      return {
        concept: t('narration.vxlanFdb.concept'),
        text: t('narration.vxlanFdb.text', {
          device: d.device,
          mac: d.mac,
          remote: d.remote ?? t('narration.unknown'),
        }),
      };
    case 'encap':
      return {
        concept: t('narration.encap.concept'),
        text: t('narration.encap.text', {
          device: d.device,
          vni: d.vni,
          port: d.port,
          local: d.local,
          remote: d.remote,
        }),
      };
    case 'decap':
      return {
        concept: t('narration.decap.concept'),
        text: t('narration.decap.text', { port: d.port, device: d.device }),
      };
    case 'forward':
      return d.ipForward
        ? {
            concept: t('narration.forward.concept'),
            text: t('narration.forward.text', { ttlBefore: d.ttlBefore, ttlAfter: d.ttlAfter }),
          }
        : { concept: t('narration.notRouter.concept'), text: t('narration.notRouter.text') };
    case 'mtu':
      return {
        concept: t('narration.mtu.concept'),
        text: t(d.df ? 'narration.mtu.df' : 'narration.mtu.text', {
          length: d.length,
          device: d.device,
          mtu: d.mtu,
        }),
      };
    case 'deliver':
      return d.listening
        ? {
            concept: t('narration.delivered.concept'),
            text: t('narration.delivered.text', { socket: d.socket }),
          }
        : {
            concept: t('narration.notListening.concept'),
            text: t('narration.notListening.text', { socket: d.socket }),
          };
    case 'l2-drop':
      return {
        concept: t('narration.l2Drop.concept'),
        text: t('narration.l2Drop.text', { device: d.device, reason: d.reason }),
      };
    case 'icmp-redirect':
      return {
        concept: t('narration.icmpRedirect.concept'),
        text: t('narration.icmpRedirect.text', { gateway: d.gateway, to: d.to }),
      };
    case 'netfilter':
      return narrateNetfilter(d, t);
    case 'conntrack':
      return narrateConntrack(d, e, ctx, t);
    case 'nat':
      return narrateNat(d, t);
    case 'ipvs':
      return {
        concept: t('narration.ipvs.concept'),
        text:
          d.action === 'forward'
            ? t('narration.ipvs.forward', { service: d.service ?? '', realServer: d.realServer ?? '?' })
            : d.action === 'un-nat'
              ? t('narration.ipvs.unNat', {
                  realServer: d.realServer ?? t('narration.ipvs.theRealServer'),
                  service: d.service ?? '',
                })
              : t('narration.ipvs.pass', { hook: d.hook, action: d.action }),
      };
    case 'resolver':
      return narrateResolver(d, t);
    case 'dns':
      return narrateDns(d, t);
    case 'policy':
      return narratePolicy(d, t);
  }
}

function narrateRoute(d: Extract<Decision, { kind: 'route' }>, ctx: NarrationContext, t: T): Narration {
  const dst = d.dst;
  switch (d.result) {
    case 'local':
      return { concept: t('narration.routeLocal.concept'), text: t('narration.routeLocal.text', { dst }) };
    case 'unicast': {
      const unowned = isVirtual(ctx, dst);
      const dev = d.dev ?? '?';
      const via = d.gateway
        ? t('narration.via.gateway', { gateway: d.gateway, dev })
        : t('narration.via.onLink', { dev });
      const isDefault = d.route?.startsWith('default') ?? false;
      if (unowned && isDefault)
        return {
          concept: t('narration.clusterIpRoute.concept'),
          text: t('narration.clusterIpRoute.text', { dst, via }),
        };
      return {
        concept: t('narration.lpm.concept'),
        text: t(deviceKind(ctx, d.dev) === 'vxlan' ? 'narration.lpm.vxlan' : 'narration.lpm.text', {
          dst,
          route: d.route ?? '?',
          via,
          dev,
        }),
      };
    }
    case 'broadcast':
      return { concept: t('narration.broadcast.concept'), text: t('narration.broadcast.text', { dst }) };
    default:
      return {
        concept: t('narration.noRoute.concept'),
        text: t('narration.noRoute.text', { dst, result: d.result }),
      };
  }
}

function narrateNetfilter(d: Extract<Decision, { kind: 'netfilter' }>, t: T): Narration {
  const matched = d.steps.filter((s) => s.index >= 0);
  const last = matched[matched.length - 1];
  const chains = [...new Set(d.steps.map((s) => s.chain))];
  // kube-proxy's per-Service chains end in a 16-character hash; "KUBE-SVC-…" says enough in a sentence.
  const short = (c: string) => c.replace(/^(KUBE-(?:SVC|SEP|EXT|FW|XLB)-)[A-Z0-9]{16}$/, '$1…');
  const random = d.steps.find((s) => s.random);
  const evaluated = t('narration.evaluated', { count: d.evaluated });
  const at = { table: d.table, hook: d.hook, evaluated };
  const dnat = last && /^DNAT/.test(last.action);
  if (dnat && last) {
    const to = /--to-destination (\S+)/.exec(last.action)?.[1] ?? last.action;
    return {
      concept: t('narration.kubeDnat.concept'),
      text: t(random ? 'narration.kubeDnat.random' : 'narration.kubeDnat.text', {
        hook: d.hook,
        chains: chains.slice(1).map(short).join(' → '),
        to,
        evaluated,
      }),
    };
  }
  if (last && /^(MASQUERADE|SNAT)/.test(last.action))
    return {
      concept: t('narration.sourceNat.concept'),
      text: t('narration.sourceNat.text', {
        hook: d.hook,
        target: last.action.split(' ')[0] ?? '',
        chain: last.chain,
        evaluated,
      }),
    };
  if (d.verdict !== 'ACCEPT') {
    const drop = d.verdict === 'DROP';
    const text = last
      ? t(drop ? 'narration.iptablesVerdict.dropChain' : 'narration.iptablesVerdict.rejectChain', {
          ...at,
          chain: last.chain,
        })
      : t(drop ? 'narration.iptablesVerdict.drop' : 'narration.iptablesVerdict.reject', at);
    return { concept: t('narration.iptablesVerdict.concept', { verdict: d.verdict }), text };
  }
  if (last && /RELATED,ESTABLISHED/.test(last.rule))
    return {
      concept: t('narration.established.concept'),
      text: t('narration.established.text', { chain: last.chain, evaluated }),
    };
  const concept = t('narration.iptablesChain.concept', { table: d.table, hook: d.hook });
  const bridged = d.bridged ? t('narration.iptablesChain.bridged') : '';
  if (last && last.action === 'ACCEPT')
    return { concept, text: t('narration.iptablesChain.accept', { ...at, bridged, chain: last.chain }) };
  return {
    concept,
    text:
      chains.length > 1
        ? t('narration.iptablesChain.passJumps', { ...at, bridged, chains: chains.slice(1).join(', ') })
        : t('narration.iptablesChain.pass', { ...at, bridged }),
  };
}

function narrateConntrack(
  d: Extract<Decision, { kind: 'conntrack' }>,
  e: Extract<TraceEvent, { type: 'decide' }>,
  ctx: NarrationContext,
  t: T,
): Narration {
  const tuple = originalTuple(d.entry) ?? d.entry;
  if (d.action === 'new')
    return {
      concept: t('narration.conntrackNew.concept'),
      text: t('narration.conntrackNew.text', { tuple }),
    };
  if (d.action === 'confirmed')
    return {
      concept: t('narration.conntrackConfirmed.concept'),
      text: t('narration.conntrackConfirmed.text', {
        tuple,
        netns: ctx.view?.namespaces.find((n) => n.id === e.at.netns)?.label ?? e.at.netns,
      }),
    };
  return d.direction === 'reply'
    ? {
        concept: t('narration.conntrackReply.concept'),
        text: t('narration.conntrackReply.text', { tuple, state: d.state }),
      }
    : {
        concept: t('narration.conntrackKnown.concept'),
        text: t('narration.conntrackKnown.text', { tuple, state: d.state }),
      };
}

function narrateNat(d: Extract<Decision, { kind: 'nat' }>, t: T): Narration {
  const at = { before: d.before, after: d.after };
  if (d.how === 'conntrack')
    return d.field === 'src'
      ? { concept: t('narration.unDnat.concept'), text: t('narration.unDnat.text', at) }
      : { concept: t('narration.unSnat.concept'), text: t('narration.unSnat.text', at) };
  if (d.how === 'DNAT') return { concept: t('narration.dnat.concept'), text: t('narration.dnat.text', at) };
  const hosts = { ...at, afterHost: hostOf(d.after), beforeHost: hostOf(d.before) };
  return d.how === 'MASQUERADE'
    ? { concept: t('narration.masquerade.concept'), text: t('narration.masquerade.text', hosts) }
    : { concept: t('narration.snat.concept'), text: t('narration.snat.text', hosts) };
}

function narrateResolver(d: Extract<Decision, { kind: 'resolver' }>, t: T): Narration {
  const ndots = Number(/ndots:(\d+)/.exec(d.resolvConf)?.[1] ?? 1);
  const dots = (d.name.replace(/\.$/, '').match(/\./g) ?? []).length;
  switch (d.outcome) {
    case 'try': {
      const name = d.name;
      const counted = { name, dots: t('narration.dots', { count: dots }), ndots };
      const why = name.endsWith('.')
        ? t('narration.resolverTry.absolute', { name })
        : dots < ndots
          ? t('narration.resolverTry.fewer', counted)
          : t('narration.resolverTry.enough', counted);
      return {
        concept: t('narration.resolverTry.concept'),
        text: t('narration.resolverTry.now', {
          why,
          candidate: d.candidate,
          n: d.candidates.indexOf(d.candidate) + 1,
          total: d.candidates.length,
        }),
      };
    }
    case 'use':
      return {
        concept: t('narration.resolverUse.concept'),
        text: t('narration.resolverUse.text', { candidate: d.candidate, address: d.address ?? '?' }),
      };
    case 'next':
      return {
        concept: t('narration.resolverNext.concept'),
        text: t('narration.resolverNext.text', { candidate: d.candidate }),
      };
    case 'fail':
      return {
        concept: t('narration.resolverFail.concept'),
        text: t('narration.resolverFail.text', { name: d.name }),
      };
  }
}

function narrateDns(d: Extract<Decision, { kind: 'dns' }>, t: T): Narration {
  const at = { server: d.server, question: d.question };
  if (d.rcode === null)
    return {
      concept: t('narration.dnsForward.concept'),
      text: t('narration.dnsForward.text', {
        ...at,
        upstream: d.forwardTo ?? t('narration.dnsForward.upstream'),
      }),
    };
  if (d.answer.length > 0)
    return {
      concept: t('narration.dnsAnswer.concept'),
      text: t('narration.dnsAnswer.text', {
        ...at,
        answer: d.answer.map((a) => a.replace(/\s+/g, ' ')).join('; '),
      }),
    };
  return {
    concept:
      d.rcode === 'NXDOMAIN'
        ? t('narration.dnsNone.nxdomain')
        : t('narration.dnsNone.concept', { rcode: d.rcode }),
    text: t('narration.dnsNone.text', { ...at, rcode: d.rcode }),
  };
}

function narratePolicy(d: Extract<Decision, { kind: 'policy' }>, t: T): Narration {
  const at = { pod: d.pod, direction: d.direction };
  switch (d.result) {
    case 'established':
      return {
        concept: t('narration.policyEstablished.concept'),
        text: t('narration.policyEstablished.text'),
      };
    case 'allowed':
      return {
        concept: t('narration.policyAllowed.concept'),
        text: t('narration.policyAllowed.text', {
          ...at,
          policies: d.policies.join(', '),
          rule: d.rule ?? t('narration.policyAllowed.aRule'),
        }),
      };
    case 'denied':
      return {
        concept: t('narration.policyDenied.concept'),
        text: t('narration.policyDenied.text', {
          ...at,
          policies: d.policies.join(', ') || t('narration.policyDenied.aPolicy'),
          reason: d.reason,
        }),
      };
    case 'not-isolated':
      return {
        concept: t('narration.policyNotIsolated.concept'),
        text: t('narration.policyNotIsolated.text', at),
      };
  }
}

/**
 * A step of a pod's CNI ADD or DEL, for a learner: what the step is in the course's terms (the
 * `net-script.sh add <container> <namespace>` every node would otherwise run), and why the plugin does it.
 * Driven by the step's op (or, for a step that changes nothing, by who acts and what it runs).
 */
export function narrateCni(e: Extract<TraceEvent, { type: 'cni' }>, t: T = enT): Narration {
  const op = e.op;
  // The keys are checked by CniKey; i18next's typings cannot check a union of keys against each one's
  // variables, so this one call is untyped (i18n.test.ts checks every key's variables match English's).
  const text = t as unknown as (key: string, vars: Record<string, string>) => string;
  const said = (key: CniKey, vars: Record<string, string> = {}): Narration => ({
    concept: t(`narration.cni.${key}.concept`),
    text: text(`narration.cni.${key}.text`, vars),
  });
  const why = { why: e.why };
  if (!op) {
    if (e.shell.includes('CNI_COMMAND='))
      return e.actor === 'containerd'
        ? said(e.command === 'ADD' ? 'runtimeAdd' : 'runtimeDel')
        : said('delegate', why);
    if (e.shell.startsWith('cat ')) return said('lease', why);
    return said('exists', why);
  }
  switch (op.op) {
    case 'netns-add':
      return said('netnsAdd');
    case 'link-add-loopback':
      return said('loopback');
    case 'link-add-bridge':
      return said('bridge', { name: op.name });
    case 'link-add-veth':
      return said('veth', { name: op.name, peer: op.peerName });
    case 'link-set-master': {
      const n = said('master', { name: op.name, master: op.master });
      return op.hairpin ? { ...n, text: n.text + t('narration.cni.master.hairpin') } : n;
    }
    case 'link-set-up':
      return said('up', { name: op.name });
    case 'file-write':
      return said(op.writer === 'host-local' ? 'ipam' : 'saved', { why: op.why });
    case 'file-remove':
      return said(op.path.includes('/networks/') ? 'released' : 'cleanup', { why: op.why });
    case 'addr-add':
      return op.netns.startsWith('pod/')
        ? said('podAddr', { ip: op.ip, prefix: String(op.prefix), dev: op.dev })
        : said('gatewayAddr', { ip: op.ip, dev: op.dev });
    case 'route-add': {
      const gateway = op.gateway ?? '?';
      return {
        concept: t('narration.cni.route.concept'),
        text:
          op.dst === 'default'
            ? t('narration.cni.route.defaultText', { gateway })
            : t('narration.cni.route.text', { dst: op.dst, gateway }),
      };
    }
    case 'sysctl':
      return said('sysctl');
    case 'link-del':
      return said('linkDel', { name: op.name });
    case 'netns-del':
      return said('netnsDel');
    default:
      return { concept: t('narration.cni.other'), text: `${e.why}.` };
  }
}

/** The CNI narrations that are a concept and a text. */
type CniKey =
  | 'runtimeAdd'
  | 'runtimeDel'
  | 'delegate'
  | 'lease'
  | 'exists'
  | 'netnsAdd'
  | 'loopback'
  | 'bridge'
  | 'veth'
  | 'master'
  | 'up'
  | 'ipam'
  | 'saved'
  | 'released'
  | 'cleanup'
  | 'podAddr'
  | 'gatewayAddr'
  | 'sysctl'
  | 'linkDel'
  | 'netnsDel'
  | 'configured'
  | 'removed';

function narrateVerdict(kind: VerdictKind, reason: string, t: T): Narration {
  switch (kind) {
    case 'configured':
    case 'removed':
      return {
        concept: t(`narration.cni.${kind}.concept`),
        text: t(`narration.cni.${kind}.text`, { reason }),
      };
    case 'delivered':
      return {
        concept: t('narration.verdictDelivered.concept'),
        text: t('narration.verdictDelivered.text', { reason }),
      };
    case 'ttl-exceeded':
      return { concept: t('narration.verdictTtl.concept'), text: t('narration.verdictTtl.text', { reason }) };
    case 'frag-needed':
      return {
        concept: t('narration.verdictFrag.concept'),
        text: t('narration.verdictFrag.text', { reason }),
      };
    case 'unresolved':
      return {
        concept: t('narration.verdictUnresolved.concept'),
        text: t('narration.verdictUnresolved.text', { reason }),
      };
    default:
      return {
        concept: t('narration.verdictOther.concept'),
        text: t('narration.verdictOther.text', { reason }),
      };
  }
}
