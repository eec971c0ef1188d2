// Engine behind TLS (dockerd --tlsverify): the server is verified against the given CA,
// and we present a client certificate when one is given.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { createEnginePool, poolTransport } from './pool.ts';
import type { TlsMaterial, Transport } from './types.ts';

/** How long to wait for the server's verdict on a new TLS 1.3 connection when it sends no session ticket. */
const CLIENT_CERT_VERDICT_MS = 1000;

/**
 * In TLS 1.3 the client's handshake ends before the server has checked the client
 * certificate, so a refusal would otherwise surface later as a bare "other side
 * closed". Servers send session tickets only after accepting the client (Go's and
 * OpenSSL's do), so: a ticket means accepted; an alert or a close first means refused.
 */
function awaitClientCertVerdict(socket: TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      clearTimeout(timer);
      socket.off('session', onSession).off('error', onError).off('end', onClosed).off('close', onClosed);
      if (error === undefined) resolve();
      else reject(error);
    };
    // 'session' is emitted from inside OpenSSL's read; a write made in that same
    // turn (undici sends the request at once) is lost, so hand over on the next turn.
    const onSession = (): void => {
      setImmediate(() => settle());
    };
    const onError = (error: Error): void => settle(error);
    const onClosed = (): void => {
      const refused = new Error('the server closed the connection right after the TLS handshake (client certificate refused or missing)');
      settle(Object.assign(refused, { code: 'ERR_TLS_CLIENT_CERT_REFUSED' }));
    };
    // A server that sends no tickets gets the benefit of the doubt after a moment.
    const timer = setTimeout(() => settle(), CLIENT_CERT_VERDICT_MS);
    socket.on('session', onSession).on('error', onError).on('end', onClosed).on('close', onClosed);
  });
}

export function createTlsTransport(host: string, port: number, tls: TlsMaterial, label: string): Transport {
  const origin = `https://${host}:${port}`;
  const connectTls = buildConnector({
    // Without a CA the system store applies; verification is never switched off.
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
  });
  const pool = createEnginePool(origin, (options, callback) => {
    connectTls(options, (error, socket) => {
      if (error !== null) return callback(error, null);
      const tlsSocket = socket as TLSSocket;
      // Also without a client certificate: a server that demands one must say so as TLS,
      // not as a closed socket. A resumed session was accepted before (and gets no ticket).
      if (tlsSocket.getProtocol() !== 'TLSv1.3' || tlsSocket.isSessionReused()) return callback(null, socket);
      awaitClientCertVerdict(tlsSocket).then(
        () => callback(null, socket),
        (refusal: Error) => {
          (socket as Socket).destroy();
          callback(refusal, null);
        },
      );
    });
  });
  return poolTransport(label, `tcp://${host}:${port}`, origin, pool);
}
