// Image references normalised as Docker does: which registry, which repository,
// which tag or digest; invalid ones refused with a message naming the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequest } from '../../src/errors.ts';
import { formatImageRef, parseImageRef, refKey, registryApiHost, type ImageRef } from '../../src/updates/registry/reference.ts';

const D = `sha256:${'a'.repeat(64)}`;

const good: Array<[string, ImageRef]> = [
  ['busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: undefined }],
  ['busybox:1.36', { registry: 'docker.io', repository: 'library/busybox', tag: '1.36', digest: undefined }],
  ['library/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: undefined }],
  ['docker.io/busybox', { registry: 'docker.io', repository: 'library/busybox', tag: 'latest', digest: undefined }],
  ['index.docker.io/grafana/grafana:10', { registry: 'docker.io', repository: 'grafana/grafana', tag: '10', digest: undefined }],
  ['grafana/grafana', { registry: 'docker.io', repository: 'grafana/grafana', tag: 'latest', digest: undefined }],
  ['ghcr.io/org/team/app:v1.2.3', { registry: 'ghcr.io', repository: 'org/team/app', tag: 'v1.2.3', digest: undefined }],
  ['127.0.0.1:5000/busybox:1', { registry: '127.0.0.1:5000', repository: 'busybox', tag: '1', digest: undefined }],
  ['registry.local:5000/a/b', { registry: 'registry.local:5000', repository: 'a/b', tag: 'latest', digest: undefined }],
  ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest', digest: undefined }],
  ['localhost:5000/app:dev', { registry: 'localhost:5000', repository: 'app', tag: 'dev', digest: undefined }],
  ['[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1', digest: undefined }],
  [`busybox@${D}`, { registry: 'docker.io', repository: 'library/busybox', tag: undefined, digest: D }],
  [`ghcr.io/x/y:2@${D}`, { registry: 'ghcr.io', repository: 'x/y', tag: '2', digest: D }],
  ['my_app.v2__x-y', { registry: 'docker.io', repository: 'library/my_app.v2__x-y', tag: 'latest', digest: undefined }],
  ['example.com/a:Tag_With.Caps-1', { registry: 'example.com', repository: 'a', tag: 'Tag_With.Caps-1', digest: undefined }],
];

test('references are normalised the way docker pull reads them', () => {
  for (const [ref, want] of good) assert.deepEqual(parseImageRef(ref), want, ref);
});

const bad: Array<[string, RegExp]> = [
  ['', /empty/],
  [' busybox', /spaces/],
  ['BusyBox', /lower-case/],
  ['ghcr.io/Org/app', /lower-case/],
  ['busybox:', /not a valid tag/],
  ['busybox:-x', /not a valid tag/],
  ['busybox@sha256:abc', /not a digest/],
  [`busybox@sha256:${'A'.repeat(64)}`, /lower-case hex/],
  ['a//b', /not a valid repository path component/],
  ['a/b/', /not a valid repository path component/],
  ['ex ample.com/a', /spaces|not a registry|not a valid/],
  ['-bad.com/a', /not a registry/],
  ['host:5000/', /repository name is missing/],
  ['a..b', /not a valid repository path component/],
  ['a'.repeat(300), /longer than 255/],
  ['a'.repeat(64), /image ID/],
  [D, /image ID/],
  [`busybox:${'t'.repeat(129)}`, /not a valid tag/],
];

test('invalid references are a BadRequest that names the reference', () => {
  for (const [ref, why] of bad) {
    assert.throws(() => parseImageRef(ref), (error: unknown) => {
      assert.ok(error instanceof BadRequest, `${ref}: ${String(error)}`);
      assert.ok(error.message.includes(`"${ref}"`), `${ref}: the message names it: ${error.message}`);
      assert.match(error.message, why, ref);
      return true;
    });
  }
});

test('refKey is one key per remote check: tag-less digests key by digest, the digest of a tagged ref is ignored', () => {
  assert.equal(refKey(parseImageRef('busybox')), 'docker.io/library/busybox:latest');
  assert.equal(refKey(parseImageRef('docker.io/library/busybox:latest')), 'docker.io/library/busybox:latest');
  assert.equal(refKey(parseImageRef(`busybox:latest@${D}`)), 'docker.io/library/busybox:latest');
  assert.equal(refKey(parseImageRef(`busybox@${D}`)), `docker.io/library/busybox@${D}`);
  assert.equal(refKey(parseImageRef('127.0.0.1:5000/busybox:1')), '127.0.0.1:5000/busybox:1');
  assert.equal(formatImageRef(parseImageRef(`ghcr.io/x/y:2@${D}`)), `ghcr.io/x/y:2@${D}`);
});

test('Docker Hub is asked at registry-1.docker.io; other registries at their own host', () => {
  assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(registryApiHost('ghcr.io'), 'ghcr.io');
  assert.equal(registryApiHost('127.0.0.1:5000'), '127.0.0.1:5000');
});
