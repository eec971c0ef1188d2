// Container logs: a snapshot (tail N, decoded into lines) and a follow stream
// that yields frames as they are written and ends when the container stops.
import type { DockerClient } from './client.ts';
import { inBandError } from './errors.ts';
import { inspectContainer } from './containers.ts';
import { segment } from './query.ts';
import type { QueryParams } from './query.ts';
import { bodyChunks } from './request.ts';
import type { CallOptions } from './request.ts';
import { LineSplitter, outputFrames } from './stream.ts';
import type { OutputFrame, OutputLine } from './stream.ts';

export interface LogsOptions extends CallOptions {
  stdout?: boolean;
  stderr?: boolean;
  /** Last N lines, or 'all'. */
  tail?: number | 'all';
  /** Unix seconds or RFC 3339. */
  since?: number | string;
  until?: number | string;
  timestamps?: boolean;
  /** Whether the container has a TTY; looked up when not given (it decides the framing). */
  tty?: boolean;
}

export interface LogLine extends OutputLine {
  /** RFC 3339 nano timestamp, when `timestamps` was asked for. */
  timestamp?: string;
}

function logsQuery(options: LogsOptions, follow: boolean): QueryParams {
  return {
    follow,
    stdout: options.stdout ?? true,
    stderr: options.stderr ?? true,
    tail: options.tail === undefined ? undefined : String(options.tail),
    since: options.since,
    until: options.until,
    timestamps: options.timestamps,
  };
}

/** Before API 1.42 the content type does not say whether output is multiplexed; Config.Tty does. */
async function hasTty(docker: DockerClient, id: string, options: LogsOptions): Promise<boolean> {
  if (options.tty !== undefined) return options.tty;
  const container = await inspectContainer(docker, id, { signal: options.signal, timeoutMs: options.timeoutMs });
  return container.Config.Tty === true;
}

function withTimestamp(line: OutputLine, timestamps: boolean | undefined): LogLine {
  if (timestamps !== true) return line;
  const space = line.line.indexOf(' ');
  if (space === -1) return line;
  return { ...line, timestamp: line.line.slice(0, space), line: line.line.slice(space + 1) };
}

/** The logs as they are now, decoded into lines with their stream. */
export async function getContainerLogs(docker: DockerClient, id: string, options: LogsOptions = {}): Promise<LogLine[]> {
  const tty = await hasTty(docker, id, options);
  const path = `/containers/${segment(id)}/logs`;
  const { signal, timeoutMs } = options;
  const bytes = await docker.bytes('GET', path, { signal, timeoutMs, query: logsQuery(options, false) });
  const call = docker.context('GET', path);
  const splitter = new LineSplitter();
  const lines: LogLine[] = [];
  for await (const frame of outputFrames(oneChunk(bytes), tty, (message) => inBandError(message, call))) {
    for (const line of splitter.push(frame)) lines.push(withTimestamp(line, options.timestamps));
  }
  for (const line of splitter.flush()) lines.push(withTimestamp(line, options.timestamps));
  return lines;
}

async function* oneChunk(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/**
 * Follows the logs: yields frames as the container writes them. Ends when the
 * container stops or when `signal` aborts (quietly, no error). `tail` 0 skips history.
 * The deadline covers only getting the response started.
 */
export async function* followContainerLogs(docker: DockerClient, id: string, options: LogsOptions = {}): AsyncGenerator<OutputFrame> {
  const tty = await hasTty(docker, id, options);
  const path = `/containers/${segment(id)}/logs`;
  const { signal, timeoutMs } = options;
  let response;
  try {
    response = await docker.stream('GET', path, { signal, timeoutMs, query: logsQuery(options, true) });
  } catch (error) {
    if (signal?.aborted === true) return;
    throw error;
  }
  const call = docker.context('GET', path);
  for await (const frame of outputFrames(bodyChunks(response.body, call, signal), tty, (message) => inBandError(message, call))) {
    // One chunk can hold several frames: after an abort, none of them is delivered.
    if (signal?.aborted === true) return;
    yield frame;
  }
}
