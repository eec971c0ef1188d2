// Client certificates for the Docker endpoint over REST (SPEC S13): signed by the
// built-in CA for the caller, cross-checked with the openssl CLI; listed, revoked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type Api, type TestServer } from '../helpers/server.ts';
import { generateAgentKeyAndCsr } from '../../src/cluster/csr.ts';
import { dockerEndpointHost } from '../../src/api/routes/client-certs.ts';

const DAY = 24 * 3600_000;
let srv: TestServer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-client-certs-'));
before(async () => {
  srv = await startTestServer();
});
after(async () => {
  await srv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

async function createCert(api: Api, name: string) {
  const { csrPem } = await generateAgentKeyAndCsr('whatever-the-client-says');
  const res = await api.post('/api/v1/client-certs', { csrPem, name });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { certPem: string; caPem: string; serial: string; notAfter: string; dockerEndpoint: { host: string; port: number } };
}

async function meId(api: Api): Promise<string> {
  const me = await api.get('/api/v1/auth/me');
  assert.equal(me.status, 200, JSON.stringify(me.body));
  return (me.body.user ?? me.body).id as string;
}

test('a client certificate verifies against the CA, names the user (CN user:<id>, O flotilla-users), clientAuth, one year', async () => {
  const c = await createCert(srv.admin, 'laptop');
  const ca = srv.handle.cluster!.ca;
  assert.equal(c.caPem, ca.certPem);
  const caFile = path.join(tmp, 'ca.pem');
  const certFile = path.join(tmp, 'laptop.pem');
  fs.writeFileSync(caFile, c.caPem);
  fs.writeFileSync(certFile, c.certPem);
  assert.match(openssl(['verify', '-CAfile', caFile, '-purpose', 'sslclient', certFile]), /: OK/);
  const adminId = await meId(srv.admin);
  const text = openssl(['x509', '-noout', '-text', '-nameopt', 'RFC2253'], c.certPem);
  assert.match(text, new RegExp(`Subject: O=flotilla-users,CN=user:${adminId}\\n`), text);
  assert.match(text, /Extended Key Usage:\s+TLS Web Client Authentication\n/);
  assert.doesNotMatch(text, /TLS Web Server Authentication/);
  assert.match(text, /CA:FALSE/);
  assert.match(text, /NIST CURVE: P-256/);
  const serial = openssl(['x509', '-noout', '-serial'], c.certPem).trim().split('=')[1]!.toLowerCase().replace(/^0+/, '');
  assert.equal(c.serial, serial);
  const days = (Date.parse(c.notAfter) - Date.now()) / DAY;
  assert.ok(days > 364 && days < 367, `valid ${days} days`);
  // The endpoint to dial: no FLOTILLA_CLUSTER_ADVERTISE, so the name this request came in on.
  assert.deepEqual(c.dockerEndpoint, { host: '127.0.0.1', port: srv.handle.docker!.port });
  const audit = await srv.admin.get('/api/v1/audit?action=client_cert.create');
  assert.ok(audit.body.some((a: { detail: string | null; result: string }) => a.detail === `serial=${c.serial} name=laptop` && a.result === 'ok'), JSON.stringify(audit.body));
});

test('everyone lists their own certificates; only an admin lists everyone\'s', async () => {
  const viewer = await srv.userWithRole('viewer');
  const mine = await createCert(viewer, 'viewer-box');
  const viewerId = await meId(viewer);
  const text = openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], mine.certPem);
  assert.equal(text.trim(), `subject=O=flotilla-users,CN=user:${viewerId}`);
  const adminCert = await createCert(srv.admin, 'admin-box');

  const list = await viewer.get('/api/v1/client-certs');
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.map((c: { serial: string }) => c.serial), [mine.serial]);
  assert.equal(list.body[0].name, 'viewer-box');
  assert.equal(list.body[0].userId, viewerId);
  assert.equal(list.body[0].revokedAt, null);
  assert.equal(list.body[0].notAfter, mine.notAfter);
  assert.equal((await viewer.get('/api/v1/client-certs?all=1')).status, 403);

  const all = await srv.admin.get('/api/v1/client-certs?all=1');
  const serials = all.body.map((c: { serial: string }) => c.serial);
  assert.ok(serials.includes(mine.serial) && serials.includes(adminCert.serial), JSON.stringify(all.body));
  const adminOwn = await srv.admin.get('/api/v1/client-certs');
  assert.ok(!adminOwn.body.some((c: { serial: string }) => c.serial === mine.serial), 'without ?all=1 an admin sees only their own');
});

test('deleting a certificate revokes it; someone else\'s is not found unless you are an admin', async () => {
  const operator = await srv.userWithRole('operator');
  const own = await createCert(operator, 'ci');
  const adminCert = await createCert(srv.admin, 'admin-ci');
  assert.equal((await operator.request('DELETE', `/api/v1/client-certs/${adminCert.serial}`)).status, 404);
  assert.equal((await operator.request('DELETE', `/api/v1/client-certs/${own.serial}`)).status, 204);
  // Idempotent, and the serial in any case or with leading zeros names the same certificate.
  assert.equal((await operator.request('DELETE', `/api/v1/client-certs/00${own.serial.toUpperCase()}`)).status, 204);
  const listed = (await operator.get('/api/v1/client-certs')).body.find((c: { serial: string }) => c.serial === own.serial);
  assert.ok(listed.revokedAt, 'the list says when it was revoked');
  const crl = await srv.handle.store.revocations.all();
  assert.equal(crl.filter((r) => r.serial === own.serial).length, 1);

  const other = await createCert(operator, 'other');
  assert.equal((await srv.admin.request('DELETE', `/api/v1/client-certs/${other.serial}`)).status, 204, 'an admin revokes anyone\'s');
  assert.ok((await srv.handle.store.userCerts.revokedAt(other.serial)));
  const audit = await srv.admin.get('/api/v1/audit?action=client_cert.revoke');
  assert.ok(audit.body.some((a: { detail: string | null }) => a.detail?.startsWith(`serial=${other.serial} `)), JSON.stringify(audit.body));
  assert.equal((await operator.request('DELETE', '/api/v1/client-certs/not-hex')).status, 400);
});

test('an RSA CSR, a malformed CSR and a missing name are refused with 400', async () => {
  execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(tmp, 'rsa.key'), '-out', path.join(tmp, 'rsa.csr'), '-subj', '/CN=rsa'], { stdio: 'pipe' });
  const rsa = await srv.admin.post('/api/v1/client-certs', { csrPem: fs.readFileSync(path.join(tmp, 'rsa.csr'), 'utf8'), name: 'rsa' });
  assert.equal(rsa.status, 400);
  assert.equal(rsa.body.field, 'csr');
  assert.match(rsa.body.message, /ECDSA P-256, got RSA 2048/);
  const junk = await srv.admin.post('/api/v1/client-certs', { csrPem: 'hello', name: 'junk' });
  assert.equal(junk.status, 400);
  assert.match(junk.body.message, /not PEM/);
  const { csrPem } = await generateAgentKeyAndCsr('x');
  assert.equal((await srv.admin.post('/api/v1/client-certs', { csrPem })).status, 400);
  assert.equal((await srv.admin.post('/api/v1/client-certs', { csrPem, name: 'bad\nname' })).status, 400);
  const anon = await fetch(`${srv.url}/api/v1/client-certs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ csrPem, name: 'x' }) });
  assert.equal(anon.status, 401);
});

test('the endpoint host is the first advertised address; without the Docker endpoint there is no certificate', async () => {
  assert.equal(dockerEndpointHost('flotilla.example.com, 10.0.0.5', '127.0.0.1'), 'flotilla.example.com');
  assert.equal(dockerEndpointHost('[fd00::5]', '127.0.0.1'), 'fd00::5');
  assert.equal(dockerEndpointHost(undefined, 'server.lan'), 'server.lan');
  const advertised = await startTestServer({ FLOTILLA_CLUSTER_ADVERTISE: 'flotilla.example.com,10.0.0.5' });
  try {
    const c = await createCert(advertised.admin, 'adv');
    assert.deepEqual(c.dockerEndpoint, { host: 'flotilla.example.com', port: advertised.handle.docker!.port });
  } finally {
    await advertised.close();
  }
  const noDocker = await startTestServer({ FLOTILLA_DOCKER_ENDPOINT: 'false' });
  try {
    const { csrPem } = await generateAgentKeyAndCsr('x');
    const res = await noDocker.admin.post('/api/v1/client-certs', { csrPem, name: 'x' });
    assert.equal(res.status, 503);
    assert.match(res.body.message, /FLOTILLA_DOCKER_ENDPOINT=false/);
  } finally {
    await noDocker.close();
  }
});
