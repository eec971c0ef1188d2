// The container update on a real engine: a new version of the image keeps every
// configuration field; the same image leaves the container alone.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { DockerClient } from '../../src/docker/client.ts';
import { connectNetwork, createNetwork, removeNetwork } from '../../src/docker/networks.ts';
import { createContainer, inspectContainer, removeContainer, startContainer } from '../../src/docker/containers.ts';
import type { ContainerCreateBody, ContainerInspect } from '../../src/docker/container-types.ts';
import { removeVolume } from '../../src/docker/volumes.ts';
import { updateContainer } from '../../src/updates/recreate/index.ts';
import { labState, sharedNodes } from '../lab/fixture.ts';
import type { LabNode, LabState } from '../lab/fixture.ts';
import {
  buildUpdateImages, clientOf, containersNamed, ignoreNotFound, pull, randomSubnet, removeContainersNamed, uniqueName, withoutOwnIds,
} from './update-images.ts';
import type { UpdateImages } from './update-images.ts';

let st: LabState;
let node: LabNode;
let docker: DockerClient;
let images: UpdateImages;
const cleanups: Array<() => Promise<unknown>> = [];

before(async () => {
  st = await labState();
  const shared = sharedNodes(st);
  node = shared.find((n) => n.name === 'node5') ?? shared.at(-1)!;
  const builder = shared.find((n) => n.name === 'node4') ?? shared[0]!;
  const t0 = Date.now();
  images = await buildUpdateImages(st, builder, [node]);
  console.log(`# images built and pushed in ${Date.now() - t0} ms`);
  docker = clientOf(node);
});

after(async () => {
  const errors: unknown[] = [];
  for (const fn of [...cleanups.reverse(), () => images?.remove(), () => docker?.close()]) await fn().catch((e: unknown) => errors.push(e));
  if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
});

const LOOP = "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done";

/** What must survive an update: the inspect minus ids, timestamps and engine-assigned paths. */
function normalised(c: ContainerInspect) {
  const networks = Object.fromEntries(
    Object.entries(c.NetworkSettings.Networks).map(([name, n]) => [
      name,
      { IPAMConfig: n.IPAMConfig, Aliases: withoutOwnIds(n.Aliases, c.Id), Links: n.Links, IPAddress: n.IPAddress, MacAddress: n.MacAddress, DriverOpts: n.DriverOpts },
    ]),
  );
  const mounts = [...c.Mounts]
    .map(({ Type, Name, Source, Destination, RW, Mode, Propagation, Driver }) => ({ Type, Name, Source: Type === 'volume' ? undefined : Source, Destination, RW, Mode, Propagation, Driver }))
    .sort((a, b) => a.Destination.localeCompare(b.Destination));
  const { Env, Image: _image, ...config } = c.Config;
  return {
    Name: c.Name,
    Config: { ...config, Env: [...(Env ?? [])].sort() },
    HostConfig: c.HostConfig,
    Networks: networks,
    Mounts: mounts,
    Ports: c.NetworkSettings.Ports,
    Running: c.State.Running,
    RestartCount: c.RestartCount,
  };
}

async function userNetwork(label: string) {
  const range = randomSubnet();
  const name = uniqueName(label);
  await createNetwork(docker, { Name: name, Driver: 'bridge', IPAM: { Config: [{ Subnet: range.subnet }] } });
  cleanups.push(() => ignoreNotFound(removeNetwork(docker, name)));
  return { name, ip: range.ip };
}

async function fullyConfiguredBody(image: string, helper: string, netA: { name: string; ip: (h: number) => string }, names: { volume: string; bind: string }): Promise<ContainerCreateBody> {
  const port = 20_000 + Math.floor(Math.random() * 30_000);
  return {
    Image: image,
    Hostname: 'updhost',
    Domainname: 'example.test',
    User: '65534:65534',
    Env: ['APP_MODE=custom', 'FOO=bar', 'EMPTY='],
    Entrypoint: ['sh', '-c'],
    Cmd: [LOOP],
    Labels: { 'com.docker.compose.project': 'updproj', 'com.docker.compose.service': 'web', 'com.docker.compose.container-number': '1', 'org.example.mine': 'yes' },
    ExposedPorts: { '9090/tcp': {} },
    StopSignal: 'SIGTERM',
    StopTimeout: 3,
    Volumes: { '/anon': {} },
    OpenStdin: true,
    HostConfig: {
      NetworkMode: netA.name,
      Binds: [`${names.bind}:/bind:ro`],
      Mounts: [
        { Type: 'volume', Source: names.volume, Target: '/vol' },
        { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 1 << 20 } },
      ],
      Tmpfs: { '/run/t': 'size=1m' },
      PortBindings: { '9090/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 },
      Memory: 64 * 1024 * 1024,
      NanoCpus: 500_000_000,
      CpuShares: 512,
      PidsLimit: 100,
      Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
      Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/xnull', CgroupPermissions: 'rwm' }],
      CapAdd: ['NET_ADMIN'],
      CapDrop: ['MKNOD'],
      SecurityOpt: ['no-new-privileges'],
      Sysctls: { 'net.core.somaxconn': '1024' },
      Init: true,
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } },
      ExtraHosts: ['db.example:10.0.0.5'],
      Dns: ['10.0.0.53'],
      DnsOptions: ['ndots:2'],
      DnsSearch: ['example.test'],
      ShmSize: 32 * 1024 * 1024,
      OomScoreAdj: 100,
      GroupAdd: ['100'],
    },
    NetworkingConfig: { EndpointsConfig: { [netA.name]: { IPAMConfig: { IPv4Address: netA.ip(10) }, Aliases: ['web', 'web-a'], Links: [`${helper}:helperalias`] } } },
  };
}

test('an update to a new version of the tag keeps every configuration field', async () => {
  const tag = `keep-${process.pid}`;
  const ref = await images.publish('healthy1', tag);
  await pull(docker, ref);
  const netA = await userNetwork('neta');
  const netB = await userNetwork('netb');
  const helper = uniqueName('helper');
  cleanups.push(() => removeContainersNamed(docker, helper));
  await createContainer(docker, helper, { Image: st.images.busybox1, Cmd: ['sh', '-c', LOOP], HostConfig: { NetworkMode: netA.name } });
  await startContainer(docker, helper);
  const volume = uniqueName('vol');
  cleanups.push(() => ignoreNotFound(removeVolume(docker, volume, { force: true })));
  const bind = await fsp.mkdtemp(path.join(os.tmpdir(), 'upd-bind-'));
  cleanups.push(() => fsp.rm(bind, { recursive: true, force: true }));
  const name = uniqueName('full');
  cleanups.push(() => removeContainersNamed(docker, name));
  const { Id } = await createContainer(docker, name, await fullyConfiguredBody(ref, helper, netA, { volume, bind }));
  await connectNetwork(docker, netB.name, Id, { endpointConfig: { IPAMConfig: { IPv4Address: netB.ip(20) }, Aliases: ['web-b'] } });
  await startContainer(docker, Id);
  const old = await inspectContainer(docker, Id);
  const anonymous = old.Mounts.filter((m) => m.Type === 'volume' && m.Destination !== '/vol').sort((a, b) => a.Destination.localeCompare(b.Destination));
  cleanups.push(async () => {
    await removeContainersNamed(docker, name);
    for (const m of anonymous) await ignoreNotFound(removeVolume(docker, m.Name ?? '', { force: true }));
  });

  await images.publish('healthy2', tag);
  const result = await updateContainer(docker, { containerId: name });
  console.log(`# update took ${result.durationMs} ms: ${stepTimes(result)}`);
  assert.equal(result.outcome, 'updated', result.reason);
  assert.notEqual(result.newImageId, result.oldImageId);
  assert.ok(result.fromDigest && result.toDigest && result.fromDigest !== result.toDigest);
  const now = await inspectContainer(docker, name);
  assert.equal(now.Id, result.newContainerId);
  assert.equal(now.Image, result.newImageId);
  assert.deepEqual(await containersNamed(docker, name), [name], 'the backup is removed');

  const expected = normalised(old);
  // What came from the image: v2's environment and labels replace v1's.
  expected.Config.Env = expected.Config.Env.map((e) => (e === 'APP_VERSION=1' ? 'APP_VERSION=2' : e)).sort();
  expected.Config.Labels = { ...expected.Config.Labels, 'org.example.version': '2' };
  // The anonymous volumes are now mounted by name (binds `name:/path`, which the engine reports with mode "z").
  expected.HostConfig = { ...expected.HostConfig, Binds: [...(old.HostConfig.Binds ?? []), ...anonymous.map((m) => `${m.Name}:${m.Destination}`)] };
  expected.Mounts = expected.Mounts.map((m) => (anonymous.some((a) => a.Destination === m.Destination) ? { ...m, Mode: 'z' } : m));
  assert.deepEqual(normalised(now), expected);
});

test('the same image leaves the container untouched: unchanged', async () => {
  const ref = await images.publish('healthy1', `same-${process.pid}`);
  await pull(docker, ref);
  const name = uniqueName('same');
  cleanups.push(() => removeContainersNamed(docker, name));
  const { Id } = await createContainer(docker, name, { Image: ref });
  await startContainer(docker, Id);
  const old = await inspectContainer(docker, Id);
  const result = await updateContainer(docker, { containerId: Id });
  assert.equal(result.outcome, 'unchanged', result.reason);
  assert.deepEqual(result.steps.map((s) => s.step).filter((s, i, all) => all.indexOf(s) === i), ['inspect', 'pull']);
  const now = await inspectContainer(docker, name);
  assert.equal(now.Id, old.Id);
  assert.equal(now.State.StartedAt, old.State.StartedAt);
  assert.equal(now.RestartCount, old.RestartCount);
  await ignoreNotFound(removeContainer(docker, Id, { force: true, v: true }));
});

/** How long each step took, from its first event to the next step's (the last one to the end). */
function stepTimes(result: { steps: { step: string; at: number }[]; durationMs: number }): string {
  const { steps } = result;
  const end = (steps[0]?.at ?? 0) + result.durationMs;
  const firsts = steps.filter((s, i) => steps.findIndex((x) => x.step === s.step) === i);
  return firsts.map((s, i) => `${s.step} ${(firsts[i + 1]?.at ?? end) - s.at} ms`).join(', ');
}
