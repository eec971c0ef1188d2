// Init, join, leave and update of a swarm through Flotilla, on fresh lab nodes:
// a direct host inits, a direct host joins as a manager, an agent host joins as
// a worker exactly like a direct one; a host that cannot reach the managers is
// refused at the deadline and left as it was; tokens are used, never shown
// unless an admin asks.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { lab, labState, type LabNode } from '../lab/fixture.ts';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import type { AgentProcess } from '../helpers/agent-process.ts';
import { waitFor } from '../helpers/wait.ts';
import { DockerClient } from '../../src/docker/client.ts';
import { createTransport } from '../../src/transports/index.ts';

const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message);
const tag = `lc${process.pid % 100000}`;

describe('swarm init, join, leave, update', { skip, concurrency: false }, () => {
  let al: AgentLab;
  let agent: AgentProcess;
  const nodes: Record<'a' | 'b' | 'c' | 'd', LabNode> = {} as never;
  const name = (k: string) => `${tag}${k}`;

  before(async () => {
    for (const k of ['a', 'b', 'c', 'd'] as const) nodes[k] = await lab().addNode(name(k));
    al = await agentLab();
    for (const k of ['a', 'b', 'd'] as const) {
      const res = await al.srv.admin.post('/api/v1/hosts', { name: name(k), endpoint: nodes[k].unix });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    agent = al.startAgent(nodes.c, name('c'), { FLOTILLA_ENROLL_TOKEN: await al.token() });
    await al.waitConnected(name('c'), 30_000);
    for (const k of ['a', 'b', 'd'] as const) await waitFor(`${name(k)} connected`, async () => (await al.srv.admin.get(`/api/v1/hosts/${name(k)}`)).body.status === 'connected');
  });

  after(async () => {
    await agent?.kill();
    await al?.srv.close();
    for (const k of ['d', 'c', 'b', 'a']) await lab().removeNode(name(k)).catch(() => undefined);
  });

  test('init on a registered host creates and registers the cluster', async () => {
    const res = await al.srv.admin.post('/api/v1/swarm/init', { host: name('a'), name: tag, advertiseAddr: nodes.a.ip });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.name, tag);
    assert.equal(res.body.origin, 'registered');
    assert.equal(res.body.status, 'connected', res.body.statusReason);
    assert.deepEqual(res.body.hosts.map((h: { name: string; role: string }) => [h.name, h.role]), [[name('a'), 'manager']]);
    assert.equal(res.body.health.managers.total, 1);
    const again = await al.srv.admin.post('/api/v1/swarm/init', { host: name('a') });
    assert.equal(again.status, 409);
    assert.match(again.body.message, /already part of a swarm/);
  });

  test('a direct host joins as a manager and an agent host as a worker; the tokens never leave the server', async () => {
    const m = await al.srv.admin.post(`/api/v1/swarm/clusters/${tag}/join`, { host: name('b'), role: 'manager', advertiseAddr: nodes.b.ip });
    assert.equal(m.status, 200, JSON.stringify(m.body));
    const w = await al.srv.admin.post(`/api/v1/swarm/clusters/${tag}/join`, { host: name('c'), role: 'worker', advertiseAddr: nodes.c.ip });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    const hosts = w.body.hosts.map((h: { name: string; role: string; kind: string }) => `${h.name}:${h.kind}:${h.role}`).sort();
    assert.deepEqual(hosts, [`${name('a')}:direct:manager`, `${name('b')}:direct:manager`, `${name('c')}:agent:worker`]);
    assert.equal(w.body.health.managers.total, 2);
    assert.equal(w.body.health.nodes.total, 3);
    assert.doesNotMatch(JSON.stringify([m.body, w.body]), /SWMTKN/);
    const audit = (await al.srv.admin.get('/api/v1/audit?limit=50')).body as { action: string; detail: string | null }[];
    assert.ok(audit.some((a) => a.action === 'swarm.join'), 'join is audited');
    assert.doesNotMatch(JSON.stringify(audit), /SWMTKN/);
  });

  test('join tokens are shown to an admin, audited, and refused to an operator', async () => {
    const tokens = await al.srv.admin.get(`/api/v1/swarm/clusters/${tag}/join-tokens`);
    assert.equal(tokens.status, 200);
    assert.match(tokens.body.worker, /^SWMTKN-/);
    assert.equal(tokens.body.managerAddrs.length, 2);
    const operator = await al.srv.userWithRole('operator');
    const refused = await operator.get(`/api/v1/swarm/clusters/${tag}/join-tokens`);
    assert.equal(refused.status, 403);
    const viewer = await al.srv.userWithRole('viewer');
    assert.equal((await viewer.get(`/api/v1/swarm/clusters/${tag}`)).status, 200, 'viewers read');
    assert.equal((await viewer.post(`/api/v1/swarm/clusters/${tag}/sync`)).status, 403);
    const audit = (await al.srv.admin.get('/api/v1/audit?limit=50')).body as { action: string }[];
    assert.ok(audit.some((a) => a.action === 'swarm.join_tokens.read'));
  });

  test('a host that cannot reach the managers is refused at the deadline and left unchanged', async () => {
    await lab().linkDown(name('d'));
    try {
      const started = Date.now();
      const res = await al.srv.admin.post(`/api/v1/swarm/clusters/${tag}/join`, { host: name('d'), role: 'worker', timeoutSeconds: 8 });
      const took = Date.now() - started;
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.match(res.body.message, /could not join cluster .* the join was cancelled and the host is unchanged/);
      assert.ok(took < 45_000, `answered after ${took} ms`);
      const info = await fetchInfo(nodes.d);
      assert.equal(info.Swarm.LocalNodeState, 'inactive');
    } finally {
      await lab().linkUp(name('d'));
    }
  });

  test('swarm settings: task history limit and a rotated worker token', async () => {
    const before = (await al.srv.admin.get(`/api/v1/swarm/clusters/${tag}/join-tokens`)).body;
    const res = await al.srv.admin.request('PATCH', `/api/v1/swarm/clusters/${tag}/settings`, { taskHistoryLimit: 3, rotateWorkerToken: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.unlockKey, undefined);
    const settings = (await al.srv.admin.get(`/api/v1/swarm/clusters/${tag}/settings`)).body;
    assert.equal(settings.taskHistoryLimit, 3);
    const after = (await al.srv.admin.get(`/api/v1/swarm/clusters/${tag}/join-tokens`)).body;
    assert.notEqual(after.worker, before.worker);
    assert.equal(after.manager, before.manager);
    const bad = await al.srv.admin.request('PATCH', `/api/v1/swarm/clusters/${tag}/settings`, { taskHistoryLimit: -1 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'body.taskHistoryLimit');
    const empty = await al.srv.admin.request('PATCH', `/api/v1/swarm/clusters/${tag}/settings`, {});
    assert.equal(empty.status, 400);
  });

  test('leave: a worker leaves and its node is removed; a manager must be forced', async () => {
    const w = await al.srv.admin.post('/api/v1/swarm/leave', { host: name('c'), removeNode: true });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    const view = await waitFor('the agent host unlinked', async () => {
      const c = (await al.srv.admin.get(`/api/v1/swarm/clusters/${tag}`)).body;
      return !c.hosts.some((h: { name: string }) => h.name === name('c')) && c;
    });
    assert.equal(view.health.nodes.total, 2, 'the node was removed from the list');
    const host = (await al.srv.admin.get(`/api/v1/hosts/${name('c')}`)).body;
    assert.equal(host.swarm.state, 'inactive');
    const m = await al.srv.admin.post('/api/v1/swarm/leave', { host: name('b') });
    assert.ok(m.status >= 400, `a manager leaving without force: ${m.status}`);
    assert.match(m.body.message, /force/i);
    const forced = await al.srv.admin.post('/api/v1/swarm/leave', { host: name('b'), force: true });
    assert.equal(forced.status, 200, JSON.stringify(forced.body));
  });

  test('a host that left one swarm and starts another: the model follows it', async () => {
    const other = await al.srv.admin.post('/api/v1/swarm/init', { host: name('c'), name: `${tag}x`, advertiseAddr: nodes.c.ip });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    assert.deepEqual(other.body.hosts.map((h: { name: string; kind: string; role: string }) => `${h.name}:${h.kind}:${h.role}`), [`${name('c')}:agent:manager`]);
    const clusters = (await al.srv.admin.get('/api/v1/swarm/clusters')).body as { name: string; hosts: { name: string }[] }[];
    assert.deepEqual(clusters.map((c) => c.name).sort(), [tag, `${tag}x`]);
    assert.ok(!clusters.find((c) => c.name === tag)!.hosts.some((h) => h.name === name('c')));
    const host = (await al.srv.admin.get(`/api/v1/hosts/${name('c')}`)).body;
    assert.equal(host.swarm.clusterId, other.body.id);
    const left = await al.srv.admin.post('/api/v1/swarm/leave', { host: name('c'), force: true });
    assert.equal(left.status, 200, JSON.stringify(left.body));
  });

  test('bad input: unknown cluster and host are 404, a bad role is 400 naming the field', async () => {
    assert.equal((await al.srv.admin.post('/api/v1/swarm/clusters/nope/join', { host: name('d') })).status, 404);
    const unknownHost = await al.srv.admin.post(`/api/v1/swarm/clusters/${tag}/join`, { host: 'no-such-host' });
    assert.equal(unknownHost.status, 404);
    assert.match(unknownHost.body.message, /no-such-host/);
    const badRole = await al.srv.admin.post(`/api/v1/swarm/clusters/${tag}/join`, { host: name('d'), role: 'boss' });
    assert.equal(badRole.status, 400);
    assert.equal(badRole.body.field, 'body.role');
  });
});

async function fetchInfo(node: LabNode): Promise<{ Swarm: { LocalNodeState: string } }> {
  const docker = new DockerClient(createTransport({ url: node.unix, label: node.name }));
  try {
    return await docker.json('GET', '/info');
  } finally {
    await docker.close();
  }
}
