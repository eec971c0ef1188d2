// Stats and events: the streams a fleet view is built from.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cpuPercent, getContainerStats, streamContainerStats } from '../../src/docker/container-stats.ts';
import { createContainer, removeContainer, startContainer } from '../../src/docker/containers.ts';
import { streamEvents } from '../../src/docker/events.ts';
import type { DockerEvent } from '../../src/docker/events.ts';
import { noLab } from './engines.ts';
import { clientFor, deferrer, ignoreNotFound, lab, node, runContainer, shScript, uniqueName } from './helpers.ts';

describe('stats and events', { skip: noLab, concurrency: true }, () => {
  test('one-shot stats carry memory and cpu figures', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id, name } = await runContainer(docker, { Cmd: shScript('while true; do :; done') }, defer);
    const stats = await getContainerStats(docker, id);
    assert.equal(stats.name, `/${name}`);
    assert.equal(typeof stats.memory_stats.usage, 'number');
    assert.ok((stats.memory_stats.usage ?? 0) > 0);
    assert.ok(stats.cpu_stats.cpu_usage.total_usage > 0);
    assert.ok(stats.precpu_stats.cpu_usage.total_usage > 0, 'without oneShot the engine fills precpu_stats');
    assert.ok(cpuPercent(stats) > 0, 'a busy loop uses CPU');
    const quick = await getContainerStats(docker, id, { oneShot: true });
    assert.ok(quick.cpu_stats.cpu_usage.total_usage >= stats.cpu_stats.cpu_usage.total_usage);
  });

  test('streaming stats yield a sample per interval until aborted', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    const controller = new AbortController();
    const reads: string[] = [];
    for await (const sample of streamContainerStats(docker, id, { signal: controller.signal })) {
      reads.push(sample.read);
      if (reads.length === 2) controller.abort();
    }
    assert.equal(reads.length, 2);
    assert.notEqual(reads[0], reads[1]);
  });

  test('the event stream sees a container start, filtered to that container', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const name = uniqueName('events');
    const since = new Date(Date.now() - 1000);
    const controller = new AbortController();
    defer(async () => controller.abort());
    const events = streamEvents(docker, { since, filters: { type: 'container', container: name }, signal: controller.signal });
    const { Id } = await createContainer(docker, name, { Image: lab().images.busybox1, Cmd: ['true'] });
    defer(() => ignoreNotFound(removeContainer(docker, Id, { force: true })));
    await startContainer(docker, Id);
    const seen: DockerEvent[] = [];
    for await (const event of events) {
      seen.push(event);
      if (event.Action === 'start') break;
    }
    assert.deepEqual(seen.map((e) => e.Action).slice(0, 2), ['create', 'start']);
    const start = seen[seen.length - 1];
    assert.equal(start.Type, 'container');
    assert.equal(start.Actor.ID, Id);
    assert.equal(start.Actor.Attributes.name, name);
  });

  test('an event stream with until in the past ends by itself', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const now = Math.floor(Date.now() / 1000);
    const events: DockerEvent[] = [];
    for await (const event of streamEvents(docker, { since: now - 3600, until: now - 1, filters: { type: 'daemon' } })) events.push(event);
    assert.ok(events.every((e) => e.Type === 'daemon'));
  });
});
