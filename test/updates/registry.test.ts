// The registry client against real registries: the lab's plain registry and a
// docker-registry of our own that the tests push to over the HTTP API; small
// fake registries (node:http) only for faults a real one does not produce.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { labState } from '../lab/fixture.ts';
import { registryDigest } from '../lab/http.ts';
import { RegistryClient, RegistryError, type RegistryAccess } from '../../src/updates/registry/client.ts';
import { parseImageRef } from '../../src/updates/registry/reference.ts';
import { Pusher, closeServer, forward, freePort, listen, sha256, startRegistry, type TestRegistry } from './registry-fixtures.ts';

let registry: TestRegistry;
let pusher: Pusher;
const clients: RegistryClient[] = [];
const servers: http.Server[] = [];

/** A client that reaches every registry in these tests over plain HTTP. */
function plainClient(opts: { concurrency?: number; timeoutMs?: number; maxRetries?: number; retryBaseMs?: number } = {}): RegistryClient {
  const client = new RegistryClient({
    access: (host): RegistryAccess => ({ host, insecure: true, skipTlsVerify: false, concurrency: opts.concurrency ?? 4 }),
    timeoutMs: opts.timeoutMs, maxRetries: opts.maxRetries, retryBaseMs: opts.retryBaseMs,
  });
  clients.push(client);
  return client;
}

async function fakeRegistry(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>): Promise<string> {
  const server = http.createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  servers.push(server);
  return `127.0.0.1:${await listen(server)}`;
}

async function rejectsWith(promise: Promise<unknown>, kind: RegistryError['kind'], message?: RegExp): Promise<RegistryError> {
  let caught: unknown;
  await promise.then(() => assert.fail(`expected a ${kind} RegistryError`), (error: unknown) => { caught = error; });
  assert.ok(caught instanceof RegistryError, `a RegistryError, not ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

before(async () => {
  registry = await startRegistry();
  pusher = new Pusher(registry.host);
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map(closeServer));
  await registry?.stop();
});

test('the lab images resolve to the digest the lab registry reports', async () => {
  const st = await labState();
  const client = plainClient();
  for (const image of [st.images.busybox1, st.images.busybox2]) {
    const ref = parseImageRef(image);
    const remote = await client.resolve(ref);
    assert.equal(remote.digest, await registryDigest(ref.registry, ref.repository, ref.tag!));
    assert.match(remote.mediaType, /manifest/);
    assert.equal(remote.platforms, undefined);
  }
  assert.equal(client.stats()[st.registry.lab].requests, 2, 'one HEAD per image');
});

test('a tag pushed again with new content resolves to the new digest', async () => {
  const client = plainClient();
  const ref = parseImageRef(`${registry.host}/app/web:1`);
  const first = await pusher.pushImage('app/web', '1');
  assert.equal((await client.resolve(ref)).digest, first.digest);
  const second = await pusher.pushImage('app/web', '1');
  assert.notEqual(second.digest, first.digest);
  const now = await client.resolve(ref);
  assert.equal(now.digest, second.digest);
  assert.equal(now.mediaType, 'application/vnd.oci.image.manifest.v1+json');
});

test('an image index resolves to the index digest, and with platforms to each platform manifest', async () => {
  const client = plainClient();
  const pushed = await pusher.pushIndex('multi', 'v1', [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }]);
  const ref = parseImageRef(`${registry.host}/multi:v1`);
  const plain = await client.resolve(ref);
  assert.deepEqual(plain, { digest: pushed.digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
  const before = client.stats()[registry.host].requests;
  const detailed = await client.resolve(ref, { platforms: true });
  assert.equal(detailed.digest, pushed.digest);
  assert.deepEqual(detailed.platforms, [
    { digest: pushed.platforms[0].digest, os: 'linux', architecture: 'amd64' },
    { digest: pushed.platforms[1].digest, os: 'linux', architecture: 'arm64', variant: 'v8' },
  ]);
  assert.equal(client.stats()[registry.host].requests - before, 2, 'HEAD, then GET of the index by digest');
});

test('a pinned digest resolves to itself; a missing tag or repository is not_found', async () => {
  const client = plainClient();
  const pushed = await pusher.pushImage('pinned', 'a');
  assert.equal((await client.resolve(parseImageRef(`${registry.host}/pinned@${pushed.digest}`))).digest, pushed.digest);
  const moved = await pusher.pushImage('pinned', 'a');
  assert.equal((await client.resolve(parseImageRef(`${registry.host}/pinned:a@${pushed.digest}`))).digest, moved.digest, 'tag and digest: the tag is followed');
  await rejectsWith(client.resolve(parseImageRef(`${registry.host}/pinned:nope`)), 'not_found', /has no manifest for 127\.0\.0\.1:\d+\/pinned:nope \(404\)/);
  await rejectsWith(client.resolve(parseImageRef(`${registry.host}/never/pushed:1`)), 'not_found');
  assert.equal(client.stats()[registry.host].errors, 2);
});

test('a closed port is unreachable; HTTPS to a plain-HTTP registry says to mark it insecure', async () => {
  const client = plainClient();
  const port = await freePort();
  await rejectsWith(client.resolve(parseImageRef(`127.0.0.1:${port}/x:1`)), 'unreachable', new RegExp(`registry 127\\.0\\.0\\.1:${port} refused the connection`));
  const tls = new RegistryClient({ access: () => undefined });
  clients.push(tls);
  await rejectsWith(tls.resolve(parseImageRef(`${registry.host}/app/web:1`)), 'unreachable', /does not speak HTTPS.*mark it insecure/);
});

test('HTTPS with a self-signed certificate: refused with a hint, accepted with skipTlsVerify', async () => {
  const tlsRegistry = await startRegistry({ kind: 'none' }, { tls: true });
  try {
    const ref = parseImageRef(`${tlsRegistry.host}/nothing:1`);
    const verifying = new RegistryClient({ access: () => undefined });
    const trusting = new RegistryClient({ access: (host) => ({ host, insecure: false, skipTlsVerify: true, concurrency: 1 }) });
    clients.push(verifying, trusting);
    await rejectsWith(verifying.resolve(ref), 'unreachable', /presented a certificate this server does not trust \(DEPTH_ZERO_SELF_SIGNED_CERT\); if the registry uses a self-signed certificate, enable "skip TLS verify"/);
    await rejectsWith(trusting.resolve(ref), 'not_found', /has no manifest/);
  } finally {
    await tlsRegistry.stop();
  }
});

test('a registry that does not answer in time is a timeout', async () => {
  const host = await fakeRegistry(() => { /* never answers */ });
  const client = plainClient({ timeoutMs: 300 });
  const t0 = Date.now();
  await rejectsWith(client.resolve(parseImageRef(`${host}/slow:1`)), 'timeout', /did not answer HEAD \/v2\/slow\/manifests\/1 within 300 ms/);
  assert.ok(Date.now() - t0 < 3000);
});

test('garbage answers are bad_response: HTML, a wrong digest, a server error, a bad digest header', async () => {
  const html = await fakeRegistry((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'); });
  const client = plainClient();
  await rejectsWith(client.resolve(parseImageRef(`${html}/x:1`)), 'bad_response', /not an image manifest \(text\/html\)/);

  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] }));
  const lying = await fakeRegistry((req, res) => {
    // HEAD without a digest sends the client to GET, whose digest header does not match the body.
    if (req.method === 'HEAD') res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end();
    else res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': `sha256:${'0'.repeat(64)}` }).end(body);
  });
  await rejectsWith(client.resolve(parseImageRef(`${lying}/x:1`)), 'bad_response', /does not match its digest sha256:0{64}/);

  const noDigest = await fakeRegistry((req, res) => {
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  assert.equal((await client.resolve(parseImageRef(`${noDigest}/x:1`))).digest, sha256(body), 'no digest header: the sha256 of the body');

  const failing = await fakeRegistry((_req, res) => { res.writeHead(500).end('oops'); });
  await rejectsWith(client.resolve(parseImageRef(`${failing}/x:1`)), 'bad_response', /answered HEAD \/v2\/x\/manifests\/1 with HTTP 500/);

  const badHeader = await fakeRegistry((_req, res) => { res.writeHead(200, { 'docker-content-digest': 'md5:xyz' }).end(); });
  await rejectsWith(client.resolve(parseImageRef(`${badHeader}/x:1`)), 'bad_response', /Docker-Content-Digest that is not a digest/);
});

test('429 with Retry-After is honoured (fake rate-limiting proxy in front of the registry), then it answers', async () => {
  const pushed = await pusher.pushImage('limited', '1');
  let limited = 0;
  const proxy = await fakeRegistry(async (req, res) => {
    if (limited < 1) {
      limited++;
      res.writeHead(429, { 'retry-after': '1' }).end();
      return;
    }
    await forward(req, res, registry.host);
  });
  const client = plainClient({ retryBaseMs: 10_000 });
  const t0 = Date.now();
  const remote = await client.resolve(parseImageRef(`${proxy}/limited:1`));
  const waited = Date.now() - t0;
  assert.equal(remote.digest, pushed.digest);
  assert.ok(waited >= 950 && waited < 5000, `waited ${waited} ms for Retry-After: 1`);
  assert.deepEqual(client.stats()[proxy], { requests: 2, errors: 0, rateLimited: 1 });
});

test('Retry-After as an HTTP date; 503 without it backs off; too many answers 429 is rate_limited', async () => {
  let n = 0;
  const dated = await fakeRegistry(async (req, res) => {
    if (n++ === 0) res.writeHead(503, { 'retry-after': new Date(Date.now() + 1500).toUTCString() }).end();
    else await forward(req, res, registry.host);
  });
  const pushed = await pusher.pushImage('dated', '1');
  const client = plainClient({ maxRetries: 2, retryBaseMs: 20 });
  const t0 = Date.now();
  assert.equal((await client.resolve(parseImageRef(`${dated}/dated:1`))).digest, pushed.digest);
  assert.ok(Date.now() - t0 >= 400, 'waited until the date (second resolution)');

  let hits = 0;
  const always = await fakeRegistry((_req, res) => { hits++; res.writeHead(hits % 2 ? 503 : 429).end(); });
  await rejectsWith(client.resolve(parseImageRef(`${always}/x:1`)), 'rate_limited', /is limiting requests .* after 3 attempts; try again later/);
  assert.equal(hits, 3, 'the first try and maxRetries retries');
  assert.deepEqual(client.stats()[always], { requests: 3, errors: 1, rateLimited: 3 });

  const longWait = await fakeRegistry((_req, res) => { res.writeHead(429, { 'retry-after': '3600' }).end(); });
  await rejectsWith(client.resolve(parseImageRef(`${longWait}/x:1`)), 'rate_limited', /asks to wait 3600 s/);
});

test('no more requests in flight to one registry than its concurrency, queued in order', async () => {
  await pusher.pushImage('busy', '1');
  let inFlight = 0;
  let maxInFlight = 0;
  const order: string[] = [];
  const proxy = await fakeRegistry(async (req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    order.push(req.url!);
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      await forward(req, res, registry.host);
    } finally {
      inFlight--;
    }
  });
  for (const tag of ['2', '3', '4']) await pusher.pushImage('busy', tag);
  const tags = ['1', '2', '3', '4', '1', '2', '3', '4'];
  const refs = tags.map((t) => parseImageRef(`${proxy}/busy:${t}`));
  const client = plainClient({ concurrency: 2 });
  assert.equal((await Promise.all(refs.map((r) => client.resolve(r)))).length, 8);
  assert.equal(maxInFlight, 2, 'concurrency 2 is used and never exceeded');
  assert.equal(client.stats()[proxy].requests, 8);

  // One at a time, the queue's order is the order the requests reach the registry.
  order.length = 0;
  maxInFlight = 0;
  const serial = plainClient({ concurrency: 1 });
  await Promise.all(refs.map((r) => serial.resolve(r)));
  assert.equal(maxInFlight, 1);
  assert.deepEqual(order, tags.map((t) => `/v2/busy/manifests/${t}`), 'first come, first served');
});

test('an aborted resolve stops at once with the caller\'s reason', async () => {
  const host = await fakeRegistry(() => { /* never answers */ });
  const client = plainClient();
  const controller = new AbortController();
  const pending = client.resolve(parseImageRef(`${host}/x:1`), { signal: controller.signal });
  setTimeout(() => controller.abort(new Error('check cancelled')), 50);
  await assert.rejects(pending, /check cancelled/);
  assert.equal(client.stats()[host].errors, 0, 'a cancel is not a registry error');

  // Waiting for a slot: an abort takes it out of the queue.
  const one = plainClient({ concurrency: 1, timeoutMs: 2000 });
  const holding = one.resolve(parseImageRef(`${host}/x:1`)).catch((e: unknown) => e);
  const queued = new AbortController();
  const waiting = one.resolve(parseImageRef(`${host}/x:2`), { signal: queued.signal });
  queued.abort(new Error('gave up waiting'));
  await assert.rejects(waiting, /gave up waiting/);
  assert.equal(one.stats()[host].requests, 1, 'the queued one never sent anything');
  assert.ok(await holding instanceof RegistryError);
});
