// Engine on plain TCP (dockerd -H tcp://0.0.0.0:2375 --tls=false): lab and trusted networks only.
import { createEnginePool, poolTransport } from './pool.ts';
import type { Transport } from './types.ts';

/** `host` is as it appears in a URL (IPv6 in brackets). */
export function createTcpTransport(host: string, port: number, label: string): Transport {
  const origin = `http://${host}:${port}`;
  const pool = createEnginePool(origin, { keepAlive: true });
  return poolTransport(label, `tcp://${host}:${port}`, origin, pool);
}
