// Images: pull and push against the lab registry, list/inspect/tag/remove.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  inspectImage, listImages, pullImage, pushImage, removeImage, tagImage,
} from '../../src/docker/images.ts';
import type { ProgressMessage } from '../../src/docker/images.ts';
import { FlotillaError, NotFound } from '../../src/errors.ts';
import { noLab } from './engines.ts';
import { clientFor, collect, deferrer, ignoreNotFound, lab, node } from './helpers.ts';
import { uniqueName } from './helpers.ts';

/** Deletes a test repository's manifest from the lab registry (the lab enables delete). */
async function deleteFromRegistry(repository: string, digest: string | undefined): Promise<void> {
  if (digest === undefined) return;
  const path = repository.slice(repository.indexOf('/') + 1);
  await fetch(`http://${lab().registry.lab}/v2/${path}/manifests/${digest}`, { method: 'DELETE' });
}

describe('images', { skip: noLab, concurrency: true }, () => {
  test('push to and pull from the lab registry report progress messages', async (t) => {
    const defer = deferrer(t);
    const source = clientFor(node(0), 'unix', defer);
    const target = clientFor(node(lab().nodes.length - 1), 'tcp', defer);
    const reference = `${lab().registry.lab}/${uniqueName('pull')}:v1`;
    await tagImage(source, lab().images.busybox1, reference);
    defer(() => ignoreNotFound(removeImage(source, reference)));
    const pushed = await collect(pushImage(source, reference));
    const digest = pushed.find((m) => m.aux?.Digest !== undefined)?.aux?.Digest;
    assert.match(digest ?? '', /^sha256:[0-9a-f]{64}$/);
    defer(() => deleteFromRegistry(reference.split(':v1')[0], digest));

    defer(() => ignoreNotFound(removeImage(target, reference)));
    const progress: ProgressMessage[] = await collect(pullImage(target, reference));
    assert.ok(progress.length >= 2, JSON.stringify(progress));
    assert.equal(progress[0].status, 'Pulling from ' + reference.slice(0, -3).slice(reference.indexOf('/') + 1));
    assert.ok(progress.some((m) => m.status === `Digest: ${digest}`));
    assert.match(progress[progress.length - 1].status ?? '', /Downloaded newer image|Image is up to date/);
    const pulled = await inspectImage(target, reference);
    assert.ok(pulled.RepoDigests.some((d) => d.endsWith(`@${digest}`)));
  });

  test('pulling a tag the registry does not have throws with the registry\'s message', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const reference = `${lab().registry.lab}/busybox:${uniqueName('nope')}`;
    await assert.rejects(collect(pullImage(docker, reference)), (error: unknown) => {
      assert.ok(error instanceof FlotillaError, String(error));
      assert.match(error.message, new RegExp(`^host "${node(0).name}": POST /images/create: .*(not found|manifest unknown)`));
      return true;
    });
  });

  test('image list, inspect, tag and remove', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const original = await inspectImage(docker, lab().images.busybox1);
    const alias = `flotilla-test/${uniqueName('tag')}:x`;
    await tagImage(docker, lab().images.busybox1, alias);
    defer(() => ignoreNotFound(removeImage(docker, alias)));
    const listed = await listImages(docker, { filters: { reference: alias } });
    assert.deepEqual(listed.map((i) => i.Id), [original.Id]);
    assert.ok(listed[0].RepoTags?.includes(alias));
    const inspected = await inspectImage(docker, alias);
    assert.equal(inspected.Id, original.Id);
    assert.ok(inspected.RepoTags.includes(alias));
    assert.deepEqual(await removeImage(docker, alias), [{ Untagged: alias }]);
    await assert.rejects(inspectImage(docker, alias), NotFound);
    assert.equal((await inspectImage(docker, lab().images.busybox1)).Id, original.Id, 'untagging left the image');
  });
});
