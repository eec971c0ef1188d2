// Exec and attach: buffered runs, and hijacked connections with and without a TTY.
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { attachContainer } from '../../src/docker/container-attach.ts';
import { createContainer, removeContainer, startContainer, waitContainer } from '../../src/docker/containers.ts';
import { createExec, inspectExec, runExec, startExecDetached, startExecHijacked } from '../../src/docker/exec.ts';
import { demuxFrames, splitLines } from '../../src/docker/stream.ts';
import { HostTimeout, NotFound } from '../../src/errors.ts';
import { noLab } from './engines.ts';
import { clientFor, collect, deferrer, ignoreNotFound, lab, node, runContainer, shScript, uniqueName, waitFor } from './helpers.ts';

async function readAll(socket: Duplex): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('exec and attach', { skip: noLab, concurrency: true }, () => {
  test('runExec returns stdout, stderr and a non-zero exit code', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    const result = await runExec(docker, id, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(result, { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    const options = await runExec(docker, id, ['sh', '-c', 'echo $GREETING; pwd; id -u'], { env: ['GREETING=hej'], workingDir: '/tmp', user: '65534' });
    assert.deepEqual(options, { exitCode: 0, stdout: 'hej\n/tmp\n65534\n', stderr: '' });
  });

  test('runExec gives up with HostTimeout at its deadline', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    await assert.rejects(runExec(docker, id, ['sleep', '30'], { timeoutMs: 400 }), (error: unknown) => {
      assert.ok(error instanceof HostTimeout);
      assert.match(error.message, /^host "node1": exec \["sleep","30"\] in container \w+ timed out after 400 ms$/);
      return true;
    });
  });

  test('exec with a TTY over a hijacked connection runs an interactive shell', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    const exec = await createExec(docker, id, { Cmd: ['sh'], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true });
    const socket = await startExecHijacked(docker, exec.Id, { tty: true });
    defer(async () => socket.destroy());
    socket.write('echo hi\nexit\n');
    const lines = (await readAll(socket)).split(/\r?\n/);
    assert.ok(lines.includes('hi'), JSON.stringify(lines));
    await waitFor('exec to finish', async () => ((await inspectExec(docker, exec.Id)).Running ? undefined : true));
    assert.equal((await inspectExec(docker, exec.Id)).ExitCode, 0);
  });

  test('exec stdin through a hijack: half-closing the socket ends the input', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    const exec = await createExec(docker, id, { Cmd: ['sh', '-c', 'wc -c; echo done >&2'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const socket = await startExecHijacked(docker, exec.Id);
    defer(async () => socket.destroy());
    socket.end(Buffer.alloc(100_000, 0x61));
    const lines = await collect(splitLines(demuxFrames(socket)));
    assert.deepEqual(lines.filter((l) => l.stream === 'stdout').map((l) => l.line.trim()), ['100000']);
    assert.deepEqual(lines.filter((l) => l.stream === 'stderr').map((l) => l.line), ['done']);
  });

  test('a detached exec runs in the background and reports its exit code on inspect', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { id } = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    const exec = await createExec(docker, id, { Cmd: ['sh', '-c', 'exit 5'] });
    await startExecDetached(docker, exec.Id);
    const code = await waitFor('detached exec exit', async () => {
      const state = await inspectExec(docker, exec.Id);
      return state.Running || state.ExitCode === null ? undefined : state.ExitCode;
    });
    assert.equal(code, 5);
  });

  test('attach hijacks a container\'s stdin and demultiplexed stdout/stderr', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const { Id } = await createContainer(docker, uniqueName('attach'), {
      Image: lab().images.busybox1,
      Cmd: ['sh', '-c', 'read line; echo got:$line; echo bye >&2'],
      OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
    });
    defer(() => ignoreNotFound(removeContainer(docker, Id, { force: true })));
    // Attach before start, as `docker run -i` does, so no output is missed.
    const socket = await attachContainer(docker, Id);
    defer(async () => socket.destroy());
    await startContainer(docker, Id);
    socket.write('hello\n');
    const lines = await collect(splitLines(demuxFrames(socket)));
    // The engine copies stdout and stderr independently: only per-stream order is defined.
    assert.deepEqual(lines.filter((l) => l.stream === 'stdout'), [{ stream: 'stdout', line: 'got:hello' }]);
    assert.deepEqual(lines.filter((l) => l.stream === 'stderr'), [{ stream: 'stderr', line: 'bye' }]);
    assert.equal((await waitContainer(docker, Id)).StatusCode, 0);
  });

  test('hijacking a missing container or exec is NotFound with the engine message', async (t) => {
    const defer = deferrer(t);
    const docker = clientFor(node(0), 'unix', defer);
    const missing = uniqueName('none');
    await assert.rejects(attachContainer(docker, missing), (error: unknown) => error instanceof NotFound && error.message.includes(`POST /containers/${missing}/attach: No such container`));
    await assert.rejects(startExecHijacked(docker, missing), NotFound);
  });
});
