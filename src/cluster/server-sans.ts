// Which names the server's TLS certificate must carry (SPEC S1): the loopback names,
// every private address of this host, and whatever FLOTILLA_CLUSTER_ADVERTISE adds
// (a Tailscale IP, a DNS name, a public IP) so agents can verify the address they dial.
import net from 'node:net';
import os from 'node:os';
import { ConfigError } from '../config.ts';

export interface ServerSans {
  dns: string[];
  ips: string[];
}

export const ADVERTISE_VARIABLE = 'FLOTILLA_CLUSTER_ADVERTISE';

const ALWAYS_DNS = ['localhost'];
const ALWAYS_IPS = ['127.0.0.1', '::1'];

// Addresses agents on the same networks can reach. Link-local (169.254/16, fe80::/10)
// is left out on purpose: it is per-link, so a certificate naming it proves nothing.
const PRIVATE_RANGES = new net.BlockList();
PRIVATE_RANGES.addSubnet('10.0.0.0', 8, 'ipv4');
PRIVATE_RANGES.addSubnet('172.16.0.0', 12, 'ipv4');
PRIVATE_RANGES.addSubnet('192.168.0.0', 16, 'ipv4');
PRIVATE_RANGES.addSubnet('100.64.0.0', 10, 'ipv4'); // carrier-grade NAT, used by Tailscale
PRIVATE_RANGES.addSubnet('fc00::', 7, 'ipv6'); // unique local addresses

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/**
 * The canonical text of an IP address (IPv6 compressed, lowercase), so that the same
 * address written two ways compares equal; undefined when `text` is not an IP.
 */
export function normalizeIp(text: string): string | undefined {
  if (net.isIPv4(text)) return text;
  // Zone ids (fe80::1%eth0) are local to this host and cannot appear in a certificate.
  if (!net.isIPv6(text) || text.includes('%')) return undefined;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

export function isPrivateAddress(ip: string): boolean {
  const family = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : undefined;
  return family !== undefined && PRIVATE_RANGES.check(ip, family);
}

/** The private addresses of the host's interfaces. */
export function privateInterfaceAddresses(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const found: string[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      const ip = normalizeIp(info.address);
      if (ip !== undefined && isPrivateAddress(ip)) found.push(ip);
    }
  }
  return found;
}

function badEntry(entry: string, why: string): ConfigError {
  return new ConfigError(`${ADVERTISE_VARIABLE}: entry ${JSON.stringify(entry)} ${why}`);
}

/** One advertise entry as an IP or a DNS name; a bad entry stops start-up naming it. */
function parseAdvertiseEntry(entry: string): { ip: string } | { dns: string } {
  const unbracketed = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
  const ip = normalizeIp(unbracketed);
  if (ip !== undefined) return { ip };
  if (unbracketed.includes('%')) throw badEntry(entry, 'has an IPv6 zone id, which a certificate cannot carry');
  const name = entry.toLowerCase().replace(/\.$/, ''); // a trailing dot (FQDN form) names the same host
  if (/:\d+$/.test(name)) throw badEntry(entry, 'has a port; list addresses or names only (the port is configured separately)');
  if (name.length > 253 || !DNS_NAME.test(name)) throw badEntry(entry, 'is neither an IP address nor a valid DNS name');
  if (/^[0-9.]+$/.test(name)) throw badEntry(entry, 'looks like an IP address but is not a valid one');
  return { dns: name };
}

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/**
 * The SANs the server certificate must carry. `advertise` is the raw value of
 * FLOTILLA_CLUSTER_ADVERTISE (comma-separated); `interfaces` is injectable for tests.
 */
export function serverSans(
  advertise: string | undefined,
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): ServerSans {
  const dns = [...ALWAYS_DNS];
  const ips = [...ALWAYS_IPS, ...privateInterfaceAddresses(interfaces)];
  for (const raw of (advertise ?? '').split(',')) {
    const entry = raw.trim();
    if (entry === '') continue; // tolerate "a, b," and an empty variable
    const parsed = parseAdvertiseEntry(entry);
    if ('ip' in parsed) ips.push(parsed.ip);
    else dns.push(parsed.dns);
  }
  return { dns: sorted(dns), ips: sorted(ips) };
}
