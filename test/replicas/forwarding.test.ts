// Two server replicas on one PostgreSQL (issue 13): an agent holds its stream
// on replica A; REST (a tunnelled container list and an exec over the engine's
// hijack) and the real docker CLI through replica B's fleet endpoint reach it
// through A's replica endpoint. Only a replica's certificate is let in there.
// A SIGKILLed: B releases the host within the replica TTL (disconnected, with
// why) and says clearly why it cannot reach it; the agent, back on B, is
// reached from B directly and from a restarted A through B.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { labState, sharedNodes, type LabNode, type LabState } from '../lab/fixture.ts';
import { ADMIN_PASSWORD, apiClient, type Api } from '../helpers/server.ts';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.ts';
import { postgresSkip, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { dockerCli } from '../helpers/docker-cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { copyReplicaKeys } from '../helpers/replica-keys.ts';

const skip = postgresSkip() || (process.env.FLOTILLA_REQUIRE_LAB ? false : await labState().then(() => false, (e: Error) => e.message));
const TAG = `rf${process.pid % 100000}`;
const HOST = `${TAG}-agent`;

async function adminToken(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
  assert.equal(res.status, 200);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  const tok = await fetch(`${url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-flotilla-csrf': csrfToken }, body: JSON.stringify({ name: 'replicas' }) });
  return ((await tok.json()) as { token: string }).token;
}

describe('replicas: a command reaches the agent wherever its stream is', { skip, concurrency: false }, () => {
  let st: LabState;
  let node: LabNode;
  let postgres: TestPostgres;
  let db: pg.Client;
  let dbUrl: string;
  const dirs = { a: '', b: '' };
  const ports = { agentA: 0, agentB: 0, dockerB: 0 };
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let agent: AgentProcess | undefined;
  let token = '';
  const container = `${TAG}-c`;
  const via = (s: ServerProcess): Api => apiClient(s.url, token);
  const env = (dir: string, agentPort: number, extra: Record<string, string> = {}) => ({
    FLOTILLA_DATA_DIR: dir, FLOTILLA_DATABASE_URL: dbUrl, FLOTILLA_AGENT_PORT: String(agentPort), FLOTILLA_REPLICA_PORT: '0',
    FLOTILLA_REPLICA_TTL: '3s', FLOTILLA_AGENT_HEARTBEAT: '1s', FLOTILLA_DOCKER_PORT: '0', ...extra,
  });
  const dockerOnNode = async (...args: string[]) => {
    const { execFile } = await import('node:child_process');
    return new Promise<string>((resolve, reject) => execFile('docker', ['-H', node.unix, ...args], { timeout: 60_000 }, (err, out) => (err ? reject(err) : resolve(out))));
  };
  const replicaRows = async () => (await db.query<{ id: string; peer_address: string }>('select id, peer_address from replicas order by started_at')).rows;
  const holder = async () => (await db.query<{ replica_id: string }>('select replica_id from agent_streams where host_id = (select id from hosts where name = $1)', [HOST])).rows[0]?.replica_id;

  before(async () => {
    st = await labState();
    node = sharedNodes(st).find((n) => n.name === 'node5') ?? sharedNodes(st).at(-1)!;
    postgres = await startPostgres();
    dbUrl = await postgres.createDatabase();
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    dirs.a = fs.mkdtempSync(path.join(os.tmpdir(), 'replica-a-'));
    dirs.b = fs.mkdtempSync(path.join(os.tmpdir(), 'replica-b-'));
    ports.agentA = await freePort();
    ports.agentB = await freePort();
    a = await startServerProcess({ ...env(dirs.a, ports.agentA), FLOTILLA_TEST_ENROLL_TOKEN: '1' });
    const setup = await apiClient(a.url, undefined).post('/api/v1/setup', { setupCode: a.setupCode, username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(setup.status, 201, JSON.stringify(setup.body));
    token = await adminToken(a.url);
    copyReplicaKeys(dirs.a, dirs.b);
    b = await startServerProcess(env(dirs.b, ports.agentB));
    agent = spawnAgent({
      netns: node.netns,
      env: { FLOTILLA_SERVER_ADDR: `${st.net}.0.1:${ports.agentA}`, FLOTILLA_HOST_NAME: HOST, FLOTILLA_DOCKER_HOST: node.unix, FLOTILLA_ENROLL_TOKEN: a.token! },
    });
    await agent.seen('connected', 60_000);
    await dockerOnNode('run', '-d', '--name', container, '--label', `flotilla.test=${TAG}`, st.images.busybox1, 'sleep', '3600');
  });

  after(async () => {
    await dockerOnNode('rm', '-f', container).catch(() => undefined);
    await agent?.kill();
    await a?.kill();
    await b?.kill();
    await db?.end().catch(() => undefined);
    await postgres?.stop();
    for (const d of [dirs.a, dirs.b, agent?.dir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  test('both replicas are registered; the agent\'s stream is held by A', async () => {
    const rows = await waitFor('two replicas with their endpoints', async () => { const r = await replicaRows(); return r.length === 2 && r; }, 20_000, 200);
    for (const r of rows) assert.match(r.peer_address, /^127\.0\.0\.1:\d+$/);
    assert.equal(await holder(), rows[0]!.id, 'A (the first replica) holds the stream');
    assert.equal((await via(b!).get(`/api/v1/hosts/${HOST}`)).body.status, 'connected', 'B sees the host connected');
  });

  test('through B: a tunnelled container list, an exec over the hijack and the docker CLI reach the agent held by A', async () => {
    const list = await via(b!).get(`/api/v1/hosts/${HOST}/containers`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.ok((list.body as { Names: string[] }[]).some((c) => c.Names.includes(`/${container}`)), 'the container, live from the engine');
    const exec = await via(b!).post(`/api/v1/hosts/${HOST}/containers/${container}/exec`, { cmd: ['sh', '-c', 'echo via-$((40 + 2))'] });
    assert.equal(exec.status, 200, JSON.stringify(exec.body));
    assert.deepEqual([exec.body.exitCode, exec.body.stdout], [0, 'via-42\n']);
    const info = (await via(b!).get('/api/v1/settings')).body as { variable: string; value: unknown }[];
    const dockerPort = Number(info.find((s) => s.variable === 'FLOTILLA_DOCKER_PORT')?.value);
    const cli = dockerCli({ port: dockerPort, caPem: fs.readFileSync(path.join(dirs.a, 'cluster/ca.pem'), 'utf8'), token });
    const ps = await cli.run(['ps', '--format', '{{.Names}}'], { target: HOST });
    assert.equal(ps.code, 0, ps.stderr);
    assert.ok(ps.stdout.split('\n').includes(container), ps.stdout);
    fs.rmSync(cli.dir, { recursive: true, force: true });
  });

  test('the replica endpoint lets in replicas only: an agent\'s certificate from the same CA is refused', async () => {
    const peer = (await replicaRows())[0]!.peer_address;
    const [host, port] = peer.split(':') as [string, string];
    const answer = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({
        host, port: Number(port), ca: fs.readFileSync(path.join(dirs.a, 'cluster/ca.pem')), checkServerIdentity: () => undefined,
        cert: fs.readFileSync(path.join(agent!.dir, 'agent.pem')), key: fs.readFileSync(path.join(agent!.dir, 'agent-key.pem')),
      }, () => s.write(`TUNNEL ${'0'.repeat(8)}\n`));
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('close', () => resolve(text));
      s.on('error', reject);
    });
    assert.match(answer, /^ERR certificate CN ".*" is not a replica's/);
  });

  test('A SIGKILLed: B releases the host within the TTL and says why it cannot reach it', async () => {
    await a!.kill('SIGKILL');
    const started = Date.now();
    const host = await waitFor('the host released by B', async () => {
      const h = (await via(b!).get(`/api/v1/hosts/${HOST}`)).body as { status: string; statusReason: string | null };
      return h.status === 'disconnected' && h;
    }, 30_000, 200);
    process.stdout.write(`# the host released ${Date.now() - started} ms after its replica was killed (TTL 3 s)\n`);
    assert.match(host.statusReason ?? '', /replica/);
    assert.equal(await holder(), undefined, 'no entry left');
    const list = await via(b!).get(`/api/v1/hosts/${HOST}/containers`);
    assert.ok(list.status >= 500 && list.status < 600, `${list.status} ${JSON.stringify(list.body)}`);
    assert.match(list.body.message, /not connected|agent/i);
  });

  test('the agent back on B is reached from B, and from a restarted A through B', async () => {
    await agent!.kill();
    agent = spawnAgent({ netns: node.netns, dir: agent!.dir, env: { FLOTILLA_SERVER_ADDR: `${st.net}.0.1:${ports.agentB}`, FLOTILLA_HOST_NAME: HOST, FLOTILLA_DOCKER_HOST: node.unix } });
    await agent.seen('connected', 60_000);
    await waitFor('B holds the stream', async () => (await holder()) !== undefined, 20_000, 200);
    assert.equal((await via(b!).get(`/api/v1/hosts/${HOST}/containers`)).status, 200);
    a = await startServerProcess(env(dirs.a, ports.agentA));
    const exec = await via(a).post(`/api/v1/hosts/${HOST}/containers/${container}/exec`, { cmd: ['echo', 'through-b'] });
    assert.equal(exec.status, 200, JSON.stringify(exec.body));
    assert.equal(exec.body.stdout, 'through-b\n');
    assert.equal((await via(a).get(`/api/v1/hosts/${HOST}`)).body.status, 'connected', 'A, restarted, leaves the host held by B connected');
  });
});
