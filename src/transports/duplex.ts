// A transport whose connections are any Duplex stream we open ourselves: the shape
// the agent tunnel takes (one gRPC Tunnel stream per connection). See README.md.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createEnginePool, poolTransport } from './pool.ts';
import type { Transport } from './types.ts';

export interface DuplexTransportOptions {
  label: string;
  /** Shown in errors and listings, e.g. `agent://host-id`. */
  endpoint: string;
  /** Opens one new byte stream to the engine; called once per pooled connection. */
  openStream: () => Promise<Duplex>;
}

const TUNNEL_ORIGIN = 'http://localhost';

export function createDuplexTransport(options: DuplexTransportOptions): Transport {
  const pool = createEnginePool(TUNNEL_ORIGIN, (_connectOptions, callback) => {
    options.openStream().then(
      // undici only needs the Duplex part of a socket (read/write/destroy/events);
      // the cast is the documented way to hand it a non-net stream.
      (stream) => callback(null, stream as Socket),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  });
  return poolTransport(options.label, options.endpoint, TUNNEL_ORIGIN, pool);
}
