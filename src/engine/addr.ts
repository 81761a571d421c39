// Addresses: IPv4, CIDR prefixes and MAC addresses as small immutable values.
// Parsing and validation go through ipaddr.js; hot paths (longest-prefix match, containment) use the
// 32-bit integer form. IPv6 is not modelled yet: every address in a scenario must be IPv4.
import ipaddr from 'ipaddr.js';

/** A canonical dotted-quad IPv4 address, e.g. "10.244.1.2". */
export type Ip = string;
/** A lowercase colon-separated MAC address, e.g. "0a:58:0a:f4:01:02". */
export type Mac = string;

/** An IPv4 prefix. `ip` is the network address (host bits zero). */
export interface Cidr {
  readonly ip: Ip;
  readonly prefix: number;
}

/** An address configured on an interface: the host address with its prefix length (`ip addr add 10.244.1.1/24`). */
export interface IfAddr {
  readonly ip: Ip;
  readonly prefix: number;
}

export class AddrError extends Error {}

/** Parses a dotted-quad IPv4 address strictly (no octal, no shorthand). Throws AddrError. */
export function parseIp(text: string): Ip {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) throw new AddrError(`"${text}" is not an IPv4 address`);
  return ipaddr.IPv4.parse(text).toString();
}

export function isIp(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

export function ipToInt(ip: Ip): number {
  // Validated strings only reach here, so a split is enough and far cheaper than a full parse.
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export function intToIp(n: number): Ip {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/len". With `strict`, host bits must be zero (as Kubernetes requires of podCIDR). */
export function parseCidr(text: string, strict = false): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new AddrError(`"${text}" is not a CIDR (expected a.b.c.d/len)`);
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText) || Number(lenText) > 32)
    throw new AddrError(`"${text}" has an invalid prefix length`);
  const prefix = Number(lenText);
  const net = (ipToInt(ip) & maskOf(prefix)) >>> 0;
  if (strict && net !== ipToInt(ip))
    throw new AddrError(`"${text}" has host bits set (network is ${intToIp(net)}/${prefix})`);
  return { ip: intToIp(net), prefix };
}

/** Parses "a.b.c.d/len" keeping the host part, as `ip addr add` takes it. */
export function parseIfAddr(text: string): IfAddr {
  const c = parseCidr(text);
  return { ip: parseIp(text.slice(0, text.indexOf('/'))), prefix: c.prefix };
}

export function formatCidr(c: Cidr | IfAddr): string {
  return `${c.ip}/${c.prefix}`;
}

export function cidrOf(a: IfAddr): Cidr {
  return { ip: intToIp((ipToInt(a.ip) & maskOf(a.prefix)) >>> 0), prefix: a.prefix };
}

export function cidrContains(c: Cidr, ip: Ip): boolean {
  return (ipToInt(ip) & maskOf(c.prefix)) >>> 0 === ipToInt(c.ip);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((ipToInt(a.ip) ^ ipToInt(b.ip)) & maskOf(p)) >>> 0 === 0;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The n-th address of a prefix (0 = the network address). */
export function nthAddress(c: Cidr, n: number): Ip {
  if (n < 0 || n >= cidrSize(c)) throw new AddrError(`address #${n} is outside ${formatCidr(c)}`);
  return intToIp((ipToInt(c.ip) + n) >>> 0);
}

export function broadcastOf(c: Cidr): Ip {
  return intToIp((ipToInt(c.ip) | ~maskOf(c.prefix)) >>> 0);
}

/** Splits `parent` into consecutive subnets of length `prefix` and returns the index-th one. */
export function nthSubnet(parent: Cidr, prefix: number, index: number): Cidr {
  if (prefix < parent.prefix) throw new AddrError(`/${prefix} is larger than ${formatCidr(parent)}`);
  const count = 2 ** (prefix - parent.prefix);
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new AddrError(`${formatCidr(parent)} has only ${count} /${prefix} subnets`);
  return { ip: intToIp((ipToInt(parent.ip) + index * 2 ** (32 - prefix)) >>> 0), prefix };
}

export function isMac(text: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text);
}

export function parseMac(text: string): Mac {
  if (!isMac(text)) throw new AddrError(`"${text}" is not a MAC address`);
  return text.toLowerCase();
}

export const BROADCAST_MAC: Mac = 'ff:ff:ff:ff:ff:ff';

/**
 * A deterministic, locally administered unicast MAC derived from a name (FNV-1a), so the same scenario
 * always gets the same MACs and a kernel lab built from it can set them (`ip link set DEV address ...`).
 * The first octet is 0x02 | ... with the multicast bit clear, as the kernel's eth_random_addr() does.
 */
export function macFromName(name: string): Mac {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  const b = [(h1 >>> 24) & 0xfe, h1 >>> 16, h1 >>> 8, h1, h2 >>> 8, h2].map((x) => x & 255);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A short stable hex hash of a string (FNV-1a 32), used for device names such as veth1a2b3c4d. */
export function hashHex(text: string, length = 8): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0').slice(0, length);
}
