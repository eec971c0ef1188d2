// Detection against a real registry (docker-registry started here) holding a
// multi-arch OCI index: an engine that recorded the index digest, or only its
// platform's manifest digest, is up to date (no false update); another digest
// is an update; one request per reference however many containers use it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pusher, startRegistry, type TestRegistry } from './registry-fixtures.ts';
import { RegistryClient } from '../../src/updates/registry/client.ts';
import { checkUses, type ImageUse } from '../../src/updates/detect.ts';

describe('update detection', () => {
  let registry: TestRegistry;
  let pusher: Pusher;
  let client: RegistryClient;

  before(async () => {
    registry = await startRegistry();
    pusher = new Pusher(registry.host);
    client = new RegistryClient({ access: (host) => ({ host, insecure: true, skipTlsVerify: false, concurrency: 4 }) });
  });
  after(async () => {
    await client?.close();
    await registry?.stop();
  });

  const use = (name: string, image: string, repoDigests: string[], architecture = 'amd64'): ImageUse => ({
    hostId: 'h1', containerId: name, containerName: name, image, labels: {}, repoDigests, platform: { os: 'linux', architecture },
  });

  test('a multi-arch index is no false update: index digest or the platform\'s own manifest digest both count as current', async () => {
    const index = await pusher.pushIndex('multi/app', '1', [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }]);
    const amd64 = index.platforms.find((p) => p.platform.architecture === 'amd64')!;
    const image = `${registry.host}/multi/app:1`;
    const repo = `${registry.host}/multi/app`;
    const before = client.stats()[registry.host]?.requests ?? 0;
    const cycle = await checkUses([
      use('by-index', image, [`${repo}@${index.digest}`]),
      use('by-platform', image, [`${repo}@${amd64.digest}`]),
      use('arm-with-amd64', image, [`${repo}@${amd64.digest}`], 'arm64'),
      use('stale', image, [`${repo}@sha256:${'0'.repeat(64)}`]),
      use('other-repo-digest', image, [`${registry.host}/elsewhere@${index.digest}`]),
    ], client, { overrides: {} });
    const status = Object.fromEntries(cycle.rows.map((r) => [r.container_name, r.status]));
    assert.deepEqual(status, { 'by-index': 'up_to_date', 'by-platform': 'up_to_date', 'arm-with-amd64': 'update_available', stale: 'update_available', 'other-repo-digest': 'unknown' });
    assert.equal(cycle.remoteChecks, 1);
    const made = (client.stats()[registry.host]?.requests ?? 0) - before;
    // One HEAD of the tag for all five; the platform list (a GET) once, for the containers the index digest did not match.
    assert.ok(made <= 3, `requests made: ${made}`);
    assert.equal(cycle.rows.find((r) => r.container_name === 'stale')!.available_digest, index.digest);
  });

  test('a same-tag re-push is an update; a digest reference is pinned; a registry error is recorded and the rest goes on', async () => {
    const v1 = await pusher.pushImage('single/app', 'x');
    const repo = `${registry.host}/single/app`;
    let cycle = await checkUses([use('c', `${repo}:x`, [`${repo}@${v1.digest}`])], client, { overrides: {} });
    assert.equal(cycle.rows[0]!.status, 'up_to_date');
    const v2 = await pusher.pushImage('single/app', 'x', { os: 'linux', architecture: 'amd64' });
    assert.notEqual(v2.digest, v1.digest);
    cycle = await checkUses([
      use('c', `${repo}:x`, [`${repo}@${v1.digest}`]),
      use('pinned', `${repo}@${v1.digest}`, [`${repo}@${v1.digest}`]),
      use('down', '127.0.0.1:1/nothing/here:1', ['127.0.0.1:1/nothing/here@sha256:' + 'a'.repeat(64)]),
    ], client, { overrides: {} });
    const by = Object.fromEntries(cycle.rows.map((r) => [r.container_name, r]));
    assert.equal(by.c!.status, 'update_available');
    assert.equal(by.c!.available_digest, v2.digest);
    assert.equal(by.pinned!.status, 'pinned');
    assert.equal(by.pinned!.policy, 'pinned');
    assert.equal(by.down!.status, 'error');
    assert.match(by.down!.error ?? '', /127\.0\.0\.1:1/);
  });
});
