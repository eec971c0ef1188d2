// Swarm nodes through the REST API on the lab's shared swarm (node1..3
// managers, node4 direct worker, node5 agent worker): list with registered
// hosts, drain moves tasks, promote/demote, labels in a placement constraint.
// The last-manager guard and removing a down node run on a swarm of our own.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DockerClient } from '../../src/docker/client.ts';
import { createService, initSwarm, inspectSwarm, joinSwarm, leaveSwarm, listNodes, listTasks, removeService, type ServiceSpec } from '../../src/docker/swarm.ts';
import { getInfo } from '../../src/docker/system.ts';
import { createTransport } from '../../src/transports/index.ts';
import { lab, type LabNode } from '../lab/fixture.ts';
import { startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from './swarm-lab.ts';

const skip = await noSharedSwarm();

function clientOf(node: LabNode): DockerClient {
  return new DockerClient(createTransport({ url: node.unix, label: node.name }));
}

function sleeper(name: string, image: string, replicas: number, constraints: string[] = []): ServiceSpec {
  return {
    Name: name,
    TaskTemplate: {
      ContainerSpec: { Image: image, Command: ['sleep', '3600'], StopGracePeriod: 1_000_000_000 },
      RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
      Placement: { Constraints: constraints },
    },
    Mode: { Replicated: { Replicas: replicas } },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

describe('swarm nodes on the shared lab swarm', { skip }, () => {
  let bed: SwarmBed;
  let mgr: DockerClient;
  const hostnameOf = (host: string) => bed.hosts.find((h) => h.name === host)!.node.hostname;

  before(async () => {
    bed = await sharedSwarmBed();
    mgr = clientOf(bed.hosts.find((h) => h.name === 'node1')!.node);
  });
  after(async () => {
    await mgr?.close();
    await bed?.close();
  });

  /** Tasks of a service that run now, by node ID. */
  async function runningTasks(serviceId: string) {
    return (await listTasks(mgr, { filters: { service: [serviceId] } })).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
  }

  test('the node list names every node with its registered host, role, leader and reachability', async () => {
    const res = await bed.admin.get(`${bed.base}/nodes`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const nodes = res.body as { id: string; hostname: string; host: string | null; role: string; leader: boolean; reachability: string | null; state: string; availability: string }[];
    assert.equal(nodes.length, 5);
    assert.deepEqual(nodes.map((n) => n.host).sort(), bed.hosts.map((h) => h.name).sort(), 'each node is linked to its registered host, the agent host too');
    for (const h of bed.hosts) {
      const n = nodes.find((x) => x.host === h.name)!;
      assert.equal(n.hostname, h.node.hostname);
      assert.equal(n.role, h.role, `${h.name} role`);
      assert.equal(n.state, 'ready');
      assert.equal(n.reachability, h.role === 'manager' ? 'reachable' : null);
    }
    assert.equal(nodes.filter((n) => n.leader).length, 1, 'exactly one leader');
    assert.ok(nodes.find((n) => n.host === 'node5'), 'the agent host is a node of the list');

    // One node by hostname, by registered host name, by ID prefix; an unknown one is 404 naming it.
    const worker = nodes.find((n) => n.host === 'node4')!;
    for (const ref of [worker.hostname, 'node4', worker.id.slice(0, 8)]) {
      const one = await bed.admin.get(`${bed.base}/nodes/${ref}`);
      assert.equal(one.status, 200, `${ref}: ${JSON.stringify(one.body)}`);
      assert.equal(one.body.id, worker.id);
      assert.equal(one.body.inspect.ID, worker.id);
    }
    const missing = await bed.admin.get(`${bed.base}/nodes/no-such-node`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.message, /node "no-such-node" not found/);

    const viewer = await bed.srv.userWithRole('viewer');
    assert.equal((await viewer.get(`${bed.base}/nodes`)).status, 200, 'viewers read nodes');
    assert.equal((await viewer.request('PATCH', `${bed.base}/nodes/node4`, { availability: 'pause' })).status, 403, 'viewers change nothing');
  });

  test('draining a worker moves its service tasks to another node; active makes it schedulable again', async () => {
    const node4 = (await bed.admin.get(`${bed.base}/nodes/node4`)).body.id as string;
    const { ID } = await createService(mgr, sleeper(`flt-drain-${crypto.randomBytes(3).toString('hex')}`, bed.lab.images.busybox1, 2, ['node.role==worker']));
    try {
      // Two replicas over the two workers: the scheduler spreads them one per node.
      await waitFor('2 tasks running, one on node4', async () => {
        const t = await runningTasks(ID);
        return t.length === 2 && t.some((x) => x.NodeID === node4);
      }, 60_000, 250);
      const drained = await bed.admin.request('PATCH', `${bed.base}/nodes/node4`, { availability: 'drain', wait: true, waitSeconds: 60 });
      assert.equal(drained.status, 200, JSON.stringify(drained.body));
      assert.equal(drained.body.availability, 'drain');
      assert.equal(drained.body.drain.done, true, JSON.stringify(drained.body.drain));
      assert.ok(drained.body.drain.moved >= 1);
      assert.equal(drained.body.drain.remaining, 0);
      const now = await runningTasks(ID);
      assert.equal(now.length, 2, 'both replicas run');
      assert.ok(now.every((t) => t.NodeID !== node4), 'no task runs on the drained node');
    } finally {
      const active = await bed.admin.request('PATCH', `${bed.base}/nodes/node4`, { availability: 'active' });
      await removeService(mgr, ID);
      assert.equal(active.status, 200, JSON.stringify(active.body));
      assert.equal(active.body.availability, 'active');
    }
    const audit = (await bed.admin.get('/api/v1/audit?limit=20')).body as { action: string; detail: string | null }[] | { items: { action: string }[] };
    const items = Array.isArray(audit) ? audit : audit.items;
    assert.ok(items.some((a) => a.action === 'swarm.node.update'), 'node updates are audited');
  });

  test('a worker promoted to manager becomes a reachable manager and is demoted back', async () => {
    try {
      const promoted = await bed.admin.post(`${bed.base}/nodes/node4/promote`);
      assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
      assert.equal(promoted.body.role, 'manager');
      await waitFor('node4 a reachable manager', async () => {
        const n = (await listNodes(mgr)).find((x) => x.Description.Hostname === hostnameOf('node4'));
        return n?.ManagerStatus?.Reachability === 'reachable';
      }, 60_000, 250);
      const listed = ((await bed.admin.get(`${bed.base}/nodes`)).body as { host: string; role: string; reachability: string }[]).find((n) => n.host === 'node4')!;
      assert.equal(listed.role, 'manager');
      assert.equal(listed.reachability, 'reachable');

      const demoted = await bed.admin.post(`${bed.base}/nodes/node4/demote`, {});
      assert.equal(demoted.status, 200, JSON.stringify(demoted.body));
      assert.equal(demoted.body.role, 'worker');
    } finally {
      // Never leave the shared swarm with four managers.
      const n = (await listNodes(mgr)).find((x) => x.Description.Hostname === hostnameOf('node4'));
      if (n?.Spec.Role === 'manager') await bed.admin.post(`${bed.base}/nodes/node4/demote`, {});
    }
    await waitFor('node4 a worker again with no manager status', async () => {
      const n = (await listNodes(mgr)).find((x) => x.Description.Hostname === hostnameOf('node4'));
      return n?.Spec.Role === 'worker' && !n.ManagerStatus && n.Status.State === 'ready';
    }, 60_000, 250);
  });

  test('a label added to a node places a constrained task on it; a stale version is 409; the label is removed', async () => {
    const key = `flt-test-${crypto.randomBytes(3).toString('hex')}`;
    const before = (await bed.admin.get(`${bed.base}/nodes/node5`)).body as { id: string; version: number };
    const added = await bed.admin.request('PATCH', `${bed.base}/nodes/node5`, { labelsAdd: { [key]: 'yes' } });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(added.body.labels[key], 'yes');
    let serviceId: string | undefined;
    try {
      const stale = await bed.admin.request('PATCH', `${bed.base}/nodes/node5`, { labelsAdd: { other: 'x' }, version: before.version });
      assert.equal(stale.status, 409, JSON.stringify(stale.body));
      assert.match(stale.body.message, /version/);

      serviceId = (await createService(mgr, sleeper(`flt-label-${key}`, bed.lab.images.busybox1, 1, [`node.labels.${key}==yes`]))).ID;
      const task = await waitFor('the constrained task running', async () => (await runningTasks(serviceId!))[0], 60_000, 250);
      assert.equal(task.NodeID, before.id, 'the task runs on the labelled node');
    } finally {
      if (serviceId) await removeService(mgr, serviceId);
      const removed = await bed.admin.request('PATCH', `${bed.base}/nodes/node5`, { labelsRemove: [key] });
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.equal(removed.body.labels[key], undefined);
      assert.equal(removed.body.labels.other, undefined, 'the stale write was not applied');
    }
  });
});

describe('swarm nodes: the last manager and a down node, on a swarm of our own', { skip }, () => {
  test('demoting or removing the last reachable manager is refused with the reason unless forced; a down node is removed', async (t) => {
    const tag = `n${process.pid.toString(36)}${crypto.randomBytes(2).toString('hex')}`;
    const made: string[] = [];
    const clients: DockerClient[] = [];
    const srv = await startTestServer();
    try {
      const solo = await lab().addNode(`${tag}m`);
      made.push(solo.name);
      const worker = await lab().addNode(`${tag}w`);
      made.push(worker.name);
      const m = clientOf(solo);
      const w = clientOf(worker);
      clients.push(m, w);
      await initSwarm(m, { ListenAddr: `${solo.ip}:2377`, AdvertiseAddr: solo.ip });
      const tokens = (await inspectSwarm(m)).JoinTokens;
      await joinSwarm(w, { ListenAddr: `${worker.ip}:2377`, AdvertiseAddr: worker.ip, RemoteAddrs: [`${solo.ip}:2377`], JoinToken: tokens.Worker });

      assert.equal((await srv.admin.post('/api/v1/hosts', { name: 'solo', endpoint: solo.unix })).status, 201);
      const reg = await srv.admin.post('/api/v1/swarm/clusters', { host: 'solo', name: 'own' });
      assert.equal(reg.status, 201, JSON.stringify(reg.body));
      const base = '/api/v1/swarm/clusters/own';
      await waitFor('both nodes ready', async () => {
        const nodes = (await srv.admin.get(`${base}/nodes`)).body as { state: string }[];
        return nodes.length === 2 && nodes.every((n) => n.state === 'ready');
      }, 30_000, 200);

      const demote = await srv.admin.post(`${base}/nodes/solo/demote`, {});
      assert.equal(demote.status, 409, JSON.stringify(demote.body));
      assert.match(demote.body.message, /last reachable manager/);
      assert.match(demote.body.message, /force/);
      const remove = await srv.admin.request('DELETE', `${base}/nodes/solo`);
      assert.equal(remove.status, 409, JSON.stringify(remove.body));
      assert.match(remove.body.message, /last reachable manager/);

      // Forced, the engine decides: it refuses to demote the last manager, in its own words.
      const forced = await srv.admin.post(`${base}/nodes/solo/demote`, { force: true });
      assert.ok(forced.status >= 400, JSON.stringify(forced.body));
      t.diagnostic(`forced demote: ${forced.status} ${forced.body.message}`);
      assert.doesNotMatch(forced.body.message, /last reachable manager of the swarm \(/, 'not our guard');
      assert.match(forced.body.message, /last manager|demote/i);
      assert.equal((await listNodes(m)).find((n) => n.Description.Hostname === solo.hostname)?.Spec.Role, 'manager');

      // A node that is up is not removed without force (the engine's message); once down it is.
      const workerId = (await inspectSwarmInfo(w)).nodeId;
      const up = await srv.admin.request('DELETE', `${base}/nodes/${workerId}`);
      assert.ok(up.status >= 400 && up.status < 500, JSON.stringify(up.body));
      assert.match(up.body.message, /down|force/i);
      t.diagnostic(`remove a ready node: ${up.status} ${up.body.message}`);
      await lab().stopEngine(worker.name);
      await waitFor('the worker down', async () => (await listNodes(m)).find((n) => n.ID === workerId)?.Status.State === 'down', 60_000, 250);
      const gone = await srv.admin.request('DELETE', `${base}/nodes/${workerId}`);
      assert.equal(gone.status, 200, JSON.stringify(gone.body));
      assert.equal(gone.body.id, workerId);
      assert.equal((await listNodes(m)).some((n) => n.ID === workerId), false);
    } finally {
      for (const c of clients) {
        await leaveSwarm(c, { force: true }).catch(() => undefined);
        await c.close();
      }
      await srv.close();
      for (const name of made) await lab().removeNode(name);
    }
  });
});

async function inspectSwarmInfo(docker: DockerClient): Promise<{ nodeId: string }> {
  return { nodeId: (await getInfo(docker)).Swarm!.NodeID! };
}
