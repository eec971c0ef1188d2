// Enrollment tokens: format, strict parsing, the HMAC key, and the agent-side check that
// the server it dialled holds the CA the token names (no trust on first use).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type net from 'node:net';
import { loadOrCreateCa } from '../../src/cluster/ca.ts';
import { generateAgentKeyAndCsr } from '../../src/cluster/csr.ts';
import {
  InvalidToken, PkiFileCorrupt, TokenHasher, UntrustedServer, caFingerprintOfPem, mintToken, parseToken, verifyServerChain,
} from '../../src/cluster/enroll-token.ts';
import { ensureServerCert } from '../../src/cluster/pki-files.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-enroll-token-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => path.join(root, `case-${++counter}`);
const FP = 'ab'.repeat(32);
const SECRET = '0123456789abcdef'.repeat(4);

test('a minted token parses back to its CA fingerprint and secret', () => {
  const { token, secret } = mintToken(FP.toUpperCase());
  assert.match(token, /^FLT1-[0-9a-f]{64}-[0-9a-f]{64}$/);
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.deepEqual(parseToken(token), { caFingerprint: FP, secret });
  assert.deepEqual(parseToken(`  ${token.toUpperCase()}\n`), { caFingerprint: FP, secret }, 'case and surrounding whitespace from a paste do not matter');
  assert.notEqual(mintToken(FP).secret, secret, 'each token has its own secret');
  assert.throws(() => mintToken('abc'), InvalidToken);
});

test('every malformed token is refused with a message saying what is wrong', () => {
  const cases: Array<[string, string]> = [
    ['', 'token is empty: expected FLT1-<64 hex CA fingerprint>-<64 hex secret>'],
    [SECRET, 'this is a bare 64-hex secret; Flotilla tokens look like FLT1-<64 hex CA fingerprint>-<64 hex secret>: copy the whole token'],
    [`SWMTKN-1-${FP}-${SECRET}`, 'token must start with "FLT1-", got "SWMTKN": expected FLT1-<64 hex CA fingerprint>-<64 hex secret>'],
    [`FLT2-${FP}-${SECRET}`, 'token must start with "FLT1-", got "FLT2": expected FLT1-<64 hex CA fingerprint>-<64 hex secret>'],
    [`${SECRET}${SECRET}`, 'token must start with "FLT1-": expected FLT1-<64 hex CA fingerprint>-<64 hex secret>'],
    [`FLT1-${FP.slice(0, 30)}`, 'token too short: expected FLT1-<64 hex CA fingerprint>-<64 hex secret> (134 characters), got 35'],
    [`FLT1-${FP}-${SECRET.slice(0, 40)}`, 'token too short: expected 64 hex characters for the secret, got 40'],
    [`FLT1-${FP}-${SECRET}00`, 'token too long: expected 64 hex characters for the secret, got 66'],
    [`FLT1-${FP.slice(2)}-${SECRET}`, 'token too short: expected 64 hex characters for the CA fingerprint, got 62'],
    [`FLT1-${FP}-${SECRET.slice(1)}g`, "token's secret is not hexadecimal (only 0-9 and a-f are allowed)"],
    [`FLT1-${FP.slice(1)}z-${SECRET}`, "token's CA fingerprint is not hexadecimal (only 0-9 and a-f are allowed)"],
    [`FLT1-${FP}-${SECRET}-${SECRET}`, "token has 4 '-'-separated parts, expected 3: FLT1-<64 hex CA fingerprint>-<64 hex secret>"],
    [`FLT1-${FP}-${SECRET.slice(0, 32)} ${SECRET.slice(32)}`, "token too long: expected 64 hex characters for the secret, got 65"],
  ];
  for (const [token, message] of cases) {
    assert.throws(() => parseToken(token), (err: Error) => {
      assert.ok(err instanceof InvalidToken, token);
      assert.equal(err.message, message);
      assert.equal((err as InvalidToken).field, 'token');
      return true;
    });
  }
});

test('the HMAC key is created 0600 with 32 random bytes and reused afterwards', async () => {
  const file = path.join(freshDir(), 'cluster', 'hmac-key.bin');
  const hasher = await TokenHasher.loadOrCreate(file);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  const key = fs.readFileSync(file);
  assert.equal(key.length, 32);
  const again = await TokenHasher.loadOrCreate(file);
  assert.deepEqual(fs.readFileSync(file), key, 'not overwritten');
  assert.equal(again.digest(SECRET), hasher.digest(SECRET));
  const elsewhere = await TokenHasher.loadOrCreate(path.join(freshDir(), 'hmac-key.bin'));
  assert.notEqual(elsewhere.digest(SECRET), hasher.digest(SECRET), 'the digest depends on the server-local key');
});

test('digests differ per secret and match only their own secret', async () => {
  const hasher = await TokenHasher.loadOrCreate(path.join(freshDir(), 'hmac-key.bin'));
  const a = mintToken(FP).secret;
  const b = mintToken(FP).secret;
  assert.match(hasher.digest(a), /^[0-9a-f]{64}$/);
  assert.notEqual(hasher.digest(a), hasher.digest(b));
  assert.notEqual(hasher.digest(a), a, 'the secret itself is never the stored value');
  assert.equal(hasher.matches(a, hasher.digest(a)), true);
  assert.equal(hasher.matches(a.toUpperCase(), hasher.digest(a)), true);
  assert.equal(hasher.matches(b, hasher.digest(a)), false);
  assert.equal(hasher.matches(a, 'not a digest'), false);
  assert.equal(hasher.matches(a, hasher.digest(a).slice(0, 62)), false);
});

test('a damaged HMAC key file is refused naming the file', async () => {
  const file = path.join(freshDir(), 'hmac-key.bin');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'short');
  await assert.rejects(TokenHasher.loadOrCreate(file), (err: Error) => err instanceof PkiFileCorrupt && err.message.startsWith(file));
});

test('verifyServerChain accepts the chain of the CA the token names and returns that CA', async () => {
  const dir = freshDir();
  const ca = await loadOrCreateCa(dir);
  const { certPem } = await ensureServerCert(dir, ca, { dns: ['localhost'], ips: ['127.0.0.1'] });
  const chain = certPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g)!;
  const { caFingerprint } = parseToken(mintToken(ca.fingerprint).token);
  assert.equal(caFingerprintOfPem(ca.certPem), ca.fingerprint);
  assert.equal(verifyServerChain(chain, caFingerprint).caPem, ca.certPem);
  assert.equal(verifyServerChain(chain, caFingerprint.toUpperCase(), { serverName: '127.0.0.1' }).caPem, ca.certPem);
  assert.equal(verifyServerChain(chain, caFingerprint, { serverName: 'localhost' }).caPem, ca.certPem);
  assert.throws(() => verifyServerChain(chain, caFingerprint, { serverName: 'flotilla.example.com' }), /does not cover "flotilla.example.com": add it to FLOTILLA_CLUSTER_ADVERTISE/);
  assert.throws(() => verifyServerChain(chain, caFingerprint, { now: new Date(Date.now() + 400 * 24 * 3600_000) }), /not valid now/);
});

test('verifyServerChain refuses a server whose chain comes from another CA', async () => {
  const ours = await loadOrCreateCa(freshDir());
  const otherDir = freshDir();
  const theirs = await loadOrCreateCa(otherDir);
  const foreign = await ensureServerCert(otherDir, theirs, { dns: ['localhost'], ips: [] });
  const foreignChain = foreign.certPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g)!;
  const expected = `the server presented no certificate with fingerprint ${ours.fingerprint}: this is not the Flotilla server that minted the token (or its CA was regenerated)`;
  assert.throws(() => verifyServerChain(foreignChain, ours.fingerprint), (err: Error) => err instanceof UntrustedServer && err.message === expected);
  // An impostor that appends our (public) CA certificate to its own leaf still fails: the leaf is not ours.
  assert.throws(() => verifyServerChain([foreignChain[0]!, ours.certPem], ours.fingerprint), /not signed by the CA the token names/);
  // Presenting only the CA certificate proves nothing about a server key.
  assert.throws(() => verifyServerChain([ours.certPem], ours.fingerprint), /presented a CA certificate as its own/);
  assert.throws(() => verifyServerChain([], ours.fingerprint), /presented no certificate/);
  // A token naming a leaf's fingerprint does not turn that leaf into a trust anchor.
  const { csrPem } = await generateAgentKeyAndCsr('a');
  const agentCert = (await ours.signAgentCsr(csrPem, { hostId: 'h' })).certPem;
  assert.throws(() => verifyServerChain([agentCert], caFingerprintOfPem(agentCert)), /matching the token fingerprint is not a CA certificate/);
});

test('an agent dialling the real TLS endpoint finds the CA by the token fingerprint', async (t) => {
  const dir = freshDir();
  const ca = await loadOrCreateCa(dir);
  const server = await ensureServerCert(dir, ca, { dns: ['localhost'], ips: ['127.0.0.1'] });
  const srv = tls.createServer({ cert: server.certPem, key: server.keyPem, minVersion: 'TLSv1.3' }, (socket) => socket.end());
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => srv.close());
  const port = (srv.address() as net.AddressInfo).port;
  // Before enrollment the agent has no CA, so it reads the chain itself instead of letting TLS judge it.
  const chain = await new Promise<string[]>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const pems: string[] = [];
      for (let cert = socket.getPeerX509Certificate(); cert; cert = cert.issuerCertificate ?? undefined) {
        pems.push(cert.toString());
        if (cert.checkIssued(cert)) break; // self-signed: the end of the chain
      }
      socket.destroy();
      resolve(pems);
    });
    socket.on('error', reject);
  });
  assert.equal(chain.length, 2);
  const { caFingerprint } = parseToken(mintToken(ca.fingerprint).token);
  assert.equal(verifyServerChain(chain, caFingerprint, { serverName: '127.0.0.1' }).caPem, ca.certPem);
});
