// Endpoint parsing, and how unreachable or silent hosts fail: no lab needed.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { test } from 'node:test';
import { DockerClient } from '../../src/docker/client.ts';
import { streamEvents } from '../../src/docker/events.ts';
import { ping } from '../../src/docker/system.ts';
import { BadRequest, HostTimeout, HostUnreachable } from '../../src/errors.ts';
import { createTransport, parseEndpoint } from '../../src/transports/index.ts';

test('endpoints parse into unix, plain tcp and TLS targets with Docker default ports', () => {
  assert.deepEqual(parseEndpoint('unix:///var/run/docker.sock'), { kind: 'unix', path: '/var/run/docker.sock' });
  assert.deepEqual(parseEndpoint('tcp://10.0.0.5:2375'), { kind: 'tcp', host: '10.0.0.5', port: 2375 });
  assert.deepEqual(parseEndpoint('tcp://node1'), { kind: 'tcp', host: 'node1', port: 2375 });
  assert.deepEqual(parseEndpoint('tcp://node1', true), { kind: 'tls', host: 'node1', port: 2376 });
  assert.deepEqual(parseEndpoint('https://[::1]:9999'), { kind: 'tls', host: '[::1]', port: 9999 });
});

test('bad endpoints are refused with BadRequest naming the endpoint field', () => {
  for (const url of ['', 'docker.sock', 'ftp://host:1', 'unix://', 'unix://host/sock', 'tcp://user:pw@host:1', 'tcp://host:1/path', 'tcp://host:99999']) {
    assert.throws(() => createTransport({ url }), (error: unknown) => {
      assert.ok(error instanceof BadRequest, `${url}: ${String(error)}`);
      assert.equal(error.field, 'endpoint');
      return true;
    });
  }
});

test('bad TLS material is refused with BadRequest naming the tls field', () => {
  assert.throws(() => createTransport({ url: 'https://h:1', tls: { ca: 'not a pem' } }), { field: 'tls.ca' });
  assert.throws(() => createTransport({ url: 'https://h:1', tls: { cert: '-----BEGIN CERTIFICATE-----' } }), { field: 'tls.key' });
  assert.throws(() => createTransport({ url: 'unix:///x.sock', tls: {} }), { field: 'tls' });
});

test('a transport keeps its label and shows no secrets in its endpoint', async () => {
  const transport = createTransport({ url: 'tcp://127.0.0.1:2376', label: 'edge-7', tls: { key: '-----BEGIN KEY-----', cert: '-----BEGIN CERTIFICATE-----' } });
  assert.equal(transport.label, 'edge-7');
  assert.equal(transport.endpoint, 'tcp://127.0.0.1:2376');
  assert.equal(transport.origin, 'https://127.0.0.1:2376');
  await transport.close();
});

async function expectQuickFailure(url: string, label: string, type: typeof HostUnreachable | typeof HostTimeout, timeoutMs?: number): Promise<Error> {
  const docker = new DockerClient(createTransport({ url, label }));
  const started = Date.now();
  try {
    await assert.rejects(ping(docker, { timeoutMs }), type);
    return await ping(docker, { timeoutMs }).then(() => new Error('resolved'), (error: Error) => error);
  } finally {
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    await docker.close();
  }
}

test('a unix socket path that does not exist is HostUnreachable at once, naming the host', async () => {
  const error = await expectQuickFailure('unix:///tmp/flotilla-no-such-dir/docker.sock', 'ghost', HostUnreachable);
  assert.match(error.message, /^host "ghost": GET \/_ping: unreachable: .*ENOENT/);
});

test('a TCP port nothing listens on is HostUnreachable at once', async () => {
  const error = await expectQuickFailure('tcp://127.0.0.1:1', 'closed-port', HostUnreachable);
  assert.match(error.message, /^host "closed-port": GET \/_ping: unreachable: .*ECONNREFUSED/);
  assert.equal((error as HostUnreachable).host, 'closed-port');
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

test('a host that accepts but never answers is HostTimeout after the call deadline', async (t) => {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  const port = await listen(server);
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const started = Date.now();
  const error = await expectQuickFailure(`tcp://127.0.0.1:${port}`, 'silent', HostTimeout, 300);
  assert.equal(error.message, 'host "silent": GET /_ping timed out after 300 ms');
  assert.ok(Date.now() - started >= 300);
});

test('a stream whose headers never come is HostTimeout at the deadline', async (t) => {
  const server = createServer(() => {});
  const port = await listen(server);
  t.after(() => server.close());
  const docker = new DockerClient(createTransport({ url: `tcp://127.0.0.1:${port}`, label: 'mute' }), { apiVersion: '1.41' });
  t.after(() => docker.transport.dispatcher.destroy());
  await assert.rejects(async () => {
    for await (const _event of streamEvents(docker, { timeoutMs: 250 })) assert.fail('no events expected');
  }, (error: unknown) => error instanceof HostTimeout && error.message === 'host "mute": GET /events timed out after 250 ms');
});

test('a caller abort is not reported as a host failure', async (t) => {
  const server = createServer(() => {});
  const port = await listen(server);
  t.after(() => server.close());
  const docker = new DockerClient(createTransport({ url: `tcp://127.0.0.1:${port}`, label: 'silent' }));
  t.after(() => docker.transport.dispatcher.destroy());
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('user went away')), 50);
  await assert.rejects(ping(docker, { signal: controller.signal }), /user went away/);
});
