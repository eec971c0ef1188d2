// Volumes: list, inspect, create, remove, prune.
import type { DockerClient } from './client.ts';
import { segment } from './query.ts';
import type { Filters } from './query.ts';
import { LONG_TIMEOUT_MS } from './request.ts';
import type { CallOptions } from './request.ts';

export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels: Record<string, string> | null;
  Scope: 'local' | 'global';
  Options: Record<string, string> | null;
  UsageData?: { Size: number; RefCount: number } | null;
  [field: string]: unknown;
}

export interface VolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Record<string, string>;
  [field: string]: unknown;
}

export function listVolumes(docker: DockerClient, options: CallOptions & { filters?: Filters } = {}): Promise<{ Volumes: Volume[] | null; Warnings: string[] | null }> {
  const { filters, ...call } = options;
  return docker.json('GET', '/volumes', { ...call, query: { filters } });
}

export function inspectVolume(docker: DockerClient, name: string, options: CallOptions = {}): Promise<Volume> {
  return docker.json<Volume>('GET', `/volumes/${segment(name)}`, options);
}

export function createVolume(docker: DockerClient, body: VolumeCreateBody, options: CallOptions = {}): Promise<Volume> {
  return docker.json<Volume>('POST', '/volumes/create', { ...options, json: body });
}

export function removeVolume(docker: DockerClient, name: string, options: CallOptions & { force?: boolean } = {}): Promise<void> {
  const { force, ...call } = options;
  return docker.empty('DELETE', `/volumes/${segment(name)}`, { ...call, query: { force } });
}

export interface PruneVolumesOptions extends CallOptions {
  filters?: Filters;
  /**
   * Also prune named volumes. API 1.42 changed prune to anonymous volumes only
   * unless the `all` filter is set; 1.41 always prunes both and rejects that filter.
   */
  includeNamed?: boolean;
}

export async function pruneVolumes(docker: DockerClient, options: PruneVolumesOptions = {}): Promise<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }> {
  const { filters, includeNamed, ...call } = options;
  await docker.negotiate({ signal: call.signal });
  const allFilter = includeNamed === true && docker.supports('1.42') ? { all: 'true' } : {};
  return docker.json('POST', '/volumes/prune', { timeoutMs: LONG_TIMEOUT_MS, ...call, query: { filters: { ...filters, ...allFilter } } });
}
