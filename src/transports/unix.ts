// Engine on a local unix socket (the default /var/run/docker.sock, or a lab node's).
import { createEnginePool, poolTransport } from './pool.ts';
import type { Transport } from './types.ts';

/** The origin only fills the Host header; the socket path decides where bytes go. */
const UNIX_ORIGIN = 'http://localhost';

export function createUnixTransport(socketPath: string, label: string): Transport {
  const endpoint = `unix://${socketPath}`;
  const pool = createEnginePool(UNIX_ORIGIN, { socketPath });
  return poolTransport(label, endpoint, UNIX_ORIGIN, pool);
}
