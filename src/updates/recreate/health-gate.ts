// Decides whether the new container is good: healthy within the timeout when it
// has a healthcheck, otherwise running without a restart for `stableMs`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient } from '../../docker/client.ts';
import { inspectContainer } from '../../docker/containers.ts';
import type { ContainerConfig, ContainerInspect } from '../../docker/container-types.ts';

const POLL_MS = 200;
const NS_PER_MS = 1_000_000;
/** The engine's healthcheck defaults (ns): interval 30 s, timeout 30 s, 3 retries, no start period. */
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_RETRIES = 3;
const MARGIN_MS = 5_000;
export const HEALTH_TIMEOUT_CAP_MS = 10 * 60_000;
export const DEFAULT_STABLE_MS = 10_000;

export class HealthGateFailed extends Error {}

type Healthcheck = NonNullable<ContainerConfig['Healthcheck']>;

export function hasHealthcheck(config: ContainerConfig): boolean {
  const test = config.Healthcheck?.Test ?? [];
  return test.length > 0 && test[0] !== 'NONE';
}

/** start_period + interval × retries + one check's timeout + a margin, capped at 10 min. */
export function defaultHealthTimeoutMs(check: Healthcheck): number {
  const ms = (ns: number | undefined, fallback: number) => (ns !== undefined && ns > 0 ? ns / NS_PER_MS : fallback);
  const interval = ms(check.Interval, DEFAULT_INTERVAL_MS);
  const timeout = ms(check.Timeout, DEFAULT_INTERVAL_MS);
  const retries = check.Retries !== undefined && check.Retries > 0 ? check.Retries : DEFAULT_RETRIES;
  const total = ms(check.StartPeriod, 0) + interval * retries + timeout + MARGIN_MS;
  return Math.min(total, HEALTH_TIMEOUT_CAP_MS);
}

function notRunning(inspect: ContainerInspect, restartsBefore: number): string | undefined {
  const state = inspect.State;
  if (inspect.RestartCount !== restartsBefore) return `it restarted (${inspect.RestartCount - restartsBefore}×, last exit code ${state.ExitCode})`;
  if (state.Restarting) return `it is restarting (exit code ${state.ExitCode})`;
  if (!state.Running) return `it exited with code ${state.ExitCode}${state.Error ? ` (${state.Error})` : ''}`;
  return undefined;
}

export interface GateOptions {
  healthTimeoutMs?: number;
  stableMs?: number;
  signal?: AbortSignal;
  /** Called once with what the gate waits for. */
  onWait?: (message: string) => void | Promise<void>;
}

async function waitHealthy(docker: DockerClient, id: string, first: ContainerInspect, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let inspect = first; ; inspect = await inspectContainer(docker, id, { signal })) {
    const status = inspect.State.Health?.Status;
    if (status === 'healthy') return;
    const down = notRunning(inspect, first.RestartCount);
    if (down !== undefined) throw new HealthGateFailed(`not healthy: ${down}`);
    if (status === 'unhealthy') throw new HealthGateFailed(`unhealthy after ${inspect.State.Health?.FailingStreak ?? '?'} failed checks${lastOutput(inspect)}`);
    if (Date.now() > deadline) throw new HealthGateFailed(`not healthy within ${timeoutMs} ms (status ${status ?? 'none'})`);
    await sleep(POLL_MS, undefined, { signal });
  }
}

function lastOutput(inspect: ContainerInspect): string {
  const log = inspect.State.Health?.Log as Array<{ Output?: string; ExitCode?: number }> | undefined;
  const last = log?.at(-1);
  if (last === undefined) return '';
  const output = (last.Output ?? '').trim().slice(0, 200);
  return `: last check exit code ${last.ExitCode ?? '?'}${output ? `, output "${output}"` : ''}`;
}

async function waitStable(docker: DockerClient, id: string, first: ContainerInspect, stableMs: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + stableMs;
  for (let inspect = first; ; inspect = await inspectContainer(docker, id, { signal })) {
    const down = notRunning(inspect, first.RestartCount);
    if (down !== undefined) throw new HealthGateFailed(`not stable for ${stableMs} ms: ${down}`);
    if (Date.now() >= until) return;
    await sleep(Math.min(POLL_MS, Math.max(until - Date.now(), 1)), undefined, { signal });
  }
}

/** Throws HealthGateFailed with the reason; an abort rethrows the signal's AbortError. */
export async function passHealthGate(docker: DockerClient, id: string, options: GateOptions = {}): Promise<void> {
  const first = await inspectContainer(docker, id, { signal: options.signal });
  const check = first.Config.Healthcheck;
  if (check !== undefined && hasHealthcheck(first.Config)) {
    const timeoutMs = options.healthTimeoutMs ?? defaultHealthTimeoutMs(check);
    await options.onWait?.(`waiting up to ${timeoutMs} ms for the healthcheck to report healthy`);
    return waitHealthy(docker, id, first, timeoutMs, options.signal);
  }
  const stableMs = options.stableMs ?? DEFAULT_STABLE_MS;
  await options.onWait?.(`no healthcheck: it must keep running without a restart for ${stableMs} ms`);
  return waitStable(docker, id, first, stableMs, options.signal);
}
