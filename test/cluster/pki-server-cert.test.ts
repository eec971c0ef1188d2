// Server certificate SANs (FLOTILLA_CLUSTER_ADVERTISE, host interfaces) and the
// server.pem keeper that reissues when SANs, CA or expiry require it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateCa } from '../../src/cluster/ca.ts';
import { ensureServerCert } from '../../src/cluster/pki-files.ts';
import { serverSans } from '../../src/cluster/server-sans.ts';
import { ConfigError } from '../../src/config.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-pki-server-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => path.join(root, `case-${++counter}`);

type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;
function interfaces(byName: Record<string, string[]>): Interfaces {
  const entry = (address: string) => ({ address, family: address.includes(':') ? 'IPv6' : 'IPv4', internal: false, netmask: '', mac: '', cidr: null });
  return Object.fromEntries(Object.entries(byName).map(([name, addresses]) => [name, addresses.map(entry)])) as unknown as Interfaces;
}
const sansOf = (pem: string): string => execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], { input: pem, encoding: 'utf8' });

test('SANs always hold the loopback names and every private interface address, not public or link-local ones', () => {
  const sans = serverSans(undefined, interfaces({
    lo: ['127.0.0.1', '::1'],
    eth0: ['10.0.0.5', '203.0.113.9', 'fe80::1'],
    eth1: ['172.20.1.1', '192.168.1.10', '172.32.0.1', '169.254.3.3'],
    tailscale0: ['100.101.102.103', 'fd7a:115c:a1e0::1'],
    docker0: ['10.0.0.5'],
  }));
  assert.deepEqual(sans, {
    dns: ['localhost'],
    ips: ['10.0.0.5', '100.101.102.103', '127.0.0.1', '172.20.1.1', '192.168.1.10', '::1', 'fd7a:115c:a1e0::1'],
  });
});

test('the real host interfaces yield at least the loopback SANs', () => {
  const sans = serverSans(undefined);
  assert.ok(sans.dns.includes('localhost'));
  assert.ok(sans.ips.includes('127.0.0.1') && sans.ips.includes('::1'));
});

test('FLOTILLA_CLUSTER_ADVERTISE entries become IP or DNS SANs, normalized, deduplicated and sorted', () => {
  const sans = serverSans(' flotilla.Example.com., 100.64.0.5,FD00:0:0::5 ,[fd00::6],, 127.0.0.1,localhost,b.example', interfaces({}));
  assert.deepEqual(sans, {
    dns: ['b.example', 'flotilla.example.com', 'localhost'],
    ips: ['100.64.0.5', '127.0.0.1', '::1', 'fd00::5', 'fd00::6'],
  });
  assert.deepEqual(serverSans('', interfaces({})), { dns: ['localhost'], ips: ['127.0.0.1', '::1'] });
});

test('a bad FLOTILLA_CLUSTER_ADVERTISE entry stops start-up naming the variable and the entry', () => {
  const cases: Array<[string, RegExp]> = [
    ['ok.example,bad_name!', /"bad_name!" is neither an IP address nor a valid DNS name/],
    ['flotilla.example.com:9443', /"flotilla.example.com:9443" has a port/],
    ['300.1.1.1', /"300.1.1.1" looks like an IP address but is not a valid one/],
    ['fe80::1%eth0', /"fe80::1%eth0" has an IPv6 zone id/],
    ['-leading.example', /"-leading.example" is neither/],
    [`${'a'.repeat(64)}.example`, /is neither/],
    ['http://x.example', /"http:\/\/x.example"/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => serverSans(value, interfaces({})), (err: Error) => {
      assert.ok(err instanceof ConfigError, value);
      assert.match(err.message, /^FLOTILLA_CLUSTER_ADVERTISE: entry /);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('the server certificate is issued once, kept while valid, and served with the CA chain', async () => {
  const dir = freshDir();
  const ca = await loadOrCreateCa(dir);
  const sans = serverSans('flotilla.example.com,100.64.0.5', interfaces({ eth0: ['10.9.8.7'] }));
  const first = await ensureServerCert(dir, ca, sans);
  assert.equal(first.reissued, true);
  assert.equal(first.reason, 'missing');
  assert.equal(fs.statSync(path.join(dir, 'server-key.pem')).mode & 0o777, 0o600);
  const certs = first.certPem.match(/-----BEGIN CERTIFICATE-----/g) ?? [];
  assert.equal(certs.length, 2, 'leaf + CA');
  assert.ok(first.certPem.trimEnd().endsWith(ca.certPem.trimEnd()));
  const san = sansOf(first.certPem);
  for (const want of ['DNS:flotilla.example.com', 'IP Address:100.64.0.5', 'IP Address:10.9.8.7', 'DNS:localhost']) assert.ok(san.includes(want), san);
  const again = await ensureServerCert(dir, ca, sans);
  assert.equal(again.reissued, false);
  assert.equal(again.certPem, first.certPem);
  assert.equal(again.keyPem, first.keyPem);
  assert.ok(new crypto.X509Certificate(again.certPem).checkPrivateKey(crypto.createPrivateKey(again.keyPem)));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ca-key.pem', 'ca.pem', 'server-key.pem', 'server.pem'], 'no temp files left behind');
});

test('the server certificate is reissued when a wanted SAN is added, not when one goes away', async () => {
  const dir = freshDir();
  const ca = await loadOrCreateCa(dir);
  const before = await ensureServerCert(dir, ca, serverSans('a.example', interfaces({})));
  const fewer = await ensureServerCert(dir, ca, serverSans(undefined, interfaces({})));
  assert.equal(fewer.reissued, false, 'extra SANs do no harm');
  const more = await ensureServerCert(dir, ca, serverSans('a.example,new.example,fd00::9', interfaces({})));
  assert.equal(more.reissued, true);
  assert.equal(more.reason, 'SANs missing: new.example, fd00::9');
  assert.notEqual(more.certPem, before.certPem);
  assert.match(sansOf(more.certPem), /DNS:new\.example/);
});

test('the server certificate is reissued when the CA changes', async () => {
  const dir = freshDir();
  const sans = serverSans(undefined, interfaces({}));
  const oldCa = await loadOrCreateCa(dir);
  await ensureServerCert(dir, oldCa, sans);
  // The CA directory was lost and recreated: a new CA, the old server.pem still there.
  fs.rmSync(path.join(dir, 'ca.pem'));
  fs.rmSync(path.join(dir, 'ca-key.pem'));
  const newCa = await loadOrCreateCa(dir);
  assert.notEqual(newCa.fingerprint, oldCa.fingerprint);
  const after = await ensureServerCert(dir, newCa, sans);
  assert.equal(after.reissued, true);
  assert.equal(after.reason, 'not issued by the current CA, or not valid now');
  assert.equal(newCa.verifyIssued(after.certPem), true);
});

test('the server certificate is reissued when it expires within 30 days or its key does not match', async () => {
  const dir = freshDir();
  const ca = await loadOrCreateCa(dir);
  const sans = serverSans(undefined, interfaces({}));
  // A certificate signed by the same CA with openssl, valid only 10 more days.
  const ext = path.join(dir, 'ext.cnf');
  fs.writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth,clientAuth\n');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=short'], { cwd: dir, stdio: 'pipe' });
  execFileSync('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-days', '10', '-set_serial', '7', '-extfile', ext, '-out', 'server.pem'], { cwd: dir, stdio: 'pipe' });
  const renewed = await ensureServerCert(dir, ca, sans);
  assert.equal(renewed.reissued, true);
  assert.equal(renewed.reason, 'expires within 30 days');

  fs.writeFileSync(path.join(dir, 'server-key.pem'), (await ca.issueServerCert({ sans })).keyPem);
  const rematched = await ensureServerCert(dir, ca, sans);
  assert.equal(rematched.reissued, true);
  assert.equal(rematched.reason, 'key does not match certificate');

  fs.writeFileSync(path.join(dir, 'server.pem'), 'garbage');
  assert.equal((await ensureServerCert(dir, ca, sans)).reason, 'unreadable');
});
