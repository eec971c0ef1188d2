// Running commands inside containers: create, start (hijacked or detached),
// inspect, and runExec() which collects stdout/stderr and the exit code.
import type { Duplex } from 'node:stream';
import type { DockerClient } from './client.ts';
import { timeoutError, toHostError } from './errors.ts';
import { segment } from './query.ts';
import { DEFAULT_TIMEOUT_MS } from './request.ts';
import type { CallOptions } from './request.ts';
import { demuxFrames, rawFrames } from './stream.ts';
import { CallDeadline } from './deadline.ts';

export interface ExecConfig {
  Cmd: string[];
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Privileged?: boolean;
  DetachKeys?: string;
  [field: string]: unknown;
}

export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ContainerID: string;
  OpenStdin: boolean;
  OpenStdout: boolean;
  OpenStderr: boolean;
  ProcessConfig: { entrypoint: string; arguments: string[]; tty: boolean; user?: string; privileged?: boolean };
  [field: string]: unknown;
}

export function createExec(docker: DockerClient, containerId: string, config: ExecConfig, options: CallOptions = {}): Promise<{ Id: string }> {
  return docker.json<{ Id: string }>('POST', `/containers/${segment(containerId)}/exec`, { ...options, json: config });
}

/** Starts in the background; the engine does not report the outcome (inspect for it). */
export function startExecDetached(docker: DockerClient, execId: string, options: CallOptions = {}): Promise<void> {
  return docker.empty('POST', `/exec/${segment(execId)}/start`, { ...options, json: { Detach: true, Tty: false } });
}

/**
 * Starts attached over a hijacked connection and returns the raw Duplex: stdin goes
 * in, output comes out (multiplexed unless `tty`). `tty` must match the exec's Tty.
 */
export function startExecHijacked(docker: DockerClient, execId: string, options: CallOptions & { tty?: boolean } = {}): Promise<Duplex> {
  const { tty, ...call } = options;
  return docker.hijack('POST', `/exec/${segment(execId)}/start`, { ...call, json: { Detach: false, Tty: tty ?? false } });
}

export function inspectExec(docker: DockerClient, execId: string, options: CallOptions = {}): Promise<ExecInspect> {
  return docker.json<ExecInspect>('GET', `/exec/${segment(execId)}/json`, options);
}

export interface RunExecOptions extends CallOptions {
  env?: string[];
  workingDir?: string;
  user?: string;
  tty?: boolean;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Reads the hijacked socket to its end, sorting output by stream. */
async function collectOutput(socket: Duplex, tty: boolean): Promise<{ stdout: Buffer[]; stderr: Buffer[] }> {
  const output = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const frames = tty ? rawFrames(socket) : demuxFrames(socket);
  for await (const frame of frames) {
    if (frame.stream === 'stderr') output.stderr.push(frame.data);
    else output.stdout.push(frame.data);
  }
  return output;
}

/** The output stream can end a moment before the engine records the exit code. */
async function settledExitCode(docker: DockerClient, execId: string, signal: AbortSignal): Promise<number> {
  for (;;) {
    const state = await inspectExec(docker, execId, { signal });
    if (!state.Running && state.ExitCode !== null) return state.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs `cmd` in a running container and returns its output and exit code. The
 * deadline (default 10 s) covers the whole run; when it passes we stop waiting,
 * but the engine has no way to kill an exec, so the process may live on.
 */
export async function runExec(docker: DockerClient, containerId: string, cmd: string[], options: RunExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const what = `exec ${JSON.stringify(cmd)} in container ${containerId}`;
  const call = { label: docker.label, what };
  const deadline = new CallDeadline(timeoutMs, options.signal, () => timeoutError(call, timeoutMs));
  const tty = options.tty ?? false;
  let socket: Duplex | undefined;
  try {
    const { Id } = await createExec(docker, containerId, {
      Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: tty,
      Env: options.env, WorkingDir: options.workingDir, User: options.user,
    }, { signal: deadline.signal, timeoutMs: 0 });
    socket = await startExecHijacked(docker, Id, { tty, signal: deadline.signal, timeoutMs: 0 });
    const open = socket;
    deadline.signal.addEventListener('abort', () => open.destroy(deadline.signal.reason as Error), { once: true });
    const output = await collectOutput(open, tty);
    const exitCode = await settledExitCode(docker, Id, deadline.signal);
    return { exitCode, stdout: Buffer.concat(output.stdout).toString('utf8'), stderr: Buffer.concat(output.stderr).toString('utf8') };
  } catch (error) {
    if (deadline.cancelledByCaller) throw error;
    throw deadline.expired ? timeoutError(call, timeoutMs) : toHostError(error, call);
  } finally {
    deadline.dispose();
    socket?.destroy();
  }
}
