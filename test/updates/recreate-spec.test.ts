// The create request of the new container, built from an inspect (no engine):
// what is kept, what is left to the new image, networks, links, hostname.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerInspect } from '../../src/docker/container-types.ts';
import { buildRecreateSpec, carriedConfig, createLinks, primaryNetwork } from '../../src/updates/recreate/create-spec.ts';
import type { ImageDefaults } from '../../src/updates/recreate/create-spec.ts';
import { refusalFromInspect } from '../../src/updates/recreate/refusals.ts';

const ID = 'abcdef0123456789'.repeat(4);

function inspect(over: { Config?: object; HostConfig?: object; Networks?: object; Mounts?: object[]; Name?: string } = {}): ContainerInspect {
  return {
    Id: ID,
    Name: over.Name ?? '/web',
    Created: '',
    Path: '',
    Args: [],
    Image: 'sha256:old',
    RestartCount: 0,
    State: { Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 1, ExitCode: 0, Error: '', StartedAt: '', FinishedAt: '' },
    Config: { Hostname: ID.slice(0, 12), Image: 'reg/app:1', Env: ['PATH=/bin', 'A=1'], Cmd: ['serve'], Entrypoint: null, Labels: {}, ...over.Config },
    HostConfig: { NetworkMode: 'default', ...over.HostConfig },
    Mounts: (over.Mounts ?? []) as ContainerInspect['Mounts'],
    NetworkSettings: { Networks: (over.Networks ?? { bridge: { NetworkID: 'n0', Aliases: null } }) as ContainerInspect['NetworkSettings']['Networks'] },
  };
}

const IMAGE: ImageDefaults = { Env: ['PATH=/bin', 'A=0'], Cmd: ['serve'], Entrypoint: null, Labels: { v: '1', keep: 'image' }, User: 'app', WorkingDir: '/srv', ExposedPorts: { '80/tcp': {} } };

test('values that equal the old image are left to the new image; the container’s own stay', () => {
  const old = inspect({ Config: { Env: ['A=1', 'PATH=/bin'], Labels: { v: '1', keep: 'mine', 'com.docker.compose.service': 'web' }, User: 'app', WorkingDir: '/data', ExposedPorts: { '80/tcp': {}, '81/tcp': {} } } });
  const config = carriedConfig(old, IMAGE, 'reg/app:2');
  assert.deepEqual(config.Env, ['A=1']);
  assert.deepEqual(config.Labels, { keep: 'mine', 'com.docker.compose.service': 'web' });
  assert.equal(config.User, undefined);
  assert.equal(config.WorkingDir, '/data');
  assert.deepEqual(config.ExposedPorts, { '81/tcp': {} });
  assert.equal(config.Cmd, undefined, 'the image’s Cmd');
  assert.equal(config.Hostname, undefined, 'the short id is the engine’s hostname');
  assert.equal(config.Image, 'reg/app:2');
});

test('a custom Entrypoint keeps its Cmd even when that equals the image’s; a cleared Cmd keeps the Entrypoint', () => {
  const custom = carriedConfig(inspect({ Config: { Entrypoint: ['sh', '-c'], Cmd: ['serve'] } }), IMAGE, 'x');
  assert.deepEqual([custom.Entrypoint, custom.Cmd], [['sh', '-c'], ['serve']]);
  const image = { ...IMAGE, Entrypoint: ['/entry'] };
  const cleared = carriedConfig(inspect({ Config: { Entrypoint: ['/entry'], Cmd: null } }), image, 'x');
  assert.deepEqual([cleared.Entrypoint, cleared.Cmd], [['/entry'], null]);
  const inherited = carriedConfig(inspect({ Config: { Entrypoint: ['/entry'], Cmd: ['serve'] } }), image, 'x');
  assert.deepEqual([inherited.Entrypoint, inherited.Cmd], [undefined, undefined]);
});

test('without the old image every value is kept; a hostname of its own is kept, the network namespace’s is not', () => {
  const config = carriedConfig(inspect({ Config: { Hostname: 'db1', User: 'app' } }), undefined, 'x');
  assert.deepEqual([config.Hostname, config.User, config.Env, config.Cmd], ['db1', 'app', ['PATH=/bin', 'A=1'], ['serve']]);
  assert.equal(carriedConfig(inspect({ Config: { Hostname: 'node' }, HostConfig: { NetworkMode: 'host' } }), IMAGE, 'x').Hostname, undefined);
});

test('links are given back in create form; the first network is the one of NetworkMode, the others are connected before start', () => {
  assert.deepEqual(createLinks(['/db:/web/database', '/cache:/web/cache']), ['db:database', 'cache:cache']);
  const networks = {
    back: { NetworkID: 'b'.repeat(64), Aliases: ['api', ID.slice(0, 12)], IPAMConfig: { IPv4Address: '10.0.0.5' } },
    front: { NetworkID: 'f'.repeat(64), Aliases: [ID.slice(0, 12)], Links: ['db:database'] },
  };
  const old = inspect({ HostConfig: { NetworkMode: 'f'.repeat(12) }, Networks: networks });
  assert.equal(primaryNetwork(old), 'front');
  const spec = buildRecreateSpec({ old, oldImage: IMAGE, image: 'x' });
  assert.deepEqual(spec.body.NetworkingConfig, { EndpointsConfig: { front: { Links: ['db:database'] } } });
  assert.deepEqual(spec.extraNetworks, [{ name: 'back', endpoint: { IPAMConfig: { IPv4Address: '10.0.0.5' }, Aliases: ['api'] } }]);
  assert.equal(primaryNetwork(inspect({ HostConfig: { NetworkMode: 'container:other' } })), undefined);
});

test('anonymous volumes are mounted again by name; declared binds and mounts are left as they are', () => {
  const old = inspect({
    HostConfig: { Binds: ['/srv:/srv:ro'], Mounts: [{ Type: 'volume', Source: 'named', Target: '/named' }] },
    Mounts: [
      { Type: 'bind', Source: '/srv', Destination: '/srv', RW: false },
      { Type: 'volume', Name: 'named', Source: '/v/named', Destination: '/named', RW: true },
      { Type: 'volume', Name: 'f00d', Source: '/v/f00d', Destination: '/data', RW: true },
    ],
  });
  assert.deepEqual(buildRecreateSpec({ old, oldImage: IMAGE, image: 'x' }).body.HostConfig?.Binds, ['/srv:/srv:ro', 'f00d:/data']);
});

test('refusals: Swarm tasks, digests, backups, auto-remove, its own network namespace', () => {
  const reason = (c: ContainerInspect, runs = 'reg/app:1') => refusalFromInspect(c, runs, runs)?.reason;
  assert.equal(reason(inspect({ Config: { Labels: { 'com.docker.swarm.task.id': 't' } } })), 'swarm_task');
  assert.equal(reason(inspect(), 'reg/app@sha256:' + 'a'.repeat(64)), 'pinned');
  assert.equal(reason(inspect(), 'sha256:' + 'a'.repeat(64)), 'image_id');
  assert.equal(reason(inspect({ Name: `/web-flotilla-old-${ID.slice(0, 12)}` })), 'backup');
  assert.equal(reason(inspect({ HostConfig: { AutoRemove: true } })), 'auto_remove');
  assert.equal(reason(inspect({ HostConfig: { NetworkMode: `container:${ID.slice(0, 12)}` } })), 'network_mode');
  assert.equal(reason(inspect()), undefined);
});
