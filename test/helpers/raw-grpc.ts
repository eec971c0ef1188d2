// A gRPC call made by hand over our own TLS socket: lets a test reuse a TLS
// session (resumption) and send frames no well-behaved client would send.
import http2 from 'node:http2';
import tls from 'node:tls';

export interface RawTls {
  ca: string;
  cert?: string;
  key?: string;
  session?: Buffer;
}

export interface RawResult {
  /** grpc-status from the trailers, or undefined when the connection died first. */
  status: number | undefined;
  message: string;
  reused: boolean;
  /** The connection was closed under us. */
  dropped: boolean;
  session: Buffer | undefined;
}

/** A gRPC message frame: flag, 4-byte length, payload. `declaredLength` lets a test lie. */
export function grpcFrame(payload: Buffer, declaredLength = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, payload]);
}

export function rawGrpcCall(addr: string, t: RawTls, path: string, body: Buffer, timeoutMs = 5000): Promise<RawResult> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    let reused = false;
    const socket = tls.connect({ host, port, ca: t.ca, cert: t.cert, key: t.key, session: t.session, ALPNProtocols: ['h2'], minVersion: 'TLSv1.3', checkServerIdentity: () => undefined });
    socket.on('session', (s: Buffer) => (session = s));
    socket.once('secureConnect', () => (reused = socket.isSessionReused()));
    const client = http2.connect(`https://${addr}`, { createConnection: () => socket });
    let settled = false;
    const done = (r: Omit<RawResult, 'reused' | 'session'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Give the server's session tickets a moment to arrive before closing.
      setTimeout(() => {
        client.close();
        socket.destroy();
        resolve({ ...r, reused, session });
      }, 50);
    };
    const timer = setTimeout(() => done({ status: undefined, message: 'timeout', dropped: false }), timeoutMs);
    client.on('error', (err) => done({ status: undefined, message: err.message, dropped: true }));
    socket.on('close', () => done({ status: undefined, message: 'connection closed', dropped: true }));
    const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    // A "trailers-only" answer puts the status in the response headers.
    let headerStatus: number | undefined;
    let headerMessage = '';
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) headerStatus = Number(h['grpc-status']);
      headerMessage = decodeURIComponent(String(h['grpc-message'] ?? ''));
    });
    req.on('trailers', (h) => done({ status: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')), dropped: false }));
    req.on('end', () => done({ status: headerStatus, message: headerMessage, dropped: false }));
    req.on('error', (err) => done({ status: undefined, message: err.message, dropped: true }));
    req.resume();
    req.end(body);
  });
}
