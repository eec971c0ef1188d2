// Container lifecycle, logs, stats, wait and events against real lab engines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DockerClient } from '../../src/docker/client.ts';
import {
  createContainer, inspectContainer, killContainer, listContainers, pruneContainers, removeContainer, renameContainer,
  restartContainer, startContainer, stopContainer, topContainer, waitContainer,
} from '../../src/docker/containers.ts';
import { followContainerLogs, getContainerLogs } from '../../src/docker/container-logs.ts';
import { ensureImage } from '../../src/docker/images.ts';
import { splitLines } from '../../src/docker/stream.ts';
import { HostTimeout, NotFound } from '../../src/errors.ts';
import { noLab } from './engines.ts';
import type { Defer } from './helpers.ts';
import { clientFor, deferrer, ignoreNotFound, lab, node, runContainer, shScript, uniqueName, waitFor } from './helpers.ts';

// stdout and stderr are copied to the log by separate goroutines: the pause keeps their order known.
const PRINT_THEN_SLEEP = shScript('for i in 1 2 3 4 5; do echo line$i; done; sleep 0.3; echo oops >&2; sleep 3600 & wait');

async function lifecycle(docker: DockerClient, defer: Defer): Promise<void> {
  const name = uniqueName('life');
  await ensureImage(docker, lab().images.busybox1);
  const { Id } = await createContainer(docker, name, { Image: lab().images.busybox1, Cmd: PRINT_THEN_SLEEP, Labels: { 'flotilla.test': name } });
  defer(() => ignoreNotFound(removeContainer(docker, Id, { force: true })));
  assert.equal((await inspectContainer(docker, Id)).State.Status, 'created');

  await startContainer(docker, Id);
  const first = await inspectContainer(docker, name);
  assert.equal(first.State.Running, true);
  assert.equal(first.Id, Id);
  const lines = await waitFor('6 log lines', async () => {
    const got = await getContainerLogs(docker, Id);
    return got.length >= 6 ? got : undefined;
  });
  assert.deepEqual(lines.filter((l) => l.stream === 'stderr'), [{ stream: 'stderr', line: 'oops' }]);
  // tail counts lines of both streams; the last one is the stderr line.
  const tail = await getContainerLogs(docker, Id, { tail: 3 });
  assert.deepEqual(tail, [{ stream: 'stdout', line: 'line4' }, { stream: 'stdout', line: 'line5' }, { stream: 'stderr', line: 'oops' }]);

  const listed = await listContainers(docker, { filters: { label: `flotilla.test=${name}` } });
  assert.deepEqual(listed.map((c) => c.Id), [Id]);
  assert.ok((await topContainer(docker, Id)).Processes.length >= 1);

  await stopContainer(docker, Id, { t: 5 });
  assert.equal((await inspectContainer(docker, Id)).State.Running, false);
  assert.equal((await listContainers(docker, { filters: { label: `flotilla.test=${name}` } })).length, 0);
  assert.equal((await listContainers(docker, { all: true, filters: { label: `flotilla.test=${name}` } })).length, 1);

  await restartContainer(docker, Id, { t: 5 });
  const restarted = await inspectContainer(docker, Id);
  assert.equal(restarted.State.Running, true);
  assert.notEqual(restarted.State.StartedAt, first.State.StartedAt);

  await killContainer(docker, Id, { killSignal: 'KILL' });
  const killed = await inspectContainer(docker, Id);
  assert.equal(killed.State.Running, false);
  assert.equal(killed.State.ExitCode, 137);

  await renameContainer(docker, Id, `${name}-renamed`);
  assert.equal((await inspectContainer(docker, Id)).Name, `/${name}-renamed`);
  await removeContainer(docker, Id, { force: true });
  await assert.rejects(inspectContainer(docker, Id), NotFound);
}

describe('containers', { skip: noLab, concurrency: true }, () => {
  test('full container lifecycle over unix', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    await lifecycle(docker, defer);
  });

  test('full container lifecycle over tcp', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(lab().nodes.length > 1 ? 1 : 0), 'tcp', defer);
    await lifecycle(docker, defer);
  });

  test('logs of a TTY container come back as raw lines, not demultiplexed', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Tty: true, Cmd: ['sh', '-c', 'echo one; echo two >&2; printf "\\001\\002\\n"'] }, defer);
    await waitContainer(docker, id);
    const lines = await getContainerLogs(docker, id);
    assert.deepEqual(lines, [{ stream: 'stdout', line: 'one' }, { stream: 'stdout', line: 'two' }, { stream: 'stdout', line: '\u0001\u0002' }]);
  });

  test('prune removes stopped containers matching a label filter', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const label = uniqueName('prune');
    const stopped = await runContainer(docker, { Cmd: ['true'], Labels: { 'flotilla.test': label } }, defer);
    await waitContainer(docker, stopped.id);
    const running = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait'), Labels: { 'flotilla.test': label } }, defer);
    const result = await pruneContainers(docker, { filters: { label: `flotilla.test=${label}` } });
    assert.deepEqual(result.ContainersDeleted, [stopped.id]);
    await assert.rejects(inspectContainer(docker, stopped.id), NotFound);
    assert.equal((await inspectContainer(docker, running.id)).State.Running, true);
  });

  test('logs follow receives lines as they are written and ends when the container stops', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Cmd: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do echo tick$i; sleep 0.2; done'] }, defer);
    const arrivals: Array<{ line: string; at: number }> = [];
    for await (const line of splitLines(followContainerLogs(docker, id))) arrivals.push({ line: line.line, at: Date.now() });
    const lines = arrivals.map((a) => a.line);
    assert.ok(lines.length >= 3);
    assert.deepEqual(lines, ['tick1', 'tick2', 'tick3', 'tick4', 'tick5', 'tick6', 'tick7', 'tick8'].slice(0, lines.length));
    // Streamed, not delivered in one piece at the end: arrivals spread over the run.
    const spread = arrivals[arrivals.length - 1].at - arrivals[0].at;
    assert.ok(spread >= 600, `lines arrived within ${spread} ms`);
    assert.equal((await inspectContainer(docker, id)).State.Running, false);
  });

  test('logs follow ends quietly when the caller aborts', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Cmd: shScript('while true; do echo x; sleep 0.1; done') }, defer);
    const controller = new AbortController();
    let count = 0;
    for await (const _frame of followContainerLogs(docker, id, { signal: controller.signal, tail: 0 })) {
      if (++count === 3) controller.abort();
    }
    assert.equal(count, 3);
  });

  test('wait returns the exit code, and a tiny deadline is HostTimeout', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const sleeper = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    const started = Date.now();
    await assert.rejects(waitContainer(docker, sleeper.id, { timeoutMs: 300 }), (error: unknown) => {
      assert.ok(error instanceof HostTimeout);
      assert.equal(error.message, `host "${node(0).name}": POST /containers/${sleeper.id}/wait timed out after 300 ms`);
      return true;
    });
    assert.ok(Date.now() - started < 2000);
    const quitter = await runContainer(docker, { Cmd: ['sh', '-c', 'exit 7'] }, defer);
    assert.deepEqual(await waitContainer(docker, quitter.id), { StatusCode: 7, Error: null });
  });
});
