// Direct hosts end to end: real lab engines registered over unix and tcp,
// synced, operated through the REST API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { labState, type LabState } from '../lab/fixture.ts';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { readNdjson } from '../helpers/ndjson.ts';
import { DockerClient } from '../../src/docker/client.ts';
import { createTransport } from '../../src/transports/index.ts';
import { pushImage, removeImage, tagImage } from '../../src/docker/images.ts';

let srv: TestServer;
let lab: LabState;
const suffix = crypto.randomBytes(3).toString('hex');

before(async () => {
  lab = await labState();
  srv = await startTestServer();
  // node1 over unix, node2 over tcp, node3 over unix: both transports are exercised.
  const endpoints = [lab.nodes[0]!.unix, lab.nodes[1]!.tcp, lab.nodes[2]!.unix];
  for (const [i, endpoint] of endpoints.entries()) {
    const res = await srv.admin.post('/api/v1/hosts', { name: `n${i + 1}`, endpoint, environment: 'staging', syncIntervalSeconds: 30 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
});
after(() => srv?.close());

const api = (p: string) => `/api/v1/hosts/${p}`;

test('three lab engines sync and show three distinct engine IDs', async () => {
  const hosts = await waitFor('all hosts connected', async () => {
    const list = (await srv.admin.get('/api/v1/hosts')).body as any[];
    return list.every((h) => h.status === 'connected') && list;
  });
  const ids = hosts.map((h: any) => h.engine.id);
  assert.equal(new Set(ids).size, 3);
  assert.deepEqual(ids.sort(), lab.nodes.slice(0, 3).map((n) => n.engineId).sort());
  for (const h of hosts) {
    assert.match(h.engine.apiVersion, /^1\.\d+$/);
    assert.ok(Number(h.engine.apiVersion.split('.')[1]) >= 41);
    assert.ok(h.engine.version && h.engine.os && h.engine.cpus > 0 && h.engine.memoryBytes > 0);
    assert.equal(h.consecutiveFailures, 0);
  }
  const images = (await srv.admin.get(api('n2/images'))).body as any[];
  assert.ok(images.some((i) => (i.RepoTags ?? []).includes(lab.images.busybox1)), 'inventory lists the lab image');
  const history = (await srv.admin.get(api('n1/history'))).body as any[];
  assert.ok(history.some((c) => c.from_status === 'pending' && c.to_status === 'connected' && c.reason));
});

for (const [host, transport] of [['n1', 'unix'], ['n2', 'tcp']] as const) {
  test(`full container lifecycle over ${transport}`, async () => {
    await waitFor(`${host} connected`, async () => (await srv.admin.get(api(host))).body.status === 'connected');
    const name = `life-${transport}-${suffix}`;
    const created = await srv.admin.post(api(`${host}/containers`), {
      name, start: true, config: { Image: lab.images.busybox1, Cmd: ['sh', '-c', 'echo hello-from-$HOSTNAME; exec sleep 300'], Labels: { test: 'lifecycle' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.Id as string;
    try {
      assert.equal((await srv.admin.get(api(`${host}/containers/${name}`))).body.State.Running, true);
      const logs = await waitFor('hello in logs', async () => {
        const res = await srv.admin.get(api(`${host}/containers/${id}/logs?tail=10`));
        return res.body.lines.some((l: any) => l.line.startsWith('hello-from-')) && res.body;
      });
      assert.equal(logs.lines[0].stream, 'stdout');
      // The live event stream refreshes the inventory without waiting for the next sync.
      await waitFor('container in inventory', async () =>
        ((await srv.admin.get(api(`${host}/containers?source=inventory`))).body as any[]).some((c) => c.Id === id));
      const exec = await srv.admin.post(api(`${host}/containers/${id}/exec`), { cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
      assert.equal(exec.status, 200);
      assert.deepEqual(exec.body, { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
      const stats = await srv.admin.get(api(`${host}/containers/${id}/stats`));
      assert.equal(stats.status, 200);
      assert.ok(typeof stats.body.cpu_percent === 'number' && stats.body.memory_stats);
      assert.equal((await srv.admin.post(api(`${host}/containers/${id}/stop?t=1`))).status, 204);
      assert.equal((await srv.admin.get(api(`${host}/containers/${id}`))).body.State.Running, false);
      assert.equal((await srv.admin.post(api(`${host}/containers/${id}/restart?t=1`))).status, 204);
      assert.equal((await srv.admin.get(api(`${host}/containers/${id}`))).body.State.Running, true);
      const busy = await srv.admin.request('DELETE', api(`${host}/containers/${id}`));
      assert.equal(busy.status, 409, 'a running container is not removed without force');
    } finally {
      assert.equal((await srv.admin.request('DELETE', api(`${host}/containers/${id}?force=true`))).status, 204);
    }
    const gone = await srv.admin.get(api(`${host}/containers/${id}`));
    assert.equal(gone.status, 404);
    assert.match(gone.body.message, /host "n\d"/);
    const audit = (await srv.admin.get(`/api/v1/audit?target=${encodeURIComponent(`host=${host} id=${id}`)}`)).body as any[];
    assert.ok(audit.some((e) => e.action === 'container.exec' && e.username === 'admin' && e.result === 'ok'));
    assert.ok(audit.some((e) => e.action === 'container.remove' && e.result === 'error'));
  });
}

test('logs follow delivers lines while they are written', async () => {
  const name = `follow-${suffix}`;
  const created = await srv.admin.post(api('n3/containers'), {
    name, start: true, config: { Image: lab.images.busybox1, Cmd: ['sh', '-c', 'i=0; while [ $i -lt 8 ]; do i=$((i+1)); echo line-$i; sleep 0.3; done'] },
  });
  assert.equal(created.status, 201);
  try {
    const res = await fetch(`${srv.url}${api(`n3/containers/${name}/logs?follow=true&tail=0`)}`, { headers: { authorization: `Bearer ${srv.admin.token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /ndjson/);
    const seen: { line: string; at: number }[] = [];
    for await (const item of readNdjson(res)) seen.push({ line: item.line, at: Date.now() });
    const numbers = seen.map((s) => Number(s.line.replace('line-', '')));
    assert.ok(numbers.length >= 3, `got ${JSON.stringify(seen)}`);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
    assert.equal(numbers.at(-1), 8, 'the stream ends when the container stops');
    // Lines arrived spread over time, not all at once at the end.
    assert.ok(seen.at(-1)!.at - seen[0]!.at > 600, 'lines were streamed as written');
  } finally {
    await srv.admin.request('DELETE', api(`n3/containers/${name}?force=true`));
  }
});

test('logs follow of an unknown container is a 404, not a stream', async () => {
  const res = await srv.admin.get(api('n3/containers/nosuch-container/logs?follow=true'));
  assert.equal(res.status, 404);
});

test('images: pull from the lab registry with progress, inspect, remove', async () => {
  // A tag of our own in the registry: the lab's busybox images are used by other suites' containers meanwhile.
  const ref = `${lab.registry.lab}/flt-pull-test:${crypto.randomBytes(4).toString('hex')}`;
  const docker = new DockerClient(createTransport({ url: lab.nodes[0]!.unix, label: 'n1' }));
  try {
    await tagImage(docker, lab.images.busybox1, ref);
    for await (const m of pushImage(docker, ref)) void m;
    await removeImage(docker, ref);
  } finally {
    await docker.close();
  }
  const res = await fetch(`${srv.url}${api('n1/images/pull?progress=true')}`, {
    method: 'POST', headers: { authorization: `Bearer ${srv.admin.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ image: ref }),
  });
  assert.equal(res.status, 200);
  const messages = [];
  for await (const m of readNdjson(res)) messages.push(m);
  assert.ok(messages.length >= 2, JSON.stringify(messages));
  assert.deepEqual(messages.at(-1), { status: 'done', image: ref });
  assert.ok(!messages.some((m) => m.error));
  const inspected = await srv.admin.get(api(`n1/images/${encodeURIComponent(ref)}`));
  assert.equal(inspected.status, 200);
  assert.ok(inspected.body.RepoTags.includes(ref));
  const removed = await srv.admin.request('DELETE', api(`n1/images/${encodeURIComponent(ref)}`));
  assert.equal(removed.status, 200);
  const missing = await srv.admin.post(api('n1/images/pull'), { image: `${lab.registry.lab}/busybox:does-not-exist` });
  assert.ok(missing.status >= 400 && missing.status < 600 && missing.status !== 500, `status ${missing.status}`);
  assert.match(missing.body.message, /does-not-exist|not found|manifest unknown/i);
});

test('networks and volumes: create, connect, disconnect, remove, prune', async () => {
  const net = `net-${suffix}`;
  const vol = `vol-${suffix}`;
  const c = await srv.admin.post(api('n2/containers'), { name: `netc-${suffix}`, start: true, config: { Image: lab.images.busybox1, Cmd: ['sleep', '300'] } });
  try {
    const created = await srv.admin.post(api('n2/networks'), { name: net, labels: { test: suffix } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await srv.admin.post(api(`n2/networks/${net}/connect`), { container: c.body.Id })).status, 204);
    const inspected = await srv.admin.get(api(`n2/networks/${net}`));
    assert.ok(Object.keys(inspected.body.Containers).includes(c.body.Id));
    assert.equal((await srv.admin.post(api(`n2/networks/${net}/disconnect`), { container: c.body.Id })).status, 204);
    assert.equal((await srv.admin.request('DELETE', api(`n2/networks/${net}`))).status, 204);
    assert.equal((await srv.admin.get(api(`n2/networks/${net}`))).status, 404);

    const v = await srv.admin.post(api('n2/volumes'), { name: vol, labels: { test: suffix } });
    assert.equal(v.status, 201);
    assert.ok(((await srv.admin.get(api('n2/volumes'))).body as any[]).some((x) => x.Name === vol));
    assert.equal((await srv.admin.request('DELETE', api(`n2/volumes/${vol}`))).status, 204);
    const pruned = await srv.admin.post(api('n2/volumes/prune'));
    assert.equal(pruned.status, 200);
    assert.ok('SpaceReclaimed' in pruned.body);
  } finally {
    await srv.admin.request('DELETE', api(`n2/containers/${c.body.Id}?force=true`));
  }
});

test('viewer can list containers but not create or exec', async () => {
  const viewer = await srv.userWithRole('viewer');
  assert.equal((await viewer.get(api('n1/containers'))).status, 200);
  assert.equal((await viewer.post(api('n1/containers'), { config: { Image: lab.images.busybox1 } })).status, 403);
  assert.equal((await viewer.post(api('n1/containers/x/exec'), { cmd: ['true'] })).status, 403);
});
