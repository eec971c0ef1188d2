// Tests of the lab harness itself, against the running lab:
//   node test/lab/cli.ts up 3 && node --test test/lab/*.test.ts
// Tests that break a node create their own with addNode() and remove it in after().
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { lab, labState, sharedNodes, type LabNode, type LabState } from './fixture.ts';
import { dockerApi, ping, registryDigest, request, type HttpTarget } from './http.ts';
import { run } from './sys.ts';

let st: LabState;
/** The shared nodes from `up` (node1..nodeN). Other test files may add (and break) their own nodes meanwhile. */
let shared: LabNode[];

before(async () => {
  st = await labState();
  shared = sharedNodes(st);
});

function unixTarget(n: LabNode): HttpTarget {
  return { socketPath: n.unix.replace(/^unix:\/\//, '') };
}
function tcpTarget(n: LabNode): HttpTarget {
  const u = new URL(n.tcp.replace(/^tcp:/, 'http:'));
  return { host: u.hostname, port: Number(u.port) };
}
type Info = { ID: string; Name: string };

/** stdout+stderr of a non-tty container log stream (8-byte frame headers). */
function demux(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + size).toString('utf8');
    i += 8 + size;
  }
  return out;
}

async function runContainer(target: HttpTarget, image: string, cmd: string[]): Promise<string> {
  const c = await dockerApi<{ Id: string }>(target, 'POST', '/containers/create', { json: { Image: image, Cmd: cmd } });
  try {
    await dockerApi(target, 'POST', `/containers/${c.Id}/start`);
    const w = await dockerApi<{ StatusCode: number }>(target, 'POST', `/containers/${c.Id}/wait`, { timeoutMs: 30_000 });
    assert.equal(w.StatusCode, 0);
    const logs = await request(target, 'GET', `/containers/${c.Id}/logs?stdout=1&stderr=1`);
    return demux(logs.body);
  } finally {
    await dockerApi(target, 'DELETE', `/containers/${c.Id}?force=1`).catch(() => {});
  }
}

describe('shared lab nodes', () => {
  test('every node answers /_ping on its unix socket and on tcp', async () => {
    assert.ok(shared.length >= 1, 'lab has no nodes');
    for (const n of shared) {
      assert.ok(await ping(unixTarget(n), 2000), `${n.name}: no answer on ${n.unix}`);
      assert.ok(await ping(tcpTarget(n), 2000), `${n.name}: no answer on ${n.tcp}`);
    }
  });

  test('engine IDs and names are distinct and match lab.json', async () => {
    const infos = await Promise.all(shared.map((n) => dockerApi<Info>(unixTarget(n), 'GET', '/info')));
    assert.equal(new Set(infos.map((i) => i.ID)).size, shared.length, 'engine IDs not distinct');
    assert.equal(new Set(infos.map((i) => i.Name)).size, shared.length, 'engine names not distinct');
    shared.forEach((n, i) => {
      assert.equal(infos[i].ID, n.engineId, `${n.name}: engine ID differs from lab.json`);
      assert.equal(infos[i].Name, n.hostname, `${n.name}: name differs from lab.json hostname`);
    });
  });

  test('the registry serves both busybox tags (lab address and loopback)', async () => {
    const addrs = [st.registry.lab, ...(st.registry.loopback ? [st.registry.loopback] : [])];
    for (const a of addrs) {
      const d1 = await registryDigest(a, 'busybox', '1');
      const d2 = await registryDigest(a, 'busybox', '2');
      assert.match(d1 ?? '', /^sha256:[0-9a-f]{64}$/, `busybox:1 on ${a}`);
      assert.match(d2 ?? '', /^sha256:[0-9a-f]{64}$/, `busybox:2 on ${a}`);
      assert.notEqual(d1, d2);
    }
    assert.equal(st.images.busybox1, `${st.registry.lab}/busybox:1`);
    assert.equal(st.images.busybox2, `${st.registry.lab}/busybox:2`);
  });

  test('every node has busybox:1 locally and runs a container from it, with logs', async () => {
    await Promise.all(
      shared.map(async (n) => {
        const img = await request(unixTarget(n), 'GET', `/images/${st.images.busybox1}/json`);
        assert.equal(img.status, 200, `${n.name}: ${st.images.busybox1} is not local`);
        const out = await runContainer(unixTarget(n), st.images.busybox1, ['sh', '-c', 'echo hello from $0; cat /etc/lab-release', n.name]);
        assert.equal(out, `hello from ${n.name}\nlab busybox v1\n`);
      }),
    );
  });

  test('node netns have no default route (nothing can leave the machine)', async () => {
    for (const n of shared) {
      const r = await run('ip', ['-n', n.netns, 'route', 'show', 'default']);
      assert.equal(r.stdout.trim(), '', `${n.netns} has a default route`);
    }
  });
});

describe('fault operations on an own node', () => {
  const name = `t${process.pid % 100000}`;
  const name2 = `${name}b`;
  let mine: LabNode;

  after(async () => {
    for (const n of [name, name2]) {
      if (fs.existsSync(`${st.dir}/${n}`) || fs.existsSync(`/run/netns/${st.prefix}-${n}`)) await lab().removeNode(n);
    }
  });

  test('addNode starts a separate host on the lab network (concurrent adds get distinct IPs)', async () => {
    const [a, b] = await Promise.all([lab().addNode(name), lab().addNode(name2)]);
    mine = a;
    assert.notEqual(a.ip, b.ip);
    const taken = new Set(shared.map((n) => n.ip));
    assert.ok(!taken.has(a.ip) && !taken.has(b.ip), 'new node took a shared node address');
    assert.equal(a.hostname, `${st.prefix}-${name}`);
    assert.ok(await ping(tcpTarget(a), 2000));
    const state = await labState();
    assert.ok(state.nodes.some((n) => n.name === name) && state.nodes.some((n) => n.name === name2), 'lab.json misses the new nodes');
    assert.notEqual(a.engineId, b.engineId);
    assert.ok(!shared.some((n) => n.engineId === a.engineId || n.engineId === b.engineId), 'engine ID not distinct');
    // the new host reaches the registry and has the image
    const out = await runContainer(unixTarget(a), st.images.busybox1, ['cat', '/etc/lab-release']);
    assert.equal(out, 'lab busybox v1\n');
    await lab().removeNode(name2);
  });

  test('killEngine + startEngine keeps the engine ID', async () => {
    const before = await dockerApi<Info>(unixTarget(mine), 'GET', '/info');
    await lab().killEngine(name);
    assert.equal(await ping(unixTarget(mine), 500), false, 'engine still answers after kill');
    const again = await lab().startEngine(name);
    const afterInfo = await dockerApi<Info>(unixTarget(again), 'GET', '/info');
    assert.equal(afterInfo.ID, before.ID);
    assert.equal(again.engineId, before.ID);
    // a stop + start (graceful) too
    await lab().stopEngine(name);
    assert.equal(await ping(unixTarget(mine), 500), false);
    await lab().startEngine(name);
    assert.equal((await dockerApi<Info>(unixTarget(mine), 'GET', '/info')).ID, before.ID);
  });

  test('linkDown cuts the tcp endpoint off the root netns, linkUp restores it', async () => {
    assert.ok(await ping(tcpTarget(mine), 2000));
    await lab().linkDown(name);
    assert.equal(await ping(tcpTarget(mine), 1000), false, 'tcp endpoint still reachable with the link down');
    assert.ok(await ping(unixTarget(mine), 2000), 'the unix socket should still answer');
    // the shared nodes are not affected
    assert.ok(await ping(tcpTarget(shared[0]), 2000));
    await lab().linkUp(name);
    assert.ok(await ping(tcpTarget(mine), 2000));
  });

  test('addNode with swarm joins as a worker; removeNode takes it out of the swarm', async (t) => {
    if (!st.swarm) {
      t.skip('lab is up without --swarm');
      return;
    }
    const mgr = shared.find((n) => n.name === st.swarm?.managers[0]);
    assert.ok(mgr, 'no manager in lab.json');
    type SwarmNode = { Description: { Hostname: string }; Status: { State: string } };
    const w = await lab().addNode(name2, { swarm: 'worker' });
    try {
      const nodes = await dockerApi<SwarmNode[]>(unixTarget(mgr), 'GET', '/nodes');
      assert.ok(nodes.some((n) => n.Description.Hostname === w.hostname), 'new node not in the swarm');
      assert.deepEqual((await labState()).swarm?.workers.includes(name2), true);
    } finally {
      await lab().removeNode(name2);
    }
    const nodes = await dockerApi<SwarmNode[]>(unixTarget(mgr), 'GET', '/nodes');
    assert.ok(!nodes.some((n) => n.Description.Hostname === w.hostname), 'removed node still in the swarm');
    assert.deepEqual((await labState()).swarm?.workers.includes(name2), false);
  });

  test('removeNode leaves nothing behind', async () => {
    const pid = Number(fs.readFileSync(mine.pidfile, 'utf8'));
    await lab().removeNode(name);
    assert.equal(fs.existsSync(`${st.dir}/${name}`), false, 'node dir left');
    assert.equal(fs.existsSync(`/run/netns/${mine.netns}`), false, 'netns left');
    assert.equal(fs.existsSync(`/proc/${pid}`), false, 'dockerd left');
    const cg = fs.readdirSync('/sys/fs/cgroup').flatMap((h) => {
      try {
        return fs.readdirSync(`/sys/fs/cgroup/${h}`).filter((d) => d === mine.netns);
      } catch {
        return [];
      }
    });
    assert.deepEqual(cg, [], 'cgroups left');
    const state = await labState();
    assert.ok(!state.nodes.some((n) => n.name === name), 'still in lab.json');
    for (const n of shared) assert.ok(state.nodes.some((x) => x.name === n.name), `shared ${n.name} vanished from lab.json`);
    assert.equal(await ping(tcpTarget(mine), 500), false);
  });
});
