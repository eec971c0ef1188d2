// Revocation and certificate checks at the handshake and on every call,
// including resumed TLS sessions, and garbage on the wire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import { grpcFrame, rawGrpcCall } from '../helpers/raw-grpc.ts';
import { enroll } from '../../src/agent/enroll.ts';
import { createLogger } from '../../src/log.ts';
import { makePki } from '../transports/certs.ts';
import { StateReport } from '../../src/proto/generated/flotilla.ts';
import type { AgentIdentity } from '../../src/agent/identity.ts';

let al: AgentLab;
before(async () => {
  al = await agentLab();
});
after(() => al?.srv.close());

const REPORT_STATE = '/flotilla.agent.v1.Agent/ReportState';
const emptyReport = () => grpcFrame(Buffer.from(StateReport.encode({ engineId: '', engineVersion: '', apiVersion: '', containersJson: '[]', infoJson: '{}', takenAtMs: 0 }).finish()));

async function enrolled(name: string): Promise<AgentIdentity> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `id-${name}-`));
  return enroll({ serverAddr: al.serverAddr, token: await al.token(), hostName: name, clusterDir: dir, log: createLogger('silent') });
}

test('a revoked agent is refused at the handshake, also when it resumes a TLS session', async () => {
  const id = await enrolled('revokee');
  const t = { ca: id.caPem, cert: id.certPem, key: id.keyPem };
  const first = await rawGrpcCall(al.serverAddr, t, REPORT_STATE, emptyReport());
  assert.equal(first.status, 0, first.message);
  assert.ok(first.session, 'the server issued a session ticket');
  const resumedOk = await rawGrpcCall(al.serverAddr, { ...t, session: first.session }, REPORT_STATE, emptyReport());
  assert.equal(resumedOk.reused, true, 'the session was resumed');
  assert.equal(resumedOk.status, 0);

  const row = await al.srv.handle.fleet.getHostRow('revokee');
  await al.srv.handle.cluster!.revoke(row);
  await al.srv.handle.fleet.removeHost(row.id);

  const fresh = await rawGrpcCall(al.serverAddr, t, REPORT_STATE, emptyReport());
  assert.equal(fresh.dropped, true, `a new handshake with the revoked certificate is dropped (${fresh.message})`);
  const resumed = await rawGrpcCall(al.serverAddr, { ...t, session: resumedOk.session ?? first.session }, REPORT_STATE, emptyReport());
  assert.equal(resumed.reused, true, 'the client did resume its session');
  assert.equal(resumed.dropped, true, 'resuming a session does not get past the revocation list');
  const crl = await al.srv.handle.store.revocations.all();
  assert.ok(crl.some((r) => r.host_name === 'revokee'));
});

test('a removed host\'s certificate is refused on every call', async () => {
  const id = await enrolled('removed');
  const t = { ca: id.caPem, cert: id.certPem, key: id.keyPem };
  assert.equal((await rawGrpcCall(al.serverAddr, t, REPORT_STATE, emptyReport())).status, 0);
  await al.srv.handle.fleet.removeHost('removed');
  const res = await rawGrpcCall(al.serverAddr, t, REPORT_STATE, emptyReport());
  assert.equal(res.status, 7, 'PERMISSION_DENIED');
  assert.match(res.message, /not registered/);
});

test('a client certificate from another CA is dropped at the handshake; none at all cannot call Agent', async () => {
  const foreign = makePki('intruder');
  const res = await rawGrpcCall(al.serverAddr, { ca: al.srv.handle.cluster!.ca.certPem, cert: foreign.clientCert, key: foreign.clientKey }, REPORT_STATE, emptyReport());
  assert.equal(res.dropped, true);
  const anonymous = await rawGrpcCall(al.serverAddr, { ca: al.srv.handle.cluster!.ca.certPem }, REPORT_STATE, emptyReport());
  assert.equal(anonymous.status, 16, 'UNAUTHENTICATED');
  assert.match(anonymous.message, /client certificate/);
});

test('malformed and oversized frames get errors and the server keeps serving', async () => {
  const id = await enrolled('wire');
  const t = { ca: id.caPem, cert: id.certPem, key: id.keyPem };
  const garbage = await rawGrpcCall(al.serverAddr, t, REPORT_STATE, grpcFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
  assert.notEqual(garbage.status, 0, 'garbage protobuf is not accepted');
  assert.ok(garbage.status !== undefined, garbage.message);
  const huge = await rawGrpcCall(al.serverAddr, t, REPORT_STATE, grpcFrame(Buffer.alloc(16), 64 * 1024 * 1024));
  assert.ok(huge.status === 8 || huge.dropped, `oversized: ${huge.status} ${huge.message}`);
  const unknown = await rawGrpcCall(al.serverAddr, t, '/flotilla.agent.v1.Agent/Nope', emptyReport());
  assert.equal(unknown.status, 12, 'UNIMPLEMENTED');
  assert.equal((await rawGrpcCall(al.serverAddr, t, REPORT_STATE, emptyReport())).status, 0, 'still serving');
  assert.equal((await al.srv.admin.get('/readyz')).status, 200);
  await al.srv.handle.fleet.removeHost('wire');
});

test('an agent refused for an expired certificate shows "cert" as its disconnect reason', async () => {
  const { x509, ECDSA_SHA256, P256_ECDSA, generateP256KeyPair, privateKeyToPem } = await import('../../src/cluster/pki/x509.ts');
  const crypto = await import('node:crypto');
  const id = await enrolled('expired');
  const caDir = path.join(al.srv.dataDir, 'cluster');
  const caKeyDer = crypto.createPrivateKey(fs.readFileSync(path.join(caDir, 'ca-key.pem'))).export({ type: 'pkcs8', format: 'der' });
  const caKey = await globalThis.crypto.subtle.importKey('pkcs8', caKeyDer, P256_ECDSA, false, ['sign']);
  const caCert = new x509.X509Certificate(al.srv.handle.cluster!.ca.certPem);
  const keys = await generateP256KeyPair();
  const expired = await x509.X509CertificateGenerator.create({
    serialNumber: '0badcafe', subject: `CN=${id.hostId}`, issuer: caCert.subject,
    notBefore: new Date(Date.now() - 2 * 86400_000), notAfter: new Date(Date.now() - 86400_000),
    signingAlgorithm: ECDSA_SHA256, publicKey: keys.publicKey, signingKey: caKey,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  const res = await rawGrpcCall(al.serverAddr, { ca: id.caPem, cert: expired.toString('pem'), key: privateKeyToPem(keys.privateKey) }, REPORT_STATE, emptyReport());
  assert.equal(res.dropped, true);
  const { waitFor } = await import('../helpers/server.ts');
  const host = await waitFor('cert reason recorded', async () => {
    const h = (await al.srv.admin.get('/api/v1/hosts/expired')).body;
    return h.agent?.disconnectReason === 'cert' && h;
  });
  assert.match(host.statusReason, /expired/);
  await al.srv.handle.fleet.removeHost('expired');
});
