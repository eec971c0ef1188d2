// Service logs: every task's output gathered by a manager, as a snapshot or a
// follow stream. Same framing as container logs (decided by the service's TTY).
import type { DockerClient } from './client.ts';
import { inBandError } from './errors.ts';
import { segment } from './query.ts';
import { bodyChunks } from './request.ts';
import type { CallOptions } from './request.ts';
import { LineSplitter, outputFrames } from './stream.ts';
import type { OutputFrame, OutputLine } from './stream.ts';
import { inspectService } from './swarm.ts';

export interface ServiceLogsOptions extends CallOptions {
  tail?: number | 'all';
  since?: number | string;
  timestamps?: boolean;
  /** Prefix each line with the engine's `com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=… ` (after the timestamp). */
  details?: boolean;
}

function query(options: ServiceLogsOptions, follow: boolean) {
  return {
    follow, stdout: true, stderr: true, details: options.details === true, timestamps: options.timestamps,
    tail: options.tail === undefined ? undefined : String(options.tail), since: options.since,
  };
}

async function serviceTty(docker: DockerClient, id: string, options: CallOptions): Promise<boolean> {
  const svc = await inspectService(docker, id, options);
  return svc.Spec.TaskTemplate.ContainerSpec?.TTY === true;
}

/** The lines the service's tasks have written, each prefixed by the engine with `service.slot.task@node`. */
export async function getServiceLogs(docker: DockerClient, id: string, options: ServiceLogsOptions = {}): Promise<OutputLine[]> {
  const tty = await serviceTty(docker, id, options);
  const path = `/services/${segment(id)}/logs`;
  const bytes = await docker.bytes('GET', path, { signal: options.signal, timeoutMs: options.timeoutMs, query: query(options, false) });
  const call = docker.context('GET', path);
  const splitter = new LineSplitter();
  const lines: OutputLine[] = [];
  async function* one() { yield bytes; }
  for await (const frame of outputFrames(one(), tty, (m) => inBandError(m, call))) lines.push(...splitter.push(frame));
  lines.push(...splitter.flush());
  return lines;
}

/** Follows the service's logs until `signal` aborts; the deadline covers the response headers only. */
export async function* followServiceLogs(docker: DockerClient, id: string, options: ServiceLogsOptions = {}): AsyncGenerator<OutputFrame> {
  const tty = await serviceTty(docker, id, options);
  const path = `/services/${segment(id)}/logs`;
  const { signal, timeoutMs } = options;
  let response;
  try {
    response = await docker.stream('GET', path, { signal, timeoutMs, query: query(options, true) });
  } catch (error) {
    if (signal?.aborted === true) return;
    throw error;
  }
  const call = docker.context('GET', path);
  for await (const frame of outputFrames(bodyChunks(response.body, call, signal), tty, (m) => inBandError(m, call))) {
    if (signal?.aborted === true) return;
    yield frame;
  }
}
