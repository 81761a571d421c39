// 한국어 UI 문구. en.ts와 키가 정확히 같고, 키마다 같은 {{변수}}를 씁니다 (i18n.test.ts가 확인).
// 용어는 강의 노트를 따릅니다: 파드, 노드, 브릿지, 네임스페이스, 서비스, 오버레이, 캡슐화, veth 쌍.
// eth0, cni0, flannel.1, KUBE-SVC-…, PREROUTING, conntrack, DNAT, iptables처럼 리눅스와 쿠버네티스가 출력하는
// 이름은 번역하지 않습니다. 값({{…}}) 뒤에는 받침과 상관없는 조사(의/에/에서)를 쓰거나 "주소", "장치"처럼
// 명사를 넣고, 그럴 수 없으면 을(를), (으)로처럼 두 형태를 함께 적습니다.
import type { en } from './en.ts';

/** en.ts와 같은 모양, 값은 아무 문자열: 키가 빠지거나 남으면 타입 오류입니다. */
export type Messages<M> = { readonly [K in keyof M]: M[K] extends string ? string : Messages<M[K]> };

export const ko: Messages<typeof en> = {
  language: {
    label: 'Language / 언어',
  },
  app: {
    cluster: '클러스터',
    side: '재생과 홉',
    details: '세부 정보',
    playback: '재생',
    openFull: 'Packet Walk에서 열기',
  },
  legend: {
    label: '범례',
    request: '요청',
    reply: '응답',
    icmpError: 'ICMP 오류',
    dns: 'DNS',
    encap: '캡슐화됨 (VXLAN)',
    hint: '드래그로 이동 · 휠로 확대/축소 · 더블클릭으로 맞춤',
  },
  controls: {
    toolbar: '재생',
    restart: '처음으로',
    restartTitle: '처음으로 (Home)',
    stepBack: '이전 단계',
    stepBackTitle: '이전 단계 (←)',
    play: '재생',
    playTitle: '재생 (Space)',
    pause: '일시정지',
    pauseTitle: '일시정지 (Space)',
    stepForward: '다음 단계',
    stepForwardTitle: '다음 단계 (→)',
    speed: '속도',
    position: '위치',
  },
  verdict: {
    label: '결과',
    starting: '시작하는 중…',
    notStarted: '워크를 시작하지 못했습니다.',
    walking: '경로를 따라가는 중…',
    inFlight: '전송 중',
    inFlightLower: '전송 중',
    inProgress: '진행 중',
    inProgressLower: '진행 중',
    cniStep: '{{leg}}: {{n}}단계',
    withReason: '{{label}}: {{reason}}',
    legStatus: '{{leg}}: {{status}}',
    kind: {
      delivered: '전달됨',
      dropped: '드롭됨',
      unreachable: '도달할 수 없음',
      'ttl-exceeded': 'TTL 초과',
      'frag-needed': '단편화 필요',
      'local-error': '보내는 쪽에서 거부됨',
      loop: '포워딩 루프',
      unresolved: '이름을 풀지 못함',
      configured: '파드 네트워크 준비됨',
      removed: '파드 네트워크 제거됨',
    },
  },
  leg: {
    request: '요청',
    reply: '응답',
    'icmp-error': 'ICMP 오류',
    'dns-query': 'DNS 질의',
    'dns-response': 'DNS 응답',
    'cni-add': 'CNI ADD',
    'cni-del': 'CNI DEL',
  },
  hops: {
    label: '홉',
    group_one: '구간 {{leg}} · 이벤트 {{count}}개 · {{end}}',
    group_other: '구간 {{leg}} · 이벤트 {{count}}개 · {{end}}',
    in: '{{device}} ← 수신',
    out: '{{device}} → 송신',
    decision: '{{label}}: {{brief}}',
    legLine: '{{label}}: {{summary}}',
  },
  brief: {
    bridged: ' (브릿지 경유)',
    rules_one: '규칙 {{count}}개',
    rules_other: '규칙 {{count}}개',
    netfilter: '{{table}} {{hook}}{{bridged}} → {{end}} ({{rules}})',
    conntrackNew: '새 엔트리 {{tuple}} ({{state}})',
    conntrackFound: '{{direction}} 방향 {{tuple}} ({{state}})',
    conntrackConfirmed: '확정 {{tuple}} ({{state}})',
    noMac: 'MAC 없음',
    neigh: '{{ip}} dev {{device}} → {{mac}} ({{state}})',
    neighArp: '{{ip}} dev {{device}} → {{mac}} (ARP, {{state}})',
    position: '({{total}}개 중 {{n}}번째)',
    resolverTry: '{{candidate}} 시도 {{position}}',
    resolverUse: '{{candidate}} = {{address}}: 연결',
    resolverNext: '{{candidate}}: 주소 없음, 다음 이름으로',
    resolverFail: '{{name}}: getaddrinfo 실패',
  },
  layers: {
    packet: '패킷',
    outer: '바깥 헤더',
    inner: '안쪽 패킷',
    innerN: '안쪽 패킷 {{n}}',
  },
  tables: {
    localNote: 'local 테이블: 이 호스트가 가진 주소',
    learned: '이번 워크에서 학습됨',
    learnedFrame: '앞선 프레임에서 학습됨',
    fdbResult: {
      local: 'local',
      port: 'port',
      flood: 'flood',
    },
    remote: '원격 {{remote}}',
    flood: '{{mac}} 엔트리가 없어 브릿지가 모든 포트로 플러딩합니다.',
    arpBy: '{{by}} {{device}}에서 ARP 응답',
    netfilterIntro: 'iptables -t {{table}}, {{hook}} 훅: {{rules}} 검사 → {{verdict}}',
    netfilterIntroBridged:
      'iptables -t {{table}}, {{hook}} 훅 (br_netfilter를 거치는 브릿지 프레임): {{rules}} 검사 → {{verdict}}',
    natTitle: '{{hook}}에서의 {{how}}',
    natByConntrack: '{{hook}}에서 conntrack이 하는 NAT',
    natFromEntry: '아래 엔트리에 따라',
    natBoundToEntry: '아래 엔트리에 기록됨',
    candidatesTitle: '"{{name}}"에서 만들어지는 이름 (순서대로)',
    dnsTitle: 'DNS 응답 ({{server}})',
    dnsForwarded: '{{to}}에 포워딩됨',
    plugins: 'CoreDNS 플러그인 (순서대로)',
    policyTitle: 'NetworkPolicy: {{pod}}의 {{direction}}',
    policySelects: '{{policy}}: {{direction}}에 대해 {{pod}} 선택',
    policyNone: '{{direction}}에 대해 {{pod}} 파드를 선택하는 정책 없음',
    resolverSent: '질의 보냄',
    resolverAnswered: '응답 {{address}}',
    resolverNext: '주소 없음: 다음 이름으로',
    resolverFail: 'getaddrinfo 실패',
    conntrackTitle: 'conntrack -L ({{netns}}, 이번 워크가 만든 엔트리)',
    conntrackCreated: '이 패킷이 만든 엔트리 (마지막 훅을 지날 때까지 미확정)',
    conntrackConfirmed: '확정됨: 이제 테이블에 있음',
    conntrackMatched: '{{direction}} 방향으로 일치 ({{state}})',
    notTaken: '선택되지 않음',
    random: '{{action}} (확률 {{p}}, 뽑은 값 {{roll}})',
    moreRules_one: '… 도달하지 않은 규칙 {{count}}개 더',
    moreRules_other: '… 도달하지 않은 규칙 {{count}}개 더',
    chainPolicy: '(체인 정책) {{action}}',
  },
  decision: {
    title: '결정',
    none: '이 구간에는 아직 결정이 없습니다.',
    earlier: ' (이전)',
    matched: '일치: ',
    tested: '검사했지만 불일치: ',
    noEntries: '엔트리가 없습니다.',
  },
  inspector: {
    title: '패킷',
    none: '아직 패킷이 없습니다.',
    changed_one: ' · 필드 {{count}}개 바뀜',
    changed_other: ' · 필드 {{count}}개 바뀜',
    was: '이전 값',
    new: '새 필드',
  },
  device: {
    in: '{{netns}} 안',
    close: '장치 정보 닫기',
    peer: '{{netns}}의 {{device}}',
    rules_one: 'iptables-save (규칙 {{count}}개)',
    rules_other: 'iptables-save (규칙 {{count}}개)',
  },
  errors: {
    scenario: '시나리오',
    document: '문서 {{n}}',
    documentWhat: '문서 {{n}} ({{what}})',
    problems: '시나리오에 문제가 있습니다',
    failed: '워크가 실패했습니다',
    line: ' ({{line}}행)',
  },
  narrationPanel: {
    title: '이 홉의 이유',
    empty: '워크를 한 단계씩 진행하면 각 홉이 왜 일어나는지 볼 수 있습니다.',
  },
  header: {
    cluster: '클러스터',
    customWalk: '출발지 / 목적지',
    share: '공유',
    export: '내보내기',
  },
  picker: {
    scenario: '시나리오',
    fromLink: '링크에서 받은 시나리오',
    walk: '워크',
    custom: '직접 입력…',
    customWalk: '직접 입력한 워크',
    from: '출발지',
    to: '목적지',
    toPlaceholder: 'db-service:3306 또는 10.96.0.10:53',
    protocol: '프로토콜',
    submit: '따라가기',
    about: '시나리오 소개',
  },
  share: {
    group: '공유와 내보내기',
    copyLink: '링크 복사',
    copyEmbed: '임베드 코드 복사',
    embedTitle: '슬라이드용 <iframe>: 그림, 간단한 재생 버튼, 결과',
    exportJson: 'JSON 내보내기',
    exportJsonTitle: '트레이스를 JSON으로 (docs/trace-format.md)',
    notFinished: '워크가 아직 끝나지 않았습니다',
    exportSvg: 'SVG 내보내기',
    exportSvgTitle: '지금 화면을 SVG로',
    exportPng: 'PNG 내보내기',
    exportPngTitle: '지금 화면을 PNG로',
    bitmap: '그림이 비트맵 캔버스이므로 PNG로 내보내세요.',
    looking: '그림을 찾는 중…',
    linkCopied: '링크를 복사했습니다.',
    embedCopied: '임베드 코드를 복사했습니다.',
    copyFailed: '복사하지 못했습니다. 직접 선택해서 복사하세요: {{text}}',
    traceDownloaded: '트레이스를 내려받았습니다.',
    svgDownloaded: '그림을 내려받았습니다 (SVG).',
    pngDownloaded: '그림을 내려받았습니다 (PNG).',
  },
  linkNotice: {
    title: '이 링크를 열 수 없습니다.',
    fallback: '대신 기본 클러스터를 보여 줍니다.',
    dismiss: '닫기',
  },
  embed: {
    currentHop: '현재 홉',
  },
  toggles: {
    group: '클러스터 설정',
    needsGateway: ' (게이트웨이 필요)',
    seed: '시드',
    reset: '설정 초기화',
    compare: '변경 전 ({{what}}): 홉 {{before}}개 · 지금: 홉 {{now}}개',
    cniWas: 'CNI {{cni}}',
    asScenario: '시나리오 설정대로',
    seedWas: '시드 {{seed}}',
    defaultSeed: '기본값',
    toggles: '설정',
    policyTitle: '서비스 {{service}}의 externalTrafficPolicy',
  },
  canvas: {
    topology: '토폴로지',
    topologyOf: '{{name}} 토폴로지: 네트워크 네임스페이스 {{count}}개',
    deviceIn: '{{netns}}의 {{device}}',
    delivered: '전달됨',
    mark: {
      delivered: '전달됨',
      configured: '구성됨',
      removed: '제거됨',
    },
    collapse: '관련 없는 노드 접기',
    icmpEcho: 'ICMP echo',
    icmpEchoReply: 'ICMP echo reply',
    leg: {
      request: '요청',
      reply: '응답',
      'icmp-error': 'ICMP 오류',
      'dns-query': 'DNS 질의',
      'dns-response': 'DNS 응답',
      'cni-add': 'CNI ADD',
      'cni-del': 'CNI DEL',
    },
  },
  narration: {
    unknown: '(알 수 없음)',
    request: {
      virtual: {
        concept: '서비스 주소',
        text: '{{dst}} 주소를 가진 인터페이스는 어디에도 없습니다. 서비스의 ClusterIP는 kube-proxy 규칙 안에만 있는 가상 주소이기 때문입니다. 패킷은 기본 라우트를 따라 {{src}}에서 나가고, 노드의 DNAT가 {{dst}} 주소를 실제 파드 주소로 바꿉니다.',
      },
      plain: {
        concept: '요청',
        text: '{{src}}에서 {{dst}}(으)로 첫 패킷을 보냅니다. 아래의 홉 하나하나가 커널의 결정 하나이며, 각 네임스페이스는 자기 테이블만 보고 결정합니다. 전체 경로를 미리 아는 곳은 없습니다.',
      },
    },
    reply: {
      concept: '응답',
      text: '받는 쪽이 응답하므로 출발지와 목적지가 뒤바뀝니다: {{src}} → {{dst}}. 응답은 따로 라우팅되며, 요청을 기억하는 것은 노드의 conntrack뿐입니다 (요청에 적용된 NAT도 함께).',
    },
    icmpError: {
      concept: 'ICMP 오류',
      text: '라우터나 호스트가 요청을 전달하지 못해서 {{src}}에서 {{dst}}에게 ICMP 오류를 돌려보냅니다. 오류에는 거부한 패킷의 헤더가 인용되어 있습니다.',
    },
    dnsQuery: {
      concept: '먼저 이름 풀기',
      text: '연결하기 전에 프로그램은 주소가 필요합니다. C 라이브러리의 스텁 리졸버가 /etc/resolv.conf에 적힌 네임서버 {{dst}}:53에 UDP로 DNS 질의를 보냅니다.',
    },
    dnsResponse: {
      concept: 'DNS 응답',
      text: 'DNS 서버가 53번 포트에서 {{dst}}에 있는 리졸버의 임시 포트로 응답합니다. 돌아오는 길에는 conntrack이 이미 아는 흐름의 UDP 패킷일 뿐입니다.',
    },
    underlay: {
      concept: '노드 네트워크 위에서',
      text: '{{device}}에서 이 패킷은 노드 주소 {{src}} → {{dst}} 사이의 UDP 데이터그램입니다 (VXLAN VNI {{vni}}). 파드 패킷 {{innerSrc}} → {{innerDst}}는 그 안에 그대로 실려 갑니다. 언더레이 네트워크는 노드에 가는 길만 알면 됩니다.',
    },
    veth: {
      concept: 'veth 쌍',
      outPeer:
        'veth 쌍은 두 네임스페이스를 잇는 가상 케이블입니다. 여기서 {{device}}(으)로 나간 것은 곧바로 {{peerNetns}}에 있는 짝 {{peer}}에서 나옵니다.',
      out: 'veth 쌍은 두 네임스페이스를 잇는 가상 케이블입니다. 여기서 {{device}}(으)로 나간 것은 곧바로 반대편 짝에서 나옵니다.',
      inBridge:
        '프레임이 veth 쌍의 {{device}} 쪽으로 들어옵니다. 이 끝은 브릿지 {{bridge}}의 포트이므로 다음에는 브릿지가 프레임을 봅니다.',
      in: '프레임이 veth 쌍의 {{device}} 쪽으로, 받는 네임스페이스 안에 들어옵니다.',
    },
    bridgeIn: {
      concept: 'IP 스택으로 올라가기',
      text: '프레임의 목적지가 브릿지 {{device}} 자신이므로, 프레임은 {{device}}을(를) 통해 노드 자신의 IP 스택으로 들어갑니다. 여기서부터 노드가 라우터 역할을 합니다.',
    },
    bridgeOut: {
      concept: '브릿지로 보내기',
      text: '노드가 패킷을 브릿지 {{device}}(으)로 내보냅니다. 이제 브릿지가 목적지 MAC이 있는 포트로 프레임을 스위칭합니다.',
    },
    vxlanOut: {
      concept: '오버레이로 들어가기',
      text: '{{device}}은(는) VXLAN 장치입니다. 여기로 보낸 프레임은 선으로 바로 나가지 않고 UDP로 감싸져 다른 노드의 실제 주소로 보내집니다.',
    },
    vxlanIn: {
      concept: '오버레이에서 나오기',
      text: '원래 프레임이 감싼 것을 벗고 {{device}}에 나타납니다. 마치 다른 노드에서 온 케이블이 여기서 끝나는 것처럼요. 그 안의 파드 주소는 바뀌지 않았습니다.',
    },
    wire: {
      concept: '선 위에서',
      in: '{{netns}}에서 tcpdump -i {{device}} 명령을 실행하면 여기서 들어오는 이 패킷이 보입니다: {{src}} → {{dst}}.',
      out: '{{netns}}에서 tcpdump -i {{device}} 명령을 실행하면 여기서 나가는 이 패킷이 보입니다: {{src}} → {{dst}}.',
    },
    arp: {
      concept: 'ARP',
      text: '이더넷 프레임을 만들려면 커널은 다음 홉 {{ip}}의 MAC 주소를 알아야 합니다. 이웃 엔트리가 없어서 "who has {{ip}}?"를 브로드캐스트했고, {{answeredBy}}의 {{device}}에서 {{mac}}(이)라고 응답했습니다.',
    },
    neighPermanent: {
      concept: '고정된 이웃 엔트리',
      text: '다음 홉 {{ip}}에는 {{device}}에 PERMANENT 이웃 엔트리가 있습니다. 장치를 설정한 쪽이 써 둔 것이므로 (flanneld는 노드마다 VTEP 엔트리를 씁니다) ARP를 보내지 않습니다.',
    },
    neighNone: {
      concept: '이웃 없음',
      text: '{{device}}에서 {{ip}}의 MAC 주소를 모르고 ARP에 답한 곳도 없으므로 ({{state}}) 프레임을 만들 수 없습니다.',
    },
    neighCached: {
      concept: '이웃 캐시',
      text: '커널은 {{device}}에서 {{ip}}의 MAC {{mac}}을(를) 이미 알고 있으므로 ({{state}}, 앞서 학습됨) 새 ARP가 필요 없습니다.',
      delay:
        '커널은 {{device}}에서 {{ip}}의 MAC {{mac}}을(를) 이미 알고 있으므로 ({{state}}, 앞서 학습됨) 새 ARP가 필요 없습니다. 엔트리가 아직 유효한지만 확인합니다.',
    },
    fdbLocal: {
      concept: '브릿지는 라우팅하지 않는다',
      text: '목적지 MAC {{mac}}은(는) 브릿지 {{bridge}} 자신의 주소이므로, 브릿지는 프레임을 스위칭하지 않고 노드의 IP 스택으로 올려 보냅니다. 브릿지는 L2에서만 동작하고, 다른 서브넷으로 가는 일은 라우터(노드)의 몫입니다.',
    },
    fdbFlood: {
      concept: '플러딩',
      text: '브릿지 {{bridge}}에 {{mac}} 엔트리가 없어서, 들어온 포트를 뺀 모든 포트로 프레임을 플러딩합니다. 그 MAC의 주인이 응답하면 학습됩니다.',
    },
    fdbPort: {
      concept: '브릿지 스위칭',
      text: '브릿지 {{bridge}}은(는) 포워딩 데이터베이스(FDB)에서 {{mac}}이(가) 포트 {{port}} 뒤에 있음을 찾아 그쪽으로 프레임을 스위칭합니다. IP 헤더는 보지 않습니다.',
      learned:
        '브릿지 {{bridge}}은(는) 포워딩 데이터베이스(FDB)에서 {{mac}}이(가) 포트 {{port}} 뒤에 있음을 찾아 그쪽으로 프레임을 스위칭합니다. IP 헤더는 보지 않으며, 이 포트는 앞선 프레임의 출발지 MAC에서 학습한 것입니다.',
    },
    vxlanFdb: {
      concept: 'VXLAN FDB',
      text: '{{device}}의 포워딩 데이터베이스에 따르면 안쪽 목적지 MAC {{mac}}은(는) 노드 {{remote}} 뒤에 있습니다. 캡슐화한 프레임을 바로 그 노드로 보냅니다.',
    },
    encap: {
      concept: 'VXLAN 캡슐화',
      text: '{{device}} 장치가 이더넷 프레임 전체를 VXLAN(VNI {{vni}})으로 감싸 UDP {{port}}번 포트에 담고, {{local}}에서 {{remote}}(으)로 보냅니다. 노드 네트워크는 노드 주소만 알기 때문에, 파드 주소는 노드 네트워크가 들여다보지 않는 안쪽에 실려 갑니다.',
    },
    decap: {
      concept: 'VXLAN 디캡슐화',
      text: 'UDP 데이터그램이 VXLAN 장치 {{device}}이(가) 기다리는 {{port}}번 포트에 도착했습니다. 커널이 바깥 이더넷, IP, UDP, VXLAN 헤더를 벗겨 내고, 안쪽 프레임이 {{device}}(으)로 들어옵니다.',
    },
    forward: {
      concept: 'IP 포워딩',
      text: '이 네임스페이스로 온 패킷이 아니고 ip_forward=1이므로 여기는 라우터입니다. 패킷을 포워딩하면서 TTL을 {{ttlBefore}}에서 {{ttlAfter}}(으)로 줄입니다. 라우팅 루프를 끝내는 것이 바로 이 TTL입니다.',
    },
    notRouter: {
      concept: '라우터가 아님',
      text: '이 네임스페이스로 온 패킷이 아닌데 여기는 ip_forward=0이므로 포워딩하지 않습니다.',
    },
    mtu: {
      concept: 'MTU',
      text: '패킷은 {{length}}바이트인데 {{device}}의 MTU는 {{mtu}}입니다. VXLAN이 헤더 50바이트를 더하기 때문에 오버레이의 MTU는 더 작습니다.',
      df: '패킷은 {{length}}바이트인데 {{device}}의 MTU는 {{mtu}}이고, DF(do not fragment)가 설정되어 있어 쪼갤 수 없습니다. 보내는 쪽이 더 작은 패킷을 보내야 합니다. VXLAN이 헤더 50바이트를 더하기 때문에 오버레이의 MTU는 더 작습니다.',
    },
    delivered: {
      concept: '소켓에 전달',
      text: '목적지 주소가 이 네임스페이스 자신의 주소이므로, 커널이 패킷을 위로 올려 소켓에 넘깁니다 ({{socket}}).',
    },
    notListening: {
      concept: '듣고 있는 곳이 없음',
      text: '로컬 주소이지만 듣고 있는 소켓이 없으므로 ({{socket}}) 커널은 TCP reset이나 ICMP port unreachable로 답합니다.',
    },
    l2Drop: {
      concept: '내 MAC이 아님',
      text: '프레임의 목적지 MAC이 {{device}}의 주소가 아니므로 인터페이스가 프레임을 버립니다: {{reason}}.',
    },
    icmpRedirect: {
      concept: 'ICMP 리다이렉트',
      text: '라우터가 패킷을 들어온 인터페이스로 다시 내보내게 되므로, {{to}}(으)로 갈 때는 {{gateway}}이(가) 더 나은 첫 홉이라고 보낸 쪽에 알려 줍니다.',
    },
    ipvs: {
      concept: 'IPVS',
      forward:
        'kube-proxy의 IPVS 가상 서비스 {{service}}이(가) 연결을 리얼 서버 {{realServer}}에 배정하고 목적지를 바꿉니다. conntrack이 이를 기억해 두었다가 응답에 씁니다.',
      unNat:
        'IPVS가 {{realServer}}에서 온 응답을 알아보고 출발지를 가상 서비스 {{service}}(으)로 되돌립니다.',
      theRealServer: '리얼 서버',
      pass: 'IPVS가 {{hook}}에서 패킷을 살펴보고 통과시킵니다 ({{action}}).',
    },
    routeLocal: {
      concept: '로컬 주소',
      text: '{{dst}}은(는) 이 네임스페이스 자신의 주소입니다. main보다 local 테이블을 먼저 보기 때문에, 패킷은 포워딩되지 않고 이 호스트의 상위 계층으로 올라갑니다.',
    },
    via: {
      gateway: '{{dev}}을(를) 거쳐 게이트웨이 {{gateway}}(으)로',
      onLink: '{{dev}}에서 곧바로(on-link)',
    },
    clusterIpRoute: {
      concept: 'ClusterIP에는 라우트가 없다',
      text: '{{dst}}을(를) 가리키는 라우트는 없습니다. ClusterIP를 가진 인터페이스가 없기 때문입니다. 그래서 기본 라우트를 따라 {{via}} 보내고, 그곳 노드의 iptables가 주소를 변환합니다.',
    },
    lpm: {
      concept: '최장 프리픽스 일치',
      text: '{{dst}}을(를) 포함하는 가장 구체적인 라우트는 "{{route}}"이므로 패킷은 {{via}} 나갑니다.',
      vxlan:
        '{{dst}}을(를) 포함하는 가장 구체적인 라우트는 "{{route}}"이므로 패킷은 {{via}} 나갑니다. {{dev}}은(는) VXLAN 장치로, 다른 노드의 파드 서브넷에는 오버레이를 통해 갑니다.',
    },
    broadcast: {
      concept: '브로드캐스트',
      text: '{{dst}}은(는) 이 서브넷의 브로드캐스트 주소이므로 링크에 있는 모든 호스트가 받습니다.',
    },
    noRoute: {
      concept: '라우트 없음',
      text: '{{dst}}에 맞는 라우트가 없습니다 ({{result}}). 보낸 쪽은 오류를 받고, 라우터라면 ICMP unreachable을 돌려보냅니다.',
    },
    evaluated_one: '규칙 {{count}}개 검사',
    evaluated_other: '규칙 {{count}}개 검사',
    kubeDnat: {
      concept: 'kube-proxy의 DNAT',
      text: '{{hook}}의 nat 테이블에서 kube-proxy 체인({{chains}})이 서비스 주소와 포트에 일치하고, 패킷을 엔드포인트 하나인 {{to}}(으)로 DNAT합니다. ClusterIP의 실체는 이 규칙이 전부입니다 ({{evaluated}}).',
      random:
        '{{hook}}의 nat 테이블에서 kube-proxy 체인({{chains}})이 서비스 주소와 포트에 일치하고, -m statistic이 무작위로 고른 엔드포인트 {{to}}(으)로 패킷을 DNAT합니다. ClusterIP의 실체는 이 규칙이 전부입니다 ({{evaluated}}).',
    },
    sourceNat: {
      concept: '출발지 NAT',
      text: '{{hook}}에서 {{chain}}의 {{target}} 규칙이 출발지를 이 노드의 주소로 바꿉니다. 그래서 응답이 이 노드로 돌아오고, 노드가 변환을 되돌립니다 ({{evaluated}}).',
    },
    iptablesVerdict: {
      concept: 'iptables {{verdict}}',
      drop: '{{hook}}의 {{table}} 테이블에 있는 규칙이 패킷을 조용히 버립니다 ({{evaluated}}).',
      dropChain:
        '{{hook}}의 {{table}} 테이블, {{chain}} 체인의 규칙이 패킷을 조용히 버립니다 ({{evaluated}}).',
      reject: '{{hook}}의 {{table}} 테이블에 있는 규칙이 패킷을 거부합니다 ({{evaluated}}).',
      rejectChain: '{{hook}}의 {{table}} 테이블, {{chain}} 체인의 규칙이 패킷을 거부합니다 ({{evaluated}}).',
    },
    established: {
      concept: '이미 맺어진 연결은 통과',
      text: '이 패킷은 conntrack이 이미 아는 연결에 속하므로, {{chain}}의 RELATED,ESTABLISHED 규칙이 바로 받아들입니다. 전체 규칙을 다 거치는 것은 연결의 첫 패킷뿐입니다 ({{evaluated}}).',
    },
    iptablesChain: {
      concept: 'iptables {{table}} {{hook}}',
      bridged: ' (br_netfilter가 켜져 있어 브릿지를 지나는 프레임에도)',
      accept:
        '커널이 {{table}} 테이블의 {{hook}} 체인을 실행합니다{{bridged}}. {{chain}}의 규칙이 패킷을 받아들이므로 체인의 나머지는 보지 않습니다 ({{evaluated}}).',
      pass: '커널이 {{table}} 테이블의 {{hook}} 체인을 실행합니다{{bridged}}. 패킷을 바꾸는 규칙이 없으므로 받아들여집니다 ({{evaluated}}).',
      passJumps:
        '커널이 {{table}} 테이블의 {{hook}} 체인을 실행합니다{{bridged}}. {{chains}}(으)로 점프하지만 패킷을 바꾸는 규칙이 없으므로 받아들여집니다 ({{evaluated}}).',
    },
    conntrackNew: {
      concept: 'conntrack: 새 연결',
      text: 'conntrack은 {{tuple}} 흐름을 처음 보므로 양방향을 모두 담은 엔트리를 만듭니다 (상태 NEW). 첫 패킷에 정해진 NAT가 이 엔트리에 저장되어, 이후 패킷과 응답은 규칙을 다시 거치지 않고 변환됩니다.',
    },
    conntrackConfirmed: {
      concept: 'conntrack: 확정',
      text: '{{tuple}}의 첫 패킷이 {{netns}}의 모든 훅을 통과했으므로 엔트리가 테이블에 확정됩니다. 이제부터 이 흐름의 패킷은 이 엔트리에 일치합니다.',
    },
    conntrackReply: {
      concept: 'conntrack: 응답',
      text: '이 패킷은 {{tuple}} 엔트리에 응답 방향으로 일치하므로, conntrack은 이것이 그 연결의 응답임을 압니다 ({{state}}). 요청에 적용된 NAT는 엔트리에 따라 되돌려지고, 이미 맺어진 연결을 위한 규칙이 통과시킵니다.',
    },
    conntrackKnown: {
      concept: 'conntrack: 아는 흐름',
      text: '패킷이 기존 엔트리 {{tuple}}에 일치합니다 ({{state}}). 첫 패킷에 정해진 NAT와 정책이 규칙을 다시 찾지 않고 그대로 적용됩니다.',
    },
    unDnat: {
      concept: '응답의 un-DNAT',
      text: '요청이 DNAT되었으므로 응답은 {{before}}에서 옵니다. conntrack이 출발지를 클라이언트가 접속한 주소 {{after}}(으)로 되돌립니다. 이것이 없으면 클라이언트는 부른 적 없는 주소에서 온 응답을 버립니다.',
    },
    unSnat: {
      concept: '응답의 un-SNAT',
      text: '요청의 출발지가 나가는 길에 바뀌었으므로 응답의 목적지는 {{before}}입니다. conntrack이 원래 목적지 {{after}}(으)로 되돌립니다.',
    },
    dnat: {
      concept: 'DNAT',
      text: '목적지가 {{before}}에서 {{after}}(으)로 바뀝니다. 실제로 응답할 파드입니다. conntrack이 이 변환을 저장하므로 연결의 이후 패킷도 모두 같은 엔드포인트로 갑니다.',
    },
    snat: {
      concept: 'SNAT',
      text: '출발지가 {{before}}에서 {{after}}(으)로 바뀌므로 응답이 이 호스트로 돌아옵니다. 응답에 대해서는 conntrack이 변환을 되돌립니다 ({{afterHost}} → {{beforeHost}}).',
    },
    masquerade: {
      concept: 'MASQUERADE',
      text: '출발지가 {{before}}에서 나가는 인터페이스의 주소 {{after}}(으)로 바뀌므로 응답이 이 호스트로 돌아옵니다. 응답에 대해서는 conntrack이 변환을 되돌립니다 ({{afterHost}} → {{beforeHost}}).',
    },
    dots_one: '점 {{count}}개',
    dots_other: '점 {{count}}개',
    resolverTry: {
      concept: 'search 목록과 ndots',
      absolute: '"{{name}}"은(는) 점으로 끝나는 절대 이름이므로 search 목록 없이 한 번만 질의합니다.',
      fewer:
        '"{{name}}"에는 {{dots}}가 있어 ndots:{{ndots}}보다 적으므로, search 도메인을 붙인 이름을 먼저 묻고 주어진 이름은 마지막에 묻습니다.',
      enough:
        '"{{name}}"에는 {{dots}}가 있어 ndots:{{ndots}} 이상이므로, 주어진 이름을 먼저 묻고 그다음에 search 도메인을 붙여 봅니다.',
      now: '{{why}} 지금은 {{candidate}}을(를) 시도합니다 ({{total}}개 중 {{n}}번째).',
    },
    resolverUse: {
      concept: '주소를 얻음',
      text: '{{candidate}}의 답은 {{address}}입니다. getaddrinfo가 이 주소를 돌려주고 프로그램은 그 주소로 연결합니다. 이름은 다시 쓰이지 않습니다.',
    },
    resolverNext: {
      concept: '다음 후보',
      text: '{{candidate}}에서 주소를 얻지 못했으므로 (NXDOMAIN 또는 레코드 없음) 리졸버는 search 목록이 만든 다음 이름으로 넘어갑니다.',
    },
    resolverFail: {
      concept: 'getaddrinfo 실패',
      text: '"{{name}}"의 어떤 후보도 풀리지 않았으므로 getaddrinfo가 실패하고 프로그램은 연결을 열지 못합니다.',
    },
    dnsForward: {
      concept: 'CoreDNS의 포워딩',
      text: '{{question}}은(는) 클러스터의 존 밖에 있으므로 {{server}}이(가) 질의를 {{upstream}}에 포워딩하고 (forward 플러그인) 그 응답을 기다립니다.',
      upstream: '업스트림 서버',
    },
    dnsAnswer: {
      concept: 'DNS 응답',
      text: '{{server}}이(가) {{question}} 질의에 "{{answer}}"(으)로 답합니다. 서비스 이름이면 kubernetes 플러그인이 API를 보고 답하는데, 파드가 아니라 ClusterIP를 돌려줍니다.',
    },
    dnsNone: {
      concept: '응답 없음 ({{rcode}})',
      nxdomain: 'NXDOMAIN',
      text: '{{server}}에는 {{question}}에 대한 레코드가 없습니다 ({{rcode}}). 리졸버는 다음 후보가 있으면 그것을 시도합니다.',
    },
    policyEstablished: {
      concept: '응답은 NetworkPolicy를 통과',
      text: '이 패킷은 시작할 때 허용된 연결에 속하므로 (conntrack ESTABLISHED) 정책 규칙을 보지 않습니다. 허용된 연결의 응답이 막히지 않는 이유가 이것입니다.',
    },
    policyAllowed: {
      concept: 'NetworkPolicy 허용',
      text: '{{pod}} 파드는 {{direction}}에 대해 {{policies}}에 선택되어 있으므로 규칙이 허용하는 것만 지나갈 수 있습니다. 이 패킷은 {{rule}}이(가) 허용합니다.',
      aRule: '어떤 규칙',
    },
    policyDenied: {
      concept: 'NetworkPolicy 거부',
      text: '{{pod}} 파드는 {{direction}}에 대해 {{policies}}에 선택되어 있어 그 방향은 기본 거부(default-deny)입니다. 이 패킷을 허용하는 규칙이 없으므로 드롭됩니다: {{reason}}.',
      aPolicy: '어떤 정책',
    },
    policyNotIsolated: {
      concept: '격리되지 않음',
      text: '{{direction}}에 대해 {{pod}} 파드를 선택하는 NetworkPolicy가 없으므로, 이 파드는 그 방향으로 격리되지 않고 모든 트래픽이 허용됩니다.',
    },
    verdictDelivered: {
      concept: '전달됨',
      text: '패킷이 목적지에 도착했습니다: {{reason}}.',
    },
    verdictTtl: {
      concept: 'TTL 초과',
      text: '라우터에서 TTL이 0이 되어, 라우터가 패킷을 버리고 ICMP time exceeded를 돌려보냅니다: {{reason}}.',
    },
    verdictFrag: {
      concept: '단편화 필요',
      text: '패킷이 다음 링크에 비해 너무 크고 단편화도 할 수 없습니다. ICMP "fragmentation needed"가 보낸 쪽에 MTU를 알려 줍니다: {{reason}}.',
    },
    verdictUnresolved: {
      concept: '이름을 풀지 못함',
      text: '이름 조회가 실패해서 연결할 대상이 없습니다: {{reason}}.',
    },
    verdictOther: {
      concept: '전달되지 않음',
      text: '워크는 여기서 끝납니다: {{reason}}.',
    },
  },
};
