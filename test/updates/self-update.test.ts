// Agents update themselves (SPEC S15) on a real engine with the lab agent
// images (test/lab/agent-image.ts): the agent runs as a container on node5 (or
// node4) labelled flotilla.self=true, dialling a test server; launchSelfUpdate
// starts an updater from the new image, awaitSelfUpdateResult reads its outcome
// — through a connection that drops in the middle, as the agent's would.
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { DockerClient } from '../../src/docker/client.ts';
import { createContainer, getContainerLogs, inspectContainer, killContainer, listContainers, removeContainer, startContainer, stopContainer } from '../../src/docker/index.ts';
import { ensureImage, inspectImage, pushImage, removeImage } from '../../src/docker/images.ts';
import { createVolume, removeVolume } from '../../src/docker/volumes.ts';
import { BadRequest, NotFound } from '../../src/errors.ts';
import { createTransport } from '../../src/transports/index.ts';
import { awaitSelfUpdateResult, launchSelfUpdate, SelfUpdateRefused, UPDATE_ID_LABEL } from '../../src/updates/self-update/index.ts';
import { ensureAgentImages, type AgentImages } from '../lab/agent-image.ts';
import type { LabNode } from '../lab/fixture.ts';
import { agentLab, type AgentLab } from '../helpers/agents.ts';
import { waitFor } from '../helpers/wait.ts';

const RUN = `su-${process.pid}-${Date.now().toString(36)}`;

let al: AgentLab;
let images: AgentImages;
let node: LabNode;
let docker: DockerClient;
const pulledImages = new Set<string>();
const updateIds: string[] = [];

before(async () => {
  images = await ensureAgentImages();
  al = await agentLab();
  const found = al.lab.nodes.find((n) => n.name === 'node5') ?? al.lab.nodes.find((n) => n.name === 'node4');
  assert.ok(found, 'these tests run on node5 (or node4): run node test/lab/cli.ts up 5');
  node = found;
  docker = new DockerClient(createTransport({ url: node.unix, label: node.name }));
});

after(async () => {
  // Updaters are removed by awaitSelfUpdateResult; anything a failed test left goes here.
  const leftovers = await listContainers(docker, { all: true, filters: { label: [`flotilla.test=${RUN}`] } });
  for (const id of updateIds) leftovers.push(...await listContainers(docker, { all: true, filters: { label: [`${UPDATE_ID_LABEL}=${id}`] } }));
  for (const c of leftovers) await removeContainer(docker, c.Id, { force: true, v: true }).catch(() => {});
  for (const ref of pulledImages) await removeImage(docker, ref).catch(() => {});
  await al?.srv.close();
  await docker?.transport.close();
});

interface Agent {
  hostName: string;
  containerName: string;
  containerId: string;
  volume: string;
  host: { id: string; agent: { version: string; connectedAt: string } };
}

/** `docker run -d --label flotilla.self=true -v <socket>:/var/run/docker.sock -v <volume>:/data/cluster …` as deploy/README.md prints it. */
async function runAgentV1(t: TestContext, name: string): Promise<Agent> {
  const hostName = `${RUN}-${name}`;
  const volume = `${hostName}-id`;
  await createVolume(docker, { Name: volume, Labels: { 'flotilla.test': RUN } });
  t.after(async () => {
    for (const c of await listContainers(docker, { all: true, filters: { label: [`flotilla.test=${RUN}`, `flotilla.test.agent=${hostName}`] } })) {
      await removeContainer(docker, c.Id, { force: true, v: true }).catch(() => {});
    }
    await removeVolume(docker, volume, { force: true }).catch(() => {});
    await al.srv.admin.request('DELETE', `/api/v1/hosts/${hostName}`).catch(() => {});
  });
  await pullOnce(images.v1);
  const token = await al.token();
  const socket = new URL(node.unix).pathname;
  const created = await createContainer(docker, hostName, {
    Image: images.v1,
    Labels: { 'flotilla.self': 'true', 'flotilla.test': RUN, 'flotilla.test.agent': hostName },
    Env: [`FLOTILLA_SERVER_ADDR=${al.serverAddr}`, `FLOTILLA_ENROLL_TOKEN=${token}`, `FLOTILLA_HOST_NAME=${hostName}`],
    HostConfig: { Binds: [`${socket}:/var/run/docker.sock`, `${volume}:/data/cluster`], RestartPolicy: { Name: 'unless-stopped' } },
  });
  await startContainer(docker, created.Id);
  const host = await waitHost(hostName, images.v1Version, 0).catch(async (err: Error) => {
    throw new Error(`${err.message}\ncontainer log:\n${await logText(created.Id)}`);
  });
  return { hostName, containerName: hostName, containerId: created.Id, volume, host };
}

async function hasImage(ref: string): Promise<boolean> {
  try {
    await inspectImage(docker, ref);
    return true;
  } catch (error) {
    if (error instanceof NotFound) return false;
    throw error;
  }
}

/** Pulls unless the engine has it; what this file pulled it removes at the end. */
async function pullOnce(ref: string): Promise<void> {
  if (await hasImage(ref)) return;
  await ensureImage(docker, ref);
  pulledImages.add(ref);
}

async function logText(id: string): Promise<string> {
  return (await getContainerLogs(docker, id, { tail: 40 }).catch((e: Error) => [{ line: `(no logs: ${e.message})` }])).map((l) => l.line).join('\n');
}

/** Connected with this agent version, on a channel opened after `since` (epoch ms). */
function waitHost(hostName: string, version: string, since: number): Promise<Agent['host']> {
  return waitFor(`${hostName} connected with agent ${version}`, async () => {
    const h = (await al.srv.admin.get(`/api/v1/hosts/${hostName}`)).body;
    return h?.status === 'connected' && h.agent?.version === version && Date.parse(h.agent.connectedAt) >= since - 1000 && h;
  }, 90_000, 200);
}

async function gone(id: string): Promise<boolean> {
  try {
    await inspectContainer(docker, id);
    return false;
  } catch (error) {
    if (error instanceof NotFound) return true;
    throw error;
  }
}

function newUpdateId(): string {
  const id = randomUUID();
  updateIds.push(id);
  return id;
}

/**
 * A socket in front of the engine that can be cut: while it is down every
 * connection is dropped and new ones are refused, as when the agent whose
 * tunnel a server's client uses is stopped and the next one is not there yet.
 */
async function cuttableEngine(t: TestContext): Promise<{ client: DockerClient; cut(ms: number): void; cuts: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flotilla-su-'));
  const socketPath = path.join(dir, 'engine.sock');
  const target = new URL(node.unix).pathname;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  const listen = () => new Promise<void>((resolve) => server.listen(socketPath, resolve));
  await listen();
  const state = { cuts: 0 };
  const client = new DockerClient(createTransport({ url: `unix://${socketPath}`, label: `${node.name} (cuttable)` }));
  t.after(async () => {
    await client.transport.close().catch(() => {});
    for (const s of open) s.destroy();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    client,
    get cuts() {
      return state.cuts;
    },
    cut(ms: number) {
      state.cuts += 1;
      server.close();
      for (const s of open) s.destroy();
      // Fault injection, not a wait for a state: the engine is back after `ms`.
      setTimeout(() => void listen(), ms).unref();
    },
  };
}

test('an agent container updates itself to v2 through an updater: the same host reconnects reporting v2, the old container and the updater are gone', { timeout: 600_000 }, async (t) => {
  const agent = await runAgentV1(t, 'ok');
  const engine = await cuttableEngine(t);
  const updateId = newUpdateId();
  if (!(await hasImage(images.v2))) pulledImages.add(images.v2);
  const t0 = Date.now();
  const launched = await launchSelfUpdate(docker, { agentContainerId: agent.containerId, image: images.v2, updateId });
  const launchMs = Date.now() - t0;
  assert.match(launched.updaterName, /^flotilla-self-update-[0-9a-f]{12}$/);
  const updater = await inspectContainer(docker, launched.updaterId);
  assert.equal(updater.Config.Labels?.['flotilla.updater'], 'true');
  assert.equal(updater.Config.Labels?.[UPDATE_ID_LABEL], updateId);
  assert.equal(updater.Config.Labels?.['flotilla.self'], 'false', 'the updater is not an agent to update');
  assert.equal(updater.HostConfig.AutoRemove, false);
  assert.equal(updater.Image, (await inspectImage(docker, images.v2)).Id, 'the updater runs the new image');
  assert.deepEqual(updater.HostConfig.Binds, [`${new URL(node.unix).pathname}:/var/run/docker.sock`]);
  assert.deepEqual(updater.Config.Cmd?.slice(0, 7), ['self-update-run', '--container', agent.containerId, '--image', images.v2, '--update-id', updateId]);

  // The caller's connection drops while the update runs (the old agent stopping), and comes back.
  setTimeout(() => engine.cut(3_000), 1_000).unref();
  const result = await awaitSelfUpdateResult(engine.client, launched.updaterId, { timeoutMs: 300_000 });
  const tookMs = Date.now() - t0;
  assert.equal(engine.cuts, 1);
  assert.equal(result.outcome, 'updated', JSON.stringify(result, null, 1));
  assert.equal(result.reason, undefined);
  assert.equal(result.containerName, agent.containerName);
  assert.equal(result.oldContainerId, agent.containerId);
  assert.ok(result.newContainerId);
  assert.deepEqual(result.steps.map((s) => s.step).filter((s, i, all) => all.indexOf(s) === i), ['inspect', 'pull', 'stop', 'rename', 'create', 'start', 'health', 'cleanup']);

  const host = await waitHost(agent.hostName, images.v2Version, t0);
  const reconnectMs = Date.now() - t0;
  assert.equal(host.id, agent.host.id, 'the same host, on the same identity volume');
  assert.ok(await gone(agent.containerId), 'the old agent container is removed');
  assert.ok(await gone(launched.updaterId), 'the updater is removed');
  const now = await inspectContainer(docker, agent.containerName);
  assert.equal(now.Id, result.newContainerId);
  assert.equal(now.Config.Image, images.v2);
  assert.equal(now.State.Health?.Status, 'healthy');
  assert.equal(now.Config.Labels?.['flotilla.self'], 'true');
  assert.equal(now.HostConfig.RestartPolicy?.Name, 'unless-stopped');
  t.diagnostic(`self-update took ${(tookMs / 1000).toFixed(1)} s (launch: pull, create, start ${(launchMs / 1000).toFixed(1)} s; the host reported v2 at ${(reconnectMs / 1000).toFixed(1)} s)`);
});

test('a self-update to an agent that cannot reach the server rolls back: the v1 agent runs again under its name and the host reconnects with v1', { timeout: 600_000 }, async (t) => {
  const agent = await runAgentV1(t, 'nc');
  // v2, but its agent dials a closed port whatever the container's FLOTILLA_SERVER_ADDR says:
  // NODE_OPTIONS (from the image, not set on the container) preloads a module that overrides it.
  const [repo] = [images.v2.slice(0, images.v2.lastIndexOf(':'))];
  const tag = `${images.v2Version}-noconnect-${process.pid}`;
  const broken = `${repo}:${tag}`;
  const preload = `data:text/javascript,${encodeURIComponent('process.env.FLOTILLA_SERVER_ADDR="127.0.0.1:1"')}`;
  await pullOnce(images.v2);
  const base = await createContainer(docker, `${RUN}-nc-base`, { Image: images.v2, Labels: { 'flotilla.test': RUN } });
  await docker.json('POST', '/commit', { query: { container: base.Id, repo, tag, changes: `ENV NODE_OPTIONS=--import=${preload}` } });
  await removeContainer(docker, base.Id, { force: true });
  let digest: string | undefined;
  for await (const m of pushImage(docker, broken)) digest ??= m.aux?.Digest;
  pulledImages.add(broken);
  t.after(async () => {
    // The tag's manifest is this test's own (a new image config): deleting it leaves v1 and v2 alone.
    if (digest) await fetch(`http://${al.lab.registry.lab}/v2/${repo.slice(al.lab.registry.lab.length + 1)}/manifests/${digest}`, { method: 'DELETE' }).catch(() => {});
  });

  const updateId = newUpdateId();
  const t0 = Date.now();
  const launched = await launchSelfUpdate(docker, { agentContainerId: agent.containerId, image: broken, updateId, healthTimeoutMs: 30_000 });
  const result = await awaitSelfUpdateResult(docker, launched.updaterId, { timeoutMs: 300_000 });
  const tookMs = Date.now() - t0;
  assert.equal(result.outcome, 'rolled_back', JSON.stringify(result, null, 1));
  assert.match(result.reason ?? '', /^health failed: not healthy within 30000 ms/);
  assert.deepEqual(result.steps.map((s) => s.step).slice(-2), ['rollback', 'restored']);

  const back = await inspectContainer(docker, agent.containerName);
  assert.equal(back.Id, agent.containerId, 'the old container itself is back');
  assert.equal(back.State.Running, true);
  assert.equal(back.Config.Image, images.v1);
  assert.ok(result.newContainerId && await gone(result.newContainerId), 'the new container is removed');
  assert.ok(await gone(launched.updaterId), 'the updater is removed');
  const host = await waitHost(agent.hostName, images.v1Version, t0);
  const reconnectMs = Date.now() - t0;
  assert.equal(host.id, agent.host.id);
  t.diagnostic(`self-update took ${(tookMs / 1000).toFixed(1)} s to roll back (health timeout 30 s); the host reported v1 again at ${(reconnectMs / 1000).toFixed(1)} s`);
});

test('an updater killed in the health gate is followed by a recovery updater: the v1 agent is put back and the host reconnects with v1', { timeout: 600_000 }, async (t) => {
  const agent = await runAgentV1(t, 'kill');
  const updateId = newUpdateId();
  const t0 = Date.now();
  if (!(await hasImage(images.v2))) pulledImages.add(images.v2);
  const launched = await launchSelfUpdate(docker, { agentContainerId: agent.containerId, image: images.v2, updateId });
  await waitFor('the updater in its health gate', async () => (await logText(launched.updaterId)).includes('"phase":"health"'), 60_000, 100);
  await killContainer(docker, launched.updaterId);
  const result = await awaitSelfUpdateResult(docker, launched.updaterId, { timeoutMs: 300_000 });
  const tookMs = Date.now() - t0;
  assert.equal(result.outcome, 'rolled_back', JSON.stringify(result, null, 1));
  assert.match(result.reason ?? '', /had ended \(exit code 137\) during health without a result; a recovery updater took over: interrupted during health; the old container was restored/);

  const back = await inspectContainer(docker, agent.containerName);
  assert.equal(back.Id, agent.containerId);
  assert.equal(back.State.Running, true);
  assert.ok(result.newContainerId && await gone(result.newContainerId), 'the new container is removed');
  assert.ok(await gone(launched.updaterId), 'the killed updater is removed');
  assert.ok(await gone(`${launched.updaterName}-recover`), 'the recovery updater is removed');
  const host = await waitHost(agent.hostName, images.v1Version, t0);
  assert.equal(host.id, agent.host.id);
  t.diagnostic(`self-update took ${(tookMs / 1000).toFixed(1)} s from launch through the kill to the recovered v1`);
});

test('docker stop on the updater in the health gate aborts the update: the updater itself puts the v1 agent back and reports rolled_back', { timeout: 600_000 }, async (t) => {
  const agent = await runAgentV1(t, 'stop');
  const updateId = newUpdateId();
  if (!(await hasImage(images.v2))) pulledImages.add(images.v2);
  const t0 = Date.now();
  const launched = await launchSelfUpdate(docker, { agentContainerId: agent.containerId, image: images.v2, updateId });
  await waitFor('the updater in its health gate', async () => (await logText(launched.updaterId)).includes('"phase":"health"'), 60_000, 100);
  await stopContainer(docker, launched.updaterId, { t: 60 });
  const result = await awaitSelfUpdateResult(docker, launched.updaterId, { timeoutMs: 300_000 });
  const tookMs = Date.now() - t0;
  assert.equal(result.outcome, 'rolled_back', JSON.stringify(result, null, 1));
  assert.match(result.reason ?? '', /^health failed: aborted/);
  const back = await inspectContainer(docker, agent.containerName);
  assert.equal(back.Id, agent.containerId);
  assert.equal(back.State.Running, true);
  assert.ok(await gone(launched.updaterId));
  const host = await waitHost(agent.hostName, images.v1Version, t0);
  assert.equal(host.id, agent.host.id);
  t.diagnostic(`self-update took ${(tookMs / 1000).toFixed(1)} s from launch through the stop to the restored v1 (${result.reason})`);
});

test('launchSelfUpdate starts no updater for a container that is not an agent\'s, one without the socket (both before any pull), an image that is not an agent image, or a bad update id', { timeout: 120_000 }, async (t) => {
  const busybox = al.lab.images.busybox1;
  const socket = new URL(node.unix).pathname;
  const make = async (name: string, labels: Record<string, string>, binds: string[]) => {
    const c = await createContainer(docker, `${RUN}-${name}`, { Image: busybox, Labels: { 'flotilla.test': RUN, ...labels }, HostConfig: { Binds: binds } });
    t.after(() => removeContainer(docker, c.Id, { force: true }).catch(() => {}));
    return c.Id;
  };
  const before = (await listContainers(docker, { all: true, filters: { label: ['flotilla.updater=true'] } })).length;
  const plain = await make('plain', {}, [`${socket}:/var/run/docker.sock`]);
  await assert.rejects(launchSelfUpdate(docker, { agentContainerId: plain, image: images.v2, updateId: newUpdateId() }), (e: unknown) => e instanceof SelfUpdateRefused && /not an agent's own container/.test(e.message));
  const noSocket = await make('nosock', { 'flotilla.self': 'true' }, []);
  await assert.rejects(launchSelfUpdate(docker, { agentContainerId: noSocket, image: images.v2, updateId: newUpdateId() }), (e: unknown) => e instanceof SelfUpdateRefused && /no bind mount of the Docker socket/.test(e.message));
  if (!(await hasImage(al.lab.images.busybox2))) pulledImages.add(al.lab.images.busybox2);
  const agentLike = await make('notimage', { 'flotilla.self': 'true' }, [`${socket}:/var/run/docker.sock`]);
  await assert.rejects(launchSelfUpdate(docker, { agentContainerId: agentLike, image: al.lab.images.busybox2, updateId: newUpdateId() }), (e: unknown) => e instanceof SelfUpdateRefused && /not a Flotilla agent image/.test(e.message));
  await assert.rejects(launchSelfUpdate(docker, { agentContainerId: agentLike, image: images.v2, updateId: 'no/slashes' }), (e: unknown) => e instanceof BadRequest);
  assert.equal((await listContainers(docker, { all: true, filters: { label: ['flotilla.updater=true'] } })).length, before, 'no updater was created');
});
