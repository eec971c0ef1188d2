// Networks and volumes against a real engine.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inspectContainer } from '../../src/docker/containers.ts';
import {
  connectNetwork, createNetwork, disconnectNetwork, inspectNetwork, listNetworks, pruneNetworks, removeNetwork,
} from '../../src/docker/networks.ts';
import { createVolume, inspectVolume, listVolumes, pruneVolumes, removeVolume } from '../../src/docker/volumes.ts';
import { Conflict, NotFound } from '../../src/errors.ts';
import { noLab } from './engines.ts';
import { clientFor, deferrer, ignoreNotFound, node, runContainer, shScript, uniqueName } from './helpers.ts';

describe('networks and volumes', { skip: noLab, concurrency: true }, () => {
  test('network create, connect, disconnect and remove', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const name = uniqueName('net');
    const { Id } = await createNetwork(docker, { Name: name, Labels: { 'flotilla.test': name } });
    defer(() => ignoreNotFound(removeNetwork(docker, Id)));
    await assert.rejects(createNetwork(docker, { Name: name }), Conflict);
    assert.deepEqual((await listNetworks(docker, { filters: { label: `flotilla.test=${name}` } })).map((n) => n.Id), [Id]);

    const container = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    await connectNetwork(docker, Id, container.id, { endpointConfig: { Aliases: ['web'] } });
    const attached = await inspectNetwork(docker, name);
    assert.deepEqual(Object.keys(attached.Containers ?? {}), [container.id]);
    const endpoint = (await inspectContainer(docker, container.id)).NetworkSettings.Networks[name];
    assert.ok(endpoint?.Aliases?.includes('web'));
    assert.match(endpoint?.IPAddress ?? '', /^\d+\.\d+\.\d+\.\d+$/);

    await disconnectNetwork(docker, Id, container.id);
    assert.deepEqual(Object.keys((await inspectNetwork(docker, Id)).Containers ?? {}), []);
    await removeNetwork(docker, Id);
    await assert.rejects(inspectNetwork(docker, Id), NotFound);
  });

  test('network prune removes unused networks matching a filter', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const name = uniqueName('netprune');
    const { Id } = await createNetwork(docker, { Name: name, Labels: { 'flotilla.test': name } });
    defer(() => ignoreNotFound(removeNetwork(docker, Id)));
    const result = await pruneNetworks(docker, { filters: { label: `flotilla.test=${name}` } });
    assert.deepEqual(result.NetworksDeleted, [name]);
    await assert.rejects(inspectNetwork(docker, Id), NotFound);
  });

  test('volume create, list, inspect, remove and prune', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const label = uniqueName('vol');
    const [first, second] = [`${label}-a`, `${label}-b`];
    for (const name of [first, second]) {
      const created = await createVolume(docker, { Name: name, Labels: { 'flotilla.test': label } });
      defer(() => ignoreNotFound(removeVolume(docker, name, { force: true })));
      assert.equal(created.Name, name);
      assert.equal(created.Driver, 'local');
    }
    const listed = await listVolumes(docker, { filters: { label: `flotilla.test=${label}` } });
    assert.deepEqual((listed.Volumes ?? []).map((v) => v.Name).sort(), [first, second]);
    assert.deepEqual((await inspectVolume(docker, first)).Labels, { 'flotilla.test': label });

    await removeVolume(docker, first);
    await assert.rejects(inspectVolume(docker, first), NotFound);
    const pruned = await pruneVolumes(docker, { filters: { label: `flotilla.test=${label}` }, includeNamed: true });
    assert.deepEqual(pruned.VolumesDeleted, [second]);
    await assert.rejects(inspectVolume(docker, second), NotFound);
  });
});
