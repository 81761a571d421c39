// A deterministic generator of `kubectl get nodes,pods,services,endpointslices,networkpolicies -A -o json`
// output for the import benchmark: objects as the API server returns them (managedFields, annotations,
// images, env, volumes, full status), so the importer reads and trims what a real dump holds.
//
//   node network   10.0.0.0/16   node i (0-based) at 10.0.(i / 250).(10 + i % 250)
//   cluster        10.244.0.0/16 node i gets 10.244.i.0/24 (flannel, kube-controller-manager's allocator)
//   services       10.96.0.0/12  default/kubernetes 10.96.0.1, kube-dns 10.96.0.10, app Services from 10.96.1.0
//
// Every node runs a flannel pod and a kube-proxy pod (hostNetwork); the application pods app-<k>-<r> are
// spread over the nodes; Service app-<k> selects its replicas; one NetworkPolicy per 50 Services.

export interface DumpOptions {
  readonly nodes: number;
  /** Application pods in all (system pods come on top: 2 per node, 2 CoreDNS). */
  readonly pods: number;
  /** Replicas per application Service. */
  readonly replicas: number;
}

type Obj = Record<string, unknown>;

const CREATED = '2026-11-20T09:12:44Z';

function managedFields(manager: string): Obj[] {
  return [
    {
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:metadata': { 'f:labels': { '.': {} } }, 'f:spec': { 'f:containers': {} } },
      manager,
      operation: 'Update',
      time: CREATED,
    },
  ];
}

function uid(kind: string, i: number): string {
  const h = (i * 2654435761 + kind.length * 40503) >>> 0;
  return `${h.toString(16).padStart(8, '0')}-2f0e-4a59-9f4c-${(h ^ 0x5bd1e995).toString(16).padStart(12, '0')}`;
}

function nodeIp(i: number): string {
  return `10.0.${Math.floor(i / 250)}.${10 + (i % 250)}`;
}

function node(i: number): Obj {
  const name = `node-${i + 1}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations: {
        'flannel.alpha.coreos.com/backend-data': `{"VNI":1,"VtepMAC":"8e:1f:5a:0c:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}"}`,
        'flannel.alpha.coreos.com/backend-type': 'vxlan',
        'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
        'flannel.alpha.coreos.com/public-ip': nodeIp(i),
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
      },
      creationTimestamp: CREATED,
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        ...(i === 0 ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
      },
      managedFields: managedFields('kubelet'),
      name,
      resourceVersion: String(40000 + i),
      uid: uid('Node', i),
    },
    spec: { podCIDR: `10.244.${i}.0/24`, podCIDRs: [`10.244.${i}.0/24`] },
    status: {
      addresses: [
        { address: nodeIp(i), type: 'InternalIP' },
        { address: name, type: 'Hostname' },
      ],
      allocatable: { cpu: '4', memory: '16173900Ki', pods: '110' },
      capacity: { cpu: '4', memory: '16276300Ki', pods: '110' },
      conditions: [
        {
          lastHeartbeatTime: CREATED,
          message: 'kubelet is posting ready status',
          reason: 'KubeletReady',
          status: 'True',
          type: 'Ready',
        },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      images: [{ names: ['registry.k8s.io/kube-proxy:v1.31.2'], sizeBytes: 30200000 }],
      nodeInfo: {
        kernelVersion: '6.1.0-26-amd64',
        kubeletVersion: 'v1.31.2',
        osImage: 'Debian GNU/Linux 12',
      },
    },
  };
}

interface PodSpec {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Obj;
  readonly node: number;
  readonly ip: string;
  readonly hostNetwork: boolean;
  readonly port: number | null;
  readonly index: number;
}

function pod(p: PodSpec): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      annotations: { 'kubectl.kubernetes.io/restartedAt': CREATED },
      creationTimestamp: CREATED,
      generateName: `${p.name.replace(/-[^-]+$/, '')}-`,
      labels: p.labels,
      managedFields: managedFields('kube-controller-manager'),
      name: p.name,
      namespace: p.namespace,
      ownerReferences: [
        { apiVersion: 'apps/v1', controller: true, kind: 'ReplicaSet', name: 'rs', uid: uid('RS', p.index) },
      ],
      resourceVersion: String(90000 + p.index),
      uid: uid('Pod', p.index),
    },
    spec: {
      containers: [
        {
          env: [
            { name: 'DB_PASSWORD', value: 'hunter2' },
            { name: 'API_KEY', valueFrom: { secretKeyRef: { key: 'api-key', name: 'app-secrets' } } },
          ],
          image: 'registry.example.com/shop/app:1.4.2',
          imagePullPolicy: 'IfNotPresent',
          name: 'app',
          ...(p.port !== null ? { ports: [{ containerPort: p.port, name: 'http', protocol: 'TCP' }] } : {}),
          resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
          terminationMessagePath: '/dev/termination-log',
          volumeMounts: [
            {
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              name: 'kube-api-access',
              readOnly: true,
            },
          ],
        },
      ],
      dnsPolicy: p.hostNetwork ? 'ClusterFirstWithHostNet' : 'ClusterFirst',
      enableServiceLinks: true,
      ...(p.hostNetwork ? { hostNetwork: true } : {}),
      nodeName: `node-${p.node + 1}`,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      tolerations: [
        {
          effect: 'NoExecute',
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          tolerationSeconds: 300,
        },
      ],
      volumes: [
        {
          name: 'kube-api-access',
          projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] },
        },
      ],
    },
    status: {
      conditions: [
        { lastTransitionTime: CREATED, status: 'True', type: 'Initialized' },
        { lastTransitionTime: CREATED, status: 'True', type: 'Ready' },
        { lastTransitionTime: CREATED, status: 'True', type: 'ContainersReady' },
        { lastTransitionTime: CREATED, status: 'True', type: 'PodScheduled' },
      ],
      containerStatuses: [
        {
          containerID: `containerd://${uid('C', p.index)}`,
          image: 'registry.example.com/shop/app:1.4.2',
          name: 'app',
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: CREATED } },
        },
      ],
      hostIP: nodeIp(p.node),
      phase: 'Running',
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      qosClass: 'Burstable',
      startTime: CREATED,
    },
  };
}

function service(
  ns: string,
  name: string,
  ip: string,
  selector: Obj,
  port: number,
  target: number | string,
  proto = 'TCP',
): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': `{"kind":"Service","metadata":{"name":"${name}"}}\n`,
      },
      creationTimestamp: CREATED,
      managedFields: managedFields('kubectl-client-side-apply'),
      name,
      namespace: ns,
      resourceVersion: '1',
      uid: uid('Svc', port),
    },
    spec: {
      clusterIP: ip,
      clusterIPs: [ip],
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'http', port, protocol: proto, targetPort: target }],
      ...(Object.keys(selector).length ? { selector } : {}),
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
    status: { loadBalancer: {} },
  };
}

function slice(
  ns: string,
  svc: string,
  port: number,
  endpoints: { ip: string; node: number; pod: string }[],
  proto = 'TCP',
): Obj {
  return {
    addressType: 'IPv4',
    apiVersion: 'discovery.k8s.io/v1',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${e.node + 1}`,
      targetRef: { kind: 'Pod', name: e.pod, namespace: ns, uid: uid('Pod', e.node) },
    })),
    kind: 'EndpointSlice',
    metadata: {
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': CREATED },
      creationTimestamp: CREATED,
      generateName: `${svc}-`,
      labels: {
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        'kubernetes.io/service-name': svc,
      },
      managedFields: managedFields('kube-controller-manager'),
      name: `${svc}-x7k2p`,
      namespace: ns,
    },
    ports: [{ name: 'http', port, protocol: proto }],
  };
}

/** The dump as a `kind: List` object (kubectl's shape). */
export function generateKubectlDump(o: DumpOptions): Obj {
  if (o.nodes < 1 || o.nodes > 250 * 250) throw new Error('nodes must be 1..62500');
  const items: Obj[] = [];
  for (let i = 0; i < o.nodes; i++) items.push(node(i));
  let index = 0;
  const nextIp = new Array<number>(o.nodes).fill(2);
  const podIp = (n: number) => `10.244.${n}.${nextIp[n]!++}`;
  for (let i = 0; i < o.nodes; i++) {
    for (const [ns, name, app] of [
      ['kube-flannel', `kube-flannel-ds-${i}`, 'flannel'],
      ['kube-system', `kube-proxy-${i}`, 'kube-proxy'],
    ] as const)
      items.push(
        pod({
          namespace: ns,
          name,
          labels: { app, 'k8s-app': app },
          node: i,
          ip: nodeIp(i),
          hostNetwork: true,
          port: null,
          index: index++,
        }),
      );
  }
  const dns: { ip: string; node: number; pod: string }[] = [];
  for (let r = 0; r < 2; r++) {
    const n = r % o.nodes;
    const ip = podIp(n);
    const name = `coredns-7c65d6cfc9-${r}`;
    dns.push({ ip, node: n, pod: name });
    items.push(
      pod({
        namespace: 'kube-system',
        name,
        labels: { 'k8s-app': 'kube-dns' },
        node: n,
        ip,
        hostNetwork: false,
        port: 53,
        index: index++,
      }),
    );
  }
  const services = Math.ceil(o.pods / o.replicas);
  const byService: { ip: string; node: number; pod: string }[][] = [];
  for (let p = 0; p < o.pods; p++) {
    const k = Math.floor(p / o.replicas);
    const n = p % o.nodes;
    const ip = podIp(n);
    const name = `app-${k}-${p % o.replicas}`;
    (byService[k] ??= []).push({ ip, node: n, pod: name });
    items.push(
      pod({
        namespace: 'shop',
        name,
        labels: { app: `app-${k}`, tier: 'web' },
        node: n,
        ip,
        hostNetwork: false,
        port: 8080,
        index: index++,
      }),
    );
  }
  items.push(service('default', 'kubernetes', '10.96.0.1', {}, 443, 6443));
  items.push(slice('default', 'kubernetes', 6443, [{ ip: nodeIp(0), node: 0, pod: 'kube-apiserver' }]));
  items.push(service('kube-system', 'kube-dns', '10.96.0.10', { 'k8s-app': 'kube-dns' }, 53, 53, 'UDP'));
  items.push(slice('kube-system', 'kube-dns', 53, dns, 'UDP'));
  for (let k = 0; k < services; k++) {
    const ip = `10.96.${1 + Math.floor(k / 250)}.${1 + (k % 250)}`;
    items.push(service('shop', `app-${k}`, ip, { app: `app-${k}` }, 80, 8080));
    items.push(slice('shop', `app-${k}`, 8080, byService[k] ?? []));
  }
  for (let k = 0; k < services; k += 50)
    items.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `app-${k}-ingress`, namespace: 'shop', managedFields: managedFields('kubectl') },
      spec: {
        podSelector: { matchLabels: { app: `app-${k}` } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { tier: 'web' } } }],
            ports: [{ port: 8080, protocol: 'TCP' }],
          },
        ],
      },
    });
  items.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'app-secrets', namespace: 'shop' },
    data: { 'api-key': 'c2VjcmV0' },
    type: 'Opaque',
  });
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}
