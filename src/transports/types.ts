// What every transport gives the Docker client: a pooled undici dispatcher that
// speaks HTTP/1.1 to one engine, plus a label and endpoint for error messages.
import type { Dispatcher } from 'undici';

export interface Transport {
  /** Human name used in every error message (usually the host's name). */
  readonly label: string;
  /** The endpoint as registered, normalised, never containing key material. */
  readonly endpoint: string;
  /** Keep-alive connection pool to the engine; hijacked calls detach a socket from it. */
  readonly dispatcher: Dispatcher;
  /** Origin to pass with each request (`http://localhost` for sockets that have no host). */
  readonly origin: string;
  /** Closes idle connections and waits for running requests to finish. */
  close(): Promise<void>;
  /** Connections open but idle (kept alive for the next request), when the dispatcher is not one Pool. */
  idleConnections?(): number;
}

/** PEM strings, never file paths: the store hands key material over in memory. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
  /** SNI / certificate name to check when it differs from the host in the URL. */
  servername?: string;
}

export interface TransportSpec {
  url: string;
  label?: string;
  tls?: TlsMaterial;
}
