// Bad input gets a clear 4xx naming what was wrong, and never harms the server or the store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(() => srv.close());

test('host registration validates every field and names it', async () => {
  const cases: [unknown, RegExp][] = [
    [{ name: 'a', endpoint: 'tcp://127.0.0.1:1', syncIntervalSeconds: 5 }, /syncIntervalSeconds.*at least 30/],
    [{ name: 'a', endpoint: 'tcp://127.0.0.1:1', syncIntervalSeconds: 4000 }, /syncIntervalSeconds.*at most 3600/],
    [{ name: 'bad name!', endpoint: 'tcp://127.0.0.1:1' }, /name/],
    [{ name: 'a', endpoint: 'ftp://x' }, /endpoint.*unsupported scheme/],
    [{ name: 'a', endpoint: 'unix://relative' }, /endpoint/],
    [{ name: 'a', endpoint: 'tcp://127.0.0.1:1', environment: 'moon' }, /environment/],
    [{ name: 'a', endpoint: 'tcp://127.0.0.1:1', environment: 'custom' }, /environmentLabel/],
    [{ name: 'a', endpoint: 'tcp://127.0.0.1:1', tls: { cert: 'not pem' } }, /tls/],
    [{ endpoint: 'tcp://127.0.0.1:1' }, /name/],
  ];
  for (const [body, message] of cases) {
    const res = await srv.admin.post('/api/v1/hosts', body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(res.body.message, message, JSON.stringify(res.body));
    assert.ok(res.body.field, 'the error names the field');
  }
  assert.equal((await srv.admin.get('/api/v1/hosts')).body.length, 0, 'nothing was stored');
});

test('duplicate host names conflict; unknown hosts are 404 naming them', async () => {
  assert.equal((await srv.admin.post('/api/v1/hosts', { name: 'dup', endpoint: 'tcp://127.0.0.1:1' })).status, 201);
  const again = await srv.admin.post('/api/v1/hosts', { name: 'dup', endpoint: 'tcp://127.0.0.1:2' });
  assert.equal(again.status, 409);
  assert.match(again.body.message, /"dup" already exists/);
  for (const p of ['/api/v1/hosts/ghost', '/api/v1/hosts/ghost/containers', '/api/v1/hosts/ghost/containers/abc/logs']) {
    const res = await srv.admin.get(p);
    assert.equal(res.status, 404, p);
    assert.match(res.body.message, /host "ghost" not found/);
  }
  assert.equal((await srv.admin.request('DELETE', '/api/v1/hosts/dup')).status, 204);
});

test('query and path parameters are validated', async () => {
  await srv.admin.post('/api/v1/hosts', { name: 'q', endpoint: 'tcp://127.0.0.1:1' });
  const tail = await srv.admin.get('/api/v1/hosts/q/containers/abc/logs?tail=501');
  assert.equal(tail.status, 400);
  assert.match(tail.body.message, /tail/);
  const all = await srv.admin.get('/api/v1/hosts/q/containers?all=maybe');
  assert.equal(all.status, 400);
  assert.match(all.body.field, /querystring\.all/);
  const exec = await srv.admin.post('/api/v1/hosts/q/containers/abc/exec', { cmd: [] });
  assert.equal(exec.status, 400);
  assert.match(exec.body.message, /cmd/);
  const limit = await srv.admin.get('/api/v1/audit?limit=0');
  assert.equal(limit.status, 400);
  await srv.admin.request('DELETE', '/api/v1/hosts/q');
});

test('malformed, oversized and truncated requests are refused without harm', async () => {
  const malformed = await srv.admin.request('POST', '/api/v1/hosts', '{"name": "x", ', { 'content-type': 'application/json' });
  assert.equal(malformed.status, 400);
  assert.match(malformed.body.message, /JSON/i);
  const huge = await srv.admin.request('POST', '/api/v1/hosts', JSON.stringify({ name: 'x', endpoint: 'x'.repeat(5 * 1024 * 1024) }));
  assert.equal(huge.status, 413);
  // A client that promises a body and hangs up half-way.
  const { port, hostname } = new URL(srv.url);
  await new Promise<void>((resolve) => {
    const sock = net.connect(Number(port), hostname, () => {
      sock.write(`POST /api/v1/hosts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${srv.admin.token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":"trunc`);
      setTimeout(() => sock.destroy(), 50);
    });
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  // Garbage that is not HTTP at all.
  await new Promise<void>((resolve) => {
    const sock = net.connect(Number(port), hostname, () => sock.end('\x00\x01\x02 not http\r\n\r\n'));
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
    sock.resume();
  });
  const health = await srv.admin.get('/readyz');
  assert.equal(health.status, 200);
  const hosts = await srv.admin.get('/api/v1/hosts');
  assert.ok(!hosts.body.some((h: any) => h.name.startsWith('trunc')), 'no half-written host');
});

test('a host that refuses connections gives 502 naming it; one that never answers gives 504 at the deadline', async () => {
  await srv.admin.post('/api/v1/hosts', { name: 'refuses', endpoint: 'tcp://127.0.0.1:1' });
  const started = Date.now();
  const refused = await srv.admin.get('/api/v1/hosts/refuses/containers');
  assert.equal(refused.status, 502);
  assert.equal(refused.body.host, 'refuses');
  assert.match(refused.body.message, /host "refuses"/);
  assert.ok(Date.now() - started < 5000);

  // Accepts TCP connections and never says a word.
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    await srv.admin.post('/api/v1/hosts', { name: 'silent', endpoint: `tcp://127.0.0.1:${port}` });
    const res = await srv.admin.get('/api/v1/hosts/silent/containers');
    assert.equal(res.status, 504);
    assert.equal(res.body.host, 'silent');
    assert.match(res.body.message, /timed out/);
  } finally {
    silent.close();
    await srv.admin.request('DELETE', '/api/v1/hosts/silent');
    await srv.admin.request('DELETE', '/api/v1/hosts/refuses');
  }
});
