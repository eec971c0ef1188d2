// Updates that must not stick: a failing healthcheck, a container that exits, a pull
// that fails, an abort in the health gate; and the containers that are refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DockerClient } from '../../src/docker/client.ts';
import { createContainer, inspectContainer, startContainer } from '../../src/docker/containers.ts';
import type { ContainerCreateBody, ContainerInspect } from '../../src/docker/container-types.ts';
import { inspectImage } from '../../src/docker/images.ts';
import { createNetwork, removeNetwork } from '../../src/docker/networks.ts';
import { removeVolume } from '../../src/docker/volumes.ts';
import { UpdateRefused, updateContainer } from '../../src/updates/recreate/index.ts';
import type { UpdateResult } from '../../src/updates/recreate/index.ts';
import { labState, sharedNodes } from '../lab/fixture.ts';
import type { LabNode, LabState } from '../lab/fixture.ts';
import {
  buildUpdateImages, clientOf, containersNamed, ignoreNotFound, inspectOrUndefined, pull, randomSubnet, removeContainersNamed, uniqueName,
} from './update-images.ts';
import type { UpdateImages } from './update-images.ts';

let st: LabState;
let node: LabNode;
let docker: DockerClient;
let images: UpdateImages;
let network: { name: string; ip: (host: number) => string };
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  st = await labState();
  const shared = sharedNodes(st);
  node = shared.find((n) => n.name === 'node5') ?? shared.at(-1)!;
  const builder = shared.find((n) => n.name === 'node4') ?? shared[0]!;
  docker = clientOf(node);
  images = await buildUpdateImages(st, builder, [node]);
  await pull(docker, images.ref('healthy1'));
  const range = randomSubnet();
  network = { name: uniqueName('net'), ip: range.ip };
  await createNetwork(docker, { Name: network.name, IPAM: { Config: [{ Subnet: range.subnet }] } });
});

after(async () => {
  const errors: unknown[] = [];
  const last = [async () => network && ignoreNotFound(removeNetwork(docker, network.name)), () => images?.remove(), () => docker?.close()];
  for (const fn of [...cleanups.reverse(), ...last]) await fn().catch((e: unknown) => errors.push(e));
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
});

let hostIndex = 10;

/** A running container on the test network with a static IP, an alias, env, labels, a restart policy. */
async function runOld(extra: Partial<ContainerCreateBody> = {}, image = images.ref('healthy1')): Promise<ContainerInspect> {
  const name = uniqueName('old');
  const { Id } = await createContainer(docker, name, {
    Image: image,
    Env: ['APP_MODE=custom'],
    Labels: { 'com.docker.compose.project': 'updrb', 'org.example.mine': 'yes' },
    ...extra,
    HostConfig: { NetworkMode: network.name, RestartPolicy: { Name: 'unless-stopped' }, ...extra.HostConfig },
    NetworkingConfig: { EndpointsConfig: { [network.name]: { IPAMConfig: { IPv4Address: network.ip(hostIndex++) }, Aliases: ['app'] } } },
  });
  cleanups.push(async () => {
    // By id (the old container) and by name (the one an update left in its place).
    const holders = [await inspectOrUndefined(docker, Id), await inspectOrUndefined(docker, name)];
    const anonymous = holders.flatMap((c) => c?.Mounts.filter((m) => m.Type === 'volume') ?? []);
    await removeContainersNamed(docker, name);
    for (const m of anonymous) await ignoreNotFound(removeVolume(docker, m.Name ?? '', { force: true }));
  });
  await startContainer(docker, Id);
  return inspectContainer(docker, Id);
}

/** The old container is back: same id, name, running, every configuration field as before, nothing left over. */
async function assertRestored(old: ContainerInspect, result: UpdateResult): Promise<void> {
  const now = await inspectContainer(docker, old.Id);
  assert.equal(now.Name, old.Name);
  assert.equal(now.State.Running, true);
  const config = (c: ContainerInspect) => ({ Config: c.Config, HostConfig: c.HostConfig, Networks: c.NetworkSettings.Networks, Mounts: c.Mounts, Image: c.Image });
  const strip = (c: ContainerInspect) => {
    const networks = Object.fromEntries(Object.entries(c.NetworkSettings.Networks).map(([n, e]) => [n, { ...e, EndpointID: undefined }]));
    return { ...config(c), Networks: networks };
  };
  assert.deepEqual(strip(now), strip(old));
  assert.deepEqual(await containersNamed(docker, old.Name.slice(1)), [old.Name.slice(1)], 'no backup or new container left');
  if (result.newContainerId !== undefined) assert.equal(await inspectOrUndefined(docker, result.newContainerId), undefined, 'the new container is removed');
  assert.deepEqual(result.steps.filter((s) => s.step === 'rollback' || s.step === 'restored').map((s) => s.step), ['rollback', 'restored']);
}

test('an image whose healthcheck fails is rolled back; the old container runs with its configuration', async () => {
  const old = await runOld();
  const result = await updateContainer(docker, { containerId: old.Name.slice(1), image: images.ref('unhealthy') });
  console.log(`# failed update + rollback took ${result.durationMs} ms`);
  assert.equal(result.outcome, 'rolled_back');
  assert.match(result.reason ?? '', /^health failed: unhealthy after 2 failed checks/);
  assert.ok(result.newContainerId);
  await assertRestored(old, result);
});

test('an image without a healthcheck that exits within stableMs is rolled back', async () => {
  const old = await runOld();
  const result = await updateContainer(docker, { containerId: old.Id, image: images.ref('exits'), stableMs: 5_000 });
  assert.equal(result.outcome, 'rolled_back');
  assert.match(result.reason ?? '', /^health failed: not stable for 5000 ms: it (exited with code 3|restarted)/);
  await assertRestored(old, result);
});

test('a pull that fails changes nothing: outcome failed, the container was never stopped', async () => {
  const old = await runOld();
  const result = await updateContainer(docker, { containerId: old.Id, image: `${images.repository}:absent` });
  assert.equal(result.outcome, 'failed');
  assert.match(result.reason ?? '', /^pull failed: .*nothing was changed$/);
  assert.ok(!result.steps.some((s) => s.step === 'stop'));
  const now = await inspectContainer(docker, old.Id);
  assert.equal(now.State.StartedAt, old.State.StartedAt);
  assert.equal(now.State.Running, true);
  assert.equal(now.Name, old.Name);
});

test('an abort during the health gate rolls back', async () => {
  // Healthcheck NONE: the gate waits stableMs (60 s); the abort comes 300 ms into it.
  const old = await runOld({ Healthcheck: { Test: ['NONE'] } });
  const controller = new AbortController();
  const result = await updateContainer(docker, { containerId: old.Id, image: images.ref('healthy2'), stableMs: 60_000 }, {
    signal: controller.signal,
    onStep: (e) => {
      if (e.step === 'health' && e.message.startsWith('no healthcheck')) setTimeout(() => controller.abort(), 300);
    },
  });
  assert.equal(result.outcome, 'rolled_back');
  assert.equal(result.reason, 'health failed: aborted');
  assert.ok(result.durationMs < 30_000);
  await assertRestored(old, result);
});

test('a stopped container is recreated and left stopped', async () => {
  const old = await runOld();
  await docker.empty('POST', `/containers/${old.Id}/stop`, { query: { t: 1 } });
  const result = await updateContainer(docker, { containerId: old.Id, image: images.ref('healthy2') });
  assert.equal(result.outcome, 'updated', result.reason);
  const now = await inspectContainer(docker, old.Name.slice(1));
  assert.equal(now.Id, result.newContainerId);
  assert.equal(now.State.Status, 'created');
  assert.ok(!result.steps.some((s) => s.step === 'start' || s.step === 'health'));
});

async function assertRefused(old: ContainerInspect, reason: string, plan: { image?: string } = {}): Promise<void> {
  await assert.rejects(updateContainer(docker, { containerId: old.Id, ...plan }), (e: unknown) => e instanceof UpdateRefused && e.reason === reason);
  const now = await inspectContainer(docker, old.Id);
  assert.equal(now.State.StartedAt, old.State.StartedAt);
  assert.equal(now.Name, old.Name);
}

test('Swarm tasks, digest references, backups and auto-remove containers are refused before anything is touched', async () => {
  await assertRefused(await runOld({ Labels: { 'com.docker.swarm.service.id': 'x', 'com.docker.swarm.task.id': 'y' } }), 'swarm_task');
  const digest = (await inspectImage(docker, images.ref('healthy1'))).RepoDigests.find((d) => d.startsWith(`${images.repository}@`));
  assert.ok(digest);
  await assertRefused(await runOld({}, digest), 'pinned', { image: images.ref('healthy2') });
  const backup = await runOld({ Labels: { 'flotilla.update.backup-of': 'someone' } });
  await assertRefused(backup, 'backup');
  const removed = await runOld({ HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'no' } } });
  await assertRefused(removed, 'auto_remove', { image: images.ref('healthy2') });
});
