// Enrollment across the lab network, single use under concurrency, and every
// kind of bad input refused with a clear error while the server stays healthy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Metadata } from '@grpc/grpc-js';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import { generateAgentKeyAndCsr } from '../../src/cluster/csr.ts';
import { parseToken } from '../../src/cluster/enroll-token.ts';
import { enrollmentClient } from '../../src/agent/grpc-client.ts';
import { enroll } from '../../src/agent/enroll.ts';
import { createLogger } from '../../src/log.ts';
import type { EnrollResponse } from '../../src/proto/generated/flotilla.ts';

let al: AgentLab;
before(async () => {
  al = await agentLab();
});
after(() => al?.srv.close());

const callEnroll = (secret: string, csrPem: string, hostName: string) => new Promise<EnrollResponse>((resolve, reject) => {
  const client = enrollmentClient(al.serverAddr, al.srv.handle.cluster!.ca.certPem);
  client.enroll({ tokenSecret: secret, csrPem, hostName, agentVersion: 'test' }, new Metadata(), { deadline: Date.now() + 15_000 },
    (err, res) => { client.close(); if (err) reject(err); else resolve(res!); });
});

test('an agent in a lab host enrolls over the lab network and connects', async () => {
  const node = al.lab.nodes[1]!;
  const agent = al.startAgent(node, 'enrolled', { FLOTILLA_ENROLL_TOKEN: await al.token() });
  try {
    await agent.seen('connected');
    const host = await al.waitConnected('enrolled');
    assert.equal(host.kind, 'agent');
    assert.equal(host.agent.state, 'active');
    assert.ok(host.agent.features.includes('docker-proxy'));
    const synced = await (await import('../helpers/server.ts')).waitFor('engine facts', async () => {
      const h = (await al.srv.admin.get('/api/v1/hosts/enrolled')).body;
      return h.engine.id && h;
    });
    assert.equal(synced.engine.id, node.engineId, 'the engine behind the agent is the lab node\'s');
    for (const f of ['ca.pem', 'agent.pem', 'agent-key.pem', 'host-id']) assert.ok(fs.existsSync(path.join(agent.dir, f)), f);
    assert.equal(fs.statSync(path.join(agent.dir, 'agent-key.pem')).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(path.join(agent.dir, 'host-id'), 'utf8').trim(), host.id);
    // Restarted without a token, it comes back with the identity it saved.
    await agent.kill();
    const again = al.startAgent(node, 'enrolled', {}, agent.dir);
    try {
      await again.seen('connected');
    } finally {
      await again.kill();
    }
  } finally {
    await agent.kill();
    await al.srv.admin.request('DELETE', '/api/v1/hosts/enrolled');
  }
});

test('50 concurrent enrollments with one single-use token: exactly one succeeds', async () => {
  const { secret } = parseToken(await al.token(1));
  const csrs = await Promise.all(Array.from({ length: 50 }, (_, i) => generateAgentKeyAndCsr(`race${i}`)));
  const results = await Promise.allSettled(csrs.map((c, i) => callEnroll(secret, c.csrPem, `race${i}`)));
  const ok = results.filter((r) => r.status === 'fulfilled');
  assert.equal(ok.length, 1);
  const refusals = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
  assert.ok(refusals.every((m) => /already been used/.test(m)), refusals[0]);
  const hosts = (await al.srv.admin.get('/api/v1/hosts')).body.filter((h: any) => h.name.startsWith('race'));
  assert.equal(hosts.length, 1);
  await al.srv.admin.request('DELETE', `/api/v1/hosts/${hosts[0].name}`);
});

test('a fleet token enrolls up to its number of uses', async () => {
  const { secret } = parseToken(await al.token(3));
  const csrs = await Promise.all(Array.from({ length: 5 }, (_, i) => generateAgentKeyAndCsr(`fleet${i}`)));
  const results = await Promise.allSettled(csrs.map((c, i) => callEnroll(secret, c.csrPem, `fleet${i}`)));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
  for (let i = 0; i < 5; i++) await al.srv.admin.request('DELETE', `/api/v1/hosts/fleet${i}`);
});

test('bad tokens, bad CSRs and bad names are refused with what was wrong', async () => {
  const good = await generateAgentKeyAndCsr('bad');
  const refused = async (secret: string, csr: string, name: string) => {
    try {
      await callEnroll(secret, csr, name);
    } catch (err) {
      return (err as { details: string }).details;
    }
    assert.fail('enrollment should have been refused');
  };
  assert.match(await refused('ab'.repeat(32), good.csrPem, 'bad'), /not known/);
  assert.match(await refused('xyz', good.csrPem, 'bad'), /64 hex/);
  const expired = parseToken((await al.srv.handle.cluster!.createEnrollToken({ kind: 'single', uses: 1, ttlMs: 1, label: null, createdBy: null })).token);
  await new Promise((r) => setTimeout(r, 20));
  assert.match(await refused(expired.secret, good.csrPem, 'bad'), /expired/);
  const dir = fs.mkdtempSync('/tmp/rsa-csr-');
  execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/k`, '-out', `${dir}/csr`, '-subj', '/CN=rsa'], { stdio: 'pipe' });
  const live = parseToken(await al.token());
  assert.match(await refused(live.secret, fs.readFileSync(`${dir}/csr`, 'utf8'), 'bad'), /CSR refused: .*P-256/);
  assert.match(await refused(live.secret, 'garbage', 'bad'), /CSR refused/);
  assert.match(await refused(live.secret, good.csrPem, 'bad name!'), /host name/);
  fs.rmSync(dir, { recursive: true, force: true });
  // None of those burned the live token.
  const ok = await callEnroll(live.secret, good.csrPem, 'bad');
  assert.ok(ok.hostId);
  await al.srv.admin.request('DELETE', '/api/v1/hosts/bad');
  assert.equal((await al.srv.admin.get('/readyz')).status, 200);
});

test('a token from another server (wrong CA fingerprint) is caught before anything is sent', async () => {
  const { secret } = parseToken(await al.token());
  const forged = `FLT1-${'0'.repeat(64)}-${secret}`;
  const dir = fs.mkdtempSync('/tmp/agent-forged-');
  await assert.rejects(
    enroll({ serverAddr: al.serverAddr, token: forged, hostName: 'forged', clusterDir: dir, log: createLogger('silent') }),
    /not the Flotilla server that minted the token/,
  );
  assert.equal(fs.readdirSync(dir).length, 0, 'nothing saved');
  // The real token is still unused.
  assert.equal((await al.srv.handle.store.enrollTokens.list()).some((t) => t.uses_left === 1), true);
});

test('an agent with a garbage token exits with a message naming the problem', async () => {
  const agent = al.startAgent(al.lab.nodes[0]!, 'garbage', { FLOTILLA_ENROLL_TOKEN: 'not-a-token' });
  const code = await new Promise<number | null>((r) => agent.child.once('exit', r));
  assert.notEqual(code, 0);
  assert.match(agent.logs(), /token/i);
});
