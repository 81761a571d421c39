// The English UI text: every string the UI shows, by key. The source of the key types (i18next.d.ts), so a
// t('…') call with a key that is not here does not compile; ko.ts must have exactly these keys and, per key,
// the same {{variables}} (i18n.test.ts checks both). Technical names stay as Linux and Kubernetes print
// them (eth0, cni0, PREROUTING, conntrack, DNAT) — in every language.
export const en = {
  language: {
    /** The header's language select: the same label in every language, so anyone can find it. */
    label: 'Language / 언어',
  },
  app: {
    cluster: 'Cluster',
    side: 'Playback and hops',
    details: 'Details',
    playback: 'Playback',
    openFull: 'Open in Packet Walk',
  },
  legend: {
    label: 'Legend',
    request: 'request',
    reply: 'reply',
    icmpError: 'ICMP error',
    dns: 'DNS',
    encap: 'encapsulated (VXLAN)',
    hint: 'drag to pan · wheel to zoom · double-click to fit',
  },
  controls: {
    toolbar: 'Playback',
    restart: 'Restart',
    restartTitle: 'Restart (Home)',
    stepBack: 'Step back',
    stepBackTitle: 'Step back (←)',
    play: 'Play',
    playTitle: 'Play (Space)',
    pause: 'Pause',
    pauseTitle: 'Pause (Space)',
    stepForward: 'Step forward',
    stepForwardTitle: 'Step forward (→)',
    speed: 'Speed',
    position: 'Position',
  },
  verdict: {
    label: 'Verdict',
    starting: 'Starting…',
    notStarted: 'The walk did not start.',
    walking: 'Walking…',
    inFlight: 'In flight',
    inFlightLower: 'in flight',
    inProgress: 'In progress',
    inProgressLower: 'in progress',
    cniStep: '{{leg}}: step {{n}}',
    withReason: '{{label}}: {{reason}}',
    legStatus: '{{leg}}: {{status}}',
    kind: {
      delivered: 'Delivered',
      dropped: 'Dropped',
      unreachable: 'Unreachable',
      'ttl-exceeded': 'TTL exceeded',
      'frag-needed': 'Fragmentation needed',
      'local-error': 'Refused by the sender',
      loop: 'Forwarding loop',
      unresolved: 'Name not resolved',
      configured: 'Pod network ready',
      removed: 'Pod network removed',
    },
  },
  leg: {
    request: 'Request',
    reply: 'Reply',
    'icmp-error': 'ICMP error',
    'dns-query': 'DNS query',
    'dns-response': 'DNS answer',
    'cni-add': 'CNI ADD',
    'cni-del': 'CNI DEL',
  },
  hops: {
    label: 'Hops',
    group_one: 'leg {{leg}} · {{count}} event · {{end}}',
    group_other: 'leg {{leg}} · {{count}} events · {{end}}',
    in: '{{device}} ← in',
    out: '{{device}} → out',
    decision: '{{label}}: {{brief}}',
    legLine: '{{label}}: {{summary}}',
  },
  brief: {
    bridged: ' (bridged)',
    rules_one: '{{count}} rule',
    rules_other: '{{count}} rules',
    netfilter: '{{table}} {{hook}}{{bridged}} → {{end}} ({{rules}})',
    conntrackNew: 'new entry {{tuple}} ({{state}})',
    conntrackFound: '{{direction}} of {{tuple}} ({{state}})',
    conntrackConfirmed: 'confirmed {{tuple}} ({{state}})',
    noMac: 'no MAC',
    neigh: '{{ip}} dev {{device}} → {{mac}} ({{state}})',
    neighArp: '{{ip}} dev {{device}} → {{mac}} (ARP, {{state}})',
    position: '({{n}} of {{total}})',
    resolverTry: 'try {{candidate}} {{position}}',
    resolverUse: '{{candidate}} is {{address}}: connect',
    resolverNext: '{{candidate}}: no address, next name',
    resolverFail: '{{name}}: getaddrinfo fails',
  },
  layers: {
    packet: 'Packet',
    outer: 'Outer',
    inner: 'Inner',
    innerN: 'Inner {{n}}',
  },
  tables: {
    localNote: 'local table: this host owns the address',
    learned: 'learned during this walk',
    learnedFrame: 'learned from an earlier frame',
    fdbResult: {
      local: 'local',
      port: 'port',
      flood: 'flood',
    },
    remote: 'remote {{remote}}',
    flood: 'No entry for {{mac}}: the bridge floods it to every port.',
    arpBy: 'ARP answered by {{by}} {{device}}',
    netfilterIntro: 'iptables -t {{table}}, {{hook}} hook: {{rules}} evaluated → {{verdict}}',
    netfilterIntroBridged:
      'iptables -t {{table}}, {{hook}} hook (a bridged frame, via br_netfilter): {{rules}} evaluated → {{verdict}}',
    natTitle: '{{how}} at {{hook}}',
    natByConntrack: 'NAT by conntrack at {{hook}}',
    natFromEntry: 'from the entry below',
    natBoundToEntry: 'bound to the entry below',
    candidatesTitle: 'the names "{{name}}" makes, in order',
    dnsTitle: 'DNS answer ({{server}})',
    dnsForwarded: 'forwarded to {{to}}',
    plugins: 'CoreDNS plugins, in order',
    policyTitle: 'NetworkPolicy: {{direction}} of {{pod}}',
    policySelects: '{{policy}} selects {{pod}} for {{direction}}',
    policyNone: 'no policy selects {{pod}} for {{direction}}',
    resolverSent: 'query sent',
    resolverAnswered: 'answered {{address}}',
    resolverNext: 'no address: next name',
    resolverFail: 'getaddrinfo fails',
    conntrackTitle: 'conntrack -L ({{netns}}, the entries this walk made)',
    conntrackCreated: 'created by this packet (unconfirmed until it leaves the last hook)',
    conntrackConfirmed: 'confirmed: now in the table',
    conntrackMatched: 'matched in the {{direction}} direction ({{state}})',
    notTaken: 'not taken',
    random: '{{action}} (probability {{p}}, rolled {{roll}})',
    moreRules_one: '… {{count}} more rule, not reached',
    moreRules_other: '… {{count}} more rules, not reached',
    chainPolicy: '(chain policy) {{action}}',
  },
  decision: {
    title: 'Decision',
    none: 'No decision yet in this leg.',
    earlier: ' (earlier)',
    matched: 'matched: ',
    tested: 'tested, no match: ',
    noEntries: 'No entries.',
  },
  inspector: {
    title: 'Packet',
    none: 'No packet yet.',
    changed_one: ' · {{count}} field changed',
    changed_other: ' · {{count}} fields changed',
    was: 'was',
    new: 'new',
  },
  device: {
    in: 'in {{netns}}',
    close: 'Close device details',
    peer: '{{device}} in {{netns}}',
    rules_one: 'iptables-save ({{count}} rule)',
    rules_other: 'iptables-save ({{count}} rules)',
  },
  errors: {
    scenario: 'scenario',
    document: 'document {{n}}',
    documentWhat: 'document {{n}} ({{what}})',
    problems: 'The scenario has problems',
    failed: 'The walk failed',
    line: ' (line {{line}})',
  },
  narrationPanel: {
    title: 'Why this hop',
    empty: 'Step through the walk to see why each hop happens.',
  },
  header: {
    /** The header button over the cluster toggles (CNI, kube-proxy, externalTrafficPolicy, seed). */
    cluster: 'Cluster',
    /** The header button over the from/to/protocol form. */
    customWalk: 'From / to',
    share: 'Share',
    export: 'Export',
  },
  picker: {
    scenario: 'Scenario',
    fromLink: 'from the link',
    walk: 'Walk',
    custom: 'custom…',
    customWalk: 'Custom walk',
    from: 'From',
    to: 'To',
    toPlaceholder: 'db-service:3306 or 10.96.0.10:53',
    protocol: 'Protocol',
    submit: 'Walk',
    about: 'About this scenario',
  },
  share: {
    group: 'Share and export',
    copyLink: 'Copy link',
    copyEmbed: 'Copy embed code',
    embedTitle: 'An <iframe> for slides: the picture, compact controls and the verdict',
    exportJson: 'Export JSON',
    exportJsonTitle: 'The trace as JSON (docs/trace-format.md)',
    notFinished: 'The walk has not finished yet',
    exportSvg: 'Export SVG',
    exportSvgTitle: 'This frame as SVG',
    exportPng: 'Export PNG',
    exportPngTitle: 'This frame as PNG',
    bitmap: 'The picture is a bitmap canvas: export it as PNG.',
    looking: 'Looking for the picture…',
    linkCopied: 'Link copied.',
    embedCopied: 'Embed code copied.',
    copyFailed: 'Copy failed; select and copy it by hand: {{text}}',
    traceDownloaded: 'Trace downloaded.',
    svgDownloaded: 'Picture downloaded (SVG).',
    pngDownloaded: 'Picture downloaded (PNG).',
  },
  linkNotice: {
    title: 'This link could not be opened.',
    fallback: 'Showing the default cluster instead.',
    dismiss: 'Dismiss',
  },
  embed: {
    currentHop: 'Current hop',
  },
  toggles: {
    group: 'Cluster toggles',
    needsGateway: ' (needs a gateway)',
    seed: 'Seed',
    reset: 'Reset toggles',
    compare: 'Before ({{what}}): {{before}} hops · now: {{now}} hops',
    cniWas: 'CNI {{cni}}',
    asScenario: 'as the scenario says',
    seedWas: 'seed {{seed}}',
    defaultSeed: 'default',
    toggles: 'toggles',
    policyTitle: 'externalTrafficPolicy of Service {{service}}',
  },
  canvas: {
    topology: 'Topology',
    topologyOf: 'Topology of {{name}}: {{count}} network namespaces',
    deviceIn: '{{device}} in {{netns}}',
    delivered: 'delivered',
    mark: {
      delivered: 'delivered',
      configured: 'configured',
      removed: 'removed',
    },
    collapse: 'collapse uninvolved nodes',
    icmpEcho: 'ICMP echo',
    icmpEchoReply: 'ICMP echo reply',
    leg: {
      request: 'request',
      reply: 'reply',
      'icmp-error': 'ICMP error',
      'dns-query': 'DNS query',
      'dns-response': 'DNS answer',
      'cni-add': 'CNI ADD',
      'cni-del': 'CNI DEL',
    },
  },
  narration: {
    unknown: '(unknown)',
    request: {
      virtual: {
        concept: 'A Service address',
        text: "No interface anywhere has {{dst}}: a Service's ClusterIP is a virtual address that exists only in kube-proxy's rules. The packet leaves {{src}} by its default route, and a node's DNAT will swap {{dst}} for a real pod address.",
      },
      plain: {
        concept: 'The request',
        text: "{{src}} sends the first packet to {{dst}}. Each hop below is one kernel decision, made from that namespace's own tables — nothing knows the whole path in advance.",
      },
    },
    reply: {
      concept: 'The reply',
      text: 'The receiver answers, so source and destination swap: {{src}} → {{dst}}. The reply is routed on its own; only conntrack on the nodes remembers the request (and any NAT it got).',
    },
    icmpError: {
      concept: 'An ICMP error',
      text: 'A router or host could not deliver the request, so {{src}} sends an ICMP error back to {{dst}}, quoting the headers of the packet it refused.',
    },
    dnsQuery: {
      concept: 'Name resolution first',
      text: "Before it can connect, the program needs an address: the C library's stub resolver sends a DNS query over UDP to {{dst}}:53, the nameserver in its /etc/resolv.conf.",
    },
    dnsResponse: {
      concept: 'The DNS answer',
      text: "The DNS server answers from port 53 back to the resolver's ephemeral port at {{dst}}; on the way back it is just another UDP packet of a known conntrack flow.",
    },
    underlay: {
      concept: 'On the node network',
      text: 'On {{device}} the packet is a UDP datagram between node addresses {{src}} → {{dst}} (VXLAN VNI {{vni}}); the pod packet {{innerSrc}} → {{innerDst}} rides inside, untouched. The underlay only has to know how to reach the nodes.',
    },
    veth: {
      concept: 'A veth pair',
      outPeer:
        'A veth pair is a virtual cable between two namespaces: what leaves {{device}} here comes out of its peer {{peer}} in {{peerNetns}} at once.',
      out: 'A veth pair is a virtual cable between two namespaces: what leaves {{device}} here comes out of its peer at once.',
      inBridge:
        "The frame arrives through the veth pair's {{device}} end, which is a port of the bridge {{bridge}}: the bridge looks at it next.",
      in: "The frame arrives through the veth pair's {{device}} end, inside the receiving namespace.",
    },
    bridgeIn: {
      concept: 'Up to the IP stack',
      text: "The frame was addressed to the bridge {{device}} itself, so it enters the node's own IP stack through {{device}} — from here the node acts as a router.",
    },
    bridgeOut: {
      concept: 'Into the bridge',
      text: 'The node sends the packet out of the bridge {{device}}; the bridge now switches the frame to the port behind which the destination MAC lives.',
    },
    vxlanOut: {
      concept: 'Into the overlay',
      text: "{{device}} is a VXLAN device: a frame sent out of it is not put on a wire but wrapped in UDP and sent to another node's real address.",
    },
    vxlanIn: {
      concept: 'Out of the overlay',
      text: 'The original frame appears on {{device}}, unwrapped, as if a cable from the other node ended here; the pod addresses in it are unchanged.',
    },
    wire: {
      concept: 'On the wire',
      in: 'tcpdump -i {{device}} in {{netns}} would show the packet here (arriving): {{src}} → {{dst}}.',
      out: 'tcpdump -i {{device}} in {{netns}} would show the packet here (leaving): {{src}} → {{dst}}.',
    },
    arp: {
      concept: 'ARP',
      text: 'To build the Ethernet frame the kernel needs the MAC address of the next hop {{ip}}. There was no neighbour entry, so it broadcast "who has {{ip}}?" and {{answeredBy}} answered {{mac}} from {{device}}.',
    },
    neighPermanent: {
      concept: 'A permanent neighbour',
      text: "The next hop {{ip}} has a PERMANENT neighbour entry on {{device}}, written by whoever set up the device (flanneld does this for each node's VTEP), so no ARP is sent.",
    },
    neighNone: {
      concept: 'No neighbour',
      text: 'There is no MAC address for {{ip}} on {{device}} and nobody answered ARP ({{state}}), so the frame cannot be built.',
    },
    neighCached: {
      concept: 'The neighbour cache',
      text: "The kernel already knows {{ip}}'s MAC {{mac}} on {{device}} ({{state}}, learned earlier), so no new ARP is needed.",
      delay:
        "The kernel already knows {{ip}}'s MAC {{mac}} on {{device}} ({{state}}, learned earlier), so no new ARP is needed; it will just confirm the entry is still good.",
    },
    fdbLocal: {
      concept: 'A bridge does not route',
      text: "The destination MAC {{mac}} is the bridge {{bridge}}'s own, so the bridge does not switch the frame: it hands it up to the node's IP stack. A bridge works at layer 2 only — getting to another subnet is the router's (the node's) job.",
    },
    fdbFlood: {
      concept: 'Flooding',
      text: 'The bridge {{bridge}} has no entry for {{mac}}, so it floods the frame out of every port except the one it came in on; the owner of the MAC will answer and be learned.',
    },
    fdbPort: {
      concept: 'Bridge switching',
      text: 'The bridge {{bridge}} finds {{mac}} behind port {{port}} in its forwarding database and switches the frame there, without looking at the IP header.',
      learned:
        'The bridge {{bridge}} finds {{mac}} behind port {{port}} in its forwarding database and switches the frame there, without looking at the IP header — it learned that port from the source MAC of an earlier frame.',
    },
    vxlanFdb: {
      concept: 'The VXLAN FDB',
      text: "{{device}}'s forwarding database says the inner destination MAC {{mac}} lives behind the node {{remote}}: that is where the encapsulated frame will be sent.",
    },
    encap: {
      concept: 'VXLAN encapsulation',
      text: '{{device}} wraps the whole Ethernet frame in VXLAN (VNI {{vni}}) inside UDP port {{port}}, from {{local}} to {{remote}}. The node network only knows node addresses, so the pod addresses travel inside where it never looks.',
    },
    decap: {
      concept: 'VXLAN decapsulation',
      text: 'The UDP datagram reached port {{port}}, where the VXLAN device {{device}} listens; the kernel strips the outer Ethernet, IP, UDP and VXLAN headers and the inner frame enters {{device}}.',
    },
    forward: {
      concept: 'IP forwarding',
      text: 'The packet is not for this namespace, and ip_forward=1 makes it a router: it forwards the packet and lowers the TTL from {{ttlBefore}} to {{ttlAfter}}, which is what ends a routing loop.',
    },
    notRouter: {
      concept: 'Not a router',
      text: 'The packet is not for this namespace and ip_forward=0 here, so it is not forwarded.',
    },
    mtu: {
      concept: 'MTU',
      text: "The packet is {{length}} bytes but {{device}}'s MTU is {{mtu}}. Overlay MTUs are smaller because VXLAN adds 50 bytes of headers.",
      df: "The packet is {{length}} bytes but {{device}}'s MTU is {{mtu}}, and DF (do not fragment) is set, so it cannot be split: the sender must send smaller packets. Overlay MTUs are smaller because VXLAN adds 50 bytes of headers.",
    },
    delivered: {
      concept: 'Delivered to a socket',
      text: "The destination address is this namespace's own, so the kernel hands the packet up to {{socket}}.",
    },
    notListening: {
      concept: 'Nothing listens',
      text: 'The address is local, but nothing listens ({{socket}}), so the kernel answers with a TCP reset or an ICMP port unreachable.',
    },
    l2Drop: {
      concept: 'Not my MAC',
      text: "The frame's destination MAC is not {{device}}'s, so the interface discards it: {{reason}}.",
    },
    icmpRedirect: {
      concept: 'ICMP redirect',
      text: 'The router is sending the packet back out of the interface it came in on, so it tells the sender that {{gateway}} is a better first hop for {{to}}.',
    },
    ipvs: {
      concept: 'IPVS',
      forward:
        "kube-proxy's IPVS virtual service {{service}} schedules the connection to the real server {{realServer}} and rewrites the destination; conntrack remembers it for the reply.",
      unNat:
        'IPVS recognises the reply from {{realServer}} and rewrites its source back to the virtual service {{service}}.',
      theRealServer: 'the real server',
      pass: 'IPVS looks at the packet at {{hook}} and lets it pass ({{action}}).',
    },
    routeLocal: {
      concept: 'A local address',
      text: "{{dst}} is one of this namespace's own addresses — the local table is consulted before main — so the packet is for this host and goes up the stack instead of being forwarded.",
    },
    via: {
      gateway: 'to the gateway {{gateway}} via {{dev}}',
      onLink: 'directly out of {{dev}} (on-link)',
    },
    clusterIpRoute: {
      concept: 'A ClusterIP has no route',
      text: "No route names {{dst}} — no interface owns a ClusterIP — so the default route sends it {{via}}; the node's iptables will translate it there.",
    },
    lpm: {
      concept: 'Longest-prefix match',
      text: 'The most specific route containing {{dst}} is "{{route}}", so the packet goes {{via}}.',
      vxlan:
        'The most specific route containing {{dst}} is "{{route}}", so the packet goes {{via}}. {{dev}} is a VXLAN device: the pod subnets of other nodes are reached through the overlay.',
    },
    broadcast: {
      concept: 'Broadcast',
      text: '{{dst}} is a broadcast address of this subnet, so every host on the link receives it.',
    },
    noRoute: {
      concept: 'No route',
      text: 'No route matches {{dst}} ({{result}}): the sender gets an error, and a router sends back ICMP unreachable.',
    },
    evaluated_one: '{{count}} rule evaluated',
    evaluated_other: '{{count}} rules evaluated',
    kubeDnat: {
      concept: "kube-proxy's DNAT",
      text: "In the nat table at {{hook}}, kube-proxy's chains ({{chains}}) match the Service address and port and DNAT the packet to one endpoint, {{to}}. This rule is all a ClusterIP is ({{evaluated}}).",
      random:
        "In the nat table at {{hook}}, kube-proxy's chains ({{chains}}) match the Service address and port and DNAT the packet to one endpoint, {{to}}, chosen at random by -m statistic. This rule is all a ClusterIP is ({{evaluated}}).",
    },
    sourceNat: {
      concept: 'Source NAT',
      text: "At {{hook}} a {{target}} rule in {{chain}} rewrites the source to this node's address, so the answer comes back to this node, which undoes it ({{evaluated}}).",
    },
    iptablesVerdict: {
      concept: 'iptables {{verdict}}',
      drop: 'A rule in the {{table}} table at {{hook}} drops the packet silently ({{evaluated}}).',
      dropChain:
        'A rule in the {{table}} table at {{hook}} (chain {{chain}}) drops the packet silently ({{evaluated}}).',
      reject: 'A rule in the {{table}} table at {{hook}} rejects the packet ({{evaluated}}).',
      rejectChain:
        'A rule in the {{table}} table at {{hook}} (chain {{chain}}) rejects the packet ({{evaluated}}).',
    },
    established: {
      concept: 'Established connections pass',
      text: "The packet belongs to a connection conntrack already knows, so the rule for RELATED,ESTABLISHED traffic in {{chain}} accepts it at once — only a connection's first packet walks the full rule set ({{evaluated}}).",
    },
    iptablesChain: {
      concept: 'iptables {{table}} {{hook}}',
      bridged: ' (for a bridged frame too, because br_netfilter is on)',
      accept:
        "The kernel runs the {{table}} table's {{hook}} chain{{bridged}}; a rule in {{chain}} accepts the packet, so the rest of the chain is not consulted ({{evaluated}}).",
      pass: "The kernel runs the {{table}} table's {{hook}} chain{{bridged}}; no rule changes the packet, so it is accepted ({{evaluated}}).",
      passJumps:
        "The kernel runs the {{table}} table's {{hook}} chain{{bridged}}; it jumps through {{chains}}, no rule changes the packet, so it is accepted ({{evaluated}}).",
    },
    conntrackNew: {
      concept: 'conntrack: a new connection',
      text: 'conntrack has never seen {{tuple}}, so it creates an entry (state NEW) holding both directions. Any NAT decided for this first packet is stored in it, so later packets and the reply are translated without walking the rules again.',
    },
    conntrackConfirmed: {
      concept: 'conntrack: confirmed',
      text: 'The first packet of {{tuple}} passed every hook on {{netns}}, so its entry is confirmed into the table: from now on packets of this flow match it.',
    },
    conntrackReply: {
      concept: 'conntrack: the reply',
      text: 'This packet matches the entry for {{tuple}} in the reply direction, so conntrack knows it answers that connection ({{state}}). Any NAT done to the request is undone from the entry, and rules for established traffic let it through.',
    },
    conntrackKnown: {
      concept: 'conntrack: a known flow',
      text: 'The packet matches the existing entry for {{tuple}} ({{state}}): NAT and policy decided for the first packet apply again without new rule lookups.',
    },
    unDnat: {
      concept: 'Reply un-DNAT',
      text: 'The request was DNATed, so its reply comes from {{before}}; conntrack rewrites the source back to {{after}}, the address the client connected to. Without this the client would drop an answer from an address it never called.',
    },
    unSnat: {
      concept: 'Reply un-SNAT',
      text: "The request's source was rewritten on the way out, so the reply is addressed to {{before}}; conntrack restores the original destination {{after}}.",
    },
    dnat: {
      concept: 'DNAT',
      text: 'The destination changes from {{before}} to {{after}}: the pod that will really answer. conntrack stores the translation, so every later packet of the connection gets the same endpoint.',
    },
    snat: {
      concept: 'SNAT',
      text: 'The source changes from {{before}} to {{after}}, so replies come back to this host; conntrack undoes it for them ({{afterHost}} → {{beforeHost}}).',
    },
    masquerade: {
      concept: 'MASQUERADE',
      text: "The source changes from {{before}} to {{after}}, the outgoing interface's address, so replies come back to this host; conntrack undoes it for them ({{afterHost}} → {{beforeHost}}).",
    },
    dots_one: '{{count}} dot',
    dots_other: '{{count}} dots',
    resolverTry: {
      concept: 'The search list and ndots',
      absolute: '"{{name}}" ends with a dot, so it is absolute: one query, no search list.',
      fewer:
        '"{{name}}" has {{dots}}, fewer than ndots:{{ndots}}, so the search domains come first and the name as given last.',
      enough:
        '"{{name}}" has {{dots}}, at least ndots:{{ndots}}, so it is tried as given first, then with the search domains.',
      now: '{{why}} Now trying {{candidate}} ({{n}} of {{total}}).',
    },
    resolverUse: {
      concept: 'An address',
      text: '{{candidate}} answered {{address}}; getaddrinfo returns it and the program connects to that address — it never sees the name again.',
    },
    resolverNext: {
      concept: 'Next candidate',
      text: '{{candidate}} gave no address (NXDOMAIN, or no record), so the resolver moves on to the next name the search list makes.',
    },
    resolverFail: {
      concept: 'getaddrinfo fails',
      text: 'No candidate of "{{name}}" resolved, so getaddrinfo fails and the program never opens a connection.',
    },
    dnsForward: {
      concept: 'CoreDNS forwards',
      text: "{{question}} is outside the cluster's zones, so {{server}} forwards the query to {{upstream}} (the forward plugin) and waits for that answer.",
      upstream: 'its upstream',
    },
    dnsAnswer: {
      concept: 'The DNS answer',
      text: '{{server}} answers {{question}} with "{{answer}}". For a Service name the kubernetes plugin answers from the API: the ClusterIP, not a pod.',
    },
    dnsNone: {
      concept: 'No answer ({{rcode}})',
      nxdomain: 'NXDOMAIN',
      text: '{{server}} has no record for {{question}} ({{rcode}}); the resolver will try its next candidate, if any.',
    },
    policyEstablished: {
      concept: 'Replies pass NetworkPolicy',
      text: 'This packet belongs to a connection that was allowed when it started (conntrack ESTABLISHED), so no policy rule is consulted: that is why the reply of an allowed connection is never blocked.',
    },
    policyAllowed: {
      concept: 'NetworkPolicy allows',
      text: '{{pod}} is selected for {{direction}} by {{policies}}, so only what a rule allows may pass — and {{rule}} allows this packet.',
      aRule: 'a rule',
    },
    policyDenied: {
      concept: 'NetworkPolicy denies',
      text: '{{pod}} is selected for {{direction}} by {{policies}}, which makes it default-deny in that direction; no rule allows this packet, so it is dropped: {{reason}}.',
      aPolicy: 'a policy',
    },
    policyNotIsolated: {
      concept: 'Not isolated',
      text: 'No NetworkPolicy selects {{pod}} for {{direction}}, so the pod is non-isolated in that direction and everything is allowed.',
    },
    verdictDelivered: {
      concept: 'Delivered',
      text: 'The packet reached its destination: {{reason}}.',
    },
    verdictTtl: {
      concept: 'TTL exceeded',
      text: 'The TTL reached zero in a router, which drops the packet and sends ICMP time exceeded back: {{reason}}.',
    },
    verdictFrag: {
      concept: 'Fragmentation needed',
      text: 'The packet is too big for the next link and may not be fragmented; ICMP "fragmentation needed" tells the sender the MTU: {{reason}}.',
    },
    verdictUnresolved: {
      concept: 'Name not resolved',
      text: 'The lookup failed, so there is nothing to connect to: {{reason}}.',
    },
    verdictOther: {
      concept: 'Not delivered',
      text: 'The walk ends here: {{reason}}.',
    },
  },
} as const;
