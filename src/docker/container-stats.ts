// Resource usage of a container: one sample, or a stream of one per second.
import type { DockerClient } from './client.ts';
import { segment } from './query.ts';
import { bodyChunks } from './request.ts';
import type { CallOptions } from './request.ts';
import { ndjson } from './stream.ts';

export interface CpuStats {
  cpu_usage: { total_usage: number; usage_in_kernelmode?: number; usage_in_usermode?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data?: { periods: number; throttled_periods: number; throttled_time: number };
  [field: string]: unknown;
}

export interface ContainerStats {
  id: string;
  name: string;
  read: string;
  preread: string;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; limit?: number; max_usage?: number; stats?: Record<string, number>; [field: string]: unknown };
  pids_stats?: { current?: number; limit?: number };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number; rx_packets: number; tx_packets: number; [field: string]: unknown }>;
  blkio_stats?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface StatsOptions extends CallOptions {
  /**
   * Return at once without the engine's second sample (API ≥ 1.41). Faster, but
   * precpu_stats is then empty, so cpuPercent() cannot be computed from it.
   */
  oneShot?: boolean;
}

/** One sample. Without oneShot the engine waits about a second to fill precpu_stats. */
export function getContainerStats(docker: DockerClient, id: string, options: StatsOptions = {}): Promise<ContainerStats> {
  const { oneShot, ...call } = options;
  return docker.json<ContainerStats>('GET', `/containers/${segment(id)}/stats`, {
    ...call,
    query: { stream: false, 'one-shot': oneShot },
  });
}

/** A sample about every second until the container stops or `signal` aborts. */
export async function* streamContainerStats(docker: DockerClient, id: string, options: CallOptions = {}): AsyncGenerator<ContainerStats> {
  const path = `/containers/${segment(id)}/stats`;
  let response;
  try {
    response = await docker.stream('GET', path, { ...options, query: { stream: true } });
  } catch (error) {
    if (options.signal?.aborted === true) return;
    throw error;
  }
  yield* ndjson<ContainerStats>(bodyChunks(response.body, docker.context('GET', path), options.signal));
}

/** CPU use as `docker stats` shows it: 100 % per fully used core. */
export function cpuPercent(stats: ContainerStats): number {
  const cpuDelta = stats.cpu_stats.cpu_usage.total_usage - stats.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (stats.cpu_stats.system_cpu_usage ?? 0) - (stats.precpu_stats.system_cpu_usage ?? 0);
  const cpus = stats.cpu_stats.online_cpus ?? stats.cpu_stats.cpu_usage.percpu_usage?.length ?? 1;
  if (cpuDelta <= 0 || systemDelta <= 0) return 0;
  return (cpuDelta / systemDelta) * cpus * 100;
}
