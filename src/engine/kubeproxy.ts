// What kube-proxy in iptables mode writes on a node: the `iptables-restore` input of its syncProxyRules(),
// for the filter and nat tables, byte for byte as kube-proxy's own unit tests expect it.
//
// Followed (not copied) from kubernetes/kubernetes at 531be81208e2274ef42e72525a26610a9622bcdf:
//   pkg/proxy/iptables/proxier.go      syncProxyRules, writeServiceToEndpointRules, the chain-name hashes
//                                      (portProtoHash, servicePortEndpointChainName), computeProbability,
//                                      iptablesJumpChains / iptablesKubeletJumpChains
//   pkg/proxy/iptables/proxier_test.go NewFakeProxier (the test node), sortIPTablesRules (the order the
//                                      tests compare in; kubeProxyIptablesSave prints that order)
//   pkg/proxy/serviceport.go           newBaseServiceInfo (IP-family filtering, source-range TrimSpace,
//                                      LoadBalancer ingress ipMode, health check node port), the policy
//                                      predicates UsesClusterEndpoints / UsesLocalEndpoints
//   pkg/api/v1/service/util.go         ExternallyAccessible, ExternalPolicyLocal, InternalPolicyLocal,
//                                      NeedsHealthCheck
//   pkg/proxy/topology.go              CategorizeEndpoints (ready, then serving+terminating fallback;
//                                      Local policies)
//   pkg/proxy/endpointslicecache.go    condition defaults, per-port merging, dedup, sort by "ip:port"
//   pkg/proxy/endpoint.go              the endpoint string net.JoinHostPort(ip, port)
//   pkg/proxy/util/nodeport_addresses.go  --nodeport-addresses (family filter, MatchAll, loopback)
//   pkg/proxy/util/localdetector.go    the local-traffic detectors (`-s clusterCIDR` / `! -s clusterCIDR`)
//
// What this is not: kube-proxy writes its rules with `iptables-restore --noflush`, and the kernel then
// prints them back through `iptables-save` in its own canonical form (`-d 172.30.0.41/32 -p tcp -m comment
// ... -m tcp --dport 80`, `MARK --set-xmark 0x4000/0x4000`). The text here is kube-proxy's side of that
// exchange — the form its tests assert — which is what the netfilter parser loads. The jumps from the built-in
// chains, which kube-proxy adds one by one with `iptables -I`, are in kubeProxyBuiltinJumps().
//
// Speed (docs/performance.md): a node loads kube-proxy's rules from kubeProxyRules, the same sync written as
// the tables the text's dump would give, with the per-Service and per-endpoint rules already as data — not
// from the text (~430,000 lines at 10,000 Services × 10 endpoints). Chain names are hashed straight from the
// string for the usual one-block input (hashedName).
//
// Not modelled: topology hints (EndpointSlice hints / trafficDistribution), IPv6 (an IPv6 address anywhere is
// filtered out, as an IPv4 proxier does), the clock behind large-cluster-mode's deferred stale-chain cleanup
// (KubeProxySyncOptions.staleChainCleanupDue stands for it).
import type { ClusterModel } from '../scenario/model.ts';
import { cidrContains, formatCidr, ipToInt, isIp, maskOf, nthAddress, parseCidr, type Cidr } from './addr.ts';
import { parseRuleCached } from './iptables.ts';
import type { Match, Rule, Target } from './netfilter.ts';

// ---------------------------------------------------------------------------------------------------------
// Input: plain data, shaped like the Kubernetes objects (and the conformance fixtures) so they map directly.

export type ServiceProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface KubeProxyServicePort {
  /** The port's name; "" or null when the Service has a single unnamed port. */
  readonly name: string | null;
  readonly port: number;
  readonly protocol: ServiceProtocol;
  /** 0 or null: no node port. */
  readonly nodePort: number | null;
}

export interface KubeProxyService {
  readonly namespace: string;
  readonly name: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** null, "" or "None" (headless): kube-proxy ignores the Service. */
  readonly clusterIP: string | null;
  readonly ports: readonly KubeProxyServicePort[];
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress: only `ip` entries whose ipMode is unset or "VIP" get rules. */
  readonly loadBalancerIngress: readonly { readonly ip: string; readonly ipMode?: 'VIP' | 'Proxy' | null }[];
  /** As written in the Service; kube-proxy trims whitespace. */
  readonly loadBalancerSourceRanges: readonly string[];
  /** null = Cluster (the API default). */
  readonly externalTrafficPolicy: 'Cluster' | 'Local' | null;
  /** null = Cluster. */
  readonly internalTrafficPolicy: 'Cluster' | 'Local' | null;
  /** spec.healthCheckNodePort; 0 or null when none. Only used for LoadBalancer + externalTrafficPolicy Local. */
  readonly healthCheckNodePort: number | null;
  readonly sessionAffinity: 'None' | 'ClientIP';
  /** sessionAffinityConfig.clientIP.timeoutSeconds; null = the API default, 10800. */
  readonly sessionAffinityTimeoutSeconds: number | null;
}

export interface KubeProxyEndpoint {
  readonly addresses: readonly string[];
  readonly nodeName: string | null;
  /** EndpointSlice conditions; null means unset (ready and serving default to true, terminating to false). */
  readonly conditions: {
    readonly ready: boolean | null;
    readonly serving: boolean | null;
    readonly terminating: boolean | null;
  };
}

export interface KubeProxyEndpointSlice {
  readonly namespace: string;
  readonly name: string;
  /** The kubernetes.io/service-name label. */
  readonly serviceName: string;
  readonly addressType: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: readonly KubeProxyEndpoint[];
  /** A port with a null name or port is ignored, as kube-proxy does (the controller writes "" for unnamed). */
  readonly ports: readonly {
    readonly name: string | null;
    readonly port: number | null;
    readonly protocol: ServiceProtocol | null;
  }[];
}

/** How kube-proxy tells pod traffic from the rest (--detect-local-mode). */
export type LocalDetector =
  | { readonly mode: 'ClusterCIDR' | 'NodeCIDR'; readonly cidr: string }
  | { readonly mode: 'BridgeInterface'; readonly interface: string }
  | { readonly mode: 'InterfaceNamePrefix'; readonly prefix: string };

export interface KubeProxyInput {
  readonly nodeName: string;
  /** The node's primary IP: a LoadBalancer source range containing it also admits traffic from the LB IPs. */
  readonly nodeIP: string;
  /** Every address on the node's interfaces other than loopback (127.0.0.1 is implied), for
   *  --nodeport-addresses. Addresses of the other IP family are ignored. */
  readonly nodeIPs: readonly string[];
  /** --cluster-cidr: the ClusterCIDR local-traffic detector; null = no detector. */
  readonly clusterCIDR: string | null;
  /** Overrides the detector clusterCIDR implies (e.g. NodeCIDR or BridgeInterface mode). */
  readonly localDetector?: LocalDetector | null;
  /** --masquerade-all */
  readonly masqueradeAll: boolean;
  /** The masquerade mark as kube-proxy prints it: masqueradeMarkForBit(14) is "0x00004000"; the upstream
   *  unit tests' fake proxier uses "0x4000". */
  readonly masqueradeMark: string;
  /** iptables supports MASQUERADE --random-fully (iptables >= 1.6.2). */
  readonly hasRandomFully: boolean;
  /** --iptables-localhost-nodeports (default true); forced off unless nodePortAddresses admits 127.0.0.0/8. */
  readonly localhostNodePorts: boolean;
  /** --nodeport-addresses CIDRs; null or [] = every local address. */
  readonly nodePortAddresses: readonly string[] | null;
  /** net.netfilter.nf_conntrack_tcp_be_liberal is set: no DROP rule for ctstate INVALID. */
  readonly conntrackTCPLiberal: boolean;
  /** nfacct counters kube-proxy managed to create (they add `-m nfacct` to two rules). */
  readonly nfacctCounters: {
    readonly ct_state_invalid_dropped_pkts?: boolean;
    readonly localhost_nps_accepted_pkts?: boolean;
  };
  readonly services: readonly KubeProxyService[];
  readonly endpointSlices: readonly KubeProxyEndpointSlice[];
}

/** The nfacct counter names (pkg/proxy/metrics). */
export const NFACCT_CT_STATE_INVALID_DROPPED = 'ct_state_invalid_dropped_pkts';
export const NFACCT_LOCALHOST_NODEPORT_ACCEPTED = 'localhost_nps_accepted_pkts';

/** kube-proxy's `fmt.Sprintf("%#08x", 1<<masqueradeBit)`: Go zero-pads the digits to 8, then adds "0x". */
export function masqueradeMarkForBit(bit: number): string {
  return '0x' + (2 ** bit).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------------------------------------------------
// Chain names: SHA-256 of the inputs, base32 (RFC 4648 standard alphabet), first 16 characters.

const SHA256_K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** SHA-256's compression function (FIPS 180-4 §6.2.2): one 64-byte block, `w[0..15]` its big-endian words,
 *  into the state `h`; `w` is the message schedule, overwritten. int32 arithmetic (`| 0`) throughout: the same
 *  bits as mod 2^32, and V8 keeps the values unboxed. */
function sha256Block(h: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let hh = h[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + SHA256_K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + hh) | 0;
}

const SHA256_H0 = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/** SHA-256 (FIPS 180-4) of a byte string. Synchronous, so it runs in the engine's worker and in the CLI. */
export function sha256(data: Uint8Array): Uint8Array {
  const bitLen = data.length * 8;
  const padded = new Uint8Array(Math.ceil((data.length + 9) / 64) * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 2 ** 32));
  view.setUint32(padded.length - 4, bitLen >>> 0);
  const h = Int32Array.from(SHA256_H0);
  const w = new Int32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    sha256Block(h, w);
  }
  const out = new Uint8Array(32);
  const outView = new DataView(out.buffer);
  h.forEach((v, i) => outView.setUint32(i * 4, v));
  return out;
}

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Go's base32.StdEncoding.EncodeToString (with '=' padding). */
export function base32Std(data: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of data) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** UTF-8 bytes of a string (Go hashes the string's bytes); the engine's lib has no TextEncoder. */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

// Scratch state for hashedName's one-block path (the engine is single-threaded: a worker, the CLI or a test).
const HASH_H = new Int32Array(8);
const HASH_W = new Int32Array(64);
const BASE32_CODES = Array.from(BASE32_ALPHABET, (c) => c.charCodeAt(0));

/**
 * `prefix` + base32Std(sha256(utf8(text))).slice(0, 16), as one flat string. A chain name's input (a
 * service port name, a protocol and an endpoint) is short ASCII, one SHA-256 block: that case is hashed
 * straight from the string into reused buffers and the name made from character codes in one go (no
 * concatenated pieces: the names are hashed into maps and sorted many times over) — kube-proxy names ~11
 * chains per endpoint, 110,000 for 10,000 Services × 10 endpoints. Anything else (non-ASCII, over 55 bytes)
 * takes the general path.
 */
function hashedName(prefix: string, text: string): string {
  const codes = hashCodes(text);
  return codes ? nameOf(prefix, codes) : prefix + base32Std(sha256(utf8(text))).slice(0, 16);
}

/** `prefix` followed by the characters `codes`, as one flat string. */
function nameOf(prefix: string, codes: readonly number[]): string {
  const all: number[] = [];
  for (let i = 0; i < prefix.length; i++) all.push(prefix.charCodeAt(i));
  return String.fromCharCode(...all, ...codes);
}

/** The character codes of hash16(text) when `text` is one block of ASCII; null otherwise. */
function hashCodes(text: string): number[] | null {
  const n = text.length;
  if (n <= 55) {
    const w = HASH_W;
    w.fill(0, 0, 16);
    let ascii = true;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      w[i >> 2] = w[i >> 2]! | (c << (24 - 8 * (i & 3)));
    }
    if (ascii) {
      // The padding: a 1 bit after the message, its bit length in the last word (< 2^32 here).
      w[n >> 2] = w[n >> 2]! | (0x80 << (24 - 8 * (n & 3)));
      w[15] = n * 8;
      const h = HASH_H;
      h.set(SHA256_H0);
      sha256Block(h, w);
      // The first 80 bits are the 16 base32 characters: h[0], h[1] and the top half of h[2], 20 bits at a
      // time, five bits a character.
      const codes: number[] = [];
      const h0 = h[0]!;
      const h1 = h[1]!;
      const h2 = h[2]!;
      for (const word of [
        h0 >>> 12,
        ((h0 & 0xfff) << 8) | (h1 >>> 24),
        (h1 >>> 4) & 0xfffff,
        ((h1 & 0xf) << 16) | (h2 >>> 16),
      ])
        for (let shift = 15; shift >= 0; shift -= 5) codes.push(BASE32_CODES[(word >>> shift) & 31]!);
      return codes;
    }
  }
  return null;
}

function hash16(text: string): string {
  return hashedName('', text);
}

/** proxier.go portProtoHash: the 16 characters after KUBE-SVC-, KUBE-SVL-, KUBE-EXT- and KUBE-FW-. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol);
}

/** proxier.go servicePortEndpointChainName: KUBE-SEP- plus the hash of port name, protocol and "ip:port". */
export function servicePortEndpointChainName(
  servicePortName: string,
  protocol: string,
  endpoint: string,
): string {
  return hashedName('KUBE-SEP-', servicePortName + protocol + endpoint);
}

export const servicePortPolicyClusterChain = (spn: string, proto: string): string =>
  'KUBE-SVC-' + portProtoHash(spn, proto);
export const servicePortPolicyLocalChainName = (spn: string, proto: string): string =>
  'KUBE-SVL-' + portProtoHash(spn, proto);
export const serviceFirewallChainName = (spn: string, proto: string): string =>
  'KUBE-FW-' + portProtoHash(spn, proto);
export const serviceExternalChainName = (spn: string, proto: string): string =>
  'KUBE-EXT-' + portProtoHash(spn, proto);

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'];

/** proxier.go isServiceChainName: the per-service chains kube-proxy deletes when they go stale. */
export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p));
}

/** ServicePortName.String(): "namespace/name:port", or "namespace/name" for an unnamed port. */
export function servicePortNameString(namespace: string, name: string, port: string): string {
  return `${namespace}/${name}${port === '' ? '' : `:${port}`}`;
}

// ---------------------------------------------------------------------------------------------------------
// Probabilities: computeProbability(n) = fmt.Sprintf("%0.10f", 1.0/float64(n)).

/** Go's %0.10f of the float64 1/n: the exact binary value rounded half-to-even at 10 decimals. */
export function computeProbability(n: number): string {
  // A Service with n endpoints needs 1/n … 1/2; the same few values recur across every Service.
  let p = PROBABILITIES.get(n);
  if (p === undefined) {
    p = formatFixed10(1 / n);
    if (PROBABILITIES.size < 4096) PROBABILITIES.set(n, p);
  }
  return p;
}

const PROBABILITIES = new Map<number, string>();

function formatFixed10(x: number): string {
  if (!(x >= 0) || !Number.isFinite(x)) throw new Error(`cannot format ${x}`);
  // x = mantissa * 2^exponent exactly.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent: number;
  if (biased === 0) exponent = -1074;
  else {
    mantissa |= 1n << 52n;
    exponent = biased - 1075;
  }
  const scale = 10n ** 10n;
  let q: bigint;
  if (exponent >= 0) q = (mantissa << BigInt(exponent)) * scale;
  else {
    const den = 1n << BigInt(-exponent);
    const num = mantissa * scale;
    q = num / den;
    const twice = (num % den) * 2n;
    if (twice > den || (twice === den && q % 2n === 1n)) q += 1n;
  }
  const digits = q.toString().padStart(11, '0');
  return `${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

// ---------------------------------------------------------------------------------------------------------
// The proxier's view of Services and endpoints (ServicePortMap, EndpointsMap).

/** A Service port as the proxier sees it (ServicePortMap's value); shared with kubeproxyIpvs.ts. */
export interface ServicePortInfo {
  /** "namespace/name" */
  readonly serviceKey: string;
  /** ServicePortName.String() */
  readonly nameString: string;
  /** the port name, "" for unnamed */
  readonly portName: string;
  readonly protocol: ServiceProtocol;
  /** lowercase, as in -m/-p and the chain-name hashes */
  readonly proto: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly nodePort: number;
  readonly clientIPAffinity: boolean;
  readonly stickyMaxAgeSeconds: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerVIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly Cidr[];
  readonly healthCheckNodePort: number;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  readonly clusterPolicyChainName: string;
  readonly localPolicyChainName: string;
  readonly firewallChainName: string;
  readonly externalChainName: string;
}

/** An endpoint as the proxier sees it (EndpointsMap's value); shared with kubeproxyIpvs.ts. */
export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** net.JoinHostPort(ip, port) */
  readonly endpoint: string;
  readonly isLocal: boolean;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

export function externallyAccessible(
  p: Pick<ServicePortInfo, 'nodePort' | 'loadBalancerVIPs' | 'externalIPs'>,
): boolean {
  return p.nodePort !== 0 || p.loadBalancerVIPs.length !== 0 || p.externalIPs.length !== 0;
}
export function usesClusterEndpoints(p: ServicePortInfo): boolean {
  return !p.internalPolicyLocal || externallyAccessible(p);
}
export function usesLocalEndpoints(p: ServicePortInfo): boolean {
  return p.internalPolicyLocal || (p.externalPolicyLocal && externallyAccessible(p));
}

function parseCidrLoose(text: string): Cidr | null {
  try {
    return parseCidr(text);
  } catch {
    return null;
  }
}

/** newBaseServiceInfo + newServiceInfo, for an IPv4 proxier. Services kube-proxy skips give []. */
export function servicePorts(svc: KubeProxyService): ServicePortInfo[] {
  // ServiceChangeTracker skips headless and ExternalName services, and services without an IPv4 clusterIP.
  if (svc.type === 'ExternalName' || svc.clusterIP === null || !isIp(svc.clusterIP)) return [];
  // pkg/api/v1/service/util.go
  const accessible =
    svc.type === 'LoadBalancer' ||
    svc.type === 'NodePort' ||
    (svc.type === 'ClusterIP' && svc.externalIPs.length > 0);
  const externalPolicyLocal = accessible && svc.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = svc.internalTrafficPolicy === 'Local';
  const needsHealthCheck = svc.type === 'LoadBalancer' && externalPolicyLocal;
  const clientIP = svc.sessionAffinity === 'ClientIP';
  const externalIPs = svc.externalIPs.filter(isIp);
  const sourceRanges = svc.loadBalancerSourceRanges
    .map((r) => parseCidrLoose(r.trim()))
    .filter((c): c is Cidr => c !== null);
  const vips = svc.loadBalancerIngress
    .filter((ing) => ing.ip !== '' && (ing.ipMode ?? 'VIP') === 'VIP' && isIp(ing.ip))
    .map((ing) => ing.ip);
  return svc.ports.map((p) => {
    const portName = p.name ?? '';
    const nameString = servicePortNameString(svc.namespace, svc.name, portName);
    const proto = p.protocol.toLowerCase();
    // The four per-port chains (servicePortPolicyClusterChain and its siblings) share one hash.
    const codes = hashCodes(nameString + proto);
    const chain = (prefix: string): string =>
      codes ? nameOf(prefix, codes) : prefix + portProtoHash(nameString, proto);
    return {
      serviceKey: `${svc.namespace}/${svc.name}`,
      nameString,
      portName,
      protocol: p.protocol,
      proto,
      clusterIP: svc.clusterIP!,
      port: p.port,
      nodePort: p.nodePort ?? 0,
      clientIPAffinity: clientIP,
      stickyMaxAgeSeconds: clientIP ? (svc.sessionAffinityTimeoutSeconds ?? 10800) : 0,
      externalIPs,
      loadBalancerVIPs: vips,
      loadBalancerSourceRanges: sourceRanges,
      healthCheckNodePort: needsHealthCheck ? (svc.healthCheckNodePort ?? 0) : 0,
      externalPolicyLocal,
      internalPolicyLocal,
      clusterPolicyChainName: chain('KUBE-SVC-'),
      localPolicyChainName: chain('KUBE-SVL-'),
      firewallChainName: chain('KUBE-FW-'),
      externalChainName: chain('KUBE-EXT-'),
    };
  });
}

/** Key of the EndpointsMap: ServicePortName (namespace/name, port name, protocol). */
export const spnKey = (serviceKey: string, portName: string, protocol: ServiceProtocol): string =>
  `${serviceKey}\u0000${portName}\u0000${protocol}`;

/** EndpointSliceCache.getEndpointsMap for every service: merged per port, deduplicated, sorted by "ip:port". */
export function endpointsMap(input: KubeProxyInput): Map<string, EndpointInfo[]> {
  return endpointsMapOf(input, { duplicates: false });
}

/** endpointsMap, noting in `seen` whether an endpoint appeared twice for one port (then which copy is kept
 *  depends on the node: a local one wins). */
function endpointsMapOf(input: KubeProxyInput, seen: { duplicates: boolean }): Map<string, EndpointInfo[]> {
  const bySpn = new Map<string, Map<string, EndpointInfo>>();
  // A cluster's endpoints name the same pod addresses over and over (10 endpoints × 10,000 Services).
  const ipOk = new Map<string, boolean>();
  const isIpOnce = (ip: string): boolean => {
    let ok = ipOk.get(ip);
    if (ok === undefined) ipOk.set(ip, (ok = isIp(ip)));
    return ok;
  };
  for (const slice of input.endpointSlices) {
    if (slice.addressType === 'FQDN') continue;
    const serviceKey = `${slice.namespace}/${slice.serviceName}`;
    // newEndpointSliceInfo sorts the slice's ports by number and its endpoints by address (each endpoint's
    // sort key worked out once: the comparisons, and so the order, are the same).
    const ports = [...slice.ports].sort((a, b) => (a.port ?? 0) - (b.port ?? 0));
    const endpoints = slice.endpoints
      .map((ep) => ({ ep, key: ep.addresses.join(',') }))
      .sort((a, b) => cmpStr(a.key, b.key))
      .map((k) => k.ep);
    for (const port of ports) {
      if (port.name === null || port.port === null || port.port === 0) continue;
      const key = spnKey(serviceKey, port.name, port.protocol ?? 'TCP');
      let set = bySpn.get(key);
      if (!set) bySpn.set(key, (set = new Map()));
      for (const ep of endpoints) {
        const ip = ep.addresses[0];
        if (ip === undefined || !isIpOnce(ip)) continue; // empty, or not this proxier's family
        const isLocal = input.nodeName !== '' && ep.nodeName === input.nodeName;
        const info: EndpointInfo = {
          ip,
          port: port.port,
          endpoint: `${ip}:${port.port}`,
          isLocal,
          ready: ep.conditions.ready ?? true,
          serving: ep.conditions.serving ?? true,
          terminating: ep.conditions.terminating ?? false,
        };
        if (!set.has(info.endpoint)) set.set(info.endpoint, info);
        else {
          seen.duplicates = true;
          if (isLocal) set.set(info.endpoint, info);
        }
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, set] of bySpn)
    if (set.size > 0)
      out.set(
        key,
        [...set.values()].sort((a, b) => cmpStr(a.endpoint, b.endpoint)),
      );
  return out;
}

export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** pkg/proxy/topology.go CategorizeEndpoints, without topology hints (no zone or node hints are modelled). */
export function categorizeEndpoints<
  E extends Pick<EndpointInfo, 'endpoint' | 'isLocal' | 'ready' | 'serving' | 'terminating'>,
>(
  endpoints: readonly E[],
  policy: { usesClusterEndpoints: boolean; usesLocalEndpoints: boolean },
): { clusterEndpoints: E[]; localEndpoints: E[]; allReachableEndpoints: E[]; hasAnyEndpoints: boolean } {
  let clusterEndpoints: E[] = [];
  let localEndpoints: E[] = [];
  let hasAnyEndpoints = false;
  if (endpoints.length === 0)
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: [], hasAnyEndpoints };
  if (policy.usesClusterEndpoints) {
    clusterEndpoints = endpoints.filter((ep) => ep.ready);
    // No ready endpoint anywhere: fall back to serving-and-terminating ones.
    if (clusterEndpoints.length === 0)
      clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasAnyEndpoints = true;
  }
  if (!policy.usesLocalEndpoints)
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  let useServingTerminating = false;
  if (hasLocalReady) localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (hasLocalServingTerminating) {
    useServingTerminating = true;
    localEndpoints = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  }
  if (!policy.usesClusterEndpoints)
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: localEndpoints, hasAnyEndpoints };
  if (!useServingTerminating)
    return { clusterEndpoints, localEndpoints, allReachableEndpoints: clusterEndpoints, hasAnyEndpoints };
  // Upstream merges the two lists through a map (so in no particular order); the per-endpoint chains it
  // writes from them are sorted by name when printed, so the order does not show.
  const merged = new Map<string, E>();
  for (const ep of clusterEndpoints) merged.set(ep.endpoint, ep);
  for (const ep of localEndpoints) merged.set(ep.endpoint, ep);
  return { clusterEndpoints, localEndpoints, allReachableEndpoints: [...merged.values()], hasAnyEndpoints };
}

// ---------------------------------------------------------------------------------------------------------
// syncProxyRules

const KUBE_SERVICES = 'KUBE-SERVICES';
const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
const KUBE_FORWARD = 'KUBE-FORWARD';
const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
const KUBE_FIREWALL = 'KUBE-FIREWALL';
const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

const chainLine = (chain: string): string => `:${chain} - [0:0]`;
const MARK_MASQ_JUMP: Target = { kind: 'jump', chain: KUBE_MARK_MASQ };

/** The detector's match for pod traffic and for the rest (LocalTrafficDetector IfLocal / IfNotLocal). */
export function localDetectorOf(input: KubeProxyInput): { ifLocal: string; ifNotLocal: string } | null {
  const d: LocalDetector | null =
    input.localDetector !== undefined
      ? input.localDetector
      : input.clusterCIDR !== null
        ? { mode: 'ClusterCIDR', cidr: input.clusterCIDR }
        : null;
  if (d === null) return null;
  switch (d.mode) {
    case 'ClusterCIDR':
    case 'NodeCIDR':
      return { ifLocal: `-s ${d.cidr}`, ifNotLocal: `! -s ${d.cidr}` };
    case 'BridgeInterface':
      return { ifLocal: `-i ${d.interface}`, ifNotLocal: `! -i ${d.interface}` };
    case 'InterfaceNamePrefix':
      return { ifLocal: `-i ${d.prefix}+`, ifNotLocal: `! -i ${d.prefix}+` };
  }
}

/** NewNodePortAddresses for IPv4: the CIDRs of this family, or 0.0.0.0/0 (match all) when there are none. */
export function nodePortAddresses(cidrs: readonly string[] | null): {
  matchAll: boolean;
  cidrs: Cidr[];
  containsIPv4Loopback: boolean;
} {
  const own = (cidrs ?? []).map((c) => parseCidrLoose(c.trim())).filter((c): c is Cidr => c !== null);
  const list = own.length > 0 ? own : [{ ip: '0.0.0.0', prefix: 0 }];
  let containsIPv4Loopback = false;
  const out: Cidr[] = [];
  for (const c of list) {
    if ((ipToInt(c.ip) & maskOf(8)) >>> 0 === ipToInt('127.0.0.0') || cidrContains(c, '127.0.0.0'))
      containsIPv4Loopback = true;
    if (c.prefix === 0) return { matchAll: true, cidrs: [c], containsIPv4Loopback };
    out.push(c);
  }
  return { matchAll: false, cidrs: out, containsIPv4Loopback };
}

/** Where a sync writes, in the order syncProxyRules writes: the restore input's lines (kubeProxySync), or
 *  straight into its tables (kubeProxyRules, DumpWriter). */
interface RestoreBuffers {
  /** The chains declared (`:NAME - [0:0]`, chainLine), by name. */
  readonly filterChains: ChainSink;
  readonly filterRules: LineSink;
  readonly natChains: ChainSink;
  readonly natRules: LineSink;
}

interface ChainSink {
  push(name: string): void;
}

interface LineSink {
  /** `chain`: the chain a rule as data appends to (its line's "-A CHAIN"). */
  push(line: RestoreLine, chain?: string): void;
}

/** The restore input as text: the chains declared and the lines, in order. */
interface TextBuffers extends RestoreBuffers {
  readonly filterChains: string[];
  readonly filterRules: TextLines;
  readonly natChains: string[];
  readonly natRules: TextLines;
}

class TextLines implements LineSink {
  readonly lines: string[] = [];
  push(line: RestoreLine): void {
    this.lines.push(restoreLineText(line));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Rules as data. Loading a node's rules used to mean printing every rule and parsing the text back: ~430,000
// lines for 10,000 Services × 10 endpoints. The rules kube-proxy writes per Service port and per endpoint come
// in a few shapes, so those are also built here as data: the Match and Target objects iptables.ts's parser
// gives for that very line (kubeproxy.test.ts checks every such rule of the fixtures against the parser).
// The other lines (the fixed ones, session affinity, external IPs, firewall chains) stay text and are parsed
// when loaded.

/** A line after the chain declarations: its text, or the rule as data (whose `text` is the line). */
export type RestoreLine = string | Rule;

export function restoreLineText(line: RestoreLine): string {
  return typeof line === 'string' ? line : line.text;
}

/**
 * One table of a sync written straight into what parseIPTablesDump reads from its text: chains in the order
 * declared (a name declared twice: its rules go to the first), each with its lines in the order written — a
 * line written before its chain is declared waits for it, as in the text all declarations come first. A rule
 * as data comes with its chain (the name's own string, hashed once); a text line's chain is read from it.
 * `failed` where the text would not give the same back (a line break or blanks around a line, a name not one
 * word, a chain never declared, `-X`): then kubeProxyRules reads the text instead.
 */
class DumpWriter {
  readonly chains: DumpChainOf<RestoreLine>[] = [];
  private readonly byName = new Map<string, DumpChainOf<RestoreLine>>();
  private readonly withText = new Set<DumpChainOf<RestoreLine>>();
  private readonly waiting = new Map<string, RestoreLine[]>();
  private twice = false;
  private lastName: string | null = null;
  private lastChain: DumpChainOf<RestoreLine> | null = null;
  failed = false;

  readonly declarations: ChainSink = {
    push: (name) => {
      if (!PLAIN_NAME.test(name)) this.failed = true;
      const chain: DumpChainOf<RestoreLine> = { name, counters: '- [0:0]', rules: [], deleted: false };
      this.chains.push(chain);
      if (this.byName.has(name)) this.twice = true;
      else {
        this.byName.set(name, chain);
        const early = this.waiting.get(name);
        if (early) {
          this.waiting.delete(name);
          for (const line of early) this.put(chain, line);
        }
      }
    },
  };

  readonly lines: LineSink = {
    push: (line, chain) => {
      let target: string;
      if (typeof line !== 'string') {
        if (chain === undefined) {
          this.failed = true;
          return;
        }
        target = chain;
      } else {
        const add = /^-A ([^ ]*) (.*)$/.exec(line);
        if (add === null || /^\s|\s$|[\n\r]|^#/.test(line)) {
          this.failed = true;
          return;
        }
        target = add[1]!;
      }
      // (Lines of one chain mostly come together.)
      const to = target === this.lastName ? this.lastChain : (this.byName.get(target) ?? null);
      if (to === null) {
        const early = this.waiting.get(target);
        if (early) early.push(line);
        else this.waiting.set(target, [line]);
        return;
      }
      this.lastName = target;
      this.lastChain = to;
      this.put(to, line);
    },
  };

  private put(chain: DumpChainOf<RestoreLine>, line: RestoreLine): void {
    chain.rules.push(line);
    if (typeof line === 'string') this.withText.add(chain);
  }

  /** The table, or null if it would not be what the text gives. */
  table(name: string): KubeProxyTable | null {
    if (this.failed || this.waiting.size > 0) return null;
    return { name, chains: this.chains, byName: this.twice ? null : this.byName, withText: this.withText };
  }
}

/** A chain name that is one word (chainLine's line gives it back). */
const PLAIN_NAME = /^[^\s]+$/;

/** Names written into rules as data: words that tokenize and split into lines back unchanged (Kubernetes
 *  names, port names and "ip:port" always are). */
const PLAIN = /^[A-Za-z0-9._:/-]+$/;

const PROTO_MATCHES: Readonly<Record<string, Match>> = {
  tcp: { kind: 'proto', proto: 'tcp', negate: false },
  udp: { kind: 'proto', proto: 'udp', negate: false },
  sctp: { kind: 'proto', proto: 'sctp', negate: false },
};

/** A port the parser reads back as the same number (libxt_tcp: decimal digits, at most 65535). */
const plainPort = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65535;
const hostMatch = (kind: 'src' | 'dst', ip: string): Match => ({
  kind,
  cidr: { ip, prefix: 32 },
  negate: false,
});
const commentMatch = (text: string): Match => ({ kind: 'comment', text });
const dportMatch = (port: number): Match => ({ kind: 'dport', from: port, to: port, negate: false });
const jumpTo = (chain: string): Target => ({ kind: 'jump', chain });
/** `-m statistic --mode random --probability p`, one shared match per probability (they never change). */
const statisticMatch = (p: string): Match => {
  let m = STATISTIC_MATCHES.get(p);
  if (!m) STATISTIC_MATCHES.set(p, (m = { kind: 'statistic', probability: Number(p), negate: false }));
  return m;
};
const STATISTIC_MATCHES = new Map<string, Match>();
/** ` -m statistic --mode random --probability p`, one string per probability. */
const statisticText = (p: string): string => {
  let t = STATISTIC_TEXTS.get(p);
  if (t === undefined) STATISTIC_TEXTS.set(p, (t = ` -m statistic --mode random --probability ${p}`));
  return t;
};
const STATISTIC_TEXTS = new Map<string, string>();
/** A rule as data: `text` is its line, "-A CHAIN …", and `matches` and `target` what parseRule makes of it. */
const rule = (matches: readonly Match[], target: Target, text: string): Rule => ({ matches, target, text });

/** The local-traffic detector's "not local" match as the parser reads it, or null if it does not parse to one
 *  -s or -i match (its rules then stay text, and loading them reports what is wrong). */
function notLocalMatch(ifNotLocal: string): Match | null {
  const r = parseRuleCached(`-A ${KUBE_SERVICES} ${ifNotLocal} -j ${KUBE_MARK_MASQ}`);
  if (!r.ok || r.rule.matches.length !== 1) return null;
  const m = r.rule.matches[0]!;
  return m.kind === 'src' || m.kind === 'in' ? m : null;
}

/** Per-service fingerprints and the kernel's nat chains, carried from one sync to the next. */
export interface KubeProxySyncState {
  /** The chains in the kernel's nat table after the last restore (what the next sync's iptables-save lists). */
  readonly natChains: readonly string[];
  /** "namespace/name" → the Service's ports as the proxier sees them (ServicePortMap), as JSON. */
  readonly services: Readonly<Record<string, string>>;
  /** "namespace/name" → its endpoints as the proxier sees them (EndpointsMap), as JSON. */
  readonly endpoints: Readonly<Record<string, string>>;
}

export interface KubeProxySyncOptions {
  /** Rewrite every chain (kube-proxy does on start, after a failed restore, and every hour). Without a
   *  previous state the sync is always full. */
  readonly fullSync?: boolean;
  /** In large cluster mode kube-proxy deletes stale chains only once per sync period (a clock this model
   *  does not have): false skips the deletion, as a sync within the period does. Default true. */
  readonly staleChainCleanupDue?: boolean;
}

export interface KubeProxySyncResult {
  /** The restore input exactly as syncProxyRules wrote it (services in namespace/name order). */
  readonly restoreInput: string;
  /** The same, in the order kube-proxy's unit tests compare in (sortIPTablesRules). */
  readonly text: string;
  readonly fullSync: boolean;
  readonly largeClusterMode: boolean;
  readonly state: KubeProxySyncState;
}

/**
 * One syncProxyRules() run. With `previous` (the state a former sync returned) and no `fullSync`, it is a
 * partial sync: the per-service chains of Services whose ports and endpoints did not change are left out
 * (they stay in the kernel), and stale service chains are flushed and deleted (`:CHAIN` + `-X CHAIN`).
 */
export function kubeProxySync(
  input: KubeProxyInput,
  previous: KubeProxySyncState | null = null,
  options: KubeProxySyncOptions = {},
): KubeProxySyncResult {
  const text = (): TextBuffers => ({
    filterChains: [],
    filterRules: new TextLines(),
    natChains: [],
    natRules: new TextLines(),
  });
  const r = syncProxyRules(input, previous, options, true, text);
  const b = r.buffers;
  const restoreInput =
    ['*filter', ...b.filterChains.map(chainLine), ...b.filterRules.lines, 'COMMIT'].join('\n') +
    '\n' +
    ['*nat', ...b.natChains.map(chainLine), ...b.natRules.lines, 'COMMIT'].join('\n') +
    '\n';
  // The kernel after `iptables-restore --noflush`: declared chains exist, -X'd ones are gone. (A chain is
  // listed by the name its line gives back: up to a blank.)
  const natAfter = new Set(previous?.natChains ?? []);
  for (const n of b.natChains) natAfter.add(n.includes(' ') ? n.slice(0, n.indexOf(' ')) : n);
  for (const c of r.deleted) natAfter.delete(c);
  return {
    restoreInput,
    text: sortIPTablesRules(restoreInput),
    fullSync: r.fullSync,
    largeClusterMode: r.largeClusterMode,
    state: { natChains: [...natAfter].sort(), services: r.services, endpoints: r.endpoints },
  };
}

/** kube-proxy's rules on a node (a full sync), as data: the tables as kubeProxyIptablesSave prints them
 *  (sortIPTablesRules's order), each chain with its lines — parsed already where restoreLine says so. */
export interface KubeProxyRules {
  readonly tables: readonly KubeProxyTable[];
  /**
   * True iff the rules depend on the node they are written on (its name or addresses): a Service with a
   * Local traffic policy and endpoints, a load balancer firewall, --nodeport-addresses, or an endpoint listed
   * twice for one port. When false, every node of the cluster gets the very same rules.
   */
  readonly nodeSpecific: boolean;
}

/** kubeProxyIptablesSave's rules without the text: what a node loads (cni.ts). */
export function kubeProxyRules(input: KubeProxyInput): KubeProxyRules {
  const filter = new DumpWriter();
  const nat = new DumpWriter();
  const writers = (): RestoreBuffers => ({
    filterChains: filter.declarations,
    filterRules: filter.lines,
    natChains: nat.declarations,
    natRules: nat.lines,
  });
  const r = syncProxyRules(input, null, {}, false, writers);
  const f = filter.table('filter');
  const n = nat.table('nat');
  return {
    tables: sortDump(
      f && n
        ? [f, n]
        : // What the text would not give back as written: the text's own dump (which throws where it must).
          parseIPTablesDump(kubeProxySync(input).restoreInput).map((t) => ({
            ...t,
            byName: null,
            withText: null,
          })),
    ),
    nodeSpecific: r.nodeSpecific,
  };
}

/** syncProxyRules, writing into what `buffers` makes (the sync's, and one for the per-service chains a
 *  partial sync leaves out). `withState`: also work out the fingerprints for a next sync (it always does when
 *  `previous` is given); kubeProxyRules, a first sync, has no use for them. */
function syncProxyRules<B extends RestoreBuffers>(
  input: KubeProxyInput,
  previous: KubeProxySyncState | null,
  options: KubeProxySyncOptions,
  withState: boolean,
  buffers: () => B,
): {
  readonly buffers: B;
  readonly fullSync: boolean;
  readonly largeClusterMode: boolean;
  readonly nodeSpecific: boolean;
  /** The stale chains deleted (`-X`). */
  readonly deleted: readonly string[];
  readonly services: KubeProxySyncState['services'];
  readonly endpoints: KubeProxySyncState['endpoints'];
} {
  const tracking = withState || previous !== null;
  const doFullSync = previous === null || options.fullSync === true;
  const masqMark = input.masqueradeMark;
  const detector = localDetectorOf(input);
  const npa = nodePortAddresses(input.nodePortAddresses);
  // NewProxier: localhost NodePorts only if --nodeport-addresses admits 127.0.0.0/8.
  const localhostNodePorts = input.localhostNodePorts && npa.containsIPv4Loopback;
  const nfacctInvalid = input.nfacctCounters.ct_state_invalid_dropped_pkts === true;
  const nfacctLocalhost = input.nfacctCounters.localhost_nps_accepted_pkts === true;

  const seen = { duplicates: false };
  const { svcPorts, epMap, endpointsOf } = proxierMaps(input, seen);
  // Whether anything of this node (name, IP, addresses) went into the rules; see KubeProxyRules.
  let nodeSpecific = seen.duplicates || !npa.matchAll;
  const detectorMatch = detector === null ? null : notLocalMatch(detector.ifNotLocal);

  // Fingerprints of what the change trackers compare, per Service.
  const serviceFp: Record<string, string> = {};
  const endpointFp: Record<string, string> = {};
  if (tracking) {
    for (const p of svcPorts) serviceFp[p.serviceKey] = (serviceFp[p.serviceKey] ?? '') + JSON.stringify(p);
    for (const [key, eps] of [...epMap].sort((a, b) => cmpStr(a[0], b[0]))) {
      const serviceKey = key.slice(0, key.indexOf('\u0000'));
      endpointFp[serviceKey] = (endpointFp[serviceKey] ?? '') + key + JSON.stringify(eps);
    }
  }
  const changed = (serviceKey: string): boolean =>
    previous === null ||
    previous.services[serviceKey] !== serviceFp[serviceKey] ||
    previous.endpoints[serviceKey] !== endpointFp[serviceKey];

  const b = buffers();
  const skipped = buffers();

  // Top-level chains.
  for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL])
    b.filterChains.push(c);
  for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) b.natChains.push(c);

  const mark = `${masqMark}/${masqMark}`;
  b.natRules.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark} -j RETURN`);
  // Clear the mark so a packet that traverses the stack again is not masqueraded twice.
  b.natRules.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${masqMark}`);
  const randomFully = input.hasRandomFully ? ' --random-fully' : '';
  b.natRules.push(
    `-A ${KUBE_POSTROUTING} -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${randomFully}`,
  );
  b.natRules.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${masqMark}`);

  if (localhostNodePorts) {
    // route_localnet opens 127.0.0.0/8 to the network; this rule (kubelet writes the same) closes it again.
    b.filterChains.push(KUBE_FIREWALL);
    b.filterRules.push(
      `-A ${KUBE_FIREWALL} -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    );
  }

  // The service chains this sync writes (stale ones are deleted; the state lists the kernel's chains).
  const active = new Set<string>();
  const activate = (chain: string): void => {
    if (tracking) active.add(chain);
  };
  let totalEndpoints = 0;
  for (const p of svcPorts) totalEndpoints += endpointsOf(p).length;
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  // appendServiceCommentLocked: large clusters leave out the per-endpoint comments.
  const comment = (text: string): string => (largeClusterMode ? '' : ` -m comment --comment ${text}`);

  const sepNames = new Map<EndpointInfo, string>();
  for (const svc of svcPorts) {
    const proto = svc.proto;
    const name = svc.nameString;
    const svcEndpoints = endpointsOf(svc);
    if (usesLocalEndpoints(svc) && svcEndpoints.length > 0) nodeSpecific = true;
    const { clusterEndpoints, localEndpoints, allReachableEndpoints, hasAnyEndpoints } = categorizeEndpoints(
      svcEndpoints,
      { usesClusterEndpoints: usesClusterEndpoints(svc), usesLocalEndpoints: usesLocalEndpoints(svc) },
    );
    const hasEndpoints = hasAnyEndpoints;
    const clusterPolicyChain = svc.clusterPolicyChainName;
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(svc);
    const localPolicyChain = svc.localPolicyChainName;
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(svc);

    let internalPolicyChain = clusterPolicyChain;
    let hasInternalEndpoints = hasEndpoints;
    if (svc.internalPolicyLocal) {
      internalPolicyChain = localPolicyChain;
      if (localEndpoints.length === 0) hasInternalEndpoints = false;
    }
    const internalTrafficChain = internalPolicyChain;

    let externalPolicyChain = clusterPolicyChain;
    let hasExternalEndpoints = hasEndpoints;
    if (svc.externalPolicyLocal) {
      externalPolicyChain = localPolicyChain;
      if (localEndpoints.length === 0) hasExternalEndpoints = false;
    }
    const externalTrafficChain = svc.externalChainName;
    // Based on hasEndpoints, not hasExternalEndpoints: the short-circuit rules for local traffic are needed
    // even when no endpoint takes external traffic.
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(svc);

    let loadBalancerTrafficChain = externalTrafficChain;
    const fwChain = svc.firewallChainName;
    const usesFWChain =
      hasEndpoints && svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
    if (usesFWChain) {
      loadBalancerTrafficChain = fwChain;
      nodeSpecific = true; // the node's IP may be in a source range
    }

    let internalTrafficFilterTarget = '';
    let internalTrafficFilterComment = '';
    let externalTrafficFilterTarget = '';
    let externalTrafficFilterComment = '';
    if (!hasEndpoints) {
      // No endpoints at all: no nat chains, only filter rules rejecting the service's addresses.
      internalTrafficFilterTarget = 'REJECT';
      internalTrafficFilterComment = `"${name} has no endpoints"`;
      externalTrafficFilterTarget = 'REJECT';
      externalTrafficFilterComment = internalTrafficFilterComment;
    } else {
      if (!hasInternalEndpoints) {
        // internalTrafficPolicy Local without local endpoints: clusterIP traffic is dropped.
        internalTrafficFilterTarget = 'DROP';
        internalTrafficFilterComment = `"${name} has no local endpoints"`;
      }
      if (!hasExternalEndpoints) {
        // externalTrafficPolicy Local without local endpoints: traffic from outside is dropped, traffic
        // from inside the cluster may still be short-circuited by the EXT chain.
        externalTrafficFilterTarget = 'DROP';
        externalTrafficFilterComment = `"${name} has no local endpoints"`;
      }
    }

    const filterRules = b.filterRules;
    let natChains = b.natChains;
    let natRules = b.natRules;
    const matchPort = `-m ${proto} -p ${proto}`;
    const toPort = (ip: string): string => `${matchPort} -d ${ip} --dport ${svc.port}`;
    // The parts of this port's rules as data (null: its rules stay text).
    const protoMatch = PROTO_MATCHES[proto];
    const data =
      protoMatch !== undefined && PLAIN.test(name) && plainPort(svc.port)
        ? {
            proto: protoMatch,
            clusterIP: [hostMatch('dst', svc.clusterIP), protoMatch] as const,
            clusterIPComment: commentMatch(`${name} cluster IP`),
            dport: dportMatch(svc.port),
            nameComment: largeClusterMode ? null : commentMatch(name),
          }
        : null;

    // Capture the clusterIP.
    if (hasInternalEndpoints) {
      const text = `-A ${KUBE_SERVICES} -m comment --comment "${name} cluster IP" ${toPort(svc.clusterIP)} -j ${internalTrafficChain}`;
      natRules.push(
        data
          ? rule([...data.clusterIP, data.clusterIPComment, data.dport], jumpTo(internalTrafficChain), text)
          : text,
        KUBE_SERVICES,
      );
    } else
      filterRules.push(
        `-A ${KUBE_SERVICES} -m comment --comment ${internalTrafficFilterComment} ${toPort(svc.clusterIP)} -j ${internalTrafficFilterTarget}`,
      );

    // Capture externalIPs.
    for (const externalIP of svc.externalIPs) {
      if (hasEndpoints)
        natRules.push(
          `-A ${KUBE_SERVICES} -m comment --comment "${name} external IP" ${toPort(externalIP)} -j ${externalTrafficChain}`,
        );
      if (!hasExternalEndpoints)
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalTrafficFilterComment} ${toPort(externalIP)} -j ${externalTrafficFilterTarget}`,
        );
    }

    // Capture load-balancer ingress.
    for (const lbip of svc.loadBalancerVIPs) {
      if (hasEndpoints)
        natRules.push(
          `-A ${KUBE_SERVICES} -m comment --comment "${name} loadbalancer IP" ${toPort(lbip)} -j ${loadBalancerTrafficChain}`,
        );
      if (usesFWChain)
        filterRules.push(
          `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${name} traffic not accepted by ${fwChain}" ${toPort(lbip)} -j DROP`,
        );
    }
    if (!hasExternalEndpoints)
      for (const lbip of svc.loadBalancerVIPs)
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalTrafficFilterComment} ${toPort(lbip)} -j ${externalTrafficFilterTarget}`,
        );

    // Capture nodeports. (loadBalancerSourceRanges do not apply to them.)
    if (svc.nodePort !== 0) {
      if (hasEndpoints) {
        if (localhostNodePorts && nfacctLocalhost)
          natRules.push(
            `-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${matchPort} -d 127.0.0.0/8 --dport ${svc.nodePort} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NODEPORT_ACCEPTED} -j ${externalTrafficChain}`,
          );
        natRules.push(
          `-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${matchPort} --dport ${svc.nodePort} -j ${externalTrafficChain}`,
        );
      }
      if (!hasExternalEndpoints)
        filterRules.push(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${externalTrafficFilterComment} -m addrtype --dst-type LOCAL ${matchPort} --dport ${svc.nodePort} -j ${externalTrafficFilterTarget}`,
        );
    }

    // Capture healthCheckNodePorts, whether or not this node has local endpoints.
    if (svc.healthCheckNodePort !== 0)
      filterRules.push(
        `-A ${KUBE_NODEPORTS} -m comment --comment "${name} health check node port" -m tcp -p tcp --dport ${svc.healthCheckNodePort} -j ACCEPT`,
      );

    // A partial sync leaves out the per-service chains of unchanged services (they stay in the kernel).
    if (!doFullSync && !changed(svc.serviceKey)) {
      natChains = skipped.natChains;
      natRules = skipped.natRules;
    }

    // Internal traffic handling.
    if (hasInternalEndpoints) {
      const args = `-m comment --comment "${name} cluster IP" ${toPort(svc.clusterIP)}`;
      if (input.masqueradeAll) {
        const text = `-A ${internalTrafficChain} ${args} -j ${KUBE_MARK_MASQ}`;
        natRules.push(
          data ? rule([...data.clusterIP, data.clusterIPComment, data.dport], MARK_MASQ_JUMP, text) : text,
          internalTrafficChain,
        );
      } else if (detector !== null) {
        // Masquerade off-cluster traffic to a service VIP (a static route to the service range via any node).
        const text = `-A ${internalTrafficChain} ${args} ${detector.ifNotLocal} -j ${KUBE_MARK_MASQ}`;
        // The parser's order: -s, -d, -i, -p (ip_packet_match's fields), then the -m matches.
        const header: Match[] | null =
          data === null || detectorMatch === null
            ? null
            : detectorMatch.kind === 'src'
              ? [detectorMatch, ...data.clusterIP]
              : [data.clusterIP[0], detectorMatch, data.clusterIP[1]];
        natRules.push(
          data && header ? rule([...header, data.clusterIPComment, data.dport], MARK_MASQ_JUMP, text) : text,
          internalTrafficChain,
        );
      }
    }

    // External traffic handling: every external destination jumps to the EXT chain.
    if (usesExternalTrafficChain) {
      const ext = externalTrafficChain;
      natChains.push(ext);
      activate(ext);
      if (!svc.externalPolicyLocal)
        // Non-local endpoints: masquerade, in case the packet crosses nodes.
        natRules.push(
          `-A ${ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j ${KUBE_MARK_MASQ}`,
        );
      else {
        if (detector !== null)
          // Pods going to an external destination are subject to neither traffic policy.
          natRules.push(
            `-A ${ext} -m comment --comment "pod traffic for ${name} external destinations" ${detector.ifLocal} -j ${clusterPolicyChain}`,
          );
        // The node itself: its source would be the (local) LB IP, so masquerade, and use the cluster chain.
        natRules.push(
          `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`,
        );
        natRules.push(
          `-A ${ext} -m comment --comment "route LOCAL traffic for ${name} external destinations" -m addrtype --src-type LOCAL -j ${clusterPolicyChain}`,
        );
      }
      if (hasExternalEndpoints) natRules.push(`-A ${ext} -j ${externalPolicyChain}`);
    }

    // Firewall chain for loadBalancerSourceRanges.
    if (usesFWChain) {
      natChains.push(fwChain);
      activate(fwChain);
      const args = `-A ${fwChain} -m comment --comment "${name} loadbalancer IP"`;
      let allowFromNode = false;
      for (const cidr of svc.loadBalancerSourceRanges) {
        natRules.push(`${args} -s ${formatCidr(cidr)} -j ${externalTrafficChain}`);
        if (isIp(input.nodeIP) && cidrContains(cidr, input.nodeIP)) allowFromNode = true;
      }
      // A node's request to a VIP that is also a local address loops back with the VIP as source.
      if (allowFromNode)
        for (const lbip of svc.loadBalancerVIPs)
          natRules.push(`${args} -s ${lbip} -j ${externalTrafficChain}`);
      // Whatever reaches the end is not DNATed, and KUBE-PROXY-FIREWALL drops it.
      natRules.push(
        `-A ${fwChain} -m comment --comment "other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"`,
      );
    }

    // Each endpoint's chain name, hashed once for the service chains' jumps and the chain itself.
    sepNames.clear();
    const sepName = (ep: EndpointInfo): string => {
      let sep = sepNames.get(ep);
      if (sep === undefined) sepNames.set(ep, (sep = servicePortEndpointChainName(name, proto, ep.endpoint)));
      return sep;
    };
    const toEndpoints = { svc, sepName, comment, data: data && { comment: data.nameComment !== null } };
    if (usesClusterPolicyChain) {
      natChains.push(clusterPolicyChain);
      activate(clusterPolicyChain);
      writeServiceToEndpointRules(natRules, clusterPolicyChain, clusterEndpoints, toEndpoints);
    }
    if (usesLocalPolicyChain) {
      natChains.push(localPolicyChain);
      activate(localPolicyChain);
      writeServiceToEndpointRules(natRules, localPolicyChain, localEndpoints, toEndpoints);
    }

    // The per-endpoint chains. (As data, lines are joined flat and what the service's endpoints have alike
    // is shared: 200,000 lines at 10,000 Services × 10 endpoints.)
    const named = data?.nameComment ? [data.nameComment] : [];
    const dnatMatches = data ? [data.proto, ...named] : [];
    const nameComment = comment(name);
    for (const ep of allReachableEndpoints) {
      const sep = sepName(ep);
      natChains.push(sep);
      activate(sep);
      const epData = data !== null && PLAIN.test(ep.endpoint) && plainPort(ep.port);
      // Hairpin: traffic that loops back to the originator is masqueraded.
      natRules.push(
        epData
          ? rule(
              [hostMatch('src', ep.ip), ...named],
              MARK_MASQ_JUMP,
              ['-A ', sep, nameComment, ' -s ', ep.ip, ' -j ', KUBE_MARK_MASQ].join(''),
            )
          : `-A ${sep}${comment(name)} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`,
        sep,
      );
      // Session affinity remembers the client; then DNAT to the endpoint.
      const affinity = svc.clientIPAffinity ? ` -m recent --name ${sep} --set` : '';
      natRules.push(
        epData && !svc.clientIPAffinity
          ? rule(
              dnatMatches,
              { kind: 'DNAT', ip: ep.ip, port: ep.port },
              ['-A ', sep, nameComment, ' ', matchPort, ' -j DNAT --to-destination ', ep.endpoint].join(''),
            )
          : `-A ${sep}${comment(name)}${affinity} ${matchPort} -j DNAT --to-destination ${ep.endpoint}`,
        sep,
      );
    }
  }

  // Delete chains no longer in use: flush them with a chain line, then -X.
  const existingNatChains = new Set(previous?.natChains ?? []);
  const deleted: string[] = [];
  if (!largeClusterMode || options.staleChainCleanupDue !== false)
    for (const chain of existingNatChains) {
      if (active.has(chain) || !isServiceChainName(chain)) continue;
      b.natChains.push(chain);
      b.natRules.push(`-X ${chain}`);
      deleted.push(chain);
    }

  // Finally, the tail call to KUBE-NODEPORTS: after every other service portal rule.
  const lastRule = `-A ${KUBE_SERVICES} -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain"`;
  if (npa.matchAll) {
    // Localhost NodePorts only work with route_localnet, i.e. when enabled.
    const notLocalhost = localhostNodePorts ? '' : ' ! -d 127.0.0.0/8';
    b.natRules.push(`${lastRule} -m addrtype --dst-type LOCAL${notLocalhost} -j ${KUBE_NODEPORTS}`);
  } else {
    // GetNodeIPs: the node's addresses inside one of the CIDRs (loopback only for localhost NodePorts).
    const local = ['127.0.0.1', ...input.nodeIPs.filter(isIp)];
    for (const ip of new Set(local.filter((ip) => npa.cidrs.some((c) => cidrContains(c, ip))))) {
      if (ip.startsWith('127.') && !localhostNodePorts) continue;
      b.natRules.push(`${lastRule} -d ${ip} -j ${KUBE_NODEPORTS}`);
    }
  }

  // Drop INVALID packets, which would otherwise reset connections (unless tcp_be_liberal is set).
  if (!input.conntrackTCPLiberal) {
    const counter = nfacctInvalid ? ` -m nfacct --nfacct-name ${NFACCT_CT_STATE_INVALID_DROPPED}` : '';
    b.filterRules.push(`-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID${counter} -j DROP`);
  }
  // Forward what kube-proxy marked, even when the FORWARD policy is not ACCEPT, and its replies.
  b.filterRules.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark} -j ACCEPT`,
  );
  b.filterRules.push(
    `-A ${KUBE_FORWARD} -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );

  return {
    buffers: b,
    fullSync: doFullSync,
    largeClusterMode,
    nodeSpecific,
    deleted,
    // (Empty unless tracking.)
    services: serviceFp,
    endpoints: endpointFp,
  };
}

/** writeServiceToEndpointRules: session affinity checks first, then the probabilistic load balancing. */
function writeServiceToEndpointRules(
  natRules: LineSink,
  svcChain: string,
  endpoints: readonly EndpointInfo[],
  ctx: {
    readonly svc: ServicePortInfo;
    readonly sepName: (ep: EndpointInfo) => string;
    readonly comment: (text: string) => string;
    /** Set when the rules are also built as data; `comment`: they carry the per-endpoint comment. */
    readonly data: { readonly comment: boolean } | null;
  },
): void {
  const { svc, sepName, comment } = ctx;
  const name = svc.nameString;
  if (svc.clientIPAffinity)
    for (const ep of endpoints) {
      const sep = sepName(ep);
      natRules.push(
        `-A ${svcChain}${comment(`"${name} -> ${ep.endpoint}"`)} -m recent --name ${sep} --rcheck --seconds ${svc.stickyMaxAgeSeconds} --reap -j ${sep}`,
      );
    }
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    // Each rule but the last is a random match with probability 1/(endpoints left).
    const probability = i < n - 1 ? computeProbability(n - i) : null;
    const statistic = probability !== null ? statisticText(probability) : '';
    const sep = sepName(ep);
    if (ctx.data === null || !PLAIN.test(ep.endpoint)) {
      natRules.push(`-A ${svcChain}${comment(`"${name} -> ${ep.endpoint}"`)}${statistic} -j ${sep}`);
      return;
    }
    // The same line, its comment text shared with the match, joined flat (there are 100,000 of them).
    const matches: Match[] = [];
    let text: string;
    if (ctx.data.comment) {
      const said = `${name} -> ${ep.endpoint}`;
      matches.push(commentMatch(said));
      text = ['-A ', svcChain, ' -m comment --comment "', said, '"', statistic, ' -j ', sep].join('');
    } else text = ['-A ', svcChain, statistic, ' -j ', sep].join('');
    if (probability !== null) matches.push(statisticMatch(probability));
    natRules.push(rule(matches, jumpTo(sep), text), svcChain);
  });
}

/** The filter and nat rules kube-proxy writes on a node (a full sync), in the order its unit tests compare. */
export function kubeProxyIptablesSave(input: KubeProxyInput): string {
  return kubeProxySync(input).text;
}

// ---------------------------------------------------------------------------------------------------------
// sortIPTablesRules (proxier_test.go): the order kube-proxy's tests compare in, independent of the order
// Services are processed in. Tables by name; chains KUBE-NODEPORTS, KUBE-SERVICES, then other KUBE-* chains
// alphabetically, then the rest; each chain's rules together; KUBE-NODEPORTS and KUBE-SERVICES rules stably
// sorted by the service name in their comment (the nat KUBE-SERVICES "must be the last rule" rules last);
// `-X` lines after all rules.

/** A table of kubeProxyRules: the dump's, and its chains by name when no name is declared twice. */
export interface KubeProxyTable extends DumpTableOf<RestoreLine> {
  readonly byName: ReadonlyMap<string, DumpChainOf<RestoreLine>> | null;
  /** The chains with a line as text (the others' are all rules as data); null: not known. */
  readonly withText: ReadonlySet<DumpChainOf<RestoreLine>> | null;
}

/** A chain of a dump: its declaration's policy and counters, its rules' lines (R: string, or RestoreLine). */
export interface DumpChainOf<R> {
  readonly name: string;
  readonly counters: string;
  readonly rules: R[];
  deleted: boolean;
}
export interface DumpTableOf<R> {
  readonly name: string;
  readonly chains: DumpChainOf<R>[];
}
type DumpChain = DumpChainOf<string>;
type DumpTable = DumpTableOf<string>;

/** iptablestest.ParseIPTablesDump, enough for kube-proxy's restore input and iptables-save output. */
export function parseIPTablesDump(text: string): DumpTable[] {
  const tables: DumpTable[] = [];
  let table: DumpTable | null = null;
  // Chains by name, for the current table: a dump of 10,000 services has tens of thousands of chains.
  let byName = new Map<string, DumpChain>();
  let declaring = false;
  for (const raw of text.replace(/^\n+|\n+$/g, '').split('\n')) {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) continue;
    if (table === null) {
      const m = /^\*(.*)$/.exec(l);
      if (!m)
        throw new Error(`could not parse iptables data (table ${tables.length + 1} starts with "${l}")`);
      table = { name: m[1]!, chains: [] };
      byName = new Map();
      tables.push(table);
      declaring = true;
      continue;
    }
    if (declaring) {
      const m = /^:([^ ]*) (\S+) \[([0-9]*):([0-9]*)\]$/.exec(l);
      if (m) {
        const chain: DumpChain = {
          name: m[1]!,
          counters: `${m[2]} [${m[3]}:${m[4]}]`,
          rules: [],
          deleted: false,
        };
        table.chains.push(chain);
        if (!byName.has(chain.name)) byName.set(chain.name, chain);
        continue;
      }
      declaring = false;
    }
    const add = /^-A ([^ ]*) (.*)$/.exec(l);
    const del = /^-X (.*)$/.exec(l);
    if (add) {
      const chain = byName.get(add[1]!);
      if (!chain) throw new Error(`error parsing rule "${l}": no such chain "${add[1]}"`);
      if (chain.deleted) throw new Error(`cannot add rules to deleted chain "${add[1]}"`);
      chain.rules.push(l);
    } else if (del) {
      const chain = byName.get(del[1]!);
      if (!chain) throw new Error(`error parsing rule "${l}": no such chain "${del[1]}"`);
      if (chain.rules.length !== 0) throw new Error(`cannot delete chain "${del[1]}" after adding rules`);
      chain.deleted = true;
    } else if (l === 'COMMIT') table = null;
    else throw new Error(`error parsing rule "${l}"`);
  }
  if (table !== null) throw new Error('could not parse iptables data (no COMMIT line?)');
  return tables;
}

/** The words of a rule, a "quoted string" being one word (parse.go wordRegex), quotes removed. */
export function ruleWords(rule: string): string[] {
  return [...rule.matchAll(/(?:^|\s)("[^"]*"|[^"]\S*)/g)].map((m) => m[1]!.replace(/^"+|"+$/g, ''));
}

function ruleComment(rule: string): string | null {
  const words = ruleWords(rule);
  const i = words.indexOf('--comment');
  return i >= 0 && i + 1 < words.length ? words[i + 1]! : null;
}

function commentServiceName(comment: string): string {
  const i = comment.search(/[ :]/);
  return i === -1 ? comment : comment.slice(0, i);
}

/** Sorts with `less` as the sort comparator's only input, so the order is the one upstream's sort.SliceStable
 *  comparator gives (and the same for equal keys however they are computed). */
function stableSortBy<K>(keys: K[], less: (a: K, b: K) => boolean): void {
  keys.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
}

/** A rule with what the sort compares of it, worked out once (ruleComment splits the whole line into words). */
interface SortKey<R> {
  readonly rule: R;
  /** commentServiceName of the rule's comment; null without a comment. */
  readonly service: string | null;
  readonly last: boolean;
}

/** Upstream's orderByCommentServiceName, on precomputed keys. */
const byService = <R>(a: SortKey<R>, b: SortKey<R>): boolean =>
  a.service !== null && b.service !== null && a.service < b.service;

/** sortIPTablesRules's ordering, in place, on a dump whose rules are R. */
function sortDumpBy<R, T extends DumpTableOf<R>>(
  tables: T[],
  /** ruleComment of the rule's line. */
  commentOf: (rule: R) => string | null,
  byName: (table: T) => ReadonlyMap<string, DumpChainOf<R>> | null = () => null,
): T[] {
  tables.sort((a, b) => cmpStr(a.name, b.name));
  const rank = (name: string): number =>
    name === KUBE_NODEPORTS ? 0 : name === KUBE_SERVICES ? 1 : name.startsWith('KUBE-') ? 2 : 3;
  const keyed = (c: DumpChainOf<R>): SortKey<R>[] =>
    c.rules.map((rule) => {
      const comment = commentOf(rule);
      return {
        rule,
        service: comment === null ? null : commentServiceName(comment),
        last: comment?.includes('must be the last rule') === true,
      };
    });
  const put = (c: DumpChainOf<R>, keys: readonly SortKey<R>[]): void => {
    keys.forEach((k, i) => (c.rules[i] = k.rule));
  };
  for (const t of tables) {
    sortChains(t.chains, rank, byName(t));
    for (const c of t.chains) {
      if (c.name === KUBE_NODEPORTS || (c.name === KUBE_SERVICES && t.name === 'filter')) {
        const keys = keyed(c);
        stableSortBy(keys, byService);
        put(c, keys);
      } else if (c.name === KUBE_SERVICES && t.name === 'nat') {
        const keys = keyed(c);
        stableSortBy(keys, (a, b) => (a.last ? false : b.last ? true : byService(a, b)));
        put(c, keys);
      }
    }
  }
  return tables;
}

/**
 * Sorts chains by rank, then name (cmpStr: UTF-16 code units), stably — as
 * `sort((a, b) => rank(a.name) - rank(b.name) || cmpStr(a.name, b.name))` does, but with the names compared by
 * the built-in sort (the same order; a 10,000-Service dump has ~110,000 chains). Chains of the same name keep
 * their order.
 */
function sortChains<C extends { readonly name: string }>(
  chains: C[],
  rank: (name: string) => number,
  /** The chains by name, if the caller has them (and no name is declared twice). */
  named: ReadonlyMap<string, C> | null = null,
): void {
  const byRank = new Map<number, string[]>();
  const byName = named ?? new Map<string, C>();
  for (const c of chains) {
    if (named === null) {
      if (byName.has(c.name)) {
        // A name declared twice (a partial sync's restore input can): the comparator sort keeps them in order.
        chains.sort((a, b) => rank(a.name) - rank(b.name) || cmpStr(a.name, b.name));
        return;
      }
      (byName as Map<string, C>).set(c.name, c);
    }
    const r = rank(c.name);
    const names = byRank.get(r);
    if (names) names.push(c.name);
    else byRank.set(r, [c.name]);
  }
  let i = 0;
  for (const r of [...byRank.keys()].sort((a, b) => a - b))
    for (const name of byRank.get(r)!.sort()) chains[i++] = byName.get(name)!;
}

/** ruleComment of a restore line. */
function commentOfLine(line: RestoreLine): string | null {
  if (typeof line === 'string') return ruleComment(line);
  for (const m of line.matches) if (m.kind === 'comment') return m.text;
  return null;
}

/** sortIPTablesRules on a dump of restore lines (kubeProxyRules). */
function sortDump(tables: KubeProxyTable[]): KubeProxyTable[] {
  // A rule as data carries its comment as a match: the word ruleComment finds in its line (kube-proxy's
  // names in it are plain words, see PLAIN).
  return sortDumpBy<RestoreLine, KubeProxyTable>(tables, commentOfLine, (t) => t.byName);
}

export function sortIPTablesRules(text: string): string {
  const tables = sortDumpBy(parseIPTablesDump(text), ruleComment);
  let out = '';
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) out += `:${c.name} ${c.counters}\n`;
    for (const c of t.chains) for (const r of c.rules) out += `${r}\n`;
    for (const c of t.chains) if (c.deleted) out += `-X ${c.name}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The jumps from the built-in chains. kube-proxy adds them on a full sync with `iptables -I` (EnsureRule
// Prepend, in iptablesJumpChains order), so in each built-in chain they end up in reverse order; kubelet
// adds its KUBE-FIREWALL jumps first, when the node starts, so kube-proxy's come before them.

export interface BuiltinJump {
  readonly table: 'filter' | 'nat';
  readonly chain: 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
  /** The rule as iptables-save prints it. */
  readonly rule: string;
  readonly by: 'kube-proxy' | 'kubelet';
}

const JUMP_CHAINS: readonly {
  table: 'filter' | 'nat';
  dst: string;
  src: BuiltinJump['chain'];
  comment: string;
  /** Matches before the comment (iptablesJumpChain.extraArgs), with a trailing space. */
  extra: string;
}[] = [
  {
    table: 'filter',
    dst: KUBE_EXTERNAL_SERVICES,
    src: 'INPUT',
    comment: 'kubernetes externally-visible service portals',
    extra: '-m conntrack --ctstate NEW ',
  },
  {
    table: 'filter',
    dst: KUBE_EXTERNAL_SERVICES,
    src: 'FORWARD',
    comment: 'kubernetes externally-visible service portals',
    extra: '-m conntrack --ctstate NEW ',
  },
  {
    table: 'filter',
    dst: KUBE_NODEPORTS,
    src: 'INPUT',
    comment: 'kubernetes health check service ports',
    extra: '',
  },
  {
    table: 'filter',
    dst: KUBE_SERVICES,
    src: 'FORWARD',
    comment: 'kubernetes service portals',
    extra: '-m conntrack --ctstate NEW ',
  },
  {
    table: 'filter',
    dst: KUBE_SERVICES,
    src: 'OUTPUT',
    comment: 'kubernetes service portals',
    extra: '-m conntrack --ctstate NEW ',
  },
  { table: 'filter', dst: KUBE_FORWARD, src: 'FORWARD', comment: 'kubernetes forwarding rules', extra: '' },
  {
    table: 'filter',
    dst: KUBE_PROXY_FIREWALL,
    src: 'INPUT',
    comment: 'kubernetes load balancer firewall',
    extra: '-m conntrack --ctstate NEW ',
  },
  {
    table: 'filter',
    dst: KUBE_PROXY_FIREWALL,
    src: 'OUTPUT',
    comment: 'kubernetes load balancer firewall',
    extra: '-m conntrack --ctstate NEW ',
  },
  {
    table: 'filter',
    dst: KUBE_PROXY_FIREWALL,
    src: 'FORWARD',
    comment: 'kubernetes load balancer firewall',
    extra: '-m conntrack --ctstate NEW ',
  },
  { table: 'nat', dst: KUBE_SERVICES, src: 'OUTPUT', comment: 'kubernetes service portals', extra: '' },
  { table: 'nat', dst: KUBE_SERVICES, src: 'PREROUTING', comment: 'kubernetes service portals', extra: '' },
  {
    table: 'nat',
    dst: KUBE_POSTROUTING,
    src: 'POSTROUTING',
    comment: 'kubernetes postrouting rules',
    extra: '',
  },
];

/** The rules in the built-in chains, in the order they end up in each chain. */
export function kubeProxyBuiltinJumps(): BuiltinJump[] {
  const out: BuiltinJump[] = [];
  const chains = [...new Set(JUMP_CHAINS.map((j) => `${j.table} ${j.src}`))];
  for (const key of chains) {
    const [table, src] = key.split(' ') as ['filter' | 'nat', BuiltinJump['chain']];
    const own = JUMP_CHAINS.filter((j) => j.table === table && j.src === src).reverse();
    for (const j of own)
      out.push({
        table,
        chain: src,
        rule: `-A ${src} ${j.extra}-m comment --comment "${j.comment}" -j ${j.dst}`,
        by: 'kube-proxy',
      });
    if (table === 'filter' && (src === 'INPUT' || src === 'OUTPUT'))
      out.push({ table, chain: src, rule: `-A ${src} -j ${KUBE_FIREWALL}`, by: 'kubelet' });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// From the validated scenario.

/** kube-proxy's input for one node of a scenario, with kube-proxy's defaults for what the scenario does not
 *  say: masquerade bit 14, --random-fully available, localhost NodePorts on, every local address for
 *  NodePorts, nfacct counters available, tcp_be_liberal off. */
export function kubeProxyInputFromModel(model: ClusterModel, nodeName: string): KubeProxyInput {
  const node = model.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node "${nodeName}"`);
  const hasPods = model.pods.some((p) => p.nodeName === nodeName && !p.hostNetwork);
  return kubeProxyNodeInput(model, node, hasPods, kubeProxyClusterInput(model));
}

/** What kube-proxy's input is on every node of a cluster alike: all but the node's name and addresses. */
export type KubeProxyClusterInput = Omit<KubeProxyInput, 'nodeName' | 'nodeIP' | 'nodeIPs'>;

/** kubeProxyInputFromModel for a node, from the cluster's part (worked out once per cluster by the caller)
 *  and whether the node has pods (then cni0 has an address). */
export function kubeProxyNodeInput(
  model: ClusterModel,
  node: ClusterModel['nodes'][number],
  hasPods: boolean,
  cluster: KubeProxyClusterInput,
): KubeProxyInput {
  const nodeIPs = [node.internalIP];
  if (model.cni === 'flannel-vxlan') nodeIPs.push(node.podCIDR.ip); // flannel.1's /32
  if (hasPods || model.cni === 'weave') nodeIPs.push(nthAddress(node.podCIDR, 1)); // cni0 (weave's bridge: always)
  return { nodeName: node.name, nodeIP: node.internalIP, nodeIPs, ...cluster };
}

/** The cluster's part of kubeProxyInputFromModel. */
export function kubeProxyClusterInput(model: ClusterModel): KubeProxyClusterInput {
  return {
    clusterCIDR: formatCidr(model.clusterCIDR),
    masqueradeAll: model.extra.kubeProxy?.masqueradeAll ?? false,
    masqueradeMark: masqueradeMarkForBit(14),
    hasRandomFully: true,
    localhostNodePorts: true,
    nodePortAddresses: null,
    conntrackTCPLiberal: false,
    nfacctCounters: { ct_state_invalid_dropped_pkts: true, localhost_nps_accepted_pkts: true },
    services: model.services.map((s) => ({
      namespace: s.namespace,
      name: s.name,
      type: s.type,
      clusterIP: s.clusterIP,
      ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol, nodePort: p.nodePort })),
      externalIPs: s.externalIPs,
      loadBalancerIngress: s.loadBalancerIPs.map((ip) => ({ ip })),
      loadBalancerSourceRanges: s.loadBalancerSourceRanges.map(formatCidr),
      externalTrafficPolicy: s.externalTrafficPolicy,
      internalTrafficPolicy: s.internalTrafficPolicy,
      // The scenario format has no spec.healthCheckNodePort (the API server allocates it).
      healthCheckNodePort: null,
      sessionAffinity: s.sessionAffinity,
      sessionAffinityTimeoutSeconds: null,
    })),
    endpointSlices: model.endpointSlices.map((es) => ({
      namespace: es.namespace,
      name: es.name,
      serviceName: es.serviceName,
      addressType: 'IPv4' as const,
      // The EndpointSlice controller writes "" for an unnamed port.
      ports: es.ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol })),
      endpoints: es.endpoints.map((e) => ({
        addresses: e.addresses,
        nodeName: e.nodeName,
        conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
      })),
    })),
  };
}

/** The proxier's service-port and endpoint maps, shared by the iptables and ipvs proxiers (both build them
 *  the same way upstream). Services are visited in namespace/name order (upstream: Go map order). */
export function proxierMaps(
  input: KubeProxyInput,
  seen: { duplicates: boolean } = { duplicates: false },
): {
  readonly svcPorts: ServicePortInfo[];
  readonly epMap: ReturnType<typeof endpointsMap>;
  readonly endpointsOf: (p: ServicePortInfo) => EndpointInfo[];
} {
  const services = [...input.services].sort(
    (a, b) => cmpStr(a.namespace, b.namespace) || cmpStr(a.name, b.name),
  );
  const svcPorts = services.flatMap(servicePorts);
  const epMap = endpointsMapOf(input, seen);
  const endpointsOf = (p: ServicePortInfo): EndpointInfo[] =>
    epMap.get(spnKey(p.serviceKey, p.portName, p.protocol)) ?? [];
  return { svcPorts, epMap, endpointsOf };
}
