// TLS with client certificates, end to end: a TLS front that demands a certificate
// from our test CA and pipes to a lab engine's unix socket, so the real client
// talks real TLS to a real engine (including a hijacked exec through it).
import assert from 'node:assert/strict';
import { connect as connectUnix } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import type { Server } from 'node:tls';
import { DockerClient } from '../../src/docker/client.ts';
import { listContainers } from '../../src/docker/containers.ts';
import { runExec } from '../../src/docker/exec.ts';
import { getInfo, ping } from '../../src/docker/system.ts';
import { HostUnreachable } from '../../src/errors.ts';
import { createTransport } from '../../src/transports/index.ts';
import type { TlsMaterial } from '../../src/transports/index.ts';
import { noLab } from '../docker/engines.ts';
import { deferrer, node, runContainer, shScript } from '../docker/helpers.ts';
import { makePki } from './certs.ts';
import type { Pki } from './certs.ts';

function tlsFront(pki: Pki, socketPath: string, sockets: Set<Socket>): Server {
  return createTlsServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (tlsSocket) => {
    const engine = connectUnix(socketPath);
    sockets.add(tlsSocket).add(engine);
    tlsSocket.pipe(engine).pipe(tlsSocket);
    tlsSocket.on('error', () => engine.destroy());
    engine.on('error', () => tlsSocket.destroy());
  });
}

describe('TLS transport', { skip: noLab }, () => {
  const pki = makePki('flotilla test CA');
  const stranger = makePki('some other CA');
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;

  before(async () => {
    server = tlsFront(pki, node(0).unix.replace('unix://', ''), sockets);
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });

  function client(tls: TlsMaterial, scheme = 'https'): DockerClient {
    return new DockerClient(createTransport({ url: `${scheme}://127.0.0.1:${port}`, label: 'tls-node', tls }));
  }

  test('a client certificate from the trusted CA reaches the engine, hijack included', async (t) => {
    const defer = deferrer(t);
    const docker = client({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    defer(() => docker.close());
    assert.equal(await ping(docker), 'OK');
    assert.equal(await docker.negotiate(), '1.41');
    assert.equal((await getInfo(docker)).ID, node(0).engineId);
    assert.ok(Array.isArray(await listContainers(docker)));
    const { id } = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    assert.deepEqual(await runExec(docker, id, ['echo', 'through tls']), { exitCode: 0, stdout: 'through tls\n', stderr: '' });
  });

  test('tcp:// with TLS material also speaks TLS', async (t) => {
    const docker = client({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }, 'tcp');
    t.after(() => docker.close());
    assert.equal(docker.transport.origin, `https://127.0.0.1:${port}`);
    assert.equal(await ping(docker), 'OK');
  });

  async function expectTlsRefusal(tls: TlsMaterial): Promise<void> {
    const docker = client(tls);
    try {
      await assert.rejects(ping(docker), (error: unknown) => {
        assert.ok(error instanceof HostUnreachable, String(error));
        assert.equal(error.host, 'tls-node');
        assert.match(error.message, /^host "tls-node": GET \/_ping: TLS failure: /);
        return true;
      });
    } finally {
      await docker.close();
    }
  }

  test('a client certificate from another CA is refused as HostUnreachable with a TLS message', async () => {
    await expectTlsRefusal({ ca: pki.ca, cert: stranger.clientCert, key: stranger.clientKey });
  });

  test('no client certificate is refused as HostUnreachable with a TLS message', async () => {
    await expectTlsRefusal({ ca: pki.ca });
  });

  test('a server whose certificate our CA did not sign is refused', async () => {
    await expectTlsRefusal({ ca: stranger.ca, cert: pki.clientCert, key: pki.clientKey });
  });
});
