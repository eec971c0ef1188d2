// Cluster faults on a swarm of its own (three fresh managers, one agent-less
// worker is not needed): the leader's engine SIGKILLed during a service update
// (the call completes through another manager, the cluster shows the new
// leader), and two of three managers stopped (quorum lost, with its reason;
// healthy again once they return), and the leader killed in the middle of a
// stack deploy (the deploy goes on through another manager, recorded whole).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { lab, labState, type LabNode } from '../lab/fixture.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { createService, inspectService, removeService, updateService } from '../../src/docker/swarm.ts';
import { listServices } from '../../src/docker/swarm.ts';
import { Stacks, type DeployEvent } from '../../src/stacks/stacks.ts';

const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message);
const tag = `fx${process.pid % 100000}`;
const names = ['a', 'b', 'c'].map((k) => `${tag}${k}`);

describe('swarm faults', { skip, concurrency: false }, () => {
  let srv: TestServer;
  let images: { busybox1: string; busybox2: string };
  const nodes = new Map<string, LabNode>();
  const base = `/api/v1/swarm/clusters/${tag}`;
  const swarm = () => srv.handle.swarm;

  before(async () => {
    images = (await labState()).images as typeof images;
    for (const n of names) nodes.set(n, await lab().addNode(n));
    srv = await startTestServer();
    for (const n of names) assert.equal((await srv.admin.post('/api/v1/hosts', { name: n, endpoint: nodes.get(n)!.unix })).status, 201);
    for (const n of names) await waitFor(`${n} connected`, async () => (await srv.admin.get(`/api/v1/hosts/${n}`)).body.status === 'connected');
    const init = await srv.admin.post('/api/v1/swarm/init', { host: names[0], name: tag, advertiseAddr: nodes.get(names[0]!)!.ip });
    assert.equal(init.status, 201, JSON.stringify(init.body));
    for (const n of names.slice(1)) {
      const j = await srv.admin.post(`${base}/join`, { host: n, role: 'manager', advertiseAddr: nodes.get(n)!.ip });
      assert.equal(j.status, 200, JSON.stringify(j.body));
    }
  });

  after(async () => {
    await srv?.close();
    for (const n of [...names].reverse()) await lab().removeNode(n).catch(() => undefined);
  });

  async function healthy(reachable: number): Promise<any> {
    return waitFor(`cluster connected with ${reachable} reachable managers`, async () => {
      await srv.admin.post(`${base}/sync`);
      const c = (await srv.admin.get(base)).body;
      return c.status === 'connected' && c.health?.managers.reachable === reachable && c.health.managers.leader && c;
    }, 90_000, 500);
  }

  test('the leader\'s engine SIGKILLed as a service update is sent: the update completes through another manager and the new leader is shown', async () => {
    const c = await healthy(3);
    const leaderHost = c.hosts.find((h: { nodeId: string }) => h.nodeId === c.leaderNodeId).name as string;
    const spec = {
      Name: `${tag}-svc`, TaskTemplate: { ContainerSpec: { Image: images.busybox1, Command: ['sleep', '3600'] } },
      Mode: { Replicated: { Replicas: 1 } }, EndpointSpec: { Mode: 'dnsrr' },
    };
    const { ID } = await swarm().withManager(tag, (d) => createService(d, spec));
    try {
      const current = await swarm().withManager(tag, (d) => inspectService(d, ID));
      const next = { ...current.Spec, TaskTemplate: { ...current.Spec.TaskTemplate, ContainerSpec: { ...current.Spec.TaskTemplate.ContainerSpec!, Image: images.busybox2 } } };
      // Killed first, then the update is sent at once: it goes to the leader Flotilla knows, finds it dead,
      // and meets managers without a leader until they elect one.
      await lab().killEngine(leaderHost);
      const started = Date.now();
      const update = await swarm().onManager(tag, (d) => updateService(d, ID, current.Version.Index, next));
      const took = Date.now() - started;
      assert.notEqual(update.manager.host, leaderHost, 'answered by another manager');
      const after = await swarm().withManager(tag, (d) => inspectService(d, ID));
      assert.equal(after.Spec.TaskTemplate.ContainerSpec?.Image, images.busybox2);
      const now = await healthy(2);
      assert.notEqual(now.leaderNodeId, c.leaderNodeId, 'a new leader');
      assert.notEqual(now.health.managers.leader.hostname, nodes.get(leaderHost)!.hostname);
      assert.deepEqual(now.health.managers.unreachable, [nodes.get(leaderHost)!.hostname]);
      process.stdout.write(`# update through failover took ${took} ms (leader ${leaderHost} killed; answered by ${update.manager.host})\n`);
    } finally {
      await lab().startEngine(leaderHost);
      await healthy(3);
      await swarm().withManager(tag, (d) => removeService(d, ID)).catch(() => undefined);
    }
  });

  test('the leader killed in the middle of a stack deploy: the deploy goes on through another manager and is recorded whole', async () => {
    const c = await healthy(3);
    const leaderHost = c.hosts.find((h: { nodeId: string }) => h.nodeId === c.leaderNodeId).name as string;
    const stacks = new Stacks({ swarm: swarm(), store: srv.handle.store, log: srv.handle.log });
    const stack = `${tag}st`;
    const service = (k: string) => `  ${k}:\n    image: ${images.busybox1}\n    command: ["sleep", "3600"]\n    deploy:\n      endpoint_mode: dnsrr\n`;
    const compose = `services:\n${['a', 'b', 'c', 'd'].map(service).join('')}`;
    const events: DeployEvent[] = [];
    let killed: Promise<void> | undefined;
    const started = Date.now();
    try {
      const row = await stacks.deploy(tag, { stack, compose, resolveImage: 'never', convergeTimeoutMs: 120_000 }, {
        user: 'admin', gate: async () => undefined,
        onEvent: (e) => {
          events.push(e);
          // After the first service exists: the rest are created while the leader is gone.
          if (!killed && e.type === 'step' && e.kind === 'service' && e.action === 'created') killed = lab().killEngine(leaderHost);
        },
      });
      await killed;
      assert.ok(killed, 'the leader was killed mid-deploy');
      process.stdout.write(`# stack deploy with the leader killed after its first service: ${row.status} in ${Date.now() - started} ms\n`);
      assert.equal(row.status, 'succeeded', JSON.stringify(row));
      const stored = await stacks.deployment(tag, row.id);
      assert.equal(stored.status, 'succeeded');
      assert.ok(stored.finished_at, 'the deployment is recorded as finished');
      const outcome = JSON.parse(stored.outcome ?? '[]') as { name: string }[];
      assert.deepEqual(outcome.map((o) => o.name).sort(), ['a', 'b', 'c', 'd'].map((k) => `${stack}_${k}`));
      const created = events.filter((e) => e.type === 'step' && e.kind === 'service' && e.action === 'created');
      assert.equal(created.length, 4, JSON.stringify(events));
      const services = await swarm().withManager(tag, (d) => listServices(d, { filters: { label: [`com.docker.stack.namespace=${stack}`] } }));
      assert.equal(services.length, 4, 'each service created once');
    } finally {
      await killed?.catch(() => undefined);
      await lab().startEngine(leaderHost);
      await healthy(3);
      const left = await swarm().withManager(tag, (d) => listServices(d, { filters: { label: [`com.docker.stack.namespace=${stack}`] } })).catch(() => []);
      for (const s of left) await swarm().withManager(tag, (d) => removeService(d, s.ID)).catch(() => undefined);
    }
  });

  test('two of three managers stopped: quorum lost with its reason, calls answer 503 naming the managers tried; healthy again when they return', async () => {
    const c = await healthy(3);
    const keep = c.hosts.find((h: { nodeId: string }) => h.nodeId === c.leaderNodeId).name as string;
    const stopped = names.filter((n) => n !== keep);
    await Promise.all(stopped.map((n) => lab().stopEngine(n)));
    try {
      const lost = await waitFor('quorum lost', async () => {
        await srv.admin.post(`${base}/sync`);
        const v = (await srv.admin.get(base)).body;
        return v.status === 'quorum_lost' && v;
      }, 60_000, 500);
      assert.match(lost.statusReason, new RegExp(`quorum lost: 1 of 3 managers answer \\(${keep}\\)`));
      assert.equal(lost.health.quorum, false);
      const history = (await srv.admin.get(`${base}/history`)).body as { to_status: string; reason: string }[];
      assert.ok(history.some((h) => h.to_status === 'quorum_lost'));
      const t0 = Date.now();
      const refused = await srv.admin.get(`${base}/tasks`);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error, 'no_manager_available');
      for (const n of names) assert.match(refused.body.message, new RegExp(n));
      assert.ok(Date.now() - t0 < 15_000, 'no election wait once quorum is known lost');
    } finally {
      await Promise.all(stopped.map((n) => lab().startEngine(n)));
    }
    const back = await healthy(3);
    assert.equal(back.health.quorum, true);
    const services = await swarm().withManager(tag, (d) => listServices(d));
    assert.ok(Array.isArray(services));
  });
});
