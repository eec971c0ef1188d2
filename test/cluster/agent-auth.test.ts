// The agent endpoint and user certificates: the same CA signs both, so the TLS
// layer accepts a user's; the per-call check must refuse it as an agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { grpcFrame, rawGrpcCall } from '../helpers/raw-grpc.ts';
import { generateAgentKeyAndCsr } from '../../src/cluster/csr.ts';
import { AgentAuth } from '../../src/cluster/agent-auth.ts';
import { StateReport } from '../../src/proto/generated/flotilla.ts';
import type { Store } from '../../src/store/index.ts';

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(() => srv.close());

const REPORT_STATE = '/flotilla.agent.v1.Agent/ReportState';
const PERMISSION_DENIED = 7;
const emptyReport = () => grpcFrame(Buffer.from(StateReport.encode({ engineId: '', engineVersion: '', apiVersion: '', containersJson: '[]', infoJson: '{}', takenAtMs: 0 }).finish()));

test('a user certificate cannot act as an agent on the agent endpoint', async () => {
  const { keyPem, csrPem } = await generateAgentKeyAndCsr('sneaky');
  const res = await srv.admin.post('/api/v1/client-certs', { csrPem, name: 'sneaky' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const ca = srv.handle.cluster!.ca;
  const call = await rawGrpcCall(`127.0.0.1:${srv.handle.cluster!.port}`, { ca: ca.certPem, cert: res.body.certPem, key: keyPem }, REPORT_STATE, emptyReport());
  assert.equal(call.status, PERMISSION_DENIED, call.message);
  assert.equal(call.message, `certificate ${res.body.serial}: a user certificate cannot act as an agent`);
});

test('hostOf refuses a user subject by either attribute before looking anything up', async () => {
  // No store behind it: the refusal must come first.
  const auth = new AgentAuth({} as Store);
  const peer = (subject: Record<string, string>) => ({
    getAuthContext: () => ({ sslPeerCertificate: { subject, serialNumber: '0ABC', valid_to: 'Jan  1 00:00:00 2099 GMT' } as never }),
  });
  const subjects: Array<Record<string, string>> = [{ CN: 'user:42', O: 'flotilla-users' }, { CN: 'user:42' }, { CN: 'host-id', O: 'flotilla-users' }];
  for (const subject of subjects) {
    await assert.rejects(auth.hostOf(peer(subject)), (err: Error & { code?: number }) => {
      assert.equal(err.code, PERMISSION_DENIED);
      assert.equal(err.message, 'certificate abc: a user certificate cannot act as an agent');
      return true;
    }, JSON.stringify(subject));
  }
});
