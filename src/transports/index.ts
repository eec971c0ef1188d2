// Parses and validates an endpoint URL and picks the transport for it.
// Accepted: unix:///path, tcp://host[:port] (plain, or TLS when tls is given),
// https://host[:port] and http://host[:port].
import { BadRequest } from '../errors.ts';
import { createTcpTransport } from './tcp.ts';
import { createTlsTransport } from './tls.ts';
import type { TlsMaterial, Transport, TransportSpec } from './types.ts';
import { createUnixTransport } from './unix.ts';

export type { TlsMaterial, Transport, TransportSpec } from './types.ts';
export { createDuplexTransport } from './duplex.ts';
export type { DuplexTransportOptions } from './duplex.ts';

/** Docker's conventional ports: 2375 plain, 2376 TLS. */
const DEFAULT_PLAIN_PORT = 2375;
const DEFAULT_TLS_PORT = 2376;

export type ParsedEndpoint =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'tls'; host: string; port: number };

function badEndpoint(url: string, why: string): BadRequest {
  return new BadRequest(`endpoint "${url}": ${why}`, 'endpoint');
}

export function parseEndpoint(url: string, tlsGiven = false): ParsedEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badEndpoint(url, 'not a URL (use unix:///path, tcp://host:port or https://host:port)');
  }
  if (parsed.username !== '' || parsed.password !== '') throw badEndpoint(url, 'must not contain credentials');
  if (parsed.search !== '' || parsed.hash !== '') throw badEndpoint(url, 'must not have a query or fragment');
  if (parsed.protocol === 'unix:') return parseUnix(url, parsed);
  if (!['tcp:', 'http:', 'https:'].includes(parsed.protocol)) {
    throw badEndpoint(url, `unsupported scheme "${parsed.protocol}" (use unix://, tcp:// or https://)`);
  }
  if (parsed.hostname === '') throw badEndpoint(url, 'has no host');
  if (parsed.pathname !== '' && parsed.pathname !== '/') throw badEndpoint(url, 'must not have a path');
  const secure = parsed.protocol === 'https:' || (parsed.protocol === 'tcp:' && tlsGiven);
  if (parsed.protocol === 'http:' && tlsGiven) throw badEndpoint(url, 'is http:// but TLS material was given');
  const port = parsed.port === '' ? (secure ? DEFAULT_TLS_PORT : DEFAULT_PLAIN_PORT) : Number(parsed.port);
  // URL keeps IPv6 in brackets in .hostname, which is what an origin needs.
  return { kind: secure ? 'tls' : 'tcp', host: parsed.hostname, port };
}

function parseUnix(url: string, parsed: URL): ParsedEndpoint {
  if (parsed.host !== '') throw badEndpoint(url, 'unix endpoints take no host (unix:///path/to/docker.sock)');
  const path = decodeURIComponent(parsed.pathname);
  if (path === '' || path === '/' || !path.startsWith('/')) throw badEndpoint(url, 'needs an absolute socket path');
  return { kind: 'unix', path };
}

function checkTls(tls: TlsMaterial): void {
  for (const field of ['ca', 'cert', 'key'] as const) {
    const pem = tls[field];
    if (pem !== undefined && !pem.includes('-----BEGIN ')) {
      throw new BadRequest(`tls.${field} is not PEM text`, `tls.${field}`);
    }
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new BadRequest('tls.cert and tls.key must be given together', tls.cert === undefined ? 'tls.cert' : 'tls.key');
  }
}

export function createTransport(spec: TransportSpec): Transport {
  const target = parseEndpoint(spec.url, spec.tls !== undefined);
  const label = spec.label ?? spec.url;
  if (spec.tls !== undefined) checkTls(spec.tls);
  switch (target.kind) {
    case 'unix':
      if (spec.tls !== undefined) throw new BadRequest(`endpoint "${spec.url}": TLS over a unix socket is not supported`, 'tls');
      return createUnixTransport(target.path, label);
    case 'tcp':
      return createTcpTransport(target.host, target.port, label);
    case 'tls':
      return createTlsTransport(target.host, target.port, spec.tls ?? {}, label);
  }
}
