// The string formats the Compose schema names, checked as docker/cli checks them:
// durations as Go's time.ParseDuration reads them, ports as nat.ParsePortSpec.
import { isIP } from 'node:net';

const DURATION = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;

/** `10s`, `1m30s`, `1.5h`, `0` — a Go duration (a unit is required except for 0). */
export function isDuration(value: string): boolean {
  return DURATION.test(value);
}

function portRange(text: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (m === null) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  return start <= 65535 && end <= 65535 && start <= end ? [start, end] : undefined;
}

/** Splits `[ip:][host:]container[/proto]` the way nat.ParsePortSpec does (the last two colons separate the parts). */
function splitPortSpec(spec: string): { ip: string; host: string; container: string } {
  const parts = spec.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', host: '', container: parts[0] };
  if (n === 2) return { ip: '', host: parts[0], container: parts[1] };
  return { ip: parts.slice(0, n - 2).join(':'), host: parts[n - 2], container: parts[n - 1] };
}

/** A short-syntax port (`80`, `8080:80`, `127.0.0.1:8080:80/udp`, `[::1]:9000-9001:9000-9001`) or an `expose` entry. */
export function isPortSpec(spec: string): boolean {
  const { ip: rawIp, host, container: withProto } = splitPortSpec(spec);
  const [container = '', proto = 'tcp'] = withProto.split('/');
  const ip = rawIp.startsWith('[') && rawIp.endsWith(']') ? rawIp.slice(1, -1) : rawIp;
  if (ip !== '' && isIP(ip) === 0) return false;
  if (!['tcp', 'udp', 'sctp'].includes((proto === '' ? 'tcp' : proto).toLowerCase())) return false;
  const target = portRange(container);
  if (target === undefined) return false;
  if (host === '') return true;
  const published = portRange(host);
  if (published === undefined) return false;
  // A host range may map to a single container port, never to a container range of another size.
  return target[0] === target[1] || target[1] - target[0] === published[1] - published[0];
}

/** `10.0.0.0/24`, `fd00::/64`: what net.ParseCIDR accepts. */
export function isSubnet(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  if (prefix === undefined || rest.length > 0 || !/^\d+$/.test(prefix)) return false;
  const family = isIP(address);
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}
