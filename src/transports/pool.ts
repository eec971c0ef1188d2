// One place for the connection-pool settings every transport shares.
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { Transport } from './types.ts';

type PoolConnect = NonNullable<Pool.Options['connect']>;

/**
 * Request deadlines are enforced by the Docker client per call (an AbortSignal
 * timer), so undici's own header/body timers are switched off here: a followed
 * log or an event stream may legitimately stay quiet for hours.
 */
export function createEnginePool(origin: string, connect: PoolConnect): Pool {
  return new Pool(origin, {
    connect,
    // No limit: long-lived streams (events, follow) each hold a connection and
    // must not starve short calls queued behind them.
    connections: null,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

export function poolTransport(label: string, endpoint: string, origin: string, dispatcher: Dispatcher): Transport {
  return {
    label,
    endpoint,
    origin,
    dispatcher,
    close: () => dispatcher.close(),
  };
}
