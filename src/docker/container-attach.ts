// Attach to a container's stdio over a hijacked connection. The Duplex is the
// raw stream: write to it for stdin; read it through demuxFrames() unless Tty.
import type { Duplex } from 'node:stream';
import type { DockerClient } from './client.ts';
import { segment } from './query.ts';
import type { CallOptions } from './request.ts';

export interface AttachOptions extends CallOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** Replay the logs written so far before live output. */
  logs?: boolean;
  /** Key sequence that detaches, e.g. `ctrl-p,ctrl-q`. */
  detachKeys?: string;
}

/**
 * Hijacked POST /containers/{id}/attach. The deadline covers the upgrade only.
 * Ending the Duplex's write side closes the container's stdin (with StdinOnce).
 */
export function attachContainer(docker: DockerClient, id: string, options: AttachOptions = {}): Promise<Duplex> {
  const { stdin, stdout, stderr, logs, detachKeys, ...call } = options;
  return docker.hijack('POST', `/containers/${segment(id)}/attach`, {
    ...call,
    query: {
      stream: true,
      stdin: stdin ?? true,
      stdout: stdout ?? true,
      stderr: stderr ?? true,
      logs,
      detachKeys,
    },
  });
}
