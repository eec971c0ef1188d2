// The channel's life: reconnect backoff, a stale stream replaced, silence and a
// cut network noticed, renewal, and a regenerated server CA reported once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import { startTestServer, waitFor } from '../helpers/server.ts';
import { freePort } from '../helpers/server-process.ts';
import { lab as labOps } from '../lab/fixture.ts';
import { Backoff } from '../../src/agent/backoff.ts';
import { enroll } from '../../src/agent/enroll.ts';
import { AgentRunner } from '../../src/agent/runner.ts';
import { loadAgentConfig } from '../../src/agent/config.ts';
import { agentClient } from '../../src/agent/grpc-client.ts';
import { createLogger } from '../../src/log.ts';
import type { ServerMessage } from '../../src/proto/generated/flotilla.ts';

let al: AgentLab;
before(async () => {
  al = await agentLab();
});
after(() => al?.srv.close());

const newDir = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));
const hello = (name: string) => ({ body: { $case: 'hello' as const, value: { agentVersion: 't', features: [], engineId: '', hostName: name, policyRevision: 0, settingsRevision: 0 } } });

test('backoff: 1, 2, 4 … 30 s, jittered by at most 20 %, never above 30 s', () => {
  const mid = new Backoff({ random: () => 0.5 });
  assert.deepEqual(Array.from({ length: 8 }, () => mid.next()), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  for (const r of [0, 0.999]) {
    const b = new Backoff({ random: () => r });
    for (const nominal of [1000, 2000, 4000, 8000, 16000, 30000]) {
      const d = b.next();
      assert.ok(d >= nominal * 0.8 && d <= Math.min(30000, nominal * 1.2), `${d} for ${nominal}`);
    }
  }
  mid.reset();
  assert.equal(mid.next(), 1000);
});

test('an agent that cannot reach the server retries on the backoff schedule', async () => {
  const dir = newDir('agent-backoff-');
  await enroll({ serverAddr: al.serverAddr, token: await al.token(), hostName: 'backoff', clusterDir: dir, log: createLogger('silent') });
  const config = loadAgentConfig({ FLOTILLA_SERVER_ADDR: `127.0.0.1:${await freePort()}`, FLOTILLA_CLUSTER_DIR: dir, FLOTILLA_DOCKER_HOST: al.lab.nodes[0]!.unix });
  const { loadIdentity } = await import('../../src/agent/identity.ts');
  const runner = new AgentRunner(config, (await loadIdentity(dir))!, createLogger('silent'));
  const delays: number[] = [];
  runner.on('reconnecting', (ms) => delays.push(ms));
  await runner.start();
  try {
    await waitFor('three retries', async () => delays.length >= 3, 15_000);
  } finally {
    await runner.stop();
  }
  [1000, 2000, 4000].forEach((nominal, i) => assert.ok(Math.abs(delays[i]! - nominal) <= nominal * 0.2, `retry ${i + 1}: ${delays[i]} ms`));
  await al.srv.admin.request('DELETE', '/api/v1/hosts/backoff');
});

test('a reconnecting agent replaces its stale stream', async () => {
  const dir = newDir('agent-stale-');
  const id = await enroll({ serverAddr: al.serverAddr, token: await al.token(), hostName: 'stale', clusterDir: dir, log: createLogger('silent') });
  const first = agentClient(al.serverAddr, id).channel();
  const firstEnded = new Promise<void>((resolve) => { first.on('end', () => resolve()); first.on('error', () => resolve()); });
  const welcomed = new Promise<void>((resolve) => first.on('data', (m: ServerMessage) => m.body?.$case === 'welcome' && resolve()));
  first.write(hello('stale'));
  await welcomed;
  const second = agentClient(al.serverAddr, id).channel();
  second.on('data', () => undefined);
  second.on('error', () => undefined);
  second.write(hello('stale'));
  await firstEnded;
  const host = await al.waitConnected('stale');
  assert.equal(host.status, 'connected', 'the new stream owns the host');
  assert.equal(al.srv.handle.cluster!.sessions.all().filter((s) => s.hostName === 'stale').length, 1);
  second.cancel();
  await waitFor('stale disconnected', async () => (await al.srv.admin.get('/api/v1/hosts/stale')).body.status === 'disconnected');
  await al.srv.admin.request('DELETE', '/api/v1/hosts/stale');
});

test('a host cut off the network is noticed by silence and reconnects when the link returns', async () => {
  const node = await labOps().addNode(`cut${process.pid % 1000}`);
  const agent = al.startAgent(node, 'cutoff', { FLOTILLA_ENROLL_TOKEN: await al.token() });
  try {
    await al.waitConnected('cutoff');
    await labOps().linkDown(node.name);
    const down = await waitFor('cutoff disconnected', async () => {
      const h = (await al.srv.admin.get('/api/v1/hosts/cutoff')).body;
      return h.status === 'disconnected' && h;
    }, 15_000);
    assert.match(down.statusReason, /silent|closed by server/);
    await labOps().linkUp(node.name);
    await al.waitConnected('cutoff', 60_000);
  } finally {
    await agent.kill();
    await labOps().removeNode(node.name);
    await al.srv.admin.request('DELETE', '/api/v1/hosts/cutoff');
  }
});

test('renewal: the agent renews its certificate over the channel and reconnects with it', async () => {
  // Due 3 s after issue (certificates are back-dated 5 minutes, and live a year).
  const renewAt = String((5 * 60 + 3) / (365 * 24 * 3600 + 5 * 60));
  const agent = al.startAgent(al.lab.nodes[0]!, 'renewer', { FLOTILLA_ENROLL_TOKEN: await al.token(), FLOTILLA_RENEW_AT: renewAt });
  try {
    const first = await al.waitConnected('renewer');
    const certBefore = fs.readFileSync(path.join(agent.dir, 'agent.pem'), 'utf8');
    const renewed = await waitFor('a new certificate', async () => {
      const h = (await al.srv.admin.get('/api/v1/hosts/renewer')).body;
      return h.agent.certSerial !== first.agent.certSerial && h;
    }, 20_000);
    await waitFor('agent.pem replaced', async () => fs.readFileSync(path.join(agent.dir, 'agent.pem'), 'utf8') !== certBefore);
    await al.waitConnected('renewer');
    assert.notEqual(renewed.agent.certSerial, first.agent.certSerial);
    assert.equal(fs.statSync(path.join(agent.dir, 'agent-key.pem')).mode & 0o777, 0o600);
  } finally {
    await agent.kill();
    await al.srv.admin.request('DELETE', '/api/v1/hosts/renewer');
  }
});

test('a server whose CA was regenerated is reported once, with the fix', async () => {
  const port = await freePort();
  const a = await startTestServer({ FLOTILLA_AGENT_PORT: String(port) });
  const addr = `127.0.0.1:${port}`;
  const dir = newDir('agent-camismatch-');
  const { token } = await a.handle.cluster!.createEnrollToken({ kind: 'single', uses: 1, ttlMs: 60_000, label: null, createdBy: null });
  const id = await enroll({ serverAddr: addr, token, hostName: 'camm', clusterDir: dir, log: createLogger('silent') });
  await a.close();
  const b = await startTestServer({ FLOTILLA_AGENT_PORT: String(port) }); // new data dir: a new CA
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  const runner = new AgentRunner(loadAgentConfig({ FLOTILLA_SERVER_ADDR: addr, FLOTILLA_CLUSTER_DIR: dir, FLOTILLA_DOCKER_HOST: al.lab.nodes[0]!.unix }), id, createLogger('info', sink));
  let retries = 0;
  runner.on('reconnecting', () => retries++);
  await runner.start();
  try {
    await waitFor('three failed attempts', async () => retries >= 3, 20_000);
  } finally {
    await runner.stop();
    await b.close();
  }
  const reports = lines.filter((l) => l.includes('server CA mismatch'));
  assert.equal(reports.length, 1, 'logged once');
  assert.match(reports[0]!, /"fix":"stop the agent, delete/);
  assert.match(reports[0]!, new RegExp(`"data_dir":"${dir}"`));
});
