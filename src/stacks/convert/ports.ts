// `ports:` → EndpointSpec. Short syntax is expanded as the CLI's loader does
// (go-connections/nat ParsePortSpecs, then swarmopts ConvertPortToPortConfig):
// ranges become one entry per port, always tcp/udp/sctp and ingress mode; a host
// IP is dropped with a warning (Swarm publishes on every address). Long syntax is
// taken field for field, leaving protocol and mode to the engine's defaults.
import type { PortConfig } from './engine-types.ts';
import { fail, isDict, optionalCount, optionalString } from './values.ts';

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

function portRange(text: string, path: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const start = m ? Number(m[1]) : NaN;
  const end = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || start > 65535 || end > 65535 || end < start) return fail(path, `invalid ${what}: ${text}`);
  return [start, end];
}

/** nat's splitParts: the last part is the container port, the one before the host port, the rest the IP. */
function splitParts(raw: string): { ip: string; host: string; container: string } {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', host: '', container: parts[0]! };
  if (n === 2) return { ip: '', host: parts[0]!, container: parts[1]! };
  return { ip: parts.slice(0, n - 2).join(':'), host: parts[n - 2]!, container: parts[n - 1]! };
}

export function parseShortPort(raw: string, path: string, warnings: string[]): PortConfig[] {
  const { ip, host, container: withProto } = splitParts(raw);
  const slash = withProto.indexOf('/');
  const containerText = slash < 0 ? withProto : withProto.slice(0, slash);
  const proto = (slash < 0 || withProto.slice(slash + 1) === '' ? 'tcp' : withProto.slice(slash + 1).split('/')[0]!).toLowerCase();
  if (containerText === '') fail(path, `no port specified: ${raw}<empty>`);
  if (!PROTOCOLS.has(proto)) fail(path, `invalid proto: ${proto}`);
  const [start, end] = portRange(containerText, path, 'containerPort');
  const [hostStart, hostEnd] = host === '' ? [0, 0] : portRange(host, path, 'hostPort');
  if (host !== '' && end - start !== hostEnd - hostStart && end !== start) {
    fail(path, `invalid ranges specified for container and host Ports: ${containerText} and ${host}`);
  }
  const unspecified = ip === '' || ip === '0.0.0.0' || ip === '::' || ip === '[::]';
  if (!unspecified) warnings.push(`${path}: ignoring IP-address ${ip}, the service will listen on every address`);
  const out: PortConfig[] = [];
  for (let i = 0; i <= end - start; i++) {
    // A single container port with a host range publishes every port of the range (the CLI's reading).
    const published: number[] = host === '' ? [0] : start === end ? range(hostStart, hostEnd) : [hostStart + i];
    for (const p of published) out.push({ Protocol: proto, TargetPort: start + i, PublishedPort: p, PublishMode: 'ingress' });
  }
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k);
}

function longPort(entry: Record<string, unknown>, path: string, warnings: string[]): PortConfig {
  const target = optionalCount(entry.target, `${path}.target`);
  if (target === undefined) return fail(`${path}.target`, 'is required');
  const published = entry.published === undefined || entry.published === null ? undefined : optionalCount(entry.published, `${path}.published`);
  const hostIp = optionalString(entry.host_ip, `${path}.host_ip`);
  if (hostIp) warnings.push(`${path}.host_ip: ignored, the service will listen on every address`);
  const port: PortConfig = { TargetPort: target };
  const protocol = optionalString(entry.protocol, `${path}.protocol`);
  const mode = optionalString(entry.mode, `${path}.mode`);
  if (protocol) port.Protocol = protocol;
  if (published !== undefined) port.PublishedPort = published;
  if (mode) port.PublishMode = mode;
  return port;
}

/** All of a service's ports, sorted by published port as the CLI sends them (a stable sort). */
export function convertPorts(value: unknown, path: string, warnings: string[]): PortConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return fail(path, 'must be a list');
  const ports = value.flatMap((entry, i): PortConfig[] => {
    const at = `${path}[${i}]`;
    if (typeof entry === 'number') return parseShortPort(String(entry), at, warnings);
    if (typeof entry === 'string') return parseShortPort(entry, at, warnings);
    if (isDict(entry)) return [longPort(entry, at, warnings)];
    return fail(at, 'must be a port string, number or mapping');
  });
  return ports.sort((a, b) => (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0));
}
