// Merging per-host lists into one Docker-shaped answer: order, limit, shared objects, partial answers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerSummary } from '../../src/docker/container-types.ts';
import type { ImageSummary } from '../../src/docker/images.ts';
import type { NetworkSummary } from '../../src/docker/networks.ts';
import type { Volume } from '../../src/docker/volumes.ts';
import { HOST_LABEL, HOSTS_LABEL } from '../../src/dockerapi/decorate.ts';
import type { HostList } from '../../src/dockerapi/merge.ts';
import { describePartial, mergeContainerLists, mergeImageLists, mergeNetworkLists, mergeVolumeLists } from '../../src/dockerapi/merge.ts';
import { HostTimeout, HostUnreachable } from '../../src/errors.ts';

function container(id: string, created: number): ContainerSummary {
  return {
    Id: id, Names: [`/${id}`], Image: 'busybox', ImageID: 'sha256:b', Command: 'sh', Created: created, State: 'exited',
    Status: 'Exited (0)', Labels: {}, Ports: [], Mounts: [],
  };
}

function image(id: string, created: number): ImageSummary {
  return { Id: id, ParentId: '', RepoTags: null, RepoDigests: null, Created: created, Size: 1, SharedSize: -1, Labels: null, Containers: -1 };
}

function network(id: string, name: string, scope: string): NetworkSummary {
  return {
    Id: id, Name: name, Driver: 'overlay', Scope: scope, Internal: false, Attachable: false, Ingress: false, EnableIPv6: false,
    IPAM: { Driver: 'default', Config: null }, Labels: { team: 'a' }, Options: null, Created: '2024-01-01T00:00:00Z',
  };
}

function volume(name: string, scope: 'local' | 'global' = 'local', driver = 'local'): Volume {
  return { Name: name, Driver: driver, Mountpoint: `/v/${name}`, Labels: null, Scope: scope, Options: null };
}

const fleet: HostList<ContainerSummary>[] = [
  { host: 'node2', items: [container('b1', 50), container('b2', 20), container('same', 30)] },
  { host: 'node1', items: [container('a1', 40), container('a2', 10), container('same', 30)] },
  { host: 'node3', items: null },
];

function shuffled<T>(list: readonly T[]): T[][] {
  return [[...list], [...list].reverse(), [list[1], list[0], ...list.slice(2)]] as T[][];
}

describe('mergeContainerLists', () => {
  test('newest first across hosts; equal Created ordered by host, then Id', () => {
    const merged = mergeContainerLists(fleet);
    assert.deepEqual(merged.map((c) => `${c.Labels[HOST_LABEL]}:${c.Id}`), ['node2:b1', 'node1:a1', 'node1:same', 'node2:same', 'node2:b2', 'node1:a2']);
    assert.deepEqual(merged[0].Names, ['/node2/b1']);
  });

  test('limit returns the N newest of the whole fleet', () => {
    assert.deepEqual(mergeContainerLists(fleet, { limit: 3 }).map((c) => c.Id), ['b1', 'a1', 'same']);
    assert.equal(mergeContainerLists(fleet, { limit: 0 }).length, 6, 'limit 0 means no limit, as on the engine');
    assert.equal(mergeContainerLists(fleet, { limit: -1, all: true }).length, 6);
  });

  test('the same answers in any host order give identical output', () => {
    const expected = JSON.stringify(mergeContainerLists(fleet, { limit: 4 }));
    for (const order of shuffled(fleet)) assert.equal(JSON.stringify(mergeContainerLists(order, { limit: 4 })), expected);
  });

  test('no hosts, or only empty answers, merge to an empty list', () => {
    assert.deepEqual(mergeContainerLists([]), []);
    assert.deepEqual(mergeContainerLists([{ host: 'node1', items: [] }, { host: 'node2', items: null }]), []);
  });
});

describe('mergeImageLists', () => {
  test('the same image on two hosts is listed per host, newest first, each labelled', () => {
    const perHost = [{ host: 'node2', items: [image('sha256:x', 5)] }, { host: 'node1', items: [image('sha256:x', 5), image('sha256:y', 9)] }];
    const merged = mergeImageLists(perHost);
    assert.deepEqual(merged.map((i) => `${i.Labels?.[HOST_LABEL]}:${i.Id}`), ['node1:sha256:y', 'node1:sha256:x', 'node2:sha256:x']);
    assert.deepEqual(mergeImageLists([...perHost].reverse()), merged);
  });
});

describe('mergeNetworkLists', () => {
  const perHost: HostList<NetworkSummary>[] = [
    { host: 'node3', items: [{ ...network('ing', 'ingress', 'swarm'), Peers: [{ Name: 'node3' }] }, network('l3', 'bridge', 'local')] },
    { host: 'node1', items: [network('ing', 'ingress', 'swarm'), network('l1', 'bridge', 'local'), network('ov', 'app', 'swarm')] },
    { host: 'node2', items: [network('ing', 'ingress', 'swarm'), network('l2', 'bridge', 'local')] },
  ];

  test('a swarm network appears once, attributed to the first host by name and listing every host', () => {
    const merged = mergeNetworkLists(perHost);
    const ingress = merged.filter((n) => n.Id === 'ing');
    assert.equal(ingress.length, 1);
    assert.deepEqual(ingress[0].Labels, { team: 'a', [HOST_LABEL]: 'node1', [HOSTS_LABEL]: 'node1,node2,node3' });
    assert.equal(ingress[0].Peers, undefined, "the first host's copy is the one shown");
    assert.deepEqual(merged.find((n) => n.Id === 'ov')?.Labels, { team: 'a', [HOST_LABEL]: 'node1', [HOSTS_LABEL]: 'node1' });
  });

  test('local networks stay one per host, ordered by name, host, Id', () => {
    const merged = mergeNetworkLists(perHost);
    assert.deepEqual(merged.map((n) => `${n.Name}@${n.Labels?.[HOST_LABEL]}`), ['app@node1', 'bridge@node1', 'bridge@node2', 'bridge@node3', 'ingress@node1']);
    assert.equal(merged.find((n) => n.Id === 'l2')?.Labels?.[HOSTS_LABEL], undefined);
  });

  test('the same answers in any host order give identical output', () => {
    const expected = JSON.stringify(mergeNetworkLists(perHost));
    for (const order of shuffled(perHost)) assert.equal(JSON.stringify(mergeNetworkLists(order)), expected);
  });
});

describe('mergeVolumeLists', () => {
  test('the Docker shape, host warnings prefixed, extra warnings last', () => {
    const merged = mergeVolumeLists([
      { host: 'node2', items: { Volumes: [volume('data')], Warnings: ['disk almost full'] } },
      { host: 'node1', items: { Volumes: [volume('data'), volume('cache')], Warnings: null } },
      { host: 'node3', items: { Volumes: null, Warnings: null } },
    ], ['host node4 is missing from this answer: connection refused']);
    assert.deepEqual(merged.Volumes.map((v) => `${v.Name}@${v.Labels?.[HOST_LABEL]}`), ['cache@node1', 'data@node1', 'data@node2']);
    assert.deepEqual(merged.Warnings, ['node2: disk almost full', 'host node4 is missing from this answer: connection refused']);
  });

  test('a global-scope volume is listed once with every host', () => {
    const shared = volume('nfs', 'global', 'nfsplugin');
    const merged = mergeVolumeLists([{ host: 'b', items: { Volumes: [shared], Warnings: [] } }, { host: 'a', items: { Volumes: [shared], Warnings: [] } }]);
    assert.equal(merged.Volumes.length, 1);
    assert.deepEqual(merged.Volumes[0].Labels, { [HOST_LABEL]: 'a', [HOSTS_LABEL]: 'a,b' });
    assert.deepEqual(merged.Warnings, []);
  });
});

describe('describePartial', () => {
  test('failed and late hosts, in name order, reason tokens in the header and messages in warnings', () => {
    const partial = describePartial(
      [{ host: 'node4', error: 'connect ECONNREFUSED 10.0.0.4:2375' }, { host: 'node2', error: 'unreachable' }],
      ['node3'],
    );
    assert.equal(partial.header, 'node2=unreachable; node3=timeout; node4=error');
    assert.deepEqual(partial.warnings, [
      'host node2 is missing from this answer: unreachable',
      'host node3 is missing from this answer: no answer before the deadline',
      'host node4 is missing from this answer: connect ECONNREFUSED 10.0.0.4:2375',
    ]);
  });

  test('an error object gives its reason by class', () => {
    const partial = describePartial([
      { host: 'b', error: new HostUnreachable('b', 'host "b": GET /containers/json: connection refused') },
      { host: 'a', error: new HostTimeout('a', 'host "a": deadline') },
      { host: 'c', error: new Error('boom') },
    ], []);
    assert.equal(partial.header, 'a=timeout; b=unreachable; c=error');
    assert.match(partial.warnings[1], /connection refused/);
  });

  test('nothing missing: no header, no warnings; a host both failed and late counts once, as failed', () => {
    assert.deepEqual(describePartial([], []), { header: undefined, warnings: [] });
    assert.equal(describePartial([{ host: 'n', error: 'unavailable' }], ['n']).header, 'n=unavailable');
  });

  test('a very long list is cut below 4 KiB with a count of the rest', () => {
    const late = Array.from({ length: 1000 }, (_, i) => `host-${String(i).padStart(4, '0')}`);
    const { header, warnings } = describePartial([], late);
    assert.ok(header !== undefined && header.length <= 4096, `${header?.length}`);
    const entries = header.split('; ');
    const shown = entries.length - 1;
    assert.equal(entries.at(-1), `+${1000 - shown} more`);
    assert.equal(entries[0], 'host-0000=timeout');
    assert.equal(warnings.length, 1000);
  });
});
