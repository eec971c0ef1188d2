// Decoration: every item carries its host in places the Docker API schema already has.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerSummary } from '../../src/docker/container-types.ts';
import type { ImageSummary } from '../../src/docker/images.ts';
import type { NetworkSummary } from '../../src/docker/networks.ts';
import type { Volume } from '../../src/docker/volumes.ts';
import {
  HOST_LABEL, HOSTS_LABEL, decorateContainer, decorateImage, decorateNetwork, decorateShared, decorateVolume,
  parseHostPrefixedName, prefixName, stripHostPrefix,
} from '../../src/dockerapi/decorate.ts';

function container(id: string, created: number, names: string[] = [`/${id}`], labels: Record<string, string> = {}): ContainerSummary {
  return {
    Id: id, Names: names, Image: 'busybox', ImageID: 'sha256:b', Command: 'sh', Created: created, State: 'running',
    Status: 'Up', Labels: labels, Ports: [], Mounts: [], HostConfig: { NetworkMode: 'bridge' },
  };
}

describe('decorate', () => {
  test('a container keeps every original field and gains the host label and prefixed names', () => {
    const original = container('c1', 10, ['/web1'], { app: 'web' });
    const frozen = structuredClone(original);
    const decorated = decorateContainer('node1', original);
    for (const [key, value] of Object.entries(original)) {
      if (key !== 'Names' && key !== 'Labels') assert.deepEqual(decorated[key], value, key);
    }
    assert.deepEqual(decorated.Labels, { app: 'web', [HOST_LABEL]: 'node1' });
    assert.deepEqual(decorated.Names, ['/node1/web1']);
    assert.deepEqual(original, frozen, 'the engine answer is not changed');
  });

  test('a null Names or Labels from the engine still decorates', () => {
    const odd = { ...container('c1', 1), Names: null, Labels: null } as unknown as ContainerSummary;
    const decorated = decorateContainer('node1', odd);
    assert.deepEqual(decorated.Names, []);
    assert.deepEqual(decorated.Labels, { [HOST_LABEL]: 'node1' });
  });

  test('link names keep their inner slash, the primary name comes first, and all parse back', () => {
    const decorated = decorateContainer('node1', container('db', 1, ['/web/db', '/db']));
    assert.deepEqual(decorated.Names, ['/node1/db', '/node1/web/db']);
    assert.deepEqual(parseHostPrefixedName('/node1/web/db'), { host: 'node1', name: 'web/db' });
  });

  test('prefixed names parse back, with or without the leading slash', () => {
    assert.equal(prefixName('node1', '/web1'), '/node1/web1');
    assert.equal(prefixName('node1', 'web1'), '/node1/web1');
    assert.deepEqual(parseHostPrefixedName('/node1/web1'), { host: 'node1', name: 'web1' });
    assert.deepEqual(parseHostPrefixedName('node1/web1'), { host: 'node1', name: 'web1' });
    for (const name of ['/web1', 'web1', '/node1/', '/node1', '//web1', '/node1//x', '/^x/web1', '']) {
      assert.equal(parseHostPrefixedName(name), undefined, name);
    }
  });

  test('with the registered host names, an unknown first segment is not a host', () => {
    assert.equal(parseHostPrefixedName('/web/db', ['node1', 'node2']), undefined);
    assert.deepEqual(parseHostPrefixedName('/node2/db', ['node1', 'node2']), { host: 'node2', name: 'db' });
  });

  test('stripHostPrefix gives the engine-local name and leaves other names alone', () => {
    assert.equal(stripHostPrefix('/node1/web1'), '/web1');
    assert.equal(stripHostPrefix('node1/web1'), 'web1');
    assert.equal(stripHostPrefix('/node1/web/db'), '/web/db');
    assert.equal(stripHostPrefix('/web1'), '/web1');
    assert.equal(stripHostPrefix('/web/db', ['node1']), '/web/db');
  });

  test('images, volumes and networks gain the label, created when the engine sent null', () => {
    const image = { Id: 'sha256:i', ParentId: '', RepoTags: ['busybox:1'], RepoDigests: null, Created: 1, Size: 2, SharedSize: -1, Labels: null, Containers: -1, Extra: 'kept' } satisfies ImageSummary;
    assert.deepEqual(decorateImage('node1', image), { ...image, Labels: { [HOST_LABEL]: 'node1' } });
    const volume = { Name: 'v', Driver: 'local', Mountpoint: '/m', Labels: { a: 'b' }, Scope: 'local', Options: null } satisfies Volume;
    assert.deepEqual(decorateVolume('node2', volume), { ...volume, Labels: { a: 'b', [HOST_LABEL]: 'node2' } });
    const network = networkOf('n1', 'bridge', 'local');
    assert.deepEqual(decorateNetwork('node3', network), { ...network, Labels: { [HOST_LABEL]: 'node3' } });
    assert.equal(image.Labels, null, 'the engine answer is not changed');
  });

  test('an engine-side flotilla.host label is overwritten: the fleet owns it', () => {
    assert.equal(decorateContainer('node1', container('c', 1, ['/c'], { [HOST_LABEL]: 'spoofed' })).Labels[HOST_LABEL], 'node1');
  });

  test('a shared object is attributed to the first host and lists all', () => {
    const decorated = decorateShared(['node1', 'node2'], networkOf('s', 'ingress', 'swarm'));
    assert.deepEqual(decorated.Labels, { [HOST_LABEL]: 'node1', [HOSTS_LABEL]: 'node1,node2' });
  });
});

function networkOf(id: string, name: string, scope: string, labels: Record<string, string> | null = null): NetworkSummary {
  return {
    Id: id, Name: name, Driver: scope === 'swarm' ? 'overlay' : 'bridge', Scope: scope, Internal: false, Attachable: false,
    Ingress: false, EnableIPv6: false, IPAM: { Driver: 'default', Config: [] }, Labels: labels, Options: {}, Created: '2024-01-01T00:00:00Z',
  };
}
