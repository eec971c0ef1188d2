// The built-in CA and the agent's CSR with real crypto, cross-checked with the openssl CLI.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type net from 'node:net';
import { InvalidCsr, PkiFileCorrupt, loadOrCreateCa, notAfterOf, serialOf } from '../../src/cluster/ca.ts';
import { generateAgentKeyAndCsr } from '../../src/cluster/csr.ts';
import { serverSans } from '../../src/cluster/server-sans.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-pki-ca-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => path.join(root, `case-${++counter}`, 'cluster');
const DAY = 24 * 3600_000;

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}
function writeTemp(name: string, content: string): string {
  const file = path.join(root, `${++counter}-${name}`);
  fs.writeFileSync(file, content);
  return file;
}
const mode = (file: string): number => fs.statSync(file).mode & 0o777;
const text = (pem: string): string => openssl(['x509', '-noout', '-text'], pem);

// One CA for the tests that only need "a CA".
const shared = loadOrCreateCa(freshDir());

test('the CA is created once and reloaded with the same fingerprint; key 0600, directory 0700', async () => {
  const dir = freshDir();
  const first = await loadOrCreateCa(dir);
  const again = await loadOrCreateCa(dir);
  assert.match(first.fingerprint, /^[0-9a-f]{64}$/);
  assert.equal(again.fingerprint, first.fingerprint);
  assert.equal(again.certPem, first.certPem);
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(path.join(dir, 'ca-key.pem')), 0o600);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ca-key.pem', 'ca.pem'], 'no temp files left behind');
  // The fingerprint is the one openssl computes over the DER.
  const sslFp = openssl(['x509', '-noout', '-fingerprint', '-sha256'], first.certPem).split('=')[1]!.trim().replaceAll(':', '').toLowerCase();
  assert.equal(first.fingerprint, sslFp);
});

test('the CA is a self-signed P-256 CA valid for about 10 years', async () => {
  const ca = await shared;
  const t = text(ca.certPem);
  assert.match(t, /Subject: CN = Flotilla Cluster CA [0-9a-f]{8}, O = Flotilla/);
  assert.match(t, /NIST CURVE: P-256/);
  assert.match(t, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  assert.match(t, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  assert.match(t, /Signature Algorithm: ecdsa-with-SHA256/);
  const cert = new (await import('node:crypto')).X509Certificate(ca.certPem);
  const days = (cert.validToDate.getTime() - Date.now()) / DAY;
  assert.ok(days > 3650 - 1 && days < 3653 + 1, `CA valid ${days} days`);
  assert.match(openssl(['verify', '-CAfile', writeTemp('ca.pem', ca.certPem), writeTemp('ca2.pem', ca.certPem)]), /OK/);
});

test('a corrupt or mismatched CA pair is refused with an error naming the file', async () => {
  const dir = freshDir();
  await loadOrCreateCa(dir);
  const keyFile = path.join(dir, 'ca-key.pem');
  const goodKey = fs.readFileSync(keyFile, 'utf8');

  fs.writeFileSync(keyFile, 'not a key');
  await assert.rejects(loadOrCreateCa(dir), (err: Error) => err instanceof PkiFileCorrupt && err.message.includes(keyFile) && /not a readable private key/.test(err.message));

  const other = freshDir();
  await loadOrCreateCa(other);
  fs.writeFileSync(keyFile, fs.readFileSync(path.join(other, 'ca-key.pem')));
  await assert.rejects(loadOrCreateCa(dir), (err: Error) => err.message.includes(keyFile) && /does not belong to/.test(err.message));

  fs.writeFileSync(keyFile, goodKey);
  fs.writeFileSync(path.join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  await assert.rejects(loadOrCreateCa(dir), (err: Error) => err.message.includes(path.join(dir, 'ca.pem')));
});

test('an existing CA key is never overwritten, even when its certificate is missing', async () => {
  const dir = freshDir();
  await loadOrCreateCa(dir);
  const keyFile = path.join(dir, 'ca-key.pem');
  const before = fs.readFileSync(keyFile);
  fs.rmSync(path.join(dir, 'ca.pem'));
  await assert.rejects(loadOrCreateCa(dir), (err: Error) => err instanceof PkiFileCorrupt && err.message.includes(path.join(dir, 'ca.pem')) && /is missing/.test(err.message));
  assert.deepEqual(fs.readFileSync(keyFile), before);
});

test('the agent CSR passes openssl req -verify and carries CN=host name and a P-256 PKCS#8 key', async () => {
  const { keyPem, csrPem } = await generateAgentKeyAndCsr('worker-1');
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/);
  const out = openssl(['req', '-verify', '-noout', '-subject', '-in', writeTemp('agent.csr', csrPem)]);
  assert.match(out, /subject=CN = worker-1/);
  assert.match(openssl(['pkey', '-noout', '-text', '-in', writeTemp('agent.key', keyPem)]), /NIST CURVE: P-256/);
});

test('an agent certificate has CN = host id, clientAuth only, 1 year; openssl verify accepts it', async () => {
  const ca = await shared;
  const { csrPem } = await generateAgentKeyAndCsr('name-the-agent-chose');
  const issued = await ca.signAgentCsr(csrPem, { hostId: 'host-0d6f' });
  const t = text(issued.certPem);
  assert.match(t, /Subject: CN = host-0d6f\n/, 'the server decides the identity, not the CSR');
  assert.match(t, /Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
  assert.doesNotMatch(t, /Server Authentication/);
  assert.match(t, /Key Usage: critical\s+Digital Signature\n/);
  assert.match(t, /CA:FALSE/);
  const caFile = writeTemp('ca.pem', ca.certPem);
  assert.match(openssl(['verify', '-CAfile', caFile, '-purpose', 'sslclient', writeTemp('agent.pem', issued.certPem)]), /: OK/);
  const days = (issued.notAfter.getTime() - Date.now()) / DAY;
  assert.ok(days > 364 && days < 367, `agent cert valid ${days} days`);
  assert.match(issued.serial, /^[1-9a-f][0-9a-f]*$/);
  assert.ok(issued.serial.length >= 24 && issued.serial.length <= 32, issued.serial);
  const sslSerial = openssl(['x509', '-noout', '-serial'], issued.certPem).split('=')[1]!.trim().toLowerCase().replace(/^0+/, '');
  assert.equal(issued.serial, sslSerial);
  assert.equal(serialOf(issued.certPem), issued.serial);
  assert.equal(ca.serialOf(issued.certPem), issued.serial);
  assert.equal(notAfterOf(issued.certPem).getTime(), issued.notAfter.getTime());
  assert.equal(ca.verifyIssued(issued.certPem), true);
});

test('serials of issued certificates differ', async () => {
  const ca = await shared;
  const { csrPem } = await generateAgentKeyAndCsr('w');
  const serials = await Promise.all(Array.from({ length: 8 }, (_, i) => ca.signAgentCsr(csrPem, { hostId: `h${i}` }).then((c) => c.serial)));
  assert.equal(new Set(serials).size, serials.length);
});

test('a CSR with an RSA or P-384 key is refused with a message naming the key', async () => {
  const ca = await shared;
  const rsa = openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(root, 'rsa.key'), '-subj', '/CN=rsa']);
  await assert.rejects(ca.signAgentCsr(rsa, { hostId: 'h' }), (err: Error) => err instanceof InvalidCsr && err.message === 'CSR key must be ECDSA P-256, got RSA 2048');
  const p384 = openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', path.join(root, 'p384.key'), '-subj', '/CN=p384']);
  await assert.rejects(ca.signAgentCsr(p384, { hostId: 'h' }), { message: 'CSR key must be ECDSA P-256, got EC P-384' });
});

test('a CSR whose signed content was tampered with is refused', async () => {
  const ca = await shared;
  const { csrPem } = await generateAgentKeyAndCsr('agent-aaaa');
  const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = der.indexOf('agent-aaaa');
  assert.ok(at > 0);
  der.write('agent-bbbb', at); // same length: still a well-formed CSR, but the signature no longer covers it
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
  // openssl 3.0 exits 0 here and only says so, hence reading its output.
  const ssl = spawnSync('openssl', ['req', '-verify', '-noout', '-in', writeTemp('tampered.csr', tampered)], { encoding: 'utf8' });
  assert.match(ssl.stdout + ssl.stderr, /verify failure/, 'openssl agrees the signature is broken');
  await assert.rejects(ca.signAgentCsr(tampered, { hostId: 'h' }), (err: Error) => err instanceof InvalidCsr && err.message === 'CSR signature does not verify');
});

test('garbage is refused as a malformed CSR', async () => {
  const ca = await shared;
  const garbage = [
    'hello',
    '',
    '-----BEGIN CERTIFICATE REQUEST-----\nnot base64 at all!\n-----END CERTIFICATE REQUEST-----\n',
    '-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAA\n-----END CERTIFICATE REQUEST-----\n',
    ca.certPem, // a certificate is not a request
  ];
  for (const input of garbage) {
    await assert.rejects(ca.signAgentCsr(input, { hostId: 'h' }), (err: Error) => err instanceof InvalidCsr && /^CSR is (not PEM|malformed)/.test(err.message), JSON.stringify(input.slice(0, 40)));
  }
  const { csrPem } = await generateAgentKeyAndCsr('w');
  await assert.rejects(ca.signAgentCsr(csrPem, { hostId: '' }), /hostId must be/);
});

test('the server certificate carries the wanted SANs, serverAuth and clientAuth, 1 year', async () => {
  const ca = await shared;
  const interfaces = { eth0: [{ address: '10.1.2.3', family: 'IPv4', internal: false, netmask: '255.0.0.0', mac: '', cidr: null }] } as unknown as NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  const sans = serverSans('flotilla.example.com, 203.0.113.7', interfaces);
  const issued = await ca.issueServerCert({ sans });
  const t = text(issued.certPem);
  for (const san of ['DNS:localhost', 'DNS:flotilla.example.com', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'IP Address:10.1.2.3', 'IP Address:203.0.113.7']) {
    assert.ok(t.includes(san), `${san} in\n${t}`);
  }
  assert.match(t, /TLS Web Server Authentication, TLS Web Client Authentication/);
  assert.match(t, /Key Usage: critical\s+Digital Signature\n/);
  const caFile = writeTemp('ca.pem', ca.certPem);
  assert.match(openssl(['verify', '-CAfile', caFile, '-purpose', 'sslserver', writeTemp('server.pem', issued.certPem)]), /: OK/);
  const days = (issued.notAfter.getTime() - Date.now()) / DAY;
  assert.ok(days > 364 && days < 367, `server cert valid ${days} days`);
  assert.match(openssl(['pkey', '-noout', '-text', '-in', writeTemp('server.key', issued.keyPem)]), /NIST CURVE: P-256/);
});

test('verifyIssued refuses certificates of another CA and garbage', async () => {
  const ca = await shared;
  const other = await loadOrCreateCa(freshDir());
  const { csrPem } = await generateAgentKeyAndCsr('w');
  const foreign = await other.signAgentCsr(csrPem, { hostId: 'h' });
  assert.equal(ca.verifyIssued(foreign.certPem), false);
  assert.equal(ca.verifyIssued('garbage'), false);
  assert.equal(ca.verifyIssued(ca.certPem), true, 'the CA certificate is signed by itself');
});

test('server and agent certificates complete a mutual TLS 1.3 handshake', async (t) => {
  const ca = await shared;
  const server = await ca.issueServerCert({ sans: { dns: ['localhost'], ips: ['127.0.0.1'] } });
  const agent = await generateAgentKeyAndCsr('worker-9');
  const agentCert = await ca.signAgentCsr(agent.csrPem, { hostId: 'host-9' });
  const srv = tls.createServer({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (socket) => {
    socket.end(`hello ${socket.getPeerX509Certificate()?.subject}`);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => srv.close());
  const port = (srv.address() as net.AddressInfo).port;
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: agentCert.certPem, key: agent.keyPem, minVersion: 'TLSv1.3' });
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  assert.equal(reply, 'hello CN=host-9');
});
