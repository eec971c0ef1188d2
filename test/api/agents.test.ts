// Enrollment tokens, the agent endpoint's status and the agent host actions
// (pause, resume, revoke, ping) over REST, against a real server; the agent
// tests enroll a real in-process agent on the lab's node1 engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labState, sharedNodes } from '../lab/fixture.ts';
import { ADMIN_PASSWORD, apiClient, startTestServer, waitFor, type Api, type TestServer } from '../helpers/server.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer, type ServerHandle } from '../../src/server.ts';
import { startAgent } from '../../src/agent/main.ts';
import { loadAgentConfig } from '../../src/agent/config.ts';
import type { AgentRunner } from '../../src/agent/runner.ts';
import { createLogger } from '../../src/log.ts';

const TOKEN = /^FLT1-[0-9a-f]{64}-[0-9a-f]{64}$/;

let srv: TestServer;
before(async () => {
  srv = await startTestServer();
});
after(() => srv.close());

async function createToken(body: Record<string, unknown> = {}) {
  const res = await srv.admin.post('/api/v1/enroll-tokens', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { token: string; info: { id: string; kind: string; uses_total: number; uses_left: number; expires_at: string; label: string | null; created_by: string }; serverAddr: string; commands: { docker: string; agent: string } };
}

async function addDirectHost(name: string): Promise<void> {
  // A port nothing listens on: the host stays registered without reaching an engine.
  const res = await srv.admin.post('/api/v1/hosts', { name, endpoint: 'tcp://127.0.0.1:1' });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

test('an enrollment token is shown once, with ready-to-run commands, and never listed or audited', async () => {
  const created = await createToken({ label: 'rack 4' });
  assert.match(created.token, TOKEN);
  assert.equal(created.info.kind, 'single');
  assert.equal(created.info.uses_total, 1);
  assert.equal(created.info.uses_left, 1);
  assert.equal(created.info.label, 'rack 4');
  assert.equal(created.info.created_by, 'admin');
  const ttlMs = Date.parse(created.info.expires_at) - Date.now();
  assert.ok(ttlMs > 3500_000 && ttlMs <= 3600_000, `default ttl is an hour, got ${ttlMs} ms`);
  // No FLOTILLA_CLUSTER_ADVERTISE: the address the request came in on, with the agent port.
  assert.equal(created.serverAddr, `127.0.0.1:${srv.handle.cluster!.port}`);
  // The token's fingerprint is the CA's, so the agent can verify the server.
  assert.equal(created.token.split('-')[1], srv.handle.cluster!.ca.fingerprint);

  const { docker, agent } = created.commands;
  assert.match(docker, /^docker run -d --name flotilla-agent --restart unless-stopped /);
  assert.ok(docker.includes(`-e FLOTILLA_ENROLL_TOKEN=${created.token}`), docker);
  assert.ok(docker.includes(`-e FLOTILLA_SERVER_ADDR=${created.serverAddr}`), docker);
  assert.ok(docker.includes('-v /var/run/docker.sock:/var/run/docker.sock') && docker.includes('-e FLOTILLA_MODE=agent'), docker);
  assert.ok(docker.includes('--label flotilla.self=true') && docker.includes('-e FLOTILLA_HOST_NAME=<name>'), docker);
  assert.match(docker, / flotilla\/agent:0\.1\.0$/);
  assert.equal(agent, `FLOTILLA_SERVER_ADDR=${created.serverAddr} FLOTILLA_ENROLL_TOKEN=${created.token} FLOTILLA_HOST_NAME=<name> FLOTILLA_CLUSTER_DIR=/var/lib/flotilla-agent flotilla agent`);

  const list = await srv.admin.get('/api/v1/enroll-tokens');
  assert.equal(list.status, 200);
  assert.ok(!JSON.stringify(list.body).includes(created.token.split('-')[2]!), 'the list shows the secret');
  assert.ok(list.body.some((t: { id: string }) => t.id === created.info.id));

  const audit = await srv.admin.get('/api/v1/audit?action=enroll_token.create');
  const entry = audit.body.find((a: { detail: string | null }) => a.detail?.includes(created.info.id));
  assert.ok(entry, JSON.stringify(audit.body));
  assert.equal(entry.result, 'ok');
  assert.ok(!JSON.stringify(audit.body).includes(created.token.split('-')[2]!), 'the audit log holds the secret');
});

test('a fleet token has many uses and a Swarm global service command', async () => {
  const created = await createToken({ kind: 'fleet', ttlSeconds: 600 });
  assert.equal(created.info.kind, 'fleet');
  assert.equal(created.info.uses_total, 100);
  const { docker } = created.commands;
  assert.match(docker, /^docker service create --mode global --name flotilla-agent /);
  assert.ok(docker.includes('--mount type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock'), docker);
  assert.ok(docker.includes('FLOTILLA_HOST_NAME={{.Node.Hostname}}') && docker.includes(created.token), docker);
  assert.equal((await createToken({ kind: 'fleet', uses: 7 })).info.uses_total, 7);
});

test('token requests are validated and name the field', async () => {
  const single = await srv.admin.post('/api/v1/enroll-tokens', { kind: 'single', uses: 5 });
  assert.equal(single.status, 400);
  assert.equal(single.body.field, 'body.uses');
  assert.match(single.body.message, /uses/);
  const ttl = await srv.admin.post('/api/v1/enroll-tokens', { ttlSeconds: 10 });
  assert.equal(ttl.status, 400);
  assert.equal(ttl.body.field, 'body.ttlSeconds');
  const many = await srv.admin.post('/api/v1/enroll-tokens', { kind: 'fleet', uses: 100_001 });
  assert.equal(many.status, 400);
  assert.equal(many.body.field, 'body.uses');
  const label = await srv.admin.post('/api/v1/enroll-tokens', { label: 'x'.repeat(101) });
  assert.equal(label.status, 400);
});

test('a viewer may list tokens and read the cluster, but not create or delete tokens', async () => {
  const viewer = await srv.userWithRole('viewer');
  const denied = await viewer.post('/api/v1/enroll-tokens', {});
  assert.equal(denied.status, 403);
  assert.match(denied.body.message, /hosts\.manage/);
  assert.equal((await viewer.get('/api/v1/enroll-tokens')).status, 200);
  assert.equal((await viewer.get('/api/v1/cluster')).status, 200);
  const { info } = await createToken();
  assert.equal((await viewer.request('DELETE', `/api/v1/enroll-tokens/${info.id}`)).status, 403);
});

test('deleting a token removes it; a second delete is not found', async () => {
  const { info } = await createToken();
  assert.equal((await srv.admin.request('DELETE', `/api/v1/enroll-tokens/${info.id}`)).status, 204);
  const list = await srv.admin.get('/api/v1/enroll-tokens');
  assert.ok(!list.body.some((t: { id: string }) => t.id === info.id));
  const again = await srv.admin.request('DELETE', `/api/v1/enroll-tokens/${info.id}`);
  assert.equal(again.status, 404);
  assert.match(again.body.message, new RegExp(info.id));
});

test('cluster info gives the port and the CA fingerprint', async () => {
  const res = await srv.admin.get('/api/v1/cluster');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    enabled: true, port: srv.handle.cluster!.port, caFingerprint: srv.handle.cluster!.ca.fingerprint, connectedAgents: 0, advertise: [],
  });
  assert.match(res.body.caFingerprint, /^[0-9a-f]{64}$/);
});

test('pause, resume, revoke and ping apply to agent hosts only; an unknown host is not found', async () => {
  const name = `direct-${process.pid}`;
  await addDirectHost(name);
  try {
    for (const action of ['pause', 'resume', 'revoke', 'ping']) {
      const res = await srv.admin.post(`/api/v1/hosts/${name}/${action}`);
      assert.equal(res.status, 409, `${action}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.message, new RegExp(`${action} applies to agent hosts`));
      const unknown = await srv.admin.post(`/api/v1/hosts/no-such-host/${action}`);
      assert.equal(unknown.status, 404, action);
      assert.match(unknown.body.message, /no-such-host/);
    }
    assert.equal((await srv.admin.get(`/api/v1/hosts/${name}`)).status, 200, 'a refused revoke leaves the host');
  } finally {
    await srv.admin.request('DELETE', `/api/v1/hosts/${name}`);
  }
});

test('with FLOTILLA_CLUSTER=false, token creation answers 503 naming the setting', async () => {
  const off = await startTestServer({ FLOTILLA_CLUSTER: 'false' });
  try {
    const res = await off.admin.post('/api/v1/enroll-tokens', {});
    assert.equal(res.status, 503);
    assert.equal(res.body.message, 'the agent endpoint is disabled (FLOTILLA_CLUSTER=false)');
    const info = await off.admin.get('/api/v1/cluster');
    assert.equal(info.body.enabled, false);
    assert.equal(info.body.caFingerprint, null);
  } finally {
    await off.close();
  }
});

/** A server whose log lines are kept, for tests that look at what the agent endpoint refused. */
async function startLoggedServer(): Promise<{ handle: ServerHandle; admin: Api; logLines: string[]; close(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-agents-'));
  const logLines: string[] = [];
  const config = loadConfig({ FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0' });
  const handle = await startServer(config, createLogger('info', { write: (line: string) => void logLines.push(line) }));
  const setup = await apiClient(handle.url, undefined).post('/api/v1/setup', { setupCode: handle.setupCode, username: 'admin', password: ADMIN_PASSWORD });
  assert.equal(setup.status, 201, JSON.stringify(setup.body));
  const { token } = await handle.store.users.createToken((await handle.store.users.get('admin'))!.id, 'test', undefined);
  return {
    handle, admin: apiClient(handle.url, token), logLines,
    async close() {
      await handle.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const logged = (lines: string[]) => lines.map((l) => JSON.parse(l) as { msg: string; reason?: string; serial?: string });

/** An in-process agent on the lab's node1 engine, enrolled with a token made over REST; its log lines are kept. */
async function enrollAgent(admin: Api, name: string): Promise<{ runner: AgentRunner; logLines: string[]; dir: string }> {
  const node1 = sharedNodes(await labState())[0]!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-api-'));
  const created = await admin.post('/api/v1/enroll-tokens', { label: name });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { token, serverAddr } = created.body as { token: string; serverAddr: string };
  const logLines: string[] = [];
  const log = createLogger('info', { write: (line: string) => void logLines.push(line) });
  const config = loadAgentConfig({
    FLOTILLA_SERVER_ADDR: serverAddr, FLOTILLA_ENROLL_TOKEN: token, FLOTILLA_HOST_NAME: name, FLOTILLA_CLUSTER_DIR: dir, FLOTILLA_DOCKER_HOST: node1.unix,
  });
  const runner = await startAgent(config, log);
  await waitFor(`${name} connected`, async () => (await admin.get(`/api/v1/hosts/${name}`)).body.status === 'connected');
  return { runner, logLines, dir };
}

test('an agent host answers ping, pauses and resumes, and a revoked agent is refused and does not come back', async () => {
  const server = await startLoggedServer();
  const { admin } = server;
  const name = `agent-${process.pid}`;
  const { runner, dir } = await enrollAgent(admin, name);
  try {
    const ping = await admin.post(`/api/v1/hosts/${name}/ping`);
    assert.equal(ping.status, 200, JSON.stringify(ping.body));
    assert.ok(ping.body.rttMs >= 0 && ping.body.rttMs < 5000, JSON.stringify(ping.body));
    assert.ok(Math.abs(ping.body.agentTimeMs - Date.now()) < 5000, 'the agent reports its clock');
    assert.equal((await admin.get('/api/v1/cluster')).body.connectedAgents, 1);

    const paused = await admin.post(`/api/v1/hosts/${name}/pause`);
    assert.equal(paused.status, 200, JSON.stringify(paused.body));
    assert.equal(paused.body.agent.state, 'paused');
    assert.equal((await admin.get(`/api/v1/hosts/${name}`)).body.agent.state, 'paused');
    const resumed = await admin.post(`/api/v1/hosts/${name}/resume`);
    assert.equal(resumed.body.agent.state, 'active');

    const serial = resumed.body.agent.certSerial as string;
    let reconnects = 0;
    runner.on('reconnecting', () => reconnects++);
    const disconnected = new Promise<string>((resolve) => runner.once('disconnected', resolve));
    const revoked = await admin.post(`/api/v1/hosts/${name}/revoke`);
    assert.equal(revoked.status, 204, JSON.stringify(revoked.body));
    assert.equal((await admin.get(`/api/v1/hosts/${name}`)).status, 404);
    await disconnected;
    assert.ok((await server.handle.store.revocations.all()).some((r) => r.serial === serial), 'the serial is in the CRL');

    // The agent keeps trying; the endpoint refuses each attempt at the handshake.
    await waitFor('a refused reconnect', async () => reconnects >= 2
      && logged(server.logLines).some((l) => l.msg === 'refused a revoked certificate at the handshake' && l.serial === serial), 10_000);
    assert.equal((await admin.get(`/api/v1/hosts/${name}`)).status, 404, 'the revoked host came back');
    assert.ok(!(await admin.get('/api/v1/hosts')).body.some((h: { name: string }) => h.name === name));
    assert.equal(server.handle.cluster!.isConnected(resumed.body.id), false);
    const audit = await admin.get('/api/v1/audit?action=host.revoke');
    assert.ok(audit.body.some((a: { target: string; result: string }) => a.target === `host=${name}` && a.result === 'ok'));
  } finally {
    await runner.stop();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('removing an agent host ends its channel and its reconnects are refused', async () => {
  const name = `agent-rm-${process.pid}`;
  const { runner, logLines, dir } = await enrollAgent(srv.admin, name);
  try {
    const disconnected = new Promise<string>((resolve) => runner.once('disconnected', resolve));
    assert.equal((await srv.admin.request('DELETE', `/api/v1/hosts/${name}`)).status, 204);
    await disconnected;
    // The certificate is still valid, so the handshake passes and the channel call says why it is refused.
    await waitFor('a refused reconnect', async () => logged(logLines)
      .some((l) => l.msg === 'reconnecting to the server' && /not registered/.test(l.reason ?? '')), 10_000);
    assert.equal((await srv.admin.get(`/api/v1/hosts/${name}`)).status, 404);
  } finally {
    await runner.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ping to an agent that is not connected answers 502 naming the host', async () => {
  const name = `agent-off-${process.pid}`;
  const { runner, dir } = await enrollAgent(srv.admin, name);
  let stopped = false;
  try {
    await runner.stop();
    stopped = true;
    // The session is what ping needs; the stored status can lag (a sync finishing after the stop writes "connected").
    const { id } = (await srv.admin.get(`/api/v1/hosts/${name}`)).body as { id: string };
    await waitFor(`${name} session closed`, async () => !srv.handle.cluster!.isConnected(id));
    const ping = await srv.admin.post(`/api/v1/hosts/${name}/ping`);
    assert.equal(ping.status, 502, JSON.stringify(ping.body));
    assert.equal(ping.body.host, name);
    assert.match(ping.body.message, /not connected/);
  } finally {
    if (!stopped) await runner.stop();
    await srv.admin.request('DELETE', `/api/v1/hosts/${name}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
