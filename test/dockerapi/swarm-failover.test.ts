// The leader's engine dies (SIGKILL) on a swarm of three managers: through the
// fleet endpoint the real docker CLI keeps working — service ls, node ls and a
// service update wait out the election and complete on another manager — and
// the cluster then shows the new leader. With two of three managers gone, a call
// is refused with 503 naming every manager tried. On a swarm of our own (fresh
// lab nodes): the shared lab's engines are never killed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { lab, labState, type LabNode } from '../lab/fixture.ts';
import { dockerApi } from '../lab/http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dockerCli, type DockerCli } from '../helpers/docker-cli.ts';
import { waitFor } from '../helpers/wait.ts';

const sfx = crypto.randomBytes(2).toString('hex');
const names = ['a', 'b', 'c'].map((x) => `fo${sfx}${x}`);
const svc = `fo-${sfx}`;
const added: string[] = [];
const killed = new Set<string>();
let nodes: LabNode[] = [];
let srv: TestServer | undefined;
let cli: DockerCli;
let cluster: string;
let images: { busybox1: string; busybox2: string };

before(async () => {
  images = (await labState()).images;
  for (const name of names) {
    nodes.push(await lab().addNode(name));
    added.push(name);
  }
  // swarm init on the first, the others join as managers (as test/lab/swarm.ts does, addresses on the lab network).
  const [first, ...rest] = nodes;
  await dockerApi(lab().api(first!.name), 'POST', '/swarm/init', { json: { ListenAddr: `${first!.ip}:2377`, AdvertiseAddr: first!.ip }, timeoutMs: 60_000 });
  const tokens = await dockerApi<{ JoinTokens: { Manager: string } }>(lab().api(first!.name), 'GET', '/swarm');
  for (const n of rest) {
    await dockerApi(lab().api(n.name), 'POST', '/swarm/join', {
      json: { ListenAddr: `${n.ip}:2377`, AdvertiseAddr: n.ip, RemoteAddrs: [`${first!.ip}:2377`], JoinToken: tokens.JoinTokens.Manager },
      timeoutMs: 60_000,
    });
  }
  srv = await startTestServer();
  for (const n of nodes) assert.equal((await srv.admin.post('/api/v1/hosts', { name: n.name, endpoint: n.unix })).status, 201);
  const found = await waitFor('our swarm discovered, three managers linked', async () => {
    const c = ((await srv!.admin.get('/api/v1/swarm/clusters')).body as { name: string; status: string; hosts: { role: string | null }[] }[])[0];
    if (!c) return false;
    if (c.status !== 'connected' || c.hosts.filter((h) => h.role === 'manager').length < 3) {
      await srv!.admin.post(`/api/v1/swarm/clusters/${c.name}/sync`);
      return false;
    }
    return c;
  }, 60_000, 250);
  cluster = found.name;
  cli = dockerCli({ port: srv.handle.docker!.port, caPem: srv.handle.cluster!.ca.certPem, token: srv.admin.token });
});

after(async () => {
  // Engines back first (a removed node's swarm state goes with it), then the nodes.
  for (const name of killed) await lab().startEngine(name).catch(() => undefined);
  await srv?.close();
  for (const name of added) await lab().removeNode(name);
});

async function timed(args: string[], timeoutMs = 120_000) {
  const started = Date.now();
  const r = await cli.run(args, { timeoutMs });
  return { ...r, ms: Date.now() - started };
}

async function leaderHost(): Promise<{ nodeId: string; host: string }> {
  const c = (await srv!.admin.get(`/api/v1/swarm/clusters/${cluster}`)).body;
  const host = c.hosts.find((h: { nodeId: string }) => h.nodeId === c.leaderNodeId);
  assert.ok(host, `the leader ${c.leaderNodeId} is one of our hosts: ${JSON.stringify(c.hosts)}`);
  return { nodeId: c.leaderNodeId, host: host.name };
}

test('the leader\'s engine SIGKILLed: service ls, node ls and service update complete through another manager; the new leader is shown', async () => {
  const create = await timed(['service', 'create', '--detach', '--name', svc, '--endpoint-mode', 'dnsrr', '--replicas', '2', images.busybox1, 'sleep', '3600']);
  assert.equal(create.code, 0, create.stderr);
  await waitFor('two tasks running', async () => {
    const ps = await cli.run(['service', 'ps', svc, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}']);
    return ps.stdout.split('\n').filter((l) => l.startsWith('Running')).length === 2;
  }, 60_000, 250);

  const old = await leaderHost();
  await lab().killEngine(old.host);
  killed.add(old.host);
  const killedAt = Date.now();

  // All three right after the kill, in parallel: each may wait for the election, none may fail.
  const [ls, nodeLs, update] = await Promise.all([
    timed(['service', 'ls', '--filter', `name=${svc}`, '--format', '{{.Name}} {{.Replicas}}']),
    timed(['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}} {{.Status}}']),
    timed(['service', 'update', '--detach', '--image', images.busybox2, svc]),
  ]);
  console.log(`after SIGKILL of the leader (${old.host}): service ls ${ls.ms} ms, node ls ${nodeLs.ms} ms, service update ${update.ms} ms`);
  assert.equal(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, new RegExp(`^${svc} \\d/2`));
  assert.equal(nodeLs.code, 0, nodeLs.stderr);
  const rows = nodeLs.stdout.trim().split('\n');
  assert.equal(rows.length, 3, nodeLs.stdout);
  assert.equal(rows.filter((r) => / Leader /.test(r)).length, 1, `a new leader: ${nodeLs.stdout}`);
  const oldHostname = nodes.find((n) => n.name === old.host)!.hostname;
  assert.ok(!rows.some((r) => r.startsWith(`${oldHostname} Leader`)), `the dead engine is not the leader: ${nodeLs.stdout}`);
  assert.equal(update.code, 0, update.stderr);

  // The update really happened: the spec carries the new image, and it runs on the two live nodes.
  const image = JSON.parse((await cli.run(['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Image}}', svc])).stdout);
  assert.match(image, /busybox:2/);
  const converged = await waitFor('busybox:2 running twice', async () => {
    const ps = await cli.run(['service', 'ps', svc, '--filter', 'desired-state=running', '--format', '{{.Image}} {{.CurrentState}}']);
    return ps.stdout.split('\n').filter((l) => l.includes('busybox:2') && / Running /.test(l)).length === 2 && Date.now() - killedAt;
  }, 120_000, 500);
  console.log(`update converged ${converged} ms after the kill`);

  // The cluster shows the new leader after a sync, one of the two live managers.
  const leader = await waitFor('the cluster to show the new leader', async () => {
    await srv!.admin.post(`/api/v1/swarm/clusters/${cluster}/sync`);
    const c = (await srv!.admin.get(`/api/v1/swarm/clusters/${cluster}`)).body;
    return c.leaderNodeId && c.leaderNodeId !== old.nodeId && c;
  }, 60_000, 500);
  const newHost = leader.hosts.find((h: { nodeId: string }) => h.nodeId === leader.leaderNodeId);
  assert.ok(newHost && newHost.name !== old.host, JSON.stringify(leader.hosts));

  const rm = await cli.run(['service', 'rm', svc]);
  assert.equal(rm.code, 0, rm.stderr);
});

test('two of three managers gone: 503 that names every manager tried', async () => {
  // The previous test left one engine dead; kill one more of the live ones (quorum lost: no leader can be elected).
  const alive = names.filter((n) => !killed.has(n));
  await lab().killEngine(alive[0]!);
  killed.add(alive[0]!);
  // A raft leader steps down only after an election timeout without a majority: until the last manager
  // itself says it has no leader, it still answers (rightly) — wait for that before asking through us.
  const last = names.find((n) => !killed.has(n))!;
  await waitFor('the last manager without a leader', async () => {
    try {
      await dockerApi(lab().api(last), 'GET', '/nodes', { timeoutMs: 5000 });
      return false;
    } catch {
      return true;
    }
  }, 60_000, 500);
  const r = await timed(['service', 'ls'], 90_000);
  console.log(`service ls without quorum: exit ${r.code} after ${r.ms} ms: ${r.stderr.trim()}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`swarm cluster "${cluster}": no manager could take the call`));
  for (const name of names) assert.match(r.stderr, new RegExp(`${name}: `), `${name} named in: ${r.stderr}`);
  // Bounded: the router's 30 s election wait plus its last round (the live manager gives up with DeadlineExceeded on its own).
  assert.ok(r.ms < 60_000, `bounded by the election wait (${r.ms} ms)`);
});
