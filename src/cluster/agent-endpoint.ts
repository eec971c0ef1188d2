// The agent port (SPEC S3): our own TLS 1.3 listener in front of a grpc-js
// server. Owning the TLS layer lets us check client certificates at the
// handshake (foreign CA, expired, revoked → the connection is dropped before
// any RPC), while Enroll still works without a certificate. Connections are
// handed to grpc-js through its connection injector; every RPC checks the
// certificate again (agent-auth.ts), which also covers resumed TLS sessions.
import crypto from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials, type ConnectionInjector, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from '../log.ts';
import type { AgentAuth } from './agent-auth.ts';
import { normalizeSerial } from './pki/certs.ts';

export interface EndpointTls {
  certChainPem: string;
  keyPem: string;
  caPem: string;
}

/** Upper bound of one gRPC message; tunnel frames are 64 KiB, snapshots of big hosts a few MiB. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export class AgentEndpoint {
  private readonly grpc: Server;
  private readonly injector: ConnectionInjector;
  private readonly tlsServer: tls.Server;
  private readonly bySerial = new Map<string, Set<tls.TLSSocket>>();
  private readonly sockets = new Set<tls.TLSSocket>();
  private readonly log: Logger;
  private readonly auth: AgentAuth;
  private readonly caPublicKey: crypto.KeyObject;
  private readonly onCertRefused: (hostId: string, why: string) => void;

  constructor(opts: {
    tls: EndpointTls; auth: AgentAuth; log: Logger; services: [definition: any, impl: UntypedServiceImplementation][];
    /** An agent of ours was refused for its certificate (expired): its host shows why. */
    onCertRefused?: (hostId: string, why: string) => void;
  }) {
    this.log = opts.log;
    this.auth = opts.auth;
    this.caPublicKey = new crypto.X509Certificate(opts.tls.caPem).publicKey;
    this.onCertRefused = opts.onCertRefused ?? (() => undefined);
    this.grpc = new Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc-node.max_session_memory': 64,
      // Channelz keeps trackers and a registry entry per connection and per call; nothing here reads them.
      'grpc.enable_channelz': 0,
    });
    for (const [definition, impl] of opts.services) this.grpc.addService(definition, impl);
    this.injector = this.grpc.createConnectionInjector(ServerCredentials.createInsecure());
    this.tlsServer = tls.createServer({
      cert: opts.tls.certChainPem, key: opts.tls.keyPem, ca: opts.tls.caPem,
      minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['h2'],
    }, (socket) => this.admit(socket));
    this.tlsServer.on('tlsClientError', (err, socket) => {
      this.log.debug({ peer: socket.remoteAddress, err: err.message }, 'agent TLS handshake failed');
    });
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.tlsServer.once('error', reject);
      this.tlsServer.listen(port, host, () => resolve());
    });
    return (this.tlsServer.address() as AddressInfo).port;
  }

  /** Drops every connection that presented this certificate (revocation). */
  disconnectSerial(serial: string): void {
    for (const socket of this.bySerial.get(normalizeSerial(serial)) ?? []) socket.destroy();
  }

  async close(): Promise<void> {
    // Agents hold their connections open for good: drop them, or close() waits forever.
    const closed = new Promise<void>((resolve) => this.tlsServer.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.injector.destroy();
    this.grpc.forceShutdown();
  }

  /** Open agent connections, for tests and metrics. */
  connectionCount(): number {
    return this.sockets.size;
  }

  private admit(socket: tls.TLSSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', (err) => this.log.debug({ peer: socket.remoteAddress, err: err.message }, 'agent connection error'));
    const cert = socket.getPeerCertificate();
    const presented = cert && Object.keys(cert).length > 0;
    if (presented) {
      const serial = normalizeSerial(cert.serialNumber);
      if (!socket.authorized) {
        this.log.warn({ peer: socket.remoteAddress, serial, why: socket.authorizationError }, 'refused a client certificate at the handshake');
        // Only a certificate we signed can name one of our hosts; a stranger's CN means nothing.
        if (String(socket.authorizationError) === 'CERT_HAS_EXPIRED' && new crypto.X509Certificate(cert.raw).verify(this.caPublicKey)) {
          this.onCertRefused(String(cert.subject?.CN ?? ''), `certificate ${serial} expired at ${cert.valid_to}: re-enroll the agent`);
        }
        socket.destroy();
        return;
      }
      if (this.auth.isRevoked(serial)) {
        this.log.warn({ peer: socket.remoteAddress, serial, resumed: socket.isSessionReused() }, 'refused a revoked certificate at the handshake');
        socket.destroy();
        return;
      }
      const set = this.bySerial.get(serial) ?? new Set();
      set.add(socket);
      this.bySerial.set(serial, set);
      socket.once('close', () => {
        set.delete(socket);
        if (set.size === 0) this.bySerial.delete(serial);
      });
    }
    this.injector.injectConnection(socket);
  }
}
