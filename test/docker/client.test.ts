// Negotiation and error mapping against the lab's real engines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_API_VERSION, compareApiVersions } from '../../src/docker/client.ts';
import { inspectContainer } from '../../src/docker/containers.ts';
import { getInfo, getVersion, ping } from '../../src/docker/system.ts';
import { NotFound } from '../../src/errors.ts';
import { noLab } from './engines.ts';
import { clientFor, deferrer, lab, node, uniqueName } from './helpers.ts';

describe('engine client against the lab', { skip: noLab, concurrency: true }, () => {
  test('version negotiation picks min(engine API, our newest) and reports the engine version', async (t) => {
    for (const via of ['unix', 'tcp'] as const) {
      const docker = clientFor(node(0), via, deferrer(t));
      assert.equal(docker.apiVersion, undefined);
      const engine = await getVersion(docker);
      const negotiated = await docker.negotiate();
      assert.ok(compareApiVersions(negotiated, engine.ApiVersion) <= 0, `${negotiated} > engine ${engine.ApiVersion}`);
      assert.ok(compareApiVersions(negotiated, MAX_API_VERSION) <= 0);
      assert.equal(negotiated, compareApiVersions(engine.ApiVersion, MAX_API_VERSION) < 0 ? engine.ApiVersion : MAX_API_VERSION);
      assert.equal(docker.engineVersion, engine.Version);
    }
  });

  test('every lab node answers ping and info with its own engine ID', async (t) => {
    for (const labNode of lab().nodes) {
      const defer = deferrer(t);
      const docker = clientFor(labNode, 'unix', defer);
      assert.equal(await ping(docker), 'OK');
      const info = await getInfo(docker);
      assert.equal(info.ID, labNode.engineId);
      assert.equal(info.Name, labNode.hostname);
    }
  });

  test('an unknown container id is NotFound naming the host and the call', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const id = uniqueName('missing');
    await assert.rejects(inspectContainer(docker, id), (error: unknown) => {
      assert.ok(error instanceof NotFound);
      assert.equal(error.message, `host "${node(0).name}": GET /containers/${id}/json: No such container: ${id}`);
      return true;
    });
  });
});
