// Waits for an updater (launch.ts) to finish and reads its outcome from its
// output. Works through any connection to the engine — the caller may reach it
// through the old agent that launched the update, the new one, or the restored
// old one — and rides out the gap while neither agent is connected. An updater
// that died mid-update is followed by a recovery updater, which puts the old
// agent back; its outcome is returned.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient } from '../../docker/client.ts';
import { getContainerLogs } from '../../docker/container-logs.ts';
import { inspectContainer, removeContainer, waitContainer } from '../../docker/containers.ts';
import type { ContainerInspect } from '../../docker/container-types.ts';
import { BadRequest, Conflict, HostTimeout, HostUnavailable, HostUnreachable, NotFound } from '../../errors.ts';
import { UpdateRefused } from '../recreate/index.ts';
import type { RefusalReason, UpdateResult } from '../recreate/index.ts';
import { SelfUpdateLost, SelfUpdateTimeout } from './errors.ts';
import { launchRecoveryUpdater, RECOVERY_LABEL } from './launch.ts';
import { parseUpdaterOutput } from './protocol.ts';
import type { UpdaterError, UpdaterOutput } from './protocol.ts';

/** The update's own health gate is 120 s by default; pull, stop, create and a rollback come on top. */
export const DEFAULT_RESULT_TIMEOUT_MS = 5 * 60_000;
const RETRY_PAUSE_MS = 500;
/** One wait call at most this long, so a dropped connection is noticed and retried. */
const WAIT_SLICE_MS = 15_000;
const STDERR_TAIL_LINES = 20;

export interface AwaitSelfUpdateOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** When the updater died mid-update, start a recovery updater and return its outcome (default true). */
  recover?: boolean;
}

interface Wait {
  docker: DockerClient;
  updaterId: string;
  deadline: number;
  signal: AbortSignal | undefined;
}

/** The engine (or the agent in front of it) is not there for now: try again. */
function isTransient(error: unknown): boolean {
  return error instanceof HostUnreachable || error instanceof HostTimeout || error instanceof HostUnavailable;
}

/** Runs `call` until it answers, retrying while the engine is unreachable, until the deadline. */
async function retrying<T>(w: Wait, what: string, call: (timeoutMs: number) => Promise<T>): Promise<T> {
  for (;;) {
    w.signal?.throwIfAborted();
    try {
      return await call(Math.max(1000, Math.min(w.deadline - Date.now(), WAIT_SLICE_MS)));
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (Date.now() + RETRY_PAUSE_MS > w.deadline) {
        throw new SelfUpdateTimeout(w.updaterId, `updater ${w.updaterId.slice(0, 12)}: ${what}: the engine did not answer before the deadline (${(error as Error).message})`, { cause: error });
      }
      await sleep(RETRY_PAUSE_MS, undefined, { signal: w.signal });
    }
  }
}

async function inspectUpdater(w: Wait): Promise<ContainerInspect> {
  try {
    return await retrying(w, 'inspect', (timeoutMs) => inspectContainer(w.docker, w.updaterId, { signal: w.signal, timeoutMs }));
  } catch (error) {
    if (error instanceof NotFound) throw new SelfUpdateLost(w.updaterId, `updater ${w.updaterId.slice(0, 12)} is gone: it was removed before its result was read`, { cause: error });
    throw error;
  }
}

/** Polls with bounded `wait` calls: each ends at an exit, its own deadline, or a connection that dropped. */
async function waitForExit(w: Wait): Promise<ContainerInspect> {
  for (;;) {
    const inspect = await inspectUpdater(w);
    if (!inspect.State.Running && !inspect.State.Restarting) return inspect;
    const left = w.deadline - Date.now();
    if (left <= 0) throw new SelfUpdateTimeout(w.updaterId, `updater ${inspect.Name.replace(/^\//, '')} is still running after the timeout`);
    try {
      await waitContainer(w.docker, w.updaterId, { condition: 'not-running', timeoutMs: Math.min(left, WAIT_SLICE_MS), signal: w.signal });
    } catch (error) {
      if (!isTransient(error) && !(error instanceof NotFound)) throw error;
      // A wait cut off (our slice, the agent gone) or an updater removed meanwhile: the inspect above decides.
      if (!(error instanceof HostTimeout)) await sleep(RETRY_PAUSE_MS, undefined, { signal: w.signal });
    }
  }
}

async function readOutput(w: Wait): Promise<{ output: UpdaterOutput; stderrTail: string }> {
  const lines = await retrying(w, 'logs', (timeoutMs) => getContainerLogs(w.docker, w.updaterId, { stdout: true, stderr: true, tail: 'all', tty: false, signal: w.signal, timeoutMs }));
  const stderr = lines.filter((l) => l.stream === 'stderr').slice(-STDERR_TAIL_LINES).map((l) => l.line);
  return { output: parseUpdaterOutput(lines.filter((l) => l.stream === 'stdout').map((l) => l.line)), stderrTail: stderr.join('\n') };
}

/** Removes the updater; undefined when it is gone, otherwise why it could not be removed. */
async function removeUpdater(w: Wait, id: string): Promise<string | undefined> {
  try {
    await retrying(w, 'remove', (timeoutMs) => removeContainer(w.docker, id, { force: true, signal: w.signal, timeoutMs }));
    return undefined;
  } catch (error) {
    if (error instanceof NotFound) return undefined;
    return (error as Error).message;
  }
}

/** The updater could not run the update; nothing was changed. The same errors as updateContainer's. */
function updaterFailure(updaterId: string, error: UpdaterError): Error {
  const message = `self-update: ${error.message}`;
  switch (error.code) {
    case 'update_refused':
      return new UpdateRefused((error.reason ?? 'state') as RefusalReason, message);
    case 'not_found':
      return new NotFound(message);
    case 'conflict':
      return new Conflict(message);
    case 'bad_request':
      return new BadRequest(message);
    default:
      return new SelfUpdateLost(updaterId, `${message} (nothing was changed)`);
  }
}

function withNote(result: UpdateResult, note: string | undefined): UpdateResult {
  if (note === undefined) return result;
  return { ...result, reason: result.reason === undefined ? note : `${result.reason}; ${note}` };
}

function ended(inspect: ContainerInspect): string {
  const state = inspect.State;
  return `exit code ${state.ExitCode}${state.OOMKilled ? ', killed for lack of memory' : ''}${state.Error ? `, ${state.Error}` : ''}`;
}

/**
 * Waits for the updater to exit and returns the result it printed, then removes
 * it. Throws UpdateRefused / NotFound when the updater refused the update (nothing
 * changed), SelfUpdateLost when it ended without a result, SelfUpdateTimeout when
 * it is still running (or the engine did not answer) at the deadline — then it
 * is left alone and the call may be repeated.
 */
export async function awaitSelfUpdateResult(docker: DockerClient, updaterId: string, opts: AwaitSelfUpdateOptions = {}): Promise<UpdateResult> {
  const w: Wait = { docker, updaterId, deadline: Date.now() + (opts.timeoutMs ?? DEFAULT_RESULT_TIMEOUT_MS), signal: opts.signal };
  const exited = await waitForExit(w);
  const name = exited.Name.replace(/^\//, '');
  const { output, stderrTail } = await readOutput(w);
  if (output.result !== undefined) {
    const problem = await removeUpdater(w, exited.Id);
    return withNote(output.result, problem === undefined ? undefined : `the updater ${name} could not be removed: ${problem}`);
  }
  if (output.error !== undefined) {
    await removeUpdater(w, exited.Id);
    throw updaterFailure(exited.Id, output.error);
  }
  const tail = stderrTail === '' ? '' : `; its last output: ${stderrTail}`;
  const inFlight = output.inFlight;
  if (inFlight === undefined) {
    await removeUpdater(w, exited.Id);
    throw new SelfUpdateLost(exited.Id, `updater ${name} ended (${ended(exited)}) without a result, before it changed any container${tail}`, { exitCode: exited.State.ExitCode });
  }
  const isRecovery = exited.Config.Labels?.[RECOVERY_LABEL] === 'true';
  if (opts.recover === false || isRecovery) {
    // Its logs hold the record a later recovery needs: kept.
    throw new SelfUpdateLost(exited.Id, `updater ${name} ended (${ended(exited)}) during ${inFlight.phase} of the update of ${inFlight.containerName} without a result; ` +
      `the old container is ${inFlight.backupName}; the updater is kept for its record${tail}`, { exitCode: exited.State.ExitCode });
  }
  const recovery = await retrying(w, 'start the recovery', () => launchRecoveryUpdater(docker, exited, inFlight));
  const result = await awaitSelfUpdateResult(docker, recovery.updaterId, { timeoutMs: Math.max(0, w.deadline - Date.now()), signal: opts.signal, recover: false });
  const problem = await removeUpdater(w, exited.Id);
  const note = `the updater ${name} had ended (${ended(exited)}) during ${inFlight.phase} without a result; a recovery updater took over`;
  return withNote({ ...result, reason: result.reason === undefined ? note : `${note}: ${result.reason}` },
    problem === undefined ? undefined : `the updater ${name} could not be removed: ${problem}`);
}
