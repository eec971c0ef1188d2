// Disk usage per host (SPEC S10) against real engines: a direct lab host and an
// agent host are measured soon after their first sync, a 5 MiB volume shows in
// volumesBytes after a refresh, syncs do not measure again, the refresh endpoint
// refuses unknown and unconnected hosts, and the figures survive a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import type { AgentProcess } from '../helpers/agent-process.ts';
import { apiClient, waitFor, type Api } from '../helpers/server.ts';
import { sharedNodes, type LabNode } from '../lab/fixture.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer, type ServerHandle } from '../../src/server.ts';
import { DockerClient } from '../../src/docker/client.ts';
import { createContainer, removeContainer, startContainer, waitContainer } from '../../src/docker/containers.ts';
import { ensureImage } from '../../src/docker/images.ts';
import { createVolume, removeVolume } from '../../src/docker/volumes.ts';
import { createTransport } from '../../src/transports/index.ts';

const skip = process.env.FLOTILLA_REQUIRE_LAB ? false : await import('../lab/fixture.ts').then((m) => m.labState()).then(() => false, (e: Error) => e.message);
const suffix = crypto.randomBytes(3).toString('hex');
const DIRECT = `disk-direct-${suffix}`;
const AGENT = `disk-agent-${suffix}`;
const MIB = 1024 * 1024;

describe('per-host disk usage', { skip, concurrency: false }, () => {
  let al: AgentLab;
  let agent: AgentProcess | undefined;
  let restarted: ServerHandle | undefined;
  let admin: Api;
  const engines = new Map<string, { node: LabNode; docker: DockerClient }>();
  const volumes: { host: string; name: string }[] = [];

  const overviewHost = async (name: string) => ((await admin.get('/api/v1/fleet/overview')).body.hosts as any[]).find((h) => h.name === name);

  /** A volume on the host's engine holding a file of `mib` MiB, written by a busybox container. */
  async function volumeWithFile(host: string, mib: number): Promise<void> {
    const { docker } = engines.get(host)!;
    const name = `flt-disk-${suffix}-${volumes.length}`;
    await createVolume(docker, { Name: name, Labels: { test: 'disk-usage' } });
    volumes.push({ host, name });
    const c = await createContainer(docker, undefined, {
      Image: al.lab.images.busybox1, Cmd: ['dd', 'if=/dev/zero', 'of=/data/fill', 'bs=1M', `count=${mib}`],
      HostConfig: { Mounts: [{ Type: 'volume', Source: name, Target: '/data' }] },
    });
    try {
      await startContainer(docker, c.Id);
      assert.equal((await waitContainer(docker, c.Id)).StatusCode, 0);
    } finally {
      await removeContainer(docker, c.Id, { force: true });
    }
  }

  before(async () => {
    al = await agentLab();
    admin = al.srv.admin;
    const [direct, agentNode] = sharedNodes(al.lab);
    for (const [host, node] of [[DIRECT, direct!], [AGENT, agentNode!]] as const) {
      const docker = new DockerClient(createTransport({ url: node.unix, label: node.name }));
      await ensureImage(docker, al.lab.images.busybox1);
      engines.set(host, { node, docker });
    }
    const added = await admin.post('/api/v1/hosts', { name: DIRECT, endpoint: direct!.unix, environment: 'development' });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    agent = al.startAgent(agentNode!, AGENT, { FLOTILLA_ENROLL_TOKEN: await al.token() });
    await al.waitConnected(AGENT, 60_000);
    await al.waitConnected(DIRECT);
  });

  after(async () => {
    await agent?.kill().catch(() => undefined);
    for (const v of volumes) await removeVolume(engines.get(v.host)!.docker, v.name, { force: true }).catch(() => undefined);
    for (const { docker } of engines.values()) await docker.close();
    if (restarted) {
      await restarted.close();
      fs.rmSync(al.srv.dataDir, { recursive: true, force: true });
    } else {
      await al?.srv.close();
    }
    if (agent) fs.rmSync(agent.dir, { recursive: true, force: true });
  });

  test('a direct host and an agent host are measured soon after their first sync, and the overview shows it', async () => {
    const ov = await waitFor('both hosts measured', async () => {
      const body = (await admin.get('/api/v1/fleet/overview')).body;
      const hosts = (body.hosts as any[]).filter((h) => h.name === DIRECT || h.name === AGENT);
      return hosts.length === 2 && hosts.every((h) => h.disk) && body;
    }, 30_000);
    let sum = 0;
    for (const h of ov.hosts as any[]) {
      const d = h.disk;
      assert.ok(d, `${h.name} measured`);
      assert.ok(d.imagesBytes > 0, `${h.name} holds the lab's busybox image`);
      assert.equal(d.totalBytes, d.imagesBytes + d.containersBytes + d.volumesBytes + d.buildCacheBytes);
      assert.ok(d.reclaimableBytes >= 0 && d.reclaimableBytes <= d.totalBytes);
      assert.ok(Date.now() - Date.parse(d.checkedAt) < 60_000);
      sum += d.totalBytes;
    }
    assert.equal(ov.totals.diskBytes, sum);
  });

  for (const host of [DIRECT, AGENT]) {
    test(`a 5 MiB volume shows in volumesBytes after a refresh (${host.startsWith('disk-direct') ? 'direct' : 'agent'} host)`, async () => {
      const before = await admin.post(`/api/v1/hosts/${host}/disk-usage/refresh`);
      assert.equal(before.status, 200, JSON.stringify(before.body));
      await volumeWithFile(host, 5);
      const afterRefresh = await admin.post(`/api/v1/hosts/${host}/disk-usage/refresh`);
      assert.equal(afterRefresh.status, 200, JSON.stringify(afterRefresh.body));
      assert.ok(afterRefresh.body.volumesBytes - before.body.volumesBytes >= 5 * MIB,
        `volumesBytes grew by ${afterRefresh.body.volumesBytes - before.body.volumesBytes}, expected at least ${5 * MIB}`);
      assert.ok(afterRefresh.body.checkedAt > before.body.checkedAt);
      // Stored: the overview reads the same figure back; a sync does not measure again.
      assert.deepEqual((await overviewHost(host)).disk, afterRefresh.body);
      assert.equal((await admin.post(`/api/v1/hosts/${host}/sync`)).status, 200);
      assert.equal((await admin.post(`/api/v1/hosts/${host}/sync`)).status, 200);
      assert.deepEqual((await overviewHost(host)).disk, afterRefresh.body, 'syncs keep the figure: df runs on its own slow cadence');
    });
  }

  test('refresh: 404 for an unknown host, 503 for a host that is not connected, 403 for a viewer', async () => {
    const unknown = await admin.post('/api/v1/hosts/no-such-host/disk-usage/refresh');
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /no-such-host/);
    // Nothing listens on port 1: the host never connects.
    const dead = `disk-dead-${suffix}`;
    assert.equal((await admin.post('/api/v1/hosts', { name: dead, endpoint: 'tcp://127.0.0.1:1', environment: 'development' })).status, 201);
    const refused = await admin.post(`/api/v1/hosts/${dead}/disk-usage/refresh`);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.match(refused.body.message, new RegExp(`host "${dead}" is (pending|disconnected|error): its disk usage can be measured once it is connected`));
    assert.equal((await overviewHost(dead)).disk, null);
    const viewer = await al.srv.userWithRole('viewer');
    assert.equal((await viewer.post(`/api/v1/hosts/${DIRECT}/disk-usage/refresh`)).status, 403);
    assert.equal((await admin.request('DELETE', `/api/v1/hosts/${dead}`)).status, 204);
  });

  test('an agent host that went away keeps its last figure and refuses a refresh', async () => {
    const kept = (await overviewHost(AGENT)).disk;
    assert.ok(kept);
    await agent!.kill();
    await waitFor('agent host disconnected', async () => (await admin.get(`/api/v1/hosts/${AGENT}`)).body.status !== 'connected', 20_000);
    const refused = await admin.post(`/api/v1/hosts/${AGENT}/disk-usage/refresh`);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.match(refused.body.message, /connected/);
    assert.deepEqual((await overviewHost(AGENT)).disk, kept);
  });

  test('the stored figures survive a server restart, which does not measure a fresh figure again', async () => {
    const beforeRestart = (await admin.get('/api/v1/fleet/overview')).body;
    const dataDir = al.srv.dataDir;
    await al.srv.handle.close();
    restarted = await startServer(loadConfig({
      FLOTILLA_DATA_DIR: dataDir, FLOTILLA_PORT: '0', FLOTILLA_AGENT_PORT: '0', FLOTILLA_DOCKER_PORT: '0',
      FLOTILLA_LOG_LEVEL: process.env.FLOTILLA_TEST_LOG ?? 'silent',
    }));
    admin = apiClient(restarted.url, admin.token);
    await waitFor(`${DIRECT} synced after the restart`, async () => {
      const h = (await admin.get(`/api/v1/hosts/${DIRECT}`)).body;
      return h.status === 'connected' && Date.parse(h.lastSyncAt) > Date.parse(beforeRestart.hosts.find((x: any) => x.name === DIRECT).lastSyncAt) && h;
    });
    const now = (await admin.get('/api/v1/fleet/overview')).body;
    for (const name of [DIRECT, AGENT]) {
      const was = beforeRestart.hosts.find((h: any) => h.name === name).disk;
      assert.ok(was, `${name} was measured`);
      assert.deepEqual(now.hosts.find((h: any) => h.name === name).disk, was, `${name}: the same stored figure`);
    }
    assert.equal(now.totals.diskBytes, beforeRestart.totals.diskBytes);
  });
});
