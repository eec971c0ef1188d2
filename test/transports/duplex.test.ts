// The agent-tunnel shape: connections that are plain Duplex streams we open ourselves.
import assert from 'node:assert/strict';
import { connect as connectUnix } from 'node:net';
import { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { DockerClient } from '../../src/docker/client.ts';
import { createExec, startExecHijacked } from '../../src/docker/exec.ts';
import { getInfo, ping } from '../../src/docker/system.ts';
import { HostUnreachable } from '../../src/errors.ts';
import { createDuplexTransport } from '../../src/transports/index.ts';
import { noLab } from '../docker/engines.ts';
import { deferrer, node, runContainer, shScript } from '../docker/helpers.ts';

/** A Duplex that is not a net.Socket, as a gRPC tunnel stream would be. */
async function openWrappedStream(socketPath: string, opened: Duplex[]): Promise<Duplex> {
  const socket = connectUnix(socketPath);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const stream = Duplex.from({ readable: socket, writable: socket });
  opened.push(stream);
  return stream;
}

describe('duplex transport', { skip: noLab }, () => {
  test('the client runs over any Duplex: requests, keep-alive and a TTY hijack', async (t) => {
    const defer = deferrer(t);
    const opened: Duplex[] = [];
    const socketPath = node(0).unix.replace('unix://', '');
    const docker = new DockerClient(createDuplexTransport({ label: 'tunnelled', endpoint: 'agent://test', openStream: () => openWrappedStream(socketPath, opened) }));
    defer(() => docker.close());
    assert.equal(docker.transport.endpoint, 'agent://test');
    assert.equal(await ping(docker), 'OK');
    assert.equal((await getInfo(docker)).ID, node(0).engineId);
    const before = opened.length;
    for (let i = 0; i < 5; i++) await ping(docker);
    assert.ok(opened.length <= before + 1, `keep-alive: ${opened.length - before} new streams for 5 calls`);

    const { id } = await runContainer(docker, { Cmd: shScript('sleep 3600 & wait') }, defer);
    const exec = await createExec(docker, id, { Cmd: ['sh'], AttachStdin: true, AttachStdout: true, Tty: true });
    const session = await startExecHijacked(docker, exec.Id, { tty: true });
    session.write('echo tunnel-$((6*7))\nexit\n');
    const chunks: Buffer[] = [];
    for await (const chunk of session) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).toString().split(/\r?\n/).includes('tunnel-42'));
  });

  test('a stream that cannot be opened is HostUnreachable', async (t) => {
    const docker = new DockerClient(createDuplexTransport({
      label: 'gone-agent',
      endpoint: 'agent://gone',
      openStream: () => Promise.reject(Object.assign(new Error('agent is not connected'), { code: 'ECONNREFUSED' })),
    }));
    t.after(() => docker.close());
    await assert.rejects(ping(docker), (error: unknown) => error instanceof HostUnreachable && /^host "gone-agent": GET \/_ping: unreachable: agent is not connected/.test(error.message));
  });
});
