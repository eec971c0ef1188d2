// Version negotiation against a minimal fake engine, to see exactly which paths are called.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { DockerClient, MAX_API_VERSION } from '../../src/docker/client.ts';
import { listContainers } from '../../src/docker/containers.ts';
import { streamEvents } from '../../src/docker/events.ts';
import { pullImage } from '../../src/docker/images.ts';
import { getInfo } from '../../src/docker/system.ts';
import { DockerApiError, HostUnavailable } from '../../src/errors.ts';
import { createTransport } from '../../src/transports/index.ts';

async function fakeEngine(apiVersion: string, t: { after: (fn: () => void) => void }): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    response.setHeader('content-type', 'application/json');
    if (request.url === '/version') return response.end(JSON.stringify({ Version: '99.0.0', ApiVersion: apiVersion, Os: 'linux', Arch: 'amd64' }));
    if (request.url?.endsWith('/containers/json?all=true')) return response.end('[]');
    if (request.url?.startsWith(`/v${apiVersion}/events`)) {
      // Headers at once, then a quiet spell longer than the call deadline, then one event.
      response.flushHeaders();
      setTimeout(() => response.end('{"Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{}},"time":1,"timeNano":1}\n'), 500);
      return;
    }
    if (request.url?.includes('/images/create?')) {
      // A pull that starts fine and fails half-way: the engine can only say so in the stream.
      response.write('{"status":"Pulling from x"}\r\n{"status":"Downloading","id":"abc"}\r\n');
      return response.end('{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\r\n');
    }
    response.statusCode = 500;
    response.end(JSON.stringify({ message: 'engine exploded' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { url: `tcp://127.0.0.1:${address.port}`, paths };
}

test('a newer engine is spoken to at our newest API version, with one negotiation', async (t) => {
  const engine = await fakeEngine('1.99', t);
  const docker = new DockerClient(createTransport({ url: engine.url, label: 'future' }));
  t.after(() => docker.close());
  await Promise.all([listContainers(docker, { all: true }), listContainers(docker, { all: true })]);
  assert.equal(docker.apiVersion, MAX_API_VERSION);
  assert.equal(docker.engineVersion, '99.0.0');
  assert.deepEqual(engine.paths, ['/version', `/v${MAX_API_VERSION}/containers/json?all=true`, `/v${MAX_API_VERSION}/containers/json?all=true`]);
});

test('an engine older than API 1.41 is refused as unavailable', async (t) => {
  const engine = await fakeEngine('1.40', t);
  const docker = new DockerClient(createTransport({ url: engine.url, label: 'ancient' }));
  t.after(() => docker.close());
  await assert.rejects(docker.negotiate(), (error: unknown) => error instanceof HostUnavailable && /1\.40 is older than the minimum 1\.41/.test(error.message));
});

test('an engine 500 becomes DockerApiError with the engine message and the call', async (t) => {
  const engine = await fakeEngine('1.43', t);
  const docker = new DockerClient(createTransport({ url: engine.url, label: 'broken' }));
  t.after(() => docker.close());
  await assert.rejects(getInfo(docker), (error: unknown) => {
    assert.ok(error instanceof DockerApiError);
    assert.equal(error.engineStatus, 500);
    assert.equal(error.statusCode, 502);
    assert.equal(error.message, 'host "broken": GET /info: engine exploded (engine status 500)');
    return true;
  });
  assert.equal(docker.apiVersion, '1.43');
});

test('a pull that fails mid-stream throws DockerApiError after yielding the progress so far', async (t) => {
  const engine = await fakeEngine('1.41', t);
  const docker = new DockerClient(createTransport({ url: engine.url, label: 'flaky' }));
  t.after(() => docker.close());
  const statuses: Array<string | undefined> = [];
  await assert.rejects(async () => {
    for await (const message of pullImage(docker, 'registry:5000/app:1')) statuses.push(message.status);
  }, (error: unknown) => error instanceof DockerApiError && error.message === 'host "flaky": POST /images/create: unexpected EOF');
  assert.deepEqual(statuses, ['Pulling from x', 'Downloading']);
  assert.ok(engine.paths.includes('/v1.41/images/create?fromImage=registry%3A5000%2Fapp&tag=1'), engine.paths.join(' '));
});

test('a stream\'s deadline covers its headers only: a quiet body is not a timeout', async (t) => {
  const engine = await fakeEngine('1.41', t);
  const docker = new DockerClient(createTransport({ url: engine.url, label: 'quiet' }));
  t.after(() => docker.close());
  const started = Date.now();
  const actions: string[] = [];
  for await (const event of streamEvents(docker, { timeoutMs: 200 })) actions.push(event.Action);
  assert.deepEqual(actions, ['start']);
  assert.ok(Date.now() - started >= 450);
});
