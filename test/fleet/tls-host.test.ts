// A direct host behind TLS with client certificates (the way a Docker engine is
// exposed with --tlsverify): real TLS in front of a real lab engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import path from 'node:path';
import { labState, type LabState } from '../lab/fixture.ts';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { makePki, type Pki } from '../transports/certs.ts';

let srv: TestServer;
let st: LabState;
let pki: Pki;
let foreign: Pki;
let proxy: tls.Server;
let port: number;

before(async () => {
  st = await labState();
  pki = makePki('engine');
  foreign = makePki('foreign');
  const socketPath = new URL(st.nodes[0]!.unix).pathname;
  // Terminates TLS (client certificate required, signed by our CA) and pipes to the engine's socket.
  proxy = tls.createServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (clear) => {
    const upstream = net.connect(socketPath);
    clear.pipe(upstream).pipe(clear);
    const end = () => { clear.destroy(); upstream.destroy(); };
    clear.on('error', end);
    upstream.on('error', end);
  });
  proxy.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  port = (proxy.address() as net.AddressInfo).port;
  srv = await startTestServer();
});
after(async () => {
  await srv?.close();
  proxy?.close();
});

test('a TLS host with a client certificate syncs; its key is encrypted at rest and never returned', async () => {
  const client = { cert: pki.clientCert, key: pki.clientKey };
  const res = await srv.admin.post('/api/v1/hosts', { name: 'secure', endpoint: `https://127.0.0.1:${port}`, tls: { ca: pki.ca, ...client } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.tls, true);
  assert.ok(!JSON.stringify(res.body).includes('PRIVATE KEY'));
  const host = await waitFor('secure connected', async () => {
    const h = (await srv.admin.get('/api/v1/hosts/secure')).body;
    return h.status === 'connected' && h;
  });
  assert.equal(host.engine.id, st.nodes[0]!.engineId);
  assert.ok(!JSON.stringify(host).includes('PRIVATE KEY'));
  const list = await srv.admin.get('/api/v1/hosts/secure/containers');
  assert.equal(list.status, 200);
  // At rest: sealed, not PEM; the key file beside the database is 0600.
  const row = await srv.handle.store.db.selectFrom('hosts').select('tls_sealed').where('name', '=', 'secure').executeTakeFirstOrThrow();
  assert.ok(row.tls_sealed && !row.tls_sealed.includes('BEGIN'));
  const dbBytes = fs.readFileSync(path.join(srv.dataDir, 'flotilla.db'));
  assert.ok(!dbBytes.includes(Buffer.from(client.key.split('\n')[1]!)), 'no key material in the database file');
  assert.equal(fs.statSync(path.join(srv.dataDir, 'secret.key')).mode & 0o777, 0o600);
  await srv.admin.request('DELETE', '/api/v1/hosts/secure');
});

test('a client certificate from another CA is refused with a TLS error naming the host', async () => {
  const wrong = { cert: foreign.clientCert, key: foreign.clientKey };
  await srv.admin.post('/api/v1/hosts', { name: 'wrongcert', endpoint: `https://127.0.0.1:${port}`, tls: { ca: pki.ca, ...wrong } });
  const res = await srv.admin.post('/api/v1/hosts/wrongcert/sync');
  assert.equal(res.body.ok, false);
  assert.match(res.body.error, /host "wrongcert"/);
  // With TLS 1.3 the refusal of a client certificate arrives after the handshake: the client may only see the connection closed.
  assert.match(res.body.error, /TLS|certificate|alert|closed/i);
  const direct = await srv.admin.get('/api/v1/hosts/wrongcert/containers');
  assert.equal(direct.status, 502);
  await srv.admin.request('DELETE', '/api/v1/hosts/wrongcert');
});

test('a server certificate not signed by the given CA is refused', async () => {
  const client = { cert: foreign.clientCert, key: foreign.clientKey };
  await srv.admin.post('/api/v1/hosts', { name: 'mitm', endpoint: `https://127.0.0.1:${port}`, tls: { ca: foreign.ca, ...client } });
  const res = await srv.admin.post('/api/v1/hosts/mitm/sync');
  assert.equal(res.body.ok, false);
  assert.match(res.body.error, /TLS|certificate|self.signed|verify/i);
  await srv.admin.request('DELETE', '/api/v1/hosts/mitm');
});
