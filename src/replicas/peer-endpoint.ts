// The replica endpoint (issue 13): where another replica reaches an agent whose
// stream this one holds. Mutual TLS 1.3 with the shared CA (peer-tls.ts); the
// peer sends one line, `TUNNEL <hostId>\n`, we answer `OK\n` once the agent has
// opened a tunnel (or `ERR <why>\n`), and from then on the socket is the tunnel:
// raw bytes to and from the agent's Docker engine. Everything above it — HTTP,
// streams, hijacked exec and attach — works unchanged through a relay of bytes.
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { notAReplica } from './peer-tls.ts';

export interface PeerEndpointOptions {
  certPem: string;
  keyPem: string;
  caPem: string;
  host: string;
  port: number;
  log: Logger;
  /** Only streams held here: a forwarded call is never forwarded again. */
  openLocalTunnel(hostId: string): Promise<Duplex>;
}

const MAX_HEADER = 256;

export class PeerEndpoint {
  private readonly server: tls.Server;
  private readonly sockets = new Set<tls.TLSSocket>();
  port = 0;

  private constructor(server: tls.Server) {
    this.server = server;
  }

  static async start(o: PeerEndpointOptions): Promise<PeerEndpoint> {
    const server = tls.createServer({ cert: o.certPem, key: o.keyPem, ca: o.caPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
    const endpoint = new PeerEndpoint(server);
    server.on('secureConnection', (socket) => endpoint.accept(socket, o));
    server.on('tlsClientError', (err) => o.log.debug({ err: err.message }, 'replica endpoint: TLS handshake refused'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
    });
    endpoint.port = (server.address() as AddressInfo).port;
    o.log.info({ port: endpoint.port }, 'replica endpoint listening (mutual TLS 1.3)');
    return endpoint;
  }

  private accept(socket: tls.TLSSocket, o: PeerEndpointOptions): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const refused = notAReplica(socket.getPeerX509Certificate());
    if (refused) {
      o.log.warn({ why: refused }, 'replica endpoint: a connection that is not a replica\'s was refused');
      socket.end(`ERR ${refused}\n`);
      return;
    }
    let header = '';
    const onData = (chunk: Buffer) => {
      header += chunk.toString('latin1');
      const nl = header.indexOf('\n');
      if (nl < 0) {
        if (header.length > MAX_HEADER) socket.end('ERR header too long\n');
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const rest = Buffer.from(header.slice(nl + 1), 'latin1');
      if (rest.length) socket.unshift(rest);
      const m = /^TUNNEL ([A-Za-z0-9-]{1,64})$/.exec(header.slice(0, nl));
      if (!m) return void socket.end('ERR expected "TUNNEL <host id>"\n');
      o.openLocalTunnel(m[1]!).then((tunnel) => {
        socket.write('OK\n');
        relay(socket, tunnel);
      }, (err: Error) => socket.end(`ERR ${err.message.replace(/\n/g, ' ')}\n`));
    };
    socket.on('data', onData);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Pipes both ways; either side ending or failing ends the other. */
export function relay(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => { a.destroy(); b.destroy(); };
  a.once('close', end);
  b.once('close', end);
  a.once('error', end);
  b.once('error', end);
}
