// Agents follow the server's version (SPEC S15), end to end: a server in its
// own process stamped with the lab agent image's v2 version, and an agent
// container from v1 (label flotilla.self=true) on a lab engine dialling it. With
// agentSelfUpdate off nothing happens; turned on, the server updates the agent
// by itself. A version whose image does not exist fails once, leaves the v1
// agent running and is not tried again; a server restarted at v2 (same data)
// then brings the same host to v2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DockerClient } from '../../src/docker/client.ts';
import { createContainer, inspectContainer, listContainers, removeContainer, startContainer } from '../../src/docker/containers.ts';
import { ensureImage, removeImage } from '../../src/docker/images.ts';
import { createVolume, removeVolume } from '../../src/docker/volumes.ts';
import { createTransport } from '../../src/transports/index.ts';
import { ensureAgentImages, type AgentImages } from '../lab/agent-image.ts';
import { labState, type LabNode, type LabState } from '../lab/fixture.ts';
import { apiClient, ADMIN_PASSWORD, type Api } from '../helpers/server.ts';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { signIn } from '../helpers/sign-in.ts';
import { waitFor } from '../helpers/wait.ts';

const RUN = `suf-${process.pid}-${Date.now().toString(36)}`;
const HOST = `${RUN}-agent`;

let lab: LabState;
let images: AgentImages;
let node: LabNode;
let docker: DockerClient;
let server: ServerProcess | undefined;
let admin: Api;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'srv-follow-'));
let agentPort: number;

interface AgentView { host: { name: string }; agentVersion: string | null; serverVersion: string; state: string; container: { name: string; image: string } | null; target: string | null; lastRun: { status: string; reason: string | null } | null }
interface RunView { id: string; container: string; image: string; status: string; trigger: string; reason: string | null }

async function startServer(version: string): Promise<void> {
  server = await startServerProcess({
    FLOTILLA_DATA_DIR: dataDir, FLOTILLA_AGENT_PORT: String(agentPort), FLOTILLA_DOCKER_PORT: '0', FLOTILLA_AGENT_HEARTBEAT: '1s', FLOTILLA_VERSION: version,
  });
  if (server.setupCode) {
    const anon = apiClient(server.url, undefined);
    assert.equal((await anon.post('/api/v1/setup', { setupCode: server.setupCode, username: 'admin', password: ADMIN_PASSWORD })).status, 201);
  }
  admin = await signIn(server.url);
}

const patch = (body: unknown) => admin.request('PATCH', '/api/v1/updates/settings', body);
const agentView = async (): Promise<AgentView | undefined> => ((await admin.get('/api/v1/updates/agents')).body as AgentView[]).find((a) => a.host.name === HOST);
const selfRuns = async (): Promise<RunView[]> => ((await admin.get(`/api/v1/updates/runs?host=${HOST}`)).body as RunView[]).filter((r) => r.trigger === 'self');
const hostView = async () => (await admin.get(`/api/v1/hosts/${HOST}`)).body as { status: string; agent?: { version: string } };

before(async () => {
  lab = await labState();
  images = await ensureAgentImages();
  const found = lab.nodes.find((n) => n.name === 'node5') ?? lab.nodes.find((n) => n.name === 'node4');
  assert.ok(found, 'this test runs on node5 (or node4): run node test/lab/cli.ts up 5');
  node = found;
  docker = new DockerClient(createTransport({ url: node.unix, label: node.name }));
  agentPort = await freePort();
});

after(async () => {
  for (const c of await listContainers(docker, { all: true, filters: { label: [`flotilla.test=${RUN}`] } })) await removeContainer(docker, c.Id, { force: true, v: true }).catch(() => {});
  // The updater and the v2 container carry the image's labels, not the test's: found by name.
  for (const c of await listContainers(docker, { all: true, filters: { name: [HOST] } })) await removeContainer(docker, c.Id, { force: true, v: true }).catch(() => {});
  await removeVolume(docker, `${HOST}-id`, { force: true }).catch(() => {});
  await removeImage(docker, images?.v2 ?? '').catch(() => {});
  await server?.kill();
  fs.rmSync(dataDir, { recursive: true, force: true });
  await docker?.close();
});

test('agents follow the server\'s version: off does nothing; on, a missing image fails once and leaves v1 running; a server at v2 brings the same host to v2', { timeout: 900_000 }, async (t) => {
  const missing = `${images.v2Version}-missing${process.pid}`;
  await startServer(missing);
  const off = await patch({ agentSelfUpdate: false });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  assert.equal(off.body.agentSelfUpdate, false);

  // `docker run -d --label flotilla.self=true -v <socket>:/var/run/docker.sock -v <volume>:/data/cluster …` (deploy/README.md).
  await ensureImage(docker, images.v1);
  const token = await admin.post('/api/v1/enroll-tokens', { kind: 'single', ttlSeconds: 600, label: 'follow test' });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  await createVolume(docker, { Name: `${HOST}-id`, Labels: { 'flotilla.test': RUN } });
  const v1 = await createContainer(docker, HOST, {
    Image: images.v1,
    Labels: { 'flotilla.self': 'true', 'flotilla.test': RUN },
    Env: [`FLOTILLA_SERVER_ADDR=${lab.net}.0.1:${agentPort}`, `FLOTILLA_ENROLL_TOKEN=${token.body.token}`, `FLOTILLA_HOST_NAME=${HOST}`],
    HostConfig: { Binds: [`${new URL(node.unix).pathname}:/var/run/docker.sock`, `${HOST}-id:/data/cluster`], RestartPolicy: { Name: 'unless-stopped' } },
  });
  await startContainer(docker, v1.Id);
  // Decoys: other flotilla.self containers on the same engine (another agent's, one without a host name),
  // one of them listed before ours (the inventory is in container-ID order): the follower must pick ours.
  await ensureImage(docker, lab.images.busybox1);
  const decoy = async (env: string[]) => {
    const c = await createContainer(docker, `${RUN}-decoy-${Math.random().toString(36).slice(2, 8)}`, {
      Image: lab.images.busybox1, Cmd: ['sleep', '3600'], Env: env, Labels: { 'flotilla.self': 'true', 'flotilla.test': RUN }, HostConfig: { AutoRemove: false },
    });
    await startContainer(docker, c.Id);
    return c.Id;
  };
  await decoy([]);
  for (let i = 0; i < 30 && (await decoy([`FLOTILLA_HOST_NAME=${RUN}-other`])) > v1.Id; i++);

  // Off: the host is seen as behind, and left alone.
  const disabled = await waitFor('the agent seen, self-update disabled', async () => {
    const a = await agentView();
    return a?.agentVersion === images.v1Version && a.container?.name === HOST && a.state === 'disabled' && a;
  }, 120_000, 500);
  assert.equal(disabled.serverVersion, missing);
  assert.equal(disabled.target, `${images.v1.slice(0, images.v1.lastIndexOf(':'))}:${missing}`, 'the same repository at the server\'s version');
  assert.deepEqual(await selfRuns(), []);

  // On: the server tries by itself; the image is not there, so the pull fails and nothing is touched.
  assert.equal((await patch({ agentSelfUpdate: true })).status, 200);
  const failed = await waitFor('the self-update to the missing version failed', async () => {
    const runs = await selfRuns();
    return runs.length > 0 && runs[0]!.status !== 'running' && runs;
  }, 180_000, 500);
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.status, 'failed', JSON.stringify(failed[0]));
  assert.equal(failed[0]!.container, HOST);
  assert.match(failed[0]!.reason ?? '', /pull|not found|manifest unknown/i);
  const still = await inspectContainer(docker, HOST);
  assert.equal(still.Id, v1.Id, 'the v1 agent was never touched');
  assert.equal(still.State.Running, true);
  assert.equal((await agentView())?.state, 'failed');
  // Syncs go on (heartbeats each second); none starts another attempt at the same version.
  const syncedBefore = Date.now();
  await waitFor('the host synced again after the failure', async () => {
    const h = (await admin.get(`/api/v1/hosts/${HOST}`)).body as { lastSyncAt: string | null };
    return Date.parse(h.lastSyncAt ?? '') > syncedBefore + 2000;
  }, 120_000, 500);
  assert.equal((await selfRuns()).length, 1, 'a version that failed is not tried again by itself');

  // The server is upgraded to v2 (same data, same agent port): the agent follows.
  await server!.kill();
  const t0 = Date.now();
  await startServer(images.v2Version);
  const updated = await waitFor('the host reconnected with v2', async () => {
    const h = await hostView();
    return h.status === 'connected' && h.agent?.version === images.v2Version && h;
  }, 420_000, 1000);
  assert.ok(updated);
  const runs = await waitFor('the v2 self-update recorded', async () => {
    const r = await selfRuns();
    return r.length === 2 && r[0]!.status !== 'running' && r;
  }, 120_000, 500);
  assert.equal(runs[0]!.status, 'updated', JSON.stringify(runs[0]));
  assert.equal(runs[0]!.image, images.v2);
  const now = await inspectContainer(docker, HOST);
  assert.notEqual(now.Id, v1.Id);
  assert.equal(now.Config.Image, images.v2);
  assert.equal(now.State.Running, true);
  assert.equal((await agentView())?.state, 'current');
  const hosts = (await admin.get('/api/v1/hosts')).body as { name: string }[];
  assert.equal(hosts.filter((h) => h.name === HOST).length, 1, 'the same host, not a new one');
  t.diagnostic(`server restarted at v2 → agent reported v2 after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
