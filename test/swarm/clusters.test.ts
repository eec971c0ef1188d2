// Clusters on the shared lab swarm: discovered from its hosts (direct and
// agent), registered by naming a manager, health, stacks, and the live event
// path that keeps the inventory current without waiting for the next sync.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { noSharedSwarm, sharedSwarmBed, type SwarmBed } from './swarm-lab.ts';
import { waitFor } from '../helpers/wait.ts';
import { DockerClient } from '../../src/docker/client.ts';
import { createTransport } from '../../src/transports/index.ts';
import { createService, removeService } from '../../src/docker/swarm.ts';

const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await noSharedSwarm();

describe('swarm clusters', { skip, concurrency: false }, () => {
  let bed: SwarmBed;
  before(async () => {
    bed = await sharedSwarmBed();
  });
  after(async () => {
    await bed?.close();
  });

  test('the cluster is discovered from its hosts: every registered node linked, the agent host too', async () => {
    const c = (await bed.admin.get(bed.base)).body;
    assert.equal(c.origin, 'discovered');
    assert.equal(c.id.length, 25, 'keyed by the Swarm ID');
    const linked = c.hosts.map((h: { name: string; kind: string; role: string }) => `${h.name}:${h.kind}:${h.role}`).sort();
    assert.deepEqual(linked, bed.hosts.map((h) => `${h.name}:${h.kind}:${h.role}`).sort());
    assert.equal(c.health.managers.total, 3);
    assert.equal(c.health.managers.reachable, 3);
    assert.equal(c.health.quorum, true);
    assert.equal(c.health.nodes.total, 5);
    assert.ok(c.health.managers.leader.hostname, 'a leader');
    const host = (await bed.admin.get(`/api/v1/hosts/${bed.hosts.find((h) => h.kind === 'agent')!.name}`)).body;
    assert.equal(host.swarm.clusterId, c.id);
    assert.equal(host.swarm.role, 'worker');
    const byName = (await bed.admin.get(`/api/v1/swarm/clusters/${c.id}`)).body;
    assert.equal(byName.name, c.name, 'found by Swarm ID as well as by name');
  });

  test('a service created outside Flotilla reaches the inventory through the managers\' event streams, with stacks and health', async () => {
    const st = bed.lab;
    const mgr = bed.hosts.find((h) => h.role === 'manager')!;
    const docker = new DockerClient(createTransport({ url: mgr.node.unix, label: mgr.name }));
    const name = `clt${process.pid}`;
    const { ID } = await createService(docker, {
      Name: name, Labels: { 'com.docker.stack.namespace': `${name}stack` },
      TaskTemplate: { ContainerSpec: { Image: st.images.busybox1, Command: ['sleep', '3600'] }, Placement: { Constraints: ['node.labels.flotilla-test-never==here'] } },
      Mode: { Replicated: { Replicas: 2 } }, EndpointSpec: { Mode: 'dnsrr' },
    });
    try {
      // No sync asked for: the service event triggers one.
      const svc = await waitFor('the service in the synced inventory', async () => {
        const list = (await bed.admin.get(`${bed.base}/stacks?source=inventory`)).body as { name: string; services: string[]; tasks: { running: number; desired: number }; belowDesired: string[] }[];
        return list.find((s) => s.name === `${name}stack`);
      }, 15_000, 100);
      assert.deepEqual(svc.services, [name]);
      const c = await waitFor('health names the service below its desired count', async () => {
        const v = (await bed.admin.get(bed.base)).body;
        return v.health.services.belowDesired.some((s: { name: string }) => s.name === name) && v;
      }, 15_000, 200);
      const short = c.health.services.belowDesired.find((s: { name: string }) => s.name === name);
      assert.deepEqual([short.desired, short.running], [2, 0], 'no node matches its constraint: nothing runs');
      assert.match(c.statusReason, new RegExp(`services below desired: .*${name} 0/2`));
      const tasks = (await bed.admin.get(`${bed.base}/tasks?service=${ID}`)).body as { ServiceID: string }[];
      assert.ok(tasks.length >= 2 && tasks.every((t) => t.ServiceID === ID));
    } finally {
      await removeService(docker, ID);
      await docker.close();
    }
    await waitFor('the stack gone from the inventory', async () => {
      const list = (await bed.admin.get(`${bed.base}/stacks?source=inventory`)).body as { name: string }[];
      return !list.some((s) => s.name === `${name}stack`);
    }, 15_000, 100);
  });

  test('register by naming a manager; a worker or an unknown host is refused with the reason', async () => {
    const before = (await bed.admin.get(bed.base)).body;
    const worker = bed.hosts.find((h) => h.role === 'worker' && h.kind === 'direct')!;
    const w = await bed.admin.post('/api/v1/swarm/clusters', { host: worker.name });
    assert.equal(w.status, 409);
    assert.match(w.body.message, /is a swarm worker: register the cluster by one of its managers/);
    const unknown = await bed.admin.post('/api/v1/swarm/clusters', { host: 'no-such-host' });
    assert.equal(unknown.status, 404);
    const bad = await bed.admin.post('/api/v1/swarm/clusters', { host: 'node2', name: 'has space' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, 'body.name');
    const mgr = bed.hosts.filter((h) => h.role === 'manager')[1]!;
    const reg = await bed.admin.post('/api/v1/swarm/clusters', { host: mgr.name, name: 'lab' });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    assert.equal(reg.body.id, before.id, 'the same cluster, now registered');
    assert.equal(reg.body.origin, 'registered');
    assert.equal(reg.body.name, 'lab');
    assert.equal((await bed.admin.get('/api/v1/swarm/clusters')).body.length, 1);
    const back = await bed.admin.request('PATCH', '/api/v1/swarm/clusters/lab', { name: before.name });
    assert.equal(back.status, 200);
  });

  test('maintenance stops syncing; sync is refused until it ends', async () => {
    const on = await bed.admin.request('PUT', `${bed.base}/maintenance`, { enabled: true });
    assert.equal(on.body.status, 'maintenance');
    const refused = await bed.admin.post(`${bed.base}/sync`);
    assert.equal(refused.status, 409);
    const off = await bed.admin.request('PUT', `${bed.base}/maintenance`, { enabled: false });
    assert.equal(off.body.status, 'pending');
    const synced = await bed.admin.post(`${bed.base}/sync`);
    assert.equal(synced.body.status, 'connected');
    const history = (await bed.admin.get(`${bed.base}/history`)).body as { to_status: string }[];
    assert.deepEqual(history.slice(0, 3).map((h) => h.to_status), ['connected', 'pending', 'maintenance']);
  });

  test('unknown cluster → 404 naming it; viewers read, and may not change', async () => {
    const nf = await bed.admin.get('/api/v1/swarm/clusters/nope');
    assert.equal(nf.status, 404);
    assert.match(nf.body.message, /swarm cluster "nope" not found/);
    const viewer = await bed.srv.userWithRole('viewer');
    assert.equal((await viewer.get(bed.base)).status, 200);
    assert.equal((await viewer.get(`${bed.base}/stacks`)).status, 200);
    assert.equal((await viewer.request('PUT', `${bed.base}/maintenance`, { enabled: true })).status, 403);
  });
});
